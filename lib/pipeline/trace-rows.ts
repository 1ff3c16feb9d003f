/**
 * The `traces` rows of one window, held compactly until the window is written. The table is one
 * sorted object per window, so every row must wait for the window's end; as plain objects they
 * were ~700 bytes per trace (boxed numbers, a copy of every repeated string, a dictionary per
 * annotation set), the largest part of the memory that grew with a window.
 */
import type { TraceRow } from '../core/model.js';

/** Numbers per trace in `nums`: start, duration, response time, status, spans, services, flags. */
const STRIDE = 7;
const ERROR = 1;
const FAULT = 2;
const THROTTLE = 4;
const PARTIAL = 8;
/** Distinct strings shared at most; past it (URLs with ids in them) values are kept as they come. */
const MAX_INTERNED = 50_000;

export class TraceRowStore {
  private readonly ids: string[] = [];
  // Doubles only, so V8 keeps them unboxed; NaN stands for null (no null value is ever NaN).
  private readonly nums: number[] = [];
  private readonly strs: (string | null)[] = [];
  private readonly notes: (readonly string[] | null)[] = [];
  private readonly interned = new Map<string, string>();

  constructor(private readonly window: number) {}

  get length(): number {
    return this.ids.length;
  }

  add(row: TraceRow): void {
    this.ids.push(row.trace_id);
    this.nums.push(
      row.start_time,
      row.duration_ms,
      row.response_time_ms ?? Number.NaN,
      row.http_status ?? Number.NaN,
      row.span_count,
      row.service_count,
      (row.has_error ? ERROR : 0) |
        (row.has_fault ? FAULT : 0) |
        (row.has_throttle ? THROTTLE : 0) |
        (row.is_partial ? PARTIAL : 0),
    );
    this.strs.push(this.intern(row.root_service), this.intern(row.http_method), this.intern(row.http_url));
    let notes: string[] | null = null;
    if (row.annotations) {
      notes = [];
      // Object.entries order is a function of the keys and their insertion order, so inserting
      // them back in this order gives the same record.
      for (const [k, v] of Object.entries(row.annotations)) notes.push(this.intern(k), this.intern(v));
    }
    this.notes.push(notes);
  }

  /** The rows, as `add` received them. */
  rows(): TraceRow[] {
    const out: TraceRow[] = [];
    for (let i = 0; i < this.ids.length; i++) {
      const n = i * STRIDE;
      const s = i * 3;
      const flags = this.nums[n + 6]!;
      const notes = this.notes[i];
      let annotations: Record<string, string> | null = null;
      if (notes) {
        annotations = Object.create(null) as Record<string, string>;
        for (let j = 0; j < notes.length; j += 2) annotations[notes[j]!] = notes[j + 1]!;
      }
      out.push({
        trace_id: this.ids[i]!,
        start_time: this.nums[n]!,
        duration_ms: this.nums[n + 1]!,
        response_time_ms: nullIfNaN(this.nums[n + 2]!),
        root_service: this.strs[s]!,
        http_method: this.strs[s + 1]!,
        http_url: this.strs[s + 2]!,
        http_status: nullIfNaN(this.nums[n + 3]!),
        has_error: (flags & ERROR) !== 0,
        has_fault: (flags & FAULT) !== 0,
        has_throttle: (flags & THROTTLE) !== 0,
        annotations,
        span_count: this.nums[n + 4]!,
        service_count: this.nums[n + 5]!,
        is_partial: (flags & PARTIAL) !== 0,
        window_start: this.window,
      });
    }
    return out;
  }

  private intern<T extends string | null>(value: T): T {
    if (value === null) return value;
    const known = this.interned.get(value);
    if (known !== undefined) return known as T;
    if (this.interned.size < MAX_INTERNED) this.interned.set(value, value);
    return value;
  }
}

function nullIfNaN(n: number): number | null {
  return Number.isNaN(n) ? null : n;
}
