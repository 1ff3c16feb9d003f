import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../lib/core/ports.js';
import type { WindowStats } from '../../lib/core/regress/index.js';
import { BASELINE_PREFIX, baselinePath, detectRegressions } from '../../lib/pipeline/regressions.js';
import { generator, HOUR, lognormal, rowOf, T0, W } from '../core/regress/rows.js';

class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, Uint8Array>();
  describe() {
    return 'memory://test';
  }
  async put(key: string, body: Uint8Array) {
    this.objects.set(key, body.slice());
  }
  async get(key: string) {
    return this.objects.get(key)?.slice() ?? null;
  }
  async list(prefix: string) {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async delete(keys: readonly string[]) {
    for (const k of keys) this.objects.delete(k);
  }
}

const KEYS = ['orders > DynamoDB GetItem orders', 'orders > SQS SendMessage jobs', 'billing [segment]'];
const step = T0 + 2 * HOUR;

function windows(count: number): WindowStats[] {
  const random = generator(21);
  return Array.from({ length: count }, (_, i) => {
    const start = T0 + i * W;
    return {
      windowStart: start,
      windowMs: W,
      rows: KEYS.map((key, k) =>
        rowOf({
          key,
          start,
          samples: lognormal(random, 300, k === 0 && start >= step ? 90 : 30 + 10 * k),
          exemplars: [`1-${(start / 1000).toString(16).padStart(8, '0')}-${String(k).padStart(24, '0')}`],
        }),
      ),
    };
  });
}

describe('detectRegressions (baselines in the lake)', () => {
  it('keeps one baseline object per key under _state/regressions/', async () => {
    const store = new MemoryStore();
    await detectRegressions(store, windows(3));
    expect(await store.list(BASELINE_PREFIX)).toEqual(KEYS.map(baselinePath).sort());
    expect(baselinePath(KEYS[0]!)).toMatch(/^_state\/regressions\/v1\/[0-9a-f]{16}\.json$/);
  });

  it('gives the same findings run by run as in one run, and the same state', async () => {
    const all = windows(30);
    const once = new MemoryStore();
    const together = await detectRegressions(once, all);
    const split = new MemoryStore();
    const byRun = [];
    for (const w of all) byRun.push(...(await detectRegressions(split, [w])));
    expect(together.length).toBeGreaterThan(0);
    expect(new Set(together.map((f) => f.key))).toEqual(new Set([KEYS[0]]));
    expect(byRun).toEqual(together);
    expect(split.objects).toEqual(once.objects);
  });

  it('replaces a re-processed window: findings and state are unchanged by a re-run', async () => {
    const all = windows(30);
    const store = new MemoryStore();
    const first = await detectRegressions(store, all);
    const state = new Map(store.objects);
    const again = await detectRegressions(store, all.slice(-4));
    expect(again).toEqual(first.filter((f) => f.window_start >= all.at(-4)!.windowStart));
    expect(store.objects).toEqual(state);
  });

  it('starts a key afresh when its baseline is unreadable, and says so', async () => {
    const store = new MemoryStore();
    await detectRegressions(store, windows(2));
    await store.put(baselinePath(KEYS[1]!), new TextEncoder().encode('{"v":1,"garbage":true}'));
    const warnings: string[] = [];
    const log = { info() {}, error() {}, warn: (m: string) => warnings.push(m) };
    await detectRegressions(store, windows(3).slice(2), {}, { log });
    expect(warnings).toEqual(['unreadable baseline; starting afresh']);
    const text = new TextDecoder().decode((await store.get(baselinePath(KEYS[1]!)))!);
    expect(JSON.parse(text).series.t).toEqual([T0 + 2 * W]);
  });

  it('validates the configuration before touching the store', async () => {
    const store = new MemoryStore();
    await expect(detectRegressions(store, windows(1), { minRatio: 0 })).rejects.toThrow(/minRatio/);
    expect(store.objects.size).toBe(0);
  });
});
