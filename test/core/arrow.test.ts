import { type DataType, type Table, type Vector, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { arrowSchema, buildArrowTable } from '../../lib/core/arrow.js';
import { LakeError } from '../../lib/core/errors.js';
import { SPANS, SUBSEGMENT_STATS, TABLES, type TableDef } from '../../lib/core/tables.js';
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
});
