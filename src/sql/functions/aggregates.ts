// Aggregate functions (PostgreSQL's "General-Purpose" and "Statistics" aggregate tables): each
// overload's result type is PostgreSQL's (sum(int4) is bigint, avg(int4) numeric, sum(float4)
// real, ...), and so are the arithmetic that produces it: exact integer and numeric sums, the
// Youngs-Cramer running sums PostgreSQL uses for float statistics, and numeric variance computed
// from exact sums with PostgreSQL's result scales. An accumulator is fed only the rows that pass
// FILTER and, for strict aggregates, have no NULL argument; the executor does DISTINCT and ORDER BY.
import { SqlError, SqlState } from '../errors.js';
import { compareDatums } from '../types/compare.js';
import { SqlArray, type Datum } from '../types/datum.js';
import { Interval } from '../types/interval.js';
import { isqrt, Numeric } from '../types/numeric.js';
import { arrayTypeOf, NO_TYPMOD, Oid, Types, type SqlType } from '../types/oids.js';
import { checkFloat, checkFloat4, checkInt2, checkInt4, checkInt8 } from './arith.js';
import { jsonAggText, jsonbValueOf, jsonObjectAggText, makeJsonbObject, toJsonText, type JsonValue } from './json_functions.js';
import { Jsonb } from '../types/jsonb.js';
import { defineAggregate, type Accumulator, type AggregateOverload, type ParamType } from './registry.js';

/** Elements array_agg, string_agg and json_agg may collect for one group before refusing with 54000. */
export const MAX_AGGREGATE_ELEMENTS = 10_000_000;

function tooManyElements(name: string): SqlError {
  return new SqlError(SqlState.programLimitExceeded, `${name} cannot collect more than ${MAX_AGGREGATE_ELEMENTS} values`);
}

const accumulator = (add: (args: readonly Datum[]) => void, result: () => Datum): Accumulator => ({ add, result });

function overload(params: ParamType[], returns: AggregateOverload['returns'], create: AggregateOverload['create'], strict = true): AggregateOverload {
  return { params, returns, create, strict };
}

// ---- count ---------------------------------------------------------------------------------------------

defineAggregate(
  'count',
  // count(*): the binder passes no arguments, and every row counts.
  overload([], Types.int8, () => {
    let n = 0n;
    return accumulator(
      () => {
        n++;
      },
      () => n,
    );
  }),
  overload(['any'], Types.int8, () => {
    let n = 0n;
    return accumulator(
      () => {
        n++;
      },
      () => n,
    );
  }),
);

// ---- sum and avg ---------------------------------------------------------------------------------------

/** Sum of integers in a bigint, as PostgreSQL's int2/int4 sums accumulate in int8. */
function integerSum(checkResult: (v: bigint) => Datum): () => Accumulator {
  return () => {
    let sum = 0n;
    let seen = false;
    return accumulator(
      (a) => {
        sum += BigInt(a[0] as number | bigint);
        seen = true;
      },
      () => (seen ? checkResult(sum) : null),
    );
  };
}

function numericSum(): Accumulator {
  let sum: Numeric | undefined;
  return accumulator(
    (a) => {
      sum = sum === undefined ? (a[0] as Numeric) : sum.add(a[0] as Numeric);
    },
    () => sum ?? null,
  );
}

function floatSum(width: 4 | 8): () => Accumulator {
  return () => {
    let sum = 0;
    let seen = false;
    return accumulator(
      (a) => {
        const x = a[0] as number;
        sum = width === 4 ? checkFloat4(sum + x, sum, x) : checkFloat(sum + x, sum, x);
        seen = true;
      },
      () => (seen ? sum : null),
    );
  };
}

function intervalSum(): Accumulator {
  let sum: Interval | undefined;
  return accumulator(
    (a) => {
      sum = sum === undefined ? (a[0] as Interval) : sum.add(a[0] as Interval);
    },
    () => sum ?? null,
  );
}

