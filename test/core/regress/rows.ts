/** Builders of `subsegment_stats` rows from known distributions, for the regression tests. */
import type { StatsRow } from '../../../lib/core/model.js';
import { seededRandom } from '../../../lib/core/regress/stats.js';
import { DDSketch } from '../../../lib/core/stats/ddsketch.js';

export const W = 300_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const T0 = Date.UTC(2026, 2, 2);

export interface RowSpec {
  readonly key?: string;
  readonly start: number;
  /** Samples of the window. */
  readonly samples: readonly number[];
  readonly versions?: readonly string[];
  readonly exemplars?: readonly string[];
}

/** A stats row whose sketch and percentiles come from `samples`. */
export function rowOf(spec: RowSpec): StatsRow {
  const key = spec.key ?? 'orders > DynamoDB GetItem orders';
  const [service, name] = key.split(' > ') as [string, string];
  const sketch = new DDSketch();
  for (const v of spec.samples) sketch.add(v);
  const q = (x: number) => sketch.quantile(x);
  return {
    window_start: spec.start,
    window_end: spec.start + W,
    key,
    kind: 'subsegment',
    service,
    name: name ?? key,
    namespace: 'aws',
    aws_operation: null,
    aws_resource: null,
    origin: null,
    count: sketch.count,
    error_count: 0,
    fault_count: 0,
    throttle_count: 0,
    min_ms: sketch.min,
    mean_ms: sketch.sum / sketch.count,
    p50_ms: q(0.5),
    p90_ms: q(0.9),
    p95_ms: q(0.95),
    p99_ms: q(0.99),
    p999_ms: q(0.999),
    max_ms: sketch.max,
    self_p50_ms: q(0.5),
    self_p99_ms: q(0.99),
    sketch: sketch.encode(),
    self_sketch: sketch.encode(),
    exemplar_trace_ids: [...(spec.exemplars ?? [])],
    service_versions: [...(spec.versions ?? ['1.0.0'])],
  };
}

/** Log-normal samples with the given median, from a seeded generator. */
export function lognormal(random: () => number, n: number, medianMs: number, sigma = 0.4): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = Math.max(random(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    out.push(medianMs * Math.exp(sigma * z));
  }
  return out;
}

export function generator(seed: number): () => number {
  return seededRandom(seed);
}

/** A trace ID in the X-Ray form that encodes a window and a number, so tests can tell them apart. */
export function traceIdOf(start: number, i: number): string {
  return `1-${Math.floor(start / 1000)
    .toString(16)
    .padStart(8, '0')}-${i.toString(16).padStart(24, '0')}`;
}
