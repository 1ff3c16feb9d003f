/**
 * A fast path for segment documents held as JSON text (the X-Ray API's `Document`): reads the text
 * once, as bytes, keeps only the fields a `SpanNode` needs and builds the same tree that
 * `JSON.parse` + `parseSegmentDocument` build, without the intermediate object tree.
 *
 * It is a filter, not a second validator: whenever a document is anything but plainly valid
 * (bad JSON, a field the slow path would reject, a duplicate key, an escaped key, deep nesting,
 * a non-ASCII character) it answers `null` and the slow path decides, so rejection messages and
 * locations come from one place only.
 */
import { functionName, queueName, topicName } from '../aws-names.js';
import type { Namespace, SourceLocation, SpanKind, SpanNode } from '../model.js';
import { type DocumentContext, type LazyPointer, MAX_NESTING, NodeLocation } from './document.js';

// The same bounds as the slow path (document.ts).
const MAX_NAME_LENGTH = 200;
const MIN_EPOCH_S = 946_684_800;
const MAX_EPOCH_S = 4_102_444_800;
const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;
// Skipped values nested deeper than this go to the slow path, which keeps recursion bounded here.
const MAX_SKIP_DEPTH = 128;

/** Thrown (never escapes) to leave the fast path; a constant, so no stack is captured. */
const BAIL: unique symbol = Symbol('bail');

/** Powers of ten that are exact doubles: a safe integer times or over one of them rounds once. */
const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

// Keys of a segment document, dense for the switch; `1 << key` marks it seen, so a duplicate shows.
const K_OTHER = 0;
const K_NAME = 1;
const K_ID = 2;
const K_TRACE_ID = 3;
const K_PARENT_ID = 4;
const K_TYPE = 5;
const K_START = 6;
const K_END = 7;
const K_IN_PROGRESS = 8;
const K_ERROR = 9;
const K_FAULT = 10;
const K_THROTTLE = 11;
const K_INFERRED = 12;
const K_NAMESPACE = 13;
const K_ORIGIN = 14;
const K_HTTP = 15;
const K_AWS = 16;
const K_SQL = 17;
const K_CAUSE = 18;
const K_SERVICE = 19;
const K_ANNOTATIONS = 20;
const K_SUBSEGMENTS = 21;

/** A node before the fix-up pass: `undefined` in the inherited fields means "take the parent's". */
interface Draft {
  traceId: string | undefined;
  id: string;
  parentId: string | null;
  kind: SpanKind;
  name: string;
  origin: string | null | undefined;
  namespace: Namespace | null;
  startMs: number;
  endMs: number | null;
  httpMethod: string | null;
  httpStatus: number | null;
  httpUrl: string | null;
  awsOperation: string | null;
  awsResource: string | null;
  sqlUrl: string | null;
  sqlDatabaseType: string | null;
  serviceVersion: string | null | undefined;
  error: boolean;
  fault: boolean;
  throttle: boolean;
  inferred: boolean;
  annotations: Record<string, string> | null;
  children: Draft[];
  location: SourceLocation;
}

// The text being read, its bytes and the read position. The scanner is synchronous and never re-entered.
let src = '';
let pos = 0;
/**
 * The text's bytes, then a 0 that stops every loop at the end. Only ASCII documents are scanned, so
 * byte offsets are string offsets; reading a typed array is several times faster than `charCodeAt`.
 */
let b = new Uint8Array(16 * 1024);
const encoder = new TextEncoder();
// Longer documents (rare) go to the slow path rather than grow the buffer without bound.
const MAX_SCAN_CHARS = 4 * 1024 * 1024;

// Fields of the `http`, `aws`, `sql` and `service` objects of the node being read.
let httpMethod: string | null = null;
let httpUrl: string | null = null;
let httpStatus: number | null = null;
let awsOperation: string | null = null;
let awsResource: string | null = null;
let sqlUrl: string | null = null;
let sqlDatabaseType: string | null = null;
let serviceVersion: string | null = null;

/**
 * Reads one segment document (or independent subsegment) from its JSON text and returns the
 * `SpanNode` tree `parseSegmentDocument(JSON.parse(text), ctx)` would return, or `null` when it
 * cannot be sure, in which case the caller takes the slow path (which also produces the
 * rejection, if there is one). Never returns a node for a document the slow path rejects.
 *
 * @example
 * const node = scanSegmentDocument(
 *   '{"name":"api","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1478293361.271,"end_time":1478293361.449}',
 *   { location: { source: 'segment.json' } },
 * );
 * // node?.startMs === 1478293361271; scanSegmentDocument('{"name":', ctx) === null
 */