defineAggregate(
  'sum',
  overload([Oid.int2], Types.int8, integerSum((v) => checkInt8(v))),
  overload([Oid.int4], Types.int8, integerSum((v) => checkInt8(v))),
  // sum(int8) is numeric: an exact sum that cannot overflow.
  overload([Oid.int8], Types.numeric, integerSum((v) => Numeric.fromBigInt(v))),
  overload([Oid.numeric], Types.numeric, numericSum),
  overload([Oid.float4], Types.float4, floatSum(4)),
  overload([Oid.float8], Types.float8, floatSum(8)),
  overload([Oid.interval], Types.interval, intervalSum),
);

/** avg over integers or numerics: the exact sum divided by the count at numeric's division scale. */
function exactAverage(): Accumulator {
  let sum = Numeric.ZERO;
  let bigSum = 0n;
  let integral = true;
  let n = 0n;
  return accumulator(
    (a) => {
      const v = a[0]!;
      if (typeof v === 'number' || typeof v === 'bigint') bigSum += BigInt(v);
      else {
        integral = false;
        sum = sum.add(v as Numeric);
      }
      n++;
    },
    () => {
      if (n === 0n) return null;
      const total = integral ? Numeric.fromBigInt(bigSum) : sum.add(Numeric.fromBigInt(bigSum));
      return total.div(Numeric.fromBigInt(n));
    },
  );
}

/** PostgreSQL's float accumulation (N, Sx, Sxx by Youngs and Cramer), shared by avg and the statistics. */
class FloatMoments {
  n = 0;
  sx = 0;
  sxx = 0;

  add(x: number): void {
    const n1 = this.n + 1;
    const sx1 = this.sx + x;
    if (this.n > 0) {
      const t = x * n1 - sx1;
      let sxx1 = this.sxx + (t * t) / (this.n * n1);
      if (!Number.isFinite(sx1) || !Number.isFinite(sxx1)) {
        if (Number.isFinite(this.sx) && Number.isFinite(x)) {
          throw new SqlError(SqlState.numericValueOutOfRange, 'value out of range: overflow');
        }
        sxx1 = NaN;
      }
      this.sxx = sxx1;
    } else if (!Number.isFinite(x)) {
      // A first input of ±Infinity or NaN makes the variance NaN.
      this.sxx = NaN;
    }
    this.n = n1;
    this.sx = sx1;
  }
}

function floatMomentsAggregate(result: (m: FloatMoments) => Datum): () => Accumulator {
  return () => {
    const m = new FloatMoments();
    return accumulator(
      (a) => m.add(a[0] as number),
      () => result(m),
    );
  };
}

function intervalAverage(): Accumulator {
  let sum = Interval.ZERO;
  let n = 0;
  return accumulator(
    (a) => {
      sum = sum.add(a[0] as Interval);
      n++;
    },
    () => (n === 0 ? null : sum.divide(n)),
  );
}

const floatAverage = floatMomentsAggregate((m) => (m.n === 0 ? null : m.sx / m.n));

defineAggregate(
  'avg',
  overload([Oid.int2], Types.numeric, exactAverage),
  overload([Oid.int4], Types.numeric, exactAverage),
  overload([Oid.int8], Types.numeric, exactAverage),
  overload([Oid.numeric], Types.numeric, exactAverage),
  overload([Oid.float4], Types.float8, floatAverage),
  overload([Oid.float8], Types.float8, floatAverage),
  overload([Oid.interval], Types.interval, intervalAverage),
);

// ---- min and max ---------------------------------------------------------------------------------------

/** The types PostgreSQL 15 declares min and max for (besides anyarray). */
const ORDERED_TYPES = [
  Oid.int2,
  Oid.int4,
  Oid.int8,
  Oid.float4,
  Oid.float8,
  Oid.numeric,
  Oid.text,
  Oid.date,
  Oid.time,
  Oid.timetz,
  Oid.timestamp,
  Oid.timestamptz,
  Oid.interval,
  Oid.oid,
];

function extremum(keepNew: (c: number) => boolean): (argTypes: readonly SqlType[]) => Accumulator {
  return (argTypes) => {
    const oid = argTypes[0]!.oid;
    let best: Datum = null;
    return accumulator(
      (a) => {
        const v = a[0]!;
        if (best === null || keepNew(compareDatums(v, best, oid))) best = v;
      },
      () => best,
    );
  };
}

