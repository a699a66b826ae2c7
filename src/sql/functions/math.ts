// Mathematical functions (PostgreSQL's "Mathematical Functions and Operators" table): each with
// the overloads PostgreSQL declares for int2/int4/int8, float4/float8 and numeric, the result type
// it declares, and its argument errors. float8 results that overflow from finite inputs raise
// 22003 as PostgreSQL's float checks do, instead of turning into Infinity.
import { SqlError, SqlState } from '../errors.js';
import { SqlArray, type Datum } from '../types/datum.js';
import { compareDatums } from '../types/compare.js';
import { Numeric } from '../types/numeric.js';
import { Oid, Types } from '../types/oids.js';
import type { EvalContext } from '../plan/bound.js';
import { checkInt2, checkInt4, checkInt8, INT4_MAX, INT4_MIN, intMod, int8Mod, roundHalfEven } from './arith.js';
import { defineScalar, type ScalarOverload } from './registry.js';

/** SQLSTATE of width_bucket's argument errors (invalid_argument_for_width_bucket_function). */
const INVALID_ARGUMENT_FOR_WIDTH_BUCKET = '2201G';
/**
 * factorial(n) for n above this has more digits than a numeric may hold before its point
 * (PostgreSQL refuses the same n).
 */
const FACTORIAL_MAX_ARGUMENT = 32177;

const overflowError = (): SqlError => new SqlError(SqlState.numericValueOutOfRange, 'value out of range: overflow');
const underflowError = (): SqlError => new SqlError(SqlState.numericValueOutOfRange, 'value out of range: underflow');
const inputOutOfRange = (): SqlError => new SqlError(SqlState.numericValueOutOfRange, 'input is out of range');

/** Infinity from finite operands is an overflow (PostgreSQL's float_overflow_error). */
function finiteOrOverflow(result: number, ...inputs: number[]): number {
  if (Number.isFinite(result) || Number.isNaN(result) || !inputs.every(Number.isFinite)) return result;
  throw overflowError();
}

const f8 = (fn: (x: number) => number): ScalarOverload => ({ params: [Oid.float8], returns: Types.float8, impl: (a) => fn(a[0] as number) });
const num = (fn: (x: Numeric) => Datum): ScalarOverload => ({ params: [Oid.numeric], returns: Types.numeric, impl: (a) => fn(a[0] as Numeric) });

// ---- absolute value, rounding, sign ----------------------------------------------------------------------

defineScalar(
  'abs',
  { params: [Oid.int2], returns: Types.int2, impl: (a) => checkInt2(Math.abs(a[0] as number)) },
  { params: [Oid.int4], returns: Types.int4, impl: (a) => checkInt4(Math.abs(a[0] as number)) },
  { params: [Oid.int8], returns: Types.int8, impl: (a) => checkInt8((a[0] as bigint) < 0n ? -(a[0] as bigint) : (a[0] as bigint)) },
  { params: [Oid.float4], returns: Types.float4, impl: (a) => Math.abs(a[0] as number) },
  f8(Math.abs),
  num((x) => x.abs()),
);

for (const name of ['ceil', 'ceiling']) defineScalar(name, f8(Math.ceil), num((x) => x.ceil()));
defineScalar('floor', f8(Math.floor), num((x) => x.floor()));

/** Scale arguments of round/trunc: PostgreSQL's int4 parameter, clamped by Numeric itself. */
const scaleArg = (v: Datum): number => v as number;

defineScalar(
  'round',
  // float8 round is C's rint(): halves go to the even neighbour.
  f8(roundHalfEven),
  num((x) => x.round(0)),
  { params: [Oid.numeric, Oid.int4], returns: Types.numeric, impl: (a) => (a[0] as Numeric).round(scaleArg(a[1]!)) },
);

defineScalar(
  'trunc',
  f8(Math.trunc),
  num((x) => x.trunc(0)),
  { params: [Oid.numeric, Oid.int4], returns: Types.numeric, impl: (a) => (a[0] as Numeric).trunc(scaleArg(a[1]!)) },
);

