// The seam between the PD logic (this folder) and the multi-Raft store that hosts the PD's Raft
// group (group 0). The store implements PdReplication; the PD never sees Raft messages, terms or
// logs directly.
//
// What the store must honour:
// - propose() encodes the command (pdstatepb.PdCommand), proposes it to group 0 and resolves
//   only after this node applied it (PdStateMachine.apply, writes persisted), with that apply's
//   outcome. If this node is not the leader, or the entry is dropped or overwritten by another
//   leader's log, it rejects with NotLeaderError (never leaves the promise pending forever).
// - leaseValid() is true only while no other PD leader can exist (Raft leader lease or a recent
//   ReadIndex-style quorum check); the TSO issues timestamps only while it holds.
// - Commands are applied on every member, in log order, with PdStateMachine.apply.

import type { pdstatepb } from '../proto/index.js';
import type { PdApplyOutcome } from './apply_outcome.js';

export { NotLeaderError } from './errors.js';
export type { PdApplyOutcome } from './apply_outcome.js';

export interface PdMember {
  readonly id: number;
  /** gRPC address serving the Pd service. */
  readonly address: string;
}

export interface PdReplication {
  /** Propose through the PD Raft group; resolves once applied on this node (with the apply outcome), rejects with a NotLeaderError if this node is not the PD leader or the proposal is dropped / overwritten. */
  propose(command: pdstatepb.IPdCommand): Promise<PdApplyOutcome>;
  isLeader(): boolean;
  /** Whether this node's PD leadership lease is valid now (no other PD leader can exist). */
  leaseValid(): boolean;
  /** The gRPC address of the current PD leader, if known. */
  leaderAddress(): string | undefined;
  members(): readonly PdMember[];
}
