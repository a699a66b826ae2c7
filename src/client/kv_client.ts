// The raw key-value client: routes each key to its Region's leader through the Region cache and
// carries requests there (over the store's BatchCommands stream, or in-process through a
// LocalKvHandler), recovering from the Region errors stores answer with:
//
//   NotLeader with a hint    → update the leader, retry at once (no backoff)
//   NotLeader without a hint → try the Region's other peers, then back off
//   EpochNotMatch            → take the current Regions from the answer, re-split the request
//   RegionNotFound, KeyNotInRegion, store unreachable → invalidate, back off, reload from PD
//   ServerIsBusy             → back off (at least the store's backoff_ms)
//   StaleCommand             → retry
//
// Every operation runs under a deadline and a bound on retries; when it gives up, the error lists
// what was tried. Requests for several keys are grouped per Region and the groups run concurrently.
//
// Atomicity: batchWrite is atomic only within one Region. A batch whose keys span several Regions
// is sent as one request per Region; if some fail, BatchWritePartialError says which mutations were
// committed and which were not confirmed. A Region that splits while its group is being retried is
// re-split too, so "one Region" means one Region at the time the write is applied.

import { setMaxListeners } from 'node:events';
import { kvpb, metapb } from '../proto/index.js';
import { Backoff, type BackoffPolicy, type RandomSource, resolveBackoffPolicy, sleep } from './backoff.js';
import { Deadline, pushBounded, raceDeadline } from './deadline.js';
import {
  BatchWritePartialError,
  ClientClosedError,
  type ClientError,
  DeadlineExceededError,
  InvalidArgumentError,
  ProtocolError,
  RetriesExhaustedError,
  StoreRequestError,
  StoreUnreachableError,
  type UnconfirmedMutations,
  asError,
  isClientError,
} from './errors.js';
import { EMPTY_KEY, beforeEnd, compareKeys, formatKey, keyAfter, keyIdentity } from './keys.js';
import type { LocalKvHandler } from './local.js';
import type { PdCallOptions } from './pd_client.js';
import { type CachedRegion, RegionCache } from './region_cache.js';
import { type RegionErrorKind, classifyRegionError, describeRegionError } from './region_error.js';
import { type PeerMeta, type RegionInfo, type RegionMeta, canLead, describeRegion, regionContains } from './region_meta.js';
import { StoreClient, type StoreClientOptions } from './store_client.js';

/** What the KV client needs from PD (PdClient implements it; tests may substitute). */
export interface RegionRouter {
  getRegion(key: Uint8Array, options?: PdCallOptions): Promise<RegionInfo | undefined>;
  getStore(storeId: number, options?: PdCallOptions): Promise<metapb.IStore | undefined>;
}

