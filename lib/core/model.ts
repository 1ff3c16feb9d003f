/**
 * The domain model shared by every part of tracelake: the normalized span tree that sources
 * produce, and the rows of the four lake tables. Pure types and tiny pure helpers only.
 */

/** Where a document came from, so a rejection can say "file x, line 12, Traces[3].Segments[1]". */
export interface SourceLocation {
  /** A file path, an `s3://` URL or an API call such as `xray:BatchGetTraces`. */
  readonly source: string;
  /** 1-based line in an NDJSON file (absent for whole-file JSON). */
  readonly line?: number;
  /** A JSON path inside the file or line, e.g. `Traces[0].Segments[2].Document`. */
  readonly pointer?: string;
}

/** A document set aside: it did not parse or did not validate. */
export interface Rejection {
  readonly location: SourceLocation;
  /** One sentence a person understands, e.g. `segment "api": id "xyz" is not 16 hex digits`. */
  readonly reason: string;
  /** The offending text (truncated to a bounded size by whoever stores it). */
  readonly raw: string;
}

export type Namespace = 'aws' | 'remote' | 'local';
export type SpanKind = 'segment' | 'subsegment';

/**
 * One validated, normalized span: an X-Ray segment or subsegment, or an OpenTelemetry span, in
 * the one shape the flattener understands. Times are epoch milliseconds (float, sub-ms kept).
 */
export interface SpanNode {
  /** X-Ray form `1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx`. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly id: string;
  /** The id of the span this one hangs under (for a segment: the calling subsegment), or null. */
  readonly parentId: string | null;
  readonly kind: SpanKind;
  readonly name: string;
  /** For a segment: the service it belongs to when it differs from `name` (OTel `service.name`). */
  readonly service?: string;
  readonly origin: string | null;
  readonly namespace: Namespace | null;
  readonly startMs: number;
  /** null while in progress. */
  readonly endMs: number | null;
  readonly httpMethod: string | null;
  readonly httpStatus: number | null;
  readonly httpUrl: string | null;
  readonly awsOperation: string | null;
  /** Table, bucket, queue, topic, function… */
  readonly awsResource: string | null;
  readonly sqlUrl: string | null;
  readonly sqlDatabaseType: string | null;
  /** `service.version` of the enclosing segment, when known. */
  readonly serviceVersion: string | null;
  readonly error: boolean;
  readonly fault: boolean;
  readonly throttle: boolean;
  readonly inferred: boolean;
  readonly annotations: Readonly<Record<string, string>> | null;
  /** Nested subsegments (embedded, or independent ones attached by id). */
  readonly children: SpanNode[];
  readonly location: SourceLocation;
}

/** A row of the `spans` table. Times are epoch ms; durations float ms. */
export interface SpanRow {
  trace_id: string;
  id: string;
  parent_id: string | null;
  segment_id: string;
  service: string;
  origin: string | null;
  name: string;
  namespace: Namespace | null;
  kind: SpanKind;
  path: string;
  depth: number;
  start_time: number;
  end_time: number;
  duration_ms: number;
  self_ms: number;
  http_method: string | null;
  http_status: number | null;
  http_url: string | null;
  aws_operation: string | null;
  aws_resource: string | null;
  sql_url: string | null;
  sql_database_type: string | null;
  service_version: string | null;
  error: boolean;
  fault: boolean;
  throttle: boolean;
  inferred: boolean;
  annotations: Record<string, string> | null;
  /** Start of the window the row belongs to (the window of its trace's start). Epoch ms. */
  window_start: number;
}

/** A row of the `traces` table. */
export interface TraceRow {
  trace_id: string;
  start_time: number;
  duration_ms: number;
  response_time_ms: number | null;
  root_service: string;
  http_method: string | null;
  http_url: string | null;
  http_status: number | null;
  has_error: boolean;
  has_fault: boolean;
  has_throttle: boolean;
  annotations: Record<string, string> | null;
  span_count: number;
  service_count: number;
  /** true when the trace held in-progress spans that were left out. */
  is_partial: boolean;
  window_start: number;
}

/** A row of the `subsegment_stats` table: one per window and key. */
export interface StatsRow {
  window_start: number;
  window_end: number;
  key: string;
  kind: SpanKind;
  service: string;
  name: string;
  namespace: Namespace | null;
  aws_operation: string | null;
  aws_resource: string | null;
  /** A segment's origin (part of its key); null for subsegments. */
  origin: string | null;
  count: number;
  error_count: number;
  fault_count: number;
  throttle_count: number;
  min_ms: number;
  mean_ms: number;
  p50_ms: number;
  p90_ms: number;
  p95_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  self_p50_ms: number;
  self_p99_ms: number;
  /** Serialized DDSketch of `duration_ms` (protobuf, DataDog sketches-proto layout). */
  sketch: Uint8Array;
  /** Serialized DDSketch of `self_ms`. */
  self_sketch: Uint8Array;
  /** Slowest traces of the window for the key, then failed ones. */
  exemplar_trace_ids: string[];
  /** Service versions seen in the window for the key. */
  service_versions: string[];
}

export type RegressionKind = 'step' | 'drift';
export type RegressionStatistic = 'p50' | 'p90' | 'p99';

