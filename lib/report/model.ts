/**
 * What the HTML report shows, computed from lake rows: which keys get a chart (busiest and most
 * degraded), the findings grouped per key and statistic under the root cause that explains them,
 * where time goes per service, and error, fault and throttle rates. Pure: rows in, a plain model out.
 */
import type { RegressionRow, StatsRow } from '../core/model.js';

/** The `subsegment_stats` columns the report reads. */
export type ReportStatsRow = Pick<
  StatsRow,
  | 'window_start'
  | 'window_end'
  | 'key'
  | 'kind'
  | 'service'
  | 'name'
  | 'count'
  | 'error_count'
  | 'fault_count'
  | 'throttle_count'
  | 'mean_ms'
  | 'p50_ms'
  | 'p90_ms'
  | 'p99_ms'
>;

/** The `regressions` columns the report reads. */
export type ReportFindingRow = Pick<
  RegressionRow,
  | 'window_start'
  | 'key'
  | 'service'
  | 'name'
  | 'kind'
  | 'statistic'
  | 'baseline_ms'
  | 'current_ms'
  | 'ratio'
  | 'p_value'
  | 'severity'
  | 'since'
  | 'exemplar_trace_ids'
  | 'baseline_exemplar_trace_ids'
  | 'new_version'
  | 'summary'
  | 'explained_by'
>;

/** Time spent in one part of a service: a subsegment key, or the segment's own code. */
export interface SelfTimeRow {
  readonly service: string;
  /**
   * The key without its service (`DynamoDB Query orders`); for the segment's own code its origin
   * in brackets (`[AWS::Lambda::Function]`, or `[segment]`).
   */
  readonly label: string;
  readonly totalMs: number;
  readonly count: number;
}

export interface SelfTime {
  /**
   * `spans`: exact self time (duration minus nested children) summed over spans.
   * `stats`: mean × count of each key's duration from `subsegment_stats`, an approximation in
   * which nested time is counted in every enclosing subsegment too.
   */
  readonly source: 'spans' | 'stats';
  readonly rows: readonly SelfTimeRow[];
}

export interface ReportInput {
  readonly stats: readonly ReportStatsRow[];
  readonly findings: readonly ReportFindingRow[];
  readonly selfTime: SelfTime;
  /** Where the data came from, for the header (`file:///…`, `s3://…`). */
  readonly lake: string;
  /** The range asked for; null = everything in the lake. */
  readonly range: { readonly fromMs: number; readonly toMs: number } | null;
  /** AWS region of the X-Ray console links. */
  readonly region: string;
  readonly generatedAtMs: number;
}

export interface ReportOptions {
  /** Charts for the busiest keys; default 4. */
  readonly busiest?: number;
  /** Charts for the most degraded keys; default 6. */
  readonly degraded?: number;
  /** Parts listed per service in the time breakdown; default 8 (the rest are summed). */
  readonly partsPerService?: number;
  /** Keys with fewer spans over the range are left out of rankings; default 20. */
  readonly minCount?: number;
}

