/**
 * DDSketch (Masson, Rim, Lee, VLDB 2019): a mergeable quantile sketch with a relative-error
 * guarantee, for non-negative values such as durations.
 *
 * Invariants:
 * - a value v ≥ {@link ZERO_THRESHOLD} goes to bin i = ceil(log_γ v), γ = (1+α)/(1−α); the bin covers
 *   (γ^(i−1), γ^i] and its representative value 2γ^i/(γ+1) is within α of every value in it;
 * - values below the threshold (0 included) go to a zero bucket whose representative value is 0;
 * - count, sum, min and max are kept exactly next to the bins while values are added, but they are
 *   not part of the serialized form: a decoded sketch derives them from its bins (min and max are
 *   then bin representatives, sum is Σ representative × count).
 *
 * Quantile convention: nearest rank (the inverse of the empirical distribution function), i.e. the
 * value of 0-based rank ⌈q·n⌉−1 in sorted order — the definition SQL's `percentile_disc` and
 * DuckDB's `quantile_disc` use, so the lake's percentiles can be checked against them — answered as
 * the representative of the bin holding that rank and clamped to [min, max] (q = 0 and q = 1
 * answer min and max themselves).
 */
import { ValidationError } from '../errors.js';
import {
  ProtoReader,
  ProtoWriter,
  unzigzag,
  varintSize,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
  zigzag32,
} from './protobuf.js';

/** The default relative accuracy α: 1 %. */
export const DEFAULT_RELATIVE_ACCURACY = 0.01;

/**
 * Values below this go to the zero bucket. For durations in milliseconds it is one picosecond, far
 * below any clock's resolution; it keeps the bin range of a sketch small.
 */
export const ZERO_THRESHOLD = 1e-9;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
/** The most bins one dense store may span (32 MiB of counts); ~40 000 cover 1e-9..1e300 at α = 1 %. */
const MAX_SPAN = 1 << 22;
const INITIAL_CAPACITY = 128;

function gammaFor(relativeAccuracy: number): number {
  return (1 + relativeAccuracy) / (1 - relativeAccuracy);
}

/** The α of a decoded γ, preferring a short decimal (0.01) when it maps back to exactly the same γ. */
function accuracyFor(gamma: number): number {
  const exact = (gamma - 1) / (gamma + 1);
  const short = Number(exact.toPrecision(12));
  return gammaFor(short) === gamma ? short : exact;
}

/**
 * A mergeable quantile sketch over non-negative numbers with relative accuracy α (default 1 %).
 *
 * @example
 * const sketch = new DDSketch();
 * for (const ms of [12, 15, 18, 250]) sketch.add(ms);
 * sketch.quantile(0.5); // ≈ 15 (within 1 %)
 * const copy = DDSketch.decode(sketch.encode()); // same bins and count
 */
export class DDSketch {
  private accuracy: number;
  private gammaValue: number;
  private multiplier: number;
  /** Counts of bins `offset .. offset + counts.length - 1`; grows on demand. */
  private counts: Float64Array = new Float64Array(0);
  private offset = 0;
  /** Lowest and highest non-empty bin index; lo > hi while no bin is used. */
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;
  private zeroCount = 0;
  private n = 0;
  private total = 0;
  private minValue = Number.POSITIVE_INFINITY;
  private maxValue = Number.NEGATIVE_INFINITY;

  /**
   * @param options.relativeAccuracy α in (0, 1); default 0.01.
   * @throws RangeError when α is not in (0, 1) or is so small that γ rounds to 1.
   */
  constructor(options?: { relativeAccuracy?: number }) {
    const accuracy = options?.relativeAccuracy ?? DEFAULT_RELATIVE_ACCURACY;
    if (!(accuracy > 0 && accuracy < 1)) {
      throw new RangeError(`DDSketch relativeAccuracy must be in (0, 1), got ${accuracy}`);
    }
    const gamma = gammaFor(accuracy);
    if (!(gamma > 1)) throw new RangeError(`DDSketch relativeAccuracy ${accuracy} is too small`);
    this.accuracy = accuracy;
    this.gammaValue = gamma;
    this.multiplier = 1 / Math.log(gamma);
  }

