import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeParquet, encodeParquet } from '../../lib/adapters/parquet.js';
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

  it('names the table, column and row of a row that does not fit, and refuses no rows at all', async () => {
    const good = randomRows(SPANS, 5, 3);
    const bad = { ...good[0]!, name: null };
    await expect(encodeParquetBatches(SPANS, [good, [bad]])).rejects.toThrow(/table spans, column name/);
    await expect(encodeParquetBatches(SPANS, [[], []])).rejects.toThrow(LakeError);
    // The encoder still works after a failed object.
    expect(await cells(await encodeParquetBatches(SPANS, [good]))).toHaveLength(5);
  });
});