export interface ChartPoint {
  readonly t: number;
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

export interface KeyChart {
  readonly key: string;
  readonly service: string;
  readonly kind: 'segment' | 'subsegment';
  /** Why it is charted. */
  readonly reasons: readonly ('degraded' | 'busiest')[];
  readonly count: number;
  /** p99 of the later part of the range over the earlier part (medians of window p99s). */
  readonly degradation: number;
  readonly points: readonly ChartPoint[];
  readonly findings: readonly FindingGroup[];
  /** The root cause this key got slower because of; null for a root cause or a key without findings. */
  readonly explainedBy: string | null;
  /** Keys with findings explained by this one. */
  readonly explains: number;
}

/** The findings of one key, kind and statistic: the first one tells the onset, later ones repeat it. */
export interface FindingGroup {
  readonly key: string;
  readonly service: string;
  readonly kind: 'step' | 'drift';
  readonly statistic: 'p50' | 'p90' | 'p99';
  readonly severity: ReportFindingRow['severity'];
  readonly since: number;
  readonly firstWindow: number;
  readonly lastWindow: number;
  /** Windows in which it was found. */
  readonly windows: number;
  readonly baselineMs: number;
  /** The current value and ratio of the strongest window. */
  readonly currentMs: number;
  readonly ratio: number;
  readonly pValue: number;
  readonly newVersion: string | null;
  readonly summary: string;
  readonly exemplarTraceIds: readonly string[];
  readonly baselineTraceIds: readonly string[];
  /** The root cause this key got slower because of (see {@link rootCauseOf}); null for a root cause. */
  readonly explainedBy: string | null;
}

/** A root cause and the findings on other keys that are slower because of it. */
export interface RootCause {
  readonly key: string;
  /** Its own findings, strongest first; empty when only findings it explains are in the range. */
  readonly findings: readonly FindingGroup[];
  /** Findings on keys that got slower because of it, strongest first. */
  readonly consequences: readonly FindingGroup[];
}

export interface RateRow {
  readonly key: string;
  readonly kind: 'segment' | 'subsegment';
  readonly requests: number;
  readonly errors: number;
  readonly faults: number;
  readonly throttles: number;
}

export interface RatePoint {
  readonly t: number;
  readonly requests: number;
  readonly errorRate: number;
  readonly faultRate: number;
  readonly throttleRate: number;
}

export interface ServiceTime {
  readonly service: string;
  readonly totalMs: number;
  readonly parts: readonly SelfTimeRow[];
}

export interface ReportModel {
  readonly lake: string;
  readonly region: string;
  readonly generatedAtMs: number;
  /** The windows the data covers: [first window start, last window end]; null when empty. */
  readonly extent: readonly [number, number] | null;
  readonly range: ReportInput['range'];
  readonly windowMs: number;
  readonly totals: {
    readonly windows: number;
    readonly keys: number;
    readonly segmentSpans: number;
    readonly findings: number;
    readonly rootCauses: number;
    readonly keysWithFindings: number;
  };
  readonly charts: readonly KeyChart[];
  /** Grouped findings: each root cause's own, then those it explains; root causes strongest first. */
  readonly findings: readonly FindingGroup[];
  readonly causes: readonly RootCause[];
  readonly timeSource: SelfTime['source'];
  readonly services: readonly ServiceTime[];
  /** Segments' rates per window (the requests each service served). */
  readonly ratesOverTime: readonly RatePoint[];
  /** Keys with any error, fault or throttle, worst fault rate first. */
  readonly rates: readonly RateRow[];
}

const SEVERITY_RANK = { low: 0, medium: 1, high: 2, critical: 3 } as const;

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The root cause each key with findings got slower because of, or null for a root cause. A key is
 * a root cause when any of its findings is unexplained (rows from lakes written before
 * `explained_by` existed read as unexplained); otherwise it is the root named most often by its
 * findings (ties: the first in key order).
 *
 * @example
 * rootCauseOf([{ key: 'a > Invocation', explained_by: 'a > DynamoDB Query t', … }, { key: 'a > DynamoDB Query t', explained_by: null, … }])
 * // => Map { 'a > Invocation' => 'a > DynamoDB Query t', 'a > DynamoDB Query t' => null }
 */
export function rootCauseOf(rows: readonly ReportFindingRow[]): Map<string, string | null> {
  const named = new Map<string, Map<string, number> | null>();
  for (const r of rows) {
    const cause = r.explained_by ?? null;
    if (cause === null || cause === r.key) {
      named.set(r.key, null);
      continue;
    }
    const counts = named.get(r.key);
    if (counts === null) continue;
    const next = counts ?? new Map<string, number>();
    next.set(cause, (next.get(cause) ?? 0) + 1);
    named.set(r.key, next);
  }
  const out = new Map<string, string | null>();
  for (const [key, counts] of named) {
    if (!counts) {
      out.set(key, null);
      continue;
    }
    const [best] = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    out.set(key, best![0]);
  }
  return out;
}

/**
 * Arranges grouped findings (as sorted by {@link groupFindings}) under their root causes: root
 * causes in the order of their strongest finding, each with the findings it explains. A root named
 * by findings but without findings of its own comes after the others.
 *
 * @example
 * rootCauses(groupFindings(rows)).map((c) => [c.key, c.consequences.length]) // => [['orders-api > DynamoDB Query orders', 7]]
 */
export function rootCauses(groups: readonly FindingGroup[]): RootCause[] {
  const causes = new Map<string, { own: FindingGroup[]; explained: FindingGroup[] }>();
  const of = (key: string) => {
    let c = causes.get(key);
    if (!c) {
      c = { own: [], explained: [] };
      causes.set(key, c);
    }
    return c;
  };
  for (const g of groups) if (g.explainedBy === null) of(g.key).own.push(g);
  for (const g of groups) if (g.explainedBy !== null) of(g.explainedBy).explained.push(g);
  const list = [...causes].map(([key, c]) => ({ key, findings: c.own, consequences: c.explained }));
  // Stable: causes with findings of their own keep their order, the others follow.
  return [...list.filter((c) => c.findings.length), ...list.filter((c) => !c.findings.length)];
}

/**
 * Groups findings per (key, kind, statistic): onset and baseline from the first window, the
 * strongest ratio and smallest p-value over all of them, exemplars of the strongest window, and the
 * key's root cause. Sorted by severity, then ratio.
 *
 * @example
 * groupFindings(rows)[0] // => { key: 'orders-api > DynamoDB Query orders', statistic: 'p99', windows: 7, … }
 */
export function groupFindings(rows: readonly ReportFindingRow[]): FindingGroup[] {
  const roots = rootCauseOf(rows);
  const groups = new Map<string, ReportFindingRow[]>();
  for (const r of rows) {
    const id = `${r.key}\u0000${r.kind}\u0000${r.statistic}`;
    const list = groups.get(id);
    if (list) list.push(r);
    else groups.set(id, [r]);
  }
  const out: FindingGroup[] = [];
  for (const list of groups.values()) {
    list.sort((a, b) => a.window_start - b.window_start);
    const first = list[0]!;
    const strongest = list.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    const worstSeverity = list.reduce((a, b) =>
      SEVERITY_RANK[b.severity] > SEVERITY_RANK[a.severity] ? b : a,
    );
    out.push({
      key: first.key,
      service: first.service,
      kind: first.kind,
      statistic: first.statistic,
      severity: worstSeverity.severity,
      since: first.since,
      firstWindow: first.window_start,
      lastWindow: list[list.length - 1]!.window_start,
      windows: new Set(list.map((r) => r.window_start)).size,
      baselineMs: first.baseline_ms,
      currentMs: strongest.current_ms,
      ratio: strongest.ratio,
      pValue: Math.min(...list.map((r) => r.p_value)),
      newVersion: list.find((r) => r.new_version)?.new_version ?? null,
      summary: first.summary,
      exemplarTraceIds: strongest.exemplar_trace_ids,
      baselineTraceIds: first.baseline_exemplar_trace_ids.length
        ? first.baseline_exemplar_trace_ids
        : strongest.baseline_exemplar_trace_ids,
      explainedBy: roots.get(first.key) ?? null,
    });
  }
  return out.sort(
    (a, b) =>
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      b.ratio - a.ratio ||
      a.key.localeCompare(b.key) ||
      a.statistic.localeCompare(b.statistic),
  );
}

/** The most common gap between consecutive window starts: the window length. */
function windowLength(starts: readonly number[]): number {
  const sorted = [...new Set(starts)].sort((a, b) => a - b);
  const gaps = new Map<number, number>();
  for (let i = 1; i < sorted.length; i++) {
    const g = sorted[i]! - sorted[i - 1]!;
    gaps.set(g, (gaps.get(g) ?? 0) + 1);
  }
  let best = 300_000;
  let bestN = 0;
  for (const [g, n] of gaps)
    if (n > bestN || (n === bestN && g < best)) {
      best = g;
      bestN = n;
    }
  return best;
}

/**
 * Builds everything the report shows from lake rows.
 *
 * @example
 * const model = buildReportModel({ stats, findings, selfTime, lake: 'file:///tmp/lake', range: null,
 *   region: 'us-east-1', generatedAtMs: Date.now() });
 * model.charts.map((c) => c.key) // most degraded first (root causes before what they explain), then the busiest
 */
export function buildReportModel(input: ReportInput, options: ReportOptions = {}): ReportModel {
  const minCount = options.minCount ?? 20;
  const causes = rootCauses(groupFindings(input.findings));
  const findings = causes.flatMap((c) => [...c.findings, ...c.consequences]);
  const explainedBy = rootCauseOf(input.findings);

  const byKey = new Map<string, ReportStatsRow[]>();
  for (const r of input.stats) {
    const list = byKey.get(r.key);
    if (list) list.push(r);
    else byKey.set(r.key, [r]);
  }
  const windows = [...new Set(input.stats.map((r) => r.window_start))].sort((a, b) => a - b);
  const windowMs = windowLength(windows);
  const extent: [number, number] | null = windows.length
    ? [windows[0]!, Math.max(...input.stats.map((r) => r.window_end))]
    : null;

  interface Candidate {
    key: string;
    rows: ReportStatsRow[];
    count: number;
    degradation: number;
  }
  const candidates: Candidate[] = [];
  for (const [key, rows] of byKey) {
    rows.sort((a, b) => a.window_start - b.window_start);
    const count = rows.reduce((n, r) => n + r.count, 0);
    // Later third against the first half: a step late in the range still shows, noise mostly cancels.
    const early = rows.slice(0, Math.max(1, Math.floor(rows.length / 2))).map((r) => r.p99_ms);
    const late = rows.slice(Math.floor((rows.length * 2) / 3)).map((r) => r.p99_ms);
    const base = median(early);
    const degradation = rows.length >= 4 && base > 0 ? median(late) / base : 1;
    candidates.push({ key, rows, count, degradation });
  }
  // A chart needs two windows to draw a line.
  const chartable = candidates.filter((c) => c.rows.length >= 2);
  // Root causes before the keys they explain.
  const findingKeys = [
    ...new Set([
      ...findings.filter((f) => f.explainedBy === null).map((f) => f.key),
      ...findings.map((f) => f.key),
    ]),
  ];
  const chosen = new Map<string, Set<'degraded' | 'busiest'>>();
  const add = (key: string, why: 'degraded' | 'busiest') => {
    const set = chosen.get(key) ?? new Set();
    set.add(why);
    chosen.set(key, set);
  };
  const degradedN = options.degraded ?? 6;
  const degraded = [
    ...findingKeys.filter((k) => chartable.some((c) => c.key === k)),
    ...chartable
      .filter((c) => c.count >= minCount && c.degradation >= 1.2 && !findingKeys.includes(c.key))
      .sort((a, b) => b.degradation - a.degradation || a.key.localeCompare(b.key))
      .map((c) => c.key),
  ].slice(0, degradedN);
  for (const k of degraded) add(k, 'degraded');
  const busiest = chartable
    .filter((c) => c.rows[0]!.kind === 'subsegment')
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key))
    .slice(0, options.busiest ?? 4);
  for (const c of busiest) add(c.key, 'busiest');

  const charts: KeyChart[] = [...chosen].map(([key, reasons]) => {
    const c = candidates.find((x) => x.key === key)!;
    const first = c.rows[0]!;
    return {
      key,
      service: first.service,
      kind: first.kind,
      reasons: [...reasons],
      count: c.count,
      degradation: c.degradation,
      points: c.rows.map((r) => ({
        t: r.window_start,
        count: r.count,
        p50: r.p50_ms,
        p90: r.p90_ms,
        p99: r.p99_ms,
      })),
      findings: findings.filter((f) => f.key === key),
      explainedBy: explainedBy.get(key) ?? null,
      explains: new Set(causes.find((x) => x.key === key)?.consequences.map((f) => f.key)).size,
    };
  });

  // Rates: segments per window are the requests the services served.
  const perWindow = new Map<
    number,
    { requests: number; errors: number; faults: number; throttles: number }
  >();
  const perKey = new Map<string, RateRow>();
  for (const r of input.stats) {
    if (r.kind === 'segment') {
      const w = perWindow.get(r.window_start) ?? { requests: 0, errors: 0, faults: 0, throttles: 0 };
      w.requests += r.count;
      w.errors += r.error_count;
      w.faults += r.fault_count;
      w.throttles += r.throttle_count;
      perWindow.set(r.window_start, w);
    }
    const k = perKey.get(r.key) ?? {
      key: r.key,
      kind: r.kind,
      requests: 0,
      errors: 0,
      faults: 0,
      throttles: 0,
    };
    perKey.set(r.key, {
      ...k,
      requests: k.requests + r.count,
      errors: k.errors + r.error_count,
      faults: k.faults + r.fault_count,
      throttles: k.throttles + r.throttle_count,
    });
  }
  const ratesOverTime = [...perWindow]
    .sort((a, b) => a[0] - b[0])
    .map(([t, w]) => ({
      t,
      requests: w.requests,
      errorRate: w.requests ? w.errors / w.requests : 0,
      faultRate: w.requests ? w.faults / w.requests : 0,
      throttleRate: w.requests ? w.throttles / w.requests : 0,
    }));
  const rate = (n: number, d: number) => (d ? n / d : 0);
  const rates = [...perKey.values()]
    .filter((r) => r.requests > 0 && r.errors + r.faults + r.throttles > 0)
    .sort(
      (a, b) =>
        rate(b.faults, b.requests) - rate(a.faults, a.requests) ||
        rate(b.errors + b.throttles, b.requests) - rate(a.errors + a.throttles, a.requests) ||
        b.requests - a.requests ||
        a.key.localeCompare(b.key),
    );

  const services = serviceTimes(input.selfTime.rows, options.partsPerService ?? 8);

  return {
    lake: input.lake,
    region: input.region,
    generatedAtMs: input.generatedAtMs,
    extent,
    range: input.range,
    windowMs,
    totals: {
      windows: windows.length,
      keys: byKey.size,
      segmentSpans: input.stats.filter((r) => r.kind === 'segment').reduce((n, r) => n + r.count, 0),
      findings: input.findings.length,
      rootCauses: causes.length,
      keysWithFindings: explainedBy.size,
    },
    charts,
    findings,
    causes,
    timeSource: input.selfTime.source,
    services,
    ratesOverTime,
    rates,
  };
}