/** A row of the `regressions` table: one per finding. */
export interface RegressionRow {
  window_start: number;
  key: string;
  service: string;
  name: string;
  kind: RegressionKind;
  statistic: RegressionStatistic;
  baseline_ms: number;
  current_ms: number;
  ratio: number;
  p_value: number;
  severity: 'low' | 'medium' | 'high' | 'critical';
  /** Estimated onset, epoch ms. */
  since: number;
  exemplar_trace_ids: string[];
  baseline_exemplar_trace_ids: string[];
  /** A `service.version` first seen near the onset, if any. */
  new_version: string | null;
  /** Human summary, e.g. `p99 of orders > DynamoDB GetItem rose 2.1x since 14:05 UTC`. */
  summary: string;
  /**
   * The key of a finding further down the call tree, in the same window and statistic, that
   * accounts for most of this one: this key got slower because something it calls did. null (or
   * absent) for a root cause. Set by `attributeFindings` (lib/core/attribution.ts).
   */
  explained_by?: string | null;
}

/**
 * The parts of a key, as in DESIGN.md: (service, name, aws_operation, aws_resource) + kind. A
 * segment's key also holds its origin, because one service commonly has two segments of the same
 * name with different meaning: Lambda's `AWS::Lambda` (the service, with queueing and retries) and
 * `AWS::Lambda::Function` (the function) segments; mixing them would blur both distributions.
 */
export interface KeyParts {
  readonly kind: SpanKind;
  readonly service: string;
  readonly name: string;
  readonly awsOperation: string | null;
  readonly awsResource: string | null;
  /** Segments only (ignored for subsegments): `AWS::Lambda::Function`, `AWS::EC2::Instance`… */
  readonly origin?: string | null;
}

/**
 * The stable string form of a key, used in `subsegment_stats.key`, `regressions.key` and as the
 * CloudWatch `Subsegment` dimension (with the service dropped, since `Service` is its own dimension).
 *
 * @example
 * keyOf({ kind: 'subsegment', service: 'orders', name: 'DynamoDB', awsOperation: 'GetItem', awsResource: 'orders' })
 * // => 'orders > DynamoDB GetItem orders'
 * keyOf({ kind: 'segment', service: 'orders', name: 'orders', awsOperation: null, awsResource: null, origin: 'AWS::Lambda::Function' })
 * // => 'orders [AWS::Lambda::Function]'
 * keyOf({ kind: 'segment', service: 'orders', name: 'orders', awsOperation: null, awsResource: null })
 * // => 'orders [segment]'
 */
export function keyOf(parts: KeyParts): string {
  if (parts.kind === 'segment') {
    const tag = subsegmentLabel(parts);
    return parts.name === parts.service
      ? `${parts.service} ${tag}`
      : `${parts.service} > ${parts.name} ${tag}`;
  }
  return `${parts.service} > ${subsegmentLabel(parts)}`;
}

/**
 * The key of a span row: its key parts, with the origin only for segments.
 *
 * @example spanKey(row) === 'orders-api > DynamoDB Query orders'
 */
export function spanKey(row: SpanRow): string {
  return keyOf({
    kind: row.kind,
    service: row.service,
    name: row.name,
    awsOperation: row.aws_operation,
    awsResource: row.aws_resource,
    origin: row.kind === 'segment' ? row.origin : null,
  });
}

/**
 * The key without its service: the CloudWatch `Subsegment` dimension value. For a segment, its
 * origin in brackets (`[AWS::Lambda::Function]`), or `[segment]` when it has none.
 */
export function subsegmentLabel(parts: KeyParts): string {
  if (parts.kind === 'segment') return `[${parts.origin || 'segment'}]`;
  let label = parts.name;
  if (parts.awsOperation) label += ` ${parts.awsOperation}`;
  if (parts.awsResource) label += ` ${parts.awsResource}`;
  return label;
}

/** Five minutes, the default window. */
export const DEFAULT_WINDOW_MS = 5 * 60 * 1000;

/**
 * The start of the UTC-aligned window holding `timeMs`.
 *
 * @example windowStart(Date.UTC(2026, 0, 1, 10, 7), 300_000) === Date.UTC(2026, 0, 1, 10, 5)
 */
export function windowStart(timeMs: number, windowMs: number = DEFAULT_WINDOW_MS): number {
  return Math.floor(timeMs / windowMs) * windowMs;
}

/**
 * What a decoder (X-Ray or OpenTelemetry) makes of one raw record. Nodes are validated but not
 * yet linked across documents: `linkTrace` (lib/core/flatten.ts) does that per trace.
 */
export interface DecodedRecord {
  /** Complete traces (a BatchGetTraces `Traces[]` entry, a trace object): all their nodes. */
  readonly traces: { readonly traceId: string; readonly nodes: SpanNode[] }[];
  /** Nodes whose trace may continue in other records (bare segments, NDJSON lines, OTel spans). */
  readonly loose: SpanNode[];
  readonly rejections: Rejection[];
  /** Recognized documents that hold no spans (GetServiceGraph, PutTraceSegments responses…). */
  readonly ignored: { readonly location: SourceLocation; readonly what: string }[];
}
