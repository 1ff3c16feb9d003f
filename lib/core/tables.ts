/**
 * One schema definition per lake table. The Parquet writer builds its Arrow schema from these
 * and the CDK app builds the Glue tables from them, so Athena and the files can never drift.
 */

/** Logical column types; each maps to one Arrow type and one Glue/Hive type. */
export type ColumnType =
  | 'string'
  | 'int32'
  | 'int64'
  | 'float64'
  | 'bool'
  | 'timestamp_ms'
  | 'binary'
  | 'list_string'
  | 'map_string_string';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  readonly description: string;
}

export type TableName = 'spans' | 'subsegment_stats' | 'regressions' | 'traces';

export interface TableDef {
  readonly name: TableName;
  readonly description: string;
  readonly columns: readonly ColumnDef[];
  /** Hive partition keys, in path order. Both are strings in Glue (`dt=YYYY-MM-DD`, `hour=HH`). */
  readonly partitionKeys: readonly ('dt' | 'hour')[];
  /** true when one window may be written as several numbered parts. */
  readonly parts: boolean;
}

const c = (name: string, type: ColumnType, nullable: boolean, description: string): ColumnDef => ({
  name,
  type,
  nullable,
  description,
});

export const SPANS: TableDef = {
  name: 'spans',
  description: 'One row per complete segment or subsegment',
  partitionKeys: ['dt', 'hour'],
  parts: true,
  columns: [
    c('trace_id', 'string', false, 'X-Ray trace ID, 1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx'),
    c('id', 'string', false, 'segment or subsegment ID (16 hex)'),
    c('parent_id', 'string', true, 'parent span ID; null at a root'),
    c('segment_id', 'string', false, 'ID of the enclosing segment'),
    c('service', 'string', false, "the enclosing segment's name"),
    c('origin', 'string', true, 'origin of the enclosing segment, e.g. AWS::Lambda::Function'),
    c('name', 'string', false, 'segment or subsegment name'),
    c('namespace', 'string', true, 'aws, remote, local or null'),
    c('kind', 'string', false, 'segment or subsegment'),
    c('path', 'string', false, "names from the segment down, joined by ' > '"),
    c('depth', 'int32', false, '0 for a segment, 1 for its direct subsegments, ...'),
    c('start_time', 'timestamp_ms', false, 'start, UTC'),
    c('end_time', 'timestamp_ms', false, 'end, UTC'),
    c('duration_ms', 'float64', false, 'end minus start, ms'),
    c('self_ms', 'float64', false, 'duration minus the union of its children intervals clamped to it, ms'),
    c('http_method', 'string', true, 'HTTP method'),
    c('http_status', 'int32', true, 'HTTP response status'),
    c('http_url', 'string', true, 'HTTP URL'),
    c('aws_operation', 'string', true, 'AWS API operation, e.g. GetItem'),
    c('aws_resource', 'string', true, 'table, bucket, queue, topic or function the call touched'),
    c('sql_url', 'string', true, 'SQL connection URL (no credentials)'),
    c('sql_database_type', 'string', true, 'SQL engine, e.g. PostgreSQL'),
    c('service_version', 'string', true, 'service.version of the enclosing segment'),
    c('error', 'bool', false, 'client error (4xx)'),
    c('fault', 'bool', false, 'server fault (5xx)'),
    c('throttle', 'bool', false, 'throttled (429)'),
    c('inferred', 'bool', false, 'segment inferred by X-Ray from a subsegment'),
    c('annotations', 'map_string_string', true, 'annotations, values as strings'),
    c('window_start', 'timestamp_ms', false, 'start of the window of the trace this span belongs to'),
  ],
};

export const SUBSEGMENT_STATS: TableDef = {
  name: 'subsegment_stats',
  description:
    'One row per window and key (service, name, aws_operation, aws_resource, kind; origin for segments)',
  partitionKeys: ['dt', 'hour'],
  parts: false,
  columns: [
    c('window_start', 'timestamp_ms', false, 'window start, UTC'),
    c('window_end', 'timestamp_ms', false, 'window end (exclusive), UTC'),
    c('key', 'string', false, 'stable key string, e.g. "orders > DynamoDB GetItem orders"'),
    c('kind', 'string', false, 'segment or subsegment'),
    c('service', 'string', false, 'service (enclosing segment name)'),
    c('name', 'string', false, 'subsegment name'),
    c('namespace', 'string', true, 'aws, remote, local or null'),
    c('aws_operation', 'string', true, 'AWS API operation'),
    c('aws_resource', 'string', true, 'AWS resource'),
    c(
      'origin',
      'string',
      true,
      "a segment's origin, part of its key (e.g. AWS::Lambda::Function); null for subsegments",
    ),
    c('count', 'int64', false, 'complete spans in the window'),
    c('error_count', 'int64', false, 'spans with error'),
    c('fault_count', 'int64', false, 'spans with fault'),
    c('throttle_count', 'int64', false, 'spans with throttle'),
    c('min_ms', 'float64', false, 'exact minimum duration'),
    c('mean_ms', 'float64', false, 'exact mean duration'),
    c('p50_ms', 'float64', false, 'median duration (sketch, <=1% relative error)'),
    c('p90_ms', 'float64', false, '90th percentile duration'),
    c('p95_ms', 'float64', false, '95th percentile duration'),
    c('p99_ms', 'float64', false, '99th percentile duration'),
    c('p999_ms', 'float64', false, '99.9th percentile duration'),
    c('max_ms', 'float64', false, 'exact maximum duration'),
    c('self_p50_ms', 'float64', false, 'median self time'),
    c('self_p99_ms', 'float64', false, '99th percentile self time'),
    c('sketch', 'binary', false, 'DDSketch of duration_ms (DataDog sketches-proto encoding)'),
    c('self_sketch', 'binary', false, 'DDSketch of self_ms'),
    c('exemplar_trace_ids', 'list_string', false, 'slowest traces for the key, then failed ones'),
    c('service_versions', 'list_string', false, 'service versions seen in the window'),
  ],
};