export function scanSegmentDocument(text: string, ctx: DocumentContext): SpanNode | null {
  const n = text.length;
  if (n >= MAX_SCAN_CHARS) return null;
  if (n >= b.length) b = new Uint8Array(Math.max(n + 1, 2 * b.length));
  const { read, written } = encoder.encodeInto(text, b);
  // A non-ASCII character takes more than one byte: such documents take the slow path.
  if (read !== n || written !== n) return null;
  b[n] = 0;
  src = text;
  pos = 0;
  try {
    if (ws() !== 123) return null;
    const at: LazyPointer | string = ctx.at ?? ctx.location.pointer ?? '';
    const root = readNode(0, at, ctx.location);
    ws();
    if (pos !== text.length) return null;
    const traceId = root.traceId;
    if (traceId === undefined) return null;
    const expected = ctx.expectedTraceId;
    if (expected !== undefined) {
      if (traceId !== expected) return null;
      // The caller's string from now on: the next documents of the trace then match it by identity,
      // and the rows share one flat string rather than a slice of the first document.
      root.traceId = expected;
      if (lastTraceId === traceId) lastTraceId = expected;
    }
    if (root.kind === 'subsegment' && root.parentId === null) return null;
    inherit(root);
    // Every inherited field is now set, so the draft is a complete node.
    return root as unknown as SpanNode;
  } catch (err) {
    if (err === BAIL) return null;
    throw err;
  } finally {
    // Do not keep the last document alive.
    src = '';
  }
}

/** Hands each node's trace, id, origin and service version down to the children that lack them. */
function inherit(node: Draft): void {
  const children = node.children;
  for (let i = 0; i < children.length; i++) {
    const child = children[i] as Draft;
    if (child.traceId !== undefined && child.traceId !== node.traceId) throw BAIL;
    child.traceId = node.traceId;
    child.parentId = node.id;
    if (child.origin === undefined) child.origin = node.origin;
    if (child.serviceVersion === undefined) child.serviceVersion = node.serviceVersion;
    inherit(child);
  }
}

function bail(): never {
  throw BAIL;
}

/** Skips JSON whitespace and returns the next byte (0 at the end). */
function ws(): number {
  const bytes = b;
  let c = bytes[pos]!;
  if (c > 32) return c;
  while (c === 32 || c === 10 || c === 13 || c === 9) c = bytes[++pos]!;
  return c;
}

function expectColon(): void {
  if (ws() !== 58) bail();
  pos++;
}

/** After a member or element: true when another follows (the comma is consumed). */
function more(close: number): boolean {
  let c = b[pos]!;
  if (c !== 44 && c !== close) c = ws();
  pos++;
  if (c === 44) return true;
  if (c === close) return false;
  return bail();
}

/** True when the bytes at `start` spell `word` (the length is already known to match). */
function same(start: number, word: Uint8Array): boolean {
  const bytes = b;
  for (let i = word.length - 1; i >= 0; i--) if (bytes[start + i] !== word[i]) return false;
  return true;
}

/** The field names the scanner looks for, as bytes, so a comparison reads two typed arrays. */
const W = {
  annotations: encoder.encode('annotations'),
  aws: encoder.encode('aws'),
  bucket_name: encoder.encode('bucket_name'),
  cause: encoder.encode('cause'),
  content_length: encoder.encode('content_length'),
  database_type: encoder.encode('database_type'),
  end_time: encoder.encode('end_time'),
  error: encoder.encode('error'),
  fault: encoder.encode('fault'),
  function_name: encoder.encode('function_name'),
  http: encoder.encode('http'),
  id: encoder.encode('id'),
  in_progress: encoder.encode('in_progress'),
  inferred: encoder.encode('inferred'),
  method: encoder.encode('method'),
  name: encoder.encode('name'),
  namespace: encoder.encode('namespace'),
  operation: encoder.encode('operation'),
  origin: encoder.encode('origin'),
  parent_id: encoder.encode('parent_id'),
  queue_url: encoder.encode('queue_url'),
  request: encoder.encode('request'),
  resource_names: encoder.encode('resource_names'),
  response: encoder.encode('response'),
  service: encoder.encode('service'),
  sql: encoder.encode('sql'),
  start_time: encoder.encode('start_time'),
  status: encoder.encode('status'),
  subsegments: encoder.encode('subsegments'),
  table_name: encoder.encode('table_name'),
  throttle: encoder.encode('throttle'),
  topic_arn: encoder.encode('topic_arn'),
  trace_id: encoder.encode('trace_id'),
  type: encoder.encode('type'),
  url: encoder.encode('url'),
  version: encoder.encode('version'),
} as const;

// Where the last key read by `memberKey` starts.
let keyStart = 0;

/**
 * Reads the key at `pos` (after whitespace) and its colon; returns its length and leaves its start in
 * `keyStart`. Escaped keys are left to the slow path (they may spell a field).
 */
