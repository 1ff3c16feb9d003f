/**
 * The statistics behind regression detection, written for binned data (sketch buckets) and short
 * series (per-window percentiles). Pure and deterministic: the permutation test of E-Divisive uses
 * a seeded generator so the same input always gives the same answer.
 */

/** A value with how many samples it stands for: a sketch bucket. Lists are sorted by value. */
export interface Bin {
  readonly value: number;
  readonly count: number;
}

const SQRT_PI = Math.sqrt(Math.PI);

/**
 * The complementary error function, accurate to ~1e-14 relative over the whole range (the tail
 * matters: p-values of 1e-9 must not collapse to 0 or to cancellation noise).
 *
 * @example erfc(0) === 1; erfc(1) ≈ 0.157299
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // Maclaurin series of erf; alternating terms stay small enough below 2.
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / SQRT_PI) * sum;
  }
  if (x > 27) return 0;
  // Continued fraction erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), modified Lentz.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (SQRT_PI * f);
}

/**
 * Upper tail of the standard normal distribution, P(Z ≥ z).
 *
 * @example normalSf(1.959964) ≈ 0.025
 */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/**
 * ln Γ(x) for x > 0 (Lanczos approximation, g = 7), ~1e-15 relative.
 *
 * @example lnGamma(5) ≈ Math.log(24)
 */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ln C(n, k). */
function lnChoose(n: number, k: number): number {
  return lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1);
}

/** Continued fraction of the incomplete beta function (modified Lentz), valid for x < (a+1)/(a+b+2). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = Math.abs(d) < tiny ? tiny : d;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = 1 + num / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    h *= d * c;
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = 1 + num / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/**
 * The regularized incomplete beta function I_x(a, b).
 *
 * @example regularizedBeta(0.5, 2, 2) === 0.5
 */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(b, a, 1 - x)) / b;
}

/**
 * P(X ≥ k) for X ~ Binomial(n, p): the exceedance test's p-value.
 *
 * @example binomialSf(8, 10, 0.5) === 56 / 1024 // 0.0546875
 */
export function binomialSf(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  // P(X ≥ k) = I_p(k, n − k + 1)
  return regularizedBeta(p, k, n - k + 1);
}

/**
 * One-sided Fisher exact test on a 2×2 table: is the share of "above" larger in the current
 * sample than in the baseline? Returns P(A ≥ currentAbove) under the hypergeometric null with
 * all margins fixed. Unlike a binomial test against the baseline's share, it accounts for the
 * baseline being a sample too (its p99 rests on a handful of values).
 *
 * @example
 * // Fisher's tea tasting: 3 of 4 cups right
 * fisherGreater(3, 4, 1, 4) ≈ 17 / 70 // 0.2429
 */
export function fisherGreater(
  currentAbove: number,
  currentTotal: number,
  baselineAbove: number,
  baselineTotal: number,
): number {
  const n = currentTotal + baselineTotal;
  const above = currentAbove + baselineAbove;
  if (currentTotal <= 0 || above <= 0) return 1;
  const hi = Math.min(above, currentTotal);
  const lo = Math.max(0, currentTotal - (n - above));
  if (currentAbove > hi) return 0;
  if (currentAbove <= lo) return 1;
  const pmf = (k: number) =>
    Math.exp(lnChoose(above, k) + lnChoose(n - above, currentTotal - k) - lnChoose(n, currentTotal));
  // ratio(k) = P(k+1) / P(k). Summing away from the mode keeps the first term the largest, so
  // nothing underflows before it matters.
  const ratio = (k: number) =>
    ((above - k) * (currentTotal - k)) / ((k + 1) * (n - above - currentTotal + k + 1));
  const mean = (currentTotal * above) / n;
  if (currentAbove >= mean) {
    let term = pmf(currentAbove);
    let p = term;
    for (let k = currentAbove; k < hi && term >= p * 1e-17; k++) {
      term *= ratio(k);
      p += term;
    }
    return Math.min(1, p);
  }
  let term = pmf(currentAbove - 1);
  let lower = term;
  for (let k = currentAbove - 1; k > lo && term >= lower * 1e-17; k--) {
    term /= ratio(k - 1);
    lower += term;
  }
  const p = 1 - lower;
  return Math.min(1, p);
}

