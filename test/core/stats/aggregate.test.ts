import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, ValidationError } from '../../../lib/core/errors.js';
import { type SpanRow, spanKey } from '../../../lib/core/model.js';
import { WindowAggregator } from '../../../lib/core/stats/aggregate.js';
import { DDSketch } from '../../../lib/core/stats/ddsketch.js';
import { exactQuantile, rng } from './datasets.js';

const W = 300_000;
const T0 = Date.UTC(2026, 0, 1, 10, 5);
const TOLERANCE = 0.01 * (1 + 1e-9);

let spanCounter = 0;
function span(overrides: Partial<SpanRow> = {}): SpanRow {
  spanCounter++;
  return {
    trace_id: '1-6760a000-000000000000000000000001',
    id: spanCounter.toString(16).padStart(16, '0'),
    parent_id: 'aaaaaaaaaaaaaaaa',
    segment_id: 'aaaaaaaaaaaaaaaa',
    service: 'orders',
    origin: 'AWS::Lambda::Function',
    name: 'DynamoDB',
    namespace: 'aws',
    kind: 'subsegment',
    path: 'orders > DynamoDB',
    depth: 1,
    start_time: T0 + 1000,
    end_time: T0 + 1010,
    duration_ms: 10,
    self_ms: 10,
    http_method: null,
    http_status: null,
    http_url: null,
    aws_operation: 'GetItem',
    aws_resource: 'orders-table',
    sql_url: null,
    sql_database_type: null,
    service_version: null,
    error: false,
    fault: false,
    throttle: false,
    inferred: false,
    annotations: null,
    window_start: T0,
    ...overrides,
  };
}

const trace = (n: number) => `1-6760a000-${n.toString(16).padStart(24, '0')}`;

function aggregate(rows: readonly SpanRow[], exemplarCount?: number): WindowAggregator {
  const agg = new WindowAggregator({ windowMs: W, exemplarCount });
  for (const row of rows) agg.add(row);
  return agg;
}

