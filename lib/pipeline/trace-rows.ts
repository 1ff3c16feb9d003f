/**
 * The `traces` rows of one window, held as bytes until the window is written. The table is one
 * sorted object per window, so every row must wait for the window's end. As JavaScript values they
 * cost the V8 heap ~400 bytes per trace (an array per annotation set, a string per URL), and a
 * string cut out of a document keeps the whole document alive; V8 then grows its heap as a
 * multiple of that. As bytes in 1 MiB chunks outside the heap they cost ~150 bytes per trace, and
 * no string of the input is kept.
 *
 * A row: flags (1 byte); start, duration, span count, service count (float64); response time and
 * HTTP status (float64, only when not null); then the trace ID, root service, HTTP method and URL
 * as string references; then, when present, the number of annotations and a key and a value
 * reference each. A string reference is an unsigned LEB128 tag: 0 null; even, a dictionary entry
 * (`tag / 2 - 1`); `4n + 1`, n ASCII bytes follow; `4n + 3`, n UTF-16 code units follow (2 bytes
 * each, little-endian), so any JavaScript string comes back exactly, lone surrogates included.
 */
import { TracelakeError } from '../core/errors.js';
import type { TraceRow } from '../core/model.js';

const ERROR = 1;
const FAULT = 2;
const THROTTLE = 4;
const PARTIAL = 8;
const HAS_RESPONSE = 16;
const HAS_STATUS = 32;
const HAS_ANNOTATIONS = 64;

