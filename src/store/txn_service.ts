// The store's transactional commands (Percolator, src/kv/txn.ts), served by a Region's leader.
//
// A write command latches its keys, waits for the read barrier (so it reads everything committed
// before it arrived), computes its modifications from what it reads, replicates them through the
// Region's Raft log, and releases the latches once they are applied: no other command can change
// those keys between its reads and its writes. The apply step checks the Region epoch again, so
// writes computed before a split never land in the wrong Region.
//
// One-phase commit writes the commit records directly. Its commit timestamp comes from the oracle
// after the keys are registered as "committing"; a reader checks that registry after its barrier
// and waits for a committing transaction on its keys to finish. Either the reader looked first —
// then its timestamp predates the commit's, which it will not see — or it waits and then reads the
// commit: the same snapshot either way.
//
// A pessimistic lock request that meets another transaction's lock may wait on the store, a
// bounded time, for that lock to go: it registers while it still holds its latches, so a command
// removing the lock (which needs the same latch) always runs after the registration and wakes it.
// The lock's owner committing or rolling back then costs the waiter no polling delay. Waiters of a
// key queue by start ts (the oldest transaction first, so none starves) and a removed lock wakes
// only the first, which tries once more and answers; if it did not take the lock, it wakes the
// next. A primary publishing whom its transaction waits for wakes them all: their clients look
// for a deadlock.
import {
  MvccWriter,
  acquirePessimisticLock,
  checkTxnStatus,
  commit,
  decodeTs,
  describeKeyError,
  encodeTs,
  getAt,
  heartbeat,
  lockExpired,
  pessimisticRollback,
  prewrite,
  resolveKey,
  rollback,
  scanAt,
  loadLock,
  parseKey,
  userRange,
  RecordTag,
  decodeLock,
  decodeWrite,
  gcKey,
  type KeyError,
  type Lock,
  type Modify,
  type MvccReader,
  type PessimisticLockParams,
  type PrewriteMutation,
} from '../kv/index.js';
import { kvpb, type raftcmdpb } from '../proto/index.js';
import type { KvService } from './kv_service.js';
import { Latches } from './latches.js';
import type { Peer } from './peer.js';
import { clipToRegion, compareBytes, endKey, startKey, startsPastRegion } from './region.js';
import type { Store } from './store.js';

const EMPTY = new Uint8Array(0);
/** Commands that may wait for latches on one store before new ones are refused as busy. */
const MAX_LATCHED_COMMANDS = 20_000;
/** Modifications replicated in one Raft command when resolving every lock of a Region. */
const RESOLVE_BATCH = 1_024;
/** Records read per step when a command walks a whole Region. */
const REGION_SCAN_CHUNK = 1_024;
/** A reader waits at most this long for a one-phase commit on its keys to finish. */
const ONE_PC_WAIT_MS = 10_000;
/**
 * The longest a pessimistic lock request waits on the store for another transaction's lock to go.
 * Short, because the client must look at the lock's owner now and then (expired? deadlocked?).
 */
const MAX_LOCK_WAIT_MS = 1_000;
/** Pessimistic lock requests that may wait on one store at once; beyond it they answer at once. */
const MAX_LOCK_WAITERS = 10_000;

type RegionError = kvpb.IRegionError;
type Outcome<T> = { regionError: RegionError } | { result: T };

interface Committing {
  readonly regionId: number;
  readonly keys: readonly Uint8Array[];
  readonly done: Promise<void>;
}

export class TxnService {
  private readonly latches = new Latches(MAX_LATCHED_COMMANDS);
  private readonly lockWaits = new LockWaits(MAX_LOCK_WAITERS);
  private readonly committing = new Set<Committing>();
  private readonly reader: MvccReader;
  /** The newest safe point the placement driver announced, and the state of the collector. */
  private pdSafePoint = 0n;
  private gcRunning = false;
  private lastGcRoundMs = 0;
  private gcTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly gcDone = new WeakMap<Peer, bigint>();
  /** Versions removed by garbage collection since start (for status and tests). */
  gcRemovedVersions = 0;

  constructor(
    private readonly store: Store,
    private readonly kv: KvService,
  ) {
    const db = store.engine.db;
    this.reader = {
      get: (key) => db.get(key),
      scan: (gte, lt, limit) => db.iterator({ gte, lt, limit }).all(),
    };
    store.tasks.onGcSafePoint((safePoint) => this.advanceSafePoint(safePoint));
  }

  stop(): void {
    this.stopped = true;
    if (this.gcTimer) clearTimeout(this.gcTimer);
    this.lockWaits.wakeEveryone();
  }

  async handle(request: kvpb.IRequest): Promise<kvpb.IResponse | undefined> {
    if (request.txnGet) return { txnGet: await this.get(request.txnGet) };
    if (request.txnBatchGet) return { txnBatchGet: await this.batchGet(request.txnBatchGet) };
    if (request.txnScan) return { txnScan: await this.scan(request.txnScan) };
    if (request.prewrite) return { prewrite: await this.prewrite(request.prewrite) };
    if (request.commit) return { commit: await this.commit(request.commit) };
    if (request.batchRollback) return { batchRollback: await this.batchRollback(request.batchRollback) };
    if (request.cleanup) return { cleanup: await this.cleanup(request.cleanup) };
    if (request.checkTxnStatus) return { checkTxnStatus: await this.checkTxnStatus(request.checkTxnStatus) };
    if (request.resolveLock) return { resolveLock: await this.resolveLock(request.resolveLock) };
    if (request.txnHeartBeat) return { txnHeartBeat: await this.heartBeat(request.txnHeartBeat) };
    if (request.acquirePessimisticLock) return { acquirePessimisticLock: await this.acquirePessimisticLock(request.acquirePessimisticLock) };
    if (request.pessimisticRollback) return { pessimisticRollback: await this.pessimisticRollback(request.pessimisticRollback) };
    return undefined;
  }

