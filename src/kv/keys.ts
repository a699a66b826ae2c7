// Where user data lives in the engine. Every record about a user key — its raw value, its
// transaction lock, its committed versions and their data — sits under one engine prefix followed by
// the memcomparable encoding of the user key and a one-byte tag:
//
//   0x20 enc(key) 0x00               raw value (the raw KV API)
//   0x20 enc(key) 0x01               lock of the transaction writing the key, if any
//   0x20 enc(key) 0x02 ~commit_ts    write record: which transaction's data a commit made visible
//   0x20 enc(key) 0x03 ~start_ts     data a transaction wrote (put by its prewrite)
//
// Timestamps are stored inverted (2^64 - 1 - ts, big-endian) so the newest version comes first and
// "the latest version at or before ts" is one seek. The memcomparable encoding keeps user-key order
// and is prefix-free, so every record of a key in [start, end) lies in the engine range
// [0x20 enc(start), 0x20 enc(end)): a Region's data is one contiguous range, which snapshots,
// splits and deletions rely on.
//
// enc(key): the key in groups of 8 bytes, the last group padded with zeros, each group followed by
// a marker byte 0xff - (number of padding bytes); the marker of a full group that is not the last
// is 0xff. So "ab" → 61 62 00 00 00 00 00 00 f9, and the empty key → 8 zeros and f7.
import { KeyKind } from '../storage/keys.js';

export const RecordTag = { Raw: 0x00, Lock: 0x01, Write: 0x02, Data: 0x03 } as const;
export type RecordTag = (typeof RecordTag)[keyof typeof RecordTag];

/** Timestamps are u64; the largest one reads every committed version. */
export const MAX_TS = (1n << 64n) - 1n;
const GROUP = 8;
const MARKER = 0xff;
const TS_BYTES = 8;

/** Length of enc(key). */
export function encodedLength(keyLength: number): number {
  return (Math.floor(keyLength / GROUP) + 1) * (GROUP + 1);
}

/** Writes enc(key) into `target` at `offset`; returns the offset after it. */
export function encodeKeyInto(key: Uint8Array, target: Uint8Array, offset: number): number {
  let o = offset;
  for (let i = 0; i <= key.byteLength; i += GROUP) {
    const remain = key.byteLength - i;
    if (remain >= GROUP) {
      target.set(key.subarray(i, i + GROUP), o);
      o += GROUP;
      target[o++] = MARKER;
    } else {
      target.set(key.subarray(i), o);
      target.fill(0, o + remain, o + GROUP);
      o += GROUP;
      target[o++] = MARKER - (GROUP - remain);
    }
  }
  return o;
}

export function encodeKey(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(encodedLength(key.byteLength));
  encodeKeyInto(key, out, 0);
  return out;
}

export class KeyDecodeError extends Error {}

/** Decodes enc(key) starting at `offset`: the key and the offset just after its encoding. */
export function decodeKey(source: Uint8Array, offset = 0): { key: Uint8Array; next: number } {
  const parts: Uint8Array[] = [];
  let length = 0;
  let o = offset;
  for (;;) {
    if (o + GROUP + 1 > source.byteLength) throw new KeyDecodeError('truncated memcomparable key');
    const marker = source[o + GROUP]!;
    const pad = MARKER - marker;
    if (pad > GROUP) throw new KeyDecodeError(`bad memcomparable marker 0x${marker.toString(16)}`);
    const used = GROUP - pad;
    for (let i = used; i < GROUP; i++) if (source[o + i] !== 0) throw new KeyDecodeError('non-zero padding in a memcomparable key');
    parts.push(source.subarray(o, o + used));
    length += used;
    o += GROUP + 1;
    if (pad !== 0) break;
  }
  const key = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    key.set(p, at);
    at += p.byteLength;
  }
  return { key, next: o };
}

