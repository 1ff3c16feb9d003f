/**
 * The OpenTelemetry decoder: recognizes every container spans arrive in (an `aws/spans` event,
 * arrays of them, Logs Insights result rows, CloudWatch Logs subscription envelopes as Firehose
 * delivers them, `GetLogEvents` responses, OTLP/JSON `TracesData`) and maps each span with
 * `mapOtelSpan`. Bad spans are rejected one by one; their good siblings are kept.
 */
import type { DecodedRecord, Rejection, SourceLocation, SpanNode } from '../model.js';
import type { RawRecord } from '../ports.js';
import { mapOtelSpan } from './span.js';
import { type Attributes, attributesOf, isObject, type JsonObject } from './values.js';

/** How deep containers may nest (array of rows of envelopes of …) before we stop looking. */
const MAX_DEPTH = 8;

/**
 * Decodes one raw record holding OpenTelemetry spans. Returns null when the value is not
 * OpenTelemetry-shaped at all, so the caller can report it as unrecognized (the pipeline tries the
 * X-Ray decoder first, then this one).
 *
 * All spans go to `loose`: an OTel trace is spread over many records, so the pipeline groups them
 * by trace ID and links them with `linkTrace`. Within one record a span ID seen twice keeps its
 * complete copy over an in-progress one; two complete copies are a duplicate, and the second is
 * rejected.
 *
 * @example
 * const out = decodeOtelRecord({ value: { resourceSpans: [] }, location: { source: 'a.json' } });
 * // out => { traces: [], loose: [], rejections: [], ignored: [] }
 * decodeOtelRecord({ value: { Traces: [] }, location: { source: 'b.json' } }); // => null
 */
export function decodeOtelRecord(record: RawRecord): DecodedRecord | null {
  if (!looksOtel(record.value, 0)) return null;
  const acc = new Accumulator(record.location);
  visit(record.value, '', {}, acc, 0);
  return acc.result();
}

/** Whether `value` is, or directly holds, an OpenTelemetry-shaped object. */
function looksOtel(value: unknown, depth: number): boolean {
  if (depth > 2) return false;
  if (Array.isArray(value)) return value.some((v) => looksOtel(v, depth + 1));
  if (!isObject(value)) return false;
  return containerKind(value) !== null;
}

type Container =
  | 'otlp-traces'
  | 'otlp-other'
  | 'snake-case'
  | 'cwl-envelope'
  | 'log-events'
  | 'insights-row'
  | 'span-like';

function containerKind(o: JsonObject): Container | null {
  if (Array.isArray(o.resourceSpans)) return 'otlp-traces';
  if ('resourceLogs' in o || 'resourceMetrics' in o) return 'otlp-other';
  if ('resource_spans' in o || 'span_id' in o || ('trace_id' in o && !('id' in o) && !('start_time' in o))) {
    return 'snake-case';
  }
  if (typeof o.messageType === 'string' && ('logEvents' in o || o.messageType === 'CONTROL_MESSAGE')) {
    return 'cwl-envelope';
  }
  if ('raw_otel_json' in o || '@message' in o) return 'insights-row';
  if ('traceId' in o || 'spanId' in o) return 'span-like';
  if (
    Array.isArray(o.events) &&
    o.events.length > 0 &&
    o.events.every((e) => isObject(e) && 'message' in e)
  ) {
    return 'log-events';
  }
  return null;
}

