// The client of the placement driver, used by the KV client (routing, timestamps) and by stores
// (bootstrap, ids, heartbeats, splits). Unary calls go to the leader found by PdLeaderChannel and
// are retried under explicit bounds: NOT_LEADER is followed at once to the named leader; an
// unavailable leader (ERROR_UNAVAILABLE, or a transient gRPC status such as UNAVAILABLE) is retried
// after an exponential backoff; a cluster mismatch is final. Each call has an overall deadline, a
// per-attempt timeout and a maximum number of attempts.

import { setMaxListeners } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { type metapb, pdpb } from '../proto/index.js';
import { PdService } from '../proto/services.js';
import { Backoff, type BackoffPolicy, type RandomSource, resolveBackoffPolicy, sleep } from './backoff.js';
import { Deadline, pushBounded } from './deadline.js';
import {
  ClientClosedError,
  DeadlineExceededError,
  InvalidArgumentError,
  PdRpcError,
  PdServerError,
  PdUnavailableError,
  ProtocolError,
  RetriesExhaustedError,
} from './errors.js';
import { CLIENT_CHANNEL_OPTIONS, describeGrpcError, grpcStatusOf, isTransientStatus, unaryCall } from './grpc_call.js';
import { EMPTY_KEY } from './keys.js';
import { type PdLeader, PdLeaderChannel } from './pd_leader.js';
import { type RegionHeartbeatErrorHandler, type RegionHeartbeatHandle, type RegionHeartbeatResponseHandler, RegionHeartbeatStream } from './region_heartbeat_stream.js';
import { type RegionInfo, peerFromWire, regionFromWire } from './region_meta.js';
import { MAX_LOGICAL, type Timestamp, TsoBatcher } from './tso.js';
import { u64 } from './wire.js';

export interface PdClientOptions {
  /** PD members to ask for the leader (the `--join` addresses). */
  readonly endpoints: readonly string[];
  /** Learned from the first answer when not given; from then on every answer must carry it. */
  readonly clusterId?: number;
  /** Overall deadline of one call, all retries included. Default 10,000 ms. */
  readonly callTimeoutMs?: number;
  /** Timeout of one RPC attempt. Default 3,000 ms. */
  readonly rpcTimeoutMs?: number;
  /** Timeout of one GetMembers probe while looking for the leader. Default 1,000 ms. */
  readonly discoveryTimeoutMs?: number;
  /** Attempts per call (redirects included). Default 10. */
  readonly maxAttempts?: number;
  /** Backoff between attempts after unavailability. Default 50 ms doubling up to 1,000 ms. */
  readonly backoff?: Partial<BackoffPolicy>;
  readonly random?: RandomSource;
  /** Most timestamps per TsoRequest. Default 4,096 (at most 2^18). */
  readonly tsoMaxBatchSize?: number;
  /** Most timestamps waiting for the oracle before callers get OverloadedError. Default 100,000. */
  readonly tsoMaxPendingTimestamps?: number;
  /** TsoRequests outstanding on the stream at once. Default 1 (maximal coalescing). */
  readonly tsoMaxInFlightRequests?: number;
  /** Region heartbeats queued per stream while reconnecting. Default 10,000. */
  readonly heartbeatQueueLimit?: number;
  readonly channelOptions?: grpc.ChannelOptions;
}

/** Per-call overrides. */
export interface PdCallOptions {
  /** Overall deadline of this call instead of `callTimeoutMs`. */
  readonly timeoutMs?: number;
}

export interface PdMembers {
  readonly members: pdpb.IMember[];
  readonly leader: pdpb.IMember | undefined;
}

/** A range of consecutive ids: first, first + 1, ..., first + count - 1. */
export interface IdRange {
  readonly first: number;
  readonly count: number;
}

export interface SplitIds {
  readonly newRegionId: number;
  /** One per peer of the Region being split, in the order of its peers. */
  readonly newPeerIds: number[];
}

export type BootstrapOutcome = 'bootstrapped' | 'already-bootstrapped';

