// Percolator over MVCC records: what each transactional command reads and which records it writes.
// These functions only read (through an MvccReader) and collect modifications (in an MvccWriter);
// the store runs them on a Region's leader with the keys latched, after a read barrier, and
// replicates the collected modifications through the Region's Raft log. Run one at a time per key,
// they give snapshot isolation: a reader at ts sees exactly the transactions committed at or
// before ts, and two transactions writing a common key never both commit.
//
// Pessimistic transactions lock a key when they first mean to change it (acquirePessimisticLock)
// instead of finding conflicts at prewrite: the lock is checked against the newest commit of the
// key at its for_update_ts, and from then on nobody else can commit the key, so the prewrite of a
// key locked that way skips the conflict check and only turns the lock into a normal one. A
// pessimistic lock carries no data, so readers pass over it.
import { MAX_TS, RecordTag, dataKeyAt, lockKey, parseKey, tagEnd, userRange, writeKey } from './keys.js';
import { decodeLock, decodeWrite, encodeLock, encodeWrite, physicalMs, type Lock, type LockKind, type Write } from './records.js';

/** Reads the engine; one request's reads may be served from a consistent snapshot or not. */
export interface MvccReader {
  get(engineKey: Uint8Array): Promise<Uint8Array | undefined>;
  /** Engine pairs with gte <= key < lt in key order, at most `limit`. */
  scan(gte: Uint8Array, lt: Uint8Array, limit: number): Promise<Array<[Uint8Array, Uint8Array]>>;
}

/** One modification of a user key's records. */
export interface Modify {
  readonly op: 'put' | 'delete';
  readonly key: Uint8Array;
  readonly tag: RecordTag;
  readonly ts?: bigint;
  readonly value?: Uint8Array;
}

export class MvccWriter {
  readonly modifies: Modify[] = [];

  putLock(key: Uint8Array, lock: Lock): void {
    this.modifies.push({ op: 'put', key, tag: RecordTag.Lock, value: encodeLock(lock) });
  }
  deleteLock(key: Uint8Array): void {
    this.modifies.push({ op: 'delete', key, tag: RecordTag.Lock });
  }
  putWrite(key: Uint8Array, commitTs: bigint, write: Write): void {
    this.modifies.push({ op: 'put', key, tag: RecordTag.Write, ts: commitTs, value: encodeWrite(write) });
  }
  deleteWrite(key: Uint8Array, commitTs: bigint): void {
    this.modifies.push({ op: 'delete', key, tag: RecordTag.Write, ts: commitTs });
  }
  putData(key: Uint8Array, startTs: bigint, value: Uint8Array): void {
    this.modifies.push({ op: 'put', key, tag: RecordTag.Data, ts: startTs, value });
  }
  deleteData(key: Uint8Array, startTs: bigint): void {
    this.modifies.push({ op: 'delete', key, tag: RecordTag.Data, ts: startTs });
  }
}

// ---- errors a command reports about one key (the request itself succeeded) ----

export type KeyError =
  | { readonly kind: 'locked'; readonly key: Uint8Array; readonly lock: Lock }
  | { readonly kind: 'writeConflict'; readonly key: Uint8Array; readonly startTs: bigint; readonly conflictStartTs: bigint; readonly conflictCommitTs: bigint; readonly primary: Uint8Array }
  | { readonly kind: 'txnLockNotFound'; readonly key: Uint8Array; readonly startTs: bigint }
  | { readonly kind: 'committed'; readonly key: Uint8Array; readonly startTs: bigint; readonly commitTs: bigint }
  | { readonly kind: 'commitTsExpired'; readonly key: Uint8Array; readonly commitTs: bigint; readonly minCommitTs: bigint }
  | { readonly kind: 'txnNotFound'; readonly key: Uint8Array; readonly startTs: bigint }
  | { readonly kind: 'alreadyExists'; readonly key: Uint8Array }
  | { readonly kind: 'tooOld'; readonly key: Uint8Array; readonly startTs: bigint; readonly safePoint: bigint }
  /** A prewrite counted on the transaction's pessimistic lock, but the lock is gone (resolved away after it expired). */
  | { readonly kind: 'pessimisticLockNotFound'; readonly key: Uint8Array; readonly startTs: bigint }
  /** The transaction was rolled back on the key (a resolver found it abandoned): it may not lock it again. */
  | { readonly kind: 'pessimisticLockRolledBack'; readonly key: Uint8Array; readonly startTs: bigint };

