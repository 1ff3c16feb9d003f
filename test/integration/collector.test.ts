/**
 * The scheduled collector end to end over HTTP: the Lambda handler invoked locally against
 * s3rver (lake), a local X-Ray endpoint (with faults) and a local CloudWatch endpoint, compared
 * row by row with `tracelake run` on the same traces from a file. Then a crash between Parquet
 * objects and the checkpoint followed by a re-run, and two concurrent runs, each checked row by row.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  makeCloudWatchClient,
  makeS3Client,
  makeXRayClient,
  resetAwsClients,
} from '../../lib/adapters/aws-clients.js';
import { CloudWatchMetricSink } from '../../lib/adapters/cloudwatch-sink.js';
import { S3ObjectStore } from '../../lib/adapters/s3-store.js';
import { XRaySource } from '../../lib/adapters/xray-source.js';
import { main } from '../../lib/cli/main.js';
import { resetConfigForTests } from '../../lib/config.js';
import { windowStart } from '../../lib/core/model.js';
import type { ObjectStore } from '../../lib/core/ports.js';
import { silentLog } from '../../lib/core/ports.js';
import {
  advanceCheckpoint,
  type CollectorDeps,
  readCheckpoint,
  runDueWindows,
} from '../../lib/pipeline/collector.js';
import { lakeGlob, withDuckDb } from '../helpers/duckdb.js';
import { type LocalCloudWatch, startCloudWatch } from './support/cloudwatch-server.js';
import { type LocalS3, startS3 } from './support/s3.js';
import { makeTraffic, type TestTraffic, writeTrafficFile } from './support/traces.js';
import { type LocalXRay, startXRay } from './support/xray-server.js';

const W = 300_000;
/** Traffic spans four windows that ended at least 10 minutes ago, so all are due. */
const trafficStart = windowStart(Date.now(), W) - 30 * 60_000;
const TABLE_ORDER: Record<string, string> = {
  spans: 'trace_id, id',
  subsegment_stats: 'window_start, key',
  traces: 'trace_id',
  regressions: 'window_start, key, kind, statistic',
};

let s3: LocalS3;
let xray: LocalXRay;
let cw: LocalCloudWatch;
let traffic: TestTraffic;
let work: string;
let referenceLake: string;
const savedEnv = { ...process.env };

/** Copies every object of an S3 lake prefix into a local folder, for DuckDB. */
async function download(store: ObjectStore, dir: string): Promise<string[]> {
  const keys = await store.list('');
  for (const key of keys) {
    const file = path.join(dir, ...key.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, (await store.get(key)) ?? new Uint8Array());
  }
  return keys;
}

async function tableRows(lakeDir: string, table: string): Promise<Record<string, unknown>[]> {
  return withDuckDb(async (q) => {
    const files = await q(`SELECT count(*) AS n FROM glob('${lakeDir}/${table}/**/*.parquet')`);
    if (Number(files[0]?.n ?? 0) === 0) return [];
    return q(`SELECT * FROM ${lakeGlob(lakeDir, table)} ORDER BY ${TABLE_ORDER[table]}`);
  });
}

/** Asserts a downloaded lake holds exactly the reference rows, table by table, row by row. */
async function expectSameRows(lakeDir: string): Promise<void> {
  for (const table of Object.keys(TABLE_ORDER)) {
    const [got, want] = [await tableRows(lakeDir, table), await tableRows(referenceLake, table)];
    if (table !== 'regressions') expect(want.length, `${table} reference rows`).toBeGreaterThan(0);
    expect(got.length, `${table} row count`).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(got[i], `${table} row ${i}`).toEqual(want[i]);
  }
}

function s3Store(prefix: string): S3ObjectStore {
  return new S3ObjectStore(makeS3Client({}, { AWS_ENDPOINT_URL_S3: s3.endpoint }), s3.bucket, prefix);
}

function collectorDeps(store: ObjectStore): CollectorDeps {
  return {
    source: new XRaySource(makeXRayClient({}, { AWS_ENDPOINT_URL_XRAY: xray.endpoint }), {
      maxRps: 50,
      retryDelayMs: 100,
    }),
    store,
    metrics: new CloudWatchMetricSink(makeCloudWatchClient({}, { AWS_ENDPOINT_URL_CLOUDWATCH: cw.endpoint })),
    log: silentLog,
  };
}

const RUN = { windowMs: W, lagMs: 180_000, maxWindows: 50 } as const;

beforeAll(async () => {
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
  });
  traffic = makeTraffic({
    seed: 11,
    startMs: trafficStart,
    hours: 20 / 60,
    requestsPerSecond: 0.2,
    regression: null,
  });
  [s3, xray, cw] = await Promise.all([
    startS3(),
    startXRay(traffic.traces, { maxRps: 30, serverErrorEvery: 13, unprocessedEvery: 7, pageSize: 20 }),
    startCloudWatch(),
  ]);
  work = await mkdtemp(path.join(tmpdir(), 'tl-collector-it-'));
  referenceLake = path.join(work, 'reference');
  const file = await writeTrafficFile(path.join(work, 'traces'), traffic);
  const code = await main(
    ['run', '--source', file, '--lake', referenceLake, '--metrics', 'none', '--quiet'],
    {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      cwd: work,
    },
  );
  expect(code).toBe(0);
});

