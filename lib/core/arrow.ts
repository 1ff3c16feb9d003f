/**
 * Arrow tables built from lake rows, with the schema taken from the table definitions in
 * `tables.ts` only. Buffers are filled directly (offsets, UTF-8 bytes, validity bitmaps) because
 * apache-arrow's generic builders are an order of magnitude slower on string columns. Rows are
 * read once each, by a row loop compiled per table (see `compiledReader`), either all at once
 * (`buildArrowTable`) or as they arrive (`ArrowTableBuilder`).
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

// Utf8, Binary and List offsets are 32-bit; beyond that the part must be split.
const MAX_OFFSET = 0x7fffffff;
const TWO_32 = 4294967296;
const INT64_LIMIT = 2 ** 63;
const MAX_JOINED_CHARS = 1 << 28;
// 64-bit integers are written as two 32-bit halves (a BigInt per value would be allocated
// otherwise); that relies on the platform byte order matching Arrow's little-endian buffers.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * One column's buffers, filled one row at a time in row order: `add` takes the row's value (any
 * type, checked here) and `finish` hands the Arrow data over.
 */
interface ColumnBuilder {
  add(value: unknown): void;
  finish(): Data;
}

/** A copy of `a` with room for at least `need` elements (capacity doubled at least). */
function grown<T extends Float64Array | Int32Array | Uint8Array | BigInt64Array>(
  a: T,
  need: number,
  make: (length: number) => T,
): T {
  const next = make(Math.max(need, a.length * 2, 16));
  next.set(a as never);
  return next;
}

/** Validity bits and null count shared by the builders; rows are numbered by `length`. */
abstract class BaseBuilder implements ColumnBuilder {
  length = 0;
  nullCount = 0;
  private validity: Uint8Array;

  constructor(
    protected readonly ctx: Ctx,
    capacity: number,
  ) {
    this.validity = new Uint8Array(ctx.column.nullable ? (capacity + 7) >> 3 : 0);
  }

  abstract add(value: unknown): void;
  abstract finish(): Data;

  /** Records a null (or throws for a non-null column) and advances the row. */
  protected addNull(value: null | undefined): void {
    if (!this.ctx.column.nullable) {
      fail(this.ctx, this.length, `${value === null ? 'null' : 'missing'} value in a non-null column`);
    }
    this.nullCount++;
  }

  protected markValid(): void {
    if (!this.ctx.column.nullable) return;
    const row = this.length;
    if (row >> 3 >= this.validity.length) {
      this.validity = grown(this.validity, (row >> 3) + 1, (n) => new Uint8Array(n));
    }
    this.validity[row >> 3]! |= 1 << (row & 7);
  }

  /** The bitmap, or undefined when there are no nulls so Arrow can skip it. */
  protected bitmap(): Uint8Array | undefined {
    if (this.nullCount === 0) return undefined;
    const bytes = (this.length + 7) >> 3;
    // Rows added past the first capacity that were all null have no bitmap bytes yet.
    if (this.validity.length < bytes) this.validity = grown(this.validity, bytes, (n) => new Uint8Array(n));
    return this.validity.subarray(0, bytes);
  }

  protected wrong(value: unknown, expected: string): never {
    return fail(this.ctx, this.length, `expected ${expected}, got ${describe(value)}`);
  }
}

const utf8Encoder = new TextEncoder();

/**
 * Bytes and offsets written as each value arrives: strings of ArrowTableBuilder (so that the rows
 * need not be kept), list items, map entries, binaries, and string columns that are not all
 * ASCII. A string is copied with a plain loop while it is ASCII, the usual case, and handed to
 * TextEncoder otherwise: a TextEncoder call per short string costs more than its bytes.
 */
class ByteColumn {
  offsets: Int32Array;
  bytes: Uint8Array;
  end = 0;
  count = 0;

  constructor(
    private readonly ctx: Ctx,
    rows: number,
  ) {
    this.offsets = new Int32Array(rows + 1);
    this.bytes = new Uint8Array(Math.max(256, rows * 16));
  }