  // ---- reads ----

  private async get(req: kvpb.ITxnGetRequest): Promise<kvpb.ITxnGetResponse> {
    const key = nonEmptyKey(req.key);
    const version = decodeTs(req.version);
    const ready = await this.readReady(req.context, [key], undefined);
    if ('regionError' in ready) return { regionError: ready.regionError };
    const tooOld = this.tooOld(version, ready.result, key);
    if (tooOld) return { error: tooOld };
    const read = await getAt(this.reader, key, version, resolvedSet(req.resolvedLocks));
    if ('error' in read) return { error: toWireKeyError(read.error) };
    return read.value === undefined ? { found: false } : { found: true, value: read.value };
  }

  private async batchGet(req: kvpb.ITxnBatchGetRequest): Promise<kvpb.ITxnBatchGetResponse> {
    const keys = (req.keys ?? []).map(nonEmptyKey);
    this.checkCount(keys.length);
    const version = decodeTs(req.version);
    const ready = await this.readReady(req.context, keys, undefined);
    if ('regionError' in ready) return { regionError: ready.regionError };
    const tooOld = this.tooOld(version, ready.result, keys[0] ?? EMPTY);
    if (tooOld) return { error: tooOld };
    const resolved = resolvedSet(req.resolvedLocks);
    const reads = await Promise.all(keys.map((key) => getAt(this.reader, key, version, resolved)));
    const pairs: kvpb.IKvPair[] = [];
    for (let i = 0; i < keys.length; i++) {
      const read = reads[i]!;
      if ('error' in read) return { error: toWireKeyError(read.error) };
      if (read.value !== undefined) pairs.push({ key: keys[i]!, value: read.value });
    }
    return { pairs };
  }

  private async scan(req: kvpb.ITxnScanRequest): Promise<kvpb.ITxnScanResponse> {
    const limit = this.kv.scanLimit(req.limit);
    const version = decodeTs(req.version);
    const start = req.startKey ?? EMPTY;
    const ready = await this.readReady(req.context, [], { start, end: req.endKey ?? EMPTY });
    if ('regionError' in ready) return { regionError: ready.regionError };
    const tooOld = this.tooOld(version, ready.result, start);
    if (tooOld) return { error: tooOld };
    // Clip to the Region: the client walks Regions itself.
    const { from, to } = clipToRegion(ready.result.region, start, req.endKey ?? EMPTY);
    const result = await scanAt(this.reader, from, to, version, limit, req.keyOnly === true, resolvedSet(req.resolvedLocks));
    const pairs = result.pairs.map((p) => (req.keyOnly ? { key: p.key } : { key: p.key, value: p.value }));
    const blocked = result.locks[0];
    if (blocked) return { pairs, error: toWireKeyError({ kind: 'locked', key: blocked.key, lock: blocked.lock }) };
    return { pairs };
  }

  /**
   * Locates the Region, waits for the read barrier, then for any one-phase commit under way on
   * the keys (or the range) to finish.
   */
  private async readReady(
    context: kvpb.IContext | null | undefined,
    keys: readonly Uint8Array[],
    range: { start: Uint8Array; end: Uint8Array } | undefined,
  ): Promise<Outcome<Peer>> {
    const located = this.kv.locate(context, range ? [] : keys);
    if ('error' in located) return { regionError: located.error };
    const peer = located.peer;
    if (range && startsPastRegion(peer.region, range.start)) {
      return { regionError: { message: 'scan starts past the region', keyNotInRegion: { key: range.start, regionId: peer.groupId, startKey: startKey(peer.region), endKey: endKey(peer.region) } } };
    }
    const error = await this.kv.barrier(peer, context);
    if (error) return { regionError: error };
    const deadline = Date.now() + ONE_PC_WAIT_MS;
    for (;;) {
      const pending = this.committingOn(peer.groupId, keys, range);
      if (pending === undefined) return { result: peer };
      if (Date.now() > deadline) return { regionError: { message: 'a one-phase commit on these keys is taking too long', serverIsBusy: { reason: 'one-phase commit in progress', backoffMs: 20 } } };
      await pending.done;
    }
  }

  private committingOn(regionId: number, keys: readonly Uint8Array[], range: { start: Uint8Array; end: Uint8Array } | undefined): Committing | undefined {
    for (const c of this.committing) {
      if (c.regionId !== regionId) continue;
      for (const k of c.keys) {
        if (range) {
          if (compareBytes(k, range.start) >= 0 && (range.end.byteLength === 0 || compareBytes(k, range.end) < 0)) return c;
        } else if (keys.some((key) => compareBytes(key, k) === 0)) return c;
      }
    }
    return undefined;
  }