export interface KvPair {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export type RawMutation =
  | { readonly op: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: 'delete'; readonly key: Uint8Array };

/** Why a request was retried. */
export type RetryReason =
  | RegionErrorKind['kind']
  /** The store did not answer, or its stream broke. */
  | 'StoreUnreachable'
  /** PD knows no Region for the key (yet). */
  | 'RegionMiss'
  /** A NotLeader hint named a peer the cached Region does not have. */
  | 'LeaderNotInRegion'
  /** The cached Region has no peer that can lead. */
  | 'NoLeaderCandidate'
  /** A transaction met a lock of a live transaction and waits for it to end. */
  | 'TxnLockWait';

/** Reported for every retry, for logs, metrics and tests. `backoffMs` is 0 for immediate retries. */
export interface RetryEvent {
  readonly operation: string;
  readonly regionId: number;
  readonly reason: RetryReason;
  readonly backoffMs: number;
  readonly detail: string;
}

export interface RawKvClientOptions {
  readonly pd: RegionRouter;
  /** Shared with other clients of the process if given. Default: a new cache of default capacity. */
  readonly regionCache?: RegionCache;
  /** In-process path to the local store (also settable with setLocalHandler). */
  readonly localHandler?: LocalKvHandler;
  /** Deadline of one operation, all retries included. Default 20,000 ms. */
  readonly operationTimeoutMs?: number;
  /** Retries per operation (over all its Regions). Default 256. */
  readonly maxRetries?: number;
  /** Default 10 ms doubling up to 2,000 ms (100 ms while waiting for an election), equal jitter. */
  readonly backoff?: Partial<BackoffPolicy>;
  readonly random?: RandomSource;
  /** Most keys in one batchGet or mutations in one batchWrite. Default 10,000. */
  readonly maxBatchKeys?: number;
  /** Most pairs one scan may return. Default 100,000. */
  readonly maxScanLimit?: number;
  /** Pairs asked of a store per scan request. Default 1,024. */
  readonly scanBatchSize?: number;
  readonly storeClient?: StoreClientOptions;
  readonly onRetry?: (event: RetryEvent) => void;
}

export interface RawKvCallOptions {
  /** Deadline of this operation instead of operationTimeoutMs. */
  readonly timeoutMs?: number;
}

export interface ScanOptions extends RawKvCallOptions {
  /** Return keys with empty values. */
  readonly keyOnly?: boolean;
}

export type CommandName =
  | 'get'
  | 'batchGet'
  | 'scan'
  | 'batchWrite'
  | 'txnGet'
  | 'txnBatchGet'
  | 'txnScan'
  | 'prewrite'
  | 'commit'
  | 'batchRollback'
  | 'cleanup'
  | 'checkTxnStatus'
  | 'resolveLock'
  | 'txnHeartBeat'
  | 'acquirePessimisticLock'
  | 'pessimisticRollback';
export type SubResponse<C extends CommandName> = NonNullable<kvpb.IResponse[C]>;

/** Returned by a Region request whose keys must be routed again (the Region changed or vanished). */
export const REGROUP = Symbol('regroup');

/**
 * One operation's access to Regions, for the transaction layer: requests routed and retried like
 * the raw client's own, under the operation's deadline and retry bound.
 */
export interface RegionScope {
  /** Groups `items` by the Region of their key and runs `send` per group concurrently; a group answered REGROUP is routed again. */
  forEachRegion<T>(items: readonly T[], keyOf: (item: T) => Uint8Array, send: (entry: CachedRegion, group: T[]) => Promise<Regroup | undefined>): Promise<void>;
  locate(key: Uint8Array): Promise<CachedRegion>;
  /** Sends one request to the Region's leader; REGROUP when the keys must be routed again. */
  request<C extends CommandName>(entry: CachedRegion, command: C, build: (context: kvpb.IContext) => kvpb.IRequest): Promise<SubResponse<C> | Regroup>;
  /** Sends one request to the leader of the Region holding `key`, routing it again until it is served. */
  requestForKey<C extends CommandName>(key: Uint8Array, command: C, build: (context: kvpb.IContext) => kvpb.IRequest): Promise<SubResponse<C>>;
  /** Backs off (counted as a retry of the operation). */
  backoff(reason: RetryReason, detail: string): Promise<void>;
  /** Pages through [start, end) Region by Region (see RawKvClient's walkRange). */
  walkRange(start: Uint8Array, end: Uint8Array, limit: number, pageSize: number, fetch: ScanFetch): Promise<KvPair[]>;
  /** Milliseconds left before the operation's deadline. */
  remainingMs(): number;
}

/** One page of a Region-by-Region scan: the pairs, and where to ask the same Region again if it stopped early. */
export type ScanFetch = (entry: CachedRegion, from: Uint8Array, to: Uint8Array, want: number) => Promise<{ pairs: KvPair[]; again?: Uint8Array } | Regroup>;
/** How long a store that failed to answer is passed over when another peer can be asked. */
const SUSPECT_STORE_MS = 3_000;
/**
 * Retries that wait for an election (no peer names a leader yet, or the leader's store is gone)
 * back off at most this long: an election ends within one or two election timeouts, and a long
 * sleep begun just before it ends would add itself whole to the time writes are refused.
 */
const SHORT_WAIT_BACKOFF_MAX_MS = 100;
// A live transaction's lock is usually gone within milliseconds too.
const SHORT_WAIT_REASONS: ReadonlySet<RetryReason> = new Set<RetryReason>(['NotLeader', 'NoLeaderCandidate', 'StoreUnreachable', 'TxnLockWait']);
export type Regroup = typeof REGROUP;

const DEFAULTS = {
  operationTimeoutMs: 20_000,
  maxRetries: 256,
  backoff: { baseMs: 10, maxMs: 2_000 },
  maxBatchKeys: 10_000,
  maxScanLimit: 100_000,
  scanBatchSize: 1_024,
} as const;

/** One public call: its deadline, retry count, backoff state and history of attempts. */
class Operation {
  retries = 0;
  readonly attempts: string[] = [];
  lastError: Error | undefined;
  /** Set when the operation failed; its other Region groups stop at their next step. */
  failed: Error | undefined;
  private readonly backoffs = new Map<RetryReason, Backoff>();
  private lastDetail: string | undefined;
  private repeats = 0;

  constructor(
    readonly name: string,
    readonly deadline: Deadline,
  ) {}

  backoffFor(reason: RetryReason, policy: BackoffPolicy, random: RandomSource): Backoff {
    let backoff = this.backoffs.get(reason);
    if (!backoff) {
      backoff = new Backoff(policy, random);
      this.backoffs.set(reason, backoff);
    }
    return backoff;
  }

