/**
 * The one pipeline function. The CLI and the Lambda handlers both call `runPipeline`, so local
 * and cloud results are identical for the same traces: sources and sinks differ, nothing else.
 *
 * Flow: source events → decode (X-Ray or OTel) → group by trace → link + flatten → per-window
 * span parts and per-key sketches → lake tables → regression detection → metrics and log lines.
 */
import type { Table } from 'apache-arrow';
import { ArrowTableBuilder } from '../core/arrow.js';
import { LooseTraceBuffer, type TraceGroup } from '../core/assemble.js';
import { attributeFindings, KeyGraph } from '../core/attribution.js';
import { decodeRecord } from '../core/decode.js';
import { ConfigError } from '../core/errors.js';
import { flattenTrace, linkTrace } from '../core/flatten.js';
import { healthMetrics, windowMetrics } from '../core/metrics.js';
import {
  DEFAULT_WINDOW_MS,
  type DecodedRecord,
  type KeyParts,
  type RegressionRow,
  type Rejection,
  type SpanNode,
  type SpanRow,
  type StatsRow,
  subsegmentLabel,
} from '../core/model.js';
import type {
  LogSink,
  MetricDatum,
  MetricSink,
  ObjectStore,
  SourceStats,
  TraceSource,
} from '../core/ports.js';
import type { RegressionConfig } from '../core/regress/index.js';
import { WindowAggregator } from '../core/stats/aggregate.js';
import { DDSketch } from '../core/stats/ddsketch.js';
import { REGRESSIONS, SPANS, SUBSEGMENT_STATS, type TableDef, TRACES, windowToken } from '../core/tables.js';
import { decodeBatchGetTracesByTrace } from '../core/xray/decode.js';
import { LakeWriter } from './lake-writer.js';
import { leaseOwner, withLease } from './lease.js';
import { detectRegressions } from './regressions.js';
import { TraceIdSet } from './trace-id-set.js';
import { TraceRowStore } from './trace-rows.js';

export interface PipelineDeps {
  readonly source: TraceSource;
  readonly store: ObjectStore;
  readonly metrics: MetricSink;
  readonly log: LogSink;
}

export interface PipelineProgress {
  readonly traces: number;
  readonly spans: number;
  readonly rejected: number;
}

/** The lease held while a run updates the regression baselines. */
export const BASELINE_LOCK_KEY = '_state/regressions.lock.json';
/** Longer than any update of the baselines takes; a run that dies holding it frees it after this. */
const BASELINE_LOCK_MS = 5 * 60_000;
const DEFAULT_BASELINE_LOCK_WAIT_MS = 2 * 60_000;

export interface PipelineOptions {
  /** Window length; default 5 minutes, aligned to UTC. */
  readonly windowMs?: number;
  /** Only traces starting in [fromMs, toMs) are kept; API sources fetch exactly this range. */
  readonly range?: { readonly fromMs: number; readonly toMs: number };
  /** false = stats-only (no `spans` table). Default true. */
  readonly writeSpans?: boolean;
  /** The busiest N keys get per-key metrics; the rest are summed into one overflow key. */
  readonly metricKeyCap?: number;
  readonly detectRegressions?: boolean;
  /**
   * How long to wait for another run's update of the regression baselines before failing the run
   * (its tables are written by then; a re-run detects its regressions). Default 2 minutes.
   */
  readonly baselineLockWaitMs?: number;
  readonly regression?: Partial<RegressionConfig>;
  /** Rows per `spans` part object. */
  readonly partRows?: number;
  /**
   * Rows encoded at a time within one `spans` part or `traces` object (the rows and their order
   * do not depend on it); fewer means less memory when an object is written. Default 10,000 for
   * `spans`, 16,384 for `traces`.
   */
  readonly encodeBatchRows?: number;
  /** Loose nodes held while waiting for the rest of their trace. */
  readonly maxLooseNodes?: number;
  /** When set, `LagSeconds` = now − end of the newest window processed. */
  readonly nowMs?: number;
  readonly progress?: (p: PipelineProgress) => void;
}

