import { resolveConfig, type RaftConfig, type RaftLogger, type ResolvedRaftConfig } from './config.js';
import { applyConfChangeTo, type ChangeResult } from './confchange/changer.js';
import { ConfChangeDecodeError, decodeConfChange, encodeConfChange } from './confchange/codec.js';
import { leaveJointChange, describeConfChange, type ConfChange } from './confchange/types.js';
import { LogCompactedError, SnapshotTemporarilyUnavailableError, invariant } from './errors.js';
import { RaftLog } from './log/raft_log.js';
import { ReadOnly } from './read_only.js';
import { configFromConfState, configToConfState, validateConfig, type TrackerConfig } from './tracker/config.js';
import type { Progress } from './tracker/progress.js';
import { ProgressTracker } from './tracker/tracker.js';
import {
  NONE,
  type AppendMessage,
  type AppendResponse,
  type ConfState,
  type Entry,
  type HeartbeatMessage,
  type HeartbeatResponse,
  type Message,
  type NodeId,
  type ProposeMessage,
  type RandomSource,
  type ReadIndexRequest,
  type ReadState,
  type Snapshot,
  type SnapshotMessage,
  type StateRole,
  type TransferLeaderRequest,
  type VoteRequest,
  type VoteResponse,
} from './types.js';

export type ProposalDropReason =
  | 'noLeader'
  | 'notLeader'
  | 'leaderTransferring'
  | 'uncommittedLogFull'
  | 'confChangePending'
  | 'invalidConfChange'
  | 'invalidProposal';

export type ProposeResult =
  | { readonly kind: 'appended'; readonly index: number; readonly term: number }
  | { readonly kind: 'forwarded'; readonly to: NodeId }
  | { readonly kind: 'dropped'; readonly reason: ProposalDropReason; readonly detail: string; readonly leader: NodeId };

export type ReadIndexResult =
  | { readonly kind: 'pending' }
  | { readonly kind: 'forwarded'; readonly to: NodeId }
  | { readonly kind: 'dropped'; readonly reason: 'noLeader' | 'tooManyPendingReads'; readonly leader: NodeId };

export type SnapshotStatus = 'finish' | 'failure';

export interface ConfChangeApplyResult {
  readonly confState: ConfState;
  /** Set when the committed change was invalid for the current config and was ignored by every replica. */
  readonly rejected: string | undefined;
}

export type CampaignKind = 'preElection' | 'election' | 'transfer';

/** Mutable shapes of the messages the leader may still merge before they are handed out. */
type MutableAppend = { -readonly [K in keyof AppendMessage]: AppendMessage[K] } & { entries: Entry[] };
type MutableHeartbeat = { -readonly [K in keyof HeartbeatMessage]: HeartbeatMessage[K] };

