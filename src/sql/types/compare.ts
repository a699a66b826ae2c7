// Ordering and equality of SQL values, as PostgreSQL's default btree operator classes define them
// under the "C" collation: text orders by its UTF-8 bytes, bpchar ignores trailing spaces, floats
// and numerics put NaN above everything (and NaN equals NaN), -0 equals 0, arrays compare element
// by element, then by size, dimensions and bounds. datumKey gives each value a string that is equal
// for two values exactly when they are equal under that order (GROUP BY, DISTINCT, hash joins).
import { SqlError, SqlState } from '../errors.js';
import { SqlArray, SqlRecord, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY, type Datum, type TimeTz } from './datum.js';
import type { Interval } from './interval.js';
import type { Jsonb } from './jsonb.js';
import type { Numeric } from './numeric.js';
import { Oid, elementTypeOf } from './oids.js';

const USECS_PER_DAY = 86_400_000_000n;

/** Negative, zero or positive as a sorts before, with, or after b; both non-null, of type `oid`. */
export function compareDatums(a: Datum, b: Datum, oid: number): number {
  switch (oid) {
    case Oid.bool:
      return a === b ? 0 : a === false ? -1 : 1;
    case Oid.int2:
    case Oid.int4:
    case Oid.oid:
    case Oid.regclass:
    case Oid.regtype:
    case Oid.regproc:
    case Oid.regprocedure:
    case Oid.regnamespace:
    case Oid.regrole:
    case Oid.date:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case Oid.int8:
    case Oid.time:
      return (a as bigint) < (b as bigint) ? -1 : (a as bigint) > (b as bigint) ? 1 : 0;
    case Oid.timestamp:
    case Oid.timestamptz:
      return compareTimestamps(a as bigint, b as bigint);
    case Oid.float4:
    case Oid.float8:
      return compareFloats(a as number, b as number);
    case Oid.numeric:
      return (a as Numeric).compare(b as Numeric);
    case Oid.text:
    case Oid.varchar:
    case Oid.name:
    case Oid.unknown:
    case Oid.uuid:
    case Oid.json:
      return compareUtf8(a as string, b as string);
    case Oid.bpchar:
      return compareUtf8(stripTrailingSpaces(a as string), stripTrailingSpaces(b as string));
    case Oid.char:
      return compareChar(a as string, b as string);
    case Oid.bytea:
      return compareBytes(a as Uint8Array, b as Uint8Array);
    case Oid.timetz:
      return compareTimeTz(a as TimeTz, b as TimeTz);
    case Oid.interval:
      return (a as Interval).compare(b as Interval);
    case Oid.jsonb:
      return (a as Jsonb).compare(b as Jsonb);
    case Oid.record:
      return compareRecords(a as SqlRecord, b as SqlRecord);
    case Oid.int2vector:
    case Oid.oidvector:
      return compareArrays(a as SqlArray, b as SqlArray, oid === Oid.int2vector ? Oid.int2 : Oid.oid);
    default: {
      const element = elementTypeOf(oid);
      if (element !== 0) return compareArrays(a as SqlArray, b as SqlArray, element);
      throw new SqlError(SqlState.undefinedFunction, `could not identify a comparison function for type with OID ${oid}`);
    }
  }
}

/**
 * Timestamps in µs since 1970, with the infinities outside every finite value. (The largest finite
 * timestamps lie above TIMESTAMP_INFINITY in this representation, so plain bigint order is wrong
 * at the very end of the range.)
 */
export function compareTimestamps(a: bigint, b: bigint): number {
  if (a === b) return 0;
  if (a === TIMESTAMP_INFINITY || b === TIMESTAMP_NEG_INFINITY) return 1;
  if (a === TIMESTAMP_NEG_INFINITY || b === TIMESTAMP_INFINITY) return -1;
  return a < b ? -1 : 1;
}

/** NaN above everything and equal to itself; -0 equal to 0. */
export function compareFloats(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) return 0;
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  return an && bn ? 0 : an ? 1 : -1;
}

/**
 * Strings in the order of their UTF-8 bytes, which is code point order. UTF-16 code unit order
 * differs only where a surrogate pair meets a code unit in U+E000..U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // A surrogate stands for a code point above U+FFFF: it sorts after every BMP unit.
      const xs = x <= 0xdfff;
      const ys = y <= 0xdfff;
      if (xs !== ys) return xs ? 1 : -1;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export function stripTrailingSpaces(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x20) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** "char" compares as an unsigned byte; the empty value is byte 0. */
