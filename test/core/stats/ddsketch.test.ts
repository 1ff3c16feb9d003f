import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../lib/core/errors.js';
import { DDSketch, ZERO_THRESHOLD } from '../../../lib/core/stats/ddsketch.js';
import {
  ProtoWriter,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
  zigzag32,
} from '../../../lib/core/stats/protobuf.js';
import { DATASETS, exactQuantile } from './datasets.js';

const ALPHA = 0.01;
// Bin boundaries are computed with floating-point logs, so a value on a boundary may land one bin
// over; the error then exceeds α by a few ulps, not more.
const TOLERANCE = ALPHA * (1 + 1e-9);
const QUANTILES = [0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];
const SIZES = [10, 100, 10_000, 100_000];

function sketchOf(values: readonly number[], relativeAccuracy = ALPHA): DDSketch {
  const sketch = new DDSketch({ relativeAccuracy });
  for (const v of values) sketch.add(v);
  return sketch;
}

function relativeError(estimate: number, exact: number): number {
  if (exact === 0) return estimate === 0 ? 0 : Number.POSITIVE_INFINITY;
  return Math.abs(estimate - exact) / exact;
}

const binsOf = (s: DDSketch) => [...s.bins()];
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('DDSketch accuracy against exact nearest-rank quantiles', () => {
  for (const dataset of DATASETS) {
    for (const n of SIZES) {
      it(`${dataset.name}, n=${n}: every quantile within 1 %`, () => {
        const values = dataset.generate(n, 1000 + n);
        const sketch = sketchOf(values);
        const sorted = [...values].sort((a, b) => a - b);

        const errors = QUANTILES.map((q) => ({
          q,
          error: relativeError(sketch.quantile(q), exactQuantile(sorted, q)),
        }));

        for (const { q, error } of errors) expect(error, `q=${q}`).toBeLessThanOrEqual(TOLERANCE);
        expect(sketch.count).toBe(n);
        expect(sketch.min).toBe(sorted[0]);
        expect(sketch.max).toBe(sorted[n - 1]);
      });
    }
  }

  it('honours a coarser relative accuracy (5 %)', () => {
    const values = DATASETS[2]!.generate(10_000, 7);
    const sketch = sketchOf(values, 0.05);
    const sorted = [...values].sort((a, b) => a - b);

    for (const q of QUANTILES) {
      expect(relativeError(sketch.quantile(q), exactQuantile(sorted, q))).toBeLessThanOrEqual(
        0.05 * (1 + 1e-9),
      );
    }
  });

  it('uses the nearest rank ceil(q·n)−1 on a small known set, as SQL percentile_disc does', () => {
    const sketch = sketchOf([10, 20, 30, 40]);

    // ranks: q=0.5 -> ceil(2)-1=1 -> 20; q=0.7 -> ceil(2.8)-1=2 -> 30; q=0.99 -> ceil(3.96)-1=3 -> 40
    expect(relativeError(sketch.quantile(0.5), 20)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeError(sketch.quantile(0.7), 30)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeError(sketch.quantile(0.99), 30 + 10)).toBeLessThanOrEqual(TOLERANCE);
    // 0.07 × 100 is 7.000000000000001 in floating point: still rank 6, not 7.
    const hundred = sketchOf(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(relativeError(hundred.quantile(0.07), 7)).toBeLessThanOrEqual(TOLERANCE);
    expect(sketch.quantile(0)).toBe(10);
    expect(sketch.quantile(1)).toBe(40);
  });

  it('keeps the bin count small for durations from 1 µs to 1 h', () => {
    const sketch = sketchOf(DATASETS[6]!.generate(100_000, 3));

    // ln(3.6e9) / ln(1.01/0.99) ≈ 1101 bins cover 1 µs..1 h at 1 %.
    expect(binsOf(sketch).length).toBeLessThanOrEqual(1102);
    expect(sketch.encode().length).toBeLessThan(1102 * 8 + 64);
  });
});

describe('DDSketch basics', () => {
  it('is empty at first: NaN quantiles, min and max', () => {
    const sketch = new DDSketch();

    expect(sketch.isEmpty).toBe(true);
    expect(sketch.count).toBe(0);
    expect(sketch.sum).toBe(0);
    expect(sketch.quantile(0.5)).toBeNaN();
    expect(sketch.min).toBeNaN();
    expect(sketch.max).toBeNaN();
    expect(binsOf(sketch)).toEqual([]);
    expect(sketch.relativeAccuracy).toBe(0.01);
  });

  it('keeps exact count, sum, min and max', () => {
    const sketch = sketchOf([5, 1.5, 300, 0]);
    sketch.add(7, 3);

    expect(sketch.count).toBe(7);
    expect(sketch.sum).toBe(5 + 1.5 + 300 + 0 + 21);
    expect(sketch.min).toBe(0);
    expect(sketch.max).toBe(300);
    expect(sketch.isEmpty).toBe(false);
  });

  it('puts 0 and values below the zero threshold in the zero bucket, listed first', () => {
    const sketch = sketchOf([0, ZERO_THRESHOLD / 2, 1e-12, 3]);

    const bins = binsOf(sketch);
    expect(bins[0]).toEqual({ value: 0, count: 3 });
    expect(bins).toHaveLength(2);
    expect(sketch.quantile(0.5)).toBe(0);
    expect(relativeError(sketch.quantile(1), 3)).toBe(0);
  });

  it('lists bins in ascending order with counts summing to the count', () => {
    const sketch = sketchOf(DATASETS[3]!.generate(5000, 11));

    const bins = binsOf(sketch);
    for (let i = 1; i < bins.length; i++) expect(bins[i]!.value).toBeGreaterThan(bins[i - 1]!.value);
    expect(bins.reduce((s, b) => s + b.count, 0)).toBe(5000);
  });

  it('returns each bin representative within α of the values in it', () => {
    const values = [0.003, 1, 2.5, 99.9, 1234.5, 3_600_000];
    for (const v of values) {
      const [bin] = binsOf(sketchOf([v]));
      expect(relativeError(bin!.value, v)).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it.each([-1, -1e-300, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects the value %s with a RangeError',
    (v) => {
      expect(() => new DDSketch().add(v)).toThrow(RangeError);
    },
  );

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects the count %s with a RangeError', (c) => {
    expect(() => new DDSketch().add(1, c)).toThrow(RangeError);
  });

  it('ignores a count of 0', () => {
    const sketch = new DDSketch();
    sketch.add(5, 0);
    expect(sketch.isEmpty).toBe(true);
  });

  it.each([0, 1, -0.1, Number.NaN])('rejects the relative accuracy %s', (alpha) => {
    expect(() => new DDSketch({ relativeAccuracy: alpha })).toThrow(RangeError);
  });

  it.each([-0.01, 1.01, Number.NaN])('rejects the quantile %s', (q) => {
    expect(() => sketchOf([1]).quantile(q)).toThrow(RangeError);
  });

  it('refuses to merge sketches of different accuracy', () => {
    expect(() => sketchOf([1]).merge(sketchOf([1], 0.02))).toThrow(/different relative accuracy/);
  });

  it('merges with itself by doubling every count', () => {
    const sketch = sketchOf([0, 1, 2, 2, 50]);
    const before = binsOf(sketch);

    sketch.merge(sketch);

    expect(binsOf(sketch)).toEqual(before.map((b) => ({ value: b.value, count: b.count * 2 })));
    expect(sketch.count).toBe(10);
  });

  it('clones into an independent sketch', () => {
    const original = sketchOf([1, 2, 3]);
    const copy = original.clone();
    copy.add(1000);

    expect(original.count).toBe(3);
    expect(original.max).toBe(3);
    expect(copy.count).toBe(4);
    expect(hex(copy.encode())).not.toBe(hex(original.encode()));
    expect(hex(original.clone().encode())).toBe(hex(original.encode()));
  });

  it('grows its store both ways when values arrive from the middle outwards', () => {
    const values = [50, 0.01, 1e6, 0.001, 1e7, 3];
    const sketch = sketchOf(values);
    const sorted = [...values].sort((a, b) => a - b);

    for (const q of QUANTILES) {
      expect(relativeError(sketch.quantile(q), exactQuantile(sorted, q))).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});

describe('DDSketch encoding (sketches-proto layout)', () => {
  it('writes the exact protobuf bytes for a single value of 1 (bin 0, contiguous store)', () => {
    const sketch = sketchOf([1]);
    const gamma = new Uint8Array(new Float64Array([1.01 / 0.99]).buffer);
    const one = new Uint8Array(new Float64Array([1]).buffer);

    // DDSketch.mapping(1, LEN 9){ gamma(1, fixed64) } positiveValues(2, LEN 10){ contiguousBinCounts(2, LEN 8) }
    const expected = [0x0a, 0x09, 0x09, ...gamma, 0x12, 0x0a, 0x12, 0x08, ...one];
    expect([...sketch.encode()]).toEqual(expected);
  });

  it('writes a zeroCount field for the zero bucket', () => {
    const bytes = sketchOf([0, 0]).encode();
    const two = new Uint8Array(new Float64Array([2]).buffer);

    expect([...bytes.slice(11)]).toEqual([0x21, ...two]);
  });

  it('uses the sparse map form when bins are far apart, and reads it back', () => {
    const sketch = sketchOf([1e-6, 1e6]);

    const bytes = sketch.encode();

    // Two map entries instead of ~1400 packed doubles.
    expect(bytes.length).toBeLessThan(60);
    const decoded = DDSketch.decode(bytes);
    expect(binsOf(decoded)).toEqual(binsOf(sketch));
  });

  it('round-trips: same bins, count and bytes; relative accuracy reads back as 0.01', () => {
    const sketch = sketchOf(DATASETS[2]!.generate(10_000, 5));

    const decoded = DDSketch.decode(sketch.encode());

    expect(binsOf(decoded)).toEqual(binsOf(sketch));
    expect(decoded.count).toBe(sketch.count);
    expect(decoded.relativeAccuracy).toBe(0.01);
    expect(decoded.gamma).toBe(sketch.gamma);
    expect(hex(decoded.encode())).toBe(hex(sketch.encode()));
  });

  it('derives min and max from the bins after decoding, so quantiles stay within α', () => {
    const values = DATASETS[1]!.generate(1000, 9);
    const sorted = [...values].sort((a, b) => a - b);

    const decoded = DDSketch.decode(sketchOf(values).encode());

    expect(relativeError(decoded.min, sorted[0]!)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeError(decoded.max, sorted[999]!)).toBeLessThanOrEqual(TOLERANCE);
    for (const q of QUANTILES) {
      expect(relativeError(decoded.quantile(q), exactQuantile(sorted, q))).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('merges a decoded sketch with a fresh one', () => {
    const a = DDSketch.decode(sketchOf([1, 2, 3]).encode());
    a.merge(sketchOf([4, 5]));

    expect(a.count).toBe(5);
    expect(binsOf(a)).toEqual(binsOf(sketchOf([1, 2, 3, 4, 5])));
  });

  it('writes the same bytes whatever the insertion order', () => {
    const values = DATASETS[0]!.generate(2000, 4);
    const reversed = [...values].reverse();

    expect(hex(sketchOf(reversed).encode())).toBe(hex(sketchOf(values).encode()));
  });

  it('reads a store written by another producer: index offset, mixed sparse and contiguous bins', () => {
    const gamma = 1.01 / 0.99;
    const mapping = new ProtoWriter()
      .tag(1, WIRE_FIXED64)
      .double(gamma)
      .tag(2, WIRE_FIXED64)
      .double(10)
      .tag(3, WIRE_VARINT)
      .varint(0)
      .finish();
    const packed = new ProtoWriter().double(2).double(0).double(1).finish();
    const entry = new ProtoWriter()
      .tag(1, WIRE_VARINT)
      .varint(zigzag32(10))
      .tag(2, WIRE_FIXED64)
      .double(4)
      .finish();
    const store = new ProtoWriter()
      .tag(1, WIRE_LEN)
      .bytes(entry)
      .tag(2, WIRE_LEN)
      .bytes(packed)
      .tag(3, WIRE_VARINT)
      .varint(zigzag32(10 + 35))
      .finish();
    const bytes = new ProtoWriter()
      .tag(1, WIRE_LEN)
      .bytes(mapping)
      .tag(2, WIRE_LEN)
      .bytes(store)
      .tag(99, WIRE_VARINT) // an unknown field is skipped, as protobuf requires
      .varint(7)
      .tag(4, WIRE_FIXED64)
      .double(1)
      .finish();

    const decoded = DDSketch.decode(bytes);

    // Stored indexes minus the offset 10: bin 0 holds 4, bin 35 holds 2, bin 37 holds 1.
    const expected = new DDSketch();
    expected.add(0, 1);
    expected.add(1, 4);
    expected.add(2, 2); // ceil(log_γ 2) = 35
    expected.add(2.08, 1); // ceil(log_γ 2.08) = 37
    expect(binsOf(decoded)).toEqual(binsOf(expected));
    expect(decoded.count).toBe(8);
  });

  describe('rejects bytes that are not a sketch with a ValidationError', () => {
    const valid = sketchOf([1, 2, 3, 400]).encode();
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty input', new Uint8Array(0), /no index mapping/],
      ['text', new TextEncoder().encode('hello world'), /wire type/],
      ['a truncated sketch', valid.slice(0, valid.length - 3), /truncated|past the end/],
      ['a varint that never ends', new Uint8Array(12).fill(0xff), /varint/],
      [
        'gamma <= 1',
        new ProtoWriter()
          .tag(1, WIRE_LEN)
          .bytes(new ProtoWriter().tag(1, WIRE_FIXED64).double(0.5).finish())
          .finish(),
        /gamma/,
      ],
      [
        'an interpolated mapping',
        new ProtoWriter()
          .tag(1, WIRE_LEN)
          .bytes(new ProtoWriter().tag(1, WIRE_FIXED64).double(1.02).tag(3, WIRE_VARINT).varint(1).finish())
          .finish(),
        /interpolated/,
      ],
      [
        'negative values',
        new ProtoWriter()
          .tag(1, WIRE_LEN)
          .bytes(new ProtoWriter().tag(1, WIRE_FIXED64).double(1.02).finish())
          .tag(3, WIRE_LEN)
          .bytes(new ProtoWriter().tag(2, WIRE_LEN).bytes(new ProtoWriter().double(1).finish()).finish())
          .finish(),
        /negative values/,
      ],
      [
        'a negative bin count',
        new ProtoWriter()
          .tag(1, WIRE_LEN)
          .bytes(new ProtoWriter().tag(1, WIRE_FIXED64).double(1.02).finish())
          .tag(2, WIRE_LEN)
          .bytes(new ProtoWriter().tag(2, WIRE_LEN).bytes(new ProtoWriter().double(-3).finish()).finish())
          .finish(),
        /bin count/,
      ],
      [
        'bins spread over the whole 32-bit index range',
        new ProtoWriter()
          .tag(1, WIRE_LEN)
          .bytes(new ProtoWriter().tag(1, WIRE_FIXED64).double(1.02).finish())
          .tag(2, WIRE_LEN)
          .bytes(
            new ProtoWriter()
              .tag(1, WIRE_LEN)
              .bytes(
                new ProtoWriter()
                  .tag(1, WIRE_VARINT)
                  .varint(zigzag32(-(2 ** 31)))
                  .tag(2, WIRE_FIXED64)
                  .double(1)
                  .finish(),
              )
              .tag(1, WIRE_LEN)
              .bytes(
                new ProtoWriter()
                  .tag(1, WIRE_VARINT)
                  .varint(zigzag32(2 ** 31 - 1))
                  .tag(2, WIRE_FIXED64)
                  .double(1)
                  .finish(),
              )
              .finish(),
          )
          .finish(),
        /span/,
      ],
    ];
    it.each(cases)('%s', (_, bytes, message) => {
      expect(() => DDSketch.decode(bytes)).toThrow(ValidationError);
      expect(() => DDSketch.decode(bytes)).toThrow(message);
    });

    it('random bytes either decode or throw a ValidationError, never anything else', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
          try {
            const sketch = DDSketch.decode(bytes);
            expect(sketch.count).toBeGreaterThanOrEqual(0);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
          }
        }),
        { numRuns: 2000 },
      );
    });
  });
});

describe('DDSketch properties', () => {
  const value = fc.oneof(
    fc.constant(0),
    fc.double({ min: 1e-12, max: 1e-6, noNaN: true }),
    fc.double({ min: 0, max: 10_000, noNaN: true }),
    fc.double({ min: 0, max: 1e9, noNaN: true }),
  );
  const values = fc.array(value, { maxLength: 200 });

  it('merge(a, b) has the same bins, count and quantiles as one sketch over a ∪ b', () => {
    fc.assert(
      fc.property(values, values, (a, b) => {
        const merged = sketchOf(a);
        merged.merge(sketchOf(b));
        const whole = sketchOf([...a, ...b]);

        expect(binsOf(merged)).toEqual(binsOf(whole));
        expect(merged.count).toBe(whole.count);
        expect(merged.min).toBe(whole.min);
        expect(merged.max).toBe(whole.max);
        for (const q of QUANTILES) expect(merged.quantile(q)).toBe(whole.quantile(q));
        expect(hex(merged.encode())).toBe(hex(whole.encode()));
      }),
    );
  });

  it('merge is commutative', () => {
    fc.assert(
      fc.property(values, values, (a, b) => {
        const ab = sketchOf(a);
        ab.merge(sketchOf(b));
        const ba = sketchOf(b);
        ba.merge(sketchOf(a));

        expect(hex(ab.encode())).toBe(hex(ba.encode()));
        for (const q of QUANTILES) expect(ab.quantile(q)).toBe(ba.quantile(q));
      }),
    );
  });

  it('merge is associative', () => {
    fc.assert(
      fc.property(values, values, values, (a, b, c) => {
        const left = sketchOf(a);
        left.merge(sketchOf(b));
        left.merge(sketchOf(c));
        const bc = sketchOf(b);
        bc.merge(sketchOf(c));
        const right = sketchOf(a);
        right.merge(bc);

        expect(hex(left.encode())).toBe(hex(right.encode()));
        for (const q of QUANTILES) expect(left.quantile(q)).toBe(right.quantile(q));
      }),
    );
  });

  it('encode/decode is the identity on bins and count', () => {
    fc.assert(
      fc.property(values, (vs) => {
        const sketch = sketchOf(vs);

        const decoded = DDSketch.decode(sketch.encode());

        expect(binsOf(decoded)).toEqual(binsOf(sketch));
        expect(decoded.count).toBe(sketch.count);
        expect(hex(decoded.encode())).toBe(hex(sketch.encode()));
      }),
    );
  });

  it('quantile is monotone in q', () => {
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (vs, q1, q2) => {
          const sketch = sketchOf(vs);
          const [lo, hi] = q1 <= q2 ? [q1, q2] : [q2, q1];

          expect(sketch.quantile(lo)).toBeLessThanOrEqual(sketch.quantile(hi));
        },
      ),
    );
  });

  it('every quantile is within α of the exact nearest-rank quantile', () => {
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (vs, q) => {
          const sorted = [...vs].sort((x, y) => x - y);
          const exact = exactQuantile(sorted, q);
          const estimate = sketchOf(vs).quantile(q);

          // Values under the zero threshold are reported as 0 (or clamped to the minimum).
          if (exact < ZERO_THRESHOLD) expect(estimate).toBeLessThan(ZERO_THRESHOLD);
          else expect(relativeError(estimate, exact)).toBeLessThanOrEqual(TOLERANCE);
        },
      ),
    );
  });
});
