/**
 * The regression detector: folds each window's per-key statistics into the key's baseline state
 * and reports the keys whose latency rose, as steps (current windows vs the recent baseline) and as
 * drifts (a trend over hours), each with its onset, the trace IDs on both sides, and whether a new
 * service version appeared around the onset.
 *
 * A finding needs all of:
 * - practical significance: ratio ≥ minRatio and delta ≥ minDeltaMs, against the recent baseline
 *   and, when a previous day exists, against the same hour on previous days (seasonality);
 * - statistical significance from the sketches' bucket counts: Mann–Whitney for p50; for p90/p99
 *   the stronger of a one-sided Fisher exceedance test at the baseline's quantile and a rank test
 *   on the slow calls; Mann–Kendall for drifts;
 * - Benjamini–Hochberg across every test made in the window, at false discovery rate `fdr`.
 *
 * Everything a window's detection reads is bounded by that window's start, so the findings of a
 * window do not depend on the order in which windows arrive or on a re-run, as long as its
 * baseline windows are still in the sketch ring (`reprocessWindows` of margin behind the newest).
 */
import { ValidationError } from '../errors.js';
import type { RegressionKind, RegressionRow, RegressionStatistic, StatsRow } from '../model.js';
import { DDSketch } from '../stats/ddsketch.js';
import type { RegressionConfig } from './config.js';
import {
  emptyBaseline,
  type HourPoint,
  type KeyBaseline,
  type RingEntry,
  roundValue,
  type SeriesPoint,
  upsertByStart,
} from './state.js';
import {
  type Bin,
  benjaminiHochberg,
  eDivisive,
  fisherGreater,
  hodgesLehmannRatio,
  kruskalWallis,
  mannKendall,
  mannWhitneyGreater,
  median,
  normalSf,
  theilSen,
} from './stats.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

interface StatisticDef {
  readonly name: RegressionStatistic;
  readonly q: number;
  /**
   * The band of quantiles around `q` whose median ratio (current / baseline) is the step's size
   * for p50 (for p90/p99 when a side has no call above `tailFrom`): steadier than the ratio of two
   * single quantiles, and not fooled by a percentile that sits in the gap between two modes.
   */
  readonly band: readonly number[];
  /**
   * For p90 and p99: the baseline quantile above which the tail rank test compares values, and
   * the share of slowest calls of each side whose Hodges–Lehmann ratio is the step's size. A
   * change confined to the slow calls (retries, a slower slow path) moves every value up there,
   * which a rank test on those values sees with many more calls than a count above the
   * percentile itself.
   */
  readonly tailFrom: number | null;
  /** Samples needed for the quantile to rest on at least one value above it. */
  readonly need: number;
  /**
   * Current-side calls a step test on this percentile needs: five above it. A p99 read from 400
   * calls rests on four of them, and a band of quantiles around it on a handful more; a chance
   * handful of slow calls then reads as a 20 % rise.
   */
  readonly stepNeed: number;
}

const STATISTICS: readonly StatisticDef[] = [
  { name: 'p50', q: 0.5, band: [0.4, 0.45, 0.5, 0.55, 0.6], tailFrom: null, need: 2, stepNeed: 10 },
  { name: 'p90', q: 0.9, band: [0.85, 0.875, 0.9, 0.925, 0.95], tailFrom: 0.75, need: 10, stepNeed: 50 },
  {
    name: 'p99',
    q: 0.99,
    band: [0.975, 0.98, 0.985, 0.99, 0.9925, 0.995],
    tailFrom: 0.95,
    need: 100,
    stepNeed: 500,
  },
];

/** One window of statistics, as the pipeline hands it over. */
export interface WindowStats {
  readonly windowStart: number;
  readonly windowMs: number;
  readonly rows: readonly StatsRow[];
}

/** Steps: two windows or more; drifts: 6 h of windows or 3 days of hours. */
type Horizon = 'short' | 'long';

/**
 * A gate a test can fail: too few calls for the percentile (`samples`), the ratio below minRatio
 * (`ratio`), the rise below minDeltaMs (`delta`), not above the same hour on previous days
 * (`seasonal`), a drift's fitted line no better than a step or not significant on its own
 * (`trend`), and the p-value above the window's bar (`significance`).
 */
export type Gate = 'samples' | 'ratio' | 'delta' | 'seasonal' | 'trend' | 'significance';

/**
 * What one test of one key in one window saw and which gates stopped it: for the evaluation and
 * for debugging a missed change; not part of the findings.
 */
export interface TestDiagnostic {
  readonly windowStart: number;
  readonly key: string;
  readonly kind: RegressionKind;
  readonly horizon: Horizon;
  readonly statistic: RegressionStatistic;
  /** The current side had to widen to hold minSamples: judged with Bonferroni. */
  readonly quiet: boolean;
  /** Raw p-value (NaN for a test not run). */
  readonly p: number;
  /**
   * The raw p-value this test had to reach: Bonferroni's fdr / m for a quiet key, else
   * Benjamini–Hochberg's next level fdr · min(R + 1, fdrMaxFindings) / m (R: the window's
   * findings; R for a test that is one of them). NaN for a test not run.
   */
  readonly bar: number;
  /** The same bar without the fdrMaxFindings cap. */
  readonly barUncapped: number;
  /** The p-value as judged (BH-adjusted, capped, or Bonferroni): the `p_value` of a finding. */
  readonly judgedP: number;
  /** Tests made in the window (BH's m). */
  readonly tests: number;
  readonly ratio: number;
  readonly baselineMs: number;
  readonly currentMs: number;
  readonly failed: readonly Gate[];
  /** The parts of the test (p-values of its views, noise factors), by name. */
  readonly detail: Readonly<Record<string, number>>;
}

