// The values of transaction records (keys in keys.ts). Both are small fixed layouts rather than
// protobuf: they are read on every transactional access, and the kv layer stays free of wire types.
//
// lock:  version u8 (1) | kind u8 | start_ts u64 | min_commit_ts u64 | ttl_ms u32 | txn_size u32 | primary
// write: kind u8 | start_ts u64

/** What a transaction's lock will do to the key when it commits. */
export type LockKind = 'put' | 'delete' | 'lock';
/** What a write record says: a committed put or delete, a lock-only commit, or a rollback. */
export type WriteKind = 'put' | 'delete' | 'lock' | 'rollback';

export interface Lock {
  /** The transaction's primary key: its lock (or commit record) decides the transaction's fate. */
  readonly primary: Uint8Array;
  readonly startTs: bigint;
  readonly kind: LockKind;
  /** Milliseconds after start_ts's physical time during which the lock counts as alive. */
  readonly ttlMs: number;
  /** The transaction may not commit below this timestamp. */
  readonly minCommitTs: bigint;
  /** Keys the transaction writes, as its coordinator knew at prewrite (a hint for resolvers). */
  readonly txnSize: number;
}

export interface Write {
  readonly kind: WriteKind;
  readonly startTs: bigint;
}

const LOCK_VERSION = 1;
const LOCK_HEADER = 1 + 1 + 8 + 8 + 4 + 4;
const LOCK_KINDS: readonly LockKind[] = ['put', 'delete', 'lock'];
const WRITE_KINDS: readonly WriteKind[] = ['put', 'delete', 'lock', 'rollback'];
const U32_MAX = 0xffff_ffff;

export class RecordDecodeError extends Error {}

export function encodeLock(lock: Lock): Uint8Array {
  if (!(Number.isInteger(lock.ttlMs) && lock.ttlMs >= 0 && lock.ttlMs <= U32_MAX)) throw new RangeError(`lock ttl out of range: ${lock.ttlMs}`);
  if (!(Number.isInteger(lock.txnSize) && lock.txnSize >= 0 && lock.txnSize <= U32_MAX)) throw new RangeError(`txn size out of range: ${lock.txnSize}`);
  const out = new Uint8Array(LOCK_HEADER + lock.primary.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, LOCK_VERSION);
  view.setUint8(1, LOCK_KINDS.indexOf(lock.kind));
  view.setBigUint64(2, lock.startTs);
  view.setBigUint64(10, lock.minCommitTs);
  view.setUint32(18, lock.ttlMs);
  view.setUint32(22, lock.txnSize);
  out.set(lock.primary, LOCK_HEADER);
  return out;
}

export function decodeLock(value: Uint8Array): Lock {
  if (value.byteLength < LOCK_HEADER) throw new RecordDecodeError(`lock record of ${value.byteLength} bytes is too short`);
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  if (view.getUint8(0) !== LOCK_VERSION) throw new RecordDecodeError(`unknown lock record version ${view.getUint8(0)}`);
  const kind = LOCK_KINDS[view.getUint8(1)];
  if (kind === undefined) throw new RecordDecodeError(`unknown lock kind ${view.getUint8(1)}`);
  return {
    kind,
    startTs: view.getBigUint64(2),
    minCommitTs: view.getBigUint64(10),
    ttlMs: view.getUint32(18),
    txnSize: view.getUint32(22),
    primary: value.slice(LOCK_HEADER),
  };
}

export function encodeWrite(write: Write): Uint8Array {
  const out = new Uint8Array(9);
  const view = new DataView(out.buffer);
  view.setUint8(0, WRITE_KINDS.indexOf(write.kind));
  view.setBigUint64(1, write.startTs);
  return out;
}

export function decodeWrite(value: Uint8Array): Write {
  if (value.byteLength !== 9) throw new RecordDecodeError(`write record of ${value.byteLength} bytes (expected 9)`);
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const kind = WRITE_KINDS[view.getUint8(0)];
  if (kind === undefined) throw new RecordDecodeError(`unknown write kind ${view.getUint8(0)}`);
  return { kind, startTs: view.getBigUint64(1) };
}

/** A timestamp's physical part in milliseconds (ts = physical << 18 | logical). */
export function physicalMs(ts: bigint): number {
  return Number(ts >> 18n);
}

export function composeTs(physical: number, logical: number): bigint {
  return (BigInt(physical) << 18n) | BigInt(logical);
}

/** A timestamp as it travels: 8 bytes, big-endian. */
export function encodeTs(ts: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, ts);
  return out;
}

/** Reads a timestamp sent by encodeTs; an absent (empty) one is 0. */
export function decodeTs(bytes: Uint8Array | null | undefined): bigint {
  if (bytes === null || bytes === undefined || bytes.byteLength === 0) return 0n;
  if (bytes.byteLength !== 8) throw new RecordDecodeError(`a timestamp takes 8 bytes, got ${bytes.byteLength}`);
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
}
