import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeParquet, encodeParquet, plainColumns } from '../../lib/adapters/parquet.js';
import { arrowSchema } from '../../lib/core/arrow.js';
import { REGRESSIONS, SPANS, TABLES, type TableDef } from '../../lib/core/tables.js';

const REGRESSIONS_COLUMNS = REGRESSIONS.columns.length;

import { withDuckDb } from '../helpers/duckdb.js';
import { edgeRow, expectedRow, randomRows, rowArb } from '../helpers/lake-rows.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tracelake-parquet-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Arrow hands back bigints, typed arrays and Map-like structs; bring them to the row shapes. */
function plainFromArrow(
  def: TableDef,
  table: Awaited<ReturnType<typeof decodeParquet>>,
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row: Record<string, unknown> = {};
    for (const col of def.columns) {
      const v: unknown = table.getChild(col.name)!.get(i);
      if (v === null) row[col.name] = null;
      else if (typeof v === 'bigint') row[col.name] = Number(v);
      else if (col.type === 'list_string') row[col.name] = [...(v as Iterable<string>)];
      // From the entries: Arrow's toJSON assigns keys one by one, so a "__proto__" key would set the
      // prototype instead of becoming a key (fast-check generates it).
      else if (col.type === 'map_string_string')
        row[col.name] = Object.fromEntries(v as Iterable<[string, string]>);
      else if (col.type === 'binary') row[col.name] = new Uint8Array(v as Uint8Array);
      else row[col.name] = v;
    }
    out.push(row);
  }
  return out;
}

