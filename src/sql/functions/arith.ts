// Arithmetic on SQL numbers with PostgreSQL's results and errors: integers are checked for overflow
// in their own width (int2, int4 as JS numbers; int8 as bigint), floats raise on overflow instead
// of producing Infinity from finite operands, and division by zero is an error for every type.
import { SqlError, SqlState } from '../errors.js';
import { Numeric } from '../types/numeric.js';

export const INT2_MIN = -32768;
export const INT2_MAX = 32767;
export const INT4_MIN = -2147483648;
export const INT4_MAX = 2147483647;
export const INT8_MIN = -(1n << 63n);
export const INT8_MAX = (1n << 63n) - 1n;

const int2Range = new SqlError(SqlState.numericValueOutOfRange, 'smallint out of range');
const int4Range = new SqlError(SqlState.numericValueOutOfRange, 'integer out of range');
const int8Range = new SqlError(SqlState.numericValueOutOfRange, 'bigint out of range');

export function checkInt2(v: number): number {
  if (v < INT2_MIN || v > INT2_MAX) throw int2Range;
  return v;
}

export function checkInt4(v: number): number {
  if (v < INT4_MIN || v > INT4_MAX) throw int4Range;
  return v;
}

export function checkInt8(v: bigint): bigint {
  if (v < INT8_MIN || v > INT8_MAX) throw int8Range;
  return v;
}

export function divisionByZero(): SqlError {
  return new SqlError(SqlState.divisionByZero, 'division by zero');
}

export function checkFloat(result: number, ...inputs: number[]): number {
  if (!Number.isFinite(result) && !Number.isNaN(result) && inputs.every((x) => Number.isFinite(x))) {
    throw new SqlError(SqlState.numericValueOutOfRange, 'value out of range: overflow');
  }
  return result;
}

export function checkFloat4(result: number, ...inputs: number[]): number {
  const r = Math.fround(result);
  if (!Number.isFinite(r) && !Number.isNaN(r) && inputs.every((x) => Number.isFinite(x))) {
    throw new SqlError(SqlState.numericValueOutOfRange, 'value out of range: overflow');
  }
  return r;
}

export type IntWidth = 2 | 4;

export function intCheck(width: IntWidth): (v: number) => number {
  return width === 2 ? checkInt2 : checkInt4;
}

// ---- small integers (int2, int4) -----------------------------------------------------------------------

export function intAdd(width: IntWidth): (a: number, b: number) => number {
  const check = intCheck(width);
  return (a, b) => check(a + b);
}

export function intSub(width: IntWidth): (a: number, b: number) => number {
  const check = intCheck(width);
  return (a, b) => check(a - b);
}

export function intMul(width: IntWidth): (a: number, b: number) => number {
  const check = intCheck(width);
  // Products of two int4 values can exceed 2^53; compute those exactly.
  return (a, b) => {
    const p = a * b;
    if (Number.isSafeInteger(p)) return check(p);
    const exact = BigInt(a) * BigInt(b);
    if (exact < BigInt(INT4_MIN) || exact > BigInt(INT4_MAX)) throw width === 2 ? int2Range : int4Range;
    return Number(exact);
  };
}

export function intDiv(width: IntWidth): (a: number, b: number) => number {
  const check = intCheck(width);
  return (a, b) => {
    if (b === 0) throw divisionByZero();
    return check(Math.trunc(a / b));
  };
}

export function intMod(a: number, b: number): number {
  if (b === 0) throw divisionByZero();
  const r = a % b;
  return r === 0 ? 0 : r; // no -0
}

// ---- int8 -------------------------------------------------------------------------------------------------

export const int8Add = (a: bigint, b: bigint): bigint => checkInt8(a + b);
export const int8Sub = (a: bigint, b: bigint): bigint => checkInt8(a - b);
export const int8Mul = (a: bigint, b: bigint): bigint => checkInt8(a * b);
export function int8Div(a: bigint, b: bigint): bigint {
  if (b === 0n) throw divisionByZero();
  return checkInt8(a / b);
}
export function int8Mod(a: bigint, b: bigint): bigint {
  if (b === 0n) throw divisionByZero();
  return a % b;
}

// ---- floats -----------------------------------------------------------------------------------------------

export function floatDiv(a: number, b: number): number {
  if (b === 0) throw divisionByZero();
  return checkFloat(a / b, a, b);
}

export function floatPow(a: number, b: number): number {
  if (a === 0 && b < 0) throw new SqlError(SqlState.invalidArgumentForPowerFunction, 'zero raised to a negative power is undefined');
  if (a < 0 && !Number.isInteger(b)) throw new SqlError(SqlState.invalidArgumentForPowerFunction, 'a negative number raised to a non-integer power yields a complex result');
  return checkFloat(Math.pow(a, b), a, b);
}

// ---- numeric ----------------------------------------------------------------------------------------------

export function numericDiv(a: Numeric, b: Numeric): Numeric {
  return a.div(b);
}

// ---- conversions used by mixed arithmetic -----------------------------------------------------------------

export function toBigInt(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

/** Rounds half to even, as PostgreSQL's float-to-integer casts (rint) do. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}
