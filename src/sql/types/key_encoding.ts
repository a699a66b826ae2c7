// Memcomparable encoding of SQL values for primary-key and index keys: comparing two encodings
// bytewise gives the order compareDatums gives the values (reversed for a descending column), and
// each encoding is self-delimiting, so the columns of a key simply follow one another.
//
//   column       := NULL_ASC | NULL_DESC | PRESENT payload        (payload bytes inverted if DESC)
//   bool         := 00 | 01
//   int2/4/8     := big-endian two's complement with the sign bit flipped (2, 4, 8 bytes)
//   oid          := big-endian unsigned (4 bytes)
//   date         := as int4; -infinity and infinity are INT32_MIN and INT32_MAX
//   time         := as int8
//   timestamp, timestamptz := µs since 2000-01-01 as int8 (as PostgreSQL stores them: every finite
//                   value fits), with -infinity and infinity as INT64_MIN and INT64_MAX
//   timetz       := UTC time as int8, then the zone (seconds west) as int4
//   interval     := its comparison span (µs, a month counted as 30 days) as a 16-byte int
//   float4/8     := IEEE bits, all inverted when negative, else with the sign bit set; -0 is 0 and
//                   every NaN is the one NaN, which sorts above +Infinity
//   uuid         := its 16 bytes
//   text types, bytea, "char" := the bytes (UTF-8 for text), 00 escaped as 00 FF, ended by 00 01;
//                   bpchar without its trailing spaces
//   numeric      := class byte (-inf 01, negative 02, zero 03, positive 04, +inf 05, NaN 06), then
//                   for non-zero finite values the decimal exponent E (value = 0.d1d2… × 10^E) as
//                   int4 and the digits two per byte (1 + 10·d1 + d2, trailing zeros dropped), ended
//                   by 00; negative values store -E and 255 - byte, ended by FF.
//
// Equal values encode identically, so decoding gives one representative of the values equal to
// the original: numeric without trailing zeros (1.500 → 1.5), bpchar without trailing spaces, 0 for
// -0, and an interval as months/days/µs normalised from its span (1 mon and 30 days both decode as
// 1 mon). A row's exact values are in its value (value_encoding.ts), not in its key.
import { SqlError, SqlState } from '../errors.js';
import { TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY, type Datum, type TimeTz } from './datum.js';
import { intervalSpan, stripTrailingSpaces } from './compare.js';
import { Interval } from './interval.js';
import { Numeric, pow10 } from './numeric.js';
import { Oid, formatType } from './oids.js';

/** Longest key a KeyWriter builds; beyond it encoding fails with 54000. */
export const MAX_KEY_BYTES = 64 * 1024;

/** Marker of a non-NULL column value. */
const PRESENT = 0x10;
/** NULL sorts after every value in an ascending column, before every value in a descending one. */
const NULL_ASC = 0xf0;
const NULL_DESC = 0x00;

const TERMINATOR = 0x01;
const ESCAPED_ZERO = 0xff;

const NUM_NEG_INF = 0x01;
const NUM_NEG = 0x02;
const NUM_ZERO = 0x03;
const NUM_POS = 0x04;
const NUM_POS_INF = 0x05;
const NUM_NAN = 0x06;

