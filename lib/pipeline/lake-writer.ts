/**
 * Writes lake tables as Parquet at their deterministic keys (`objectKey` in tables.ts), so that
 * re-running a window replaces its objects instead of adding rows next to the old ones.
 */
import { encodeParquet } from '../adapters/parquet.js';
import { LakeError } from '../core/errors.js';
import type { ObjectStore } from '../core/ports.js';
import { objectKey, partitionPrefix, type TableDef, windowToken } from '../core/tables.js';
import { batchLength, encodeParquetBatches, type RowBatch } from './parquet-stream.js';

const MAX_PART = 9999;
const PARQUET = 'application/vnd.apache.parquet';

export class LakeWriter {
  constructor(private readonly store: ObjectStore) {}

  /**
   * Writes one part (tables with `parts`) or the whole window (other tables) at its deterministic
   * key. An empty row set writes nothing and deletes what an earlier run left at that key, so a
   * window that now has no findings does not keep old ones. Returns the key and the bytes written.
   */
  async writeWindow(
    def: TableDef,
    windowStartMs: number,
    rows: readonly object[],
    part?: number,
  ): Promise<{ key: string; bytes: number }> {
    const key = objectKey(def, windowStartMs, this.checkPart(def, part));
    if (rows.length === 0) {
      await this.store.delete([key]);
      return { key, bytes: 0 };
    }
    const body = await encodeParquet(def, rows);
    await this.store.put(key, body, { contentType: PARQUET });
    return { key, bytes: body.byteLength };
  }

  /**
   * `writeWindow` for rows that come a batch at a time (see parquet-stream.ts): one object, only
   * one batch in memory as objects, Arrow and IPC at a time. A batch may be an Arrow table of the
   * table's schema instead of rows (same bytes). No rows at all clears the key as `writeWindow`
   * does. Returns the key, the bytes written and the rows.
   */
  async writeWindowBatches(
    def: TableDef,
    windowStartMs: number,
    batches: Iterable<RowBatch>,
    part?: number,
  ): Promise<{ key: string; bytes: number; rows: number }> {
    const key = objectKey(def, windowStartMs, this.checkPart(def, part));
    const source = batches[Symbol.iterator]();
    // The first rows decide between writing and clearing; they are handed on, not read twice.
    let first = source.next();
    while (!first.done && batchLength(first.value) === 0) first = source.next();
    if (first.done) {
      await this.store.delete([key]);
      return { key, bytes: 0, rows: 0 };
    }
    let rows = 0;
    const all = function* () {
      for (let next: IteratorResult<RowBatch> = first; !next.done; next = source.next()) {
        rows += batchLength(next.value);
        yield next.value;
      }
    };
    const body = await encodeParquetBatches(def, all());
    await this.store.put(key, body, { contentType: PARQUET });
    return { key, bytes: body.byteLength, rows };
  }

  /**
   * After all parts of a window are written: deletes that window's parts numbered `partCount` and
   * above, left by an earlier run that wrote more parts. Returns the deleted keys.
   */
  async finishParts(def: TableDef, windowStartMs: number, partCount: number): Promise<string[]> {
    if (!def.parts) throw new LakeError(`table ${def.name} is written whole, not in parts`);
    if (!Number.isInteger(partCount) || partCount < 0) {
      throw new LakeError(`table ${def.name}: part count ${partCount} is not a whole number >= 0`);
    }
    const prefix = `${partitionPrefix(def, windowStartMs)}/${windowToken(windowStartMs)}-`;
    const stale: string[] = [];
    for (const key of await this.store.list(prefix)) {
      const match = /^(\d{4})\.parquet$/.exec(key.slice(prefix.length));
      if (match && Number(match[1]) >= partCount) stale.push(key);
    }
    if (stale.length) await this.store.delete(stale);
    return stale;
  }

  private checkPart(def: TableDef, part: number | undefined): number {
    if (part === undefined) return 0;
    if (!def.parts && part !== 0) throw new LakeError(`table ${def.name} is written whole; got part ${part}`);
    if (!Number.isInteger(part) || part < 0 || part > MAX_PART) {
      throw new LakeError(`table ${def.name}: part ${part} is not a whole number in 0..${MAX_PART}`);
    }
    return part;
  }
}