  /**
   * Records one attempt. The same failure repeated (a store down for the whole deadline) is one
   * entry with a count, so the final error stays readable.
   */
  note(detail: string, action: string): void {
    if (detail === this.lastDetail && this.attempts.length > 0) {
      this.repeats += 1;
      this.attempts[this.attempts.length - 1] = `${detail} (${this.repeats} times, last ${action})`;
      return;
    }
    this.lastDetail = detail;
    this.repeats = 1;
    pushBounded(this.attempts, `${detail} (${action})`);
  }

  deadlineError(cause?: Error): DeadlineExceededError {
    return new DeadlineExceededError(this.name, this.deadline.budgetMs, this.attempts, cause ?? this.lastError);
  }
}

export class RawKvClient {
  readonly regionCache: RegionCache;
  private readonly pd: RegionRouter;
  private localHandler: LocalKvHandler | undefined;
  private readonly operationTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly backoffPolicy: BackoffPolicy;
  private readonly random: RandomSource;
  private readonly maxBatchKeys: number;
  private readonly maxScanLimit: number;
  private readonly scanBatchSize: number;
  private readonly storeClientOptions: StoreClientOptions;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;
  private readonly storeClients = new Map<string, StoreClient>();
  private readonly storeAddresses = new Map<number, string>();
  private readonly storeLookups = new Map<number, Promise<metapb.IStore | undefined>>();
  /** Stores that just failed to answer, until when: other peers are tried first. */
  private readonly suspectStores = new Map<number, number>();
  /** Region lookups at PD under way (at most one per operation). */
  private readonly regionLoads = new Set<Promise<RegionInfo | undefined>>();
  private readonly abort = new AbortController();
  private closed = false;
  /** Counters for metrics and tests. */
  readonly stats = { operations: 0, storeRequests: 0, localRequests: 0, retries: 0, backoffs: 0, regionLoads: 0, storeLookups: 0 };

  constructor(options: RawKvClientOptions) {
    this.pd = options.pd;
    this.regionCache = options.regionCache ?? new RegionCache();
    this.localHandler = options.localHandler;
    this.operationTimeoutMs = positive('operationTimeoutMs', options.operationTimeoutMs ?? DEFAULTS.operationTimeoutMs);
    this.maxRetries = positive('maxRetries', options.maxRetries ?? DEFAULTS.maxRetries);
    this.backoffPolicy = resolveBackoffPolicy(options.backoff, DEFAULTS.backoff);
    this.random = options.random ?? Math.random;
    this.maxBatchKeys = positive('maxBatchKeys', options.maxBatchKeys ?? DEFAULTS.maxBatchKeys);
    this.maxScanLimit = positive('maxScanLimit', options.maxScanLimit ?? DEFAULTS.maxScanLimit);
    this.scanBatchSize = positive('scanBatchSize', options.scanBatchSize ?? DEFAULTS.scanBatchSize);
    this.storeClientOptions = options.storeClient ?? {};
    this.onRetry = options.onRetry;
    // Every operation sleeping in a backoff listens on this signal; thousands may at once.
    setMaxListeners(0, this.abort.signal);
  }

  /** Sets (or clears) the in-process path to the store hosted by this process. */
  setLocalHandler(handler: LocalKvHandler | undefined): void {
    this.localHandler = handler;
  }

  /** The value of `key`, or undefined when it does not exist. */
  async get(key: Uint8Array, options?: RawKvCallOptions): Promise<Uint8Array | undefined> {
    checkKey(key, 'get');
    return this.run(`get ${formatKey(key)}`, options, async (op) => {
      const response = await this.sendForKey(op, key, 'get', (context) => ({ get: { context, key } }));
      return response.found ? (response.value ?? EMPTY_KEY) : undefined;
    });
  }

  /** The pairs of the keys that exist, in the order the keys were given (duplicates once). */
  async batchGet(keys: readonly Uint8Array[], options?: RawKvCallOptions): Promise<KvPair[]> {
    this.checkBatchSize(keys.length, 'batchGet');
    for (const key of keys) checkKey(key, 'batchGet');
    const unique = new Map<string, Uint8Array>();
    for (const key of keys) if (!unique.has(keyIdentity(key))) unique.set(keyIdentity(key), key);
    const found = new Map<string, Uint8Array>();
    await this.run(`batchGet of ${unique.size} keys`, options, (op) =>
      this.forEachRegionGroup(op, [...unique.values()], (key) => key, async (entry, groupKeys) => {
        const response = await this.sendToRegion(op, entry, 'batchGet', (context) => ({ batchGet: { context, keys: groupKeys } }));
        if (response === REGROUP) return REGROUP;
        const asked = new Set(groupKeys.map(keyIdentity));
        for (const pair of response.pairs ?? []) {
          const id = keyIdentity(pair.key ?? EMPTY_KEY);
          if (!asked.has(id)) throw new ProtocolError(`store of ${describeRegion(entry.region)}`, `BatchGet returned unrequested key ${formatKey(pair.key ?? EMPTY_KEY)}`);
          found.set(id, pair.value ?? EMPTY_KEY);
        }
        return undefined;
      }),
    );
    const pairs: KvPair[] = [];
    for (const [id, key] of unique) {
      const value = found.get(id);
      if (value !== undefined) pairs.push({ key, value });
    }
    return pairs;
  }

