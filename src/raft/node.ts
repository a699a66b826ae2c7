import type { RaftConfig } from './config.js';
import type { ConfChange } from './confchange/types.js';
import { RaftUsageError } from './errors.js';
import {
  Raft,
  type ConfChangeApplyResult,
  type ProposeResult,
  type ReadIndexResult,
  type SnapshotStatus,
} from './raft.js';
import type { ProgressState } from './tracker/progress.js';
import {
  hardStateEqual,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type Ready,
  type SoftState,
  type StateRole,
} from './types.js';
import { configToConfState } from './tracker/config.js';

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly paused: boolean;
  readonly recentActive: boolean;
  readonly isLearner: boolean;
  readonly pendingSnapshot: number;
  readonly inflight: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly lead: NodeId;
  readonly role: StateRole;
  readonly leadTransferee: NodeId;
  readonly config: ConfState;
  readonly uncommittedSize: number;
  /** Only on the leader. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus> | undefined;
}

export type RaftFactory = (config: RaftConfig) => Raft;

/**
 * The driving interface of one Raft node (see README.md for the contract):
 *
 *   loop:
 *     node.tick() on a timer; node.step(m) for each received message; node.propose(...) etc.
 *     if node.hasReady():
 *       rd = node.ready()
 *       persist rd.snapshot, rd.entries, rd.hardState   (one synced write when rd.mustSync)
 *       send rd.messages
 *       apply rd.snapshot, then rd.committedEntries in order
 *       node.advance()
 */
export class RaftNode {
  private readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private outstanding: Ready | undefined = undefined;

