// float4 (real) and float8 (double precision) text I/O as PostgreSQL 15 does it. Output with
// extra_float_digits ≥ 1 (the default) is the shortest text that reads back to the same value;
// with extra_float_digits ≤ 0 it is C's %.{15 + efd}g (float8) or %.{6 + efd}g (float4). Input is
// strtod's syntax (decimal, hexadecimal, inf, infinity, nan, any case, surrounding spaces); values
// that overflow, or underflow to zero, are out of range. float4 values are float8 numbers rounded
// to single precision (Math.fround), since that is their in-memory form.
import { SqlError, SqlState } from '../errors.js';

/** Significant digits %g uses for extra_float_digits = 0 (DBL_DIG and FLT_DIG). */
const FLOAT8_DIGITS = 15;
const FLOAT4_DIGITS = 6;
/** Longest float text input parsed; longer inputs are refused before any parsing work. */
export const FLOAT_MAX_INPUT_LENGTH = 4096;

export type FloatWidth = 4 | 8;

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

function typeName(width: FloatWidth): string {
  return width === 8 ? 'double precision' : 'real';
}

function invalid(width: FloatWidth, text: string): SqlError {
  return new SqlError(SqlState.invalidTextRepresentation, `invalid input syntax for type ${typeName(width)}: "${text}"`);
}

