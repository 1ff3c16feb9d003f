/**
 * Classifies a raw JSON value as one of the X-Ray shapes (BatchGetTraces response, trace object,
 * segment document, independent subsegment, PutTraceSegments request, or an array of those),
 * validates every document in it and maps them to `SpanNode` trees. API responses that hold no
 * spans are recognised and set aside; values that are not X-Ray at all give `null`.
 */
import { ValidationError } from '../errors.js';
import type { DecodedRecord, Rejection, SourceLocation, SpanNode } from '../model.js';
import type { RawRecord } from '../ports.js';
import {
  aTypeName,
  type DocumentContext,
  isObject,
  type JsonObject,
  LazyPointer,
  NodeLocation,
  own,
  parseSegmentDocument,
  pointerText,
  show,
  validateSubsegmentFragment,
} from './document.js';
import { scanSegmentDocument } from './scan.js';

/** Rejected documents keep at most this many characters of their text. */
export const MAX_RAW_CHARS = 64 * 1024;

const TRACE_ID_RE = /^1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}$/;
// Arrays of arrays are unusual; a bound keeps a hostile input from recursing without end.
const MAX_ARRAY_NESTING = 4;

/** Keys that only OpenTelemetry shapes carry (OTLP JSON, aws/spans events, Logs Insights rows). */
const OTEL_KEYS = ['resourceSpans', 'scopeSpans', 'traceId', 'spanId', 'raw_otel_json', 'resource'];
/** Keys of a segment document that mark a value as X-Ray even when it is broken. */
const SEGMENT_KEYS = [
  'trace_id',
  'start_time',
  'end_time',
  'in_progress',
  'subsegments',
  'parent_id',
  'origin',
  'inferred',
  'namespace',
  'http',
  'aws',
  'sql',
  'cause',
  'annotations',
  'metadata',
  'fault',
  'throttle',
];

interface Sink {
  readonly traces: { traceId: string; nodes: SpanNode[] }[];
  readonly loose: SpanNode[];
  readonly rejections: Rejection[];
  readonly ignored: { location: SourceLocation; what: string }[];
}

/**
 * Decodes one raw record holding X-Ray data.
 *
 * Returns `null` when the value is not X-Ray-shaped at all (OpenTelemetry shapes, primitives,
 * arrays of non-objects), so that another decoder can try it. Otherwise every document is
 * validated on its own: a bad one goes whole to `rejections` and its siblings are still decoded.
 *
 * @example
 * const out = decodeXRayRecord({
 *   value: { name: 'api', id: '70de5b6f19ff9a0a', trace_id: '1-581cf771-a006649127e371903a2de979',
 *            start_time: 1478293361.271, end_time: 1478293361.449 },
 *   location: { source: 'segment.json' },
 * });
 * // out.loose[0].name === 'api'; out.rejections.length === 0
 */
export function decodeXRayRecord(record: RawRecord): DecodedRecord | null {
  const sink: Sink = { traces: [], loose: [], rejections: [], ignored: [] };
  const base = record.location.pointer ?? '';
  const recognised = decodeValue(record.value, record.location, base, sink, 0);
  return recognised ? sink : null;
}