/**
 * The Raft consensus algorithm for one node, as a deterministic state machine. It performs no
 * I/O: inputs arrive through `tick`, `step` and the request methods; outputs accumulate in
 * `msgs`, `readStates` and the log, and RaftNode packages them into a Ready.
 *
 * Methods that embody a rule of the protocol are `protected` so that test-only variants can plant
 * a known bug and show that the simulator catches it.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  role: StateRole = 'follower';
  lead: NodeId = NONE;
  /** Whether this node is a learner in its own current configuration. */
  get isLearner(): boolean {
    return this.tracker.progress.get(this.id)?.isLearner ?? false;
  }

  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  readonly readOnly: ReadOnly;

  /** Outgoing messages since the last Ready. */
  msgs: Message[] = [];
  /** For each destination, the position in `msgs` of the last message to it (to merge into). */
  private lastMsgTo = new Map<NodeId, number>();
  /** Payload bytes of that last message when it is an append (kept so merging stays O(1)). */
  private lastAppendBytes = new Map<NodeId, number>();
  readStates: ReadState[] = [];

  /** During a leadership transfer: the target. Proposals are refused meanwhile. */
  leadTransferee: NodeId = NONE;
  /** The index of the last conf change appended by this leader; a new one waits until it is applied. */
  pendingConfIndex = 0;
  /**
   * Leader only: the membership this group is heading for (every conf change in the log applied,
   * and any joint config left) has no vote for this node. See refreshLeaving.
   */
  leaving = false;
  /** Leader only: the voters of that target membership. */
  private targetVoters: readonly NodeId[] = [];
  /** Payload bytes of entries appended by this leader and not yet handed out as committed. */
  uncommittedSize = 0;
  /** Read requests received before this leader committed an entry in its term. */
  private pendingReadsBeforeCommit: ReadIndexRequest[] = [];

  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /**
   * The newest pre-vote request ignored because this node was in a leader's lease. It is answered
   * when the lease runs out (see tickElection) instead of leaving its sender to wait a whole new
   * election timeout; any message from a leader drops it.
   */
  private deferredPreVote: VoteRequest | undefined;
  /** A timeout-now received in this term while conf changes awaited apply (see handleTimeoutNow). */
  private deferredTransferTerm = 0;
  /** Ticks since this node started (plus any not owed, see quietTicks), saturating at the election timeout (see inLease). */
  private ticksSinceStart = 0;

  // Leader lease. Every heartbeat broadcast is a numbered round sent at a known leader tick; a
  // follower that answers round s received it no earlier than it was sent, and so will refuse
  // other candidates for an election timeout from then. The lease therefore lasts from the send
  // tick of the newest round a quorum answered, for leaseTicks (see leaseValid).
  /** The number of the last heartbeat round broadcast by this node (never reset). */
  private heartbeatSeq = 0;
  /** Leader ticks in the current term. */
  private leaderTicks = 0;
  /** For recent rounds: the leader tick at which each was broadcast. Insertion order = round order. */
  private readonly roundSentAt = new Map<number, number>();
  /** Per follower: the send tick of the newest round it answered. */
  private readonly roundAckTick = new Map<NodeId, number>();
  /** Once a transfer's timeout-now is sent, another node may win at any moment: no more leases this term. */
  private leaseForfeited = false;
  readonly leaseTicks: number;

  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly maxSizePerMsg: number;
  readonly maxEntriesPerMsg: number;
  readonly maxUncommittedSize: number;
  readonly disableProposalForwarding: boolean;
  protected readonly random: RandomSource;
  protected readonly logger: RaftLogger;

  constructor(config: RaftConfig) {
    const c: ResolvedRaftConfig = resolveConfig(config);
    this.id = c.id;
    this.electionTimeout = c.electionTick;
    this.ticksSinceStart = Math.max(0, c.electionTick - c.quietTicks);
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum;
    this.preVote = c.preVote;
    this.maxSizePerMsg = c.maxSizePerMsg;
    this.maxEntriesPerMsg = c.maxEntriesPerMsg;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize;
    this.disableProposalForwarding = c.disableProposalForwarding;
    // A follower's lease covers at least (electionTick - 1) of its ticks after it received the
    // round; one more tick of margin absorbs the phase difference between the two nodes' timers.
    this.leaseTicks = c.electionTick - 2;
    this.random = c.random;
    this.logger = c.logger;
    this.log = new RaftLog(c.storage, c.maxCommittedSizePerReady);
    this.tracker = new ProgressTracker(c.maxInflightMsgs, c.maxInflightBytes);
    this.readOnly = new ReadOnly(c.readOnlyOption, c.maxPendingReadIndex);

    const { hardState, confState } = c.storage.initialState();
    const restored = configFromConfState(confState);
    const problem = validateConfig(restored);
    invariant(problem === undefined, () => `stored membership is invalid: ${problem}`);
    this.switchToConfig(restored);

    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) {
      invariant(
        hardState.commit >= this.log.committed && hardState.commit <= this.log.lastIndex(),
        () => `stored commit ${hardState.commit} outside [${this.log.committed}, ${this.log.lastIndex()}]`,
      );
      this.log.committed = hardState.commit;
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
    if (c.applied !== undefined && c.applied > this.log.applied) this.log.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
    this.logger.info('raft node started', {
      id: this.id,
      term: this.term,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      config: this.tracker.config.voters.toString(),
    });
  }

  // ---- Role transitions ------------------------------------------------------------------------

  protected reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.deferredPreVote = undefined;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.tracker.resetVotes();
    const lastIndex = this.log.lastIndex();
    this.tracker.visit((id, pr) => {
      pr.match = id === this.id ? lastIndex : 0;
      pr.next = lastIndex + 1;
      pr.state = 'probe';
      pr.pendingSnapshot = 0;
      pr.msgAppFlowPaused = false;
      pr.recentActive = id === this.id;
      pr.inflights.reset();
    });
    this.pendingConfIndex = 0;
    this.leaving = false;
    this.targetVoters = [];
    this.uncommittedSize = 0;
    this.readOnly.reset();
    this.pendingReadsBeforeCommit = [];
    this.leaderTicks = 0;
    this.roundSentAt.clear();
    this.roundAckTick.clear();
    this.leaseForfeited = false;
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.role = 'follower';
    this.lead = lead;
    this.logger.debug('became follower', { id: this.id, term, lead });
  }

  protected becomePreCandidate(): void {
    invariant(this.role !== 'leader', () => 'a leader cannot become a pre-candidate');
    // A pre-candidate does not touch its term or vote: the whole point is to disturb nothing
    // until it knows it could win.
    this.role = 'preCandidate';
    this.tracker.resetVotes();
    this.lead = NONE;
    this.logger.debug('became pre-candidate', { id: this.id, term: this.term });
  }

  protected becomeCandidate(): void {
    invariant(this.role !== 'leader', () => 'a leader cannot become a candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
    this.logger.debug('became candidate', { id: this.id, term: this.term });
  }

  protected becomeLeader(): void {
    invariant(this.role === 'candidate' || this.role === 'preCandidate', () => `${this.role} cannot become leader`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    const self = this.tracker.progress.get(this.id);
    if (self) self.becomeReplicate();
    // Entries of earlier terms may hold a conf change not yet applied; until the first entry of
    // this term is applied, treat one as pending.
    this.pendingConfIndex = this.log.lastIndex();
    const ok = this.appendEntries([{ term: 0, index: 0, kind: 'normal', data: new Uint8Array(0) }]);
    invariant(ok, () => 'the empty entry of a new leader cannot exceed the uncommitted bound');
    this.logger.info('became leader', { id: this.id, term: this.term, lastIndex: this.log.lastIndex() });
    this.refreshLeaving();
  }

  protected resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.random.nextInt(this.electionTimeout);
  }

  // ---- Ticks -----------------------------------------------------------------------------------

  tick(): void {
    if (this.ticksSinceStart < this.electionTimeout) this.ticksSinceStart++;
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.deferredPreVote !== undefined && !this.inLease()) this.answerDeferredPreVote();
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    this.leaderTicks++;
    // Rounds sent more than an election timeout ago can no longer extend the lease.
    for (const [seq, sentAt] of this.roundSentAt) {
      if (sentAt >= this.leaderTicks - this.electionTimeout) break;
      this.roundSentAt.delete(seq);
    }
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        if (!this.tracker.quorumActive()) {
          this.logger.warn('stepping down: no quorum heard from within an election timeout', { id: this.id, term: this.term });
          this.becomeFollower(this.term, NONE);
          return;
        }
        this.tracker.visit((id, pr) => {
          if (id !== this.id) pr.recentActive = false;
        });
      }
      // A transfer that has not completed within an election timeout is abandoned.
      if (this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== 'leader') return;
    this.maybeAutoLeaveJoint();
    this.maybeHandOffLeadership();
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  /** A voter with no snapshot waiting to be applied may campaign. */
  promotable(): boolean {
    const pr = this.tracker.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && this.log.unstable.snapshot === undefined;
  }

  // ---- Elections -------------------------------------------------------------------------------

  /** Starts an election (or pre-election) if this node may. */
  hup(transfer: boolean): void {
    if (this.role === 'leader') return;
    if (!this.promotable()) {
      this.logger.debug('not campaigning: not a promotable voter', { id: this.id });
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      // The membership may be about to change; campaigning under the old one could split it.
      this.logger.debug('not campaigning: conf changes committed but not applied', { id: this.id });
      return;
    }
    this.campaign(transfer ? 'transfer' : this.preVote ? 'preElection' : 'election');
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    let lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    const hi = this.log.committed + 1;
    while (lo < hi) {
      const page = this.log.slice(lo, hi, this.maxSizePerMsg);
      for (const e of page) if (e.kind === 'confChange') return true;
      lo += page.length;
    }
    return false;
  }

  protected campaign(kind: CampaignKind): void {
    this.logger.info('campaigning', { id: this.id, kind, term: this.term, lastIndex: this.log.lastIndex() });
    let voteTerm: number;
    let type: 'vote' | 'preVote';
    if (kind === 'preElection') {
      this.becomePreCandidate();
      type = 'preVote';
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      type = 'vote';
      voteTerm = this.term;
    }
    if (this.poll(this.id, true) === 'won') {
      // A single-voter group wins on its own vote.
      if (kind === 'preElection') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.tracker.config.voters.ids()) {
      if (id === this.id) continue;
      const m: VoteRequest = { type, from: this.id, to: id, term: voteTerm, lastIndex, lastTerm, transfer: kind === 'transfer' };
      this.send(m);
    }
  }

  private poll(id: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    this.tracker.recordVote(id, granted);
    return this.tracker.tallyVotes().result;
  }

  /** Decides whether to grant a (pre-)vote. The log check is the election restriction. */
  protected canGrantVote(m: VoteRequest): boolean {
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === 'preVote' && m.term > this.term);
    if (!canVote || !this.log.isUpToDate(m.lastIndex, m.lastTerm)) return false;
    if (m.type === 'preVote' && this.role === 'preCandidate' && m.lastTerm === this.log.lastTerm() && m.lastIndex === this.log.lastIndex()) {
      // Two pre-candidates with equal logs that granted each other would both campaign and split
      // the vote; the lower id goes first. (A pre-vote changes nothing, so this costs no safety.)
      return m.from < this.id;
    }
    return true;
  }

  // ---- Step: the single entry point for messages ---------------------------------------------

  step(m: Message): void {
    if (m.term === 0) {
      // A request forwarded from a follower's caller: no term to compare.
    } else if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        if (this.inLease() && !m.transfer) {
          // We heard from a leader within the election timeout: this candidate cannot be needed.
          // Ignoring (rather than rejecting) keeps our term, so a rejoining node cannot depose a
          // healthy leader.
          this.logger.debug('ignoring vote request within leader lease', { id: this.id, from: m.from, term: m.term });
          if (m.type === 'preVote' && this.role === 'follower') this.deferredPreVote = m;
          return;
        }
      }
      if (m.type === 'preVote') {
        // A pre-vote never changes our term.
      } else if (m.type === 'preVoteResponse' && !m.reject) {
        // Granted pre-votes carry the term we will campaign in; the term moves when we campaign.
      } else {
        const leaderMessage = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
        this.becomeFollower(m.term, leaderMessage ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // A leader from an older term, perhaps cut off and back. With check-quorum or pre-vote we
        // may never campaign against it, so tell it the current term and let it step down.
        this.send({ type: 'appendResponse', from: this.id, to: m.from, term: this.term, index: 0, reject: false, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === 'preVote') {
        // Answer so the pre-candidate learns the newer term instead of waiting forever.
        this.send({ type: 'preVoteResponse', from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    switch (m.type) {
      case 'vote':
      case 'preVote':
        this.handleVoteRequest(m);
        return;
      default:
        break;
    }

    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  /**
   * Whether this node must not help elect anyone but the current leader: it heard from a leader
   * within an election timeout. With lease-based reads, a node that just started counts as having
   * heard from one, since it may have acknowledged a leader's round just before it restarted.
   */
  private inLease(): boolean {
    if (!this.checkQuorum) return false;
    if (this.lead !== NONE && this.electionElapsed < this.electionTimeout) return true;
    return this.readOnly.option === 'leaseBased' && this.ticksSinceStart < this.electionTimeout;
  }

  /**
   * The lease under which a pre-vote was ignored has run out without word from the leader: the
   * pre-candidate may well be right that the leader is gone. Answer it now, and hold back our own
   * campaign for an election timeout so that the two of us do not split the vote.
   */
  private answerDeferredPreVote(): void {
    const m = this.deferredPreVote!;
    this.deferredPreVote = undefined;
    if (this.role !== 'follower' || m.term <= this.term || !this.canGrantVote(m)) return;
    this.logger.debug('granting a pre-vote deferred by the leader lease', { id: this.id, to: m.from, term: m.term });
    this.send({ type: 'preVoteResponse', from: this.id, to: m.from, term: m.term, reject: false });
    this.randomizedElectionTimeout = Math.max(this.randomizedElectionTimeout, this.electionElapsed + this.electionTimeout);
  }

  private handleVoteRequest(m: VoteRequest): void {
    const responseType = m.type === 'vote' ? 'voteResponse' : 'preVoteResponse';
    if (this.canGrantVote(m)) {
      // A granted pre-vote answers in the candidate's future term so the candidate can count it.
      const response: VoteResponse = { type: responseType, from: this.id, to: m.from, term: m.term, reject: false };
      this.send(response);
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      const response: VoteResponse = { type: responseType, from: this.id, to: m.from, term: this.term, reject: true };
      this.send(response);
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'propose':
        this.leaderPropose(m.entries);
        return;
      case 'readIndex':
        this.leaderReadIndex(m);
        return;
      case 'transferLeader':
        this.leaderTransfer(m.target);
        return;
      case 'appendResponse':
        this.handleAppendResponse(m);
        return;
      case 'heartbeatResponse':
        this.handleHeartbeatResponse(m);
        return;
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        invariant(false, () => `leader ${this.id} received ${m.type} from ${m.from} in its own term ${this.term}`);
        return;
      default:
        // Votes for elections already decided, stale read responses, etc.
        return;
    }
  }

  private stepCandidate(m: Message): void {
    const myResponse = this.role === 'preCandidate' ? 'preVoteResponse' : 'voteResponse';
    switch (m.type) {
      case 'propose':
        return;
      case 'timeoutNow':
        // Only a pre-candidate can see one in the sender's term (a candidate has moved past it):
        // the leader is alive and picked us, so the transfer supersedes our pre-vote.
        if (this.role === 'preCandidate') {
          this.becomeFollower(this.term, m.from);
          this.handleTimeoutNow();
        }
        return;
      case 'append':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'voteResponse':
      case 'preVoteResponse': {
        if (m.type !== myResponse) return;
        const result = this.poll(m.from, !m.reject);
        if (result === 'won') {
          if (this.role === 'preCandidate') {
            this.campaign('election');
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (result === 'lost') {
          // A rejection with a newer term has already made us a follower in step().
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return;
    }
  }

  private heardFromLeader(leader: NodeId): void {
    this.electionElapsed = 0;
    this.lead = leader;
    // The leader is alive: a pre-candidate that asked while we were in its lease is not needed.
    this.deferredPreVote = undefined;
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'propose':
        this.followerForwardProposal(m);
        return;
      case 'append':
        this.heardFromLeader(m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.heardFromLeader(m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.heardFromLeader(m.from);
        this.handleSnapshot(m);
        return;
      case 'transferLeader':
        if (this.lead === NONE) {
          this.logger.info('no leader to forward a leader transfer to', { id: this.id });
          return;
        }
        this.send({ ...m, from: this.id, to: this.lead, term: this.term });
        return;
      case 'timeoutNow':
        this.handleTimeoutNow();
        return;
      case 'readIndex':
        // Keep the originator in `from`: the leader answers it directly.
        if (this.lead === NONE) return;
        this.send({ ...m, to: this.lead, term: 0 });
        return;
      case 'readIndexResponse':
        this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        return;
    }
  }

  /**
   * The leader chose us: campaign now, skipping pre-vote (there is no partition to guard
   * against, and the transfer flag lets voters override their leader lease). The leader sends
   * timeout-now as soon as we have caught up, often together with the commit of a conf change we
   * have not applied yet; campaigning is unsafe until we have, so the campaign waits for that
   * apply (within this term) instead of being dropped.
   */
  private handleTimeoutNow(): void {
    if (this.hasUnappliedConfChanges()) {
      this.logger.info('timeout-now deferred until committed conf changes are applied', { id: this.id, term: this.term });
      this.deferredTransferTerm = this.term;
      return;
    }
    this.logger.info('received timeout-now; campaigning for a leadership transfer', { id: this.id, term: this.term });
    this.hup(true);
  }

  private followerForwardProposal(m: ProposeMessage): void {
    if (this.lead === NONE || this.disableProposalForwarding) return;
    this.send({ type: 'propose', from: this.id, to: this.lead, term: 0, entries: m.entries });
  }

  // ---- Follower side of replication ------------------------------------------------------------

  protected handleAppend(m: AppendMessage): void {
    if (m.index < this.log.committed) {
      // Everything up to our commit index is already settled: tell the leader where we are.
      this.send(this.appendResponse(m.from, this.log.committed));
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(this.appendResponse(m.from, lastNew));
      return;
    }
    // The entry at m.index does not match. Offer the leader the last of our entries whose term is
    // no newer than the leader's term at m.index: every index after it certainly mismatches.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.logger.debug('rejected append', { id: this.id, index: m.index, logTerm: m.logTerm, hintIndex: hint.index, hintTerm: hint.term });
    const response: AppendResponse = {
      type: 'appendResponse',
      from: this.id,
      to: m.from,
      term: this.term,
      index: m.index,
      reject: true,
      hintIndex: hint.index,
      hintTerm: hint.term,
    };
    this.send(response);
  }

  private appendResponse(to: NodeId, index: number): AppendResponse {
    return { type: 'appendResponse', from: this.id, to, term: this.term, index, reject: false, hintIndex: 0, hintTerm: 0 };
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(m.commit);
    const response: HeartbeatResponse = { type: 'heartbeatResponse', from: this.id, to: m.from, term: this.term, readSeq: m.readSeq };
    this.send(response);
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const { index, term } = m.snapshot.meta;
    if (this.restore(m.snapshot)) {
      this.logger.info('restored snapshot', { id: this.id, index, term });
      this.send(this.appendResponse(m.from, this.log.lastIndex()));
    } else {
      this.logger.debug('ignored snapshot', { id: this.id, index, term, committed: this.log.committed });
      this.send(this.appendResponse(m.from, this.log.committed));
    }
  }

  /** Replaces the log with a snapshot. Returns false when the snapshot brings nothing new. */
  protected restore(snapshot: Snapshot): boolean {
    const { index, term, confState } = snapshot.meta;
    if (index <= this.log.committed) return false;
    if (this.role !== 'follower') {
      this.logger.warn('refusing a snapshot while not a follower', { id: this.id, role: this.role });
      return false;
    }
    const member =
      confState.voters.includes(this.id) || confState.learners.includes(this.id) || confState.votersOutgoing.includes(this.id);
    if (!member) {
      // The snapshot predates our addition; a newer one will include us.
      this.logger.warn('refusing a snapshot whose membership does not include this node', { id: this.id, index });
      return false;
    }
    if (this.log.matchTerm(index, term)) {
      // We already hold the snapshot's last entry, hence (log matching) everything before it.
      this.log.commitTo(index);
      return false;
    }
    const config = configFromConfState(confState);
    const problem = validateConfig(config);
    if (problem !== undefined) {
      this.logger.warn('refusing a snapshot with an invalid membership', { id: this.id, index, problem });
      return false;
    }
    this.log.restore(snapshot);
    this.tracker.applyConfig(config, this.log.lastIndex());
    // Our own progress records our position (used if we lead later).
    this.tracker.visit((id, pr) => {
      pr.match = id === this.id ? this.log.lastIndex() : 0;
      pr.next = this.log.lastIndex() + 1;
    });
    return true;
  }

  // ---- Leader side of replication --------------------------------------------------------------

  /** Appends entries to the leader's own log. Returns false if the uncommitted bound refuses them. */
  protected appendEntries(entries: readonly Entry[]): boolean {
    let lastIndex = this.log.lastIndex();
    const stamped: Entry[] = new Array(entries.length);
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      stamped[i] = { term: this.term, index: lastIndex + 1 + i, kind: e.kind, data: e.data };
      bytes += e.data.byteLength;
    }
    // An empty entry always fits: a new leader must be able to append its first entry.
    if (bytes > 0 && this.uncommittedSize > 0 && this.uncommittedSize + bytes > this.maxUncommittedSize) {
      return false;
    }
    this.uncommittedSize += bytes;
    lastIndex = this.log.append(stamped);
    // Our own acknowledgement. It is safe to count before the entries are persisted: nothing is
    // sent or applied until the caller has persisted this Ready (see README.md).
    this.tracker.progress.get(this.id)?.maybeUpdate(lastIndex);
    this.maybeCommit();
    return true;
  }

  /** Advances the commit index to what a quorum holds, counting only entries of the current term. */
  protected maybeCommit(): boolean {
    const committed = this.log.committed;
    const wasCommittedInTerm = this.log.term(committed) === this.term;
    const advanced = this.log.maybeCommit(this.tracker.committed(), this.term);
    if (advanced && !wasCommittedInTerm) this.releasePendingReadsBeforeCommit();
    return advanced;
  }

  private leaderPropose(entries: readonly Entry[]): ProposeResult {
    const leader = this.id;
    if (entries.length === 0) return { kind: 'dropped', reason: 'invalidProposal', detail: 'a proposal must carry at least one entry', leader };
    if (this.leaving) {
      return {
        kind: 'dropped',
        reason: 'leaderTransferring',
        detail: 'this leader is leaving the voters and hands leadership to one of them',
        leader,
      };
    }
    if (this.leadTransferee !== NONE) {
      return {
        kind: 'dropped',
        reason: 'leaderTransferring',
        detail: `leadership is being transferred to ${this.leadTransferee}`,
        leader,
      };
    }
    let confIndex = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.kind !== 'confChange') continue;
      const refusal = this.checkConfChangeProposal(e.data, confIndex !== 0);
      if (refusal !== undefined) return { ...refusal, leader };
      confIndex = this.log.lastIndex() + i + 1;
    }
    if (!this.appendEntries(entries)) {
      return {
        kind: 'dropped',
        reason: 'uncommittedLogFull',
        detail: `uncommitted entries exceed ${this.maxUncommittedSize} bytes`,
        leader,
      };
    }
    if (confIndex !== 0) {
      this.pendingConfIndex = confIndex;
      this.refreshLeaving();
    }
    this.bcastAppend();
    return { kind: 'appended', index: this.log.lastIndex(), term: this.term };
  }

  /** One membership change at a time, and only ones valid for the config they will apply to. */
  private checkConfChangeProposal(
    data: Uint8Array,
    anotherInThisBatch: boolean,
  ): { kind: 'dropped'; reason: ProposalDropReason; detail: string } | undefined {
    let cc: ConfChange;
    try {
      cc = decodeConfChange(data);
    } catch (err) {
      if (err instanceof ConfChangeDecodeError) return { kind: 'dropped', reason: 'invalidConfChange', detail: err.message };
      throw err;
    }
    if (anotherInThisBatch || this.pendingConfIndex > this.log.applied) {
      return {
        kind: 'dropped',
        reason: 'confChangePending',
        detail: `a membership change at index ${this.pendingConfIndex} is not yet applied (applied ${this.log.applied})`,
      };
    }
    // With no change pending, the current config is exactly the one this change will apply to.
    const result: ChangeResult = applyConfChangeTo(this.tracker.config, cc);
    if (!result.ok) {
      return { kind: 'dropped', reason: 'invalidConfChange', detail: `${describeConfChange(cc)}: ${result.error}` };
    }
    return undefined;
  }

  /** Sends an append (or a snapshot) to `to` if its progress allows. Returns whether anything was sent. */
  protected maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    let entries: Entry[] | undefined;
    if (prevTerm !== undefined) {
      const hi = Math.min(this.log.lastIndex() + 1, pr.next + this.maxEntriesPerMsg);
      try {
        entries = pr.next < hi ? this.log.slice(pr.next, hi, this.maxSizePerMsg) : [];
      } catch (err) {
        if (!(err instanceof LogCompactedError)) throw err;
        entries = undefined;
      }
    }
    if (prevTerm === undefined || entries === undefined) {
      // The follower needs entries we no longer have.
      return this.sendSnapshot(to, pr);
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    const bytes = bytesOf(entries);
    const m: AppendMessage = {
      type: 'append',
      from: this.id,
      to,
      term: this.term,
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit: this.log.committed,
    };
    const merged = this.sendAppendMessage(m as MutableAppend, bytes);
    pr.sentEntries(entries.length, prevIndex + entries.length, bytes, merged);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.logger.debug('not sending a snapshot to an inactive follower', { id: this.id, to });
      return false;
    }
    let snapshot: Snapshot;
    try {
      snapshot = this.log.snapshot();
    } catch (err) {
      if (err instanceof SnapshotTemporarilyUnavailableError) {
        this.logger.debug('snapshot temporarily unavailable', { id: this.id, to });
        return false;
      }
      throw err;
    }
    invariant(snapshot.meta.index > 0, () => 'need a snapshot but the storage has none');
    pr.becomeSnapshot(snapshot.meta.index);
    this.logger.info('sending snapshot', { id: this.id, to, index: snapshot.meta.index, term: snapshot.meta.term });
    this.send({ type: 'snapshot', from: this.id, to, term: this.term, snapshot });
    return true;
  }

  protected bcastAppend(): void {
    this.tracker.visit((id) => {
      if (id !== this.id) this.maybeSendAppend(id, true);
    });
  }

  /** Broadcasts a new heartbeat round and returns its number. */
  protected bcastHeartbeat(): number {
    const seq = ++this.heartbeatSeq;
    this.roundSentAt.set(seq, this.leaderTicks);
    this.tracker.visit((id, pr) => {
      if (id === this.id) return;
      // Never tell a follower to commit past what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit, readSeq: seq });
    });
    return seq;
  }

  /**
   * Forgets every heartbeat round sent so far. The caller stopped ticking this leader for a while
   * (an idle group hibernating): its tick count says nothing about how much real time has passed,
   * so no earlier round may support a lease, not even one acknowledged late.
   */
  resetLease(): void {
    this.roundSentAt.clear();
    this.roundAckTick.clear();
  }

  /**
   * For a follower that was not ticked for a while and has reason to think its leader is gone:
   * counts the leader's silence as a full election timeout, so this node may vote, and campaign
   * soon. Only valid when the follower has acknowledged no heartbeat round since it stopped
   * ticking (so no lease can rest on it).
   */
  expireLeaderContact(): void {
    if (this.role === 'follower' && this.electionElapsed < this.electionTimeout) this.electionElapsed = this.electionTimeout;
  }

  /** Whether no other leader can exist now, judged from heartbeat rounds a quorum answered. */
  leaseValid(): boolean {
    if (this.role !== 'leader' || !this.checkQuorum || this.leaseForfeited || this.leaseTicks <= 0) return false;
    const since = this.tracker.config.voters.committedIndex((id) =>
      id === this.id ? this.leaderTicks : (this.roundAckTick.get(id) ?? Number.NEGATIVE_INFINITY),
    );
    return this.leaderTicks < since + this.leaseTicks;
  }

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.tracker.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) {
      // Jump back using the follower's hint: the largest index at which our term is no newer than
      // the follower's term there is the first candidate for a match.
      const nextProbe = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index : m.hintIndex;
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        this.logger.debug('append rejected; backing off', { id: this.id, from: m.from, index: m.index, next: pr.next });
        if (pr.state === 'replicate') pr.becomeProbe();
        this.maybeSendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return;
    switch (pr.state) {
      case 'probe':
        pr.becomeReplicate();
        break;
      case 'snapshot':
        // The follower holds enough to continue from our log: replicate from its match.
        if (pr.match + 1 >= this.log.firstIndex()) {
          pr.becomeProbe();
          pr.becomeReplicate();
        }
        break;
      case 'replicate':
        pr.inflights.freeLE(m.index);
        break;
    }
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else if (wasPaused) {
      this.maybeSendAppend(m.from, true);
    }
    // Fill the window with whatever else is waiting.
    while (this.maybeSendAppend(m.from, false)) {
      // keep sending
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.logger.info('transfer target caught up; sending timeout-now', { id: this.id, to: m.from });
      this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.tracker.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.msgAppFlowPaused = false;
    // If every append filling the window was lost, nothing would ever be acknowledged: a live
    // follower earns one slot back so the leader can find out where it is.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex() || pr.state === 'probe') this.maybeSendAppend(m.from, true);
    if (m.readSeq > 0) {
      const sentAt = this.roundSentAt.get(m.readSeq);
      if (sentAt !== undefined && sentAt > (this.roundAckTick.get(m.from) ?? Number.NEGATIVE_INFINITY)) {
        this.roundAckTick.set(m.from, sentAt);
      }
      const released = this.readOnly.recvAck(m.from, m.readSeq, this.id, this.tracker.config.voters);
      for (const read of released) this.answerRead(read.from, read.index, read.context);
    }
  }

  // ---- Reads -----------------------------------------------------------------------------------

  private leaderReadIndex(m: ReadIndexRequest): ReadIndexResult {
    if (this.tracker.isSingleton() && this.tracker.isVoter(this.id)) {
      this.answerRead(m.from, this.log.committed, m.context);
      return { kind: 'pending' };
    }
    if (this.log.term(this.log.committed) !== this.term) {
      // Until an entry of this term commits, our commit index may lag entries earlier leaders
      // committed; a read at it could miss acknowledged writes.
      if (this.pendingReadsBeforeCommit.length >= this.readOnly.maxPending) {
        return { kind: 'dropped', reason: 'tooManyPendingReads', leader: this.id };
      }
      this.pendingReadsBeforeCommit.push(m);
      return { kind: 'pending' };
    }
    return this.leaderServeRead(m);
  }

  private leaderServeRead(m: ReadIndexRequest): ReadIndexResult {
    if (this.readOnly.option === 'leaseBased' && this.leadTransferee === NONE && this.leaseValid()) {
      this.answerRead(m.from, this.log.committed, m.context);
      return { kind: 'pending' };
    }
    // No lease (or none wanted): confirm leadership with a fresh heartbeat round.
    if (!this.readOnly.add(this.heartbeatSeq + 1, this.log.committed, m.from, m.context)) {
      return { kind: 'dropped', reason: 'tooManyPendingReads', leader: this.id };
    }
    this.bcastHeartbeat();
    return { kind: 'pending' };
  }

  private releasePendingReadsBeforeCommit(): void {
    const waiting = this.pendingReadsBeforeCommit;
    if (waiting.length === 0) return;
    this.pendingReadsBeforeCommit = [];
    for (const m of waiting) this.leaderServeRead(m);
  }

  private answerRead(from: NodeId, index: number, context: Uint8Array): void {
    if (from === NONE || from === this.id) {
      this.readStates.push({ index, context });
    } else {
      this.send({ type: 'readIndexResponse', from: this.id, to: from, term: this.term, index, context });
    }
  }

  // ---- Leadership transfer ---------------------------------------------------------------------

  private leaderTransfer(target: NodeId): void {
    const pr = this.tracker.progress.get(target);
    if (pr === undefined || pr.isLearner) {
      this.logger.info('ignoring leader transfer to a node that is not a voter', { id: this.id, target });
      return;
    }
    if (this.leadTransferee !== NONE) {
      if (this.leadTransferee === target) return;
      this.abortLeaderTransfer();
    }
    if (target === this.id) return;
    this.logger.info('starting leader transfer', { id: this.id, target, term: this.term });
    // The transfer must finish within an election timeout or it is abandoned.
    this.electionElapsed = 0;
    this.leadTransferee = target;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(target);
    else this.maybeSendAppend(target, true);
  }

  private sendTimeoutNow(to: NodeId): void {
    // The target's campaign overrides followers' leases and may win whenever its vote requests
    // arrive, even after this transfer is abandoned.
    this.leaseForfeited = true;
    this.send({ type: 'timeoutNow', from: this.id, to, term: this.term });
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- Local requests (called by RaftNode) ----------------------------------------------------

  propose(entries: readonly Entry[]): ProposeResult {
    if (this.role === 'leader') return this.leaderPropose(entries);
    if (this.lead === NONE) return { kind: 'dropped', reason: 'noLeader', detail: 'no leader is known', leader: NONE };
    if (this.disableProposalForwarding) {
      return { kind: 'dropped', reason: 'notLeader', detail: `the leader is ${this.lead}`, leader: this.lead };
    }
    if (this.role !== 'follower') return { kind: 'dropped', reason: 'noLeader', detail: 'an election is in progress', leader: NONE };
    const to = this.lead;
    this.send({ type: 'propose', from: this.id, to, term: 0, entries });
    return { kind: 'forwarded', to };
  }

  readIndex(context: Uint8Array): ReadIndexResult {
    const m: ReadIndexRequest = { type: 'readIndex', from: this.id, to: this.id, term: 0, context };
    if (this.role === 'leader') return this.leaderReadIndex(m);
    if (this.lead === NONE || this.role !== 'follower') return { kind: 'dropped', reason: 'noLeader', leader: NONE };
    const to = this.lead;
    this.send({ ...m, to });
    return { kind: 'forwarded', to };
  }

  transferLeader(target: NodeId): void {
    if (this.role === 'leader') {
      this.leaderTransfer(target);
      return;
    }
    if (this.lead === NONE) {
      this.logger.info('no leader to forward a leader transfer to', { id: this.id, target });
      return;
    }
    const m: TransferLeaderRequest = { type: 'transferLeader', from: this.id, to: this.lead, term: this.term, target };
    this.send(m);
  }

  reportUnreachable(id: NodeId): void {
    if (this.role !== 'leader') return;
    const pr = this.tracker.progress.get(id);
    // An unreachable follower has probably lost what was in flight: probe it.
    if (pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
  }

  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    if (this.role !== 'leader') return;
    const pr = this.tracker.progress.get(id);
    if (pr === undefined || pr.state !== 'snapshot') return;
    if (status === 'failure') pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // On success wait for the follower's append response; on failure wait a heartbeat before
    // trying again.
    pr.msgAppFlowPaused = true;
  }

  // ---- Membership ------------------------------------------------------------------------------

  /** Applies a committed conf change. Every replica applies it at the same index to the same config. */
  applyConfChange(cc: ConfChange): ConfChangeApplyResult {
    const result = applyConfChangeTo(this.tracker.config, cc);
    if (!result.ok) {
      // Deterministic on every replica (same config at the same index), so ignoring is safe.
      this.logger.warn('ignoring a committed conf change that is invalid for the current config', {
        id: this.id,
        change: describeConfChange(cc),
        error: result.error,
      });
      return { confState: configToConfState(this.tracker.config), rejected: result.error };
    }
    return { confState: this.switchToConfig(result.config), rejected: undefined };
  }

  private switchToConfig(config: TrackerConfig): ConfState {
    this.tracker.applyConfig(config, this.log.lastIndex());
    const cs = configToConfState(config);
    if (this.role !== 'leader') return cs;
    // A leader that is no longer a voter keeps leading (it is not counted in any quorum) until
    // it has handed leadership over; see refreshLeaving.
    this.refreshLeaving();
    // The quorum changed, so the commit index may move; new members need probing.
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      this.tracker.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== NONE && !this.tracker.config.voters.has(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }

  /**
   * Works out whether this leader is leaving: whether the membership the log leads to — the
   * current config with every conf change still in the log applied, and a joint config left —
   * has no vote for it.
   *
   * A leaving leader must not simply step down when its removal applies: the remaining voters may
   * not know that the removal committed, still count the old leader as a voter, and need its
   * vote — which it would refuse if it had appended entries they lack. So a leaving leader
   * accepts no proposals (its log stays no longer than what a quorum holds), does not leave a
   * joint config itself, keeps replicating so followers learn the commit index, and hands
   * leadership to the most caught-up voter of the target membership.
   */
  private refreshLeaving(): void {
    if (this.role !== 'leader') return;
    let target: TrackerConfig = this.tracker.config;
    let lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    const hi = this.log.lastIndex() + 1;
    while (lo < hi) {
      const page = this.log.slice(lo, hi, this.maxSizePerMsg);
      for (const e of page) {
        if (e.kind !== 'confChange') continue;
        let cc: ConfChange;
        try {
          cc = decodeConfChange(e.data);
        } catch {
          continue; // ignored at apply time too
        }
        const next = applyConfChangeTo(target, cc);
        if (next.ok) target = next.config;
      }
      lo += page.length;
    }
    const voters = target.voters.incoming;
    const wasLeaving = this.leaving;
    this.leaving = !voters.has(this.id);
    this.targetVoters = voters.ids;
    if (this.leaving && !wasLeaving) {
      this.logger.info('this leader is leaving the voters; handing over leadership', {
        id: this.id,
        term: this.term,
        targetVoters: voters.toString(),
      });
    }
    this.maybeHandOffLeadership();
  }

  /** A leaving leader starts (or restarts) a transfer to the best-placed voter of the target config. */
  private maybeHandOffLeadership(): void {
    if (!this.leaving || this.leadTransferee !== NONE) return;
    let best: NodeId = NONE;
    let bestMatch = -1;
    for (const id of this.targetVoters) {
      const pr = this.tracker.progress.get(id);
      if (id === this.id || pr === undefined || pr.isLearner) continue;
      if (pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    if (best !== NONE) this.leaderTransfer(best);
  }

  /** Leaves a joint config once the change that entered it is applied (when autoLeave is set). */
  maybeAutoLeaveJoint(): void {
    // A leaving leader leaves that to its successor (leaving the joint config would remove it).
    if (this.role !== 'leader' || this.leaving) return;
    const config = this.tracker.config;
    if (!config.autoLeave || !config.voters.isJoint || this.pendingConfIndex > this.log.applied) return;
    const data = encodeConfChange(leaveJointChange());
    const result = this.leaderPropose([{ term: 0, index: 0, kind: 'confChange', data }]);
    // A refusal (e.g. during a leader transfer) is retried on the next heartbeat tick.
    if (result.kind === 'appended') this.logger.info('proposed to leave the joint configuration', { id: this.id, index: result.index });
  }

  /** The caller applied (or handed off for applying) everything up to `index`. */
  appliedTo(index: number, appliedBytes: number): void {
    this.log.appliedTo(index);
    this.uncommittedSize = Math.max(0, this.uncommittedSize - appliedBytes);
    this.maybeAutoLeaveJoint();
    if (this.deferredTransferTerm !== 0) {
      // Only valid in the term it arrived in, while we still follow that leader.
      if (this.deferredTransferTerm !== this.term || this.role !== 'follower') {
        this.deferredTransferTerm = 0;
      } else if (!this.hasUnappliedConfChanges()) {
        this.deferredTransferTerm = 0;
        this.logger.info('campaigning for a deferred leadership transfer', { id: this.id, term: this.term });
        this.hup(true);
      }
    }
  }

  // ---- Sending and batching --------------------------------------------------------------------

  /**
   * Queues a message. Consecutive appends to the same follower that continue one another are
   * merged into one message (within the per-message bounds), and a newer heartbeat to a follower
   * replaces one still queued, so a burst of proposals or reads costs one message per peer.
   */
  protected send(m: Message): void {
    invariant(m.to !== this.id, () => `node ${this.id} sending ${m.type} to itself`);
    const last = this.lastMsgTo.get(m.to);
    if (last !== undefined) {
      const prev = this.msgs[last]!;
      if (m.type === 'heartbeat' && prev.type === 'heartbeat' && prev.term === m.term) {
        const hb = prev as MutableHeartbeat;
        hb.commit = Math.max(hb.commit, m.commit);
        hb.readSeq = Math.max(hb.readSeq, m.readSeq);
        return;
      }
    }
    this.lastMsgTo.set(m.to, this.msgs.length);
    this.msgs.push(m);
  }

  /** Sends an append, merging it into the previous one to the same follower when possible. */
  private sendAppendMessage(m: MutableAppend, bytes: number): boolean {
    const last = this.lastMsgTo.get(m.to);
    if (last !== undefined && m.entries.length > 0) {
      const prev = this.msgs[last]!;
      const prevBytes = this.lastAppendBytes.get(m.to) ?? 0;
      if (
        prev.type === 'append' &&
        prev.term === m.term &&
        prev.index + prev.entries.length === m.index &&
        prev.entries.length + m.entries.length <= this.maxEntriesPerMsg &&
        prevBytes + bytes <= this.maxSizePerMsg
      ) {
        const target = prev as MutableAppend;
        for (const e of m.entries) target.entries.push(e);
        target.commit = Math.max(target.commit, m.commit);
        this.lastAppendBytes.set(m.to, prevBytes + bytes);
        return true;
      }
    }
    this.send(m);
    this.lastAppendBytes.set(m.to, bytes);
    return false;
  }

  /** Hands the queued messages to the caller. */
  takeMessages(): Message[] {
    const out = this.msgs;
    this.msgs = [];
    this.lastMsgTo.clear();
    this.lastAppendBytes.clear();
    return out;
  }

  takeReadStates(): ReadState[] {
    const out = this.readStates;
    this.readStates = [];
    return out;
  }

  // ---- Introspection ---------------------------------------------------------------------------

  hardState(): { term: number; vote: NodeId; commit: number } {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Proposes entries on behalf of the local caller. */
  proposeConfChange(cc: ConfChange): ProposeResult {
    return this.propose([{ term: 0, index: 0, kind: 'confChange', data: encodeConfChange(cc) }]);
  }
}

function bytesOf(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += e.data.byteLength;
  return n;
}