export function describeKeyError(e: KeyError): string {
  const key = Buffer.from(e.key).toString('hex');
  switch (e.kind) {
    case 'locked':
      return `key ${key} is locked by transaction ${e.lock.startTs}`;
    case 'writeConflict':
      return `write conflict on key ${key}: transaction ${e.startTs} meets a commit at ${e.conflictCommitTs} (transaction ${e.conflictStartTs})`;
    case 'txnLockNotFound':
      return `lock of transaction ${e.startTs} on key ${key} not found (rolled back or never written)`;
    case 'committed':
      return `transaction ${e.startTs} already committed at ${e.commitTs} (key ${key})`;
    case 'commitTsExpired':
      return `commit ts ${e.commitTs} of key ${key} is below its min commit ts ${e.minCommitTs}`;
    case 'txnNotFound':
      return `transaction ${e.startTs} has no lock on its primary ${key}`;
    case 'alreadyExists':
      return `key ${key} already exists`;
    case 'tooOld':
      return `timestamp ${e.startTs} is below the garbage-collection safe point ${e.safePoint}: the transaction is too old`;
    case 'pessimisticLockNotFound':
      return `the pessimistic lock of transaction ${e.startTs} on key ${key} is gone (resolved after it expired?): the transaction must abort`;
    case 'pessimisticLockRolledBack':
      return `transaction ${e.startTs} was rolled back on key ${key} and may not lock it again: the transaction must abort`;
  }
}

// ---- record lookups ----

export async function loadLock(reader: MvccReader, key: Uint8Array): Promise<Lock | undefined> {
  const value = await reader.get(lockKey(key));
  return value === undefined ? undefined : decodeLock(value);
}

export interface CommittedWrite {
  readonly commitTs: bigint;
  readonly write: Write;
}

const WRITE_SCAN_CHUNK = 16;

/** The newest write record of `key` with commit_ts <= ts whose kind is put or delete. */
export async function latestDataWrite(reader: MvccReader, key: Uint8Array, ts: bigint): Promise<CommittedWrite | undefined> {
  const end = tagEnd(key, RecordTag.Write);
  let from = writeKey(key, ts);
  for (;;) {
    const page = await reader.scan(from, end, WRITE_SCAN_CHUNK);
    for (const [k, v] of page) {
      const write = decodeWrite(v);
      if (write.kind === 'put' || write.kind === 'delete') return { commitTs: parseKey(k).ts!, write };
    }
    if (page.length < WRITE_SCAN_CHUNK) return undefined;
    const last = parseKey(page[page.length - 1]![0]).ts!;
    if (last === 0n) return undefined;
    from = writeKey(key, last - 1n);
  }
}

/** The newest write record of `key` of any kind (the latest commit or rollback). */
export async function newestWrite(reader: MvccReader, key: Uint8Array): Promise<CommittedWrite | undefined> {
  const page = await reader.scan(writeKey(key, MAX_TS), tagEnd(key, RecordTag.Write), 1);
  const first = page[0];
  return first === undefined ? undefined : { commitTs: parseKey(first[0]).ts!, write: decodeWrite(first[1]) };
}

/** The write record a transaction left on `key` (its commit or its rollback), if any. */
export async function writeOfTxn(reader: MvccReader, key: Uint8Array, startTs: bigint): Promise<CommittedWrite | undefined> {
  // Its commit_ts is at least start_ts (a rollback record sits at start_ts itself).
  const lt = startTs === 0n ? tagEnd(key, RecordTag.Write) : writeKey(key, startTs - 1n);
  let from = writeKey(key, MAX_TS);
  for (;;) {
    const page = await reader.scan(from, lt, WRITE_SCAN_CHUNK);
    for (const [k, v] of page) {
      const write = decodeWrite(v);
      if (write.startTs === startTs) return { commitTs: parseKey(k).ts!, write };
    }
    if (page.length < WRITE_SCAN_CHUNK) return undefined;
    const last = parseKey(page[page.length - 1]![0]).ts!;
    from = writeKey(key, last - 1n);
  }
}

// ---- commands ----

export interface PrewriteMutation {
  readonly op: 'put' | 'delete' | 'lock' | 'insert';
  readonly key: Uint8Array;
  readonly value?: Uint8Array;
  /** The transaction holds a pessimistic lock on the key: it must still be there, and conflicts were checked when it was taken. */
  readonly pessimistic?: boolean;
}

