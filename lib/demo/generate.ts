/**
 * Synthetic X-Ray traffic of a small serverless shop, shaped like what API Gateway, Lambda, the
 * X-Ray SDKs and the X-Ray service itself emit (see `shared/fixtures/xray-public/`). Pure and
 * lazy: no I/O, deterministic for a seed, one trace at a time in start order.
 */
import { ConfigError } from '../core/errors.js';
import { Random } from './random.js';
import {
  ACCOUNT_ID,
  API_HOST,
  API_STAGE_NAME,
  COLD_START_PROBABILITY,
  COLD_START_RANGE_MS,
  CUSTOMERS_TABLE,
  FAILURE_RATES,
  functionArn,
  INVENTORY,
  INVENTORY_DB_HOST,
  INVENTORY_HOST,
  INVENTORY_SQL_NAME,
  INVOICES_BUCKET,
  LATENCY,
  type LatencyProfile,
  ORDER_EVENTS_QUEUE,
  ORDER_EVENTS_QUEUE_URL,
  ORDER_WORKER,
  ORDERS_API,
  ORDERS_TABLE,
  PAYMENTS_HOST,
  REGION,
  REST_API_ID,
  ROUTES,
  type Route,
  SERVICE_VERSIONS,
  USER_AGENTS,
} from './shop.js';

/** A latency regression to inject: calls matching the key get `factor`× slower from `atMs` on. */
export interface RegressionSpec {
  /** The enclosing segment's name, e.g. `orders-api`. */
  service: string;
  /** The subsegment's name, e.g. `DynamoDB`, `payments.example.com`. */
  name: string;
  /** `aws.operation`, e.g. `Query`; any when absent. */
  operation?: string;
  /** Table, bucket or queue name (not URL), e.g. `orders`; any when absent. */
  resource?: string;
  factor: number;
  /** Traces starting at or after this time (epoch ms) are affected. */
  atMs: number;
}

export interface DemoOptions {
  /** Default 1. */
  seed?: number;
  /** Epoch ms; default 2026-01-15T08:00:00Z (fixed, so a seed alone decides the output). */
  startMs?: number;
  /** Default 3. */
  hours?: number;
  /** Mean API requests per second before the daily pattern and bursts; default 1. */
  requestsPerSecond?: number;
  /**
   * Default: `orders-api > DynamoDB Query orders` 2.5× slower from two thirds of the run on;
   * `null` for none.
   */
  regression?: RegressionSpec | null;
  /** Share of API requests fetched while still running (every span `in_progress`); default 0.002. */
  inProgressFraction?: number;
  /** Documents that fail validation (non-hex id, end before start, truncated JSON); default 3. */
  brokenDocuments?: number;
}

/** A segment document as the X-Ray API returns it (after `JSON.parse` of `Document`). */
export type SegmentDocument = Record<string, unknown>;

export interface GeneratedTrace {
  /** `1-<8 hex epoch seconds>-<24 hex>`. */
  traceId: string;
  /** Start of the trace's earliest segment, epoch ms. */
  startMs: number;
  /**
   * The trace's documents in final form. A string is raw `Document` text, used only for a broken
   * document that is not even JSON.
   */
  segments: (SegmentDocument | string)[];
  /** Complete segments + subsegments at every nesting level. */
  completeSpans: number;
  /** Segments and subsegments with `in_progress: true`. */
  inProgressSpans: number;
  /** Documents deliberately broken (their spans count neither as complete nor in progress). */
  brokenDocuments: number;
}

/** The options with every default applied; what a demo manifest records. */
export interface ResolvedDemoOptions {
  seed: number;
  startMs: number;
  hours: number;
  endMs: number;
  requestsPerSecond: number;
  regression: RegressionSpec | null;
  inProgressFraction: number;
  brokenDocuments: number;
}

export const DEFAULT_START_MS = Date.UTC(2026, 0, 15, 8, 0, 0);
export const DEFAULT_HOURS = 3;
export const DEFAULT_REQUESTS_PER_SECOND = 1;
export const DEFAULT_REGRESSION_FACTOR = 2.5;
export const DEFAULT_IN_PROGRESS_FRACTION = 0.002;
export const DEFAULT_BROKEN_DOCUMENTS = 3;

/**
 * Applies defaults and checks every option; the error names the option and its bad value.
 *
 * @example
 * resolveDemoOptions({ hours: 1 }).regression
 * // => { service: 'orders-api', name: 'DynamoDB', operation: 'Query', resource: 'orders', factor: 2.5, atMs: start + 40 min }
 * @throws ConfigError when an option is out of range.
 */
