/** Writes rows as a lake folder: one Parquet object per table and window, at its real key. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encodeParquet } from '../../lib/adapters/parquet.js';
import type { RegressionRow, SpanRow, StatsRow, TraceRow } from '../../lib/core/model.js';
import {
  objectKey,
  REGRESSIONS,
  SPANS,
  SUBSEGMENT_STATS,
  type TableDef,
  TRACES,
} from '../../lib/core/tables.js';
import type { ReportFindingRow, ReportStatsRow } from '../../lib/report/model.js';

async function writeTable(
  dir: string,
  def: TableDef,
  rows: readonly { window_start: number }[],
): Promise<string[]> {
  const byWindow = new Map<number, { window_start: number }[]>();
  for (const r of rows) {
    const list = byWindow.get(r.window_start) ?? [];
    list.push(r);
    byWindow.set(r.window_start, list);
  }
  const keys: string[] = [];
  for (const [w, list] of byWindow) {
    const key = objectKey(def, w, 0);
    const file = join(dir, key);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, await encodeParquet(def, list));
    keys.push(key);
  }
  return keys.sort();
}

export async function writeLake(
  dir: string,
  tables: {
    stats?: readonly StatsRow[];
    regressions?: readonly RegressionRow[];
    spans?: readonly SpanRow[];
    traces?: readonly TraceRow[];
  },
): Promise<string[]> {
  return [
    ...(await writeTable(dir, SUBSEGMENT_STATS, tables.stats ?? [])),
    ...(await writeTable(dir, REGRESSIONS, tables.regressions ?? [])),
    ...(await writeTable(dir, SPANS, tables.spans ?? [])),
    ...(await writeTable(dir, TRACES, tables.traces ?? [])),
  ];
}

/** A full stats row from the columns the report reads. */
export function fullStats(r: ReportStatsRow): StatsRow {
  return {
    ...r,
    namespace: r.kind === 'segment' ? null : 'aws',
    aws_operation: null,
    aws_resource: null,
    origin: null,
    min_ms: r.p50_ms / 2,
    p95_ms: r.p90_ms * 1.1,
    p999_ms: r.p99_ms * 1.2,
    max_ms: r.p99_ms * 1.5,
    self_p50_ms: r.p50_ms / 2,
    self_p99_ms: r.p99_ms / 2,
    sketch: new Uint8Array([1, 2, 3]),
    self_sketch: new Uint8Array([4]),
    exemplar_trace_ids: ['1-69c55d10-cccccccccccccccccccccccc'],
    service_versions: ['1.0.0'],
  };
}

export function fullFinding(r: ReportFindingRow): RegressionRow {
  return { ...r };
}

/** A span row with sensible defaults. */
export function span(
  p: Partial<SpanRow> & Pick<SpanRow, 'service' | 'name' | 'kind' | 'self_ms' | 'window_start'>,
): SpanRow {
  return {
    trace_id: '1-69c55d10-dddddddddddddddddddddddd',
    id: '0123456789abcdef',
    parent_id: null,
    segment_id: '0123456789abcdef',
    origin: null,
    namespace: null,
    path: p.name,
    depth: p.kind === 'segment' ? 0 : 1,
    start_time: p.window_start + 1000,
    end_time: p.window_start + 1000 + p.self_ms,
    duration_ms: p.self_ms,
    http_method: null,
    http_status: null,
    http_url: null,
    aws_operation: null,
    aws_resource: null,
    sql_url: null,
    sql_database_type: null,
    service_version: null,
    error: false,
    fault: false,
    throttle: false,
    inferred: false,
    annotations: null,
    ...p,
  };
}
