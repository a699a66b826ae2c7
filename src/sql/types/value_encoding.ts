// The row format stored as a KV value: the non-NULL column values of one row, each tagged with its
// column id, so columns can be added and dropped without rewriting rows.
//
//   row     := version:u8 maxColumnId:varint entry*           (entries by ascending column id)
//   entry   := tag:varint payload                              tag = (id - previous id) << 3 | size
//   size    := 0: 1 byte  1: 2 bytes  2: 4 bytes  3: 8 bytes  4: 12 bytes  5: 16 bytes
//              6: varint length, then that many bytes
//
// A NULL value has no entry at all. maxColumnId is the largest column id of the schema the row
// was written with, so a reader tells a NULL (no entry, id ≤ maxColumnId) from a column added
// after the row was written (id > maxColumnId), which takes its default. The size class makes
// every entry skippable without knowing its type (a dropped column, or one a query does not read).
//
// Payloads (little-endian): bool u8; "char" u8 (0 for the empty value); int2 i16; int4, oid, reg*
// u32/i32; date i32 (±infinity as INT32_MAX/MIN); float4 f32; int8, time i64; timestamp and
// timestamptz i64 µs since 2000-01-01 (±infinity as INT64_MAX/MIN); float8 f64; timetz i64 µs + i32 offset; interval i32 months, i32 days, i64 µs; uuid 16
// bytes; text types, json: UTF-8; bytea: the bytes; jsonb: its text; numeric: varint (scale << 2 |
// kind: 0 finite, 1 NaN, 2 Infinity, 3 -Infinity) then the unscaled value in little-endian two's
// complement, as few bytes as hold it; arrays: varint dimensions, per dimension varint length and
// zigzag-varint lower bound, then each element in row-major order as 00 (NULL) or 01 + its
// payload (varlen payloads prefixed with their varint length).
//
// This is on every row read, so decoding allocates only the values themselves: integers are read
// with shifts, strings through one Buffer view of the row, and the per-schema layout is cached.
import { SqlError, SqlState } from '../errors.js';
import { SqlArray, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY, type Datum, type TimeTz } from './datum.js';
import { Interval } from './interval.js';
import { Jsonb } from './jsonb.js';
import { Numeric } from './numeric.js';
import { Oid, elementTypeOf, formatType } from './oids.js';

/** The first byte of every row this module writes. */
export const ROW_FORMAT_VERSION = 1;
/** Largest encoded row; a bigger one is refused with 54000 (TiKV's default entry limit is 8 MiB). */
export const MAX_ROW_BYTES = 8 * 1024 * 1024;
/** Column ids are positive and below 2^31 (they are PostgreSQL attribute numbers in spirit). */
export const MAX_COLUMN_ID = 0x7fffffff;

export interface EncodedColumn {
  readonly id: number;
  readonly oid: number;
}

const SIZE_1 = 0;
const SIZE_2 = 1;
const SIZE_4 = 2;
const SIZE_8 = 3;
const SIZE_12 = 4;
const SIZE_16 = 5;
const SIZE_VAR = 6;

const FIXED_SIZES = [1, 2, 4, 8, 12, 16];

// How each type is stored; a small integer so the hot loops switch on dense cases.
const K_BOOL = 0;
const K_CHAR = 1;
const K_INT2 = 2;
const K_INT4 = 3;
const K_OID = 4;
const K_DATE = 5;
const K_FLOAT4 = 6;
const K_INT8 = 7;
const K_FLOAT8 = 8;
const K_TIMETZ = 9;
const K_INTERVAL = 10;
const K_UUID = 11;
const K_TEXT = 12;
const K_BYTEA = 13;
const K_JSONB = 14;
const K_NUMERIC = 15;
const K_ARRAY = 16;
const K_VECTOR = 17;
const K_TIMESTAMP = 18;

const KIND_SIZE = [SIZE_1, SIZE_1, SIZE_2, SIZE_4, SIZE_4, SIZE_4, SIZE_4, SIZE_8, SIZE_8, SIZE_12, SIZE_16, SIZE_16, SIZE_VAR, SIZE_VAR, SIZE_VAR, SIZE_VAR, SIZE_VAR, SIZE_VAR, SIZE_8];

