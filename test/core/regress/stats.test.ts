import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Bin,
  benjaminiHochberg,
  binomialSf,
  eDivisive,
  erfc,
  fisherGreater,
  hodgesLehmannRatio,
  kruskalWallis,
  lnGamma,
  mannKendall,
  mannWhitneyGreater,
  median,
  normalSf,
  regularizedBeta,
  seededRandom,
  theilSen,
} from '../../../lib/core/regress/stats.js';

const bins = (values: number[]): Bin[] => {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([value, count]) => ({ value, count }));
};

describe('special functions', () => {
  it('erfc matches reference values across the range, tail included', () => {
    // Reference values: Abramowitz & Stegun table 7.1 / any erfc table.
    expect(erfc(0)).toBe(1);
    expect(erfc(0.5)).toBeCloseTo(0.4795001221869535, 14);
    expect(erfc(1.5)).toBeCloseTo(0.033894853524689274, 14);
    expect(erfc(3) / 2.2090496998585438e-5).toBeCloseTo(1, 12);
    expect(erfc(6) / 2.1519736712498916e-17).toBeCloseTo(1, 10);
    expect(erfc(-1)).toBeCloseTo(2 - erfc(1), 15);
  });

  it('normalSf gives the familiar normal tail probabilities', () => {
    expect(normalSf(0)).toBeCloseTo(0.5, 15);
    expect(normalSf(1.959963984540054)).toBeCloseTo(0.025, 12);
    expect(normalSf(-1)).toBeCloseTo(0.8413447460685429, 12);
    expect(normalSf(5) / 2.866515718791933e-7).toBeCloseTo(1, 10);
    expect(normalSf(8) / 6.22096057427174e-16).toBeCloseTo(1, 9);
  });

  it('lnGamma is ln((n-1)!) on integers', () => {
    expect(lnGamma(1)).toBeCloseTo(0, 13);
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 13);
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13);
    expect(lnGamma(101)).toBeCloseTo(363.73937555556347, 9);
  });

  it('regularizedBeta is symmetric and hits closed forms', () => {
    expect(regularizedBeta(0.5, 2, 2)).toBeCloseTo(0.5, 14);
    // I_x(1, 1) = x; I_x(a, 1) = x^a
    expect(regularizedBeta(0.3, 1, 1)).toBeCloseTo(0.3, 14);
    expect(regularizedBeta(0.3, 3, 1)).toBeCloseTo(0.027, 14);
    expect(regularizedBeta(0.2, 4, 7)).toBeCloseTo(1 - regularizedBeta(0.8, 7, 4), 14);
  });
});

describe('binomialSf', () => {
  it('matches exact binomial tails', () => {
    // P(X >= 8), X ~ B(10, 1/2) = (45 + 10 + 1) / 1024
    expect(binomialSf(8, 10, 0.5)).toBeCloseTo(56 / 1024, 14);
    // Reference values computed by summing the binomial pmf.
    expect(binomialSf(30, 200, 0.1)).toBeCloseTo(0.016326565931766502, 12);
    expect(binomialSf(10, 1000, 0.002) / 4.517468831622144e-5).toBeCloseTo(1, 8);
    expect(binomialSf(0, 5, 0.3)).toBe(1);
    expect(binomialSf(6, 5, 0.3)).toBe(0);
  });

  it('equals the sum of the pmf for small n (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        (n, p) => {
          const k = Math.floor(n / 3);
          let sum = 0;
          for (let i = k; i <= n; i++) {
            let c = 1;
            for (let j = 0; j < i; j++) c = (c * (n - j)) / (j + 1);
            sum += c * p ** i * (1 - p) ** (n - i);
          }
          expect(binomialSf(k, n, p)).toBeCloseTo(sum, 10);
        },
      ),
    );
  });
});

