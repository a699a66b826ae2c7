// Transactions over the KV client: snapshot isolation by Percolator's two-phase commit.
//
//   begin    → start_ts from the oracle (requests batched per process by the PD client)
//   reads    → the transaction's own buffered writes first, then values its locks returned, else
//              the snapshot at start_ts; a lock met on the way is resolved through its primary
//              (waited for while its owner lives)
//   commit   → prewrite every key (the first in key order is the primary, unless the transaction
//              locked keys: then the first it locked), grouped per Region, all
//              groups in parallel; commit_ts from the oracle; commit the primary — the commit point —
//              then the secondaries in the background (readers resolve any left behind). When all
//              keys are in one Region the store commits in one phase.
//
// The coordinator heartbeats its primary while the commit runs, so a slow commit's locks are not
// taken for abandoned ones. Region errors are retried by the KV client under the commit's deadline;
// every command is idempotent, so a retried prewrite or commit cannot break atomicity.
//
// Pessimistic locking (lockKeys) lets a transaction lock keys before it writes them, as
// PostgreSQL's UPDATE and SELECT FOR UPDATE do, so two writers of a key queue instead of one of
// them failing at commit:
//
//   lockKeys → AcquirePessimisticLock per Region at a for_update_ts from the oracle; the first key
//              the transaction ever locks is its primary, locked before any other, and heartbeated
//              from then until commit or rollback. A key locked by a live transaction is waited
//              for (the store holds the request a short slice, the client then looks at the
//              owner: expired → resolved; still alive → wait again) up to the wait timeout; a
//              commit newer than for_update_ts → a newer for_update_ts and again, so the values
//              returned are the newest committed ones. They become the transaction's reads. After
//              a conflict or a wait, requests let the store lock past a newer commit (reporting
//              it): on a hot key a fresh for_update_ts is often outdated again when it arrives.
//   commit   → keys locked this way are prewritten flagged (the store checks the lock is still
//              there and skips the conflict check); a key only locked commits as a lock record.
//
// Deadlocks: a transaction that holds locks and starts waiting publishes whom it waits for on its
// primary lock (through the heartbeat). A waiter looking at the owner of the lock it waits for
// sees the owner's published wait; when that is the waiter itself, the two wait for each other
// and the younger of them fails with DeadlockError. Longer cycles are broken by the wait timeout.
import { composeTs, decodeTs, encodeTs, physicalMs } from '../../kv/records.js';
import { kvpb } from '../../proto/index.js';
import type { Timestamp } from '../tso.js';
import { sleep } from '../backoff.js';
import { InvalidArgumentError, ProtocolError, isClientError } from '../errors.js';
import { EMPTY_KEY, beforeEnd, compareKeys, keyAfter, keyIdentity } from '../keys.js';
import { REGROUP, type RawKvCallOptions, type RawKvClient, type RegionScope } from '../kv_client.js';
import type { CachedRegion } from '../region_cache.js';
import {
  CommitUncertainError,
  DeadlockError,
  KeyExistsError,
  LockWaitTimeoutError,
  TxnAbortedError,
  TxnClosedError,
  TxnTooOldError,
  WriteConflictError,
} from './errors.js';
import { LockResolver, lockFromWire, type LockRef } from './lock_resolver.js';

export interface TimestampSource {
  getTimestamp(): Promise<Timestamp>;
}

export interface TxnClientOptions {
  /** Lock time to live written at prewrite and on pessimistic locks; extended by heartbeats on the primary. Default 3,000 ms. */
  readonly lockTtlMs?: number;
  /** How often a committing transaction heartbeats its primary. Default 1,000 ms. */
  readonly heartbeatIntervalMs?: number;
  /** Most keys one transaction may write. Default 100,000. */
  readonly maxWriteKeys?: number;
  /** Deadline of each read and of the commit. Default 20,000 ms. */
  readonly operationTimeoutMs?: number;
  /** Test hook: give up after prewrite as if the coordinator died, leaving its locks. */
  readonly abandonAfterPrewrite?: boolean;
  /** How long lockKeys waits for another transaction's lock unless told otherwise. Default 10,000 ms. */
  readonly lockWaitTimeoutMs?: number;
  /**
   * A transaction heartbeats its primary for at most this long after it started, so the locks of
   * a transaction its caller forgot end up expiring. Default 600,000 ms (the default GC TTL: an
   * older transaction could not commit anyway).
   */
  readonly maxHeartbeatMs?: number;
}

export interface LockKeysOptions {
  /** Return the newest committed value of every key. */
  readonly returnValues?: boolean;
  /** Instead of the client's lockWaitTimeoutMs. */
  readonly waitTimeoutMs?: number;
}

export type TxnMutation =
  | { readonly op: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: 'insert'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: 'delete'; readonly key: Uint8Array }
  | { readonly op: 'lock'; readonly key: Uint8Array };

/** Extra deadline per key of a prewrite or of committing secondaries. */
const DEADLINE_MS_PER_KEY = 1;
const DEFAULTS = { lockTtlMs: 3_000, heartbeatIntervalMs: 1_000, maxWriteKeys: 100_000, operationTimeoutMs: 20_000, lockWaitTimeoutMs: 10_000, maxHeartbeatMs: 600_000 } as const;
/** Keys prewritten, committed or locked per request. */
const KEYS_PER_REQUEST = 2_048;
/**
 * The longest a lock request asks the store to wait for a lock to go before the client looks at the
 * lock's owner again (is it expired, deadlocked with us?); it bounds how late a deadlock is seen.
 */
const LOCK_WAIT_SLICE_MS = 200;
/**
 * A lock request answered "locked" faster than this was not held by the store (it had too many
 * waiters, or the owner's lock only changed): the client then sleeps before asking again.
 */
