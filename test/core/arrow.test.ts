import { type DataType, type Table, tableToIPC, type Vector, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  ArrowTableBuilder,
  arrowSchema,
  buildArrowTable,
  buildArrowTableGeneric,
} from '../../lib/core/arrow.js';
import { LakeError } from '../../lib/core/errors.js';
import { SPANS, SUBSEGMENT_STATS, TABLES, type TableDef, TRACES } from '../../lib/core/tables.js';
import { prng, randomRows } from '../helpers/lake-rows.js';

/** A comparable form of one Arrow cell (bigints, typed arrays, lists and maps made plain). */
function cell(table: Table, column: string, i: number): unknown {
  const v: unknown = table.getChild(column)!.get(i);
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return Array.from(v);
  if ('toJSON' in v && typeof v.toJSON === 'function') return v.toJSON();
  return v;
}

/** apache-arrow's generic builder: slow, but the reference for what the buffers must hold. */
function referenceTable(def: TableDef, rows: readonly Record<string, unknown>[]) {
  const schema = arrowSchema(def);
  const columns: Record<string, Vector> = {};
  for (const field of schema.fields) {
    const col = def.columns.find((c) => c.name === field.name)!;
    const values = rows.map((r) => {
      const v = r[field.name] ?? null;
      // The generic builder wants bigints for Int64.
      return col.type === 'int64' && typeof v === 'number' ? BigInt(v) : v;
    });
    columns[field.name] = vectorFromArray(values, field.type as DataType);
  }
  return columns;
}

describe('arrowSchema', () => {
  it('maps every column type as the lake contract says', () => {
    const types = Object.fromEntries(
      arrowSchema(SPANS).fields.map((f) => [f.name, [String(f.type), f.nullable]]),
    );
    expect(types.trace_id).toEqual(['Utf8', false]);
    expect(types.parent_id).toEqual(['Utf8', true]);
    expect(types.depth).toEqual(['Int32', false]);
    expect(types.start_time).toEqual(['Timestamp<MILLISECOND, UTC>', false]);
    expect(types.duration_ms).toEqual(['Float64', false]);
    expect(types.error).toEqual(['Bool', false]);
    expect(types.annotations).toEqual(['Map<{key:Utf8, value:Utf8}>', true]);
    const stats = Object.fromEntries(
      arrowSchema(SUBSEGMENT_STATS).fields.map((f) => [f.name, String(f.type)]),
    );
    expect(stats.count).toBe('Int64');
    expect(stats.sketch).toBe('Binary');
    expect(stats.exemplar_trace_ids).toBe('List<Utf8>');
  });
});

