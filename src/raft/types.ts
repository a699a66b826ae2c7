// Data types of the Raft state machine. Everything here is plain data: the caller persists,
// encodes and ships it; the state machine only reads and produces it.

/** A node (peer) identifier. 0 means "none". */
export type NodeId = number;
export const NONE: NodeId = 0;

export type EntryKind = 'normal' | 'confChange';

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly kind: EntryKind;
  /** Opaque payload for 'normal'; an encoded ConfChange (see confchange/codec.ts) for 'confChange'. */
  readonly data: Uint8Array;
}

/** What must be on disk before any message produced alongside it is sent. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: NONE, commit: 0 });

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function isEmptyHardState(hs: HardState): boolean {
  return hardStateEqual(hs, EMPTY_HARD_STATE);
}

/**
 * The membership of a group. Outside a joint configuration `votersOutgoing` and `learnersNext`
 * are empty. `learnersNext` holds voters of the outgoing config that become learners when the
 * joint config is left (a voter cannot be a learner in the same config at once).
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  readonly learnersNext: readonly NodeId[];
  readonly autoLeave: boolean;
}

export const EMPTY_CONF_STATE: ConfState = Object.freeze({
  voters: [],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
});

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** Opaque to Raft: the state machine image, or a descriptor the caller resolves itself. */
  readonly data: Uint8Array;
}

export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({
  meta: Object.freeze({ index: 0, term: 0, confState: EMPTY_CONF_STATE }),
  data: new Uint8Array(0),
});

export type StateRole = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state the caller may want to observe (not persisted). */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: StateRole;
}

/** A linearizable read is safe at `index` once the local state machine has applied `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

// ---- Messages -----------------------------------------------------------------------------------
// Every message carries the sender, the receiver and the sender's term. Term 0 marks a request a
// follower forwards on behalf of a local caller (proposals, read index): the receiver treats it as
// if its own caller had made it.

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** Leader → follower: entries following (index, logTerm), and the leader's commit index. */
export interface AppendMessage extends MessageBase {
  readonly type: 'append';
  readonly index: number;
  readonly logTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Follower → leader. On success `index` is the last index known to match the leader's log. On
 * rejection `index` echoes the rejected append's index, and (`hintIndex`, `hintTerm`) point at the
 * follower's last entry that could still match, so the leader skips a whole term per round trip.
 */
export interface AppendResponse extends MessageBase {
  readonly type: 'appendResponse';
  readonly index: number;
  readonly reject: boolean;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/** Candidate → all. For a pre-vote, `term` is the term the candidate would campaign in. */
export interface VoteRequest extends MessageBase {
  readonly type: 'vote' | 'preVote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Set when the campaign was started by a leader transfer: it may override a leader lease. */
  readonly transfer: boolean;
}

export interface VoteResponse extends MessageBase {
  readonly type: 'voteResponse' | 'preVoteResponse';
  readonly reject: boolean;
}

/** Leader → follower. `commit` never exceeds what the follower is known to hold. */
export interface HeartbeatMessage extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: number;
  /**
   * The leader's heartbeat round number. Echoed in the response; a quorum of answers to round s
   * confirms the ReadIndex requests waiting for rounds ≤ s and extends the leader's lease.
   */
  readonly readSeq: number;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: 'heartbeatResponse';
  /** The round being answered. */
  readonly readSeq: number;
}

export interface SnapshotMessage extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

/** Leader → transfer target: campaign now, ignoring the election timeout and leases. */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: 'timeoutNow';
}

/** Follower → leader (term 0): proposals forwarded from the follower's caller. */
export interface ProposeMessage extends MessageBase {
  readonly type: 'propose';
  readonly entries: readonly Entry[];
}

/** Follower → leader (term 0): a read-index request forwarded from the follower's caller. */
export interface ReadIndexRequest extends MessageBase {
  readonly type: 'readIndex';
  readonly context: Uint8Array;
}

export interface ReadIndexResponse extends MessageBase {
  readonly type: 'readIndexResponse';
  readonly index: number;
  readonly context: Uint8Array;
}

/** Follower → leader: the follower's caller asked to move leadership to `target`. */
export interface TransferLeaderRequest extends MessageBase {
  readonly type: 'transferLeader';
  readonly target: NodeId;
}

export type Message =
  | AppendMessage
  | AppendResponse
  | VoteRequest
  | VoteResponse
  | HeartbeatMessage
  | HeartbeatResponse
  | SnapshotMessage
  | TimeoutNowMessage
  | ProposeMessage
  | ReadIndexRequest
  | ReadIndexResponse
  | TransferLeaderRequest;

export type MessageType = Message['type'];

/** Messages whose term is the sender's view of the current term, as opposed to forwarded requests. */
export function isResponse(m: Message): boolean {
  return (
    m.type === 'appendResponse' ||
    m.type === 'voteResponse' ||
    m.type === 'preVoteResponse' ||
    m.type === 'heartbeatResponse' ||
    m.type === 'readIndexResponse'
  );
}

/** The payload size counted against message and uncommitted-log bounds. */
export function entryPayloadSize(e: Entry): number {
  return e.data.byteLength;
}

export function entriesPayloadSize(entries: readonly Entry[]): number {
  let size = 0;
  for (const e of entries) size += e.data.byteLength;
  return size;
}

// ---- Ready --------------------------------------------------------------------------------------

/**
 * Everything the caller must do, in this order:
 *  1. persist `snapshot` (if any), `entries` and `hardState` — durably when `mustSync`;
 *  2. send `messages`;
 *  3. apply `snapshot` then `committedEntries` to the state machine, in order;
 *  4. call `advance()`.
 * See src/raft/README.md for the full contract.
 */
export interface Ready {
  readonly softState: SoftState | undefined;
  readonly hardState: HardState | undefined;
  readonly readStates: readonly ReadState[];
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | undefined;
  readonly committedEntries: readonly Entry[];
  /** Grouped by destination: all messages for one peer are adjacent, in the order produced. */
  readonly messages: readonly Message[];
  readonly mustSync: boolean;
}

/** Injected randomness: the only source of nondeterminism the state machine consumes. */
export interface RandomSource {
  /** A uniformly distributed integer in [0, bound). */
  nextInt(bound: number): number;
}
