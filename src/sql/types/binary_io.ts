// PostgreSQL's binary wire format (typsend / typreceive) for result columns and parameters sent in
// binary: big-endian integers and IEEE floats, numeric as base-10000 digits with weight, sign and
// display scale, dates as days and timestamps as microseconds since 2000-01-01, arrays with their
// dimensions and element OID. Malformed input raises 22P03 (42804 for an array of another element
// type), never any other kind of exception.
import { SqlError, SqlState } from '../errors.js';
import { SqlArray, SqlRecord, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY, type Datum, type TimeTz } from './datum.js';
import { Interval } from './interval.js';
import { Jsonb } from './jsonb.js';
import { NUMERIC_MAX_DSCALE, Numeric } from './numeric.js';
import { Oid, elementTypeOf, formatType, typeInfo, type SqlType } from './oids.js';

/** Days from 1970-01-01 (Cairn's epoch) to 2000-01-01 (PostgreSQL's). */
const EPOCH_DAYS = 10957;
const EPOCH_MICROS = 946_684_800_000_000n;
/** Most dimensions an array may have (MAXDIM). */
const MAX_DIMENSIONS = 6;
/** Most elements a binary array may declare before any are read. */
const MAX_ELEMENTS = 10_000_000;
/** numeric_recv refuses more digits than NUMERIC_MAX_PRECISION + NUMERIC_MAX_RESULT_SCALE. */
const MAX_NUMERIC_DIGITS = 3000;
/**
 * The display scale numeric_send gives ±Infinity: PostgreSQL reads it out of the special value's
 * short header (bits 0x1f80 of 0xd000 and 0xf000), and clients see it.
 */
const NUMERIC_INFINITY_DSCALE = 0x20;
/** The only jsonb binary format version. */
const JSONB_VERSION = 1;

const NUMERIC_POS = 0x0000;
const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;

/** SQLSTATE of invalid UTF-8 (character_not_in_repertoire; not yet in SqlState). */
const CHARACTER_NOT_IN_REPERTOIRE = '22021';

const UTF8 = new TextEncoder();
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });

function badFormat(detail?: string): SqlError {
  return new SqlError(SqlState.invalidBinaryRepresentation, 'incorrect binary data format', detail === undefined ? {} : { detail });
}

/** A growable big-endian writer. */
class Out {
  buf = new Uint8Array(32);
  view = new DataView(this.buf.buffer);
  len = 0;

  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.len + n, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.len++] = v;
  }

  i16(v: number): void {
    this.reserve(2);
    this.view.setInt16(this.len, v);
    this.len += 2;
  }

  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.len, v);
    this.len += 2;
  }

  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.len, v);
    this.len += 4;
  }

  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.len, v);
    this.len += 4;
  }

  i64(v: bigint): void {
    this.reserve(8);
    this.view.setBigInt64(this.len, v);
    this.len += 8;
  }

  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.len, v);
    this.len += 4;
  }

  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.len, v);
    this.len += 8;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** A bounds-checked big-endian reader. */
