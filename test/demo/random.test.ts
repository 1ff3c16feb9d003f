import { describe, expect, it } from 'vitest';
import { Random } from '../../lib/demo/random.js';

describe('Random', () => {
  it('repeats its sequence for a seed and differs for another', () => {
    const draw = (seed: number) => {
      const rng = new Random(seed);
      return Array.from({ length: 50 }, () => rng.nextUint32());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(43)).not.toEqual(draw(42));
  });

  it('draws uniform floats in [0, 1) with the right mean and no empty decile', () => {
    const rng = new Random(7);
    const deciles = new Array<number>(10).fill(0);
    let sum = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const x = rng.next();
      expect(x >= 0 && x < 1).toBe(true);
      deciles[Math.floor(x * 10)]! += 1;
      sum += x;
    }
    expect(sum / n).toBeCloseTo(0.5, 2);
    for (const count of deciles) expect(Math.abs(count - n / 10)).toBeLessThan(n / 100);
  });

  it('draws log-normal values whose median and 99th percentile match the profile', () => {
    const rng = new Random(1);
    const values = Array.from({ length: 200_000 }, () => rng.logNormal(120, 900)).sort((a, b) => a - b);
    const p50 = values[values.length / 2]!;
    const p99 = values[Math.floor(values.length * 0.99)]!;
    expect(p50 / 120).toBeGreaterThan(0.98);
    expect(p50 / 120).toBeLessThan(1.02);
    expect(p99 / 900).toBeGreaterThan(0.95);
    expect(p99 / 900).toBeLessThan(1.05);
  });

  it('makes X-Ray ids and request ids of the right form', () => {
    const rng = new Random(3);
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const id = rng.id();
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(10_000);
    expect(rng.hex(12)).toMatch(/^[0-9a-f]{24}$/);
    expect(rng.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('keeps int() inside its inclusive bounds and reaches both ends', () => {
    const rng = new Random(5);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const v = rng.int(3, 6);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(6);
      seen.add(v);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
  });
});
