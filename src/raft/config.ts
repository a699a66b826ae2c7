import { RaftUsageError } from './errors.js';
import type { ReadOnlyOption } from './read_only.js';
import type { Storage } from './storage.js';
import type { NodeId, RandomSource } from './types.js';

/** Structured log sink. The state machine never writes anywhere by itself. */
export interface RaftLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export const SILENT_LOGGER: RaftLogger = { debug() {}, info() {}, warn() {} };

export interface RaftConfig {
  id: NodeId;
  storage: Storage;
  /** Election timeouts are drawn from this source; nothing else in the state machine is random. */
  random: RandomSource;
  /** Ticks without hearing from a leader before a follower campaigns (randomized in [n, 2n)). */
  electionTick?: number;
  /** Ticks between leader heartbeats. Must be less than electionTick. */
  heartbeatTick?: number;
  /** The last index the caller's state machine has applied (on restart). Defaults to the snapshot index. */
  applied?: number;
  /** Bound on the payload bytes of entries in one append message (at least one entry is always sent). */
  maxSizePerMsg?: number;
  /** Bound on the number of entries in one append message. */
  maxEntriesPerMsg?: number;
  /** Bound on unacknowledged append messages per follower in replicate state. */
  maxInflightMsgs?: number;
  /** Bound on unacknowledged payload bytes per follower. */
  maxInflightBytes?: number;
  /** Bound on the payload of appended but uncommitted entries; proposals past it are refused. */
  maxUncommittedEntriesSize?: number;
  /** Bound on the payload of committed entries handed out in one Ready. */
  maxCommittedSizePerReady?: number;
  /** Bound on ReadIndex requests waiting for confirmation (or for a first commit in the term). */
  maxPendingReadIndex?: number;
  /** The leader steps down when it has not heard from a quorum within an election timeout. */
  checkQuorum?: boolean;
  /** Campaign in two phases so that a partitioned node does not disrupt the group on return. */
  preVote?: boolean;
  /** 'leaseBased' answers reads from the leader's lease without a heartbeat round; needs checkQuorum. */
  readOnlyOption?: ReadOnlyOption;
  /**
   * In lease mode, ticks after start during which this node ignores vote requests, because it may
   * have answered a leader's heartbeat round just before it restarted (see the README). Defaults
   * to electionTick. A caller that knows better (the node was created by a process that has been
   * up longer than that, so no answer of its can have been forgotten) may pass less.
   */
  quietTicks?: number;
  /** When set, followers refuse proposals instead of forwarding them to the leader. */
  disableProposalForwarding?: boolean;
  logger?: RaftLogger;
}

export type ResolvedRaftConfig = Required<Omit<RaftConfig, 'applied' | 'quietTicks'>> & { applied: number | undefined; quietTicks: number };

export const RAFT_DEFAULTS = {
  electionTick: 10,
  heartbeatTick: 1,
  maxSizePerMsg: 1 << 20,
  maxEntriesPerMsg: 1024,
  maxInflightMsgs: 256,
  maxInflightBytes: 32 << 20,
  maxUncommittedEntriesSize: 64 << 20,
  maxCommittedSizePerReady: 16 << 20,
  maxPendingReadIndex: 4096,
  checkQuorum: true,
  preVote: true,
  readOnlyOption: 'safe' as ReadOnlyOption,
  disableProposalForwarding: false,
} as const;

function positiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RaftUsageError(`raft config: ${name} must be a positive integer, got ${value}`);
  }
}

function positive(name: string, value: number): void {
  if (!(value > 0)) throw new RaftUsageError(`raft config: ${name} must be positive, got ${value}`);
}

export function resolveConfig(config: RaftConfig): ResolvedRaftConfig {
  const resolved: ResolvedRaftConfig = {
    id: config.id,
    storage: config.storage,
    random: config.random,
    applied: config.applied,
    electionTick: config.electionTick ?? RAFT_DEFAULTS.electionTick,
    heartbeatTick: config.heartbeatTick ?? RAFT_DEFAULTS.heartbeatTick,
    maxSizePerMsg: config.maxSizePerMsg ?? RAFT_DEFAULTS.maxSizePerMsg,
    maxEntriesPerMsg: config.maxEntriesPerMsg ?? RAFT_DEFAULTS.maxEntriesPerMsg,
    maxInflightMsgs: config.maxInflightMsgs ?? RAFT_DEFAULTS.maxInflightMsgs,
    maxInflightBytes: config.maxInflightBytes ?? RAFT_DEFAULTS.maxInflightBytes,
    maxUncommittedEntriesSize: config.maxUncommittedEntriesSize ?? RAFT_DEFAULTS.maxUncommittedEntriesSize,
    maxCommittedSizePerReady: config.maxCommittedSizePerReady ?? RAFT_DEFAULTS.maxCommittedSizePerReady,
    maxPendingReadIndex: config.maxPendingReadIndex ?? RAFT_DEFAULTS.maxPendingReadIndex,
    checkQuorum: config.checkQuorum ?? RAFT_DEFAULTS.checkQuorum,
    preVote: config.preVote ?? RAFT_DEFAULTS.preVote,
    readOnlyOption: config.readOnlyOption ?? RAFT_DEFAULTS.readOnlyOption,
    disableProposalForwarding: config.disableProposalForwarding ?? RAFT_DEFAULTS.disableProposalForwarding,
    quietTicks: config.quietTicks ?? config.electionTick ?? RAFT_DEFAULTS.electionTick,
    logger: config.logger ?? SILENT_LOGGER,
  };
  positiveInteger('id', resolved.id);
  positiveInteger('heartbeatTick', resolved.heartbeatTick);
  positiveInteger('electionTick', resolved.electionTick);
  if (resolved.electionTick <= resolved.heartbeatTick) {
    throw new RaftUsageError(
      `raft config: electionTick (${resolved.electionTick}) must be greater than heartbeatTick (${resolved.heartbeatTick})`,
    );
  }
  positive('maxSizePerMsg', resolved.maxSizePerMsg);
  positiveInteger('maxEntriesPerMsg', resolved.maxEntriesPerMsg);
  positiveInteger('maxInflightMsgs', resolved.maxInflightMsgs);
  positive('maxInflightBytes', resolved.maxInflightBytes);
  positive('maxUncommittedEntriesSize', resolved.maxUncommittedEntriesSize);
  positive('maxCommittedSizePerReady', resolved.maxCommittedSizePerReady);
  positiveInteger('maxPendingReadIndex', resolved.maxPendingReadIndex);
  if (resolved.readOnlyOption !== 'safe' && resolved.readOnlyOption !== 'leaseBased') {
    throw new RaftUsageError(`raft config: unknown readOnlyOption ${String(resolved.readOnlyOption)}`);
  }
  if (resolved.readOnlyOption === 'leaseBased' && !resolved.checkQuorum) {
    // Without check-quorum a deposed leader never notices, so its lease would be a lie.
    throw new RaftUsageError('raft config: readOnlyOption leaseBased requires checkQuorum');
  }
  if (!Number.isSafeInteger(resolved.quietTicks) || resolved.quietTicks < 0) {
    throw new RaftUsageError(`raft config: quietTicks must be a non-negative integer, got ${resolved.quietTicks}`);
  }
  if (resolved.applied !== undefined && (!Number.isSafeInteger(resolved.applied) || resolved.applied < 0)) {
    throw new RaftUsageError(`raft config: applied must be a non-negative integer, got ${resolved.applied}`);
  }
  return resolved;
}
