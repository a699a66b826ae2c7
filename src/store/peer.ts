// One replica of one Raft group hosted by a store: a Region's peer, or this node's member of the
// placement driver's group (group 0). It owns the Raft node, the group's log storage, what has
// been applied, and the callers waiting on proposals and reads. The store loop drives it.
import {
  RaftNode,
  SnapshotTemporarilyUnavailableError,
  type RaftConfig,
  type ReadState,
  type Snapshot,
  type Storage,
} from '../raft/index.js';
import type { LevelRaftStorage } from '../storage/level_raft_storage.js';
import type { kvpb, metapb } from '../proto/index.js';
import { DelegatingStorage } from '../storage/delegating_storage.js';
import { epochOf, peersOf, type Region } from './region.js';

/** What a proposal's caller eventually learns. */
export type ProposalOutcome =
  | { readonly kind: 'applied'; readonly result: unknown }
  | { readonly kind: 'regionError'; readonly error: kvpb.IRegionError };

export interface PendingProposal {
  readonly term: number;
  readonly resolve: (outcome: ProposalOutcome) => void;
}

/** Reads waiting for one read index: served once the peer has applied up to it. */
export interface ReadBatch {
  readonly waiters: Array<(outcome: ReadOutcome) => void>;
  readIndex: number | undefined;
}

export type ReadOutcome = { readonly kind: 'ready' } | { readonly kind: 'regionError'; readonly error: kvpb.IRegionError };

/**
 * A snapshot of this peer's state, generated on demand from the engine at the applied index.
 * The Raft leader asks Storage.snapshot(); the first ask starts generation and answers
 * "temporarily unavailable", a later one gets it.
 */
class PeerStorage extends DelegatingStorage {
  constructor(
    inner: Storage,
    private readonly peer: Peer,
  ) {
    super(inner);
  }

  override snapshot(): Snapshot {
    const ready = this.peer.generatedSnapshot;
    // A generated snapshot serves as long as it still covers the compacted part of the log.
    if (ready !== undefined && ready.meta.index >= this.inner.firstIndex() - 1) return ready;
    this.peer.snapshotRequested = true;
    throw new SnapshotTemporarilyUnavailableError();
  }
}

export class Peer {
  readonly raft: RaftNode;
  readonly pendingProposals = new Map<number, PendingProposal>();
  /**
   * Peers learned from incoming messages. A peer created by a message does not know its Region's
   * members yet, but must be able to answer the one that contacted it.
   */
  readonly peerCache = new Map<number, metapb.IPeer>();
  /** Reads collected since the last read-index request. */
  nextReads: ReadBatch | undefined = undefined;
  readonly readBatches = new Map<number, ReadBatch>();
  private readSeq = 0;
  appliedIndex: number;
  appliedTerm: number;
  /** Reads below this timestamp are refused: garbage collection may have removed what they need. Replicated (Raft command), persisted with the apply state. */
  gcSafePoint = 0n;
  generatedSnapshot: Snapshot | undefined = undefined;
  snapshotRequested = false;
  snapshotGenerating = false;
  /** Set once the peer has been removed; the store deletes its state. */
  destroyed = false;
  /** Ticks without any Raft traffic or proposal, for hibernation. */
  idleTicks = 0;
  hibernating = false;
  /**
   * A hibernate notice came while this follower was still applying: it goes quiet once it has
   * applied up to here, unless anything else happens first.
   */
  hibernateWhenApplied: number | undefined = undefined;
  /** Bytes and keys written since the last split check, and the last check's totals. */
  writtenBytes = 0;
  writtenKeys = 0;
  approximateSize = 0;
  approximateKeys = 0;
  splitCheckInFlight = false;
  /**
   * A split check is owed whatever was written since: this Region was just made by a split (or
   * shrunk by one) and may still be too large, or the last check found it too large but could not
   * split it. Not before `splitCheckNotBeforeMs`.
   */
  splitCheckDue = true;
  splitCheckNotBeforeMs = 0;
  lastHeartbeatMs = 0;

  constructor(
    readonly groupId: number,
    readonly peerId: number,
    /** The Region descriptor (for group 0, a descriptor with id 0 and no range). */
    public region: Region,
    readonly storage: LevelRaftStorage,
    raftConfig: Omit<RaftConfig, 'id' | 'storage' | 'applied'>,
    applied: number,
    appliedTerm: number,
  ) {
    this.appliedIndex = applied;
    this.appliedTerm = appliedTerm;
    const view = new PeerStorage(storage, this);
    this.raft = new RaftNode({ ...raftConfig, id: peerId, storage: view, applied });
  }

