/**
 * DuckDB as the peer, and as the judge of accuracy.
 *
 * The peer computes, from the same BatchGetTraces files, what `subsegment_stats` holds at its core:
 * per window and key, the count of complete spans and the exact p50/p90/p99 of `duration_ms`.
 * It unnests `Traces[]` and `Segments[]`, parses each `Document` with DuckDB's JSON functions, and
 * takes segments plus their first- and second-level subsegments (the corpus nests no deeper: the
 * bench checks that DuckDB's per-key counts equal tracelake's), keyed as `keyOf` keys them: segments
 * by service, name and origin, subsegments by service, name, operation and resource. The window is that of the trace's
 * earliest start, in-progress spans included, as tracelake does; in-progress spans are not counted.
 */
import { DuckDBInstance } from '@duckdb/node-api';

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The resource an AWS call touched, in the order `resourceOf` in lib/core/xray/document.ts uses. */
function resourceSql(j: string): string {
  return `coalesce(
    nullif(${j}->>'$.aws.table_name', ''),
    nullif(${j}->>'$.aws.bucket_name', ''),
    nullif(regexp_extract(rtrim(${j}->>'$.aws.queue_url', '/'), '[^/]+$'), ''),
    nullif(regexp_extract(${j}->>'$.aws.topic_arn', '[^:]+$'), ''),
    nullif(coalesce(regexp_extract(${j}->>'$.aws.function_name', ':function:([^:]+)', 1), ${j}->>'$.aws.function_name'), ''),
    nullif(${j}->>'$.aws.resource_names[0]', ''))`;
}

/** One level of nodes: the columns every level yields. */
function nodeColumns(j: string, kind: string, service: string): string {
  return `trace_id, ${kind} AS kind, ${service} AS service, ${j}->>'$.name' AS name,
    ${j}->>'$.origin' AS origin, ${j}->>'$.aws.operation' AS op, ${resourceSql(j)} AS res,
    CAST(${j}->>'$.start_time' AS DOUBLE) AS s, CAST(${j}->>'$.end_time' AS DOUBLE) AS e`;
}

/** The fields the peer needs of a node, as a `from_json` structure; `inner` adds nested subsegments. */
function nodeStructure(inner?: string): string {
  const aws =
    '"aws":{"operation":"VARCHAR","table_name":"VARCHAR","bucket_name":"VARCHAR","queue_url":"VARCHAR","topic_arn":"VARCHAR","function_name":"VARCHAR","resource_names":["VARCHAR"]}';
  return `{"name":"VARCHAR","origin":"VARCHAR","start_time":"DOUBLE","end_time":"DOUBLE",${aws}${inner ? `,"subsegments":[${inner}]` : ''}}`;
}

function structColumns(n: string, kind: string, service: string): string {
  return `trace_id, ${kind} AS kind, ${service} AS service, ${n}.name AS name, ${n}.origin AS origin,
    ${n}.aws.operation AS op,
    coalesce(nullif(${n}.aws.table_name, ''), nullif(${n}.aws.bucket_name, ''),
      nullif(regexp_extract(rtrim(${n}.aws.queue_url, '/'), '[^/]+$'), ''),
      nullif(regexp_extract(${n}.aws.topic_arn, '[^:]+$'), ''),
      nullif(coalesce(regexp_extract(${n}.aws.function_name, ':function:([^:]+)', 1), ${n}.aws.function_name), ''),
      nullif(${n}.aws.resource_names[1], '')) AS res,
    ${n}.start_time AS s, ${n}.end_time AS e`;
}

/**
 * The peer query over every `*.json` file of `traceDir`. `struct` parses each Document once into a
 * typed STRUCT with `from_json` (the fast way); `paths` extracts every field with a JSON path (the
 * way most people write it first, which re-reads the document per field).
 */
export function peerSql(traceDir: string, mode: 'struct' | 'paths' = 'struct'): string {
  return mode === 'struct' ? structSql(traceDir) : pathSql(traceDir);
}

function readTraces(traceDir: string): string {
  const files = quote(`${traceDir.replace(/\/+$/, '')}/*.json`);
  return `SELECT unnest(Traces) AS t FROM read_json(${files}, format = 'auto', maximum_object_size = 1073741824,
    columns = {Traces: 'STRUCT("Id" VARCHAR, "Segments" STRUCT("Id" VARCHAR, "Document" VARCHAR)[])[]'})`;
}

const PEER_SELECT = `SELECT CAST(w * 1000 AS BIGINT) AS window_start, kind, service,
  name, CASE WHEN kind = 'segment' THEN origin END AS origin,
  CASE WHEN kind = 'segment' THEN NULL ELSE op END AS op,
  CASE WHEN kind = 'segment' THEN NULL ELSE res END AS res,
  count(*) AS n, quantile_disc((e - s) * 1000, [0.5, 0.9, 0.99]) AS q
FROM windowed WHERE e IS NOT NULL AND e >= s
GROUP BY ALL`;