  /** Room for `extra` more bytes; `row` names the culprit when the column outgrows its offsets. */
  private reserve(extra: number, row: number): void {
    const need = this.end + extra;
    if (need <= this.bytes.length) return;
    if (this.end + extra / 3 > MAX_OFFSET) {
      fail(this.ctx, row, 'column data exceeds 2 GiB in one part; write smaller parts');
    }
    // Grow towards the size the rows so far predict, so a long column is copied once or twice.
    const predicted =
      this.count > 0 ? Math.ceil((this.end / this.count) * (this.offsets.length - 1) * 1.25) : 0;
    let cap = Math.max(this.bytes.length * 2, predicted);
    while (cap < need) cap *= 2;
    const next = new Uint8Array(Math.min(cap, MAX_OFFSET + 3 * extra));
    next.set(this.bytes.subarray(0, this.end));
    this.bytes = next;
  }

  private pushOffset(): void {
    if (this.count + 1 >= this.offsets.length) {
      const next = new Int32Array(this.offsets.length * 2);
      next.set(this.offsets);
      this.offsets = next;
    }
    this.offsets[++this.count] = this.end;
  }

  addString(s: string, row: number): void {
    const len = s.length;
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    if (this.end + len * 3 > this.bytes.length) this.reserve(len * 3, row);
    const bytes = this.bytes;
    const at = this.end;
    let k = 0;
    for (; k < len; k++) {
      const c = s.charCodeAt(k);
      if (c > 0x7f) break;
      bytes[at + k] = c;
    }
    this.end = k === len ? at + len : at + utf8Encoder.encodeInto(s, bytes.subarray(at)).written;
    if (this.end > MAX_OFFSET)
      fail(this.ctx, row, 'column data exceeds 2 GiB in one part; write smaller parts');
    this.pushOffset();
  }

  addBytes(b: Uint8Array, row: number): void {
    if (this.end + b.length > this.bytes.length) this.reserve(b.length, row);
    this.bytes.set(b, this.end);
    this.end += b.length;
    if (this.end > MAX_OFFSET)
      fail(this.ctx, row, 'column data exceeds 2 GiB in one part; write smaller parts');
    this.pushOffset();
  }

  addEmpty(): void {
    this.pushOffset();
  }

  utf8(nullCount: number, nullBitmap: Uint8Array | undefined): Data<Utf8> {
    return makeData({
      type: new Utf8(),
      length: this.count,
      nullCount,
      nullBitmap,
      valueOffsets: this.offsets.subarray(0, this.count + 1),
      data: this.bytes.subarray(0, this.end),
    });
  }

  binary(nullCount: number, nullBitmap: Uint8Array | undefined): Data<Binary> {
    return makeData({
      type: new Binary(),
      length: this.count,
      nullCount,
      nullBitmap,
      valueOffsets: this.offsets.subarray(0, this.count + 1),
      data: this.bytes.subarray(0, this.end),
    });
  }
}

/**
 * A string column's offsets and, at the end, its UTF-8 bytes. Strings are only collected while
 * the rows are read; the column is then joined and encoded in one TextEncoder call, which copies
 * each string's characters with native code, when it is all ASCII (the usual case: byte offsets
 * are then the running string lengths). Otherwise every string is encoded on its own.
 */
class StringColumn {
  private offsets: Int32Array;
  // Non-empty strings only, so that rows of nonzero length and entries match one to one.
  private readonly strings: string[] = [];
  private chars = 0;
  count = 0;

  constructor(
    private readonly ctx: Ctx,
    rows: number,
  ) {
    this.offsets = new Int32Array(rows + 1);
  }

  add(s: string, row: number): void {
    if (s.length > 0) {
      this.strings.push(s);
      this.chars += s.length;
      if (this.chars > MAX_OFFSET)
        fail(this.ctx, row, 'column data exceeds 2 GiB in one part; write smaller parts');
    }
    this.pushOffset();
  }

  addEmpty(): void {
    this.pushOffset();
  }

  private pushOffset(): void {
    if (this.count + 1 >= this.offsets.length) {
      const next = new Int32Array(this.offsets.length * 2);
      next.set(this.offsets);
      this.offsets = next;
    }
    this.offsets[++this.count] = this.chars;
  }

  utf8(nullCount: number, nullBitmap: Uint8Array | undefined): Data<Utf8> {
    const offsets = this.offsets.subarray(0, this.count + 1);
    const data = this.asciiBytes() ?? this.encodeEach(offsets);
    return makeData({
      type: new Utf8(),
      length: this.count,
      nullCount,
      nullBitmap,
      valueOffsets: offsets,
      data,
    });
  }