describe('fisherGreater', () => {
  it("gives Fisher's tea-tasting p-value", () => {
    // 4 cups with milk first, 4 without; the lady gets 3 of each right: p = 17/70.
    expect(fisherGreater(3, 4, 1, 4)).toBeCloseTo(17 / 70, 13);
  });

  it('matches a reference one-sided p-value on an exceedance-style table', () => {
    // 12 of 200 current samples above the baseline p99 vs 10 of 1000 before.
    expect(fisherGreater(12, 200, 10, 1000) / 4.633595788119478e-5).toBeCloseTo(1, 8);
  });

  it('equals the brute-force hypergeometric tail (property)', () => {
    const choose = (n: number, k: number) => {
      let c = 1;
      for (let j = 0; j < k; j++) c = (c * (n - j)) / (j + 1);
      return c;
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 40 }),
        (n1, n2, a1, a2) => {
          const currentAbove = Math.min(a1, n1);
          const baselineAbove = Math.min(a2, n2);
          const above = currentAbove + baselineAbove;
          const n = n1 + n2;
          let expected = 0;
          for (let k = currentAbove; k <= Math.min(above, n1); k++) {
            if (n1 - k > n - above) continue;
            expected += (choose(above, k) * choose(n - above, n1 - k)) / choose(n, n1);
          }
          expect(fisherGreater(currentAbove, n1, baselineAbove, n2)).toBeCloseTo(Math.min(1, expected), 10);
        },
      ),
    );
  });

  it('stays near 1 far below the mode instead of underflowing to 0', () => {
    expect(fisherGreater(1, 5000, 2000, 5000)).toBeCloseTo(1, 12);
  });

  it('finds nothing when the shares are the same', () => {
    expect(fisherGreater(2, 200, 10, 1000)).toBeGreaterThan(0.5);
    expect(fisherGreater(0, 200, 0, 1000)).toBe(1);
  });
});

describe('mannWhitneyGreater', () => {
  it('matches the asymptotic test with continuity correction', () => {
    const r = mannWhitneyGreater(bins([1, 2, 3]), bins([4, 5, 6]));
    expect(r.u).toBe(9);
    // z = (9 - 4.5 - 0.5) / sqrt(9 * 7 / 12)
    expect(r.z).toBeCloseTo(4 / Math.sqrt(5.25), 12);
    expect(r.pGreater).toBeCloseTo(0.04042779918502612, 12);
  });

  it('applies the tie correction', () => {
    const r = mannWhitneyGreater(bins([1, 2, 2, 3, 3, 3, 4]), bins([3, 3, 4, 4, 5, 5, 6, 2]));
    expect(r.u).toBe(45);
    // Reference: asymptotic tie-corrected Mann–Whitney, one-sided.
    expect(r.pGreater).toBeCloseTo(0.02494221848996294, 12);
  });

  it('is symmetric: swapping the samples mirrors U and z', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 2, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 2, maxLength: 40 }),
        (a, b) => {
          const ab = mannWhitneyGreater(bins(a), bins(b));
          const ba = mannWhitneyGreater(bins(b), bins(a));
          expect(ab.u + ba.u).toBeCloseTo(a.length * b.length, 9);
          expect(ab.effect + ba.effect).toBeCloseTo(1, 12);
          if (ab.z !== 0 || ba.z !== 0)
            expect(ab.z + ba.z).toBeCloseTo(-(1 / Math.sqrt(varianceOf(a, b))), 9);
        },
      ),
    );
  });

  it('scales: the same distribution binned finds no difference', () => {
    const base = [10, 11, 12, 12, 13, 15, 20, 40].map((v, i) => ({ value: v, count: 100 + i }));
    const r = mannWhitneyGreater(base, base);
    expect(r.effect).toBeCloseTo(0.5, 12);
    expect(r.pGreater).toBeGreaterThan(0.49);
  });
});

/** Tie-corrected variance of U, for the symmetry check (z_ab + z_ba = −1/σ: two continuity corrections). */
function varianceOf(a: number[], b: number[]): number {
  const n1 = a.length;
  const n2 = b.length;
  const n = n1 + n2;
  const counts = new Map<number, number>();
  for (const v of [...a, ...b]) counts.set(v, (counts.get(v) ?? 0) + 1);
  let ties = 0;
  for (const t of counts.values()) ties += t ** 3 - t;
  return ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
}