export function resolveDemoOptions(options: DemoOptions = {}): ResolvedDemoOptions {
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) throw new ConfigError(`demo option seed must be an integer, got ${seed}`);
  const startMs = options.startMs ?? DEFAULT_START_MS;
  if (!Number.isFinite(startMs) || startMs < 0) {
    throw new ConfigError(`demo option startMs must be an epoch time in ms, got ${startMs}`);
  }
  const hours = options.hours ?? DEFAULT_HOURS;
  if (!(Number.isFinite(hours) && hours > 0 && hours <= 24 * 31)) {
    throw new ConfigError(`demo option hours must be > 0 and at most 744, got ${hours}`);
  }
  const requestsPerSecond = options.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND;
  if (!(Number.isFinite(requestsPerSecond) && requestsPerSecond > 0 && requestsPerSecond <= 10_000)) {
    throw new ConfigError(
      `demo option requestsPerSecond must be > 0 and at most 10000, got ${requestsPerSecond}`,
    );
  }
  const inProgressFraction = options.inProgressFraction ?? DEFAULT_IN_PROGRESS_FRACTION;
  if (!(inProgressFraction >= 0 && inProgressFraction <= 1)) {
    throw new ConfigError(
      `demo option inProgressFraction must be between 0 and 1, got ${inProgressFraction}`,
    );
  }
  const brokenDocuments = options.brokenDocuments ?? DEFAULT_BROKEN_DOCUMENTS;
  if (!(Number.isInteger(brokenDocuments) && brokenDocuments >= 0)) {
    throw new ConfigError(`demo option brokenDocuments must be a whole number >= 0, got ${brokenDocuments}`);
  }
  const endMs = startMs + hours * 3_600_000;
  let regression: RegressionSpec | null;
  if (options.regression === null) {
    regression = null;
  } else if (options.regression === undefined) {
    regression = {
      service: ORDERS_API,
      name: 'DynamoDB',
      operation: 'Query',
      resource: ORDERS_TABLE,
      factor: DEFAULT_REGRESSION_FACTOR,
      atMs: startMs + Math.round((hours * 3_600_000 * 2) / 3),
    };
  } else {
    const r = options.regression;
    if (!(Number.isFinite(r.factor) && r.factor > 0)) {
      throw new ConfigError(`demo option regression.factor must be > 0, got ${r.factor}`);
    }
    if (!Number.isFinite(r.atMs))
      throw new ConfigError(`demo option regression.atMs must be epoch ms, got ${r.atMs}`);
    if (!r.service || !r.name) {
      throw new ConfigError(`demo option regression needs a service and a name, got ${JSON.stringify(r)}`);
    }
    regression = { ...r };
  }
  return { seed, startMs, hours, endMs, requestsPerSecond, regression, inProgressFraction, brokenDocuments };
}

// ---------------------------------------------------------------------------------------------
// Time: integer microseconds internally, so documents carry exactly microsecond precision and
// "child inside parent" holds after the conversion to seconds (division is monotonic).

const US_PER_MS = 1000;
const sec = (us: number): number => us / 1e6;
const usOf = (ms: number): number => Math.round(ms * US_PER_MS);

interface Burst {
  fromUs: number;
  toUs: number;
  factor: number;
}

/** Per-trace state while building one trace's documents. */
interface TraceBuild {
  traceId: string;
  docs: SegmentDocument[];
  complete: number;
  inProgress: number;
  /** The trace started at or after the regression onset. */
  afterOnset: boolean;
  inBurst: boolean;
}

type Outcome = 'ok' | 'clientError' | 'fault' | 'throttle';

/** What a call returns to the code that made it. */
interface CallResult {
  endUs: number;
  outcome: Outcome;
  status: number;
}

class ShopTraffic {
  private readonly rng: Random;
  private readonly bursts: Burst[];
  private readonly versionBumped: string | null;

  constructor(private readonly o: ResolvedDemoOptions) {
    this.rng = new Random(o.seed);
    this.bursts = this.planBursts();
    const service = o.regression?.service;
    this.versionBumped = service !== undefined && service in SERVICE_VERSIONS ? service : null;
  }

  *traces(): Generator<GeneratedTrace> {
    const { rng, o } = this;
    const startUs = usOf(o.startMs);
    const endUs = usOf(o.endMs);
    // Traces that start later than the one being built (SQS consumers, broken documents) wait
    // here, sorted by start, so the output stays in start order.
    const pending: GeneratedTrace[] = [];
    for (let i = 0; i < o.brokenDocuments; i++) {
      const atUs = startUs + Math.floor(((i + 0.5) / o.brokenDocuments) * (endUs - startUs));
      insertByStart(pending, this.brokenTrace(atUs, i % 3));
    }
    const maxRate = o.requestsPerSecond * 1.3 * 3;
    const meanGapUs = 1e6 / maxRate;
    let t = startUs;
    for (;;) {
      // Poisson arrivals at the peak rate, thinned down to the rate of the moment.
      t += Math.max(1, Math.round(rng.exponential(meanGapUs)));
      if (t >= endUs) break;
      const rate = this.rateAt(t);
      if (!rng.chance(rate.perSecond / maxRate)) continue;
      while (pending.length > 0 && pending[0]!.startMs <= t / US_PER_MS) yield pending.shift()!;
      const trace = rng.chance(o.inProgressFraction)
        ? this.inProgressApiTrace(t)
        : this.apiTrace(t, rate.inBurst, pending);
      yield trace;
    }
    for (const trace of pending) if (trace.startMs < o.endMs) yield trace;
  }

  // ---- traffic shape ----------------------------------------------------------------------

  private planBursts(): Burst[] {
    const { rng, o } = this;
    const bursts: Burst[] = [];
    const startUs = usOf(o.startMs);
    const endUs = usOf(o.endMs);
    let t = startUs;
    for (;;) {
      t += Math.round(rng.exponential(3_600e6)); // about one burst an hour
      if (t >= endUs) break;
      const lengthUs = Math.round(rng.uniform(2, 6) * 60e6);
      bursts.push({ fromUs: t, toUs: t + lengthUs, factor: rng.uniform(2, 3) });
      t += lengthUs;
    }
    return bursts;
  }