/** Receives one TestDiagnostic per test made (and per test skipped for too few calls). */
export type DiagnosticSink = (d: TestDiagnostic) => void;

interface Candidate {
  readonly state: KeyBaseline;
  readonly kind: RegressionKind;
  readonly horizon: Horizon;
  readonly stat: StatisticDef;
  readonly p: number;
  /**
   * A key too quiet for the short horizon (its current side had to widen to hold minSamples):
   * judged on few calls, where a handful of odd ones move a percentile by half, so it must clear
   * the family-wise bar (Bonferroni over the window's tests), not only Benjamini–Hochberg's.
   */
  readonly quiet: boolean;
  readonly practical: boolean;
  /** The practical gates not passed and the test's parts (see TestDiagnostic), for diagnostics. */
  readonly failed: readonly Gate[];
  readonly detail: Readonly<Record<string, number>>;
  readonly baselineMs: number;
  readonly currentMs: number;
  /** The size of the change reported (`ratio`): the band or Hodges–Lehmann estimate for a step, the fitted rise for a drift. */
  readonly ratio: number;
  /** Ring entries of the slow side and of the baseline side, for exemplars. */
  readonly current: readonly RingEntry[];
  readonly baseline: readonly RingEntry[];
  /** Series the onset is searched in: starts and log values. */
  readonly onsetStarts: readonly number[];
  readonly onsetValues: readonly number[];
  /** Where the onset falls back to when no change point is found. */
  readonly fallbackSince: number;
}

/** A window's buckets by bucket index, read once per sketch: a window serves ~30 later decisions. */
interface DenseBins {
  readonly bins: Bin[];
  readonly zero: number;
  /** Index of the first non-zero bucket; counts[k] and values[k] are bucket first + k. */
  readonly first: number;
  readonly counts: Float64Array;
  readonly values: Float64Array;
}

const binCache = new WeakMap<DDSketch, DenseBins>();

function denseOf(entry: RingEntry): DenseBins {
  const cached = binCache.get(entry.sketch);
  if (cached) return cached;
  const bins = [...entry.sketch.bins()];
  const lnGamma = Math.log(entry.sketch.gamma);
  const scale = (entry.sketch.gamma + 1) / 2;
  let zero = 0;
  const positive = bins.filter((b) => {
    if (b.value === 0) zero += b.count;
    return b.value > 0;
  });
  const indexOf = (v: number) => Math.round(Math.log(v * scale) / lnGamma);
  const first = positive.length ? indexOf(positive[0]!.value) : 0;
  const size = positive.length ? indexOf(positive.at(-1)!.value) - first + 1 : 0;
  const counts = new Float64Array(size);
  const values = new Float64Array(size);
  for (const b of positive) {
    const k = indexOf(b.value) - first;
    counts[k] = b.count;
    values[k] = b.value;
  }
  const dense = { bins, zero, first, counts, values };
  binCache.set(entry.sketch, dense);
  return dense;
}

function binsOf(entry: RingEntry): Bin[] {
  return denseOf(entry).bins;
}

/** A merged histogram: the buckets of several windows of one key. */
interface Histogram {
  readonly bins: Bin[];
  readonly count: number;
}

/**
 * Adds windows bucket by bucket (DDSketch.merge without copying sketches). Bucket values come
 * from the sketches themselves, so quantiles equal those of the merged sketch.
 */
function mergedOf(entries: readonly RingEntry[]): Histogram {
  const dense = entries.map(denseOf).filter((d) => d.counts.length > 0 || d.zero > 0);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let zero = 0;
  for (const d of dense) {
    zero += d.zero;
    if (d.counts.length === 0) continue;
    lo = Math.min(lo, d.first);
    hi = Math.max(hi, d.first + d.counts.length - 1);
  }
  const bins: Bin[] = [];
  if (zero > 0) bins.push({ value: 0, count: zero });
  let count = zero;
  if (hi >= lo) {
    const counts = new Float64Array(hi - lo + 1);
    const values = new Float64Array(hi - lo + 1);
    for (const d of dense) {
      const offset = d.first - lo;
      for (let k = 0; k < d.counts.length; k++) {
        const c = d.counts[k]!;
        if (c > 0) {
          counts[offset + k]! += c;
          values[offset + k] = d.values[k]!;
        }
      }
    }
    for (let k = 0; k < counts.length; k++) {
      const c = counts[k]!;
      if (c > 0) {
        bins.push({ value: values[k]!, count: c });
        count += c;
      }
    }
  }
  return { bins, count };
}

/** DDSketch's lower quantile (rank ⌊q·(n−1)⌋) on a merged histogram. */
function quantileOf(h: Histogram, q: number): number {
  const rank = q * (h.count - 1);
  let cumulative = 0;
  for (const b of h.bins) {
    cumulative += b.count;
    if (cumulative > rank) return b.value;
  }
  return h.bins.at(-1)?.value ?? Number.NaN;
}

function statValue(p: { p50: number; p90: number; p99: number }, stat: StatisticDef): number {
  return stat.name === 'p50' ? p.p50 : stat.name === 'p90' ? p.p90 : p.p99;
}