describe('hodgesLehmannRatio', () => {
  it('recovers a known ratio between two weighted samples', () => {
    const x = [
      { value: 10, count: 3 },
      { value: 20, count: 1 },
    ];
    const y = x.map((b) => ({ value: b.value * 1.25, count: b.count }));
    expect(hodgesLehmannRatio(x, y)).toBeCloseTo(1.25, 9);
    // Ratios y / x of the four pairs: 2, 3, 2/3, 1; the middle two on the log scale are 1 and 2 → √2.
    expect(hodgesLehmannRatio(bins([1, 3]), bins([2, 3]))).toBeCloseTo(Math.exp(Math.log(2) / 2), 9);
  });

  it('equals the median of all pairwise log-ratios, computed pair by pair (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 25 }),
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 25 }),
        (a, b) => {
          const diffs: number[] = [];
          for (const u of a) for (const v of b) diffs.push(Math.log(v) - Math.log(u));
          diffs.sort((p, q) => p - q);
          const n = diffs.length;
          const middle = n % 2 === 1 ? diffs[(n - 1) / 2]! : (diffs[n / 2 - 1]! + diffs[n / 2]!) / 2;
          expect(Math.log(hodgesLehmannRatio(bins(a), bins(b)))).toBeCloseTo(middle, 9);
        },
      ),
    );
  });

  it('is symmetric and scale-equivariant, and finds 1 between identical samples (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 30 }),
        fc.double({ min: 0.1, max: 10, noNaN: true }),
        (a, b, c) => {
          const x = bins(a);
          const y = bins(b);
          expect(hodgesLehmannRatio(x, y) * hodgesLehmannRatio(y, x)).toBeCloseTo(1, 9);
          const scaled = y.map((bin) => ({ value: bin.value * c, count: bin.count }));
          expect(hodgesLehmannRatio(x, scaled) / hodgesLehmannRatio(x, y)).toBeCloseTo(c, 9);
          expect(hodgesLehmannRatio(x, x)).toBeCloseTo(1, 9);
        },
      ),
    );
  });

  it('leaves out values <= 0 and is NaN without values', () => {
    expect(hodgesLehmannRatio([{ value: 0, count: 5 }, ...bins([2])], bins([4]))).toBeCloseTo(2, 9);
    expect(hodgesLehmannRatio([], bins([4]))).toBeNaN();
  });
});

describe('kruskalWallis', () => {
  it('matches the textbook H (Hollander & Wolfe, three groups)', () => {
    const r = kruskalWallis([
      bins([2.9, 3.0, 2.5, 2.6, 3.2]),
      bins([3.8, 2.7, 4.0, 2.4]),
      bins([2.8, 3.4, 3.7, 2.2, 2.0]),
    ]);
    // R: kruskal.test(list(...)) gives Kruskal-Wallis chi-squared = 0.77143, df = 2.
    expect(r.h).toBeCloseTo(0.7714285714, 9);
    expect(r.df).toBe(2);
  });

  it('applies the tie correction', () => {
    // Mid-ranks 1, 3, 3 | 3, 5.5, 5.5: H = 2.3333 before and 2.7222 after the correction 1 − 30/210.
    expect(kruskalWallis([bins([1, 2, 2]), bins([2, 3, 3])]).h).toBeCloseTo(49 / 18, 12);
  });

  it('is 0 for groups with the same values, and ignores empty groups', () => {
    const same = [10, 11, 12, 20, 40].map((v, i) => ({ value: v, count: 10 + i }));
    const r = kruskalWallis([same, same, same, []]);
    expect(r.h).toBeCloseTo(0, 9);
    expect(r.df).toBe(2);
    expect(kruskalWallis([same])).toEqual({ h: 0, df: 0 });
  });

  it('grows with a shifted group', () => {
    const base = bins([1, 2, 3, 4, 5, 6, 7, 8]);
    const shifted = bins([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(kruskalWallis([base, base, shifted]).h).toBeGreaterThan(kruskalWallis([base, base, base]).h + 3);
  });
});

describe('mannKendall', () => {
  it('gives the textbook S, variance and p-value on a monotone series', () => {
    const r = mannKendall([1, 2, 3, 4, 5]);
    expect(r.s).toBe(10);
    expect(r.variance).toBeCloseTo((5 * 4 * 15) / 18, 12);
    expect(r.z).toBeCloseTo(9 / Math.sqrt(50 / 3), 12);
    expect(r.pIncreasing).toBeCloseTo(0.0137432, 6);
  });

  it('corrects the variance for ties', () => {
    const r = mannKendall([1, 1, 2, 3]);
    expect(r.s).toBe(5);
    // [4·3·13 − 2·1·9] / 18
    expect(r.variance).toBeCloseTo(138 / 18, 12);
    expect(r.pIncreasing).toBeCloseTo(normalSf(4 / Math.sqrt(138 / 18)), 14);
  });

  it('reverses sign on a reversed series and finds nothing on a constant one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 3, maxLength: 30 }),
        (y) => {
          const f = mannKendall(y);
          const r = mannKendall([...y].reverse());
          expect(r.s + f.s).toBe(0);
          expect(r.pTwoSided).toBeCloseTo(f.pTwoSided, 12);
        },
      ),
    );
    const flat = mannKendall([3, 3, 3, 3, 3]);
    expect(flat.s).toBe(0);
    expect(flat.pIncreasing).toBe(1);
  });
});

