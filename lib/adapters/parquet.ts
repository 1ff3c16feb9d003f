/**
 * Parquet encoding of lake rows: Arrow table (lib/core/arrow.ts) → Arrow IPC stream → parquet-wasm.
 *
 * parquet-wasm's `node` build reads `parquet_wasm_bg.wasm` from its own `__dirname` at import time,
 * which breaks once the code is bundled into an ES module. We use the `esm` build instead, which
 * loads nothing on import, and hand it the wasm bytes ourselves, found in this order:
 * 1. the path given to `setParquetWasmPath`;
 * 2. the `TRACELAKE_PARQUET_WASM` environment variable;
 * 3. `parquet_wasm_bg.wasm` beside this module (a bundle with the file copied next to it);
 * 4. `$LAMBDA_TASK_ROOT/parquet_wasm_bg.wasm` (a bundle whose format hides its own URL);
 * 5. the installed package (`parquet-wasm/esm/parquet_wasm_bg.wasm`).
 */
import { existsSync, readFileSync } from 'node:fs';
// Aliased: Lambda bundles often add a banner that declares `createRequire` at the top level.
import { createRequire as moduleRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Table as ArrowTable, DataType, type Schema, tableFromIPC, tableToIPC } from 'apache-arrow';
import {
  Compression,
  EnabledStatistics,
  initSync,
  readParquet,
  Table as WasmTable,
  type WriterProperties,
  WriterPropertiesBuilder,
  WriterVersion,
  writeParquet,
} from 'parquet-wasm/esm';
import { arrowSchema, buildArrowTable } from '../core/arrow.js';
import { ConfigError, LakeError } from '../core/errors.js';
import type { TableDef } from '../core/tables.js';

const WASM_FILE = 'parquet_wasm_bg.wasm';

/**
 * Rows per row group. Athena splits work by row group; a million rows (tens of MB compressed for
 * spans) keeps groups large enough for efficient scans while a window part stays one or few groups.
 */
export const ROW_GROUP_ROWS = 1_000_000;

let explicitWasmPath: string | undefined;
let initialised = false;

/**
 * Points the loader at a `parquet_wasm_bg.wasm` file. Call before the first encode/decode (later
 * calls have no effect once the module is initialised).
 */
export function setParquetWasmPath(wasmPath: string): void {
  explicitWasmPath = wasmPath;
}

function candidatePaths(): { path: string; from: string }[] {
  const out: { path: string; from: string }[] = [];
  if (explicitWasmPath) out.push({ path: explicitWasmPath, from: 'setParquetWasmPath' });
  const fromEnv = process.env.TRACELAKE_PARQUET_WASM;
  if (fromEnv) out.push({ path: fromEnv, from: 'TRACELAKE_PARQUET_WASM' });
  // import.meta.url is empty in a CommonJS bundle; then this candidate is simply skipped.
  const here =
    typeof import.meta.url === 'string' && import.meta.url.startsWith('file:') ? import.meta.url : null;
  if (here)
    out.push({ path: path.join(path.dirname(fileURLToPath(here)), WASM_FILE), from: 'beside the module' });
  const taskRoot = process.env.LAMBDA_TASK_ROOT;
  if (taskRoot) out.push({ path: path.join(taskRoot, WASM_FILE), from: 'LAMBDA_TASK_ROOT' });
  if (here) {
    try {
      out.push({
        path: moduleRequire(here).resolve(`parquet-wasm/esm/${WASM_FILE}`),
        from: 'the parquet-wasm package',
      });
    } catch {
      // Not installed (a bundle): the earlier candidates must provide the file.
    }
  }
  return out;
}