function structSql(traceDir: string): string {
  const structure = nodeStructure(nodeStructure(nodeStructure()));
  return `
WITH raw AS (${readTraces(traceDir)}
), seg AS (
  SELECT lower(t.Id) AS trace_id, unnest(t.Segments).Document AS d FROM raw
), l0 AS (
  SELECT trace_id, from_json(d, '${structure}') AS n FROM seg WHERE json_valid(d)
), l1 AS (
  SELECT trace_id, n.name AS service, unnest(n.subsegments) AS n FROM l0
), l2 AS (
  SELECT trace_id, service, unnest(n.subsegments) AS n FROM l1
), nodes AS (
  SELECT ${structColumns('n', "'segment'", 'n.name')} FROM l0
  UNION ALL SELECT ${structColumns('n', "'subsegment'", 'service')} FROM l1
  UNION ALL SELECT ${structColumns('n', "'subsegment'", 'service')} FROM l2
), windowed AS (
  SELECT *, floor(min(s) OVER (PARTITION BY trace_id) / 300) * 300 AS w FROM nodes
)
${PEER_SELECT}`;
}

function pathSql(traceDir: string): string {
  return `
WITH raw AS (${readTraces(traceDir)}
), seg AS (
  SELECT lower(t.Id) AS trace_id, unnest(t.Segments).Document AS d FROM raw
), l0 AS (
  SELECT trace_id, CAST(d AS JSON) AS j FROM seg WHERE json_valid(d)
), l1 AS (
  SELECT trace_id, j->>'$.name' AS service, unnest(CAST(j->'$.subsegments' AS JSON[])) AS j FROM l0
), l2 AS (
  SELECT trace_id, service, unnest(CAST(j->'$.subsegments' AS JSON[])) AS j FROM l1
), nodes AS (
  SELECT ${nodeColumns('j', "'segment'", "j->>'$.name'")} FROM l0
  UNION ALL SELECT ${nodeColumns('j', "'subsegment'", 'service')} FROM l1
  UNION ALL SELECT ${nodeColumns('j', "'subsegment'", 'service')} FROM l2
), windowed AS (
  SELECT *, floor(min(s) OVER (PARTITION BY trace_id) / 300) * 300 AS w FROM nodes
)
${PEER_SELECT}`;
}

export interface PeerResult {
  readonly threads: number | string;
  readonly mode: 'struct' | 'paths';
  readonly elapsedMs: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly groups: number;
  readonly spans: number;
  readonly peakRssMb: number;
}