const hourOf = (t: number): number => Math.floor(t / HOUR_MS) * HOUR_MS;

/**
 * Folds one key's row of one window into its baseline: replaces the window's entries if present,
 * refreshes the hour's aggregate while all its windows are still in the ring, and prunes to the
 * configured bounds (relative to the newest window of the key).
 *
 * @example applyWindow(baseline, row, row.window_start, 300_000, DEFAULT_REGRESSION_CONFIG)
 */
export function applyWindow(
  state: KeyBaseline,
  row: StatsRow,
  start: number,
  windowMs: number,
  config: RegressionConfig,
): void {
  // Decoded first: a sketch that does not decode leaves the state untouched (ValidationError).
  const sketch = DDSketch.decode(row.sketch);
  state.service = row.service;
  state.name = row.name;
  upsertByStart<SeriesPoint>(state.series, {
    start,
    count: row.count,
    p50: roundValue(row.p50_ms),
    p90: roundValue(row.p90_ms),
    p99: roundValue(row.p99_ms),
    versions: [...new Set(row.service_versions)].sort(),
  });
  upsertByStart<RingEntry>(state.ring, {
    start,
    count: row.count,
    sketch,
    exemplars: row.exemplar_trace_ids.slice(0, config.exemplars),
  });
  updateHour(state, hourOf(start));
  const newest = Math.max(state.series.at(-1)!.start, state.ring.at(-1)!.start);
  const ringSpan = Math.max(
    (config.maxCurrentWindows + config.baselineWindows + config.reprocessWindows) * windowMs,
    HOUR_MS,
  );
  const hoursSpan = Math.max((config.seasonalDays + 1) * DAY_MS, (config.longDriftHours + 1) * HOUR_MS);
  state.ring = state.ring.filter((e) => e.start > newest - ringSpan);
  state.series = state.series.filter((e) => e.start > newest - config.historyWindows * windowMs);
  state.hours = state.hours.filter((e) => e.start > hourOf(newest) - hoursSpan);
}

/** The hour's percentiles from its merged sketches, only while every window of it is in the ring. */
function updateHour(state: KeyBaseline, hour: number): void {
  const inHour = (e: { start: number }) => e.start >= hour && e.start < hour + HOUR_MS;
  const ring = state.ring.filter(inHour);
  const windows = state.series.filter(inHour).length;
  if (ring.length === 0 || ring.length !== windows) return;
  const h = mergedOf(ring);
  upsertByStart<HourPoint>(state.hours, {
    start: hour,
    count: h.count,
    p50: roundValue(quantileOf(h, 0.5)),
    p90: roundValue(quantileOf(h, 0.9)),
    p99: roundValue(quantileOf(h, 0.99)),
  });
}

/**
 * The seasonal baseline at time `t`: for each previous day, the larger of the hourly values within
 * ±30 min of the same time of day (a tolerance for a daily change that does not start on the
 * hour), then the median over the days.
 */
function seasonalReference(
  hours: ReadonlyMap<number, HourPoint>,
  t: number,
  stat: StatisticDef,
  days: number,
): number | null {
  const values: number[] = [];
  for (let d = 1; d <= days; d++) {
    const h0 = hourOf(t - d * DAY_MS - HOUR_MS / 2);
    let best: number | null = null;
    for (const h of [hours.get(h0), hours.get(h0 + HOUR_MS)]) {
      if (h && h.count >= stat.need) best = Math.max(best ?? 0, statValue(h, stat));
    }
    if (best !== null) values.push(best);
  }
  return values.length > 0 ? median(values) : null;
}

/** A bucket strictly above `threshold` (a relative margin so the threshold's own bucket is not). */
const isAbove = (b: Bin, threshold: number): boolean => b.value > threshold * (1 + 1e-12);

function countAbove(list: readonly Bin[], threshold: number): number {
  let n = 0;
  for (const b of list) if (isAbove(b, threshold)) n += b.count;
  return n;
}

function countOf(entries: readonly RingEntry[]): number {
  let n = 0;
  for (const e of entries) n += e.count;
  return n;
}

/**
 * Overdispersion of the share above `threshold` across baseline windows: Pearson χ² / (k − 1),
 * at least 1. Samples within a window are not independent (a slow dependency slows a whole
 * window), so a test that treats them as independent would be too sure of itself.
 */
function dispersion(windows: readonly (readonly Bin[])[], threshold: number): number {
  if (windows.length < 2) return 1;
  const counts: [number, number][] = windows.map((list) => {
    let n = 0;
    for (const b of list) n += b.count;
    return [countAbove(list, threshold), n];
  });
  let above = 0;
  let total = 0;
  for (const [a, n] of counts) {
    above += a;
    total += n;
  }
  const p = above / total;
  if (!(p > 0 && p < 1)) return 1;
  let chi2 = 0;
  for (const [a, n] of counts) if (n > 0) chi2 += (a - n * p) ** 2 / (n * p * (1 - p));
  return Math.max(1, chi2 / (windows.length - 1));
}

/**
 * How much the percentile moves from time `from` to time `to` (window midpoints) on previous days:
 * the ratio of the same-time references, 1 without history, bounded to [1/1.5, 1.5] so one odd
 * day cannot turn the comparison upside down.
 */