  /** A mild daily swell peaking mid-afternoon UTC, times any burst in progress. */
  private rateAt(tUs: number): { perSecond: number; inBurst: boolean } {
    const hourOfDay = (tUs / 3_600e6) % 24;
    let perSecond = this.o.requestsPerSecond * (1 + 0.3 * Math.sin((2 * Math.PI * (hourOfDay - 9)) / 24));
    let inBurst = false;
    for (const b of this.bursts) {
      if (tUs >= b.fromUs && tUs < b.toUs) {
        perSecond *= b.factor;
        inBurst = true;
        break;
      }
    }
    return { perSecond, inBurst };
  }

  // ---- latency ---------------------------------------------------------------------------

  /** A call's duration in µs, with the rare hiccup and the injected regression applied. */
  private latency(
    b: TraceBuild,
    profile: LatencyProfile,
    service: string,
    name: string,
    operation: string | null,
    resource: string | null,
  ): number {
    const { rng } = this;
    // Nothing answers faster than the network allows: no draw below a third of the median.
    let ms = Math.max(profile.p50 / 3, rng.logNormal(profile.p50, profile.p99));
    if (rng.chance(FAILURE_RATES.latencyHiccup)) ms *= rng.uniform(2, 6);
    const r = this.o.regression;
    if (
      r !== null &&
      b.afterOnset &&
      r.service === service &&
      r.name === name &&
      (r.operation === undefined || r.operation === operation) &&
      (r.resource === undefined || r.resource === resource)
    ) {
      ms *= r.factor;
    }
    return Math.max(1, usOf(ms));
  }

  private gap(lowMs: number, highMs: number): number {
    return usOf(this.rng.uniform(lowMs, highMs));
  }

  private version(service: string, afterOnset: boolean): string {
    const versions = SERVICE_VERSIONS[service];
    if (versions === undefined) return '1.0.0';
    return afterOnset && this.versionBumped === service ? versions[1] : versions[0];
  }

  private newBuild(t0Us: number, inBurst: boolean): TraceBuild {
    const epochSeconds = Math.floor(t0Us / 1e6)
      .toString(16)
      .padStart(8, '0');
    return {
      traceId: `1-${epochSeconds}-${this.rng.hex(12)}`,
      docs: [],
      complete: 0,
      inProgress: 0,
      afterOnset: this.o.regression !== null && t0Us >= usOf(this.o.regression.atMs),
      inBurst,
    };
  }

  private finish(b: TraceBuild, t0Us: number): GeneratedTrace {
    return {
      traceId: b.traceId,
      startMs: t0Us / US_PER_MS,
      segments: b.docs,
      completeSpans: b.complete,
      inProgressSpans: b.inProgress,
      brokenDocuments: 0,
    };
  }

  // ---- the API request: API Gateway → orders-api (Lambda) → dependencies -----------------

  private apiTrace(t0Us: number, inBurst: boolean, pending: GeneratedTrace[]): GeneratedTrace {
    const { rng } = this;
    const b = this.newBuild(t0Us, inBurst);
    const route = pickRoute(rng.next());
    const request = this.requestFor(route);

    const invokeSubId = rng.id();
    const invokeStartUs = t0Us + this.gap(0.3, 1.6);
    const lambdaSegStartUs = invokeStartUs + this.gap(0.4, 2.5);
    const fn = this.lambdaFunction(b, ORDERS_API, lambdaSegStartUs + this.gap(0.1, 0.6), (inv, startUs) =>
      this.handleRoute(b, route, inv, startUs, pending),
    );
    const lambdaSegEndUs = fn.endUs + this.gap(0.1, 0.6);
    const lambdaSegId = rng.id();
    b.docs.push({
      id: lambdaSegId,
      name: ORDERS_API,
      start_time: sec(lambdaSegStartUs),
      end_time: sec(lambdaSegEndUs),
      parent_id: invokeSubId,
      http: { response: { status: 200 } },
      aws: { request_id: rng.uuid() },
      trace_id: b.traceId,
      origin: 'AWS::Lambda',
      resource_arn: functionArn(ORDERS_API),
    });
    fn.doc.parent_id = lambdaSegId;
    b.docs.push(fn.doc);
    b.complete += 2;

    const status = fn.result.status;
    const invokeEndUs = lambdaSegEndUs + this.gap(0.2, 1.2);
    const apiEndUs = invokeEndUs + this.gap(0.1, 0.9);
    const apiGateway: SegmentDocument = {
      id: rng.id(),
      name: API_STAGE_NAME,
      start_time: sec(t0Us),
      end_time: sec(apiEndUs),
      trace_id: b.traceId,
      http: {
        request: {
          url: request.url,
          method: request.method,
          user_agent: rng.pick(USER_AGENTS),
          client_ip: `${rng.int(3, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`,
          x_forwarded_for: true,
        },
        response: { status, content_length: status === 200 ? rng.int(90, 2400) : rng.int(40, 120) },
      },
      aws: {
        api_gateway: {
          account_id: ACCOUNT_ID,
          rest_api_id: REST_API_ID,
          stage: 'prod',
          request_id: rng.uuid(),
        },
      },
      annotations: { 'aws:api_id': REST_API_ID, 'aws:api_stage': 'prod' },
      origin: 'AWS::ApiGateway::Stage',
      resource_arn: `arn:aws:apigateway:${REGION}::/restapis/${REST_API_ID}/stages/prod`,
      subsegments: [
        {
          id: invokeSubId,
          name: 'Lambda',
          start_time: sec(invokeStartUs),
          end_time: sec(invokeEndUs),
          http: {
            request: {
              url: `https://lambda.${REGION}.amazonaws.com/2015-03-31/functions/${functionArn(ORDERS_API)}/invocations`,
              method: 'POST',
            },
            response: { status: 200, content_length: rng.int(120, 2600) },
          },
          aws: {
            function_name: ORDERS_API,
            region: REGION,
            operation: 'Invoke',
            resource_names: [ORDERS_API],
          },
          namespace: 'aws',
        },
      ],
    };
    setFlags(apiGateway, fn.result.outcome);
    b.docs.unshift(apiGateway);
    b.complete += 2;
    return this.finish(b, t0Us);
  }

