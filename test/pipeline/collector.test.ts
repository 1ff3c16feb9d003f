import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../lib/adapters/local-store.js';
import { ConfigError, LakeError } from '../../lib/core/errors.js';
import type { MetricSink, ObjectStore, TraceSource } from '../../lib/core/ports.js';
import { silentLog } from '../../lib/core/ports.js';
import {
  advanceCheckpoint,
  backfill,
  CHECKPOINT_KEY,
  type CollectorDeps,
  dueWindows,
  LEASE_KEY,
  readCheckpoint,
  runDueWindows,
} from '../../lib/pipeline/collector.js';
import type { PipelineDeps, PipelineOptions, RunSummary } from '../../lib/pipeline/run.js';

const W = 300_000;
const T0 = Date.UTC(2026, 0, 1, 10, 0);
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null);

const source: TraceSource = {
  describe: () => 'test',
  async *read() {},
  stats: () => ({}),
};
const metrics: MetricSink = { publish: async () => {}, flush: async () => {} };

/**
 * Stands in for `runPipeline`: writes three deterministic objects per window (like the span
 * parts, stats and traces of a real run), and can be told to crash after some of them.
 */
function fakePipeline(crash?: { window: number; afterObjects: number }) {
  const calls: number[] = [];
  const run = async (deps: PipelineDeps, options: PipelineOptions): Promise<RunSummary> => {
    const w = options.range?.fromMs ?? -1;
    calls.push(w);
    const keys = ['spans', 'subsegment_stats', 'traces'].map((t) => `${t}/${w}.json`);
    for (const [i, key] of keys.entries()) {
      if (crash && crash.window === w && i === crash.afterObjects) throw new Error('injected crash');
      await deps.store.put(key, enc(JSON.stringify({ window: w, table: key })));
    }
    return {
      windows: [w],
      traces: 1,
      spans: 2,
      inProgress: 0,
      rejected: 0,
      rejections: [],
      rejectedKey: null,
      ignored: 0,
      outOfRange: 0,
      keys: 1,
      findings: [],
      objectsWritten: keys,
      statsRows: [],
      keySummaries: [],
      sourceStats: {},
      splitTraces: 0,
      elapsedMs: 0,
    };
  };
  return { run, calls };
}

let dir: string;
let store: LocalObjectStore;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tl-collector-'));
  store = new LocalObjectStore(dir);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function deps(
  now: number,
  run: CollectorDeps['runWindow'],
  over: Partial<CollectorDeps> = {},
): CollectorDeps {
  return { source, store, metrics, log: silentLog, now: () => now, runWindow: run, ...over };
}

describe('dueWindows', () => {
  it('is due only once the window end plus the lag has passed', () => {
    const opts = { windowMs: W, lagMs: 180_000 };
    // 10:07:59: 10:00-10:05 ended 2m59s ago, not due yet.
    expect(dueWindows(null, T0 + 7 * 60_000 + 59_000, opts)).toEqual([T0 - W]);
    expect(dueWindows(null, T0 + 8 * 60_000, opts)).toEqual([T0]);
    expect(dueWindows(T0 + W, T0 + 8 * 60_000, opts)).toEqual([]);
    expect(dueWindows(T0 - 2 * W, T0 + 8 * 60_000, opts)).toEqual([T0 - 2 * W, T0 - W, T0]);
    expect(dueWindows(null, T0 + 8 * 60_000, { ...opts, startMs: T0 - W + 1 })).toEqual([T0 - W, T0]);
    expect(dueWindows(null, T0 + W, { windowMs: W, lagMs: 0 })).toEqual([T0]);
  });
});

