// The placement driver on one PD member: ties the replicated state, the id allocator, the TSO,
// the live cluster view, operators and the replica checker together, and exposes them both as
// methods (for tests and in-process callers) and as the gRPC Pd service.
//
// Leadership lifecycle (driven by the store hosting the PD Raft group):
//   onLeadershipChange(true, term)  → forget everything soft; persist a TSO window through Raft.
//     That command is also the barrier: once it applied here, every earlier committed command
//     has applied too, so the state machine is current. Only then does this node serve.
//   onLeadershipChange(false, term) → stop serving at once, drop soft state, close heartbeat
//     streams so stores reconnect to the new leader.
// Periodic work (patrol, TSO window extension) runs on timers only while serving as leader and
// between start() and stop(); the timers are unref()'d so they never keep a process alive.

import { randomInt } from 'node:crypto';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { metapb, type pdpb, type pdstatepb } from '../proto/index.js';
import type { PdApplyOutcome } from './apply_outcome.js';
import { ClusterView, type RegionHeartbeatInfo, type RegionWithLeader, type StoreStatus } from './cluster.js';
import {
  AlreadyBootstrappedError,
  InvalidArgumentError,
  NotLeaderError,
  PdUnavailableError,
  ProposalRejectedError,
  StoreTombstoneError,
} from './errors.js';
import type { HeartbeatSink } from './heartbeat_streams.js';
import { HeartbeatStreams } from './heartbeat_streams.js';
import { IdAllocator } from './id_allocator.js';
import {
  MAX_REGION_KEY_BYTES,
  parseRegion,
  parseStore,
  positiveId,
  regionToProto,
  storeToProto,
  type StoreMeta,
} from './meta.js';
import { OperatorController, type Operator } from './operator.js';
import { resolvePdOptions, type PdServerOptions } from './options.js';
import { ReplicaChecker, type PatrolReport } from './replica_checker.js';
import { RegionSync } from './region_sync.js';
import type { PdMember, PdReplication } from './replication.js';
import { pdGrpcImplementation } from './service.js';
import type { PdStateMachine } from './state_machine.js';
import { TimestampOracle, type Timestamp } from './tso.js';

/** Regions one ScanRegions may return. */
export const MAX_SCAN_REGIONS = 10_000;

export interface PdLogEvent {
  readonly level: 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly [field: string]: unknown;
}

export type PdLogger = (event: PdLogEvent) => void;

export interface PdServerConfig {
  readonly stateMachine: PdStateMachine;
  readonly replication: PdReplication;
  /** Milliseconds since the epoch. Defaults to Date.now. */
  readonly clock?: () => number;
  readonly options?: Partial<PdServerOptions>;
  /** Picks the id of a cluster being bootstrapped when the caller gives none. */
  readonly newClusterId?: () => number;
  /** Structured log events (JSON-able). Defaults to none. */
  readonly log?: PdLogger;
}

export interface MembersView {
  readonly members: readonly PdMember[];
  readonly leader: PdMember | undefined;
}

export class PdServer {
  readonly options: PdServerOptions;
  readonly stateMachine: PdStateMachine;
  readonly replication: PdReplication;
  readonly clock: () => number;
  readonly cluster: ClusterView;
  readonly regionSync: RegionSync;
  readonly idAllocator: IdAllocator;
  readonly tso: TimestampOracle;
  readonly operators: OperatorController;
  readonly replicaChecker: ReplicaChecker;
  readonly heartbeatStreams = new HeartbeatStreams();
  private readonly newClusterId: () => number;
  /** Where structured events go; the gRPC adapter logs unexpected failures here too. */
  readonly log: PdLogger;

  private leaderTerm: number | undefined;
  private generation = 0;
  private serving = false;
  private activation: Promise<void> | undefined;
  private started = false;
  private timers: NodeJS.Timeout[] = [];
  private activationRetry: NodeJS.Timeout | undefined;

