/**
 * The demo traffic as OpenTelemetry spans, for `tracelake demo --format otel`: the generator's
 * X-Ray traces converted to CloudWatch Transaction Search `aws/spans` events (as X-Ray-converted
 * spans look in that log group, `_aws.xray` block included) or to OTLP/JSON (as an OpenTelemetry
 * SDK would export them: semantic conventions only). The converters are pure; `writeOtelDemo`
 * writes files.
 *
 * What has no OpenTelemetry counterpart is left out, as Transaction Search leaves it out:
 * segments X-Ray infers for AWS services (`inferred: true`), and in OTLP the spans still in
 * progress (an SDK exports a span only when it ends).
 */
import { mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, LakeError } from '../core/errors.js';
import { DEFAULT_WINDOW_MS, windowStart } from '../core/model.js';
import { fromXrayTraceId } from '../core/otel/ids.js';
import { originOfPlatform } from '../core/otel/span.js';
import { type DemoOptions, generateTraces, resolveDemoOptions, type SegmentDocument } from './generate.js';
import type { DemoManifest } from './write.js';

export type OtelDemoFormat = 'aws-spans' | 'otlp';

type Json = Record<string, unknown>;

/** What the conversion of one trace gives. */
export interface OtelConversion<T> {
  /** `aws/spans` events, or one OTLP `TracesData` (null when no span was left). */
  readonly output: T;
  /** Documents that were not JSON to begin with, passed on as text (they must be rejected). */
  readonly unparsable: string[];
  /** Complete spans written. */
  readonly completeSpans: number;
  /** In-progress spans written (`aws/spans` only). */
  readonly inProgressSpans: number;
  /** Inferred segments and (OTLP) in-progress spans, which have no OpenTelemetry counterpart. */
  readonly dropped: number;
}

/** The demo manifest with what the OpenTelemetry files hold. */
export interface OtelDemoManifest extends DemoManifest {
  readonly format: OtelDemoFormat;
  /** Span records written (events or OTLP spans), broken ones included. */
  readonly spans: number;
  /** Inferred segments and, for OTLP, in-progress spans, left out. */
  readonly droppedSpans: number;
}

/** One X-Ray segment or subsegment, placed in its trace. */
interface XSpan {
  readonly doc: SegmentDocument;
  /** The top-level document holding it (itself for a segment). */
  readonly top: SegmentDocument;
  readonly traceId: string;
  readonly parentId: string | null;
  readonly isSegment: boolean;
  readonly kind: 'SERVER' | 'CLIENT' | 'INTERNAL';
}

const KIND_NUMBER = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

const PLATFORM_BY_ORIGIN: Readonly<Record<string, string>> = {
  'AWS::Lambda::Function': 'aws_lambda',
  'AWS::ECS::Container': 'aws_ecs',
  'AWS::EKS::Container': 'aws_eks',
  'AWS::EC2::Instance': 'aws_ec2',
  'AWS::ApiGateway::Stage': 'aws_api_gateway',
};

/**
 * Converts one trace's X-Ray documents to `aws/spans` events, one per span, the way CloudWatch
 * stores X-Ray data in that log group: `_aws.xray` keeps the X-Ray name, namespace and type;
 * `aws.xray.error/fault/throttle` the flags; in-progress spans have `endTimeUnixNano: null`.
 *
 * @example
 * const [trace] = generateTraces({ seed: 1, hours: 0.01 });
 * const { output } = toAwsSpanEvents(trace.segments);
 * // output[0]._aws.xray.type === 'segment'
 */
export function toAwsSpanEvents(segments: readonly (SegmentDocument | string)[]): OtelConversion<Json[]> {
  const { spans, unparsable, inferred } = placeSpans(segments);
  const output: Json[] = [];
  let complete = 0;
  let inProgress = 0;
  for (const s of spans) {
    const times = timesOf(s.doc);
    if (times.endNs === null) inProgress++;
    else complete++;
    const attributes = attributesOf(s, 'aws-spans');
    if (times.endNs === null) attributes['aws.xray.inprogress'] = true;
    const event: Json = {
      resource: { attributes: resourceOf(s.top) },
      traceId: s.traceId,
      spanId: s.doc.id,
      ...(s.parentId ? { parentSpanId: s.parentId } : {}),
      name: spanName(s),
      kind: s.kind,
      startTimeUnixNano: times.startNs === null ? null : Number(times.startNs),
      endTimeUnixNano: times.endNs === null ? null : Number(times.endNs),
      ...(times.durationNs !== null ? { durationNano: Number(times.durationNs) } : {}),
      attributes,
      status: statusOf(s.doc, 'aws-spans'),
      _aws: {
        xray: {
          name: s.doc.name,
          ...(typeof s.doc.namespace === 'string' ? { namespace: s.doc.namespace } : {}),
          type: s.isSegment ? 'segment' : 'subsegment',
        },
      },
    };
    const events = exceptionEvents(s.doc, times.endNs, 'aws-spans');
    if (events.length > 0) event.events = events;
    output.push(event);
  }
  return { output, unparsable, completeSpans: complete, inProgressSpans: inProgress, dropped: inferred };
}

