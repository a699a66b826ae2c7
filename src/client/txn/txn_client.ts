// Transactions over the KV client: snapshot isolation by Percolator's two-phase commit.
//
//   begin    → start_ts from the oracle (requests batched per process by the PD client)
//   reads    → the transaction's own buffered writes first, else the snapshot at start_ts; a lock
//              met on the way is resolved through its primary (waited for while its owner lives)
//   commit   → prewrite every key (the first in key order is the primary), grouped per Region, all
//              groups in parallel; commit_ts from the oracle; commit the primary — the commit point —
//              then the secondaries in the background (readers resolve any left behind). When all
//              keys are in one Region the store commits in one phase.
//
// The coordinator heartbeats its primary while the commit runs, so a slow commit's locks are not
// taken for abandoned ones. Region errors are retried by the KV client under the commit's deadline;
// every command is idempotent, so a retried prewrite or commit cannot break atomicity.
import { composeTs, decodeTs, encodeTs } from '../../kv/records.js';
import { kvpb } from '../../proto/index.js';
import type { Timestamp } from '../tso.js';
import { InvalidArgumentError, ProtocolError, isClientError } from '../errors.js';
import { EMPTY_KEY, beforeEnd, compareKeys, keyAfter, keyIdentity } from '../keys.js';
import { REGROUP, type RawKvCallOptions, type RawKvClient, type RegionScope } from '../kv_client.js';
import { CommitUncertainError, KeyExistsError, TxnAbortedError, TxnClosedError, TxnTooOldError, WriteConflictError } from './errors.js';
import { LockResolver, lockFromWire, type LockRef } from './lock_resolver.js';

export interface TimestampSource {
  getTimestamp(): Promise<Timestamp>;
}

export interface TxnClientOptions {
  /** Lock time to live written at prewrite; extended by heartbeats while the commit runs. Default 3,000 ms. */
  readonly lockTtlMs?: number;
  /** How often a committing transaction heartbeats its primary. Default 1,000 ms. */
  readonly heartbeatIntervalMs?: number;
  /** Most keys one transaction may write. Default 100,000. */
  readonly maxWriteKeys?: number;
  /** Deadline of each read and of the commit. Default 20,000 ms. */
  readonly operationTimeoutMs?: number;
  /** Test hook: give up after prewrite as if the coordinator died, leaving its locks. */
  readonly abandonAfterPrewrite?: boolean;
}

export type TxnMutation =
  | { readonly op: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: 'insert'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: 'delete'; readonly key: Uint8Array }
  | { readonly op: 'lock'; readonly key: Uint8Array };