  /** α: every quantile is within this relative error of the exact one. */
  get relativeAccuracy(): number {
    return this.accuracy;
  }

  /** γ = (1+α)/(1−α), the ratio between consecutive bin bounds. */
  get gamma(): number {
    return this.gammaValue;
  }

  get count(): number {
    return this.n;
  }

  get sum(): number {
    return this.total;
  }

  /** NaN when empty. */
  get min(): number {
    return this.n === 0 ? Number.NaN : this.minValue;
  }

  /** NaN when empty. */
  get max(): number {
    return this.n === 0 ? Number.NaN : this.maxValue;
  }

  get isEmpty(): boolean {
    return this.n === 0;
  }

  /**
   * Adds `value` `count` times.
   *
   * @throws RangeError when `value` is negative, NaN or infinite, or `count` is negative, NaN or infinite.
   * @example sketch.add(12.5); sketch.add(3, 10);
   */
  add(value: number, count = 1): void {
    if (!(value >= 0 && value < Number.POSITIVE_INFINITY)) {
      throw new RangeError(`DDSketch accepts finite values >= 0, got ${value}`);
    }
    if (!(count > 0 && count < Number.POSITIVE_INFINITY)) {
      if (count === 0) return;
      throw new RangeError(`DDSketch count must be a finite number >= 0, got ${count}`);
    }
    if (value < ZERO_THRESHOLD) {
      value = 0; // also turns -0 into 0
      this.zeroCount += count;
    } else {
      const index = Math.ceil(Math.log(value) * this.multiplier);
      this.addToBin(index, count);
    }
    this.n += count;
    this.total += value * count;
    if (value < this.minValue) this.minValue = value;
    if (value > this.maxValue) this.maxValue = value;
  }

  private addToBin(index: number, count: number): void {
    let slot = index - this.offset;
    if (slot < 0 || slot >= this.counts.length) {
      this.grow(index);
      slot = index - this.offset;
    }
    this.counts[slot]! += count;
    if (index < this.lo) this.lo = index;
    if (index > this.hi) this.hi = index;
  }

  private grow(index: number): void {
    if (index < INT32_MIN || index > INT32_MAX) {
      throw new RangeError(`DDSketch bin index ${index} is out of the 32-bit range`);
    }
    if (this.counts.length === 0) {
      this.counts = new Float64Array(INITIAL_CAPACITY);
      this.offset = index - INITIAL_CAPACITY / 2;
      return;
    }
    const oldLast = this.offset + this.counts.length - 1;
    const first = Math.min(this.offset, index);
    const last = Math.max(oldLast, index);
    const span = last - first + 1;
    if (span > MAX_SPAN) {
      throw new RangeError(`DDSketch would span ${span} bins (more than ${MAX_SPAN}); values range too wide`);
    }
    // Doubling keeps growth amortized; spare room goes on the side that grew.
    const capacity = Math.min(MAX_SPAN, Math.max(span + 16, this.counts.length * 2));
    const offset = index < this.offset ? last - capacity + 1 : first;
    const next = new Float64Array(capacity);
    next.set(this.counts, this.offset - offset);
    this.counts = next;
    this.offset = offset;
  }

  /** The representative value of bin `index`: within α of every value in the bin. */
  private valueOf(index: number): number {
    return (2 * this.gammaValue ** index) / (this.gammaValue + 1);
  }