export interface MannWhitneyResult {
  /** U of the second sample: pairs (x, y) with y > x, ties counted one half. */
  readonly u: number;
  /** Standardized statistic (tie-corrected, with continuity correction) for "y tends to be larger". */
  readonly z: number;
  /** One-sided p-value: y is stochastically larger than x. */
  readonly pGreater: number;
  /** U / (n₁ n₂): the probability that a random y beats a random x (0.5 = no difference). */
  readonly effect: number;
}

/**
 * Mann–Whitney U test on binned samples: every bucket is a group of tied values, so the test runs
 * in time linear in the number of buckets whatever the sample sizes. Normal approximation with the
 * tie correction σ² = n₁n₂/12 · ((N+1) − Σ(t³−t)/(N(N−1))) and a continuity correction of ½.
 *
 * @param x baseline bins, sorted by value
 * @param y current bins, sorted by value
 * @example
 * mannWhitneyGreater([{ value: 1, count: 1 }, { value: 2, count: 1 }, { value: 3, count: 1 }],
 *                    [{ value: 4, count: 1 }, { value: 5, count: 1 }, { value: 6, count: 1 }]).pGreater // ≈ 0.0404
 */
export function mannWhitneyGreater(x: readonly Bin[], y: readonly Bin[]): MannWhitneyResult {
  let n1 = 0;
  let n2 = 0;
  for (const b of x) n1 += b.count;
  for (const b of y) n2 += b.count;
  if (n1 === 0 || n2 === 0) return { u: 0, z: 0, pGreater: 1, effect: 0.5 };
  const n = n1 + n2;
  let i = 0;
  let j = 0;
  let xBelow = 0;
  let u = 0;
  let tieSum = 0;
  while (i < x.length || j < y.length) {
    const xv = i < x.length ? x[i]!.value : Number.POSITIVE_INFINITY;
    const yv = j < y.length ? y[j]!.value : Number.POSITIVE_INFINITY;
    const v = Math.min(xv, yv);
    let cx = 0;
    let cy = 0;
    while (i < x.length && x[i]!.value === v) cx += x[i++]!.count;
    while (j < y.length && y[j]!.value === v) cy += y[j++]!.count;
    u += cy * (xBelow + cx / 2);
    xBelow += cx;
    const t = cx + cy;
    tieSum += t * t * t - t;
  }
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieSum / (n * (n - 1)));
  if (!(variance > 0)) return { u, z: 0, pGreater: 1, effect: u / (n1 * n2) };
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { u, z, pGreater: normalSf(z), effect: u / (n1 * n2) };
}

/**
 * Hodges–Lehmann estimate of how many times larger the second binned sample is than the first:
 * exp of the median of all pairwise differences ln y − ln x, each pair weighted by the product of
 * its buckets' counts (the median is the midpoint of the lower and upper weighted medians, so
 * swapping the samples gives exactly the reciprocal). The shift estimate that belongs with the
 * Mann–Whitney test, and far steadier than the ratio of two quantiles: it uses every value.
 * Values ≤ 0 are left out; NaN when a side has none. Runs in O((n₁ + n₂) · log(range / precision))
 * by bisection on the difference, never listing the n₁·n₂ pairs.
 *
 * @param x first sample's bins (the baseline), sorted by value
 * @param y second sample's bins (the current one), sorted by value
 * @example
 * hodgesLehmannRatio([{ value: 10, count: 3 }, { value: 20, count: 1 }],
 *                    [{ value: 12.5, count: 3 }, { value: 25, count: 1 }]) // 1.25
 */