  private requestFor(route: Route): { method: string; url: string } {
    const { rng } = this;
    const base = `https://${API_HOST}/prod`;
    switch (route) {
      case 'getOrder':
        return { method: 'GET', url: `${base}/orders/ord-${rng.hex(5)}` };
      case 'listOrders':
        return { method: 'GET', url: `${base}/orders?customer=cus-${rng.hex(4)}` };
      case 'createOrder':
        return { method: 'POST', url: `${base}/orders` };
      case 'getStock':
        return { method: 'GET', url: `${base}/products/sku-${rng.int(1000, 9999)}/stock` };
    }
  }

  /**
   * An `AWS::Lambda::Function` segment: `Initialization` on a cold start, `Invocation` holding
   * the handler's calls, then `Overhead`. The caller sets `parent_id`.
   */
  private lambdaFunction(
    b: TraceBuild,
    name: string,
    startUs: number,
    handler: (invocation: SegmentDocument[], startUs: number) => CallResult,
  ): { doc: SegmentDocument; endUs: number; result: CallResult } {
    const { rng } = this;
    const arn = functionArn(name);
    const subsegments: SegmentDocument[] = [];
    let cursor = startUs;
    if (rng.chance(COLD_START_PROBABILITY)) {
      const [low, high] = COLD_START_RANGE_MS;
      const initMs = Math.min(
        high,
        Math.max(low, rng.logNormal(LATENCY.coldStart.p50, LATENCY.coldStart.p99)),
      );
      const initEndUs = cursor + usOf(initMs);
      subsegments.push({
        id: rng.id(),
        name: 'Initialization',
        start_time: sec(cursor),
        end_time: sec(initEndUs),
        aws: { function_arn: arn },
      });
      cursor = initEndUs + this.gap(0.05, 0.4);
    }
    const invocationStartUs = cursor;
    const calls: SegmentDocument[] = [];
    const result = handler(calls, invocationStartUs + this.gap(0.05, 0.3));
    const invocationEndUs = result.endUs + this.gap(0.05, 0.5);
    const invocation: SegmentDocument = {
      id: rng.id(),
      name: 'Invocation',
      start_time: sec(invocationStartUs),
      end_time: sec(invocationEndUs),
      aws: { function_arn: arn },
    };
    if (calls.length > 0) invocation.subsegments = calls;
    subsegments.push(invocation);
    const overheadEndUs = invocationEndUs + this.gap(0.2, 2.5);
    subsegments.push({
      id: rng.id(),
      name: 'Overhead',
      start_time: sec(invocationEndUs),
      end_time: sec(overheadEndUs),
      aws: { function_arn: arn },
    });
    b.complete += subsegments.length;
    const doc: SegmentDocument = {
      id: rng.id(),
      name,
      start_time: sec(startUs),
      end_time: sec(overheadEndUs),
      parent_id: null,
      trace_id: b.traceId,
      aws: { account_id: ACCOUNT_ID, function_arn: arn, resource_names: [name] },
      service: { version: this.version(name, b.afterOnset) },
      origin: 'AWS::Lambda::Function',
      subsegments,
    };
    return { doc, endUs: overheadEndUs, result };
  }