function dailyShape(
  hours: ReadonlyMap<number, HourPoint>,
  from: number,
  to: number,
  w: number,
  stat: StatisticDef,
  config: RegressionConfig,
): number {
  const a = sameTimeBefore(hours, from - w / 2, w, stat, config.seasonalDays);
  const b = sameTimeBefore(hours, to - w / 2, w, stat, config.seasonalDays);
  if (a === null || b === null || !(a > 0) || !(b > 0)) return 1;
  return Math.min(1.5, Math.max(1 / 1.5, b / a));
}

/** The buckets above `threshold`. */
function above(list: readonly Bin[], threshold: number): Bin[] {
  return list.filter((b) => isAbove(b, threshold));
}

/** The median over `band` of current / baseline quantiles. */
function bandRatio(current: Histogram, baseline: Histogram, band: readonly number[]): number {
  return median(band.map((q) => quantileOf(current, q) / quantileOf(baseline, q)));
}

function stepCandidates(
  state: KeyBaseline,
  t: number,
  w: number,
  hours: ReadonlyMap<number, HourPoint>,
  config: RegressionConfig,
  observe?: DiagnosticSink,
): Candidate[] {
  if (!state.ring.some((e) => e.start === t)) return [];
  const within = (span: number) => state.ring.filter((e) => e.start > t - span * w && e.start <= t);
  // Short side: the newest windows, widened for a rare key until it holds minSamples.
  let span = config.currentWindows;
  while (countOf(within(span)) < config.minSamples && span < config.maxCurrentWindows) span++;
  const quiet = span > config.currentWindows;
  const out = stepTests(state, t, w, span, 'short', quiet, hours, config, observe);
  // Long side: a smaller change (a p99 moving +25 %) needs more samples than two windows hold.
  if (config.maxCurrentWindows > span)
    out.push(...stepTests(state, t, w, config.maxCurrentWindows, 'long', quiet, hours, config, observe));
  return out;
}

function stepTests(
  state: KeyBaseline,
  t: number,
  w: number,
  span: number,
  horizon: Horizon,
  quiet: boolean,
  hours: ReadonlyMap<number, HourPoint>,
  config: RegressionConfig,
  observe?: DiagnosticSink,
): Candidate[] {
  const curFrom = t - (span - 1) * w;
  const baseFrom = curFrom - config.baselineWindows * w;
  const current = state.ring.filter((e) => e.start >= curFrom && e.start <= t);
  const baseline = state.ring.filter((e) => e.start >= baseFrom && e.start < curFrom);
  if (baseline.length < config.minBaselineWindows) return [];
  const cs = mergedOf(current);
  if (cs.count < config.minSamples) return [];
  const bs = mergedOf(baseline);
  const cBins = cs.bins;
  const bBins = bs.bins;
  const windowBins = baseline.map(binsOf);
  const onsetFrom = t - 2 * (config.maxCurrentWindows + config.baselineWindows) * w;
  const onset = state.series.filter((p) => p.start >= onsetFrom && p.start <= t && p.count > 0);
  const out: Candidate[] = [];
  for (const stat of STATISTICS) {
    if (cs.count < Math.max(config.minSamples, stat.stepNeed) || bs.count < 2 * stat.stepNeed) {
      observe?.({
        windowStart: t,
        key: state.key,
        kind: 'step',
        horizon,
        statistic: stat.name,
        quiet,
        p: Number.NaN,
        bar: Number.NaN,
        barUncapped: Number.NaN,
        judgedP: Number.NaN,
        tests: 0,
        ratio: Number.NaN,
        baselineMs: Number.NaN,
        currentMs: Number.NaN,
        failed: ['samples'],
        detail: { current: cs.count, baseline: bs.count },
      });
      continue;
    }
    const bq = quantileOf(bs, stat.q);
    const cq = quantileOf(cs, stat.q);
    // Window-to-window noise seen in the baseline widens the test (an effective sample size).
    const phi = dispersion(windowBins, bq);
    let p: number;
    let detail: Record<string, number> = { phi };
    if (stat.tailFrom === null) {
      p = normalSf(mannWhitneyGreater(bBins, cBins).z / Math.sqrt(phi));
    } else {
      // Two views of an upper percentile, the smaller p-value kept (Bonferroni over the two): more
      // calls above it (the share of slow calls grew), or the slow calls themselves slower.
      const exceed = fisherGreater(
        countAbove(cBins, bq) / phi,
        cs.count / phi,
        countAbove(bBins, bq) / phi,
        bs.count / phi,
      );
      const from = quantileOf(bs, stat.tailFrom);
      // The rank test's window noise is measured on what it compares: how much the baseline
      // windows' slow calls differ in rank from window to window (Kruskal–Wallis H / df, at least
      // 1), not how much their count varies. A count that swings (bursts) says nothing about the
      // values and made the test needlessly humble; slow calls slowed in some windows only (a
      // change that is ending) leave the count as it was and made it too sure.
      const kw = kruskalWallis(windowBins.map((list) => above(list, from)));
      const rankPhi = kw.df > 0 ? Math.max(1, kw.h / kw.df) : 1;
      const tail = normalSf(
        mannWhitneyGreater(above(bBins, from), above(cBins, from)).z / Math.sqrt(rankPhi),
      );
      p = Math.min(1, 2 * Math.min(exceed, tail));
      detail = { phi, rankPhi, exceed, tail };
    }
    const seasonal = seasonalReference(hours, t, stat, config.seasonalDays);
    // The baseline hour and the current windows sit at different times of day. Where earlier days
    // exist, the baseline is carried along their shape to the current time, so a daily ramp is
    // neither mistaken for a step nor hides one (a +25 % step on a falling ramp looks like +17 %).
    const shape = dailyShape(
      hours,
      baseFrom + (config.baselineWindows * w) / 2,
      curFrom + (span * w) / 2,
      w,
      stat,
      config,
    );
    const expected = bq * shape;
    // The size of the change. A single percentile is a poor measure: latency is often bimodal
    // (cache hit or miss), and one in the gap between the modes jumps 30 % when a few calls change
    // sides; a p99 read from a few dozen calls swings by 20 % window to window. For p50 the size is
    // the median ratio over a band of quantiles around it. For p90 and p99 it is the
    // Hodges–Lehmann ratio between the slowest quarter (twentieth) of the calls of each side: all
    // of them, not a band of a few, and matched by rank, so the tail moving as a whole (every call
    // slower, or only the slow ones) reads as its size. Computed only for a test that can become a
    // finding: above fdr, a raw p-value neither passes nor moves Benjamini–Hochberg's bar.
    const band = bandRatio(cs, bs, stat.band);
    let size = band;
    if (stat.tailFrom !== null && (p <= config.fdr || observe)) {
      const tail = hodgesLehmannRatio(
        above(bBins, quantileOf(bs, stat.tailFrom)),
        above(cBins, quantileOf(cs, stat.tailFrom)),
      );
      detail.hl = tail;
      if (Number.isFinite(tail)) size = tail;
    }
    detail.band = band;
    detail.shape = shape;
    const ratio = size / shape;
    const estimate = expected * ratio;
    const failed: Gate[] = [];
    if (!(ratio >= config.minRatio)) failed.push('ratio');
    if (!(estimate - expected >= config.minDeltaMs && cq - expected >= config.minDeltaMs))
      failed.push('delta');
    // A change that happens every day at this time (a nightly batch) is at the level of the
    // same hour on previous days; a real step on a daily ramp is well above it, though less
    // than minRatio when the ramp rises into it. So half the margin is asked for here.
    if (seasonal !== null && !(estimate >= seasonal * (1 + (config.minRatio - 1) / 2)))
      failed.push('seasonal');
    const practical = failed.length === 0;
    const onsetPoints = onset.filter((pt) => statValue(pt, stat) > 0);
    // Fallback onset: the start of the run of current windows above the halfway mark that ends
    // with the newest one (a six-window side whose last window alone is slow started there, not
    // at an earlier window that a noisy p99 put above the mark).
    const halfway = expected * (1 + (config.minRatio - 1) / 2);
    const judged = state.series.filter((pt) => pt.start >= curFrom && pt.start <= t && pt.count > 0);
    let firstHigh: (typeof judged)[number] | undefined;
    for (let k = judged.length - 1; k >= 0 && statValue(judged[k]!, stat) >= halfway; k--)
      firstHigh = judged[k];
    out.push({
      state,
      kind: 'step',
      horizon,
      stat,
      p,
      quiet,
      practical,
      failed,
      detail,
      baselineMs: expected,
      currentMs: cq,
      ratio,
      current,
      baseline,
      onsetStarts: onsetPoints.map((pt) => pt.start),
      onsetValues: onsetPoints.map((pt) => Math.log(statValue(pt, stat))),
      fallbackSince: firstHigh?.start ?? t,
    });
  }
  return out;
}

