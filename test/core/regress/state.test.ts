import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lib/core/errors.js';
import {
  decodeBaseline,
  detectWindows,
  encodeBaseline,
  type KeyBaseline,
  resolveRegressionConfig,
} from '../../../lib/core/regress/index.js';
import { upsertByStart } from '../../../lib/core/regress/state.js';
import { generator, lognormal, rowOf, T0, W } from './rows.js';

const config = resolveRegressionConfig();

function baselineAfter(windows: number): KeyBaseline {
  const random = generator(3);
  const states = new Map<string, KeyBaseline>();
  detectWindows(
    states,
    Array.from({ length: windows }, (_, i) => ({
      windowStart: T0 + i * W,
      windowMs: W,
      rows: [
        rowOf({
          key: 'api > S3 GetObject assets',
          start: T0 + i * W,
          samples: [0, ...lognormal(random, 200, 25)],
          exemplars: [`1-00000000-${String(i).padStart(24, '0')}`],
          versions: i < 10 ? ['b', 'a'] : i < 20 ? ['c'] : [],
        }),
      ],
    })),
    config,
  );
  return states.get('api > S3 GetObject assets')!;
}

const bins = (b: KeyBaseline) => b.ring.map((r) => [...r.sketch.bins()]);

describe('baseline state codec', () => {
  it('round-trips series, hours, exemplars and sketch bins exactly', () => {
    const original = baselineAfter(30);
    const decoded = decodeBaseline(encodeBaseline(original));
    expect(decoded.key).toBe(original.key);
    expect(decoded.windowMs).toBe(W);
    expect(decoded.series).toEqual(original.series);
    expect(decoded.hours).toEqual(original.hours);
    expect(decoded.ring.map((r) => [r.start, r.count, r.exemplars])).toEqual(
      original.ring.map((r) => [r.start, r.count, r.exemplars]),
    );
    expect(bins(decoded)).toEqual(bins(original));
    expect(decoded.ring[0]!.sketch.gamma).toBe(original.ring[0]!.sketch.gamma);
    expect(encodeBaseline(decoded)).toEqual(encodeBaseline(original));
    expect(decoded.series[0]!.versions).toEqual(['a', 'b']);
    expect(decoded.series.map((p) => p.versions.join())).toEqual(
      original.series.map((p) => p.versions.join()),
    );
    expect(new Set(decoded.series.map((p) => p.versions.join()))).toEqual(new Set(['a,b', 'c', '']));
  });

  it('rejects what it did not write, with a reason', () => {
    const good = JSON.parse(new TextDecoder().decode(encodeBaseline(baselineAfter(3))));
    const bad = (mutate: (v: Record<string, unknown>) => void) => {
      const copy = structuredClone(good);
      mutate(copy);
      return new TextEncoder().encode(JSON.stringify(copy));
    };
    expect(() => decodeBaseline(new TextEncoder().encode('{nope'))).toThrow(ValidationError);
    expect(() => decodeBaseline(bad((v) => (v.v = 99)))).toThrow(/format version/);
    expect(() => decodeBaseline(bad((v) => ((v.series as { n: number[] }).n = [1])))).toThrow(/series.n/);
    expect(() => decodeBaseline(bad((v) => ((v.series as { t: number[] }).t = [3, 2, 1])))).toThrow(
      /ascending/,
    );
    expect(() => decodeBaseline(bad((v) => ((v.ring as { s: { c: unknown } }[])[0]!.s.c = ['x'])))).toThrow(
      /ring\[0\]\.s\.c/,
    );
    expect(() => decodeBaseline(bad((v) => ((v.ring as { s: { c: number[] } }[])[0]!.s.c = [-5])))).toThrow(
      ValidationError,
    );
    expect(() => decodeBaseline(bad((v) => (v.windowMs = 'x')))).toThrow(/windowMs/);
    expect(() => decodeBaseline(bad((v) => ((v.series as { ver: unknown }).ver = [[1, ['x']]])))).toThrow(
      /series.ver/,
    );
  });
});

describe('upsertByStart', () => {
  it('keeps the list sorted and unique by start whatever the insertion order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 80 }), (starts) => {
        const list: { start: number; v: number }[] = [];
        starts.forEach((start, v) => {
          upsertByStart(list, { start, v });
        });
        const expected = [...new Set(starts)].sort((a, b) => a - b);
        expect(list.map((e) => e.start)).toEqual(expected);
        // The last write for a start wins.
        for (const e of list) expect(e.v).toBe(starts.lastIndexOf(e.start));
      }),
    );
  });
});