export interface PrewriteParams {
  readonly primary: Uint8Array;
  readonly startTs: bigint;
  readonly ttlMs: number;
  readonly txnSize: number;
  readonly minCommitTs: bigint;
}

/**
 * Locks `m.key` for the transaction and stages its data. Idempotent: a retried prewrite that finds
 * its own lock succeeds again without writing.
 */
export async function prewrite(reader: MvccReader, writer: MvccWriter, m: PrewriteMutation, p: PrewriteParams): Promise<KeyError | undefined> {
  const lock = await loadLock(reader, m.key);
  if (m.pessimistic === true) return prewritePessimistic(reader, writer, m, p, lock);
  // An unflagged mutation over the transaction's own pessimistic lock is checked as an optimistic
  // one (from start_ts) and then replaces the lock.
  if (lock !== undefined && !(lock.startTs === p.startTs && lock.kind === 'pessimistic')) {
    if (lock.startTs !== p.startTs) return { kind: 'locked', key: m.key, lock };
    return undefined;
  }
  // This transaction's own record: a rollback (it may not prewrite again), or a commit (a retried
  // prewrite of a transaction that already committed, as a one-phase commit whose answer was lost).
  const own = await writeOfTxn(reader, m.key, p.startTs);
  if (own !== undefined) {
    if (own.write.kind !== 'rollback') return { kind: 'committed', key: m.key, startTs: p.startTs, commitTs: own.commitTs };
    return { kind: 'writeConflict', key: m.key, startTs: p.startTs, conflictStartTs: own.write.startTs, conflictCommitTs: own.commitTs, primary: p.primary };
  }
  // Any commit at or after start_ts: a later writer won.
  const newest = await newestWrite(reader, m.key);
  if (newest !== undefined && newest.commitTs >= p.startTs) {
    return { kind: 'writeConflict', key: m.key, startTs: p.startTs, conflictStartTs: newest.write.startTs, conflictCommitTs: newest.commitTs, primary: p.primary };
  }
  if (m.op === 'insert') {
    const visible = await latestDataWrite(reader, m.key, MAX_TS);
    if (visible !== undefined && visible.write.kind === 'put') return { kind: 'alreadyExists', key: m.key };
  }
  const kind: LockKind = m.op === 'insert' ? 'put' : m.op;
  writer.putLock(m.key, { primary: p.primary, startTs: p.startTs, kind, ttlMs: p.ttlMs, minCommitTs: p.minCommitTs, txnSize: p.txnSize });
  if (kind === 'put') writer.putData(m.key, p.startTs, m.value ?? new Uint8Array(0));
  return undefined;
}

/**
 * Prewrite of a key the transaction locked pessimistically: the lock must be there (a lost lock
 * means another transaction may have committed the key since, so this one must abort), and it
 * becomes a normal lock with the mutation's data. No conflict check: there was one at locking.
 */
async function prewritePessimistic(reader: MvccReader, writer: MvccWriter, m: PrewriteMutation, p: PrewriteParams, lock: Lock | undefined): Promise<KeyError | undefined> {
  if (lock === undefined || lock.startTs !== p.startTs) {
    // A retried one-phase commit whose answer was lost finds its own commit here.
    const own = await writeOfTxn(reader, m.key, p.startTs);
    if (own !== undefined && own.write.kind !== 'rollback') return { kind: 'committed', key: m.key, startTs: p.startTs, commitTs: own.commitTs };
    return { kind: 'pessimisticLockNotFound', key: m.key, startTs: p.startTs };
  }
  // Already prewritten: a retried request.
  if (lock.kind !== 'pessimistic') return undefined;
  if (!sameBytes(lock.primary, p.primary)) {
    throw new Error(`prewrite names primary ${hexOf(p.primary)} but the pessimistic lock on ${hexOf(m.key)} has primary ${hexOf(lock.primary)}`);
  }
  if (m.op === 'insert') {
    const visible = await latestDataWrite(reader, m.key, MAX_TS);
    if (visible !== undefined && visible.write.kind === 'put') return { kind: 'alreadyExists', key: m.key };
  }
  const kind: LockKind = m.op === 'insert' ? 'put' : m.op;
  // A reader may have pushed the pessimistic primary's min commit ts, and a heartbeat extended its
  // TTL: neither may be lost by the conversion.
  writer.putLock(m.key, {
    primary: p.primary,
    startTs: p.startTs,
    kind,
    ttlMs: Math.max(lock.ttlMs, p.ttlMs),
    minCommitTs: maxTs(lock.minCommitTs, p.minCommitTs),
    txnSize: p.txnSize,
    forUpdateTs: lock.forUpdateTs ?? 0n,
  });
  if (kind === 'put') writer.putData(m.key, p.startTs, m.value ?? new Uint8Array(0));
  return undefined;
}

