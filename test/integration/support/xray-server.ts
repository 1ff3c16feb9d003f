/**
 * A local X-Ray endpoint speaking the service's REST-JSON protocol as the SDK sends it
 * (`POST /TraceSummaries`, `POST /Traces`; timestamps as epoch seconds; errors named by the
 * `x-amzn-ErrorType` header), serving fixed traces, with faults injected on demand: HTTP 429
 * `ThrottledException` above a request rate, periodic 500s, and `UnprocessedTraceIds`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedTrace {
  readonly id: string;
  /** `Segments` entries as the API returns them. */
  readonly segments: readonly { Id: string; Document: string }[];
  readonly durationS?: number;
  readonly partial?: boolean;
}

export interface XRayFaults {
  /** Requests per second accepted (sliding one-second window); more get HTTP 429. */
  readonly maxRps?: number;
  /** Every Nth request (after throttling) fails with HTTP 500. */
  readonly serverErrorEvery?: number;
  /** Every Nth trace ID asked is answered as unprocessed the first time it is asked. */
  readonly unprocessedEvery?: number;
  /** Summaries per page. Default 25. */
  readonly pageSize?: number;
}

export interface XRayServerStats {
  requests: number;
  throttled: number;
  serverErrors: number;
  unprocessed: number;
  summaryCalls: number;
  batchCalls: number;
  maxBatchSize: number;
  /** Distinct IDs returned in `Traces`. */
  served: Set<string>;
  /** Request times (ms) accepted (not throttled), for rate checks. */
  accepted: number[];
}

export interface LocalXRay {
  readonly endpoint: string;
  readonly stats: XRayServerStats;
  stop(): Promise<void>;
}

function traceEpochSeconds(id: string): number {
  return Number.parseInt(id.split('-')[1] ?? '0', 16);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
}

export async function startXRay(traces: readonly ServedTrace[], faults: XRayFaults = {}): Promise<LocalXRay> {
  const sorted = [...traces].sort(
    (a, b) => traceEpochSeconds(a.id) - traceEpochSeconds(b.id) || (a.id < b.id ? -1 : 1),
  );
  const byId = new Map(sorted.map((t) => [t.id, t]));
  const askedBefore = new Set<string>();
  let idCounter = 0;
  let afterThrottle = 0;
  const pageSize = faults.pageSize ?? 25;
  const stats: XRayServerStats = {
    requests: 0,
    throttled: 0,
    serverErrors: 0,
    unprocessed: 0,
    summaryCalls: 0,
    batchCalls: 0,
    maxBatchSize: 0,
    served: new Set(),
    accepted: [],
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const text = await readBody(req);
    stats.requests++;
    const now = Date.now();
    if (faults.maxRps !== undefined) {
      const recent = stats.accepted.filter((t) => t > now - 1000).length;
      if (recent >= faults.maxRps) {
        stats.throttled++;
        send(res, 429, { message: 'Rate exceeded' }, 'ThrottledException');
        return;
      }
    }
    stats.accepted.push(now);
    afterThrottle++;
    if (faults.serverErrorEvery && afterThrottle % faults.serverErrorEvery === 0) {
      stats.serverErrors++;
      send(res, 500, { message: 'Internal failure' }, 'InternalFailure');
      return;
    }
    let input: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text || '{}');
      if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
      input = parsed as Record<string, unknown>;
    } catch {
      send(res, 400, { message: 'body is not JSON' }, 'InvalidRequestException');
      return;
    }
    if (req.method === 'POST' && req.url === '/TraceSummaries') {
      stats.summaryCalls++;
      const start = input.StartTime;
      const end = input.EndTime;
      if (typeof start !== 'number' || typeof end !== 'number' || input.TimeRangeType !== 'TraceId') {
        send(
          res,
          400,
          { message: 'StartTime/EndTime (epoch seconds) and TimeRangeType TraceId expected' },
          'InvalidRequestException',
        );
        return;
      }
      const matching = sorted.filter(
        (t) => traceEpochSeconds(t.id) >= start && traceEpochSeconds(t.id) < end,
      );
      const offset = typeof input.NextToken === 'string' ? Number(input.NextToken) : 0;
      const page = matching.slice(offset, offset + pageSize);
      send(res, 200, {
        TraceSummaries: page.map((t) => ({
          Id: t.id,
          StartTime: traceEpochSeconds(t.id),
          Duration: t.durationS ?? 0.1,
          ResponseTime: t.durationS ?? 0.1,
          HasError: false,
          HasFault: false,
          HasThrottle: false,
          IsPartial: t.partial ?? false,
        })),
        ApproximateTime: now / 1000,
        TracesProcessedCount: page.length,
        ...(offset + pageSize < matching.length ? { NextToken: String(offset + pageSize) } : {}),
      });
      return;
    }
    if (req.method === 'POST' && req.url === '/Traces') {
      stats.batchCalls++;
      const ids = input.TraceIds;
      if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
        send(res, 400, { message: 'TraceIds must be a list of strings' }, 'InvalidRequestException');
        return;
      }
      stats.maxBatchSize = Math.max(stats.maxBatchSize, ids.length);
      if (ids.length > 5) {
        send(res, 400, { message: 'at most 5 trace IDs per call' }, 'InvalidRequestException');
        return;
      }
      const out: unknown[] = [];
      const unprocessed: string[] = [];
      for (const id of ids as string[]) {
        idCounter++;
        if (faults.unprocessedEvery && !askedBefore.has(id) && idCounter % faults.unprocessedEvery === 0) {
          askedBefore.add(id);
          unprocessed.push(id);
          stats.unprocessed++;
          continue;
        }
        askedBefore.add(id);
        const t = byId.get(id);
        if (!t) continue;
        stats.served.add(id);
        out.push({ Id: t.id, Duration: t.durationS ?? 0.1, LimitExceeded: false, Segments: t.segments });
      }
      send(res, 200, { Traces: out, UnprocessedTraceIds: unprocessed });
      return;
    }
    send(res, 404, { message: `no route ${req.method} ${req.url}` }, 'UnknownOperationException');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, { message: String(e) }, 'InternalFailure'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
