/**
 * A small seeded random source for the demo traffic. Deterministic for a seed on every platform
 * (32-bit integer arithmetic only), so a demo, a benchmark and a test all see the same traces.
 */

const HEX = '0123456789abcdef';
/** Byte → two hex digits, built once: ids are made millions of times in a benchmark run. */
const BYTE_HEX: string[] = Array.from({ length: 256 }, (_, b) => HEX[b >> 4]! + HEX[b & 15]!);

/** z-score of the 99th percentile of the standard normal distribution. */
const Z99 = 2.3263478740408408;

/**
 * mulberry32: one 32-bit state word, full 2^32 period; plenty for a few million draws and far
 * faster than anything with a larger state in plain JavaScript.
 *
 * @example
 * const rng = new Random(42);
 * rng.next(); // a float in [0, 1), the same one for every run with seed 42
 */
export class Random {
  private state: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A float in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** true with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A standard normal draw (Marsaglia polar method; the second value is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const factor = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * factor;
    return u * factor;
  }

  /** An exponential draw with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /**
   * A log-normal draw given its median and 99th percentile, the two numbers people quote for a
   * dependency's latency.
   */
  logNormal(p50: number, p99: number): number {
    const sigma = Math.log(p99 / p50) / Z99;
    return p50 * Math.exp(sigma * this.normal());
  }

  /** `n` random bytes as lowercase hex (2n digits). */
  hex(bytes: number): string {
    let out = '';
    let word = 0;
    for (let i = 0; i < bytes; i++) {
      if ((i & 3) === 0) word = this.nextUint32();
      out += BYTE_HEX[word & 255]!;
      word >>>= 8;
    }
    return out;
  }

  /** An X-Ray segment/subsegment id: 16 lowercase hex digits. */
  id(): string {
    return this.hex(8);
  }

  /** A version 4 UUID, as AWS request ids look. */
  uuid(): string {
    const h = this.hex(16);
    const variant = HEX[8 + (this.nextUint32() & 3)]!;
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