/** A PD response: every one carries a header. */
interface PdResponse {
  header?: pdpb.IResponseHeader | null;
}

const DEFAULTS = {
  callTimeoutMs: 10_000,
  rpcTimeoutMs: 3_000,
  discoveryTimeoutMs: 1_000,
  maxAttempts: 10,
  backoff: { baseMs: 50, maxMs: 1_000 },
  tsoMaxBatchSize: 4_096,
  tsoMaxPendingTimestamps: 100_000,
  tsoMaxInFlightRequests: 1,
  heartbeatQueueLimit: 10_000,
} as const;

export class PdClient {
  private readonly leader: PdLeaderChannel;
  private readonly tso: TsoBatcher;
  private readonly heartbeatStreams = new Set<RegionHeartbeatStream>();
  private readonly abort = new AbortController();
  private readonly callTimeoutMs: number;
  private readonly rpcTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffPolicy: BackoffPolicy;
  private readonly random: RandomSource;
  private readonly heartbeatQueueLimit: number;
  private closed = false;
  /** Counters for metrics and tests. */
  readonly stats = { calls: 0, attempts: 0, backoffs: 0, redirectsFollowed: 0 };

  constructor(options: PdClientOptions) {
    if (options.endpoints.length === 0) throw new InvalidArgumentError('PdClient needs at least one endpoint');
    if (options.clusterId !== undefined && !(Number.isSafeInteger(options.clusterId) && options.clusterId > 0)) {
      throw new InvalidArgumentError(`cluster id must be a positive integer, got ${options.clusterId}`);
    }
    this.callTimeoutMs = positive('callTimeoutMs', options.callTimeoutMs ?? DEFAULTS.callTimeoutMs);
    this.rpcTimeoutMs = positive('rpcTimeoutMs', options.rpcTimeoutMs ?? DEFAULTS.rpcTimeoutMs);
    this.maxAttempts = positive('maxAttempts', options.maxAttempts ?? DEFAULTS.maxAttempts);
    this.backoffPolicy = resolveBackoffPolicy(options.backoff, DEFAULTS.backoff);
    this.random = options.random ?? Math.random;
    this.heartbeatQueueLimit = positive('heartbeatQueueLimit', options.heartbeatQueueLimit ?? DEFAULTS.heartbeatQueueLimit);
    const tsoMaxBatchSize = positive('tsoMaxBatchSize', options.tsoMaxBatchSize ?? DEFAULTS.tsoMaxBatchSize);
    if (tsoMaxBatchSize > MAX_LOGICAL) throw new InvalidArgumentError(`tsoMaxBatchSize must be at most ${MAX_LOGICAL}`);
    // Every call sleeping in a backoff listens on this signal; many may at once.
    setMaxListeners(0, this.abort.signal);
    this.leader = new PdLeaderChannel({
      endpoints: options.endpoints,
      clusterId: options.clusterId,
      discoveryTimeoutMs: positive('discoveryTimeoutMs', options.discoveryTimeoutMs ?? DEFAULTS.discoveryTimeoutMs),
      backoff: this.backoffPolicy,
      random: this.random,
      channelOptions: options.channelOptions ?? CLIENT_CHANNEL_OPTIONS,
      signal: this.abort.signal,
    });
    this.tso = new TsoBatcher(this.leader, {
      maxBatchSize: tsoMaxBatchSize,
      maxPendingTimestamps: positive('tsoMaxPendingTimestamps', options.tsoMaxPendingTimestamps ?? DEFAULTS.tsoMaxPendingTimestamps),
      maxInFlightRequests: positive('tsoMaxInFlightRequests', options.tsoMaxInFlightRequests ?? DEFAULTS.tsoMaxInFlightRequests),
      callTimeoutMs: this.callTimeoutMs,
      rpcTimeoutMs: this.rpcTimeoutMs,
      backoff: this.backoffPolicy,
      random: this.random,
      signal: this.abort.signal,
    });
  }