  /**
   * Adds every value of `other` to this sketch. `other` is not changed.
   *
   * @throws RangeError when the two sketches have different accuracies.
   * @example a.merge(b); // a now summarizes a ∪ b
   */
  merge(other: DDSketch): void {
    if (other.gammaValue !== this.gammaValue) {
      throw new RangeError(
        `cannot merge DDSketches of different relative accuracy (${this.accuracy} and ${other.accuracy})`,
      );
    }
    if (other.n === 0) return;
    if (other !== this && other.lo <= other.hi) {
      // Growing once to the union range avoids repeated copies.
      if (other.lo < this.offset || other.lo >= this.offset + this.counts.length) this.grow(other.lo);
      if (other.hi < this.offset || other.hi >= this.offset + this.counts.length) this.grow(other.hi);
      for (let i = other.lo; i <= other.hi; i++) {
        const c = other.counts[i - other.offset]!;
        if (c > 0) this.addToBin(i, c);
      }
    } else if (other === this) {
      for (let i = this.lo; i <= this.hi; i++) this.counts[i - this.offset]! *= 2;
    }
    this.zeroCount += other === this ? this.zeroCount : other.zeroCount;
    this.total += other.total;
    this.n += other.n;
    if (other.minValue < this.minValue) this.minValue = other.minValue;
    if (other.maxValue > this.maxValue) this.maxValue = other.maxValue;
  }

  /**
   * The nearest-rank q-quantile: the value of 0-based rank ⌈q·n⌉−1, within α relative error, clamped to
   * [min, max]. q = 0 gives min and q = 1 gives max: exact while values were added, bin
   * representatives after decoding.
   *
   * @returns NaN when the sketch is empty.
   * @throws RangeError when q is not in [0, 1].
   * @example sketch.quantile(0.99)
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
    if (this.n === 0) return Number.NaN;
    if (q === 0) return this.minValue;
    if (q === 1) return this.maxValue;
    // The tiny epsilon keeps q·n that should be whole (0.07 × 100) from rounding up a rank.
    const rank = Math.max(0, Math.ceil(q * this.n - 1e-9) - 1);
    let value = this.valueOf(this.hi);
    let cumulative = this.zeroCount;
    if (cumulative > rank) {
      value = 0;
    } else {
      for (let i = this.lo; i <= this.hi; i++) {
        cumulative += this.counts[i - this.offset]!;
        if (cumulative > rank) {
          value = this.valueOf(i);
          break;
        }
      }
    }
    return Math.min(this.maxValue, Math.max(this.minValue, value));
  }

  /**
   * The non-empty buckets in ascending order, the zero bucket (value 0) first: the distribution
   * form CloudWatch accepts as `Values`/`Counts`.
   *
   * @example for (const { value, count } of sketch.bins()) console.log(value, count);
   */
  *bins(): Generator<{ value: number; count: number }> {
    if (this.zeroCount > 0) yield { value: 0, count: this.zeroCount };
    for (let i = this.lo; i <= this.hi; i++) {
      const count = this.counts[i - this.offset]!;
      if (count > 0) yield { value: this.valueOf(i), count };
    }
  }

  clone(): DDSketch {
    const copy = new DDSketch({ relativeAccuracy: this.accuracy });
    copy.gammaValue = this.gammaValue;
    copy.multiplier = this.multiplier;
    copy.counts = this.counts.slice();
    copy.offset = this.offset;
    copy.lo = this.lo;
    copy.hi = this.hi;
    copy.zeroCount = this.zeroCount;
    copy.n = this.n;
    copy.total = this.total;
    copy.minValue = this.minValue;
    copy.maxValue = this.maxValue;
    return copy;
  }

  /**
   * Serializes to the DataDog sketches-proto `DDSketch` message: logarithmic mapping (γ, index
   * offset 0, interpolation NONE), positive store in whichever of the contiguous or sparse forms is
   * smaller, no negative store, zero count. Equal content gives equal bytes.
   *
   * @example const bytes = sketch.encode(); DDSketch.decode(bytes).count === sketch.count
   */
  encode(): Uint8Array {
    const mapping = new ProtoWriter().tag(1, WIRE_FIXED64).double(this.gammaValue).finish();
    const out = new ProtoWriter().tag(1, WIRE_LEN).bytes(mapping);
    if (this.lo <= this.hi) out.tag(2, WIRE_LEN).bytes(this.encodeStore());
    if (this.zeroCount > 0) out.tag(4, WIRE_FIXED64).double(this.zeroCount);
    return out.finish();
  }