// On a tie the later value wins, as in PostgreSQL's *_smaller/*_larger (visible for 1.5 vs 1.50).
for (const [name, keepNew] of [
  ['min', (c: number) => c <= 0],
  ['max', (c: number) => c >= 0],
] as const) {
  defineAggregate(
    name,
    ...ORDERED_TYPES.map((oid) => overload([oid], { oid, typmod: NO_TYPMOD }, extremum(keepNew))),
    overload(['anyarray'], (args) => ({ oid: args[0]!.oid, typmod: NO_TYPMOD }), extremum(keepNew)),
  );
}

// ---- booleans and bits ---------------------------------------------------------------------------------

function booleanFold(initial: boolean, fold: (acc: boolean, v: boolean) => boolean): () => Accumulator {
  return () => {
    let acc = initial;
    let seen = false;
    return accumulator(
      (a) => {
        acc = fold(acc, a[0] as boolean);
        seen = true;
      },
      () => (seen ? acc : null),
    );
  };
}

for (const name of ['bool_and', 'every']) defineAggregate(name, overload([Oid.bool], Types.bool, booleanFold(true, (x, v) => x && v)));
defineAggregate('bool_or', overload([Oid.bool], Types.bool, booleanFold(false, (x, v) => x || v)));

function bitFold(fold: (acc: bigint, v: bigint) => bigint, toDatum: (v: bigint) => Datum): () => Accumulator {
  return () => {
    let acc: bigint | undefined;
    return accumulator(
      (a) => {
        const v = BigInt(a[0] as number | bigint);
        acc = acc === undefined ? v : fold(acc, v);
      },
      () => (acc === undefined ? null : toDatum(acc)),
    );
  };
}

for (const [name, fold] of [
  ['bit_and', (x: bigint, v: bigint) => x & v],
  ['bit_or', (x: bigint, v: bigint) => x | v],
  ['bit_xor', (x: bigint, v: bigint) => x ^ v],
] as const) {
  defineAggregate(
    name,
    overload([Oid.int2], Types.int2, bitFold(fold, (v) => checkInt2(Number(v)))),
    overload([Oid.int4], Types.int4, bitFold(fold, (v) => checkInt4(Number(v)))),
    overload([Oid.int8], Types.int8, bitFold(fold, (v) => v)),
  );
}

// ---- collecting aggregates -----------------------------------------------------------------------------

/** string_agg: each value after the first is preceded by the delimiter given with it (NULL: none). */
function stringAgg(): Accumulator {
  const parts: string[] = [];
  let seen = false;
  return accumulator(
    (a) => {
      if (a[0] === null) return;
      if (parts.length >= MAX_AGGREGATE_ELEMENTS) throw tooManyElements('string_agg');
      if (seen && a[1] !== null) parts.push(a[1] as string);
      parts.push(a[0] as string);
      seen = true;
    },
    () => (seen ? parts.join('') : null),
  );
}

function byteaAgg(): Accumulator {
  const parts: Uint8Array[] = [];
  let seen = false;
  return accumulator(
    (a) => {
      if (a[0] === null) return;
      if (parts.length >= MAX_AGGREGATE_ELEMENTS) throw tooManyElements('string_agg');
      if (seen && a[1] !== null) parts.push(a[1] as Uint8Array);
      parts.push(a[0] as Uint8Array);
      seen = true;
    },
    () => (seen ? new Uint8Array(Buffer.concat(parts)) : null),
  );
}

defineAggregate(
  'string_agg',
  overload([Oid.text, Oid.text], Types.text, stringAgg, false),
  overload([Oid.bytea, Oid.bytea], Types.bytea, byteaAgg, false),
);

/** The dimensions of an array value: lengths outermost first (none for an empty array). */
function dimensionsOf(a: SqlArray): number[] {
  const out: number[] = [];
  let level: Datum = a;
  while (level instanceof SqlArray && level.values.length > 0) {
    out.push(level.values.length);
    level = level.values[0]!;
  }
  return out;
}