  /** The orders-api handler, one branch per route. Returns the HTTP answer it gives. */
  private handleRoute(
    b: TraceBuild,
    route: Route,
    out: SegmentDocument[],
    startUs: number,
    pending: GeneratedTrace[],
  ): CallResult {
    const { rng } = this;
    let t = startUs + this.compute(b);
    switch (route) {
      case 'getOrder': {
        const get = this.dynamodb(b, ORDERS_API, out, t, 'GetItem', ORDERS_TABLE);
        t = get.endUs + this.compute(b);
        if (get.outcome === 'throttle') return { endUs: t, outcome: 'fault', status: 500 };
        if (rng.chance(FAILURE_RATES.orderNotFound)) return { endUs: t, outcome: 'clientError', status: 404 };
        if (rng.chance(0.3)) {
          t = this.s3(b, ORDERS_API, out, t, 'GetObject').endUs + this.compute(b);
        }
        return { endUs: t, outcome: 'ok', status: 200 };
      }
      case 'listOrders': {
        const customer = this.dynamodb(b, ORDERS_API, out, t, 'GetItem', CUSTOMERS_TABLE);
        t = customer.endUs + this.compute(b);
        if (customer.outcome === 'throttle') return { endUs: t, outcome: 'fault', status: 500 };
        const query = this.dynamodb(b, ORDERS_API, out, t, 'Query', ORDERS_TABLE);
        t = query.endUs + this.compute(b);
        if (query.outcome === 'throttle') return { endUs: t, outcome: 'fault', status: 500 };
        return { endUs: t, outcome: 'ok', status: 200 };
      }
      case 'getStock': {
        const stock = this.inventory(b, out, t, 'GET', false);
        t = stock.endUs + this.compute(b);
        return stock.outcome === 'ok' ? { endUs: t, outcome: 'ok', status: 200 } : { ...stock, endUs: t };
      }
      case 'createOrder': {
        if (rng.chance(FAILURE_RATES.invalidOrder)) return { endUs: t, outcome: 'clientError', status: 400 };
        const customer = this.dynamodb(b, ORDERS_API, out, t, 'GetItem', CUSTOMERS_TABLE);
        t = customer.endUs + this.compute(b);
        if (customer.outcome === 'throttle') return { endUs: t, outcome: 'fault', status: 500 };
        // Stock reservation and payment run in parallel (Promise.all in the handler).
        const reserve = this.inventory(b, out, t, 'POST', true);
        const pay = this.payments(b, out, t + this.gap(0.02, 0.3));
        t = Math.max(reserve.endUs, pay.endUs) + this.compute(b);
        if (reserve.outcome !== 'ok') return { endUs: t, outcome: 'clientError', status: 409 };
        if (pay.outcome === 'fault') return { endUs: t, outcome: 'fault', status: 502 };
        if (pay.outcome === 'throttle') return { endUs: t, outcome: 'throttle', status: 429 };
        const put = this.dynamodb(b, ORDERS_API, out, t, 'PutItem', ORDERS_TABLE);
        t = put.endUs + this.compute(b);
        if (put.outcome === 'throttle') return { endUs: t, outcome: 'fault', status: 500 };
        // Invoice upload and the order event go out together.
        const invoice = this.s3(b, ORDERS_API, out, t, 'PutObject');
        const event = this.sqs(b, ORDERS_API, out, t + this.gap(0.02, 0.3));
        t = Math.max(invoice.endUs, event.endUs) + this.compute(b);
        const deliveredUs =
          event.endUs + usOf(rng.logNormal(LATENCY.sqsDelivery.p50, LATENCY.sqsDelivery.p99));
        insertByStart(pending, this.workerTrace(deliveredUs, b.inBurst));
        return { endUs: t, outcome: 'ok', status: 201 };
      }
    }
  }

  private compute(b: TraceBuild): number {
    return this.latency(b, LATENCY.compute, '', '', null, null);
  }

  // ---- dependencies ----------------------------------------------------------------------

  /** A DynamoDB call: the SDK's subsegment plus the segment X-Ray infers for the table. */
  private dynamodb(
    b: TraceBuild,
    service: string,
    out: SegmentDocument[],
    startUs: number,
    operation: keyof typeof LATENCY.dynamodb,
    table: string,
  ): CallResult {
    const { rng } = this;
    let durationUs = this.latency(b, LATENCY.dynamodb[operation], service, 'DynamoDB', operation, table);
    const throttleP =
      FAILURE_RATES.dynamodbThrottle * (b.inBurst ? FAILURE_RATES.burstThrottleMultiplier : 1);
    const throttled = rng.chance(throttleP);
    // A throttle surfaces only after the SDK's retries with backoff.
    if (throttled) durationUs += usOf(rng.uniform(60, 240));
    const endUs = startUs + durationUs;
    const status = throttled ? 400 : 200;
    const http = { response: { status, content_length: throttled ? 112 : rng.int(2, 1800) } };
    const aws = {
      operation,
      region: REGION,
      request_id: rng.hex(26).toUpperCase(),
      retries: throttled ? 2 : rng.chance(0.01) ? 1 : 0,
      table_name: table,
      resource_names: [table],
    };
    const sub: SegmentDocument = {
      id: rng.id(),
      name: 'DynamoDB',
      start_time: sec(startUs),
      end_time: sec(endUs),
      http,
      aws,
      namespace: 'aws',
    };
    if (throttled) {
      sub.error = true;
      sub.throttle = true;
      sub.cause = {
        working_directory: '/var/task',
        exceptions: [
          {
            id: rng.id(),
            message:
              'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
            type: 'ProvisionedThroughputExceededException',
            remote: true,
          },
        ],
      };
    }
    out.push(sub);
    const inferred = inferredSegment(b, sub, rng.id(), 'AWS::DynamoDB::Table');
    if (throttled) {
      inferred.error = true;
      inferred.throttle = true;
    }
    return { endUs, outcome: throttled ? 'throttle' : 'ok', status };
  }

