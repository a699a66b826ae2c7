// Operators: resolving `a op b` to an implementation and a result type, the way PostgreSQL's
// operator resolution does for the types Cairn has. An untyped literal takes the other operand's
// type; numbers meet at the wider type (int2 < int4 < int8 < numeric < float4 < float8); text
// types meet at text; dates and timestamps have their own arithmetic.
import { SqlError, SqlState } from '../errors.js';
import {
  checkFloat,
  checkFloat4,
  divisionByZero,
  floatDiv,
  floatPow,
  int8Add,
  int8Div,
  int8Mod,
  int8Mul,
  int8Sub,
  intAdd,
  intDiv,
  intMod,
  intMul,
  intSub,
  checkInt2,
  checkInt4,
  checkInt8,
} from '../functions/arith.js';
import { compareDatums } from '../types/compare.js';
import { SqlArray, type Datum } from '../types/datum.js';
import * as dt from '../types/datetime.js';
import { Interval } from '../types/interval.js';
import { Jsonb } from '../types/jsonb.js';
import { Numeric } from '../types/numeric.js';
import { formatType, NO_TYPMOD, Oid, Types, elementTypeOf, arrayTypeOf, type SqlType } from '../types/oids.js';
import { formatText } from '../types/text_io.js';
import type { BoundExpr, ScalarImpl } from './bound.js';
import { coerce, commonType, implicitlyCoercible, isIntegerType, isNumeric, isTextLike, numericRank, type CoercionEnv } from './coercion.js';

const T = (oid: number): SqlType => ({ oid, typmod: NO_TYPMOD });

function call(name: string, type: SqlType, args: BoundExpr[], impl: ScalarImpl, strict = true): BoundExpr {
  return { k: 'call', type, name, args, strict, volatile: false, impl };
}

function noOperator(op: string, left: SqlType | undefined, right: SqlType): SqlError {
  const sig = left === undefined ? `${op} ${formatType(right)}` : `${formatType(left)} ${op} ${formatType(right)}`;
  return new SqlError(SqlState.undefinedFunction, `operator does not exist: ${sig}`, {
    hint: 'No operator matches the given name and argument types. You might need to add explicit type casts.',
  });
}

const isUnknown = (e: BoundExpr): boolean => e.type.oid === Oid.unknown;

// ---- comparison -----------------------------------------------------------------------------------------

const COMPARISONS = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);

export function isComparison(op: string): boolean {
  return COMPARISONS.has(op);
}

/** The type two operands are compared as, or undefined when they cannot be. */
export function comparisonType(a: SqlType, b: SqlType): SqlType | undefined {
  if (a.oid === Oid.unknown && b.oid === Oid.unknown) return Types.text;
  if (a.oid === Oid.unknown) return T(b.oid);
  if (b.oid === Oid.unknown) return T(a.oid);
  if (a.oid === b.oid) return T(a.oid);
  const ra = numericRank(a.oid);
  const rb = numericRank(b.oid);
  if (ra !== undefined && rb !== undefined) return T(ra >= rb ? a.oid : b.oid);
  if (isTextLike(a.oid) && isTextLike(b.oid)) return Types.text;
  const dateRank = (oid: number): number | undefined => (oid === Oid.date ? 1 : oid === Oid.timestamp ? 2 : oid === Oid.timestamptz ? 3 : undefined);
  const da = dateRank(a.oid);
  const db = dateRank(b.oid);
  if (da !== undefined && db !== undefined) return T(da >= db ? a.oid : b.oid);
  const oidLike = (oid: number): boolean => oid === Oid.oid || oid === Oid.regclass || oid === Oid.regtype || oid === Oid.regproc || oid === Oid.regnamespace;
  if (oidLike(a.oid) && (oidLike(b.oid) || isIntegerType(b.oid))) return Types.oid;
  if (oidLike(b.oid) && isIntegerType(a.oid)) return Types.oid;
  if (implicitlyCoercible(a.oid, b.oid)) return T(b.oid);
  if (implicitlyCoercible(b.oid, a.oid)) return T(a.oid);
  return undefined;
}

