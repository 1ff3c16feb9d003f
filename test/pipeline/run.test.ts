import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../lib/adapters/local-store.js';
import { ConfigError } from '../../lib/core/errors.js';
import type { MetricSink, SourceEvent, TraceSource } from '../../lib/core/ports.js';
import { silentLog } from '../../lib/core/ports.js';
import { generateTraces } from '../../lib/demo/generate.js';
import { runPipeline } from '../../lib/pipeline/run.js';
import { withDuckDb } from '../helpers/duckdb.js';

const START = Date.UTC(2026, 0, 15, 8, 0, 0);

/** BatchGetTraces pages of generated traffic, some traces sent a second time in a later page. */
function source(): { source: TraceSource; ids: Set<string>; resent: string[] } {
  const traces = [...generateTraces({ seed: 7, startMs: START, hours: 0.15, requestsPerSecond: 1.5 })];
  const page = (list: typeof traces) => ({
    Traces: list.map((t) => ({
      Id: t.traceId,
      Segments: t.segments.map((d, i) => ({
        Id: `s${i}`,
        Document: typeof d === 'string' ? d : JSON.stringify(d),
      })),
    })),
  });
  const pages = [];
  for (let i = 0; i < traces.length; i += 100) pages.push(page(traces.slice(i, i + 100)));
  const resent = traces.filter((_, i) => i % 17 === 0);
  pages.push(page(resent));
  const events: SourceEvent[] = pages.map((value, i) => ({
    type: 'record',
    record: { value, location: { source: `page-${i}` } },
  }));
  return {
    source: {
      describe: () => 'generated pages',
      read: async function* () {
        yield* events;
      },
      stats: () => ({}),
    },
    ids: new Set(traces.map((t) => t.traceId)),
    resent: resent.map((t) => t.traceId),
  };
}

const metrics: MetricSink = { publish: async () => {}, flush: async () => {} };

let dirs: string[] = [];
beforeEach(() => {
  dirs = [];
});
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function run(encodeBatchRows?: number) {
  const lake = await mkdtemp(path.join(tmpdir(), 'tracelake-run-'));
  dirs.push(lake);
  const input = source();
  const summary = await runPipeline(
    { source: input.source, store: new LocalObjectStore(lake), metrics, log: silentLog },
    { partRows: 400, encodeBatchRows, detectRegressions: false },
  );
  return { lake, summary, input };
}

/** Every Parquet object of a lake, relative path → its rows in file order. */
async function lakeRows(lake: string): Promise<Map<string, unknown[]>> {
  const files = (await readdir(lake, { recursive: true })).filter((f) => f.endsWith('.parquet')).sort();
  const out = new Map<string, unknown[]>();
  await withDuckDb(async (q) => {
    for (const f of files) {
      out.set(f, await q(`SELECT * FROM read_parquet('${path.join(lake, f)}', hive_partitioning = false)`));
    }
  });
  return out;
}

describe('runPipeline', () => {
  it('writes the same rows in the same order whatever the encoding batch size', async () => {
    // Act: objects encoded 7 rows at a time, and with the default batches.
    const small = await run(7);
    const usual = await run();

    // Assess: same objects, same rows, same order.
    const a = await lakeRows(small.lake);
    const b = await lakeRows(usual.lake);
    expect([...a.keys()]).toEqual([...b.keys()]);
    expect([...a.keys()].filter((k) => k.startsWith('spans/')).length).toBeGreaterThan(3);
    for (const [key, rows] of a) expect(rows, key).toEqual(b.get(key));

    // Each trace once (the resent ones counted as duplicates), in start order.
    const traces = [...a.entries()].filter(([k]) => k.startsWith('traces/')).flatMap(([, rows]) => rows);
    const ids = traces.map((t) => (t as { trace_id: string }).trace_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(small.summary.traces);
    // A resent trace with no complete span is not a row the first time either.
    const kept = new Set(ids);
    expect(small.summary.sourceStats.duplicate_traces).toBe(
      small.input.resent.filter((id) => kept.has(id)).length,
    );
    expect(small.summary.sourceStats.duplicate_traces).toBeGreaterThan(10);
    expect(ids.every((id) => small.input.ids.has(id))).toBe(true);
    // Start times are stored to the millisecond: ties within one are ordered by the full value.
    for (const [key, rows] of a) {
      if (!key.startsWith('traces/')) continue;
      const starts = (rows as { start_time: number }[]).map((r) => r.start_time);
      expect(starts, key).toEqual([...starts].sort((x, y) => x - y));
    }
  });

  it('refuses an encoding batch size below one', async () => {
    await expect(run(0)).rejects.toThrow(ConfigError);
  });
});
