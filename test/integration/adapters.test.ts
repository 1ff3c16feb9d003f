/**
 * The AWS adapters with the real SDK v3 clients over HTTP against local servers on 127.0.0.1:
 * s3rver as S3, a REST-JSON X-Ray endpoint with faults injected, a JSON 1.0 CloudWatch endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCloudWatchClient, makeS3Client, makeXRayClient } from '../../lib/adapters/aws-clients.js';
import { CloudWatchMetricSink } from '../../lib/adapters/cloudwatch-sink.js';
import { openLake } from '../../lib/adapters/lake.js';
import { S3ObjectStore } from '../../lib/adapters/s3-store.js';
import { XRaySource } from '../../lib/adapters/xray-source.js';
import type { MetricDatum } from '../../lib/core/ports.js';
import { type LocalCloudWatch, startCloudWatch } from './support/cloudwatch-server.js';
import { type LocalS3, startS3 } from './support/s3.js';
import { makeTraffic } from './support/traces.js';
import { type LocalXRay, startXRay } from './support/xray-server.js';

// s3rver accepts only its own key pair; the other local servers do not check signatures.
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
const saved: Record<string, string | undefined> = {};

beforeAll(() => {
  for (const [k, v] of Object.entries(CREDENTIALS)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});

afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const enc = (s: string) => new TextEncoder().encode(s);

describe('S3ObjectStore on s3rver', () => {
  let s3: LocalS3;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('writes, reads, lists deep folders, deletes, and uploads large objects in parts', async () => {
    const env = { AWS_ENDPOINT_URL_S3: s3.endpoint };
    const store = openLake(`s3://${s3.bucket}/tl`, env);
    expect(store).toBeInstanceOf(S3ObjectStore);

    await store.put('spans/dt=2026-01-01/hour=10/a-0000.parquet', enc('one'));
    await store.put('spans/dt=2026-01-01/hour=11/a-0000.parquet', enc('two'));
    await store.put('_state/checkpoint.json', enc('{}'));
    const big = new Uint8Array(9 * 1024 * 1024 + 123).map((_, i) => i % 251);
    await store.put('traces/dt=2026-01-01/hour=10/big.parquet', big);

    // Folders that hold only folders (spans/, dt=…/) are still walked.
    expect(await store.list('spans/')).toEqual([
      'spans/dt=2026-01-01/hour=10/a-0000.parquet',
      'spans/dt=2026-01-01/hour=11/a-0000.parquet',
    ]);
    expect(await store.list('')).toHaveLength(4);
    expect(
      new TextDecoder().decode((await store.get('spans/dt=2026-01-01/hour=11/a-0000.parquet')) ?? undefined),
    ).toBe('two');
    const back = await store.get('traces/dt=2026-01-01/hour=10/big.parquet');
    expect(back?.length).toBe(big.length);
    expect(Buffer.compare(Buffer.from(back ?? []), Buffer.from(big))).toBe(0);
    expect(await store.get('nope.json')).toBeNull();

    await store.delete(['spans/dt=2026-01-01/hour=10/a-0000.parquet', 'does/not/exist']);
    expect(await store.list('spans/')).toEqual(['spans/dt=2026-01-01/hour=11/a-0000.parquet']);
  });

  it('lists page after page', async () => {
    const client = makeS3Client({}, { AWS_ENDPOINT_URL_S3: s3.endpoint });
    const store = new S3ObjectStore(client, s3.bucket, 'many', { listPageSize: 4 });
    const keys = Array.from(
      { length: 11 },
      (_, i) => `k/${i % 2 ? 'odd' : 'even'}/${String(i).padStart(4, '0')}`,
    );
    await Promise.all(keys.map((k) => store.put(k, enc('x'))));
    expect(await store.list('k/')).toEqual([...keys].sort());
  });

  it('sees that s3rver ignores conditional headers and falls back to read-compare-write', async () => {
    const store = new S3ObjectStore(
      makeS3Client({}, { AWS_ENDPOINT_URL_S3: s3.endpoint }),
      s3.bucket,
      'cond',
    );
    expect(await store.conditionalMode()).toBe('emulated');
    const v1 = await store.putConditional('_state/lease.json', enc('a'));
    expect(v1).toBeTruthy();
    expect(await store.putConditional('_state/lease.json', enc('b'))).toBeNull();
    const v2 = await store.putConditional('_state/lease.json', enc('c'), v1 ?? '');
    expect(v2).toBeTruthy();
    expect(await store.putConditional('_state/lease.json', enc('d'), v1 ?? '')).toBeNull();
    expect(new TextDecoder().decode((await store.get('_state/lease.json')) ?? undefined)).toBe('c');
    expect(await store.list('_state/')).toEqual(['_state/lease.json']);
  });
});

describe('XRaySource against a throttling X-Ray endpoint', () => {
  let xray: LocalXRay;
  const windowStart = Date.UTC(2026, 0, 15, 8, 5);
  const traffic = makeTraffic({
    seed: 7,
    startMs: Date.UTC(2026, 0, 15, 8, 0),
    hours: 0.25,
    requestsPerSecond: 0.25,
    regression: null,
  });

  beforeAll(async () => {
    xray = await startXRay(traffic.traces, {
      maxRps: 4,
      serverErrorEvery: 9,
      unprocessedEvery: 6,
      pageSize: 10,
    });
  });
  afterAll(async () => {
    await xray?.stop();
  });

  it('finishes the window with every trace despite 429s, 500s and unprocessed IDs', async () => {
    const client = makeXRayClient({}, { AWS_ENDPOINT_URL_XRAY: xray.endpoint });
    // Asks faster than the server allows, so throttling really happens.
    const source = new XRaySource(client, { maxRps: 20, concurrency: 4, retryDelayMs: 200 });
    const range = { fromMs: windowStart, toMs: windowStart + 300_000 };

    const got: string[] = [];
    for await (const e of source.read(range)) if (e.type === 'trace') got.push(e.traceId);

    const seconds = (id: string) => Number.parseInt(id.split('-')[1] ?? '', 16);
    const expected = traffic.traces
      .map((t) => t.id)
      .filter((id) => seconds(id) * 1000 >= range.fromMs - 2000 && seconds(id) * 1000 < range.toMs + 2000);
    expect(expected.length).toBeGreaterThan(40);
    expect([...got].sort()).toEqual([...expected].sort());
    expect(xray.stats.throttled).toBeGreaterThan(0);
    expect(xray.stats.serverErrors).toBeGreaterThan(0);
    expect(xray.stats.unprocessed).toBeGreaterThan(0);
    expect(xray.stats.maxBatchSize).toBeLessThanOrEqual(5);
    expect(source.stats().unprocessed_retried).toBe(xray.stats.unprocessed);
    expect(source.stats().unprocessed_lost).toBeUndefined();
    client.destroy();
  });
});

describe('CloudWatchMetricSink against a local CloudWatch endpoint', () => {
  let cw: LocalCloudWatch;
  beforeAll(async () => {
    cw = await startCloudWatch();
  });
  afterAll(async () => {
    await cw?.stop();
  });

  it('sends gzip JSON 1.0 requests within every PutMetricData limit, values intact', async () => {
    const client = makeCloudWatchClient({}, { AWS_ENDPOINT_URL_CLOUDWATCH: cw.endpoint });
    const sink = new CloudWatchMetricSink(client, { namespace: 'TracelakeTest' });
    const t = Date.UTC(2026, 0, 15, 8, 5);
    const data: MetricDatum[] = [];
    for (let i = 0; i < 1200; i++) {
      data.push({
        name: 'Requests',
        dimensions: { Service: `svc-${i}`, Subsegment: 'DynamoDB GetItem orders' },
        unit: 'Count',
        timestampMs: t,
        value: i,
      });
    }
    const values = Array.from({ length: 420 }, (_, i) => 1.5 * 1.02 ** i);
    data.push({
      name: 'Latency',
      dimensions: { Service: 'orders-api', Subsegment: '[segment]' },
      unit: 'Milliseconds',
      timestampMs: t,
      values,
      counts: values.map((_, i) => i + 1),
    });

    await sink.publish(data);
    await sink.flush();

    expect(cw.rejected).toEqual([]);
    expect(cw.puts.map((p) => p.data.length)).toEqual([1000, 203]);
    expect(cw.puts.every((p) => p.namespace === 'TracelakeTest')).toBe(true);
    // Big bodies travel compressed.
    expect(cw.puts[0]?.contentEncoding).toBe('gzip');
    expect(cw.puts[0]!.wireBytes).toBeLessThan(cw.puts[0]!.jsonBytes);
    const received = cw.puts.flatMap((p) => p.data);
    expect(received.filter((d) => d.MetricName === 'Requests').map((d) => d.Value)).toEqual(
      Array.from({ length: 1200 }, (_, i) => i),
    );
    const latency = received.filter((d) => d.MetricName === 'Latency');
    expect(latency.map((d) => d.Values?.length)).toEqual([150, 150, 120]);
    expect(latency.flatMap((d) => d.Counts ?? []).reduce((a, b) => a + b, 0)).toBe((420 * 421) / 2);
    expect(latency[0]?.Timestamp).toBe(t / 1000);
    expect(latency[0]?.Dimensions).toEqual([
      { Name: 'Service', Value: 'orders-api' },
      { Name: 'Subsegment', Value: '[segment]' },
    ]);
    client.destroy();
  });
});