  private encodeStore(): Uint8Array {
    const span = this.hi - this.lo + 1;
    const contiguousSize =
      1 + varintSize(span * 8) + span * 8 + (this.lo === 0 ? 0 : 1 + varintSize(zigzag32(this.lo)));
    let sparseSize = 0;
    for (let i = this.lo; i <= this.hi; i++) {
      if (this.counts[i - this.offset]! > 0) sparseSize += 1 + 1 + 1 + varintSize(zigzag32(i)) + 1 + 8;
    }
    const store = new ProtoWriter();
    if (contiguousSize <= sparseSize) {
      const packed = new ProtoWriter();
      for (let i = this.lo; i <= this.hi; i++) packed.double(this.counts[i - this.offset]!);
      store.tag(2, WIRE_LEN).bytes(packed.finish());
      if (this.lo !== 0) store.tag(3, WIRE_VARINT).varint(zigzag32(this.lo));
    } else {
      for (let i = this.lo; i <= this.hi; i++) {
        const count = this.counts[i - this.offset]!;
        if (count === 0) continue;
        const entry = new ProtoWriter()
          .tag(1, WIRE_VARINT)
          .varint(zigzag32(i))
          .tag(2, WIRE_FIXED64)
          .double(count)
          .finish();
        store.tag(1, WIRE_LEN).bytes(entry);
      }
    }
    return store.finish();
  }

  /**
   * Reads a sketch written by {@link DDSketch.encode} or by another DDSketch implementation using the
   * sketches-proto layout with a logarithmic, non-interpolated mapping and no negative values.
   * Count, min, max and sum are derived from the bins (see the module comment).
   *
   * @throws ValidationError when the bytes are not such a sketch.
   * @example const sketch = DDSketch.decode(row.sketch);
   */
  static decode(bytes: Uint8Array): DDSketch {
    if (!(bytes instanceof Uint8Array)) throw new ValidationError('DDSketch: expected bytes');
    const reader = new ProtoReader(bytes, 'DDSketch');
    let gamma: number | undefined;
    let indexOffset = 0;
    let interpolation = 0;
    const positive = new StoreParts();
    const negative = new StoreParts();
    let zeroCount = 0;
    while (!reader.done) {
      const { field, wireType } = reader.tag();
      if (field === 1) {
        reader.expect(WIRE_LEN, wireType, 'mapping');
        const m = reader.sub('DDSketch.mapping');
        while (!m.done) {
          const t = m.tag();
          if (t.field === 1) {
            m.expect(WIRE_FIXED64, t.wireType, 'gamma');
            gamma = m.double();
          } else if (t.field === 2) {
            m.expect(WIRE_FIXED64, t.wireType, 'indexOffset');
            indexOffset = m.double();
          } else if (t.field === 3) {
            m.expect(WIRE_VARINT, t.wireType, 'interpolation');
            interpolation = m.varint();
          } else {
            m.skip(t.wireType);
          }
        }
      } else if (field === 2 || field === 3) {
        reader.expect(WIRE_LEN, wireType, field === 2 ? 'positiveValues' : 'negativeValues');
        (field === 2 ? positive : negative).read(
          reader.sub(field === 2 ? 'DDSketch.positiveValues' : 'DDSketch.negativeValues'),
        );
      } else if (field === 4) {
        reader.expect(WIRE_FIXED64, wireType, 'zeroCount');
        zeroCount = reader.double();
      } else {
        reader.skip(wireType);
      }
    }
    if (gamma === undefined) throw new ValidationError('DDSketch: no index mapping (gamma)');
    if (!(gamma > 1 && gamma < Number.POSITIVE_INFINITY)) {
      throw new ValidationError(`DDSketch: gamma must be a finite number > 1, got ${gamma}`);
    }
    if (!Number.isInteger(indexOffset)) {
      throw new ValidationError(`DDSketch: only whole index offsets are supported, got ${indexOffset}`);
    }
    if (interpolation !== 0) {
      throw new ValidationError(
        `DDSketch: only the non-interpolated mapping is supported, got ${interpolation}`,
      );
    }
    if (!(zeroCount >= 0 && zeroCount < Number.POSITIVE_INFINITY)) {
      throw new ValidationError(`DDSketch: zeroCount must be a finite number >= 0, got ${zeroCount}`);
    }
    if (negative.total() > 0) throw new ValidationError('DDSketch: negative values are not supported');

    const sketch = new DDSketch({ relativeAccuracy: accuracyFor(gamma) });
    sketch.gammaValue = gamma;
    sketch.multiplier = 1 / Math.log(gamma);
    sketch.zeroCount = zeroCount;
    try {
      positive.forEach((storedIndex, count) => {
        const index = storedIndex - indexOffset;
        if (count > 0) sketch.addToBin(index, count);
      });
    } catch (error) {
      if (error instanceof RangeError)
        throw new ValidationError(`DDSketch: ${error.message}`, { cause: error });
      throw error;
    }
    sketch.rederive();
    return sketch;
  }