describe('runDueWindows', () => {
  it('starts at the newest due window, then resumes from the checkpoint, oldest first, bounded', async () => {
    const { run, calls } = fakePipeline();

    const first = await runDueWindows(deps(T0 + 8 * 60_000, run), { windowMs: W, lagMs: 180_000 });
    expect(first).toMatchObject({ status: 'ok', checkpointMs: T0 + W, remaining: 0, concurrency: 'lease' });
    expect(calls).toEqual([T0]);

    // 40 minutes later: 8 windows are due, at most 3 per run.
    const later = T0 + 48 * 60_000;
    const second = await runDueWindows(deps(later, run), { windowMs: W, lagMs: 180_000, maxWindows: 3 });
    expect(second.windows.map((w) => w.windowStartMs)).toEqual([T0 + W, T0 + 2 * W, T0 + 3 * W]);
    expect(second.remaining).toBe(5);
    const third = await runDueWindows(deps(later, run), { windowMs: W, lagMs: 180_000, maxWindows: 100 });
    expect(third.windows.map((w) => w.windowStartMs)).toEqual([4, 5, 6, 7, 8].map((i) => T0 + i * W));
    expect((await readCheckpoint(store))?.lastCompleteWindowEndMs).toBe(T0 + 9 * W);
    expect(calls).toHaveLength(9);
    expect(new Set(calls).size).toBe(9);
  });

  it('after a crash between objects and checkpoint, the re-run redoes only that window, leaving no gap or duplicate', async () => {
    const now = T0 + 28 * 60_000;
    await advanceCheckpoint(store, T0, W, 0);
    const crashing = fakePipeline({ window: T0 + 2 * W, afterObjects: 2 });

    await expect(runDueWindows(deps(now, crashing.run), { windowMs: W, lagMs: 180_000 })).rejects.toThrow(
      'injected crash',
    );
    expect((await readCheckpoint(store))?.lastCompleteWindowEndMs).toBe(T0 + 2 * W);
    // Two objects of the crashed window are in the lake already.
    expect(await store.list('spans/')).toContain(`spans/${T0 + 2 * W}.json`);
    // The lease was released, so the next run is not blocked for 15 minutes.
    expect(dec(await store.get(LEASE_KEY))).toMatch(/"expiresAtMs"/);

    const rerun = fakePipeline();
    const result = await runDueWindows(deps(now, rerun.run), { windowMs: W, lagMs: 180_000 });

    expect(rerun.calls).toEqual([2, 3, 4].map((i) => T0 + i * W));
    expect(result.checkpointMs).toBe(T0 + 5 * W);
    const keys = (await store.list('')).filter((k) => !k.startsWith('_state/'));
    const expected = [0, 1, 2, 3, 4].flatMap((i) =>
      ['spans', 'subsegment_stats', 'traces'].map((t) => `${t}/${T0 + i * W}.json`),
    );
    expect(keys.sort()).toEqual(expected.sort());
  });

  it('returns busy while another live run holds the lease, and takes over an expired one', async () => {
    const { run, calls } = fakePipeline();
    const now = T0 + 8 * 60_000;
    await store.put(LEASE_KEY, enc(JSON.stringify({ owner: 'other', expiresAtMs: now + 60_000 })));

    const busy = await runDueWindows(deps(now, run), { windowMs: W, lagMs: 180_000 });
    expect(busy.status).toBe('busy');
    expect(calls).toEqual([]);

    const taken = await runDueWindows(deps(now + 61_000, run), { windowMs: W, lagMs: 180_000, owner: 'me' });
    expect(taken.status).toBe('ok');
    expect(calls).toEqual([T0]);
  });

  it('lets exactly one of two concurrent runs work when the store has conditional writes', async () => {
    const now = T0 + 28 * 60_000;
    await advanceCheckpoint(store, T0, W, 0);
    const a = fakePipeline();
    const b = fakePipeline();
    // Two stores on the same folder: two processes sharing the lake.
    const other = new LocalObjectStore(dir);

    const results = await Promise.all([
      runDueWindows(deps(now, a.run), { windowMs: W, lagMs: 180_000 }),
      runDueWindows(deps(now, b.run, { store: other }), { windowMs: W, lagMs: 180_000 }),
    ]);

    expect(results.map((r) => r.status).sort()).toEqual(['busy', 'ok']);
    expect([...a.calls, ...b.calls]).toEqual([0, 1, 2, 3, 4].map((i) => T0 + i * W));
    expect((await readCheckpoint(store))?.lastCompleteWindowEndMs).toBe(T0 + 5 * W);
  });

  it('tolerates overlapping runs on a store without conditional writes: same keys, checkpoint never moves back', async () => {
    const now = T0 + 18 * 60_000;
    const plain: ObjectStore = {
      describe: () => store.describe(),
      put: (k, b) => store.put(k, b),
      get: (k) => store.get(k),
      list: (p) => store.list(p),
      delete: (k) => store.delete(k),
    };
    const a = fakePipeline();
    const b = fakePipeline();
    const [ra, rb] = await Promise.all([
      runDueWindows(deps(now, a.run, { store: plain }), { windowMs: W, lagMs: 180_000, startMs: T0 }),
      runDueWindows(deps(now, b.run, { store: plain }), { windowMs: W, lagMs: 180_000, startMs: T0 }),
    ]);
    expect([ra.concurrency, rb.concurrency]).toEqual(['unguarded', 'unguarded']);
    expect(await store.list('traces/')).toEqual([0, 1, 2].map((i) => `traces/${T0 + i * W}.json`));
    expect((await readCheckpoint(store))?.lastCompleteWindowEndMs).toBe(T0 + 3 * W);

    await advanceCheckpoint(plain, T0 + W, W, 0);
    expect((await readCheckpoint(store))?.lastCompleteWindowEndMs).toBe(T0 + 3 * W);
  });

  it('refuses a corrupt checkpoint instead of guessing', async () => {
    const { run } = fakePipeline();
    await store.put(CHECKPOINT_KEY, enc('{"lastCompleteWindowEndMs":"soon"}'));
    await expect(runDueWindows(deps(T0, run), { windowMs: W })).rejects.toThrow(LakeError);
    await store.put(CHECKPOINT_KEY, enc('not json'));
    await expect(runDueWindows(deps(T0, run), { windowMs: W })).rejects.toThrow(/not valid JSON/);
  });
});

describe('backfill', () => {
  it('processes every window overlapping the range with progress, without touching the checkpoint', async () => {
    const { run, calls } = fakePipeline();
    const progress: string[] = [];

    const result = await backfill(deps(0, run), {
      fromMs: T0 + 60_000,
      toMs: T0 + 3 * W,
      windowMs: W,
      onProgress: (p) => progress.push(`${p.done}/${p.total}:${p.traces}`),
    });

    expect(calls).toEqual([T0, T0 + W, T0 + 2 * W]);
    expect(progress).toEqual(['1/3:1', '2/3:2', '3/3:3']);
    expect(result).toMatchObject({ windows: 3, traces: 3, spans: 6 });
    expect(await readCheckpoint(store)).toBeNull();
    await expect(backfill(deps(0, run), { fromMs: T0, toMs: T0 })).rejects.toThrow(ConfigError);
  });
});