// dsign: NaN (neither above nor below zero) gives 0, as does -0.
defineScalar(
  'sign',
  f8((x) => (x > 0 ? 1 : x < 0 ? -1 : 0)),
  num((x) => x.sign()),
);

// ---- roots, exponentials, logarithms --------------------------------------------------------------------

defineScalar(
  'sqrt',
  f8((x) => {
    if (x < 0) throw new SqlError(SqlState.invalidArgumentForPowerFunction, 'cannot take square root of a negative number');
    return Math.sqrt(x);
  }),
  num((x) => x.sqrt()),
);

defineScalar('cbrt', f8(Math.cbrt));

function float8Exp(x: number): number {
  if (Number.isNaN(x)) return x;
  if (!Number.isFinite(x)) return x > 0 ? x : 0;
  const r = Math.exp(x);
  if (!Number.isFinite(r)) throw overflowError();
  if (r === 0) throw underflowError();
  return r;
}

defineScalar('exp', f8(float8Exp), num((x) => x.exp()));

function checkFloatLogArgument(x: number): void {
  if (x === 0) throw new SqlError(SqlState.invalidArgumentForLogarithm, 'cannot take logarithm of zero');
  if (x < 0) throw new SqlError(SqlState.invalidArgumentForLogarithm, 'cannot take logarithm of a negative number');
}

const float8Log = (log: (x: number) => number) => (x: number): number => {
  checkFloatLogArgument(x);
  return log(x);
};

defineScalar('ln', f8(float8Log(Math.log)), num((x) => x.ln()));
defineScalar('log10', f8(float8Log(Math.log10)), num((x) => x.log10()));
defineScalar(
  'log',
  f8(float8Log(Math.log10)),
  num((x) => x.log10()),
  { params: [Oid.numeric, Oid.numeric], returns: Types.numeric, impl: (a) => (a[1] as Numeric).logBase(a[0] as Numeric) },
);

/** pow() as C99 defines it for the special values (pow(1, NaN) = 1, pow(-1, ±Inf) = 1), with PostgreSQL's errors. */
export function float8Power(base: number, exponent: number): number {
  if (Number.isNaN(base)) return exponent === 0 ? 1 : NaN;
  if (Number.isNaN(exponent)) return base === 1 ? 1 : NaN;
  if (base === 0 && exponent < 0) {
    throw new SqlError(SqlState.invalidArgumentForPowerFunction, 'zero raised to a negative power is undefined');
  }
  if (base < 0 && Number.isFinite(base) && Number.isFinite(exponent) && !Number.isInteger(exponent)) {
    throw new SqlError(SqlState.invalidArgumentForPowerFunction, 'a negative number raised to a non-integer power yields a complex result');
  }
  if (Math.abs(base) === 1 && !Number.isFinite(exponent)) return 1;
  const r = Math.pow(base, exponent);
  if (!Number.isFinite(r) && Number.isFinite(base) && Number.isFinite(exponent)) throw overflowError();
  if (r === 0 && base !== 0 && Number.isFinite(base) && Number.isFinite(exponent)) throw underflowError();
  return r;
}

for (const name of ['power', 'pow']) {
  defineScalar(
    name,
    { params: [Oid.float8, Oid.float8], returns: Types.float8, impl: (a) => float8Power(a[0] as number, a[1] as number) },
    { params: [Oid.numeric, Oid.numeric], returns: Types.numeric, impl: (a) => (a[0] as Numeric).power(a[1] as Numeric) },
  );
}

// ---- integer division and remainders ------------------------------------------------------------------

