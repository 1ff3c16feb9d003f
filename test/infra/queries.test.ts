/**
 * The named Athena queries (`infra/queries/*.sql`) run unchanged on a local lake through the same
 * DuckDB views `tracelake query` uses, and answer their questions: which rows, in which order.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNamedQueries } from '../../infra/constructs/saved-queries.js';
import { encodeParquet } from '../../lib/adapters/parquet.js';
import { objectKey, REGRESSIONS, SPANS, SUBSEGMENT_STATS, type TableDef } from '../../lib/core/tables.js';
import { LakeDb } from '../../lib/query/lake-db.js';

const NOW = Date.UTC(2026, 2, 2, 12, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const W = 300_000;
const GET_ITEM = 'orders > DynamoDB GetItem orders';
const PAYMENTS = 'orders > payments';

const trace = (n: number) => `1-69a57000-${String(n).padStart(24, '0')}`;

function statsRow(key: string, windowStart: number, over: Record<string, unknown>): Record<string, unknown> {
  const isGetItem = key === GET_ITEM;
  return {
    window_start: windowStart,
    window_end: windowStart + W,
    key,
    kind: key.endsWith('[segment]') ? 'segment' : 'subsegment',
    service: 'orders',
    name: isGetItem ? 'DynamoDB' : key.endsWith('[segment]') ? 'orders' : 'payments',
    namespace: isGetItem ? 'aws' : 'remote',
    aws_operation: isGetItem ? 'GetItem' : null,
    aws_resource: isGetItem ? 'orders' : null,
    count: 100,
    error_count: 0,
    fault_count: 0,
    throttle_count: 0,
    min_ms: 1,
    mean_ms: 10,
    p50_ms: 8,
    p90_ms: 20,
    p95_ms: 25,
    p99_ms: 40,
    p999_ms: 60,
    max_ms: 70,
    self_p50_ms: 5,
    self_p99_ms: 30,
    sketch: new Uint8Array([1]),
    self_sketch: new Uint8Array([1]),
    exemplar_trace_ids: [trace(windowStart / W)],
    service_versions: ['1.0.0'],
    ...over,
  };
}

function spanRow(n: number, start: number, durationMs: number, name: string): Record<string, unknown> {
  return {
    trace_id: trace(n),
    id: n.toString(16).padStart(16, '0'),
    parent_id: 'ffffffffffffffff',
    segment_id: 'ffffffffffffffff',
    service: 'orders',
    origin: 'AWS::Lambda::Function',
    name,
    namespace: 'aws',
    kind: 'subsegment',
    path: `orders > ${name}`,
    depth: 1,
    start_time: start,
    end_time: start + durationMs,
    duration_ms: durationMs,
    self_ms: durationMs,
    http_method: null,
    http_status: 200,
    http_url: null,
    aws_operation: name === 'DynamoDB' ? 'GetItem' : null,
    aws_resource: name === 'DynamoDB' ? 'orders' : null,
    sql_url: null,
    sql_database_type: null,
    service_version: '1.0.0',
    error: false,
    fault: false,
    throttle: false,
    inferred: false,
    annotations: null,
    window_start: Math.floor(start / W) * W,
  };
}

function regressionRow(windowStart: number, ratio: number): Record<string, unknown> {
  return {
    window_start: windowStart,
    key: GET_ITEM,
    service: 'orders',
    name: 'DynamoDB',
    kind: 'step',
    statistic: 'p99',
    baseline_ms: 40,
    current_ms: 40 * ratio,
    ratio,
    p_value: 0.001,
    severity: 'high',
    since: windowStart - W,
    exemplar_trace_ids: [trace(900), trace(901)],
    baseline_exemplar_trace_ids: [trace(800)],
    new_version: '1.1.0',
    summary: `p99 of ${GET_ITEM} rose ${ratio}x`,
  };
}

let lakeDir: string;
let db: LakeDb;
const queries = new Map(loadNamedQueries().map((q) => [q.name, q.sql]));

async function write(def: TableDef, windowStart: number, rows: Record<string, unknown>[]): Promise<void> {
  const file = path.join(lakeDir, objectKey(def, windowStart, 0));
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, await encodeParquet(def, rows));
}

beforeAll(async () => {
  lakeDir = mkdtempSync(path.join(tmpdir(), 'tracelake-queries-'));
  const w1 = NOW - HOUR; // last 24 h
  const w2 = NOW - 2 * HOUR; // last 24 h, the slower window of GetItem
  const w3 = NOW - 3 * DAY; // last 7 days only
  const w4 = NOW - 10 * DAY; // too old for every query
  await write(SUBSEGMENT_STATS, w1, [
    statsRow(GET_ITEM, w1, { p99_ms: 50, count: 100, fault_count: 2 }),
    statsRow(PAYMENTS, w1, { p99_ms: 120, count: 50, error_count: 5 }),
    statsRow('orders [segment]', w1, { p99_ms: 900, count: 100 }),
  ]);
  await write(SUBSEGMENT_STATS, w2, [
    statsRow(GET_ITEM, w2, { p99_ms: 150, count: 100, exemplar_trace_ids: [trace(42)] }),
    statsRow(PAYMENTS, w2, { p99_ms: 100, count: 50 }),
  ]);
  await write(SUBSEGMENT_STATS, w3, [statsRow(GET_ITEM, w3, { p99_ms: 500, count: 10 })]);
  await write(SUBSEGMENT_STATS, w4, [statsRow(GET_ITEM, w4, { p99_ms: 999, count: 10 })]);
  await write(REGRESSIONS, w2, [regressionRow(w2, 3)]);
  await write(REGRESSIONS, w4, [regressionRow(w4, 9)]);
  await write(SPANS, w1, [
    spanRow(1, w1 + 1000, 30, 'DynamoDB'),
    spanRow(2, w1 + 2000, 90, 'DynamoDB'),
    spanRow(3, w1 + 3000, 500, 'payments'),
  ]);
  await write(SPANS, w3, [spanRow(4, w3 + 1000, 800, 'DynamoDB')]);
  db = await LakeDb.open(lakeDir, { nowMs: NOW });
});

afterAll(() => {
  db?.close();
  if (lakeDir) rmSync(lakeDir, { recursive: true, force: true });
});

describe('named queries on a local lake', () => {
  it('slowest subsegments in the last 24 h: by worst p99, segments and old windows left out', async () => {
    const rows = await db.objects(queries.get('slowest-subsegments-24h')!);
    expect(rows.map((r) => [r.key, r.worst_p99_ms, r.requests])).toEqual([
      [GET_ITEM, 150, 200],
      [PAYMENTS, 120, 100],
    ]);
    expect(rows[0]!.slowest_window_trace_ids).toEqual([trace(42)]);
    expect(rows[0]!.faults).toBe(2);
  });

  it('error and fault rates by subsegment over 24 h', async () => {
    const rows = await db.objects(queries.get('error-fault-rates')!);
    const byKey = new Map(rows.map((r) => [r.key, r]));
    expect(byKey.get(GET_ITEM)).toMatchObject({ requests: 200, faults: 2, fault_rate: 0.01, error_rate: 0 });
    expect(byKey.get(PAYMENTS)).toMatchObject({ requests: 100, errors: 5, error_rate: 0.05, fault_rate: 0 });
    expect(rows[0]!.key).toBe(GET_ITEM); // highest fault rate first
  });

  it('regressions of the last 7 days with their trace IDs', async () => {
    const rows = await db.objects(queries.get('regressions-with-traces')!);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      key: GET_ITEM,
      ratio: 3,
      exemplar_trace_ids: [trace(900), trace(901)],
      baseline_exemplar_trace_ids: [trace(800)],
    });
  });

  it('slowest traces for one subsegment (the service and name in params), slowest first', async () => {
    const rows = await db.objects(queries.get('slowest-traces-for-subsegment')!);
    expect(rows.map((r) => [r.trace_id, r.duration_ms])).toEqual([
      [trace(2), 90],
      [trace(1), 30],
    ]);
  });

  it('p99 trend of the key in params over 7 days, oldest first', async () => {
    const rows = await db.objects(queries.get('p99-trend-of-key')!);
    expect(rows.map((r) => r.p99_ms)).toEqual([500, 150, 50]);
  });
});