/** True when a straight line explains the series better than one level shift (so a step is not called a drift). */
function lineBeatsStep(
  xs: readonly number[],
  ys: readonly number[],
  slope: number,
  intercept: number,
): boolean {
  const n = ys.length;
  let sseLine = 0;
  for (let i = 0; i < n; i++) sseLine += (ys[i]! - (intercept + slope * xs[i]!)) ** 2;
  const prefix = new Float64Array(n + 1);
  const prefix2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    prefix[i + 1] = prefix[i]! + ys[i]!;
    prefix2[i + 1] = prefix2[i]! + ys[i]! ** 2;
  }
  const sse = (a: number, b: number) => {
    const s = prefix[b]! - prefix[a]!;
    return prefix2[b]! - prefix2[a]! - (s * s) / (b - a);
  };
  let sseStep = Number.POSITIVE_INFINITY;
  for (let k = 3; k <= n - 3; k++) sseStep = Math.min(sseStep, sse(0, k) + sse(k, n));
  return sseLine < sseStep;
}

interface TrendPoint {
  readonly start: number;
  readonly value: number;
  readonly reference: number;
}

function trendCandidate(
  state: KeyBaseline,
  stat: StatisticDef,
  horizon: Horizon,
  points: readonly TrendPoint[],
  stepMs: number,
  spanSteps: number,
  current: readonly RingEntry[],
  baseline: readonly RingEntry[],
  config: RegressionConfig,
): Candidate | null {
  if (points.length < Math.ceil(0.8 * spanSteps)) return null;
  const first = points[0]!.start;
  const xs = points.map((pt) => (pt.start - first) / stepMs);
  const ys = points.map((pt) => Math.log(pt.value / pt.reference));
  const mk = mannKendall(ys);
  const failed: Gate[] = [];
  let currentMs = points.at(-1)!.value;
  let baselineMs = currentMs;
  // A BH-adjusted p-value is never below the raw one: above fdr, no finding can come of it.
  if (mk.s > 0 && mk.pIncreasing <= config.fdr) {
    const line = theilSen(xs, ys);
    const rise = Math.exp(line.slope * (spanSteps - 1));
    const last = points.at(-1)!;
    currentMs = Math.exp(line.intercept + line.slope * xs.at(-1)!) * last.reference;
    baselineMs = currentMs / rise;
    if (!(rise >= config.driftMinRatio)) failed.push('ratio');
    if (!(currentMs - baselineMs >= config.minDeltaMs)) failed.push('delta');
    if (!lineBeatsStep(xs, ys, line.slope, line.intercept)) failed.push('trend');
  } else {
    failed.push('trend');
  }
  const practical = failed.length === 0;
  return {
    state,
    kind: 'drift',
    horizon,
    stat,
    p: mk.pIncreasing,
    quiet: false,
    practical,
    failed,
    detail: {},
    baselineMs,
    currentMs,
    ratio: currentMs / baselineMs,
    current,
    baseline,
    onsetStarts: points.map((pt) => pt.start),
    onsetValues: ys,
    fallbackSince: first,
  };
}

