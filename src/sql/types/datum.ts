// How SQL values live in memory. A Datum is one value of a known SQL type; the type travels beside
// it (in a column descriptor, a RowDescription, an expression's resolved type), never inside it.
// Each type has exactly one in-memory form, listed here; every module that handles values relies
// on this table.
//
//   type                               Datum form
//   ---------------------------------  ------------------------------------------------------------
//   any, when NULL                     null
//   bool                               boolean
//   int2, int4, oid, reg*              number (an integer within the type's range)
//   int8                               bigint
//   float4, float8                     number (float4 values are rounded to single precision)
//   numeric                            Numeric (types/numeric.ts): exact, with a scale; NaN, ±Infinity
//   text, varchar, bpchar, name, char  string (bpchar keeps its padding as stored)
//   "char" (the one-byte type)         string of length ≤ 1
//   bytea                              Uint8Array
//   date                               number: days since 1970-01-01; ±Infinity for ±infinity
//   time                               bigint: microseconds since midnight
//   timetz                             TimeTz { micros: bigint, offsetSeconds: number } (east of UTC > 0)
//   timestamp                          bigint: microseconds since 1970-01-01 00:00 (no zone)
//   timestamptz                        bigint: microseconds since 1970-01-01 00:00 UTC
//                                      (both: TIMESTAMP_INFINITY / TIMESTAMP_NEG_INFINITY for ±infinity)
//   interval                           Interval (types/interval.ts): months, days, microseconds
//   uuid                               string: lower-case canonical 8-4-4-4-12 form
//   json                               string: the text as given (validated)
//   jsonb                              Jsonb (types/jsonb.ts): a normalised JSON value
//   arrays (int4[], text[], ...)       SqlArray (below): element type + values (one dimension,
//                                      or nested for more), lower bound 1
//   unknown (an untyped literal)       string
//   record (a row value)               SqlRecord (below)
//   void                               null

import type { Interval } from './interval.js';
import type { Jsonb } from './jsonb.js';
import type { Numeric } from './numeric.js';

export interface TimeTz {
  readonly micros: bigint;
  /** Seconds east of UTC, as in ISO 8601 (+02:00 → 7200). */
  readonly offsetSeconds: number;
}

export class SqlArray {
  constructor(
    /** OID of the element type. */
    readonly elementType: number,
    /** Elements; an element may itself be a SqlArray for a multi-dimensional array. */
    readonly values: readonly Datum[],
    /** Lower bound of the first dimension (1 unless written otherwise). */
    readonly lowerBound: number = 1,
  ) {}
}

export class SqlRecord {
  constructor(
    readonly types: readonly number[],
    readonly values: readonly Datum[],
  ) {}
}

export type Datum = null | boolean | number | bigint | string | Uint8Array | Numeric | Interval | Jsonb | TimeTz | SqlArray | SqlRecord;

/** A row: one Datum per column, in column order. */
export type Row = Datum[];

/** Largest and smallest finite timestamps PostgreSQL accepts (4714-11-24 BC .. 294276 AD), in µs since 1970. */
export const TIMESTAMP_MIN = -210866803200000000n;
export const TIMESTAMP_MAX = 9224318016000000000n - 1n;
/** The representation of 'infinity' and '-infinity' for timestamp and timestamptz. */
export const TIMESTAMP_INFINITY = 9223372036854775807n;
export const TIMESTAMP_NEG_INFINITY = -9223372036854775808n;