const MIN_STORE_WAIT_MS = 5;
/** The client's own sleeps between lock requests in that case: 1 ms doubling up to this. */
const LOCK_POLL_MAX_MS = 50;
/**
 * A waiter holding locks looks at its lock's owner (for a deadlock) whenever the store answers,
 * but at most this often (the store answers at once when it cannot hold requests).
 */
const DEADLOCK_CHECK_INTERVAL_MS = 10;
const U32_MAX = 0xffff_ffff;
/** Pairs asked per scan request. */
const SCAN_PAGE = 1_024;

export class TxnClient {
  readonly resolver: LockResolver;
  readonly options: Required<Omit<TxnClientOptions, 'abandonAfterPrewrite'>> & { abandonAfterPrewrite: boolean };
  /** Secondaries still being committed in the background (awaited by close()). */
  private readonly background = new Set<Promise<void>>();

  constructor(
    readonly kv: RawKvClient,
    private readonly oracle: TimestampSource,
    options: TxnClientOptions = {},
  ) {
    this.options = { ...DEFAULTS, abandonAfterPrewrite: false, ...options };
    this.resolver = new LockResolver(() => this.timestamp());
  }

  async timestamp(): Promise<bigint> {
    const ts = await this.oracle.getTimestamp();
    return composeTs(ts.physical, ts.logical);
  }

  async begin(): Promise<Transaction> {
    return new Transaction(this, await this.timestamp());
  }

  /** A read-only view at `ts` (a snapshot read outside any transaction). */
  snapshot(ts: bigint): Snapshot {
    return new Snapshot(this, ts);
  }

  /** Runs `body` in a transaction and commits it; retries on write conflicts, aborts and deadlocks up to `attempts` times. */
  async run<T>(body: (txn: Transaction) => Promise<T>, attempts = 10): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const txn = await this.begin();
      try {
        const result = await body(txn);
        await txn.commit();
        return result;
      } catch (err) {
        await txn.rollback().catch(() => {});
        if (attempt >= attempts || !(err instanceof WriteConflictError || err instanceof TxnAbortedError || err instanceof DeadlockError)) throw err;
      }
    }
  }

  /** Waits for background commits of secondaries. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.background]);
  }

  track(work: Promise<void>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }
}

/** Reads at a fixed timestamp, resolving the locks they meet. */
export class Snapshot {
  /** Transactions known committed after ts or rolled back: their locks no longer stop reads. */
  protected readonly resolved = new Set<bigint>();

  constructor(
    protected readonly client: TxnClient,
    readonly ts: bigint,
  ) {}

  protected callOptions(keys = 0): RawKvCallOptions {
    // A request touching many keys gets time in proportion (a bulk load commits 100,000 keys at once).
    return { timeoutMs: this.client.options.operationTimeoutMs + Math.ceil(keys * DEADLINE_MS_PER_KEY) };
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    checkKey(key);
    return this.client.kv.runOperation(`txn get at ${this.ts}`, this.callOptions(), async (scope) => {
      for (;;) {
        const response = await scope.requestForKey(key, 'txnGet', (context) => ({
          txnGet: { context, key, version: encodeTs(this.ts), resolvedLocks: this.resolvedList() },
        }));
        if (response.error) {
          await this.handleReadError(scope, response.error);
          continue;
        }
        return response.found ? (response.value ?? EMPTY_KEY) : undefined;
      }
    });
  }

  async batchGet(keys: readonly Uint8Array[]): Promise<Map<string, Uint8Array>> {
    for (const key of keys) checkKey(key);
    const found = new Map<string, Uint8Array>();
    const unique = [...new Map(keys.map((k) => [keyIdentity(k), k])).values()];
    await this.client.kv.runOperation(`txn batchGet of ${unique.length} keys at ${this.ts}`, this.callOptions(), (scope) =>
      scope.forEachRegion(unique, (k) => k, async (entry, group) => {
        for (;;) {
          const response = await scope.request(entry, 'txnBatchGet', (context) => ({
            txnBatchGet: { context, keys: group, version: encodeTs(this.ts), resolvedLocks: this.resolvedList() },
          }));
          if (response === REGROUP) return REGROUP;
          if (response.error) {
            await this.handleReadError(scope, response.error);
            continue;
          }
          for (const pair of response.pairs ?? []) found.set(keyIdentity(pair.key ?? EMPTY_KEY), pair.value ?? EMPTY_KEY);
          return undefined;
        }
      }),
    );
    return found;
  }

  /** Up to `limit` pairs with start <= key < end (empty end: no bound), in key order. */
  async scan(start: Uint8Array, end: Uint8Array, limit: number): Promise<Array<{ key: Uint8Array; value: Uint8Array }>> {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidArgumentError(`scan: bad limit ${limit}`);
    if (limit === 0 || (end.byteLength > 0 && compareKeys(start, end) >= 0)) return [];
    return this.client.kv.runOperation(`txn scan at ${this.ts}`, this.callOptions(), (scope) =>
      scope.walkRange(start, end, limit, SCAN_PAGE, async (entry, from, to, want) => {
        const response = await scope.request(entry, 'txnScan', (context) => ({
          txnScan: { context, startKey: from, endKey: to, limit: want, version: encodeTs(this.ts), resolvedLocks: this.resolvedList() },
        }));
        if (response === REGROUP) return REGROUP;
        const pairs = (response.pairs ?? []).map((pair) => ({ key: pair.key ?? EMPTY_KEY, value: pair.value ?? EMPTY_KEY }));
        for (const { key } of pairs) {
          if (compareKeys(key, from) < 0 || !beforeEnd(key, to)) throw new ProtocolError('TxnScan', 'a key outside the requested range');
        }
        if (!response.error) return { pairs };
        // Stopped by a lock: resolve it and continue from the locked key.
        await this.handleReadError(scope, response.error);
        return { pairs, again: pairs.length > 0 ? keyAfter(pairs[pairs.length - 1]!.key) : from };
      }),
    );
  }

