// The store: every Raft group this process hosts, driven by one loop.
//
// One iteration of the loop:
//   1. step the Raft messages that arrived, route new Regions' messages, tick if a tick is due;
//   2. turn queued reads into read-index requests;
//   3. collect every peer's Ready and stage all of them in ONE write batch, committed with ONE
//      sync (group commit); a Ready's snapshot is applied in that same batch, atomically;
//   4. send every message, batched per destination store;
//   5. apply committed entries into a second batch (data, applied index and Region state move
//      together; no sync needed: the log is already durable and replays on restart);
//   6. advance every peer; then answer proposals and reads, create Regions born of splits,
//      destroy removed peers, compact logs, generate requested snapshots.
import { randomInt } from 'node:crypto';
import {
  SILENT_LOGGER,
  decodeConfChange,
  type ConfState,
  type Entry,
  type RaftConfig,
  type RaftLogger,
  type RandomSource,
  type Ready,
  type Snapshot,
} from '../raft/index.js';
import { kvpb, raftcmdpb, raftpb, type metapb } from '../proto/index.js';
import type { StorageEngine } from '../storage/engine.js';
import {
  KeyKind,
  groupIdOfKey,
  groupKindRange,
  regionApplyStateKey,
  regionStateKey,
  regionTombstoneKey,
} from '../storage/keys.js';
import { LevelRaftStorage } from '../storage/level_raft_storage.js';
import { RAFT_INIT_INDEX, RAFT_INIT_TERM, bootstrapUpdate, type RaftPersistUpdate } from '../storage/raft_log_store.js';
import type { WriteBatch } from '../storage/write_batch.js';
import { userRange } from '../kv/keys.js';
import { decodeTs, encodeTs } from '../kv/records.js';
import { applyRegionEntries, type ApplyEffects } from './apply.js';
import type { StoreResolver } from './placement.js';
import { Peer, type ProposalOutcome } from './peer.js';
import { decodeMessage, encodeMessage, WireFormatError } from './raft_codec.js';
import { compareBytes, confStateOf, describeRegion, endKey, epochIsStale, epochOf, rangesOverlap, startKey, type Region } from './region.js';
import { collectSnapshotData, decodeSnapshotData, keysInRange, openSnapshotIterator, type KeyRange } from './snapshot.js';
import type { Transport } from './transport.js';
import { resolveTuning, type StoreTuning, type TuningOverrides } from './options.js';
import { RegionTasks } from './region_tasks.js';

/** The state machine of a group that is not a Region: the placement driver's. */
export interface SystemStateMachine {
  /** The engine key range holding its persisted state (snapshots copy it whole). */
  readonly range: KeyRange;
  /** Applies a committed payload deterministically; returns the writes and an outcome for the proposer. */
  apply(data: Uint8Array): { writes: Array<{ key: Uint8Array; value: Uint8Array | null }>; outcome: unknown };
  /** Rebuilds from the persisted pairs after a snapshot replaced them. */
  reload(pairs: Array<[Uint8Array, Uint8Array]>): void;
}

export interface SystemGroupOptions {
  memberId: number;
  members: ReadonlyArray<{ id: number; address: string }>;
  stateMachine: SystemStateMachine;
  /** Create the group's first state (every member a voter) if this node has none. */
  bootstrap: boolean;
}

export interface SystemGroupHandle {
  propose(data: Uint8Array): Promise<unknown>;
  isLeader(): boolean;
  leaseValid(): boolean;
  leaderMemberId(): number;
  term(): number;
}

export class NotLeaderError extends Error {
  readonly code = 'NotLeader';
  constructor(
    message: string,
    readonly leaderId: number,
  ) {
    super(message);
  }
}

export interface StoreOptions {
  engine: StorageEngine;
  transport: Transport;
  /** This store's own address (for logs and the snapshot's origin). */
  address: string;
  clusterId: number;
  /** 0 until the store has an id: only the placement driver's group runs then. */
  storeId: number;
  resolveStore: StoreResolver;
  tuning?: TuningOverrides;
  logger?: RaftLogger;
  clock?: () => number;
  random?: RandomSource;
}

export interface StoreStatus {
  readonly regions: number;
  readonly leaders: number;
  readonly hibernating: number;
  readonly pendingProposals: number;
}

const EMPTY = new Uint8Array(0);
const SYSTEM_GROUP = 0;
/** Peers remembered per group from incoming messages (a group has a handful of members). */
const MAX_PEER_CACHE = 64;

function cryptoRandom(): RandomSource {
  return { nextInt: (bound: number) => randomInt(bound) };
}

export class Store {
  readonly engine: StorageEngine;
  readonly tuning: StoreTuning;
  readonly logger: RaftLogger;
  clusterId: number;
  storeId: number;
  readonly address: string;
  private readonly transport: Transport;
  private readonly resolveStore: StoreResolver;
  private readonly clock: () => number;

  /** The store's clock (injectable for tests). */
  now(): number {
    return this.clock();
  }
  private readonly random: RandomSource;