  /** 0 until learned from the first answer. */
  get clusterId(): number {
    return this.leader.clusterId;
  }

  /** The PD leader currently used, if known. */
  get leaderAddress(): string | undefined {
    return this.leader.leaderAddress;
  }

  /** Discovery and TSO counters, for metrics and tests. */
  get internals(): { readonly leader: PdLeaderChannel['stats']; readonly tso: TsoBatcher['stats'] } {
    return { leader: this.leader.stats, tso: this.tso.stats };
  }

  async getMembers(options?: PdCallOptions): Promise<PdMembers> {
    const response = await this.call('GetMembers', PdService.getMembers, (header) => ({ header }), options);
    const members = (response.members ?? []).map(memberFromWire);
    return { members, leader: response.leader?.address ? memberFromWire(response.leader) : undefined };
  }

  async isBootstrapped(options?: PdCallOptions): Promise<boolean> {
    const response = await this.call('IsBootstrapped', PdService.isBootstrapped, (header) => ({ header }), options);
    return response.bootstrapped === true;
  }

  /** Bootstraps the cluster with its first store and Region; safe to repeat. */
  async bootstrap(store: metapb.IStore, region: metapb.IRegion, options?: PdCallOptions): Promise<BootstrapOutcome> {
    try {
      await this.call('Bootstrap', PdService.bootstrap, (header) => ({ header, store, region }), options);
      return 'bootstrapped';
    } catch (error) {
      if (error instanceof PdServerError && error.errorType === pdpb.ErrorType.ERROR_ALREADY_BOOTSTRAPPED) return 'already-bootstrapped';
      throw error;
    }
  }

  async allocId(count = 1, options?: PdCallOptions): Promise<IdRange> {
    if (!Number.isSafeInteger(count) || count < 1 || count > 0xffff_ffff) throw new InvalidArgumentError(`id count must be a positive uint32, got ${count}`);
    const response = await this.call('AllocID', PdService.allocId, (header) => ({ header, count }), options);
    const first = u64(response.id);
    const granted = response.count || count;
    if (!(Number.isSafeInteger(first) && first > 0) || granted !== count) {
      throw new ProtocolError(`placement driver ${this.leaderAddress ?? '?'}`, `AllocID answered id ${first} count ${granted} for a request of ${count}`);
    }
    return { first, count };
  }

  async getTimestamp(options?: PdCallOptions): Promise<Timestamp> {
    const [timestamp] = await this.getTimestamps(1, options);
    return timestamp!;
  }

  /** `count` consecutive timestamps in increasing order (count at most tsoMaxBatchSize). */
  getTimestamps(count: number, options?: PdCallOptions): Promise<Timestamp[]> {
    return this.tso.getTimestamps(count, options?.timeoutMs ?? this.callTimeoutMs);
  }

  /** The Region containing `key`, or undefined when PD knows none. */
  async getRegion(key: Uint8Array, options?: PdCallOptions): Promise<RegionInfo | undefined> {
    const response = await this.call('GetRegion', PdService.getRegion, (header) => ({ header, key }), options);
    return this.regionInfo(response.region, response.leader);
  }

  async getRegionById(regionId: number, options?: PdCallOptions): Promise<RegionInfo | undefined> {
    const response = await this.call('GetRegionByID', PdService.getRegionById, (header) => ({ header, regionId }), options);
    return this.regionInfo(response.region, response.leader);
  }

  /** Regions overlapping [startKey, endKey) in key order, at most `limit` (0 = PD's own bound). */
  async scanRegions(startKey: Uint8Array, endKey: Uint8Array = EMPTY_KEY, limit = 0, options?: PdCallOptions): Promise<RegionInfo[]> {
    const response = await this.call('ScanRegions', PdService.scanRegions, (header) => ({ header, startKey, endKey, limit }), options);
    const regions: RegionInfo[] = [];
    for (const entry of response.regions ?? []) {
      const info = this.regionInfo(entry.region, entry.leader);
      if (info) regions.push(info);
    }
    return regions;
  }

