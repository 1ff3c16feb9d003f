/**
 * Validation of one X-Ray segment document (a segment, an independent subsegment, or an embedded
 * subsegment tree) against the published segment document schema, and its mapping to `SpanNode`.
 * https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html
 */
import { functionName, queueName, topicName } from '../aws-names.js';
import { ValidationError } from '../errors.js';
import type { Namespace, SourceLocation, SpanKind, SpanNode } from '../model.js';

/** Deeper subsegment trees are rejected: X-Ray SDKs never nest this far, and recursion stays bounded. */
export const MAX_NESTING = 64;

const MAX_NAME_LENGTH = 200;
const ID_RE = /^[0-9a-fA-F]{16}$/;
const TRACE_ID_RE = /^1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}$/;
// X-Ray documents a 16-character exception ID here; real SDKs (and the OTel receiver's fixtures)
// send non-hex characters too, so only the length and an alphanumeric alphabet are checked.
const EXCEPTION_ID_RE = /^[0-9A-Za-z]{16}$/;
// Epoch seconds between 2000-01-01 and 2100-01-01: catches milliseconds or garbage sent as seconds.
const MIN_EPOCH_S = 946_684_800;
const MAX_EPOCH_S = 4_102_444_800;
const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** A plain JSON object, as `JSON.parse` returns it. */
export type JsonObject = { readonly [key: string]: unknown };

/**
 * True for a JSON object (not an array, not null).
 *
 * @example isObject({}) === true; isObject([]) === false
 */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Own-property read, so keys such as `__proto__` or `constructor` never reach the prototype.
 *
 * @example own({}, 'constructor') === undefined
 */