  // ---- writes ----

  /**
   * Runs `compute` with `keys` latched after the read barrier, replicates the modifications it
   * staged, and answers once they are applied.
   */
  private async write<T>(
    context: kvpb.IContext | null | undefined,
    keys: readonly Uint8Array[],
    compute: (writer: MvccWriter, peer: Peer) => Promise<T>,
    beforePropose?: (result: T, writer: MvccWriter, peer: Peer) => Promise<MvccWriter | RegionError | undefined>,
  ): Promise<Outcome<T>> {
    const located = this.kv.locate(context, keys);
    if ('error' in located) return { regionError: located.error };
    const peer = located.peer;
    const latched = this.latches.acquire(keys);
    if (latched === undefined) return { regionError: { message: 'too many transactional commands waiting on this store', serverIsBusy: { reason: 'latches', backoffMs: 20 } } };
    const release = await latched;
    try {
      const error = await this.kv.barrier(peer, context);
      if (error) return { regionError: error };
      let writer = new MvccWriter();
      const result = await compute(writer, peer);
      if (beforePropose) {
        const replaced = await beforePropose(result, writer, peer);
        if (replaced instanceof MvccWriter) writer = replaced;
        else if (replaced !== undefined) return { regionError: replaced };
      }
      if (writer.modifies.length > 0) {
        const outcome = await this.store.proposeCommand(peer, {
          header: { regionId: peer.groupId, peer: peer.selfMeta(), regionEpoch: peer.region.epoch ?? {} },
          writes: writer.modifies.map(toWriteCommand),
        });
        if (outcome.kind === 'regionError') return { regionError: outcome.error };
        for (const key of removedLocks(writer.modifies)) this.lockWaits.wakeFirst(key);
      }
      return { result };
    } finally {
      release();
    }
  }

  private async prewrite(req: kvpb.IPrewriteRequest): Promise<kvpb.IPrewriteResponse> {
    const mutations = (req.mutations ?? []).map(toPrewriteMutation);
    this.checkCount(mutations.length);
    this.checkBytes(mutations.reduce((n, m) => n + m.key.byteLength + (m.value?.byteLength ?? 0), 0));
    const keys = mutations.map((m) => m.key);
    if (new Set(keys.map(keyId)).size !== keys.length) throw new Error('a prewrite may name each key once');
    const startTs = decodeTs(req.startTs);
    if (startTs === 0n) throw new Error('a prewrite needs a start ts');
    const params = {
      primary: nonEmptyKey(req.primaryLock),
      startTs,
      ttlMs: Number(req.lockTtlMs ?? 0),
      txnSize: Number(req.txnSize ?? mutations.length),
      minCommitTs: decodeTs(req.minCommitTs),
    };
    const tryOnePc = req.tryOnePc === true && this.store.tasks.placementClient !== undefined;
    let onePcCommitTs = 0n;
    let committing: (Committing & { finish: () => void }) | undefined;
    try {
      const outcome = await this.write(
        req.context,
        keys,
        async (writer, peer) => {
          // Its rollback records may be gone already: a late prewrite could otherwise succeed.
          if (startTs < peer.gcSafePoint) return [{ kind: 'tooOld', key: mutations[0]!.key, startTs, safePoint: peer.gcSafePoint } satisfies KeyError];
          const errors: KeyError[] = [];
          for (const m of mutations) {
            const error = await prewrite(this.reader, writer, m, params);
            if (error) errors.push(error);
          }
          return errors;
        },
        async (errors, writer, peer) => {
          // A prewrite is all or nothing per request: with any key refused, no lock is left on the
          // others (the client would not know to roll them back).
          if (errors.length > 0) return new MvccWriter();
          if (!tryOnePc) return undefined;
          // A key locked by an earlier attempt of this transaction (whose one-phase commit fell
          // back to locks) keeps the two-phase path: committing around its lock would leave the
          // lock behind, and a resolver could later roll back what was committed.
          const newLocks = writer.modifies.filter((m) => m.op === 'put' && m.tag === RecordTag.Lock).length;
          if (newLocks !== mutations.length) return undefined;
          // Everything checked out: commit right away instead of locking.
          committing = this.registerCommitting(peer.groupId, keys);
          let ts: bigint;
          try {
            ts = await this.store.tasks.placementClient!.timestamp();
          } catch (err) {
            // No timestamp: fall back to leaving locks (the client commits in two phases).
            this.store.logger.info('one-phase commit fell back to locks: no timestamp', { error: err instanceof Error ? err.message : String(err) });
            return undefined;
          }
          // The locks it would leave carry any min commit ts a reader pushed onto a pessimistic lock.
          const staged = writer.modifies.filter((m) => m.op === 'put' && m.tag === RecordTag.Lock).map((m) => decodeLock(m.value!).minCommitTs);
          const commitTs = maxTs(ts, startTs + 1n, params.minCommitTs, ...staged);
          const direct = new MvccWriter();
          for (const m of mutations) {
            const kind = m.op === 'insert' ? 'put' : m.op;
            if (kind === 'put') direct.putData(m.key, startTs, m.value ?? EMPTY);
            direct.putWrite(m.key, commitTs, { kind, startTs });
            // The key may carry this transaction's pessimistic lock (flagged or not); no other
            // lock can be there, and removing an absent one is harmless.
            direct.deleteLock(m.key);
          }
          onePcCommitTs = commitTs;
          return direct;
        },
      );
      if ('regionError' in outcome) return { regionError: outcome.regionError };
      const errors = outcome.result;
      if (errors.length > 0) {
        // A retry of a one-phase commit that was applied although its answer was lost meets its
        // own commit on every key: report that commit.
        const own = ownCommit(errors, startTs, mutations.length);
        if (req.tryOnePc === true && own !== undefined) return { onePcCommitTs: encodeTs(own) };
        return { errors: errors.map(toWireKeyError) };
      }
      return onePcCommitTs > 0n ? { onePcCommitTs: encodeTs(onePcCommitTs) } : {};
    } finally {
      committing?.finish();
    }
  }