  get regionId(): number {
    return this.groupId;
  }

  get isSystem(): boolean {
    return this.groupId === 0;
  }

  isLeader(): boolean {
    return this.raft.core.role === 'leader';
  }

  leaderId(): number {
    return this.raft.core.lead;
  }

  /** The leader as a meta Peer, if this peer knows it and it is in the descriptor. */
  leaderPeer(): metapb.IPeer | undefined {
    const lead = this.leaderId();
    if (lead === 0) return undefined;
    return (this.region.peers ?? []).find((p) => Number(p.id) === lead) ?? { id: lead };
  }

  /** Whether the peer knows its Region (a peer created by a message has no range until its first snapshot). */
  get initialized(): boolean {
    return this.isSystem || peersOf(this.region).length > 0;
  }

  epoch(): { confVer: number; version: number } {
    return epochOf(this.region);
  }

  selfMeta(): metapb.IPeer {
    return (this.region.peers ?? []).find((p) => Number(p.id) === this.peerId) ?? { id: this.peerId };
  }

  /** Proposes a payload; the outcome arrives when the entry is applied (or is known lost). */
  propose(data: Uint8Array, resolve: (outcome: ProposalOutcome) => void): void {
    const result = this.raft.propose(data);
    if (result.kind === 'appended') {
      this.pendingProposals.set(result.index, { term: result.term, resolve });
      return;
    }
    resolve({ kind: 'regionError', error: this.notLeaderError(result.kind === 'dropped' ? result.detail : 'forwarded') });
  }

  /** Settles proposals up to `index` against the entry applied there. */
  settleProposal(index: number, term: number, outcome: ProposalOutcome): void {
    const p = this.pendingProposals.get(index);
    if (p === undefined) return;
    this.pendingProposals.delete(index);
    // Another leader's entry landed at our index: our proposal is gone for good.
    p.resolve(p.term === term ? outcome : { kind: 'regionError', error: staleCommand() });
  }

  /** Queues a read; all reads queued before the next loop iteration share one read index. */
  queueRead(waiter: (outcome: ReadOutcome) => void): void {
    if (this.nextReads === undefined) this.nextReads = { waiters: [], readIndex: undefined };
    this.nextReads.waiters.push(waiter);
  }

  /** Turns the queued reads into one read-index request. */
  flushReads(): void {
    const batch = this.nextReads;
    if (batch === undefined) return;
    this.nextReads = undefined;
    const seq = ++this.readSeq;
    const context = new Uint8Array(8);
    new DataView(context.buffer).setFloat64(0, seq);
    const result = this.raft.readIndex(context);
    if (result.kind === 'dropped') {
      const error = this.notLeaderError(result.reason);
      for (const w of batch.waiters) w({ kind: 'regionError', error });
      return;
    }
    this.readBatches.set(seq, batch);
  }

  onReadState(rs: ReadState): void {
    if (rs.context.byteLength !== 8) return;
    const seq = new DataView(rs.context.buffer, rs.context.byteOffset, 8).getFloat64(0);
    const batch = this.readBatches.get(seq);
    if (batch !== undefined) batch.readIndex = rs.index;
  }

  /** Read batches whose read index this peer has now applied. */
  takeServableReads(): ReadBatch[] {
    const out: ReadBatch[] = [];
    for (const [seq, batch] of this.readBatches) {
      if (batch.readIndex !== undefined && batch.readIndex <= this.appliedIndex) {
        out.push(batch);
        this.readBatches.delete(seq);
      }
    }
    return out;
  }

  /** Fails every read still waiting (leadership moved: they can no longer be confirmed here). */
  failReads(error: kvpb.IRegionError): void {
    const all = [...this.readBatches.values()];
    if (this.nextReads !== undefined) all.push(this.nextReads);
    this.readBatches.clear();
    this.nextReads = undefined;
    for (const batch of all) for (const w of batch.waiters) w({ kind: 'regionError', error });
  }

  failProposals(error: kvpb.IRegionError): void {
    const all = [...this.pendingProposals.values()];
    this.pendingProposals.clear();
    for (const p of all) p.resolve({ kind: 'regionError', error });
  }

  notLeaderError(detail: string): kvpb.IRegionError {
    const leader = this.leaderPeer();
    return {
      message: `peer ${this.peerId} of region ${this.groupId} is not the leader (${detail})`,
      notLeader: { regionId: this.groupId, ...(leader ? { leader } : {}) },
    };
  }
}

export function staleCommand(): kvpb.IRegionError {
  return { message: 'the proposal was overwritten by another leader before it committed; retry', staleCommand: {} };
}