/**
 * Converts one trace's X-Ray documents to an OTLP/JSON `TracesData`: one `resourceSpans` entry per
 * segment (its service), ids in hex, times as decimal nanosecond strings, enums as numbers, and
 * only semantic-convention attributes, as an OpenTelemetry SDK exports them.
 *
 * @example
 * const [trace] = generateTraces({ seed: 1, hours: 0.01 });
 * const { output } = toOtlpTracesData(trace.segments);
 * // output?.resourceSpans[0].scopeSpans[0].spans[0].kind === 2
 */
export function toOtlpTracesData(
  segments: readonly (SegmentDocument | string)[],
): OtelConversion<{ resourceSpans: Json[] } | null> {
  const { spans, unparsable, inferred } = placeSpans(segments);
  const byTop = new Map<SegmentDocument, Json[]>();
  let complete = 0;
  let dropped = inferred;
  for (const s of spans) {
    const times = timesOf(s.doc);
    if (times.endNs === null) {
      dropped++;
      continue;
    }
    complete++;
    const span: Json = {
      traceId: s.traceId,
      spanId: s.doc.id,
      ...(s.parentId ? { parentSpanId: s.parentId } : {}),
      name: spanName(s),
      kind: KIND_NUMBER[s.kind],
      startTimeUnixNano: times.startNs === null ? undefined : String(times.startNs),
      endTimeUnixNano: String(times.endNs),
      attributes: keyValues(attributesOf(s, 'otlp')),
      status: statusOf(s.doc, 'otlp'),
    };
    const events = exceptionEvents(s.doc, times.endNs, 'otlp');
    if (events.length > 0) span.events = events;
    let list = byTop.get(s.top);
    if (!list) {
      list = [];
      byTop.set(s.top, list);
    }
    list.push(span);
  }
  const resourceSpans = [...byTop].map(([top, list]) => ({
    resource: { attributes: keyValues(resourceOf(top)) },
    scopeSpans: [{ scope: { name: 'tracelake.demo', version: '1' }, spans: list }],
  }));
  return {
    output: resourceSpans.length > 0 ? { resourceSpans } : null,
    unparsable,
    completeSpans: complete,
    inProgressSpans: 0,
    dropped,
  };
}

/**
 * Generates the demo traffic into `dir` as OpenTelemetry files, one per 5-minute window:
 * `aws-spans-<window>.ndjson` (one `aws/spans` event per line) or `otlp-<window>.jsonl` (one
 * OTLP `TracesData` per trace and line, as the Collector's file exporter writes). Earlier demo
 * files there are removed first; `manifest.json` is written beside.
 *
 * @example
 * const manifest = await writeOtelDemo('.tracelake/demo/otel', { seed: 1, hours: 1 }, 'aws-spans');
 * @throws ConfigError on a bad option; LakeError when the folder cannot be written.
 */