function relativeError(estimate: number, exact: number): number {
  return exact === 0 ? (estimate === 0 ? 0 : Number.POSITIVE_INFINITY) : Math.abs(estimate - exact) / exact;
}

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const next = rng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('WindowAggregator: counts and percentiles', () => {
  it('counts requests, errors, faults and throttles; exact min, mean and max', () => {
    const rows = [
      span({ duration_ms: 4 }),
      span({ duration_ms: 8, error: true }),
      span({ duration_ms: 15, fault: true }),
      span({ duration_ms: 16, throttle: true, error: true }),
      span({ duration_ms: 2 }),
    ];

    const [row] = aggregate(rows).statsRows(T0);

    expect(row).toMatchObject({
      window_start: T0,
      window_end: T0 + W,
      key: 'orders > DynamoDB GetItem orders-table',
      kind: 'subsegment',
      service: 'orders',
      name: 'DynamoDB',
      namespace: 'aws',
      aws_operation: 'GetItem',
      aws_resource: 'orders-table',
      count: 5,
      error_count: 2,
      fault_count: 1,
      throttle_count: 1,
      min_ms: 2,
      mean_ms: 9,
      max_ms: 16,
    });
  });

  it('gives duration and self-time percentiles within 1 % of the exact nearest-rank quantiles', () => {
    const next = rng(42);
    const rows = Array.from({ length: 5000 }, () => {
      const duration = Math.exp(2 + 1.2 * next() * 3);
      return span({ duration_ms: duration, self_ms: duration * next() * 0.5 });
    });
    const durations = rows.map((r) => r.duration_ms).sort((a, b) => a - b);
    const selfs = rows.map((r) => r.self_ms).sort((a, b) => a - b);

    const [row] = aggregate(rows).statsRows(T0);

    const checks: [number, number][] = [
      [row!.p50_ms, exactQuantile(durations, 0.5)],
      [row!.p90_ms, exactQuantile(durations, 0.9)],
      [row!.p95_ms, exactQuantile(durations, 0.95)],
      [row!.p99_ms, exactQuantile(durations, 0.99)],
      [row!.p999_ms, exactQuantile(durations, 0.999)],
      [row!.self_p50_ms, exactQuantile(selfs, 0.5)],
      [row!.self_p99_ms, exactQuantile(selfs, 0.99)],
    ];
    for (const [estimate, exact] of checks)
      expect(relativeError(estimate, exact)).toBeLessThanOrEqual(TOLERANCE);
    // Self time is a different distribution: its median is well below the duration median.
    expect(row!.self_p50_ms).toBeLessThan(row!.p50_ms * 0.6);
  });

  it('serializes both sketches; decoding them gives the live sketches from keyState', () => {
    const rows = [span({ duration_ms: 3, self_ms: 1 }), span({ duration_ms: 300, self_ms: 0 })];
    const agg = aggregate(rows);

    const [row] = agg.statsRows(T0);
    const state = agg.keyState(T0, row!.key)!;

    const sketch = DDSketch.decode(row!.sketch);
    const selfSketch = DDSketch.decode(row!.self_sketch);
    expect(sketch.count).toBe(2);
    expect([...sketch.bins()]).toEqual([...state.sketch.bins()]);
    expect([...selfSketch.bins()]).toEqual([...state.selfSketch.bins()]);
    expect([...selfSketch.bins()][0]).toEqual({ value: 0, count: 1 });
    expect(agg.keyState(T0, 'no such key')).toBeUndefined();
    expect(agg.keyState(T0 + W, row!.key)).toBeUndefined();
  });

  it('makes one row per key, sorted by key, with segments keyed apart from subsegments', () => {
    const rows = [
      span({ name: 'S3', aws_operation: 'PutObject', aws_resource: 'bucket' }),
      span({ kind: 'segment', name: 'orders', aws_operation: null, aws_resource: null, namespace: null }),
      span({
        service: 'billing',
        name: 'charge',
        aws_operation: null,
        aws_resource: null,
        namespace: 'remote',
      }),
      span(),
      span({ name: 'S3', aws_operation: 'PutObject', aws_resource: 'bucket' }),
    ];

    const stats = aggregate(rows).statsRows(T0);

    expect(stats.map((r) => [r.key, r.count])).toEqual([
      ['billing > charge', 1],
      ['orders > DynamoDB GetItem orders-table', 1],
      ['orders > S3 PutObject bucket', 2],
      ['orders [AWS::Lambda::Function]', 1],
    ]);
    expect(stats[3]).toMatchObject({
      kind: 'segment',
      namespace: null,
      aws_operation: null,
      origin: 'AWS::Lambda::Function',
    });
    // Subsegments carry their segment's origin on the span row, but it is not part of their key.
    expect(stats[1]).toMatchObject({ kind: 'subsegment', origin: null });
  });

  it('returns the key each row was added under, the spanKey of the row', () => {
    const agg = new WindowAggregator({ windowMs: W });
    const rows = [
      span(),
      span({ kind: 'segment', name: 'orders', aws_operation: null, aws_resource: null }),
      span({ kind: 'segment', name: 'orders', origin: null, aws_operation: null, aws_resource: null }),
      span({ name: 'DynamoDB GetItem', aws_operation: null }),
      span({ service: 'billing', aws_resource: null }),
      span(),
    ];
    expect(rows.map((r) => agg.add(r))).toEqual(rows.map((r) => spanKey(r)));
  });

  it("keys a Lambda service's AWS::Lambda and AWS::Lambda::Function segments apart", () => {
    const segment = {
      kind: 'segment',
      name: 'orders',
      aws_operation: null,
      aws_resource: null,
      namespace: null,
    } as const;
    const rows = [
      span({ ...segment, origin: 'AWS::Lambda', duration_ms: 40, self_ms: 40 }),
      span({ ...segment, origin: 'AWS::Lambda::Function', duration_ms: 25, self_ms: 25 }),
      span({ ...segment, origin: null, duration_ms: 5, self_ms: 5 }),
    ];

    const stats = aggregate(rows).statsRows(T0);

    expect(stats.map((r) => [r.key, r.max_ms])).toEqual([
      ['orders [AWS::Lambda::Function]', 25],
      ['orders [AWS::Lambda]', 40],
      ['orders [segment]', 5],
    ]);
  });

  it('lists the distinct service versions, sorted, ignoring unknown ones', () => {
    const rows = [
      span({ service_version: '1.4.0' }),
      span({ service_version: null }),
      span({ service_version: '1.10.0' }),
      span({ service_version: '1.4.0' }),
    ];

    expect(aggregate(rows).statsRows(T0)[0]!.service_versions).toEqual(['1.10.0', '1.4.0']);
  });
});