export const REGRESSIONS: TableDef = {
  name: 'regressions',
  description: 'One row per finding: a step change or slow drift of a percentile',
  partitionKeys: ['dt'],
  parts: false,
  columns: [
    c('window_start', 'timestamp_ms', false, 'window in which the finding was made'),
    c('key', 'string', false, 'key string as in subsegment_stats'),
    c('service', 'string', false, 'service'),
    c('name', 'string', false, 'subsegment name'),
    c('kind', 'string', false, 'step or drift'),
    c('statistic', 'string', false, 'p50, p90 or p99'),
    c('baseline_ms', 'float64', false, 'baseline value of the statistic'),
    c('current_ms', 'float64', false, 'current value of the statistic'),
    c('ratio', 'float64', false, 'current / baseline'),
    c('p_value', 'float64', false, 'p-value of the test (after false discovery control)'),
    c('severity', 'string', false, 'low, medium, high or critical'),
    c('since', 'timestamp_ms', false, 'estimated onset, UTC'),
    c('exemplar_trace_ids', 'list_string', false, 'slow traces now'),
    c('baseline_exemplar_trace_ids', 'list_string', false, 'typical traces before'),
    c('new_version', 'string', true, 'service.version first seen near the onset'),
    c('summary', 'string', false, 'one-line human summary'),
    c(
      'explained_by',
      'string',
      true,
      'key of a finding down the call tree that accounts for most of this one (null: a root cause)',
    ),
  ],
};

export const TRACES: TableDef = {
  name: 'traces',
  description: 'One row per trace',
  partitionKeys: ['dt', 'hour'],
  parts: false,
  columns: [
    c('trace_id', 'string', false, 'X-Ray trace ID'),
    c('start_time', 'timestamp_ms', false, 'earliest segment start, UTC'),
    c('duration_ms', 'float64', false, 'latest end minus earliest start, ms'),
    c('response_time_ms', 'float64', true, 'root segment duration (X-Ray ResponseTime), ms'),
    c('root_service', 'string', false, 'name of the root segment'),
    c('http_method', 'string', true, 'root HTTP method'),
    c('http_url', 'string', true, 'root HTTP URL'),
    c('http_status', 'int32', true, 'root HTTP status'),
    c('has_error', 'bool', false, 'any span with error'),
    c('has_fault', 'bool', false, 'any span with fault'),
    c('has_throttle', 'bool', false, 'any span with throttle'),
    c('annotations', 'map_string_string', true, 'annotations of all segments, values as strings'),
    c('span_count', 'int32', false, 'complete spans in the trace'),
    c('service_count', 'int32', false, 'distinct services'),
    c('is_partial', 'bool', false, 'in-progress spans were left out'),
    c('window_start', 'timestamp_ms', false, 'window of the trace start'),
  ],
};

export const TABLES: readonly TableDef[] = [SPANS, SUBSEGMENT_STATS, REGRESSIONS, TRACES];

/** Glue/Hive type of a column, for the CDK Glue tables. */
export function glueType(type: ColumnType): string {
  switch (type) {
    case 'string':
      return 'string';
    case 'int32':
      return 'int';
    case 'int64':
      return 'bigint';
    case 'float64':
      return 'double';
    case 'bool':
      return 'boolean';
    case 'timestamp_ms':
      return 'timestamp';
    case 'binary':
      return 'binary';
    case 'list_string':
      return 'array<string>';
    case 'map_string_string':
      return 'map<string,string>';
  }
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `20260101T100500Z`: the window start as it appears in object names. */
export function windowToken(windowStartMs: number): string {
  const d = new Date(windowStartMs);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(
    d.getUTCMinutes(),
  )}${pad(d.getUTCSeconds())}Z`;
}

/** The Hive partition folder of a table for a window, e.g. `spans/dt=2026-01-01/hour=10`. */
export function partitionPrefix(table: TableDef, windowStartMs: number): string {
  const d = new Date(windowStartMs);
  const dt = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  let p = `${table.name}/dt=${dt}`;
  if (table.partitionKeys.includes('hour')) p += `/hour=${pad(d.getUTCHours())}`;
  return p;
}

/**
 * The one deterministic object key of a table for a window (and part), relative to the lake root.
 *
 * @example
 * objectKey(SPANS, Date.UTC(2026, 0, 1, 10, 5), 0)
 * // => 'spans/dt=2026-01-01/hour=10/20260101T100500Z-0000.parquet'
 */
export function objectKey(table: TableDef, windowStartMs: number, part = 0): string {
  const base = `${partitionPrefix(table, windowStartMs)}/${windowToken(windowStartMs)}`;
  return table.parts ? `${base}-${pad(part, 4)}.parquet` : `${base}.parquet`;
}
