/**
 * Deterministic randomness and hashing for the simulator. Everything random in a simulation
 * run comes from a Prng seeded by the run's seed, so a seed replays exactly.
 */

/** splitmix32 scrambles a 32-bit value; used to seed and to fork generators. */
export function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Prng is sfc32 (Chris Doty-Humphrey's small fast counting generator): four 32-bit words of
 * state, good statistical quality, and cheap in JavaScript because it only uses 32-bit ops.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  /** Prng seeds the generator from a 32-bit (or any safe integer) seed. */
  constructor(seed: number) {
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    this.a = splitmix32(lo);
    this.b = splitmix32(this.a ^ hi);
    this.c = splitmix32(this.b + 0x632be5ab);
    for (let i = 0; i < 12; i++) this.next();
  }

  /** next returns a uniformly random unsigned 32-bit integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** float returns a number in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** int returns an integer in [0, n); n must be a positive integer below 2^32. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** range returns an integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** chance returns true with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** perMille returns true with probability pm/1000. */
  perMille(pm: number): boolean {
    return pm > 0 && this.int(1000) < pm;
  }

  /** pick returns a uniformly chosen element of a non-empty array. */
  pick<T>(arr: readonly T[]): T {
    const v = arr[this.int(arr.length)];
    if (v === undefined) throw new RangeError('Prng.pick: empty array');
    return v;
  }

  /** fork returns an independent generator derived from this one's seed stream and a label. */
  fork(label: number): Prng {
    return new Prng((this.next() ^ splitmix32(label)) >>> 0);
  }
}

/**
 * Hash53 accumulates numbers into a 53-bit hash (two 32-bit murmur-style lanes), cheap enough
 * to feed every simulated event into. Equal inputs in equal order give equal values.
 */
export class Hash53 {
  private h1 = 0x2545f491;
  private h2 = 0x9e3779b9;

  /** add mixes one number (any safe integer; fractions are truncated) into the hash. */
  add(n: number): this {
    const lo = n | 0;
    const hi = Math.floor(n / 4294967296) | 0;
    this.h1 = mixLane(this.h1, lo ^ Math.imul(hi, 0x27d4eb2d));
    this.h2 = mixLane(this.h2 ^ lo, hi + 0x165667b1);
    return this;
  }

  /** addBytes mixes a byte string (and its length) into the hash. */
  addBytes(b: Uint8Array | undefined): this {
    if (b === undefined) return this.add(-1);
    this.add(b.length);
    let w = 0;
    for (let i = 0; i < b.length; i++) {
      w = (w << 8) | (b[i] as number);
      if ((i & 3) === 3) {
        this.add(w);
        w = 0;
      }
    }
    return this.add(w);
  }

  /** addString mixes a string's UTF-16 code units into the hash. */
  addString(s: string): this {
    this.add(s.length);
    for (let i = 0; i < s.length; i++) this.add(s.charCodeAt(i));
    return this;
  }

  /** value returns the hash as a non-negative safe integer (53 bits). */
  value(): number {
    const a = fmix(this.h1 ^ this.h2);
    const b = fmix(this.h2 + Math.imul(this.h1, 0x85ebca6b)) & 0x1fffff;
    return b * 4294967296 + a;
  }

  /** hex returns value() as a fixed-width hexadecimal string. */
  hex(): string {
    return this.value().toString(16).padStart(14, '0');
  }
}

function mixLane(h: number, k: number): number {
  let x = Math.imul(k, 0xcc9e2d51);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x, 0x1b873593);
  let y = h ^ x;
  y = (y << 13) | (y >>> 19);
  return (Math.imul(y, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** hashBytes returns the Hash53 of a byte string alone. */
export function hashBytes(b: Uint8Array | undefined): number {
  return new Hash53().addBytes(b).value();
}

/** hashChain extends a running hash of applied entries with one more (index, term, content). */
export function hashChain(prev: number, index: number, term: number, content: number): number {
  return new Hash53().add(prev).add(index).add(term).add(content).value();
}