  constructor(config: RaftConfig, factory: RaftFactory = (c) => new Raft(c)) {
    this.raft = factory(config);
    this.prevSoft = { leader: this.raft.lead, role: this.raft.role };
    this.prevHard = this.raft.hardState();
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** Advances logical time by one tick (election and heartbeat timeouts are counted in ticks). */
  tick(): void {
    this.raft.tick();
  }

  /**
   * Feeds a message received from a peer. Messages not addressed to this node or without a sender
   * are refused with RaftUsageError (the transport must check addressing before stepping).
   */
  step(m: Message): void {
    if (m.to !== this.raft.id) throw new RaftUsageError(`message ${m.type} for node ${m.to} stepped into node ${this.raft.id}`);
    const problem = messageProblem(m);
    if (problem !== undefined) throw new RaftUsageError(`malformed ${m.type} from ${m.from}: ${problem}`);
    this.raft.step(m);
  }

  /** Starts an election now (subject to the same checks as an election timeout). */
  campaign(): void {
    this.raft.hup(false);
  }

  propose(data: Uint8Array): ProposeResult {
    return this.raft.propose([{ term: 0, index: 0, kind: 'normal', data }]);
  }

  /** Proposes several entries at once; they are appended contiguously or not at all. */
  proposeBatch(datas: readonly Uint8Array[]): ProposeResult {
    if (datas.length === 0) throw new RaftUsageError('proposeBatch needs at least one entry');
    const entries: Entry[] = datas.map((data) => ({ term: 0, index: 0, kind: 'normal', data }));
    return this.raft.propose(entries);
  }

  proposeConfChange(cc: ConfChange): ProposeResult {
    return this.raft.proposeConfChange(cc);
  }

  /** Must be called when a committed 'confChange' entry is applied, in log order. */
  applyConfChange(cc: ConfChange): ConfChangeApplyResult {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Asks for a linearizable read point. When confirmed, a ReadState with the same context comes
   * out in a later Ready. Requests are dropped silently if leadership changes before
   * confirmation: callers retry after a timeout.
   */
  readIndex(context: Uint8Array): ReadIndexResult {
    return this.raft.readIndex(context);
  }

  transferLeader(target: NodeId): void {
    this.raft.transferLeader(target);
  }

  /**
   * Tells a node that was not ticked for a while (hibernating) that it is running again. A leader
   * drops its lease: reads need a fresh heartbeat round before the lease serves them again. A
   * follower told that its leader is unreachable counts the leader's silence as a full election
   * timeout; that is safe only because a paused follower acknowledged no heartbeat round while
   * paused (any round would have resumed it), so no leader's lease rests on it.
   */
  resumeAfterPause(options: { leaderUnreachable?: boolean } = {}): void {
    this.raft.resetLease();
    if (options.leaderUnreachable) this.raft.expireLeaderContact();
  }

  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    this.raft.reportSnapshot(id, status);
  }

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    const r = this.raft;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.log.unstable.snapshot !== undefined || r.log.unstableEntries().length > 0) return true;
    if (r.log.hasNextCommittedEntries()) return true;
    if (r.lead !== this.prevSoft.leader || r.role !== this.prevSoft.role) return true;
    return !hardStateEqual(r.hardState(), this.prevHard);
  }

  ready(): Ready {
    if (this.outstanding !== undefined) {
      throw new RaftUsageError('ready() called again before advance() acknowledged the previous Ready');
    }
    const r = this.raft;
    const soft: SoftState = { leader: r.lead, role: r.role };
    const softChanged = soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role;
    const hard = r.hardState();
    const hardChanged = !hardStateEqual(hard, this.prevHard);
    const entries = r.log.unstableEntries().slice();
    const snapshot = r.log.unstable.snapshot;
    const committedEntries = r.log.nextCommittedEntries();
    const messages = groupByDestination(r.takeMessages());
    const rd: Ready = {
      softState: softChanged ? soft : undefined,
      hardState: hardChanged ? hard : undefined,
      readStates: r.takeReadStates(),
      entries,
      snapshot,
      committedEntries,
      messages,
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        hard.term !== this.prevHard.term ||
        hard.vote !== this.prevHard.vote ||
        this.commitCrossesConfChange(this.prevHard.commit, hard.commit),
    };
    if (softChanged) this.prevSoft = soft;
    if (hardChanged) this.prevHard = hard;
    this.outstanding = rd;
    return rd;
  }

  /**
   * Whether the commit index moved past a conf change entry. Such a commit is synced: a node
   * that forgot (after a power loss) that a membership change committed could campaign under the
   * old membership, and a group whose members disagree on membership by more than one change
   * can elect two leaders. Conf changes are rare, so this costs almost nothing.
   */
  private commitCrossesConfChange(from: number, to: number): boolean {
    if (to <= from) return false;
    const log = this.raft.log;
    let lo = Math.max(from + 1, log.firstIndex());
    const hi = Math.min(to, log.lastIndex()) + 1;
    while (lo < hi) {
      const page = log.slice(lo, hi, this.raft.maxSizePerMsg);
      for (const e of page) if (e.kind === 'confChange') return true;
      lo += page.length;
    }
    return false;
  }

  /**
   * Acknowledges the last Ready: its entries, hard state and snapshot are persisted, its messages
   * sent, and its snapshot and committed entries applied (or handed, in order, to an applier).
   */
  advance(): void {
    const rd = this.outstanding;
    if (rd === undefined) throw new RaftUsageError('advance() called without an outstanding Ready');
    this.outstanding = undefined;
    const r = this.raft;
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry !== undefined) r.log.stableTo(lastEntry.index, lastEntry.term);
    let applied = r.log.applied;
    if (rd.snapshot !== undefined) {
      r.log.stableSnapTo(rd.snapshot.meta.index);
      applied = Math.max(applied, rd.snapshot.meta.index);
    }
    let appliedBytes = 0;
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      applied = Math.max(applied, lastCommitted.index);
      for (const e of rd.committedEntries) appliedBytes += e.data.byteLength;
    }
    if (applied !== r.log.applied) r.appliedTo(applied, appliedBytes);
  }

  status(): RaftStatus {
    const r = this.raft;
    let progress: Map<NodeId, ProgressStatus> | undefined;
    if (r.role === 'leader') {
      progress = new Map();
      r.tracker.visit((id, pr) => {
        progress!.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          paused: pr.isPaused(),
          recentActive: pr.recentActive,
          isLearner: pr.isLearner,
          pendingSnapshot: pr.pendingSnapshot,
          inflight: pr.inflights.count,
        });
      });
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
      lead: r.lead,
      role: r.role,
      leadTransferee: r.leadTransferee,
      config: configToConfState(r.tracker.config),
      uncommittedSize: r.uncommittedSize,
      progress,
    };
  }

  /** The underlying state machine, for tests and diagnostics. */
  get core(): Raft {
    return this.raft;
  }
}