  async put(key: Uint8Array, value: Uint8Array, options?: RawKvCallOptions): Promise<void> {
    await this.batchWrite([{ op: 'put', key, value }], options);
  }

  async delete(key: Uint8Array, options?: RawKvCallOptions): Promise<void> {
    await this.batchWrite([{ op: 'delete', key }], options);
  }

  /**
   * Applies the mutations, in order within each Region. Atomic only when they all fall in one
   * Region (see the top of this file); across Regions, a failure of some groups throws
   * BatchWritePartialError listing the committed and the unconfirmed mutations. When nothing was
   * committed and only one group was involved, that group's own error is thrown instead.
   */
  async batchWrite(mutations: readonly RawMutation[], options?: RawKvCallOptions): Promise<void> {
    this.checkBatchSize(mutations.length, 'batchWrite');
    for (const m of mutations) {
      checkKey(m.key, 'batchWrite');
      if (m.op === 'put' && !(m.value instanceof Uint8Array)) throw new InvalidArgumentError('batchWrite: a put needs a Uint8Array value');
      if (m.op !== 'put' && m.op !== 'delete') throw new InvalidArgumentError(`batchWrite: unknown mutation op ${String((m as { op: unknown }).op)}`);
    }
    if (mutations.length === 0) return;
    const committed: RawMutation[] = [];
    const unconfirmed: UnconfirmedMutations<RawMutation>[] = [];
    const name = mutations.length === 1 ? `${mutations[0]!.op} ${formatKey(mutations[0]!.key)}` : `batchWrite of ${mutations.length} mutations`;
    await this.run(name, options, (op) =>
      this.forEachRegionGroup(
        op,
        mutations,
        (m) => m.key,
        async (entry, group) => {
          const response = await this.sendToRegion(op, entry, 'batchWrite', (context) => ({
            batchWrite: { context, mutations: group.map(toWireMutation) },
          }));
          if (response === REGROUP) return REGROUP;
          committed.push(...group);
          return undefined;
        },
        (group, error) => unconfirmed.push({ mutations: group, error: this.finalError(op, error) }),
      ),
    );
    if (unconfirmed.length === 0) return;
    if (committed.length === 0 && unconfirmed.length === 1) throw unconfirmed[0]!.error;
    throw new BatchWritePartialError(committed, unconfirmed);
  }

  /**
   * Up to `limit` pairs with start <= key < end in key order, walking Regions across their
   * boundaries. An empty `end` scans to the end of the key space.
   */
  async scan(start: Uint8Array, end: Uint8Array, limit: number, options?: ScanOptions): Promise<KvPair[]> {
    if (!(start instanceof Uint8Array) || !(end instanceof Uint8Array)) throw new InvalidArgumentError('scan: start and end must be Uint8Arrays');
    if (!Number.isSafeInteger(limit) || limit < 0 || limit > this.maxScanLimit) {
      throw new InvalidArgumentError(`scan: limit must be an integer in [0, ${this.maxScanLimit}], got ${limit}`);
    }
    if (limit === 0 || (end.byteLength > 0 && compareKeys(start, end) >= 0)) return [];
    const keyOnly = options?.keyOnly === true;
    return this.run(`scan [${formatKey(start)}, ${end.byteLength ? formatKey(end) : '+inf'}) limit ${limit}`, options, (op) =>
      this.walkRange(op, start, end, limit, this.scanBatchSize, async (entry, from, to, want) => {
        const response = await this.sendToRegion(op, entry, 'scan', (context) => ({
          scan: { context, startKey: from, endKey: to, limit: want, keyOnly },
        }));
        if (response === REGROUP) return REGROUP;
        const got = response.pairs ?? [];
        checkScanPage(got, from, to, want, entry.region);
        return { pairs: got.map((pair) => ({ key: pair.key ?? EMPTY_KEY, value: keyOnly ? EMPTY_KEY : (pair.value ?? EMPTY_KEY) })) };
      }),
    );
  }