/**
 * The percentile at time `t` on previous days: per day, interpolated between the two nearest hour
 * midpoints; then the median over the days. Hours (thousands of calls) keep the reference itself
 * quiet, so the trend test sees today's windows and little else.
 */
function sameTimeBefore(
  hours: ReadonlyMap<number, HourPoint>,
  t: number,
  w: number,
  stat: StatisticDef,
  days: number,
): number | null {
  const values: number[] = [];
  for (let d = 1; d <= days; d++) {
    const u = t + w / 2 - d * DAY_MS;
    const h0 = hourOf(u - HOUR_MS / 2);
    const a = hours.get(h0);
    const b = hours.get(h0 + HOUR_MS);
    const va = a && a.count >= stat.need ? statValue(a, stat) : null;
    const vb = b && b.count >= stat.need ? statValue(b, stat) : null;
    if (va === null || vb === null) {
      if (va !== null || vb !== null) values.push((va ?? vb)!);
      continue;
    }
    const f = (u - (h0 + HOUR_MS / 2)) / HOUR_MS;
    values.push(va + (vb - va) * f);
  }
  return values.length > 0 ? median(values) : null;
}

function driftCandidates(
  state: KeyBaseline,
  t: number,
  w: number,
  hours: ReadonlyMap<number, HourPoint>,
  config: RegressionConfig,
): Candidate[] {
  // Without a previous day a drift cannot be told from the daily ramp: no drift tests yet.
  const oldest = Math.min(state.hours[0]?.start ?? t, state.series[0]?.start ?? t);
  if (oldest > t - DAY_MS) return [];
  const curFrom = t - (config.currentWindows - 1) * w;
  const current = state.ring.filter((e) => e.start >= curFrom && e.start <= t);
  const baseline = state.ring.filter((e) => e.start < curFrom).slice(0, config.baselineWindows);
  const out: Candidate[] = [];
  const shortFrom = t - config.driftWindows * w;
  const recent = state.series.filter((p) => p.start > shortFrom && p.start <= t);
  // p99 of one window rests on a handful of calls (and sits lower in a quiet window than in a busy
  // one, which follows the daily traffic): too noisy for a trend at window resolution, so p99
  // drifts are left to the hourly series below. (Tried against the same windows on previous days
  // as the reference: it found one more drift in 18 and made eight false findings.)
  for (const stat of STATISTICS.filter((x) => x.name !== 'p99')) {
    const minCount = Math.max(stat.need, Math.ceil(config.minSamples / config.currentWindows));
    const points: TrendPoint[] = [];
    for (const p of recent) {
      if (p.count < minCount) continue;
      const reference = sameTimeBefore(hours, p.start, w, stat, config.seasonalDays);
      const value = statValue(p, stat);
      if (reference === null || !(reference > 0) || !(value > 0)) continue;
      points.push({ start: p.start, value, reference });
    }
    const c = trendCandidate(state, stat, 'short', points, w, config.driftWindows, current, baseline, config);
    if (c) out.push(c);
  }
  // The long horizon runs once an hour, on whole days of hourly values (the daily pattern cancels).
  if ((t + w) % HOUR_MS === 0 && w <= HOUR_MS) {
    const lastHour = hourOf(t);
    const from = lastHour - (config.longDriftHours - 1) * HOUR_MS;
    const series = state.hours.filter((h) => h.start >= from && h.start <= lastHour);
    for (const stat of STATISTICS) {
      const points = series
        .filter((h) => h.count >= Math.max(stat.need, config.minSamples) && statValue(h, stat) > 0)
        .map((h) => ({ start: h.start, value: statValue(h, stat), reference: 1 }));
      const c = trendCandidate(
        state,
        stat,
        'long',
        points,
        HOUR_MS,
        config.longDriftHours,
        current,
        baseline,
        config,
      );
      if (c) out.push(c);
    }
  }
  return out;
}