class In {
  readonly view: DataView;
  pos = 0;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) throw badFormat('insufficient data left in message');
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  i16(): number {
    this.need(2);
    const v = this.view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  i64(): bigint {
    this.need(8);
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  take(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  rest(): Uint8Array {
    return this.take(this.remaining);
  }
}

/** typsend: the binary form of a non-null value of `type`. */
export function encodeBinary(value: Datum, type: SqlType): Uint8Array {
  if (value === null) throw new SqlError(SqlState.internalError, 'encodeBinary called with a NULL value');
  const o = new Out();
  send(o, value, type.oid);
  return o.result();
}

/** typreceive: a value of `type` from its binary form, which it must use up exactly. */
export function decodeBinary(bytes: Uint8Array, type: SqlType): Datum {
  const r = new In(bytes);
  try {
    const v = receive(r, type.oid);
    if (r.remaining !== 0) throw badFormat(`${r.remaining} bytes left over`);
    return v;
  } catch (err) {
    if (err instanceof SqlError) throw err;
    throw badFormat(err instanceof Error ? err.message : String(err));
  }
}

function send(o: Out, v: Datum, oid: number): void {
  switch (oid) {
    case Oid.bool:
      o.u8(v === true ? 1 : 0);
      return;
    case Oid.int2:
      o.i16(v as number);
      return;
    case Oid.int4:
      o.i32(v as number);
      return;
    case Oid.oid:
    case Oid.regclass:
    case Oid.regtype:
    case Oid.regproc:
    case Oid.regprocedure:
    case Oid.regnamespace:
    case Oid.regrole:
      o.u32(v as number);
      return;
    case Oid.int8:
      o.i64(v as bigint);
      return;
    case Oid.float4:
      o.f32(v as number);
      return;
    case Oid.float8:
      o.f64(v as number);
      return;
    case Oid.numeric:
      sendNumeric(o, v as Numeric);
      return;
    case Oid.text:
    case Oid.varchar:
    case Oid.bpchar:
    case Oid.name:
    case Oid.unknown:
    case Oid.json:
      o.bytes(UTF8.encode(v as string));
      return;
    case Oid.char: {
      const s = v as string;
      o.u8(s.length === 0 ? 0 : s.charCodeAt(0) & 0xff);
      return;
    }
    case Oid.bytea:
      o.bytes(v as Uint8Array);
      return;
    case Oid.date: {
      const d = v as number;
      o.i32(d === Infinity ? 0x7fffffff : d === -Infinity ? -0x80000000 : d - EPOCH_DAYS);
      return;
    }
    case Oid.time:
      o.i64(v as bigint);
      return;
    case Oid.timetz: {
      const t = v as TimeTz;
      o.i64(t.micros);
      // PostgreSQL sends the zone as seconds west of UTC.
      o.i32(-t.offsetSeconds);
      return;
    }
    case Oid.timestamp:
    case Oid.timestamptz:
      o.i64(toPgTimestamp(v as bigint));
      return;
    case Oid.interval: {
      const iv = v as Interval;
      o.i64(iv.micros);
      o.i32(iv.days);
      o.i32(iv.months);
      return;
    }
    case Oid.uuid:
      o.bytes(uuidBytes(v as string));
      return;
    case Oid.jsonb:
      o.u8(JSONB_VERSION);
      o.bytes(UTF8.encode((v as Jsonb).toString()));
      return;
    case Oid.record:
      sendRecord(o, v as SqlRecord);
      return;
    case Oid.int2vector:
    case Oid.oidvector:
      sendArray(o, v as SqlArray, oid === Oid.int2vector ? Oid.int2 : Oid.oid, true);
      return;
    default: {
      const element = elementTypeOf(oid);
      if (element !== 0) {
        sendArray(o, v as SqlArray, element);
        return;
      }
      throw new SqlError(SqlState.featureNotSupported, `no binary output function available for type ${formatType({ oid, typmod: -1 })}`);
    }
  }
}

function receive(r: In, oid: number): Datum {
  switch (oid) {
    case Oid.bool:
      return r.u8() !== 0;
    case Oid.int2:
      return r.i16();
    case Oid.int4:
      return r.i32();
    case Oid.oid:
    case Oid.regclass:
    case Oid.regtype:
    case Oid.regproc:
    case Oid.regprocedure:
    case Oid.regnamespace:
    case Oid.regrole:
      return r.u32();
    case Oid.int8:
      return r.i64();
    case Oid.float4:
      return r.f32();
    case Oid.float8:
      return r.f64();
    case Oid.numeric:
      return receiveNumeric(r);
    case Oid.text:
    case Oid.varchar:
    case Oid.bpchar:
    case Oid.name:
    case Oid.unknown:
      return utf8(r.rest());
    case Oid.json:
      return utf8(r.rest());
    case Oid.char: {
      const b = r.u8();
      return b === 0 ? '' : String.fromCharCode(b);
    }
    case Oid.bytea:
      return r.rest().slice();
    case Oid.date: {
      const d = r.i32();
      return d === 0x7fffffff ? Infinity : d === -0x80000000 ? -Infinity : d + EPOCH_DAYS;
    }
    case Oid.time: {
      const t = r.i64();
      if (t < 0n || t > 86_400_000_000n) throw new SqlError(SqlState.datetimeFieldOverflow, 'time out of range');
      return t;
    }
    case Oid.timetz: {
      const micros = r.i64();
      const west = r.i32();
      if (micros < 0n || micros > 86_400_000_000n) throw new SqlError(SqlState.datetimeFieldOverflow, 'time out of range');
      if (west < -15 * 3600 - 59 * 60 || west > 15 * 3600 + 59 * 60) {
        throw new SqlError(SqlState.invalidTimeZoneDisplacementValue, 'time zone displacement out of range');
      }
      return { micros, offsetSeconds: west === 0 ? 0 : -west };
    }
    case Oid.timestamp:
    case Oid.timestamptz:
      return fromPgTimestamp(r.i64());
    case Oid.interval: {
      const micros = r.i64();
      const days = r.i32();
      const months = r.i32();
      return new Interval(months, days, micros);
    }
    case Oid.uuid:
      return uuidString(r.take(16));
    case Oid.jsonb: {
      const version = r.u8();
      if (version !== JSONB_VERSION) throw new SqlError(SqlState.invalidBinaryRepresentation, `unsupported jsonb version number ${version}`);
      return Jsonb.parse(utf8(r.rest()));
    }
    case Oid.record:
      return receiveRecord(r);
    case Oid.int2vector:
    case Oid.oidvector:
      return receiveArray(r, oid === Oid.int2vector ? Oid.int2 : Oid.oid);
    default: {
      const element = elementTypeOf(oid);
      if (element !== 0) return receiveArray(r, element);
      throw new SqlError(SqlState.featureNotSupported, `no binary input function available for type ${formatType({ oid, typmod: -1 })}`);
    }
  }
}

/** Text from the wire: valid UTF-8 without NUL, which PostgreSQL's text types cannot hold. */
function utf8(b: Uint8Array): string {
  const nul = b.indexOf(0);
  if (nul >= 0) throw new SqlError(CHARACTER_NOT_IN_REPERTOIRE, 'invalid byte sequence for encoding "UTF8": 0x00');
  try {
    return UTF8_STRICT.decode(b);
  } catch {
    const at = firstInvalidUtf8(b);
    throw new SqlError(CHARACTER_NOT_IN_REPERTOIRE, `invalid byte sequence for encoding "UTF8": 0x${b[at]!.toString(16).padStart(2, '0')}`);
  }
}

function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) {
    try {
      UTF8_STRICT.decode(b.subarray(0, i + 1));
    } catch {
      // The prefix up to i fails only once a bad byte is complete; find the start of its sequence.
      let start = i;
      while (start > 0 && (b[start]! & 0xc0) === 0x80) start--;
      return start;
    }
  }
  return 0;
}