/** Returns false when the value is not X-Ray (nothing was added to the sink). */
function decodeValue(
  value: unknown,
  location: SourceLocation,
  pointer: string,
  sink: Sink,
  nesting: number,
): boolean {
  if (Array.isArray(value)) return decodeArray(value, location, pointer, sink, nesting);
  if (!isObject(value)) return false;
  const at = (p: string): SourceLocation => withPointer(location, p);

  if (Array.isArray(own(value, 'Traces'))) {
    decodeBatchGetTraces(value, location, pointer, sink);
    return true;
  }
  if (Array.isArray(own(value, 'Segments'))) {
    decodeTrace(value, location, pointer, sink);
    return true;
  }
  const summaries = own(value, 'TraceSummaries');
  if (Array.isArray(summaries)) {
    sink.ignored.push({
      location: at(pointer),
      what: `GetTraceSummaries response (${count(summaries.length, 'trace summary', 'trace summaries')})`,
    });
    return true;
  }
  const services = own(value, 'Services');
  if (Array.isArray(services)) {
    sink.ignored.push({
      location: at(pointer),
      what: `GetServiceGraph response (${count(services.length, 'service')})`,
    });
    return true;
  }
  const unprocessed = own(value, 'UnprocessedTraceSegments');
  if (Array.isArray(unprocessed)) {
    sink.ignored.push({
      location: at(pointer),
      what: `PutTraceSegments response (${count(unprocessed.length, 'unprocessed segment')})`,
    });
    return true;
  }
  const documents = own(value, 'TraceSegmentDocuments');
  if (Array.isArray(documents)) {
    documents.forEach((doc, i) => {
      decodeDocument(
        doc,
        location,
        join(pointer, `TraceSegmentDocuments[${i}]`),
        sink,
        undefined,
        sink.loose,
      );
    });
    return true;
  }
  const wrapped = own(value, 'summary');
  if (Array.isArray(wrapped) && wrapped.every(isTraceSummary)) {
    sink.ignored.push({
      location: at(pointer),
      what: `trace summaries in a {"summary": [...]} wrapper (${wrapped.length})`,
    });
    return true;
  }
  if (isTraceSummary(value)) {
    sink.ignored.push({ location: at(pointer), what: 'GetTraceSummaries trace summary' });
    return true;
  }
  if (own(value, 'Document') !== undefined) {
    // One `Segments[]` entry on its own: `{"Id", "Document"}`.
    decodeDocument(own(value, 'Document'), location, join(pointer, 'Document'), sink, undefined, sink.loose);
    return true;
  }
  if (own(value, 'format') === 'json' && own(value, 'version') === 1 && Object.keys(value).length === 2) {
    sink.rejections.push({
      location: at(pointer),
      reason:
        'this is the X-Ray daemon UDP header {"format": "json", "version": 1}, not a segment document; only the document that follows it belongs in a trace file',
      raw: rawText(value),
    });
    return true;
  }
  if (OTEL_KEYS.some((k) => Object.hasOwn(value, k))) return false;
  if (!SEGMENT_KEYS.some((k) => Object.hasOwn(value, k)) && own(value, 'type') !== 'subsegment') return false;
  decodeDocument(value, location, pointer, sink, undefined, sink.loose);
  return true;
}

function decodeArray(
  items: unknown[],
  location: SourceLocation,
  pointer: string,
  sink: Sink,
  nesting: number,
): boolean {
  if (items.length === 0) {
    sink.ignored.push({ location: withPointer(location, pointer), what: 'empty array' });
    return true;
  }
  if (nesting >= MAX_ARRAY_NESTING) return false;
  // Where each unrecognised element's rejection belongs, so rejections stay in document order.
  const unrecognised: { index: number; at: number }[] = [];
  let any = false;
  items.forEach((item, i) => {
    if (decodeValue(item, location, `${pointer}[${i}]`, sink, nesting + 1)) any = true;
    else unrecognised.push({ index: i, at: sink.rejections.length });
  });
  if (!any) return false;
  // A mixed array: the X-Ray parts were decoded, the rest cannot be placed anywhere.
  for (const { index, at } of unrecognised.reverse()) {
    const item = items[index];
    sink.rejections.splice(at, 0, {
      location: withPointer(location, `${pointer}[${index}]`),
      reason: `${pointer}[${index}] is ${describe(item)} in an array of X-Ray documents, and is not an X-Ray document itself`,
      raw: rawText(item),
    });
  }
  return true;
}

function decodeBatchGetTraces(
  value: JsonObject,
  location: SourceLocation,
  pointer: string,
  sink: Sink,
): void {
  const traces = own(value, 'Traces') as unknown[];
  traces.forEach((trace, i) => {
    decodeBatchTrace(trace, i, location, pointer, sink);
  });
  decodeUnprocessed(value, location, pointer, sink);
}