  private registerCommitting(regionId: number, keys: readonly Uint8Array[]): Committing & { finish: () => void } {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const entry: Committing = { regionId, keys, done };
    this.committing.add(entry);
    return {
      ...entry,
      finish: () => {
        this.committing.delete(entry);
        finish();
      },
    };
  }

  private async commit(req: kvpb.ICommitRequest): Promise<kvpb.ICommitResponse> {
    const keys = (req.keys ?? []).map(nonEmptyKey);
    this.checkCount(keys.length);
    const startTs = decodeTs(req.startTs);
    const commitTs = decodeTs(req.commitTs);
    if (commitTs <= startTs) throw new Error(`commit ts ${commitTs} must be above start ts ${startTs}`);
    const outcome = await this.write(req.context, keys, async (writer) => {
      for (const key of keys) {
        const error = await commit(this.reader, writer, key, startTs, commitTs);
        if (error) return error;
      }
      return undefined;
    });
    return answer(outcome);
  }

  private async batchRollback(req: kvpb.IBatchRollbackRequest): Promise<kvpb.IBatchRollbackResponse> {
    const keys = (req.keys ?? []).map(nonEmptyKey);
    this.checkCount(keys.length);
    const startTs = decodeTs(req.startTs);
    const outcome = await this.write(req.context, keys, async (writer) => {
      for (const key of keys) {
        const error = await rollback(this.reader, writer, key, startTs);
        if (error) return error;
      }
      return undefined;
    });
    return answer(outcome);
  }

  private async cleanup(req: kvpb.ICleanupRequest): Promise<kvpb.ICleanupResponse> {
    const key = nonEmptyKey(req.key);
    const startTs = decodeTs(req.startTs);
    const currentTs = decodeTs(req.currentTs);
    const outcome = await this.write(req.context, [key], async (writer): Promise<KeyError | undefined> => {
      const lock = await loadLock(this.reader, key);
      if (lock !== undefined && lock.startTs === startTs && currentTs !== 0n && !lockExpired(lock, currentTs)) return { kind: 'locked', key, lock };
      return rollback(this.reader, writer, key, startTs);
    });
    if ('regionError' in outcome) return { regionError: outcome.regionError };
    const error = outcome.result;
    if (error?.kind === 'committed') return { error: toWireKeyError(error), commitTs: encodeTs(error.commitTs) };
    return error ? { error: toWireKeyError(error) } : {};
  }

  private async checkTxnStatus(req: kvpb.ICheckTxnStatusRequest): Promise<kvpb.ICheckTxnStatusResponse> {
    const primary = nonEmptyKey(req.primaryKey);
    const lockTs = decodeTs(req.lockTs);
    const currentTs = decodeTs(req.currentTs);
    const callerStartTs = decodeTs(req.callerStartTs);
    const outcome = await this.write(req.context, [primary], (writer) => checkTxnStatus(this.reader, writer, primary, lockTs, currentTs, callerStartTs));
    if ('regionError' in outcome) return { regionError: outcome.regionError };
    const status = outcome.result;
    switch (status.kind) {
      case 'locked':
        return { status: kvpb.TxnStatusKind.TXN_LOCKED, lock: toLockInfo(primary, status.lock) };
      case 'committed':
        return { status: kvpb.TxnStatusKind.TXN_COMMITTED, commitTs: encodeTs(status.commitTs) };
      case 'rolledBack':
        return {
          status: kvpb.TxnStatusKind.TXN_ROLLED_BACK,
          action:
            status.reason === 'ttlExpired' ? kvpb.TxnAction.TTL_EXPIRE_ROLLBACK : status.reason === 'lockNotExist' ? kvpb.TxnAction.LOCK_NOT_EXIST_ROLLBACK : kvpb.TxnAction.NO_ACTION,
        };
    }
  }

  private async resolveLock(req: kvpb.IResolveLockRequest): Promise<kvpb.IResolveLockResponse> {
    const startTs = decodeTs(req.startTs);
    const commitTs = decodeTs(req.commitTs);
    if (commitTs !== 0n && commitTs <= startTs) throw new Error(`commit ts ${commitTs} must be above start ts ${startTs}`);
    let keys = (req.keys ?? []).map(nonEmptyKey);
    this.checkCount(keys.length);
    if (keys.length === 0) {
      // Every lock of the transaction in the Region, found by a scan, resolved in batches.
      const located = this.kv.locate(req.context, []);
      if ('error' in located) return { regionError: located.error };
      const error = await this.kv.barrier(located.peer, req.context);
      if (error) return { regionError: error };
      keys = await this.locksOfTxn(located.peer, startTs);
      for (let i = 0; i < keys.length; i += RESOLVE_BATCH) {
        const batch = keys.slice(i, i + RESOLVE_BATCH);
        const outcome = await this.resolveKeys(req.context, batch, startTs, commitTs);
        if ('regionError' in outcome || outcome.result) return answer(outcome);
      }
      return {};
    }
    return answer(await this.resolveKeys(req.context, keys, startTs, commitTs));
  }