  private asciiBytes(): Uint8Array | null {
    // Beyond this a joined string nears V8's string length limit; encodeEach handles it.
    if (this.chars > MAX_JOINED_CHARS) return null;
    const joined = this.strings.join('');
    const bytes = new Uint8Array(this.chars);
    const { read, written } = utf8Encoder.encodeInto(joined, bytes);
    // Any non-ASCII code unit takes two bytes or more, so the bytes run out before the string.
    return read === joined.length && written === this.chars ? bytes : null;
  }

  /** Encodes string by string and rewrites `offsets` (character counts) as byte offsets. */
  private encodeEach(offsets: Int32Array): Uint8Array {
    const sink = new ByteColumn(this.ctx, this.count);
    let next = 0;
    for (let row = 0; row < this.count; row++) {
      if (offsets[row + 1]! > offsets[row]!) sink.addString(this.strings[next++]!, row);
      else sink.addEmpty();
    }
    offsets.set(sink.offsets.subarray(0, this.count + 1));
    return sink.bytes.subarray(0, sink.end);
  }
}

class Utf8Builder extends BaseBuilder {
  private readonly col: StringColumn;

  constructor(ctx: Ctx, capacity: number) {
    super(ctx, capacity);
    this.col = new StringColumn(ctx, capacity);
  }

  add(value: unknown): void {
    if (typeof value === 'string') {
      this.markValid();
      this.col.add(value, this.length);
    } else if (value === null || value === undefined) {
      this.addNull(value);
      this.col.addEmpty();
    } else {
      this.wrong(value, 'a string');
    }
    this.length++;
  }

  finish(): Data {
    return this.col.utf8(this.nullCount, this.bitmap());
  }
}

/**
 * A string column that copies each string's bytes as the row is added, so the rows and their
 * strings are not kept alive until the table is finished (see ArrowTableBuilder).
 */
class Utf8CopyBuilder extends BaseBuilder {
  private readonly col: ByteColumn;

  constructor(ctx: Ctx, capacity: number) {
    super(ctx, capacity);
    this.col = new ByteColumn(ctx, capacity);
  }

  add(value: unknown): void {
    if (typeof value === 'string') {
      this.markValid();
      this.col.addString(value, this.length);
    } else if (value === null || value === undefined) {
      this.addNull(value);
      this.col.addEmpty();
    } else {
      this.wrong(value, 'a string');
    }
    this.length++;
  }

  finish(): Data {
    return this.col.utf8(this.nullCount, this.bitmap());
  }
}

class BinaryBuilder extends BaseBuilder {
  private readonly col: ByteColumn;

  constructor(ctx: Ctx, capacity: number) {
    super(ctx, capacity);
    this.col = new ByteColumn(ctx, capacity);
  }

  add(value: unknown): void {
    if (value instanceof Uint8Array) {
      this.markValid();
      this.col.addBytes(value, this.length);
    } else if (value === null || value === undefined) {
      this.addNull(value);
      this.col.addEmpty();
    } else {
      this.wrong(value, 'a Uint8Array');
    }
    this.length++;
  }

  finish(): Data {
    return this.col.binary(this.nullCount, this.bitmap());
  }
}

class Float64Builder extends BaseBuilder {
  private values: Float64Array;

  constructor(ctx: Ctx, capacity: number) {
    super(ctx, capacity);
    this.values = new Float64Array(capacity);
  }

  add(value: unknown): void {
    // Checked before any branch: null rows need their (zero) slot too.
    if (this.length >= this.values.length) {
      this.values = grown(this.values, this.length + 1, (n) => new Float64Array(n));
    }
    if (typeof value === 'number') {
      this.markValid();
      this.values[this.length] = value;
    } else if (value === null || value === undefined) {
      this.addNull(value);
    } else {
      this.wrong(value, 'a number');
    }
    this.length++;
  }

  finish(): Data {
    return makeData({
      type: new Float64(),
      length: this.length,
      nullCount: this.nullCount,
      nullBitmap: this.bitmap(),
      data: this.values.subarray(0, this.length),
    });
  }
}

class Int32Builder extends BaseBuilder {
  private values: Int32Array;

  constructor(ctx: Ctx, capacity: number) {
    super(ctx, capacity);
    this.values = new Int32Array(capacity);
  }

  add(value: unknown): void {
    if (this.length >= this.values.length) {
      this.values = grown(this.values, this.length + 1, (n) => new Int32Array(n));
    }
    if (typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) {
      this.markValid();
      this.values[this.length] = value;
    } else if (value === null || value === undefined) {
      this.addNull(value);
    } else {
      this.wrong(value, 'a 32-bit integer');
    }
    this.length++;
  }