/** The engine key of a record of `key` (ts for write and data records only). */
export function recordKey(key: Uint8Array, tag: number, ts: bigint | undefined): Uint8Array {
  const out = new Uint8Array(1 + encodedLength(key.byteLength) + 1 + (ts === undefined ? 0 : TS_BYTES));
  out[0] = KeyKind.userData;
  let o = encodeKeyInto(key, out, 1);
  out[o++] = tag;
  if (ts !== undefined) writeTsDesc(out, o, ts);
  return out;
}

function writeTsDesc(target: Uint8Array, offset: number, ts: bigint): void {
  if (ts < 0n || ts > MAX_TS) throw new RangeError(`timestamp out of range: ${ts}`);
  new DataView(target.buffer, target.byteOffset, target.byteLength).setBigUint64(offset, MAX_TS - ts);
}

export function rawKey(key: Uint8Array): Uint8Array {
  return recordKey(key, RecordTag.Raw, undefined);
}

export function lockKey(key: Uint8Array): Uint8Array {
  return recordKey(key, RecordTag.Lock, undefined);
}

export function writeKey(key: Uint8Array, commitTs: bigint): Uint8Array {
  return recordKey(key, RecordTag.Write, commitTs);
}

export function dataKeyAt(key: Uint8Array, startTs: bigint): Uint8Array {
  return recordKey(key, RecordTag.Data, startTs);
}

/** The first engine key after every record of `key` with `tag`. */
export function tagEnd(key: Uint8Array, tag: RecordTag): Uint8Array {
  return recordKey(key, tag + 1, undefined);
}

/** The engine key just before which every record of `key` lies ([prefix, this) holds them all). */
export function keyRecordsEnd(key: Uint8Array): Uint8Array {
  return recordKey(key, 0xff, undefined);
}

/** The engine range holding every record of user keys in [start, end); empty end = no bound. */
export function userRange(start: Uint8Array, end: Uint8Array): { gte: Uint8Array; lt: Uint8Array } {
  const gte = new Uint8Array(1 + encodedLength(start.byteLength));
  gte[0] = KeyKind.userData;
  encodeKeyInto(start, gte, 1);
  if (end.byteLength === 0) return { gte, lt: Uint8Array.of(KeyKind.userData + 1) };
  const lt = new Uint8Array(1 + encodedLength(end.byteLength));
  lt[0] = KeyKind.userData;
  encodeKeyInto(end, lt, 1);
  return { gte, lt };
}

export interface ParsedKey {
  readonly key: Uint8Array;
  readonly tag: RecordTag;
  /** The record's timestamp (commit ts of a write, start ts of data); undefined for raw and lock. */
  readonly ts: bigint | undefined;
}

/** Splits an engine key of user data into its user key, tag and timestamp. */
export function parseKey(engineKey: Uint8Array): ParsedKey {
  if (engineKey[0] !== KeyKind.userData) throw new KeyDecodeError('not a user data key');
  const { key, next } = decodeKey(engineKey, 1);
  if (next >= engineKey.byteLength) throw new KeyDecodeError('user data key without a record tag');
  const tag = engineKey[next] as RecordTag;
  if (tag === RecordTag.Raw || tag === RecordTag.Lock) {
    if (next + 1 !== engineKey.byteLength) throw new KeyDecodeError('trailing bytes after a raw or lock key');
    return { key, tag, ts: undefined };
  }
  if (tag !== RecordTag.Write && tag !== RecordTag.Data) throw new KeyDecodeError(`unknown record tag ${tag}`);
  if (next + 1 + TS_BYTES !== engineKey.byteLength) throw new KeyDecodeError('a versioned key needs an 8-byte timestamp');
  const inverted = new DataView(engineKey.buffer, engineKey.byteOffset, engineKey.byteLength).getBigUint64(next + 1);
  return { key, tag, ts: MAX_TS - inverted };
}

/** The user key of an engine key of user data. */
export function userKeyOf(engineKey: Uint8Array): Uint8Array {
  return decodeKey(engineKey, 1).key;
}