export async function writeOtelDemo(
  dir: string,
  options: DemoOptions,
  format: OtelDemoFormat,
): Promise<OtelDemoManifest> {
  if (format !== 'aws-spans' && format !== 'otlp') {
    throw new ConfigError(`demo format must be "aws-spans" or "otlp", got ${JSON.stringify(format)}`);
  }
  const resolved = resolveDemoOptions(options);
  try {
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(dir)) {
      if (/^(aws-spans|otlp)-\d{8}T\d{4}Z\.(ndjson|jsonl)$/.test(name) || name === 'manifest.json') {
        await rm(path.join(dir, name));
      }
    }
  } catch (error) {
    throw new LakeError(`cannot prepare the demo folder ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const counts = { traces: 0, documents: 0, spans: 0, complete: 0, inProgress: 0, broken: 0, dropped: 0 };
  const files: string[] = [];
  let current: { window: number; handle: Awaited<ReturnType<typeof open>>; buffer: string } | null = null;
  const flush = async (): Promise<void> => {
    if (current && current.buffer.length > 0) {
      await current.handle.write(current.buffer);
      current.buffer = '';
    }
  };
  try {
    for (const trace of generateTraces(options)) {
      const window = windowStart(trace.startMs, DEFAULT_WINDOW_MS);
      if (current === null || current.window !== window) {
        await flush();
        await current?.handle.close();
        const name = otelDemoFileName(window, format);
        current = { window, handle: await open(path.join(dir, name), 'w'), buffer: '' };
        files.push(name);
      }
      const lines: string[] = [];
      let spanCount = 0;
      // A broken document becomes one bad span: its subsegments would be valid spans on their own.
      const segments =
        trace.brokenDocuments > 0
          ? trace.segments.map((d) => (typeof d === 'string' ? d : { ...d, subsegments: undefined }))
          : trace.segments;
      if (format === 'aws-spans') {
        const out = toAwsSpanEvents(segments);
        for (const event of out.output) lines.push(JSON.stringify(event));
        spanCount = out.output.length;
        tally(counts, out, trace.brokenDocuments);
        lines.push(...out.unparsable);
      } else {
        const out = toOtlpTracesData(segments);
        if (out.output) lines.push(JSON.stringify(out.output));
        spanCount = out.completeSpans;
        tally(counts, out, trace.brokenDocuments);
        lines.push(...out.unparsable);
      }
      counts.traces++;
      counts.documents += lines.length;
      counts.spans += spanCount;
      if (lines.length > 0) current.buffer += `${lines.join('\n')}\n`;
      if (current.buffer.length >= 1 << 20) await flush();
    }
    await flush();
    await current?.handle.close();
    current = null;
  } catch (error) {
    await current?.handle.close().catch(() => undefined);
    throw new LakeError(`cannot write the demo spans to ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const manifest: OtelDemoManifest = {
    format,
    files,
    traces: counts.traces,
    documents: counts.documents,
    spans: counts.spans,
    completeSpans: counts.complete,
    inProgressSpans: counts.inProgress,
    brokenDocuments: counts.broken,
    droppedSpans: counts.dropped,
    windows: files.length,
    startMs: resolved.startMs,
    endMs: resolved.endMs,
    seed: resolved.seed,
    requestsPerSecond: resolved.requestsPerSecond,
    regression: resolved.regression,
  };
  await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * The file name for a window: `aws-spans-20260115T0805Z.ndjson` or `otlp-20260115T0805Z.jsonl`.
 *
 * @example otelDemoFileName(Date.UTC(2026, 0, 15, 8, 5), 'otlp') === 'otlp-20260115T0805Z.jsonl'
 */
export function otelDemoFileName(windowStartMs: number, format: OtelDemoFormat): string {
  const iso = new Date(windowStartMs).toISOString();
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
  return format === 'aws-spans' ? `aws-spans-${stamp}.ndjson` : `otlp-${stamp}.jsonl`;
}

function tally(
  counts: { complete: number; inProgress: number; broken: number; dropped: number },
  out: OtelConversion<unknown>,
  broken: number,
): void {
  // A broken trace's documents are broken on purpose: they count as broken, not as spans.
  if (broken > 0) {
    counts.broken += broken;
    return;
  }
  counts.complete += out.completeSpans;
  counts.inProgress += out.inProgressSpans;
  counts.dropped += out.dropped;
}

/** Every span of the trace with its place: parent, enclosing segment, OTel kind. */
function placeSpans(segments: readonly (SegmentDocument | string)[]): {
  spans: XSpan[];
  unparsable: string[];
  inferred: number;
} {
  const spans: XSpan[] = [];
  const unparsable: string[] = [];
  let inferred = 0;
  const walk = (
    doc: SegmentDocument,
    top: SegmentDocument,
    traceId: string,
    parentId: string | null,
    isSegment: boolean,
  ) => {
    const namespace = doc.namespace;
    const kind = isSegment ? 'SERVER' : namespace === 'aws' || namespace === 'remote' ? 'CLIENT' : 'INTERNAL';
    spans.push({ doc, top, traceId, parentId, isSegment, kind });
    const children = Array.isArray(doc.subsegments) ? doc.subsegments : [];
    for (const child of children) {
      if (isRecord(child)) walk(child, top, traceId, stringOr(doc.id), false);
    }
  };
  for (const doc of segments) {
    if (typeof doc === 'string') {
      unparsable.push(doc);
      continue;
    }
    if (doc.inferred === true) {
      inferred++;
      continue;
    }
    const xrayId = stringOr(doc.trace_id) ?? '';
    const traceId = fromXrayTraceId(xrayId) ?? xrayId;
    walk(doc, doc, traceId, stringOr(doc.parent_id), doc.type !== 'subsegment');
  }
  return { spans, unparsable, inferred };
}

/** Nanosecond times from X-Ray's float seconds, through whole microseconds (X-Ray's precision). */
function timesOf(doc: SegmentDocument): {
  startNs: bigint | null;
  endNs: bigint | null;
  durationNs: bigint | null;
} {
  const startUs = typeof doc.start_time === 'number' ? Math.round(doc.start_time * 1e6) : null;
  const endUs =
    typeof doc.end_time === 'number' && doc.in_progress !== true ? Math.round(doc.end_time * 1e6) : null;
  const startNs = startUs === null ? null : BigInt(startUs) * 1000n;
  const endNs = endUs === null ? null : BigInt(endUs) * 1000n;
  const durationNs = startNs !== null && endNs !== null && endNs >= startNs ? endNs - startNs : null;
  return { startNs, endNs, durationNs };
}

/** The operation-style span name OpenTelemetry instrumentations give. */
function spanName(s: XSpan): string {
  const name = stringOr(s.doc.name) ?? '';
  const request = objectAt(s.doc, 'http', 'request');
  if (s.isSegment) {
    const method = stringOr(request?.method);
    const url = stringOr(request?.url);
    return method && url ? `${method} ${pathOf(url)}` : name;
  }
  const operation = stringOr(objectAt(s.doc, 'aws')?.operation);
  if (s.doc.namespace === 'aws' && operation) return `${name}.${operation}`;
  const method = stringOr(request?.method);
  return s.doc.namespace === 'remote' && method ? method : name;
}

function resourceOf(top: SegmentDocument): Json {
  const attrs: Json = { 'service.name': top.name, 'telemetry.sdk.language': 'nodejs' };
  const version = stringOr(objectAt(top, 'service')?.version);
  if (version) attrs['service.version'] = version;
  const origin = stringOr(top.origin);
  const platform = origin ? PLATFORM_BY_ORIGIN[origin] : undefined;
  if (platform) {
    attrs['cloud.provider'] = 'aws';
    attrs['cloud.platform'] = platform;
  }
  return attrs;
}

/**
 * Semantic-convention attributes for one span; `aws-spans` adds what CloudWatch writes for data
 * converted from X-Ray (old HTTP keys beside the new ones, `aws.*` and `aws.xray.*`).
 */
function attributesOf(s: XSpan, style: OtelDemoFormat): Json {
  const { doc } = s;
  const a: Json = {};
  const request = objectAt(doc, 'http', 'request');
  const response = objectAt(doc, 'http', 'response');
  const method = stringOr(request?.method);
  const url = stringOr(request?.url);
  const status = typeof response?.status === 'number' ? response.status : null;
  if (method) a['http.request.method'] = method;
  if (url) a['url.full'] = url;
  if (status !== null) a['http.response.status_code'] = status;
  if (style === 'aws-spans') {
    if (method) a['http.method'] = method;
    if (url) a['http.url'] = url;
    if (status !== null) a['http.status_code'] = status;
  }

  const name = stringOr(doc.name) ?? '';
  const aws = objectAt(doc, 'aws');
  if (!s.isSegment && doc.namespace === 'aws') {
    a['rpc.system'] = 'aws-api';
    a['rpc.service'] = name;
    const operation = stringOr(aws?.operation);
    if (operation) {
      a['rpc.method'] = operation;
      if (style === 'aws-spans') a['aws.operation'] = operation;
    }
    const region = stringOr(aws?.region);
    if (region) a['cloud.region'] = region;
  }
  if (aws && !s.isSegment) {
    const table = stringOr(aws.table_name);
    if (table) a['aws.dynamodb.table_names'] = [table];
    const bucket = stringOr(aws.bucket_name);
    if (bucket) a['aws.s3.bucket'] = bucket;
    const queue = stringOr(aws.queue_url);
    if (queue) a['aws.sqs.queue.url'] = queue;
    const topic = stringOr(aws.topic_arn);
    if (topic) a['aws.sns.topic.arn'] = topic;
    const fn = stringOr(aws.function_name);
    if (fn) a[style === 'aws-spans' ? 'aws.function_name' : 'faas.invoked_name'] = fn;
  }
  const requestId = stringOr(aws?.request_id);
  if (requestId) a['aws.request_id'] = requestId;

  if (!s.isSegment && doc.namespace === 'remote') {
    const sql = objectAt(doc, 'sql');
    const host = url ? hostOf(url) : null;
    if (sql) {
      const at = name.indexOf('@');
      const dbType = stringOr(sql.database_type);
      if (dbType) a['db.system'] = dbType.toLowerCase();
      const sqlUrl = stringOr(sql.url);
      if (sqlUrl) a['db.connection_string'] = sqlUrl;
      const query = stringOr(sql.sanitized_query);
      if (query) a['db.query.text'] = query;
      if (at > 0) {
        a['db.name'] = name.slice(0, at);
        a['server.address'] = name.slice(at + 1);
      } else {
        a['peer.service'] = name;
      }
    } else if (host === name) {
      a['server.address'] = host;
    } else {
      a['peer.service'] = name;
    }
  }

  const annotations = objectAt(doc, 'annotations');
  if (annotations) {
    const keys = Object.keys(annotations);
    for (const key of keys) a[key] = annotations[key];
    a[style === 'aws-spans' ? 'aws.xray.annotation_keys' : 'aws.xray.annotations'] = keys;
  }
  const origin = stringOr(doc.origin);
  // An origin no `cloud.platform` stands for (the Lambda service's own segment) is spelled out.
  if (
    s.isSegment &&
    origin &&
    style === 'otlp' &&
    originOfPlatform(PLATFORM_BY_ORIGIN[origin] ?? null) !== origin
  ) {
    a['aws.xray.origin'] = origin;
  }
  if (style === 'aws-spans') {
    a['aws.xray.error'] = doc.error === true;
    a['aws.xray.fault'] = doc.fault === true;
    a['aws.xray.throttle'] = doc.throttle === true;
    if (s.isSegment && origin) a['aws.xray.origin'] = origin;
  }
  return a;
}

function statusOf(doc: SegmentDocument, style: OtelDemoFormat): Json {
  const failed = doc.fault === true || doc.error === true;
  const message = stringOr(firstException(doc)?.message);
  if (!failed) return style === 'aws-spans' ? { code: 'UNSET' } : {};
  const code = style === 'aws-spans' ? 'ERROR' : 2;
  return message ? { code, message } : { code };
}

function exceptionEvents(doc: SegmentDocument, endNs: bigint | null, style: OtelDemoFormat): Json[] {
  const cause = objectAt(doc, 'cause');
  const exceptions = Array.isArray(cause?.exceptions) ? cause.exceptions.filter(isRecord) : [];
  return exceptions.map((e) => {
    const attributes: Json = {};
    const type = stringOr(e.type);
    const message = stringOr(e.message);
    if (type) attributes['exception.type'] = type;
    if (message) attributes['exception.message'] = message;
    return style === 'aws-spans'
      ? { name: 'exception', timeUnixNano: endNs === null ? null : Number(endNs), attributes }
      : {
          name: 'exception',
          timeUnixNano: endNs === null ? undefined : String(endNs),
          attributes: keyValues(attributes),
        };
  });
}

function firstException(doc: SegmentDocument): Json | undefined {
  const cause = objectAt(doc, 'cause');
  return Array.isArray(cause?.exceptions) ? cause.exceptions.find(isRecord) : undefined;
}

/** A plain attribute map as OTLP `KeyValue`s. */
function keyValues(attrs: Json): Json[] {
  const out: Json[] = [];
  for (const [key, value] of Object.entries(attrs)) {
    const v = anyValueOf(value);
    if (v) out.push({ key, value: v });
  }
  return out;
}

function anyValueOf(value: unknown): Json | null {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) {
    return { arrayValue: { values: value.map(anyValueOf).filter((v): v is Json => v !== null) } };
  }
  return null;
}

function objectAt(doc: Json, ...keys: string[]): Json | undefined {
  let cur: unknown = doc;
  for (const key of keys) cur = isRecord(cur) ? cur[key] : undefined;
  return isRecord(cur) ? cur : undefined;
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOr(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname;
  } catch {
    return null;
  }
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