  finish(): Data {
    return makeData({
      type: new Int32(),
      length: this.length,
      nullCount: this.nullCount,
      nullBitmap: this.bitmap(),
      data: this.values.subarray(0, this.length),
    });
  }
}

/** Int64 and timestamp columns: numbers written as 32-bit halves, bigints as they are. */
class Int64Builder extends BaseBuilder {
  private words: Int32Array;
  private values: BigInt64Array;

  constructor(
    ctx: Ctx,
    capacity: number,
    private readonly timestamp: boolean,
  ) {
    super(ctx, capacity);
    this.values = new BigInt64Array(capacity);
    this.words = new Int32Array(this.values.buffer, this.values.byteOffset, capacity * 2);
  }

  add(value: unknown): void {
    const row = this.length;
    if (row >= this.values.length) {
      this.values = grown(this.values, row + 1, (n) => new BigInt64Array(n));
      this.words = new Int32Array(this.values.buffer, this.values.byteOffset, this.values.length * 2);
    }
    if (typeof value === 'number') {
      // Epoch ms may carry sub-ms fractions (X-Ray times are float seconds); the column is ms.
      const v = this.timestamp ? Math.floor(value) : value;
      const ok = this.timestamp ? Number.isFinite(v) && Math.abs(v) < INT64_LIMIT : Number.isSafeInteger(v);
      if (!ok) this.wrong(value, this.timestamp ? 'epoch milliseconds' : 'an integer');
      this.markValid();
      if (LITTLE_ENDIAN) {
        const hi = Math.floor(v / TWO_32);
        this.words[2 * row] = v - hi * TWO_32;
        this.words[2 * row + 1] = hi;
      } else {
        this.values[row] = BigInt(v);
      }
    } else if (typeof value === 'bigint') {
      if (BigInt.asIntN(64, value) !== value) this.wrong(value, 'a 64-bit integer');
      this.markValid();
      this.values[row] = value;
    } else if (value === null || value === undefined) {
      this.addNull(value);
    } else {
      this.wrong(value, this.timestamp ? 'epoch milliseconds' : 'an integer');
    }
    this.length++;
  }

  finish(): Data {
    const props = {
      length: this.length,
      nullCount: this.nullCount,
      nullBitmap: this.bitmap(),
      data: this.values.subarray(0, this.length),
    };
    return this.timestamp
      ? makeData({ type: new TimestampMillisecond('UTC'), ...props })
      : makeData({ type: new Int64(), ...props });
  }
}

class BoolBuilder extends BaseBuilder {
  private bits: Uint8Array;

  constructor(ctx: Ctx, capacity: number) {
    super(ctx, capacity);
    this.bits = new Uint8Array((capacity + 7) >> 3);
  }

  add(value: unknown): void {
    const row = this.length;
    if (row >> 3 >= this.bits.length) this.bits = grown(this.bits, (row >> 3) + 1, (n) => new Uint8Array(n));
    if (typeof value === 'boolean') {
      this.markValid();
      if (value) this.bits[row >> 3]! |= 1 << (row & 7);
    } else if (value === null || value === undefined) {
      this.addNull(value);
    } else {
      this.wrong(value, 'a boolean');
    }
    this.length++;
  }

  finish(): Data {
    return makeData({
      type: new Bool(),
      length: this.length,
      nullCount: this.nullCount,
      nullBitmap: this.bitmap(),
      data: this.bits.subarray(0, (this.length + 7) >> 3),
    });
  }
}

/** Offsets into a child column, for lists and maps. */
class Offsets {
  values: Int32Array;
  count = 0;

  constructor(rows: number) {
    this.values = new Int32Array(rows + 1);
  }

  push(end: number): void {
    if (this.count + 1 >= this.values.length) {
      this.values = grown(this.values, this.count + 2, (n) => new Int32Array(n));
    }
    this.values[++this.count] = end;
  }

  finish(): Int32Array {
    return this.values.subarray(0, this.count + 1);
  }
}

class ListStringBuilder extends BaseBuilder {
  private readonly offsets: Offsets;
  private readonly items: ByteColumn;

  constructor(ctx: Ctx, capacity: number) {
    super(ctx, capacity);
    this.offsets = new Offsets(capacity);
    this.items = new ByteColumn(ctx, capacity);
  }