afterAll(async () => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  resetConfigForTests();
  resetAwsClients();
  await Promise.all([s3?.stop(), xray?.stop(), cw?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('collector handler against local AWS endpoints', () => {
  it('produces the same rows as `tracelake run` on the same traces from a file', async () => {
    Object.assign(process.env, {
      TRACELAKE_LAKE_URI: `s3://${s3.bucket}/handler`,
      TRACELAKE_MAX_WINDOWS_PER_RUN: '50',
      TRACELAKE_XRAY_MAX_RPS: '50',
      TRACELAKE_METRICS_NAMESPACE: 'TracelakeIT',
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_XRAY: xray.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH: cw.endpoint,
      POWERTOOLS_DEV: 'true',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_NAMESPACE: 'TracelakeIT',
    });
    resetConfigForTests();
    resetAwsClients();
    const lake = s3Store('handler');
    await advanceCheckpoint(lake, trafficStart, W, Date.now());
    const lines: string[] = [];
    const capture = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
    const spies = (['info', 'warn', 'log', 'error'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation(capture),
    );

    const { handler } = await import('../../functions/collector/handler.js');
    const context = {
      awsRequestId: 'req-1',
      functionName: 'tracelake-collector',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:tracelake-collector',
      memoryLimitInMB: '1024',
      getRemainingTimeInMillis: () => 600_000,
    } as unknown as Context;
    let response: Awaited<ReturnType<typeof handler>>;
    try {
      response = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
    } finally {
      for (const s of spies) s.mockRestore();
    }

    expect(response.status).toBe('ok');
    expect(response.windows.length).toBeGreaterThanOrEqual(4);
    expect(response.windows[0]).toBe(new Date(trafficStart).toISOString());
    expect(response.traces).toBeGreaterThan(150);
    expect((await readCheckpoint(lake))?.lastCompleteWindowEndMs).toBe(Date.parse(response.checkpoint ?? ''));
    await download(lake, path.join(work, 'handler'));
    await expectSameRows(path.join(work, 'handler'));

    // Faults really happened and were absorbed.
    expect(xray.stats.serverErrors).toBeGreaterThan(0);
    expect(xray.stats.unprocessed).toBeGreaterThan(0);
    // Metrics arrived within the API limits, latency as distributions.
    expect(cw.rejected).toEqual([]);
    const data = cw.puts.flatMap((p) => p.data);
    expect(cw.puts.every((p) => p.namespace === 'TracelakeIT')).toBe(true);
    expect(data.some((d) => d.MetricName === 'Latency' && (d.Values?.length ?? 0) > 0)).toBe(true);
    expect(data.some((d) => d.MetricName === 'TracesProcessed')).toBe(true);
    // One JSON log line per window summary, carrying trace IDs.
    const summaries = lines
      .filter((l) => l.includes('"window summary"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(summaries).toHaveLength(4);
    expect(summaries.every((s) => Array.isArray(s.xray_trace_ids) && s.function_request_id === 'req-1')).toBe(
      true,
    );
  });

  it('leaves no duplicate and no missing row after a crash between Parquet objects and the checkpoint', async () => {
    const real = s3Store('crash');
    await advanceCheckpoint(real, trafficStart, W, Date.now());
    let spansWritten = 0;
    const crashWindow = trafficStart + W;
    const crashing: ObjectStore = {
      describe: () => real.describe(),
      get: (k) => real.get(k),
      list: (p) => real.list(p),
      delete: (k) => real.delete(k),
      getWithVersion: (k) => real.getWithVersion(k),
      putConditional: (k, b, v) => real.putConditional(k, b, v),
      async put(key, body, options) {
        // Second window: its spans part lands, then the process dies before stats, traces, checkpoint.
        if (isWindow(key, crashWindow) && key.endsWith('.parquet')) {
          if (key.startsWith('spans/')) spansWritten++;
          else if (spansWritten > 0) throw new Error('injected crash');
        }
        return real.put(key, body, options);
      },
    };

    await expect(runDueWindows(collectorDeps(crashing), RUN)).rejects.toThrow('injected crash');
    expect((await readCheckpoint(real))?.lastCompleteWindowEndMs).toBe(crashWindow);
    const partial = await real.list('spans/');
    expect(partial.some((k) => isWindow(k, crashWindow))).toBe(true);

    const rerun = await runDueWindows(collectorDeps(real), RUN);
    expect(rerun.status).toBe('ok');
    expect(rerun.windows[0]?.windowStartMs).toBe(crashWindow);
    await download(real, path.join(work, 'crash'));
    await expectSameRows(path.join(work, 'crash'));
  });

  it('two concurrent runs leave the same lake as one', async () => {
    const a = s3Store('concurrent');
    const b = s3Store('concurrent');
    await advanceCheckpoint(a, trafficStart, W, Date.now());

    const results = await Promise.all([
      runDueWindows(collectorDeps(a), RUN),
      runDueWindows(collectorDeps(b), RUN),
    ]);

    // s3rver ignores conditional headers, so both may run (tolerated); on S3 one is busy (prevented).
    expect(results.every((r) => r.status === 'ok' || r.status === 'busy')).toBe(true);
    const final = Math.max(...results.map((r) => r.checkpointMs ?? 0));
    expect((await readCheckpoint(a))?.lastCompleteWindowEndMs).toBe(final);
    await download(a, path.join(work, 'concurrent'));
    await expectSameRows(path.join(work, 'concurrent'));
  });
});

/** Whether an object key belongs to the window starting at `ms` (by its window token). */
function isWindow(key: string, ms: number): boolean {
  const iso = new Date(ms).toISOString();
  const token = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return key.includes(token);
}