function arrayAgg(argTypes: readonly SqlType[]): Accumulator {
  const element = argTypes[0]!.oid;
  const values: Datum[] = [];
  return accumulator(
    (a) => {
      if (values.length >= MAX_AGGREGATE_ELEMENTS) throw tooManyElements('array_agg');
      values.push(a[0]!);
    },
    () => (values.length === 0 ? null : new SqlArray(element, values.slice())),
  );
}

/** array_agg of arrays: each input becomes one sub-array of a result with one more dimension. */
function arrayOfArraysAgg(): Accumulator {
  const values: SqlArray[] = [];
  let dims: string | undefined;
  return accumulator(
    (a) => {
      const v = a[0]!;
      if (v === null) throw new SqlError(SqlState.nullValueNotAllowed, 'cannot accumulate null arrays');
      const arr = v as SqlArray;
      const d = dimensionsOf(arr);
      if (d.length === 0) throw new SqlError(SqlState.arraySubscriptError, 'cannot accumulate empty arrays');
      const key = d.join(',');
      if (dims !== undefined && dims !== key) throw new SqlError(SqlState.arraySubscriptError, 'cannot accumulate arrays of different dimensionality');
      dims = key;
      if (values.length >= MAX_AGGREGATE_ELEMENTS) throw tooManyElements('array_agg');
      values.push(arr);
    },
    () => {
      if (values.length === 0) return null;
      const elementType = values[0]!.elementType;
      return new SqlArray(elementType, values.map((v) => new SqlArray(elementType, v.values, v.lowerBound)));
    },
  );
}

defineAggregate(
  'array_agg',
  overload(['anynonarray'], (args) => ({ oid: arrayTypeOf(args[0]!.oid) || Oid._text, typmod: NO_TYPMOD }), arrayAgg, false),
  overload(['anyarray'], (args) => ({ oid: args[0]!.oid, typmod: NO_TYPMOD }), arrayOfArraysAgg, false),
);

// ---- json --------------------------------------------------------------------------------------------

defineAggregate(
  'json_agg',
  overload(
    ['anyelement'],
    Types.json,
    (argTypes) => {
      const parts: string[] = [];
      return {
        add: (a, ctx) => {
          if (parts.length >= MAX_AGGREGATE_ELEMENTS) throw tooManyElements('json_agg');
          parts.push(a[0] === null ? 'null' : toJsonText(a[0]!, argTypes[0]!, ctx.settings));
        },
        result: () => (parts.length === 0 ? null : jsonAggText(parts)),
      };
    },
    false,
  ),
);

defineAggregate(
  'jsonb_agg',
  overload(
    ['anyelement'],
    Types.jsonb,
    (argTypes) => {
      const items: JsonValue[] = [];
      let seen = false;
      return {
        add: (a, ctx) => {
          if (items.length >= MAX_AGGREGATE_ELEMENTS) throw tooManyElements('jsonb_agg');
          items.push(a[0] === null ? null : jsonbValueOf(a[0]!, argTypes[0]!, ctx.settings));
          seen = true;
        },
        result: () => (seen ? new Jsonb(items.slice()) : null),
      };
    },
    false,
  ),
);

function fieldNameNotNull(): SqlError {
  return new SqlError(SqlState.invalidParameterValue, 'field name must not be null');
}

defineAggregate(
  'json_object_agg',
  overload(
    ['any', 'any'],
    Types.json,
    (argTypes) => {
      const fields: Array<readonly [string, string]> = [];
      return {
        add: (a, ctx) => {
          if (a[0] === null) throw fieldNameNotNull();
          if (fields.length >= MAX_AGGREGATE_ELEMENTS) throw tooManyElements('json_object_agg');
          const key = toJsonText(a[0]!, argTypes[0]!, ctx.settings, true);
          fields.push([key, a[1] === null ? 'null' : toJsonText(a[1]!, argTypes[1]!, ctx.settings)]);
        },
        result: () => (fields.length === 0 ? null : jsonObjectAggText(fields)),
      };
    },
    false,
  ),
);

