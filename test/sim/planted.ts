// Test-only variants of Raft with one known bug each. The simulator must catch every one of them
// within a bounded number of seeds; otherwise it would be checking nothing.
import type { Raft, VoteRequest } from '../../src/raft/index.js';
import { ObservedRaft, type ObservedRaftClass } from './observed_raft.js';

/** Commits an entry as soon as a quorum holds it, whatever its term (Figure 8 of the Raft paper). */
class CommitsPreviousTermByCounting extends ObservedRaft {
  protected override maybeCommit(): boolean {
    const quorumIndex = this.tracker.committed();
    if (quorumIndex <= this.log.committed || quorumIndex > this.log.lastIndex()) return false;
    this.log.commitTo(quorumIndex);
    return true;
  }
}

/** Grants votes without the election restriction (the candidate's log need not be up to date). */
class VotesWithoutLogCheck extends ObservedRaft {
  protected override canGrantVote(m: VoteRequest): boolean {
    const self = this as unknown as Raft;
    return (
      self.vote === m.from ||
      (self.vote === 0 && self.lead === 0) ||
      (m.type === 'preVote' && m.term > self.term)
    );
  }
}

/** Serves lease reads whenever check-quorum is on, trusting the leader's own view (no derived lease). */
class TrustsCheckQuorumAsLease extends ObservedRaft {
  override leaseValid(): boolean {
    return this.role === 'leader' && this.checkQuorum;
  }
}

export const PLANTED_BUGS = {
  commitPreviousTermByCounting: CommitsPreviousTermByCounting,
  voteWithoutLogCheck: VotesWithoutLogCheck,
  trustCheckQuorumAsLease: TrustsCheckQuorumAsLease,
} satisfies Record<string, ObservedRaftClass>;

export type PlantedBug = keyof typeof PLANTED_BUGS;