export function hodgesLehmannRatio(x: readonly Bin[], y: readonly Bin[]): number {
  const lx: number[] = [];
  const wx: number[] = [];
  const ly: number[] = [];
  const wy: number[] = [];
  for (const b of x) {
    if (!(b.value > 0 && b.count > 0)) continue;
    lx.push(Math.log(b.value));
    wx.push(b.count);
  }
  for (const b of y) {
    if (!(b.value > 0 && b.count > 0)) continue;
    ly.push(Math.log(b.value));
    wy.push(b.count);
  }
  if (lx.length === 0 || ly.length === 0) return Number.NaN;
  // suffix[i] = weight of x at index ≥ i.
  const suffix = new Float64Array(lx.length + 1);
  for (let i = lx.length - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + wx[i]!;
  let totalY = 0;
  for (const w of wy) totalY += w;
  const half = (suffix[0]! * totalY) / 2;
  // Weight of the pairs with ln y − ln x ≤ d: for each y, the x with ln x ≥ ln y − d. As y rises
  // so does its bound, so one pointer walks x once.
  const atMost = (d: number): number => {
    let i = 0;
    let sum = 0;
    for (let j = 0; j < ly.length; j++) {
      const bound = ly[j]! - d;
      while (i < lx.length && lx[i]! < bound) i++;
      sum += wy[j]! * suffix[i]!;
    }
    return sum;
  };
  // The smallest pairwise difference d with atMost(d) ≥ half (or > half): a step of atMost.
  const smallest = (strict: boolean): number => {
    let lo = ly[0]! - lx.at(-1)! - 1;
    let hi = ly.at(-1)! - lx[0]!;
    for (let k = 0; k < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(hi)); k++) {
      const mid = (lo + hi) / 2;
      const w = atMost(mid);
      if (strict ? w > half : w >= half) hi = mid;
      else lo = mid;
    }
    return hi;
  };
  return Math.exp((smallest(false) + smallest(true)) / 2);
}

export interface KruskalWallisResult {
  /** H with the tie correction: ≈ χ² with df degrees of freedom when the groups share one distribution. */
  readonly h: number;
  /** Groups with at least one value, minus one. */
  readonly df: number;
}

/**
 * Kruskal–Wallis H on binned groups (tie-corrected): do the groups' values differ in rank beyond
 * chance? H / df is about 1 when they do not, so it measures how much more groups (windows)
 * differ than independent draws would: the noise factor of a rank test whose values come in
 * groups. Groups may share bucket values; each group's bins are sorted by value.
 *
 * @example
 * kruskalWallis([[{ value: 1, count: 1 }, { value: 2, count: 1 }], [{ value: 3, count: 1 }, { value: 4, count: 1 }]]).h // 2.4
 */
export function kruskalWallis(groups: readonly (readonly Bin[])[]): KruskalWallisResult {
  const totals = new Map<number, number>();
  const sizes: number[] = [];
  for (const g of groups) {
    let n = 0;
    for (const b of g) {
      if (!(b.count > 0)) continue;
      totals.set(b.value, (totals.get(b.value) ?? 0) + b.count);
      n += b.count;
    }
    sizes.push(n);
  }
  const nonEmpty = sizes.filter((n) => n > 0).length;
  let n = 0;
  for (const c of totals.values()) n += c;
  if (nonEmpty < 2 || n < 2) return { h: 0, df: Math.max(0, nonEmpty - 1) };
  const midRank = new Map<number, number>();
  let below = 0;
  let tieSum = 0;
  for (const value of [...totals.keys()].sort((a, b) => a - b)) {
    const t = totals.get(value)!;
    midRank.set(value, below + (t + 1) / 2);
    below += t;
    tieSum += t * t * t - t;
  }
  let sum = 0;
  groups.forEach((g, i) => {
    const size = sizes[i]!;
    if (size === 0) return;
    let r = 0;
    for (const b of g) if (b.count > 0) r += b.count * midRank.get(b.value)!;
    sum += (r * r) / size;
  });
  const correction = 1 - tieSum / (n * n * n - n);
  if (!(correction > 0)) return { h: 0, df: nonEmpty - 1 };
  const h = ((12 / (n * (n + 1))) * sum - 3 * (n + 1)) / correction;
  return { h: Math.max(0, h), df: nonEmpty - 1 };
}

export interface MannKendallResult {
  /** S = Σ_{i<j} sign(y_j − y_i). */
  readonly s: number;
  /** Var(S) with the tie correction. */
  readonly variance: number;
  /** (S − sign(S)) / √Var(S). */
  readonly z: number;
  /** One-sided p-value for an upward trend. */
  readonly pIncreasing: number;
  /** Two-sided p-value. */
  readonly pTwoSided: number;
}