const CHUNK_BYTES = 1 << 20;
/** Distinct repeated strings (services, methods, annotation keys and values) held once. */
const MAX_DICTIONARY = 16_384;
/** The trace ID's tag starts right after the flags and the four fixed numbers. */
const ID_AT = 1 + 4 * 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class TraceRowStore {
  private readonly chunks: Uint8Array[] = [];
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkIndex = -1;
  private chunkUsed = 0;
  private rowChunk = new Uint32Array(1024);
  private rowOffset = new Uint32Array(1024);
  private starts = new Float64Array(1024);
  private count = 0;
  private readonly dictionary = new Map<string, number>();
  private readonly entries: string[] = [];
  // The row being encoded.
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  constructor(private readonly window: number) {}

  get length(): number {
    return this.count;
  }

  add(row: TraceRow): void {
    const annotations = row.annotations;
    const flags =
      (row.has_error ? ERROR : 0) |
      (row.has_fault ? FAULT : 0) |
      (row.has_throttle ? THROTTLE : 0) |
      (row.is_partial ? PARTIAL : 0) |
      (row.response_time_ms !== null ? HAS_RESPONSE : 0) |
      (row.http_status !== null ? HAS_STATUS : 0) |
      (annotations ? HAS_ANNOTATIONS : 0);
    this.pos = 0;
    this.reserve(ID_AT + 16);
    this.buf[0] = flags;
    this.view.setFloat64(1, row.start_time, true);
    this.view.setFloat64(9, row.duration_ms, true);
    this.view.setFloat64(17, row.span_count, true);
    this.view.setFloat64(25, row.service_count, true);
    this.pos = ID_AT;
    // The ID is unique per row: never worth a dictionary entry.
    this.writeInline(row.trace_id);
    this.reserve(16);
    if (row.response_time_ms !== null) this.writeFloat(row.response_time_ms);
    if (row.http_status !== null) this.writeFloat(row.http_status);
    this.writeRef(row.root_service);
    this.writeRef(row.http_method);
    this.writeRef(row.http_url);
    if (annotations) {
      // Object.entries order is a function of the keys and their insertion order, so inserting
      // them back in this order gives the same record.
      const list = Object.entries(annotations);
      this.writeVarint(list.length);
      for (const [k, v] of list) {
        this.writeRef(k);
        this.writeRef(v);
      }
    }
    this.store();
  }

  /** The rows, as `add` received them. */
  rows(): TraceRow[] {
    const out: TraceRow[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.row(i));
    return out;
  }

  /**
   * The rows in the `traces` table's order, by start time then trace ID (equal rows keep their
   * arrival order), `size` rows at a time, so a window is never all JavaScript objects at once.
   */
  *sortedBatches(size: number): Generator<TraceRow[]> {
    if (!(Number.isInteger(size) && size >= 1))
      throw new TracelakeError(`traces batch size ${size} is not a whole number >= 1`);
    const order = this.sortedOrder();
    for (let i = 0; i < order.length; i += size) {
      const batch: TraceRow[] = [];
      const end = Math.min(order.length, i + size);
      for (let j = i; j < end; j++) batch.push(this.row(order[j]!));
      yield batch;
    }
  }

  private sortedOrder(): number[] {
    const order: number[] = [];
    for (let i = 0; i < this.count; i++) order.push(i);
    const starts = this.starts;
    // Array.prototype.sort is stable: ties keep arrival order, as sorting the rows themselves did.
    return order.sort((a, b) => starts[a]! - starts[b]! || this.compareIds(a, b));
  }

  /** Compares two rows' trace IDs as JavaScript compares the strings (by UTF-16 code unit). */
  private compareIds(a: number, b: number): number {
    const ca = this.chunks[this.rowChunk[a]!]!;
    const cb = this.chunks[this.rowChunk[b]!]!;
    const ra = readVarint(ca, this.rowOffset[a]! + ID_AT);
    const rb = readVarint(cb, this.rowOffset[b]! + ID_AT);
    if (ra.value % 4 === 1 && rb.value % 4 === 1) {
      // Both ASCII: bytes compare as code units do.
      const la = (ra.value - 1) / 4;
      const lb = (rb.value - 1) / 4;
      const n = Math.min(la, lb);
      for (let i = 0; i < n; i++) {
        const d = ca[ra.end + i]! - cb[rb.end + i]!;
        if (d !== 0) return d;
      }
      return la - lb;
    }
    const x = this.readRef(ca, ra.value, ra.end).value ?? '';
    const y = this.readRef(cb, rb.value, rb.end).value ?? '';
    return x < y ? -1 : x > y ? 1 : 0;
  }

  private row(i: number): TraceRow {
    const bytes = this.chunks[this.rowChunk[i]!]!;
    const at = this.rowOffset[i]!;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const flags = bytes[at]!;
    let p = at + ID_AT;
    const id = this.readNext(bytes, p);
    p = id.end;
    let response: number | null = null;
    let status: number | null = null;
    if (flags & HAS_RESPONSE) {
      response = view.getFloat64(p, true);
      p += 8;
    }
    if (flags & HAS_STATUS) {
      status = view.getFloat64(p, true);
      p += 8;
    }
    const service = this.readNext(bytes, p);
    const method = this.readNext(bytes, service.end);
    const url = this.readNext(bytes, method.end);
    p = url.end;
    let annotations: Record<string, string> | null = null;
    if (flags & HAS_ANNOTATIONS) {
      annotations = Object.create(null) as Record<string, string>;
      const n = readVarint(bytes, p);
      p = n.end;
      for (let j = 0; j < n.value; j++) {
        const k = this.readNext(bytes, p);
        const v = this.readNext(bytes, k.end);
        p = v.end;
        annotations[k.value ?? ''] = v.value ?? '';
      }
    }
    return {
      trace_id: id.value ?? '',
      start_time: view.getFloat64(at + 1, true),
      duration_ms: view.getFloat64(at + 9, true),
      response_time_ms: response,
      root_service: service.value ?? '',
      http_method: method.value,
      http_url: url.value,
      http_status: status,
      has_error: (flags & ERROR) !== 0,
      has_fault: (flags & FAULT) !== 0,
      has_throttle: (flags & THROTTLE) !== 0,
      annotations,
      span_count: view.getFloat64(at + 17, true),
      service_count: view.getFloat64(at + 25, true),
      is_partial: (flags & PARTIAL) !== 0,
      window_start: this.window,
    };
  }

  private readNext(bytes: Uint8Array, at: number): { value: string | null; end: number } {
    const tag = readVarint(bytes, at);
    return this.readRef(bytes, tag.value, tag.end);
  }

  private readRef(bytes: Uint8Array, tag: number, at: number): { value: string | null; end: number } {
    if (tag === 0) return { value: null, end: at };
    if (tag % 2 === 0) return { value: this.entries[tag / 2 - 1]!, end: at };
    const n = Math.floor(tag / 4);
    if (tag % 4 === 1) return { value: decoder.decode(bytes.subarray(at, at + n)), end: at + n };
    return { value: utf16(bytes, at, n), end: at + 2 * n };
  }

  /** A string as a dictionary entry when it is one (or becomes one), else inline. */
  private writeRef(value: string | null): void {
    if (value === null) {
      this.writeVarint(0);
      return;
    }
    const entry = this.dictionary.get(value);
    if (entry !== undefined) {
      this.writeVarint(2 * (entry + 1));
      return;
    }
    const start = this.pos;
    this.writeInline(value);
    if (this.entries.length < MAX_DICTIONARY) {
      // The key is read back from the bytes: a fresh string, not one cut out of a document.
      const copy = this.readNext(this.buf, start).value!;
      this.dictionary.set(copy, this.entries.length);
      this.entries.push(copy);
    }
  }

  private writeInline(value: string): void {
    const n = value.length;
    const asciiTag = 4 * n + 1;
    const tagBytes = varintSize(asciiTag);
    this.reserve(tagBytes + 2 * n);
    const out = this.buf.subarray(this.pos + tagBytes, this.pos + tagBytes + n);
    const done = encoder.encodeInto(value, out);
    if (done.read === n && done.written === n) {
      this.writeVarint(asciiTag);
      this.pos += n;
      return;
    }
    const tag = 4 * n + 3;
    this.reserve(varintSize(tag) + 2 * n);
    this.writeVarint(tag);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      buf[p++] = c & 0xff;
      buf[p++] = c >>> 8;
    }
    this.pos = p;
  }

  private writeFloat(n: number): void {
    this.view.setFloat64(this.pos, n, true);
    this.pos += 8;
  }

  private writeVarint(value: number): void {
    this.reserve(8);
    let v = value;
    while (v >= 128) {
      this.buf[this.pos++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  private reserve(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Moves the encoded row into the chunks and records where it is. */
  private store(): void {
    const n = this.pos;
    if (this.chunkUsed + n > this.chunk.length) {
      // A row larger than a chunk gets a chunk of its own; the current one stays open.
      if (n > CHUNK_BYTES) {
        this.chunks.push(this.buf.slice(0, n));
        this.place(this.chunks.length - 1, 0);
        return;
      }
      this.chunk = new Uint8Array(CHUNK_BYTES);
      this.chunkIndex = this.chunks.length;
      this.chunks.push(this.chunk);
      this.chunkUsed = 0;
    }
    this.chunk.set(this.buf.subarray(0, n), this.chunkUsed);
    this.place(this.chunkIndex, this.chunkUsed);
    this.chunkUsed += n;
  }

  private place(chunk: number, offset: number): void {
    const i = this.count;
    if (i === this.starts.length) {
      this.rowChunk = grown(this.rowChunk, new Uint32Array(i * 2));
      this.rowOffset = grown(this.rowOffset, new Uint32Array(i * 2));
      this.starts = grown(this.starts, new Float64Array(i * 2));
    }
    this.rowChunk[i] = chunk;
    this.rowOffset[i] = offset;
    this.starts[i] = this.view.getFloat64(1, true);
    this.count++;
  }
}

function grown<T extends Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 128; v = Math.floor(v / 128)) size++;
  return size;
}

function readVarint(bytes: Uint8Array, at: number): { value: number; end: number } {
  let value = 0;
  let scale = 1;
  let p = at;
  for (;;) {
    const b = bytes[p++]!;
    value += (b & 127) * scale;
    if (b < 128) return { value, end: p };
    scale *= 128;
  }
}

function utf16(bytes: Uint8Array, at: number, n: number): string {
  const units: number[] = [];
  let out = '';
  for (let i = 0; i < n; i++) {
    units.push(bytes[at + 2 * i]! | (bytes[at + 2 * i + 1]! << 8));
    if (units.length === 4096) {
      out += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return out + String.fromCharCode(...units);
}
