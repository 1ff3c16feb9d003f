import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../lib/adapters/local-store.js';
import { LakeError } from '../../lib/core/errors.js';
import type { MetricSink, ObjectStore, SourceEvent, TraceSource } from '../../lib/core/ports.js';
import { silentLog } from '../../lib/core/ports.js';
import { decodeBaseline } from '../../lib/core/regress/state.js';
import { generateTraces } from '../../lib/demo/generate.js';
import { acquireLease, withLease } from '../../lib/pipeline/lease.js';
import { BASELINE_PREFIX } from '../../lib/pipeline/regressions.js';
import { BASELINE_LOCK_KEY, runPipeline } from '../../lib/pipeline/run.js';

const START = Date.UTC(2026, 0, 15, 8, 0, 0);
const WINDOW = 300_000;
const metrics: MetricSink = { publish: async () => {}, flush: async () => {} };

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function source(): TraceSource {
  const traces = [...generateTraces({ seed: 3, startMs: START, hours: 2 * (WINDOW / 3_600_000) })];
  const events: SourceEvent[] = [];
  for (let i = 0; i < traces.length; i += 100) {
    events.push({
      type: 'record',
      record: {
        value: {
          Traces: traces.slice(i, i + 100).map((t) => ({
            Id: t.traceId,
            Segments: t.segments.map((d) => ({ Document: typeof d === 'string' ? d : JSON.stringify(d) })),
          })),
        },
        location: { source: `page-${i}` },
      },
    });
  }
  return {
    describe: () => 'generated',
    read: async function* () {
      yield* events;
    },
    stats: () => ({}),
  };
}

/**
 * The lake, with every read of a baseline slowed down so that two runs both read the baselines
 * before either writes them back; `conditional: false` hides the store's conditional writes.
 */
function slowBaselineReads(inner: LocalObjectStore, conditional: boolean): ObjectStore {
  const store: ObjectStore = {
    describe: () => inner.describe(),
    put: (k, b) => inner.put(k, b),
    list: (p) => inner.list(p),
    delete: (k) => inner.delete(k),
    get: async (k) => {
      if (k.startsWith(BASELINE_PREFIX)) await new Promise((r) => setTimeout(r, 200));
      return inner.get(k);
    },
  };
  if (conditional) {
    store.putConditional = (k, b, v) => inner.putConditional(k, b, v);
    store.getWithVersion = (k) => inner.getWithVersion(k);
  }
  return store;
}

/** Two runs, one per window, at the same time on one lake; the windows each key's baseline holds. */
async function twoRunsAtOnce(conditional: boolean): Promise<Map<string, number[]>> {
  const lake = await mkdtemp(path.join(tmpdir(), 'tracelake-lock-'));
  dirs.push(lake);
  const inner = new LocalObjectStore(lake);
  const store = slowBaselineReads(inner, conditional);
  const runWindow = (from: number) =>
    runPipeline(
      { source: source(), store, metrics, log: silentLog },
      { windowMs: WINDOW, writeSpans: false, range: { fromMs: from, toMs: from + WINDOW } },
    );
  const [a, b] = await Promise.all([runWindow(START), runWindow(START + WINDOW)]);
  expect(a.spans).toBeGreaterThan(0);
  expect(b.spans).toBeGreaterThan(0);
  const windows = new Map<string, number[]>();
  for (const key of await inner.list(BASELINE_PREFIX)) {
    const baseline = decodeBaseline((await inner.get(key))!);
    windows.set(
      baseline.key,
      baseline.series.map((p) => p.start),
    );
  }
  return windows;
}

describe('regression baselines updated by runs at the same time', () => {
  it("keep both runs' windows: the second run waits for the first one's update", async () => {
    const windows = await twoRunsAtOnce(true);
    // Keys with calls in both windows hold both windows.
    const both = [...windows.values()].filter((starts) => starts.length >= 2);
    expect(both.length).toBeGreaterThan(5);
    for (const starts of windows.values()) {
      expect(starts.every((s) => s === START || s === START + WINDOW)).toBe(true);
    }
    const busy = [...windows.values()].filter((s) => s.includes(START) && s.includes(START + WINDOW));
    expect(busy.length).toBe(both.length);
  });

  it('lose a window without conditional writes (what the lease prevents)', async () => {
    const guarded = await twoRunsAtOnce(true);
    const unguarded = await twoRunsAtOnce(false);
    const count = (m: Map<string, number[]>) => [...m.values()].reduce((n, s) => n + s.length, 0);
    expect(count(unguarded)).toBeLessThan(count(guarded));
  });

  it('leaves the lease released', async () => {
    const lake = await mkdtemp(path.join(tmpdir(), 'tracelake-lock-'));
    dirs.push(lake);
    const store = new LocalObjectStore(lake);
    await runPipeline(
      { source: source(), store, metrics, log: silentLog },
      { windowMs: WINDOW, writeSpans: false },
    );
    const lease = JSON.parse(new TextDecoder().decode((await store.get(BASELINE_LOCK_KEY))!)) as {
      expiresAtMs: number;
    };
    expect(lease.expiresAtMs).toBeLessThanOrEqual(Date.now());
    // So the next run takes it at once.
    expect(await acquireLease(store, BASELINE_LOCK_KEY, 'next', Date.now(), 1000)).not.toBeNull();
  });
});

describe('withLease', () => {
  async function lake(): Promise<LocalObjectStore> {
    const dir = await mkdtemp(path.join(tmpdir(), 'tracelake-lease-'));
    dirs.push(dir);
    return new LocalObjectStore(dir);
  }

  it('waits while another run holds the lease, then runs', async () => {
    const store = await lake();
    let clock = 1_000_000;
    const held = await acquireLease(store, 'l.json', 'other', clock, 5_000);
    expect(held).not.toBeNull();
    const pauses: number[] = [];
    const result = await withLease(
      store,
      'l.json',
      'me',
      {
        leaseMs: 1_000,
        maxWaitMs: 60_000,
        now: () => clock,
        sleep: async (ms) => {
          pauses.push(ms);
          clock += ms;
        },
      },
      async () => 'done',
    );
    expect(result).toBe('done');
    // It waited until the other lease expired (5 s), no longer than that plus one pause.
    expect(clock - 1_000_000).toBeGreaterThanOrEqual(5_000);
    expect(clock - 1_000_000).toBeLessThan(5_000 + 4_000);
    expect(pauses.length).toBeGreaterThan(2);
  });

  it('gives up with the holder named when the lease stays held', async () => {
    const store = await lake();
    let clock = 1_000_000;
    await acquireLease(store, 'l.json', 'backfill-7', clock, 3_600_000);
    let ran = false;
    const attempt = withLease(
      store,
      'l.json',
      'me',
      {
        leaseMs: 1_000,
        maxWaitMs: 10_000,
        now: () => clock,
        sleep: async (ms) => {
          clock += ms;
        },
      },
      async () => {
        ran = true;
      },
    );
    await expect(attempt).rejects.toThrow(LakeError);
    await expect(attempt).rejects.toThrow(/held by another run \(backfill-7/);
    expect(ran).toBe(false);
  });

  it('releases the lease when the work fails', async () => {
    const store = await lake();
    await expect(
      withLease(store, 'l.json', 'me', { leaseMs: 60_000, maxWaitMs: 0 }, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await acquireLease(store, 'l.json', 'next', Date.now(), 1000)).not.toBeNull();
  });
});
