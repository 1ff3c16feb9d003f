/**
 * Windowed statistics per key: one `subsegment_stats` row per (window, key), built in one pass over
 * span rows with bounded memory per key (two sketches, two small exemplar lists, a few counters).
 *
 * Determinism: the rows depend only on the multiset of span rows, not on their order. Counts and
 * sketches are order independent by construction; the sum behind `mean_ms` is exact (correctly
 * rounded, whatever the order); exemplar ties are broken by trace id; when rows with different
 * parts share one key string (e.g. name `DynamoDB GetItem` vs name `DynamoDB` + operation
 * `GetItem`), the smallest parts win.
 */
import { ConfigError, ValidationError } from '../errors.js';
import { keyOf, type Namespace, type SpanKind, type SpanRow, type StatsRow } from '../model.js';
import { DDSketch } from './ddsketch.js';

export interface AggregatorOptions {
  /** Window length in ms; `window_end = window_start + windowMs`. */
  windowMs: number;
  /** Slowest traces kept per key, and as many failed ones after them. Default 5. */
  exemplarCount?: number;
  /** Relative accuracy of the sketches. Default 0.01. */
  relativeAccuracy?: number;
}

/**
 * The exact sum of many doubles, rounded once at the end (Shewchuk's non-overlapping partials).
 * Unlike a running `+=`, the result does not depend on the order of the terms.
 */
class ExactSum {
  private readonly partials: number[] = [];

  add(x: number): void {
    const partials = this.partials;
    let used = 0;
    for (let k = 0; k < partials.length; k++) {
      let y = partials[k]!;
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[used++] = lo;
      x = hi;
    }
    partials.length = used;
    partials.push(x);
  }