function memberKey(): number {
  if (ws() !== 34) bail();
  const start = ++pos;
  const bytes = b;
  let p = start;
  let c = bytes[p]!;
  while (c !== 34) {
    if (c === 92 || c < 32) bail();
    c = bytes[++p]!;
  }
  pos = p;
  keyStart = start;
  const len = pos - start;
  if (b[++pos]! === 58) pos++;
  else expectColon();
  return len;
}

/** The key of a segment document member, as a K_ id (`memberKey` first). */
function nodeKey(len: number): number {
  const k = keyStart;
  switch (len) {
    case 2:
      return same(k, W.id) ? K_ID : K_OTHER;
    case 3:
      if (same(k, W.aws)) return K_AWS;
      return same(k, W.sql) ? K_SQL : K_OTHER;
    case 4:
      switch (b[k]!) {
        case 110:
          return same(k, W.name) ? K_NAME : K_OTHER;
        case 104:
          return same(k, W.http) ? K_HTTP : K_OTHER;
        case 116:
          return same(k, W.type) ? K_TYPE : K_OTHER;
      }
      return K_OTHER;
    case 5:
      switch (b[k]!) {
        case 101:
          return same(k, W.error) ? K_ERROR : K_OTHER;
        case 102:
          return same(k, W.fault) ? K_FAULT : K_OTHER;
        case 99:
          return same(k, W.cause) ? K_CAUSE : K_OTHER;
      }
      return K_OTHER;
    case 6:
      return same(k, W.origin) ? K_ORIGIN : K_OTHER;
    case 7:
      return same(k, W.service) ? K_SERVICE : K_OTHER;
    case 8:
      switch (b[k]!) {
        case 101:
          return same(k, W.end_time) ? K_END : K_OTHER;
        case 116:
          if (same(k, W.trace_id)) return K_TRACE_ID;
          return same(k, W.throttle) ? K_THROTTLE : K_OTHER;
        case 105:
          return same(k, W.inferred) ? K_INFERRED : K_OTHER;
      }
      return K_OTHER;
    case 9:
      switch (b[k]!) {
        case 112:
          return same(k, W.parent_id) ? K_PARENT_ID : K_OTHER;
        case 110:
          return same(k, W.namespace) ? K_NAMESPACE : K_OTHER;
      }
      return K_OTHER;
    case 10:
      return same(k, W.start_time) ? K_START : K_OTHER;
    case 11:
      switch (b[k]!) {
        case 115:
          return same(k, W.subsegments) ? K_SUBSEGMENTS : K_OTHER;
        case 97:
          return same(k, W.annotations) ? K_ANNOTATIONS : K_OTHER;
        case 105:
          return same(k, W.in_progress) ? K_IN_PROGRESS : K_OTHER;
      }
      return K_OTHER;
    default:
      return K_OTHER;
  }
}

/** The string at `pos` (a `"`), unescaped exactly as `JSON.parse` does. */
function readString(): string {
  const start = pos + 1;
  const bytes = b;
  let p = start;
  let c = bytes[p]!;
  while (c !== 34) {
    if (c === 92) {
      pos = p;
      return readEscapedString(start);
    }
    if (c < 32) bail();
    c = bytes[++p]!;
  }
  pos = p + 1;
  return src.slice(start, p);
}

function readEscapedString(start: number): string {
  let out = src.slice(start, pos);
  for (;;) {
    // At a backslash.
    const e = b[pos + 1]!;
    pos += 2;
    switch (e) {
      case 34:
        out += '"';
        break;
      case 92:
        out += '\\';
        break;
      case 47:
        out += '/';
        break;
      case 98:
        out += '\b';
        break;
      case 102:
        out += '\f';
        break;
      case 110:
        out += '\n';
        break;
      case 114:
        out += '\r';
        break;
      case 116:
        out += '\t';
        break;
      case 117:
        out += String.fromCharCode(hex4());
        break;
      default:
        bail();
    }
    const run = pos;
    for (;;) {
      const c = b[pos]!;
      if (c === 34) {
        out += src.slice(run, pos);
        pos++;
        return out;
      }
      if (c === 92) {
        out += src.slice(run, pos);
        break;
      }
      if (!(c >= 32)) bail();
      pos++;
    }
  }
}

/** Four hex digits at `pos` as a code unit. */
function hex4(): number {
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const c = b[pos++]!;
    if (c >= 48 && c <= 57) v = v * 16 + (c - 48);
    else if (c >= 97 && c <= 102) v = v * 16 + (c - 87);
    else if (c >= 65 && c <= 70) v = v * 16 + (c - 55);
    else bail();
  }
  return v;
}

