// The public surface of the placement driver (see README.md in this folder).
export { PdStateMachine, MAX_REGIONS_PER_COMMAND, type PdWrite, type PdApplyResult, type ClusterStateView } from './state_machine.js';
export type { PdApplyOutcome, PdCommandKind, PdRejection } from './apply_outcome.js';
export type { PdReplication, PdMember } from './replication.js';
export { PdServer, MAX_SCAN_REGIONS, type PdServerConfig, type PdLogger, type PdLogEvent } from './server.js';
export { DEFAULT_PD_OPTIONS, resolvePdOptions, type PdServerOptions } from './options.js';
export {
  NotLeaderError,
  PdUnavailableError,
  InvalidArgumentError,
  NotBootstrappedError,
  AlreadyBootstrappedError,
  ClusterMismatchError,
  StoreTombstoneError,
  ProposalRejectedError,
  type PdError,
} from './errors.js';
export {
  type Timestamp,
  LOGICAL_BITS,
  timestampToBigInt,
  timestampFromBigInt,
  compareTimestamps,
} from './tso.js';
export { clusterStateKey, storeKey, regionKey } from './state_layout.js';
export type { RegionMeta, StoreMeta, PeerMeta, RegionEpochMeta } from './meta.js';
export type { StoreLiveness, StoreStatus, RegionWithLeader } from './cluster.js';
