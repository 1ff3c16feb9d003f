import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/core/errors.js';
import {
  DEFAULT_START_MS,
  type DemoOptions,
  type GeneratedTrace,
  generateTraces,
  resolveDemoOptions,
} from '../../lib/demo/generate.js';
import {
  brokenReason,
  checkTrace,
  type Doc,
  durationMs,
  HEX16,
  isObject,
  median,
  quantile,
  spansOf,
} from './xray-shape.js';

const fixtures = path.resolve(import.meta.dirname, '../..', '..', 'shared', 'fixtures', 'xray-public');
const HOUR = 3_600_000;

function collect(options: DemoOptions): GeneratedTrace[] {
  return [...generateTraces(options)];
}

function docsOf(trace: GeneratedTrace): Doc[] {
  return trace.segments.filter(isObject);
}

/** Every complete span with its enclosing segment, over all traces. */
function* allSpans(traces: readonly GeneratedTrace[]) {
  for (const trace of traces) {
    for (const doc of docsOf(trace)) {
      for (const s of spansOf(doc)) yield { ...s, trace };
    }
  }
}

/** Durations of the DynamoDB subsegments of `service` for one operation and table, split at `atMs`. */
function dynamoDurations(
  traces: readonly GeneratedTrace[],
  service: string,
  op: string,
  table: string,
  atMs: number,
) {
  const before: number[] = [];
  const after: number[] = [];
  for (const { span, segment, depth, trace } of allSpans(traces)) {
    if (depth === 0 || segment.name !== service || span.name !== 'DynamoDB') continue;
    const aws = span.aws as Doc;
    if (aws.operation !== op || aws.table_name !== table) continue;
    (trace.startMs >= atMs ? after : before).push(durationMs(span));
  }
  return { before, after };
}