function skipString(): void {
  const bytes = b;
  let p = pos + 1;
  let first = bytes[p]!;
  // The common case: no escape before the closing quote.
  while (first !== 34 && first !== 92) {
    if (first < 32) bail();
    first = bytes[++p]!;
  }
  pos = p;
  for (;;) {
    const c = b[pos]!;
    if (c === 34) {
      pos++;
      return;
    }
    if (c === 92) {
      const e = b[pos + 1]!;
      pos += 2;
      if (e === 117) hex4();
      else if (
        e !== 34 &&
        e !== 92 &&
        e !== 47 &&
        e !== 98 &&
        e !== 102 &&
        e !== 110 &&
        e !== 114 &&
        e !== 116
      )
        bail();
      continue;
    }
    if (!(c >= 32)) bail();
    pos++;
  }
}

/**
 * The number at `pos`, exactly as `JSON.parse` reads it. A mantissa of at most 2^53 and a power
 * of ten of at most 22 give one correctly rounded operation; anything else goes through `Number`.
 */
function readNumber(): number {
  const bytes = b;
  const start = pos;
  let p = pos;
  let c = bytes[p]!;
  const negative = c === 45;
  if (negative) c = bytes[++p]!;
  let mantissa = 0;
  if (c === 48) {
    c = bytes[++p]!;
  } else if (c >= 49 && c <= 57) {
    do {
      mantissa = mantissa * 10 + (c - 48);
      c = bytes[++p]!;
    } while (c >= 48 && c <= 57);
  } else {
    bail();
  }
  let scale = 0;
  if (c === 46) {
    c = bytes[++p]!;
    if (!(c >= 48 && c <= 57)) bail();
    do {
      mantissa = mantissa * 10 + (c - 48);
      scale--;
      c = bytes[++p]!;
    } while (c >= 48 && c <= 57);
  }
  if (c === 101 || c === 69) {
    c = bytes[++p]!;
    let sign = 1;
    if (c === 43 || c === 45) {
      if (c === 45) sign = -1;
      c = bytes[++p]!;
    }
    if (!(c >= 48 && c <= 57)) bail();
    let exponent = 0;
    do {
      // Capped: past this the value is 0 or Infinity whatever the digits, and Number says which.
      if (exponent < 100_000) exponent = exponent * 10 + (c - 48);
      c = bytes[++p]!;
    } while (c >= 48 && c <= 57);
    scale += sign * exponent;
  }
  pos = p;
  if (mantissa <= Number.MAX_SAFE_INTEGER) {
    let value: number;
    if (scale === 0) value = mantissa;
    else if (scale > 0 && scale <= 22) value = mantissa * (POW10[scale] as number);
    else if (scale < 0 && scale >= -22) value = mantissa / (POW10[-scale] as number);
    else return Number(src.slice(start, p));
    return negative ? -value : value;
  }
  return Number(src.slice(start, p));
}

function skipLiteral(word: string): void {
  if (!src.startsWith(word, pos)) bail();
  pos += word.length;
}

/** Checks and steps over any JSON value. */
function skipValue(depth: number): void {
  const c = ws();
  if (c === 34) {
    skipString();
    return;
  }
  if (c === 123) {
    if (depth >= MAX_SKIP_DEPTH) bail();
    pos++;
    if (ws() === 125) {
      pos++;
      return;
    }
    do {
      if (ws() !== 34) bail();
      skipString();
      expectColon();
      skipValue(depth + 1);
    } while (more(125));
    return;
  }
  if (c === 91) {
    if (depth >= MAX_SKIP_DEPTH) bail();
    pos++;
    if (ws() === 93) {
      pos++;
      return;
    }
    do skipValue(depth + 1);
    while (more(93));
    return;
  }
  if (c === 116) skipLiteral('true');
  else if (c === 102) skipLiteral('false');
  else if (c === 110) skipLiteral('null');
  else if (c === 45 || (c >= 48 && c <= 57)) readNumber();
  else bail();
}

// Recent low-cardinality values (names, operations, resources, annotations), one string each: the
// rows that repeat them share it, which saves copies and lets later map lookups reuse its hash.
const SHARED_SLOTS = 4096;
const shared: (string | undefined)[] = new Array<string | undefined>(SHARED_SLOTS).fill(undefined);
// The same values as bytes, compared with the text as `same` compares field names.
const sharedBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(SHARED_SLOTS).fill(
  undefined,
);
const decoder = new TextDecoder();