  /**
   * Up to `limit` pairs of [start, end) in key order, Region by Region: `fetch` asks one Region for
   * at most `want` pairs in [from, to) (`to` is the scan's end or the Region's, whichever comes
   * first). A page that stopped early for a reason other than the end of the range names where to
   * ask again (`again`); a full page means the Region may hold more.
   */
  private async walkRange(op: Operation, start: Uint8Array, end: Uint8Array, limit: number, pageSize: number, fetch: ScanFetch): Promise<KvPair[]> {
    const pairs: KvPair[] = [];
    let cursor = start;
    while (pairs.length < limit) {
      const entry = await this.locate(cursor, op);
      const regionEnd = entry.region.endKey;
      const endsInRegion = end.byteLength > 0 && (regionEnd.byteLength === 0 || compareKeys(end, regionEnd) <= 0);
      const to = endsInRegion ? end : regionEnd;
      const want = Math.min(limit - pairs.length, pageSize);
      const page = await fetch(entry, cursor, to, want);
      if (page === REGROUP) continue;
      for (const pair of page.pairs) pairs.push(pair);
      if (page.again !== undefined) {
        cursor = page.again;
        continue;
      }
      if (page.pairs.length === want) {
        cursor = keyAfter(page.pairs[page.pairs.length - 1]!.key);
        if (beforeEnd(cursor, to)) continue;
      }
      if (endsInRegion || regionEnd.byteLength === 0) break;
      cursor = regionEnd;
    }
    return pairs;
  }

  /** Runs `body` as one operation: one deadline and one retry bound for all its Region requests. */
  runOperation<T>(name: string, options: RawKvCallOptions | undefined, body: (scope: RegionScope) => Promise<T>): Promise<T> {
    return this.run(name, options, (op) =>
      body({
        forEachRegion: (items, keyOf, send) => this.forEachRegionGroup(op, items, keyOf, send),
        locate: (key) => this.locate(key, op),
        request: (entry, command, build) => this.sendToRegion(op, entry, command, build),
        requestForKey: (key, command, build) => this.sendForKey(op, key, command, build),
        walkRange: (start, end, limit, pageSize, fetch) => this.walkRange(op, start, end, limit, pageSize, fetch),
        backoff: (reason, detail) => this.backoffThen(op, 0, reason, detail),
        remainingMs: () => op.deadline.remainingMs(),
      }),
    );
  }

  /** Closes the store connections. The PD client is the caller's to close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    for (const client of this.storeClients.values()) client.close();
    this.storeClients.clear();
  }

  /** The open store connections, by address (for metrics and tests). */
  storeConnections(): ReadonlyMap<string, StoreClient> {
    return this.storeClients;
  }

  // ---- routing ----

  private async run<T>(name: string, options: RawKvCallOptions | undefined, body: (op: Operation) => Promise<T>): Promise<T> {
    if (this.closed) throw new ClientClosedError('RawKvClient');
    this.stats.operations += 1;
    const op = new Operation(name, Deadline.after(options?.timeoutMs ?? this.operationTimeoutMs));
    try {
      return await body(op);
    } catch (error) {
      throw this.finalError(op, error);
    }
  }

  /**
   * A deadline that passed anywhere below (store client, PD call) becomes this operation's; its
   * cause is what the operation was recovering from at the time, which says more than "the last
   * PD call ran out of time too".
   */
  private finalError(op: Operation, error: unknown): ClientError {
    if (error instanceof DeadlineExceededError && error.operation !== op.name) return op.deadlineError(op.lastError ?? error);
    if (isClientError(error)) return error;
    throw error;
  }

  private async locate(key: Uint8Array, op: Operation): Promise<CachedRegion> {
    const cached = this.regionCache.locate(key);
    if (cached) return cached;
    // A burst of misses (a cold cache under load) would otherwise ask PD once per key. Waiting for
    // the loads already under way (one PD round trip) lets most of the burst find its Region cached.
    // Misses woken together re-check: the first to find its Region still missing starts a load,
    // and the others wait for that one too.
    while (this.regionLoads.size > 0) {
      await raceDeadline(Promise.allSettled([...this.regionLoads]), op.deadline, () => op.deadlineError());
      const loaded = this.regionCache.locate(key);
      if (loaded) return loaded;
    }
    for (;;) {
      this.checkAlive(op);
      this.stats.regionLoads += 1;
      const load = this.pd.getRegion(key, { timeoutMs: Math.max(1, op.deadline.remainingMs()) });
      this.regionLoads.add(load);
      let info: RegionInfo | undefined;
      try {
        info = await load;
      } finally {
        this.regionLoads.delete(load);
      }
      if (info && regionContains(info.region, key)) {
        this.regionCache.update(info);
        // The cache may have kept a newer view of the range; route by whatever it holds now.
        return this.regionCache.locate(key) ?? { region: info.region, leader: info.leader };
      }
      await this.backoffThen(op, 0, 'RegionMiss', `PD knows no Region containing ${formatKey(key)}`);
    }
  }

  /** Sends one request for `key` to its Region's leader, locating the Region again as often as told. */
  private async sendForKey<C extends CommandName>(op: Operation, key: Uint8Array, command: C, build: (context: kvpb.IContext) => kvpb.IRequest): Promise<SubResponse<C>> {
    for (;;) {
      const response = await this.sendToRegion(op, await this.locate(key, op), command, build);
      if (response !== REGROUP) return response;
    }
  }