describe('encodeParquet', () => {
  it.each(TABLES.map((t) => [t.name, t] as const))(
    'round-trips %s rows through DuckDB',
    async (name, def) => {
      // Prepare: hand-made edge rows plus pseudo-random ones.
      const rows = [edgeRow(def, 0), edgeRow(def, 1), ...randomRows(def, 300, name.length)];
      const file = path.join(dir, `${name}.parquet`);
      await writeFile(file, await encodeParquet(def, rows));

      // Act
      // DuckDB keeps file order (preserve_insertion_order is on by default).
      const back = await withDuckDb((q) => q(`SELECT * FROM read_parquet('${file}')`));

      // Assess
      expect(back).toEqual(rows.map((r) => expectedRow(def, r)));
    },
  );

  it('writes ZSTD, with dictionaries only where values repeat, and column statistics', async () => {
    // Prepare: random rows have unique trace IDs; give `service` three values that repeat.
    const def = SPANS;
    const rows = randomRows(def, 2000, 7).map((r, i) => ({
      ...r,
      service: ['orders', 'cart', 'pay'][i % 3],
    }));
    const file = path.join(dir, 'meta.parquet');
    await writeFile(file, await encodeParquet(def, rows));

    // Act
    const meta = await withDuckDb((q) =>
      q(
        `SELECT path_in_schema, compression, encodings, stats_min_value, stats_max_value FROM parquet_metadata('${file}')`,
      ),
    );

    // Assess
    const encodings = (column: string) => String(meta.find((m) => m.path_in_schema === column)!.encodings);
    expect(meta.length).toBeGreaterThanOrEqual(def.columns.length);
    expect(new Set(meta.map((m) => m.compression))).toEqual(new Set(['ZSTD']));
    expect(encodings('service')).toMatch(/DICTIONARY/);
    expect(encodings('depth')).toMatch(/DICTIONARY/);
    expect(encodings('trace_id')).not.toMatch(/DICTIONARY/);
    expect(encodings('duration_ms')).not.toMatch(/DICTIONARY/);
    expect(encodings('start_time')).not.toMatch(/DICTIONARY/);
    const traceId = meta.find((m) => m.path_in_schema === 'trace_id')!;
    expect(traceId.stats_min_value).not.toBeNull();
    expect(traceId.stats_max_value).not.toBeNull();
  });

  it('round-trips a 1-row spans part, an empty one, and all-null columns beside repeating strings', async () => {
    // Prepare: a part like the pipeline writes (repeating service and name, unique IDs), with
    // every nullable column null in half of the rows and some unicode.
    const names = ['GET /orders', 'DynamoDB', '注文サービス', 'S3 🚀', ''];
    const many = randomRows(SPANS, 5000, 21).map((r, i) => {
      const row: Record<string, unknown> = { ...r, service: names[i % 3], name: names[i % 5] };
      if (i % 2 === 0) for (const c of SPANS.columns) if (c.nullable) row[c.name] = null;
      return row;
    });
    const parts = { one: many.slice(0, 1), empty: [], many };

    for (const [label, rows] of Object.entries(parts)) {
      const file = path.join(dir, `spans-${label}.parquet`);
      await writeFile(file, await encodeParquet(SPANS, rows));

      // Act
      const back = await withDuckDb((q) => q(`SELECT * FROM read_parquet('${file}')`));
      const columns = await withDuckDb((q) => q(`DESCRIBE SELECT * FROM read_parquet('${file}')`));

      // Assess
      expect(back, label).toEqual(rows.map((r) => expectedRow(SPANS, r)));
      expect(columns.map((c) => c.column_name)).toEqual(SPANS.columns.map((c) => c.name));
    }
  });

  it('writes floats, timestamps and ID columns without a dictionary, by table, not by data', () => {
    expect(plainColumns(arrowSchema(SPANS))).toEqual([
      'trace_id',
      'id',
      'parent_id',
      'segment_id',
      'start_time',
      'end_time',
      'duration_ms',
      'self_ms',
      'window_start',
    ]);
  });

  it('gives identical bytes for identical rows', async () => {
    const def = TABLES[1]!;
    const a = await encodeParquet(def, randomRows(def, 500, 3));
    const b = await encodeParquet(def, randomRows(def, 500, 3));
    const c = await encodeParquet(def, randomRows(def, 500, 4));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it('encodes an empty row set as a valid file with the schema', async () => {
    const def = TABLES[2]!;
    const table = await decodeParquet(await encodeParquet(def, []));
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => f.name)).toEqual(def.columns.map((c) => c.name));
  });

  it('names table, column and row when a non-null value is missing', async () => {
    const def = TABLES[3]!;
    const rows = randomRows(def, 5);
    rows[3]!.root_service = null;
    await expect(encodeParquet(def, rows)).rejects.toThrow(/table traces, column root_service, row 3/);
  });

  it('keeps an annotation named "__proto__" as a key', async () => {
    const def = TABLES.find((t) => t.name === 'traces')!;
    const rows = randomRows(def, 1);
    rows[0]!.annotations = Object.fromEntries([
      ['__proto__', 'x'],
      ['tier', 'gold'],
    ]);
    const back = plainFromArrow(def, await decodeParquet(await encodeParquet(def, rows)));
    expect(Object.keys(back[0]!.annotations as object).sort()).toEqual(['__proto__', 'tier']);
    expect(Object.getPrototypeOf(back[0]!.annotations)).toBe(Object.prototype);
  });

  it('round-trips arbitrary rows of every table through decodeParquet (property)', async () => {
    for (const def of TABLES) {
      await fc.assert(
        fc.asyncProperty(fc.array(rowArb(def), { maxLength: 30 }), async (rows) => {
          const back = plainFromArrow(def, await decodeParquet(await encodeParquet(def, rows)));
          expect(back).toEqual(rows.map((r) => expectedRow(def, r)));
        }),
        { numRuns: 40 },
      );
    }
  });

  it('works from an ES module bundle with the wasm copied beside it, as in Lambda', async () => {
    // Prepare: bundle a tiny entry the way the Lambda functions are bundled, outside node_modules.
    const repo = path.resolve(import.meta.dirname, '../..');
    const out = path.join(dir, 'bundle');
    const entry = path.join(dir, 'entry.ts');
    await writeFile(
      entry,
      [
        `import { encodeParquet, decodeParquet } from ${JSON.stringify(path.join(repo, 'lib/adapters/parquet.ts'))};`,
        `import { REGRESSIONS } from ${JSON.stringify(path.join(repo, 'lib/core/tables.ts'))};`,
        `const bytes = await encodeParquet(REGRESSIONS, []);`,
        `process.stdout.write(String((await decodeParquet(bytes)).schema.fields.length));`,
      ].join('\n'),
    );
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: path.join(out, 'index.mjs'),
      logLevel: 'silent',
    });
    await copyFile(
      path.join(repo, 'node_modules/parquet-wasm/esm/parquet_wasm_bg.wasm'),
      path.join(out, 'parquet_wasm_bg.wasm'),
    );

    // Act: run it from a folder with no node_modules.
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(out, 'index.mjs')], {
      cwd: out,
    });

    // Assess
    expect(stdout).toBe(String(REGRESSIONS_COLUMNS));
  });
});