/** The string at `pos` (a `"`), as `readString` reads it, as the one shared string of its value. */
function readSharedString(): string {
  const start = pos + 1;
  const bytes = b;
  let p = start;
  let h = 0x811c9dc5;
  let c = bytes[p]!;
  while (c !== 34) {
    // Escaped values are rare: read them plainly (`pos` is still at the opening quote).
    if (c === 92) return readString();
    if (c < 32) bail();
    h = Math.imul(h ^ c, 0x01000193);
    c = bytes[++p]!;
  }
  pos = p + 1;
  const len = p - start;
  // Two slots per value, the newer first, so that two common values that collide do not evict each other.
  const slot = (h ^ (h >>> 15)) & (SHARED_SLOTS - 2);
  const first = sharedBytes[slot];
  if (first !== undefined && first.length === len && same(start, first)) return shared[slot]!;
  const second = sharedBytes[slot + 1];
  if (second !== undefined && second.length === len && same(start, second)) return shared[slot + 1]!;
  // A copy, never a slice of the document that the table would keep alive (V8 copies short slices).
  const fresh = len < 13 ? src.slice(start, p) : decoder.decode(bytes.subarray(start, p));
  shared[slot + 1] = shared[slot];
  sharedBytes[slot + 1] = first;
  shared[slot] = fresh;
  sharedBytes[slot] = bytes.slice(start, p);
  return fresh;
}

/** `stringValue`, shared. */
function sharedStringValue(): string {
  if (ws() !== 34) bail();
  return readSharedString();
}

/** `optionalString`, shared. */
function optionalSharedString(): string | null {
  const c = ws();
  if (c === 34) return readSharedString();
  if (c === 110) {
    skipLiteral('null');
    return null;
  }
  return bail();
}

// The names cut out of queue URLs, topic ARNs and function ARNs, by the (shared) value they came from.
const resourceNames = new Map<string, string>();

function nameOf(value: string, cut: (v: string) => string): string {
  let name = resourceNames.get(value);
  if (name === undefined) {
    if (resourceNames.size >= SHARED_SLOTS) resourceNames.clear();
    name = cut(value);
    resourceNames.set(value, name);
  }
  return name;
}

/** A string value, or a bail for anything else. */
function stringValue(): string {
  if (ws() !== 34) bail();
  return readString();
}

/** A string or null (absent reads the same); anything else bails. */
function optionalString(): string | null {
  const c = ws();
  if (c === 34) return readString();
  if (c === 110) {
    skipLiteral('null');
    return null;
  }
  return bail();
}

function booleanValue(): boolean {
  const c = ws();
  if (c === 116) {
    skipLiteral('true');
    return true;
  }
  if (c === 102) {
    skipLiteral('false');
    return false;
  }
  return bail();
}

function numberValue(): number {
  const c = ws();
  if (c !== 45 && !(c >= 48 && c <= 57)) bail();
  return readNumber();
}

/** An epoch time in seconds, as the slow path accepts it. */
function epochValue(): number {
  const value = numberValue();
  if (!(value >= MIN_EPOCH_S && value <= MAX_EPOCH_S)) bail();
  return value;
}

/** True at an object to read, false at null (read), bail otherwise. */
function objectOrNull(): boolean {
  const c = ws();
  if (c === 123) return true;
  if (c === 110) {
    skipLiteral('null');
    return false;
  }
  return bail();
}

/** True when the object at `pos` is empty (and then steps over it); otherwise steps inside. */
function enterObject(): boolean {
  pos++;
  if (ws() === 125) {
    pos++;
    return true;
  }
  return false;
}

// `http`: its request and response, and the four fields read from them.
function readHttp(): void {
  let seen = 0;
  if (enterObject()) return;
  do {
    const len = memberKey();
    if (len === 7 && same(keyStart, W.request)) {
      if (seen & 1) bail();
      seen |= 1;
      if (objectOrNull()) readRequest();
    } else if (len === 8 && same(keyStart, W.response)) {
      if (seen & 2) bail();
      seen |= 2;
      if (objectOrNull()) readResponse();
    } else {
      skipValue(0);
    }
  } while (more(125));
}

function readRequest(): void {
  let seen = 0;
  if (enterObject()) return;
  do {
    const len = memberKey();
    if (len === 6 && same(keyStart, W.method)) {
      if (seen & 1) bail();
      seen |= 1;
      httpMethod = optionalSharedString();
    } else if (len === 3 && same(keyStart, W.url)) {
      if (seen & 2) bail();
      seen |= 2;
      httpUrl = optionalString();
    } else {
      skipValue(0);
    }
  } while (more(125));
}

function readResponse(): void {
  let seen = 0;
  if (enterObject()) return;
  do {
    const len = memberKey();
    if (len === 6 && same(keyStart, W.status)) {
      if (seen & 1) bail();
      seen |= 1;
      if (ws() === 110) {
        skipLiteral('null');
      } else {
        const status = numberValue();
        if (!Number.isInteger(status)) bail();
        httpStatus = status;
      }
    } else if (len === 14 && same(keyStart, W.content_length)) {
      if (seen & 2) bail();
      seen |= 2;
      if (ws() === 110) skipLiteral('null');
      else numberValue();
    } else {
      skipValue(0);
    }
  } while (more(125));
}