/** µs from 1970-01-01 to 2000-01-01: timestamps are stored from PostgreSQL's epoch, where all fit in 64 bits. */
const PG_EPOCH_MICROS = 946_684_800_000_000n;

function kindOf(oid: number): number {
  switch (oid) {
    case Oid.bool:
      return K_BOOL;
    case Oid.char:
      return K_CHAR;
    case Oid.int2:
      return K_INT2;
    case Oid.int4:
      return K_INT4;
    case Oid.oid:
    case Oid.regclass:
    case Oid.regtype:
    case Oid.regproc:
    case Oid.regprocedure:
    case Oid.regnamespace:
    case Oid.regrole:
      return K_OID;
    case Oid.date:
      return K_DATE;
    case Oid.float4:
      return K_FLOAT4;
    case Oid.int8:
    case Oid.time:
      return K_INT8;
    case Oid.timestamp:
    case Oid.timestamptz:
      return K_TIMESTAMP;
    case Oid.float8:
      return K_FLOAT8;
    case Oid.timetz:
      return K_TIMETZ;
    case Oid.interval:
      return K_INTERVAL;
    case Oid.uuid:
      return K_UUID;
    case Oid.text:
    case Oid.varchar:
    case Oid.bpchar:
    case Oid.name:
    case Oid.json:
    case Oid.unknown:
      return K_TEXT;
    case Oid.bytea:
      return K_BYTEA;
    case Oid.jsonb:
      return K_JSONB;
    case Oid.numeric:
      return K_NUMERIC;
    case Oid.int2vector:
    case Oid.oidvector:
      return K_VECTOR;
    default:
      if (elementTypeOf(oid) !== 0) return K_ARRAY;
      throw new SqlError(SqlState.featureNotSupported, `values of type ${formatType({ oid, typmod: -1 })} cannot be stored in a table`);
  }
}

function corrupt(what: string): SqlError {
  return new SqlError(SqlState.dataCorrupted, `corrupt row value: ${what}`);
}

function tooLarge(): SqlError {
  return new SqlError(SqlState.programLimitExceeded, `row is too big: more than ${MAX_ROW_BYTES} bytes`);
}

/** The columns of a schema arranged for encoding and decoding; built once per columns array. */
class RowLayout {
  readonly ids: Int32Array;
  readonly kinds: Uint8Array;
  readonly elementKinds: Uint8Array;
  readonly elementOids: Int32Array;
  /** Column positions in ascending id order. */
  readonly order: Int32Array;
  readonly ascending: boolean;
  readonly maxId: number;
  /** id → position, when the columns are not in ascending id order. */
  readonly byId: Map<number, number> | undefined;

  constructor(columns: readonly EncodedColumn[]) {
    const n = columns.length;
    this.ids = new Int32Array(n);
    this.kinds = new Uint8Array(n);
    this.elementKinds = new Uint8Array(n);
    this.elementOids = new Int32Array(n);
    let ascending = true;
    let maxId = 0;
    for (let i = 0; i < n; i++) {
      const c = columns[i]!;
      if (!Number.isInteger(c.id) || c.id < 1 || c.id > MAX_COLUMN_ID) throw new SqlError(SqlState.internalError, `bad column id ${c.id}`);
      this.ids[i] = c.id;
      const kind = kindOf(c.oid);
      this.kinds[i] = kind;
      if (kind === K_ARRAY) {
        const element = elementTypeOf(c.oid);
        const ek = kindOf(element);
        if (ek === K_ARRAY) throw new SqlError(SqlState.featureNotSupported, 'arrays of arrays cannot be stored');
        this.elementKinds[i] = ek;
        this.elementOids[i] = element;
      } else if (kind === K_VECTOR) {
        this.elementKinds[i] = c.oid === Oid.int2vector ? K_INT2 : K_OID;
        this.elementOids[i] = c.oid === Oid.int2vector ? Oid.int2 : Oid.oid;
      }
      if (i > 0 && c.id <= columns[i - 1]!.id) ascending = false;
      if (c.id > maxId) maxId = c.id;
    }
    this.ascending = ascending;
    this.maxId = maxId;
    const order = Array.from({ length: n }, (_, i) => i);
    if (!ascending) {
      order.sort((a, b) => this.ids[a]! - this.ids[b]!);
      for (let i = 1; i < n; i++) {
        if (this.ids[order[i]!] === this.ids[order[i - 1]!]) throw new SqlError(SqlState.internalError, `duplicate column id ${this.ids[order[i]!]}`);
      }
      this.byId = new Map();
      for (let i = 0; i < n; i++) this.byId.set(this.ids[i]!, i);
    } else {
      this.byId = undefined;
    }
    this.order = Int32Array.from(order);
  }
}