  value(): number {
    const partials = this.partials;
    let k = partials.length - 1;
    if (k < 0) return 0;
    let hi = partials[k]!;
    let lo = 0;
    while (k > 0) {
      const x = hi;
      const y = partials[--k]!;
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // Round half to even correctly when the remainder sits exactly on a tie.
    if (k > 0 && ((lo < 0 && partials[k - 1]! < 0) || (lo > 0 && partials[k - 1]! > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }
}

interface Exemplar {
  traceId: string;
  durationMs: number;
}

/** a ranks before b: slower first, then smaller trace id. */
function ranksBefore(aMs: number, aId: string, b: Exemplar): boolean {
  return aMs > b.durationMs || (aMs === b.durationMs && aId < b.traceId);
}

/**
 * The `capacity` distinct traces with the longest span, each trace ranked by its longest span.
 * Exact whatever the arrival order: a trace's rank only rises and the entry bar only rises, so a
 * trace that ends in the top set is never evicted once it qualifies.
 */
class TopTraces {
  readonly items: Exemplar[] = [];

  constructor(private readonly capacity: number) {}

  offer(traceId: string, durationMs: number): void {
    const items = this.items;
    const full = items.length >= this.capacity;
    // The common case: slower than nothing kept, and no kept entry can improve.
    if (full && (this.capacity === 0 || !ranksBefore(durationMs, traceId, items[items.length - 1]!))) return;
    let at = items.findIndex((e) => e.traceId === traceId);
    if (at >= 0) {
      if (durationMs <= items[at]!.durationMs) return;
      items[at]!.durationMs = durationMs;
    } else if (full) {
      at = items.length - 1;
      items[at] = { traceId, durationMs };
    } else {
      at = items.push({ traceId, durationMs }) - 1;
    }
    // One insertion step keeps the short list sorted.
    while (at > 0 && ranksBefore(items[at]!.durationMs, items[at]!.traceId, items[at - 1]!)) {
      [items[at - 1], items[at]] = [items[at]!, items[at - 1]!];
      at--;
    }
  }
}

interface Parts {
  kind: SpanKind;
  service: string;
  name: string;
  awsOperation: string | null;
  awsResource: string | null;
  origin: string | null;
}

function partsTuple(p: Parts): string {
  return JSON.stringify([p.kind, p.service, p.name, p.awsOperation, p.awsResource, p.origin]);
}

interface KeyStats {
  parts: Parts;
  namespace: Namespace | null;
  count: number;
  errorCount: number;
  faultCount: number;
  throttleCount: number;
  minMs: number;
  maxMs: number;
  sum: ExactSum;
  sketch: DDSketch;
  selfSketch: DDSketch;
  slowest: TopTraces;
  failed: TopTraces;
  versions: Set<string>;
  /** The version added last, already in `versions`. */
  lastVersion: string | null;
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One (kind, operation, resource, origin) seen under a (service, name), and the stats it adds to. */
interface Variant {
  kind: SpanKind;
  awsOperation: string | null;
  awsResource: string | null;
  origin: string | null;
  key: string;
  stats: KeyStats;
}

interface WindowState {
  byKey: Map<string, KeyStats>;
  /**
   * service → name → the variants seen, so that a row costs two lookups and a short scan instead
   * of building its key string: a (service, name) has only a few operations and resources.
   */
  byParts: Map<string, Map<string, Variant[]>>;
  /** The service of the last row and its names: the rows of one segment come one after another. */
  lastService: string | null;
  lastNames: Map<string, Variant[]> | null;
}

/**
 * Folds span rows into per-window, per-key statistics.
 *
 * @example
 * const agg = new WindowAggregator({ windowMs: 300_000 });
 * for (const row of spanRows) agg.add(row);
 * for (const w of agg.windows()) {
 *   const rows = agg.statsRows(w); // write them, publish metrics…
 *   agg.drop(w);
 * }
 */
export class WindowAggregator {
  private readonly windowMs: number;
  private readonly exemplarCount: number;
  private readonly relativeAccuracy: number | undefined;
  private readonly byWindow = new Map<number, WindowState>();

  /** @throws ConfigError when `windowMs` is not a positive number or `exemplarCount` not a whole number ≥ 0. */
  constructor(options: AggregatorOptions) {
    if (!(options.windowMs > 0 && Number.isFinite(options.windowMs))) {
      throw new ConfigError(`windowMs must be a positive number of milliseconds, got ${options.windowMs}`);
    }
    const exemplarCount = options.exemplarCount ?? 5;
    if (!(Number.isInteger(exemplarCount) && exemplarCount >= 0)) {
      throw new ConfigError(`exemplarCount must be a whole number >= 0, got ${exemplarCount}`);
    }
    this.windowMs = options.windowMs;
    this.exemplarCount = exemplarCount;
    this.relativeAccuracy = options.relativeAccuracy;
    // Fail on a bad accuracy now rather than at the first row.
    new DDSketch({ relativeAccuracy: this.relativeAccuracy });
  }

  /**
   * Adds one span row to the window `row.window_start`, under the key `keyOf(row)`, and returns
   * that key (the same string object for every row of a key: cheap to look up again).
   *
   * @throws ValidationError when the row's duration or self time is negative or not finite, or its
   * window start is not a finite number (the flattener never produces such rows).
   */
  add(row: SpanRow): string {
    const duration = row.duration_ms;
    const self = row.self_ms;
    if (
      !(duration >= 0 && duration < Number.POSITIVE_INFINITY && self >= 0 && self < Number.POSITIVE_INFINITY)
    ) {
      throw new ValidationError(
        `span ${row.id} of trace ${row.trace_id}: duration_ms ${duration} and self_ms ${self} must be finite and >= 0`,
      );
    }
    if (!Number.isFinite(row.window_start)) {
      throw new ValidationError(
        `span ${row.id} of trace ${row.trace_id}: window_start ${row.window_start} is not a time`,
      );
    }
    let window = this.byWindow.get(row.window_start);
    if (!window) {
      window = { byKey: new Map(), byParts: new Map(), lastService: null, lastNames: null };
      this.byWindow.set(row.window_start, window);
    }
    const variant = this.variantOf(window, row);
    const stats = variant.stats;

    stats.count++;
    const failed = row.error || row.fault || row.throttle;
    if (row.error) stats.errorCount++;
    if (row.fault) stats.faultCount++;
    if (row.throttle) stats.throttleCount++;
    if (duration < stats.minMs) stats.minMs = duration;
    if (duration > stats.maxMs) stats.maxMs = duration;
    stats.sum.add(duration);
    stats.sketch.add(duration);
    stats.selfSketch.add(self);
    stats.slowest.offer(row.trace_id, duration);
    if (failed) stats.failed.offer(row.trace_id, duration);
    const version = row.service_version;
    // Rows of a key mostly repeat one version (one shared string): the set is asked only on a change.
    if (version !== null && version !== stats.lastVersion) {
      stats.versions.add(version);
      stats.lastVersion = version;
    }
    if (row.namespace !== null && (stats.namespace === null || row.namespace < stats.namespace)) {
      stats.namespace = row.namespace;
    }
    return variant.key;
  }

  /** The variant a row belongs to, found through its parts; its key string is built once per variant. */
  private variantOf(window: WindowState, row: SpanRow): Variant {
    const kind = row.kind;
    const origin = kind === 'segment' ? row.origin : null;
    let names = window.lastService === row.service ? window.lastNames : window.byParts.get(row.service);
    if (!names) {
      names = new Map();
      window.byParts.set(row.service, names);
    }
    window.lastService = row.service;
    window.lastNames = names;
    let variants = names.get(row.name);
    if (!variants) {
      variants = [];
      names.set(row.name, variants);
    }
    for (let i = 0; i < variants.length; i++) {
      const v = variants[i]!;
      if (
        v.kind === kind &&
        v.awsOperation === row.aws_operation &&
        v.awsResource === row.aws_resource &&
        v.origin === origin
      ) {
        return v;
      }
    }
    const parts: Parts = {
      kind,
      service: row.service,
      name: row.name,
      awsOperation: row.aws_operation,
      awsResource: row.aws_resource,
      origin,
    };
    const key = keyOf(parts);
    let stats = window.byKey.get(key);
    if (!stats) {
      stats = this.newStats(parts);
      window.byKey.set(key, stats);
    } else if (partsTuple(parts) < partsTuple(stats.parts)) {
      stats.parts = parts;
    }
    const variant: Variant = {
      kind,
      awsOperation: parts.awsOperation,
      awsResource: parts.awsResource,
      origin,
      key,
      stats,
    };
    variants.push(variant);
    return variant;
  }

  private newStats(parts: Parts): KeyStats {
    const accuracy = { relativeAccuracy: this.relativeAccuracy };
    return {
      parts,
      namespace: null,
      count: 0,
      errorCount: 0,
      faultCount: 0,
      throttleCount: 0,
      minMs: Number.POSITIVE_INFINITY,
      maxMs: Number.NEGATIVE_INFINITY,
      sum: new ExactSum(),
      sketch: new DDSketch(accuracy),
      selfSketch: new DDSketch(accuracy),
      slowest: new TopTraces(this.exemplarCount),
      // Twice as many, since up to `exemplarCount` of them may already be among the slowest.
      failed: new TopTraces(this.exemplarCount * 2),
      versions: new Set(),
      lastVersion: null,
    };
  }

  /** Window starts holding data, ascending. */
  windows(): number[] {
    return [...this.byWindow.keys()].sort((a, b) => a - b);
  }

  /**
   * The `subsegment_stats` rows of one window, sorted by key; empty for a window without data.
   * `exemplar_trace_ids` lists the slowest distinct traces (slowest first, ties by trace id), then
   * distinct failed traces (error, fault or throttle) not already listed, in the same order.
   */
  statsRows(windowStart: number): StatsRow[] {
    const keys = this.byWindow.get(windowStart)?.byKey;
    if (!keys) return [];
    const rows: StatsRow[] = [];
    for (const key of [...keys.keys()].sort(byCodeUnit)) {
      const s = keys.get(key)!;
      const slowIds = s.slowest.items.map((e) => e.traceId);
      const listed = new Set(slowIds);
      const failedIds = s.failed.items
        .map((e) => e.traceId)
        .filter((id) => !listed.has(id))
        .slice(0, this.exemplarCount);
      rows.push({
        window_start: windowStart,
        window_end: windowStart + this.windowMs,
        key,
        kind: s.parts.kind,
        service: s.parts.service,
        name: s.parts.name,
        namespace: s.namespace,
        aws_operation: s.parts.awsOperation,
        aws_resource: s.parts.awsResource,
        origin: s.parts.origin,
        count: s.count,
        error_count: s.errorCount,
        fault_count: s.faultCount,
        throttle_count: s.throttleCount,
        min_ms: s.minMs,
        mean_ms: s.sum.value() / s.count,
        p50_ms: s.sketch.quantile(0.5),
        p90_ms: s.sketch.quantile(0.9),
        p95_ms: s.sketch.quantile(0.95),
        p99_ms: s.sketch.quantile(0.99),
        p999_ms: s.sketch.quantile(0.999),
        max_ms: s.maxMs,
        self_p50_ms: s.selfSketch.quantile(0.5),
        self_p99_ms: s.selfSketch.quantile(0.99),
        sketch: s.sketch.encode(),
        self_sketch: s.selfSketch.encode(),
        exemplar_trace_ids: [...slowIds, ...failedIds],
        service_versions: [...s.versions].sort(byCodeUnit),
      });
    }
    return rows;
  }

  /** Forgets a window (once its rows are written). */
  drop(windowStart: number): void {
    this.byWindow.delete(windowStart);
  }

  /**
   * The live duration and self-time sketches of one key in one window, or undefined. They belong
   * to the aggregator: read or merge them into others, `clone()` them before changing them.
   */
  keyState(windowStart: number, key: string): { sketch: DDSketch; selfSketch: DDSketch } | undefined {
    const s = this.byWindow.get(windowStart)?.byKey.get(key);
    return s ? { sketch: s.sketch, selfSketch: s.selfSketch } : undefined;
  }
}