  private resolveKeys(context: kvpb.IContext | null | undefined, keys: readonly Uint8Array[], startTs: bigint, commitTs: bigint): Promise<Outcome<KeyError | undefined>> {
    return this.write(context, keys, async (writer) => {
      for (const key of keys) {
        const error = await resolveKey(this.reader, writer, key, startTs, commitTs);
        if (error) return error;
      }
      return undefined;
    });
  }

  /** Keys of the Region locked by the transaction (a full scan of the Region's records). */
  private async locksOfTxn(peer: Peer, startTs: bigint): Promise<Uint8Array[]> {
    const keys: Uint8Array[] = [];
    await this.scanRegionRecords(peer, (k, v) => {
      if (k[k.byteLength - 1] !== RecordTag.Lock) return;
      const parsed = parseKey(k);
      if (parsed.tag === RecordTag.Lock && decodeLock(v).startTs === startTs) keys.push(parsed.key);
    });
    return keys;
  }

  /** Visits every engine record of the Region in key order, reading in bounded chunks. */
  private async scanRegionRecords(peer: Peer, visit: (key: Uint8Array, value: Uint8Array) => void): Promise<void> {
    const range = userRange(startKey(peer.region), endKey(peer.region));
    const it = this.store.engine.db.iterator({ gte: range.gte, lt: range.lt });
    try {
      for (;;) {
        const chunk = await it.nextv(REGION_SCAN_CHUNK);
        if (chunk.length === 0) break;
        for (const [k, v] of chunk) visit(k, v);
      }
    } finally {
      await it.close();
    }
  }

  private async heartBeat(req: kvpb.ITxnHeartBeatRequest): Promise<kvpb.ITxnHeartBeatResponse> {
    const primary = nonEmptyKey(req.primaryLock);
    const startTs = decodeTs(req.startTs);
    const advise = Number(req.adviseLockTtlMs ?? 0);
    const waitForTs = decodeTs(req.waitForTs);
    let published = false;
    const outcome = await this.write(req.context, [primary], async (writer) => {
      const before = await loadLock(this.reader, primary);
      published = before !== undefined && before.startTs === startTs && (before.waitForTs ?? 0n) !== waitForTs;
      return heartbeat(this.reader, writer, primary, startTs, advise, waitForTs);
    });
    if ('regionError' in outcome) return { regionError: outcome.regionError };
    const result = outcome.result;
    if ('kind' in result) return { error: toWireKeyError(result) };
    // Whoever waits for this transaction should look again: they may now be in a cycle with it.
    if (published) this.lockWaits.wakeAll(primary);
    return { lockTtlMs: result.ttlMs };
  }

  // ---- pessimistic locks ----

  private async acquirePessimisticLock(req: kvpb.IAcquirePessimisticLockRequest): Promise<kvpb.IAcquirePessimisticLockResponse> {
    const keys = (req.keys ?? []).map(nonEmptyKey);
    this.checkCount(keys.length);
    if (new Set(keys.map(keyId)).size !== keys.length) throw new Error('a pessimistic lock request may name each key once');
    const startTs = decodeTs(req.startTs);
    const forUpdateTs = decodeTs(req.forUpdateTs);
    if (startTs === 0n) throw new Error('a pessimistic lock request needs a start ts');
    if (forUpdateTs < startTs) throw new Error(`for update ts ${forUpdateTs} is below start ts ${startTs}`);
    const params = {
      primary: nonEmptyKey(req.primaryLock),
      startTs,
      forUpdateTs,
      ttlMs: Number(req.lockTtlMs ?? 0),
      returnValue: req.returnValues === true,
      allowLockWithConflict: req.allowLockWithConflict === true,
    };
    const waitMs = Math.min(Number(req.waitMs ?? 0), MAX_LOCK_WAIT_MS);
    const first = await this.tryPessimisticLock(req.context, keys, params, waitMs > 0);
    if (first.wait === undefined) return first.response;
    if (!(await first.wait.until(Date.now() + waitMs)) || this.stopped) return first.response;
    // Woken: the lock it waited for changed. One more try, answered whatever it gives.
    const second = await this.tryPessimisticLock(req.context, keys, params, false);
    const wokenFor = first.wait.key;
    const holds = second.response.error == null && second.response.regionError == null;
    const stillLockedThere = second.response.error?.locked != null && keyId(second.response.error.locked.key ?? EMPTY) === keyId(wokenFor);
    // It did not take the key it was woken for, which may be free: the next in line may.
    if (!holds && !stillLockedThere) this.lockWaits.wakeFirst(wokenFor);
    return second.response;
  }