// The resource fields of `aws`: a string, null, or NOT_STRING (fine unless an earlier one is empty).
const NOT_STRING = 1;
let awsTable: string | null | typeof NOT_STRING = null;
let awsBucket: string | null | typeof NOT_STRING = null;
let awsQueue: string | null | typeof NOT_STRING = null;
let awsTopic: string | null | typeof NOT_STRING = null;
let awsFunction: string | null | typeof NOT_STRING = null;
let awsFirstName: string | null = null;

/** A value that the slow path reads with `optionalString` only when no earlier resource was found. */
function lateString(): string | null | typeof NOT_STRING {
  const c = ws();
  if (c === 34) return readSharedString();
  if (c === 110) {
    skipLiteral('null');
    return null;
  }
  skipValue(0);
  return NOT_STRING;
}

function readAws(): void {
  awsTable = awsBucket = awsQueue = awsTopic = awsFunction = awsFirstName = null;
  let seen = 0;
  if (!enterObject()) {
    do {
      const len = memberKey();
      const k = keyStart;
      let bit = 0;
      if (len === 9) {
        if (same(k, W.operation)) {
          bit = 1;
          awsOperation = optionalSharedString();
        } else if (same(k, W.queue_url)) {
          bit = 2;
          awsQueue = lateString();
        } else if (same(k, W.topic_arn)) {
          bit = 4;
          awsTopic = lateString();
        }
      } else if (len === 10 && same(k, W.table_name)) {
        bit = 8;
        awsTable = lateString();
      } else if (len === 11 && same(k, W.bucket_name)) {
        bit = 16;
        awsBucket = lateString();
      } else if (len === 13 && same(k, W.function_name)) {
        bit = 32;
        awsFunction = lateString();
      } else if (len === 14 && same(k, W.resource_names)) {
        bit = 64;
        awsFirstName = firstNameOf();
      }
      if (bit === 0) skipValue(0);
      else if (seen & bit) bail();
      else seen |= bit;
    } while (more(125));
  }
  awsResource = resourceOf();
}

/** `resource_names[0]` when the value is an array whose first element is a string. */
function firstNameOf(): string | null {
  if (ws() !== 91) {
    skipValue(0);
    return null;
  }
  pos++;
  if (ws() === 93) {
    pos++;
    return null;
  }
  let first: string | null = null;
  if (ws() === 34) first = readSharedString();
  else skipValue(1);
  while (more(93)) skipValue(1);
  return first;
}

/** The slow path's `resourceOf`: the first non-empty of the fields in order; a non-string before it bails. */
function resourceOf(): string | null {
  if (awsTable === NOT_STRING) bail();
  if (awsTable) return awsTable;
  if (awsBucket === NOT_STRING) bail();
  if (awsBucket) return awsBucket;
  if (awsQueue === NOT_STRING) bail();
  if (awsQueue) return nameOf(awsQueue, queueName);
  if (awsTopic === NOT_STRING) bail();
  if (awsTopic) return nameOf(awsTopic, topicName);
  if (awsFunction === NOT_STRING) bail();
  if (awsFunction) return nameOf(awsFunction, functionName);
  return awsFirstName ? awsFirstName : null;
}

function readSql(): void {
  let seen = 0;
  if (enterObject()) return;
  do {
    const len = memberKey();
    if (len === 3 && same(keyStart, W.url)) {
      if (seen & 1) bail();
      seen |= 1;
      sqlUrl = optionalString();
      if (sqlUrl !== null && !SCHEME_RE.test(sqlUrl)) bail();
    } else if (len === 13 && same(keyStart, W.database_type)) {
      if (seen & 2) bail();
      seen |= 2;
      sqlDatabaseType = optionalSharedString();
    } else {
      skipValue(0);
    }
  } while (more(125));
}

function readService(): void {
  let seen = false;
  if (enterObject()) return;
  do {
    const len = memberKey();
    if (len === 7 && same(keyStart, W.version)) {
      if (seen) bail();
      seen = true;
      serviceVersion = optionalSharedString();
    } else {
      skipValue(0);
    }
  } while (more(125));
}

/** `annotations` as the slow path builds it: a prototype-less record, null when empty. */
function readAnnotations(): Record<string, string> | null {
  pos++;
  if (ws() === 125) {
    pos++;
    return null;
  }
  const out: Record<string, string> = Object.create(null);
  do {
    if (ws() !== 34) bail();
    const key = readSharedString();
    expectColon();
    if (out[key] !== undefined) bail();
    const c = ws();
    let value: string;
    if (c === 34) value = readSharedString();
    else if (c === 116) {
      skipLiteral('true');
      value = 'true';
    } else if (c === 102) {
      skipLiteral('false');
      value = 'false';
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      const n = readNumber();
      if (!Number.isFinite(n)) bail();
      value = String(n);
    } else {
      return bail();
    }
    out[key] = value;
  } while (more(125));
  return out;
}