export interface KeySummary {
  readonly key: string;
  readonly service: string;
  readonly name: string;
  readonly count: number;
  readonly errors: number;
  readonly faults: number;
  readonly throttles: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface RunSummary {
  readonly windows: number[];
  readonly traces: number;
  readonly spans: number;
  readonly inProgress: number;
  readonly rejected: number;
  readonly rejections: Rejection[];
  readonly rejectedKey: string | null;
  readonly ignored: number;
  readonly outOfRange: number;
  readonly keys: number;
  readonly findings: RegressionRow[];
  readonly objectsWritten: string[];
  readonly statsRows: StatsRow[];
  /** Per key over the whole run (sketches merged across windows), busiest first. */
  readonly keySummaries: KeySummary[];
  readonly sourceStats: SourceStats;
  readonly splitTraces: number;
  readonly elapsedMs: number;
}

const DEFAULT_PART_ROWS = 50_000;
const DEFAULT_MAX_LOOSE = 1_000_000;
/** Bound on span rows buffered across all windows before the biggest buffer is written early. */
const MAX_BUFFERED_ROWS_FACTOR = 3;
const MAX_REJECTED_KEPT = 10_000;
/**
 * `traces` rows turned back into objects and encoded at a time when a window is written: the
 * window's object is built in batches so that its peak memory does not grow with the window.
 */
const TRACE_BATCH_ROWS = 16_384;
/**
 * A `spans` part is encoded this many rows at a time (one object, one row group still): Arrow,
 * IPC and parquet-wasm's copy of a whole 50,000-row part were the largest transient memory.
 */
const SPAN_BATCH_ROWS = 10_000;
/**
 * Rows a window's spans builder has room for before it grows: every window with spans keeps one
 * builder, so a source spanning many windows must not reserve a whole batch for each.
 */
const SPAN_BUILDER_CAPACITY = 4_096;

/**
 * The `spans` part a window is filling. Rows are copied into Arrow columns as they arrive (the
 * row objects die young), a batch of `encodeBatchRows` rows at a time, so the part waits as
 * compact Arrow tables, not as tens of thousands of row objects.
 */
interface SpanPart {
  readonly builder: ArrowTableBuilder;
  batches: Table[];
  rows: number;
}

/**
 * Runs the whole pipeline once over what the source yields.
 *
 * @example
 * const summary = await runPipeline(
 *   { source: new FileSource('traces/'), store: new LocalObjectStore('lake'), metrics, log },
 *   { windowMs: 300_000 },
 * );
 */
export async function runPipeline(deps: PipelineDeps, options: PipelineOptions = {}): Promise<RunSummary> {
  const started = Date.now();
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  const writeSpans = options.writeSpans ?? true;
  const partRows = options.partRows ?? DEFAULT_PART_ROWS;
  const batchRows = options.encodeBatchRows;
  if (batchRows !== undefined && !(Number.isInteger(batchRows) && batchRows >= 1)) {
    throw new ConfigError(`encodeBatchRows must be a whole number >= 1, got ${batchRows}`);
  }
  const spanBatchRows = options.encodeBatchRows ?? SPAN_BATCH_ROWS;
  const traceBatchRows = options.encodeBatchRows ?? TRACE_BATCH_ROWS;
  const range = options.range;
  const writer = new LakeWriter(deps.store);
  const aggregator = new WindowAggregator({ windowMs });
  const loose = new LooseTraceBuffer(options.maxLooseNodes ?? DEFAULT_MAX_LOOSE);
  const detect = options.detectRegressions ?? true;
  const keyGraph = new KeyGraph();

  const spanParts = new Map<number, SpanPart>();
  const partsWritten = new Map<number, number>();
  const traceRows = new Map<number, TraceRowStore>();
  const seenTraceIds = new TraceIdSet();
  const rejections: Rejection[] = [];
  const objectsWritten: string[] = [];
  let bufferedRows = 0;
  let traces = 0;
  let spans = 0;
  let inProgress = 0;
  let rejected = 0;
  let ignored = 0;
  let outOfRange = 0;
  let duplicateTraces = 0;
  let lastProgress = 0;

  const reject = (r: Rejection) => {
    rejected++;
    if (rejections.length < MAX_REJECTED_KEPT) rejections.push(r);
  };

  const flushPart = async (window: number) => {
    const current = spanParts.get(window);
    if (!current || current.rows === 0) return;
    if (current.builder.length > 0) current.batches.push(current.builder.finish());
    const batches = current.batches;
    const rows = current.rows;
    current.batches = [];
    current.rows = 0;
    bufferedRows -= rows;
    const part = partsWritten.get(window) ?? 0;
    const { key } = await writer.writeWindowBatches(SPANS, window, batches, part);
    objectsWritten.push(key);
    partsWritten.set(window, part + 1);
  };

  const processGroup = async (group: TraceGroup) => {
    const linked = linkTrace(group.traceId, group.nodes);
    const flat = flattenTrace(group.traceId, linked.roots, windowMs);
    inProgress += flat.inProgress;
    if (!flat.trace || flat.spans.length === 0) return;
    const window = flat.trace.window_start;
    if (range && (flat.trace.start_time < range.fromMs || flat.trace.start_time >= range.toMs)) {
      outOfRange++;
      return;
    }
    // The same trace can arrive twice (overlapping exports, a re-sent page): count it once.
    if (!seenTraceIds.add(group.traceId)) {
      duplicateTraces++;
      return;
    }
    traces++;
    spans += flat.spans.length;
    let windowTraces = traceRows.get(window);
    if (!windowTraces) {
      windowTraces = new TraceRowStore(window);
      traceRows.set(window, windowTraces);
    }
    windowTraces.add(flat.trace);
    if (detect) {
      const keys: string[] = [];
      for (const row of flat.spans) keys.push(aggregator.add(row));
      recordKeyEdges(flat.spans, keys, keyGraph);
    } else {
      for (const row of flat.spans) aggregator.add(row);
    }
    if (!writeSpans) return;
    let current = spanParts.get(window);
    if (!current) {
      current = {
        builder: new ArrowTableBuilder(SPANS, Math.min(spanBatchRows, SPAN_BUILDER_CAPACITY)),
        batches: [],
        rows: 0,
      };
      spanParts.set(window, current);
    }
    const builder = current.builder;
    for (const row of flat.spans) {
      builder.add(row);
      if (builder.length >= spanBatchRows) current.batches.push(builder.finish());
    }
    current.rows += flat.spans.length;
    bufferedRows += flat.spans.length;
    if (current.rows >= partRows) await flushPart(window);
    if (bufferedRows > partRows * MAX_BUFFERED_ROWS_FACTOR) {
      let biggest = window;
      let biggestSize = -1;
      for (const [w, p] of spanParts) {
        if (p.rows > biggestSize) {
          biggest = w;
          biggestSize = p.rows;
        }
      }
      await flushPart(biggest);
    }
  };

  // A record decoded whole, or in pieces one trace at a time: loose nodes wait until every trace
  // of the record is processed, so both give the same order.
  const handlePieces = async (pieces: Iterable<DecodedRecord>) => {
    const looseNodes: SpanNode[] = [];
    for (const piece of pieces) {
      for (const r of piece.rejections) reject(r);
      ignored += piece.ignored.length;
      for (const t of piece.traces) await processGroup({ traceId: t.traceId, nodes: t.nodes });
      for (const node of piece.loose) looseNodes.push(node);
    }
    for (const node of looseNodes) {
      for (const group of loose.add(node)) await processGroup(group);
    }
  };

  for await (const event of deps.source.read(range)) {
    if (event.type === 'rejected') reject(event.rejection);
    else if (event.type === 'record') {
      const pieces = decodeBatchGetTracesByTrace(event.record);
      if (pieces) await handlePieces(pieces);
      else await handlePieces([decodeRecord(event.record)]);
    } else {
      const decoded = decodeRecord({
        value: { Id: event.traceId, Segments: event.documents.map((d) => d.value) },
        location: event.documents[0]?.location ?? { source: deps.source.describe() },
      });
      await handlePieces([decoded]);
    }
    if (options.progress && Date.now() - lastProgress > 250) {
      lastProgress = Date.now();
      options.progress({ traces, spans, rejected });
    }
  }
  for (const group of loose.drain()) await processGroup(group);
  options.progress?.({ traces, spans, rejected });

  // Windows: every window that received spans, in time order.
  const windows = [...new Set([...aggregator.windows(), ...traceRows.keys()])].sort((a, b) => a - b);
  const statsByWindow: { windowStart: number; windowMs: number; rows: StatsRow[] }[] = [];
  const overall = new Map<
    string,
    { parts: KeyParts; sketch: DDSketch; errors: number; faults: number; throttles: number; max: number }
  >();
  const metricData: MetricDatum[] = [];
  for (const window of windows) {
    if (writeSpans) {
      await flushPart(window);
      spanParts.delete(window);
      await writer.finishParts(SPANS, window, partsWritten.get(window) ?? 0);
    }
    const rows = aggregator.statsRows(window);
    for (const row of rows) {
      const state = aggregator.keyState(window, row.key);
      if (!state) continue;
      let acc = overall.get(row.key);
      if (!acc) {
        acc = {
          parts: {
            kind: row.kind,
            service: row.service,
            name: row.name,
            awsOperation: row.aws_operation,
            awsResource: row.aws_resource,
            origin: row.origin,
          },
          sketch: new DDSketch(),
          errors: 0,
          faults: 0,
          throttles: 0,
          max: 0,
        };
        overall.set(row.key, acc);
      }
      acc.sketch.merge(state.sketch);
      acc.errors += row.error_count;
      acc.faults += row.fault_count;
      acc.throttles += row.throttle_count;
      acc.max = Math.max(acc.max, row.max_ms);
    }
    await writeTable(writer, SUBSEGMENT_STATS, window, rows, objectsWritten);
    const windowTraces = traceRows.get(window);
    traceRows.delete(window);
    const tr = await writer.writeWindowBatches(
      TRACES,
      window,
      windowTraces?.sortedBatches(traceBatchRows) ?? [],
    );
    if (tr.rows) objectsWritten.push(tr.key);
    statsByWindow.push({ windowStart: window, windowMs, rows });
    metricData.push(
      ...windowMetrics(
        rows,
        (row) => aggregator.keyState(window, row.key)?.sketch ?? DDSketch.decode(row.sketch),
        {
          keyCap: options.metricKeyCap,
        },
      ),
    );
    const slowest = [...rows].sort((a, b) => b.p99_ms - a.p99_ms).slice(0, 5);
    deps.log.info('window summary', {
      window_start: new Date(window).toISOString(),
      window_end: new Date(window + windowMs).toISOString(),
      traces: tr.rows,
      keys: rows.length,
      spans: rows.reduce((n, r) => n + r.count, 0),
      slowest: slowest.map((r) => ({ key: r.key, p99_ms: round(r.p99_ms), count: r.count })),
      xray_trace_ids: [...new Set(slowest.flatMap((r) => r.exemplar_trace_ids.slice(0, 1)))],
    });
    aggregator.drop(window);
  }

  const allStats = statsByWindow.flatMap((w) => w.rows);
  let findings: RegressionRow[] = [];
  if (detect && statsByWindow.length > 0) {
    // Baselines are read, updated and written back per key: one run at a time (a backfill's
    // workers and the collector may finish windows together), or one run's windows would be lost.
    const detected = await withLease(
      deps.store,
      BASELINE_LOCK_KEY,
      leaseOwner(Date.now()),
      { leaseMs: BASELINE_LOCK_MS, maxWaitMs: options.baselineLockWaitMs ?? DEFAULT_BASELINE_LOCK_WAIT_MS },
      () => detectRegressions(deps.store, statsByWindow, options.regression),
    );
    findings = attributeFindings(detected, keyGraph);
    const byWindow = new Map<number, RegressionRow[]>();
    for (const f of findings) {
      const list = byWindow.get(f.window_start) ?? [];
      list.push(f);
      byWindow.set(f.window_start, list);
    }
    for (const window of windows) {
      const rows = (byWindow.get(window) ?? []).sort(
        (a, b) => cmp(a.key, b.key) || cmp(a.statistic, b.statistic),
      );
      await writeTable(writer, REGRESSIONS, window, rows, objectsWritten);
    }
    for (const f of findings) {
      deps.log.warn('regression', {
        window_start: new Date(f.window_start).toISOString(),
        key: f.key,
        service: f.service,
        name: f.name,
        kind: f.kind,
        statistic: f.statistic,
        baseline_ms: round(f.baseline_ms),
        current_ms: round(f.current_ms),
        ratio: round(f.ratio),
        p_value: f.p_value,
        severity: f.severity,
        since: new Date(f.since).toISOString(),
        new_version: f.new_version,
        summary: f.summary,
        explained_by: f.explained_by ?? null,
        xray_trace_ids: f.exemplar_trace_ids,
        baseline_xray_trace_ids: f.baseline_exemplar_trace_ids,
      });
    }
    for (const datum of regressionMetrics(findings, allStats)) metricData.push(datum);
  }

  const rejectedKey = await writeRejected(deps.store, deps.source.describe(), range, rejections);
  if (rejectedKey) objectsWritten.push(rejectedKey);
  for (const r of rejections.slice(0, 100)) {
    deps.log.warn('document rejected', {
      source: r.location.source,
      line: r.location.line,
      pointer: r.location.pointer,
      reason: r.reason,
    });
  }

  const newest = windows.length ? windows[windows.length - 1]! : null;
  metricData.push(
    ...healthMetrics({
      tracesProcessed: traces,
      documentsRejected: rejected,
      // Root causes only: the callers that slowed down because of them are not separate problems.
      degradingSubsegments: new Set(findings.filter((f) => !f.explained_by).map((f) => f.key)).size,
      lagSeconds:
        options.nowMs !== undefined && newest !== null
          ? (options.nowMs - (newest + windowMs)) / 1000
          : undefined,
      timestampMs: newest ?? range?.fromMs ?? Date.now(),
    }),
  );
  await deps.metrics.publish(metricData);
  await deps.metrics.flush();

  const keySummaries: KeySummary[] = [...overall.entries()]
    .map(([key, acc]) => ({
      key,
      service: acc.parts.service,
      name: acc.parts.name,
      count: acc.sketch.count,
      errors: acc.errors,
      faults: acc.faults,
      throttles: acc.throttles,
      p50: acc.sketch.quantile(0.5),
      p99: acc.sketch.quantile(0.99),
      max: acc.max,
    }))
    .sort((a, b) => b.count - a.count || cmp(a.key, b.key));

  const sourceStats = { ...deps.source.stats(), duplicate_traces: duplicateTraces };
  return {
    windows,
    traces,
    spans,
    inProgress,
    rejected,
    rejections,
    rejectedKey,
    ignored,
    outOfRange,
    keys: overall.size,
    findings,
    objectsWritten,
    statsRows: allStats,
    keySummaries,
    sourceStats,
    splitTraces: loose.evictedTraces,
    elapsedMs: Date.now() - started,
  };
}

/**
 * Learns which keys call which from one trace's rows (parent links within the trace). `keys[i]` is
 * the key of `rows[i]`, as the aggregator returned it (not built again per row).
 */
function recordKeyEdges(rows: readonly SpanRow[], keys: readonly string[], graph: KeyGraph): void {
  const keyById = new Map<string, string>();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const key = keys[i]!;
    keyById.set(row.id, key);
    if (row.inferred) graph.markInferred(key);
  }
  for (const row of rows) {
    if (row.parent_id === null) continue;
    const parent = keyById.get(row.parent_id);
    if (parent !== undefined) graph.addEdge(parent, keyById.get(row.id)!);
  }
}