  /** The store, or undefined when PD does not know it. */
  async getStore(storeId: number, options?: PdCallOptions): Promise<metapb.IStore | undefined> {
    const response = await this.call('GetStore', PdService.getStore, (header) => ({ header, storeId }), options);
    return response.store && u64(response.store.id) > 0 ? storeFromWire(response.store) : undefined;
  }

  async getAllStores(options?: PdCallOptions): Promise<metapb.IStore[]> {
    const response = await this.call('GetAllStores', PdService.getAllStores, (header) => ({ header }), options);
    return (response.stores ?? []).map(storeFromWire);
  }

  async putStore(store: metapb.IStore, options?: PdCallOptions): Promise<void> {
    await this.call('PutStore', PdService.putStore, (header) => ({ header, store }), options);
  }

  /** Reports a store's statistics; answers the garbage-collection safe point PD set. */
  async storeHeartbeat(stats: pdpb.IStoreStats, options?: PdCallOptions): Promise<{ gcSafePoint: Timestamp }> {
    const response = await this.call('StoreHeartbeat', PdService.storeHeartbeat, (header) => ({ header, stats }), options);
    return { gcSafePoint: { physical: u64(response.gcSafePoint?.physical), logical: u64(response.gcSafePoint?.logical) } };
  }

  async askSplit(region: metapb.IRegion, options?: PdCallOptions): Promise<SplitIds> {
    const response = await this.call('AskSplit', PdService.askSplit, (header) => ({ header, region }), options);
    const newRegionId = u64(response.newRegionId);
    const newPeerIds = (response.newPeerIds ?? []).map(u64);
    if (!(newRegionId > 0) || newPeerIds.length !== (region.peers?.length ?? 0)) {
      throw new ProtocolError(
        `placement driver ${this.leaderAddress ?? '?'}`,
        `AskSplit answered Region id ${newRegionId} with ${newPeerIds.length} peer ids for a Region of ${region.peers?.length ?? 0} peers`,
      );
    }
    return { newRegionId, newPeerIds };
  }

  async reportSplit(left: metapb.IRegion, right: metapb.IRegion, options?: PdCallOptions): Promise<void> {
    await this.call('ReportSplit', PdService.reportSplit, (header) => ({ header, left, right }), options);
  }

  /**
   * Opens the RegionHeartbeat stream. Responses (operator steps) go to `onResponse`; failures are
   * reported to `onError` while the handle reconnects on its own until closed.
   */
  regionHeartbeatStream(onResponse: RegionHeartbeatResponseHandler, onError?: RegionHeartbeatErrorHandler): RegionHeartbeatHandle {
    if (this.closed) throw new ClientClosedError('PD client');
    const stream = new RegionHeartbeatStream(this.leader, onResponse, onError, {
      maxQueued: this.heartbeatQueueLimit,
      connectTimeoutMs: this.callTimeoutMs,
      backoff: this.backoffPolicy,
      random: this.random,
      signal: this.abort.signal,
      onClosed: () => this.heartbeatStreams.delete(stream),
    });
    this.heartbeatStreams.add(stream);
    return stream;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.tso.close();
    for (const stream of [...this.heartbeatStreams]) stream.close();
    this.leader.close();
  }

  private regionInfo(region: metapb.IRegion | null | undefined, leader: metapb.IPeer | null | undefined): RegionInfo | undefined {
    if (!region || u64(region.id) === 0) return undefined;
    const meta = regionFromWire(region, `placement driver ${this.leaderAddress ?? '?'}`);
    const hinted = peerFromWire(leader);
    // A leader outside the Region's peers is a PD view in flux; better no guess than a wrong one.
    const member = hinted ? meta.peers.find((p) => p.id === hinted.id && p.storeId === hinted.storeId) : undefined;
    return { region: meta, leader: member };
  }

