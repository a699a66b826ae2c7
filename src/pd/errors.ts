// Errors of the placement driver. Each carries what the caller needs to recover: where the leader
// is, which store is a tombstone, which cluster this PD belongs to. The gRPC service turns them
// into response headers (see service.ts); nothing here is thrown across the wire as a gRPC status.

import type { PdRejection } from './apply_outcome.js';

/**
 * This node is not (or no longer) the PD leader, or a proposal was dropped or overwritten by a
 * new leader. `PdReplication.propose` rejects with this; callers retry at `leaderAddress`.
 */
export class NotLeaderError extends Error {
  readonly code = 'NotLeader';
  constructor(
    /** The current leader's gRPC address, when known. */
    readonly leaderAddress: string | undefined,
    detail = 'this node is not the placement-driver leader',
  ) {
    super(leaderAddress ? `${detail}; the leader is at ${leaderAddress}` : detail);
  }
}

/**
 * The PD leader cannot answer right now but will soon: its lease is not valid, it is still
 * catching up after an election, or a bounded queue is full. Callers back off and retry.
 */
export class PdUnavailableError extends Error {
  readonly code = 'Unavailable';
}

/** A request field is out of range or malformed; retrying the same request will not help. */
export class InvalidArgumentError extends Error {
  readonly code = 'InvalidArgument';
}

export class NotBootstrappedError extends Error {
  readonly code = 'NotBootstrapped';
  constructor() {
    super('the cluster is not bootstrapped yet');
  }
}

export class AlreadyBootstrappedError extends Error {
  readonly code = 'AlreadyBootstrapped';
  constructor(readonly clusterId: number) {
    super(`the cluster is already bootstrapped (cluster id ${clusterId})`);
  }
}

/** The caller belongs to another cluster (or has not learned this one's id). */
export class ClusterMismatchError extends Error {
  readonly code = 'ClusterMismatch';
  constructor(
    readonly expectedClusterId: number,
    readonly givenClusterId: number,
  ) {
    super(`request for cluster ${givenClusterId} reached cluster ${expectedClusterId}`);
  }
}

/** A store removed for good may not come back under the same id. */
export class StoreTombstoneError extends Error {
  readonly code = 'StoreTombstone';
  constructor(readonly storeId: number) {
    super(`store ${storeId} is a tombstone; a removed store never rejoins under its old id`);
  }
}

/** The replicated state machine refused a command; `reason` says why (same on every replica). */
export class ProposalRejectedError extends Error {
  readonly code = 'ProposalRejected';
  constructor(
    readonly reason: PdRejection,
    detail: string,
  ) {
    super(`placement-driver command rejected (${reason}): ${detail}`);
  }
}

export type PdError =
  | NotLeaderError
  | PdUnavailableError
  | InvalidArgumentError
  | NotBootstrappedError
  | AlreadyBootstrappedError
  | ClusterMismatchError
  | StoreTombstoneError
  | ProposalRejectedError;