/** The cause: an object (any content) or a 16-character alphanumeric exception ID. */
function checkCause(): void {
  const c = ws();
  if (c === 123) {
    skipValue(0);
    return;
  }
  if (c !== 34) bail();
  const id = readString();
  if (id.length !== 16) bail();
  for (let i = 0; i < 16; i++) {
    const d = id.charCodeAt(i);
    if (!((d >= 48 && d <= 57) || (d >= 65 && d <= 90) || (d >= 97 && d <= 122))) bail();
  }
}

function namespaceValue(): Namespace {
  // The literals themselves, so every node shares them.
  const value = stringValue();
  if (value === 'aws') return 'aws';
  if (value === 'remote') return 'remote';
  if (value === 'local') return 'local';
  return bail();
}

// What each byte is to an id: 0 a lowercase hex digit, else flags ORed over the id's bytes.
const UPPER_HEX = 1;
const NOT_HEX = 2;
const HEX = new Uint8Array(256).fill(NOT_HEX);
for (let c = 48; c <= 57; c++) HEX[c] = 0;
for (let c = 97; c <= 102; c++) HEX[c] = 0;
for (let c = 65; c <= 70; c++) HEX[c] = UPPER_HEX;

/**
 * A 16-hex-digit id, lowercased, checked in the text before it is copied out. An id with escapes
 * or of another length bails (the slow path words its rejection, or accepts the rare escaped one).
 */
function idValue(): string {
  if (ws() !== 34) bail();
  const start = pos + 1;
  if (b[start + 16]! !== 34) bail();
  let kinds = 0;
  for (let i = start; i < start + 16; i++) kinds |= HEX[b[i]!]!;
  if (kinds & NOT_HEX) bail();
  const upper = (kinds & UPPER_HEX) !== 0;
  pos = start + 17;
  const value = src.slice(start, start + 16);
  return upper ? value.toLowerCase() : value;
}

// The last trace ID read: the documents of a trace come one after another and share one string.
let lastTraceId = '';
// Its text as it appeared (any case), to recognise the next occurrence.
let lastTraceText = new Uint8Array(0);

/** A `1-8hex-24hex` trace ID, lowercased, checked in the text; the known one is shared, not copied. */
function traceIdValue(): string {
  if (ws() !== 34) bail();
  const start = pos + 1;
  if (b[start + 35]! !== 34) bail();
  pos = start + 36;
  if (lastTraceText.length === 35 && same(start, lastTraceText)) return lastTraceId;
  if (b[start]! !== 49 || b[start + 1]! !== 45 || b[start + 10]! !== 45) bail();
  let kinds = 0;
  for (let i = start + 2; i < start + 10; i++) kinds |= HEX[b[i]!]!;
  for (let i = start + 11; i < start + 35; i++) kinds |= HEX[b[i]!]!;
  if (kinds & NOT_HEX) bail();
  const upper = (kinds & UPPER_HEX) !== 0;
  const value = src.slice(start, start + 35);
  lastTraceId = upper ? value.toLowerCase() : value;
  lastTraceText = b.slice(start, start + 35);
  return lastTraceId;
}

/** Seconds to ms, kept to whole microseconds (as document.ts does). */
function toMs(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e3;
}