export function own(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** What the enclosing context hands down to a document or an embedded subsegment. */
interface Inherited {
  readonly traceId: string;
  readonly origin: string | null;
  readonly serviceVersion: string | null;
  readonly parentId: string;
}

/**
 * A JSON pointer whose text is built only when asked for (a rejection, a test): most documents are
 * valid, and a string per document and per subsegment was a measurable part of decoding.
 *
 * @example
 * const at = new LazyPointer(new LazyPointer('', '.', 'Traces', 0), '.', 'Segments', 2);
 * at.text === 'Traces[0].Segments[2]'
 */
export class LazyPointer {
  private cached: string | undefined;

  /** `index < 0` appends the field alone; `sep` is left out when the prefix is empty. */
  constructor(
    private readonly up: LazyPointer | string,
    private readonly sep: string,
    private readonly field: string,
    private readonly index: number,
  ) {}

  get text(): string {
    if (this.cached === undefined) {
      const prefix = typeof this.up === 'string' ? this.up : this.up.text;
      const part = this.index < 0 ? this.field : `${this.field}[${this.index}]`;
      this.cached = prefix ? `${prefix}${this.sep}${part}` : part;
    }
    return this.cached;
  }
}

/**
 * Where a node sits: the record's location with a pointer built on first read. Reads as the
 * plain `{ ...location, pointer }` it stands for.
 */
export class NodeLocation implements SourceLocation {
  readonly source: string;
  readonly line?: number;
  readonly #base: SourceLocation;
  readonly #at: LazyPointer | NodeLocation | string;
  // >= 0: this is `subsegments[#index]` below `#at` (one object instead of a location and a pointer).
  readonly #index: number;
  #text: string | undefined;

  constructor(base: SourceLocation, at: LazyPointer | NodeLocation | string, index = -1) {
    this.source = base.source;
    if (base.line !== undefined) this.line = base.line;
    this.#base = base;
    this.#at = at;
    this.#index = index;
  }

  /**
   * The location of subsegment `index` of the node at `up`, as
   * `new NodeLocation(base, new LazyPointer(up, ' > ', 'subsegments', index))` reads.
   */
  static subsegment(
    base: SourceLocation,
    up: LazyPointer | NodeLocation | string,
    index: number,
  ): NodeLocation {
    return new NodeLocation(base, up, index);
  }

  /** The pointer within the record, as `LazyPointer.text` builds it (children build on it). */
  get text(): string {
    if (this.#text === undefined) {
      const at = this.#at;
      const prefix = typeof at === 'string' ? at : at.text;
      this.#text =
        this.#index < 0
          ? prefix
          : prefix
            ? `${prefix} > subsegments[${this.#index}]`
            : `subsegments[${this.#index}]`;
    }
    return this.#text;
  }

  get pointer(): string | undefined {
    return this.text || this.#base.pointer;
  }

  toJSON(): SourceLocation {
    const pointer = this.pointer;
    return pointer === undefined ? { ...this.#base } : { ...this.#base, pointer };
  }
}

/** The text of a pointer that may still be lazy. */
export function pointerText(at: LazyPointer | string): string {
  return typeof at === 'string' ? at : at.text;
}

/** How a top-level document is being read. */
export interface DocumentContext {
  readonly location: SourceLocation;
  /** The location's pointer, when it is still lazy (then `location` is a `NodeLocation` of it). */
  readonly at?: LazyPointer;
  /** The trace the document must belong to (a trace wrapper's `Id`), when known. */
  readonly expectedTraceId?: string;
}

/**
 * Validates a top-level segment document or independent subsegment and maps it, with its embedded
 * subsegments, to a `SpanNode` tree. Throws `ValidationError` whose message is one sentence naming
 * the entity, where it sits, the field and the bad value.
 *
 * @example
 * const node = parseSegmentDocument(
 *   { name: 'api', id: '70de5b6f19ff9a0a', trace_id: '1-581cf771-a006649127e371903a2de979', start_time: 1.478293361271e9, end_time: 1.478293361449e9 },
 *   { location: { source: 'segment.json' } },
 * );
 * // node.kind === 'segment', node.startMs === 1478293361271, node.endMs === 1478293361449
 */
export function parseSegmentDocument(doc: unknown, ctx: DocumentContext): SpanNode {
  const at: LazyPointer | string = ctx.at ?? ctx.location.pointer ?? '';
  const where = (): string => pointerText(at);
  if (!isObject(doc)) {
    throw new ValidationError(
      `${entity('segment', undefined, where())}expected a JSON object, got ${aTypeName(doc)}`,
    );
  }
  const type = own(doc, 'type');
  if (type !== undefined && type !== 'subsegment') {
    throw new ValidationError(
      `${entity('segment', doc, where())}type ${show(type)} is not "subsegment" (segments carry no type field)`,
    );
  }
  const kind: SpanKind = type === 'subsegment' ? 'subsegment' : 'segment';
  const label = (): string => entity(kind, doc, where());
  const traceId = own(doc, 'trace_id');
  if (traceId === undefined) throw new ValidationError(`${label()}trace_id is missing`);
  if (typeof traceId !== 'string' || !TRACE_ID_RE.test(traceId)) {
    throw new ValidationError(
      `${label()}trace_id ${show(traceId)} is not an X-Ray trace ID (1-8 hex-24 hex)`,
    );
  }
  const normalizedTraceId = traceId.toLowerCase();
  if (ctx.expectedTraceId !== undefined && normalizedTraceId !== ctx.expectedTraceId) {
    throw new ValidationError(
      `${label()}trace_id ${show(traceId)} differs from the trace's Id "${ctx.expectedTraceId}"`,
    );
  }
  if (kind === 'subsegment' && own(doc, 'parent_id') === undefined) {
    throw new ValidationError(`${label()}an independent subsegment needs a parent_id`);
  }
  return buildNode(doc, kind, at, ctx.location, 0, {
    traceId: normalizedTraceId,
    origin: null,
    serviceVersion: null,
    parentId: '',
  });
}

/**
 * Validates a subsegment that carries no `trace_id` (the embedded form, found on its own) without
 * placing it in a trace. Throws `ValidationError` like `parseSegmentDocument`.
 *
 * @example
 * validateSubsegmentFragment({ id: '0e58d2918e9038e8', name: 'save', start_time: 1, end_time: 2 }, { source: 'f.json' });
 */
export function validateSubsegmentFragment(doc: JsonObject, location: SourceLocation): void {
  buildNode(doc, 'subsegment', location.pointer ?? '', location, 0, {
    traceId: '',
    origin: null,
    serviceVersion: null,
    parentId: '',
  });
}

function buildNode(
  doc: JsonObject,
  kind: SpanKind,
  where: LazyPointer | string,
  location: SourceLocation,
  depth: number,
  inherited: Inherited,
): SpanNode {
  const fail = (message: string): never => {
    throw new ValidationError(`${entity(kind, doc, pointerText(where))}${message}`);
  };

  const name = own(doc, 'name');
  if (name === undefined) fail('name is missing');
  if (typeof name !== 'string') return fail(`name ${show(name)} is not a string`);
  if (name.length === 0) fail('name is empty');
  if (name.length > MAX_NAME_LENGTH)
    fail(`name is ${name.length} characters long (at most ${MAX_NAME_LENGTH})`);

  const id = own(doc, 'id');
  if (id === undefined) fail('id is missing');
  if (typeof id !== 'string' || !ID_RE.test(id)) return fail(`id ${show(id)} is not 16 hex digits`);

  let traceId = inherited.traceId;
  if (depth > 0) {
    const childTraceId = own(doc, 'trace_id');
    if (childTraceId !== undefined) {
      if (typeof childTraceId !== 'string' || !TRACE_ID_RE.test(childTraceId)) {
        fail(`trace_id ${show(childTraceId)} is not an X-Ray trace ID (1-8 hex-24 hex)`);
      } else if (traceId !== '' && childTraceId.toLowerCase() !== traceId) {
        fail(`trace_id ${show(childTraceId)} differs from its segment's "${traceId}"`);
      } else {
        traceId = childTraceId.toLowerCase();
      }
    }
  }

  let parentId: string | null = depth > 0 ? inherited.parentId : null;
  const rawParent = own(doc, 'parent_id');
  if (rawParent !== undefined) {
    if (typeof rawParent !== 'string' || !ID_RE.test(rawParent))
      fail(`parent_id ${show(rawParent)} is not 16 hex digits`);
    const p = (rawParent as string).toLowerCase();
    if (p === id.toLowerCase()) fail(`id "${id}" equals its own parent_id, a span cannot be its own parent`);
    // An embedded subsegment hangs under the document that holds it, whatever it claims.
    if (depth === 0) parentId = p;
  }

  const startTime = own(doc, 'start_time');
  if (startTime === undefined) fail('start_time is missing');
  const startS = epochSeconds(startTime, 'start_time', fail);
  const endTime = own(doc, 'end_time');
  const inProgress = own(doc, 'in_progress');
  if (inProgress !== undefined && typeof inProgress !== 'boolean')
    fail(`in_progress ${show(inProgress)} is not a boolean`);
  let endS: number | null = null;
  if (endTime !== undefined) {
    endS = epochSeconds(endTime, 'end_time', fail);
    if (endS < startS) fail(`end_time ${endS} is before start_time ${startS}`);
  } else if (inProgress !== true) {
    fail('end_time is missing and in_progress is not true (one of them is required)');
  }

  const error = flag(doc, 'error', fail);
  const fault = flag(doc, 'fault', fail);
  const throttle = flag(doc, 'throttle', fail);
  const inferred = flag(doc, 'inferred', fail);

  const namespace = own(doc, 'namespace');
  if (namespace !== undefined && namespace !== 'aws' && namespace !== 'remote' && namespace !== 'local') {
    fail(`namespace ${show(namespace)} is not "aws", "remote" or "local"`);
  }

  const originRaw = own(doc, 'origin');
  if (originRaw !== undefined && typeof originRaw !== 'string')
    fail(`origin ${show(originRaw)} is not a string`);
  const origin = typeof originRaw === 'string' ? originRaw : depth > 0 ? inherited.origin : null;

  const http = optionalObject(doc, 'http', fail);
  const request = http ? optionalObject(http, 'request', fail, 'http.request') : undefined;
  const response = http ? optionalObject(http, 'response', fail, 'http.response') : undefined;
  const httpMethod = request ? optionalString(request, 'method', fail, 'http.request.method') : null;
  const httpUrl = request ? optionalString(request, 'url', fail, 'http.request.url') : null;
  let httpStatus: number | null = null;
  if (response) {
    const status = own(response, 'status');
    if (status !== undefined && status !== null) {
      if (typeof status !== 'number' || !Number.isInteger(status))
        fail(`http.response.status ${show(status)} is not an integer`);
      httpStatus = status as number;
    }
    const contentLength = own(response, 'content_length');
    if (contentLength !== undefined && contentLength !== null && typeof contentLength !== 'number') {
      fail(
        `http.response.content_length ${show(contentLength)} is ${aTypeName(contentLength)}, not a number`,
      );
    }
  }

  const aws = optionalObject(doc, 'aws', fail);
  const awsOperation = aws ? optionalString(aws, 'operation', fail, 'aws.operation') : null;
  const awsResource = aws ? resourceOf(aws, fail) : null;

  const sql = optionalObject(doc, 'sql', fail);
  const sqlUrl = sql ? optionalString(sql, 'url', fail, 'sql.url') : null;
  if (sqlUrl !== null && !SCHEME_RE.test(sqlUrl)) {
    fail(`sql.url ${show(sqlUrl)} has no scheme (expected e.g. "jdbc:postgresql://host:5432/db")`);
  }
  const sqlDatabaseType = sql ? optionalString(sql, 'database_type', fail, 'sql.database_type') : null;

  const cause = own(doc, 'cause');
  if (cause !== undefined && !isObject(cause)) {
    if (typeof cause !== 'string')
      fail(`cause ${show(cause)} is neither an object nor a 16-character exception ID`);
    else if (!EXCEPTION_ID_RE.test(cause)) fail(`cause ${show(cause)} is not a 16-character exception ID`);
  }

  const service = optionalObject(doc, 'service', fail);
  const ownVersion = service ? optionalString(service, 'version', fail, 'service.version') : null;
  const serviceVersion = ownVersion ?? (depth > 0 ? inherited.serviceVersion : null);

  const annotations = annotationsOf(doc, fail);

  const rawChildren = own(doc, 'subsegments');
  const children: SpanNode[] = [];
  if (rawChildren !== undefined) {
    if (!Array.isArray(rawChildren)) return fail(`subsegments is ${aTypeName(rawChildren)}, not an array`);
    if (rawChildren.length > 0 && depth + 1 >= MAX_NESTING) {
      fail(`subsegments are nested more than ${MAX_NESTING} levels deep`);
    }
    const nodeId = id.toLowerCase();
    rawChildren.forEach((child, i) => {
      const childWhere = new LazyPointer(where, ' > ', 'subsegments', i);
      if (!isObject(child)) {
        fail(`subsegments[${i}] is ${aTypeName(child)}, not a subsegment object`);
      }
      children.push(
        buildNode(child as JsonObject, 'subsegment', childWhere, location, depth + 1, {
          traceId,
          origin,
          serviceVersion,
          parentId: nodeId,
        }),
      );
    });
  }

  return {
    traceId,
    id: id.toLowerCase(),
    parentId,
    kind,
    name,
    origin,
    namespace: (namespace as Namespace | undefined) ?? null,
    startMs: toMs(startS),
    endMs: endS === null ? null : toMs(endS),
    httpMethod,
    httpStatus,
    httpUrl,
    awsOperation,
    awsResource,
    sqlUrl,
    sqlDatabaseType,
    serviceVersion,
    error,
    fault,
    throttle,
    inferred,
    annotations,
    children,
    location:
      depth === 0
        ? location
        : typeof where === 'string'
          ? { ...location, pointer: where }
          : new NodeLocation(location, where),
  };
}

/**
 * The resource an AWS call touched, first present of: table, bucket, queue (last part of the
 * URL), topic (last part of the ARN), function (name, also from an ARN), `resource_names[0]`.
 * `aws.key` (an S3 object key) is left out on purpose: it is per-request and would explode the
 * number of statistics keys.
 */
function resourceOf(aws: JsonObject, fail: (m: string) => never): string | null {
  const table = optionalString(aws, 'table_name', fail, 'aws.table_name');
  if (table) return table;
  const bucket = optionalString(aws, 'bucket_name', fail, 'aws.bucket_name');
  if (bucket) return bucket;
  const queue = optionalString(aws, 'queue_url', fail, 'aws.queue_url');
  if (queue) return queueName(queue);
  const topic = optionalString(aws, 'topic_arn', fail, 'aws.topic_arn');
  if (topic) return topicName(topic);
  const fn = optionalString(aws, 'function_name', fail, 'aws.function_name');
  if (fn) return functionName(fn);
  const names = own(aws, 'resource_names');
  if (Array.isArray(names) && typeof names[0] === 'string' && names[0]) return names[0];
  return null;
}

function annotationsOf(doc: JsonObject, fail: (m: string) => never): Record<string, string> | null {
  const raw = own(doc, 'annotations');
  if (raw === undefined || raw === null) return null;
  if (!isObject(raw)) return fail(`annotations is ${aTypeName(raw)}, not an object`);
  // A prototype-less record: keys such as "__proto__" stay ordinary data.
  const out: Record<string, string> = Object.create(null);
  let count = 0;
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value === 'string') out[key] = value;
    else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean')
      out[key] = String(value);
    else
      fail(
        `annotation ${JSON.stringify(key)} has ${aTypeName(value)} value (only string, number or boolean)`,
      );
    count++;
  }
  return count > 0 ? out : null;
}

