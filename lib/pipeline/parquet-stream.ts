/**
 * One Parquet object encoded from its rows a batch at a time. `encodeParquet` turns all the rows
 * into one Arrow table, one IPC copy of it and one copy in parquet-wasm's linear memory, which
 * grows to the largest table ever encoded and never shrinks: for a window's `traces` object that
 * is ~90 MB at 190,000 traces. Here only one batch is JavaScript objects, Arrow and IPC at a
 * time, and parquet-wasm's writer keeps just the encoded, compressed pages of the row group.
 *
 * The bytes are those of `encodeParquet` for a single batch; with several batches the pages
 * break at other rows (so the bytes differ a little) while the rows and their order are the same.
 * The output depends only on the rows and the batch size. A batch may also come as an Arrow table
 * built as its rows arrived (`ArrowTableBuilder`), so that no row object outlives its batch; it
 * encodes to the same bytes as its rows would.
 */
import { Table, tableToIPC } from 'apache-arrow';
import { type RecordBatch, transformParquetStream, Table as WasmTable } from 'parquet-wasm/esm';
import { parquetWasmPath, parquetWriterProperties } from '../adapters/parquet.js';
import { arrowSchema, buildArrowTable } from '../core/arrow.js';
import { LakeError } from '../core/errors.js';
import type { TableDef } from '../core/tables.js';

/** Rows of one batch: row objects, or an Arrow table of the table's schema (`arrowSchema(def)`). */
export type RowBatch = readonly object[] | Table;

/** Rows in a batch, whichever form it has. */
export function batchLength(batch: RowBatch): number {
  return batch instanceof Table ? batch.numRows : batch.length;
}

/**
 * Encodes the rows of `batches` (in order) as one Parquet object. Empty batches are skipped; at
 * least one row is needed.
 *
 * @throws LakeError when a row does not fit the table's columns, a table batch does not have the
 *   table's columns, or there is no row at all.
 */
export async function encodeParquetBatches(def: TableDef, batches: Iterable<RowBatch>): Promise<Uint8Array> {
  // Initialises parquet-wasm (the path itself is not needed here).
  parquetWasmPath();
  const source = batches[Symbol.iterator]();
  // parquet-wasm ends the object at an error of its input stream as if the stream had ended, so
  // the error is kept here and thrown once the writer is done: never a silently shorter object.
  const state: { rows: number; failed: boolean; error: unknown } = { rows: 0, failed: false, error: null };
  const input = new ReadableStream<RecordBatch>({
    pull(controller) {
      try {
        if (!enqueueNext(def, source, controller, state)) controller.close();
      } catch (error) {
        state.failed = true;
        state.error = error;
        controller.error(error);
      }
    },
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    const output = await transformParquetStream(input, parquetWriterProperties(def));
    const reader = (output as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch (err) {
    if (!state.failed) {
      throw new LakeError(
        `cannot encode table ${def.name} as Parquet: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
  if (state.failed) throw state.error;
  if (state.rows === 0) throw new LakeError(`table ${def.name}: no rows to encode`);
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Hands the next non-empty batch to parquet-wasm; false when there is none left. */
function enqueueNext(
  def: TableDef,
  source: Iterator<RowBatch>,
  controller: ReadableStreamDefaultController<RecordBatch>,
  state: { rows: number },
): boolean {
  for (let next = source.next(); !next.done; next = source.next()) {
    const batch = next.value;
    const rows = batchLength(batch);
    if (rows === 0) continue;
    state.rows += rows;
    const arrow = batch instanceof Table ? checkedTable(def, batch) : buildArrowTable(def, batch);
    const table = WasmTable.fromIPCStream(tableToIPC(arrow, 'stream'));
    try {
      for (const batch of table.recordBatches()) controller.enqueue(batch);
    } finally {
      table.free();
    }
    return true;
  }
  return false;
}

/** A table batch with other columns would silently give an object of another schema. */
function checkedTable(def: TableDef, table: Table): Table {
  const expected = arrowSchema(def).fields;
  const fields = table.schema.fields;
  const same =
    fields.length === expected.length &&
    fields.every((f, i) => {
      const e = expected[i]!;
      return f.name === e.name && f.nullable === e.nullable && String(f.type) === String(e.type);
    });
  if (!same) {
    throw new LakeError(
      `table ${def.name}: a batch's columns (${fields.map((f) => f.name).join(', ')}) are not the table's`,
    );
  }
  return table;
}