defineScalar(
  'mod',
  { params: [Oid.int2, Oid.int2], returns: Types.int2, impl: (a) => intMod(a[0] as number, a[1] as number) },
  { params: [Oid.int4, Oid.int4], returns: Types.int4, impl: (a) => intMod(a[0] as number, a[1] as number) },
  { params: [Oid.int8, Oid.int8], returns: Types.int8, impl: (a) => int8Mod(a[0] as bigint, a[1] as bigint) },
  { params: [Oid.numeric, Oid.numeric], returns: Types.numeric, impl: (a) => (a[0] as Numeric).mod(a[1] as Numeric) },
);

defineScalar('div', { params: [Oid.numeric, Oid.numeric], returns: Types.numeric, impl: (a) => (a[0] as Numeric).divTrunc(a[1] as Numeric) });

function bigGcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

function bigLcm(x: bigint, y: bigint): bigint {
  if (x === 0n || y === 0n) return 0n;
  const l = (x / bigGcd(x, y)) * y;
  return l < 0n ? -l : l;
}

/** The result must fit the arguments' width: gcd(INT_MIN, 0) = 2^31 does not fit an int4. */
function checkInt4Big(v: bigint): number {
  if (v < BigInt(INT4_MIN) || v > BigInt(INT4_MAX)) throw new SqlError(SqlState.numericValueOutOfRange, 'integer out of range');
  return Number(v);
}

/** gcd of two finite numerics at the larger of their scales (PostgreSQL computes it on the scaled digits). */
function numericGcd(x: Numeric, y: Numeric): Numeric {
  if (!x.isFinite || !y.isFinite) return Numeric.NaN;
  const s = Math.max(x.scale, y.scale);
  const ux = x.unscaled * 10n ** BigInt(s - x.scale);
  const uy = y.unscaled * 10n ** BigInt(s - y.scale);
  return Numeric.of(bigGcd(ux, uy), s);
}

function numericLcm(x: Numeric, y: Numeric): Numeric {
  if (!x.isFinite || !y.isFinite) return Numeric.NaN;
  const s = Math.max(x.scale, y.scale);
  if (x.isZero || y.isZero) return Numeric.of(0n, s);
  const ux = x.unscaled * 10n ** BigInt(s - x.scale);
  const uy = y.unscaled * 10n ** BigInt(s - y.scale);
  const l = (ux / bigGcd(ux, uy)) * uy;
  return Numeric.of(l < 0n ? -l : l, s);
}

defineScalar(
  'gcd',
  { params: [Oid.int4, Oid.int4], returns: Types.int4, impl: (a) => checkInt4Big(bigGcd(BigInt(a[0] as number), BigInt(a[1] as number))) },
  { params: [Oid.int8, Oid.int8], returns: Types.int8, impl: (a) => checkInt8(bigGcd(a[0] as bigint, a[1] as bigint)) },
  { params: [Oid.numeric, Oid.numeric], returns: Types.numeric, impl: (a) => numericGcd(a[0] as Numeric, a[1] as Numeric) },
);
defineScalar(
  'lcm',
  { params: [Oid.int4, Oid.int4], returns: Types.int4, impl: (a) => checkInt4Big(bigLcm(BigInt(a[0] as number), BigInt(a[1] as number))) },
  { params: [Oid.int8, Oid.int8], returns: Types.int8, impl: (a) => checkInt8(bigLcm(a[0] as bigint, a[1] as bigint)) },
  { params: [Oid.numeric, Oid.numeric], returns: Types.numeric, impl: (a) => numericLcm(a[0] as Numeric, a[1] as Numeric) },
);

defineScalar('factorial', {
  params: [Oid.int8],
  returns: Types.numeric,
  impl: (a) => {
    const n = a[0] as bigint;
    if (n < 0n) throw new SqlError(SqlState.numericValueOutOfRange, 'factorial of a negative number is undefined');
    if (n > BigInt(FACTORIAL_MAX_ARGUMENT)) throw new SqlError(SqlState.numericValueOutOfRange, 'value overflows numeric format');
    let product = 1n;
    for (let i = 2n; i <= n; i++) product *= i;
    return Numeric.fromBigInt(product);
  },
});