  private resolvedList(): Uint8Array[] {
    return [...this.resolved].map(encodeTs);
  }

  /** A lock: resolve it (or wait for its owner); anything else ends the read. */
  protected async handleReadError(scope: RegionScope, error: kvpb.IKeyError): Promise<void> {
    if (error.locked) {
      await resolveOrWait(this.client, scope, lockFromWire(error.locked), this.ts, (lock, committedAt) => {
        if (committedAt === undefined || committedAt > this.ts) this.resolved.add(lock.lockTs);
      });
      return;
    }
    if (error.txnTooOld) throw new TxnTooOldError(error.message ?? 'transaction too old');
    throw new ProtocolError('transactional read', error.message ?? 'unexpected key error');
  }
}

async function resolveOrWait(
  client: TxnClient,
  scope: RegionScope,
  lock: LockRef,
  readerTs: bigint,
  onResolved: (lock: LockRef, committedAt: bigint | undefined) => void,
): Promise<void> {
  const outcome = await client.resolver.resolve(scope, lock, readerTs);
  if (outcome.kind === 'resolved') {
    onResolved(lock, outcome.committedAt);
    return;
  }
  if (outcome.kind === 'pushed') {
    // It will commit after the reader's timestamp: for this reader it is as if rolled back.
    onResolved(lock, undefined);
    return;
  }
  await scope.backoff('TxnLockWait', `key ${Buffer.from(lock.key).toString('hex')} is locked by live transaction ${lock.lockTs} (ttl ${outcome.ttlMs} ms)`);
}

/** What a transaction prewrites for a key: its buffered write (or a lock-only one), flagged when it holds a pessimistic lock there. */
interface PlannedWrite {
  readonly mutation: TxnMutation;
  readonly pessimistic: boolean;
}

/** One Region group of a lockKeys call waiting for a lock of another transaction. */
interface LockWaitState {
  /** Start ts of the transaction holding the lock. */
  holderTs: bigint;
  /** When this group began to wait (for lockWaitMs). */
  readonly since: number;
  /** When the owner was last looked at (0: never). */
  checkedAt: number;
  /** Until when the owner's primary is alive by its TTL, once looked at. */
  aliveUntilMs: number | undefined;
  /** The client's own sleep between requests the store did not hold. */
  pollMs: number;
  /** This group published that the transaction waits for holderTs. */
  published: boolean;
}

export class Transaction extends Snapshot {
  private readonly writes = new Map<string, TxnMutation>();
  private state: 'open' | 'committing' | 'committed' | 'rolledBack' = 'open';
  private prewritten: TxnMutation[] = [];
  private readonly prewritesInFlight = new Set<Promise<unknown>>();
  commitTs: bigint | undefined;
  /** How the commit went: in one phase (all keys in one Region) or two. */
  commitKind: 'onePc' | 'twoPc' | undefined;
  private triedOnePc = false;

  /** The first key the transaction locked (pessimistically), which must be its primary; during commit, the primary. */
  private primaryKey: Uint8Array | undefined;
  /** Keys holding this transaction's pessimistic lock. */
  private readonly pessimisticKeys = new Map<string, Uint8Array>();
  /** The newest for_update_ts its lock requests used (0 before the first). */
  private forUpdateTs = 0n;
  /** Values lockKeys returned (undefined: no such key): the transaction's reads of those keys from then on. */
  private readonly lockedValues = new Map<string, { readonly key: Uint8Array; readonly value: Uint8Array | undefined }>();
  /** lockKeys calls run one after another; commit and rollback wait for the last. */
  private lockQueue: Promise<void> = Promise.resolve();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** Heartbeats are sent one after another, so a published wait is never overtaken by an older one. */
  private heartbeats: Promise<void> = Promise.resolve();
  /** The transaction this one waits for, as published on its primary (0: none). */
  private waitingFor = 0n;
  /** Milliseconds lockKeys spent waiting for other transactions' locks (summed over Region groups). */
  lockWaitMs = 0;

  constructor(client: TxnClient, startTs: bigint) {
    super(client, startTs);
  }

  get startTs(): bigint {
    return this.ts;
  }

  get writeCount(): number {
    return this.writes.size;
  }

  /** How many keys hold this transaction's pessimistic lock. */
  get lockedCount(): number {
    return this.pessimisticKeys.size;
  }

