import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeParquet, encodeParquet } from '../../lib/adapters/parquet.js';
import { ArrowTableBuilder, buildArrowTable } from '../../lib/core/arrow.js';
import { LakeError } from '../../lib/core/errors.js';
import { SPANS, TABLES, TRACES } from '../../lib/core/tables.js';
import { encodeParquetBatches } from '../../lib/pipeline/parquet-stream.js';
import { edgeRow, randomRows } from '../helpers/lake-rows.js';

/** Every cell of a Parquet object as JSON text, row by row: equal text means equal rows and order. */
async function cells(bytes: Uint8Array): Promise<string[]> {
  const table = await decodeParquet(bytes);
  const columns = table.schema.fields.map((f) => table.getChild(f.name)!);
  const out: string[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row = columns.map((c) => c.get(i) as unknown);
    out.push(
      JSON.stringify(row, (_k, v: unknown) =>
        typeof v === 'bigint'
          ? `${v}n`
          : v instanceof Uint8Array
            ? [...v]
            : v !== null && typeof v === 'object' && 'toJSON' in v
              ? (v as { toJSON(): unknown }).toJSON()
              : v,
      ),
    );
  }
  return out;
}

/** `rows` cut at the given sizes (cycling through them), empty batches included when a size is 0. */
function cut<T>(rows: readonly T[], sizes: readonly number[]): T[][] {
  const out: T[][] = [];
  let at = 0;
  for (let i = 0; at < rows.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(rows.slice(at, at + n));
    at += n;
  }
  return out;
}

describe('encodeParquetBatches', () => {
  it.each(TABLES.map((t) => [t.name, t] as const))(
    'encodes one batch of %s to the bytes encodeParquet makes (same writer settings)',
    async (_name, def) => {
      const rows = [edgeRow(def, 0), edgeRow(def, 1), ...randomRows(def, 200, 5)];
      expect(await encodeParquetBatches(def, [rows])).toEqual(await encodeParquet(def, rows));
    },
  );

  it('encodes the same rows in the same order however they are cut into batches', async () => {
    const rows = randomRows(TRACES, 1000, 11);
    const whole = await cells(await encodeParquet(TRACES, rows));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 50, max: 600 })), {
          minLength: 1,
          maxLength: 6,
        }),
        async (sizes) => {
          fc.pre(sizes.some((s) => s > 0));
          // Act
          const bytes = await encodeParquetBatches(TRACES, cut(rows, sizes));
          // Assess: same rows, and the same bytes when cut the same way again.
          expect(await cells(bytes)).toEqual(whole);
          expect(await encodeParquetBatches(TRACES, cut(rows, sizes))).toEqual(bytes);
        },
      ),
      { numRuns: 8 },
    );
  });

  it.each([
    ['spans', SPANS, [1000, 0, 1000, 1000, 37]],
    ['traces', TRACES, [700, 700, 1]],
  ] as const)(
    'encodes %s batches given as Arrow tables to the bytes of the same batches given as rows',
    async (_name, def, sizes) => {
      const rows = [edgeRow(def, 0), edgeRow(def, 1), ...randomRows(def, 3000, 17)];
      const batches = cut(rows, sizes);
      // Arrange: the tables made row by row as the pipeline makes them, one builder reused.
      const builder = new ArrowTableBuilder(def, 64);
      const tables = batches.map((batch) => {
        for (const row of batch) builder.add(row);
        return builder.finish();
      });
      // Act
      const fromRows = await encodeParquetBatches(def, batches);
      const fromTables = await encodeParquetBatches(def, tables);
      const mixed = await encodeParquetBatches(
        def,
        batches.map((b, i) => (i % 2 ? buildArrowTable(def, b) : b)),
      );
      // Assess
      expect(fromTables).toEqual(fromRows);
      expect(mixed).toEqual(fromRows);
      expect(await cells(fromTables)).toEqual(await cells(await encodeParquet(def, rows)));
    },
  );

  it('refuses a table batch whose columns are not those of the table', async () => {
    const traces = buildArrowTable(TRACES, randomRows(TRACES, 3, 5));
    await expect(encodeParquetBatches(SPANS, [traces])).rejects.toThrow(/table spans: a batch's columns/);
    await expect(encodeParquetBatches(SPANS, [buildArrowTable(SPANS, [])])).rejects.toThrow(LakeError);
  });

  it('names the table, column and row of a row that does not fit, and refuses no rows at all', async () => {
    const good = randomRows(SPANS, 5, 3);
    const bad = { ...good[0]!, name: null };
    await expect(encodeParquetBatches(SPANS, [good, [bad]])).rejects.toThrow(/table spans, column name/);
    await expect(encodeParquetBatches(SPANS, [[], []])).rejects.toThrow(LakeError);
    // The encoder still works after a failed object.
    expect(await cells(await encodeParquetBatches(SPANS, [good]))).toHaveLength(5);
  });
});