function outOfRange(width: FloatWidth, token: string): SqlError {
  return new SqlError(SqlState.numericValueOutOfRange, `"${token}" is out of range for type ${typeName(width)}`);
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;
const SPECIAL = /^([+-]?)(?:(inf|infinity)|nan(?:\([0-9A-Za-z_]*\))?)$/i;

/** float8in: text to a double. */
export function parseFloat8(text: string): number {
  return parseFloat(text, 8);
}

/** float4in: text to a double holding a single-precision value. */
export function parseFloat4(text: string): number {
  return parseFloat(text, 4);
}

function parseFloat(text: string, width: FloatWidth): number {
  if (text.length > FLOAT_MAX_INPUT_LENGTH) throw invalid(width, text);
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  const token = text.slice(start, end);
  if (token.length === 0) throw invalid(width, text);
  const special = SPECIAL.exec(token);
  if (special !== null) {
    if (special[2] === undefined) return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  let value: number;
  let nonZero: boolean;
  if (DECIMAL.test(token)) {
    value = Number(token);
    nonZero = /[1-9]/.test(mantissaPart(token));
    if (width === 4) value = decimalToFloat4(token, value);
  } else {
    const hex = HEX.exec(token);
    if (hex === null || (hex[2] === '' && (hex[3] ?? '') === '')) throw invalid(width, text);
    const digits = (hex[2] ?? '') + (hex[3] ?? '');
    const mantissa = BigInt(`0x${digits === '' ? '0' : digits}`);
    nonZero = mantissa !== 0n;
    const exp2 = Number(hex[4] ?? '0') - 4 * (hex[3] ?? '').length;
    value = scaleByPowerOfTwo(mantissa, exp2);
    if (width === 4) value = Math.fround(value);
    if (hex[1] === '-') value = -value;
  }
  // float8in quotes the number it read, float4in the whole input.
  if (!Number.isFinite(value) || (value === 0 && nonZero)) throw outOfRange(width, width === 8 ? token : text);
  return value;
}

function mantissaPart(token: string): string {
  const e = token.search(/[eE]/);
  return e < 0 ? token : token.slice(0, e);
}

/** mantissa × 2^exp2 as a double: exact for normal results, to within an ulp for subnormal ones. */
function scaleByPowerOfTwo(mantissa: bigint, exp2: number): number {
  if (mantissa === 0n) return 0;
  const bits = mantissa.toString(2).length;
  if (bits + exp2 > 1025) return Infinity;
  if (bits + exp2 < -1080) return 0;
  let m = mantissa;
  let e = exp2;
  if (bits > 64) {
    // Sticky low bit keeps the rounding of the dropped bits honest.
    const drop = BigInt(bits - 64);
    const kept = m >> drop;
    m = (kept << 1n) | (kept << drop === m ? 0n : 1n);
    e += bits - 65;
  }
  let r = Number(m);
  while (e > 0) {
    const k = Math.min(e, 1000);
    r *= 2 ** k;
    e -= k;
  }
  while (e < 0) {
    const k = Math.min(-e, 1000);
    r /= 2 ** k;
    e += k;
  }
  return r;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The float4 next to `f` (finite) in the direction of `towards`. */
function nextFloat4(f: number, towards: number): number {
  if (f === towards) return f;
  F32[0] = f;
  if (f === 0) {
    U32[0] = 1;
    return towards > 0 ? F32[0]! : -F32[0]!;
  }
  const up = (towards > f) === (f > 0);
  U32[0] = up ? U32[0]! + 1 : U32[0]! - 1;
  return F32[0]!;
}

/**
 * The float4 nearest to a decimal string. Rounding to double first and then to single precision
 * is wrong only when the double lands exactly half-way between two floats; then the decimal is
 * compared exactly with that midpoint.
 */
function decimalToFloat4(token: string, asDouble: number): number {
  const f = Math.fround(asDouble);
  if (f === asDouble || !Number.isFinite(f) || !Number.isFinite(asDouble)) return f;
  const other = nextFloat4(f, asDouble);
  if (!Number.isFinite(other) || (f + other) / 2 !== asDouble) return f;
  const c = compareDecimalWithDouble(token, asDouble);
  if (c === 0) return f;
  // Above the midpoint in magnitude rounds away from zero, below it towards zero.
  const away = Math.abs(f) > Math.abs(other) ? f : other;
  const toward = away === f ? other : f;
  return (c > 0) === (asDouble > 0) ? away : toward;
}

/** Sign of (decimal text − double), both finite. */
function compareDecimalWithDouble(token: string, d: number): number {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(token);
  if (m === null) return 0;
  const negative = m[1] === '-';
  const digits = `${m[2] ?? ''}${m[3] ?? ''}`;
  let num = BigInt(digits === '' ? '0' : digits);
  if (negative) num = -num;
  const exp10 = Number(m[4] ?? '0') - (m[3] ?? '').length;
  const { mantissa, exp2 } = decomposeDouble(Math.abs(d));
  const dm = d < 0 ? -mantissa : mantissa;
  // num × 10^exp10 vs dm × 2^exp2, cross-multiplied into integers.
  let left = num;
  let right = dm;
  if (exp10 >= 0) left *= pow10(exp10);
  else right *= pow10(-exp10);
  if (exp2 >= 0) right <<= BigInt(exp2);
  else left <<= BigInt(-exp2);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** float8out */
export function formatFloat8(v: number, extraFloatDigits = 1): string {
  return formatFloat(v, 8, extraFloatDigits);
}

/** float4out; `v` holds a single-precision value. */
export function formatFloat4(v: number, extraFloatDigits = 1): string {
  return formatFloat(v, 4, extraFloatDigits);
}

function formatFloat(v: number, width: FloatWidth, extraFloatDigits: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  if (extraFloatDigits > 0) {
    const { digits, exponent } = width === 8 ? shortestFloat8(v) : shortestFloat4(v);
    return layoutShortest(v < 0, digits, exponent, width === 8 ? FLOAT8_DIGITS : FLOAT4_DIGITS);
  }
  const precision = Math.max((width === 8 ? FLOAT8_DIGITS : FLOAT4_DIGITS) + extraFloatDigits, 1);
  return formatG(v, precision);
}

/**
 * Shortest digits of a double as PostgreSQL's Ryu prints them: the shortest decimal strictly inside
 * the value's rounding interval, the nearest one if several. ECMAScript's shortest form is the
 * same except that it may sit exactly on the interval's edge (it counts ties to even as reading
 * back); only then is the exact search needed.
 */
function shortestFloat8(v: number): { digits: string; exponent: number } {
  const a = Math.abs(v);
  const quick = splitExponential(a.toExponential());
  const c = BigInt(quick.digits);
  const q = quick.exponent - quick.digits.length + 1;
  // c × 10^q can equal an edge (a dyadic rational) only if it is an integer and the value is at
  // least 2^53, or if 5^-q divides c.
  const onEdgePossible = q >= 0 ? a >= 2 ** 53 : q >= -25 && c % 5n ** BigInt(-q) === 0n;
  return onEdgePossible ? shortestInsideInterval(a, 8) : quick;
}

function shortestFloat4(v: number): { digits: string; exponent: number } {
  return shortestInsideInterval(Math.abs(v), 4);
}

/** A positive finite value's exact interval of decimals that read back as it: (low, high) × 2^exp2. */
interface RoundingInterval {
  readonly value: bigint;
  readonly low: bigint;
  readonly high: bigint;
  readonly exp2: number;
}

function roundingInterval(a: number, width: FloatWidth): RoundingInterval {
  let mantissa: bigint;
  let exp2: number;
  let lowerGapHalved: boolean;
  if (width === 8) {
    const d = decomposeDouble(a);
    mantissa = d.mantissa;
    exp2 = d.exp2;
    // At a power of two the next value down is half as far away.
    lowerGapHalved = mantissa === 1n << 52n && exp2 > -1074;
  } else {
    F32[0] = a;
    const bits = U32[0]!;
    const biased = bits >>> 23;
    const frac = bits & 0x7fffff;
    mantissa = BigInt(biased === 0 ? frac : frac | 0x800000);
    exp2 = biased === 0 ? -149 : biased - 150;
    lowerGapHalved = frac === 0 && biased > 1;
  }
  // Two extra bits make the half-gaps integers: value 4m, edges 4m + 2 and 4m - 2 (or 4m - 1).
  return { value: 4n * mantissa, high: 4n * mantissa + 2n, low: 4n * mantissa - (lowerGapHalved ? 1n : 2n), exp2: exp2 - 2 };
}

/** Sign of (n × 2^e) − (c × 10^q). */
function compareScaled(n: bigint, e: number, c: bigint, q: number): number {
  let left = n;
  let right = c;
  if (e >= 0) left <<= BigInt(e);
  else right <<= BigInt(-e);
  if (q >= 0) right *= pow10(q);
  else left *= pow10(-q);
  return left < right ? -1 : left > right ? 1 : 0;
}

function shortestInsideInterval(a: number, width: FloatWidth): { digits: string; exponent: number } {
  const iv = roundingInterval(a, width);
  // Exponent of the leading digit, from the estimate corrected exactly.
  let x = Math.floor(Math.log10(a));
  if (compareScaled(iv.value, iv.exp2, 1n, x) < 0) x--;
  else if (compareScaled(iv.value, iv.exp2, 1n, x + 1) >= 0) x++;
  const inside = (c: bigint, q: number): boolean => compareScaled(iv.low, iv.exp2, c, q) < 0 && compareScaled(iv.high, iv.exp2, c, q) > 0;
  for (let p = 1; p <= 17; p++) {
    const q = x - p + 1;
    // t = floor(value / 10^q)
    let num = iv.value;
    let den = 1n;
    if (iv.exp2 >= 0) num <<= BigInt(iv.exp2);
    else den <<= BigInt(-iv.exp2);
    if (q >= 0) den *= pow10(q);
    else num *= pow10(-q);
    const t = num / den;
    const lowIn = inside(t, q);
    const highIn = inside(t + 1n, q);
    if (!lowIn && !highIn) continue;
    let c: bigint;
    if (lowIn && highIn) {
      // The nearer of the two; on an exact tie the even one.
      const twice = 2n * num;
      const mid = (2n * t + 1n) * den;
      c = twice < mid ? t : twice > mid ? t + 1n : t % 2n === 0n ? t : t + 1n;
    } else {
      c = lowIn ? t : t + 1n;
    }
    const text = c.toString();
    return { digits: text.replace(/0+$/, '') || '0', exponent: q + text.length - 1 };
  }
  // Unreachable for finite values: 17 digits always fit inside the interval.
  return splitExponential(a.toExponential(16));
}

/** "1.2345e+7" → digits "12345", exponent 7 (trailing zeros dropped). */
function splitExponential(text: string): { digits: string; exponent: number } {
  const e = text.indexOf('e');
  const mantissa = text.slice(0, e).replace('.', '');
  return { digits: mantissa.replace(/0+$/, '') || '0', exponent: Number(text.slice(e + 1)) };
}

/** PostgreSQL's layout of shortest digits: fixed notation for exponents in [-4, limit). */
function layoutShortest(negative: boolean, digits: string, exponent: number, limit: number): string {
  const sign = negative ? '-' : '';
  if (exponent >= -4 && exponent < limit) return sign + fixedNotation(digits, exponent);
  return sign + scientificNotation(digits, exponent);
}

function fixedNotation(digits: string, exponent: number): string {
  if (exponent < 0) return `0.${'0'.repeat(-exponent - 1)}${digits}`;
  if (digits.length <= exponent + 1) return digits.padEnd(exponent + 1, '0');
  return `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
}

function scientificNotation(digits: string, exponent: number): string {
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const magnitude = Math.abs(exponent);
  return `${mantissa}e${exponent < 0 ? '-' : '+'}${magnitude < 10 ? '0' : ''}${magnitude}`;
}

/** C's printf("%.{precision}g"): exact decimal value rounded half to even, trailing zeros removed. */
export function formatG(v: number, precision: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const { digits, exponent } = roundDoubleToDigits(v, precision);
  // digits has `precision` digits; the value's leading exponent is exponent + precision - 1.
  const x = exponent + precision - 1;
  const trimmed = digits.toString().replace(/0+$/, '') || '0';
  const sign = v < 0 ? '-' : '';
  if (x >= -4 && x < precision) return sign + fixedNotation(trimmed, x);
  return sign + scientificNotation(trimmed, x);
}

/**
 * The exact decimal expansion of a finite non-zero double rounded to `digits` significant digits
 * half to even (as C's printf rounds): |v| ≈ digits × 10^exponent.
 */
export function roundDoubleToDigits(v: number, significant: number): { digits: bigint; exponent: number } {
  const { mantissa, exp2 } = decomposeDouble(Math.abs(v));
  // |v| = mantissa × 2^exp2 = num / den exactly.
  let num = mantissa;
  let den = 1n;
  if (exp2 >= 0) num <<= BigInt(exp2);
  else den <<= BigInt(-exp2);
  // Find e10 with 10^(significant-1) ≤ num / den × 10^-e10 < 10^significant.
  let e10 = Math.floor(Math.log10(Math.abs(v))) - significant + 1;
  for (;;) {
    const scaledNum = e10 >= 0 ? num : num * pow10(-e10);
    const scaledDen = e10 >= 0 ? den * pow10(e10) : den;
    let q = scaledNum / scaledDen;
    const r = scaledNum - q * scaledDen;
    if (q >= pow10(significant)) {
      e10++;
      continue;
    }
    if (q < pow10(significant - 1)) {
      e10--;
      continue;
    }
    const twice = 2n * r;
    if (twice > scaledDen || (twice === scaledDen && (q & 1n) === 1n)) q++;
    if (q === pow10(significant)) return { digits: q / 10n, exponent: e10 + 1 };
    return { digits: q, exponent: e10 };
  }
}

/** A finite positive double as mantissa × 2^exp2 with an integer mantissa. */
export function decomposeDouble(v: number): { mantissa: bigint; exp2: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return { mantissa: frac, exp2: -1074 };
  return { mantissa: frac | (1n << 52n), exp2: biased - 1075 };
}