  /** Groups items by the Region of their key, runs `send` per group concurrently, re-splits as told. */
  private async forEachRegionGroup<T>(
    op: Operation,
    items: readonly T[],
    keyOf: (item: T) => Uint8Array,
    send: (entry: CachedRegion, group: T[]) => Promise<Regroup | undefined>,
    onGroupError?: (group: T[], error: unknown) => void,
  ): Promise<void> {
    let groups: { entry: CachedRegion; items: T[] }[];
    try {
      groups = await this.groupByRegion(op, items, keyOf);
    } catch (error) {
      if (!onGroupError) throw error;
      onGroupError([...items], error);
      return;
    }
    await Promise.all(
      groups.map(async (group) => {
        let outcome: Regroup | undefined;
        try {
          outcome = await send(group.entry, group.items);
        } catch (error) {
          if (!onGroupError) {
            op.failed ??= asError(error);
            throw error;
          }
          onGroupError(group.items, error);
          return;
        }
        if (outcome === REGROUP) await this.forEachRegionGroup(op, group.items, keyOf, send, onGroupError);
      }),
    );
  }

  private async groupByRegion<T>(op: Operation, items: readonly T[], keyOf: (item: T) => Uint8Array): Promise<{ entry: CachedRegion; items: T[] }[]> {
    // Keyed by the Region object, not its id: if the cache learns a newer version of a Region while
    // the batch is being grouped, the keys routed by the older one form their own group (whose
    // request then meets EpochNotMatch and is re-split) instead of joining a Region they may have
    // left.
    const groups = new Map<RegionInfo['region'], { entry: CachedRegion; items: T[] }>();
    for (const item of items) {
      const key = keyOf(item);
      const entry = this.regionCache.locate(key) ?? (await this.locate(key, op));
      const group = groups.get(entry.region);
      if (group) group.items.push(item);
      else groups.set(entry.region, { entry, items: [item] });
    }
    return [...groups.values()];
  }

  private isSuspect(storeId: number): boolean {
    const until = this.suspectStores.get(storeId);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    this.suspectStores.delete(storeId);
    return false;
  }

  /** A peer not yet tried that could lead, preferring stores that have not just failed us. */
  private nextCandidate(region: RegionMeta, tried: ReadonlySet<number>): PeerMeta | undefined {
    const candidates = region.peers.filter((p) => canLead(p) && !tried.has(p.id));
    return candidates.find((p) => !this.isSuspect(p.storeId)) ?? candidates[0];
  }