/**
 * Mann–Kendall trend test with the tie correction
 * Var(S) = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18 and a continuity correction of 1.
 *
 * @example mannKendall([1, 2, 3, 4, 5]) // s = 10, variance ≈ 16.67, pIncreasing ≈ 0.0137
 */
export function mannKendall(y: readonly number[]): MannKendallResult {
  const n = y.length;
  let s = 0;
  for (let i = 0; i < n - 1; i++) {
    const yi = y[i]!;
    for (let j = i + 1; j < n; j++) {
      const d = y[j]! - yi;
      s += d > 0 ? 1 : d < 0 ? -1 : 0;
    }
  }
  const sorted = [...y].sort((a, b) => a - b);
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let k = i + 1;
    while (k < n && sorted[k] === sorted[i]) k++;
    const t = k - i;
    if (t > 1) tieTerm += t * (t - 1) * (2 * t + 5);
    i = k;
  }
  const variance = (n * (n - 1) * (2 * n + 5) - tieTerm) / 18;
  if (!(variance > 0)) return { s, variance: 0, z: 0, pIncreasing: 1, pTwoSided: 1 };
  const z = s > 0 ? (s - 1) / Math.sqrt(variance) : s < 0 ? (s + 1) / Math.sqrt(variance) : 0;
  return { s, variance, z, pIncreasing: normalSf(z), pTwoSided: Math.min(1, 2 * normalSf(Math.abs(z))) };
}

/** The median of a numeric array (copied; the input is not reordered). NaN when empty. */
export function median(values: readonly number[]): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const a = Float64Array.from(values);
  const hi = quickselect(a, n >> 1);
  if (n % 2 === 1) return hi;
  let lo = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n >> 1; i++) if (a[i]! > lo) lo = a[i]!;
  return (lo + hi) / 2;
}

/** Puts the k-th smallest at a[k] (everything before it ≤ it) and returns it; average O(n). */
function quickselect(a: Float64Array, k: number): number {
  let left = 0;
  let right = a.length - 1;
  while (right > left) {
    const pivot = a[(left + right) >> 1]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return a[k]!;
}

export interface Line {
  readonly slope: number;
  readonly intercept: number;
}

/**
 * Theil–Sen estimator: the median of the slopes between all pairs of points (pairs with equal x
 * are skipped), intercept the median of y − slope·x. Robust to up to ~29 % outliers.
 *
 * @example theilSen([0, 1, 2, 3], [1, 3, 5, 7]) // { slope: 2, intercept: 1 }
 */
export function theilSen(x: readonly number[], y: readonly number[]): Line {
  const n = Math.min(x.length, y.length);
  const slopes: number[] = [];
  for (let i = 0; i < n - 1; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = x[j]! - x[i]!;
      if (dx !== 0) slopes.push((y[j]! - y[i]!) / dx);
    }
  }
  if (slopes.length === 0) return { slope: 0, intercept: median(y.slice(0, n)) };
  const slope = median(slopes);
  const residuals: number[] = [];
  for (let i = 0; i < n; i++) residuals.push(y[i]! - slope * x[i]!);
  return { slope, intercept: median(residuals) };
}

/**
 * Benjamini–Hochberg adjusted p-values (step-up): reject hypothesis i at false discovery rate q
 * when adjusted[i] ≤ q. Order of the output matches the input.
 *
 * @example benjaminiHochberg([0.01, 0.04, 0.03, 0.005]) // [0.02, 0.04, 0.04, 0.02]
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p: Number.isNaN(p) ? 1 : p, i })).sort((a, b) => a.p - b.p);
  const adjusted = new Array<number>(m).fill(1);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    const { p, i } = order[r]!;
    running = Math.min(running, (p * m) / (r + 1));
    adjusted[i] = Math.min(1, running);
  }
  return adjusted;
}

/** A small seeded generator (mulberry32) for reproducible permutation tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The best single split of a segment under the energy statistic. */
interface Split {
  /** First index of the right part. */
  readonly at: number;
  readonly q: number;
}

/**
 * The divergence-weighted energy statistic of every split of `z` (E-Divisive with α = 1):
 * Q(τ) = m·k/(m+k) · (2·mean|x−y| − mean|x−x'| − mean|y−y'|) for x = z[0..τ), y = z[τ..n).
 * All splits in O(n²) from running sums of within-part distances.
 */