  /** Every hosted group by id (Regions, and group 0 when this node is a PD member). */
  readonly peers = new Map<number, Peer>();
  private readonly tombstones = new Map<number, { peerId: number; confVer: number; version: number }>();
  private systemGroup: { options: SystemGroupOptions; memberAddress: Map<number, string> } | undefined;
  private readonly leadershipListeners: Array<(groupId: number, isLeader: boolean, term: number) => void> = [];
  private readonly wasLeader = new Map<number, boolean>();

  private inbox: raftpb.IRaftMessage[] = [];
  /** Peers with work since the last iteration (stepped, proposed to, read from, ticked). */
  private readonly touched = new Set<Peer>();
  private pendingProposalCount = 0;
  readonly tasks: RegionTasks;

  private running = false;
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private tickDue = false;
  /** Ticks since this process started driving peers (see raftConfig: quietTicks). */
  private ticksSinceStart = 0;
  private fatal: Error | undefined;

  private constructor(options: StoreOptions) {
    this.engine = options.engine;
    this.transport = options.transport;
    this.address = options.address;
    this.clusterId = options.clusterId;
    this.storeId = options.storeId;
    this.resolveStore = options.resolveStore;
    this.tuning = resolveTuning(options.tuning);
    this.logger = options.logger ?? SILENT_LOGGER;
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? cryptoRandom();
    this.tasks = new RegionTasks(this);
  }

  /** Opens a store: every Region this store hosts is recovered from the engine. */
  static async open(options: StoreOptions): Promise<Store> {
    const store = new Store(options);
    await store.recover();
    return store;
  }

  private raftConfig(): Omit<RaftConfig, 'id' | 'storage' | 'applied'> {
    const r = this.tuning.raft;
    return {
      random: this.random,
      electionTick: r.electionTicks,
      // A peer could only have answered a heartbeat round it no longer remembers before this
      // process started; one created after the process has ticked an election timeout owes no
      // quiet period (a Region split's new half can then elect its leader at once).
      quietTicks: Math.max(0, r.electionTicks - this.ticksSinceStart),
      heartbeatTick: r.heartbeatTicks,
      maxSizePerMsg: r.maxSizePerMsg,
      maxEntriesPerMsg: r.maxEntriesPerMsg,
      maxInflightMsgs: r.maxInflightMsgs,
      maxUncommittedEntriesSize: r.maxUncommittedEntriesSize,
      checkQuorum: true,
      preVote: true,
      readOnlyOption: 'leaseBased',
      disableProposalForwarding: true,
      logger: this.logger,
    };
  }

  private async recover(): Promise<void> {
    const db = this.engine.db;
    for await (const [key, value] of db.iterator(groupKindRange(KeyKind.regionTombstone))) {
      const id = groupIdOfKey(key);
      if (id === undefined) continue;
      const state = raftcmdpb.RegionLocalState.decode(value);
      const e = epochOf(state.region ?? {});
      const self = (state.region?.peers ?? []).find((p) => Number(p.storeId) === this.storeId);
      this.tombstones.set(id, { peerId: Number(self?.id ?? 0), ...e });
    }
    for await (const [key, value] of db.iterator(groupKindRange(KeyKind.regionState))) {
      const id = groupIdOfKey(key);
      if (id === undefined || id === SYSTEM_GROUP) continue;
      const state = raftcmdpb.RegionLocalState.decode(value);
      const region = state.region;
      if (!region) continue;
      const self = (region.peers ?? []).find((p) => Number(p.storeId) === this.storeId);
      if (!self) {
        this.logger.warn('region state without a peer on this store; ignoring', { region: describeRegion(region) });
        continue;
      }
      const storage = await LevelRaftStorage.open(this.engine, id);
      const apply = await this.readApplyState(id);
      const peer = new Peer(id, Number(self.id), region, storage, this.raftConfig(), apply.index, apply.term);
      peer.gcSafePoint = apply.gcSafePoint;
      this.peers.set(id, peer);
    }
    this.logger.info('store recovered', { storeId: this.storeId, regions: this.peers.size, tombstones: this.tombstones.size });
  }

  private async readApplyState(groupId: number): Promise<{ index: number; term: number; gcSafePoint: bigint }> {
    const raw = await this.engine.db.get(regionApplyStateKey(groupId));
    if (raw === undefined) return { index: RAFT_INIT_INDEX, term: RAFT_INIT_TERM, gcSafePoint: 0n };
    const s = raftcmdpb.ApplyState.decode(raw);
    return { index: Number(s.appliedIndex ?? 0), term: Number(s.appliedTerm ?? 0), gcSafePoint: decodeTs(s.gcSafePoint) };
  }

  // ---- Groups --------------------------------------------------------------------------------------