  /**
   * One attempt at locking every key. Refused by another transaction's lock, and allowed to wait,
   * it registers (under the latches) to be woken when that lock goes.
   */
  private async tryPessimisticLock(
    context: kvpb.IContext | null | undefined,
    keys: readonly Uint8Array[],
    params: PessimisticLockParams,
    mayWait: boolean,
  ): Promise<{ response: kvpb.IAcquirePessimisticLockResponse; wait?: LockWait }> {
    let wait: LockWait | undefined;
    const outcome = await this.write(
      context,
      keys,
      async (writer, peer): Promise<{ error: KeyError } | { values: Array<Uint8Array | undefined>; conflictTs: bigint }> => {
        // Its rollback records may be gone already: a lock taken now could outlive a resolution.
        if (params.startTs < peer.gcSafePoint) return { error: { kind: 'tooOld', key: keys[0]!, startTs: params.startTs, safePoint: peer.gcSafePoint } };
        const values: Array<Uint8Array | undefined> = [];
        let conflictTs = 0n;
        for (const key of keys) {
          const result = await acquirePessimisticLock(this.reader, writer, key, params);
          if ('error' in result) {
            if (result.error.kind === 'locked' && mayWait) wait = this.lockWaits.register(key, params.startTs);
            return { error: result.error };
          }
          values.push(result.value);
          if (result.lockedWithConflictTs !== undefined && result.lockedWithConflictTs > conflictTs) conflictTs = result.lockedWithConflictTs;
        }
        return { values, conflictTs };
      },
      // All or nothing: with any key refused, none is locked.
      async (result) => ('error' in result ? new MvccWriter() : undefined),
    );
    if ('regionError' in outcome) {
      wait?.cancel();
      return { response: { regionError: outcome.regionError } };
    }
    const result = outcome.result;
    if ('error' in result) return { response: { error: toWireKeyError(result.error) }, wait };
    const pairs: kvpb.IKvPair[] = [];
    result.values.forEach((value, i) => {
      if (value !== undefined) pairs.push({ key: keys[i]!, value });
    });
    return { response: { pairs, lockedWithConflictTs: result.conflictTs > 0n ? encodeTs(result.conflictTs) : undefined } };
  }

  private async pessimisticRollback(req: kvpb.IPessimisticRollbackRequest): Promise<kvpb.IPessimisticRollbackResponse> {
    const keys = (req.keys ?? []).map(nonEmptyKey);
    this.checkCount(keys.length);
    const startTs = decodeTs(req.startTs);
    const forUpdateTs = decodeTs(req.forUpdateTs);
    if (startTs === 0n) throw new Error('a pessimistic rollback needs a start ts');
    const outcome = await this.write(req.context, keys, async (writer) => {
      for (const key of keys) await pessimisticRollback(this.reader, writer, key, startTs, forUpdateTs);
      return undefined;
    });
    return answer(outcome);
  }

  // ---- limits ----

  private tooOld(ts: bigint, peer: Peer, key: Uint8Array): kvpb.IKeyError | undefined {
    if (ts >= peer.gcSafePoint) return undefined;
    return toWireKeyError({ kind: 'tooOld', key, startTs: ts, safePoint: peer.gcSafePoint });
  }

  // ---- garbage collection ----

  /** A newer safe point from the placement driver: collect when the interval allows. */
  advanceSafePoint(safePoint: bigint): void {
    if (safePoint <= this.pdSafePoint) return;
    this.pdSafePoint = safePoint;
    this.scheduleGc();
  }

  private scheduleGc(): void {
    if (this.gcRunning || this.gcTimer || this.stopped) return;
    const wait = Math.max(0, this.lastGcRoundMs + this.store.tuning.mvccGc.intervalMs - Date.now());
    this.gcTimer = setTimeout(() => {
      this.gcTimer = undefined;
      this.gcRunning = true;
      this.lastGcRoundMs = Date.now();
      this.gcRound()
        .catch((err: unknown) => this.store.logger.warn('garbage collection round failed', { error: err instanceof Error ? err.message : String(err) }))
        .finally(() => {
          this.gcRunning = false;
        });
    }, wait);
    this.gcTimer.unref();
  }

  /** Collects every Region this store leads, up to the current safe point. */
  private async gcRound(): Promise<void> {
    const safePoint = this.pdSafePoint;
    let removed = 0;
    for (const peer of [...this.store.peers.values()]) {
      if (this.stopped) return;
      if (peer.isSystem || !peer.initialized || peer.destroyed || !peer.isLeader()) continue;
      if ((this.gcDone.get(peer) ?? 0n) >= safePoint) continue;
      const outcome = await this.gcRegion(peer, safePoint);
      if (outcome === undefined) continue;
      removed += outcome;
      this.gcDone.set(peer, safePoint);
    }
    this.gcRemovedVersions += removed;
    if (removed > 0) this.store.logger.info('garbage collection removed old versions', { versions: removed, safePoint: String(safePoint) });
  }