/** Writes (or, when empty, clears) one window of a table and records the key written. */
async function writeTable(
  writer: LakeWriter,
  def: TableDef,
  window: number,
  rows: readonly object[],
  written: string[],
): Promise<void> {
  const { key } = await writer.writeWindow(def, window, rows);
  if (rows.length) written.push(key);
}

/** `RegressionRatio` per degrading key (worst statistic), in the window of the finding. */
function regressionMetrics(findings: RegressionRow[], stats: StatsRow[]): MetricDatum[] {
  const rowsByKey = new Map(stats.map((s) => [s.key, s]));
  const worst = new Map<string, RegressionRow>();
  for (const f of findings) {
    const id = `${f.window_start}|${f.key}`;
    const prev = worst.get(id);
    if (!prev || f.ratio > prev.ratio) worst.set(id, f);
  }
  const out: MetricDatum[] = [];
  for (const f of worst.values()) {
    const s = rowsByKey.get(f.key);
    const label = s
      ? subsegmentLabel({
          kind: s.kind,
          service: s.service,
          name: s.name,
          awsOperation: s.aws_operation,
          awsResource: s.aws_resource,
        })
      : f.name;
    out.push({
      name: 'RegressionRatio',
      dimensions: { Service: f.service, Subsegment: label },
      unit: 'None',
      timestampMs: f.window_start,
      value: f.ratio,
    });
  }
  return out;
}

