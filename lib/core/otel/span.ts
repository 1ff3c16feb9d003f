/**
 * One OpenTelemetry span (an `aws/spans` event or an OTLP/JSON span) mapped to a `SpanNode`, the
 * shape X-Ray documents also become, so both sources fill the same rows and keys. The rules and
 * their sources are tabled in docs/otel-mapping.md.
 */
import { functionName, queueName, topicName } from '../aws-names.js';
import type { Namespace, SourceLocation, SpanKind, SpanNode } from '../model.js';
import { readSpanId, readTraceId } from './ids.js';
import {
  type Attributes,
  attributesOf,
  boolAttr,
  firstString,
  isObject,
  type JsonObject,
  nanosToMs,
  numberAttr,
  stringAttr,
  toNumber,
} from './values.js';

/** OpenTelemetry span kinds; `UNSPECIFIED` is read as `INTERNAL`, as the OTel spec allows. */
export type OtelKind = 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';

/** What became of one span-like object. */
export type SpanOutcome =
  | { readonly type: 'span'; readonly node: SpanNode; readonly spanKind: OtelKind }
  | { readonly type: 'rejected'; readonly reason: string }
  | { readonly type: 'ignored'; readonly what: string };

const KIND_BY_NUMBER: readonly OtelKind[] = [
  'INTERNAL',
  'INTERNAL',
  'SERVER',
  'CLIENT',
  'PRODUCER',
  'CONSUMER',
];

/** `cloud.platform` to X-Ray `origin`, after the awsxray exporter (plus Lambda, which X-Ray names). */
const ORIGIN_BY_PLATFORM: Readonly<Record<string, string>> = {
  aws_ec2: 'AWS::EC2::Instance',
  aws_ecs: 'AWS::ECS::Container',
  aws_eks: 'AWS::EKS::Container',
  aws_elastic_beanstalk: 'AWS::ElasticBeanstalk::Environment',
  aws_app_runner: 'AWS::AppRunner::Service',
  aws_lambda: 'AWS::Lambda::Function',
  aws_api_gateway: 'AWS::ApiGateway::Stage',
};

/**
 * Maps one span-like object to a `SpanNode`, or says why it is not one.
 *
 * `resource` holds the resource attributes from the enclosing OTLP `resourceSpans` entry; an
 * `aws/spans` event carries its own `resource.attributes`, which take precedence.
 *
 * Segment or subsegment: the `_aws.xray.type` of data converted from X-Ray when present; else a
 * `SERVER` span, an `aws.span.kind = LOCAL_ROOT` span or a span without a parent is a segment
 * (the service's entry point) and every other span is a subsegment.
 *
 * @example
 * const out = mapOtelSpan(
 *   { traceId: '687fef146c953a381404ee3a4b2b69f5', spanId: '0dac6942eb7c7c51', name: 'GET /get', kind: 'SERVER',
 *     startTimeUnixNano: 1753214740792999936, endTimeUnixNano: 1753214740868999936,
 *     resource: { attributes: { 'service.name': 'gateway' } } },
 *   {}, { source: 'spans.json' });
 * // out.type === 'span'; out.node.kind === 'segment'; out.node.name === 'gateway'
 */