  add(value: unknown): void {
    const row = this.length;
    if (Array.isArray(value)) {
      this.markValid();
      for (const item of value) {
        if (typeof item !== 'string') fail(this.ctx, row, `list item is ${describe(item)}, not a string`);
        this.items.addString(item, row);
      }
    } else if (value === null || value === undefined) {
      this.addNull(value);
    } else {
      this.wrong(value, 'an array of strings');
    }
    this.offsets.push(this.items.count);
    this.length++;
  }

  finish(): Data {
    const type = arrowType('list_string') as List<Utf8>;
    return makeData({
      type,
      length: this.length,
      nullCount: this.nullCount,
      nullBitmap: this.bitmap(),
      valueOffsets: this.offsets.finish(),
      child: this.items.utf8(0, undefined),
    });
  }
}

class MapStringBuilder extends BaseBuilder {
  private readonly offsets: Offsets;
  private readonly keys: ByteColumn;
  private readonly vals: ByteColumn;

  constructor(ctx: Ctx, capacity: number) {
    super(ctx, capacity);
    this.offsets = new Offsets(capacity);
    this.keys = new ByteColumn(ctx, 16);
    this.vals = new ByteColumn(ctx, 16);
  }

  add(value: unknown): void {
    const row = this.length;
    if (value === null || value === undefined) {
      this.addNull(value);
    } else if (typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
      this.wrong(value, 'an object of strings');
    } else {
      this.markValid();
      const map = value as Record<string, unknown>;
      for (const key of Object.keys(map)) {
        const v = map[key];
        if (typeof v !== 'string')
          fail(this.ctx, row, `map value of key ${JSON.stringify(key)} is ${describe(v)}`);
        this.keys.addString(key, row);
        this.vals.addString(v, row);
      }
    }
    this.offsets.push(this.keys.count);
    this.length++;
  }

  finish(): Data {
    const type = arrowType('map_string_string') as Map_<Utf8, Utf8>;
    const entries = makeData({
      type: type.children[0]!.type,
      length: this.keys.count,
      nullCount: 0,
      children: [this.keys.utf8(0, undefined), this.vals.utf8(0, undefined)],
    });
    return makeData({
      type,
      length: this.length,
      nullCount: this.nullCount,
      nullBitmap: this.bitmap(),
      valueOffsets: this.offsets.finish(),
      child: entries,
    });
  }
}

function builderFor(ctx: Ctx, capacity: number, copyStrings: boolean): ColumnBuilder {
  switch (ctx.column.type) {
    case 'string':
      return copyStrings ? new Utf8CopyBuilder(ctx, capacity) : new Utf8Builder(ctx, capacity);
    case 'int32':
      return new Int32Builder(ctx, capacity);
    case 'int64':
      return new Int64Builder(ctx, capacity, false);
    case 'timestamp_ms':
      return new Int64Builder(ctx, capacity, true);
    case 'float64':
      return new Float64Builder(ctx, capacity);
    case 'bool':
      return new BoolBuilder(ctx, capacity);
    case 'binary':
      return new BinaryBuilder(ctx, capacity);
    case 'list_string':
      return new ListStringBuilder(ctx, capacity);
    case 'map_string_string':
      return new MapStringBuilder(ctx, capacity);
  }
}

/** Hands every row's values, column by column, to the builders. */
type RowReader = (rows: readonly object[], builders: readonly ColumnBuilder[]) => void;

/**
 * The row loop of a table, compiled once per table with one property read and one `add` call per
 * column written out. Each of those sites then sees one property name and one builder class, so
 * V8 can inline them; a loop over the columns reading `row[name]` makes a single site see every
 * name, a lookup several times slower per value. Rows are visited once each, so a row's fields and
 * strings are read while they are still in the CPU cache. Names enter the code as JSON string
 * literals, so no column name can change what the code does.
 */
function compiledReader(def: TableDef): RowReader | null {
  const body = [
    '"use strict";',
    ...def.columns.map((_, j) => `const b${j} = builders[${j}];`),
    'for (let i = 0; i < rows.length; i++) {',
    '  const r = rows[i];',
    ...def.columns.map((c, j) => `  b${j}.add(r[${JSON.stringify(c.name)}]);`),
    '}',
  ].join('\n');
  try {
    return new Function('rows', 'builders', body) as RowReader;
  } catch {
    // Code generation from strings is disabled (e.g. --disallow-code-generation-from-strings).
    return null;
  }
}

