// The numeric type: exact decimal numbers as PostgreSQL 15 has them. A finite value is an unscaled
// bigint and a scale (digits after the decimal point, PostgreSQL's "display scale"), so 10000.50 is
// (1000050n, 2) and keeps its two decimals. NaN and ±Infinity are separate values. Every result
// scale (of *, /, sqrt, ln, power ...) follows PostgreSQL's rules so that the text a client sees is
// the text PostgreSQL prints. Transcendental functions compute in fixed point with guard digits and
// round once at the end.
import { SqlError, SqlState } from '../errors.js';
import { roundDoubleToDigits } from './float.js';
import { numericPrecisionScale } from './oids.js';

/** Largest display scale a value may carry (PostgreSQL's NUMERIC_DSCALE_MAX). */
export const NUMERIC_MAX_DSCALE = 0x3fff;
/**
 * Most digits before the decimal point: PostgreSQL stores the weight of the first base-10000 digit
 * in an int16, so a value must stay below 10^(4 × 32768).
 */
export const NUMERIC_MAX_INTEGER_DIGITS = 4 * 32768;
/** numeric(p, s) allows 1 ≤ p ≤ 1000 (NUMERIC_MAX_PRECISION). */
export const NUMERIC_MAX_PRECISION = 1000;
/** Result scales of inexact operations stay within [0, 1000] (NUMERIC_MAX_DISPLAY_SCALE). */
const MAX_DISPLAY_SCALE = 1000;
/** round() and trunc() clamp their scale argument to ±2000 (NUMERIC_MAX_RESULT_SCALE). */
const MAX_RESULT_SCALE = 2000;
/** Inexact results get at least this many significant digits (NUMERIC_MIN_SIG_DIGITS). */
const MIN_SIG_DIGITS = 16;
/**
 * Longest text numeric input accepted. The largest finite value has 131072 integer digits and
 * 16383 decimals; this leaves room for signs, leading zeros and padding without letting a huge
 * string reach the bigint parser.
 */
export const NUMERIC_MAX_INPUT_LENGTH = 200_000;
/** Guard digits carried by the fixed-point transcendental functions beyond what the result needs. */
const GUARD_DIGITS = 24;
/** exp(x) overflows, and exp(-x) is 0, once |x| reaches this (3 × NUMERIC_MAX_RESULT_SCALE). */
const EXP_ARGUMENT_LIMIT = 6000;
/**
 * power() with an integer exponent is computed exactly when the exact result has at most this many
 * digits (the largest storable value has 131072 integer and 16383 fractional digits); beyond it, in
 * floating decimal with enough significant digits for the result scale.
 */
const EXACT_POWER_DIGITS = 150_000;

// SQLSTATEs of the argument errors of power and logarithm (not yet in SqlState).
const INVALID_ARGUMENT_FOR_LOG = '2201E';
const INVALID_ARGUMENT_FOR_POWER = '2201F';

export type NumericSpecial = 'NaN' | 'Infinity' | '-Infinity';

const POW10_CACHE_SIZE = 1100;
const POW10: bigint[] = [1n];
for (let i = 1; i < POW10_CACHE_SIZE; i++) POW10.push(POW10[i - 1]! * 10n);

/** 10^n as a bigint, n ≥ 0. */
export function pow10(n: number): bigint {
  return n < POW10_CACHE_SIZE ? POW10[n]! : 10n ** BigInt(n);
}

function absBig(v: bigint): bigint {
  return v < 0n ? -v : v;
}

const SAFE_LIMIT = BigInt(Number.MAX_SAFE_INTEGER);

/** Number of decimal digits of |v| (1 for 0). */
export function decimalDigits(v: bigint): number {
  const a = absBig(v);
  // A safe integer prints without an exponent, so its string length is its digit count.
  return a <= SAFE_LIMIT ? String(Number(a)).length : a.toString().length;
}

/** a / b rounded half away from zero (b ≠ 0). */
function divRound(a: bigint, b: bigint): bigint {
  const q = a / b;
  const r = a - q * b;
  if (r === 0n) return q;
  const twice = absBig(r) * 2n;
  if (twice >= absBig(b)) return (a < 0n) !== (b < 0n) ? q - 1n : q + 1n;
  return q;
}

/** An unscaled value at scale `from` re-expressed at scale `to`, rounding half away from zero. */
function rescaleRound(u: bigint, from: number, to: number): bigint {
  if (to >= from) return u * pow10(to - from);
  return divRound(u, pow10(from - to));
}

function rescaleTrunc(u: bigint, from: number, to: number): bigint {
  if (to >= from) return u * pow10(to - from);
  return u / pow10(from - to);
}

function overflow(): SqlError {
  return new SqlError(SqlState.numericValueOutOfRange, 'value overflows numeric format');
}