describe('buildArrowTable', () => {
  it.each(TABLES.map((t) => [t.name, t] as const))(
    'builds 10^5 %s rows matching the rows and, on a sample, apache-arrow’s own builder',
    (name, def) => {
      // Prepare
      const n = 100_000;
      const rows = randomRows(def, n, 11 + name.length);
      const rnd = prng(99);
      const sample = Array.from({ length: 500 }, () => Math.floor(rnd() * n));
      const reference = referenceTable(
        def,
        sample.map((i) => rows[i]!),
      );

      // Act
      const table = buildArrowTable(def, rows);

      // Assess: shape, nulls, then every value of the sample against the reference builder.
      expect(table.numRows).toBe(n);
      for (const col of def.columns) {
        const vector = table.getChild(col.name)!;
        expect(vector.length).toBe(n);
        expect(vector.nullCount).toBe(rows.filter((r) => r[col.name] === null).length);
      }
      const first = def.columns[0]!.name;
      const firstValues = table.getChild(first)!.toArray() as unknown[];
      expect(Array.from(firstValues, (v) => (typeof v === 'bigint' ? Number(v) : v))).toEqual(
        rows.map((r) => r[first]),
      );
      sample.forEach((rowIndex, k) => {
        for (const col of def.columns) {
          const ref: unknown = reference[col.name]!.get(k);
          const expected = ref instanceof Uint8Array ? Array.from(ref) : ref;
          const plain =
            expected !== null && typeof expected === 'object' && 'toJSON' in expected
              ? (expected as { toJSON(): unknown }).toJSON()
              : expected;
          expect(cell(table, col.name, rowIndex), `${col.name} row ${rowIndex}`).toEqual(plain);
        }
      });
    },
  );

  it('keeps the last row and the row count exact around bitmap byte edges', () => {
    for (const n of [0, 1, 7, 8, 9, 63, 64, 65]) {
      const rows = randomRows(SPANS, n, n + 1);
      const table = buildArrowTable(SPANS, rows);
      expect(table.numRows).toBe(n);
      if (n > 0) expect(cell(table, 'parent_id', n - 1)).toBe(rows[n - 1]!.parent_id);
    }
  });

  it('stores sub-millisecond timestamps at millisecond precision', () => {
    const row = { ...randomRows(SPANS, 1)[0]!, start_time: 1_767_261_900_123.987 };
    expect(cell(buildArrowTable(SPANS, [row]), 'start_time', 0)).toBe(1_767_261_900_123);
  });

  it('rejects nulls in non-null columns and wrong types, naming table, column and row', () => {
    const rows = randomRows(SPANS, 3);
    const missing = rows.map((r, i) => (i === 2 ? { ...r, trace_id: undefined } : r));
    expect(() => buildArrowTable(SPANS, missing)).toThrow(LakeError);
    expect(() => buildArrowTable(SPANS, missing)).toThrow(
      'table spans, column trace_id, row 2: missing value',
    );
    const wrong = rows.map((r, i) => (i === 1 ? { ...r, depth: 1.5 } : r));
    expect(() => buildArrowTable(SPANS, wrong)).toThrow(/column depth, row 1: expected a 32-bit integer/);
    const badList = randomRows(SUBSEGMENT_STATS, 1).map((r) => ({ ...r, exemplar_trace_ids: ['a', null] }));
    expect(() => buildArrowTable(SUBSEGMENT_STATS, badList)).toThrow(
      /exemplar_trace_ids, row 0: list item is null/,
    );
  });

  it('builds the same buffers with the compiled row loop and the generic one', () => {
    for (const def of TABLES) {
      // Prepare: unicode, empty strings and nulls (the shared random rows mix them).
      const rows = randomRows(def, 3000, 5 + def.columns.length);

      // Act
      const compiled = tableToIPC(buildArrowTable(def, rows), 'stream');
      const generic = tableToIPC(buildArrowTableGeneric(def, rows), 'stream');

      // Assess
      expect(Buffer.from(compiled).equals(Buffer.from(generic)), def.name).toBe(true);
    }
  });

  it('keeps strings exact whether a column is all ASCII or not, empty strings and nulls included', () => {
    const values = [
      'plain',
      '',
      null,
      'Grüße',
      '注文',
      '🚀 launch',
      'x'.repeat(300),
      'lone \ud800 surrogate',
      null,
      'end',
    ];
    const base = randomRows(SPANS, 1)[0]!;
    const ascii = values.map((v) => ({
      ...base,
      http_url: v === null ? null : v.replace(/[\u0080-\uffff]/g, '?'),
    }));
    const mixed = values.map((v) => ({ ...base, http_url: v }));
    for (const rows of [ascii, mixed]) {
      const table = buildArrowTable(SPANS, rows);
      const back = rows.map((_, i) => cell(table, 'http_url', i));
      // A lone surrogate is not valid UTF-8: it is written as U+FFFD, as TextEncoder does.
      expect(back).toEqual(
        rows.map((r) => (r.http_url === null ? null : r.http_url.replace('\ud800', '\ufffd'))),
      );
    }
  });

  it('writes 64-bit integers and timestamps exactly, negative and beyond 32 bits', () => {
    const base = randomRows(SUBSEGMENT_STATS, 1)[0]!;
    const counts = [
      0,
      1,
      -1,
      2 ** 32,
      2 ** 32 + 5,
      -(2 ** 32) - 5,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
    ];
    const rows = counts.map((count, i) => ({
      ...base,
      count,
      error_count: BigInt(count) * 3n,
      window_start: -1.5 + i,
    }));
    const table = buildArrowTable(SUBSEGMENT_STATS, rows);
    expect(rows.map((_, i) => cell(table, 'count', i))).toEqual(counts.map((c) => BigInt(c)));
    expect(rows.map((_, i) => cell(table, 'error_count', i))).toEqual(counts.map((c) => BigInt(c) * 3n));
    // Epoch ms are floored, also before 1970.
    expect(rows.map((_, i) => cell(table, 'window_start', i))).toEqual(
      rows.map((_, i) => Math.floor(-1.5 + i)),
    );
  });

  it('rejects integers and timestamps that do not fit 64 bits, naming the row', () => {
    const base = randomRows(SUBSEGMENT_STATS, 2);
    const unsafe = base.map((r, i) => (i === 1 ? { ...r, count: 2 ** 60 } : r));
    expect(() => buildArrowTable(SUBSEGMENT_STATS, unsafe)).toThrow(
      /column count, row 1: expected an integer/,
    );
    const wide = base.map((r, i) => (i === 1 ? { ...r, count: 2n ** 63n } : r));
    expect(() => buildArrowTable(SUBSEGMENT_STATS, wide)).toThrow(
      /column count, row 1: expected a 64-bit integer/,
    );
    const late = base.map((r, i) => (i === 0 ? { ...r, window_start: 2 ** 70 } : r));
    expect(() => buildArrowTable(SUBSEGMENT_STATS, late)).toThrow(
      /column window_start, row 0: expected epoch milliseconds/,
    );
  });

  it('builds an empty table with every column', () => {
    const table = buildArrowTable(TRACES, []);
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => f.name)).toEqual(TRACES.columns.map((c) => c.name));
  });
});