function bestSplit(z: Float64Array, minSize: number): Split | null {
  const n = z.length;
  if (n < 2 * minSize) return null;
  // left[τ] = Σ_{i<k<τ} |z_i − z_k|, right[τ] = Σ_{τ≤i<k<n} |z_i − z_k|.
  const left = new Float64Array(n + 1);
  for (let t = 1; t < n; t++) {
    let add = 0;
    const v = z[t]!;
    for (let i = 0; i < t; i++) add += Math.abs(z[i]! - v);
    left[t + 1] = left[t]! + add;
  }
  const right = new Float64Array(n + 1);
  for (let t = n - 2; t >= 0; t--) {
    let add = 0;
    const v = z[t]!;
    for (let k = t + 1; k < n; k++) add += Math.abs(z[k]! - v);
    right[t] = right[t + 1]! + add;
  }
  const total = left[n]!;
  let best: Split | null = null;
  for (let t = minSize; t <= n - minSize; t++) {
    const m = t;
    const k = n - t;
    const between = total - left[t]! - right[t]!;
    const withinX = m > 1 ? left[t]! / ((m * (m - 1)) / 2) : 0;
    const withinY = k > 1 ? right[t]! / ((k * (k - 1)) / 2) : 0;
    const q = ((m * k) / (m + k)) * ((2 * between) / (m * k) - withinX - withinY);
    if (best === null || q > best.q) best = { at: t, q };
  }
  return best;
}

export interface EDivisiveOptions {
  /** Smallest segment a split may leave on either side; default 3. */
  readonly minSize?: number;
  /** Significance level of the permutation test; default 0.05. */
  readonly alpha?: number;
  /** Permutations per test; default 199. */
  readonly permutations?: number;
  /** Upper bound on change points found; default 10. */
  readonly maxChangePoints?: number;
  /** Seed of the permutation generator; default 1. */
  readonly seed?: number;
}

/**
 * E-Divisive means (Matteson & James 2014, as used for performance series by MongoDB and Apache
 * Otava): hierarchical bisection by the energy statistic, each new change point kept only while a
 * permutation test finds it significant.
 *
 * @returns change point indices, ascending: each is the first index of a new segment.
 * @example eDivisive([1, 1, 1, 1, 1, 1, 5, 5, 5, 5, 5, 5]) // [6]
 */
export function eDivisive(series: readonly number[], options: EDivisiveOptions = {}): number[] {
  const minSize = Math.max(1, options.minSize ?? 3);
  const alpha = options.alpha ?? 0.05;
  const permutations = options.permutations ?? 199;
  const maxChangePoints = options.maxChangePoints ?? 10;
  const random = seededRandom(options.seed ?? 1);
  const data = Float64Array.from(series);
  const found: number[] = [];
  let segments: [number, number][] = [[0, data.length]];
  while (found.length < maxChangePoints) {
    // Candidate: the best split over all current segments.
    let best: { seg: [number, number]; split: Split } | null = null;
    for (const seg of segments) {
      const split = bestSplit(data.subarray(seg[0], seg[1]), minSize);
      if (split && (best === null || split.q > best.split.q)) best = { seg, split };
    }
    if (best === null || !(best.split.q > 0)) break;
    // Permutation test: shuffle within each segment, as the null keeps the known change points.
    let atLeast = 0;
    for (let p = 0; p < permutations; p++) {
      let maxQ = Number.NEGATIVE_INFINITY;
      for (const seg of segments) {
        const copy = data.slice(seg[0], seg[1]);
        for (let i = copy.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          const t = copy[i]!;
          copy[i] = copy[j]!;
          copy[j] = t;
        }
        const split = bestSplit(copy, minSize);
        if (split && split.q > maxQ) maxQ = split.q;
      }
      if (maxQ >= best.split.q) atLeast++;
    }
    const pValue = (atLeast + 1) / (permutations + 1);
    if (pValue > alpha) break;
    const at = best.seg[0] + best.split.at;
    found.push(at);
    segments = segments.flatMap((s): [number, number][] =>
      s === best.seg ? [[s[0], at] as [number, number], [at, s[1]] as [number, number]] : [s],
    );
  }
  return found.sort((a, b) => a - b);
}