const USECS_PER_DAY = 86_400_000_000n;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** A growable byte buffer that keys are built in. */
export class KeyWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(Math.max(initialCapacity, 16));
  }

  get length(): number {
    return this.len;
  }

  /** Forget the bytes written, keeping the buffer. */
  reset(): void {
    this.len = 0;
  }

  /** Makes room for n more bytes; 54000 past MAX_KEY_BYTES. */
  reserve(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    if (need > MAX_KEY_BYTES) {
      throw new SqlError(SqlState.programLimitExceeded, `index row size exceeds the maximum of ${MAX_KEY_BYTES} bytes`);
    }
    const next = new Uint8Array(Math.min(Math.max(need, this.buf.length * 2), MAX_KEY_BYTES));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Inverts the bytes from `start` to the end: a descending column's payload. */
  invertFrom(start: number): void {
    for (let i = start; i < this.len; i++) this.buf[i] = ~this.buf[i]! & 0xff;
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  /** The bytes written, without copying: valid until the next write or reset. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** For the encoders below: direct access after reserve(). */
  get raw(): Uint8Array {
    return this.buf;
  }

  advance(n: number): void {
    this.len += n;
  }
}

/** A cursor over an encoded key. Reading past the end raises 22P03 (corrupt key). */
export class KeyReader {
  constructor(
    readonly bytes: Uint8Array,
    public offset = 0,
  ) {}

  get atEnd(): boolean {
    return this.offset >= this.bytes.length;
  }

  byte(): number {
    if (this.offset >= this.bytes.length) throw corrupt('key ends early');
    return this.bytes[this.offset++]!;
  }

  peek(): number {
    if (this.offset >= this.bytes.length) throw corrupt('key ends early');
    return this.bytes[this.offset]!;
  }
}

function corrupt(what: string): SqlError {
  return new SqlError(SqlState.invalidBinaryRepresentation, `incorrect binary data format in key: ${what}`);
}

/** Whether `oid` can be a key column. */
export function isKeyType(oid: number): boolean {
  switch (oid) {
    case Oid.bool:
    case Oid.int2:
    case Oid.int4:
    case Oid.int8:
    case Oid.oid:
    case Oid.regclass:
    case Oid.regtype:
    case Oid.regproc:
    case Oid.regprocedure:
    case Oid.regnamespace:
    case Oid.regrole:
    case Oid.float4:
    case Oid.float8:
    case Oid.numeric:
    case Oid.text:
    case Oid.varchar:
    case Oid.bpchar:
    case Oid.name:
    case Oid.char:
    case Oid.bytea:
    case Oid.date:
    case Oid.time:
    case Oid.timetz:
    case Oid.timestamp:
    case Oid.timestamptz:
    case Oid.interval:
    case Oid.uuid:
      return true;
    default:
      return false;
  }
}

function notKeyType(oid: number): SqlError {
  return new SqlError(SqlState.featureNotSupported, `column type ${formatType({ oid, typmod: -1 })} cannot be part of a key`);
}

const UTF8 = new TextEncoder();
const UTF8_DECODER = new TextDecoder();

/** Appends one column value (NULL included) to the key. */
export function encodeKeyDatum(w: KeyWriter, value: Datum, oid: number, descending: boolean): void {
  if (value === null) {
    if (!isKeyType(oid)) throw notKeyType(oid);
    w.byte(descending ? NULL_DESC : NULL_ASC);
    return;
  }
  w.byte(PRESENT);
  const start = w.length;
  switch (oid) {
    case Oid.bool:
      w.byte(value === true ? 1 : 0);
      break;
    case Oid.int2:
      writeUint(w, ((value as number) + 0x8000) & 0xffff, 2);
      break;
    case Oid.int4:
      writeUint(w, ((value as number) ^ 0x80000000) >>> 0, 4);
      break;
    case Oid.oid:
    case Oid.regclass:
    case Oid.regtype:
    case Oid.regproc:
    case Oid.regprocedure:
    case Oid.regnamespace:
    case Oid.regrole:
      writeUint(w, (value as number) >>> 0, 4);
      break;
    case Oid.date:
      writeUint(w, (dateToInt32(value as number) ^ 0x80000000) >>> 0, 4);
      break;
    case Oid.int8:
    case Oid.time:
      writeInt64(w, value as bigint);
      break;
    case Oid.timestamp:
    case Oid.timestamptz:
      writeInt64(w, toPgEpoch(value as bigint));
      break;
    case Oid.timetz: {
      const t = value as TimeTz;
      writeInt64(w, t.micros - BigInt(t.offsetSeconds) * 1_000_000n);
      writeUint(w, (-t.offsetSeconds ^ 0x80000000) >>> 0, 4);
      break;
    }
    case Oid.interval:
      writeInt128(w, intervalSpan(value as Interval));
      break;
    case Oid.float8:
      writeFloat8(w, value as number);
      break;
    case Oid.float4:
      writeFloat4(w, value as number);
      break;
    case Oid.numeric:
      writeNumeric(w, value as Numeric);
      break;
    case Oid.text:
    case Oid.varchar:
    case Oid.name:
      writeText(w, value as string);
      break;
    case Oid.bpchar:
      writeText(w, stripTrailingSpaces(value as string));
      break;
    case Oid.char: {
      const s = value as string;
      writeEscaped(w, s.length === 0 ? new Uint8Array(0) : Uint8Array.of(s.charCodeAt(0) & 0xff));
      break;
    }
    case Oid.bytea:
      writeEscaped(w, value as Uint8Array);
      break;
    case Oid.uuid:
      writeUuid(w, value as string);
      break;
    default:
      throw notKeyType(oid);
  }
  if (descending) w.invertFrom(start);
}

/** Reads one column value written by encodeKeyDatum with the same type and direction. */
export function decodeKeyDatum(r: KeyReader, oid: number, descending: boolean): Datum {
  const marker = r.byte();
  if (marker === (descending ? NULL_DESC : NULL_ASC)) return null;
  if (marker !== PRESENT) throw corrupt(`unexpected column marker ${marker}`);
  const mask = descending ? 0xff : 0;
  switch (oid) {
    case Oid.bool: {
      const b = r.byte() ^ mask;
      if (b > 1) throw corrupt('bad bool');
      return b === 1;
    }
    case Oid.int2:
      return readUint(r, 2, mask) - 0x8000;
    case Oid.int4:
      return (readUint(r, 4, mask) ^ 0x80000000) | 0;
    case Oid.oid:
    case Oid.regclass:
    case Oid.regtype:
    case Oid.regproc:
    case Oid.regprocedure:
    case Oid.regnamespace:
    case Oid.regrole:
      return readUint(r, 4, mask);
    case Oid.date:
      return int32ToDate((readUint(r, 4, mask) ^ 0x80000000) | 0);
    case Oid.int8:
    case Oid.time:
      return readInt64(r, mask);
    case Oid.timestamp:
    case Oid.timestamptz:
      return fromPgEpoch(readInt64(r, mask));
    case Oid.timetz: {
      const utc = readInt64(r, mask);
      const west = (readUint(r, 4, mask) ^ 0x80000000) | 0;
      return { micros: utc - BigInt(west) * 1_000_000n, offsetSeconds: -west === 0 ? 0 : -west };
    }
    case Oid.interval:
      return spanToInterval(readInt128(r, mask));
    case Oid.float8:
      return readFloat8(r, mask);
    case Oid.float4:
      return readFloat4(r, mask);
    case Oid.numeric:
      return readNumeric(r, mask);
    case Oid.text:
    case Oid.varchar:
    case Oid.name:
    case Oid.bpchar:
      return UTF8_DECODER.decode(readEscaped(r, mask));
    case Oid.char: {
      const b = readEscaped(r, mask);
      return b.length === 0 ? '' : String.fromCharCode(b[0]!);
    }
    case Oid.bytea:
      return readEscaped(r, mask);
    case Oid.uuid:
      return readUuid(r, mask);
    default:
      throw notKeyType(oid);
  }
}

// ---- fixed-width integers ----

function writeUint(w: KeyWriter, v: number, n: number): void {
  w.reserve(n);
  const buf = w.raw;
  let at = w.length + n - 1;
  let x = v;
  for (let i = 0; i < n; i++) {
    buf[at--] = x & 0xff;
    x = Math.floor(x / 256);
  }
  w.advance(n);
}

function readUint(r: KeyReader, n: number, mask: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + (r.byte() ^ mask);
  return v;
}

const SIGN64 = 1n << 63n;

function writeInt64(w: KeyWriter, v: bigint): void {
  const u = BigInt.asUintN(64, v) ^ SIGN64;
  writeUint(w, Number(u >> 32n), 4);
  writeUint(w, Number(u & 0xffffffffn), 4);
}

function readInt64(r: KeyReader, mask: number): bigint {
  const hi = readUint(r, 4, mask);
  const lo = readUint(r, 4, mask);
  return BigInt.asIntN(64, ((BigInt(hi) << 32n) | BigInt(lo)) ^ SIGN64);
}

const SIGN128 = 1n << 127n;

function writeInt128(w: KeyWriter, v: bigint): void {
  const u = BigInt.asUintN(128, v) ^ SIGN128;
  for (let shift = 96n; shift >= 0n; shift -= 32n) writeUint(w, Number((u >> shift) & 0xffffffffn), 4);
}

function readInt128(r: KeyReader, mask: number): bigint {
  let u = 0n;
  for (let i = 0; i < 4; i++) u = (u << 32n) | BigInt(readUint(r, 4, mask));
  return BigInt.asIntN(128, u ^ SIGN128);
}

/** µs from 1970-01-01 (Cairn's timestamps) to 2000-01-01 (PostgreSQL's). */
const PG_EPOCH_MICROS = 946_684_800_000_000n;

function toPgEpoch(ts: bigint): bigint {
  if (ts === TIMESTAMP_INFINITY || ts === TIMESTAMP_NEG_INFINITY) return ts;
  const v = ts - PG_EPOCH_MICROS;
  if (v < TIMESTAMP_NEG_INFINITY || v >= TIMESTAMP_INFINITY) throw corrupt(`timestamp out of range: ${ts}`);
  return v;
}

function fromPgEpoch(v: bigint): bigint {
  if (v === TIMESTAMP_INFINITY || v === TIMESTAMP_NEG_INFINITY) return v;
  return v + PG_EPOCH_MICROS;
}

function dateToInt32(days: number): number {
  if (days === -Infinity) return INT32_MIN;
  if (days === Infinity) return INT32_MAX;
  if (!Number.isInteger(days) || days <= INT32_MIN || days >= INT32_MAX) throw corrupt(`date out of range: ${days}`);
  return days;
}

function int32ToDate(v: number): number {
  return v === INT32_MIN ? -Infinity : v === INT32_MAX ? Infinity : v;
}

/** The interval a span decodes as: whole 30-day months, then days, then microseconds. */
function spanToInterval(span: bigint): Interval {
  let days = span / USECS_PER_DAY;
  let micros = span % USECS_PER_DAY;
  if (micros < 0n) {
    micros += USECS_PER_DAY;
    days -= 1n;
  }
  const months = days / 30n;
  return new Interval(Number(months), Number(days - months * 30n), micros);
}

// ---- floats ----

const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const F32 = new Float32Array(1);
const F32_BYTES = new Uint8Array(F32.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeFloat8(w: KeyWriter, v: number): void {
  F64[0] = Number.isNaN(v) ? NaN : v === 0 ? 0 : v;
  w.reserve(8);
  const buf = w.raw;
  const at = w.length;
  for (let i = 0; i < 8; i++) buf[at + i] = F64_BYTES[LITTLE_ENDIAN ? 7 - i : i]!;
  flipFloatBytes(buf, at, 8);
  w.advance(8);
}

function writeFloat4(w: KeyWriter, v: number): void {
  F32[0] = Number.isNaN(v) ? NaN : v === 0 ? 0 : v;
  w.reserve(4);
  const buf = w.raw;
  const at = w.length;
  for (let i = 0; i < 4; i++) buf[at + i] = F32_BYTES[LITTLE_ENDIAN ? 3 - i : i]!;
  flipFloatBytes(buf, at, 4);
  w.advance(4);
}

/** Big-endian IEEE bits to order-preserving bytes: negative → all inverted, else sign bit set. */
function flipFloatBytes(buf: Uint8Array, at: number, n: number): void {
  if (buf[at]! & 0x80) {
    for (let i = 0; i < n; i++) buf[at + i] = ~buf[at + i]! & 0xff;
  } else {
    buf[at] = buf[at]! | 0x80;
  }
}

function readFloatBytes(r: KeyReader, n: number, mask: number, into: Uint8Array): void {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.byte() ^ mask;
  if (b[0]! & 0x80) b[0] = b[0]! & 0x7f;
  else for (let i = 0; i < n; i++) b[i] = ~b[i]! & 0xff;
  for (let i = 0; i < n; i++) into[LITTLE_ENDIAN ? n - 1 - i : i] = b[i]!;
}

function readFloat8(r: KeyReader, mask: number): number {
  readFloatBytes(r, 8, mask, F64_BYTES);
  return F64[0]!;
}

function readFloat4(r: KeyReader, mask: number): number {
  readFloatBytes(r, 4, mask, F32_BYTES);
  return F32[0]!;
}

// ---- byte strings ----

function writeEscaped(w: KeyWriter, bytes: Uint8Array): void {
  let zeros = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0) zeros++;
  w.reserve(bytes.length + zeros + 2);
  const buf = w.raw;
  let at = w.length;
  if (zeros === 0) {
    buf.set(bytes, at);
    at += bytes.length;
  } else {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      buf[at++] = b;
      if (b === 0) buf[at++] = ESCAPED_ZERO;
    }
  }
  buf[at++] = 0;
  buf[at++] = TERMINATOR;
  w.advance(at - w.length);
}

