/**
 * Exactly-once windows on top of `runPipeline`: a checkpoint in the lake's `_state/` remembers the
 * end of the last complete window; each invocation processes the windows that are due, oldest
 * first, and advances the checkpoint after each one.
 *
 * Why a crash cannot duplicate or lose rows: every object of a window has one deterministic key
 * (and stale `spans` parts are deleted), so re-processing a window replaces what a crashed run
 * left behind; the checkpoint only moves after a window's objects are all written, so a crash
 * before it means the window is simply processed again.
 *
 * Concurrent runs are prevented with a lease object (`_state/lease.json`) taken with a conditional
 * write, renewed between windows and released at the end. Where the store cannot do conditional
 * writes atomically, two runs may overlap; that is tolerated, not prevented: both write the same
 * keys for the same window, the checkpoint only moves forward, and the Lambda's reserved
 * concurrency of 1 keeps overlaps to manual runs.
 */
import { ConfigError, LakeError } from '../core/errors.js';
import { DEFAULT_WINDOW_MS, windowStart } from '../core/model.js';
import type { ObjectStore } from '../core/ports.js';
import { acquireLease, canLease, leaseOwner, releaseLease, renewLease } from './lease.js';
import { type PipelineDeps, type PipelineOptions, type RunSummary, runPipeline } from './run.js';

export const CHECKPOINT_KEY = '_state/checkpoint.json';
export const LEASE_KEY = '_state/lease.json';

/** Options passed through to every `runPipeline` call (range and window are set per window). */
export type WindowPipelineOptions = Omit<PipelineOptions, 'range' | 'windowMs'>;

export interface Checkpoint {
  /** End (exclusive) of the last window whose objects are all written. Epoch ms. */
  readonly lastCompleteWindowEndMs: number;
  readonly windowMs: number;
  readonly updatedAtMs: number;
}

export interface WindowResult {
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly traces: number;
  readonly spans: number;
  readonly rejected: number;
  readonly findings: number;
  readonly objectsWritten: number;
  readonly sourceStats: RunSummary['sourceStats'];
  readonly elapsedMs: number;
}

export interface CollectorResult {
  /** `busy`: another run holds the lease; nothing was done. */
  readonly status: 'ok' | 'busy';
  readonly windows: WindowResult[];
  /** Checkpoint after the run (null when none was ever written). */
  readonly checkpointMs: number | null;
  /** Due windows left for the next invocation (the run stopped at `maxWindows`). */
  readonly remaining: number;
  /** `lease`: runs were mutually excluded; `unguarded`: the store has no conditional writes. */
  readonly concurrency: 'lease' | 'unguarded';
}

export interface CollectorDeps extends PipelineDeps {
  /** Clock, for tests. Default `Date.now`. */
  readonly now?: () => number;
  /** The pipeline, for tests that inject failures. Default `runPipeline`. */
  readonly runWindow?: (deps: PipelineDeps, options: PipelineOptions) => Promise<RunSummary>;
}

export interface CollectorOptions {
  readonly windowMs?: number;
  /** A window is due when `windowEnd + lagMs <= now`. Default 3 minutes. */
  readonly lagMs?: number;
  /** At most this many windows per invocation. Default 12. */
  readonly maxWindows?: number;
  /**
   * First window to process when there is no checkpoint yet. Default: the newest due window only
   * (a new deployment does not backfill by itself; `backfill` does that explicitly).
   */
  readonly startMs?: number;
  /** How long a lease is valid without renewal. Default 15 minutes (the Lambda maximum). */
  readonly leaseMs?: number;
  /** Lease owner id (the Lambda request id). */
  readonly owner?: string;
  readonly pipeline?: WindowPipelineOptions;
  readonly onWindow?: (result: WindowResult) => void;
}

const DEFAULT_LAG_MS = 3 * 60_000;
const DEFAULT_MAX_WINDOWS = 12;
const DEFAULT_LEASE_MS = 15 * 60_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses and validates a checkpoint document; a corrupt one is a lake error, never guessed at. */
export function parseCheckpoint(bytes: Uint8Array): Checkpoint {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new LakeError(`${CHECKPOINT_KEY} is not valid JSON; delete it to start from the newest window`, {
      cause: e,
    });
  }
  if (
    !isRecord(value) ||
    typeof value.lastCompleteWindowEndMs !== 'number' ||
    !Number.isSafeInteger(value.lastCompleteWindowEndMs) ||
    typeof value.windowMs !== 'number' ||
    !Number.isSafeInteger(value.windowMs) ||
    value.windowMs <= 0
  ) {
    throw new LakeError(
      `${CHECKPOINT_KEY} does not hold {lastCompleteWindowEndMs, windowMs} as whole numbers; delete it to start from the newest window`,
    );
  }
  return {
    lastCompleteWindowEndMs: value.lastCompleteWindowEndMs,
    windowMs: value.windowMs,
    updatedAtMs: typeof value.updatedAtMs === 'number' ? value.updatedAtMs : 0,
  };
}