/**
 * Per service, the parts that take its time, largest first; beyond `keep` parts the rest are
 * summed into one `other (n)` part. Services with the most time come first.
 *
 * @example
 * serviceTimes([{ service: 'a', label: 'x', totalMs: 5, count: 1 }], 8) // => [{ service: 'a', totalMs: 5, parts: [...] }]
 */
export function serviceTimes(rows: readonly SelfTimeRow[], keep: number): ServiceTime[] {
  const by = new Map<string, SelfTimeRow[]>();
  for (const r of rows) {
    const list = by.get(r.service);
    if (list) list.push(r);
    else by.set(r.service, [r]);
  }
  const out: ServiceTime[] = [];
  for (const [service, list] of by) {
    list.sort((a, b) => b.totalMs - a.totalMs || a.label.localeCompare(b.label));
    const parts = list.slice(0, keep);
    const rest = list.slice(keep);
    if (rest.length) {
      parts.push({
        service,
        label: `other (${rest.length})`,
        totalMs: rest.reduce((n, r) => n + r.totalMs, 0),
        count: rest.reduce((n, r) => n + r.count, 0),
      });
    }
    out.push({ service, totalMs: list.reduce((n, r) => n + r.totalMs, 0), parts });
  }
  return out.sort((a, b) => b.totalMs - a.totalMs || a.service.localeCompare(b.service));
}