const DEFAULTS = { lockTtlMs: 3_000, heartbeatIntervalMs: 1_000, maxWriteKeys: 100_000, operationTimeoutMs: 20_000 } as const;
/** Keys prewritten or committed per request. */
const KEYS_PER_REQUEST = 2_048;
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

  /** Runs `body` in a transaction and commits it; retries on write conflicts up to `attempts` times. */
  async run<T>(body: (txn: Transaction) => Promise<T>, attempts = 10): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const txn = await this.begin();
      try {
        const result = await body(txn);
        await txn.commit();
        return result;
      } catch (err) {
        await txn.rollback().catch(() => {});
        if (attempt >= attempts || !(err instanceof WriteConflictError || err instanceof TxnAbortedError)) throw err;
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

  protected callOptions(): RawKvCallOptions {
    return { timeoutMs: this.client.options.operationTimeoutMs };
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

export class Transaction extends Snapshot {
  private readonly writes = new Map<string, TxnMutation>();
  private state: 'open' | 'committing' | 'committed' | 'rolledBack' = 'open';
  private prewritten: TxnMutation[] = [];
  private readonly prewritesInFlight = new Set<Promise<unknown>>();
  commitTs: bigint | undefined;
  /** How the commit went: in one phase (all keys in one Region) or two. */
  commitKind: 'onePc' | 'twoPc' | undefined;
  private triedOnePc = false;

  constructor(client: TxnClient, startTs: bigint) {
    super(client, startTs);
  }

  get startTs(): bigint {
    return this.ts;
  }

  get writeCount(): number {
    return this.writes.size;
  }

  override async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.checkOpen();
    const own = this.writes.get(keyIdentity(key));
    if (own !== undefined && own.op !== 'lock') return own.op === 'delete' ? undefined : own.value;
    return super.get(key);
  }

  override async batchGet(keys: readonly Uint8Array[]): Promise<Map<string, Uint8Array>> {
    this.checkOpen();
    const result = new Map<string, Uint8Array>();
    const remote: Uint8Array[] = [];
    for (const key of keys) {
      const own = this.writes.get(keyIdentity(key));
      if (own === undefined || own.op === 'lock') remote.push(key);
      else if (own.op !== 'delete') result.set(keyIdentity(key), own.value);
    }
    if (remote.length > 0) for (const [id, value] of await super.batchGet(remote)) result.set(id, value);
    return result;
  }

  override async scan(start: Uint8Array, end: Uint8Array, limit: number): Promise<Array<{ key: Uint8Array; value: Uint8Array }>> {
    this.checkOpen();
    // The snapshot's pairs merged with the buffer's writes in the range; deletes hide pairs.
    const own = [...this.writes.values()]
      .filter((m) => m.op !== 'lock' && compareKeys(m.key, start) >= 0 && beforeEnd(m.key, end))
      .sort((a, b) => compareKeys(a.key, b.key));
    const deletes = own.filter((m) => m.op === 'delete').length;
    const stored = await super.scan(start, end, limit + deletes);
    const merged = new Map<string, { key: Uint8Array; value: Uint8Array }>();
    for (const p of stored) merged.set(keyIdentity(p.key), p);
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

  /** Takes part in conflict detection on `key` without changing it. */
  lockKey(key: Uint8Array): void {
    if (!this.writes.has(keyIdentity(key))) this.buffer({ op: 'lock', key });
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

  /** Commits; returns the commit timestamp (the start timestamp for a read-only transaction). */
  async commit(): Promise<bigint> {
    this.checkOpen();
    this.state = 'committing';
    const mutations = [...this.writes.values()].sort((a, b) => compareKeys(a.key, b.key));
    if (mutations.length === 0) {
      this.state = 'committed';
      return this.ts;
    }
    const primary = mutations[0]!.key;
    const heartbeat = setInterval(() => void this.heartbeat(primary).catch(() => {}), this.client.options.heartbeatIntervalMs);
    heartbeat.unref();
    try {
      const onePc = await this.prewriteAll(primary, mutations);
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
      const secondaries = mutations.slice(1).map((m) => m.key);
      if (secondaries.length > 0) this.client.track(this.commitSecondaries(secondaries, commitTs));
      return commitTs;
    } catch (caught) {
      let err = caught;
      // A one-phase commit whose answer was lost may have committed.
      if (this.triedOnePc && isClientError(err)) err = new CommitUncertainError(`transaction ${this.ts}: the outcome of its one-phase commit is unknown: ${err.message}`, err);
      if (this.state === 'committing') {
        this.state = 'rolledBack';
        if (!(err instanceof CommitUncertainError)) await this.rollbackPrewritten().catch(() => {});
      }
      throw err;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Prewrites every key; the commit ts when the store committed them in one phase. */
  private async prewriteAll(primary: Uint8Array, mutations: TxnMutation[]): Promise<bigint | undefined> {
    const opts = this.client.options;
    let onePcTs: bigint | undefined;
    await this.client.kv.runOperation(`prewrite of ${mutations.length} keys at ${this.ts}`, this.callOptions(), async (scope) => {
      // One phase when every key lies in one Region (as the cache sees it; the store re-checks).
      const regions = new Set<number>();
      for (const m of mutations) {
        regions.add((await scope.locate(m.key)).region.id);
        if (regions.size > 1) break;
      }
      const tryOnePc = regions.size === 1 && mutations.length <= KEYS_PER_REQUEST && !opts.abandonAfterPrewrite;
      this.triedOnePc = tryOnePc;
      const prewriteGroup = async (entry: Parameters<Parameters<RegionScope['forEachRegion']>[2]>[0], group: TxnMutation[]): Promise<typeof REGROUP | undefined> => {
        for (let i = 0; i < group.length; i += KEYS_PER_REQUEST) {
          const chunk = group.slice(i, i + KEYS_PER_REQUEST);
          // Counted before it is sent: if the commit fails, whatever may have been locked is rolled back.
          this.prewritten.push(...chunk);
          for (;;) {
            const response = await scope.request(entry, 'prewrite', (context) => ({
              prewrite: {
                context,
                mutations: chunk.map(toWireMutation),
                primaryLock: primary,
                startTs: encodeTs(this.ts),
                lockTtlMs: opts.lockTtlMs,
                txnSize: mutations.length,
                tryOnePc: tryOnePc && chunk.length === mutations.length,
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
      await scope.forEachRegion(mutations, (m) => m.key, (entry, group) => {
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
      await this.client.kv.runOperation(`commit secondaries of ${this.ts}`, this.callOptions(), (scope) =>
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

  private async rollbackPrewritten(): Promise<void> {
    await Promise.allSettled([...this.prewritesInFlight]);
    const keys = [...new Map(this.prewritten.map((m) => [keyIdentity(m.key), m.key])).values()];
    this.prewritten = [];
    if (keys.length === 0) return;
    await this.client.kv.runOperation(`rollback of ${this.ts}`, this.callOptions(), (scope) =>
      scope.forEachRegion(keys, (k) => k, async (entry, group) => {
        const response = await scope.request(entry, 'batchRollback', (context) => ({ batchRollback: { context, keys: group, startTs: encodeTs(this.ts) } }));
        return response === REGROUP ? REGROUP : undefined;
      }),
    );
  }

  private async heartbeat(primary: Uint8Array): Promise<void> {
    const ttl = Number(BigInt(Date.now()) - (this.ts >> 18n)) + this.client.options.lockTtlMs;
    await this.client.kv.runOperation(`heartbeat of ${this.ts}`, { timeoutMs: this.client.options.heartbeatIntervalMs }, (scope) =>
      scope.requestForKey(primary, 'txnHeartBeat', (context) => ({
        txnHeartBeat: { context, primaryLock: primary, startTs: encodeTs(this.ts), adviseLockTtlMs: Math.min(ttl, 0xffff_ffff) },
      })),
    );
  }

  /** Abandons the transaction; locks it may have written are removed. */
  async rollback(): Promise<void> {
    if (this.state === 'committed' || this.state === 'rolledBack') return;
    this.state = 'rolledBack';
    await this.rollbackPrewritten();
  }
}

function toWireMutation(m: TxnMutation): kvpb.IMutation {
  switch (m.op) {
    case 'put':
      return { op: kvpb.MutationOp.MUTATION_PUT, key: m.key, value: m.value };
    case 'insert':
      return { op: kvpb.MutationOp.MUTATION_INSERT, key: m.key, value: m.value };
    case 'delete':
      return { op: kvpb.MutationOp.MUTATION_DELETE, key: m.key };
    case 'lock':
      return { op: kvpb.MutationOp.MUTATION_LOCK, key: m.key };
  }
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.byteLength === 0) throw new InvalidArgumentError('keys must be non-empty Uint8Arrays');
}
