/**
 * The per-key baseline state kept between runs, and its JSON form. One object per key:
 *
 * - `series`: per-window count and p50/p90/p99 (and service versions) for the last
 *   `historyWindows` windows — onset, drifts and new versions are read from it;
 * - `ring`: the serialized duration sketch and a few exemplar trace IDs of the newest windows,
 *   enough for the recent baseline plus one hour — step tests merge these;
 * - `hours`: per-hour count and p50/p90/p99, computed from the merged sketches of the hour, for
 *   `seasonalDays` + 1 days — the same-hour-on-previous-days baseline and the long drift series.
 *
 * Every entry is keyed by its start time, so re-processing a window replaces its entries and
 * windows may arrive in any order. Pruning is relative to the newest window seen for the key,
 * never to a clock, so the state is a function of the windows applied.
 */
import { ValidationError } from '../errors.js';
import { DDSketch } from '../stats/ddsketch.js';

export interface SeriesPoint {
  readonly start: number;
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly versions: readonly string[];
}

export interface RingEntry {
  readonly start: number;
  readonly count: number;
  readonly sketch: DDSketch;
  readonly exemplars: readonly string[];
}

export interface HourPoint {
  readonly start: number;
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

export interface KeyBaseline {
  readonly key: string;
  service: string;
  name: string;
  windowMs: number;
  /** Ascending by start. */
  series: SeriesPoint[];
  /** Ascending by start. */
  ring: RingEntry[];
  /** Ascending by start. */
  hours: HourPoint[];
}

export const STATE_FORMAT_VERSION = 1;

/** Six significant digits: far below the sketch's 1 % error, and short in JSON. */
export function roundValue(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(6)) : 0;
}

/** An empty baseline for a key. */
export function emptyBaseline(key: string, service: string, name: string, windowMs: number): KeyBaseline {
  return { key, service, name, windowMs, series: [], ring: [], hours: [] };
}

/**
 * Inserts or replaces (same `start`) an entry in a list sorted by start.
 *
 * @example upsertByStart([{ start: 1 }, { start: 3 }], { start: 2 }) // [1, 2, 3]
 */
export function upsertByStart<T extends { readonly start: number }>(list: T[], entry: T): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.start < entry.start) lo = mid + 1;
    else hi = mid;
  }
  if (lo < list.length && list[lo]!.start === entry.start) list[lo] = entry;
  else list.splice(lo, 0, entry);
}

/** A sketch as JSON: accuracy, zero count, first bin index, then the count of every bin from there. */
interface CompactSketch {
  a: number;
  z: number;
  o: number;
  c: number[];
}

function compactSketch(sketch: DDSketch): CompactSketch {
  const lnGamma = Math.log(sketch.gamma);
  const scale = (sketch.gamma + 1) / 2;
  let zero = 0;
  let first = 0;
  const counts: number[] = [];
  for (const { value, count } of sketch.bins()) {
    if (value === 0) {
      zero += count;
      continue;
    }
    const index = Math.round(Math.log(value * scale) / lnGamma);
    if (counts.length === 0) first = index;
    while (first + counts.length < index) counts.push(0);
    counts.push(count);
  }
  return { a: sketch.relativeAccuracy, z: zero, o: first, c: counts };
}

function expandSketch(value: unknown, what: string): DDSketch {
  if (!isRecord(value)) fail(`${what} is not an object`);
  const [a, z, o] = numbers([value.a, value.z, value.o], `${what}.a/z/o`);
  const counts = numbers(value.c, `${what}.c`);
  if (!(a! > 0 && a! < 1)) fail(`${what}.a is not a relative accuracy`);
  if (!Number.isInteger(o) || Math.abs(o!) > 2 ** 31) fail(`${what}.o is not a bin index`);
  if (counts.some((c) => c < 0) || z! < 0) fail(`${what} holds a negative count`);
  const sketch = new DDSketch({ relativeAccuracy: a! });
  const gamma = sketch.gamma;
  try {
    if (z! > 0) sketch.add(0, z!);
    counts.forEach((count, k) => {
      // The bin's representative value, computed as DDSketch computes it (so min and max match a
      // decoded sketch bit for bit); it lies strictly inside the bin, so add() maps it back there.
      if (count > 0) sketch.add((2 * gamma ** (o! + k)) / (gamma + 1), count);
    });
  } catch (error) {
    throw new ValidationError(`baseline state: ${what} holds bad counts`, { cause: error });
  }
  return sketch;
}

/** Versions as [index, versions] at each change: the same list repeats for hours on end. */
function versionRuns(series: readonly SeriesPoint[]): [number, readonly string[]][] {
  const runs: [number, readonly string[]][] = [];
  let last = '';
  series.forEach((p, i) => {
    const id = JSON.stringify(p.versions);
    if (i === 0 || id !== last) runs.push([i, p.versions]);
    last = id;
  });
  return runs;
}

function expandVersionRuns(value: unknown, length: number): string[][] {
  if (!Array.isArray(value)) fail('series.ver is not an array');
  const out: string[][] = [];
  let current: string[] = [];
  let next = 0;
  for (let i = 0; i < length; i++) {
    const run: unknown = value[next];
    if (Array.isArray(run) && run[0] === i) {
      current = strings(run[1], `series.ver[${next}]`);
      next++;
    } else if (i === 0) {
      fail('series.ver does not start at the first window');
    }
    out.push(current);
  }
  if (next !== value.length) fail('series.ver does not match series.t');
  return out;
}

