/**
 * Seeded data shapes for sketch accuracy tests: the same seed gives the same values on every run,
 * so a failure can be reproduced.
 */

import { seededRandom } from '../../../lib/core/regress/stats.js';

/** mulberry32, seeded: the same generator the regression statistics use. */
export const rng = seededRandom;

function normal(next: () => number): number {
  // Box-Muller; 1 - next() avoids log(0).
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

export interface Dataset {
  readonly name: string;
  generate(n: number, seed: number): number[];
}

const repeat = (n: number, f: () => number): number[] => Array.from({ length: n }, f);

export const DATASETS: readonly Dataset[] = [
  {
    name: 'uniform 0..1000 ms',
    generate: (n, seed) => {
      const next = rng(seed);
      return repeat(n, () => next() * 1000);
    },
  },
  {
    name: 'exponential, mean 40 ms',
    generate: (n, seed) => {
      const next = rng(seed);
      return repeat(n, () => -40 * Math.log(1 - next()));
    },
  },
  {
    name: 'log-normal heavy tail (mu=3, sigma=1.5)',
    generate: (n, seed) => {
      const next = rng(seed);
      return repeat(n, () => Math.exp(3 + 1.5 * normal(next)));
    },
  },
  {
    name: 'bimodal: cache hits ~2 ms, misses ~180 ms',
    generate: (n, seed) => {
      const next = rng(seed);
      return repeat(n, () => (next() < 0.8 ? 2 + normal(next) * 0.2 : 180 + normal(next) * 25)).map((v) =>
        Math.max(0, v),
      );
    },
  },
  {
    name: 'constant 42.5 ms',
    generate: (n) => repeat(n, () => 42.5),
  },
  {
    name: 'tiny values: 1 ns .. 1 µs (in ms)',
    generate: (n, seed) => {
      const next = rng(seed);
      return repeat(n, () => 10 ** (-6 + 3 * next()));
    },
  },
  {
    name: 'log-uniform 1 µs .. 1 h (in ms)',
    generate: (n, seed) => {
      const next = rng(seed);
      const lo = Math.log(0.001);
      const hi = Math.log(3_600_000);
      return repeat(n, () => Math.exp(lo + (hi - lo) * next()));
    },
  },
  {
    name: 'with zeros: 30 % exact zeros, rest exponential',
    generate: (n, seed) => {
      const next = rng(seed);
      return repeat(n, () => (next() < 0.3 ? 0 : -10 * Math.log(1 - next())));
    },
  },
];

/** The nearest-rank quantile used by DDSketch and DuckDB's quantile_disc: 0-based rank ceil(q·n)−1. */
export function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length - 1e-9) - 1)]!;
}