describe('WindowAggregator: exemplars', () => {
  it('lists the slowest distinct traces, slowest first, ties by trace id, then failed ones', () => {
    const rows = [
      span({ trace_id: trace(1), duration_ms: 50 }),
      span({ trace_id: trace(2), duration_ms: 900 }),
      // Trace 3 calls the key twice: it counts once, by its slowest call.
      span({ trace_id: trace(3), duration_ms: 5 }),
      span({ trace_id: trace(3), duration_ms: 700 }),
      span({ trace_id: trace(5), duration_ms: 700 }),
      span({ trace_id: trace(4), duration_ms: 700 }),
      // Failed but fast: listed after the slow ones.
      span({ trace_id: trace(6), duration_ms: 1, error: true }),
      span({ trace_id: trace(7), duration_ms: 2, throttle: true }),
      span({ trace_id: trace(8), duration_ms: 3, fault: true }),
      span({ trace_id: trace(9), duration_ms: 0.5, fault: true }),
      // Failed and slow: already listed, not repeated.
      span({ trace_id: trace(2), duration_ms: 10, error: true }),
    ];

    const [row] = aggregate(rows, 3).statsRows(T0);

    expect(row!.exemplar_trace_ids).toEqual([
      trace(2), // 900
      trace(3), // 700, smallest id of the three tied
      trace(4), // 700
      trace(8), // failed, 3 ms
      trace(7), // failed, 2 ms
      trace(6), // failed, 1 ms
    ]);
  });

  it('keeps no exemplars when exemplarCount is 0', () => {
    const rows = [span({ trace_id: trace(1), error: true })];

    expect(aggregate(rows, 0).statsRows(T0)[0]!.exemplar_trace_ids).toEqual([]);
  });

  it('matches a brute-force reference on random rows in any order', () => {
    const rowArb = fc.record({
      t: fc.integer({ min: 1, max: 25 }),
      d: fc.integer({ min: 0, max: 40 }),
      failed: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(rowArb, { minLength: 1, maxLength: 120 }), fc.integer(), (specs, seed) => {
        const rows = shuffle(
          specs.map((s) => span({ trace_id: trace(s.t), duration_ms: s.d, error: s.failed })),
          seed,
        );
        const n = 4;

        const [row] = aggregate(rows, n).statsRows(T0);

        const rank = (failedOnly: boolean) => {
          const best = new Map<string, number>();
          for (const r of rows) {
            if (failedOnly && !r.error) continue;
            best.set(r.trace_id, Math.max(best.get(r.trace_id) ?? -1, r.duration_ms));
          }
          return [...best].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);
        };
        const slow = rank(false).slice(0, n);
        const failed = rank(true)
          .filter((id) => !slow.includes(id))
          .slice(0, n);
        expect(row!.exemplar_trace_ids).toEqual([...slow, ...failed]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('WindowAggregator: windows', () => {
  it('keeps windows apart and sorted, and forgets a dropped window', () => {
    const agg = aggregate([
      span({ window_start: T0 + W, duration_ms: 100 }),
      span({ window_start: T0, duration_ms: 1 }),
      span({ window_start: T0, duration_ms: 3 }),
      span({ window_start: T0 - W, duration_ms: 7, error: true }),
    ]);

    expect(agg.windows()).toEqual([T0 - W, T0, T0 + W]);
    const current = agg.statsRows(T0);
    expect(current).toHaveLength(1);
    expect(current[0]).toMatchObject({
      window_start: T0,
      window_end: T0 + W,
      count: 2,
      max_ms: 3,
      error_count: 0,
    });
    expect(agg.statsRows(T0 + W)[0]).toMatchObject({ count: 1, min_ms: 100, window_end: T0 + 2 * W });
    expect(agg.statsRows(T0 - W)[0]).toMatchObject({ count: 1, error_count: 1 });

    agg.drop(T0);

    expect(agg.windows()).toEqual([T0 - W, T0 + W]);
    expect(agg.statsRows(T0)).toEqual([]);
    expect(agg.keyState(T0, current[0]!.key)).toBeUndefined();
  });
});

describe('WindowAggregator: determinism', () => {
  function randomRows(n: number, seed: number): SpanRow[] {
    const next = rng(seed);
    const names = ['DynamoDB', 'S3', 'SQS', 'payments'];
    return Array.from({ length: n }, () => {
      const duration = Math.exp(5 * next()) + next() / 3;
      return span({
        trace_id: trace(Math.floor(next() * 200)),
        name: names[Math.floor(next() * names.length)]!,
        duration_ms: duration,
        self_ms: duration * next(),
        error: next() < 0.05,
        fault: next() < 0.02,
        service_version: next() < 0.5 ? '2.0.1' : '2.1.0',
        window_start: T0 + W * Math.floor(next() * 3),
      });
    });
  }

  function allRows(agg: WindowAggregator) {
    return agg.windows().map((w) => agg.statsRows(w));
  }

  it('gives identical rows, sketch bytes included, for the same rows in the same order', () => {
    const rows = randomRows(3000, 1);

    expect(allRows(aggregate(rows))).toEqual(allRows(aggregate(rows)));
  });

  it('gives identical rows for the same rows in any order (mean included, exactly)', () => {
    const rows = randomRows(3000, 2);
    const expected = allRows(aggregate(rows));

    for (const seed of [3, 4, 5]) expect(allRows(aggregate(shuffle(rows, seed)))).toEqual(expected);
  });

  it('picks the same parts whatever the order when two part sets share a key string', () => {
    const a = span({ name: 'DynamoDB GetItem', aws_operation: null, aws_resource: null });
    const b = span({ name: 'DynamoDB', aws_operation: 'GetItem', aws_resource: null });
    const c = span({ namespace: 'remote', name: 'DynamoDB', aws_operation: 'GetItem', aws_resource: null });

    const forward = aggregate([a, b, c]).statsRows(T0);
    const backward = aggregate([c, b, a]).statsRows(T0);

    expect(forward).toHaveLength(1);
    expect(forward).toEqual(backward);
    expect(forward[0]).toMatchObject({ key: 'orders > DynamoDB GetItem', count: 3, namespace: 'aws' });
  });
});

describe('WindowAggregator: validation', () => {
  it.each([
    { duration_ms: -1 },
    { duration_ms: Number.NaN },
    { self_ms: -0.5 },
    { self_ms: Number.POSITIVE_INFINITY },
    { window_start: Number.NaN },
  ])('rejects a row with %o and names the span', (bad) => {
    const agg = new WindowAggregator({ windowMs: W });

    expect(() => agg.add(span({ id: 'feedfacecafebeef', ...bad }))).toThrow(ValidationError);
    expect(() => agg.add(span({ id: 'feedfacecafebeef', ...bad }))).toThrow(/feedfacecafebeef/);
    expect(agg.windows()).toEqual([]);
  });

  it.each([
    { windowMs: 0 },
    { windowMs: Number.NaN },
    { windowMs: W, exemplarCount: -1 },
    { windowMs: W, exemplarCount: 2.5 },
  ])('rejects the options %o', (options) => {
    expect(() => new WindowAggregator(options)).toThrow(ConfigError);
  });

  it('rejects a bad relative accuracy up front', () => {
    expect(() => new WindowAggregator({ windowMs: W, relativeAccuracy: 2 })).toThrow(RangeError);
  });
});