  /**
   * Sends one request to a Region's leader, handling the Region errors that can be handled without
   * routing the keys again; returns REGROUP when they must be (the Region split, moved or vanished).
   */
  private async sendToRegion<C extends CommandName>(
    op: Operation,
    entry: CachedRegion,
    command: C,
    build: (context: kvpb.IContext) => kvpb.IRequest,
  ): Promise<SubResponse<C> | Regroup> {
    const region = entry.region;
    let leader: PeerMeta | undefined = entry.leader;
    const triedWithoutHint = new Set<number>();
    let hintsInARow = 0;
    for (;;) {
      this.checkAlive(op);
      leader ??= this.nextCandidate(region, triedWithoutHint);
      if (!leader) {
        this.regionCache.invalidate(region.id);
        await this.backoffThen(op, region.id, 'NoLeaderCandidate', `${describeRegion(region)} has no peer that can lead`);
        return REGROUP;
      }
      const peer = leader;
      const context: kvpb.IContext = {
        regionId: region.id,
        regionEpoch: { confVer: region.epoch.confVer, version: region.epoch.version },
        peer: { id: peer.id, storeId: peer.storeId, role: peer.role },
      };

      let response: kvpb.IResponse;
      try {
        response = await this.dispatch(peer.storeId, build(context), op);
      } catch (error) {
        if (!(error instanceof StoreUnreachableError)) throw error;
        op.lastError = error;
        this.forgetStore(peer.storeId);
        this.suspectStores.set(peer.storeId, Date.now() + SUSPECT_STORE_MS);
        // The leader's store is gone: another peer either knows the new leader or, asked, wakes
        // up and helps elect one. Waiting for the placement driver to notice would be slower.
        triedWithoutHint.add(peer.id);
        leader = this.nextCandidate(region, triedWithoutHint);
        if (leader) {
          this.regionCache.updateLeader(region.id, leader);
          this.retryNow(op, region.id, 'StoreUnreachable', `${describeRegion(region)} via store ${peer.storeId}: ${error.message}; trying peer ${leader.id} on store ${leader.storeId}`);
          continue;
        }
        this.regionCache.invalidate(region.id);
        await this.backoffThen(op, region.id, 'StoreUnreachable', `${describeRegion(region)} via store ${peer.storeId}: ${error.message}`);
        return REGROUP;
      }
      this.suspectStores.delete(peer.storeId);

      const sub = subResponse(response, command, peer.storeId);
      if (!sub.regionError) {
        // Served: this peer leads (found by asking around, perhaps after the cache named another).
        if (entry.leader?.id !== peer.id) this.regionCache.updateLeader(region.id, peer);
        return sub;
      }
      const regionError = classifyRegionError(sub.regionError, `store ${peer.storeId}`);
      const where = `${describeRegion(region)} at store ${peer.storeId}: ${describeRegionError(regionError)}`;

      switch (regionError.kind) {
        case 'NotLeader': {
          const hint = regionError.leader;
          // A hint naming a store that just failed us is stale (the peer has not noticed yet).
          if (hint && hint.storeId !== peer.storeId && !this.isSuspect(hint.storeId)) {
            const member = region.peers.find((p) => p.id === hint.id && p.storeId === hint.storeId);
            if (!member) {
              // The leader is a peer we do not know: the membership we cached is stale.
              this.regionCache.invalidate(region.id);
              await this.backoffThen(op, region.id, 'LeaderNotInRegion', where);
              return REGROUP;
            }
            this.regionCache.updateLeader(region.id, member);
            leader = member;
            hintsInARow += 1;
            // Hints bouncing between peers (an election in progress) earn a backoff eventually.
            if (hintsInARow > region.peers.length) {
              hintsInARow = 0;
              await this.backoffThen(op, region.id, 'NotLeader', `${where}; leader hints keep moving`);
            } else this.retryNow(op, region.id, 'NotLeader', where);
            continue;
          }
          // No usable hint: the leader may be any other peer; ask them in turn, then back off.
          triedWithoutHint.add(peer.id);
          leader = this.nextCandidate(region, triedWithoutHint);
          if (leader) {
            this.regionCache.updateLeader(region.id, leader);
            this.retryNow(op, region.id, 'NotLeader', `${where}; trying peer ${leader.id} on store ${leader.storeId}`);
          } else {
            triedWithoutHint.clear();
            await this.backoffThen(op, region.id, 'NotLeader', `${where}; every peer tried`);
          }
          continue;
        }
        case 'EpochNotMatch': {
          const applied = this.regionCache.applyCurrentRegions(regionError.currentRegions, peer.storeId);
          const stillCached = this.regionCache.getById(region.id);
          if (stillCached?.region === region) this.regionCache.invalidate(region.id);
          if (applied > 0) this.retryNow(op, region.id, 'EpochNotMatch', where);
          // Nothing usable in the answer: ask PD, after a pause so it can learn of the change.
          else await this.backoffThen(op, region.id, 'EpochNotMatch', where);
          return REGROUP;
        }
        case 'RegionNotFound':
        case 'KeyNotInRegion':
        case 'Unknown':
          this.regionCache.invalidate(region.id);
          await this.backoffThen(op, region.id, regionError.kind, where);
          return REGROUP;
        case 'StoreNotMatch':
          this.regionCache.invalidate(region.id);
          this.forgetStore(peer.storeId);
          await this.backoffThen(op, region.id, 'StoreNotMatch', where);
          return REGROUP;
        case 'ServerIsBusy':
          await this.backoffThen(op, region.id, 'ServerIsBusy', where, regionError.backoffMs);
          continue;
        case 'StaleCommand':
          this.retryNow(op, region.id, 'StaleCommand', where);
          continue;
      }
    }
  }

  /** Hands the request to the local store or to the store's connection. */
  private async dispatch(storeId: number, request: kvpb.IRequest, op: Operation): Promise<kvpb.IResponse> {
    const local = this.localHandler;
    if (local && local.storeId === storeId) {
      this.stats.localRequests += 1;
      const handled = local.handle(request).catch((error: unknown) => {
        // The local store failing (shutting down, say) is to the client what a broken stream is.
        throw new StoreUnreachableError(`local store ${storeId}`, asError(error).message);
      });
      return raceDeadline(handled, op.deadline, () => op.deadlineError());
    }
    const address = await this.storeAddress(storeId, op);
    this.stats.storeRequests += 1;
    let client = this.storeClients.get(address);
    if (!client) {
      client = new StoreClient(address, this.storeClientOptions);
      this.storeClients.set(address, client);
    }
    return client.send(request, op.deadline);
  }

