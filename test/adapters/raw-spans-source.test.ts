import { gzipSync } from 'node:zlib';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  firehoseTime,
  hourPath,
  parseConcatenated,
  RawSpansSource,
} from '../../lib/adapters/raw-spans-source.js';
import { decodeRecord } from '../../lib/core/decode.js';
import { SourceError } from '../../lib/core/errors.js';
import type { SourceEvent } from '../../lib/core/ports.js';
import { generateTraces } from '../../lib/demo/generate.js';
import { toAwsSpanEvents } from '../../lib/demo/otel.js';
import { type LocalS3, startS3 } from '../integration/support/s3.js';

const PREFIX = 'raw/aws-spans/';
const T = (hh: number, mm: number, ss = 0) => Date.UTC(2026, 0, 15, hh, mm, ss);
/** A Firehose object key: hour folder, then `<stream>-<version>-<arrival>-<uuid>.gz`. */
const objectKey = (arrivalMs: number, n: number) => {
  const iso = new Date(arrivalMs).toISOString();
  const stamp = `${iso.slice(0, 10)}-${iso.slice(11, 13)}-${iso.slice(14, 16)}-${iso.slice(17, 19)}`;
  return `${PREFIX}${hourPath(arrivalMs)}tracelake-spans-1-${stamp}-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f${n}.gz`;
};

async function collect(
  source: RawSpansSource,
  range?: { fromMs: number; toMs: number },
): Promise<SourceEvent[]> {
  const events: SourceEvent[] = [];
  for await (const event of source.read(range)) events.push(event);
  return events;
}

describe('RawSpansSource on s3rver', () => {
  let s3: LocalS3;
  let client: S3Client;
  // Traffic from 08:55 to 09:01; the window under test is 08:55–09:00.
  const traces = [
    ...generateTraces({ seed: 4, startMs: T(8, 55), hours: 0.1, requestsPerSecond: 2, brokenDocuments: 0 }),
  ];
  const eventsOf = (from: number, to: number) =>
    traces
      .filter((t) => t.startMs >= from && t.startMs < to)
      .flatMap((t) => toAwsSpanEvents(t.segments).output);
  const spanIds = (events: Record<string, unknown>[]) => events.map((e) => `${e.traceId}/${e.spanId}`).sort();

  const early = eventsOf(T(8, 55), T(8, 57));
  const enveloped = eventsOf(T(8, 57), T(8, 59));
  const late = eventsOf(T(8, 59), T(9, 1));
  const ndjson = (events: Record<string, unknown>[]) =>
    `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
  const envelope = (events: Record<string, unknown>[]) =>
    JSON.stringify({
      messageType: 'DATA_MESSAGE',
      owner: '123456789012',
      logGroup: 'aws/spans',
      logStream: 'default',
      subscriptionFilters: ['tracelake'],
      logEvents: events.map((e, i) => ({ id: String(i), timestamp: T(8, 58), message: JSON.stringify(e) })),
    });

  beforeAll(async () => {
    s3 = await startS3('lake');
    client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const put = (key: string, body: Uint8Array) =>
      client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
    // Extracted messages, one per line (the layout the spans-delivery construct configures).
    await put(objectKey(T(8, 57, 40), 1), gzipSync(ndjson(early)));
    // Without message extraction: CloudWatch Logs envelopes, each its own gzip member, back to back.
    const half = Math.ceil(enveloped.length / 2);
    const control = JSON.stringify({ messageType: 'CONTROL_MESSAGE', logEvents: [] });
    await put(
      objectKey(T(8, 59, 5), 2),
      Buffer.concat([
        gzipSync(envelope(enveloped.slice(0, half))),
        gzipSync(control),
        gzipSync(envelope(enveloped.slice(half))),
      ]),
    );
    // Late: arrived in the next hour, within the lag; one line is damaged.
    await put(objectKey(T(9, 1, 30), 3), gzipSync(`${ndjson(late)}{"traceId": "6969\n`));
    // Outside the range: long before (beyond the buffer interval) and long after (beyond the lag).
    await put(objectKey(T(8, 40), 4), gzipSync(ndjson(early.slice(0, 1))));
    await put(objectKey(T(9, 20), 5), gzipSync(ndjson(late.slice(0, 1))));
  });

  afterAll(async () => {
    client?.destroy();
    await s3?.stop();
  });

  it('reads the objects of a window, late ones included, in every Firehose layout', async () => {
    const source = new RawSpansSource({ s3: client, bucket: s3.bucket, prefix: PREFIX, lagMs: 180_000 });
    const events = await collect(source, { fromMs: T(8, 55), toMs: T(9, 0) });

    const records = events.flatMap((e) => (e.type === 'record' ? [e.record] : []));
    const decoded = records.map((r) => decodeRecord(r));
    const nodes = decoded.flatMap((d) => d.loose);
    expect(decoded.flatMap((d) => d.rejections)).toEqual([]);
    expect(decoded.flatMap((d) => d.ignored.map((i) => i.what))).toEqual(['CloudWatch Logs control message']);
    expect(nodes.map((n) => `${n.traceId.replace(/^1-|-/g, '')}/${n.id}`).sort()).toEqual(
      spanIds([...early, ...enveloped, ...late]),
    );

    const rejected = events.flatMap((e) => (e.type === 'rejected' ? [e.rejection] : []));
    expect(rejected).toEqual([
      {
        location: { source: `s3://lake/${objectKey(T(9, 1, 30), 3)}`, line: late.length + 1 },
        reason: 'not valid JSON',
        raw: '{"traceId": "6969',
      },
    ]);
    expect(records[0]?.location).toEqual({ source: `s3://lake/${objectKey(T(8, 57, 40), 1)}`, line: 1 });
    expect(source.stats()).toMatchObject({
      objectsListed: 5,
      objectsRead: 3,
      objectsOutsideRange: 2,
      records: early.length + 3 + late.length,
      unparsableRecords: 1,
    });
  });

  it('misses the late object when the lag is shorter than its delay', async () => {
    const source = new RawSpansSource({ s3: client, bucket: s3.bucket, prefix: PREFIX, lagMs: 60_000 });
    await collect(source, { fromMs: T(8, 55), toMs: T(9, 0) });
    expect(source.stats()).toMatchObject({ objectsRead: 2, objectsListed: 5, objectsOutsideRange: 3 });
  });

  it('reads everything under the prefix when no range is given', async () => {
    const source = new RawSpansSource({ s3: client, bucket: s3.bucket, prefix: 'raw/aws-spans' });
    expect(source.describe()).toBe('s3://lake/raw/aws-spans/ (aws/spans via Firehose)');
    await collect(source);
    expect(source.stats()).toMatchObject({ objectsListed: 5, objectsRead: 5, objectsOutsideRange: 0 });
  });

  it('skips an object deleted between listing and reading', async () => {
    const key = objectKey(T(8, 58), 6);
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: gzipSync('') }));
    const source = new RawSpansSource({ s3: client, bucket: s3.bucket, prefix: PREFIX, concurrency: 1 });
    const iterator = source.read({ fromMs: T(8, 55), toMs: T(9, 0) })[Symbol.asyncIterator]();
    // The first object is being read; the key listed after it goes away meanwhile.
    await iterator.next();
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
    while (!(await iterator.next()).done) {}
    expect(source.stats()).toMatchObject({ objectsVanished: 1, objectsRead: 3 });
  });
});