/**
 * The JSON bytes of a key's baseline: columnar arrays and sketches as bin counts keep it small
 * (see docs/regressions.md for the bound).
 *
 * @example decodeBaseline(encodeBaseline(b)) // same series, hours and sketch bins as b
 */
export function encodeBaseline(b: KeyBaseline): Uint8Array {
  const json = {
    v: STATE_FORMAT_VERSION,
    key: b.key,
    service: b.service,
    name: b.name,
    windowMs: b.windowMs,
    series: {
      t: b.series.map((p) => p.start),
      n: b.series.map((p) => p.count),
      p50: b.series.map((p) => p.p50),
      p90: b.series.map((p) => p.p90),
      p99: b.series.map((p) => p.p99),
      ver: versionRuns(b.series),
    },
    ring: b.ring.map((r) => ({ t: r.start, n: r.count, s: compactSketch(r.sketch), ex: r.exemplars })),
    hours: {
      t: b.hours.map((p) => p.start),
      n: b.hours.map((p) => p.count),
      p50: b.hours.map((p) => p.p50),
      p90: b.hours.map((p) => p.p90),
      p99: b.hours.map((p) => p.p99),
    },
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

function fail(what: string): never {
  throw new ValidationError(`baseline state: ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numbers(v: unknown, what: string, length?: number): number[] {
  if (!Array.isArray(v)) fail(`${what} is not an array`);
  if (length !== undefined && v.length !== length)
    fail(`${what} has ${v.length} entries, expected ${length}`);
  for (const x of v) if (typeof x !== 'number' || !Number.isFinite(x)) fail(`${what} holds a non-number`);
  return v as number[];
}

function strings(v: unknown, what: string): string[] {
  if (!Array.isArray(v)) fail(`${what} is not an array`);
  for (const x of v) if (typeof x !== 'string') fail(`${what} holds a non-string`);
  return v as string[];
}

function text(v: unknown, what: string): string {
  if (typeof v !== 'string') fail(`${what} is not a string`);
  return v;
}

function ascending(starts: number[], what: string): void {
  for (let i = 1; i < starts.length; i++)
    if (!(starts[i]! > starts[i - 1]!)) fail(`${what} is not ascending`);
}

/**
 * Reads a baseline written by {@link encodeBaseline}, checking every field.
 *
 * @throws ValidationError when the bytes are not such a state (the caller starts the key afresh).
 * @example const baseline = decodeBaseline(await store.get(path));
 */
export function decodeBaseline(bytes: Uint8Array): KeyBaseline {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ValidationError('baseline state: not JSON', { cause: error });
  }
  if (!isRecord(value)) fail('not an object');
  if (value.v !== STATE_FORMAT_VERSION)
    fail(`format version ${String(value.v)} is not ${STATE_FORMAT_VERSION}`);
  const windowMs = value.windowMs;
  if (typeof windowMs !== 'number' || !(windowMs > 0)) fail('windowMs is not a positive number');
  const s = value.series;
  if (!isRecord(s)) fail('series is not an object');
  const st = numbers(s.t, 'series.t');
  ascending(st, 'series.t');
  const sn = numbers(s.n, 'series.n', st.length);
  const s50 = numbers(s.p50, 'series.p50', st.length);
  const s90 = numbers(s.p90, 'series.p90', st.length);
  const s99 = numbers(s.p99, 'series.p99', st.length);
  const ver = expandVersionRuns(s.ver, st.length);
  const series: SeriesPoint[] = st.map((start, i) => ({
    start,
    count: sn[i]!,
    p50: s50[i]!,
    p90: s90[i]!,
    p99: s99[i]!,
    versions: ver[i]!,
  }));
  if (!Array.isArray(value.ring)) fail('ring is not an array');
  const ring: RingEntry[] = value.ring.map((r, i) => {
    if (!isRecord(r)) fail(`ring[${i}] is not an object`);
    const [start, count] = numbers([r.t, r.n], `ring[${i}].t/n`);
    return {
      start: start!,
      count: count!,
      sketch: expandSketch(r.s, `ring[${i}].s`),
      exemplars: strings(r.ex, `ring[${i}].ex`),
    };
  });
  ascending(
    ring.map((r) => r.start),
    'ring',
  );
  const h = value.hours;
  if (!isRecord(h)) fail('hours is not an object');
  const ht = numbers(h.t, 'hours.t');
  ascending(ht, 'hours.t');
  const hn = numbers(h.n, 'hours.n', ht.length);
  const h50 = numbers(h.p50, 'hours.p50', ht.length);
  const h90 = numbers(h.p90, 'hours.p90', ht.length);
  const h99 = numbers(h.p99, 'hours.p99', ht.length);
  const hours: HourPoint[] = ht.map((start, i) => ({
    start,
    count: hn[i]!,
    p50: h50[i]!,
    p90: h90[i]!,
    p99: h99[i]!,
  }));
  return {
    key: text(value.key, 'key'),
    service: text(value.service, 'service'),
    name: text(value.name, 'name'),
    windowMs,
    series,
    ring,
    hours,
  };
}