  override async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkOpen();
    const id = keyIdentity(key);
    const own = this.writes.get(id);
    if (own !== undefined && own.op !== 'lock') return own.op === 'delete' ? undefined : own.value;
    const locked = this.lockedValues.get(id);
    if (locked !== undefined) return locked.value;
    return super.get(key);
  }

  override async batchGet(keys: readonly Uint8Array[]): Promise<Map<string, Uint8Array>> {
    this.checkOpen();
    const result = new Map<string, Uint8Array>();
    const remote: Uint8Array[] = [];
    for (const key of keys) {
      const id = keyIdentity(key);
      const own = this.writes.get(id);
      const locked = this.lockedValues.get(id);
      if (own !== undefined && own.op !== 'lock') {
        if (own.op !== 'delete') result.set(id, own.value);
      } else if (locked !== undefined) {
        if (locked.value !== undefined) result.set(id, locked.value);
      } else remote.push(key);
    }
    if (remote.length > 0) for (const [id, value] of await super.batchGet(remote)) result.set(id, value);
    return result;
  }

  override async scan(start: Uint8Array, end: Uint8Array, limit: number): Promise<Array<{ key: Uint8Array; value: Uint8Array }>> {
    this.checkOpen();
    // The snapshot's pairs, overridden by the values locks returned, then by the buffer's writes;
    // deletes and keys a lock found absent hide pairs.
    const inRange = (key: Uint8Array): boolean => compareKeys(key, start) >= 0 && beforeEnd(key, end);
    const own = [...this.writes.values()].filter((m) => m.op !== 'lock' && inRange(m.key));
    const locked = [...this.lockedValues.values()].filter((l) => inRange(l.key));
    const hidden = own.filter((m) => m.op === 'delete').length + locked.filter((l) => l.value === undefined).length;
    const stored = await super.scan(start, end, limit + hidden);
    const merged = new Map<string, { key: Uint8Array; value: Uint8Array }>();
    for (const p of stored) merged.set(keyIdentity(p.key), p);
    for (const l of locked) {
      if (l.value === undefined) merged.delete(keyIdentity(l.key));
      else merged.set(keyIdentity(l.key), { key: l.key, value: l.value });
    }
    for (const m of own) {
      if (m.op === 'delete') merged.delete(keyIdentity(m.key));
      else if (m.op !== 'lock') merged.set(keyIdentity(m.key), { key: m.key, value: m.value });
    }
    return [...merged.values()].sort((a, b) => compareKeys(a.key, b.key)).slice(0, limit);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.buffer({ op: 'put', key, value });
  }

  /** Writes the key only if it does not exist when the transaction commits (KeyExistsError otherwise). */
  insert(key: Uint8Array, value: Uint8Array): void {
    this.buffer({ op: 'insert', key, value });
  }

  delete(key: Uint8Array): void {
    this.buffer({ op: 'delete', key });
  }

  /** Takes part in conflict detection on `key` without changing it (optimistically: checked at commit). */
  lockKey(key: Uint8Array): void {
    if (!this.writes.has(keyIdentity(key))) this.buffer({ op: 'lock', key });
  }

  /**
   * Locks `keys` pessimistically now: no other transaction can write them until this one ends,
   * and a later write of them cannot meet a write conflict. Waits for other transactions' locks up
   * to the wait timeout (LockWaitTimeoutError), failing with DeadlockError when the owner of such
   * a lock waits for this transaction. On any error, the keys this call was locking are unlocked
   * again; keys locked before stay locked.
   *
   * The result has an entry for every key, keyed as batchGet keys its result. With returnValues,
   * it is the key's value as the transaction now sees it: its own write if it has one, else the
   * newest committed value (undefined: no such key), which the transaction's reads of the key
   * return from then on. Without returnValues every entry is undefined.
   */
  async lockKeys(keys: readonly Uint8Array[], options: LockKeysOptions = {}): Promise<Map<string, Uint8Array | undefined>> {
    this.checkOpen();
    for (const key of keys) checkKey(key);
    const waitTimeoutMs = options.waitTimeoutMs ?? this.client.options.lockWaitTimeoutMs;
    if (!(Number.isSafeInteger(waitTimeoutMs) && waitTimeoutMs >= 0)) throw new InvalidArgumentError(`lockKeys: bad wait timeout ${waitTimeoutMs}`);
    const returnValues = options.returnValues === true;
    const unique = [...new Map(keys.map((k) => [keyIdentity(k), k])).values()];
    const run = this.lockQueue.then(() => this.lockNow(unique, returnValues, waitTimeoutMs));
    this.lockQueue = run.catch(() => {});
    await run;
    const result = new Map<string, Uint8Array | undefined>();
    for (const key of unique) result.set(keyIdentity(key), returnValues ? this.viewOf(keyIdentity(key)) : undefined);
    return result;
  }

  /** The key's value as the transaction sees it without reading: its own write, else what a lock returned. */
  private viewOf(id: string): Uint8Array | undefined {
    const own = this.writes.get(id);
    if (own !== undefined && own.op !== 'lock') return own.op === 'delete' ? undefined : own.value;
    return this.lockedValues.get(id)?.value;
  }

  private async lockNow(keys: Uint8Array[], returnValues: boolean, waitTimeoutMs: number): Promise<void> {
    this.checkOpen();
    // Locked already: nothing to do, unless a value is wanted that the transaction does not know.
    const todo = keys.filter((k) => {
      const id = keyIdentity(k);
      if (!this.pessimisticKeys.has(id)) return true;
      if (!returnValues || this.lockedValues.has(id)) return false;
      const own = this.writes.get(id);
      return own === undefined || own.op === 'lock';
    });
    if (todo.length === 0) return;
    const fresh = todo.filter((k) => !this.pessimisticKeys.has(keyIdentity(k)));
    if (this.pessimisticKeys.size + fresh.length > this.client.options.maxWriteKeys) {
      throw new InvalidArgumentError(`a transaction may lock at most ${this.client.options.maxWriteKeys} keys`);
    }
    const primaryIsNew = this.primaryKey === undefined;
    if (primaryIsNew) this.primaryKey = todo[0]!;
    const primaryId = keyIdentity(this.primaryKey!);
    if (this.forUpdateTs < this.ts) this.forUpdateTs = this.ts;
    // Until the primary's lock exists, a resolver meeting a secondary one would find the
    // transaction missing and roll it back: the primary's group goes first, the others wait for it.
    const primaryGate = this.pessimisticKeys.has(primaryId) ? undefined : deferred();
    const inFlight = new Set<Promise<unknown>>();
    let failed = false;
    const waitDeadline = Date.now() + waitTimeoutMs;
    try {
      await this.client.kv.runOperation(
        `lock of ${todo.length} keys by transaction ${this.ts}`,
        { timeoutMs: waitTimeoutMs + this.client.options.operationTimeoutMs },
        (scope) =>
          scope.forEachRegion(todo, (k) => k, (entry, group) => {
            const hasPrimary = group.some((k) => keyIdentity(k) === primaryId);
            const work = (async (): Promise<typeof REGROUP | undefined> => {
              if (!hasPrimary && primaryGate !== undefined) await primaryGate.promise;
              for (let i = 0; i < group.length; i += KEYS_PER_REQUEST) {
                if (failed) throw new TxnAbortedError(`lock of transaction ${this.ts} given up`);
                const outcome = await this.lockGroup(scope, entry, group.slice(i, i + KEYS_PER_REQUEST), returnValues, waitDeadline, waitTimeoutMs);
                // Chunks already locked are locked again, harmlessly, when routed anew.
                if (outcome === REGROUP) return REGROUP;
              }
              if (hasPrimary) primaryGate?.resolve();
              return undefined;
            })();
            if (hasPrimary) work.catch((err: unknown) => primaryGate?.reject(err));
            inFlight.add(work);
            return work;
          }),
      );
    } catch (err) {
      failed = true;
      // Every group settles before the undo, so no lock lands after it.
      await Promise.allSettled([...inFlight]);
      await this.unlockAfterFailure(fresh, primaryIsNew).catch(() => {});
      throw err;
    }
  }

  /** Locks one Region's keys, waiting for other transactions' locks and retrying past newer commits. */
  private async lockGroup(
    scope: RegionScope,
    entry: CachedRegion,
    keys: Uint8Array[],
    returnValues: boolean,
    waitDeadline: number,
    waitTimeoutMs: number,
  ): Promise<typeof REGROUP | undefined> {
    const primary = this.primaryKey!;
    let waiting: LockWaitState | undefined;
    let contended = false;
    try {
      for (;;) {
        // A rollback (or a commit) under way stops the wait.
        if (this.state !== 'open') throw new TxnClosedError(`transaction ${this.ts} is ${this.state}`);
        const forUpdateTs = this.forUpdateTs;
        // Holding locks, it first looks at the owner (a deadlock?) before letting the store hold it.
        const storeWaitMs = waiting === undefined && this.pessimisticKeys.size > 0 ? 0 : Math.max(0, Math.min(LOCK_WAIT_SLICE_MS, waitDeadline - Date.now()));
        const sentAt = Date.now();
        const response = await scope.request(entry, 'acquirePessimisticLock', (context) => ({
          acquirePessimisticLock: {
            context,
            keys,
            primaryLock: primary,
            startTs: encodeTs(this.ts),
            forUpdateTs: encodeTs(forUpdateTs),
            lockTtlMs: this.lockTtlMs(),
            returnValues,
            waitMs: storeWaitMs,
            allowLockWithConflict: contended,
          },
        }));
        if (response === REGROUP) return REGROUP;
        const e = response.error;
        if (!e) {
          // Locked past a newer commit: the commit ts must come after it.
          const conflictTs = decodeTs(response.lockedWithConflictTs);
          if (conflictTs > this.forUpdateTs) this.forUpdateTs = conflictTs;
          const found = new Map((response.pairs ?? []).map((p) => [keyIdentity(p.key ?? EMPTY_KEY), p.value ?? EMPTY_KEY]));
          for (const key of keys) {
            const id = keyIdentity(key);
            this.pessimisticKeys.set(id, key);
            if (returnValues) this.lockedValues.set(id, { key, value: found.get(id) });
          }
          this.startHeartbeat();
          return undefined;
        }
        if (e.conflict) {
          // Someone committed the key after for_update_ts: lock its newest version instead.
          contended = true;
          await this.newForUpdateTs();
          continue;
        }
        if (e.locked) {
          contended = true;
          const lock = lockFromWire(e.locked);
          if (lock.lockTs === this.ts) throw new ProtocolError('AcquirePessimisticLock', 'the store reported the transaction blocked by its own lock');
          const now = Date.now();
          if (waiting === undefined) waiting = { holderTs: lock.lockTs, since: now, checkedAt: 0, aliveUntilMs: undefined, pollMs: 1, published: false };
          else if (waiting.holderTs !== lock.lockTs) Object.assign(waiting, { holderTs: lock.lockTs, checkedAt: 0, aliveUntilMs: undefined, pollMs: 1 });
          if (now >= waitDeadline) throw new LockWaitTimeoutError(lock.key, lock.lockTs, waitTimeoutMs);
          // Resolved away (its owner was gone): ask again at once.
          if (await this.lookAtOwner(scope, lock, Number(e.locked.ttlMs ?? 0), waiting)) continue;
          if (storeWaitMs > 0 && Date.now() - sentAt < MIN_STORE_WAIT_MS) {
            await sleep(Math.min(waiting.pollMs, Math.max(0, waitDeadline - Date.now())));
            waiting.pollMs = Math.min(LOCK_POLL_MAX_MS, waiting.pollMs * 2);
          } else waiting.pollMs = 1;
          continue;
        }
        if (e.pessimisticLockRolledBack) throw new TxnAbortedError(`transaction ${this.ts} was rolled back while it ran: ${e.message}`);
        if (e.txnTooOld) throw new TxnTooOldError(e.message ?? 'transaction too old');
        throw new ProtocolError('AcquirePessimisticLock', e.message ?? 'unexpected key error');
      }
    } finally {
      if (waiting !== undefined) {
        this.lockWaitMs += Date.now() - waiting.since;
        if (waiting.published && this.waitingFor === waiting.holderTs) {
          this.waitingFor = 0n;
          void this.sendHeartbeat();
        }
      }
    }
  }

  /**
   * Looks at the owner of a lock this transaction waits for, when that can change anything: the
   * lock may have expired (then it is resolved: true), or, holding locks itself, the two may be
   * deadlocked. A live owner's wait is answered by publishing this transaction's own.
   */
  private async lookAtOwner(scope: RegionScope, lock: LockRef, metTtlMs: number, waiting: LockWaitState): Promise<boolean> {
    const holdsLocks = this.pessimisticKeys.size > 0;
    const now = Date.now();
    const looksExpired = now > (waiting.aliveUntilMs ?? physicalMs(lock.lockTs) + metTtlMs);
    const deadlockCheckDue = holdsLocks && now - waiting.checkedAt >= DEADLOCK_CHECK_INTERVAL_MS;
    if (!looksExpired && !deadlockCheckDue) return false;
    waiting.checkedAt = now;
    const outcome = await this.client.resolver.resolve(scope, lock);
    if (outcome.kind === 'resolved') return true;
    if (outcome.kind !== 'alive') return false;
    waiting.aliveUntilMs = physicalMs(lock.lockTs) + outcome.ttlMs;
    if (!holdsLocks) return false;
    // Each waits for the other: the younger gives way (the older, seeing the same, waits on).
    if (outcome.waitForTs === this.ts && this.ts > lock.lockTs) throw new DeadlockError(lock.key, this.ts, lock.lockTs);
    if (this.waitingFor !== lock.lockTs || !waiting.published) {
      this.waitingFor = lock.lockTs;
      waiting.published = true;
      await this.sendHeartbeat();
    }
    return false;
  }

  private async newForUpdateTs(): Promise<void> {
    const ts = await this.client.timestamp();
    if (ts > this.forUpdateTs) this.forUpdateTs = ts;
  }

  /** A TTL (counted from start_ts, as the store counts it) reaching lockTtlMs past now. */
  private lockTtlMs(): number {
    const elapsed = Date.now() - physicalMs(this.ts);
    return Math.min(U32_MAX, Math.max(0, elapsed) + this.client.options.lockTtlMs);
  }

  /** After a failed lockKeys: unlocks the keys it was locking, and forgets a primary it chose. */
  private async unlockAfterFailure(fresh: readonly Uint8Array[], primaryIsNew: boolean): Promise<void> {
    for (const key of fresh) {
      this.pessimisticKeys.delete(keyIdentity(key));
      this.lockedValues.delete(keyIdentity(key));
    }
    if (primaryIsNew) {
      this.primaryKey = undefined;
      this.stopHeartbeat();
    }
    // Sent for every key of the call: a lock whose answer was lost is removed too.
    await this.pessimisticRollback(fresh);
  }

  private async pessimisticRollback(keys: readonly Uint8Array[]): Promise<void> {
    if (keys.length === 0) return;
    const forUpdateTs = this.forUpdateTs;
    await this.client.kv.runOperation(`pessimistic rollback of ${this.ts}`, this.callOptions(), (scope) =>
      scope.forEachRegion(keys, (k) => k, async (entry, group) => {
        for (let i = 0; i < group.length; i += KEYS_PER_REQUEST) {
          const chunk = group.slice(i, i + KEYS_PER_REQUEST);
          const response = await scope.request(entry, 'pessimisticRollback', (context) => ({
            pessimisticRollback: { context, keys: chunk, startTs: encodeTs(this.ts), forUpdateTs: encodeTs(forUpdateTs) },
          }));
          if (response === REGROUP) return REGROUP;
        }
        return undefined;
      }),
    );
  }

  private startHeartbeat(): void {
    if (this.heartbeatTimer !== undefined || this.primaryKey === undefined) return;
    this.heartbeatTimer = setInterval(() => {
      // A transaction its caller forgot must not hold its locks forever.
      if (Date.now() - physicalMs(this.ts) > this.client.options.maxHeartbeatMs) {
        this.stopHeartbeat();
        return;
      }
      void this.sendHeartbeat();
    }, this.client.options.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private sendHeartbeat(): Promise<void> {
    const primary = this.primaryKey;
    if (primary === undefined) return this.heartbeats;
    const next = this.heartbeats.then(() => this.heartbeat(primary)).catch(() => {});
    this.heartbeats = next;
    return next;
  }

  private buffer(m: TxnMutation): void {
    this.checkOpen();
    checkKey(m.key);
    if ((m.op === 'put' || m.op === 'insert') && !(m.value instanceof Uint8Array)) throw new InvalidArgumentError('a value must be a Uint8Array');
    const id = keyIdentity(m.key);
    if (!this.writes.has(id) && this.writes.size >= this.client.options.maxWriteKeys) {
      throw new InvalidArgumentError(`a transaction may write at most ${this.client.options.maxWriteKeys} keys`);
    }
    this.writes.set(id, m);
  }

  private checkOpen(): void {
    if (this.state !== 'open') throw new TxnClosedError(`transaction ${this.ts} is ${this.state}`);
  }

  /** Every key to prewrite, in key order: the buffered writes, and keys only locked as lock-only writes. */
  private plannedWrites(): PlannedWrite[] {
    const planned: PlannedWrite[] = [];
    for (const [id, mutation] of this.writes) planned.push({ mutation, pessimistic: this.pessimisticKeys.has(id) });
    for (const [id, key] of this.pessimisticKeys) if (!this.writes.has(id)) planned.push({ mutation: { op: 'lock', key }, pessimistic: true });
    return planned.sort((a, b) => compareKeys(a.mutation.key, b.mutation.key));
  }

  /** Commits; returns the commit timestamp (the start timestamp for a read-only transaction). */
  async commit(): Promise<bigint> {
    this.checkOpen();
    this.state = 'committing';
    // A lockKeys still under way settles first (its keys are then part of the commit, or not).
    await this.lockQueue;
    const planned = this.plannedWrites();
    if (planned.length === 0) {
      this.state = 'committed';
      return this.ts;
    }
    // A transaction that locked keys keeps the primary it chose then; others take the smallest key.
    const locked = this.primaryKey !== undefined && this.pessimisticKeys.has(keyIdentity(this.primaryKey));
    const primary = locked ? this.primaryKey! : planned[0]!.mutation.key;
    if (locked) {
      const at = planned.findIndex((p) => compareKeys(p.mutation.key, primary) === 0);
      planned.unshift(...planned.splice(at, 1));
    }
    this.primaryKey = primary;
    this.startHeartbeat();
    try {
      const onePc = await this.prewriteAll(primary, planned);
      if (this.client.options.abandonAfterPrewrite) {
        this.state = 'rolledBack';
        throw new TxnAbortedError(`transaction ${this.ts} abandoned after prewrite (test hook)`);
      }
      if (onePc !== undefined) {
        this.commitKind = 'onePc';
        this.commitTs = onePc;
        this.state = 'committed';
        return onePc;
      }
      const commitTs = await this.commitPrimary(primary);
      this.commitKind = 'twoPc';
      this.commitTs = commitTs;
      this.state = 'committed';
      const secondaries = planned.slice(1).map((p) => p.mutation.key);
      if (secondaries.length > 0) this.client.track(this.commitSecondaries(secondaries, commitTs));
      return commitTs;
    } catch (caught) {
      let err = caught;
      // A one-phase commit whose answer was lost may have committed.
      if (this.triedOnePc && isClientError(err)) err = new CommitUncertainError(`transaction ${this.ts}: the outcome of its one-phase commit is unknown: ${err.message}`, err);
      if (this.state === 'committing') {
        this.state = 'rolledBack';
        if (!(err instanceof CommitUncertainError)) await this.rollbackPrewritten([...this.pessimisticKeys.values()]).catch(() => {});
      }
      throw err;
    } finally {
      this.stopHeartbeat();
    }
  }

  /** Prewrites every key (the primary first in the list); the commit ts when the store committed them in one phase. */
  private async prewriteAll(primary: Uint8Array, planned: PlannedWrite[]): Promise<bigint | undefined> {
    const opts = this.client.options;
    const pessimistic = this.pessimisticKeys.size > 0;
    // Locked keys were checked at for_update_ts; the commit must come after it. A long-running
    // pessimistic transaction's new locks must not be born expired either.
    const minCommitTs = pessimistic ? encodeTs(this.forUpdateTs + 1n) : undefined;
    const lockTtlMs = pessimistic ? this.lockTtlMs() : opts.lockTtlMs;
    let onePcTs: bigint | undefined;
    await this.client.kv.runOperation(`prewrite of ${planned.length} keys at ${this.ts}`, this.callOptions(planned.length), async (scope) => {
      // One phase when every key lies in one Region (as the cache sees it; the store re-checks).
      const regions = new Set<number>();
      for (const p of planned) {
        regions.add((await scope.locate(p.mutation.key)).region.id);
        if (regions.size > 1) break;
      }
      const tryOnePc = regions.size === 1 && planned.length <= KEYS_PER_REQUEST && !opts.abandonAfterPrewrite;
      this.triedOnePc = tryOnePc;
      const prewriteGroup = async (entry: CachedRegion, group: PlannedWrite[]): Promise<typeof REGROUP | undefined> => {
        for (let i = 0; i < group.length; i += KEYS_PER_REQUEST) {
          const chunk = group.slice(i, i + KEYS_PER_REQUEST);
          // Counted before it is sent: if the commit fails, whatever may have been locked is rolled back.
          this.prewritten.push(...chunk.map((p) => p.mutation));
          for (;;) {
            const response = await scope.request(entry, 'prewrite', (context) => ({
              prewrite: {
                context,
                mutations: chunk.map((p) => toWireMutation(p.mutation, p.pessimistic)),
                primaryLock: primary,
                startTs: encodeTs(this.ts),
                lockTtlMs,
                txnSize: planned.length,
                minCommitTs,
                tryOnePc: tryOnePc && chunk.length === planned.length,
              },
            }));
            if (response === REGROUP) {
              // Some keys may be prewritten already; prewrite is idempotent, so route all again.
              return REGROUP;
            }
            const errors = response.errors ?? [];
            if (errors.length === 0) {
              const ts = decodeTs(response.onePcCommitTs);
              if (ts > 0n) onePcTs = ts;
              break;
            }
            await this.handlePrewriteErrors(scope, errors);
          }
        }
        return undefined;
      };
      await scope.forEachRegion(planned, (p) => p.mutation.key, (entry, group) => {
        // Tracked so that a failed commit waits for every group still in flight before rolling back.
        const work = prewriteGroup(entry, group);
        this.prewritesInFlight.add(work);
        void work.then(
          () => this.prewritesInFlight.delete(work),
          () => this.prewritesInFlight.delete(work),
        );
        return work;
      });
    });
    return onePcTs;
  }

  private async handlePrewriteErrors(scope: RegionScope, errors: kvpb.IKeyError[]): Promise<void> {
    for (const e of errors) {
      if (e.conflict) {
        throw new WriteConflictError(e.conflict.key ?? EMPTY_KEY, this.ts, decodeTs(e.conflict.conflictCommitTs), e.message ?? '');
      }
      if (e.alreadyExists) throw new KeyExistsError(e.alreadyExists.key ?? EMPTY_KEY);
      if (e.alreadyCommitted) {
        // Only a lost answer to a one-phase commit leads here; the store answers that with its ts.
        throw new ProtocolError('Prewrite', `transaction already committed: ${e.message}`);
      }
      if (e.txnTooOld) throw new TxnTooOldError(e.message ?? 'transaction too old');
      if (e.pessimisticLockNotFound) throw new TxnAbortedError(`transaction ${this.ts} lost a pessimistic lock before it committed: ${e.message}`);
      if (!e.locked) throw new ProtocolError('Prewrite', e.message ?? 'unexpected key error');
    }
    // Only locks of other transactions: resolve them (or wait for their owners), then retry.
    for (const e of errors) await resolveOrWait(this.client, scope, lockFromWire(e.locked!), 0n, () => {});
  }

  private async commitPrimary(primary: Uint8Array): Promise<bigint> {
    let commitTs = await this.client.timestamp();
    try {
      return await this.client.kv.runOperation(`commit of ${this.ts}`, this.callOptions(), async (scope) => {
        for (;;) {
          const ts = commitTs;
          const response = await scope.requestForKey(primary, 'commit', (context) => ({
            commit: { context, keys: [primary], startTs: encodeTs(this.ts), commitTs: encodeTs(ts) },
          }));
          const e = response.error;
          if (!e) return ts;
          if (e.txnLockNotFound) throw new TxnAbortedError(`transaction ${this.ts} was rolled back before it committed: ${e.message}`);
          if (e.commitTsExpired) {
            const min = decodeTs(e.commitTsExpired.minCommitTs);
            commitTs = await this.client.timestamp();
            if (commitTs < min) commitTs = min;
            continue;
          }
          throw new ProtocolError('Commit', e.message ?? 'unexpected key error');
        }
      });
    } catch (err) {
      if (err instanceof TxnAbortedError || err instanceof ProtocolError) throw err;
      // The commit may have been applied without our hearing of it.
      if (isClientError(err)) throw new CommitUncertainError(`transaction ${this.ts}: the outcome of the primary's commit is unknown: ${err.message}`, err);
      throw err;
    }
  }

  private async commitSecondaries(keys: Uint8Array[], commitTs: bigint): Promise<void> {
    try {
      await this.client.kv.runOperation(`commit secondaries of ${this.ts}`, this.callOptions(keys.length), (scope) =>
        scope.forEachRegion(keys, (k) => k, async (entry, group) => {
          for (let i = 0; i < group.length; i += KEYS_PER_REQUEST) {
            const chunk = group.slice(i, i + KEYS_PER_REQUEST);
            const response = await scope.request(entry, 'commit', (context) => ({
              commit: { context, keys: chunk, startTs: encodeTs(this.ts), commitTs: encodeTs(commitTs) },
            }));
            if (response === REGROUP) return REGROUP;
          }
          return undefined;
        }),
      );
    } catch {
      // Readers meeting the locks left behind find the primary committed and commit them.
    }
  }

  /** Rolls back every key that may carry a lock of the transaction's commit, and `alsoKeys`. */
  private async rollbackPrewritten(alsoKeys: readonly Uint8Array[] = []): Promise<void> {
    await Promise.allSettled([...this.prewritesInFlight]);
    const keys = [...new Map([...this.prewritten.map((m) => m.key), ...alsoKeys].map((k) => [keyIdentity(k), k])).values()];
    this.prewritten = [];
    if (keys.length === 0) return;
    await this.client.kv.runOperation(`rollback of ${this.ts}`, this.callOptions(), (scope) =>
      scope.forEachRegion(keys, (k) => k, async (entry, group) => {
        for (let i = 0; i < group.length; i += KEYS_PER_REQUEST) {
          const chunk = group.slice(i, i + KEYS_PER_REQUEST);
          const response = await scope.request(entry, 'batchRollback', (context) => ({ batchRollback: { context, keys: chunk, startTs: encodeTs(this.ts) } }));
          if (response === REGROUP) return REGROUP;
        }
        return undefined;
      }),
    );
  }

  private async heartbeat(primary: Uint8Array): Promise<void> {
    const ttl = Number(BigInt(Date.now()) - (this.ts >> 18n)) + this.client.options.lockTtlMs;
    const waitForTs = this.waitingFor;
    await this.client.kv.runOperation(`heartbeat of ${this.ts}`, { timeoutMs: this.client.options.heartbeatIntervalMs }, (scope) =>
      scope.requestForKey(primary, 'txnHeartBeat', (context) => ({
        txnHeartBeat: {
          context,
          primaryLock: primary,
          startTs: encodeTs(this.ts),
          adviseLockTtlMs: Math.min(ttl, U32_MAX),
          waitForTs: waitForTs === 0n ? undefined : encodeTs(waitForTs),
        },
      })),
    );
  }

  /** Abandons the transaction; locks it may have written, pessimistic ones included, are removed. */
  async rollback(): Promise<void> {
    if (this.state === 'committed' || this.state === 'rolledBack') return;
    this.state = 'rolledBack';
    this.stopHeartbeat();
    await this.lockQueue;
    const prewritten = new Set(this.prewritten.map((m) => keyIdentity(m.key)));
    // Locks never prewritten hold no data: removing them needs no rollback record.
    const onlyLocked = [...this.pessimisticKeys].filter(([id]) => !prewritten.has(id)).map(([, key]) => key);
    await Promise.all([this.rollbackPrewritten(), this.pessimisticRollback(onlyLocked)]);
  }
}

/** Resolves when resolve() is called, rejects when reject() is. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Only groups waiting for the primary's observe it; a failure is also reported by that group.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

function toWireMutation(m: TxnMutation, pessimistic: boolean): kvpb.IMutation {
  const flag = pessimistic ? { pessimistic: true } : {};
  switch (m.op) {
    case 'put':
      return { op: kvpb.MutationOp.MUTATION_PUT, key: m.key, value: m.value, ...flag };
    case 'insert':
      return { op: kvpb.MutationOp.MUTATION_INSERT, key: m.key, value: m.value, ...flag };
    case 'delete':
      return { op: kvpb.MutationOp.MUTATION_DELETE, key: m.key, ...flag };
    case 'lock':
      return { op: kvpb.MutationOp.MUTATION_LOCK, key: m.key, ...flag };
  }
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.byteLength === 0) throw new InvalidArgumentError('keys must be non-empty Uint8Arrays');
}