  private s3(
    b: TraceBuild,
    service: string,
    out: SegmentDocument[],
    startUs: number,
    operation: 'GetObject' | 'PutObject',
  ): CallResult {
    const { rng } = this;
    const durationUs = this.latency(b, LATENCY.s3[operation], service, 'S3', operation, INVOICES_BUCKET);
    const endUs = startUs + durationUs;
    const http = {
      response: { status: 200, content_length: operation === 'GetObject' ? rng.int(18_000, 96_000) : 0 },
    };
    const aws = {
      operation,
      region: REGION,
      request_id: rng.hex(8).toUpperCase(),
      id_2: rng.hex(30),
      retries: 0,
      bucket_name: INVOICES_BUCKET,
      key: `invoices/2026/ord-${rng.hex(5)}.pdf`,
    };
    const sub: SegmentDocument = {
      id: rng.id(),
      name: 'S3',
      start_time: sec(startUs),
      end_time: sec(endUs),
      http,
      aws,
      namespace: 'aws',
    };
    out.push(sub);
    inferredSegment(b, sub, rng.id(), 'AWS::S3::Bucket');
    return { endUs, outcome: 'ok', status: 200 };
  }

  private sqs(b: TraceBuild, service: string, out: SegmentDocument[], startUs: number): CallResult {
    const { rng } = this;
    const durationUs = this.latency(
      b,
      LATENCY.sqsSendMessage,
      service,
      'SQS',
      'SendMessage',
      ORDER_EVENTS_QUEUE,
    );
    const endUs = startUs + durationUs;
    const http = { response: { status: 200, content_length: rng.int(370, 390) } };
    const aws = {
      operation: 'SendMessage',
      region: REGION,
      request_id: rng.uuid(),
      retries: 0,
      queue_url: ORDER_EVENTS_QUEUE_URL,
      message_id: rng.uuid(),
    };
    const sub: SegmentDocument = {
      id: rng.id(),
      name: 'SQS',
      start_time: sec(startUs),
      end_time: sec(endUs),
      http,
      aws,
      namespace: 'aws',
    };
    out.push(sub);
    inferredSegment(b, sub, rng.id(), 'AWS::SQS::Queue');
    return { endUs, outcome: 'ok', status: 200 };
  }

  /** The external payments API: a remote subsegment and the inferred segment for the host. */
  private payments(b: TraceBuild, out: SegmentDocument[], startUs: number): CallResult {
    const { rng } = this;
    const fault = rng.chance(FAILURE_RATES.paymentsFault);
    const throttled = !fault && rng.chance(FAILURE_RATES.paymentsThrottle);
    let durationUs = this.latency(b, LATENCY.payments, ORDERS_API, PAYMENTS_HOST, null, null);
    // A 429 comes back fast; a 5xx is often a gateway timing out.
    if (throttled) durationUs = Math.max(1, Math.round(durationUs / 4));
    if (fault && rng.chance(0.5)) durationUs += usOf(rng.uniform(2_000, 5_000));
    const endUs = startUs + durationUs;
    const status = fault ? rng.pick([500, 502, 503, 504]) : throttled ? 429 : 201;
    const http = {
      request: { url: `https://${PAYMENTS_HOST}/v1/charges`, method: 'POST' },
      response: { status, content_length: fault ? rng.int(0, 160) : rng.int(280, 640) },
    };
    const sub: SegmentDocument = {
      id: rng.id(),
      name: PAYMENTS_HOST,
      start_time: sec(startUs),
      end_time: sec(endUs),
      namespace: 'remote',
      http,
    };
    const outcome: Outcome = fault ? 'fault' : throttled ? 'throttle' : 'ok';
    setFlags(sub, outcome);
    if (fault) {
      sub.cause = {
        working_directory: '/var/task',
        exceptions: [
          {
            id: rng.id(),
            message: `Request failed with status code ${status}`,
            type: 'HttpError',
            remote: true,
          },
        ],
      };
    }
    out.push(sub);
    setFlags(inferredSegment(b, sub, rng.id()), outcome);
    return { endUs, outcome, status };
  }

  /**
   * A call to the inventory ECS service: orders-api's traced HTTP subsegment, and inventory's own
   * `AWS::ECS::Container` segment with its PostgreSQL queries.
   */
  private inventory(
    b: TraceBuild,
    out: SegmentDocument[],
    startUs: number,
    method: 'GET' | 'POST',
    reserve: boolean,
  ) {
    const { rng } = this;
    const sku = rng.int(1000, 9999);
    const url = `http://${INVENTORY_HOST}/stock/sku-${sku}${reserve ? '/reservations' : ''}`;
    const subId = rng.id();
    const segStartUs = startUs + this.gap(0.4, 1.8); // connection + network
    let t = segStartUs + this.latency(b, LATENCY.inventoryHandler, INVENTORY, '', null, null);
    const queries: SegmentDocument[] = [];
    const q1 = this.sql(b, queries, t, 'select', 'SELECT  quantity, reserved  FROM  stock  WHERE  sku=$1');
    t = q1 + this.latency(b, LATENCY.compute, INVENTORY, '', null, null);
    const outOfStock = reserve && rng.chance(FAILURE_RATES.outOfStock);
    if (reserve && !outOfStock) {
      t = this.sql(
        b,
        queries,
        t,
        'update',
        'UPDATE  stock  SET  reserved = reserved + $1  WHERE  sku=$2  AND  quantity - reserved >= $1',
      );
      t += this.latency(b, LATENCY.compute, INVENTORY, '', null, null);
    }
    const segEndUs = t + this.latency(b, LATENCY.inventoryHandler, INVENTORY, '', null, null);
    const status = outOfStock ? 409 : 200;
    const response = { status, content_length: rng.int(60, 240) };
    const segment: SegmentDocument = {
      id: rng.id(),
      name: INVENTORY,
      start_time: sec(segStartUs),
      end_time: sec(segEndUs),
      parent_id: subId,
      trace_id: b.traceId,
      http: {
        request: {
          url,
          method,
          user_agent: 'axios/1.7.2',
          client_ip: `10.0.${rng.int(0, 3)}.${rng.int(2, 250)}`,
        },
        response,
      },
      aws: {
        ecs: { container: INVENTORY, container_id: rng.hex(32), cluster: 'shop' },
        xray: { sdk: 'X-Ray for Go', sdk_version: '1.8.4' },
      },
      service: { version: this.version(INVENTORY, b.afterOnset) },
      origin: 'AWS::ECS::Container',
      subsegments: queries,
    };
    if (outOfStock) segment.error = true;
    b.docs.push(segment);
    const endUs = segEndUs + this.gap(0.3, 1.5);
    const sub: SegmentDocument = {
      id: subId,
      name: INVENTORY_HOST,
      start_time: sec(startUs),
      end_time: sec(endUs),
      namespace: 'remote',
      http: { request: { url, method, traced: true }, response },
    };
    if (outOfStock) sub.error = true;
    out.push(sub);
    b.complete += 2;
    return { endUs, outcome: (outOfStock ? 'clientError' : 'ok') as Outcome, status };
  }