function encodeCheckpoint(cp: Checkpoint): Uint8Array {
  return encoder.encode(
    `${JSON.stringify({
      lastCompleteWindowEnd: new Date(cp.lastCompleteWindowEndMs).toISOString(),
      lastCompleteWindowEndMs: cp.lastCompleteWindowEndMs,
      windowMs: cp.windowMs,
      updatedAt: new Date(cp.updatedAtMs).toISOString(),
      updatedAtMs: cp.updatedAtMs,
    })}\n`,
  );
}

/** Reads the checkpoint, or null when the lake has none. */
export async function readCheckpoint(store: ObjectStore): Promise<Checkpoint | null> {
  const bytes = await store.get(CHECKPOINT_KEY);
  return bytes ? parseCheckpoint(bytes) : null;
}

/**
 * Moves the checkpoint forward to `endMs`, never back: when another run already went further,
 * the newer value stays. Uses conditional writes where the store has them.
 */
export async function advanceCheckpoint(
  store: ObjectStore,
  endMs: number,
  windowMs: number,
  nowMs: number,
): Promise<void> {
  const next = encodeCheckpoint({ lastCompleteWindowEndMs: endMs, windowMs, updatedAtMs: nowMs });
  if (!store.getWithVersion || !store.putConditional) {
    const current = await readCheckpoint(store);
    if (current && current.lastCompleteWindowEndMs >= endMs) return;
    await store.put(CHECKPOINT_KEY, next, { contentType: 'application/json' });
    return;
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await store.getWithVersion(CHECKPOINT_KEY);
    if (current && parseCheckpoint(current.body).lastCompleteWindowEndMs >= endMs) return;
    const written = await store.putConditional(CHECKPOINT_KEY, next, current?.version);
    if (written !== null) return;
  }
  throw new LakeError(
    `${CHECKPOINT_KEY}: could not advance to ${new Date(endMs).toISOString()} (kept changing)`,
  );
}

/**
 * The windows due at `nowMs`, oldest first: from the checkpoint (or `startMs`, or the newest due
 * window) up to the last window that ended at least `lagMs` ago.
 *
 * @example
 * dueWindows(null, Date.UTC(2026, 0, 1, 10, 9), { windowMs: 300_000, lagMs: 180_000 })
 * // => [Date.UTC(2026, 0, 1, 10, 0)]  (10:05-10:10 is not due until 10:13)
 */
export function dueWindows(
  checkpointEndMs: number | null,
  nowMs: number,
  options: { windowMs: number; lagMs: number; startMs?: number },
): number[] {
  const { windowMs, lagMs } = options;
  // The newest window whose end + lag <= now.
  const lastDueStart = windowStart(nowMs - lagMs, windowMs) - windowMs;
  let first: number;
  if (checkpointEndMs !== null) first = windowStart(checkpointEndMs + windowMs - 1, windowMs);
  else if (options.startMs !== undefined) first = windowStart(options.startMs, windowMs);
  else first = lastDueStart;
  const out: number[] = [];
  for (let w = first; w <= lastDueStart; w += windowMs) out.push(w);
  return out;
}

/**
 * Runs the pipeline for one window: `range` = the window, so only traces starting in it count.
 *
 * @example await processWindow(deps, Date.UTC(2026, 0, 1, 10, 0), 300_000);
 */
export async function processWindow(
  deps: CollectorDeps,
  windowStartMs: number,
  windowMs: number,
  pipeline: WindowPipelineOptions = {},
): Promise<WindowResult> {
  const run = deps.runWindow ?? runPipeline;
  const range = { fromMs: windowStartMs, toMs: windowStartMs + windowMs };
  const summary = await run(
    { source: deps.source, store: deps.store, metrics: deps.metrics, log: deps.log },
    { ...pipeline, windowMs, range, nowMs: pipeline.nowMs ?? (deps.now ?? Date.now)() },
  );
  return {
    windowStartMs,
    windowEndMs: range.toMs,
    traces: summary.traces,
    spans: summary.spans,
    rejected: summary.rejected,
    findings: summary.findings.length,
    objectsWritten: summary.objectsWritten.length,
    sourceStats: summary.sourceStats,
    elapsedMs: summary.elapsedMs,
  };
}

/**
 * Processes the windows that are due, oldest first, at most `maxWindows`, advancing the checkpoint
 * after each. Safe to re-run after a crash at any point; see the module comment for concurrency.
 *
 * @example
 * const result = await runDueWindows({ source, store, metrics, log }, { lagMs: 180_000, maxWindows: 12 });
 * if (result.status === 'busy') log.info('another run holds the lease');
 */