const LAYOUTS = new WeakMap<readonly EncodedColumn[], RowLayout>();
/** A scan reads one table's rows in a row: its layout is remembered without the WeakMap lookup. */
let lastColumns: readonly EncodedColumn[] | undefined;
let lastLayout: RowLayout | undefined;

function layoutOf(columns: readonly EncodedColumn[]): RowLayout {
  if (columns === lastColumns) return lastLayout!;
  let l = LAYOUTS.get(columns);
  if (l === undefined) {
    l = new RowLayout(columns);
    LAYOUTS.set(columns, l);
  }
  lastColumns = columns;
  lastLayout = l;
  return l;
}

// ---- writing ----

const INITIAL_BUFFER = 4096;

/**
 * The one buffer rows are built in (JavaScript runs one encode at a time): a Buffer for its UTF-8
 * writer, and a plain Uint8Array over the same memory, whose slice() is a bare copy (a Buffer's
 * goes through its species constructor).
 */
let out = Buffer.allocUnsafe(INITIAL_BUFFER);
let outBytes = new Uint8Array(out.buffer, out.byteOffset, out.length);
let pos = 0;

function reserve(n: number): void {
  if (pos + n <= out.length) return;
  const need = pos + n;
  if (need > MAX_ROW_BYTES + 64) throw tooLarge();
  const next = Buffer.allocUnsafe(Math.min(Math.max(need, out.length * 2), MAX_ROW_BYTES + 64));
  out.copy(next, 0, 0, pos);
  out = next;
  outBytes = new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function putVarint(v: number): void {
  reserve(5);
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
}

function putZigzag(v: number): void {
  putVarint(v >= 0 ? v * 2 : -v * 2 - 1);
}

function putU32(v: number): void {
  out[pos] = v & 0xff;
  out[pos + 1] = (v >>> 8) & 0xff;
  out[pos + 2] = (v >>> 16) & 0xff;
  out[pos + 3] = (v >>> 24) & 0xff;
  pos += 4;
}

function putI64(v: bigint): void {
  const lo = Number(BigInt.asUintN(32, v));
  const hi = Number(BigInt.asIntN(32, v >> 32n));
  putU32(lo);
  putU32(hi >>> 0);
}

/** Short ASCII strings (most keys, codes and fillers) are copied in directly. */
const ASCII_DIRECT_LIMIT = 127;

function putString(str: string): void {
  const n = str.length;
  if (n <= ASCII_DIRECT_LIMIT) {
    reserve(n + 1);
    const at = pos;
    let i = 0;
    for (; i < n; i++) {
      const c = str.charCodeAt(i);
      if (c >= 0x80) break;
      out[at + 1 + i] = c;
    }
    if (i === n) {
      out[at] = n;
      pos = at + 1 + n;
      return;
    }
  }
  const len = n <= MAX_ROW_BYTES / 3 ? 0 : Buffer.byteLength(str, 'utf8');
  if (len > MAX_ROW_BYTES) throw tooLarge();
  // At most 3 bytes per UTF-16 unit: a length prefix sized for that, padded with continuation bits,
  // lets the bytes be written in place before their length is known.
  const max = len > 0 ? len : n * 3;
  const prefix = max < 0x80 ? 1 : max < 0x4000 ? 2 : max < 0x200000 ? 3 : 4;
  reserve(prefix + max);
  const at = pos;
  pos += prefix;
  pos += out.write(str, pos, 'utf8');
  let written = pos - at - prefix;
  for (let i = 0; i < prefix; i++) {
    out[at + i] = (written & 0x7f) | (i === prefix - 1 ? 0 : 0x80);
    written >>>= 7;
  }
}

function putBytes(b: Uint8Array): void {
  if (b.length > MAX_ROW_BYTES) throw tooLarge();
  putVarint(b.length);
  reserve(b.length);
  out.set(b, pos);
  pos += b.length;
}

const F64 = new Float64Array(1);
const F32 = new Float32Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const F32_BYTES = new Uint8Array(F32.buffer);

function putNumeric(n: Numeric): void {
  if (n.special !== undefined) {
    putVarint(1);
    putVarint(n.special === 'NaN' ? 1 : n.special === 'Infinity' ? 2 : 3);
    return;
  }
  let u = n.unscaled;
  if (u >= -0x80000000n && u <= 0x7fffffffn) {
    // Small values, the common case: header, then 0-4 bytes of two's complement.
    let v = Number(u);
    const bytes = v === 0 ? 0 : v >= -0x80 && v <= 0x7f ? 1 : v >= -0x8000 && v <= 0x7fff ? 2 : v >= -0x800000 && v <= 0x7fffff ? 3 : 4;
    const header = n.scale * 4;
    const headerBytes = header < 0x80 ? 1 : header < 0x4000 ? 2 : 3;
    putVarint(headerBytes + bytes);
    putVarint(header);
    reserve(4);
    for (let i = 0; i < bytes; i++) {
      out[pos++] = v & 0xff;
      v >>= 8;
    }
    return;
  }
  const magnitudeBits = (u < 0n ? -u : u).toString(16).length * 4 + 1;
  const bytes = Math.ceil(magnitudeBits / 8);
  const header = n.scale * 4;
  const headerBytes = header < 0x80 ? 1 : header < 0x4000 ? 2 : 3;
  putVarint(headerBytes + bytes);
  putVarint(header);
  reserve(bytes);
  for (let i = 0; i < bytes; i++) {
    out[pos++] = Number(u & 0xffn);
    u >>= 8n;
  }
}

function putFixed(kind: number, v: Datum): void {
  reserve(16);
  switch (kind) {
    case K_BOOL:
      out[pos++] = v === true ? 1 : 0;
      return;
    case K_CHAR: {
      const s = v as string;
      out[pos++] = s.length === 0 ? 0 : s.charCodeAt(0) & 0xff;
      return;
    }
    case K_INT2: {
      const x = v as number;
      out[pos++] = x & 0xff;
      out[pos++] = (x >> 8) & 0xff;
      return;
    }
    case K_INT4:
    case K_OID:
      putU32((v as number) >>> 0);
      return;
    case K_DATE: {
      const d = v as number;
      putU32(d === Infinity ? 0x7fffffff : d === -Infinity ? 0x80000000 : d >>> 0);
      return;
    }
    case K_FLOAT4:
      F32[0] = v as number;
      for (let i = 0; i < 4; i++) out[pos++] = F32_BYTES[i]!;
      return;
    case K_INT8:
      putI64(v as bigint);
      return;
    case K_TIMESTAMP: {
      const t = v as bigint;
      putI64(t === TIMESTAMP_INFINITY || t === TIMESTAMP_NEG_INFINITY ? t : t - PG_EPOCH_MICROS);
      return;
    }
    case K_FLOAT8:
      F64[0] = v as number;
      for (let i = 0; i < 8; i++) out[pos++] = F64_BYTES[i]!;
      return;
    case K_TIMETZ: {
      const t = v as TimeTz;
      putI64(t.micros);
      putU32(t.offsetSeconds >>> 0);
      return;
    }
    case K_INTERVAL: {
      const iv = v as Interval;
      putU32(iv.months >>> 0);
      putU32(iv.days >>> 0);
      putI64(iv.micros);
      return;
    }
    case K_UUID: {
      const u = v as string;
      let h = 0;
      for (let i = 0; i < u.length; i++) {
        const c = u.charCodeAt(i);
        if (c === 0x2d) continue;
        const d = c <= 0x39 ? c - 0x30 : c - 0x57;
        if ((h & 1) === 0) out[pos] = d << 4;
        else out[pos++]! |= d;
        h++;
      }
      if (h !== 32) throw new SqlError(SqlState.internalError, `not a canonical uuid: ${u}`);
      return;
    }
  }
}

function putVar(kind: number, v: Datum, elementKind: number): void {
  switch (kind) {
    case K_TEXT:
      putString(v as string);
      return;
    case K_BYTEA:
      putBytes(v as Uint8Array);
      return;
    case K_JSONB:
      putString((v as Jsonb).toString());
      return;
    case K_NUMERIC:
      putNumeric(v as Numeric);
      return;
    case K_ARRAY:
    case K_VECTOR:
      putArray(v as SqlArray, elementKind, kind === K_VECTOR);
      return;
  }
}

function putArray(a: SqlArray, elementKind: number, vector: boolean): void {
  // The length prefix is written once the body is known: the body goes to a nested buffer region.
  const lengthAt = pos;
  reserve(4);
  pos += 4;
  const lengths: number[] = [];
  const lowerBounds: number[] = [];
  let level: SqlArray | undefined = a;
  while (level !== undefined && level.values.length > 0) {
    lengths.push(level.values.length);
    lowerBounds.push(level.lowerBound);
    const first: Datum | undefined = level.values[0];
    level = first instanceof SqlArray && !vector ? first : undefined;
  }
  putVarint(lengths.length);
  for (let d = 0; d < lengths.length; d++) {
    putVarint(lengths[d]!);
    putZigzag(lowerBounds[d]!);
  }
  const walk = (l: SqlArray, depth: number): void => {
    if (l.values.length !== lengths[depth]) throw new SqlError(SqlState.arraySubscriptError, 'multidimensional arrays must have array expressions with matching dimensions');
    for (const v of l.values) {
      if (depth + 1 < lengths.length) {
        if (!(v instanceof SqlArray)) throw new SqlError(SqlState.arraySubscriptError, 'multidimensional arrays must have array expressions with matching dimensions');
        walk(v, depth + 1);
        continue;
      }
      reserve(1);
      if (v === null) {
        out[pos++] = 0;
        continue;
      }
      out[pos++] = 1;
      if (KIND_SIZE[elementKind] === SIZE_VAR) putVar(elementKind, v, 0);
      else putFixed(elementKind, v);
    }
  };
  if (lengths.length > 0) walk(a, 0);
  // A fixed 4-byte varint (with continuation bits) holds any length up to 2^28.
  const len = pos - lengthAt - 4;
  if (len >= 1 << 28) throw tooLarge();
  out[lengthAt] = (len & 0x7f) | 0x80;
  out[lengthAt + 1] = ((len >>> 7) & 0x7f) | 0x80;
  out[lengthAt + 2] = ((len >>> 14) & 0x7f) | 0x80;
  out[lengthAt + 3] = (len >>> 21) & 0x7f;
}

/**
 * Encodes one row; values[i] belongs to columns[i]. A columns array is read once and its layout
 * cached: treat it as immutable (make a new array for a new schema version).
 */
export function encodeRow(columns: readonly EncodedColumn[], values: readonly Datum[]): Uint8Array {
  const layout = layoutOf(columns);
  pos = 0;
  reserve(16);
  out[pos++] = ROW_FORMAT_VERSION;
  putVarint(layout.maxId);
  let previous = 0;
  const n = columns.length;
  for (let k = 0; k < n; k++) {
    const i = layout.ascending ? k : layout.order[k]!;
    const v = values[i];
    if (v === null || v === undefined) continue;
    const id = layout.ids[i]!;
    const kind = layout.kinds[i]!;
    const size = KIND_SIZE[kind]!;
    putVarint((id - previous) * 8 + size);
    previous = id;
    if (size === SIZE_VAR) putVar(kind, v, layout.elementKinds[i]!);
    else putFixed(kind, v);
  }
  if (pos > MAX_ROW_BYTES) throw tooLarge();
  return copyOut(pos);
}

/**
 * Encoded rows (and decoded bytea values) are carved out of shared slabs: a view on a slab costs an object, a fresh
 * ArrayBuffer costs a malloc and external-memory bookkeeping, which dominated encoding. A slab
 * lives as long as any row cut from it, so rows above ROW_SLAB_MAX_ROW get their own buffer.
 */
const ROW_SLAB_BYTES = 64 * 1024;
const ROW_SLAB_MAX_ROW = 4 * 1024;
let slab = new Uint8Array(ROW_SLAB_BYTES);
let slabUsed = 0;

function copyOut(n: number): Uint8Array {
  return copyBytes(outBytes.subarray(0, n));
}

/** A copy of `bytes` of its own, on a slab when small. */
function copyBytes(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  if (n > ROW_SLAB_MAX_ROW) return bytes.slice();
  if (slabUsed + n > ROW_SLAB_BYTES) {
    slab = new Uint8Array(ROW_SLAB_BYTES);
    slabUsed = 0;
  }
  const copy = slab.subarray(slabUsed, slabUsed + n);
  copy.set(bytes);
  // Keep views 8-byte aligned, so a reader may lay a Float64Array or BigInt64Array over one.
  slabUsed += (n + 7) & ~7;
  return copy;
}

// ---- reading ----

let src: Uint8Array = new Uint8Array(0);
let rd = 0;
/** A Buffer over the row's memory (for its UTF-8 decoder), and where the row starts in it. */
let srcBuffer: Buffer | undefined;
let srcBase = 0;
/**
 * The Buffer last laid over a whole ArrayBuffer: rows cut from one slab (or one KV response) share
 * their ArrayBuffer, so one view serves them all.
 */
let cachedArrayBuffer: ArrayBufferLike | undefined;
let cachedBuffer: Buffer | undefined;

function getVarint(): number {
  let v = 0;
  let shift = 0;
  for (;;) {
    if (rd >= src.length) throw corrupt('truncated varint');
    const b = src[rd++]!;
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return v;
    shift += 7;
    if (shift > 35) throw corrupt('varint too long');
  }
}

function getZigzag(): number {
  const v = getVarint();
  return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
}

function need(n: number): void {
  if (rd + n > src.length) throw corrupt('truncated value');
}

function getI32(): number {
  const v = src[rd]! | (src[rd + 1]! << 8) | (src[rd + 2]! << 16) | (src[rd + 3]! << 24);
  rd += 4;
  return v;
}

function getI64(): bigint {
  const lo = getI32() >>> 0;
  const hi = getI32();
  // Within ±2^53 one Number → BigInt conversion is enough.
  if (hi >= -0x200000 && hi < 0x200000) return BigInt(hi * 0x100000000 + lo);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function getString(len: number): string {
  need(len);
  if (srcBuffer === undefined) {
    if (src.buffer !== cachedArrayBuffer || cachedBuffer === undefined) {
      cachedArrayBuffer = src.buffer;
      cachedBuffer = Buffer.from(src.buffer, 0, src.buffer.byteLength);
    }
    srcBuffer = cachedBuffer;
    srcBase = src.byteOffset;
  }
  const s = srcBuffer.toString('utf8', srcBase + rd, srcBase + rd + len);
  rd += len;
  return s;
}

function getFixed(kind: number): Datum {
  switch (kind) {
    case K_BOOL: {
      need(1);
      return src[rd++] !== 0;
    }
    case K_CHAR: {
      need(1);
      const b = src[rd++]!;
      return b === 0 ? '' : String.fromCharCode(b);
    }
    case K_INT2: {
      need(2);
      const v = src[rd]! | (src[rd + 1]! << 8);
      rd += 2;
      return (v << 16) >> 16;
    }
    case K_INT4:
      need(4);
      return getI32();
    case K_OID:
      need(4);
      return getI32() >>> 0;
    case K_DATE: {
      need(4);
      const d = getI32();
      return d === 0x7fffffff ? Infinity : d === -0x80000000 ? -Infinity : d;
    }
    case K_FLOAT4:
      need(4);
      for (let i = 0; i < 4; i++) F32_BYTES[i] = src[rd++]!;
      return F32[0]!;
    case K_INT8:
      need(8);
      return getI64();
    case K_TIMESTAMP: {
      need(8);
      const t = getI64();
      return t === TIMESTAMP_INFINITY || t === TIMESTAMP_NEG_INFINITY ? t : t + PG_EPOCH_MICROS;
    }
    case K_FLOAT8:
      need(8);
      for (let i = 0; i < 8; i++) F64_BYTES[i] = src[rd++]!;
      return F64[0]!;
    case K_TIMETZ: {
      need(12);
      const micros = getI64();
      return { micros, offsetSeconds: getI32() };
    }
    case K_INTERVAL: {
      need(16);
      const months = getI32();
      const days = getI32();
      return new Interval(months, days, getI64());
    }
    case K_UUID: {
      need(16);
      let s = '';
      for (let i = 0; i < 16; i++) {
        if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
        s += HEX_PAIRS[src[rd++]!];
      }
      return s;
    }
    default:
      throw corrupt(`bad kind ${kind}`);
  }
}

const HEX_PAIRS: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function getNumeric(len: number): Numeric {
  need(len);
  const end = rd + len;
  const header = getVarint();
  const kind = header & 3;
  if (kind !== 0) {
    rd = end;
    return kind === 1 ? Numeric.NaN : kind === 2 ? Numeric.Infinity : Numeric.NegativeInfinity;
  }
  const scale = (header - kind) / 4;
  const bytes = end - rd;
  let u: bigint;
  if (bytes <= 6) {
    let v = 0;
    for (let i = bytes - 1; i >= 0; i--) v = v * 256 + src[rd + i]!;
    if (bytes > 0 && src[rd + bytes - 1]! & 0x80) v -= 2 ** (8 * bytes);
    u = BigInt(v);
  } else {
    u = 0n;
    for (let i = bytes - 1; i >= 0; i--) u = (u << 8n) | BigInt(src[rd + i]!);
    u = BigInt.asIntN(8 * bytes, u);
  }
  rd = end;
  return Numeric.of(u, scale);
}

function getVar(kind: number, len: number, elementKind: number, elementOid: number): Datum {
  switch (kind) {
    case K_TEXT:
      return getString(len);
    case K_BYTEA: {
      need(len);
      const b = copyBytes(src.subarray(rd, rd + len));
      rd += len;
      return b;
    }
    case K_JSONB:
      return Jsonb.parse(getString(len));
    case K_NUMERIC:
      return getNumeric(len);
    case K_ARRAY:
    case K_VECTOR:
      return getArray(len, elementKind, elementOid);
    default:
      throw corrupt(`bad kind ${kind}`);
  }
}

function getArray(len: number, elementKind: number, elementOid: number): SqlArray {
  need(len);
  const end = rd + len;
  const dims = getVarint();
  if (dims > 6) throw corrupt('too many array dimensions');
  if (dims === 0) {
    rd = end;
    return new SqlArray(elementOid, []);
  }
  const lengths: number[] = [];
  const lowerBounds: number[] = [];
  for (let d = 0; d < dims; d++) {
    lengths.push(getVarint());
    lowerBounds.push(getZigzag());
  }
  const varElement = KIND_SIZE[elementKind] === SIZE_VAR;
  const build = (depth: number): SqlArray => {
    const n = lengths[depth]!;
    const values: Datum[] = new Array<Datum>(n);
    for (let i = 0; i < n; i++) {
      if (depth + 1 < dims) {
        values[i] = build(depth + 1);
        continue;
      }
      need(1);
      if (src[rd++] === 0) {
        values[i] = null;
        continue;
      }
      values[i] = varElement ? getVar(elementKind, getVarint(), 0, 0) : getFixed(elementKind);
    }
    return new SqlArray(elementOid, values, lowerBounds[depth]);
  };
  const a = build(0);
  if (rd !== end) throw corrupt('array length mismatch');
  return a;
}

function skipEntry(size: number): void {
  if (size === SIZE_VAR) {
    const len = getVarint();
    need(len);
    rd += len;
  } else {
    const n = FIXED_SIZES[size];
    if (n === undefined) throw corrupt(`bad size class ${size}`);
    need(n);
    rd += n;
  }
}

function readValue(layout: RowLayout, i: number, size: number): Datum {
  const kind = layout.kinds[i]!;
  if (KIND_SIZE[kind] !== size) throw corrupt(`column ${layout.ids[i]} stored with size class ${size}`);
  if (size !== SIZE_VAR) return getFixed(kind);
  return getVar(kind, getVarint(), layout.elementKinds[i]!, layout.elementOids[i]!);
}

/** A column with no entry: NULL if the writer knew it, else absent (1 is returned). */
function markMissing(layout: RowLayout, i: number, maxId: number, out: Datum[], absent: boolean[] | Uint8Array | undefined): number {
  out[i] = null;
  const isAbsent = layout.ids[i]! > maxId;
  if (absent !== undefined) {
    if (absent instanceof Uint8Array) absent[i] = isAbsent ? 1 : 0;
    else absent[i] = isAbsent;
  }
  return isAbsent ? 1 : 0;
}

/**
 * Decodes a row into `out` (out[i] for columns[i]); columns of the row not listed are skipped.
 * Returns how many listed columns are absent from the row: added after it was written, so they
 * take their default. Their out[] is null and, if `absent` is given, absent[i] is true for them
 * (false for every other column).
 */
export function decodeRow(bytes: Uint8Array, columns: readonly EncodedColumn[], out: Datum[], absent?: boolean[] | Uint8Array): number {
  const layout = layoutOf(columns);
  src = bytes;
  rd = 0;
  srcBuffer = Buffer.isBuffer(bytes) ? bytes : undefined;
  srcBase = 0;
  try {
    if (bytes.length === 0) throw corrupt('empty');
    if (bytes[0] !== ROW_FORMAT_VERSION) throw corrupt(`unknown format version ${bytes[0]}`);
    rd = 1;
    const maxId = getVarint();
    const n = columns.length;
    let missing = 0;
    let id = 0;
    if (layout.ascending) {
      // Entries and columns are both in id order: walk them together.
      let p = 0;
      while (rd < src.length) {
        const tag = getVarint();
        id += Math.floor(tag / 8);
        const size = tag & 7;
        while (p < n && layout.ids[p]! < id) missing += markMissing(layout, p++, maxId, out, absent);
        if (p < n && layout.ids[p] === id) {
          if (absent !== undefined) absent[p] = absent instanceof Uint8Array ? 0 : false;
          out[p] = readValue(layout, p, size);
          p++;
        } else {
          skipEntry(size);
        }
      }
      while (p < n) missing += markMissing(layout, p++, maxId, out, absent);
    } else {
      const seen = new Uint8Array(n);
      while (rd < src.length) {
        const tag = getVarint();
        id += Math.floor(tag / 8);
        const size = tag & 7;
        const i = layout.byId!.get(id);
        if (i === undefined) {
          skipEntry(size);
          continue;
        }
        if (absent !== undefined) absent[i] = absent instanceof Uint8Array ? 0 : false;
        out[i] = readValue(layout, i, size);
        seen[i] = 1;
      }
      for (let i = 0; i < n; i++) if (seen[i] === 0) missing += markMissing(layout, i, maxId, out, absent);
    }
    return missing;
  } catch (err) {
    if (err instanceof SqlError) throw err;
    throw corrupt(err instanceof Error ? err.message : String(err));
  } finally {
    src = EMPTY;
    srcBuffer = undefined;
  }
}

const EMPTY = new Uint8Array(0);