  /** Versions removed, or undefined when the Region changed under the collector (next round retries). */
  private async gcRegion(peer: Peer, safePoint: bigint): Promise<number | undefined> {
    const context = (): kvpb.IContext => ({ regionId: peer.groupId, regionEpoch: peer.region.epoch ?? {}, peer: peer.selfMeta() });
    // First raise the Region's safe point through Raft: from then on every replica refuses
    // reads below it, so nothing removed next can be needed.
    if (peer.gcSafePoint < safePoint) {
      const outcome = await this.store.proposeCommand(peer, {
        header: { regionId: peer.groupId, peer: peer.selfMeta(), regionEpoch: peer.region.epoch ?? {} },
        gcSafePoint: encodeTs(safePoint),
      });
      if (outcome.kind === 'regionError') return undefined;
    }
    const candidates = await this.gcCandidates(peer, safePoint);
    let removed = 0;
    const batch = this.store.tuning.mvccGc.keysPerCommand;
    for (let i = 0; i < candidates.length; i += batch) {
      if (this.stopped || !peer.isLeader()) return undefined;
      const keys = candidates.slice(i, i + batch);
      const outcome = await this.write(context(), keys, async (writer) => {
        let n = 0;
        for (const key of keys) n += await gcKey(this.reader, writer, key, safePoint);
        return n;
      });
      if ('regionError' in outcome) return undefined;
      removed += outcome.result;
    }
    return removed;
  }

  /** User keys of the Region with something to remove at the safe point. */
  private async gcCandidates(peer: Peer, safePoint: bigint): Promise<Uint8Array[]> {
    const keys: Uint8Array[] = [];
    let currentId: string | undefined;
    let below = 0;
    let newestBelowIsPut = false;
    const flush = (key: Uint8Array | undefined): void => {
      if (key !== undefined && (below > 1 || (below === 1 && !newestBelowIsPut))) keys.push(key);
    };
    let currentKey: Uint8Array | undefined;
    await this.scanRegionRecords(peer, (k, v) => {
      const parsed = parseKey(k);
      if (parsed.tag !== RecordTag.Write) return;
      const id = Buffer.from(parsed.key).toString('latin1');
      if (id !== currentId) {
        flush(currentKey);
        currentId = id;
        currentKey = parsed.key;
        below = 0;
      }
      if (parsed.ts! > safePoint) return;
      if (below === 0) newestBelowIsPut = decodeWrite(v).kind === 'put';
      below++;
    });
    flush(currentKey);
    return keys;
  }

  private checkCount(n: number): void {
    const max = this.store.tuning.limits.maxMutationsPerWrite;
    if (n > max) throw new Error(`a request may name at most ${max} keys, got ${n}`);
  }

  private checkBytes(n: number): void {
    const max = this.store.tuning.limits.maxWriteBytes;
    if (n > max) throw new Error(`a write may carry at most ${max} bytes, got ${n}`);
  }
}

// ---- conversions ----

/** The commit ts when every key reports this transaction's own commit there. */
function ownCommit(errors: readonly KeyError[], startTs: bigint, keys: number): bigint | undefined {
  if (errors.length !== keys) return undefined;
  let commitTs: bigint | undefined;
  for (const e of errors) {
    if (e.kind !== 'committed' || e.startTs !== startTs) return undefined;
    if (commitTs !== undefined && commitTs !== e.commitTs) return undefined;
    commitTs = e.commitTs;
  }
  return commitTs;
}

function maxTs(...values: bigint[]): bigint {
  return values.reduce((a, b) => (a > b ? a : b));
}

function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

function nonEmptyKey(key: Uint8Array | null | undefined): Uint8Array {
  if (!key || key.byteLength === 0) throw new Error('a transactional command needs non-empty keys');
  return key;
}

function resolvedSet(list: readonly Uint8Array[] | null | undefined): ReadonlySet<bigint> {
  return new Set((list ?? []).map((ts) => decodeTs(ts)));
}

function toPrewriteMutation(m: kvpb.IMutation): PrewriteMutation {
  const key = nonEmptyKey(m.key);
  const pessimistic = m.pessimistic === true;
  switch (m.op ?? kvpb.MutationOp.MUTATION_PUT) {
    case kvpb.MutationOp.MUTATION_PUT:
      return { op: 'put', key, value: m.value ?? EMPTY, pessimistic };
    case kvpb.MutationOp.MUTATION_DELETE:
      return { op: 'delete', key, pessimistic };
    case kvpb.MutationOp.MUTATION_LOCK:
      return { op: 'lock', key, pessimistic };
    case kvpb.MutationOp.MUTATION_INSERT:
      return { op: 'insert', key, value: m.value ?? EMPTY, pessimistic };
    default:
      throw new Error(`unknown mutation op ${String(m.op)}`);
  }
}

function toWriteCommand(m: Modify): raftcmdpb.IWriteCommand {
  const ts = m.ts === undefined ? undefined : encodeTs(m.ts);
  return m.op === 'put' ? { put: { key: m.key, value: m.value ?? EMPTY, tag: m.tag, ts } } : { delete: { key: m.key, tag: m.tag, ts } };
}

const LOCK_KINDS = { put: kvpb.LockKind.LOCK_PUT, delete: kvpb.LockKind.LOCK_DELETE, lock: kvpb.LockKind.LOCK_ONLY, pessimistic: kvpb.LockKind.LOCK_PESSIMISTIC } as const;

