/**
 * Arrow tables built from lake rows, with the schema taken from the table definitions in
 * `tables.ts` only. Buffers are filled directly (offsets, UTF-8 bytes, validity bitmaps) because
 * apache-arrow's generic builders are an order of magnitude slower on string columns.
 */
import {
  Binary,
  Bool,
  type Data,
  type DataType,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  Map_,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  Utf8,
} from 'apache-arrow';
import { LakeError } from './errors.js';
import type { ColumnDef, ColumnType, TableDef } from './tables.js';

/** Arrow type of a lake column type. List items and map keys/values are never null. */
function arrowType(type: ColumnType): DataType {
  switch (type) {
    case 'string':
      return new Utf8();
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'float64':
      return new Float64();
    case 'bool':
      return new Bool();
    case 'timestamp_ms':
      return new TimestampMillisecond('UTC');
    case 'binary':
      return new Binary();
    case 'list_string':
      return new List(new Field('item', new Utf8(), false));
    case 'map_string_string':
      return new Map_<Utf8, Utf8>(
        new Field(
          'entries',
          new Struct<{ key: Utf8; value: Utf8 }>([
            new Field('key', new Utf8(), false),
            new Field('value', new Utf8(), false),
          ]),
          false,
        ),
        false,
      );
  }
}

/**
 * The Arrow schema of a lake table, derived from its column definitions.
 *
 * @example
 * arrowSchema(SPANS).fields.map((f) => f.name) // => ['trace_id', 'id', 'parent_id', ...]
 */
export function arrowSchema(def: TableDef): Schema {
  return new Schema(def.columns.map((col) => new Field(col.name, arrowType(col.type), col.nullable)));
}

/** What a column builder needs to name the culprit in an error. */
interface Ctx {
  readonly table: string;
  readonly column: ColumnDef;
}