  constructor(config: PdServerConfig) {
    this.options = resolvePdOptions(config.options);
    this.stateMachine = config.stateMachine;
    this.replication = config.replication;
    this.clock = config.clock ?? Date.now;
    this.newClusterId = config.newClusterId ?? (() => randomInt(1, 2 ** 48));
    this.log = config.log ?? (() => {});
    const o = this.options;
    this.regionSync = new RegionSync({
      replication: this.replication,
      onError: (error) => this.log({ level: 'warn', msg: 'pd: persisting region heartbeats failed', error: String(error) }),
    });
    this.cluster = new ClusterView({
      stateMachine: this.stateMachine,
      regionSync: this.regionSync,
      storeDownTimeoutMs: o.storeDownTimeoutMs,
    });
    this.idAllocator = new IdAllocator({
      replication: this.replication,
      stateMachine: this.stateMachine,
      windowSize: o.idWindow,
    });
    this.tso = new TimestampOracle({
      replication: this.replication,
      stateMachine: this.stateMachine,
      clock: this.clock,
      windowMs: o.tsoWindowMs,
    });
    this.operators = new OperatorController({
      maxOperators: o.maxOperators,
      onEnd: (op, end, why) => this.log({ level: end === 'finished' ? 'info' : 'warn', msg: `pd: operator ${end}`, operator: op.describe(), why }),
    });
    this.replicaChecker = new ReplicaChecker({
      cluster: this.cluster,
      operators: this.operators,
      allocIds: (count) => this.idAllocator.alloc(count),
      clock: this.clock,
      maxReplicas: o.maxReplicas,
      storeDownTimeoutMs: o.storeDownTimeoutMs,
      operatorTimeoutMs: o.operatorTimeoutMs,
      maxOperatorsPerPatrol: o.maxOperatorsPerPatrol,
      regionsPerPatrol: o.regionsPerPatrol,
      leadershipToken: () => (this.serving ? this.generation : undefined),
      onOperatorAdded: (op, observed) => this.pushFirstStep(op, observed),
    });
  }

  // ---- lifecycle (called by the store hosting the PD Raft group) ---------------------------

  /** This node gained or lost PD leadership (Raft group 0) in `term`. */
  onLeadershipChange(isLeader: boolean, term: number): void {
    if (isLeader && this.leaderTerm === term && this.activation) return;
    this.stepDown();
    if (!isLeader) return;
    this.leaderTerm = term;
    this.log({ level: 'info', msg: 'pd: became leader, persisting a timestamp window before serving', term });
    this.activate();
  }

  /** Optional: called after each apply on this node. Lets a leader drop work on Regions that merged away. */
  onApplied(_command: pdstatepb.IPdCommand, outcome: PdApplyOutcome): void {
    if (!this.serving || outcome.kind !== 'regions-put') return;
    for (const id of outcome.removed) this.operators.cancel(id, 'region was replaced by a newer one covering its range');
  }

  /** Enables periodic work (runs only while this node serves as leader). */
  start(): void {
    this.started = true;
    if (this.serving) this.startTimers();
  }

  /** Stops periodic work and closes heartbeat streams; leadership callbacks still work. */
  stop(): void {
    this.started = false;
    this.stopTimers();
    if (this.activationRetry) clearTimeout(this.activationRetry);
    this.activationRetry = undefined;
    this.heartbeatStreams.closeAll();
  }

  /** Whether this node currently serves as PD leader. */
  get isServing(): boolean {
    return this.serving && this.replication.isLeader();
  }

  grpcImplementation(): UntypedServiceImplementation {
    return pdGrpcImplementation(this);
  }