/**
 * A BatchGetTraces response decoded one trace at a time, on demand: the pieces, concatenated,
 * are what `decodeXRayRecord` returns for the record, but each trace's objects can be dropped
 * before the next is parsed, so they die young instead of a thousand traces surviving together.
 * `null` when the record is not a BatchGetTraces response.
 *
 * @example
 * const pieces = decodeBatchGetTracesByTrace({ value: { Traces: [] }, location: { source: 'a.json' } });
 * // pieces !== null; [...pieces] holds one (empty) piece for the UnprocessedTraceIds check
 */
export function decodeBatchGetTracesByTrace(record: RawRecord): Iterable<DecodedRecord> | null {
  const value = record.value;
  if (!isObject(value) || !Array.isArray(own(value, 'Traces'))) return null;
  const traces = own(value, 'Traces') as unknown[];
  const location = record.location;
  const pointer = location.pointer ?? '';
  return (function* () {
    for (let i = 0; i < traces.length; i++) {
      const sink: Sink = { traces: [], loose: [], rejections: [], ignored: [] };
      decodeBatchTrace(traces[i], i, location, pointer, sink);
      yield sink;
    }
    const sink: Sink = { traces: [], loose: [], rejections: [], ignored: [] };
    decodeUnprocessed(value, location, pointer, sink);
    yield sink;
  })();
}

function decodeBatchTrace(
  trace: unknown,
  i: number,
  location: SourceLocation,
  pointer: string,
  sink: Sink,
): void {
  const p = new LazyPointer(pointer, '.', 'Traces', i);
  if (!isObject(trace) || !Array.isArray(own(trace, 'Segments'))) {
    sink.rejections.push({
      location: withPointer(location, p.text),
      reason: `${p.text} is ${describe(trace)}, not a trace with a Segments array`,
      raw: rawText(trace),
    });
    return;
  }
  decodeTrace(trace, location, p, sink);
}

function decodeUnprocessed(value: JsonObject, location: SourceLocation, pointer: string, sink: Sink): void {
  const unprocessed = own(value, 'UnprocessedTraceIds');
  if (Array.isArray(unprocessed) && unprocessed.length > 0) {
    const ids = unprocessed.filter((id) => typeof id === 'string').join(', ');
    sink.ignored.push({
      location: withPointer(location, join(pointer, 'UnprocessedTraceIds')),
      what: `BatchGetTraces UnprocessedTraceIds: ${count(unprocessed.length, 'trace')} not returned (${ids})`,
    });
  }
}

function decodeTrace(
  trace: JsonObject,
  location: SourceLocation,
  at: LazyPointer | string,
  sink: Sink,
): void {
  const segments = own(trace, 'Segments') as unknown[];
  const rawId = own(trace, 'Id');
  const traceId = typeof rawId === 'string' && TRACE_ID_RE.test(rawId) ? rawId.toLowerCase() : undefined;
  if (rawId !== undefined && traceId === undefined) {
    const pointer = pointerText(at);
    sink.rejections.push({
      location: withPointer(location, join(pointer, 'Id')),
      reason: `trace${pointer ? ` (${pointer})` : ''}: Id ${show(rawId)} is not an X-Ray trace ID (1-8 hex-24 hex); its documents are checked against their own trace_id`,
      raw: rawText(rawId),
    });
  }
  const nodes: SpanNode[] = [];
  segments.forEach((entry, i) => {
    const p = new LazyPointer(at, '.', 'Segments', i);
    if (isObject(entry) && Object.hasOwn(entry, 'Document')) {
      decodeDocument(
        own(entry, 'Document'),
        location,
        new LazyPointer(p, '.', 'Document', -1),
        sink,
        traceId,
        nodes,
      );
    } else {
      // Some tools store bare segment documents in `Segments[]` instead of {Id, Document}.
      decodeDocument(entry, location, p, sink, traceId, nodes);
    }
  });
  if (nodes.length === 0) return;
  if (traceId !== undefined) {
    sink.traces.push({ traceId, nodes });
  } else {
    // Without a usable wrapper Id the nodes are grouped by their own trace_id later.
    sink.loose.push(...nodes);
  }
}