// ---- scale inspection -------------------------------------------------------------------------------------

defineScalar('scale', { params: [Oid.numeric], returns: Types.int4, impl: (a) => ((a[0] as Numeric).isFinite ? (a[0] as Numeric).scale : null) });
defineScalar('min_scale', {
  params: [Oid.numeric],
  returns: Types.int4,
  impl: (a) => {
    const x = a[0] as Numeric;
    return x.isFinite ? x.stripTrailingZeros().scale : null;
  },
});
defineScalar('trim_scale', num((x) => x.stripTrailingZeros()));

// ---- constants, angles, trigonometry ----------------------------------------------------------------------

defineScalar('pi', { params: [], returns: Types.float8, impl: () => Math.PI });
defineScalar('degrees', f8((x) => finiteOrOverflow(x * (180 / Math.PI), x)));
defineScalar('radians', f8((x) => finiteOrOverflow(x * (Math.PI / 180), x)));

/** sin, cos, tan, cot: an infinite argument has no value (NaN passes through). */
const periodic = (fn: (x: number) => number) =>
  f8((x) => {
    if (Number.isNaN(x)) return x;
    if (!Number.isFinite(x)) throw inputOutOfRange();
    return fn(x);
  });

defineScalar('sin', periodic(Math.sin));
defineScalar('cos', periodic(Math.cos));
// tan(pi/2) and cot(0) are legitimately infinite: no overflow check (as in PostgreSQL).
defineScalar('tan', periodic(Math.tan));
defineScalar('cot', periodic((x) => 1 / Math.tan(x)));

const inverseUnit = (fn: (x: number) => number) =>
  f8((x) => {
    if (Number.isNaN(x)) return x;
    if (x < -1 || x > 1) throw inputOutOfRange();
    return fn(x);
  });
defineScalar('asin', inverseUnit(Math.asin));
defineScalar('acos', inverseUnit(Math.acos));
defineScalar('atan', f8(Math.atan));
defineScalar('atan2', { params: [Oid.float8, Oid.float8], returns: Types.float8, impl: (a) => Math.atan2(a[0] as number, a[1] as number) });

// Hyperbolic functions: an overflowing sinh/cosh is ±Infinity, not an error (PostgreSQL's choice).
defineScalar('sinh', f8(Math.sinh));
defineScalar('cosh', f8(Math.cosh));
defineScalar('tanh', f8(Math.tanh));
defineScalar('asinh', f8(Math.asinh));
defineScalar(
  'acosh',
  f8((x) => {
    if (x < 1) throw inputOutOfRange();
    return Math.acosh(x);
  }),
);
defineScalar(
  'atanh',
  f8((x) => {
    if (x < -1 || x > 1) throw inputOutOfRange();
    return Math.atanh(x);
  }),
);

// ---- random numbers ---------------------------------------------------------------------------------------

/** The session's seeded generator when the executor provides one (ExecContext.random), else Math.random. */
function sessionRandom(ctx: EvalContext): number {
  const withRandom = ctx as EvalContext & { readonly random?: () => number };
  return typeof withRandom.random === 'function' ? withRandom.random() : Math.random();
}

defineScalar('random', { params: [], returns: Types.float8, volatile: true, impl: (_a, ctx) => sessionRandom(ctx) });

// The seed cannot reach the session's generator through EvalContext, so setseed only validates.
defineScalar('setseed', {
  params: [Oid.float8],
  returns: Types.void,
  volatile: true,
  impl: (a) => {
    const seed = a[0] as number;
    if (!(seed >= -1 && seed <= 1)) {
      throw new SqlError(SqlState.invalidParameterValue, `setseed parameter ${seed} is out of allowed range [-1,1]`);
    }
    return null;
  },
});

// ---- width_bucket -----------------------------------------------------------------------------------------

function widthBucketError(message: string): SqlError {
  return new SqlError(INVALID_ARGUMENT_FOR_WIDTH_BUCKET, message);
}