/** Seconds to ms, kept to whole microseconds so `1.568835610432E9` gives 1568835610432, not …431.9999. */
function toMs(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e3;
}

function epochSeconds(value: unknown, field: string, fail: (m: string) => never): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    return fail(`${field} ${show(value)} is not a number`);
  if (value < MIN_EPOCH_S || value > MAX_EPOCH_S) {
    const hint = value > MAX_EPOCH_S * 100 ? ' (milliseconds? X-Ray times are epoch seconds)' : '';
    return fail(`${field} ${value} is not an epoch time in seconds between 2000 and 2100${hint}`);
  }
  return value;
}

function flag(doc: JsonObject, field: string, fail: (m: string) => never): boolean {
  const value = own(doc, field);
  if (value === undefined) return false;
  if (typeof value !== 'boolean') return fail(`${field} ${show(value)} is not a boolean`);
  return value;
}

function optionalObject(
  obj: JsonObject,
  key: string,
  fail: (m: string) => never,
  path: string = key,
): JsonObject | undefined {
  const value = own(obj, key);
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) return fail(`${path} is ${aTypeName(value)}, not an object`);
  return value;
}

function optionalString(
  obj: JsonObject,
  key: string,
  fail: (m: string) => never,
  path: string,
): string | null {
  const value = own(obj, key);
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return fail(`${path} ${show(value)} is not a string`);
  return value;
}

/** `segment "api" (Traces[0].Segments[1].Document): ` — the prefix of every reason. */
function entity(kind: SpanKind, doc: unknown, where: string): string {
  const name = isObject(doc) ? own(doc, 'name') : undefined;
  const named =
    typeof name === 'string' && name.length > 0 ? ` ${JSON.stringify(truncateText(name, 80))}` : '';
  return `${kind}${named}${where ? ` (${where})` : ''}: `;
}

/**
 * A value as it would appear in the document, kept short.
 *
 * @example show('abc') === '"abc"'; show(200) === '200'
 */
export function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return truncateText(text, 80);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * The JSON type of a value with its article, for messages.
 *
 * @example aTypeName([]) === 'an array'; aTypeName('x') === 'a string'; aTypeName(null) === 'null'
 */
export function aTypeName(value: unknown): string {
  const name = typeName(value);
  if (name === 'null') return name;
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}

function truncateText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