  /** Count, sum, min and max from the bins, for a decoded sketch. */
  private rederive(): void {
    let n = this.zeroCount;
    let total = 0;
    for (let i = this.lo; i <= this.hi; i++) {
      const count = this.counts[i - this.offset]!;
      n += count;
      total += count * this.valueOf(i);
    }
    this.n = n;
    this.total = total;
    if (n === 0) return;
    this.minValue = this.zeroCount > 0 ? 0 : this.valueOf(this.lo);
    this.maxValue = this.lo <= this.hi ? this.valueOf(this.hi) : 0;
  }
}

/** The contents of a serialized `Store`, merged as protobuf merges repeated occurrences. */
class StoreParts {
  private readonly sparse: { index: number; count: number }[] = [];
  private contiguous: number[] = [];
  private contiguousOffset = 0;

  read(reader: ProtoReader): void {
    while (!reader.done) {
      const { field, wireType } = reader.tag();
      if (field === 1) {
        reader.expect(WIRE_LEN, wireType, 'binCounts');
        const entry = reader.sub('DDSketch store binCounts entry');
        let index = 0;
        let count = 0;
        while (!entry.done) {
          const t = entry.tag();
          if (t.field === 1) {
            entry.expect(WIRE_VARINT, t.wireType, 'key');
            const raw = entry.varint();
            if (raw > 0xffffffff) entry.fail('bin index does not fit in sint32');
            index = unzigzag(raw);
          } else if (t.field === 2) {
            entry.expect(WIRE_FIXED64, t.wireType, 'value');
            count = checkCount(entry, entry.double());
          } else {
            entry.skip(t.wireType);
          }
        }
        this.sparse.push({ index, count });
      } else if (field === 2) {
        if (wireType === WIRE_LEN) {
          const packed = reader.sub('DDSketch store contiguousBinCounts');
          if ((packed.end - packed.pos) % 8 !== 0)
            packed.fail('packed doubles length is not a multiple of 8');
          while (!packed.done) this.contiguous.push(checkCount(packed, packed.double()));
        } else {
          reader.expect(WIRE_FIXED64, wireType, 'contiguousBinCounts');
          this.contiguous.push(checkCount(reader, reader.double()));
        }
      } else if (field === 3) {
        reader.expect(WIRE_VARINT, wireType, 'contiguousBinIndexOffset');
        const raw = reader.varint();
        if (raw > 0xffffffff) reader.fail('contiguousBinIndexOffset does not fit in sint32');
        this.contiguousOffset = unzigzag(raw);
      } else {
        reader.skip(wireType);
      }
    }
  }

  forEach(visit: (index: number, count: number) => void): void {
    for (const { index, count } of this.sparse) visit(index, count);
    for (let k = 0; k < this.contiguous.length; k++) visit(this.contiguousOffset + k, this.contiguous[k]!);
  }

  total(): number {
    let sum = 0;
    this.forEach((_, count) => {
      sum += count;
    });
    return sum;
  }
}

function checkCount(reader: ProtoReader, count: number): number {
  if (!(count >= 0 && count < Number.POSITIVE_INFINITY))
    reader.fail(`bin count must be finite and >= 0, got ${count}`);
  return count;
}