export interface PessimisticLockParams {
  readonly primary: Uint8Array;
  readonly startTs: bigint;
  /** Every commit of the key must be at or below this timestamp, or the lock is refused as a conflict. */
  readonly forUpdateTs: bigint;
  readonly ttlMs: number;
  /** Also read the key's newest committed value. */
  readonly returnValue: boolean;
  /**
   * Lock the key even when its newest commit is newer than for_update_ts, at that commit's ts
   * (reported as lockedWithConflictTs), instead of refusing. Under steady contention a refused
   * caller's next for_update_ts is often outdated again by the time it arrives; this cannot be.
   */
  readonly allowLockWithConflict?: boolean;
}

export type PessimisticLockResult =
  | { readonly value: Uint8Array | undefined; readonly lockedWithConflictTs?: bigint }
  | { readonly error: KeyError };

/**
 * Locks `key` for a pessimistic transaction before it writes it. Refused when another
 * transaction holds a lock on it, or when the key's newest commit is newer than for_update_ts
 * (the caller takes a newer one and asks again, so it always locks the newest version).
 * Idempotent: the transaction's own lock is kept (its for_update_ts raised). With returnValue, the
 * result carries the key's newest committed value: a current read, not a read at start_ts.
 * Either way, while the lock stands nobody else can commit the key, so that value stays the newest.
 */
export async function acquirePessimisticLock(reader: MvccReader, writer: MvccWriter, key: Uint8Array, p: PessimisticLockParams): Promise<PessimisticLockResult> {
  const lock = await loadLock(reader, key);
  if (lock !== undefined && lock.startTs !== p.startTs) return { error: { kind: 'locked', key, lock } };
  // Only commits that change the value matter: a newer rollback or lock-only record does not.
  const newest = await latestDataWrite(reader, key, MAX_TS);
  if (lock === undefined) {
    // A resolver that found the transaction abandoned left a rollback record at its start ts.
    const own = await reader.get(writeKey(key, p.startTs));
    if (own !== undefined) {
      const write = decodeWrite(own);
      if (write.kind === 'rollback' && write.startTs === p.startTs) return { error: { kind: 'pessimisticLockRolledBack', key, startTs: p.startTs } };
    }
    const conflict = newest !== undefined && newest.commitTs > p.forUpdateTs ? newest : undefined;
    if (conflict !== undefined && p.allowLockWithConflict !== true) {
      return { error: { kind: 'writeConflict', key, startTs: p.startTs, conflictStartTs: conflict.write.startTs, conflictCommitTs: conflict.commitTs, primary: p.primary } };
    }
    const forUpdateTs = conflict?.commitTs ?? p.forUpdateTs;
    writer.putLock(key, { primary: p.primary, startTs: p.startTs, kind: 'pessimistic', ttlMs: p.ttlMs, minCommitTs: forUpdateTs + 1n, txnSize: 0, forUpdateTs });
    if (conflict !== undefined) return { ...(await valueOf(reader, key, p.returnValue ? conflict : undefined)), lockedWithConflictTs: forUpdateTs };
  } else if (lock.kind === 'pessimistic' && p.forUpdateTs > (lock.forUpdateTs ?? 0n)) {
    // Nobody could commit the key while the lock stood, so no conflict check is needed again.
    writer.putLock(key, { ...lock, forUpdateTs: p.forUpdateTs, minCommitTs: maxTs(lock.minCommitTs, p.forUpdateTs + 1n), ttlMs: Math.max(lock.ttlMs, p.ttlMs) });
  }
  return valueOf(reader, key, p.returnValue ? newest : undefined);
}

/** The value a committed write put (none for a delete, or when no write is given). */
async function valueOf(reader: MvccReader, key: Uint8Array, write: CommittedWrite | undefined): Promise<{ value: Uint8Array | undefined }> {
  if (write === undefined || write.write.kind === 'delete') return { value: undefined };
  const value = await reader.get(dataKeyAt(key, write.write.startTs));
  if (value === undefined) throw new Error(`invariant: committed data of key ${hexOf(key)} at start ts ${write.write.startTs} is missing`);
  return { value };
}