/** Runs the peer query; `threads` 0 keeps DuckDB's default (one per core). */
export async function duckdbPeer(
  traceDir: string,
  threads: number,
  mode: 'struct' | 'paths' = 'struct',
): Promise<PeerResult> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    if (threads > 0) await connection.run(`SET threads = ${threads}`);
    const actual = (await connection.runAndReadAll(`SELECT current_setting('threads') AS t`)).getRowObjects();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const rows = (await connection.runAndReadAll(peerSql(traceDir, mode))).getRowObjects();
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - t0;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const spans = rows.reduce((n, r) => n + Number(r.n), 0);
    return {
      threads: threads > 0 ? threads : `default (${String(actual[0]?.t)})`,
      mode,
      // One thread: its CPU time, like tracelake's. Several: wall time, which is what they buy.
      elapsedMs: threads === 1 ? cpuMs : wallMs,
      wallMs,
      cpuMs,
      groups: rows.length,
      spans,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export interface AccuracyResult {
  readonly keys: number;
  /** Keys with at least 100 spans: the ones whose percentiles mean something. */
  readonly keysOver100: number;
  /** Per statistic: max and median relative error against the exact nearest-rank quantile. */
  readonly errors: Record<string, { max: number; median: number; within1pct: number }>;
  /** Same, against DuckDB's quantile_disc (its own rank convention). */
  readonly errorsVsQuantileDisc: Record<string, { max: number; median: number }>;
  /** The peer's per-key counts and keys against tracelake's subsegment_stats. */
  readonly peer: { keys: number; sameCount: number; missing: number; extra: number; p99MaxRelDiff: number };
}

/**
 * Sketch percentiles of `subsegment_stats` against exact quantiles of the `spans` table of the same
 * lake (0-based rank ⌈q·n⌉−1, the sketch's nearest-rank convention, and DuckDB's `quantile_disc`), and the peer's
 * per-key counts against tracelake's.
 */
export async function accuracy(lakeDir: string, traceDir: string): Promise<AccuracyResult> {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  const lake = lakeDir.replace(/\/+$/, '');
  try {
    const q = async (sql: string) => (await c.runAndReadAll(sql)).getRowObjects();
    await c.run(
      `CREATE TABLE stats AS SELECT * FROM read_parquet(${quote(`${lake}/subsegment_stats/**/*.parquet`)})`,
    );
    await c.run(`CREATE TABLE exact AS
      SELECT epoch_ms(window_start) AS window_start, kind, service, name,
        CASE WHEN kind = 'segment' THEN origin END AS origin,
        CASE WHEN kind = 'segment' THEN NULL ELSE aws_operation END AS aws_operation,
        CASE WHEN kind = 'segment' THEN NULL ELSE aws_resource END AS aws_resource,
        count(*) AS n, list_sort(list(duration_ms)) AS v,
        quantile_disc(duration_ms, [0.5, 0.9, 0.99]) AS qd
      FROM read_parquet(${quote(`${lake}/spans/**/*.parquet`)})
      GROUP BY ALL`);
    const rows = await q(`
      SELECT s.count AS n, s.p50_ms AS p50, s.p90_ms AS p90, s.p99_ms AS p99,
        e.v[greatest(CAST(ceil(0.5 * e.n - 1e-9) AS BIGINT), 1)] AS x50,
        e.v[greatest(CAST(ceil(0.9 * e.n - 1e-9) AS BIGINT), 1)] AS x90,
        e.v[greatest(CAST(ceil(0.99 * e.n - 1e-9) AS BIGINT), 1)] AS x99,
        e.qd[1] AS d50, e.qd[2] AS d90, e.qd[3] AS d99
      FROM stats s JOIN exact e ON epoch_ms(s.window_start) = e.window_start AND s.kind = e.kind
        AND s.service = e.service AND s.name = e.name
        AND (s.kind = 'segment' AND s.origin IS NOT DISTINCT FROM e.origin OR s.kind = 'subsegment'
        AND s.aws_operation IS NOT DISTINCT FROM e.aws_operation
        AND s.aws_resource IS NOT DISTINCT FROM e.aws_resource)`);
    const rel = (a: unknown, b: unknown) => {
      const x = Number(a);
      const y = Number(b);
      return y === 0 ? (x === 0 ? 0 : Number.POSITIVE_INFINITY) : Math.abs(x - y) / y;
    };
    const stat = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return {
        max: sorted[sorted.length - 1] ?? 0,
        median: sorted[Math.floor((sorted.length - 1) / 2)] ?? 0,
        within1pct: sorted.filter((v) => v <= 0.01 + 1e-12).length / Math.max(1, sorted.length),
      };
    };
    const errors: AccuracyResult['errors'] = {};
    const errorsVsQuantileDisc: AccuracyResult['errorsVsQuantileDisc'] = {};
    for (const p of ['50', '90', '99']) {
      errors[`p${p}`] = stat(rows.map((r) => rel(r[`p${p}`], r[`x${p}`])));
      const d = stat(rows.map((r) => rel(r[`p${p}`], r[`d${p}`])));
      errorsVsQuantileDisc[`p${p}`] = { max: d.max, median: d.median };
    }

    await c.run(`CREATE TABLE peer AS ${peerSql(traceDir)}`);
    const cmp = await q(`
      SELECT count(*) FILTER (WHERE p.n IS NOT NULL AND s.count IS NOT NULL) AS both_,
        count(*) FILTER (WHERE p.n = s.count) AS same,
        count(*) FILTER (WHERE p.n IS NULL) AS missing,
        count(*) FILTER (WHERE s.count IS NULL) AS extra,
        max(abs(p.q[3] - s.p99_ms) / s.p99_ms) AS p99diff
      FROM (SELECT * FROM stats) s FULL OUTER JOIN peer p
        ON epoch_ms(s.window_start) = p.window_start AND s.kind = p.kind AND s.service = p.service
        AND s.name = p.name AND (s.kind = 'segment' AND s.origin IS NOT DISTINCT FROM p.origin
        OR s.kind = 'subsegment' AND s.aws_operation IS NOT DISTINCT FROM p.op
        AND s.aws_resource IS NOT DISTINCT FROM p.res)`);
    const r = cmp[0] ?? {};
    return {
      keys: rows.length,
      keysOver100: rows.filter((row) => Number(row.n) >= 100).length,
      errors,
      errorsVsQuantileDisc,
      peer: {
        keys: Number(r.both_),
        sameCount: Number(r.same),
        missing: Number(r.missing),
        extra: Number(r.extra),
        p99MaxRelDiff: Number(r.p99diff),
      },
    };
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
