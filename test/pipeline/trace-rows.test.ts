import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TraceRow } from '../../lib/core/model.js';
import { TraceRowStore } from '../../lib/pipeline/trace-rows.js';

const WINDOW = 1_768_464_000_000;

const row = (over: Partial<TraceRow>): TraceRow => ({
  trace_id: '1-69689e80-e746c7699c66cc3fca41ef26',
  start_time: WINDOW + 10.833,
  duration_ms: 156.801,
  response_time_ms: 156.801,
  root_service: 'shop-api/prod',
  http_method: 'POST',
  http_url: 'https://example.com/prod/orders',
  http_status: 201,
  has_error: false,
  has_fault: true,
  has_throttle: false,
  annotations: null,
  span_count: 7,
  service_count: 2,
  is_partial: true,
  window_start: WINDOW,
  ...over,
});

/** Any UTF-16 code unit, lone surrogates included (JSON input can hold them as \\u escapes). */
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
);
const nullableNumber = fc.option(fc.double({ noNaN: true }), { nil: null });
const nullableText = fc.option(text, { nil: null });
const arbRow = fc.record({
  trace_id: text,
  start_time: fc.double({ noNaN: true }),
  duration_ms: fc.double({ noNaN: true }),
  response_time_ms: nullableNumber,
  root_service: text,
  http_method: nullableText,
  http_url: nullableText,
  http_status: fc.option(fc.integer(), { nil: null }),
  has_error: fc.boolean(),
  has_fault: fc.boolean(),
  has_throttle: fc.boolean(),
  annotations: fc.option(fc.array(fc.tuple(text, text)).map(record), { nil: null }),
  span_count: fc.nat(),
  service_count: fc.nat(),
  is_partial: fc.boolean(),
  window_start: fc.constant(WINDOW),
});

/** The `traces` order as the window writer used to make it: the rows themselves, sorted. */
function tableOrder(rows: readonly TraceRow[]): TraceRow[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...rows].sort((a, b) => a.start_time - b.start_time || cmp(a.trace_id, b.trace_id));
}

function record(entries: [string, string][]): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of entries) out[k] = v;
  return out;
}

describe('TraceRowStore', () => {
  it('gives back the rows it was given, nulls and annotation order included', () => {
    const store = new TraceRowStore(WINDOW);
    const rows = [
      row({}),
      row({
        trace_id: '1-69689e80-000000000000000000000001',
        response_time_ms: null,
        http_method: null,
        http_url: null,
        http_status: null,
        has_error: true,
        has_fault: false,
        has_throttle: true,
        is_partial: false,
        annotations: record([
          ['tier', 'gold'],
          ['2', 'two'],
          ['__proto__', 'x'],
        ]),
      }),
    ];
    for (const r of rows) store.add(r);
    expect(store.length).toBe(2);
    const back = store.rows();
    expect(back).toEqual(rows);
    expect(Object.entries(back[1]!.annotations!)).toEqual(Object.entries(rows[1]!.annotations!));
    expect(Object.getPrototypeOf(back[1]!.annotations)).toBeNull();
  });

  it('round-trips arbitrary rows, any UTF-16 string included', () => {
    fc.assert(
      fc.property(fc.array(arbRow), (rows) => {
        const store = new TraceRowStore(WINDOW);
        for (const r of rows) store.add(r);
        const back = store.rows();
        expect(back).toEqual(rows);
        back.forEach((b, i) => {
          expect(Object.is(b.start_time, rows[i]!.start_time)).toBe(true);
          if (b.annotations)
            expect(Object.entries(b.annotations)).toEqual(Object.entries(rows[i]!.annotations!));
        });
      }),
    );
  });

  it('gives the rows in table order, in batches, as sorting the rows gives them', () => {
    // Few start times and IDs, so ties on start, on ID and on both are common.
    const tied = fc.record({
      start: fc.constantFrom(WINDOW, WINDOW + 0.5, WINDOW + 1),
      id: fc.oneof(
        fc.constantFrom('1-69689e80-0a', '1-69689e80-0b', '1-69689e80-0', '1-69689e80-0a\u00e9', ''),
        text,
      ),
    });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(arbRow, tied), { maxLength: 60 }),
        fc.integer({ min: 1, max: 70 }),
        (drawn, size) => {
          // Prepare
          const rows = drawn.map(([r, t], i) => ({
            ...r,
            start_time: t.start,
            trace_id: t.id,
            span_count: i, // tells rows with equal keys apart, so arrival order is checked too
          }));
          const store = new TraceRowStore(WINDOW);
          for (const r of rows) store.add(r);
          // Act
          const batches = [...store.sortedBatches(size)];
          // Assess
          expect(batches.flat()).toEqual(tableOrder(rows));
          expect(batches.every((b, i) => b.length === (i < batches.length - 1 ? size : b.length))).toBe(true);
          expect(batches.every((b) => b.length > 0 && b.length <= size)).toBe(true);
        },
      ),
    );
  });

  it('gives no batch for an empty window and refuses a batch size below one', () => {
    const store = new TraceRowStore(WINDOW);
    expect([...store.sortedBatches(10)]).toEqual([]);
    expect(store.rows()).toEqual([]);
    expect(() => [...store.sortedBatches(0)]).toThrow(/batch size 0/);
  });

  it('keeps rows across many chunks, past the dictionary limit, and a row larger than a chunk', () => {
    // Prepare: 20,000 rows (several 1 MiB chunks), 20,000 distinct URLs (past the dictionary's
    // 16,384 entries), and one 1.5 M-character URL in the middle.
    const store = new TraceRowStore(WINDOW);
    const rows: TraceRow[] = [];
    for (let i = 0; i < 20_000; i++) {
      const huge = i === 10_000;
      rows.push(
        row({
          trace_id: `1-69689e80-${(i * 7919).toString(16).padStart(24, '0')}`,
          start_time: WINDOW + ((i * 37) % 1000),
          http_url: huge ? `https://example.com/${'x'.repeat(1_500_000)}` : `https://example.com/orders/${i}`,
          annotations: i % 3 ? record([['order', `o-${i % 5_000}`]]) : null,
        }),
      );
    }
    for (const r of rows) store.add(r);
    // Act + Assess
    expect(store.length).toBe(rows.length);
    expect(store.rows()).toEqual(rows);
    expect([...store.sortedBatches(16_384)].flat()).toEqual(tableOrder(rows));
  });
});
