// The values of transaction records (keys in keys.ts). Both are small fixed layouts rather than
// protobuf: they are read on every transactional access, and the kv layer stays free of wire types.
//
// lock v1: version u8 (1) | kind u8 | start_ts u64 | min_commit_ts u64 | ttl_ms u32 | txn_size u32 | primary
// lock v2: version u8 (2) | kind u8 | start_ts u64 | min_commit_ts u64 | ttl_ms u32 | txn_size u32
//          | for_update_ts u64 | wait_for_ts u64 | primary
// write:   kind u8 | start_ts u64
//
// A lock of an optimistic transaction is still written as v1, so the records of transactions that
// never lock pessimistically stay byte for byte what they were; v2 is written only for locks that
// carry a for_update_ts or a wait-for (the pessimistic kind, and locks prewritten over one).

/**
 * What a transaction's lock will do to the key when it commits. A 'pessimistic' lock has no data
 * yet: it reserves the key for its transaction until the prewrite turns it into one of the others.
 */
export type LockKind = 'put' | 'delete' | 'lock' | 'pessimistic';
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
  /**
   * Set by pessimistic locking: the timestamp the key's newest commit was checked against when the
   * lock was taken (every commit of the key is at or below it). Absent for optimistic locks.
   */
  readonly forUpdateTs?: bigint;
  /**
   * On a primary lock only: the start ts of the transaction this one is waiting for, published so
   * that the other one can see a wait-for cycle (0 or absent: not waiting).
   */
  readonly waitForTs?: bigint;
}

export interface Write {
  readonly kind: WriteKind;
  readonly startTs: bigint;
}

const LOCK_V1 = 1;
const LOCK_V2 = 2;
const LOCK_V1_HEADER = 1 + 1 + 8 + 8 + 4 + 4;
const LOCK_V2_HEADER = LOCK_V1_HEADER + 8 + 8;
const LOCK_KINDS: readonly LockKind[] = ['put', 'delete', 'lock', 'pessimistic'];
const WRITE_KINDS: readonly WriteKind[] = ['put', 'delete', 'lock', 'rollback'];
const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

export class RecordDecodeError extends Error {}

/** True when the lock needs the v2 layout (anything a v1 record cannot say). */
function needsV2(lock: Lock): boolean {
  return lock.kind === 'pessimistic' || lock.forUpdateTs !== undefined || (lock.waitForTs !== undefined && lock.waitForTs !== 0n);
}

export function encodeLock(lock: Lock): Uint8Array {
  if (!(Number.isInteger(lock.ttlMs) && lock.ttlMs >= 0 && lock.ttlMs <= U32_MAX)) throw new RangeError(`lock ttl out of range: ${lock.ttlMs}`);
  if (!(Number.isInteger(lock.txnSize) && lock.txnSize >= 0 && lock.txnSize <= U32_MAX)) throw new RangeError(`txn size out of range: ${lock.txnSize}`);
  const v2 = needsV2(lock);
  const header = v2 ? LOCK_V2_HEADER : LOCK_V1_HEADER;
  const out = new Uint8Array(header + lock.primary.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, v2 ? LOCK_V2 : LOCK_V1);
  view.setUint8(1, LOCK_KINDS.indexOf(lock.kind));
  view.setBigUint64(2, lock.startTs);
  view.setBigUint64(10, lock.minCommitTs);
  view.setUint32(18, lock.ttlMs);
  view.setUint32(22, lock.txnSize);
  if (v2) {
    const forUpdateTs = lock.forUpdateTs ?? 0n;
    const waitForTs = lock.waitForTs ?? 0n;
    if (forUpdateTs < 0n || forUpdateTs > U64_MAX) throw new RangeError(`for update ts out of range: ${forUpdateTs}`);
    if (waitForTs < 0n || waitForTs > U64_MAX) throw new RangeError(`wait-for ts out of range: ${waitForTs}`);
    view.setBigUint64(26, forUpdateTs);
    view.setBigUint64(34, waitForTs);
  }
  out.set(lock.primary, header);
  return out;
}

export function decodeLock(value: Uint8Array): Lock {
  if (value.byteLength < 1) throw new RecordDecodeError('empty lock record');
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const version = view.getUint8(0);
  if (version !== LOCK_V1 && version !== LOCK_V2) throw new RecordDecodeError(`unknown lock record version ${version}`);
  const header = version === LOCK_V1 ? LOCK_V1_HEADER : LOCK_V2_HEADER;
  if (value.byteLength < header) throw new RecordDecodeError(`lock record (version ${version}) of ${value.byteLength} bytes is too short`);
  const kind = LOCK_KINDS[view.getUint8(1)];
  if (kind === undefined) throw new RecordDecodeError(`unknown lock kind ${view.getUint8(1)}`);
  if (kind === 'pessimistic' && version === LOCK_V1) throw new RecordDecodeError('a pessimistic lock in a version 1 lock record');
  const common = {
    kind,
    startTs: view.getBigUint64(2),
    minCommitTs: view.getBigUint64(10),
    ttlMs: view.getUint32(18),
    txnSize: view.getUint32(22),
    primary: value.slice(header),
  };
  if (version === LOCK_V1) return common;
  const waitForTs = view.getBigUint64(34);
  return waitForTs === 0n ? { ...common, forUpdateTs: view.getBigUint64(26) } : { ...common, forUpdateTs: view.getBigUint64(26), waitForTs };
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