export function mapOtelSpan(span: JsonObject, resource: Attributes, location: SourceLocation): SpanOutcome {
  const xray = xrayBlock(span);
  if (xray.type === 'decorator') return { type: 'ignored', what: 'X-Ray span-link decorator (not a span)' };

  const rawName = typeof span.name === 'string' ? span.name : null;
  const who = rawName ? `span "${rawName}"` : 'span';
  if (isLogRecord(span)) {
    return {
      type: 'rejected',
      reason: 'an OpenTelemetry log record (timeUnixNano, severity, body), not a span',
    };
  }

  const traceId = readTraceId(span.traceId);
  if (!traceId.ok) return { type: 'rejected', reason: `${who}: ${traceId.problem}` };
  const spanId = readSpanId(span.spanId, 'spanId');
  if (!spanId.ok) return { type: 'rejected', reason: `${who}: ${spanId.problem}` };
  const parent = readParent(span.parentSpanId);
  if (parent !== null && typeof parent === 'object')
    return { type: 'rejected', reason: `${who} ${spanId.id}: ${parent.problem}` };
  const id = `${who} ${spanId.id}`;
  if (rawName === null) return { type: 'rejected', reason: `${id}: name is missing or not a string` };

  const spanKind = readKind(span.kind);
  if (spanKind === null)
    return { type: 'rejected', reason: `${id}: kind ${JSON.stringify(span.kind)} is not a span kind` };

  const times = readTimes(span, span.attributes);
  if (typeof times === 'string') return { type: 'rejected', reason: `${id}: ${times}` };

  const attrs = attributesOf(span.attributes);
  const res =
    isObject(span.resource) && 'attributes' in span.resource
      ? attributesOf(span.resource.attributes)
      : resource;
  const localRoot = stringAttr(attrs, 'aws.span.kind') === 'LOCAL_ROOT';
  const kind: SpanKind =
    xray.type === 'segment' || xray.type === 'subsegment'
      ? xray.type
      : spanKind === 'SERVER' || localRoot || parent === null
        ? 'segment'
        : 'subsegment';

  const service = stringAttr(attrs, 'aws.local.service') ?? stringAttr(res, 'service.name');
  const awsApi = stringAttr(attrs, 'rpc.system') === 'aws-api';
  const name =
    xray.name ??
    (kind === 'segment' ? (service ?? rawName) : subsegmentName(attrs, spanKind, awsApi, rawName));
  if (name === '') return { type: 'rejected', reason: `${id}: name is empty` };

  const httpStatus = numberAttr(attrs, 'http.response.status_code', 'http.status_code');
  const flags = failureFlags(attrs, httpStatus, statusCode(span.status), exceptionTypes(span.events));
  const node: SpanNode = {
    traceId: traceId.id,
    id: spanId.id,
    parentId: parent,
    kind,
    name,
    // Data converted from X-Ray keeps X-Ray's segment name as its service, so the keys match the X-Ray API's.
    ...(kind === 'segment' && xray.name === null && service !== null && service !== name ? { service } : {}),
    origin: kind === 'segment' ? origin(attrs, res) : null,
    namespace: kind === 'segment' ? null : (xray.namespace ?? namespaceOf(attrs, spanKind, awsApi)),
    startMs: times.startMs,
    endMs: times.endMs,
    httpMethod: stringAttr(attrs, 'http.request.method', 'http.method'),
    httpStatus: httpStatus === null ? null : Math.trunc(httpStatus),
    httpUrl: httpUrl(attrs),
    awsOperation: awsOperation(attrs, awsApi),
    awsResource: awsResource(attrs),
    sqlUrl: stringAttr(attrs, 'db.connection_string'),
    sqlDatabaseType: stringAttr(attrs, 'db.system.name', 'db.system'),
    serviceVersion: stringAttr(res, 'service.version'),
    ...flags,
    inferred: false,
    annotations: annotations(attrs),
    children: [],
    location,
  };
  return { type: 'span', node, spanKind };
}

interface XrayBlock {
  readonly type: string | null;
  readonly name: string | null;
  readonly namespace: Namespace | null;
}

function xrayBlock(span: JsonObject): XrayBlock {
  const aws = isObject(span._aws) ? span._aws : null;
  const xray = aws && isObject(aws.xray) ? aws.xray : null;
  if (!xray) return { type: null, name: null, namespace: null };
  const ns = xray.namespace;
  return {
    type: typeof xray.type === 'string' ? xray.type : null,
    name: typeof xray.name === 'string' && xray.name !== '' ? xray.name : null,
    namespace: ns === 'aws' || ns === 'remote' || ns === 'local' ? ns : null,
  };
}

function isLogRecord(span: JsonObject): boolean {
  const logFields =
    'timeUnixNano' in span || 'severityNumber' in span || 'severityText' in span || 'body' in span;
  return logFields && !('startTimeUnixNano' in span) && !('kind' in span);
}

/** null for a root, the id, or the problem. OTLP writes a root's parent as absent or `""`. */
function readParent(value: unknown): string | null | { problem: string } {
  if (value === undefined || value === null || value === '') return null;
  const parent = readSpanId(value, 'parentSpanId');
  if (parent.ok) return parent.id;
  return /all zeros/.test(parent.problem) ? null : { problem: parent.problem };
}