function compareChar(a: string, b: string): number {
  const x = a.length === 0 ? 0 : a.charCodeAt(0);
  const y = b.length === 0 ? 0 : b.charCodeAt(0);
  return x - y;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** timetz: by the instant in UTC, then by zone (a zone further west sorts later). */
function compareTimeTz(a: TimeTz, b: TimeTz): number {
  const ua = a.micros - BigInt(a.offsetSeconds) * 1_000_000n;
  const ub = b.micros - BigInt(b.offsetSeconds) * 1_000_000n;
  if (ua !== ub) return ua < ub ? -1 : 1;
  return b.offsetSeconds - a.offsetSeconds;
}

/** PostgreSQL's comparison value of an interval: a month counts 30 days, a day 24 hours. */
export function intervalSpan(v: Interval): bigint {
  return BigInt(v.months * 30 + v.days) * USECS_PER_DAY + v.micros;
}

/** Elements in storage order (row-major), descending into sub-arrays. */
function flatten(a: SqlArray, element: number, out: Datum[]): Datum[] {
  const vectors = element === Oid.int2vector || element === Oid.oidvector;
  for (const v of a.values) {
    if (v instanceof SqlArray && !vectors) flatten(v, element, out);
    else out.push(v);
  }
  return out;
}

function shape(a: SqlArray, element: number): { lengths: number[]; lowerBounds: number[] } {
  const vectors = element === Oid.int2vector || element === Oid.oidvector;
  const lengths: number[] = [];
  const lowerBounds: number[] = [];
  let level: SqlArray | undefined = a;
  while (level !== undefined && level.values.length > 0) {
    lengths.push(level.values.length);
    lowerBounds.push(level.lowerBound);
    const first: Datum | undefined = level.values[0];
    level = first instanceof SqlArray && !vectors ? first : undefined;
  }
  return { lengths, lowerBounds };
}

function compareArrays(a: SqlArray, b: SqlArray, element: number): number {
  const xs = flatten(a, element, []);
  const ys = flatten(b, element, []);
  const n = Math.min(xs.length, ys.length);
  for (let i = 0; i < n; i++) {
    const c = compareNullable(xs[i]!, ys[i]!, element);
    if (c !== 0) return c;
  }
  if (xs.length !== ys.length) return xs.length < ys.length ? -1 : 1;
  const sa = shape(a, element);
  const sb = shape(b, element);
  if (sa.lengths.length !== sb.lengths.length) return sa.lengths.length < sb.lengths.length ? -1 : 1;
  for (let d = 0; d < sa.lengths.length; d++) {
    if (sa.lengths[d] !== sb.lengths[d]) return sa.lengths[d]! < sb.lengths[d]! ? -1 : 1;
  }
  for (let d = 0; d < sa.lowerBounds.length; d++) {
    if (sa.lowerBounds[d] !== sb.lowerBounds[d]) return sa.lowerBounds[d]! < sb.lowerBounds[d]! ? -1 : 1;
  }
  return 0;
}

/** Inside arrays and records a NULL sorts after every value and equals another NULL. */
function compareNullable(a: Datum, b: Datum, oid: number): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  return compareDatums(a, b, oid);
}

function compareRecords(a: SqlRecord, b: SqlRecord): number {
  const n = Math.min(a.values.length, b.values.length);
  for (let i = 0; i < n; i++) {
    const c = compareNullable(a.values[i]!, b.values[i]!, a.types[i] ?? Oid.text);
    if (c !== 0) return c;
  }
  return a.values.length - b.values.length;
}

/** datumKey of NULL: no key of a non-null value is this string (text cannot hold U+0000). */
export const NULL_KEY = '\u0000';

/**
 * A string equal for two values of type `oid` exactly when compareDatums says they are equal:
 * numeric 1.0 and 1.00 share a key, as do float -0 and 0, bpchar 'a ' and 'a', interval '1 month'
 * and '30 days'. NULL has the key NULL_KEY (GROUP BY puts the NULLs in one group).
 */
export function datumKey(value: Datum, oid: number): string {
  if (value === null) return NULL_KEY;
  switch (oid) {
    case Oid.bool:
      return value === true ? 't' : 'f';
    case Oid.int2:
    case Oid.int4:
    case Oid.oid:
    case Oid.regclass:
    case Oid.regtype:
    case Oid.regproc:
    case Oid.regprocedure:
    case Oid.regnamespace:
    case Oid.regrole:
    case Oid.date:
    case Oid.int8:
    case Oid.time:
    case Oid.timestamp:
    case Oid.timestamptz:
      return String(value);
    case Oid.float4:
    case Oid.float8:
      // -0 prints as "0"; every NaN as "NaN".
      return String(value);
    case Oid.numeric:
      return (value as Numeric).stripTrailingZeros().toString();
    case Oid.text:
    case Oid.varchar:
    case Oid.name:
    case Oid.unknown:
    case Oid.uuid:
    case Oid.json:
    case Oid.char:
      return value as string;
    case Oid.bpchar:
      return stripTrailingSpaces(value as string);
    case Oid.bytea: {
      const b = value as Uint8Array;
      return `x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1')}`;
    }
    case Oid.timetz: {
      const t = value as TimeTz;
      return `${t.micros}/${t.offsetSeconds}`;
    }
    case Oid.interval:
      return intervalSpan(value as Interval).toString();
    case Oid.jsonb:
      return (value as Jsonb).key();
    case Oid.record: {
      const r = value as SqlRecord;
      return compositeKey(r.values.map((v, i) => datumKey(v, r.types[i] ?? Oid.text)));
    }
    case Oid.int2vector:
    case Oid.oidvector:
      return compositeKey((value as SqlArray).values.map((v) => String(v)));
    default: {
      const element = elementTypeOf(oid);
      if (element === 0) {
        throw new SqlError(SqlState.undefinedFunction, `could not identify an equality operator for type with OID ${oid}`);
      }
      const a = value as SqlArray;
      const { lengths, lowerBounds } = shape(a, element);
      const parts = flatten(a, element, []).map((v) => datumKey(v, element));
      parts.push(`${lengths.join(',')}/${lowerBounds.join(',')}`);
      return compositeKey(parts);
    }
  }
}

/** Length-prefixed parts: no two different lists of parts give the same string. */
function compositeKey(parts: readonly string[]): string {
  let out = '';
  for (const p of parts) out += `${p.length}:${p}`;
  return out;
}