describe('ArrowTableBuilder', () => {
  it('gives the table buildArrowTable gives, past its capacity and part after part', () => {
    for (const def of TABLES) {
      // Prepare: two parts, the first larger than the capacity so every buffer grows.
      const rows = randomRows(def, 2500, 3 + def.columns.length);
      const parts = [rows.slice(0, 2000), rows.slice(2000), []];
      const builder = new ArrowTableBuilder(def, 100);

      for (const part of parts) {
        // Act
        for (const row of part) builder.add(row);
        expect(builder.length).toBe(part.length);
        const built = builder.finish();

        // Assess
        expect(builder.length).toBe(0);
        const expected = tableToIPC(buildArrowTable(def, part), 'stream');
        expect(Buffer.from(tableToIPC(built, 'stream')).equals(Buffer.from(expected)), def.name).toBe(true);
      }
    }
  });

  it('keeps nulls at the end of a part beyond its capacity', () => {
    const rows = randomRows(SPANS, 40, 9).map((r, i) =>
      i >= 20 ? { ...r, parent_id: null, http_status: null } : r,
    );
    const builder = new ArrowTableBuilder(SPANS, 8);
    for (const row of rows) builder.add(row);
    const table = builder.finish();
    expect(rows.map((_, i) => cell(table, 'parent_id', i))).toEqual(rows.map((r) => r.parent_id));
    expect(rows.map((_, i) => cell(table, 'http_status', i))).toEqual(rows.map((r) => r.http_status));
  });

  it('names the row of a bad value and refuses to go on after it', () => {
    const rows = randomRows(SPANS, 3);
    const builder = new ArrowTableBuilder(SPANS);
    builder.add(rows[0]!);
    builder.add(rows[1]!);
    expect(() => builder.add({ ...rows[2]!, depth: 'deep' })).toThrow(/table spans, column depth, row 2/);
    expect(() => builder.add(rows[2]!)).toThrow(LakeError);
    expect(() => builder.finish()).toThrow(/builder used after a failed add/);
  });
});