  private sql(
    b: TraceBuild,
    out: SegmentDocument[],
    startUs: number,
    kind: 'select' | 'update',
    query: string,
  ): number {
    const { rng } = this;
    const endUs = startUs + this.latency(b, LATENCY.sql[kind], INVENTORY, INVENTORY_SQL_NAME, null, null);
    out.push({
      id: rng.id(),
      name: INVENTORY_SQL_NAME,
      start_time: sec(startUs),
      end_time: sec(endUs),
      namespace: 'remote',
      sql: {
        url: `postgresql://${INVENTORY_DB_HOST}:5432/inventory`,
        preparation: 'statement',
        database_type: 'PostgreSQL',
        database_version: '15.6',
        driver_version: 'pgx v5.5.5',
        user: 'inventory_app',
        sanitized_query: query,
      },
    });
    b.complete += 1;
    return endUs;
  }

  // ---- the SQS consumer: its own trace ---------------------------------------------------

  private workerTrace(t0Us: number, inBurst: boolean): GeneratedTrace {
    const { rng } = this;
    const b = this.newBuild(t0Us, inBurst);
    const fn = this.lambdaFunction(b, ORDER_WORKER, t0Us + this.gap(0.5, 4), (out, startUs) => {
      let t = startUs + this.compute(b);
      const update = this.dynamodb(b, ORDER_WORKER, out, t, 'UpdateItem', ORDERS_TABLE);
      t = update.endUs + this.compute(b);
      return update.outcome === 'ok'
        ? { endUs: t, outcome: 'ok', status: 200 }
        : { endUs: t, outcome: 'fault', status: 500 };
    });
    const lambdaSegId = rng.id();
    fn.doc.parent_id = lambdaSegId;
    const lambdaSeg: SegmentDocument = {
      id: lambdaSegId,
      name: ORDER_WORKER,
      start_time: sec(t0Us),
      end_time: sec(fn.endUs + this.gap(0.1, 0.6)),
      aws: { request_id: rng.uuid() },
      trace_id: b.traceId,
      origin: 'AWS::Lambda',
      resource_arn: functionArn(ORDER_WORKER),
    };
    if (fn.result.outcome === 'fault') {
      // The batch failed: the function errored, so Lambda records the invocation as a fault.
      fn.doc.fault = true;
      lambdaSeg.error = true;
    }
    b.docs.unshift(lambdaSeg, fn.doc);
    b.complete += 2;
    return this.finish(b, t0Us);
  }

  // ---- traces caught while still running ---------------------------------------------------

  /** Every span open: a request fetched before it finished, so nothing of it is complete. */
  private inProgressApiTrace(t0Us: number): GeneratedTrace {
    const { rng } = this;
    const b = this.newBuild(t0Us, false);
    const request = this.requestFor(pickRoute(rng.next()));
    const invokeSubId = rng.id();
    const invokeStartUs = t0Us + this.gap(0.3, 1.6);
    const lambdaSegId = rng.id();
    const lambdaSegStartUs = invokeStartUs + this.gap(0.4, 2.5);
    const fnStartUs = lambdaSegStartUs + this.gap(0.1, 0.6);
    const arn = functionArn(ORDERS_API);
    b.docs.push(
      {
        id: rng.id(),
        name: API_STAGE_NAME,
        start_time: sec(t0Us),
        trace_id: b.traceId,
        in_progress: true,
        http: { request: { url: request.url, method: request.method, x_forwarded_for: true } },
        aws: {
          api_gateway: {
            account_id: ACCOUNT_ID,
            rest_api_id: REST_API_ID,
            stage: 'prod',
            request_id: rng.uuid(),
          },
        },
        origin: 'AWS::ApiGateway::Stage',
        subsegments: [
          {
            id: invokeSubId,
            name: 'Lambda',
            start_time: sec(invokeStartUs),
            in_progress: true,
            aws: {
              function_name: ORDERS_API,
              region: REGION,
              operation: 'Invoke',
              resource_names: [ORDERS_API],
            },
            namespace: 'aws',
          },
        ],
      },
      {
        id: lambdaSegId,
        name: ORDERS_API,
        start_time: sec(lambdaSegStartUs),
        parent_id: invokeSubId,
        trace_id: b.traceId,
        in_progress: true,
        origin: 'AWS::Lambda',
        resource_arn: arn,
      },
      {
        id: rng.id(),
        name: ORDERS_API,
        start_time: sec(fnStartUs),
        parent_id: lambdaSegId,
        trace_id: b.traceId,
        in_progress: true,
        aws: { account_id: ACCOUNT_ID, function_arn: arn, resource_names: [ORDERS_API] },
        service: { version: this.version(ORDERS_API, b.afterOnset) },
        origin: 'AWS::Lambda::Function',
        subsegments: [
          {
            id: rng.id(),
            name: 'Invocation',
            start_time: sec(fnStartUs + this.gap(0.05, 0.3)),
            in_progress: true,
            aws: { function_arn: arn },
          },
        ],
      },
    );
    b.inProgress += 5;
    return this.finish(b, t0Us);
  }