/** The onset: the latest upward change point of the series, or the fallback. */
function onsetOf(c: Candidate, t: number, w: number, config: RegressionConfig): number {
  const values = c.onsetValues;
  if (values.length >= 6) {
    const points = eDivisive(values, { minSize: 2, permutations: 99 });
    const bounds = [0, ...points, values.length];
    const mean = (a: number, b: number) => {
      let s = 0;
      for (let i = a; i < b; i++) s += values[i]!;
      return s / (b - a);
    };
    const rising: number[] = [];
    for (let k = 1; k < bounds.length - 1; k++) {
      const before = mean(bounds[k - 1]!, bounds[k]!);
      const after = mean(bounds[k]!, bounds[k + 1]!);
      if (after - before > Math.log(1 + (config.minRatio - 1) / 4)) rising.push(bounds[k]!);
    }
    if (c.kind === 'step') {
      // The step's own change point: the latest rise within the windows judged (or the one just
      // before them). A rise inside the baseline is noise or an older change the baseline already
      // holds; with the step in its first window there is no change point yet (E-Divisive needs two
      // points on each side), and the fallback names that window.
      const firstCurrent = Math.min(...c.current.map((e) => e.start));
      const notBefore = Number.isFinite(firstCurrent) ? firstCurrent - w : t - config.maxCurrentWindows * w;
      for (let k = rising.length - 1; k >= 0; k--) {
        const start = c.onsetStarts[rising[k]!]!;
        if (start >= notBefore && start <= t) return start;
      }
    } else if (rising.length > 0) {
      return c.onsetStarts[rising[0]!]!;
    }
  }
  return c.fallbackSince;
}

/** A version first seen within two windows of the onset (or after it) and never before it. */
function newVersionNear(state: KeyBaseline, since: number, t: number, w: number): string | null {
  const cut = since - 2 * w;
  const before = state.series.filter((p) => p.start < cut);
  if (before.length === 0) return null;
  const seen = new Set(before.flatMap((p) => p.versions));
  for (const p of state.series) {
    if (p.start < cut || p.start > t) continue;
    for (const v of p.versions) if (!seen.has(v)) return v;
  }
  return null;
}

/** Trace IDs of the slow side: every exemplar of the newest windows first. */
function slowExemplars(entries: readonly RingEntry[], limit: number): string[] {
  const ids = [...entries].sort((a, b) => b.start - a.start).flatMap((e) => e.exemplars);
  return [...new Set(ids)].slice(0, limit);
}

/** Trace IDs of the baseline side: one per window round-robin, so they span the baseline. */
function baselineExemplars(entries: readonly RingEntry[], limit: number): string[] {
  const newestFirst = [...entries].sort((a, b) => b.start - a.start);
  const out = new Set<string>();
  const rounds = Math.max(0, ...newestFirst.map((e) => e.exemplars.length));
  for (let round = 0; round < rounds && out.size < limit; round++) {
    for (const e of newestFirst) {
      const id = e.exemplars[round];
      if (id !== undefined) out.add(id);
      if (out.size >= limit) break;
    }
  }
  return [...out];
}

/**
 * Severity from the size of the change and the strength of the evidence.
 *
 * @example severityOf(2.5, 1e-9) === 'critical'; severityOf(1.25, 0.001) === 'low'
 */
export function severityOf(ratio: number, pValue: number): RegressionRow['severity'] {
  if (ratio >= 2 && pValue <= 1e-6) return 'critical';
  if (ratio >= 1.5 && pValue <= 1e-4) return 'high';
  if (ratio >= 1.3) return 'medium';
  return 'low';
}

