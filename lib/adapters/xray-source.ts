/**
 * The X-Ray API as a trace source: `GetTraceSummaries` for the range (by trace ID time, so a trace
 * belongs to the window it started in), then `BatchGetTraces` five IDs at a time.
 *
 * Throttling is absorbed in three layers so a throttled window finishes late instead of failing:
 * a client-side token bucket keeps calls under `maxRps`; the SDK's adaptive retry mode retries
 * `ThrottledException` (HTTP 429) and 5xx with backoff and slows its own send rate; and a bounded
 * outer retry here waits out throttling that outlasts the SDK's attempts.
 *
 * Partial traces (`IsPartial`: segments still arriving) are skipped and counted, not re-read: the
 * collector's lag (`TRACELAKE_LAG`) exists so that by the time a window is processed its traces
 * are complete; a backfill of the window later picks them up.
 */
import {
  BatchGetTracesCommand,
  type BatchGetTracesCommandOutput,
  GetTraceSummariesCommand,
  type GetTraceSummariesCommandOutput,
  type Trace,
  type TraceSummary,
  type XRayClient,
} from '@aws-sdk/client-xray';
import { ConfigError, SourceError } from '../core/errors.js';
import type { RawRecord, SourceEvent, SourceStats, TraceSource } from '../core/ports.js';
import { awsClients, type Env, makeXRayClient } from './aws-clients.js';

export interface XRaySourceOptions {
  /** X-Ray filter expression, e.g. `service("orders")`. */
  readonly filterExpression?: string | undefined;
  /** X-Ray group name; combined with the filter expression as `group.name = "<group>"`. */
  readonly group?: string | undefined;
  /** Client-side limit on X-Ray calls per second (all operations together). Default 4. */
  readonly maxRps?: number;
  /** `BatchGetTraces` calls in flight. Default 4. */
  readonly concurrency?: number;
  /** Rounds of retrying `UnprocessedTraceIds` before counting them as lost. Default 4. */
  readonly unprocessedRetries?: number;
  /** Outer retries of a throttled or failing call after the SDK gave up. Default 6. */
  readonly callRetries?: number;
  /** Base delay of the outer and unprocessed-ID retries (doubled each time, capped at 20 s). Default 500 ms. */
  readonly retryDelayMs?: number;
  /**
   * Extra time queried on both sides of the range: a trace's ID carries whole seconds while the
   * pipeline places a trace by its first segment's exact start, so a trace at a window edge is
   * fetched by both neighbours and kept by exactly one. Default 2000 ms.
   */
  readonly marginMs?: number;
  /** Ranges longer than this are listed in chunks, so memory holds one chunk's IDs. Default 1 h. */
  readonly chunkMs?: number;
  /** For tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

/** The `GetTraceSummaries` fields the `traces` table and reports use, SDK types removed. */
export interface XRayTraceSummary {
  readonly id: string;
  readonly startTimeMs: number | null;
  readonly durationMs: number | null;
  readonly responseTimeMs: number | null;
  readonly hasError: boolean;
  readonly hasFault: boolean;
  readonly hasThrottle: boolean;
  readonly isPartial: boolean;
  readonly httpMethod: string | null;
  readonly httpUrl: string | null;
  readonly httpStatus: number | null;
  readonly annotations: Record<string, string>;
  readonly revision: number | null;
}

const sleepReal = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A token bucket shared by every call of one source: at most `rate` calls per second on average,
 * bursts up to `rate`. Waiters are served in order.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly rate: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = sleepReal,
  ) {
    if (!(rate > 0)) throw new SourceError(`X-Ray rate limit must be above 0 calls per second; got ${rate}`);
    this.tokens = Math.max(1, rate);
    this.last = now();
  }

  take(): Promise<void> {
    const turn = this.queue.then(async () => {
      for (;;) {
        const t = this.now();
        this.tokens = Math.min(Math.max(1, this.rate), this.tokens + ((t - this.last) / 1000) * this.rate);
        this.last = t;
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await this.sleep(Math.ceil(((1 - this.tokens) / this.rate) * 1000));
      }
    });
    this.queue = turn;
    return turn;
  }
}

