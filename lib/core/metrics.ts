/**
 * CloudWatch metric data of a window, as plain `MetricDatum`s (ports.ts): per-key latency
 * distributions and counts, and pipeline health. Names and units are the contract in DESIGN.md.
 */

import type { StatsRow } from './model.js';
import { type KeyParts, subsegmentLabel } from './model.js';
import type { MetricDatum } from './ports.js';
import type { DDSketch } from './stats/ddsketch.js';

/** Per-key dimensions beyond this many keys per window fold into one `_other` key. */
export const DEFAULT_METRIC_KEY_CAP = 50;
/** Dimension value of the overflow key (both `Service` and `Subsegment`). */
export const OVERFLOW_DIMENSION = '_other';

interface KeyAcc {
  readonly service: string;
  readonly subsegment: string;
  readonly windowStart: number;
  readonly rows: StatsRow[];
  count: number;
  errors: number;
  faults: number;
  throttles: number;
}

function partsOf(row: StatsRow): KeyParts {
  return {
    kind: row.kind,
    service: row.service,
    name: row.name,
    awsOperation: row.aws_operation,
    awsResource: row.aws_resource,
    origin: row.origin,
  };
}

function mergedSketch(rows: readonly StatsRow[], sketchOf: (row: StatsRow) => DDSketch): DDSketch | null {
  let merged: DDSketch | null = null;
  for (const row of rows) {
    const sketch = sketchOf(row);
    // Clone first: the caller's sketches must not change.
    if (merged === null) merged = sketch.clone();
    else merged.merge(sketch);
  }
  return merged;
}

function keyData(acc: KeyAcc, sketch: DDSketch | null): MetricDatum[] {
  const dimensions = { Service: acc.service, Subsegment: acc.subsegment };
  const timestampMs = acc.windowStart;
  const out: MetricDatum[] = [];
  if (sketch !== null) {
    const values: number[] = [];
    const counts: number[] = [];
    for (const bin of sketch.bins()) {
      values.push(bin.value);
      counts.push(bin.count);
    }
    if (values.length)
      out.push({ name: 'Latency', unit: 'Milliseconds', dimensions, timestampMs, values, counts });
  }
  out.push(
    { name: 'Requests', unit: 'Count', dimensions, timestampMs, value: acc.count },
    { name: 'Errors', unit: 'Count', dimensions, timestampMs, value: acc.errors },
    { name: 'Faults', unit: 'Count', dimensions, timestampMs, value: acc.faults },
    { name: 'Throttles', unit: 'Count', dimensions, timestampMs, value: acc.throttles },
  );
  return out;
}

/**
 * Per-key metrics of `subsegment_stats` rows: `Latency` (values/counts from the sketch bins, so
 * CloudWatch's own percentiles work), `Requests`, `Errors`, `Faults`, `Throttles`, with dimensions
 * `Service` and `Subsegment` (the key without its service). Keys sharing those dimensions are
 * combined. Per window, the `keyCap` busiest keys (by count) keep their dimensions; the rest are
 * summed into one `_other`/`_other` key with their latency distributions merged, which bounds the
 * number of custom metrics whatever the traffic.
 *
 * @param sketchOf the duration sketch of a row (never modified).
 * @example
 * windowMetrics(statsRows, (row) => DDSketch.decode(row.sketch), { keyCap: 50 })
 * // => [{ name: 'Latency', unit: 'Milliseconds', dimensions: { Service: 'orders', Subsegment: 'DynamoDB GetItem orders' }, values: [...], counts: [...] }, ...]
 */
export function windowMetrics(
  rows: readonly StatsRow[],
  sketchOf: (row: StatsRow) => DDSketch,
  options: { keyCap?: number | undefined } = {},
): MetricDatum[] {
  const cap = options.keyCap ?? DEFAULT_METRIC_KEY_CAP;
  if (!Number.isInteger(cap) || cap < 0)
    throw new RangeError(`keyCap must be a whole number >= 0, got ${cap}`);
  const byWindow = new Map<number, Map<string, KeyAcc>>();
  for (const row of rows) {
    const subsegment = subsegmentLabel(partsOf(row));
    let keys = byWindow.get(row.window_start);
    if (!keys) {
      keys = new Map();
      byWindow.set(row.window_start, keys);
    }
    const id = `${row.service}\u0000${subsegment}`;
    let acc = keys.get(id);
    if (!acc) {
      acc = {
        service: row.service,
        subsegment,
        windowStart: row.window_start,
        rows: [],
        count: 0,
        errors: 0,
        faults: 0,
        throttles: 0,
      };
      keys.set(id, acc);
    }
    acc.rows.push(row);
    acc.count += row.count;
    acc.errors += row.error_count;
    acc.faults += row.fault_count;
    acc.throttles += row.throttle_count;
  }

  const out: MetricDatum[] = [];
  for (const windowStart of [...byWindow.keys()].sort((a, b) => a - b)) {
    const ranked = [...byWindow.get(windowStart)!.values()].sort(
      (a, b) =>
        b.count - a.count ||
        (a.service < b.service ? -1 : a.service > b.service ? 1 : 0) ||
        (a.subsegment < b.subsegment ? -1 : a.subsegment > b.subsegment ? 1 : 0),
    );
    for (const acc of ranked.slice(0, cap)) out.push(...keyData(acc, mergedSketch(acc.rows, sketchOf)));
    const rest = ranked.slice(cap);
    if (rest.length) {
      const other: KeyAcc = {
        service: OVERFLOW_DIMENSION,
        subsegment: OVERFLOW_DIMENSION,
        windowStart,
        rows: rest.flatMap((a) => a.rows),
        count: 0,
        errors: 0,
        faults: 0,
        throttles: 0,
      };
      for (const a of rest) {
        other.count += a.count;
        other.errors += a.errors;
        other.faults += a.faults;
        other.throttles += a.throttles;
      }
      out.push(...keyData(other, mergedSketch(other.rows, sketchOf)));
    }
  }
  return out;
}

/** What a run reports about itself. */
export interface HealthSummary {
  readonly tracesProcessed: number;
  readonly documentsRejected: number;
  readonly degradingSubsegments: number;
  /** Seconds from the end of the newest window processed to now; omitted when unknown. */
  readonly lagSeconds?: number | undefined;
  readonly timestampMs: number;
}

/**
 * Pipeline health metrics, without per-key dimensions: `TracesProcessed`, `DocumentsRejected`,
 * `DegradingSubsegments` (Count) and `LagSeconds` (Seconds, when known).
 *
 * @example
 * healthMetrics({ tracesProcessed: 1200, documentsRejected: 3, degradingSubsegments: 1, lagSeconds: 42, timestampMs: Date.now() })
 */
export function healthMetrics(summary: HealthSummary): MetricDatum[] {
  const base = { dimensions: {}, timestampMs: summary.timestampMs } as const;
  const out: MetricDatum[] = [
    { ...base, name: 'TracesProcessed', unit: 'Count', value: summary.tracesProcessed },
    { ...base, name: 'DocumentsRejected', unit: 'Count', value: summary.documentsRejected },
    { ...base, name: 'DegradingSubsegments', unit: 'Count', value: summary.degradingSubsegments },
  ];
  if (summary.lagSeconds !== undefined && Number.isFinite(summary.lagSeconds)) {
    out.push({ ...base, name: 'LagSeconds', unit: 'Seconds', value: summary.lagSeconds });
  }
  return out;
}