function writeText(w: KeyWriter, s: string): void {
  // Most keys are ASCII: write them straight in; otherwise through the UTF-8 encoder.
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (!ascii) {
    writeEscaped(w, UTF8.encode(s));
    return;
  }
  w.reserve(s.length + 2);
  const buf = w.raw;
  let at = w.length;
  for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
  buf[at++] = 0;
  buf[at++] = TERMINATOR;
  w.advance(at - w.length);
}

function readEscaped(r: KeyReader, mask: number): Uint8Array {
  const src = r.bytes;
  let i = r.offset;
  let escapes = 0;
  // Find the terminator first, so the common case (no escapes) is one copy.
  for (;;) {
    if (i + 1 >= src.length) throw corrupt('unterminated string');
    const b = src[i]! ^ mask;
    if (b === 0) {
      const next = src[i + 1]! ^ mask;
      if (next === TERMINATOR) break;
      if (next !== ESCAPED_ZERO) throw corrupt('bad escape in string');
      escapes++;
      i += 2;
    } else {
      i++;
    }
  }
  const out = new Uint8Array(i - r.offset - escapes);
  let o = 0;
  for (let j = r.offset; j < i; j++) {
    const b = src[j]! ^ mask;
    out[o++] = b;
    if (b === 0) j++;
  }
  r.offset = i + 2;
  return out;
}

