import { describe, expect, it } from 'vitest';
import { healthMetrics, OVERFLOW_DIMENSION, windowMetrics } from '../../lib/core/metrics.js';
import type { StatsRow } from '../../lib/core/model.js';
import type { MetricDatum } from '../../lib/core/ports.js';
import { DDSketch } from '../../lib/core/stats/ddsketch.js';

const W = Date.UTC(2026, 0, 1, 10, 5);

/** A stats row with a real sketch of the given durations; counts of failures as given. */
function row(
  service: string,
  name: string,
  durations: number[],
  extra: Partial<StatsRow> = {},
): { row: StatsRow; sketch: DDSketch } {
  const sketch = new DDSketch();
  for (const d of durations) sketch.add(d);
  const r: StatsRow = {
    window_start: W,
    window_end: W + 300_000,
    key: `${service} > ${name}`,
    kind: 'subsegment',
    service,
    name,
    namespace: 'aws',
    aws_operation: null,
    aws_resource: null,
    origin: null,
    count: durations.length,
    error_count: 0,
    fault_count: 0,
    throttle_count: 0,
    min_ms: Math.min(...durations),
    mean_ms: 0,
    p50_ms: 0,
    p90_ms: 0,
    p95_ms: 0,
    p99_ms: 0,
    p999_ms: 0,
    max_ms: Math.max(...durations),
    self_p50_ms: 0,
    self_p99_ms: 0,
    sketch: sketch.encode(),
    self_sketch: new Uint8Array(),
    exemplar_trace_ids: [],
    service_versions: [],
    ...extra,
  };
  return { row: r, sketch };
}

function pick(data: MetricDatum[], name: string, service: string): MetricDatum | undefined {
  return data.find((d) => d.name === name && d.dimensions.Service === service);
}

const sum = (xs: readonly number[] | undefined) => (xs ?? []).reduce((a, b) => a + b, 0);

describe('windowMetrics', () => {
  it('publishes latency distributions and counts per key with Service and Subsegment', () => {
    const a = row('orders', 'DynamoDB', [5, 6, 7, 100], {
      aws_operation: 'GetItem',
      aws_resource: 'orders',
      error_count: 1,
      fault_count: 2,
      throttle_count: 3,
    });
    const seg = row('orders', 'orders', [20, 30], { kind: 'segment' });
    const sketches = new Map([
      [a.row, a.sketch],
      [seg.row, seg.sketch],
    ]);

    const data = windowMetrics([a.row, seg.row], (r) => sketches.get(r)!, {});

    const latency = data.find(
      (d) => d.name === 'Latency' && d.dimensions.Subsegment === 'DynamoDB GetItem orders',
    )!;
    expect(latency).toMatchObject({
      unit: 'Milliseconds',
      timestampMs: W,
      dimensions: { Service: 'orders' },
    });
    expect(latency.values).toEqual([...a.sketch.bins()].map((b) => b.value));
    expect(sum(latency.counts)).toBe(4);
    const byName = Object.fromEntries(
      data.filter((d) => d.dimensions.Subsegment === 'DynamoDB GetItem orders').map((d) => [d.name, d]),
    );
    expect(byName.Requests).toMatchObject({ unit: 'Count', value: 4 });
    expect(byName.Errors!.value).toBe(1);
    expect(byName.Faults!.value).toBe(2);
    expect(byName.Throttles!.value).toBe(3);
    expect(
      data.some((d) => d.dimensions.Subsegment === '[segment]' && d.name === 'Requests' && d.value === 2),
    ).toBe(true);
  });

  it('keeps the busiest keys and sums the rest into one overflow key', () => {
    // Prepare: five keys with 10, 8, 6, 4 and 2 requests.
    const made = [10, 8, 6, 4, 2].map((n, i) =>
      row(
        `svc${i}`,
        'call',
        Array.from({ length: n }, (_, k) => (i + 1) * 10 + k),
        { error_count: i },
      ),
    );
    const before = made.map((m) => [...m.sketch.bins()]);

    // Act
    const data = windowMetrics(
      made.map((m) => m.row),
      (r) => made.find((m) => m.row === r)!.sketch,
      { keyCap: 2 },
    );

    // Assess: svc0 and svc1 keep their dimensions; svc2..svc4 are folded.
    const services = new Set(data.map((d) => d.dimensions.Service));
    expect(services).toEqual(new Set(['svc0', 'svc1', OVERFLOW_DIMENSION]));
    expect(pick(data, 'Requests', OVERFLOW_DIMENSION)!.value).toBe(6 + 4 + 2);
    expect(pick(data, 'Errors', OVERFLOW_DIMENSION)!.value).toBe(2 + 3 + 4);
    expect(pick(data, 'Requests', OVERFLOW_DIMENSION)!.dimensions).toEqual({
      Service: OVERFLOW_DIMENSION,
      Subsegment: OVERFLOW_DIMENSION,
    });
    const merged = new DDSketch();
    for (const m of made.slice(2)) merged.merge(m.sketch);
    const other = pick(data, 'Latency', OVERFLOW_DIMENSION)!;
    expect(other.values).toEqual([...merged.bins()].map((b) => b.value));
    expect(other.counts).toEqual([...merged.bins()].map((b) => b.count));
    expect(sum(other.counts)).toBe(12);
    // The caller's sketches are untouched.
    expect(made.map((m) => [...m.sketch.bins()])).toEqual(before);
  });

  it('has no overflow key when every key fits, and combines rows sharing dimensions', () => {
    const a = row('orders', 'S3', [1, 2]);
    const b = row('orders', 'S3', [3], { kind: 'subsegment', aws_operation: null });
    const data = windowMetrics([a.row, b.row], (r) => (r === a.row ? a.sketch : b.sketch), { keyCap: 50 });
    expect(data.filter((d) => d.name === 'Requests')).toHaveLength(1);
    expect(pick(data, 'Requests', 'orders')!.value).toBe(3);
    expect(sum(pick(data, 'Latency', 'orders')!.counts)).toBe(3);
    expect(pick(data, 'Requests', OVERFLOW_DIMENSION)).toBeUndefined();
  });
});

describe('healthMetrics', () => {
  it('reports the run without per-key dimensions, lag only when known', () => {
    const withLag = healthMetrics({
      tracesProcessed: 1200,
      documentsRejected: 3,
      degradingSubsegments: 1,
      lagSeconds: 42,
      timestampMs: W,
    });
    expect(withLag.map((d) => [d.name, d.unit, d.value])).toEqual([
      ['TracesProcessed', 'Count', 1200],
      ['DocumentsRejected', 'Count', 3],
      ['DegradingSubsegments', 'Count', 1],
      ['LagSeconds', 'Seconds', 42],
    ]);
    expect(withLag.every((d) => Object.keys(d.dimensions).length === 0 && d.timestampMs === W)).toBe(true);
    const noLag = healthMetrics({
      tracesProcessed: 0,
      documentsRejected: 0,
      degradingSubsegments: 0,
      timestampMs: W,
    });
    expect(noLag.map((d) => d.name)).not.toContain('LagSeconds');
  });
});
