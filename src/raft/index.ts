// The public surface of the Raft state machine.
export * from './types.js';
export * from './errors.js';
export type { Storage } from './storage.js';
export { RAFT_DEFAULTS, SILENT_LOGGER, type RaftConfig, type RaftLogger } from './config.js';
export type { ReadOnlyOption } from './read_only.js';
export {
  Raft,
  type CampaignKind,
  type ConfChangeApplyResult,
  type ProposalDropReason,
  type ProposeResult,
  type ReadIndexResult,
  type SnapshotStatus,
} from './raft.js';
export { RaftNode, type ProgressStatus, type RaftFactory, type RaftStatus } from './node.js';
export * from './confchange/types.js';
export { encodeConfChange, decodeConfChange, ConfChangeDecodeError } from './confchange/codec.js';
export type { ProgressState } from './tracker/progress.js';