/**
 * Removes the transaction's pessimistic lock on `key`, if it has one no newer than forUpdateTs (a
 * late rollback must not remove a lock taken again since). Prewritten locks are left alone: they
 * need a real rollback. No rollback record is written; the transaction may lock the key again.
 */
export async function pessimisticRollback(reader: MvccReader, writer: MvccWriter, key: Uint8Array, startTs: bigint, forUpdateTs: bigint): Promise<void> {
  const lock = await loadLock(reader, key);
  if (lock === undefined || lock.startTs !== startTs || lock.kind !== 'pessimistic') return;
  if ((lock.forUpdateTs ?? 0n) > forUpdateTs) return;
  writer.deleteLock(key);
}

/** Turns the transaction's lock on `key` into a write record at commitTs. Idempotent. */
export async function commit(reader: MvccReader, writer: MvccWriter, key: Uint8Array, startTs: bigint, commitTs: bigint): Promise<KeyError | undefined> {
  const lock = await loadLock(reader, key);
  if (lock !== undefined && lock.startTs === startTs) {
    // A pessimistic lock that was never prewritten has nothing to commit: the coordinator erred.
    if (lock.kind === 'pessimistic') return { kind: 'txnLockNotFound', key, startTs };
    if (commitTs < lock.minCommitTs) return { kind: 'commitTsExpired', key, commitTs, minCommitTs: lock.minCommitTs };
    writer.putWrite(key, commitTs, { kind: lock.kind, startTs });
    writer.deleteLock(key);
    return undefined;
  }
  const done = await writeOfTxn(reader, key, startTs);
  if (done !== undefined && done.write.kind !== 'rollback') return undefined;
  return { kind: 'txnLockNotFound', key, startTs };
}

/**
 * Rolls the transaction back on `key`: removes its lock and data and leaves a rollback record so a
 * prewrite arriving late is refused. Refused when the transaction committed here.
 */
export async function rollback(reader: MvccReader, writer: MvccWriter, key: Uint8Array, startTs: bigint): Promise<KeyError | undefined> {
  const lock = await loadLock(reader, key);
  if (lock !== undefined && lock.startTs === startTs) {
    rollbackLock(writer, key, lock);
    return undefined;
  }
  const done = await writeOfTxn(reader, key, startTs);
  if (done !== undefined) {
    if (done.write.kind === 'rollback') return undefined;
    return { kind: 'committed', key, startTs, commitTs: done.commitTs };
  }
  writer.putWrite(key, startTs, { kind: 'rollback', startTs });
  return undefined;
}

function rollbackLock(writer: MvccWriter, key: Uint8Array, lock: Lock): void {
  if (lock.kind === 'put') writer.deleteData(key, lock.startTs);
  writer.deleteLock(key);
  writer.putWrite(key, lock.startTs, { kind: 'rollback', startTs: lock.startTs });
}

export type TxnStatus =
  | { readonly kind: 'locked'; readonly lock: Lock }
  | { readonly kind: 'committed'; readonly commitTs: bigint }
  | { readonly kind: 'rolledBack'; readonly reason: 'ttlExpired' | 'lockNotExist' | 'earlier' };

/** True when the lock's time to live ran out before `currentTs`'s physical time. */
export function lockExpired(lock: Lock, currentTs: bigint): boolean {
  return physicalMs(lock.startTs) + lock.ttlMs < physicalMs(currentTs);
}

/**
 * The fate of the transaction whose primary is `primary`, as a reader meeting one of its locks
 * needs it: a lock past its TTL is rolled back now; a missing lock with no record is rolled back
 * too (so the transaction can never commit afterwards). A reader passes its start ts as
 * callerStartTs: a live lock is then pushed so the transaction commits after that ts (the reader
 * may ignore it); writers pass 0.
 */
