/**
 * Regression detection for the pipeline: loads the baselines of the keys in these windows from
 * the lake's `_state/regressions/`, runs the detector over the windows in time order, and saves
 * the baselines back. One JSON object per key, so a run reads and writes only the keys it saw.
 */
import { LakeError, ValidationError } from '../core/errors.js';
import type { RegressionRow } from '../core/model.js';
import { type LogSink, type ObjectStore, silentLog } from '../core/ports.js';
import { type RegressionConfig, resolveRegressionConfig } from '../core/regress/config.js';
import { type DiagnosticSink, detectWindows, type WindowStats } from '../core/regress/detector.js';
import { decodeBaseline, encodeBaseline, type KeyBaseline } from '../core/regress/state.js';

export const BASELINE_PREFIX = '_state/regressions/v1/';
const CONCURRENCY = 16;

/** 64-bit FNV-1a of the key's UTF-8 bytes, as 16 hex digits: a short, stable object name. */
function fnv1a64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (const b of bytes) h = ((h ^ BigInt(b)) * prime) & mask;
  return h.toString(16).padStart(16, '0');
}

/**
 * Where a key's baseline lives in the lake.
 *
 * @example baselinePath('orders > DynamoDB GetItem orders') // '_state/regressions/v1/<16 hex>.json'
 */
export function baselinePath(key: string): string {
  return `${BASELINE_PREFIX}${fnv1a64(key)}.json`;
}

async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  });
  await Promise.all(runners);
}

/**
 * The saved baselines of `keys` (absent ones are left out). An unreadable baseline is logged and
 * dropped: the key starts afresh rather than stopping the run.
 */
export async function loadBaselines(
  store: ObjectStore,
  keys: readonly string[],
  log: LogSink = silentLog,
): Promise<Map<string, KeyBaseline>> {
  const states = new Map<string, KeyBaseline>();
  await eachLimited(keys, CONCURRENCY, async (key) => {
    const path = baselinePath(key);
    const bytes = await store.get(path);
    if (!bytes) return;
    try {
      const state = decodeBaseline(bytes);
      if (state.key !== key) {
        log.warn('baseline belongs to another key; starting afresh', { path, key, found: state.key });
        return;
      }
      states.set(key, state);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      log.warn('unreadable baseline; starting afresh', { path, key, reason: error.message });
    }
  });
  return states;
}

/** Writes the baselines of `keys` back. */
export async function saveBaselines(
  store: ObjectStore,
  states: ReadonlyMap<string, KeyBaseline>,
  keys: readonly string[],
): Promise<void> {
  await eachLimited(keys, CONCURRENCY, async (key) => {
    const state = states.get(key);
    if (!state) return;
    const path = baselinePath(key);
    try {
      await store.put(path, encodeBaseline(state), { contentType: 'application/json' });
    } catch (error) {
      throw new LakeError(`cannot save the regression baseline ${path} to ${store.describe()}`, {
        cause: error,
      });
    }
  });
}

/**
 * Loads the baselines of the keys in `windows`, processes the windows in time order (a window
 * already in a baseline is replaced, not counted twice), saves the baselines and returns the
 * findings of these windows.
 *
 * @example
 * const findings = await detectRegressions(store, [{ windowStart, windowMs: 300_000, rows: statsRows }]);
 */
export async function detectRegressions(
  store: ObjectStore,
  windows: readonly WindowStats[],
  config: Partial<RegressionConfig> = {},
  options: { log?: LogSink; observe?: DiagnosticSink } = {},
): Promise<RegressionRow[]> {
  const resolved = resolveRegressionConfig(config);
  const keys = [...new Set(windows.flatMap((w) => w.rows.map((r) => r.key)))].sort();
  if (keys.length === 0) return [];
  const states = await loadBaselines(store, keys, options.log ?? silentLog);
  const findings = detectWindows(states, windows, resolved, options.observe);
  await saveBaselines(store, states, keys);
  return findings;
}
