import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TraceIdSet } from '../../lib/pipeline/trace-id-set.js';

const hex = (n: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
/** Canonical X-Ray IDs, drawn from a small pool of parts so that repeats are common. */
const canonical = fc
  .tuple(fc.constantFrom('00000000', '69689e80', 'ffffffff'), hex(24))
  .map(([t, r]) => `1-${t}-${r}`);
/** Strings the set must hold as strings: other case, other shapes, near misses. */
const other = fc.oneof(
  canonical.map((id) => id.toUpperCase()),
  canonical.map((id) => `${id.slice(0, 34)}g`),
  canonical.map((id) => id.replace('-', '_')),
  fc.string({ maxLength: 40 }),
);
const ids = fc.array(fc.oneof({ weight: 4, arbitrary: canonical }, { weight: 1, arbitrary: other }), {
  maxLength: 400,
});

describe('TraceIdSet', () => {
  it('answers add, has and size exactly as a Set<string> does', () => {
    fc.assert(
      fc.property(ids, ids, (added, probed) => {
        // Prepare: a doubled list, so every ID is also added a second time.
        const set = new TraceIdSet();
        const model = new Set<string>();
        for (const id of [...added, ...added]) {
          // Act + Assess: add answers whether the ID is new.
          expect(set.add(id)).toBe(!model.has(id));
          model.add(id);
        }
        expect(set.size).toBe(model.size);
        for (const id of [...added, ...probed]) expect(set.has(id)).toBe(model.has(id));
      }),
    );
  });

  it('keeps every ID through many resizes, the all-zero ID included', () => {
    // Prepare: IDs that differ in one word only, and the all-zero ID, which has no empty marker.
    const set = new TraceIdSet();
    const zero = '1-00000000-000000000000000000000000';
    expect(set.has(zero)).toBe(false);
    expect(set.add(zero)).toBe(true);
    const n = 50_000;
    const made: string[] = [];
    let newAnswers = 0;
    for (let i = 0; i < n; i++) {
      const id = `1-00000000-${i.toString(16).padStart(24, '0')}`;
      made.push(id);
      if (set.add(id)) newAnswers++;
    }
    // Assess
    expect(newAnswers).toBe(n - 1);
    expect(set.size).toBe(n);
    expect(made.filter((id) => !set.has(id))).toEqual([]);
    expect(set.add(zero)).toBe(false);
    expect(set.has('1-00000000-00000000000000000000c350')).toBe(false);
  });

  it('tells case variants apart, as the string IDs were', () => {
    const set = new TraceIdSet(10);
    expect(set.add('1-69689e80-e746c7699c66cc3fca41ef26')).toBe(true);
    expect(set.add('1-69689E80-E746C7699C66CC3FCA41EF26')).toBe(true);
    expect(set.add('1-69689e80-e746c7699c66cc3fca41ef26')).toBe(false);
    expect(set.size).toBe(2);
  });
});