export async function checkTxnStatus(
  reader: MvccReader,
  writer: MvccWriter,
  primary: Uint8Array,
  lockTs: bigint,
  currentTs: bigint,
  callerStartTs = 0n,
): Promise<TxnStatus> {
  const lock = await loadLock(reader, primary);
  if (lock !== undefined && lock.startTs === lockTs) {
    if (!lockExpired(lock, currentTs)) {
      // A reader at callerStartTs need not wait for a live transaction: pushing its min commit ts
      // past the reader's snapshot guarantees the reader cannot be required to see it.
      // (The primary's own lock may be lock-only; the reader met one of the transaction's writes.)
      if (callerStartTs > 0n && lock.minCommitTs <= callerStartTs) {
        const pushed = { ...lock, minCommitTs: callerStartTs + 1n };
        writer.putLock(primary, pushed);
        return { kind: 'locked', lock: pushed };
      }
      return { kind: 'locked', lock };
    }
    rollbackLock(writer, primary, lock);
    return { kind: 'rolledBack', reason: 'ttlExpired' };
  }
  const done = await writeOfTxn(reader, primary, lockTs);
  if (done !== undefined) {
    return done.write.kind === 'rollback' ? { kind: 'rolledBack', reason: 'earlier' } : { kind: 'committed', commitTs: done.commitTs };
  }
  writer.putWrite(primary, lockTs, { kind: 'rollback', startTs: lockTs });
  return { kind: 'rolledBack', reason: 'lockNotExist' };
}

/**
 * Extends the TTL of the transaction's lock on its primary (never shortens it), pessimistic or
 * not. With waitForTs given, also publishes which transaction it now waits for (0: none).
 */
export async function heartbeat(
  reader: MvccReader,
  writer: MvccWriter,
  primary: Uint8Array,
  startTs: bigint,
  adviseTtlMs: number,
  waitForTs?: bigint,
): Promise<{ ttlMs: number } | KeyError> {
  const lock = await loadLock(reader, primary);
  if (lock === undefined || lock.startTs !== startTs) return { kind: 'txnNotFound', key: primary, startTs };
  const ttlMs = Math.max(lock.ttlMs, adviseTtlMs);
  const waitChanged = waitForTs !== undefined && waitForTs !== (lock.waitForTs ?? 0n);
  if (ttlMs !== lock.ttlMs || waitChanged) {
    const { waitForTs: _previous, ...rest } = lock;
    const next = waitForTs === undefined ? lock : waitForTs === 0n ? rest : { ...rest, waitForTs };
    writer.putLock(primary, { ...next, ttlMs });
  }
  return { ttlMs };
}

/** Commits (commitTs > 0) or rolls back (commitTs = 0) the transaction's lock on `key`, if it has one. */
export async function resolveKey(reader: MvccReader, writer: MvccWriter, key: Uint8Array, startTs: bigint, commitTs: bigint): Promise<KeyError | undefined> {
  const lock = await loadLock(reader, key);
  if (lock === undefined || lock.startTs !== startTs) {
    // No lock of this transaction: resolving again, or a rollback that must still block a late prewrite.
    if (commitTs === 0n) return rollback(reader, writer, key, startTs);
    return undefined;
  }
  if (commitTs === 0n) {
    rollbackLock(writer, key, lock);
    return undefined;
  }
  if (lock.kind === 'pessimistic') {
    // Never prewritten, so not part of what committed: the lock just goes.
    writer.deleteLock(key);
    return undefined;
  }
  writer.putWrite(key, commitTs, { kind: lock.kind, startTs });
  writer.deleteLock(key);
  return undefined;
}

// ---- reads at a timestamp ----

/**
 * A lock stops a reader at ts when it might commit at or before ts and changes the value. A
 * pessimistic lock has no value yet; its prewrite comes later and takes a commit ts from after it,
 * so after any reader that passed over it.
 */
function blocksReader(lock: Lock, ts: bigint, resolved: ReadonlySet<bigint>): boolean {
  return lock.kind !== 'lock' && lock.kind !== 'pessimistic' && lock.startTs <= ts && !resolved.has(lock.startTs);
}

export type ReadResult = { readonly value: Uint8Array | undefined } | { readonly error: KeyError };

/**
 * The value of `key` visible at ts. `committedTxns` are transactions the reader already knows to
 * be committed after ts or rolled back (their locks no longer stop it).
 */
export async function getAt(reader: MvccReader, key: Uint8Array, ts: bigint, committedTxns: ReadonlySet<bigint> = EMPTY_SET): Promise<ReadResult> {
  const lock = await loadLock(reader, key);
  if (lock !== undefined && blocksReader(lock, ts, committedTxns)) return { error: { kind: 'locked', key, lock } };
  const visible = await latestDataWrite(reader, key, ts);
  if (visible === undefined || visible.write.kind === 'delete') return { value: undefined };
  const value = await reader.get(dataKeyAt(key, visible.write.startTs));
  if (value === undefined) throw new Error(`invariant: committed data of key ${Buffer.from(key).toString('hex')} at start ts ${visible.write.startTs} is missing`);
  return { value };
}