describe('generateTraces', () => {
  // One shared run for the shape and realism checks: 1 h at 3 req/s, plenty of rare events.
  const options: DemoOptions = { seed: 11, hours: 1, requestsPerSecond: 3, inProgressFraction: 0.01 };
  const traces = collect(options);

  it('is deterministic for a seed and differs across seeds', () => {
    // Prepare
    const small: DemoOptions = { seed: 5, hours: 0.25 };
    // Act
    const a = collect(small);
    const b = collect(small);
    const c = collect({ ...small, seed: 6 });
    // Assess
    expect(a.length).toBeGreaterThan(500);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(c.map((t) => t.traceId)).not.toEqual(a.map((t) => t.traceId));
  });

  it('emits documents that pass the X-Ray shape checks, with exact per-trace span counts', () => {
    const problems: string[] = [];
    for (const trace of traces) {
      if (trace.brokenDocuments > 0) continue;
      const check = checkTrace(trace.traceId, docsOf(trace));
      problems.push(...check.problems.map((p) => `${trace.traceId} ${p}`));
      if (check.completeSpans !== trace.completeSpans || check.inProgressSpans !== trace.inProgressSpans) {
        problems.push(
          `${trace.traceId}: counted ${check.completeSpans}/${check.inProgressSpans}, trace says ${trace.completeSpans}/${trace.inProgressSpans}`,
        );
      }
    }
    expect(problems.slice(0, 10)).toEqual([]);
  });

  it('yields traces in start order inside the requested range, trace ids carrying the start second', () => {
    const { startMs, endMs } = resolveDemoOptions(options);
    let previous = -1;
    for (const trace of traces) {
      expect(trace.startMs).toBeGreaterThanOrEqual(previous);
      expect(trace.startMs).toBeGreaterThanOrEqual(startMs);
      expect(trace.startMs).toBeLessThan(endMs);
      const epochHex = Math.floor(trace.startMs / 1000)
        .toString(16)
        .padStart(8, '0');
      expect(trace.traceId.slice(2, 10)).toBe(epochHex);
      previous = trace.startMs;
    }
    // Root segment start equals the trace start.
    const root = docsOf(traces[0]!).find((d) => d.parent_id === undefined)!;
    expect((root.start_time as number) * 1000).toBeCloseTo(traces[0]!.startMs, 3);
  });

  it('shows the whole shop: every origin, inferred segments, SQL, remote HTTP and the SQS consumer', () => {
    const origins = new Set<string>();
    const names = new Set<string>();
    let sql = 0;
    let inferred = 0;
    for (const { span } of allSpans(traces)) {
      if (typeof span.origin === 'string') origins.add(span.origin);
      names.add(String(span.name));
      if (span.inferred === true) inferred += 1;
      const q = span.sql as Doc | undefined;
      if (q !== undefined) {
        expect(q.database_type).toBe('PostgreSQL');
        expect(String(q.url)).toMatch(/^postgresql:\/\//);
        expect(String(q.sanitized_query)).toMatch(/^(SELECT|UPDATE) /);
        expect(span.namespace).toBe('remote');
        sql += 1;
      }
    }
    expect([...origins].sort()).toEqual([
      'AWS::ApiGateway::Stage',
      'AWS::DynamoDB::Table',
      'AWS::ECS::Container',
      'AWS::Lambda',
      'AWS::Lambda::Function',
      'AWS::S3::Bucket',
      'AWS::SQS::Queue',
    ]);
    for (const name of ['shop-api/prod', 'orders-api', 'order-worker', 'inventory', 'payments.example.com']) {
      expect(names).toContain(name);
    }
    for (const name of ['Invocation', 'Overhead', 'Initialization', 'Lambda', 'DynamoDB', 'S3', 'SQS']) {
      expect(names).toContain(name);
    }
    expect(sql).toBeGreaterThan(100);
    expect(inferred).toBeGreaterThan(1000);
    // Every order placed (201) sends one event, consumed by exactly one order-worker trace (a few
    // consumed after the end of the range are left out).
    const placed = traces.filter((t) =>
      docsOf(t).some((d) => d.origin === 'AWS::ApiGateway::Stage' && statusOf(d) === 201),
    );
    const workers = traces.filter((t) =>
      docsOf(t).some((d) => d.origin === 'AWS::Lambda' && d.name === 'order-worker'),
    );
    expect(workers.length).toBeLessThanOrEqual(placed.length);
    expect(workers.length).toBeGreaterThan(placed.length - 10);
  });

  it('copies the shapes of real API Gateway and Lambda function segments', () => {
    const fixtureKeys = (file: string) =>
      Object.keys(JSON.parse(readFileSync(path.join(fixtures, file), 'utf8')) as Doc).filter(
        (k) => k !== 'metadata',
      );
    const apiGateway = docsOf(traces[1]!).find((d) => d.origin === 'AWS::ApiGateway::Stage')!;
    const fn = docsOf(traces[1]!).find((d) => d.origin === 'AWS::Lambda::Function')!;
    expect(Object.keys(apiGateway)).toEqual(
      expect.arrayContaining(fixtureKeys('iatk-segment-apigateway-stage-with-lambda-invoke-subsegment.json')),
    );
    expect(Object.keys(fn)).toEqual(
      expect.arrayContaining(
        fixtureKeys('iatk-segment-lambda-function-init-invocation-overhead-eventbridge.json'),
      ),
    );
    const subNames = (fn.subsegments as Doc[]).map((s) => s.name);
    expect(subNames.slice(-2)).toEqual(['Invocation', 'Overhead']);
  });

  it('has cold starts on about 2 % of invocations, with Initialization of 200–900 ms', () => {
    let functions = 0;
    const inits: number[] = [];
    for (const { span, depth } of allSpans(traces)) {
      if (depth === 0 && span.origin === 'AWS::Lambda::Function' && span.in_progress !== true) functions += 1;
      if (span.name === 'Initialization') inits.push(durationMs(span));
    }
    const share = inits.length / functions;
    expect(share).toBeGreaterThan(0.012);
    expect(share).toBeLessThan(0.03);
    expect(Math.min(...inits)).toBeGreaterThanOrEqual(199.999);
    expect(Math.max(...inits)).toBeLessThanOrEqual(900.001);
  });

  it('has realistic latencies per dependency', () => {
    const byKey = new Map<string, number[]>();
    for (const { span, depth } of allSpans(traces)) {
      if (depth === 0 || span.in_progress === true || span.error === true || span.fault === true) continue;
      const aws = span.aws as Doc | undefined;
      const key = `${String(span.name)} ${String(aws?.operation ?? '')}`.trim();
      const list = byKey.get(key) ?? [];
      byKey.set(key, list);
      list.push(durationMs(span));
    }
    const get = byKey.get('DynamoDB GetItem')!;
    expect(median(get)).toBeGreaterThan(4);
    expect(median(get)).toBeLessThan(8);
    expect(quantile(get, 0.99)).toBeGreaterThan(15);
    expect(quantile(get, 0.99)).toBeLessThan(45);
    const pay = byKey.get('payments.example.com')!;
    expect(median(pay)).toBeGreaterThan(95);
    expect(median(pay)).toBeLessThan(150);
    expect(quantile(pay, 0.99)).toBeGreaterThan(500);
    const s3 = byKey.get('S3 GetObject')!;
    expect(median(s3)).toBeGreaterThan(18);
    expect(median(s3)).toBeLessThan(32);
    const sqlDurations = [...byKey.entries()]
      .filter(([k]) => k.startsWith('inventory@'))
      .flatMap(([, v]) => v);
    expect(median(sqlDurations)).toBeGreaterThan(3);
    expect(median(sqlDurations)).toBeLessThan(8);
  });

  it('has errors, faults and throttles flagged the X-Ray way', () => {
    let ddbThrottles = 0;
    let payFaults = 0;
    let payThrottles = 0;
    let clientErrors = 0;
    for (const { span, depth } of allSpans(traces)) {
      const status = statusOf(span);
      if (span.name === 'DynamoDB' && depth > 0 && span.throttle === true) {
        expect(status).toBe(400);
        expect(span.error).toBe(true);
        const cause = span.cause as Doc;
        expect((cause.exceptions as Doc[])[0]!.type).toBe('ProvisionedThroughputExceededException');
        ddbThrottles += 1;
      }
      if (span.name === 'payments.example.com' && depth > 0) {
        if (span.fault === true) {
          expect(status).toBeGreaterThanOrEqual(500);
          payFaults += 1;
        }
        if (span.throttle === true) {
          expect(status).toBe(429);
          payThrottles += 1;
        }
      }
      if (span.origin === 'AWS::ApiGateway::Stage' && status !== undefined && status >= 400 && status < 500) {
        expect(span.error).toBe(true);
        expect(span.fault).toBeUndefined();
        clientErrors += 1;
      }
    }
    expect(ddbThrottles).toBeGreaterThan(0);
    expect(payFaults).toBeGreaterThan(0);
    expect(payThrottles).toBeGreaterThan(0);
    expect(clientErrors).toBeGreaterThan(20);
  });

  it('keeps in-progress traces open end to end, without end times', () => {
    const open = traces.filter((t) => t.inProgressSpans > 0);
    const apiTraces = traces.filter((t) => docsOf(t).some((d) => d.origin === 'AWS::ApiGateway::Stage'));
    expect(open.length / apiTraces.length).toBeGreaterThan(0.005);
    expect(open.length / apiTraces.length).toBeLessThan(0.02);
    for (const trace of open) {
      expect(trace.completeSpans).toBe(0);
      for (const doc of docsOf(trace)) {
        for (const { span } of spansOf(doc)) {
          expect(span.in_progress).toBe(true);
          expect(span.end_time).toBeUndefined();
        }
      }
    }
  });

  it('injects the regression: orders-api > DynamoDB Query orders 2.5x slower after the onset, others unchanged', () => {
    // Prepare: defaults put the onset two thirds into the run.
    const opts: DemoOptions = { seed: 3, hours: 1.5, requestsPerSecond: 2 };
    const atMs = resolveDemoOptions(opts).regression!.atMs;
    expect(atMs).toBe(DEFAULT_START_MS + HOUR);
    // Act
    const run = collect(opts);
    // Assess: measured from the generated documents.
    const query = dynamoDurations(run, 'orders-api', 'Query', 'orders', atMs);
    expect(query.before.length).toBeGreaterThan(500);
    expect(query.after.length).toBeGreaterThan(250);
    const ratio = median(query.after) / median(query.before);
    expect(ratio).toBeGreaterThan(2.2);
    expect(ratio).toBeLessThan(2.8);
    const get = dynamoDurations(run, 'orders-api', 'GetItem', 'orders', atMs);
    const getRatio = median(get.after) / median(get.before);
    expect(getRatio).toBeGreaterThan(0.9);
    expect(getRatio).toBeLessThan(1.1);
    // The order-worker's own DynamoDB calls on the same table are not part of the key.
    const worker = dynamoDurations(run, 'order-worker', 'UpdateItem', 'orders', atMs);
    expect(median(worker.after) / median(worker.before)).toBeLessThan(1.15);
  });

  it('bumps service.version of the regressed service at the onset, and only of that one', () => {
    const opts: DemoOptions = { seed: 3, hours: 0.5 };
    const atMs = resolveDemoOptions(opts).regression!.atMs;
    const versions = new Map<string, Set<string>>();
    for (const trace of collect(opts)) {
      for (const doc of docsOf(trace)) {
        const version = (doc.service as Doc | undefined)?.version;
        if (typeof version !== 'string') continue;
        const key = `${String(doc.name)} ${trace.startMs >= atMs ? 'after' : 'before'}`;
        if (!versions.has(key)) versions.set(key, new Set());
        versions.get(key)!.add(version);
      }
    }
    expect(versions.get('orders-api before')).toEqual(new Set(['2.3.1']));
    expect(versions.get('orders-api after')).toEqual(new Set(['2.4.0']));
    expect(versions.get('inventory before')).toEqual(versions.get('inventory after'));
  });

  it('applies a configured regression elsewhere (payments 3x), keeping children inside parents', () => {
    const opts: DemoOptions = {
      seed: 9,
      hours: 1,
      requestsPerSecond: 4,
      regression: {
        service: 'orders-api',
        name: 'payments.example.com',
        factor: 3,
        atMs: DEFAULT_START_MS + HOUR / 2,
      },
    };
    const run = collect(opts);
    const before: number[] = [];
    const after: number[] = [];
    const problems: string[] = [];
    for (const trace of run) {
      if (trace.brokenDocuments === 0) problems.push(...checkTrace(trace.traceId, docsOf(trace)).problems);
      for (const doc of docsOf(trace)) {
        for (const { span, depth } of spansOf(doc)) {
          if (
            depth > 0 &&
            span.name === 'payments.example.com' &&
            span.fault !== true &&
            span.throttle !== true
          ) {
            (trace.startMs >= DEFAULT_START_MS + HOUR / 2 ? after : before).push(durationMs(span));
          }
        }
      }
    }
    expect(problems.slice(0, 5)).toEqual([]);
    const ratio = median(after) / median(before);
    expect(ratio).toBeGreaterThan(2.6);
    expect(ratio).toBeLessThan(3.4);
  });

  it('has no regression when told so', () => {
    const opts: DemoOptions = { seed: 3, hours: 1.5, requestsPerSecond: 2, regression: null };
    const query = dynamoDurations(collect(opts), 'orders-api', 'Query', 'orders', DEFAULT_START_MS + HOUR);
    const ratio = median(query.after) / median(query.before);
    expect(ratio).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThan(1.1);
  });

  it('writes the requested broken documents, each one really broken, spread over the run', () => {
    // Act
    const run = collect({ seed: 2, hours: 0.5, brokenDocuments: 6 });
    const broken = run.filter((t) => t.brokenDocuments > 0);
    // Assess
    expect(broken).toHaveLength(6);
    const reasons = broken.map((t) => {
      expect(t.segments).toHaveLength(1);
      expect(t.completeSpans).toBe(0);
      const segment = t.segments[0]!;
      return brokenReason(typeof segment === 'string' ? segment : JSON.stringify(segment));
    });
    expect(reasons.filter((r) => r === 'not JSON')).toHaveLength(2);
    expect(reasons.filter((r) => r?.includes('is not 16 hex digits'))).toHaveLength(2);
    expect(reasons.filter((r) => r?.includes('end_time before start_time'))).toHaveLength(2);
    // The traces around them are fine: broken ones sit at distinct times, not clumped.
    const starts = broken.map((t) => t.startMs);
    expect(new Set(starts.map((s) => Math.floor(s / 60_000))).size).toBe(6);
    for (const t of broken) expect(t.traceId).toMatch(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    // The non-hex id is still 16 characters: only its alphabet is wrong.
    const nonHex = broken
      .map((t) => t.segments[0]!)
      .find((s) => typeof s !== 'string' && !HEX16.test(String(s.id)));
    expect(String((nonHex as Doc).id)).toHaveLength(16);
  });

  it('defaults to about 3 hours of traffic with 100–150k spans', () => {
    const resolved = resolveDemoOptions();
    expect(resolved.endMs - resolved.startMs).toBe(3 * HOUR);
    let spans = 0;
    for (const trace of generateTraces({})) spans += trace.completeSpans;
    expect(spans).toBeGreaterThan(100_000);
    expect(spans).toBeLessThan(150_000);
  });

  it.each([
    [{ hours: 0 }, /hours/],
    [{ requestsPerSecond: -1 }, /requestsPerSecond/],
    [{ inProgressFraction: 2 }, /inProgressFraction/],
    [{ brokenDocuments: 1.5 }, /brokenDocuments/],
    [{ seed: 1.5 }, /seed/],
    [{ regression: { service: 'orders-api', name: 'DynamoDB', factor: 0, atMs: 0 } }, /regression.factor/],
  ] as [DemoOptions, RegExp][])('rejects bad options (%o) with a ConfigError naming them', (bad, pattern) => {
    expect(() => generateTraces(bad)).toThrow(ConfigError);
    expect(() => generateTraces(bad)).toThrow(pattern);
  });
});

function statusOf(doc: Doc): number | undefined {
  const status = ((doc.http as Doc | undefined)?.response as Doc | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}