function toPgTimestamp(v: bigint): bigint {
  if (v === TIMESTAMP_INFINITY || v === TIMESTAMP_NEG_INFINITY) return v;
  return v - EPOCH_MICROS;
}

function fromPgTimestamp(v: bigint): bigint {
  if (v === TIMESTAMP_INFINITY || v === TIMESTAMP_NEG_INFINITY) return v;
  return v + EPOCH_MICROS;
}

function uuidBytes(u: string): Uint8Array {
  const hex = u.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new SqlError(SqlState.internalError, `not a canonical uuid: ${u}`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function uuidString(b: Uint8Array): string {
  const hex = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function sendNumeric(o: Out, n: Numeric): void {
  if (n.special !== undefined) {
    o.i16(0);
    o.i16(0);
    o.u16(n.special === 'NaN' ? NUMERIC_NAN : n.special === 'Infinity' ? NUMERIC_PINF : NUMERIC_NINF);
    o.u16(n.special === 'NaN' ? 0 : NUMERIC_INFINITY_DSCALE);
    return;
  }
  const { weight, digits } = n.toBase10000();
  o.i16(digits.length);
  o.i16(weight);
  o.u16(n.unscaled < 0n ? NUMERIC_NEG : NUMERIC_POS);
  o.u16(n.scale);
  for (const d of digits) o.i16(d);
}

function receiveNumeric(r: In): Numeric {
  const ndigits = r.u16();
  if (ndigits > MAX_NUMERIC_DIGITS) throw new SqlError(SqlState.invalidBinaryRepresentation, 'invalid length in external "numeric" value');
  const weight = r.i16();
  const sign = r.u16();
  const dscale = r.u16();
  if (sign !== NUMERIC_POS && sign !== NUMERIC_NEG && sign !== NUMERIC_NAN && sign !== NUMERIC_PINF && sign !== NUMERIC_NINF) {
    throw new SqlError(SqlState.invalidBinaryRepresentation, 'invalid sign in external "numeric" value');
  }
  if (dscale > NUMERIC_MAX_DSCALE) throw new SqlError(SqlState.invalidBinaryRepresentation, 'invalid scale in external "numeric" value');
  const digits: number[] = [];
  for (let i = 0; i < ndigits; i++) {
    const d = r.i16();
    if (d < 0 || d >= 10000) throw new SqlError(SqlState.invalidBinaryRepresentation, 'invalid digit in external "numeric" value');
    digits.push(d);
  }
  if (sign === NUMERIC_NAN) return Numeric.NaN;
  if (sign === NUMERIC_PINF) return Numeric.Infinity;
  if (sign === NUMERIC_NINF) return Numeric.NegativeInfinity;
  return Numeric.fromBase10000(sign === NUMERIC_NEG, weight, digits, dscale);
}

function arrayShape(a: SqlArray, vector: boolean): { lengths: number[]; lowerBounds: number[] } {
  const lengths: number[] = [];
  const lowerBounds: number[] = [];
  let level: SqlArray | undefined = a;
  while (level !== undefined && level.values.length > 0) {
    lengths.push(level.values.length);
    lowerBounds.push(level.lowerBound);
    const first: Datum | undefined = level.values[0];
    level = first instanceof SqlArray && !vector ? first : undefined;
  }
  return { lengths, lowerBounds };
}

function sendArray(o: Out, a: SqlArray, element: number, vector = false): void {
  // int2vector and oidvector are always one-dimensional, subscripts from 0, even when empty.
  const { lengths, lowerBounds } = vector ? { lengths: [a.values.length], lowerBounds: [0] } : arrayShape(a, element === Oid.int2vector || element === Oid.oidvector);
  const flat: Datum[] = [];
  const walk = (l: SqlArray, depth: number): void => {
    if (l.values.length !== lengths[depth]) throw new SqlError(SqlState.arraySubscriptError, 'multidimensional arrays must have array expressions with matching dimensions');
    for (const v of l.values) {
      if (depth + 1 < lengths.length) walk(v as SqlArray, depth + 1);
      else flat.push(v);
    }
  };
  if (vector) flat.push(...a.values);
  else if (lengths.length > 0) walk(a, 0);
  o.i32(lengths.length);
  o.i32(flat.some((v) => v === null) ? 1 : 0);
  o.u32(element);
  for (let d = 0; d < lengths.length; d++) {
    o.i32(lengths[d]!);
    o.i32(lowerBounds[d]!);
  }
  for (const v of flat) {
    if (v === null) {
      o.i32(-1);
      continue;
    }
    const lengthAt = o.len;
    o.i32(0);
    send(o, v, element);
    o.view.setInt32(lengthAt, o.len - lengthAt - 4);
  }
}

function receiveArray(r: In, element: number): SqlArray {
  const ndim = r.i32();
  const flags = r.i32();
  const elementOid = r.u32();
  if (ndim < 0) throw new SqlError(SqlState.invalidBinaryRepresentation, `invalid number of dimensions: ${ndim}`);
  if (ndim > MAX_DIMENSIONS) {
    throw new SqlError(SqlState.programLimitExceeded, `number of array dimensions (${ndim}) exceeds the maximum allowed (${MAX_DIMENSIONS})`);
  }
  if (flags !== 0 && flags !== 1) throw new SqlError(SqlState.invalidBinaryRepresentation, 'invalid array flags');
  if (elementOid !== element) {
    const name = (o: number): string => typeInfo(o)?.name ?? '???';
    throw new SqlError(SqlState.datatypeMismatch, `binary data has array element type ${elementOid} (${name(elementOid)}) instead of expected ${element} (${name(element)})`);
  }
  const lengths: number[] = [];
  const lowerBounds: number[] = [];
  let total = ndim === 0 ? 0 : 1;
  for (let d = 0; d < ndim; d++) {
    const n = r.i32();
    const lb = r.i32();
    if (n < 0) throw new SqlError(SqlState.invalidBinaryRepresentation, 'invalid array dimensions');
    if (lb + n - 1 > 0x7fffffff) throw new SqlError(SqlState.programLimitExceeded, 'array upper bound is too large');
    lengths.push(n);
    lowerBounds.push(lb);
    total *= n;
    if (total > MAX_ELEMENTS) throw new SqlError(SqlState.programLimitExceeded, `array size exceeds the maximum allowed (${MAX_ELEMENTS})`);
  }
  if (total === 0) return new SqlArray(element, []);
  const build = (depth: number): SqlArray => {
    const values: Datum[] = [];
    for (let i = 0; i < lengths[depth]!; i++) {
      if (depth + 1 < ndim) {
        values.push(build(depth + 1));
        continue;
      }
      const len = r.i32();
      if (len === -1) {
        values.push(null);
        continue;
      }
      if (len < 0) throw new SqlError(SqlState.invalidBinaryRepresentation, `insufficient data left in message`);
      const inner = new In(r.take(len));
      const v = receive(inner, element);
      if (inner.remaining !== 0) throw new SqlError(SqlState.invalidBinaryRepresentation, 'improper binary format in array element');
      values.push(v);
    }
    return new SqlArray(element, values, lowerBounds[depth]);
  };
  return build(0);
}

function sendRecord(o: Out, rec: SqlRecord): void {
  o.i32(rec.values.length);
  rec.values.forEach((v, i) => {
    const oid = rec.types[i] ?? Oid.text;
    o.u32(oid);
    if (v === null) {
      o.i32(-1);
      return;
    }
    const lengthAt = o.len;
    o.i32(0);
    send(o, v, oid);
    o.view.setInt32(lengthAt, o.len - lengthAt - 4);
  });
}

/** A record's binary form names each column's type, so an anonymous record can be read back. */
function receiveRecord(r: In): SqlRecord {
  const n = r.i32();
  if (n < 0 || n > 1664) throw new SqlError(SqlState.invalidBinaryRepresentation, `invalid number of columns: ${n}`);
  const types: number[] = [];
  const values: Datum[] = [];
  for (let i = 0; i < n; i++) {
    const oid = r.u32();
    const len = r.i32();
    types.push(oid);
    if (len === -1) {
      values.push(null);
      continue;
    }
    if (len < 0) throw badFormat('insufficient data left in message');
    const inner = new In(r.take(len));
    values.push(receive(inner, oid));
    if (inner.remaining !== 0) throw new SqlError(SqlState.invalidBinaryRepresentation, `improper binary format in record column ${i + 1}`);
  }
  return new SqlRecord(types, values);
}