/** Integer square root: the largest r with r² ≤ n (n ≥ 0). */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  if (n <= SAFE_LIMIT) {
    let r = BigInt(Math.floor(Math.sqrt(Number(n))));
    while (r * r > n) r--;
    while ((r + 1n) * (r + 1n) <= n) r++;
    return r;
  }
  const bits = n.toString(16).length * 4;
  let x = 1n << BigInt(Math.ceil(bits / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  while (x * x > n) x--;
  return x;
}

/** The base-10000 view PostgreSQL's scale rules are written in: weight and leading digits. */
interface Base10000Lead {
  /** Weight of the first non-zero base-10000 digit (0 for zero). */
  readonly weight: number;
  /** That digit (0 for zero). */
  readonly first: number;
  /** The next digit, or undefined when no non-zero digit follows the first. */
  readonly second: number | undefined;
}

function leadOf(u: bigint, s: number): Base10000Lead {
  const a = absBig(u);
  if (a === 0n) return { weight: 0, first: 0, second: undefined };
  const e = decimalDigits(a) - 1 - s;
  const weight = Math.floor(e / 4);
  const shift = s + 4 * weight;
  let first: number;
  let rest: bigint;
  if (shift >= 0) {
    const p = pow10(shift);
    first = Number(a / p);
    rest = a % p;
    if (rest === 0n) return { weight, first, second: undefined };
    const second = shift >= 4 ? Number(rest / pow10(shift - 4)) : Number(rest * pow10(4 - shift));
    return { weight, first, second };
  }
  first = Number(a * pow10(-shift));
  return { weight, first, second: undefined };
}

/** Exponent of the leading decimal digit of a non-zero u × 10^-s. */
function leadExponent(u: bigint, s: number): number {
  return decimalDigits(u) - 1 - s;
}

function clampScale(rscale: number): number {
  return Math.min(Math.max(rscale, 0), MAX_DISPLAY_SCALE);
}

export class Numeric {
  static readonly NaN = new Numeric(0n, 0, 'NaN');
  static readonly Infinity = new Numeric(0n, 0, 'Infinity');
  static readonly NegativeInfinity = new Numeric(0n, 0, '-Infinity');
  static readonly ZERO = new Numeric(0n, 0, undefined);
  static readonly ONE = new Numeric(1n, 0, undefined);

  private constructor(
    /** The value is unscaled × 10^-scale (0 for the special values). */
    readonly unscaled: bigint,
    /** Digits after the decimal point, 0 ≤ scale ≤ NUMERIC_MAX_DSCALE. */
    readonly scale: number,
    /** Set for NaN and the infinities. */
    readonly special: NumericSpecial | undefined,
  ) {}

  /** unscaled × 10^-scale; errors 22003 beyond the range PostgreSQL can store. */
  static of(unscaled: bigint, scale: number): Numeric {
    if (!Number.isInteger(scale) || scale < 0 || scale > NUMERIC_MAX_DSCALE) throw overflow();
    const a = absBig(unscaled);
    // Any value below 2^64 has at most 20 digits: only larger ones need counting.
    if (a >= 1n << 64n && decimalDigits(a) - scale > NUMERIC_MAX_INTEGER_DIGITS) throw overflow();
    return new Numeric(unscaled, scale, undefined);
  }

  static fromBigInt(v: bigint): Numeric {
    return Numeric.of(v, 0);
  }

  static fromInt(v: number): Numeric {
    return new Numeric(BigInt(v), 0, undefined);
  }

  /**
   * A float8 as PostgreSQL converts it: printed with 15 significant digits (DBL_DIG), then read as
   * numeric; NaN and ±Infinity map to the numeric special values. `significantDigits` 6 (FLT_DIG)
   * gives the float4 conversion.
   */
  static fromNumber(v: number, significantDigits = 15): Numeric {
    if (Number.isNaN(v)) return Numeric.NaN;
    if (v === Infinity) return Numeric.Infinity;
    if (v === -Infinity) return Numeric.NegativeInfinity;
    if (v === 0) return Numeric.ZERO;
    const { digits, exponent } = roundDoubleToDigits(v, significantDigits);
    // digits × 10^exponent, trailing zeros dropped as %g drops them.
    let d = digits;
    let e = exponent;
    while (d % 10n === 0n && d !== 0n) {
      d /= 10n;
      e++;
    }
    if (v < 0) d = -d;
    return e >= 0 ? Numeric.of(d * pow10(e), 0) : Numeric.of(d, -e);
  }

  /** numeric_in: PostgreSQL's text syntax; errors 22P02 on bad syntax, 22003 beyond the range. */
  static parse(text: string): Numeric {
    const bad = (): SqlError =>
      new SqlError(SqlState.invalidTextRepresentation, `invalid input syntax for type numeric: "${text}"`);
    if (text.length > NUMERIC_MAX_INPUT_LENGTH) throw overflow();
    let start = 0;
    let end = text.length;
    while (start < end && isSpace(text.charCodeAt(start))) start++;
    while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
    if (start === end) throw bad();
    const body = text.slice(start, end);
    const special = parseSpecial(body);
    if (special !== undefined) return special;

    let i = 0;
    let negative = false;
    const c0 = body.charCodeAt(0);
    if (c0 === 0x2b || c0 === 0x2d) {
      negative = c0 === 0x2d;
      i = 1;
    }
    const intStart = i;
    while (i < body.length && isDigit(body.charCodeAt(i))) i++;
    const intDigits = body.slice(intStart, i);
    let fracDigits = '';
    if (i < body.length && body.charCodeAt(i) === 0x2e) {
      i++;
      const fracStart = i;
      while (i < body.length && isDigit(body.charCodeAt(i))) i++;
      fracDigits = body.slice(fracStart, i);
    }
    if (intDigits.length === 0 && fracDigits.length === 0) throw bad();
    let exponent = 0;
    if (i < body.length && (body.charCodeAt(i) === 0x65 || body.charCodeAt(i) === 0x45)) {
      i++;
      let expNegative = false;
      if (i < body.length && (body.charCodeAt(i) === 0x2b || body.charCodeAt(i) === 0x2d)) {
        expNegative = body.charCodeAt(i) === 0x2d;
        i++;
      }
      const expStart = i;
      while (i < body.length && isDigit(body.charCodeAt(i))) i++;
      if (i === expStart) throw bad();
      // PostgreSQL refuses exponents beyond ±(INT_MAX / 2) with the overflow error; any exponent
      // that large overflows anyway, so the digits need not all be read.
      const expText = body.slice(expStart, i).replace(/^0+/, '');
      if (expText.length > 10) throw overflow();
      exponent = Number(expText === '' ? '0' : expText);
      if (exponent >= 1073741823) throw overflow();
      if (expNegative) exponent = -exponent;
    }
    if (i !== body.length) throw bad();

    const all = (intDigits + fracDigits).replace(/^0+/, '');
    let scale = fracDigits.length - exponent;
    let unscaled = all === '' ? 0n : BigInt(all);
    if (scale < 0) {
      if (unscaled !== 0n && decimalDigits(unscaled) - scale > NUMERIC_MAX_INTEGER_DIGITS) throw overflow();
      unscaled *= pow10(-scale);
      scale = 0;
    }
    if (scale > NUMERIC_MAX_DSCALE) throw overflow();
    return Numeric.of(negative ? -unscaled : unscaled, scale);
  }

  get isNaN(): boolean {
    return this.special === 'NaN';
  }

  get isFinite(): boolean {
    return this.special === undefined;
  }

  get isInfinite(): boolean {
    return this.special === 'Infinity' || this.special === '-Infinity';
  }

  get isZero(): boolean {
    return this.special === undefined && this.unscaled === 0n;
  }

  /** numeric_out: the digits with exactly `scale` decimals; NaN, Infinity, -Infinity. */
  toString(): string {
    if (this.special !== undefined) return this.special;
    const u = this.unscaled;
    if (this.scale === 0) return u.toString();
    const negative = u < 0n;
    let digits = (negative ? -u : u).toString();
    if (digits.length <= this.scale) digits = '0'.repeat(this.scale - digits.length + 1) + digits;
    const point = digits.length - this.scale;
    return `${negative ? '-' : ''}${digits.slice(0, point)}.${digits.slice(point)}`;
  }

  /** The same value at the smallest scale that holds it exactly (1.500 → 1.5, 100 → 100). */
  stripTrailingZeros(): Numeric {
    if (this.special !== undefined || this.scale === 0) return this;
    if (this.unscaled === 0n) return Numeric.ZERO;
    let u = this.unscaled;
    let s = this.scale;
    while (s > 0 && u % 10n === 0n) {
      u /= 10n;
      s--;
    }
    return s === this.scale ? this : new Numeric(u, s, undefined);
  }

  /** -1, 0 or 1; NaN is treated as above everything (numeric's sort order) by compare(). */
  signum(): number {
    if (this.special === 'Infinity') return 1;
    if (this.special === '-Infinity') return -1;
    if (this.special === 'NaN') return 0;
    return this.unscaled > 0n ? 1 : this.unscaled < 0n ? -1 : 0;
  }

  /** PostgreSQL's numeric order: -Infinity < finite values < Infinity < NaN, and NaN = NaN. */
  compare(o: Numeric): number {
    const ra = specialRank(this);
    const rb = specialRank(o);
    if (ra !== rb) return ra < rb ? -1 : 1;
    if (ra !== 1) return 0;
    if (this.scale === o.scale) return this.unscaled < o.unscaled ? -1 : this.unscaled > o.unscaled ? 1 : 0;
    const s = Math.max(this.scale, o.scale);
    const a = this.unscaled * pow10(s - this.scale);
    const b = o.unscaled * pow10(s - o.scale);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  equals(o: Numeric): boolean {
    return this.compare(o) === 0;
  }

  neg(): Numeric {
    if (this.special === 'Infinity') return Numeric.NegativeInfinity;
    if (this.special === '-Infinity') return Numeric.Infinity;
    if (this.special === 'NaN') return this;
    return new Numeric(-this.unscaled, this.scale, undefined);
  }

  abs(): Numeric {
    if (this.special === '-Infinity') return Numeric.Infinity;
    if (this.special !== undefined || this.unscaled >= 0n) return this;
    return new Numeric(-this.unscaled, this.scale, undefined);
  }

  /** sign(): -1, 0 or 1 at scale 0; NaN for NaN. */
  sign(): Numeric {
    if (this.special === 'NaN') return this;
    return Numeric.fromInt(this.signum());
  }

  /** Sum at the larger of the two scales (exact). */
  add(o: Numeric): Numeric {
    if (this.special !== undefined || o.special !== undefined) return addSpecial(this, o);
    const s = Math.max(this.scale, o.scale);
    return Numeric.of(this.unscaled * pow10(s - this.scale) + o.unscaled * pow10(s - o.scale), s);
  }

  sub(o: Numeric): Numeric {
    return this.add(o.neg());
  }

  /** Product at the sum of the scales (exact), rounded only past NUMERIC_MAX_DSCALE. */
  mul(o: Numeric): Numeric {
    if (this.special !== undefined || o.special !== undefined) {
      if (this.isNaN || o.isNaN) return Numeric.NaN;
      const sa = this.signum();
      const sb = o.signum();
      if (sa === 0 || sb === 0) return Numeric.NaN;
      return sa * sb > 0 ? Numeric.Infinity : Numeric.NegativeInfinity;
    }
    let u = this.unscaled * o.unscaled;
    let s = this.scale + o.scale;
    if (s > NUMERIC_MAX_DSCALE) {
      u = rescaleRound(u, s, NUMERIC_MAX_DSCALE);
      s = NUMERIC_MAX_DSCALE;
    }
    return Numeric.of(u, s);
  }

  /** The / operator: rounded at PostgreSQL's select_div_scale; 22012 on division by zero. */
  div(o: Numeric): Numeric {
    if (this.special !== undefined || o.special !== undefined) return divSpecial(this, o);
    if (o.unscaled === 0n) throw new SqlError(SqlState.divisionByZero, 'division by zero');
    return divideRounded(this, o, selectDivScale(this, o));
  }

  /** div(): the quotient truncated towards zero, at scale 0. */
  divTrunc(o: Numeric): Numeric {
    if (this.special !== undefined || o.special !== undefined) {
      if (this.isNaN || o.isNaN) return Numeric.NaN;
      if (this.isInfinite) {
        if (o.isZero) throw new SqlError(SqlState.divisionByZero, 'division by zero');
        if (o.isInfinite) return Numeric.NaN;
        return this.signum() * o.signum() > 0 ? Numeric.Infinity : Numeric.NegativeInfinity;
      }
      return Numeric.ZERO;
    }
    if (o.unscaled === 0n) throw new SqlError(SqlState.divisionByZero, 'division by zero');
    return Numeric.of(quotientTrunc(this, o), 0);
  }

  /** The % operator and mod(): x - trunc(x / y) × y, at the larger scale; sign of x. */
  mod(o: Numeric): Numeric {
    if (this.special !== undefined || o.special !== undefined) {
      if (this.isNaN || o.isNaN) return Numeric.NaN;
      if (this.isInfinite) {
        if (o.isZero) throw new SqlError(SqlState.divisionByZero, 'division by zero');
        return Numeric.NaN;
      }
      return this;
    }
    if (o.unscaled === 0n) throw new SqlError(SqlState.divisionByZero, 'division by zero');
    const s = Math.max(this.scale, o.scale);
    const a = this.unscaled * pow10(s - this.scale);
    const b = o.unscaled * pow10(s - o.scale);
    return Numeric.of(a % b, s);
  }

  /** round(x, s): half away from zero; a negative s rounds left of the point; scale max(s, 0). */
  round(scale = 0): Numeric {
    if (this.special !== undefined) return this;
    const s = Math.min(Math.max(scale, -MAX_RESULT_SCALE), MAX_RESULT_SCALE);
    const u = rescaleRound(this.unscaled, this.scale, s);
    return s >= 0 ? Numeric.of(u, s) : Numeric.of(u * pow10(-s), 0);
  }

  /** trunc(x, s): towards zero, otherwise as round(). */
  trunc(scale = 0): Numeric {
    if (this.special !== undefined) return this;
    const s = Math.min(Math.max(scale, -MAX_RESULT_SCALE), MAX_RESULT_SCALE);
    const u = rescaleTrunc(this.unscaled, this.scale, s);
    return s >= 0 ? Numeric.of(u, s) : Numeric.of(u * pow10(-s), 0);
  }

  ceil(): Numeric {
    if (this.special !== undefined) return this;
    const t = rescaleTrunc(this.unscaled, this.scale, 0);
    const exact = t * pow10(this.scale) === this.unscaled;
    return Numeric.of(!exact && this.unscaled > 0n ? t + 1n : t, 0);
  }

  floor(): Numeric {
    if (this.special !== undefined) return this;
    const t = rescaleTrunc(this.unscaled, this.scale, 0);
    const exact = t * pow10(this.scale) === this.unscaled;
    return Numeric.of(!exact && this.unscaled < 0n ? t - 1n : t, 0);
  }

  /** sqrt(): at least 16 significant digits, not less than the input's scale; rounded. */
  sqrt(): Numeric {
    if (this.special === 'NaN' || this.special === 'Infinity') return this;
    if (this.signum() < 0) {
      throw new SqlError(INVALID_ARGUMENT_FOR_POWER, 'cannot take square root of a negative number');
    }
    const weight = leadOf(this.unscaled, this.scale).weight;
    const sweight = 2 * weight + 1;
    const rscale = clampScale(Math.max(MIN_SIG_DIGITS - sweight, this.scale));
    return Numeric.of(sqrtRounded(this.unscaled, this.scale, rscale), rscale);
  }

  /** ln(): at least 16 significant digits, not less than the input's scale. */
  ln(): Numeric {
    if (this.special === 'NaN' || this.special === 'Infinity') return this;
    checkLogArgument(this);
    const rscale = clampScale(Math.max(MIN_SIG_DIGITS - estimateLnDweight(this), this.scale));
    return lnRounded(this, rscale);
  }

  /** log(base, x), the logarithm of this value in the given base. */
  logBase(base: Numeric): Numeric {
    return logOf(base, this);
  }

  /** log(x): the base-10 logarithm (PostgreSQL defines log(x) as log(10, x)). */
  log10(): Numeric {
    return logOf(TEN, this);
  }

  /** exp(): e^x with at least 16 significant digits, not less than the input's scale. */
  exp(): Numeric {
    if (this.special === 'NaN' || this.special === 'Infinity') return this;
    if (this.special === '-Infinity') return Numeric.ZERO;
    const x = this.toNumber();
    // log10 of the result, roughly: it picks the scale and how precise the argument must be.
    const weight = x * 0.434294481903252;
    const val = Math.min(Math.max(weight, -MAX_RESULT_SCALE), MAX_RESULT_SCALE);
    const rscale = clampScale(Math.max(MIN_SIG_DIGITS - Math.trunc(val), this.scale));
    if (Math.abs(x) >= EXP_ARGUMENT_LIMIT) {
      if (x > 0) throw overflow();
      return Numeric.of(0n, rscale);
    }
    const precision = Math.max(Math.ceil(weight) + rscale, 0) + GUARD_DIGITS + 8;
    const fixed = rescaleTrunc(this.unscaled, this.scale, precision);
    return Numeric.of(expFixedToScale(fixed, precision, rscale), rscale);
  }

  /** power(x, y) and x ^ y, with PostgreSQL's special cases and result scales. */
  power(exponent: Numeric): Numeric {
    return powerOf(this, exponent);
  }

  /**
   * numeric(p, s): rounds to s decimals, then errors 22003 "numeric field overflow" when the value
   * needs more than p - s integer digits. A typmod below 4 means "no modifier".
   */
  applyTypmod(typmod: number): Numeric {
    const ps = numericPrecisionScale(typmod);
    if (ps === undefined || this.special === 'NaN') return this;
    const { precision, scale } = ps;
    if (this.special !== undefined) {
      throw new SqlError(SqlState.numericValueOutOfRange, 'numeric field overflow', {
        detail: `A field with precision ${precision}, scale ${scale} cannot hold an infinite value.`,
      });
    }
    const withScale = this.round(scale);
    const maxDigits = precision - scale;
    if (withScale.unscaled !== 0n && leadExponent(withScale.unscaled, withScale.scale) + 1 > maxDigits) {
      const bound = maxDigits === 0 ? '1' : `10^${maxDigits}`;
      throw new SqlError(SqlState.numericValueOutOfRange, 'numeric field overflow', {
        detail: `A field with precision ${precision}, scale ${scale} must round to an absolute value less than ${bound}.`,
      });
    }
    return withScale;
  }

  /** The nearest float8 (as PostgreSQL's numeric → float8 reads the text form); no range check. */
  toNumber(): number {
    if (this.special === 'NaN') return NaN;
    if (this.special === 'Infinity') return Infinity;
    if (this.special === '-Infinity') return -Infinity;
    if (this.scale === 0 && absBig(this.unscaled) <= SAFE_LIMIT) return Number(this.unscaled);
    return Number(this.toString());
  }

  /**
   * Rounded half away from zero to an integer. NaN and the infinities raise 0A000 as PostgreSQL's
   * numeric → integer casts do; `typeName` names the target in that message. The caller checks the
   * range of its integer type.
   */
  toBigInt(typeName = 'bigint'): bigint {
    if (this.special === 'NaN') throw new SqlError(SqlState.featureNotSupported, `cannot convert NaN to ${typeName}`);
    if (this.special !== undefined) {
      throw new SqlError(SqlState.featureNotSupported, `cannot convert infinity to ${typeName}`);
    }
    return rescaleRound(this.unscaled, this.scale, 0);
  }

  /**
   * The base-10000 digits PostgreSQL's binary format sends: weight of the first digit, the digits
   * without leading or trailing zeros (none for zero).
   */
  toBase10000(): { readonly weight: number; readonly digits: number[] } {
    if (this.special !== undefined || this.unscaled === 0n) return { weight: 0, digits: [] };
    // Align the scale to a multiple of 4 so every base-10000 digit is whole.
    const alignedScale = Math.ceil(this.scale / 4) * 4;
    let a = absBig(this.unscaled) * pow10(alignedScale - this.scale);
    const groups: number[] = [];
    while (a > 0n) {
      groups.push(Number(a % 10000n));
      a /= 10000n;
    }
    groups.reverse();
    const weight = groups.length - 1 - alignedScale / 4;
    let end = groups.length;
    while (end > 0 && groups[end - 1] === 0) end--;
    return { weight, digits: groups.slice(0, end) };
  }

  /** The inverse of toBase10000 (digits may carry leading or trailing zeros). */
  static fromBase10000(negative: boolean, weight: number, digits: readonly number[], scale: number): Numeric {
    let a = 0n;
    for (const d of digits) a = a * 10000n + BigInt(d);
    // digits[0] has weight `weight`; the last one has weight - digits.length + 1.
    const lastWeight = weight - digits.length + 1;
    // Digits the scale hides are truncated away, as PostgreSQL's numeric_recv does.
    const u = rescaleTrunc(a, -lastWeight * 4, scale);
    return Numeric.of(negative ? -u : u, scale);
  }
}

const TEN = Numeric.fromInt(10);

function isSpace(c: number): boolean {
  // isspace() in the C locale: space, \t, \n, \v, \f, \r.
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function parseSpecial(body: string): Numeric | undefined {
  const c = body.charCodeAt(0);
  if (c !== 0x4e && c !== 0x6e && c !== 0x49 && c !== 0x69 && c !== 0x2b && c !== 0x2d) return undefined;
  switch (body.toLowerCase()) {
    case 'nan':
      return Numeric.NaN;
    case 'infinity':
    case '+infinity':
    case 'inf':
    case '+inf':
      return Numeric.Infinity;
    case '-infinity':
    case '-inf':
      return Numeric.NegativeInfinity;
    default:
      return undefined;
  }
}

/** 0 for -Infinity, 1 for finite values, 2 for Infinity, 3 for NaN. */
function specialRank(n: Numeric): number {
  switch (n.special) {
    case undefined:
      return 1;
    case '-Infinity':
      return 0;
    case 'Infinity':
      return 2;
    case 'NaN':
      return 3;
  }
}

function addSpecial(a: Numeric, b: Numeric): Numeric {
  if (a.isNaN || b.isNaN) return Numeric.NaN;
  if (a.isInfinite && b.isInfinite) return a.special === b.special ? a : Numeric.NaN;
  return a.isInfinite ? a : b;
}

function divSpecial(a: Numeric, b: Numeric): Numeric {
  if (a.isNaN || b.isNaN) return Numeric.NaN;
  if (a.isInfinite) {
    if (b.isInfinite) return Numeric.NaN;
    const s = b.signum();
    if (s === 0) throw new SqlError(SqlState.divisionByZero, 'division by zero');
    return s * a.signum() > 0 ? Numeric.Infinity : Numeric.NegativeInfinity;
  }
  return Numeric.ZERO;
}

/** PostgreSQL's select_div_scale: 16 significant digits at least, never less than either scale. */
function selectDivScale(a: Numeric, b: Numeric): number {
  const la = leadOf(a.unscaled, a.scale);
  const lb = leadOf(b.unscaled, b.scale);
  let qweight = la.weight - lb.weight;
  if (la.first <= lb.first) qweight--;
  return clampScale(Math.max(MIN_SIG_DIGITS - qweight * 4, a.scale, b.scale));
}

/** a / b rounded half away from zero at `rscale` (b finite, non-zero). */
function divideRounded(a: Numeric, b: Numeric, rscale: number): Numeric {
  // a/b × 10^r = ua × 10^(sb + r - sa) / ub
  const k = b.scale + rscale - a.scale;
  const q = k >= 0 ? divRound(a.unscaled * pow10(k), b.unscaled) : divRound(a.unscaled, b.unscaled * pow10(-k));
  return Numeric.of(q, rscale);
}

function quotientTrunc(a: Numeric, b: Numeric): bigint {
  const k = b.scale - a.scale;
  return k >= 0 ? (a.unscaled * pow10(k)) / b.unscaled : a.unscaled / (b.unscaled * pow10(-k));
}

/** sqrt(u × 10^-s) rounded half up at scale r, as an unscaled value. */
function sqrtRounded(u: bigint, s: number, r: number): bigint {
  // floor(sqrt(x × 10^(2r+2))) has one digit more than needed; rounding it is exact rounding,
  // since truncation at a finer scale never crosses the half-way point.
  const e = 2 * r + 2 - s;
  const n = e >= 0 ? u * pow10(e) : u / pow10(-e);
  const t = isqrt(n);
  return (t + 5n) / 10n;
}

function checkLogArgument(n: Numeric): void {
  const s = n.signum();
  if (s < 0) throw new SqlError(INVALID_ARGUMENT_FOR_LOG, 'cannot take logarithm of a negative number');
  if (s === 0) throw new SqlError(INVALID_ARGUMENT_FOR_LOG, 'cannot take logarithm of zero');
}

const POINT_NINE = Numeric.of(9n, 1);
const ONE_POINT_ONE = Numeric.of(11n, 1);

/** PostgreSQL's estimate_ln_dweight: the decimal weight of ln(x), for choosing result scales. */
function estimateLnDweight(x: Numeric): number {
  if (x.signum() <= 0) return 0;
  if (x.compare(POINT_NINE) >= 0 && x.compare(ONE_POINT_ONE) <= 0) {
    const d = x.sub(Numeric.ONE);
    return d.unscaled === 0n ? 0 : leadExponent(d.unscaled, d.scale);
  }
  const lead = leadOf(x.unscaled, x.scale);
  let digits = lead.first;
  let dweight = lead.weight * 4;
  if (lead.second !== undefined) {
    digits = digits * 10000 + lead.second;
    dweight -= 4;
  }
  const lnApprox = Math.log(digits) + dweight * 2.302585092994046;
  return Math.trunc(Math.log10(Math.abs(lnApprox)));
}

function lnRounded(x: Numeric, rscale: number): Numeric {
  const precision = rscale + GUARD_DIGITS;
  return Numeric.of(rescaleRound(lnFixed(x.unscaled, x.scale, precision), precision, rscale), rscale);
}

function logOf(base: Numeric, num: Numeric): Numeric {
  if (base.special !== undefined || num.special !== undefined) {
    if (base.isNaN || num.isNaN) return Numeric.NaN;
    checkLogArgument(base);
    checkLogArgument(num);
    if (base.special === 'Infinity') return num.special === 'Infinity' ? Numeric.NaN : Numeric.ZERO;
    return Numeric.Infinity;
  }
  checkLogArgument(base);
  checkLogArgument(num);
  const lnBaseWeight = estimateLnDweight(base);
  const lnNumWeight = estimateLnDweight(num);
  const resultWeight = lnNumWeight - lnBaseWeight;
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS - resultWeight, base.scale, num.scale));
  // ln(base) is exactly 0 only for base 1, where the quotient is a division by zero.
  if (base.compare(Numeric.ONE) === 0) throw new SqlError(SqlState.divisionByZero, 'division by zero');
  // The quotient needs rscale + resultWeight significant digits; each logarithm as many, so its
  // fixed-point precision is that less its own weight.
  const baseShift = Math.max(rscale + resultWeight - lnBaseWeight, 0) + GUARD_DIGITS;
  const numShift = Math.max(rscale + resultWeight - lnNumWeight, 0) + GUARD_DIGITS;
  const lnBase = lnFixed(base.unscaled, base.scale, baseShift);
  const lnNum = lnFixed(num.unscaled, num.scale, numShift);
  // (lnNum / 10^numShift) / (lnBase / 10^baseShift) × 10^rscale
  const k = baseShift + rscale - numShift;
  const q = k >= 0 ? divRound(lnNum * pow10(k), lnBase) : divRound(lnNum, lnBase * pow10(-k));
  return Numeric.of(q, rscale);
}

// ---- Fixed-point transcendental functions. A fixed value X at precision p means X / 10^p. ----

interface CachedConstant {
  precision: number;
  value: bigint;
}

/** atanh(1/k) at precision p, by its series Σ 1 / ((2n+1) k^(2n+1)). */
function atanhInverse(k: bigint, p: number): bigint {
  const k2 = k * k;
  let term = pow10(p) / k;
  let sum = term;
  for (let n = 3n; term !== 0n; n += 2n) {
    term /= k2;
    sum += term / n;
  }
  return sum;
}

const LN2: CachedConstant = { precision: 0, value: 0n };
const LN10: CachedConstant = { precision: 0, value: 0n };

function ln2Fixed(p: number): bigint {
  if (LN2.precision < p) {
    const q = p + 10;
    LN2.value = 2n * atanhInverse(3n, q);
    LN2.precision = q;
  }
  return LN2.value / pow10(LN2.precision - p);
}

function ln10Fixed(p: number): bigint {
  if (LN10.precision < p) {
    const q = p + 10;
    // ln 10 = 3 ln 2 + ln 1.25, and ln 1.25 = 2 atanh(1/9).
    LN10.value = 3n * ln2Fixed(q) + 2n * atanhInverse(9n, q);
    LN10.precision = q;
  }
  return LN10.value / pow10(LN10.precision - p);
}

/** Square-root halvings before the ln series: each one gains about a digit per series term. */
function lnReductions(p: number): number {
  return p > 60 ? 8 : p > 30 ? 4 : 0;
}

/** ln(u × 10^-s) at precision p (u > 0), accurate to a few units in the last place. */
function lnFixed(u: bigint, s: number, p: number): bigint {
  const n = decimalDigits(u);
  // x = m × 10^e with m = u / 10^n in [0.1, 1).
  const e = n - s;
  const halvings = lnReductions(p);
  const wp = p + 12 + decimalDigits(BigInt(Math.abs(e) + 1)) + Math.ceil(halvings * 0.302);
  const one = pow10(wp);
  let m = n <= wp ? u * pow10(wp - n) : u / pow10(n - wp);
  // Scale m by a power of two into [0.75, 1.5): ln m = ln(m 2^k) - k ln 2.
  let k = 0;
  const low = (one * 3n) / 4n;
  while (m < low) {
    m *= 2n;
    k++;
  }
  // Halving the logarithm by square roots brings m close to 1, where the series converges fast.
  for (let i = 0; i < halvings; i++) m = isqrt(m * one);
  const z = ((m - one) * one) / (m + one);
  const z2 = (z * z) / one;
  let term = z;
  let sum = z;
  for (let d = 3n; term !== 0n; d += 2n) {
    term = (term * z2) / one;
    sum += term / d;
  }
  let ln = 2n * sum * (1n << BigInt(halvings));
  ln += BigInt(e) * ln10Fixed(wp) - BigInt(k) * ln2Fixed(wp);
  return divRound(ln, pow10(wp - p));
}

/**
 * exp(X / 10^p) rounded half up at scale r, as an unscaled value. X must carry enough precision:
 * p at least max(weight of the result + r, 0) + guard digits.
 */
function expFixedToScale(X: bigint, p: number, r: number): bigint {
  const approx = Number(X / pow10(Math.max(p - 17, 0))) / 10 ** Math.min(p, 17);
  // exp(x) = 10^k × exp(x - k ln 10), with the reduced argument in [0, ln 10).
  const k = Math.floor(approx / Math.LN10);
  // More halvings for more digits: each one costs a squaring and saves series terms.
  const halvings = Math.min(Math.max(12, Math.ceil(Math.sqrt(Math.max(k + r, 0) + GUARD_DIGITS) * 1.2)), 200);
  const wp = Math.max(k + r, 0) + GUARD_DIGITS + Math.ceil(halvings * 0.302);
  const lnTenPrecision = wp + decimalDigits(BigInt(Math.abs(k) + 1)) + 2;
  const xw = p >= lnTenPrecision ? X / pow10(p - lnTenPrecision) : X * pow10(lnTenPrecision - p);
  let reduced = xw - BigInt(k) * ln10Fixed(lnTenPrecision);
  reduced = divRound(reduced, pow10(lnTenPrecision - wp));
  const one = pow10(wp);
  // exp(y) = exp(y / 2^h)^(2^h): the Taylor series of a small argument converges fast.
  const y = reduced / (1n << BigInt(halvings));
  let term = one;
  let sum = one;
  for (let i = 1n; term !== 0n; i++) {
    term = (term * y) / (one * i);
    sum += term;
  }
  for (let i = 0; i < halvings; i++) sum = (sum * sum) / one;
  // result × 10^r = sum / 10^wp × 10^(k + r)
  const shift = k + r - wp;
  return shift >= 0 ? sum * pow10(shift) : divRound(sum, pow10(-shift));
}

function isIntegral(n: Numeric): boolean {
  return n.special === undefined && (n.scale === 0 || n.unscaled % pow10(n.scale) === 0n);
}

function isOddIntegral(n: Numeric): boolean {
  if (!isIntegral(n)) return false;
  return (absBig(n.unscaled) / pow10(n.scale)) % 2n === 1n;
}

function powerOf(base: Numeric, exp: Numeric): Numeric {
  if (base.isNaN) return exp.isFinite && exp.isZero ? Numeric.ONE : Numeric.NaN;
  if (exp.isNaN) return base.isFinite && base.compare(Numeric.ONE) === 0 ? Numeric.ONE : Numeric.NaN;
  if (base.special !== undefined || exp.special !== undefined) return powerSpecial(base, exp);
  if (base.isZero && exp.signum() < 0) {
    throw new SqlError(INVALID_ARGUMENT_FOR_POWER, 'zero raised to a negative power is undefined');
  }
  if (isIntegral(exp)) {
    const e = exp.unscaled / pow10(exp.scale);
    if (e >= -2147483648n && e <= 2147483647n) return powerInt(base, Number(e));
  }
  return powerReal(base, exp);
}

function powerSpecial(base: Numeric, exp: Numeric): Numeric {
  if (base.isFinite && base.compare(Numeric.ONE) === 0) return Numeric.ONE;
  if (exp.isFinite && exp.isZero) return Numeric.ONE;
  if (base.isFinite && base.isZero) {
    if (exp.signum() < 0) throw new SqlError(INVALID_ARGUMENT_FOR_POWER, 'zero raised to a negative power is undefined');
    return Numeric.ZERO;
  }
  if (exp.isInfinite) {
    // |base| compared with 1 decides; base -1 gives 1.
    let magnitude: number;
    if (base.isInfinite) magnitude = 1;
    else {
      const c = base.abs().compare(Numeric.ONE);
      if (c === 0) return Numeric.ONE;
      magnitude = c;
    }
    const grows = exp.special === 'Infinity' ? magnitude > 0 : magnitude < 0;
    return grows ? Numeric.Infinity : Numeric.ZERO;
  }
  // base is ±Infinity, exp finite and non-zero.
  if (base.special === 'Infinity') return exp.signum() < 0 ? Numeric.ZERO : Numeric.Infinity;
  if (!isIntegral(exp)) {
    throw new SqlError(INVALID_ARGUMENT_FOR_POWER, 'a negative number raised to a non-integer power yields a complex result');
  }
  if (exp.signum() < 0) return Numeric.ZERO;
  return isOddIntegral(exp) ? Numeric.NegativeInfinity : Numeric.Infinity;
}

/** A value m × 10^e kept to a bounded number of significant digits. */
interface Floating {
  readonly m: bigint;
  readonly e: number;
}

function roundFloating(f: Floating, sig: number): Floating {
  const d = decimalDigits(f.m);
  if (d <= sig) return f;
  return { m: divRound(f.m, pow10(d - sig)), e: f.e + d - sig };
}

/** base^n for an integer n in int32 range: PostgreSQL's power_var_int scale and limits. */
function powerInt(base: Numeric, n: number): Numeric {
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS, base.scale));
  if (n === 0) return Numeric.of(pow10(rscale), rscale);
  if (n === 1) return Numeric.of(rescaleRound(base.unscaled, base.scale, rscale), rscale);
  if (base.isZero) {
    if (n < 0) throw new SqlError(SqlState.divisionByZero, 'division by zero');
    return Numeric.of(0n, rscale);
  }
  // PostgreSQL's estimate of log10 of the result decides overflow and underflow.
  const lead = leadOf(base.unscaled, base.scale);
  let f = lead.first;
  let p = lead.weight * 4;
  const groups = base.toBase10000().digits;
  for (let i = 1; i < groups.length && i * 4 < 16; i++) {
    f = f * 10000 + groups[i]!;
    p -= 4;
  }
  const estimate = n * (Math.log10(f) + p);
  if (estimate > 3 * 32767 * 4) throw overflow();
  if (estimate + 1 < -rscale || estimate + 1 < -MAX_DISPLAY_SCALE) return Numeric.of(0n, rscale);

  // Past the largest storable value: an overflow, as PostgreSQL finds once the weight exceeds int16.
  if (estimate > NUMERIC_MAX_INTEGER_DIGITS + 1) throw overflow();

  const magnitude = Math.abs(n);
  const negativeResult = base.unscaled < 0n && magnitude % 2 === 1;
  const stripped = base.stripTrailingZeros();
  const baseAbs = absBig(stripped.unscaled);
  // Digits of the exact power: n × log10(|unscaled|), rounded up.
  const exactDigits = Math.ceil(magnitude * Math.log10(Number(baseAbs <= SAFE_LIMIT ? baseAbs : 10n ** BigInt(decimalDigits(baseAbs))))) + 1;
  let result: Floating;
  if (exactDigits <= EXACT_POWER_DIGITS) {
    result = { m: baseAbs ** BigInt(magnitude), e: -stripped.scale * magnitude };
  } else {
    // Enough significant digits for every digit down to rscale, plus guard digits for the
    // rounding of each of the ~2 log2(n) multiplications.
    const sig = Math.max(Math.ceil(Math.abs(estimate)) + rscale, 0) + GUARD_DIGITS + 2 * Math.ceil(Math.log10(magnitude + 1));
    let acc: Floating = { m: 1n, e: 0 };
    let sq: Floating = { m: baseAbs, e: -stripped.scale };
    let bits = magnitude;
    while (bits > 0) {
      if (bits & 1) acc = roundFloating({ m: acc.m * sq.m, e: acc.e + sq.e }, sig);
      bits = Math.floor(bits / 2);
      if (bits > 0) sq = roundFloating({ m: sq.m * sq.m, e: sq.e + sq.e }, sig);
      // Past the largest storable value the result overflows (or, for n < 0, is 0).
      if (decimalDigits(acc.m) + acc.e > NUMERIC_MAX_INTEGER_DIGITS + 4 || decimalDigits(sq.m) + sq.e > NUMERIC_MAX_INTEGER_DIGITS + 4) {
        if (n > 0) throw overflow();
        return Numeric.of(0n, rscale);
      }
    }
    result = acc;
  }
  let unscaled: bigint;
  if (n > 0) {
    unscaled = result.e >= 0 ? result.m * pow10(result.e + rscale) : rescaleRound(result.m, -result.e, rscale);
  } else {
    // 1 / (m × 10^e) at rscale = 10^(rscale - e) / m
    const k = rscale - result.e;
    unscaled = k >= 0 ? divRound(pow10(k), result.m) : 0n;
  }
  return Numeric.of(negativeResult ? -unscaled : unscaled, rscale);
}