export async function runDueWindows(
  deps: CollectorDeps,
  options: CollectorOptions = {},
): Promise<CollectorResult> {
  const now = deps.now ?? Date.now;
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  const lagMs = options.lagMs ?? DEFAULT_LAG_MS;
  const maxWindows = options.maxWindows ?? DEFAULT_MAX_WINDOWS;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const owner = options.owner ?? leaseOwner(now());
  const concurrency = canLease(deps.store) ? 'lease' : 'unguarded';

  let lease = await acquireLease(deps.store, LEASE_KEY, owner, now(), leaseMs);
  if (!lease) {
    const cp = await readCheckpoint(deps.store);
    deps.log.info('collector busy: another run holds the lease', { lease: LEASE_KEY, owner });
    return {
      status: 'busy',
      windows: [],
      checkpointMs: cp?.lastCompleteWindowEndMs ?? null,
      remaining: 0,
      concurrency,
    };
  }
  if (concurrency === 'unguarded') {
    deps.log.warn('lake store has no conditional writes: concurrent runs are tolerated, not prevented', {
      lake: deps.store.describe(),
    });
  }
  const results: WindowResult[] = [];
  let checkpointMs: number | null = null;
  let remaining = 0;
  try {
    const cp = await readCheckpoint(deps.store);
    if (cp && cp.windowMs !== windowMs) {
      deps.log.warn('window length changed since the checkpoint was written', {
        checkpoint_window_ms: cp.windowMs,
        window_ms: windowMs,
      });
    }
    checkpointMs = cp?.lastCompleteWindowEndMs ?? null;
    const due = dueWindows(checkpointMs, now(), {
      windowMs,
      lagMs,
      ...(options.startMs !== undefined ? { startMs: options.startMs } : {}),
    });
    const todo = due.slice(0, maxWindows);
    remaining = due.length - todo.length;
    for (const [i, w] of todo.entries()) {
      if (i > 0) {
        const renewed = await renewLease(deps.store, LEASE_KEY, lease, owner, now(), leaseMs);
        if (!renewed) {
          deps.log.warn('collector lost its lease; stopping before the next window', {
            window_start: iso(w),
          });
          remaining += todo.length - i;
          break;
        }
        lease = renewed;
      }
      const result = await processWindow(deps, w, windowMs, options.pipeline);
      await advanceCheckpoint(deps.store, w + windowMs, windowMs, now());
      checkpointMs = w + windowMs;
      results.push(result);
      options.onWindow?.(result);
    }
  } finally {
    await releaseLease(deps.store, LEASE_KEY, lease, owner, now()).catch((e: unknown) => {
      deps.log.warn('could not release the collector lease; it expires by itself', { error: String(e) });
    });
  }
  return { status: 'ok', windows: results, checkpointMs, remaining, concurrency };
}

export interface BackfillOptions extends WindowPipelineOptions {
  readonly fromMs: number;
  readonly toMs: number;
  readonly windowMs?: number;
  readonly onProgress?:
    | ((p: { done: number; total: number; traces: number; window: WindowResult }) => void)
    | undefined;
}

export interface BackfillResult {
  /** Windows processed. */
  readonly windows: number;
  readonly traces: number;
  readonly spans: number;
  readonly rejected: number;
  readonly findings: number;
  readonly results: WindowResult[];
}

/**
 * Processes every window overlapping [fromMs, toMs), oldest first, one `runPipeline` per window.
 * Does not touch the checkpoint (the scheduled collector owns it) and takes no lease: re-running a
 * window replaces its objects, so a backfill over windows the collector also ran is harmless.
 *
 * @example
 * await backfill(deps, { fromMs: Date.parse('2026-01-01T00:00Z'), toMs: Date.parse('2026-01-02T00:00Z'),
 *   onProgress: ({ done, total }) => console.error(`${done}/${total}`) });
 */
export async function backfill(deps: CollectorDeps, options: BackfillOptions): Promise<BackfillResult> {
  const { fromMs, toMs, onProgress, windowMs: windowOption, ...pipeline } = options;
  const windowMs = windowOption ?? DEFAULT_WINDOW_MS;
  if (!(toMs > fromMs)) {
    throw new ConfigError(`backfill: --to (${iso(toMs)}) must be after --from (${iso(fromMs)})`);
  }
  const windows: number[] = [];
  for (let w = windowStart(fromMs, windowMs); w < toMs; w += windowMs) windows.push(w);
  const results: WindowResult[] = [];
  let traces = 0;
  for (const w of windows) {
    const result = await processWindow(deps, w, windowMs, pipeline);
    results.push(result);
    traces += result.traces;
    onProgress?.({ done: results.length, total: windows.length, traces, window: result });
  }
  return {
    windows: results.length,
    traces,
    spans: results.reduce((n, r) => n + r.spans, 0),
    rejected: results.reduce((n, r) => n + r.rejected, 0),
    findings: results.reduce((n, r) => n + r.findings, 0),
    results,
  };
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}