  /**
   * Hosts this node's member of the placement driver's group (group 0). With `bootstrap`, a node
   * that has no state for the group creates its first one, every member a voter; a node without
   * it waits to be contacted (the leader's snapshot initialises it).
   */
  async hostSystemGroup(options: SystemGroupOptions): Promise<SystemGroupHandle> {
    this.systemGroup = { options, memberAddress: new Map(options.members.map((m) => [m.id, m.address])) };
    const storage = await LevelRaftStorage.open(this.engine, SYSTEM_GROUP);
    const blank = storage.lastIndex() === 0 && storage.initialState().hardState.term === 0;
    if (blank && options.bootstrap) {
      const cs: ConfState = { voters: options.members.map((m) => m.id), learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
      await storage.persist(bootstrapUpdate(cs));
    }
    const pairs: Array<[Uint8Array, Uint8Array]> = [];
    for await (const [k, v] of this.engine.db.iterator(options.stateMachine.range)) pairs.push([k, v]);
    options.stateMachine.reload(pairs);
    const apply = blank && !options.bootstrap ? { index: 0, term: 0 } : await this.readApplyState(SYSTEM_GROUP);
    const peer = new Peer(SYSTEM_GROUP, options.memberId, { id: 0 }, storage, this.raftConfig(), apply.index, apply.term);
    this.peers.set(SYSTEM_GROUP, peer);
    this.touched.add(peer);
    this.notify();
    return {
      propose: (data) => this.proposeSystem(data),
      isLeader: () => peer.isLeader(),
      leaseValid: () => peer.isLeader() && peer.raft.core.leaseValid(),
      leaderMemberId: () => peer.leaderId(),
      term: () => peer.raft.core.term,
    };
  }

  /** Called with (groupId, isLeader, term) whenever a hosted group's leadership changes here. */
  onLeadershipChange(listener: (groupId: number, isLeader: boolean, term: number) => void): void {
    this.leadershipListeners.push(listener);
  }

  private proposeSystem(data: Uint8Array): Promise<unknown> {
    const peer = this.peers.get(SYSTEM_GROUP);
    if (peer === undefined) return Promise.reject(new NotLeaderError('this node hosts no placement-driver member', 0));
    return new Promise((resolve, reject) => {
      if (!peer.isLeader()) {
        reject(new NotLeaderError('not the placement-driver leader', peer.leaderId()));
        return;
      }
      peer.propose(data, (outcome) => {
        if (outcome.kind === 'applied') resolve(outcome.result);
        else reject(new NotLeaderError(outcome.error.message ?? 'proposal lost', peer.leaderId()));
      });
      this.touched.add(peer);
      this.notify();
    });
  }

  /** Creates the first Region of a new cluster on this store (cairn init). */
  async bootstrapRegion(region: Region): Promise<void> {
    const id = Number(region.id ?? 0);
    if (this.peers.has(id)) return;
    const self = (region.peers ?? []).find((p) => Number(p.storeId) === this.storeId);
    if (!self) throw new Error(`bootstrap region ${id} has no peer on store ${this.storeId}`);
    const storage = await LevelRaftStorage.open(this.engine, id);
    // A message may have created the peer while we were reading: never replace a live peer.
    if (this.peers.has(id) || storage.lastIndex() !== 0) {
      throw new Error(`region ${id} already exists on store ${this.storeId}; refusing to bootstrap it`);
    }
    const batch = this.engine.newBatch();
    storage.stage(batch, bootstrapUpdate(confStateOf(region)));
    this.stageRegionState(batch, region);
    this.stageApplyState(batch, id, RAFT_INIT_INDEX, RAFT_INIT_TERM);
    await batch.commit({ sync: true });
    const peer = new Peer(id, Number(self.id), region, storage, this.raftConfig(), RAFT_INIT_INDEX, RAFT_INIT_TERM);
    this.peers.set(id, peer);
    this.touched.add(peer);
    // A one-voter Region elects itself at once instead of waiting out an election timeout.
    if (confStateOf(region).voters.length === 1) peer.raft.campaign();
    this.notify();
  }

  setIdentity(clusterId: number, storeId: number): void {
    this.clusterId = clusterId;
    this.storeId = storeId;
  }

  // ---- Lifecycle -----------------------------------------------------------------------------------

  start(): void {
    if (this.running) return;
    this.running = true;
    this.scheduleTick();
    this.tasks.start();
    this.loopDone = this.runLoop();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tasks.stop();
    this.notify();
    await this.loopDone;
    const gone: kvpb.IRegionError = { message: 'the store is shutting down', serverIsBusy: { reason: 'shutting down', backoffMs: 100 } };
    for (const peer of this.peers.values()) {
      peer.failProposals(gone);
      peer.failReads(gone);
    }
  }

  /** Set when the loop hit an unrecoverable error (a failed write): the process must exit. */
  get fatalError(): Error | undefined {
    return this.fatal;
  }

  private scheduleTick(): void {
    const interval = this.tuning.raft.tickIntervalMs;
    this.tickTimer = setTimeout(() => {
      this.tickDue = true;
      this.notify();
      if (this.running) this.scheduleTick();
    }, interval);
    this.tickTimer.unref();
  }

  /** Wakes the loop: something has work. */
  notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  touch(peer: Peer): void {
    this.touched.add(peer);
  }

  private async runLoop(): Promise<void> {
    while (this.running) {
      if (this.inbox.length === 0 && this.touched.size === 0 && !this.tickDue) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      try {
        await this.iteration();
      } catch (err) {
        // A failed engine write leaves memory ahead of disk: nothing may continue on it.
        this.fatal = err instanceof Error ? err : new Error(String(err));
        this.logger.warn('store loop stopped by an unrecoverable error', { error: this.fatal.message, stack: this.fatal.stack });
        this.running = false;
        for (const peer of this.peers.values()) {
          const error: kvpb.IRegionError = { message: `store failed: ${this.fatal.message}`, serverIsBusy: { reason: 'store failed' } };
          peer.failProposals(error);
          peer.failReads(error);
        }
      }
      // Let I/O callbacks and incoming requests run between iterations.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private async iteration(): Promise<void> {
    // 1. Inbound messages.
    const inbound = this.inbox;
    this.inbox = [];
    for (const m of inbound) this.route(m);
    // Ticks.
    if (this.tickDue) {
      this.tickDue = false;
      if (this.ticksSinceStart < Number.MAX_SAFE_INTEGER) this.ticksSinceStart += 1;
      for (const peer of this.peers.values()) {
        if (peer.hibernating) continue;
        peer.raft.tick();
        this.touched.add(peer);
      }
      this.tasks.onTick();
    }
    // 2. Reads.
    const work = [...this.touched];
    this.touched.clear();
    for (const peer of work) peer.flushReads();

    // 3. Persist every Ready in one batch, one sync.
    const readies: Array<[Peer, Ready]> = [];
    const batch = this.engine.newBatch();
    let sync = false;
    for (const peer of work) {
      if (peer.destroyed || !peer.raft.hasReady()) continue;
      const rd = peer.raft.ready();
      if (rd.snapshot !== undefined) await this.stageSnapshotApply(batch, peer, rd.snapshot);
      const update: RaftPersistUpdate = {
        entries: rd.entries,
        ...(rd.snapshot ? { snapshot: rd.snapshot } : {}),
        ...(rd.hardState ? { hardState: rd.hardState } : {}),
      };
      peer.storage.stage(batch, update);
      sync = sync || rd.mustSync;
      readies.push([peer, rd]);
    }
    if (readies.length === 0) {
      await batch.discard();
      await this.tasks.afterIteration([]);
      return;
    }
    await batch.commit({ sync });

    // 4. Send.
    for (const [peer, rd] of readies) this.sendMessages(peer, rd);
    this.transport.flush();

    // 5. Apply.
    const applyBatch = this.engine.newBatch();
    const effects: Array<[Peer, ApplyEffects]> = [];
    for (const [peer, rd] of readies) {
      if (rd.committedEntries.length === 0) continue;
      effects.push([peer, this.applyCommitted(applyBatch, peer, rd.committedEntries)]);
    }
    if (effects.length > 0) await applyBatch.commit({ sync: false });

    // 6. Advance, then let callers and follow-up work see the new state.
    for (const [peer, rd] of readies) {
      peer.raft.advance();
      for (const rs of rd.readStates) peer.onReadState(rs);
      if (rd.softState !== undefined) this.onSoftState(peer);
    }
    for (const [peer, fx] of effects) this.afterApply(peer, fx);
    for (const [peer] of readies) {
      this.serveReads(peer);
      // More may be ready already (the loop runs again at once if so).
      if (peer.raft.hasReady()) this.touched.add(peer);
    }
    await this.tasks.afterIteration(readies.map(([p]) => p));
  }

  // ---- Routing -------------------------------------------------------------------------------------

  /** Takes a batch from the network (called by the transport's server). */
  receive(batch: raftpb.IRaftBatch): void {
    const cluster = Number(batch.clusterId ?? 0);
    if (cluster !== this.clusterId) {
      this.logger.debug('dropping raft batch of another cluster', { from: batch.fromAddress, cluster, mine: this.clusterId });
      return;
    }
    const messages = batch.messages ?? [];
    if (this.inbox.length + messages.length > this.tuning.limits.maxInboxMessages) {
      // Raft retransmits what is lost; an unbounded inbox would not recover under overload.
      this.logger.warn('raft inbox full; dropping a batch', { from: batch.fromAddress, messages: messages.length });
      return;
    }
    for (const m of messages) this.inbox.push(m);
    this.notify();
  }

  async receiveSnapshot(clusterId: number, message: raftpb.IRaftMessage): Promise<void> {
    if (clusterId !== this.clusterId) throw new Error(`snapshot from cluster ${clusterId}, this store belongs to ${this.clusterId}`);
    this.inbox.push(message);
    this.notify();
  }

  private route(m: raftpb.IRaftMessage): void {
    const groupId = Number(m.regionId ?? 0);
    const toPeer = Number(m.toPeer?.id ?? 0);
    if (m.hibernate) {
      this.onHibernateNotice(m);
      return;
    }
    let decoded;
    try {
      if (!m.message) throw new WireFormatError('raft message without a payload');
      decoded = decodeMessage(m.message);
    } catch (err) {
      this.logger.warn('dropping an undecodable raft message', { group: groupId, error: err instanceof Error ? err.message : String(err) });
      return;
    }
    let peer = this.peers.get(groupId);
    if (groupId !== SYSTEM_GROUP) {
      if (Number(m.toPeer?.storeId ?? 0) !== this.storeId) return;
      if (m.isTombstone) {
        if (peer !== undefined && peer.peerId === toPeer) this.tasks.destroyStalePeer(peer, m.regionEpoch ?? {});
        return;
      }
      if (peer !== undefined && peer.peerId !== toPeer) {
        if (toPeer < peer.peerId) return; // for an older incarnation of our peer
        // We were removed and re-added under a new peer id; the old peer's state is obsolete.
        this.tasks.destroyStalePeer(peer, m.regionEpoch ?? {});
        return;
      }
      if (peer === undefined) {
        peer = this.maybeCreatePeer(m, decoded.type);
        if (peer === undefined) return;
      }
    } else if (peer === undefined) {
      return;
    }
    if (m.fromPeer && groupId !== SYSTEM_GROUP && peer.peerCache.size < MAX_PEER_CACHE) peer.peerCache.set(Number(m.fromPeer.id ?? 0), m.fromPeer);
    if (decoded.type === 'snapshot' && !this.acceptSnapshot(peer, decoded.snapshot)) return;
    try {
      peer.raft.step(decoded);
    } catch (err) {
      this.logger.warn('refused a malformed raft message', { group: groupId, error: err instanceof Error ? err.message : String(err) });
      return;
    }
    // A hibernating leader hears the answers to its last heartbeat round: nothing to wake for.
    if (peer.hibernating && !(decoded.type === 'heartbeatResponse' && peer.isLeader())) this.tasks.wake(peer);
    peer.hibernateWhenApplied = undefined;
    this.touched.add(peer);
  }

  /** The leader of a group went quiet: follow it if we hold everything it has committed. */
  private onHibernateNotice(m: raftpb.IRaftMessage): void {
    const peer = this.peers.get(Number(m.regionId ?? 0));
    if (peer === undefined || peer.isSystem || peer.peerId !== Number(m.toPeer?.id ?? 0)) return;
    const core = peer.raft.core;
    if (core.role !== 'follower' || core.lead !== Number(m.fromPeer?.id ?? 0)) return;
    const last = core.log.lastIndex();
    if (core.log.committed !== last) return;
    if (peer.appliedIndex === last) peer.hibernating = true;
    else peer.hibernateWhenApplied = last;
  }

  /** Tells a hibernating leader's followers to stop ticking too. */
  sendHibernateNotices(peer: Peer): void {
    for (const p of peer.region.peers ?? []) {
      const id = Number(p.id ?? 0);
      if (id === peer.peerId) continue;
      const to = this.peerAddress(peer, id);
      if (to === undefined) continue;
      this.transport.send(to.address, { regionId: peer.groupId, fromPeer: peer.selfMeta(), toPeer: to.peer, regionEpoch: peer.region.epoch ?? {}, hibernate: true });
    }
    this.transport.flush();
  }

  /** A store stopped answering: wake the followers it led, so they can notice and elect. */
  onStoreUnreachable(address: string): void {
    for (const peer of this.peers.values()) {
      if (!peer.hibernating || peer.isLeader()) continue;
      const leader = peer.leaderPeer();
      if (leader !== undefined && this.resolveStore(Number(leader.storeId ?? 0)) === address) this.tasks.wake(peer, 'leaderUnreachable');
    }
    this.notify();
  }

  /** Creates a peer for a Region this store does not host, when a legitimate member contacts it. */
  private maybeCreatePeer(m: raftpb.IRaftMessage, type: string): Peer | undefined {
    const groupId = Number(m.regionId ?? 0);
    const toPeer = Number(m.toPeer?.id ?? 0);
    if (!(type === 'append' || type === 'heartbeat' || type === 'snapshot' || type === 'vote' || type === 'preVote')) return undefined;
    if (this.storeId === 0 || toPeer === 0) return undefined;
    const tomb = this.tombstones.get(groupId);
    const epoch = { confVer: Number(m.regionEpoch?.confVer ?? 0), version: Number(m.regionEpoch?.version ?? 0) };
    if (tomb !== undefined && (toPeer <= tomb.peerId || epochIsStale(epoch, tomb))) return undefined;
    const start = m.startKey ?? EMPTY;
    const end = m.endKey ?? EMPTY;
    const other = this.overlappingPeer(start, end);
    if (other !== undefined) {
      // A Region here still covers part of that range: most likely it has yet to apply the split
      // that creates the new one, and will create it with its data; or it is stale and will be
      // removed. Either way a blank peer must not claim the range now.
      this.logger.debug('not creating a peer whose range overlaps a local region', { region: groupId, overlaps: other.groupId });
      return undefined;
    }
    const storage = LevelRaftStorage.fresh(this.engine, groupId);
    const region: Region = { id: groupId, startKey: start, endKey: end, epoch: m.regionEpoch ?? {}, peers: [] };
    const peer = new Peer(groupId, toPeer, region, storage, this.raftConfig(), 0, 0);
    this.peers.set(groupId, peer);
    this.logger.info('created a peer for a region first heard of', { region: groupId, peer: toPeer, from: Number(m.fromPeer?.id ?? 0) });
    return peer;
  }

  /** An initialised peer of a group other than `exceptGroup` whose Region overlaps [start, end). */
  overlappingPeer(start: Uint8Array, end: Uint8Array, exceptGroup?: number): Peer | undefined {
    for (const other of this.peers.values()) {
      if (other.groupId === exceptGroup || other.isSystem || !other.initialized || other.destroyed) continue;
      if (rangesOverlap(start, end, startKey(other.region), endKey(other.region))) return other;
    }
    return undefined;
  }

  /** Snapshot data is checked before Raft sees it: undecodable or overlapping data is dropped. */
  private acceptSnapshot(peer: Peer, snapshot: Snapshot): boolean {
    try {
      const data = decodeSnapshotData(snapshot.data, (r) => this.rangeOf(peer, r));
      if (peer.isSystem) return true;
      const region = data.region!;
      const other = this.overlappingPeer(startKey(region), endKey(region), peer.groupId);
      if (other !== undefined) {
        this.logger.info('refusing a snapshot overlapping another local region', { region: peer.groupId, overlaps: other.groupId });
        return false;
      }
      return true;
    } catch (err) {
      this.logger.warn('refusing snapshot data', { group: peer.groupId, error: err instanceof Error ? err.message : String(err) });
      return false;
    }
  }

  /** The engine key range a group's state lives in. */
  rangeOf(peer: Peer, region: Region = peer.region): KeyRange {
    if (peer.isSystem) return this.systemGroup!.options.stateMachine.range;
    return userRange(startKey(region), endKey(region));
  }

  private sendMessages(peer: Peer, rd: Ready): void {
    for (const m of rd.messages) {
      const to = this.peerAddress(peer, m.to);
      if (to === undefined) {
        peer.raft.reportUnreachable(m.to);
        continue;
      }
      const rm: raftpb.IRaftMessage = {
        regionId: peer.groupId,
        fromPeer: peer.selfMeta(),
        toPeer: to.peer,
        regionEpoch: peer.region.epoch ?? {},
        startKey: startKey(peer.region),
        endKey: endKey(peer.region),
        message: encodeMessage(m),
      };
      if (m.type === 'snapshot') {
        this.transport.sendSnapshot(to.address, rm).then(
          () => peer.raft.reportSnapshot(m.to, 'finish'),
          (err: unknown) => {
            this.logger.info('snapshot not delivered', { group: peer.groupId, to: m.to, error: err instanceof Error ? err.message : String(err) });
            peer.raft.reportSnapshot(m.to, 'failure');
          },
        ).finally(() => {
          this.touched.add(peer);
          this.notify();
        });
      } else {
        this.transport.send(to.address, rm);
      }
    }
  }

  private peerAddress(peer: Peer, to: number): { address: string; peer: metapb.IPeer } | undefined {
    if (peer.isSystem) {
      const address = this.systemGroup?.memberAddress.get(to);
      return address === undefined ? undefined : { address, peer: { id: to, storeId: 0 } };
    }
    const target = (peer.region.peers ?? []).find((p) => Number(p.id) === to) ?? peer.peerCache.get(to);
    if (target === undefined) return undefined;
    const address = this.resolveStore(Number(target.storeId ?? 0));
    return address === undefined ? undefined : { address, peer: target };
  }

  // ---- Applying --------------------------------------------------------------------------------------

  private async stageSnapshotApply(batch: WriteBatch, peer: Peer, snapshot: Snapshot): Promise<void> {
    const data = decodeSnapshotData(snapshot.data, (r) => this.rangeOf(peer, r));
    const region = peer.isSystem ? peer.region : data.region!;
    const range = this.rangeOf(peer, region);
    // The snapshot replaces everything the group had in its range. Only an initialised peer has
    // data of its own: a blank one (created by a message) knows a range from that message, which
    // may be long out of date and cover Regions this store has filled since.
    if (peer.initialized) for (const key of await keysInRange(this.engine.db, this.rangeOf(peer))) batch.del(key);
    if (!peer.isSystem) {
      const other = this.overlappingPeer(startKey(region), endKey(region), peer.groupId);
      // acceptSnapshot refused overlapping snapshots, and the loop creates no peer between then and now.
      if (other !== undefined) throw new Error(`invariant: a snapshot of region ${peer.groupId} overlaps local region ${other.groupId}`);
      for (const key of await keysInRange(this.engine.db, range)) batch.del(key);
    }
    const pairs: Array<[Uint8Array, Uint8Array]> = [];
    for (const pair of data.pairs) {
      const key = pair.key ?? EMPTY;
      const value = pair.value ?? EMPTY;
      batch.put(key, value);
      pairs.push([key, value]);
    }
    if (!peer.isSystem) {
      peer.region = region;
      this.stageRegionState(batch, region);
    }
    const gcSafePoint = decodeTs(data.gcSafePoint);
    this.stageApplyState(batch, peer.groupId, snapshot.meta.index, snapshot.meta.term, gcSafePoint);
    batch.onCommitted(() => {
      peer.appliedIndex = snapshot.meta.index;
      peer.appliedTerm = snapshot.meta.term;
      peer.gcSafePoint = gcSafePoint;
      peer.generatedSnapshot = undefined;
      if (peer.isSystem) this.systemGroup!.options.stateMachine.reload(pairs);
      this.logger.info('applied a snapshot', { group: peer.groupId, index: snapshot.meta.index, keys: pairs.length });
    });
  }

  private applyCommitted(batch: WriteBatch, peer: Peer, entries: readonly Entry[]): ApplyEffects {
    let fx: ApplyEffects;
    if (peer.isSystem) fx = this.applySystemEntries(batch, peer, entries);
    else fx = applyRegionEntries(this, batch, peer, entries);
    const last = entries[entries.length - 1]!;
    this.stageApplyState(batch, peer.groupId, last.index, last.term, peer.gcSafePoint);
    return fx;
  }

  private applySystemEntries(batch: WriteBatch, peer: Peer, entries: readonly Entry[]): ApplyEffects {
    const sm = this.systemGroup!.options.stateMachine;
    const settled: Array<() => void> = [];
    for (const e of entries) {
      if (e.kind === 'confChange') {
        // The placement driver's membership is fixed by the join list; a change is ignored.
        peer.raft.applyConfChange({ ...decodeConfChange(e.data), changes: [] });
        continue;
      }
      if (e.data.byteLength === 0) continue;
      const { writes, outcome } = sm.apply(e.data);
      for (const w of writes) {
        if (w.value === null) batch.del(w.key);
        else batch.put(w.key, w.value);
      }
      settled.push(() => peer.settleProposal(e.index, e.term, { kind: 'applied', result: outcome }));
    }
    const last = entries[entries.length - 1]!;
    return { lastIndex: last.index, lastTerm: last.term, settle: settled, splits: [], destroySelf: false, regionChanged: false, writtenBytes: 0, writtenKeys: 0 };
  }

  private afterApply(peer: Peer, fx: ApplyEffects): void {
    peer.appliedIndex = fx.lastIndex;
    peer.appliedTerm = fx.lastTerm;
    if (peer.hibernateWhenApplied !== undefined && peer.appliedIndex >= peer.hibernateWhenApplied) {
      peer.hibernateWhenApplied = undefined;
      if (!peer.isLeader()) peer.hibernating = true;
    }
    peer.writtenBytes += fx.writtenBytes;
    peer.writtenKeys += fx.writtenKeys;
    for (const settle of fx.settle) settle();
    // Whatever stayed pending below the applied index can no longer be applied.
    for (const index of [...peer.pendingProposals.keys()]) {
      if (index <= fx.lastIndex) peer.settleProposal(index, -1, { kind: 'applied', result: undefined });
    }
    this.pendingProposalCount = [...this.peers.values()].reduce((n, p) => n + p.pendingProposals.size, 0);
    for (const split of fx.splits) this.tasks.onSplitApplied(peer, split);
    if (fx.regionChanged) {
      // A snapshot made before a membership change would be refused by a member it omits, and
      // one made before a split covers the wrong range: make the next one afresh.
      peer.generatedSnapshot = undefined;
      if (peer.isLeader()) this.tasks.heartbeatSoon(peer);
    }
    if (fx.destroySelf) this.tasks.destroyRemovedPeer(peer);
  }

  private onSoftState(peer: Peer): void {
    const leader = peer.isLeader();
    const was = this.wasLeader.get(peer.groupId) ?? false;
    if (leader === was) return;
    this.wasLeader.set(peer.groupId, leader);
    if (!leader) {
      // Reads waiting for this peer's leadership can no longer be confirmed here.
      peer.failReads(peer.notLeaderError('leadership moved'));
    } else if (!peer.isSystem) {
      this.tasks.heartbeatSoon(peer);
    }
    for (const l of this.leadershipListeners) l(peer.groupId, leader, peer.raft.core.term);
  }

  private serveReads(peer: Peer): void {
    for (const batch of peer.takeServableReads()) for (const w of batch.waiters) w({ kind: 'ready' });
  }

  // ---- State records ---------------------------------------------------------------------------------

  stageRegionState(batch: WriteBatch, region: Region, state: raftcmdpb.PeerState = raftcmdpb.PeerState.PEER_NORMAL): void {
    const id = Number(region.id ?? 0);
    batch.put(regionStateKey(id), raftcmdpb.RegionLocalState.encode({ region, state }).finish());
  }

  stageApplyState(batch: WriteBatch, groupId: number, index: number, term: number, gcSafePoint = 0n): void {
    const state: raftcmdpb.IApplyState = { appliedIndex: index, appliedTerm: term };
    if (gcSafePoint > 0n) state.gcSafePoint = encodeTs(gcSafePoint);
    batch.put(regionApplyStateKey(groupId), raftcmdpb.ApplyState.encode(state).finish());
  }

  stageTombstone(batch: WriteBatch, region: Region, peerId: number): void {
    const id = Number(region.id ?? 0);
    batch.del(regionStateKey(id));
    batch.del(regionApplyStateKey(id));
    batch.put(regionTombstoneKey(id), raftcmdpb.RegionLocalState.encode({ region, state: raftcmdpb.PeerState.PEER_TOMBSTONE }).finish());
    this.tombstones.set(id, { peerId, ...epochOf(region) });
  }

  // ---- Requests ---------------------------------------------------------------------------------------

  /** Proposes a command to a Region's leader peer; resolves with the outcome once applied. */
  proposeCommand(peer: Peer, command: raftcmdpb.IRaftCommand): Promise<ProposalOutcome> {
    if (this.pendingProposalCount >= this.tuning.limits.maxPendingProposals) {
      return Promise.resolve({
        kind: 'regionError',
        error: { message: 'too many writes in flight on this store', serverIsBusy: { reason: 'pending proposals', backoffMs: 50 } },
      });
    }
    return new Promise((resolve) => {
      const data = raftcmdpb.RaftCommand.encode(command).finish();
      peer.propose(data, resolve);
      this.pendingProposalCount++;
      if (peer.hibernating) this.tasks.wake(peer);
      peer.idleTicks = 0;
      this.touched.add(peer);
      this.notify();
    });
  }

  /** Waits until a linearizable read may be served on `peer` (lease or read index). */
  readBarrier(peer: Peer): Promise<kvpb.IRegionError | undefined> {
    return new Promise((resolve) => {
      peer.queueRead((outcome) => resolve(outcome.kind === 'ready' ? undefined : outcome.error));
      if (peer.hibernating) this.tasks.wake(peer);
      peer.idleTicks = 0;
      this.touched.add(peer);
      this.notify();
    });
  }

  /** A snapshot of this store's state for diagnostics and the placement driver. */
  status(): StoreStatus {
    let leaders = 0;
    let hibernating = 0;
    let regions = 0;
    let pending = 0;
    for (const p of this.peers.values()) {
      if (p.isSystem) continue;
      regions++;
      if (p.isLeader()) leaders++;
      if (p.hibernating) hibernating++;
      pending += p.pendingProposals.size;
    }
    return { regions, leaders, hibernating, pendingProposals: pending };
  }

  /** Generates a peer's snapshot data from an engine iterator opened now. */
  generateSnapshot(peer: Peer): void {
    if (peer.snapshotGenerating) return;
    peer.snapshotGenerating = true;
    peer.snapshotRequested = false;
    const index = peer.appliedIndex;
    const term = peer.storage.term(index);
    const confState = peer.raft.status().config;
    const region = peer.region;
    const iterator = openSnapshotIterator(this.engine.db, this.rangeOf(peer));
    collectSnapshotData(iterator, peer.isSystem ? { id: 0 } : region, this.tuning.limits.maxSnapshotBytes, peer.gcSafePoint)
      .then((data) => {
        peer.generatedSnapshot = { meta: { index, term, confState }, data };
        this.logger.info('generated a snapshot', { group: peer.groupId, index, bytes: data.byteLength });
      })
      .catch((err: unknown) => this.logger.warn('snapshot generation failed', { group: peer.groupId, error: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        peer.snapshotGenerating = false;
        this.touched.add(peer);
        this.notify();
      });
  }

  /**
   * Stages the peer of a Region born from a split applied on this store into the split's own
   * batch and returns it, not yet registered (see adoptSplitPeer). Undefined when an initialised
   * peer of that Region is here already.
   */
  prepareSplitPeer(batch: WriteBatch, region: Region, peerId: number, gcSafePoint: bigint): Peer | undefined {
    const id = Number(region.id ?? 0);
    const existing = this.peers.get(id);
    if (existing?.initialized) {
      this.logger.warn('split target region already exists here; keeping it', { region: id });
      return undefined;
    }
    const other = this.overlappingPeer(startKey(region), endKey(region), id);
    if (other !== undefined) {
      // A snapshot gave this store a later state of (part of) the range already: the new Region
      // will be created by its leader's message and filled by a snapshot instead.
      this.logger.info('not creating a split region that overlaps a local region', { region: id, overlaps: other.groupId });
      return undefined;
    }
    const storage = LevelRaftStorage.fresh(this.engine, id);
    const update = bootstrapUpdate(confStateOf(region));
    // A peer created earlier by a message (before this store applied the split) may have voted in
    // a later term: keep that vote.
    const hs = existing?.storage.initialState().hardState;
    if (hs !== undefined && hs.term > RAFT_INIT_TERM) {
      storage.stage(batch, { ...update, hardState: { term: hs.term, vote: hs.vote, commit: RAFT_INIT_INDEX } });
    } else {
      storage.stage(batch, update);
    }
    this.stageRegionState(batch, region);
    // The new half starts with the safe point of the Region it came from.
    this.stageApplyState(batch, id, RAFT_INIT_INDEX, RAFT_INIT_TERM, gcSafePoint);
    const peer = new Peer(id, peerId, region, storage, this.raftConfig(), RAFT_INIT_INDEX, RAFT_INIT_TERM);
    peer.gcSafePoint = gcSafePoint;
    return peer;
  }

  /** Registers a peer made by prepareSplitPeer once its batch is durable, replacing any blank one. */
  adoptSplitPeer(peer: Peer): void {
    const existing = this.peers.get(peer.groupId);
    if (existing !== undefined && existing !== peer) {
      if (existing.initialized) throw new Error(`invariant: region ${peer.groupId} became initialised while its split was applied`);
      existing.destroyed = true;
    }
    this.peers.set(peer.groupId, peer);
    this.touched.add(peer);
  }

  compareRegions(a: Region, b: Region): number {
    return compareBytes(startKey(a), startKey(b));
  }
}