  private async storeAddress(storeId: number, op: Operation): Promise<string> {
    const known = this.storeAddresses.get(storeId);
    if (known) return known;
    let lookup = this.storeLookups.get(storeId);
    if (!lookup) {
      this.stats.storeLookups += 1;
      lookup = this.pd.getStore(storeId, { timeoutMs: Math.max(1, op.deadline.remainingMs()) });
      this.storeLookups.set(storeId, lookup);
      const clear = (): void => {
        this.storeLookups.delete(storeId);
      };
      lookup.then(clear, clear);
    }
    const store = await lookup;
    if (!store?.address) throw new StoreUnreachableError(`store ${storeId}`, 'unknown to the placement driver');
    if (store.state === metapb.StoreState.STORE_TOMBSTONE) throw new StoreUnreachableError(`store ${storeId}`, 'the store is a tombstone');
    this.storeAddresses.set(storeId, store.address);
    return store.address;
  }

  private forgetStore(storeId: number): void {
    // The address is looked up again: a store that moved (restarted elsewhere) is found there.
    this.storeAddresses.delete(storeId);
  }

  // ---- retry bookkeeping ----

  private checkAlive(op: Operation): void {
    if (this.closed) throw new ClientClosedError('RawKvClient');
    if (op.failed) throw op.failed;
    if (op.deadline.expired()) throw op.deadlineError();
  }

  private countRetry(op: Operation, detail: string, action: string): void {
    op.note(detail, action);
    op.retries += 1;
    this.stats.retries += 1;
    if (op.retries > this.maxRetries) throw new RetriesExhaustedError(op.name, this.maxRetries, op.attempts, op.lastError);
  }

  private retryNow(op: Operation, regionId: number, reason: RetryReason, detail: string): void {
    this.countRetry(op, detail, 'retried at once');
    this.onRetry?.({ operation: op.name, regionId, reason, backoffMs: 0, detail });
  }

  private async backoffThen(op: Operation, regionId: number, reason: RetryReason, detail: string, atLeastMs = 0): Promise<void> {
    const policy = SHORT_WAIT_REASONS.has(reason) ? { ...this.backoffPolicy, maxMs: Math.min(this.backoffPolicy.maxMs, Math.max(SHORT_WAIT_BACKOFF_MAX_MS, this.backoffPolicy.baseMs)) } : this.backoffPolicy;
    const delay = op.backoffFor(reason, policy, this.random).nextDelayMs(atLeastMs);
    this.countRetry(op, detail, `backoff ${delay} ms`);
    // Sleeping past the deadline would only postpone the same answer.
    if (delay >= op.deadline.remainingMs()) throw op.deadlineError();
    this.stats.backoffs += 1;
    this.onRetry?.({ operation: op.name, regionId, reason, backoffMs: delay, detail });
    await sleep(delay, this.abort.signal);
  }

  private checkBatchSize(size: number, operation: string): void {
    if (size > this.maxBatchKeys) throw new InvalidArgumentError(`${operation}: ${size} keys exceed the bound of ${this.maxBatchKeys} per call`);
  }
}

/** The part of a store's response that answers `command`, or an error when there is none. */
function subResponse<C extends CommandName>(response: kvpb.IResponse, command: C, storeId: number): SubResponse<C> {
  if (response.error) throw new StoreRequestError(`store ${storeId}`, response.error);
  const sub = response[command];
  if (!sub) throw new ProtocolError(`store ${storeId}`, `response carries no ${command} answer`);
  return sub as SubResponse<C>;
}

/** A scan page must be in ascending key order, inside the range asked for, and not too long. */
function checkScanPage(pairs: readonly kvpb.IKvPair[], from: Uint8Array, to: Uint8Array, limit: number, region: RegionInfo['region']): void {
  const fail = (detail: string): never => {
    throw new ProtocolError(`store of ${describeRegion(region)}`, `Scan ${detail}`);
  };
  if (pairs.length > limit) fail(`returned ${pairs.length} pairs for a limit of ${limit}`);
  let previous: Uint8Array | undefined;
  for (const pair of pairs) {
    const key = pair.key ?? EMPTY_KEY;
    if (compareKeys(key, from) < 0 || !beforeEnd(key, to)) fail(`returned key ${formatKey(key)} outside the requested range`);
    if (previous && compareKeys(previous, key) >= 0) fail(`returned keys out of order (${formatKey(previous)} then ${formatKey(key)})`);
    previous = key;
  }
}

function toWireMutation(mutation: RawMutation): kvpb.IMutation {
  return mutation.op === 'put'
    ? { op: kvpb.MutationOp.MUTATION_PUT, key: mutation.key, value: mutation.value }
    : { op: kvpb.MutationOp.MUTATION_DELETE, key: mutation.key };
}

function checkKey(key: Uint8Array, operation: string): void {
  if (!(key instanceof Uint8Array)) throw new InvalidArgumentError(`${operation}: keys must be Uint8Arrays`);
  if (key.byteLength === 0) throw new InvalidArgumentError(`${operation}: the empty key is not a valid key`);
}

function positive(name: string, value: number): number {
  if (!(Number.isSafeInteger(value) && value > 0)) throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
  return value;
}