  /**
   * Resolves once this node serves as leader. Throws NotLeaderError (with the leader's address)
   * on a follower, PdUnavailableError while a leader is still catching up.
   */
  async ensureServing(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.replication.isLeader()) throw new NotLeaderError(this.replication.leaderAddress());
      if (this.serving) return;
      if (!this.activation) break;
      try {
        await this.activation;
      } catch {
        break;
      }
    }
    if (!this.replication.isLeader()) throw new NotLeaderError(this.replication.leaderAddress());
    if (this.serving) return;
    throw new PdUnavailableError('the placement-driver leader is not serving yet; retry');
  }

  // ---- the PD API (each method is leader-only unless noted) --------------------------------

  /** Answered by every member, leader or not. */
  members(): MembersView {
    const members = this.replication.members();
    const address = this.replication.leaderAddress();
    const leader = address === undefined ? undefined : (members.find((m) => m.address === address) ?? { id: 0, address });
    return { members, leader };
  }

  async isBootstrapped(): Promise<boolean> {
    await this.ensureServing();
    return this.stateMachine.bootstrapped;
  }

  /**
   * Bootstraps the cluster exactly once with its first store and Region (ids chosen by the
   * caller; later ids are allocated above them). Returns the new cluster id.
   */
  async bootstrap(input: { clusterId?: number; store: metapb.IStore | null | undefined; region: metapb.IRegion | null | undefined }): Promise<number> {
    await this.ensureServing();
    if (this.stateMachine.bootstrapped) throw new AlreadyBootstrappedError(this.stateMachine.clusterId);
    const store = parseStore(input.store);
    if (!store.ok) throw new InvalidArgumentError(store.problem);
    const region = parseRegion(input.region);
    if (!region.ok) throw new InvalidArgumentError(region.problem);
    const clusterId = input.clusterId && input.clusterId > 0 ? input.clusterId : this.newClusterId();
    const outcome = await this.replication.propose({
      bootstrap: {
        clusterId,
        store: storeToProto({ ...store.value, state: metapb.StoreState.STORE_UP }),
        region: regionToProto(region.value),
        bootstrapTimeMs: Math.floor(this.clock()),
      },
    });
    if (outcome.kind === 'bootstrapped') {
      this.log({ level: 'info', msg: 'pd: cluster bootstrapped', clusterId: outcome.clusterId });
      return outcome.clusterId;
    }
    if (outcome.kind === 'rejected' && outcome.reason === 'already-bootstrapped') {
      throw new AlreadyBootstrappedError(this.stateMachine.clusterId);
    }
    throw rejection(outcome);
  }

  async allocIds(count: number): Promise<number> {
    await this.ensureServing();
    return this.idAllocator.alloc(count);
  }

  async getTimestamps(count: number): Promise<Timestamp> {
    await this.ensureServing();
    return this.tso.getTimestamps(count);
  }

  async getRegionByKey(key: Uint8Array): Promise<RegionWithLeader | undefined> {
    await this.ensureServing();
    if (key.byteLength > MAX_REGION_KEY_BYTES) throw new InvalidArgumentError(`key longer than ${MAX_REGION_KEY_BYTES} bytes`);
    return this.cluster.regionByKey(key);
  }

  async getRegionById(regionId: number): Promise<RegionWithLeader | undefined> {
    await this.ensureServing();
    return this.cluster.regionById(regionId);
  }

  /** `limit` 0 means MAX_SCAN_REGIONS; larger limits are refused. */
  async scanRegions(start: Uint8Array, end: Uint8Array, limit: number): Promise<RegionWithLeader[]> {
    await this.ensureServing();
    if (start.byteLength > MAX_REGION_KEY_BYTES || end.byteLength > MAX_REGION_KEY_BYTES) {
      throw new InvalidArgumentError(`key longer than ${MAX_REGION_KEY_BYTES} bytes`);
    }
    if (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_SCAN_REGIONS) {
      throw new InvalidArgumentError(`scan limit must be in [0, ${MAX_SCAN_REGIONS}], got ${limit}`);
    }
    return this.cluster.scanRegions(start, end, limit === 0 ? MAX_SCAN_REGIONS : limit);
  }

  async getStore(storeId: number): Promise<StoreMeta | undefined> {
    await this.ensureServing();
    return this.stateMachine.getStore(storeId);
  }

  async getAllStores(): Promise<StoreMeta[]> {
    await this.ensureServing();
    return this.stateMachine.stores();
  }

  /** Store statuses with liveness, for admin views. */
  async storeStatuses(): Promise<StoreStatus[]> {
    await this.ensureServing();
    return this.cluster.storeStatuses(this.clock());
  }

  /**
   * Registers a store or updates its address and version. The PD owns a store's state: a new
   * store is up, an existing one keeps its state, and a tombstone is refused.
   */
  async putStore(input: metapb.IStore | null | undefined): Promise<void> {
    await this.ensureServing();
    const parsed = parseStore(input);
    if (!parsed.ok) throw new InvalidArgumentError(parsed.problem);
    const existing = this.stateMachine.getStore(parsed.value.id);
    if (existing?.state === metapb.StoreState.STORE_TOMBSTONE) throw new StoreTombstoneError(existing.id);
    const store = { ...parsed.value, state: existing?.state ?? metapb.StoreState.STORE_UP };
    const outcome = await this.replication.propose({ putStore: { store: storeToProto(store) } });
    if (outcome.kind === 'store-put') return;
    if (outcome.kind === 'rejected' && outcome.reason === 'store-tombstone') throw new StoreTombstoneError(store.id);
    throw rejection(outcome);
  }

  /** Records a store's heartbeat; answers the garbage-collection safe point (physical ms). */
  async storeHeartbeat(stats: pdpb.IStoreStats | null | undefined): Promise<{ gcSafePointMs: number }> {
    await this.ensureServing();
    const now = this.clock();
    const verdict = this.cluster.storeHeartbeat(stats, now);
    switch (verdict.kind) {
      case 'accepted':
        // Stores only ever raise a Region's safe point, so a new leader with a slower clock
        // cannot move it back.
        return { gcSafePointMs: Math.max(0, now - this.options.gcTtlMs) };
      case 'invalid':
        throw new InvalidArgumentError(verdict.detail);
      case 'unknown-store':
        throw new InvalidArgumentError(`store ${verdict.storeId} is not registered; PutStore first`);
      case 'tombstone':
        throw new StoreTombstoneError(verdict.storeId);
    }
  }

  /**
   * Takes one Region heartbeat arriving on `sink` (a store's RegionHeartbeat stream) and sends
   * the Region's next operator step back on it when one is due. Synchronous after the leader
   * check: heartbeats are many and cheap.
   */
  handleRegionHeartbeat(request: pdpb.IRegionHeartbeatRequest, sink: HeartbeatSink): void {
    if (!this.replication.isLeader()) throw new NotLeaderError(this.replication.leaderAddress());
    if (!this.serving) throw new PdUnavailableError('the placement-driver leader is not serving yet; retry');
    const now = this.clock();
    const boundStore = this.heartbeatStreams.storeOf(sink);
    const leaderStore = positiveId(request.leader?.storeId);
    if (boundStore !== undefined && leaderStore !== boundStore) {
      throw new InvalidArgumentError(`a heartbeat led from store ${String(leaderStore)} arrived on store ${boundStore}'s stream`);
    }
    const verdict = this.cluster.regionHeartbeat(request, now);
    switch (verdict.kind) {
      case 'accepted': {
        if (boundStore === undefined) this.heartbeatStreams.bind(verdict.info.leader.storeId, sink);
        const response = this.operators.onRegionHeartbeat(verdict.info, now);
        if (response) this.heartbeatStreams.sendTo(sink, response);
        return;
      }
      case 'stale':
      case 'busy':
        return; // nothing to act on; the next heartbeat brings fresher news
      case 'invalid':
        throw new InvalidArgumentError(verdict.detail);
      case 'unknown-store':
        throw new InvalidArgumentError(`store ${verdict.storeId} is not registered; PutStore first`);
      case 'tombstone':
        throw new StoreTombstoneError(verdict.storeId);
    }
  }

  /** A heartbeat stream closed. */
  heartbeatStreamClosed(sink: HeartbeatSink): void {
    this.heartbeatStreams.unbind(sink);
  }

  /** Ids for a split of `region`: a new Region id and one new peer id per existing peer, in order. */
  async askSplit(input: metapb.IRegion | null | undefined): Promise<{ newRegionId: number; newPeerIds: number[] }> {
    await this.ensureServing();
    const parsed = parseRegion(input);
    if (!parsed.ok) throw new InvalidArgumentError(parsed.problem);
    const region = parsed.value;
    const stored = this.stateMachine.getRegion(region.id);
    if (!stored) throw new InvalidArgumentError(`region ${region.id} is not known to the placement driver`);
    if (this.stateMachine.classifyRegion(region) === 'stale') {
      throw new InvalidArgumentError(`region ${region.id} epoch is stale (asking with an old view)`);
    }
    const first = await this.idAllocator.alloc(1 + region.peers.length);
    return { newRegionId: first, newPeerIds: region.peers.map((_, i) => first + 1 + i) };
  }

  /** Persists both halves of a split; routing answers the new layout once this resolves. */
  async reportSplit(leftInput: metapb.IRegion | null | undefined, rightInput: metapb.IRegion | null | undefined): Promise<void> {
    await this.ensureServing();
    const left = parseRegion(leftInput);
    if (!left.ok) throw new InvalidArgumentError(`left: ${left.problem}`);
    const right = parseRegion(rightInput);
    if (!right.ok) throw new InvalidArgumentError(`right: ${right.problem}`);
    if (left.value.endKey.byteLength === 0 || Buffer.compare(left.value.endKey, right.value.startKey) !== 0) {
      throw new InvalidArgumentError('the left region must end where the right region starts');
    }
    if (left.value.id === right.value.id) throw new InvalidArgumentError('both halves of a split have the same region id');
    const outcome = await this.replication.propose({ putRegions: { regions: [regionToProto(left.value), regionToProto(right.value)] } });
    if (outcome.kind !== 'regions-put') throw rejection(outcome);
    this.log({ level: 'info', msg: 'pd: split reported', left: left.value.id, right: right.value.id, stale: outcome.stale });
  }

  /** Runs one patrol now: expires operators, prunes the view, runs the replica checker. */
  async patrol(): Promise<PatrolReport> {
    if (!this.isServing) return { examined: 0, started: [] };
    const now = this.clock();
    this.operators.expire(now);
    this.cluster.prune();
    return this.replicaChecker.patrol();
  }

  // ---- internals ---------------------------------------------------------------------------

  private activate(): void {
    const generation = this.generation;
    // Deferred by a microtask: the store may call onLeadershipChange from inside its Raft loop,
    // and proposing re-entrantly from there is not something it has to support.
    const activation = Promise.resolve()
      .then(() => {
        if (generation !== this.generation) throw new NotLeaderError(this.replication.leaderAddress(), 'leadership changed');
        return this.tso.activate();
      })
      .then(() => {
        if (generation !== this.generation) throw new NotLeaderError(this.replication.leaderAddress(), 'leadership changed');
        this.cluster.reset(this.clock());
        this.serving = true;
        this.log({ level: 'info', msg: 'pd: serving as leader', term: this.leaderTerm });
        if (this.started) this.startTimers();
      });
    this.activation = activation;
    activation.catch((error: unknown) => {
      if (generation !== this.generation) return;
      this.log({ level: 'warn', msg: 'pd: could not start serving as leader', error: String(error) });
      this.activation = undefined;
      // Still the Raft leader? Try again shortly; otherwise the next leadership change decides.
      if (this.replication.isLeader()) {
        this.activationRetry = setTimeout(() => {
          this.activationRetry = undefined;
          if (generation === this.generation && this.replication.isLeader()) this.activate();
        }, this.options.patrolIntervalMs);
        this.activationRetry.unref();
      }
    });
  }

  private stepDown(): void {
    this.generation++;
    this.serving = false;
    this.activation = undefined;
    this.leaderTerm = undefined;
    if (this.activationRetry) clearTimeout(this.activationRetry);
    this.activationRetry = undefined;
    this.stopTimers();
    this.tso.deactivate();
    this.idAllocator.reset();
    this.operators.clear();
    this.regionSync.clear();
    this.cluster.reset(this.clock());
    this.heartbeatStreams.closeAll();
  }

  private startTimers(): void {
    if (this.timers.length > 0) return;
    const patrol = setInterval(() => {
      this.patrol().catch((error: unknown) => this.log({ level: 'warn', msg: 'pd: patrol failed', error: String(error) }));
    }, this.options.patrolIntervalMs);
    // Check the TSO window several times per window so an extension lands before it is needed.
    const tso = setInterval(() => this.tso.extendIfDue(), Math.max(5, Math.floor(this.options.tsoWindowMs / 4)));
    patrol.unref();
    tso.unref();
    this.timers = [patrol, tso];
  }

  private stopTimers(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  private pushFirstStep(operator: Operator, observed: RegionHeartbeatInfo): void {
    const response = operator.nextResponse(observed);
    if (response) this.heartbeatStreams.send(observed.leader.storeId, response);
  }
}

function rejection(outcome: PdApplyOutcome): Error {
  if (outcome.kind === 'rejected') return new ProposalRejectedError(outcome.reason, outcome.detail);
  return new Error(`invariant: unexpected apply outcome ${outcome.kind}`);
}