/** The node whose object starts at `pos`; inherited fields are left `undefined` for `inherit`. */
function readNode(
  depth: number,
  where: LazyPointer | NodeLocation | string,
  location: SourceLocation,
): Draft {
  let seen = 0;
  let name: string | undefined;
  let id: string | undefined;
  let traceId: string | undefined;
  let parentId: string | null = null;
  let kind: SpanKind = depth === 0 ? 'segment' : 'subsegment';
  let startS = Number.NaN;
  let endS = Number.NaN;
  let inProgress = false;
  let error = false;
  let fault = false;
  let throttle = false;
  let inferred = false;
  let namespace: Namespace | null = null;
  let origin: string | undefined;
  let nodeHttpMethod: string | null = null;
  let nodeHttpUrl: string | null = null;
  let nodeHttpStatus: number | null = null;
  let nodeAwsOperation: string | null = null;
  let nodeAwsResource: string | null = null;
  let nodeSqlUrl: string | null = null;
  let nodeSqlDatabaseType: string | null = null;
  let version: string | undefined;
  let annotations: Record<string, string> | null = null;
  let children: Draft[] | null = null;

  pos++;
  if (ws() === 125) {
    pos++;
  } else {
    do {
      const key = nodeKey(memberKey());
      if (key !== K_OTHER) {
        const bit = 1 << key;
        if (seen & bit) bail();
        seen |= bit;
      }
      switch (key) {
        case K_NAME:
          name = sharedStringValue();
          if (name.length === 0 || name.length > MAX_NAME_LENGTH) bail();
          break;
        case K_ID:
          id = idValue();
          break;
        case K_TRACE_ID:
          traceId = traceIdValue();
          break;
        case K_PARENT_ID:
          parentId = idValue();
          break;
        case K_TYPE:
          // Only a top-level document's type matters; the slow path ignores it below.
          if (depth === 0) {
            if (stringValue() !== 'subsegment') bail();
            kind = 'subsegment';
          } else {
            skipValue(0);
          }
          break;
        case K_START:
          startS = epochValue();
          break;
        case K_END:
          endS = epochValue();
          break;
        case K_IN_PROGRESS:
          inProgress = booleanValue();
          break;
        case K_ERROR:
          error = booleanValue();
          break;
        case K_FAULT:
          fault = booleanValue();
          break;
        case K_THROTTLE:
          throttle = booleanValue();
          break;
        case K_INFERRED:
          inferred = booleanValue();
          break;
        case K_NAMESPACE:
          namespace = namespaceValue();
          break;
        case K_ORIGIN:
          origin = sharedStringValue();
          break;
        case K_HTTP:
          if (objectOrNull()) {
            httpMethod = httpUrl = null;
            httpStatus = null;
            readHttp();
            nodeHttpMethod = httpMethod;
            nodeHttpUrl = httpUrl;
            nodeHttpStatus = httpStatus;
          }
          break;
        case K_AWS:
          if (objectOrNull()) {
            awsOperation = awsResource = null;
            readAws();
            nodeAwsOperation = awsOperation;
            nodeAwsResource = awsResource;
          }
          break;
        case K_SQL:
          if (objectOrNull()) {
            sqlUrl = sqlDatabaseType = null;
            readSql();
            nodeSqlUrl = sqlUrl;
            nodeSqlDatabaseType = sqlDatabaseType;
          }
          break;
        case K_CAUSE:
          checkCause();
          break;
        case K_SERVICE:
          if (objectOrNull()) {
            serviceVersion = null;
            readService();
            if (serviceVersion !== null) version = serviceVersion;
          }
          break;
        case K_ANNOTATIONS:
          if (ws() === 110) skipLiteral('null');
          else if (ws() === 123) annotations = readAnnotations();
          else bail();
          break;
        case K_SUBSEGMENTS:
          children = readChildren(depth, where, location);
          break;
        default:
          skipValue(0);
      }
    } while (more(125));
  }

  if (name === undefined || id === undefined || Number.isNaN(startS)) bail();
  if (Number.isNaN(endS)) {
    if (!inProgress) bail();
  } else if (endS < startS) {
    bail();
  }
  if (parentId !== null && parentId === id) bail();

  return {
    traceId,
    id,
    // Below the top, the parent is the enclosing node whatever the document claims (set by `inherit`).
    parentId: depth === 0 ? parentId : null,
    kind,
    name,
    origin: origin !== undefined ? origin : depth === 0 ? null : undefined,
    namespace,
    startMs: toMs(startS),
    endMs: Number.isNaN(endS) ? null : toMs(endS),
    httpMethod: nodeHttpMethod,
    httpStatus: nodeHttpStatus,
    httpUrl: nodeHttpUrl,
    awsOperation: nodeAwsOperation,
    awsResource: nodeAwsResource,
    sqlUrl: nodeSqlUrl,
    sqlDatabaseType: nodeSqlDatabaseType,
    serviceVersion: version !== undefined ? version : depth === 0 ? null : undefined,
    error,
    fault,
    throttle,
    inferred,
    annotations,
    children: children ?? [],
    // Below the top, `where` is the node's own location (see readChildren).
    location: depth === 0 ? location : (where as NodeLocation),
  };
}

function readChildren(
  depth: number,
  where: LazyPointer | NodeLocation | string,
  location: SourceLocation,
): Draft[] {
  if (ws() !== 91) bail();
  pos++;
  const children: Draft[] = [];
  if (ws() === 93) {
    pos++;
    return children;
  }
  // Deep trees are left to the slow path, which also words the rejection of the deepest.
  if (depth + 1 >= MAX_NESTING / 2) bail();
  let i = 0;
  do {
    if (ws() !== 123) bail();
    children.push(readNode(depth + 1, NodeLocation.subsegment(location, where, i), location));
    i++;
  } while (more(93));
  return children;
}