/** Loads the wasm module once; every public function calls this first. */
function ensureWasm(): void {
  if (initialised) return;
  const candidates = candidatePaths();
  // An explicitly named file must exist: silently falling back would hide a deployment mistake.
  const explicit = candidates[0];
  if (explicit && (explicit.from === 'setParquetWasmPath' || explicit.from === 'TRACELAKE_PARQUET_WASM')) {
    if (!existsSync(explicit.path)) {
      throw new ConfigError(`${explicit.from}: Parquet wasm file ${explicit.path} does not exist`);
    }
  }
  const found = candidates.find((c) => existsSync(c.path));
  if (!found) {
    throw new ConfigError(
      `cannot find ${WASM_FILE} (looked at: ${candidates.map((c) => c.path).join(', ') || 'nothing'}); ` +
        'copy it beside the bundle or set TRACELAKE_PARQUET_WASM',
    );
  }
  try {
    initSync({ module: readFileSync(found.path) });
  } catch (err) {
    throw new ConfigError(`cannot load Parquet wasm from ${found.path} (${found.from})`, { cause: err });
  }
  initialised = true;
}

/** Where the wasm was found, for diagnostics; initialises it. */
export function parquetWasmPath(): string {
  const found = candidatePaths().find((c) => existsSync(c.path));
  ensureWasm();
  return found?.path ?? '';
}

/**
 * String columns whose values mostly differ from row to row (span, segment and trace IDs: a spans
 * part has about one trace ID per ten rows). A dictionary would hash every value and save nothing.
 */
const DISTINCT_STRING_COLUMNS = new Set(['trace_id', 'id', 'parent_id', 'segment_id']);

/**
 * Columns written without a dictionary: floats and timestamps, and the mostly-distinct string
 * columns. Measured on a 50,000-row spans part, each of these is smaller and faster to encode
 * plain (ZSTD finds the repeats anyway); strings that repeat (service, name, path, ...) keep it.
 */
export function plainColumns(schema: Schema): string[] {
  return schema.fields
    .filter(
      (f) =>
        DataType.isFloat(f.type) ||
        DataType.isTimestamp(f.type) ||
        (DataType.isUtf8(f.type) && DISTINCT_STRING_COLUMNS.has(f.name)),
    )
    .map((f) => f.name);
}

function propertiesFor(schema: Schema): WriterProperties {
  let builder = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setDictionaryEnabled(true)
    .setStatisticsEnabled(EnabledStatistics.Page)
    .setMaxRowGroupSize(ROW_GROUP_ROWS)
    .setWriterVersion(WriterVersion.V1)
    // A fixed writer name: the default carries the library version, which would change the
    // bytes of identical rows after an upgrade.
    .setCreatedBy('tracelake');
  for (const name of plainColumns(schema)) builder = builder.setColumnDictionaryEnabled(name, false);
  return builder.build();
}

/**
 * The writer settings of every lake object of a table (a fresh object per call: parquet-wasm's
 * writers take ownership of it). For writers other than `encodeParquet`, such as a stream of
 * record batches, so that all write the same bytes.
 *
 * @example
 * writeParquet(wasmTable, parquetWriterProperties(SPANS));
 */
export function parquetWriterProperties(def: TableDef): WriterProperties {
  ensureWasm();
  return propertiesFor(arrowSchema(def));
}

/**
 * Encodes an Arrow table as Parquet (ZSTD, dictionaries where values repeat, page statistics). The
 * output depends only on the table's contents: identical rows give identical bytes.
 */
export function encodeArrowTable(table: ArrowTable, what = 'table'): Uint8Array {
  ensureWasm();
  const ipc = tableToIPC(table, 'stream');
  try {
    // writeParquet takes ownership of (and frees) the wasm table and the properties.
    return writeParquet(WasmTable.fromIPCStream(ipc), propertiesFor(table.schema));
  } catch (err) {
    throw new LakeError(
      `cannot encode ${what} as Parquet: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Encodes rows of a lake table as Parquet bytes.
 *
 * @throws LakeError when a row does not fit the table's columns (naming table, column and row).
 */
export async function encodeParquet(def: TableDef, rows: readonly object[]): Promise<Uint8Array> {
  return encodeArrowTable(buildArrowTable(def, rows), `table ${def.name}`);
}

/** Reads Parquet bytes back into an Arrow table (tests, tools). */
export async function decodeParquet(bytes: Uint8Array): Promise<ArrowTable> {
  ensureWasm();
  try {
    const wasmTable = readParquet(bytes);
    return tableFromIPC(wasmTable.intoIPCStream());
  } catch (err) {
    throw new LakeError(`cannot decode Parquet: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}