defineAggregate(
  'jsonb_object_agg',
  overload(
    ['any', 'any'],
    Types.jsonb,
    (argTypes) => {
      const fields: Array<readonly [string, JsonValue]> = [];
      return {
        add: (a, ctx) => {
          if (a[0] === null) throw fieldNameNotNull();
          if (fields.length >= MAX_AGGREGATE_ELEMENTS) throw tooManyElements('jsonb_object_agg');
          const key = jsonbValueOf(a[0]!, argTypes[0]!, ctx.settings);
          if (typeof key !== 'string') throw new SqlError(SqlState.invalidParameterValue, 'key value must be scalar, not array, composite, or json');
          fields.push([key, a[1] === null ? null : jsonbValueOf(a[1]!, argTypes[1]!, ctx.settings)]);
        },
        result: () => (fields.length === 0 ? null : new Jsonb(makeJsonbObject(fields))),
      };
    },
    false,
  ),
);

// ---- statistics ---------------------------------------------------------------------------------------

type Statistic = 'var_pop' | 'var_samp' | 'stddev_pop' | 'stddev_samp';

/** sqrt(x) rounded half up at scale r (x ≥ 0 and finite). */
function sqrtAtScale(x: Numeric, r: number): Numeric {
  const shift = 2 * r + 2 - x.scale;
  const n = shift >= 0 ? x.unscaled * 10n ** BigInt(shift) : x.unscaled / 10n ** BigInt(-shift);
  return Numeric.of((isqrt(n) + 5n) / 10n, r);
}

/** Exact sums of X and X², then PostgreSQL's (N Σx² − (Σx)²) / (N (N − 1)) at numeric division scale. */
function numericStatistic(kind: Statistic): () => Accumulator {
  return () => {
    let n = 0n;
    let sum = Numeric.ZERO;
    let sumSquares = Numeric.ZERO;
    let special: Numeric | undefined;
    return accumulator(
      (a) => {
        const v = a[0]!;
        const x = typeof v === 'number' || typeof v === 'bigint' ? Numeric.fromBigInt(BigInt(v)) : (v as Numeric);
        n++;
        if (!x.isFinite) {
          special = Numeric.NaN;
          return;
        }
        sum = sum.add(x);
        sumSquares = sumSquares.add(x.mul(x));
      },
      () => {
        const sample = kind === 'var_samp' || kind === 'stddev_samp';
        if (n === 0n || (sample && n === 1n)) return null;
        if (special !== undefined) return special;
        const count = Numeric.fromBigInt(n);
        const numerator = count.mul(sumSquares).sub(sum.mul(sum));
        if (numerator.signum() <= 0) return Numeric.ZERO;
        const denominator = Numeric.fromBigInt(sample ? n * (n - 1n) : n * n);
        const variance = numerator.div(denominator);
        return kind === 'var_pop' || kind === 'var_samp' ? variance : sqrtAtScale(variance, variance.scale);
      },
    );
  };
}

function floatStatistic(kind: Statistic): () => Accumulator {
  return floatMomentsAggregate((m) => {
    const sample = kind === 'var_samp' || kind === 'stddev_samp';
    if (m.n === 0 || (sample && m.n === 1)) return null;
    const variance = m.sxx / (sample ? m.n - 1 : m.n);
    return kind === 'var_pop' || kind === 'var_samp' ? variance : Math.sqrt(variance);
  });
}

for (const [name, kind] of [
  ['var_pop', 'var_pop'],
  ['var_samp', 'var_samp'],
  ['variance', 'var_samp'],
  ['stddev_pop', 'stddev_pop'],
  ['stddev_samp', 'stddev_samp'],
  ['stddev', 'stddev_samp'],
] as const) {
  defineAggregate(
    name,
    overload([Oid.int2], Types.numeric, numericStatistic(kind)),
    overload([Oid.int4], Types.numeric, numericStatistic(kind)),
    overload([Oid.int8], Types.numeric, numericStatistic(kind)),
    overload([Oid.numeric], Types.numeric, numericStatistic(kind)),
    overload([Oid.float4], Types.float8, floatStatistic(kind)),
    overload([Oid.float8], Types.float8, floatStatistic(kind)),
  );
}