function readKind(value: unknown): OtelKind | null {
  if (value === undefined || value === null) return 'INTERNAL';
  if (typeof value === 'number') return Number.isInteger(value) ? (KIND_BY_NUMBER[value] ?? null) : null;
  if (typeof value !== 'string') return null;
  const k = value.toUpperCase().replace(/^SPAN_KIND_/, '');
  if (k === 'UNSPECIFIED') return 'INTERNAL';
  return (['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const).find((x) => x === k) ?? null;
}

/**
 * Start and end in epoch ms, or the problem. The end is start + `durationNano` when present, so a
 * duration takes one float64 rounding instead of two independent roundings of 19-digit numbers.
 */
function readTimes(span: JsonObject, rawAttrs: unknown): { startMs: number; endMs: number | null } | string {
  if (span.startTimeUnixNano === undefined || span.startTimeUnixNano === null)
    return 'startTimeUnixNano is missing';
  const startMs = nanosToMs(span.startTimeUnixNano);
  if (startMs === null || startMs <= 0) {
    return `startTimeUnixNano ${JSON.stringify(span.startTimeUnixNano)} is not a positive nanosecond count`;
  }
  const inProgress =
    span.endTimeUnixNano === null || boolAttr(attributesOf(rawAttrs), 'aws.xray.inprogress') === true;
  if (inProgress) return { startMs, endMs: null };
  const duration = toNumber(span.durationNano);
  if (span.durationNano !== undefined && (duration === null || duration < 0)) {
    return `durationNano ${JSON.stringify(span.durationNano)} is not a non-negative nanosecond count`;
  }
  if (duration !== null) return { startMs, endMs: startMs + duration / 1e6 };
  if (span.endTimeUnixNano === undefined) return 'endTimeUnixNano is missing (and no durationNano)';
  const endMs = nanosToMs(span.endTimeUnixNano);
  if (endMs === null || endMs <= 0) {
    return `endTimeUnixNano ${JSON.stringify(span.endTimeUnixNano)} is not a positive nanosecond count`;
  }
  if (endMs < startMs)
    return `ends before it starts (end ${endMs.toFixed(3)} ms < start ${startMs.toFixed(3)} ms)`;
  return { startMs, endMs };
}

type StatusCode = 'UNSET' | 'OK' | 'ERROR';

/**
 * AWS error codes that mean "throttled": AWS answers most of them with HTTP 400, not 429, so
 * X-Ray's SDKs flag throttling from the error code; OTel carries it as an `exception` event.
 */
const THROTTLING_ERRORS = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);

function isThrottling(exceptionType: string): boolean {
  // Types may be qualified: `botocore.errorfactory.ProvisionedThroughputExceededException`.
  return THROTTLING_ERRORS.has(exceptionType.slice(exceptionType.lastIndexOf('.') + 1));
}

/** `exception.type` of the span's `exception` events. */
function exceptionTypes(events: unknown): string[] {
  if (!Array.isArray(events)) return [];
  const types: string[] = [];
  for (const event of events) {
    if (!isObject(event) || event.name !== 'exception') continue;
    const type = stringAttr(attributesOf(event.attributes), 'exception.type');
    if (type) types.push(type);
  }
  return types;
}

function statusCode(status: unknown): StatusCode {
  const code = isObject(status) ? status.code : undefined;
  if (code === 2 || code === 'ERROR' || code === 'STATUS_CODE_ERROR') return 'ERROR';
  if (code === 1 || code === 'OK' || code === 'STATUS_CODE_OK') return 'OK';
  return 'UNSET';
}

/**
 * The X-Ray flags when the span carries them (converted data); else from the HTTP status as X-Ray
 * itself does (429 or an AWS throttling error: error + throttle, 4xx error, 5xx fault), and an
 * ERROR status without a 4xx/5xx status is a fault.
 */
function failureFlags(
  attrs: Attributes,
  httpStatus: number | null,
  status: StatusCode,
  exceptions: readonly string[],
): { error: boolean; fault: boolean; throttle: boolean } {
  const error = boolAttr(attrs, 'aws.xray.error');
  const fault = boolAttr(attrs, 'aws.xray.fault');
  const throttle = boolAttr(attrs, 'aws.xray.throttle');
  if (error !== null || fault !== null || throttle !== null) {
    return { error: error ?? false, fault: fault ?? false, throttle: throttle ?? false };
  }
  if (httpStatus !== null && httpStatus >= 400 && httpStatus <= 499) {
    return { error: true, fault: false, throttle: httpStatus === 429 || exceptions.some(isThrottling) };
  }
  if (httpStatus !== null && httpStatus >= 500 && httpStatus <= 599)
    return { error: false, fault: true, throttle: false };
  return { error: false, fault: status === 'ERROR', throttle: false };
}

/** After the awsxray exporter's naming rules for dependency calls; INTERNAL spans keep their name. */
function subsegmentName(attrs: Attributes, kind: OtelKind, awsApi: boolean, spanName: string): string {
  if (kind === 'INTERNAL' || kind === 'SERVER') return spanName;
  const remote = stringAttr(attrs, 'aws.remote.service');
  if (remote) return awsApi ? remote.replace(/^(AWS::|AWS\.SDK\.)/, '') : remote;
  const named = stringAttr(attrs, 'peer.service', 'aws.service');
  if (named) return named;
  const db = stringAttr(attrs, 'db.name', 'db.namespace');
  if (db) {
    const host = stringAttr(attrs, 'server.address', 'net.peer.name');
    return host ? `${db}@${host}` : db;
  }
  return stringAttr(attrs, 'rpc.service', 'server.address', 'http.host', 'net.peer.name') ?? spanName;
}

function namespaceOf(attrs: Attributes, kind: OtelKind, awsApi: boolean): Namespace | null {
  if (awsApi) return 'aws';
  if (kind === 'CLIENT' || kind === 'PRODUCER') return 'remote';
  if (kind === 'CONSUMER' && stringAttr(attrs, 'aws.remote.service')) return 'remote';
  return null;
}

function origin(attrs: Attributes, res: Attributes): string | null {
  return (
    stringAttr(attrs, 'aws.xray.origin') ??
    originOfPlatform(stringAttr(res, 'cloud.platform'), stringAttr(res, 'aws.ecs.launchtype'))
  );
}

/**
 * The X-Ray origin a resource's `cloud.platform` stands for (part of a segment's key), or null.
 *
 * @example originOfPlatform('aws_ecs', 'FARGATE') // => 'AWS::ECS::Fargate'
 */
export function originOfPlatform(
  platform: string | null,
  ecsLaunchType: string | null = null,
): string | null {
  if (platform === 'aws_ecs') {
    const launch = ecsLaunchType?.toLowerCase();
    if (launch === 'ec2') return 'AWS::ECS::EC2';
    if (launch === 'fargate') return 'AWS::ECS::Fargate';
  }
  return platform ? (ORIGIN_BY_PLATFORM[platform] ?? null) : null;
}

function awsOperation(attrs: Attributes, awsApi: boolean): string | null {
  return (
    stringAttr(attrs, 'aws.operation', 'rpc.method') ??
    (awsApi ? stringAttr(attrs, 'aws.remote.operation') : null)
  );
}

/**
 * The resource an AWS call touched, in X-Ray's terms so keys match the X-Ray decoder's: a queue by
 * its name (last part of the URL), a topic by its name (last part of the ARN), a function by name.
 */
function awsResource(attrs: Attributes): string | null {
  const table =
    firstString(attrs, 'aws.dynamodb.table_names') ?? stringAttr(attrs, 'aws.table_name', 'aws.table.name');
  if (table) return table;
  const bucket = stringAttr(attrs, 'aws.s3.bucket', 'aws.bucket_name');
  if (bucket) return bucket;
  const queue = stringAttr(attrs, 'aws.sqs.queue.url', 'aws.queue_url', 'aws.queue.url');
  if (queue) return queueName(queue);
  const topic = stringAttr(attrs, 'aws.sns.topic.arn', 'aws.topic_arn');
  if (topic) return topicName(topic);
  const fn = stringAttr(attrs, 'aws.function_name', 'aws.lambda.function.name', 'faas.invoked_name');
  if (fn) return functionName(fn);
  return stringAttr(
    attrs,
    'aws.kinesis.stream_name',
    'aws.stream.name',
    'messaging.destination.name',
    'aws.remote.resource.identifier',
  );
}

function httpUrl(attrs: Attributes): string | null {
  const full = stringAttr(attrs, 'url.full', 'http.url');
  if (full) return full;
  const scheme = stringAttr(attrs, 'url.scheme', 'http.scheme');
  const host = stringAttr(attrs, 'server.address', 'http.host');
  const target = stringAttr(attrs, 'http.target') ?? pathAndQuery(attrs);
  return scheme && host && target ? `${scheme}://${host}${target}` : null;
}

function pathAndQuery(attrs: Attributes): string | null {
  const path = stringAttr(attrs, 'url.path');
  if (!path) return null;
  const query = stringAttr(attrs, 'url.query');
  return query ? `${path}?${query}` : path;
}

/**
 * Annotations are the attributes that X-Ray-converted data lists in `aws.xray.annotation_keys`, or
 * that the awsxray exporter's `aws.xray.annotations` attribute names; values are written as strings.
 */
function annotations(attrs: Attributes): Record<string, string> | null {
  const keys = [attrs['aws.xray.annotation_keys'], attrs['aws.xray.annotations']].flatMap((v) =>
    Array.isArray(v) ? v.filter((k): k is string => typeof k === 'string') : typeof v === 'string' ? [v] : [],
  );
  // No prototype: an annotation may be named "__proto__".
  const out: Record<string, string> = Object.create(null);
  for (const key of keys) {
    const v = attrs[key];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = String(v);
  }
  return Object.keys(out).length > 0 ? out : null;
}