function fail(ctx: Ctx, row: number, what: string): never {
  throw new LakeError(`table ${ctx.table}, column ${ctx.column.name}, row ${row}: ${what}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return `${typeof value} ${String(value)}`;
  }
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/**
 * Reads one column out of the rows and records validity. Returns the values (undefined turned into
 * null) and the bitmap, which is omitted when there are no nulls so Arrow can skip it.
 */
function readColumn(
  ctx: Ctx,
  rows: readonly object[],
): { values: unknown[]; nullCount: number; bitmap?: Uint8Array } {
  const n = rows.length;
  // Filled by push: V8 gives `new Array(n)` slow dictionary storage beyond 100 000 elements, and a
  // spans part is a little over 100 000 rows.
  const values: unknown[] = [];
  let nullCount = 0;
  const name = ctx.column.name;
  for (let i = 0; i < n; i++) {
    const v = (rows[i] as Record<string, unknown>)[name];
    if (v === null || v === undefined) {
      if (!ctx.column.nullable) fail(ctx, i, `${v === null ? 'null' : 'missing'} value in a non-null column`);
      values.push(null);
      nullCount++;
    } else {
      values.push(v);
    }
  }
  if (nullCount === 0) return { values, nullCount };
  const bitmap = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) {
    if (values[i] !== null) bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { values, nullCount, bitmap };
}

/** Grows as needed; UTF-8 takes at most 3 bytes per UTF-16 code unit, so each write is bounded. */
class ByteSink {
  bytes: Uint8Array;
  length = 0;
  private static readonly encoder = new TextEncoder();

  constructor(initial: number) {
    this.bytes = new Uint8Array(Math.max(64, initial));
  }

  private reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  writeString(s: string): void {
    this.reserve(s.length * 3);
    this.length += ByteSink.encoder.encodeInto(s, this.bytes.subarray(this.length)).written;
  }

  writeBytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }

  finish(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

function checkOffset(ctx: Ctx, row: number, offset: number): void {
  // Utf8/Binary/List use 32-bit offsets; beyond that the part must be split.
  if (offset > 0x7fffffff) fail(ctx, row, 'column data exceeds 2 GiB in one part; write smaller parts');
}

// Any UTF-16 code unit above 0x7f (without the u flag, surrogates are code units too).
const NON_ASCII = /[\u0080-\uffff]/;
const asciiEncoder = new TextEncoder();

/**
 * The common case of a string column, all ASCII: one UTF-8 byte per code unit, so the offsets are
 * running string lengths and the whole column is encoded in one call instead of one per value
 * (a call per short string costs more than the bytes). Fills `offsets` and returns the bytes, or
 * returns null, with `offsets` to be overwritten, when some value is not ASCII or the column is
 * too big for one string.
 */
function asciiColumn(
  strings: readonly (string | null)[],
  chars: number,
  offsets: Int32Array,
): Uint8Array | null {
  // Joined strings beyond this approach V8's string length limit; the general path handles them.
  if (chars > 1 << 28) return null;
  const n = strings.length;
  let joined = '';
  let at = 0;
  for (let i = 0; i < n; i++) {
    const s = strings[i];
    if (s !== null && s !== undefined) {
      joined += s;
      at += s.length;
    }
    offsets[i + 1] = at;
  }
  if (NON_ASCII.test(joined)) return null;
  const bytes = new Uint8Array(Math.max(at, 1));
  asciiEncoder.encodeInto(joined, bytes);
  return bytes.subarray(0, at);
}

function utf8Data(
  strings: readonly (string | null)[],
  bitmap: Uint8Array | undefined,
  nullCount: number,
  ctx: Ctx,
) {
  const n = strings.length;
  let chars = 0;
  for (let i = 0; i < n; i++) {
    const s = strings[i];
    if (s === null) continue;
    if (typeof s !== 'string') fail(ctx, i, `expected a string, got ${describe(s)}`);
    chars += s.length;
  }
  const offsets = new Int32Array(n + 1);
  const ascii = asciiColumn(strings, chars, offsets);
  if (ascii) {
    return makeData({
      type: new Utf8(),
      length: n,
      nullCount,
      nullBitmap: bitmap,
      valueOffsets: offsets,
      data: ascii,
    });
  }
  const sink = new ByteSink(chars + (chars >> 3) + 16);
  for (let i = 0; i < n; i++) {
    const s = strings[i];
    if (s !== null && s !== undefined) sink.writeString(s);
    checkOffset(ctx, i, sink.length);
    offsets[i + 1] = sink.length;
  }
  return makeData({
    type: new Utf8(),
    length: n,
    nullCount,
    nullBitmap: bitmap,
    valueOffsets: offsets,
    data: sink.finish(),
  });
}

function numberAt(ctx: Ctx, i: number, v: unknown): number {
  if (typeof v === 'number') return v;
  return fail(ctx, i, `expected a number, got ${describe(v)}`);
}

function integerAt(ctx: Ctx, i: number, v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return fail(ctx, i, `expected an integer, got ${describe(v)}`);
}

function buildColumn(ctx: Ctx, rows: readonly object[]): Data {
  const { values, nullCount, bitmap } = readColumn(ctx, rows);
  const n = values.length;
  const type = ctx.column.type;
  switch (type) {
    case 'string':
      return utf8Data(values as (string | null)[], bitmap, nullCount, ctx);
    case 'int32': {
      const data = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === null) continue;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
          fail(ctx, i, `expected a 32-bit integer, got ${describe(v)}`);
        }
        data[i] = v;
      }
      return makeData({ type: new Int32(), length: n, nullCount, nullBitmap: bitmap, data });
    }
    case 'int64': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v !== null) data[i] = integerAt(ctx, i, v);
      }
      return makeData({ type: new Int64(), length: n, nullCount, nullBitmap: bitmap, data });
    }
    case 'float64': {
      const data = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v !== null) data[i] = numberAt(ctx, i, v);
      }
      return makeData({ type: new Float64(), length: n, nullCount, nullBitmap: bitmap, data });
    }
    case 'timestamp_ms': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === null) continue;
        if (typeof v === 'bigint') {
          data[i] = v;
        } else if (typeof v === 'number' && Number.isFinite(v)) {
          // Epoch ms may carry sub-ms fractions (X-Ray times are float seconds); the column is ms.
          data[i] = BigInt(Math.floor(v));
        } else {
          fail(ctx, i, `expected epoch milliseconds, got ${describe(v)}`);
        }
      }
      return makeData({
        type: new TimestampMillisecond('UTC'),
        length: n,
        nullCount,
        nullBitmap: bitmap,
        data,
      });
    }
    case 'bool': {
      const data = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === null) continue;
        if (typeof v !== 'boolean') fail(ctx, i, `expected a boolean, got ${describe(v)}`);
        if (v) data[i >> 3]! |= 1 << (i & 7);
      }
      return makeData({ type: new Bool(), length: n, nullCount, nullBitmap: bitmap, data });
    }
    case 'binary': {
      let total = 0;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === null) continue;
        if (!(v instanceof Uint8Array)) fail(ctx, i, `expected a Uint8Array, got ${describe(v)}`);
        total += v.length;
      }
      const offsets = new Int32Array(n + 1);
      const sink = new ByteSink(total);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v !== null) sink.writeBytes(v as Uint8Array);
        checkOffset(ctx, i, sink.length);
        offsets[i + 1] = sink.length;
      }
      return makeData({
        type: new Binary(),
        length: n,
        nullCount,
        nullBitmap: bitmap,
        valueOffsets: offsets,
        data: sink.finish(),
      });
    }
    case 'list_string': {
      const offsets = new Int32Array(n + 1);
      const items: string[] = [];
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v !== null) {
          if (!Array.isArray(v)) fail(ctx, i, `expected an array of strings, got ${describe(v)}`);
          for (const item of v) {
            if (typeof item !== 'string') fail(ctx, i, `list item is ${describe(item)}, not a string`);
            items.push(item);
          }
        }
        checkOffset(ctx, i, items.length);
        offsets[i + 1] = items.length;
      }
      const type = arrowType('list_string') as List<Utf8>;
      return makeData({
        type,
        length: n,
        nullCount,
        nullBitmap: bitmap,
        valueOffsets: offsets,
        child: utf8Data(items, undefined, 0, ctx),
      });
    }
    case 'map_string_string': {
      const offsets = new Int32Array(n + 1);
      const keys: string[] = [];
      const vals: string[] = [];
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v !== null) {
          if (typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) {
            fail(ctx, i, `expected an object of strings, got ${describe(v)}`);
          }
          for (const [k, val] of Object.entries(v)) {
            if (typeof val !== 'string')
              fail(ctx, i, `map value of key ${JSON.stringify(k)} is ${describe(val)}`);
            keys.push(k);
            vals.push(val);
          }
        }
        checkOffset(ctx, i, keys.length);
        offsets[i + 1] = keys.length;
      }
      const type = arrowType('map_string_string') as Map_<Utf8, Utf8>;
      const entryType = type.children[0]!.type;
      const entries = makeData({
        type: entryType,
        length: keys.length,
        nullCount: 0,
        children: [utf8Data(keys, undefined, 0, ctx), utf8Data(vals, undefined, 0, ctx)],
      });
      return makeData({
        type,
        length: n,
        nullCount,
        nullBitmap: bitmap,
        valueOffsets: offsets,
        child: entries,
      });
    }
  }
}

/**
 * Builds an Arrow table of a lake table's rows. Rows are plain objects keyed by column name;
 * timestamps are epoch ms numbers, `int64` columns numbers (or bigints), binaries `Uint8Array`,
 * lists `string[]`, maps `Record<string, string>`. Extra properties are ignored.
 *
 * @throws LakeError naming table, column and row when a value is missing from a non-null column
 *   or has the wrong type.
 * @example
 * const table = buildArrowTable(TRACES, traceRows);
 * table.numRows === traceRows.length;
 */
export function buildArrowTable(def: TableDef, rows: readonly object[]): Table {
  const schema = arrowSchema(def);
  const children = def.columns.map((column) => buildColumn({ table: def.name, column }, rows));
  const struct = makeData({
    type: new Struct(schema.fields),
    length: rows.length,
    nullCount: 0,
    children,
  });
  return new Table(schema, [new RecordBatch(schema, struct)]);
}