const isIndex = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/**
 * Shape checks for a message from the network, so that a malformed one is refused at the door
 * instead of tripping an invariant (which would stop the node) or corrupting the log. What a
 * well-formed message claims is then judged by the protocol itself.
 */
function messageProblem(m: Message): string | undefined {
  if (!Number.isSafeInteger(m.from) || m.from <= 0) return `invalid sender ${m.from}`;
  if (!isIndex(m.term)) return `invalid term ${m.term}`;
  const forwarded = m.type === 'propose' || m.type === 'readIndex';
  if (forwarded !== (m.term === 0)) return forwarded ? 'a forwarded request carries no term' : 'missing term';
  switch (m.type) {
    case 'append': {
      if (!isIndex(m.index) || !isIndex(m.logTerm) || !isIndex(m.commit)) return 'invalid index, log term or commit';
      if (m.logTerm > m.term) return `previous entry's term ${m.logTerm} is newer than the message's ${m.term}`;
      let prevTerm = m.logTerm;
      for (let i = 0; i < m.entries.length; i++) {
        const e = m.entries[i]!;
        if (e.index !== m.index + 1 + i) return `entry ${i} has index ${e.index}, expected ${m.index + 1 + i}`;
        if (!isIndex(e.term) || e.term < prevTerm || e.term > m.term) return `entry ${e.index} has term ${e.term} out of order`;
        if (e.kind !== 'normal' && e.kind !== 'confChange') return `entry ${e.index} has unknown kind`;
        if (!(e.data instanceof Uint8Array)) return `entry ${e.index} has no payload bytes`;
        prevTerm = e.term;
      }
      return undefined;
    }
    case 'appendResponse':
      return isIndex(m.index) && isIndex(m.hintIndex) && isIndex(m.hintTerm) ? undefined : 'invalid index or hint';
    case 'vote':
    case 'preVote':
      return isIndex(m.lastIndex) && isIndex(m.lastTerm) && m.term > 0 ? undefined : 'invalid last index or term';
    case 'heartbeat':
      return isIndex(m.commit) && isIndex(m.readSeq) ? undefined : 'invalid commit or round';
    case 'heartbeatResponse':
      return isIndex(m.readSeq) ? undefined : 'invalid round';
    case 'snapshot': {
      const meta = m.snapshot?.meta;
      if (meta === undefined || !isIndex(meta.index) || !isIndex(meta.term) || meta.index === 0) return 'invalid snapshot metadata';
      if (meta.term > m.term) return `snapshot term ${meta.term} is newer than the message's ${m.term}`;
      return m.snapshot.data instanceof Uint8Array ? undefined : 'snapshot has no data bytes';
    }
    case 'propose':
      if (m.entries.length === 0) return 'no entries';
      for (const e of m.entries) {
        if (e.kind !== 'normal' && e.kind !== 'confChange') return 'entry of unknown kind';
        if (!(e.data instanceof Uint8Array)) return 'entry without payload bytes';
      }
      return undefined;
    case 'readIndexResponse':
      return isIndex(m.index) ? undefined : 'invalid index';
    case 'transferLeader':
      return Number.isSafeInteger(m.target) && m.target > 0 ? undefined : 'invalid target';
    default:
      return undefined;
  }
}

/** Stable grouping: messages for one peer stay in the order they were produced. */
function groupByDestination(msgs: Message[]): Message[] {
  if (msgs.length <= 1) return msgs;
  return msgs.sort((a, b) => a.to - b.to);
}