  // ---- broken documents ------------------------------------------------------------------

  /**
   * One trace holding one document that must be rejected: kind 0 a non-hex id, kind 1
   * `end_time` before `start_time`, kind 2 a `Document` string cut off mid-way.
   */
  private brokenTrace(t0Us: number, kind: number): GeneratedTrace {
    const { rng } = this;
    const b = this.newBuild(t0Us, false);
    const arn = functionArn(ORDER_WORKER);
    const doc: SegmentDocument = {
      id: rng.id(),
      name: ORDER_WORKER,
      start_time: sec(t0Us),
      end_time: sec(t0Us + this.gap(8, 40)),
      trace_id: b.traceId,
      aws: { account_id: ACCOUNT_ID, function_arn: arn, resource_names: [ORDER_WORKER] },
      origin: 'AWS::Lambda::Function',
      subsegments: [
        {
          id: rng.id(),
          name: 'Invocation',
          start_time: sec(t0Us + 100),
          end_time: sec(t0Us + 5_000),
          aws: { function_arn: arn },
        },
      ],
    };
    let segment: SegmentDocument | string = doc;
    if (kind === 0) {
      doc.id = `order-wkr-${rng.hex(3)}`;
    } else if (kind === 1) {
      doc.end_time = sec(t0Us - this.gap(200, 900));
    } else {
      const text = JSON.stringify(doc);
      segment = text.slice(0, Math.floor(text.length * 0.6));
    }
    return {
      traceId: b.traceId,
      startMs: t0Us / US_PER_MS,
      segments: [segment],
      completeSpans: 0,
      inProgressSpans: 0,
      brokenDocuments: 1,
    };
  }
}

/** Sets X-Ray's three failure flags the way the SDKs do for an HTTP status class. */
/**
 * X-Ray's inferred segment for a call `sub` made: the callee's side of it, with the same name,
 * times, HTTP and AWS blocks, hung under it. Added to the trace's documents, and both spans counted.
 */
function inferredSegment(b: TraceBuild, sub: SegmentDocument, id: string, origin?: string): SegmentDocument {
  const doc: SegmentDocument = {
    id,
    name: sub.name,
    start_time: sub.start_time,
    end_time: sub.end_time,
    parent_id: sub.id,
    inferred: true,
    http: sub.http,
  };
  if (sub.aws !== undefined) doc.aws = sub.aws;
  doc.trace_id = b.traceId;
  if (origin !== undefined) doc.origin = origin;
  b.docs.push(doc);
  b.complete += 2;
  return doc;
}

function setFlags(doc: SegmentDocument, outcome: Outcome): void {
  if (outcome === 'clientError') doc.error = true;
  else if (outcome === 'fault') doc.fault = true;
  else if (outcome === 'throttle') {
    doc.error = true;
    doc.throttle = true;
  }
}

function pickRoute(u: number): Route {
  let acc = 0;
  for (const r of ROUTES) {
    acc += r.weight;
    if (u < acc) return r.route;
  }
  return ROUTES[ROUTES.length - 1]!.route;
}

function insertByStart(queue: GeneratedTrace[], trace: GeneratedTrace): void {
  let i = queue.length;
  while (i > 0 && queue[i - 1]!.startMs > trace.startMs) i--;
  queue.splice(i, 0, trace);
}

/**
 * The shop's traffic, one trace at a time in start order: API requests through API Gateway and
 * the `orders-api` Lambda, `order-worker` traces for the SQS events they send, a few traces still
 * in progress and a few broken documents. Deterministic for a seed; holds only a handful of
 * traces in memory, so millions of spans can stream through.
 *
 * @example
 * for (const trace of generateTraces({ seed: 7, hours: 0.5 })) {
 *   console.log(trace.traceId, trace.segments.length, trace.completeSpans);
 * }
 * @throws ConfigError when an option is out of range (checked before the first trace).
 */
export function generateTraces(options: DemoOptions = {}): Generator<GeneratedTrace> {
  // Resolved eagerly so a bad option fails at the call, not at the first next().
  const resolved = resolveDemoOptions(options);
  return new ShopTraffic(resolved).traces();
}