function bucketPastEnd(count: number): number {
  if (count + 1 > INT4_MAX) throw new SqlError(SqlState.numericValueOutOfRange, 'integer out of range');
  return count + 1;
}

function float8WidthBucket(operand: number, low: number, high: number, count: number): number {
  if (count <= 0) throw widthBucketError('count must be greater than zero');
  if (Number.isNaN(operand) || Number.isNaN(low) || Number.isNaN(high)) throw widthBucketError('operand, lower bound, and upper bound cannot be NaN');
  if (!Number.isFinite(low) || !Number.isFinite(high)) throw widthBucketError('lower and upper bounds must be finite');
  if (low === high) throw widthBucketError('lower bound cannot equal upper bound');
  const ascending = low < high;
  if (ascending ? operand < low : operand > low) return 0;
  if (ascending ? operand >= high : operand <= high) return bucketPastEnd(count);
  // Halving both sides keeps a span wider than the float8 range finite.
  const span = high - low;
  const fraction = Number.isFinite(span) ? (operand - low) / span : (operand / 2 - low / 2) / (high / 2 - low / 2);
  // Rounding may make the fraction 1.0; the operand is still inside the last bucket.
  return Math.min(Math.trunc(count * fraction), count - 1) + 1;
}

function numericWidthBucket(operand: Numeric, low: Numeric, high: Numeric, count: number): number {
  if (count <= 0) throw widthBucketError('count must be greater than zero');
  if (operand.isNaN || low.isNaN || high.isNaN) throw widthBucketError('operand, lower bound, and upper bound cannot be NaN');
  if (!low.isFinite || !high.isFinite) throw widthBucketError('lower and upper bounds must be finite');
  const order = low.compare(high);
  if (order === 0) throw widthBucketError('lower bound cannot equal upper bound');
  const ascending = order < 0;
  if (ascending ? operand.compare(low) < 0 : operand.compare(low) > 0) return 0;
  if (ascending ? operand.compare(high) >= 0 : operand.compare(high) <= 0) return bucketPastEnd(count);
  const offset = ascending ? operand.sub(low) : low.sub(operand);
  const span = ascending ? high.sub(low) : low.sub(high);
  const bucket = offset.mul(Numeric.fromInt(count)).divTrunc(span);
  return Number(bucket.toBigInt()) + 1;
}

/** width_bucket(operand, thresholds): how many thresholds are ≤ operand, by PostgreSQL's binary search. */
function arrayWidthBucket(operand: Datum, thresholds: SqlArray): number {
  const values = thresholds.values;
  if (values.some((v) => v instanceof SqlArray)) {
    throw new SqlError(SqlState.arraySubscriptError, 'thresholds must be one-dimensional array');
  }
  if (values.some((v) => v === null)) throw new SqlError(SqlState.nullValueNotAllowed, 'thresholds array must not contain NULLs');
  let left = 0;
  let right = values.length;
  while (left < right) {
    const mid = (left + right) >> 1;
    if (compareDatums(operand, values[mid]!, thresholds.elementType) < 0) right = mid;
    else left = mid + 1;
  }
  return left;
}

defineScalar(
  'width_bucket',
  {
    params: [Oid.float8, Oid.float8, Oid.float8, Oid.int4],
    returns: Types.int4,
    impl: (a) => float8WidthBucket(a[0] as number, a[1] as number, a[2] as number, a[3] as number),
  },
  {
    params: [Oid.numeric, Oid.numeric, Oid.numeric, Oid.int4],
    returns: Types.int4,
    impl: (a) => numericWidthBucket(a[0] as Numeric, a[1] as Numeric, a[2] as Numeric, a[3] as number),
  },
  {
    params: ['anycompatible', 'anycompatiblearray'],
    returns: Types.int4,
    impl: (a) => arrayWidthBucket(a[0]!, a[1] as SqlArray),
  },
);
