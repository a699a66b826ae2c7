// Where the SQL layer's data lives in the transactional key space.
//
//   0x01 0x01 id:u32                         descriptor (JSON)
//   0x01 0x02 parent:u32 schema:u32 name     name → descriptor id (databases: parent 0, schema 0;
//                                            schemas: parent = database, schema 0)
//   0x01 0x03                                the cluster-wide schema version (u64)
//   0x01 0x04                                the next descriptor id to hand out (u64)
//   0x01 0x05 id:u32                         a sequence's current value (i64)
//   0x01 0x06 version:u64                    which descriptors a schema version changed (JSON)
//   0x01 0x07 job:u64                        a schema-change job still running (JSON)
//   't'  table:u32 index:u32 key columns…    a table's rows (index 1, the primary index) and the
//                                            entries of its secondary indexes (2, 3, …)
//
// Integers are big-endian so that keys sort by them; key columns are memcomparable
// (types/key_encoding.ts), so a range of primary-key values is a range of keys.

const META = 0x01;
const TABLE = 0x74; // 't'
const enc = new TextEncoder();

function u32(out: Uint8Array, at: number, v: number): void {
  out[at] = (v >>> 24) & 0xff;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

function u64(out: Uint8Array, at: number, v: bigint): void {
  for (let i = 7; i >= 0; i--) {
    out[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

export function descriptorKey(id: number): Uint8Array {
  const k = new Uint8Array(6);
  k[0] = META;
  k[1] = 0x01;
  u32(k, 2, id);
  return k;
}

export const DESCRIPTOR_RANGE = { start: Uint8Array.of(META, 0x01), end: Uint8Array.of(META, 0x02) };

export function nameKey(parentId: number, schemaId: number, name: string): Uint8Array {
  const n = enc.encode(name);
  const k = new Uint8Array(10 + n.byteLength);
  k[0] = META;
  k[1] = 0x02;
  u32(k, 2, parentId);
  u32(k, 6, schemaId);
  k.set(n, 10);
  return k;
}

/** Every name under one parent and schema: [start, end). */
export function nameRange(parentId: number, schemaId: number): { start: Uint8Array; end: Uint8Array } {
  const start = nameKey(parentId, schemaId, '');
  const end = nameKey(parentId, schemaId + 1, '');
  if (schemaId === 0xffffffff) throw new Error('schema id out of range');
  return { start, end };
}

export const SCHEMA_VERSION_KEY = Uint8Array.of(META, 0x03);
export const DESCRIPTOR_ID_KEY = Uint8Array.of(META, 0x04);

export function sequenceValueKey(id: number): Uint8Array {
  const k = new Uint8Array(6);
  k[0] = META;
  k[1] = 0x05;
  u32(k, 2, id);
  return k;
}

export function versionLogKey(version: bigint): Uint8Array {
  const k = new Uint8Array(10);
  k[0] = META;
  k[1] = 0x06;
  u64(k, 2, version);
  return k;
}

export const VERSION_LOG_RANGE = { start: Uint8Array.of(META, 0x06), end: Uint8Array.of(META, 0x07) };

export function jobKey(id: bigint): Uint8Array {
  const k = new Uint8Array(10);
  k[0] = META;
  k[1] = 0x07;
  u64(k, 2, id);
  return k;
}

export const JOB_RANGE = { start: Uint8Array.of(META, 0x07), end: Uint8Array.of(META, 0x08) };

/** The first 9 bytes of every key of one index of one table. */
export function indexPrefix(tableId: number, indexId: number): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = TABLE;
  u32(k, 1, tableId);
  u32(k, 5, indexId);
  return k;
}

export const INDEX_PREFIX_LENGTH = 9;

/** Every key of a table (all its indexes): [start, end). */
export function tableRange(tableId: number): { start: Uint8Array; end: Uint8Array } {
  const start = new Uint8Array(5);
  start[0] = TABLE;
  u32(start, 1, tableId);
  const end = new Uint8Array(5);
  end[0] = TABLE;
  u32(end, 1, tableId + 1);
  return { start, end };
}

/** Every key of one index: [start, end). */
export function indexRange(tableId: number, indexId: number): { start: Uint8Array; end: Uint8Array } {
  return { start: indexPrefix(tableId, indexId), end: indexPrefix(tableId, indexId + 1) };
}

export function readU64(b: Uint8Array, at = 0): bigint {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(b[at + i] ?? 0);
  return v;
}

export function encodeU64(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  u64(out, 0, v);
  return out;
}

export function readU32(b: Uint8Array, at = 0): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function encodeU32(v: number): Uint8Array {
  const out = new Uint8Array(4);
  u32(out, 0, v);
  return out;
}

/** The smallest key greater than every key starting with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const out = Uint8Array.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]!++;
      return out.subarray(0, i + 1);
    }
  }
  return new Uint8Array(0);
}
