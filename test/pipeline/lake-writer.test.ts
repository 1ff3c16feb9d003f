import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../../lib/adapters/local-store.js';
import { buildArrowTable } from '../../lib/core/arrow.js';
import { LakeError } from '../../lib/core/errors.js';
import { REGRESSIONS, SPANS, TRACES } from '../../lib/core/tables.js';
import { LakeWriter } from '../../lib/pipeline/lake-writer.js';
import { lakeGlob, withDuckDb } from '../helpers/duckdb.js';
import { randomRows } from '../helpers/lake-rows.js';

const W = Date.UTC(2026, 0, 1, 10, 5);
const NEXT = W + 5 * 60_000;

let lake: string;
let store: LocalObjectStore;
let writer: LakeWriter;
beforeEach(async () => {
  lake = await mkdtemp(path.join(tmpdir(), 'tracelake-writer-'));
  store = new LocalObjectStore(lake);
  writer = new LakeWriter(store);
});
afterEach(async () => {
  await rm(lake, { recursive: true, force: true });
});

/** Span rows of one window, with distinct ids so counts can be checked. */
function spanRows(n: number, tag: string, window = W) {
  return randomRows(SPANS, n, n + tag.length).map((r, i) => ({
    ...r,
    id: `${tag}-${i}`,
    window_start: window,
  }));
}

describe('LakeWriter', () => {
  it('writes parts at their Hive keys, readable as one table', async () => {
    const a = await writer.writeWindow(SPANS, W, spanRows(10, 'a'), 0);
    const b = await writer.writeWindow(SPANS, W, spanRows(5, 'b'), 1);

    expect(a.key).toBe('spans/dt=2026-01-01/hour=10/20260101T100500Z-0000.parquet');
    expect(b.key).toBe('spans/dt=2026-01-01/hour=10/20260101T100500Z-0001.parquet');
    expect(a.bytes).toBe((await store.get(a.key))!.length);
    const rows = await withDuckDb((q) =>
      q(`SELECT count(*) AS n, min(dt) AS dt, min(hour) AS hour FROM ${lakeGlob(lake, 'spans')}`),
    );
    expect(rows[0]!.n).toBe(15);
    expect(rows[0]!.hour).toBe(10);
  });

  it('removes stale parts when a window is re-written with fewer parts, and only that window', async () => {
    // Prepare: a first run with three parts, and a neighbouring window that must be kept.
    for (let p = 0; p < 3; p++) await writer.writeWindow(SPANS, W, spanRows(4, `old${p}`), p);
    await writer.finishParts(SPANS, W, 3);
    await writer.writeWindow(SPANS, NEXT, spanRows(2, 'next', NEXT), 0);

    // Act: the re-run produces one part.
    await writer.writeWindow(SPANS, W, spanRows(6, 'new'), 0);
    const deleted = await writer.finishParts(SPANS, W, 1);

    // Assess
    expect(deleted).toEqual([
      'spans/dt=2026-01-01/hour=10/20260101T100500Z-0001.parquet',
      'spans/dt=2026-01-01/hour=10/20260101T100500Z-0002.parquet',
    ]);
    expect(await store.list('spans/')).toEqual([
      'spans/dt=2026-01-01/hour=10/20260101T100500Z-0000.parquet',
      'spans/dt=2026-01-01/hour=10/20260101T101000Z-0000.parquet',
    ]);
    const counts = await withDuckDb((q) =>
      q(`SELECT window_start, count(*) AS n FROM ${lakeGlob(lake, 'spans')} GROUP BY 1 ORDER BY 1`),
    );
    expect(counts).toEqual([
      { window_start: W, n: 6 },
      { window_start: NEXT, n: 2 },
    ]);
    expect(await writer.finishParts(SPANS, W, 1)).toEqual([]);
  });

  it('replaces a whole-window table and clears it when the window is now empty', async () => {
    const first = await writer.writeWindow(REGRESSIONS, W, randomRows(REGRESSIONS, 3));
    expect(first.key).toBe('regressions/dt=2026-01-01/20260101T100500Z.parquet');
    await writer.writeWindow(REGRESSIONS, W, randomRows(REGRESSIONS, 1, 9));
    const n = await withDuckDb((q) => q(`SELECT count(*) AS n FROM ${lakeGlob(lake, 'regressions')}`));
    expect(n[0]!.n).toBe(1);

    const empty = await writer.writeWindow(REGRESSIONS, W, []);
    expect(empty).toEqual({ key: first.key, bytes: 0 });
    expect(await store.list('regressions/')).toEqual([]);
    // Empty with nothing to clear is fine too.
    expect((await writer.writeWindow(TRACES, W, [])).bytes).toBe(0);
  });

  it('rejects parts on whole-window tables and bad part numbers', async () => {
    await expect(writer.writeWindow(TRACES, W, randomRows(TRACES, 1), 1)).rejects.toThrow(LakeError);
    await expect(writer.writeWindow(SPANS, W, spanRows(1, 'x'), -1)).rejects.toThrow(/part -1/);
    await expect(writer.writeWindow(SPANS, W, spanRows(1, 'x'), 10_000)).rejects.toThrow(LakeError);
    await expect(writer.finishParts(TRACES, W, 0)).rejects.toThrow(/written whole/);
  });

  it('writes a whole-window table from batches as one object, and clears it when there are none', async () => {
    // Prepare: an object from an earlier run at the same key.
    const rows = randomRows(TRACES, 250, 4);
    const old = await writer.writeWindow(TRACES, W, randomRows(TRACES, 7, 8));

    // Act
    const written = await writer.writeWindowBatches(TRACES, W, [[], rows.slice(0, 100), [], rows.slice(100)]);

    // Assess: replaced in place, the rows in the order given.
    expect(written.key).toBe(old.key);
    expect(written.rows).toBe(250);
    expect(written.bytes).toBe((await store.get(written.key))!.length);
    const ids = await withDuckDb((q) => q(`SELECT trace_id FROM ${lakeGlob(lake, 'traces')}`));
    expect(ids.map((r) => r.trace_id)).toEqual(rows.map((r) => r.trace_id));

    // No batch, or only empty ones: the window's object goes.
    expect(await writer.writeWindowBatches(TRACES, W, [[], []])).toEqual({ key: old.key, bytes: 0, rows: 0 });
    expect(await store.list('traces/')).toEqual([]);
    expect((await writer.writeWindowBatches(TRACES, W, [])).rows).toBe(0);
    await expect(writer.writeWindowBatches(TRACES, W, [rows], 2)).rejects.toThrow(LakeError);
  });

  it('writes Arrow table batches as the same object as their rows, counting their rows', async () => {
    const rows = randomRows(SPANS, 300, 6);
    const fromRows = await writer.writeWindowBatches(SPANS, W, [rows.slice(0, 120), rows.slice(120)], 1);
    const bytes = await store.get(fromRows.key);

    const empty = buildArrowTable(SPANS, []);
    const tables = [
      empty,
      buildArrowTable(SPANS, rows.slice(0, 120)),
      buildArrowTable(SPANS, rows.slice(120)),
    ];
    const fromTables = await writer.writeWindowBatches(SPANS, W, tables, 1);

    expect(fromTables).toEqual(fromRows);
    expect(fromTables.rows).toBe(300);
    expect(await store.get(fromTables.key)).toEqual(bytes);
    // Only empty tables: the part is cleared, as with empty row batches.
    expect((await writer.writeWindowBatches(SPANS, W, [empty], 1)).rows).toBe(0);
    expect(await store.list('spans/')).toEqual([]);
  });
});
