import {
  CloudWatchClient,
  type MetricDatum as CwDatum,
  PutMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudWatchMetricSink, toCloudWatchData } from '../../lib/adapters/cloudwatch-sink.js';
import { TracelakeError } from '../../lib/core/errors.js';
import type { MetricDatum } from '../../lib/core/ports.js';

const cw = mockClient(CloudWatchClient);
const client = new CloudWatchClient({ region: 'us-east-1' });
const T = Date.UTC(2026, 0, 1, 10, 5);

function scalar(i: number, extra: Partial<MetricDatum> = {}): MetricDatum {
  return {
    name: 'Requests',
    dimensions: { Service: `s${i}`, Subsegment: 'DynamoDB' },
    unit: 'Count',
    timestampMs: T,
    value: i,
    ...extra,
  };
}

function sentData(): CwDatum[][] {
  return cw.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input.MetricData ?? []);
}

afterEach(() => {
  cw.reset();
});

describe('toCloudWatchData', () => {
  it('splits a distribution into data of at most 150 distinct values, keeping every count', () => {
    const values = Array.from({ length: 400 }, (_, i) => 1 + i * 0.5);
    const counts = values.map((_, i) => (i % 7) + 1);
    const data = toCloudWatchData({
      name: 'Latency',
      dimensions: { Service: 'a' },
      unit: 'Milliseconds',
      timestampMs: T,
      values,
      counts,
    });

    expect(data.map((d) => d.Values?.length)).toEqual([150, 150, 100]);
    expect(data.every((d) => d.MetricName === 'Latency' && d.Unit === 'Milliseconds')).toBe(true);
    expect(data.flatMap((d) => d.Values)).toEqual(values);
    expect(data.flatMap((d) => d.Counts)).toEqual(counts);
    expect(data[0]?.Timestamp).toEqual(new Date(T));
  });

  it('merges repeated values and drops what CloudWatch would reject', () => {
    const [d] = toCloudWatchData({
      name: 'Latency',
      dimensions: { Subsegment: 'x', Service: 'a' },
      unit: 'Milliseconds',
      timestampMs: T,
      values: [5, 2, 5, Number.NaN, 7, 9],
      counts: [1, 2, 3, 4, 0, 1],
    });
    expect(d?.Values).toEqual([2, 5, 9]);
    expect(d?.Counts).toEqual([2, 4, 1]);
    // Dimensions in a stable order.
    expect(d?.Dimensions).toEqual([
      { Name: 'Service', Value: 'a' },
      { Name: 'Subsegment', Value: 'x' },
    ]);
    expect(toCloudWatchData(scalar(1, { value: Number.POSITIVE_INFINITY }))).toEqual([]);
  });
});

describe('CloudWatchMetricSink', () => {
  it('sends at most 1,000 data per call, in order, to the namespace', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    const sink = new CloudWatchMetricSink(client, { namespace: 'Shop/Tracelake' });

    await sink.publish(Array.from({ length: 2500 }, (_, i) => scalar(i)));
    await sink.flush();

    expect(sentData().map((b) => b.length)).toEqual([1000, 1000, 500]);
    expect(
      sentData()
        .flat()
        .map((d) => d.Value),
    ).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    expect(
      cw.commandCalls(PutMetricDataCommand).every((c) => c.args[0].input.Namespace === 'Shop/Tracelake'),
    ).toBe(true);
    expect(sink.stats()).toEqual({ calls: 3, sent: 2500, dropped: 0 });
  });

  it('keeps each request body under the 1 MB limit', async () => {
    cw.on(PutMetricDataCommand).resolves({});
    const sink = new CloudWatchMetricSink(client);
    // Wide distributions: 150 values each, about 4 KB per datum.
    const wide = (i: number): MetricDatum => ({
      name: 'Latency',
      dimensions: { Service: `service-${i}`, Subsegment: `DynamoDB GetItem ${'t'.repeat(200)}` },
      unit: 'Milliseconds',
      timestampMs: T,
      values: Array.from({ length: 150 }, (_, k) => 1.000123456789 + k * 1.0123456789),
      counts: Array.from({ length: 150 }, (_, k) => 1000 + k),
    });

    await sink.publish(Array.from({ length: 600 }, (_, i) => wide(i)));
    await sink.flush();

    const calls = cw.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input);
    expect(calls.length).toBeGreaterThan(1);
    for (const input of calls) {
      const json = JSON.stringify({
        ...input,
        MetricData: input.MetricData?.map((d) => ({ ...d, Timestamp: T / 1000 })),
      });
      expect(Buffer.byteLength(json)).toBeLessThan(1_000_000);
    }
    expect(calls.flatMap((c) => c.MetricData ?? [])).toHaveLength(600);
  });

  it('respects every limit for any mix of data (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ v: fc.double({ min: 0, max: 1e6, noNaN: true }) }),
            fc.record({ n: fc.integer({ min: 1, max: 700 }) }),
          ),
          { maxLength: 80 },
        ),
        async (specs) => {
          cw.reset();
          cw.on(PutMetricDataCommand).resolves({});
          const sink = new CloudWatchMetricSink(client, { maxDataPerCall: 25 });
          const data: MetricDatum[] = specs.map((s, i) =>
            'v' in s
              ? scalar(i, { value: s.v })
              : {
                  name: 'Latency',
                  dimensions: { Service: `s${i}` },
                  unit: 'Milliseconds',
                  timestampMs: T,
                  values: Array.from({ length: s.n }, (_, k) => k + 1),
                  counts: Array.from({ length: s.n }, () => 2),
                },
          );
          await sink.publish(data);
          await sink.flush();
          const batches = sentData();
          expect(batches.every((b) => b.length >= 1 && b.length <= 25)).toBe(true);
          expect(batches.flat().every((d) => (d.Values?.length ?? 0) <= 150)).toBe(true);
          // Every count arrives exactly once per metric stream.
          for (const [i, s] of specs.entries()) {
            if (!('n' in s)) continue;
            const sent = batches
              .flat()
              .filter((d) => d.MetricName === 'Latency' && d.Dimensions?.[0]?.Value === `s${i}`)
              .reduce((sum, d) => sum + (d.Counts ?? []).reduce((a, b) => a + b, 0), 0);
            expect(sent).toBe(2 * s.n);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('sends nothing when there is nothing, and reports failures with the namespace', async () => {
    const sink = new CloudWatchMetricSink(client, { namespace: 'Tracelake' });
    await sink.flush();
    expect(cw.commandCalls(PutMetricDataCommand)).toHaveLength(0);

    cw.on(PutMetricDataCommand).rejects(new Error('InvalidParameterValue'));
    await sink.publish([scalar(1)]);
    await expect(sink.flush()).rejects.toBeInstanceOf(TracelakeError);
    await sink.publish([scalar(1)]);
    await expect(sink.flush()).rejects.toThrow(/CloudWatch PutMetricData \(Tracelake, 1 data\) failed/);
  });
});