/** The same loop without compiled code: slower, for runtimes that forbid it. */
function genericReader(def: TableDef): RowReader {
  const names = def.columns.map((c) => c.name);
  return (rows, builders) => {
    for (const row of rows) {
      const r = row as Record<string, unknown>;
      for (let j = 0; j < names.length; j++) builders[j]!.add(r[names[j]!]);
    }
  };
}

const readers = new WeakMap<TableDef, RowReader>();

function readerOf(def: TableDef): RowReader {
  let reader = readers.get(def);
  if (!reader) {
    reader = compiledReader(def) ?? genericReader(def);
    readers.set(def, reader);
  }
  return reader;
}

function buildTable(def: TableDef, rows: readonly object[], reader: RowReader): Table {
  const schema = arrowSchema(def);
  const builders = def.columns.map((column) => builderFor({ table: def.name, column }, rows.length, false));
  reader(rows, builders);
  const struct = makeData({
    type: new Struct(schema.fields),
    length: rows.length,
    nullCount: 0,
    children: builders.map((b) => b.finish()),
  });
  return new Table(schema, [new RecordBatch(schema, struct)]);
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
  return buildTable(def, rows, readerOf(def));
}

/**
 * {@link buildArrowTable} without the compiled row loop, as it runs where code generation from
 * strings is forbidden. Exported so tests can hold both paths to the same result.
 *
 * @example
 * buildArrowTableGeneric(SPANS, rows).numRows === rows.length;
 */
export function buildArrowTableGeneric(def: TableDef, rows: readonly object[]): Table {
  return buildTable(def, rows, genericReader(def));
}

/** Hands one row's values, column by column, to the builders. */
type RowAdder = (row: object, builders: readonly ColumnBuilder[]) => void;

const adders = new WeakMap<TableDef, RowAdder>();

/** Like {@link compiledReader}, for one row at a time. */
function adderOf(def: TableDef): RowAdder {
  let adder = adders.get(def);
  if (adder) return adder;
  const body = [
    '"use strict";',
    ...def.columns.map((c, j) => `builders[${j}].add(row[${JSON.stringify(c.name)}]);`),
  ].join('\n');
  try {
    adder = new Function('row', 'builders', body) as RowAdder;
  } catch {
    const names = def.columns.map((c) => c.name);
    adder = (row, builders) => {
      const r = row as Record<string, unknown>;
      for (let j = 0; j < names.length; j++) builders[j]!.add(r[names[j]!]);
    };
  }
  adders.set(def, adder);
  return adder;
}

/**
 * Builds an Arrow table row by row as rows arrive, copying each row's values into the column
 * buffers at once (strings as UTF-8 bytes), so a caller that would otherwise hold tens of thousands
 * of row objects until a part is written can let them go: they then die young instead of being
 * copied by every minor GC and promoted. The table is the one {@link buildArrowTable} gives for
 * the same rows.
 *
 * @throws LakeError from `add`, naming table, column and row, when a value does not fit its
 *   column; the builder cannot be used after that.
 * @example
 * const part = new ArrowTableBuilder(SPANS, 50_000);
 * for (const row of rows) part.add(row);
 * const table = part.finish(); // table.numRows === rows.length
 */
export class ArrowTableBuilder {
  private builders: ColumnBuilder[];
  private readonly adder: RowAdder;
  private rows = 0;
  private broken = false;

  /** `capacity`: rows expected; buffers grow past it. */
  constructor(
    readonly def: TableDef,
    private readonly capacity = 1024,
  ) {
    this.adder = adderOf(def);
    this.builders = this.fresh();
  }

  /** Rows added since the builder was made or last finished. */
  get length(): number {
    return this.rows;
  }

  add(row: object): void {
    if (this.broken) throw new LakeError(`table ${this.def.name}: builder used after a failed add`);
    this.broken = true;
    this.adder(row, this.builders);
    this.broken = false;
    this.rows++;
  }

  /** The table of the rows added so far; the builder starts over empty. */
  finish(): Table {
    if (this.broken) throw new LakeError(`table ${this.def.name}: builder used after a failed add`);
    const schema = arrowSchema(this.def);
    const struct = makeData({
      type: new Struct(schema.fields),
      length: this.rows,
      nullCount: 0,
      children: this.builders.map((b) => b.finish()),
    });
    this.builders = this.fresh();
    this.rows = 0;
    return new Table(schema, [new RecordBatch(schema, struct)]);
  }

  private fresh(): ColumnBuilder[] {
    return this.def.columns.map((column) =>
      builderFor({ table: this.def.name, column }, this.capacity, true),
    );
  }
}