class Accumulator {
  readonly loose: SpanNode[] = [];
  readonly rejections: Rejection[] = [];
  readonly ignored: { location: SourceLocation; what: string }[] = [];
  /** `traceId/spanId` -> index in `loose`. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly base: SourceLocation) {}

  at(pointer: string): SourceLocation {
    return pointer === ''
      ? this.base
      : {
          ...this.base,
          pointer: this.base.pointer ? `${this.base.pointer}${pointer}` : pointer.replace(/^\./, ''),
        };
  }

  reject(pointer: string, reason: string, raw: unknown): void {
    this.rejections.push({
      location: this.at(pointer),
      reason,
      raw: typeof raw === 'string' ? raw : safeStringify(raw),
    });
  }

  ignore(pointer: string, what: string): void {
    this.ignored.push({ location: this.at(pointer), what });
  }

  add(pointer: string, node: SpanNode, raw: unknown): void {
    const key = `${node.traceId}/${node.id}`;
    const at = this.seen.get(key);
    const earlier = at === undefined ? undefined : this.loose[at];
    if (at === undefined || earlier === undefined) {
      this.seen.set(key, this.loose.length);
      this.loose.push(node);
      return;
    }
    if (earlier.endMs === null && node.endMs !== null) {
      this.loose[at] = node;
      this.ignored.push({
        location: earlier.location,
        what: `in-progress copy of span ${node.id}, replaced by its complete copy`,
      });
    } else if (node.endMs === null) {
      this.ignore(pointer, `in-progress copy of span ${node.id}, superseded by another copy`);
    } else {
      this.reject(
        pointer,
        `span "${node.name}" ${node.id}: duplicate span ID in trace ${node.traceId} (first copy kept)`,
        raw,
      );
    }
  }

  result(): DecodedRecord {
    return { traces: [], loose: this.loose, rejections: this.rejections, ignored: this.ignored };
  }
}

function visit(value: unknown, pointer: string, resource: Attributes, acc: Accumulator, depth: number): void {
  if (depth > MAX_DEPTH) {
    acc.reject(pointer, 'nested too deeply to be OpenTelemetry spans', value);
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) visit(v, `${pointer}[${i}]`, resource, acc, depth + 1);
    return;
  }
  if (!isObject(value)) {
    acc.reject(pointer, `a JSON ${value === null ? 'null' : typeof value}, not an OpenTelemetry span`, value);
    return;
  }
  switch (containerKind(value)) {
    case 'otlp-traces':
      visitTracesData(value, pointer, acc);
      break;
    case 'otlp-other':
      acc.reject(pointer, 'OTLP logs or metrics (resourceLogs/resourceMetrics), not traces', value);
      break;
    case 'snake-case':
      acc.reject(
        pointer,
        'uses protobuf field names (trace_id, span_id, resource_spans); OTLP/JSON keys are lowerCamelCase (traceId)',
        value,
      );
      break;
    case 'cwl-envelope':
      visitEnvelope(value, pointer, acc, depth);
      break;
    case 'log-events':
      visitMessages(value.events as unknown[], `${pointer}.events`, acc, depth);
      break;
    case 'insights-row':
      visitInsightsRow(value, pointer, acc, depth);
      break;
    case 'span-like':
      visitSpan(value, pointer, resource, acc);
      break;
    default:
      acc.reject(pointer, 'not an OpenTelemetry span (no traceId or spanId)', value);
  }
}

function visitSpan(span: JsonObject, pointer: string, resource: Attributes, acc: Accumulator): void {
  const out = mapOtelSpan(span, resource, acc.at(pointer));
  if (out.type === 'span') acc.add(pointer, out.node, span);
  else if (out.type === 'ignored') acc.ignore(pointer, out.what);
  else acc.reject(pointer, out.reason, span);
}

function visitTracesData(data: JsonObject, pointer: string, acc: Accumulator): void {
  const resourceSpans = data.resourceSpans as unknown[];
  for (const [i, rs] of resourceSpans.entries()) {
    const rsPtr = `${pointer}.resourceSpans[${i}]`;
    if (!isObject(rs)) {
      acc.reject(rsPtr, 'resourceSpans entry is not an object', rs);
      continue;
    }
    // An OTLP span carries no resource of its own: it gets the enclosing entry's.
    const resource = isObject(rs.resource) ? attributesOf(rs.resource.attributes) : {};
    // `instrumentationLibrarySpans` is the pre-1.0 name of `scopeSpans`; old exporters still write it.
    const key = Array.isArray(rs.scopeSpans) ? 'scopeSpans' : 'instrumentationLibrarySpans';
    const scopes = rs[key];
    if (!Array.isArray(scopes)) {
      acc.reject(rsPtr, 'resourceSpans entry has no scopeSpans list', rs);
      continue;
    }
    for (const [j, ss] of scopes.entries()) {
      const ssPtr = `${rsPtr}.${key}[${j}]`;
      if (!isObject(ss) || !Array.isArray(ss.spans)) {
        acc.reject(ssPtr, `${key} entry has no spans list`, ss);
        continue;
      }
      for (const [k, span] of ss.spans.entries()) {
        const spanPtr = `${ssPtr}.spans[${k}]`;
        if (isObject(span)) visitSpan(span, spanPtr, resource, acc);
        else acc.reject(spanPtr, 'span is not an object', span);
      }
    }
  }
}

function visitEnvelope(envelope: JsonObject, pointer: string, acc: Accumulator, depth: number): void {
  if (envelope.messageType === 'CONTROL_MESSAGE') {
    acc.ignore(pointer, 'CloudWatch Logs control message');
  } else if (envelope.messageType !== 'DATA_MESSAGE') {
    acc.reject(
      pointer,
      `CloudWatch Logs messageType "${envelope.messageType}" is not DATA_MESSAGE`,
      envelope,
    );
  } else if (!Array.isArray(envelope.logEvents)) {
    acc.reject(pointer, 'CloudWatch Logs logEvents is not a list', envelope);
  } else {
    visitMessages(envelope.logEvents, `${pointer}.logEvents`, acc, depth);
  }
}

/** Log events (`{id?, timestamp, message}`) whose `message` is one span event as JSON text. */
function visitMessages(events: unknown[], pointer: string, acc: Accumulator, depth: number): void {
  for (const [i, event] of events.entries()) {
    const ptr = `${pointer}[${i}]`;
    if (isObject(event)) visitEmbedded(event.message, `${ptr}.message`, acc, depth);
    else acc.reject(ptr, 'log event is not an object', event);
  }
}

function visitInsightsRow(row: JsonObject, pointer: string, acc: Accumulator, depth: number): void {
  const key = 'raw_otel_json' in row ? 'raw_otel_json' : '@message';
  visitEmbedded(row[key], `${pointer}.${key}`, acc, depth);
}

/** A span event embedded as an object or as JSON text. */
function visitEmbedded(value: unknown, pointer: string, acc: Accumulator, depth: number): void {
  if (typeof value !== 'string') {
    visit(value, pointer, {}, acc, depth + 1);
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    acc.reject(pointer, `message is not JSON (${e instanceof Error ? e.message : String(e)})`, value);
    return;
  }
  visit(parsed, pointer, {}, acc, depth + 1);
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