function errorName(e: unknown): string {
  const name = typeof e === 'object' && e !== null ? (e as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : '';
}

function httpStatus(e: unknown): number | undefined {
  const meta =
    typeof e === 'object' && e !== null
      ? (e as { $metadata?: { httpStatusCode?: unknown } }).$metadata
      : undefined;
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

/** Throttling or a server-side failure: worth waiting for. Anything else (access, validation) is not. */
export function isRetryable(e: unknown): 'throttle' | 'server' | null {
  const name = errorName(e);
  const status = httpStatus(e);
  if (status === 429 || /Throttl|TooManyRequests|RequestLimitExceeded/.test(name)) return 'throttle';
  if (
    (status !== undefined && status >= 500) ||
    name === 'InternalFailure' ||
    name === 'ServiceUnavailable'
  ) {
    return 'server';
  }
  if (name === 'TimeoutError' || name === 'ECONNRESET' || name === 'ECONNREFUSED') return 'server';
  return null;
}

function summaryOf(s: TraceSummary): XRayTraceSummary {
  const annotations: Record<string, string> = {};
  for (const [key, values] of Object.entries(s.Annotations ?? {})) {
    const first = values[0]?.AnnotationValue;
    if (!first) continue;
    const v = first.StringValue ?? first.NumberValue ?? first.BooleanValue;
    if (v !== undefined) annotations[key] = String(v);
  }
  return {
    id: s.Id ?? '',
    startTimeMs: s.StartTime ? s.StartTime.getTime() : null,
    durationMs: s.Duration !== undefined ? s.Duration * 1000 : null,
    responseTimeMs: s.ResponseTime !== undefined ? s.ResponseTime * 1000 : null,
    hasError: s.HasError ?? false,
    hasFault: s.HasFault ?? false,
    hasThrottle: s.HasThrottle ?? false,
    isPartial: s.IsPartial ?? false,
    httpMethod: s.Http?.HttpMethod ?? null,
    httpUrl: s.Http?.HttpURL ?? null,
    httpStatus: s.Http?.HttpStatus ?? null,
    annotations,
    revision: s.Revision ?? null,
  };
}

/** The filter expression sent to X-Ray: the group and the user's expression, both must hold. */
export function combinedFilter(filterExpression?: string, group?: string): string | undefined {
  const parts: string[] = [];
  if (group) parts.push(`group.name = ${JSON.stringify(group)}`);
  if (filterExpression) parts.push(filterExpression);
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : parts.map((p) => `(${p})`).join(' AND ');
}

const BATCH = 5;

export class XRaySource implements TraceSource {
  private readonly limiter: TokenBucket;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly counters: Record<string, number> = {};
  private lastSummaries: XRayTraceSummary[] = [];
  private readonly filter: string | undefined;

  constructor(
    private readonly client: XRayClient,
    private readonly options: XRaySourceOptions = {},
  ) {
    this.sleep = options.sleep ?? sleepReal;
    this.limiter = new TokenBucket(options.maxRps ?? 4, options.now ?? Date.now, this.sleep);
    this.filter = combinedFilter(options.filterExpression, options.group);
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new SourceError(`X-Ray concurrency must be a whole number >= 1; got ${concurrency}`);
    }
  }

  describe(): string {
    return this.filter ? `xray (${this.filter})` : 'xray';
  }

  stats(): SourceStats {
    return { ...this.counters };
  }

  /** The trace summaries of the last `read`, in listing order (IDs deduplicated). */
  summaries(): readonly XRayTraceSummary[] {
    return this.lastSummaries;
  }

  private count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  /** One API call through the rate limiter, with bounded retries beyond the SDK's own. */
  private async call<T>(what: string, send: () => Promise<T>): Promise<T> {
    const retries = this.options.callRetries ?? 6;
    const base = this.options.retryDelayMs ?? 500;
    for (let attempt = 0; ; attempt++) {
      await this.limiter.take();
      this.count(`${what}_calls`);
      try {
        return await send();
      } catch (e) {
        const kind = isRetryable(e);
        if (kind === null || attempt >= retries) {
          const reason = e instanceof Error ? e.message : String(e);
          throw new SourceError(
            `xray: ${what} failed${attempt > 0 ? ` after ${attempt + 1} attempts` : ''}: ${errorName(e) || 'error'}: ${reason}`,
            { cause: e },
          );
        }
        this.count(kind === 'throttle' ? 'throttled_retries' : 'server_error_retries');
        await this.sleep(Math.min(20_000, base * 2 ** attempt));
      }
    }
  }

  async *read(range?: { fromMs: number; toMs: number }): AsyncIterable<SourceEvent> {
    if (!range)
      throw new SourceError('xray: the X-Ray source needs a time range (--from and --to, or a window)');
    if (!(range.toMs > range.fromMs)) {
      throw new SourceError(
        `xray: empty time range ${new Date(range.fromMs).toISOString()} .. ${new Date(range.toMs).toISOString()}`,
      );
    }
    this.lastSummaries = [];
    const margin = this.options.marginMs ?? 2000;
    const chunk = this.options.chunkMs ?? 3_600_000;
    const seen = new Set<string>();
    for (let from = range.fromMs - margin; from < range.toMs + margin; from += chunk) {
      const to = Math.min(from + chunk, range.toMs + margin);
      const ids: string[] = [];
      const byId = new Map<string, XRayTraceSummary>();
      for await (const s of this.listSummaries(from, to)) {
        if (!s.Id || seen.has(s.Id)) continue;
        seen.add(s.Id);
        const summary = summaryOf(s);
        this.count('summaries');
        if (summary.isPartial) {
          this.count('partial_skipped');
          continue;
        }
        this.lastSummaries.push(summary);
        byId.set(summary.id, summary);
        ids.push(summary.id);
      }
      yield* this.fetchTraces(ids, byId);
    }
  }

  private async *listSummaries(fromMs: number, toMs: number): AsyncIterable<TraceSummary> {
    let token: string | undefined;
    do {
      const out: GetTraceSummariesCommandOutput = await this.call('GetTraceSummaries', () =>
        this.client.send(
          new GetTraceSummariesCommand({
            StartTime: new Date(fromMs),
            EndTime: new Date(toMs),
            TimeRangeType: 'TraceId',
            Sampling: false,
            ...(this.filter ? { FilterExpression: this.filter } : {}),
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      for (const s of out.TraceSummaries ?? []) yield s;
      token = out.NextToken || undefined;
    } while (token);
  }

  /** Batches of 5 IDs, `concurrency` batches in flight, yielded in listing order. */
  private async *fetchTraces(
    ids: readonly string[],
    byId: Map<string, XRayTraceSummary>,
  ): AsyncIterable<SourceEvent> {
    const batches: string[][] = [];
    for (let i = 0; i < ids.length; i += BATCH) batches.push(ids.slice(i, i + BATCH));
    const concurrency = this.options.concurrency ?? 4;
    const inFlight: Promise<Trace[]>[] = [];
    let next = 0;
    const start = () => {
      const p = this.fetchBatch(batches[next++]!);
      // Awaited in order below; this only keeps a failure that is not awaited yet from being "unhandled".
      p.catch(() => undefined);
      inFlight.push(p);
    };
    while (next < batches.length && inFlight.length < concurrency) start();
    while (inFlight.length > 0) {
      const traces = await inFlight.shift()!;
      if (next < batches.length) start();
      for (const trace of traces) {
        const event = this.traceEvent(trace, byId.get(trace.Id ?? ''));
        if (event) yield event;
      }
    }
  }

  /** One batch, with `UnprocessedTraceIds` retried in bounded rounds; returns traces in ID order. */
  private async fetchBatch(ids: readonly string[]): Promise<Trace[]> {
    const found = new Map<string, Trace>();
    let pending = [...ids];
    const rounds = this.options.unprocessedRetries ?? 4;
    const base = this.options.retryDelayMs ?? 500;
    for (let round = 0; pending.length > 0; round++) {
      const unprocessed = new Set<string>();
      let token: string | undefined;
      const asked = pending;
      do {
        const out: BatchGetTracesCommandOutput = await this.call('BatchGetTraces', () =>
          this.client.send(
            new BatchGetTracesCommand({ TraceIds: asked, ...(token ? { NextToken: token } : {}) }),
          ),
        );
        for (const t of out.Traces ?? []) {
          if (!t.Id) continue;
          const prev = found.get(t.Id);
          // A trace may come back over several pages: keep every segment.
          found.set(
            t.Id,
            prev ? { ...prev, Segments: [...(prev.Segments ?? []), ...(t.Segments ?? [])] } : t,
          );
        }
        for (const id of out.UnprocessedTraceIds ?? []) unprocessed.add(id);
        token = out.NextToken || undefined;
      } while (token);
      pending = asked.filter((id) => unprocessed.has(id) && !found.has(id));
      if (pending.length === 0) break;
      if (round >= rounds) {
        this.count('unprocessed_lost', pending.length);
        break;
      }
      this.count('unprocessed_retried', pending.length);
      await this.sleep(Math.min(20_000, base * 2 ** round));
    }
    const out: Trace[] = [];
    for (const id of ids) {
      const t = found.get(id);
      if (t) out.push(t);
      else if (!pending.includes(id)) this.count('not_returned');
    }
    return out;
  }

  private traceEvent(trace: Trace, summary: XRayTraceSummary | undefined): SourceEvent | null {
    const traceId = trace.Id ?? '';
    if (trace.LimitExceeded) this.count('limit_exceeded');
    const documents: RawRecord[] = (trace.Segments ?? []).map((segment, i) => ({
      value: { Id: segment.Id, Document: segment.Document },
      location: { source: 'xray:BatchGetTraces', pointer: `Traces[${traceId}].Segments[${i}]` },
    }));
    if (documents.length === 0) {
      this.count('empty_traces');
      return null;
    }
    this.count('traces');
    return { type: 'trace', traceId, documents, ...(summary ? { summary } : {}) };
  }
}

function envNumber(env: Env, name: string, fallback: number, integer: boolean): number {
  const v = env[name]?.trim();
  if (!v) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new ConfigError(`${name}: "${v}" must be a ${integer ? 'whole number' : 'number'} above 0`);
  }
  return n;
}

/**
 * An X-Ray source configured from the environment (`TRACELAKE_XRAY_MAX_RPS`,
 * `TRACELAKE_XRAY_CONCURRENCY`, `TRACELAKE_XRAY_FILTER_EXPRESSION`, `TRACELAKE_XRAY_GROUP`,
 * `AWS_ENDPOINT_URL_XRAY`); explicit `overrides` (CLI flags) win over the variables.
 *
 * @example const source = xraySourceFromEnv(process.env, { group: 'checkout' });
 */
export function xraySourceFromEnv(
  env: Env,
  overrides: { filterExpression?: string | undefined; group?: string | undefined } = {},
): XRaySource {
  const client = env === process.env ? awsClients.xray : makeXRayClient({}, env);
  return new XRaySource(client, {
    filterExpression:
      overrides.filterExpression ?? (env.TRACELAKE_XRAY_FILTER_EXPRESSION?.trim() || undefined),
    group: overrides.group ?? (env.TRACELAKE_XRAY_GROUP?.trim() || undefined),
    maxRps: envNumber(env, 'TRACELAKE_XRAY_MAX_RPS', 4, false),
    concurrency: envNumber(env, 'TRACELAKE_XRAY_CONCURRENCY', 4, true),
  });
}