export function toLockInfo(key: Uint8Array, lock: Lock): kvpb.ILockInfo {
  return {
    key,
    primary: lock.primary,
    lockTs: encodeTs(lock.startTs),
    ttlMs: lock.ttlMs,
    txnSize: lock.txnSize,
    kind: LOCK_KINDS[lock.kind],
    minCommitTs: encodeTs(lock.minCommitTs),
    forUpdateTs: lock.forUpdateTs === undefined ? undefined : encodeTs(lock.forUpdateTs),
    waitForTs: lock.waitForTs === undefined ? undefined : encodeTs(lock.waitForTs),
  };
}

export function toWireKeyError(e: KeyError): kvpb.IKeyError {
  const message = describeKeyError(e);
  switch (e.kind) {
    case 'locked':
      return { message, locked: toLockInfo(e.key, e.lock) };
    case 'writeConflict':
      return {
        message,
        conflict: { key: e.key, startTs: encodeTs(e.startTs), conflictStartTs: encodeTs(e.conflictStartTs), conflictCommitTs: encodeTs(e.conflictCommitTs), primary: e.primary },
      };
    case 'txnLockNotFound':
      return { message, txnLockNotFound: { key: e.key, startTs: encodeTs(e.startTs) } };
    case 'committed':
      return { message, alreadyCommitted: { key: e.key, startTs: encodeTs(e.startTs), commitTs: encodeTs(e.commitTs) } };
    case 'commitTsExpired':
      return { message, commitTsExpired: { key: e.key, commitTs: encodeTs(e.commitTs), minCommitTs: encodeTs(e.minCommitTs) } };
    case 'txnNotFound':
      return { message, txnNotFound: { key: e.key, startTs: encodeTs(e.startTs) } };
    case 'alreadyExists':
      return { message, alreadyExists: { key: e.key } };
    case 'tooOld':
      return { message, txnTooOld: { startTs: encodeTs(e.startTs), safePoint: encodeTs(e.safePoint) } };
    case 'pessimisticLockNotFound':
      return { message, pessimisticLockNotFound: { key: e.key, startTs: encodeTs(e.startTs) } };
    case 'pessimisticLockRolledBack':
      return { message, pessimisticLockRolledBack: { key: e.key, startTs: encodeTs(e.startTs) } };
  }
}

function answer(outcome: Outcome<KeyError | undefined>): { regionError?: RegionError; error?: kvpb.IKeyError } {
  if ('regionError' in outcome) return { regionError: outcome.regionError };
  return outcome.result ? { error: toWireKeyError(outcome.result) } : {};
}

// ---- waiting for locks to go ----

/** Keys whose lock the modifications remove (and do not put back). */
function removedLocks(modifies: readonly Modify[]): Uint8Array[] {
  const last = new Map<string, Modify>();
  for (const m of modifies) if (m.tag === RecordTag.Lock) last.set(keyId(m.key), m);
  return [...last.values()].filter((m) => m.op === 'delete').map((m) => m.key);
}

interface LockWait {
  readonly key: Uint8Array;
  /** Resolves true when woken, false at the deadline (ms since epoch). */
  until(deadline: number): Promise<boolean>;
  cancel(): void;
}

interface Waiter {
  readonly priority: bigint;
  woken: boolean;
  wake(): void;
}

/** Pessimistic lock requests waiting, per key, for a lock on it to change; the lowest priority value first. */
class LockWaits {
  private readonly queues = new Map<string, Waiter[]>();
  private count = 0;

  constructor(private readonly maxWaiters: number) {}

  /** A wait for `key`'s lock to change, or undefined when too many requests wait already. */
  register(key: Uint8Array, priority: bigint): LockWait | undefined {
    if (this.count >= this.maxWaiters) return undefined;
    const id = keyId(key);
    let notify: (() => void) | undefined;
    const waiter: Waiter = {
      priority,
      woken: false,
      wake: () => {
        waiter.woken = true;
        notify?.();
      },
    };
    let queue = this.queues.get(id);
    if (queue === undefined) this.queues.set(id, (queue = []));
    // Stable: among equal priorities, the earlier registration first.
    let at = queue.length;
    while (at > 0 && queue[at - 1]!.priority > priority) at--;
    queue.splice(at, 0, waiter);
    this.count++;
    const remove = (): void => {
      const current = this.queues.get(id);
      const index = current?.indexOf(waiter) ?? -1;
      if (current === undefined || index < 0) return;
      current.splice(index, 1);
      this.count--;
      if (current.length === 0) this.queues.delete(id);
    };
    return {
      key,
      until: (deadline) =>
        new Promise<boolean>((resolve) => {
          if (waiter.woken) {
            remove();
            resolve(true);
            return;
          }
          const timer = setTimeout(() => {
            remove();
            resolve(false);
          }, Math.max(0, deadline - Date.now()));
          notify = () => {
            clearTimeout(timer);
            remove();
            resolve(true);
          };
        }),
      cancel: remove,
    };
  }

  /** Wakes the first request waiting on `key` that is not woken yet. */
  wakeFirst(key: Uint8Array): void {
    this.queues
      .get(keyId(key))
      ?.find((w) => !w.woken)
      ?.wake();
  }

  /** Wakes every request waiting on `key`. */
  wakeAll(key: Uint8Array): void {
    for (const w of [...(this.queues.get(keyId(key)) ?? [])]) w.wake();
  }

  wakeEveryone(): void {
    for (const queue of [...this.queues.values()]) for (const w of [...queue]) w.wake();
  }
}