/**
 * Rejected documents go to `_rejected/` as JSON lines with file, line, pointer and reason. The
 * object name is derived from the source and range, so re-running replaces it.
 */
async function writeRejected(
  store: ObjectStore,
  source: string,
  range: { fromMs: number; toMs: number } | undefined,
  rejections: readonly Rejection[],
): Promise<string | null> {
  const name = range
    ? `_rejected/${windowToken(range.fromMs)}-${windowToken(range.toMs)}.ndjson`
    : `_rejected/${slug(source)}-${fnv1a(source)}.ndjson`;
  if (rejections.length === 0) {
    const existing = await store.get(name);
    if (existing) await store.delete([name]);
    return null;
  }
  const lines = rejections.map((r) =>
    JSON.stringify({
      source: r.location.source,
      line: r.location.line ?? null,
      pointer: r.location.pointer ?? null,
      reason: r.reason,
      raw: r.raw,
    }),
  );
  await store.put(name, new TextEncoder().encode(`${lines.join('\n')}\n`), {
    contentType: 'application/x-ndjson',
  });
  return name;
}

function slug(text: string): string {
  const base =
    text
      .replace(/^[a-z0-9]+:\/\//i, '')
      .split(/[\\/]/)
      .filter(Boolean)
      .pop() ?? 'source';
  return base.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'source';
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