describe('theilSen', () => {
  it('recovers exact lines', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: 2, max: 40 }),
        (a, b, n) => {
          const x = Array.from({ length: n }, (_, i) => i * 3 + 1);
          const y = x.map((v) => (a / 10) * v + b);
          const line = theilSen(x, y);
          expect(line.slope).toBeCloseTo(a / 10, 9);
          expect(line.intercept).toBeCloseTo(b, 7);
        },
      ),
    );
  });

  it('ignores a minority of wild outliers', () => {
    const x = Array.from({ length: 20 }, (_, i) => i);
    const y = x.map((v) => 2 * v + 5);
    y[3] = 500;
    y[11] = -400;
    y[17] = 0;
    const line = theilSen(x, y);
    expect(line.slope).toBeCloseTo(2, 9);
    expect(line.intercept).toBeCloseTo(5, 9);
  });
});

describe('median', () => {
  it('handles odd and even lengths without reordering the input', () => {
    const input = [5, 1, 4, 2, 3];
    expect(median(input)).toBe(3);
    expect(input).toEqual([5, 1, 4, 2, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('agrees with sorting (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 60 }),
        (a) => {
          const s = [...a].sort((p, q) => p - q);
          const n = s.length;
          const expected = n % 2 ? s[n >> 1]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
          expect(median(a)).toBeCloseTo(expected, 9);
        },
      ),
    );
  });
});

describe('benjaminiHochberg', () => {
  it('adjusts a known example', () => {
    // sorted 0.005, 0.01, 0.03, 0.04 -> 0.02, 0.02, 0.04, 0.04
    const adjusted = benjaminiHochberg([0.01, 0.04, 0.03, 0.005]);
    expect(adjusted[0]).toBeCloseTo(0.02, 15);
    expect(adjusted[1]).toBeCloseTo(0.04, 15);
    expect(adjusted[2]).toBeCloseTo(0.04, 15);
    expect(adjusted[3]).toBeCloseTo(0.02, 15);
  });

  it('matches the textbook table of Benjamini & Hochberg (1995)', () => {
    // The 15 p-values of their example; at q = 0.05 the first four are rejected.
    const p = [
      0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528,
      0.759, 1.0,
    ];
    const rejected = benjaminiHochberg(p).filter((a) => a <= 0.05).length;
    expect(rejected).toBe(4);
  });

  it('is monotone in the raw p-values and never below them (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (p) => {
          const adj = benjaminiHochberg(p);
          for (let i = 0; i < p.length; i++) {
            expect(adj[i]!).toBeGreaterThanOrEqual(p[i]! - 1e-15);
            for (let j = 0; j < p.length; j++)
              if (p[i]! < p[j]!) expect(adj[i]!).toBeLessThanOrEqual(adj[j]!);
          }
        },
      ),
    );
  });
});

describe('eDivisive', () => {
  const noisy = (levels: number[], seed: number): number[] => {
    const random = seededRandom(seed);
    return levels.map((l) => l + (random() - 0.5) * 0.4);
  };

  it('finds a planted change point in a noisy series', () => {
    const series = noisy([...Array(40).fill(10), ...Array(20).fill(12)], 7);
    expect(eDivisive(series)).toEqual([40]);
  });

  it('finds two planted change points', () => {
    const series = noisy([...Array(25).fill(10), ...Array(25).fill(13), ...Array(25).fill(11)], 3);
    expect(eDivisive(series)).toEqual([25, 50]);
  });

  it('finds a change near the end of the series with a small minimum segment', () => {
    const series = noisy([...Array(30).fill(10), 14, 14, 14], 11);
    expect(eDivisive(series, { minSize: 2 })).toEqual([30]);
  });

  it('finds nothing in pure noise and is deterministic', () => {
    const random = seededRandom(42);
    const series = Array.from({ length: 60 }, () => 10 + random());
    const first = eDivisive(series);
    expect(first).toEqual([]);
    expect(eDivisive(series)).toEqual(first);
  });
});