const EMPTY_SET: ReadonlySet<bigint> = new Set();

function maxTs(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export interface ScanAtResult {
  readonly pairs: Array<{ key: Uint8Array; value: Uint8Array }>;
  /** Locks met that stop the reader; when set, `pairs` holds only keys before the first of them. */
  readonly locks: Array<{ key: Uint8Array; lock: Lock }>;
  /** The scan stopped at its limit or a lock: continue from after the last key returned. */
  readonly more: boolean;
}

const SCAN_CHUNK = 256;

/**
 * Pairs visible at ts for user keys in [start, end) in key order, at most `limit`, reading every
 * record of the range once in one forward pass (lock, then writes newest first, then data).
 * Meeting a lock that stops the reader ends the scan there.
 */
export async function scanAt(reader: MvccReader, start: Uint8Array, end: Uint8Array, ts: bigint, limit: number, keyOnly: boolean, committedTxns: ReadonlySet<bigint> = EMPTY_SET): Promise<ScanAtResult> {
  const range = userRange(start, end);
  const pairs: Array<{ key: Uint8Array; value: Uint8Array }> = [];
  let from = range.gte;
  // State of the key being walked: looking for its visible write, then for that write's data.
  let current: Uint8Array | undefined;
  let currentId: string | undefined;
  let phase: 'write' | 'data' | 'done' = 'write';
  let wantStartTs = 0n;
  for (;;) {
    const page = await reader.scan(from, range.lt, SCAN_CHUNK);
    for (const [k, v] of page) {
      const parsed = parseKey(k);
      const id = Buffer.from(parsed.key).toString('latin1');
      if (id !== currentId) {
        current = parsed.key;
        currentId = id;
        phase = 'write';
      }
      if (phase === 'done') continue;
      if (parsed.tag === RecordTag.Lock) {
        const lock = decodeLock(v);
        if (blocksReader(lock, ts, committedTxns)) return { pairs, locks: [{ key: current!, lock }], more: true };
      } else if (parsed.tag === RecordTag.Write && phase === 'write') {
        if (parsed.ts! > ts) continue;
        const write = decodeWrite(v);
        if (write.kind === 'rollback' || write.kind === 'lock') continue;
        if (write.kind === 'delete') {
          phase = 'done';
        } else if (keyOnly) {
          phase = 'done';
          pairs.push({ key: current!, value: new Uint8Array(0) });
          if (pairs.length >= limit) return { pairs, locks: [], more: true };
        } else {
          phase = 'data';
          wantStartTs = write.startTs;
        }
      } else if (parsed.tag === RecordTag.Data && phase === 'data' && parsed.ts === wantStartTs) {
        phase = 'done';
        pairs.push({ key: current!, value: v });
        if (pairs.length >= limit) return { pairs, locks: [], more: true };
      }
    }
    if (page.length < SCAN_CHUNK) return { pairs, locks: [], more: false };
    from = afterKey(page[page.length - 1]![0]);
  }
}

/** The smallest byte string after `key`. */
function afterKey(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.byteLength + 1);
  out.set(key);
  return out;
}

// ---- garbage collection ----

export interface GcStats {
  keys: number;
  deletedVersions: number;
}

/**
 * Removes versions of `key` no reader at or after safePoint can see: every write record at or
 * below safePoint except the newest put (and that too when the newest is a delete), with the data
 * they point at, and rollback and lock records at or below safePoint.
 */
export async function gcKey(reader: MvccReader, writer: MvccWriter, key: Uint8Array, safePoint: bigint): Promise<number> {
  const records = await reader.scan(writeKey(key, safePoint), tagEnd(key, RecordTag.Write), 100_000);
  let keptPut = false;
  let deleted = 0;
  for (const [k, v] of records) {
    const commitTs = parseKey(k).ts!;
    const write = decodeWrite(v);
    if (!keptPut && write.kind === 'put') {
      keptPut = true;
      continue;
    }
    if (!keptPut && write.kind === 'delete') {
      // The newest visible state is "absent": the delete marker and everything older go.
      keptPut = true;
    }
    writer.deleteWrite(key, commitTs);
    if (write.kind === 'put') writer.deleteData(key, write.startTs);
    deleted++;
  }
  return deleted;
}

