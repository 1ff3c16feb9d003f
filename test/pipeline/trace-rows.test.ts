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

  it('round-trips arbitrary rows', () => {
    const nullableNumber = fc.option(fc.double({ noNaN: true }), { nil: null });
    const nullableText = fc.option(fc.string(), { nil: null });
    const arbRow = fc.record({
      trace_id: fc.string(),
      start_time: fc.double({ noNaN: true }),
      duration_ms: fc.double({ noNaN: true }),
      response_time_ms: nullableNumber,
      root_service: fc.string(),
      http_method: nullableText,
      http_url: nullableText,
      http_status: fc.option(fc.integer(), { nil: null }),
      has_error: fc.boolean(),
      has_fault: fc.boolean(),
      has_throttle: fc.boolean(),
      annotations: fc.option(fc.array(fc.tuple(fc.string(), fc.string())).map(record), { nil: null }),
      span_count: fc.nat(),
      service_count: fc.nat(),
      is_partial: fc.boolean(),
      window_start: fc.constant(WINDOW),
    });
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
});