  /** One unary call with the retry policy described at the top of the file. */
  private async call<Req, Res extends PdResponse>(
    operation: string,
    method: grpc.MethodDefinition<Req, Res>,
    build: (header: pdpb.IRequestHeader) => Req,
    options: PdCallOptions | undefined,
  ): Promise<Res> {
    if (this.closed) throw new ClientClosedError('PD client');
    this.stats.calls += 1;
    const deadline = Deadline.after(options?.timeoutMs ?? this.callTimeoutMs);
    const backoff = new Backoff(this.backoffPolicy, this.random);
    const attempts: string[] = [];
    let lastError: Error | undefined;

    // Sleeps before the next attempt, or gives up when the sleep would outlast the deadline.
    const pause = async (): Promise<void> => {
      const delay = backoff.nextDelayMs();
      if (delay >= deadline.remainingMs()) throw new DeadlineExceededError(`PD ${operation}`, deadline.budgetMs, attempts, lastError);
      this.stats.backoffs += 1;
      await sleep(delay, this.abort.signal);
    };

    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new ClientClosedError('PD client');
      if (attempt > this.maxAttempts) throw new RetriesExhaustedError(`PD ${operation}`, this.maxAttempts, attempts, lastError);
      if (deadline.expired()) throw new DeadlineExceededError(`PD ${operation}`, deadline.budgetMs, attempts, lastError);
      this.stats.attempts += 1;

      let leader: PdLeader;
      try {
        leader = await this.leader.acquire(deadline);
      } catch (error) {
        if (!(error instanceof PdUnavailableError)) throw error;
        lastError = error;
        pushBounded(attempts, `leader discovery: ${error.attempts.at(-1) ?? error.message}`);
        await pause();
        continue;
      }

      const header = this.leader.header();
      let response: Res;
      try {
        response = await unaryCall(leader.client, method, build(header), deadline.within(this.rpcTimeoutMs));
      } catch (error) {
        if (this.closed) throw new ClientClosedError('PD client');
        const status = grpcStatusOf(error);
        if (!isTransientStatus(status)) throw new PdRpcError(operation, leader.address, status, describeGrpcError(error));
        lastError = error as Error;
        pushBounded(attempts, `${leader.address}: ${describeGrpcError(error)}`);
        this.leader.forget(leader);
        await pause();
        continue;
      }

      const verdict = this.leader.checkHeader(response.header, leader.address, u64(header.clusterId));
      switch (verdict.kind) {
        case 'ok':
          return response;
        case 'clusterIdLearned':
          pushBounded(attempts, `${leader.address}: refused without a cluster id; learned it`);
          continue;
        case 'notLeader':
          pushBounded(attempts, `${leader.address}: not leader${verdict.leaderAddress ? `, leader is ${verdict.leaderAddress}` : ''}`);
          if (verdict.leaderAddress && verdict.leaderAddress !== leader.address) {
            // The answer names the leader: go there now, a backoff would only add latency.
            this.stats.redirectsFollowed += 1;
            this.leader.redirect(verdict.leaderAddress);
          } else {
            this.leader.forget(leader);
            await pause();
          }
          continue;
        case 'unavailable':
          pushBounded(attempts, `${leader.address}: unavailable${verdict.message ? ` (${verdict.message})` : ''}`);
          this.leader.forget(leader);
          await pause();
          continue;
        case 'error':
          throw new PdServerError(operation, verdict.type, verdict.message);
      }
    }
  }
}

/** Plain objects with every field present and 64-bit fields as numbers (see wire.ts). */
function storeFromWire(store: metapb.IStore): metapb.IStore {
  return {
    id: u64(store.id),
    address: store.address ?? '',
    httpAddress: store.httpAddress ?? '',
    state: store.state ?? 0,
    version: store.version ?? '',
    startTimeMs: u64(store.startTimeMs),
  };
}

function memberFromWire(member: pdpb.IMember): pdpb.IMember {
  return { id: u64(member.id), address: member.address ?? '' };
}

function positive(name: string, value: number): number {
  if (!(Number.isSafeInteger(value) && value > 0)) throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
  return value;
}