/** A comparison function for two non-null values of type `oid`. */
export function comparator(oid: number): (a: Datum, b: Datum) => number {
  switch (oid) {
    case Oid.int2:
    case Oid.int4:
    case Oid.oid:
    case Oid.date:
      return (a, b) => ((a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0);
    case Oid.int8:
    case Oid.timestamp:
    case Oid.timestamptz:
    case Oid.time:
      return (a, b) => ((a as bigint) < (b as bigint) ? -1 : (a as bigint) > (b as bigint) ? 1 : 0);
    case Oid.text:
    case Oid.varchar:
    case Oid.name:
      return (a, b) => compareStrings(a as string, b as string);
    default:
      return (a, b) => compareDatums(a, b, oid);
  }
}

/** Compares strings by UTF-8 bytes (the "C" collation), which is code point order. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (astral code points) sort above every BMP code point in UTF-8.
      const xs = x >= 0xd800 && x <= 0xdfff;
      const ys = y >= 0xd800 && y <= 0xdfff;
      if (xs !== ys) return xs ? 1 : -1;
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

export function comparisonImpl(op: string, oid: number): ScalarImpl {
  const cmp = comparator(oid);
  switch (op) {
    case '=':
      return (a) => cmp(a[0]!, a[1]!) === 0;
    case '<>':
    case '!=':
      return (a) => cmp(a[0]!, a[1]!) !== 0;
    case '<':
      return (a) => cmp(a[0]!, a[1]!) < 0;
    case '<=':
      return (a) => cmp(a[0]!, a[1]!) <= 0;
    case '>':
      return (a) => cmp(a[0]!, a[1]!) > 0;
    case '>=':
      return (a) => cmp(a[0]!, a[1]!) >= 0;
    default:
      throw new SqlError(SqlState.internalError, `not a comparison: ${op}`);
  }
}

export function bindComparison(op: string, left: BoundExpr, right: BoundExpr, env: CoercionEnv): BoundExpr {
  const type = comparisonType(left.type, right.type);
  if (type === undefined) throw noOperator(op, left.type, right.type);
  const l = coerce(left, type, 'implicit', env);
  const r = coerce(right, type, 'implicit', env);
  return call(op, Types.bool, [l, r], comparisonImpl(op, type.oid));
}

// ---- arithmetic ------------------------------------------------------------------------------------------

type Arith = (a: Datum, b: Datum) => Datum;

function numericArith(op: string, oid: number): Arith | undefined {
  switch (oid) {
    case Oid.int2:
    case Oid.int4: {
      const w = oid === Oid.int2 ? 2 : 4;
      const f = op === '+' ? intAdd(w) : op === '-' ? intSub(w) : op === '*' ? intMul(w) : op === '/' ? intDiv(w) : op === '%' ? intMod : undefined;
      return f === undefined ? undefined : (a, b) => f(a as number, b as number);
    }
    case Oid.int8: {
      const f = op === '+' ? int8Add : op === '-' ? int8Sub : op === '*' ? int8Mul : op === '/' ? int8Div : op === '%' ? int8Mod : undefined;
      return f === undefined ? undefined : (a, b) => f(a as bigint, b as bigint);
    }
    case Oid.float8:
    case Oid.float4: {
      const check = oid === Oid.float4 ? checkFloat4 : checkFloat;
      switch (op) {
        case '+':
          return (a, b) => check((a as number) + (b as number), a as number, b as number);
        case '-':
          return (a, b) => check((a as number) - (b as number), a as number, b as number);
        case '*':
          return (a, b) => check((a as number) * (b as number), a as number, b as number);
        case '/':
          return (a, b) => check(floatDiv(a as number, b as number));
        case '^':
          return (a, b) => floatPow(a as number, b as number);
        default:
          return undefined;
      }
    }
    case Oid.numeric:
      switch (op) {
        case '+':
          return (a, b) => (a as Numeric).add(b as Numeric);
        case '-':
          return (a, b) => (a as Numeric).sub(b as Numeric);
        case '*':
          return (a, b) => (a as Numeric).mul(b as Numeric);
        case '/':
          return (a, b) => (a as Numeric).div(b as Numeric);
        case '%':
          return (a, b) => (a as Numeric).mod(b as Numeric);
        case '^':
          return (a, b) => (a as Numeric).power(b as Numeric);
        default:
          return undefined;
      }
    default:
      return undefined;
  }
}

function bitwise(op: string, oid: number): Arith | undefined {
  if (oid === Oid.int8) {
    const c = checkInt8;
    switch (op) {
      case '&':
        return (a, b) => (a as bigint) & (b as bigint);
      case '|':
        return (a, b) => (a as bigint) | (b as bigint);
      case '#':
        return (a, b) => (a as bigint) ^ (b as bigint);
      case '<<':
        return (a, b) => c(BigInt.asIntN(64, (a as bigint) << BigInt(Number(b) & 63)));
      case '>>':
        return (a, b) => (a as bigint) >> BigInt(Number(b) & 63);
      default:
        return undefined;
    }
  }
  if (oid === Oid.int4 || oid === Oid.int2) {
    const c = oid === Oid.int2 ? checkInt2 : checkInt4;
    switch (op) {
      case '&':
        return (a, b) => (a as number) & (b as number);
      case '|':
        return (a, b) => (a as number) | (b as number);
      case '#':
        return (a, b) => (a as number) ^ (b as number);
      case '<<':
        return (a, b) => c(oid === Oid.int2 ? ((((a as number) << ((b as number) & 31)) << 16) >> 16) : (a as number) << ((b as number) & 31));
      case '>>':
        return (a, b) => (a as number) >> ((b as number) & 31);
      default:
        return undefined;
    }
  }
  return undefined;
}

const MICROS_PER_DAY = 86_400_000_000n;

function dateTimeArith(op: string, left: BoundExpr, right: BoundExpr, env: CoercionEnv): BoundExpr | undefined {
  const lo = left.type.oid;
  const ro = right.type.oid;
  const coerceR = (t: SqlType): BoundExpr => coerce(right, t, 'implicit', env);
  const coerceL = (t: SqlType): BoundExpr => coerce(left, t, 'implicit', env);
  const isTs = (o: number): boolean => o === Oid.timestamp || o === Oid.timestamptz;
  // Untyped right operands of + and - on dates and times are intervals (or days for date + n).
  if (ro === Oid.unknown && (lo === Oid.date || isTs(lo) || lo === Oid.time || lo === Oid.interval)) {
    if (op === '-' && lo !== Oid.date && lo !== Oid.interval) return dateTimeArith(op, left, coerceR(T(lo)), env);
    if (lo === Oid.date) return dateTimeArith(op, left, coerceR(op === '-' ? Types.date : Types.int4), env);
    if (op === '+' || op === '-') return dateTimeArith(op, left, coerceR(Types.interval), env);
  }
  if (lo === Oid.unknown && (ro === Oid.date || isTs(ro) || ro === Oid.interval)) {
    if (op === '-') return dateTimeArith(op, coerceL(T(ro)), right, env);
    if (op === '+') return dateTimeArith(op, coerceL(ro === Oid.interval ? Types.timestamptz : Types.interval), right, env);
  }
  switch (op) {
    case '+':
      if (lo === Oid.date && isIntegerType(ro)) return call('date + integer', Types.date, [left, coerceR(Types.int4)], (a) => dateAddDays(a[0] as number, a[1] as number));
      if (isIntegerType(lo) && ro === Oid.date) return call('integer + date', Types.date, [coerceL(Types.int4), right], (a) => dateAddDays(a[1] as number, a[0] as number));
      if (lo === Oid.date && ro === Oid.interval)
        return call('date + interval', Types.timestamp, [left, right], (a, ctx) => dt.addInterval(dt.dateToTimestamp(a[0] as number), a[1] as Interval, false, ctx.settings));
      if (lo === Oid.interval && ro === Oid.date)
        return call('interval + date', Types.timestamp, [left, right], (a, ctx) => dt.addInterval(dt.dateToTimestamp(a[1] as number), a[0] as Interval, false, ctx.settings));
      if (lo === Oid.date && ro === Oid.time) return call('date + time', Types.timestamp, [left, right], (a) => dt.dateToTimestamp(a[0] as number) + (a[1] as bigint));
      if (isTs(lo) && ro === Oid.interval)
        return call(`${formatType(left.type)} + interval`, T(lo), [left, right], (a, ctx) => dt.addInterval(a[0] as bigint, a[1] as Interval, lo === Oid.timestamptz, ctx.settings));
      if (lo === Oid.interval && isTs(ro))
        return call(`interval + ${formatType(right.type)}`, T(ro), [left, right], (a, ctx) => dt.addInterval(a[1] as bigint, a[0] as Interval, ro === Oid.timestamptz, ctx.settings));
      if (lo === Oid.time && ro === Oid.interval) return call('time + interval', Types.time, [left, right], (a) => timeAddInterval(a[0] as bigint, a[1] as Interval, 1n));
      if (lo === Oid.interval && ro === Oid.time) return call('interval + time', Types.time, [left, right], (a) => timeAddInterval(a[1] as bigint, a[0] as Interval, 1n));
      if (lo === Oid.interval && ro === Oid.interval) return call('interval + interval', Types.interval, [left, right], (a) => (a[0] as Interval).add(a[1] as Interval));
      return undefined;
    case '-':
      if (lo === Oid.date && isIntegerType(ro)) return call('date - integer', Types.date, [left, coerceR(Types.int4)], (a) => dateAddDays(a[0] as number, -(a[1] as number)));
      if (lo === Oid.date && ro === Oid.date) return call('date - date', Types.int4, [left, right], (a) => dateDiff(a[0] as number, a[1] as number));
      if (lo === Oid.date && ro === Oid.interval)
        return call('date - interval', Types.timestamp, [left, right], (a, ctx) => dt.addInterval(dt.dateToTimestamp(a[0] as number), (a[1] as Interval).negate(), false, ctx.settings));
      if (isTs(lo) && ro === Oid.interval)
        return call(`${formatType(left.type)} - interval`, T(lo), [left, right], (a, ctx) => dt.addInterval(a[0] as bigint, (a[1] as Interval).negate(), lo === Oid.timestamptz, ctx.settings));
      if (isTs(lo) && isTs(ro)) {
        const t = lo === Oid.timestamptz || ro === Oid.timestamptz ? Types.timestamptz : Types.timestamp;
        return call('timestamp - timestamp', Types.interval, [coerceL(t), coerceR(t)], (a) => dt.subtractTimestamps(a[0] as bigint, a[1] as bigint));
      }
      if ((lo === Oid.date && isTs(ro)) || (isTs(lo) && ro === Oid.date)) {
        const t = lo === Oid.timestamptz || ro === Oid.timestamptz ? Types.timestamptz : Types.timestamp;
        return call('timestamp - timestamp', Types.interval, [coerceL(t), coerceR(t)], (a) => dt.subtractTimestamps(a[0] as bigint, a[1] as bigint));
      }
      if (lo === Oid.time && ro === Oid.interval) return call('time - interval', Types.time, [left, right], (a) => timeAddInterval(a[0] as bigint, a[1] as Interval, -1n));
      if (lo === Oid.time && ro === Oid.time) return call('time - time', Types.interval, [left, right], (a) => new Interval(0, 0, (a[0] as bigint) - (a[1] as bigint)));
      if (lo === Oid.interval && ro === Oid.interval) return call('interval - interval', Types.interval, [left, right], (a) => (a[0] as Interval).sub(a[1] as Interval));
      return undefined;
    case '*':
      if (lo === Oid.interval && (isNumeric(ro) || ro === Oid.unknown))
        return call('interval * double precision', Types.interval, [left, coerceR(Types.float8)], (a) => (a[0] as Interval).multiply(a[1] as number));
      if ((isNumeric(lo) || lo === Oid.unknown) && ro === Oid.interval)
        return call('double precision * interval', Types.interval, [coerceL(Types.float8), right], (a) => (a[1] as Interval).multiply(a[0] as number));
      return undefined;
    case '/':
      if (lo === Oid.interval && (isNumeric(ro) || ro === Oid.unknown))
        return call('interval / double precision', Types.interval, [left, coerceR(Types.float8)], (a) => {
          if ((a[1] as number) === 0) throw divisionByZero();
          return (a[0] as Interval).divide(a[1] as number);
        });
      return undefined;
    default:
      return undefined;
  }
}

function dateAddDays(date: number, days: number): number {
  if (!Number.isFinite(date)) return date;
  const r = date + days;
  if (r < -2451545 - 2440588 || r > 2147483647 - 2440588) throw new SqlError(SqlState.datetimeFieldOverflow, 'date out of range');
  return r;
}

function dateDiff(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new SqlError(SqlState.datetimeFieldOverflow, 'cannot subtract infinite dates');
  return a - b;
}

function timeAddInterval(time: bigint, iv: Interval, sign: bigint): bigint {
  let r = (time + sign * iv.micros) % MICROS_PER_DAY;
  if (r < 0n) r += MICROS_PER_DAY;
  return r;
}

function textConcat(left: BoundExpr, right: BoundExpr, env: CoercionEnv): BoundExpr | undefined {
  const lo = left.type.oid;
  const ro = right.type.oid;
  const la = elementTypeOf(lo) !== 0;
  const ra = elementTypeOf(ro) !== 0;
  if (la || ra) {
    // array || array, array || element, element || array
    if (la && (ra || ro === Oid.unknown) && (ro === lo || ro === Oid.unknown)) {
      const r = coerce(right, left.type, 'implicit', env);
      return call('array || array', left.type, [left, r], (a) => new SqlArray(elementTypeOf(lo), [...(a[0] as SqlArray).values, ...(a[1] as SqlArray).values]), false);
    }
    if (la && !ra) {
      const r = coerce(right, T(elementTypeOf(lo)), 'implicit', env);
      return call('array || element', left.type, [left, r], (a) => (a[0] === null ? new SqlArray(elementTypeOf(lo), [a[1]!]) : new SqlArray(elementTypeOf(lo), [...(a[0] as SqlArray).values, a[1]!])), false);
    }
    if (ra && !la) {
      const l = coerce(left, T(elementTypeOf(ro)), 'implicit', env);
      return call('element || array', right.type, [l, right], (a) => (a[1] === null ? new SqlArray(elementTypeOf(ro), [a[0]!]) : new SqlArray(elementTypeOf(ro), [a[0]!, ...(a[1] as SqlArray).values])), false);
    }
    return undefined;
  }
  if (lo === Oid.jsonb && (ro === Oid.jsonb || ro === Oid.unknown)) {
    return call('jsonb || jsonb', Types.jsonb, [left, coerce(right, Types.jsonb, 'implicit', env)], (a) => (a[0] as Jsonb).concat(a[1] as Jsonb));
  }
  if (lo === Oid.bytea && (ro === Oid.bytea || ro === Oid.unknown)) {
    return call('bytea || bytea', Types.bytea, [left, coerce(right, Types.bytea, 'implicit', env)], (a) => {
      const x = a[0] as Uint8Array;
      const y = a[1] as Uint8Array;
      const out = new Uint8Array(x.length + y.length);
      out.set(x);
      out.set(y, x.length);
      return out;
    });
  }
  const lt = isTextLike(lo) || lo === Oid.unknown || lo === Oid.char;
  const rt = isTextLike(ro) || ro === Oid.unknown || ro === Oid.char;
  if (!lt && !rt) return undefined;
  // anynonarray || text and text || anynonarray: the other side is converted to its text form.
  const toText = (e: BoundExpr): BoundExpr => {
    if (isTextLike(e.type.oid) && e.type.oid !== Oid.bpchar) return e;
    if (e.type.oid === Oid.unknown) return coerce(e, Types.text, 'implicit', env);
    const from = e.type;
    return call('text', Types.text, [e], (a, ctx) => (from.oid === Oid.bpchar ? (a[0] as string).replace(/ +$/, '') : formatText(a[0]!, from, ctx.settings)));
  };
  return call('||', Types.text, [toText(left), toText(right)], (a) => (a[0] as string) + (a[1] as string));
}

function jsonbOperator(op: string, left: BoundExpr, right: BoundExpr, env: CoercionEnv): BoundExpr | undefined {
  if (left.type.oid !== Oid.jsonb && !(left.type.oid === Oid.unknown && (op === '@>' || op === '<@'))) return undefined;
  const l = coerce(left, Types.jsonb, 'implicit', env);
  const ro = right.type.oid;
  switch (op) {
    case '->':
      if (isIntegerType(ro)) return call('jsonb -> integer', Types.jsonb, [l, coerce(right, Types.int4, 'implicit', env)], (a) => (a[0] as Jsonb).getIndex(a[1] as number));
      return call('jsonb -> text', Types.jsonb, [l, coerce(right, Types.text, 'implicit', env)], (a) => (a[0] as Jsonb).getKey(a[1] as string));
    case '->>':
      if (isIntegerType(ro)) return call('jsonb ->> integer', Types.text, [l, coerce(right, Types.int4, 'implicit', env)], (a) => (a[0] as Jsonb).getIndexText(a[1] as number));
      return call('jsonb ->> text', Types.text, [l, coerce(right, Types.text, 'implicit', env)], (a) => (a[0] as Jsonb).getKeyText(a[1] as string));
    case '#>':
      return call('jsonb #> text[]', Types.jsonb, [l, coerce(right, Types.textArray, 'implicit', env)], (a) => (a[0] as Jsonb).getPath((a[1] as SqlArray).values as string[]));
    case '#>>':
      return call('jsonb #>> text[]', Types.text, [l, coerce(right, Types.textArray, 'implicit', env)], (a) => (a[0] as Jsonb).getPathText((a[1] as SqlArray).values as string[]));
    case '@>':
      return call('jsonb @> jsonb', Types.bool, [l, coerce(right, Types.jsonb, 'implicit', env)], (a) => (a[0] as Jsonb).contains(a[1] as Jsonb));
    case '<@':
      return call('jsonb <@ jsonb', Types.bool, [l, coerce(right, Types.jsonb, 'implicit', env)], (a) => (a[1] as Jsonb).contains(a[0] as Jsonb));
    case '?':
      return call('jsonb ? text', Types.bool, [l, coerce(right, Types.text, 'implicit', env)], (a) => (a[0] as Jsonb).hasKey(a[1] as string));
    case '?|':
      return call('jsonb ?| text[]', Types.bool, [l, coerce(right, Types.textArray, 'implicit', env)], (a) => ((a[1] as SqlArray).values as string[]).some((k) => (a[0] as Jsonb).hasKey(k)));
    case '?&':
      return call('jsonb ?& text[]', Types.bool, [l, coerce(right, Types.textArray, 'implicit', env)], (a) => ((a[1] as SqlArray).values as string[]).every((k) => (a[0] as Jsonb).hasKey(k)));
    case '-':
      if (isIntegerType(ro)) return call('jsonb - integer', Types.jsonb, [l, coerce(right, Types.int4, 'implicit', env)], (a) => (a[0] as Jsonb).deleteIndex(a[1] as number));
      if (elementTypeOf(ro) !== 0) return call('jsonb - text[]', Types.jsonb, [l, coerce(right, Types.textArray, 'implicit', env)], (a) => (a[0] as Jsonb).deleteKeys((a[1] as SqlArray).values as string[]));
      return call('jsonb - text', Types.jsonb, [l, coerce(right, Types.text, 'implicit', env)], (a) => (a[0] as Jsonb).deleteKeys([a[1] as string]));
    case '#-':
      return call('jsonb #- text[]', Types.jsonb, [l, coerce(right, Types.textArray, 'implicit', env)], (a) => (a[0] as Jsonb).deletePath((a[1] as SqlArray).values as string[]));
    default:
      return undefined;
  }
}

function arrayOperator(op: string, left: BoundExpr, right: BoundExpr, env: CoercionEnv): BoundExpr | undefined {
  const lo = left.type.oid;
  if (elementTypeOf(lo) === 0 && elementTypeOf(right.type.oid) === 0) return undefined;
  const type = elementTypeOf(lo) !== 0 ? left.type : right.type;
  const l = coerce(left, type, 'implicit', env);
  const r = coerce(right, type, 'implicit', env);
  const el = elementTypeOf(type.oid);
  const cmp = comparator(el);
  const has = (arr: SqlArray, v: Datum): boolean => v !== null && arr.values.some((x) => x !== null && cmp(x, v) === 0);
  switch (op) {
    case '@>':
      return call('anyarray @> anyarray', Types.bool, [l, r], (a) => (a[1] as SqlArray).values.every((v) => has(a[0] as SqlArray, v)));
    case '<@':
      return call('anyarray <@ anyarray', Types.bool, [l, r], (a) => (a[0] as SqlArray).values.every((v) => has(a[1] as SqlArray, v)));
    case '&&':
      return call('anyarray && anyarray', Types.bool, [l, r], (a) => (a[0] as SqlArray).values.some((v) => has(a[1] as SqlArray, v)));
    default:
      return undefined;
  }
}

/** Binds `left op right`. */
export function bindBinaryOperator(op: string, left: BoundExpr, right: BoundExpr, env: CoercionEnv): BoundExpr {
  if (COMPARISONS.has(op)) return bindComparison(op === '!=' ? '<>' : op, left, right, env);
  if (op === '||') {
    const e = textConcat(left, right, env);
    if (e) return e;
    throw noOperator(op, left.type, right.type);
  }
  const json = jsonbOperator(op, left, right, env);
  if (json) return json;
  if (op === '@>' || op === '<@' || op === '&&') {
    const arr = arrayOperator(op, left, right, env);
    if (arr) return arr;
  }
  const dtResult = dateTimeArith(op, left, right, env);
  if (dtResult) return dtResult;
  if (op === '~' || op === '~*' || op === '!~' || op === '!~*') return bindRegexMatch(op, left, right, env);
  if (op === '~~' || op === '!~~' || op === '~~*' || op === '!~~*') {
    throw new SqlError(SqlState.internalError, 'LIKE operators are bound by the binder');
  }
  // Numbers: meet at the wider type. An untyped literal takes the other side's type; two untyped
  // literals are numbers as written (PostgreSQL would call them text; arithmetic on text fails).
  let lt = left.type;
  let rt = right.type;
  if (isUnknown(left) && isUnknown(right)) {
    lt = Types.numeric;
    rt = Types.numeric;
  } else if (isUnknown(left)) lt = T(rt.oid);
  else if (isUnknown(right)) rt = T(lt.oid);
  const ra = numericRank(lt.oid);
  const rb = numericRank(rt.oid);
  if (ra !== undefined && rb !== undefined) {
    let type = T(ra >= rb ? lt.oid : rt.oid);
    // ^ is defined on float8 and numeric only.
    if (op === '^' && type.oid !== Oid.numeric) type = Types.float8;
    if (op === '%' && (type.oid === Oid.float4 || type.oid === Oid.float8)) throw noOperator(op, left.type, right.type);
    const bits = ['&', '|', '#', '<<', '>>'].includes(op);
    if (bits) {
      if (!isIntegerType(lt.oid) || !isIntegerType(rt.oid)) throw noOperator(op, left.type, right.type);
      const shiftType = op === '<<' || op === '>>' ? T(lt.oid) : type;
      const f = bitwise(op, shiftType.oid)!;
      const l = coerce(left, shiftType, 'implicit', env);
      const r = coerce(right, op === '<<' || op === '>>' ? Types.int4 : shiftType, 'implicit', env);
      return call(op, shiftType, [l, r], (a) => f(a[0]!, a[1]!));
    }
    const f = numericArith(op, type.oid);
    if (f === undefined) throw noOperator(op, left.type, right.type);
    const l = coerce(left, type, 'implicit', env);
    const r = coerce(right, type, 'implicit', env);
    return call(op, type, [l, r], (a) => f(a[0]!, a[1]!));
  }
  throw noOperator(op, left.type, right.type);
}

function bindRegexMatch(op: string, left: BoundExpr, right: BoundExpr, env: CoercionEnv): BoundExpr {
  const l = coerce(left, Types.text, 'implicit', env);
  const r = coerce(right, Types.text, 'implicit', env);
  const insensitive = op.endsWith('*');
  const negated = op.startsWith('!');
  const cache = new Map<string, RegExp>();
  return call(op, Types.bool, [l, r], (a) => {
    const pattern = a[1] as string;
    let re = cache.get(pattern);
    if (re === undefined) {
      re = compilePosixRegex(pattern, insensitive ? 'i' : '');
      if (cache.size < 64) cache.set(pattern, re);
    }
    return re.test(a[0] as string) !== negated;
  });
}

/** A POSIX (ARE) regular expression as a JavaScript RegExp, for the common subset both share. */
export function compilePosixRegex(pattern: string, flags: string): RegExp {
  // Bracket classes such as [[:alpha:]] have no JavaScript spelling; translate the usual ones.
  const translated = pattern
    .replace(/\[:alpha:\]/g, 'a-zA-Z')
    .replace(/\[:digit:\]/g, '0-9')
    .replace(/\[:alnum:\]/g, 'a-zA-Z0-9')
    .replace(/\[:upper:\]/g, 'A-Z')
    .replace(/\[:lower:\]/g, 'a-z')
    .replace(/\[:space:\]/g, '\\s')
    .replace(/\[:punct:\]/g, '!-\\/:-@\\[-`{-~')
    .replace(/\[:xdigit:\]/g, '0-9A-Fa-f');
  try {
    return new RegExp(translated, `${flags}u`);
  } catch (err) {
    throw new SqlError(SqlState.invalidRegularExpression, `invalid regular expression: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Binds a prefix operator: -x, +x, ~x, @x, |/x, ||/x. */
export function bindUnaryOperator(op: string, arg: BoundExpr, env: CoercionEnv): BoundExpr {
  let a = arg;
  if (isUnknown(a)) a = coerce(a, op === '~' ? Types.int4 : Types.numeric, 'implicit', env);
  const oid = a.type.oid;
  switch (op) {
    case '-':
      switch (oid) {
        case Oid.int2:
          return call('-', a.type, [a], (v) => checkInt2(-(v[0] as number)));
        case Oid.int4:
          return call('-', a.type, [a], (v) => checkInt4(-(v[0] as number)));
        case Oid.int8:
          return call('-', a.type, [a], (v) => checkInt8(-(v[0] as bigint)));
        case Oid.float4:
        case Oid.float8:
          return call('-', a.type, [a], (v) => -(v[0] as number));
        case Oid.numeric:
          return call('-', a.type, [a], (v) => (v[0] as Numeric).neg());
        case Oid.interval:
          return call('-', a.type, [a], (v) => (v[0] as Interval).negate());
        default:
          throw noOperator(op, undefined, a.type);
      }
    case '+':
      if (isNumeric(oid) || oid === Oid.interval) return a;
      throw noOperator(op, undefined, a.type);
    case '~':
      if (oid === Oid.int8) return call('~', a.type, [a], (v) => ~(v[0] as bigint));
      if (oid === Oid.int4 || oid === Oid.int2) return call('~', a.type, [a], (v) => ~(v[0] as number));
      throw noOperator(op, undefined, a.type);
    case '@':
      switch (oid) {
        case Oid.int2:
          return call('@', a.type, [a], (v) => checkInt2(Math.abs(v[0] as number)));
        case Oid.int4:
          return call('@', a.type, [a], (v) => checkInt4(Math.abs(v[0] as number)));
        case Oid.int8:
          return call('@', a.type, [a], (v) => checkInt8((v[0] as bigint) < 0n ? -(v[0] as bigint) : (v[0] as bigint)));
        case Oid.float4:
        case Oid.float8:
          return call('@', a.type, [a], (v) => Math.abs(v[0] as number));
        case Oid.numeric:
          return call('@', a.type, [a], (v) => (v[0] as Numeric).abs());
        default:
          throw noOperator(op, undefined, a.type);
      }
    case '|/': {
      const f = coerce(a, Types.float8, 'implicit', env);
      return call('|/', Types.float8, [f], (v) => {
        if ((v[0] as number) < 0) throw new SqlError(SqlState.invalidArgumentForPowerFunction, 'cannot take square root of a negative number');
        return Math.sqrt(v[0] as number);
      });
    }
    case '||/': {
      const f = coerce(a, Types.float8, 'implicit', env);
      return call('||/', Types.float8, [f], (v) => Math.cbrt(v[0] as number));
    }
    default:
      throw noOperator(op, undefined, a.type);
  }
}

/** The type of an ARRAY[...] of elements of these types. */
export function arrayOf(types: readonly SqlType[]): SqlType {
  const el = commonType(types, 'ARRAY');
  const arr = arrayTypeOf(el.oid);
  if (arr === 0) throw new SqlError(SqlState.undefinedObject, `could not find array type for data type ${formatType(el)}`);
  return T(arr);
}