describe('RawSpansSource failures', () => {
  it('reports a bucket it cannot list as a SourceError naming the location', async () => {
    const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const mock = mockClient(s3);
    mock
      .on(ListObjectsV2Command)
      .rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const source = new RawSpansSource({ s3, bucket: 'lake', prefix: PREFIX });
    await expect(collect(source, { fromMs: T(8, 55), toMs: T(9, 0) })).rejects.toThrow(
      new SourceError('cannot list s3://lake/raw/aws-spans/2026/01/15/08/: Access Denied'),
    );
    mock.restore();
  });

  it('reports an object that claims gzip but does not inflate', async () => {
    const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const mock = mockClient(s3);
    mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: `${PREFIX}x.gz` }] });
    const body = { transformToByteArray: async () => new Uint8Array([0x1f, 0x8b, 1, 2, 3]) };
    mock.on(GetObjectCommand).resolves({ Body: body } as never);
    const source = new RawSpansSource({ s3, bucket: 'lake', prefix: PREFIX });
    await expect(collect(source)).rejects.toThrow(
      /s3:\/\/lake\/raw\/aws-spans\/x\.gz looks gzip-compressed but does not inflate/,
    );
    mock.restore();
  });
});

describe('helpers', () => {
  it('splits JSON values written back to back, strings with braces included', () => {
    expect(parseConcatenated('{"a":1}')).toEqual([{ a: 1 }]);
    expect(parseConcatenated('{"a":"}{"}{"b":[1,{"c":"\\"}"}]} {"d":2}')).toEqual([
      { a: '}{' },
      { b: [1, { c: '"}' }] },
      { d: 2 },
    ]);
    expect(parseConcatenated('{"a":1}{"b":')).toBeNull();
    expect(parseConcatenated('{"a":1} x')).toBeNull();
    expect(parseConcatenated('nope')).toBeNull();
  });

  it('reads Firehose hour folders and object times in UTC', () => {
    expect(hourPath(T(9, 1, 30))).toBe('2026/01/15/09/');
    expect(firehoseTime(objectKey(T(9, 1, 30), 3))).toBe(T(9, 1, 30));
    expect(firehoseTime(`${PREFIX}2026/01/15/09/hand-made.json.gz`)).toBeNull();
  });
});