function formatMs(ms: number): string {
  if (ms >= 100) return `${Math.round(ms)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function summaryOf(
  c: Candidate,
  ratio: number,
  since: number,
  version: string | null,
  w: number,
  config: RegressionConfig,
): string {
  const what = `${c.stat.name} of ${c.state.key}`;
  const numbers = `(${formatMs(c.baselineMs)} -> ${formatMs(c.currentMs)})`;
  const tail = version ? `; new version ${version}` : '';
  if (c.kind === 'step')
    return `${what} rose ${ratio.toFixed(2)}x ${numbers} since ${formatTime(since)}${tail}`;
  const span =
    c.horizon === 'long'
      ? `${config.longDriftHours} h`
      : `${Math.round((config.driftWindows * w) / 60_000 / 6) / 10} h`;
  return `${what} is drifting up: ${ratio.toFixed(2)}x over ${span} ${numbers}, since ${formatTime(since)}${tail}`;
}

/**
 * Reports each test with the bar its raw p-value had to clear: Bonferroni's for a quiet key, else
 * BH's next rejection level (fdr · (R + 1) / m, R the window's findings) capped at fdrMaxFindings.
 */
function observeTests(
  observe: DiagnosticSink,
  t: number,
  candidates: readonly Candidate[],
  adjusted: readonly number[],
  findings: number,
  config: RegressionConfig,
): void {
  const m = candidates.length;
  candidates.forEach((c, i) => {
    const judgedP = c.quiet
      ? Math.min(1, c.p * m)
      : Math.max(adjusted[i]!, Math.min(1, (c.p * m) / config.fdrMaxFindings));
    const found = c.practical && judgedP <= config.fdr;
    const rejections = found ? findings : findings + 1;
    const bar = c.quiet ? config.fdr / m : (config.fdr * Math.min(rejections, config.fdrMaxFindings)) / m;
    const failed: Gate[] = [...c.failed];
    if (!(c.p <= bar)) failed.push('significance');
    observe({
      windowStart: t,
      key: c.state.key,
      kind: c.kind,
      horizon: c.horizon,
      statistic: c.stat.name,
      quiet: c.quiet,
      p: c.p,
      bar,
      barUncapped: c.quiet ? bar : (config.fdr * rejections) / m,
      judgedP,
      tests: m,
      ratio: c.ratio,
      baselineMs: c.baselineMs,
      currentMs: c.currentMs,
      failed,
      detail: c.detail,
    });
  });
}

/**
 * Folds one window into the baselines (`states`, by key; new keys are added) and returns the
 * window's findings, sorted by key and statistic.
 *
 * @example
 * const states = new Map<string, KeyBaseline>();
 * for (const w of windows) findings.push(...detectWindow(states, w, resolveRegressionConfig()));
 */
export function detectWindow(
  states: Map<string, KeyBaseline>,
  input: WindowStats,
  config: RegressionConfig,
  observe?: DiagnosticSink,
): RegressionRow[] {
  const t = input.windowStart;
  const w = input.windowMs;
  const touched: KeyBaseline[] = [];
  for (const row of input.rows) {
    let state = states.get(row.key);
    if (!state || state.windowMs !== w) {
      // A new window length makes the old history incomparable: start the key afresh.
      state = emptyBaseline(row.key, row.service, row.name, w);
      states.set(row.key, state);
    }
    try {
      applyWindow(state, row, t, w, config);
    } catch (error) {
      // An unreadable sketch leaves the key out of this window, not the run.
      if (error instanceof ValidationError) continue;
      throw error;
    }
    touched.push(state);
  }
  const candidates: Candidate[] = [];
  for (const state of touched) {
    try {
      const hours = new Map(state.hours.map((h) => [h.start, h]));
      candidates.push(...stepCandidates(state, t, w, hours, config, observe));
      candidates.push(...driftCandidates(state, t, w, hours, config));
    } catch (error) {
      // A sketch that cannot be read or merged (another accuracy) leaves the key untested, not the run.
      if (!(error instanceof RangeError) && !(error instanceof ValidationError)) throw error;
    }
  }
  // Benjamini–Hochberg's bar rises with the number of rejections. A test whose change is too small
  // to report can never be a finding, so it must not loosen the bar for the others: with large
  // samples every daily ramp and load burst is "significant", and counting those let chance
  // findings through on busy days. They enter as p = 1 (raising p-values only removes
  // rejections, so the FDR guarantee holds). m stays the number of tests made.
  const adjusted = benjaminiHochberg(candidates.map((c) => (c.practical ? c.p : 1)));
  // And however many keys change at once, the bar loosens by at most `fdrMaxFindings` findings'
  // worth: a deploy that slows twenty keys must not let chance through on the other hundreds.
  const scale = candidates.length / config.fdrMaxFindings;
  const kept: { c: Candidate; p: number }[] = [];
  candidates.forEach((c, i) => {
    const p = c.quiet
      ? Math.min(1, c.p * candidates.length)
      : Math.max(adjusted[i]!, Math.min(1, c.p * scale));
    if (c.practical && p <= config.fdr) kept.push({ c, p });
  });
  if (observe) observeTests(observe, t, candidates, adjusted, kept.length, config);
  // One finding per key and statistic: a step explains a trend, a short horizon a long one.
  const rank = (c: Candidate) => (c.kind === 'step' ? 0 : 2) + (c.horizon === 'short' ? 0 : 1);
  const best = new Map<string, { c: Candidate; p: number }>();
  for (const k of kept) {
    const id = `${k.c.state.key}\u0000${k.c.stat.name}`;
    const other = best.get(id);
    if (!other || rank(k.c) < rank(other.c)) best.set(id, k);
  }
  // One onset per key for its steps in a window: the one read from its strongest finding. A p99
  // series rests on few calls per window and puts change points where p50 and p90 show none.
  const strongest = new Map<string, { c: Candidate; p: number }>();
  for (const k of best.values()) {
    if (k.c.kind !== 'step') continue;
    const seen = strongest.get(k.c.state.key);
    if (!seen || k.p < seen.p) strongest.set(k.c.state.key, k);
  }
  // E-Divisive runs once per key's steps (99 permutations each), not once per statistic.
  const stepSince = new Map([...strongest].map(([key, k]) => [key, onsetOf(k.c, t, w, config)]));
  const rows: RegressionRow[] = [];
  for (const { c, p } of best.values()) {
    const ratio = c.ratio;
    const since = (c.kind === 'step' ? stepSince.get(c.state.key) : undefined) ?? onsetOf(c, t, w, config);
    const version = newVersionNear(c.state, since, t, w);
    rows.push({
      window_start: t,
      key: c.state.key,
      service: c.state.service,
      name: c.state.name,
      kind: c.kind,
      statistic: c.stat.name,
      baseline_ms: c.baselineMs,
      current_ms: c.currentMs,
      ratio,
      p_value: p,
      severity: severityOf(ratio, p),
      since,
      exemplar_trace_ids: slowExemplars(c.current, config.exemplars),
      baseline_exemplar_trace_ids: baselineExemplars(c.baseline, config.exemplars),
      new_version: version,
      summary: summaryOf(c, ratio, since, version, w, config),
    });
  }
  return rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.statistic < b.statistic ? -1 : 1));
}

/**
 * Processes windows in time order (a window given twice counts once, the later copy wins) and
 * returns all their findings.
 *
 * @example detectWindows(states, [{ windowStart, windowMs: 300_000, rows }], resolveRegressionConfig())
 */
export function detectWindows(
  states: Map<string, KeyBaseline>,
  windows: readonly WindowStats[],
  config: RegressionConfig,
  observe?: DiagnosticSink,
): RegressionRow[] {
  const byStart = new Map<number, WindowStats>();
  for (const w of windows) byStart.set(w.windowStart, w);
  const ordered = [...byStart.values()].sort((a, b) => a.windowStart - b.windowStart);
  return ordered.flatMap((w) => detectWindow(states, w, config, observe));
}