// ---- uuid ----

function writeUuid(w: KeyWriter, u: string): void {
  const hex = u.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) throw corrupt(`not a canonical uuid: ${u}`);
  w.reserve(16);
  const buf = w.raw;
  const at = w.length;
  for (let i = 0; i < 16; i++) buf[at + i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  w.advance(16);
}

function readUuid(r: KeyReader, mask: number): string {
  let hex = '';
  for (let i = 0; i < 16; i++) hex += (r.byte() ^ mask).toString(16).padStart(2, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---- numeric ----

function writeNumeric(w: KeyWriter, n: Numeric): void {
  switch (n.special) {
    case 'NaN':
      w.byte(NUM_NAN);
      return;
    case 'Infinity':
      w.byte(NUM_POS_INF);
      return;
    case '-Infinity':
      w.byte(NUM_NEG_INF);
      return;
    case undefined:
      break;
  }
  if (n.unscaled === 0n) {
    w.byte(NUM_ZERO);
    return;
  }
  const s = n.stripTrailingZeros();
  const negative = s.unscaled < 0n;
  const digits = (negative ? -s.unscaled : s.unscaled).toString();
  const exponent = digits.length - s.scale;
  w.byte(negative ? NUM_NEG : NUM_POS);
  writeUint(w, ((negative ? -exponent : exponent) ^ 0x80000000) >>> 0, 4);
  const pairs = (digits.length + 1) >> 1;
  w.reserve(pairs + 1);
  const buf = w.raw;
  let at = w.length;
  for (let i = 0; i < digits.length; i += 2) {
    const hi = digits.charCodeAt(i) - 0x30;
    const lo = i + 1 < digits.length ? digits.charCodeAt(i + 1) - 0x30 : 0;
    const b = 1 + hi * 10 + lo;
    buf[at++] = negative ? 255 - b : b;
  }
  buf[at++] = negative ? 0xff : 0x00;
  w.advance(at - w.length);
}

function readNumeric(r: KeyReader, mask: number): Numeric {
  const cls = r.byte() ^ mask;
  switch (cls) {
    case NUM_NAN:
      return Numeric.NaN;
    case NUM_POS_INF:
      return Numeric.Infinity;
    case NUM_NEG_INF:
      return Numeric.NegativeInfinity;
    case NUM_ZERO:
      return Numeric.ZERO;
    case NUM_POS:
    case NUM_NEG:
      break;
    default:
      throw corrupt(`bad numeric class ${cls}`);
  }
  const negative = cls === NUM_NEG;
  const e = (readUint(r, 4, mask) ^ 0x80000000) | 0;
  const exponent = negative ? -e : e;
  const end = negative ? 0xff : 0x00;
  let digits = '';
  for (;;) {
    const raw = r.byte() ^ mask;
    if (raw === end) break;
    const b = negative ? 255 - raw : raw;
    if (b < 1 || b > 100) throw corrupt('bad numeric digit');
    digits += String(b - 1).padStart(2, '0');
  }
  digits = digits.replace(/0+$/, '');
  if (digits.length === 0) throw corrupt('numeric without digits');
  const scale = digits.length - exponent;
  let unscaled = BigInt(digits);
  let s = scale;
  if (scale < 0) {
    unscaled *= pow10(-scale);
    s = 0;
  }
  return Numeric.of(negative ? -unscaled : unscaled, s);
}