/** Decodes one segment document (object, or JSON text as the X-Ray API returns it) into `into`. */
function decodeDocument(
  doc: unknown,
  location: SourceLocation,
  at: LazyPointer | string,
  sink: Sink,
  expectedTraceId: string | undefined,
  into: SpanNode[],
): void {
  let value = doc;
  if (typeof doc === 'string') {
    // Most documents are plainly valid: read them without building their object tree. Anything
    // the scanner is not sure of (including every rejection) takes the path below.
    const fast = scanSegmentDocument(doc, documentContext(location, at, expectedTraceId));
    if (fast !== null) {
      into.push(fast);
      return;
    }
    try {
      value = JSON.parse(doc);
    } catch (err) {
      sink.rejections.push({
        location: plainLocation(location, at),
        reason: `${pointerText(at) || 'Document'} is not valid JSON: ${(err as Error).message}`,
        raw: truncateRaw(doc),
      });
      return;
    }
  }
  try {
    if (
      isObject(value) &&
      own(value, 'trace_id') === undefined &&
      own(value, 'type') === undefined &&
      own(value, 'parent_id') === undefined &&
      expectedTraceId === undefined &&
      own(value, 'start_time') !== undefined &&
      !isSegmentLike(value)
    ) {
      // The embedded-subsegment form found on its own (documentation samples): valid, but it
      // names no trace to join, so it is checked and set aside.
      const where = plainLocation(location, at);
      validateSubsegmentFragment(value, where);
      sink.ignored.push({
        location: where,
        what: 'subsegment without trace_id or parent_id (the embedded form): it names no trace to join',
      });
      return;
    }
    into.push(parseSegmentDocument(value, documentContext(location, at, expectedTraceId)));
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    sink.rejections.push({
      location: plainLocation(location, at),
      reason: err.message,
      raw: typeof doc === 'string' ? truncateRaw(doc) : rawText(doc),
    });
  }
}

/** The plain location of a rejection; a valid node gets a lazy one. */
function plainLocation(location: SourceLocation, at: LazyPointer | string): SourceLocation {
  return withPointer(location, pointerText(at));
}

/** One shape for every context (an absent trace Id reads as undefined), so reads of it stay monomorphic. */
function documentContext(
  location: SourceLocation,
  at: LazyPointer | string,
  expectedTraceId: string | undefined,
): DocumentContext {
  return typeof at === 'string'
    ? { location: plainLocation(location, at), at: undefined, expectedTraceId }
    : { location: new NodeLocation(location, at), at, expectedTraceId };
}

/** Fields only a segment (never an embedded subsegment) carries; their presence means "segment". */
function isSegmentLike(doc: JsonObject): boolean {
  return ['origin', 'service', 'user', 'resource_arn', 'inferred'].some((k) => Object.hasOwn(doc, k));
}

function isTraceSummary(value: unknown): boolean {
  return (
    isObject(value) &&
    typeof own(value, 'Id') === 'string' &&
    (own(value, 'ResponseTime') !== undefined ||
      own(value, 'HasError') !== undefined ||
      own(value, 'EntryPoint') !== undefined)
  );
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (isObject(value)) return 'an object';
  return `${aTypeName(value)} ${show(value)}`;
}

function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

function join(pointer: string, part: string): string {
  return pointer ? `${pointer}.${part}` : part;
}

function withPointer(location: SourceLocation, pointer: string): SourceLocation {
  return pointer ? { ...location, pointer } : location;
}

/** The JSON text of a rejected value, bounded; a value too deep to serialize says so instead. */
function rawText(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch (err) {
    text = `(not serializable: ${(err as Error).message})`;
  }
  return truncateRaw(text);
}

function truncateRaw(text: string): string {
  return text.length > MAX_RAW_CHARS ? `${text.slice(0, MAX_RAW_CHARS)}…` : text;
}