/** base^exp for a non-integer (or huge integer) exponent: exp(exp × ln(base)). */
function powerReal(base: Numeric, exp: Numeric): Numeric {
  if (base.isZero) return Numeric.of(0n, MIN_SIG_DIGITS);
  let negativeResult = false;
  let b = base;
  if (base.unscaled < 0n) {
    if (!isIntegral(exp)) {
      throw new SqlError(INVALID_ARGUMENT_FOR_POWER, 'a negative number raised to a non-integer power yields a complex result');
    }
    negativeResult = isOddIntegral(exp);
    b = base.neg();
  }
  // A low-precision exp × ln(base) picks the result scale, as PostgreSQL does.
  const lnWeight = estimateLnDweight(b);
  const lowScale = clampScale(8 - lnWeight);
  const lnLow = Numeric.of(rescaleRound(lnFixed(b.unscaled, b.scale, lowScale + 8), lowScale + 8, lowScale), lowScale);
  const product = lnLow.mul(exp);
  const lnResultLow = product.round(lowScale).toNumber();
  if (Math.abs(lnResultLow) > MAX_RESULT_SCALE * 3.01) {
    if (lnResultLow > 0) throw overflow();
    return Numeric.of(0n, MAX_DISPLAY_SCALE);
  }
  const val = lnResultLow * 0.434294481903252;
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS - Math.trunc(val), b.scale, exp.scale));
  // The exponent y ln(b) needs absolute precision finer than the result's relative precision.
  const expIntDigits = Math.max(leadExponent(exp.unscaled, exp.scale) + 1, 0);
  const p = Math.max(Math.ceil(val) + rscale, 0) + GUARD_DIGITS + 8;
  const lnPrecision = p + expIntDigits + 2;
  const ln = lnFixed(b.unscaled, b.scale, lnPrecision);
  // y × ln(b) at precision p
  const yl = divRound(ln * exp.unscaled, pow10(exp.scale + lnPrecision - p));
  const approx = Number(yl / pow10(Math.max(p - 17, 0))) / 10 ** Math.min(p, 17);
  if (Math.abs(approx) >= EXP_ARGUMENT_LIMIT) {
    if (approx > 0) throw overflow();
    return Numeric.of(0n, rscale);
  }
  const u = expFixedToScale(yl, p, rscale);
  return Numeric.of(negativeResult ? -u : u, rscale);
}
