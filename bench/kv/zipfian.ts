// YCSB's key choosers, written from the published algorithms:
//   - the zipfian generator of Gray, Sundaresan, Englert, Baclawski and Weinberger, "Quickly
//     Generating Billion-Record Synthetic Databases" (SIGMOD 1994), which draws item i (0-based)
//     with probability proportional to 1/(i+1)^θ in O(1) per draw once ζ(n, θ) is known;
//   - YCSB's "scrambled" variant: draw from a zipfian over a huge item space (10^10 items) and
//     map the draw to [min, max] with the 64-bit FNV hash, so the popular items are scattered over
//     the key space instead of clustered at its start;
//   - FNV-1a over the 8 little-endian bytes of a 64-bit integer, then the absolute value of the
//     signed result, as YCSB's Utils.fnvhash64 (also used to name keys: "user" + hash(n)).
//
// Every draw takes its uniform variate from a caller-supplied BenchRandom, so one generator (whose
// constants are costly to compute) serves many clients, each with its own seeded stream.

import type { BenchRandom } from './random.js';

/** YCSB's default zipfian constant. */
export const ZIPFIAN_CONSTANT = 0.99;

/**
 * Size of the item space the scrambled generator draws from before hashing. YCSB's published
 * constant ZETAN = 26.46902820178302 is ζ(10^10, 0.99); (its current source pairs that ζ with an
 * ITEM_COUNT of 10^16, which makes η inconsistent — we keep the consistent pair.)
 */
export const SCRAMBLED_ITEM_COUNT = 10_000_000_000;

const FNV_OFFSET_BASIS_64 = 0xcbf29ce484222325n;
const FNV_PRIME_64 = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;
const INT64_MIN = -(1n << 63n);

/**
 * YCSB's fnvhash64 of a non-negative integer: FNV-1a over its 8 little-endian bytes, read as a
 * signed 64-bit value, absolute value taken (Java's Math.abs, so Long.MIN_VALUE stays negative).
 */
export function fnvhash64(value: number): bigint {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`fnvhash64: ${value} is not a non-negative safe integer`);
  let v = BigInt(value);
  let hash = FNV_OFFSET_BASIS_64;
  for (let i = 0; i < 8; i++) {
    hash ^= v & 0xffn;
    v >>= 8n;
    hash = (hash * FNV_PRIME_64) & MASK_64;
  }
  const signed = BigInt.asIntN(64, hash);
  return signed < 0n && signed !== INT64_MIN ? -signed : signed;
}

/** Σ_{i=1..n} 1/i^θ summed term by term, in YCSB's order. */
export function zetaExact(n: number, theta: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += 1 / Math.pow(i + 1, theta);
  return sum;
}

/**
 * Σ_{i=1..n} 1/i^θ. Up to a million terms it is summed exactly; beyond, the first terms are summed
 * and the rest taken from the Euler–Maclaurin formula (integral, end-point and two derivative
 * corrections), which is accurate to far below a double's precision at these sizes and costs
 * microseconds where the direct sum over 10^10 items would take minutes.
 */
export function zeta(n: number, theta: number): number {
  if (!(n >= 1) || !Number.isSafeInteger(n)) throw new RangeError(`zeta: item count ${n} must be a positive safe integer`);
  if (!(theta > 0 && theta < 1)) throw new RangeError(`zeta: θ ${theta} must be in (0, 1)`);
  if (n <= 1_000_000) return zetaExact(n, theta);
  const m = 10_000;
  const f = (x: number): number => Math.pow(x, -theta);
  const f1 = (x: number): number => -theta * Math.pow(x, -theta - 1);
  const f3 = (x: number): number => -theta * (theta + 1) * (theta + 2) * Math.pow(x, -theta - 3);
  const head = zetaExact(m - 1, theta);
  // ∫_m^n x^-θ dx = (n^(1-θ) - m^(1-θ)) / (1-θ), written with expm1 to keep its precision near θ = 1.
  const integral = (Math.pow(m, 1 - theta) * Math.expm1((1 - theta) * Math.log(n / m))) / (1 - theta);
  const ends = (f(m) + f(n)) / 2;
  const corrections = (f1(n) - f1(m)) / 12 - (f3(n) - f3(m)) / 720;
  return head + integral + ends + corrections;
}

/** Gray et al.'s zipfian over the integers [min, max]: min is the most popular, then min+1, ... */
export class ZipfianGenerator {
  readonly min: number;
  readonly items: number;
  readonly theta: number;
  readonly zetan: number;
  private readonly alpha: number;
  private readonly eta: number;
  private readonly secondThreshold: number;

  constructor(min: number, max: number, theta = ZIPFIAN_CONSTANT, zetan?: number) {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max < min + 1) {
      throw new RangeError(`zipfian: need integers min < max, got [${min}, ${max}]`);
    }
    this.min = min;
    this.items = max - min + 1;
    this.theta = theta;
    this.zetan = zetan ?? zeta(this.items, theta);
    this.alpha = 1 / (1 - theta);
    const zeta2theta = zetaExact(2, theta);
    this.eta = (1 - Math.pow(2 / this.items, 1 - theta)) / (1 - zeta2theta / this.zetan);
    this.secondThreshold = 1 + Math.pow(0.5, theta);
  }

  next(random: BenchRandom): number {
    const u = random.nextDouble();
    const uz = u * this.zetan;
    if (uz < 1) return this.min;
    if (uz < this.secondThreshold) return this.min + 1;
    const offset = Math.floor(this.items * Math.pow(this.eta * u - this.eta + 1, this.alpha));
    return this.min + Math.min(offset, this.items - 1);
  }
}

/** YCSB's scrambled zipfian over [min, max]: zipfian popularity, popular items spread by FNV-64. */
export class ScrambledZipfianGenerator {
  readonly min: number;
  readonly items: number;
  private readonly itemsBig: bigint;
  private readonly inner: ZipfianGenerator;

  constructor(min: number, max: number, theta = ZIPFIAN_CONSTANT) {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max < min) {
      throw new RangeError(`scrambled zipfian: need integers min ≤ max, got [${min}, ${max}]`);
    }
    this.min = min;
    this.items = max - min + 1;
    this.itemsBig = BigInt(this.items);
    this.inner = new ZipfianGenerator(0, SCRAMBLED_ITEM_COUNT - 1, theta);
  }

  next(random: BenchRandom): number {
    return this.min + Number(fnvhash64(this.inner.next(random)) % this.itemsBig);
  }
}
