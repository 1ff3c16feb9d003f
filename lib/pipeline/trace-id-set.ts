/**
 * The set of trace IDs a run has seen, so that a trace arriving twice is counted once. A run keeps
 * every ID until it ends; as strings in a `Set` that is ~80 bytes of V8 heap per trace (and a
 * string cut from a larger one keeps that one alive), and V8 sizes its heap as a multiple of what
 * is live. Here an X-Ray ID in its canonical form (`1-` + 8 + `-` + 24 lowercase hex digits) is
 * held as 16 bytes in a typed-array hash table, outside the V8 heap; any other ID is kept as a
 * string, so the set answers exactly as a `Set<string>` would (`1-ABC…` and `1-abc…` stay distinct).
 */

/** Nibble value of a lowercase hex digit's char code, -1 otherwise. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) NIBBLE[48 + c] = c;
for (let c = 0; c < 6; c++) NIBBLE[97 + c] = 10 + c;

const MIN_SLOTS = 1024;
/** Linear probing stays short below this load, with the mixed hash below. */
const MAX_LOAD = 0.7;
const WORDS = 4;

export class TraceIdSet {
  /** Four 32-bit words per slot: the 8 time digits, then the 24 random digits. */
  private keys: Uint32Array;
  private used: Uint8Array;
  private mask: number;
  private binaryCount = 0;
  private readonly others = new Set<string>();
  // The words of the ID being looked up, kept here so a lookup allocates nothing.
  private w0 = 0;
  private w1 = 0;
  private w2 = 0;
  private w3 = 0;

  constructor(expected = 0) {
    let slots = MIN_SLOTS;
    while (slots * MAX_LOAD < expected) slots *= 2;
    this.keys = new Uint32Array(slots * WORDS);
    this.used = new Uint8Array(slots);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.binaryCount + this.others.size;
  }

  has(id: string): boolean {
    if (!this.parse(id)) return this.others.has(id);
    return this.find() >= 0;
  }

  /** Adds `id`; true when it was not in the set before. */
  add(id: string): boolean {
    if (!this.parse(id)) {
      if (this.others.has(id)) return false;
      this.others.add(id);
      return true;
    }
    if (this.find() >= 0) return false;
    if (this.binaryCount + 1 > (this.mask + 1) * MAX_LOAD) this.grow();
    this.insert(this.w0, this.w1, this.w2, this.w3);
    this.binaryCount++;
    return true;
  }

  /** Reads a canonical ID into w0..w3; false for any other string. */
  private parse(id: string): boolean {
    if (id.length !== 35 || id.charCodeAt(0) !== 49 || id.charCodeAt(1) !== 45 || id.charCodeAt(10) !== 45) {
      return false;
    }
    const w0 = this.word(id, 2);
    const w1 = this.word(id, 11);
    const w2 = this.word(id, 19);
    const w3 = this.word(id, 27);
    if (w0 < 0 || w1 < 0 || w2 < 0 || w3 < 0) return false;
    this.w0 = w0;
    this.w1 = w1;
    this.w2 = w2;
    this.w3 = w3;
    return true;
  }

  /** Eight hex digits from `at` as an unsigned 32-bit number, -1 when one is not lowercase hex. */
  private word(id: string, at: number): number {
    let v = 0;
    for (let i = at; i < at + 8; i++) {
      const c = id.charCodeAt(i);
      const n = c < 128 ? NIBBLE[c]! : -1;
      if (n < 0) return -1;
      v = v * 16 + n;
    }
    return v;
  }

  /** Slot of the parsed ID, or -1. */
  private find(): number {
    const keys = this.keys;
    let slot = hash(this.w0, this.w1, this.w2, this.w3) & this.mask;
    while (this.used[slot]) {
      const k = slot * WORDS;
      if (
        keys[k] === this.w0 &&
        keys[k + 1] === this.w1 &&
        keys[k + 2] === this.w2 &&
        keys[k + 3] === this.w3
      ) {
        return slot;
      }
      slot = (slot + 1) & this.mask;
    }
    return -1;
  }

  private insert(w0: number, w1: number, w2: number, w3: number): void {
    let slot = hash(w0, w1, w2, w3) & this.mask;
    while (this.used[slot]) slot = (slot + 1) & this.mask;
    this.used[slot] = 1;
    const k = slot * WORDS;
    this.keys[k] = w0;
    this.keys[k + 1] = w1;
    this.keys[k + 2] = w2;
    this.keys[k + 3] = w3;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldUsed = this.used;
    const slots = oldUsed.length * 2;
    this.keys = new Uint32Array(slots * WORDS);
    this.used = new Uint8Array(slots);
    this.mask = slots - 1;
    for (let s = 0; s < oldUsed.length; s++) {
      if (!oldUsed[s]) continue;
      const k = s * WORDS;
      this.insert(oldKeys[k]!, oldKeys[k + 1]!, oldKeys[k + 2]!, oldKeys[k + 3]!);
    }
  }
}

/** Mixes all four words (IDs from other tools are not always random in any one part). */
function hash(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0, 0x9e3779b1) ^ Math.imul(w1, 0x85ebca6b) ^ Math.imul(w2, 0xc2b2ae35) ^ w3;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}
