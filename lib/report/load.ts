/**
 * Reads what the report needs from a lake: a local folder through DuckDB views, or an S3 lake
 * whose objects in the range are first copied to a temporary folder (through the `ObjectStore`
 * port) and then read the same way. Aggregation happens in DuckDB, so only small results reach JS.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { LakeError } from '../core/errors.js';
import type { ObjectStore } from '../core/ports.js';
import { TABLES, type TableName } from '../core/tables.js';
import type { Cell } from '../query/cell.js';
import { LakeDb } from '../query/lake-db.js';
import type { ReportFindingRow, ReportInput, ReportStatsRow, SelfTimeRow } from './model.js';

export interface ReportRange {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface LoadReportOptions {
  readonly range?: ReportRange | null;
  readonly region: string;
  readonly nowMs?: number;
  /** Called while objects are copied from S3: done of total. */
  readonly progress?: (done: number, total: number) => void;
}

const HOUR = 3_600_000;

/**
 * Whether a Hive partition path (`dt=2026-03-02/hour=09/…`, relative to the table folder) may
 * hold rows of windows starting in the range. Unknown layouts are kept.
 *
 * @example
 * partitionInRange('dt=2026-03-02/hour=09/x.parquet', { fromMs: Date.UTC(2026, 2, 2, 10), toMs: Date.UTC(2026, 2, 2, 11) }) // => false
 */
export function partitionInRange(relPath: string, range: ReportRange | null | undefined): boolean {
  if (!range) return true;
  const dt = /(?:^|\/)dt=(\d{4})-(\d{2})-(\d{2})(?:\/|$)/.exec(relPath);
  if (!dt) return true;
  const day = Date.UTC(Number(dt[1]), Number(dt[2]) - 1, Number(dt[3]));
  const hour = /(?:^|\/)hour=(\d{1,2})(?:\/|$)/.exec(relPath);
  const start = hour ? day + Number(hour[1]) * HOUR : day;
  const end = hour ? start + HOUR : day + 24 * HOUR;
  return start < range.toMs && end > range.fromMs;
}

function fail(what: string, value: Cell): never {
  throw new LakeError(`report: unexpected ${what} ${JSON.stringify(String(value))} in the lake`);
}

function n(v: Cell, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  return fail(what, v);
}

function s(v: Cell, what: string): string {
  return typeof v === 'string' ? v : fail(what, v);
}

function sOrNull(v: Cell, what: string): string | null {
  return v === null ? null : s(v, what);
}

function list(v: Cell, what: string): string[] {
  if (v === null) return [];
  if (!Array.isArray(v)) return fail(what, v);
  return v.filter((x): x is string => typeof x === 'string');
}

function oneOf<T extends string>(v: Cell, allowed: readonly T[], what: string): T {
  const text = s(v, what);
  return (allowed as readonly string[]).includes(text) ? (text as T) : fail(what, v);
}

function rangeWhere(column: string, range: ReportRange | null | undefined): string {
  if (!range) return '';
  return `WHERE ${column} >= epoch_ms(${Math.floor(range.fromMs)}) AND ${column} < epoch_ms(${Math.floor(range.toMs)})`;
}

/** Reads the report's rows from an open lake database. */
export async function readReportRows(
  db: LakeDb,
  range: ReportRange | null | undefined,
): Promise<Pick<ReportInput, 'stats' | 'findings' | 'selfTime'>> {
  const statsRows = await db.objects(`
    SELECT epoch_ms(window_start) AS window_start, epoch_ms(window_end) AS window_end, key, kind, service, name,
           "count", error_count, fault_count, throttle_count, mean_ms, p50_ms, p90_ms, p99_ms
    FROM subsegment_stats ${rangeWhere('window_start', range)}
    ORDER BY window_start, key`);
  const stats: ReportStatsRow[] = statsRows.map((r) => ({
    window_start: n(r.window_start ?? null, 'window_start'),
    window_end: n(r.window_end ?? null, 'window_end'),
    key: s(r.key ?? null, 'key'),
    kind: oneOf(r.kind ?? null, ['segment', 'subsegment'], 'kind'),
    service: s(r.service ?? null, 'service'),
    name: s(r.name ?? null, 'name'),
    count: n(r.count ?? null, 'count'),
    error_count: n(r.error_count ?? null, 'error_count'),
    fault_count: n(r.fault_count ?? null, 'fault_count'),
    throttle_count: n(r.throttle_count ?? null, 'throttle_count'),
    mean_ms: n(r.mean_ms ?? null, 'mean_ms'),
    p50_ms: n(r.p50_ms!, 'p50_ms'),
    p90_ms: n(r.p90_ms!, 'p90_ms'),
    p99_ms: n(r.p99_ms!, 'p99_ms'),
  }));

  const findingRows = await db.objects(`
    SELECT epoch_ms(window_start) AS window_start, key, service, name, kind, statistic, baseline_ms, current_ms,
           ratio, p_value, severity, epoch_ms(since) AS since, exemplar_trace_ids, baseline_exemplar_trace_ids,
           new_version, summary, explained_by
    FROM regressions ${rangeWhere('window_start', range)}
    ORDER BY window_start, key, statistic`);
  const findings: ReportFindingRow[] = findingRows.map((r) => ({
    window_start: n(r.window_start ?? null, 'window_start'),
    key: s(r.key ?? null, 'key'),
    service: s(r.service ?? null, 'service'),
    name: s(r.name ?? null, 'name'),
    kind: oneOf(r.kind ?? null, ['step', 'drift'], 'finding kind'),
    statistic: oneOf(r.statistic ?? null, ['p50', 'p90', 'p99'], 'statistic'),
    baseline_ms: n(r.baseline_ms ?? null, 'baseline_ms'),
    current_ms: n(r.current_ms ?? null, 'current_ms'),
    ratio: n(r.ratio ?? null, 'ratio'),
    p_value: n(r.p_value ?? null, 'p_value'),
    severity: oneOf(r.severity ?? null, ['low', 'medium', 'high', 'critical'], 'severity'),
    since: n(r.since ?? null, 'since'),
    exemplar_trace_ids: list(r.exemplar_trace_ids ?? null, 'exemplar_trace_ids'),
    baseline_exemplar_trace_ids: list(r.baseline_exemplar_trace_ids ?? null, 'baseline_exemplar_trace_ids'),
    new_version: sOrNull(r.new_version ?? null, 'new_version'),
    summary: s(r.summary ?? null, 'summary'),
    // Lakes written before the column existed read it as NULL (see viewSql): a root cause.
    explained_by: sOrNull(r.explained_by ?? null, 'explained_by'),
  }));

  // Spans give exact self time; without them, duration totals per key are the best estimate.
  const spanCount = db.files.spans
    ? n(
        (await db.objects(`SELECT count(*) AS n FROM spans ${rangeWhere('window_start', range)}`))[0]?.n ?? 0,
        'count',
      )
    : 0;
  const selfSql =
    spanCount > 0
      ? `SELECT service,
                CASE WHEN kind = 'segment' THEN '[' || coalesce(NULLIF(origin, ''), 'segment') || ']'
                     ELSE concat_ws(' ', name, NULLIF(aws_operation, ''), NULLIF(aws_resource, '')) END AS label,
                sum(self_ms) AS total_ms, count(*) AS n
         FROM spans ${rangeWhere('window_start', range)}
         GROUP BY 1, 2`
      : `SELECT service,
                CASE WHEN kind = 'segment' THEN coalesce(NULLIF(regexp_extract(key, '\\[[^\\]]*\\]$'), ''), '[segment]')
                     WHEN starts_with(key, service || ' > ') THEN substr(key, length(service) + 4)
                     ELSE key END AS label,
                sum(mean_ms * "count") AS total_ms, sum("count") AS n
         FROM subsegment_stats ${rangeWhere('window_start', range)}
         GROUP BY 1, 2`;
  const selfRows: SelfTimeRow[] = (await db.objects(selfSql)).map((r) => ({
    service: s(r.service ?? null, 'service'),
    label: s(r.label ?? null, 'label'),
    totalMs: n(r.total_ms ?? null, 'total_ms'),
    count: n(r.n ?? null, 'count'),
  }));
  return { stats, findings, selfTime: { source: spanCount > 0 ? 'spans' : 'stats', rows: selfRows } };
}

/**
 * Copies the Parquet objects of every lake table that may hold rows in the range from a store
 * into `dir`, keeping their keys as paths, with at most `concurrency` downloads at a time.
 *
 * @returns the number of objects copied.
 */
export async function copyLakeObjects(
  store: ObjectStore,
  dir: string,
  range: ReportRange | null | undefined,
  progress?: (done: number, total: number) => void,
  concurrency = 8,
): Promise<number> {
  const keys: string[] = [];
  for (const def of TABLES) {
    for (const key of await store.list(`${def.name}/`)) {
      const rel = key.slice(def.name.length + 1);
      if (key.endsWith('.parquet') && partitionInRange(rel, range)) keys.push(key);
    }
  }
  let next = 0;
  let done = 0;
  const root = resolve(dir);
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      const target = resolve(root, key);
      // Keys come from the store; refuse any that would land outside the folder.
      if (!target.startsWith(`${root}/`)) throw new LakeError(`report: refusing object key "${key}"`);
      const body = await store.get(key);
      if (body) {
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, body);
      }
      done++;
      progress?.(done, keys.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
  return keys.length;
}

/**
 * Loads the report input from a lake folder, or from a store (an S3 lake) through a temporary
 * copy of the objects in the range that is removed afterwards.
 *
 * @example
 * const input = await loadReportInput({ dir: 'tracelake-demo/lake' }, { region: 'us-east-1' });
 */
export async function loadReportInput(
  lake: { readonly dir: string } | { readonly store: ObjectStore },
  options: LoadReportOptions,
): Promise<ReportInput> {
  const keep = (_table: TableName, rel: string) => partitionInRange(rel, options.range);
  let dir: string;
  let temp: string | null = null;
  let description: string;
  if ('dir' in lake) {
    dir = lake.dir;
    description = resolve(lake.dir);
  } else {
    temp = await mkdtemp(join(tmpdir(), 'tracelake-report-'));
    dir = temp;
    description = lake.store.describe();
  }
  try {
    if ('store' in lake) await copyLakeObjects(lake.store, dir, options.range, options.progress);
    const db = await LakeDb.open(dir, { keep });
    try {
      const rows = await readReportRows(db, options.range);
      return {
        ...rows,
        lake: description,
        range: options.range ?? null,
        region: options.region,
        generatedAtMs: options.nowMs ?? Date.now(),
      };
    } finally {
      db.close();
    }
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}
