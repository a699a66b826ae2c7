import type { NodeId } from '../types.js';
import type { VoteResult } from '../quorum/majority.js';
import { Progress } from './progress.js';
import { EMPTY_TRACKER_CONFIG, configMembers, type TrackerConfig } from './config.js';

/** The leader's view of its group: the membership, each member's progress, and election votes. */
export class ProgressTracker {
  private configValue: TrackerConfig = EMPTY_TRACKER_CONFIG;
  private members: NodeId[] = [];
  readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();

  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {}

  get config(): TrackerConfig {
    return this.configValue;
  }

  /** Sorted ids of every tracked node (voters of both halves and learners). */
  get ids(): readonly NodeId[] {
    return this.members;
  }

  /**
   * Switches to `config`, keeping the progress of nodes that stay, creating progress for new ones
   * (optimistically at `lastIndex + 1`) and dropping nodes that left.
   */
  applyConfig(config: TrackerConfig, lastIndex: number): void {
    this.configValue = config;
    this.members = configMembers(config);
    const keep = new Set(this.members);
    for (const id of [...this.progress.keys()]) {
      if (!keep.has(id)) this.progress.delete(id);
    }
    for (const id of this.members) {
      const isLearner = config.learners.has(id);
      const pr = this.progress.get(id);
      if (pr) {
        pr.isLearner = isLearner;
      } else {
        const added = new Progress({
          match: 0,
          next: lastIndex + 1,
          isLearner,
          maxInflight: this.maxInflight,
          maxInflightBytes: this.maxInflightBytes,
        });
        // A node just added has had no chance to answer yet; counting it inactive could make a
        // check-quorum round depose the leader before the new member is even contacted.
        added.recentActive = true;
        this.progress.set(id, added);
      }
    }
    for (const id of [...this.votes.keys()]) {
      if (!keep.has(id)) this.votes.delete(id);
    }
  }

  isSingleton(): boolean {
    const v = this.configValue.voters;
    return v.incoming.size === 1 && !v.isJoint;
  }

  isVoter(id: NodeId): boolean {
    return this.configValue.voters.has(id);
  }

  /** The highest index acknowledged by a quorum of voters. */
  committed(): number {
    return this.configValue.voters.committedIndex((id) => this.progress.get(id)?.match);
  }

  /** Whether a quorum of voters has been heard from since the activity flags were last reset. */
  quorumActive(): boolean {
    return (
      this.configValue.voters.voteResult((id) => {
        const pr = this.progress.get(id);
        return pr === undefined ? undefined : pr.recentActive;
      }) === 'won'
    );
  }

  visit(fn: (id: NodeId, pr: Progress) => void): void {
    for (const id of this.members) {
      const pr = this.progress.get(id);
      if (pr) fn(id, pr);
    }
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote; a node's first answer in an election is the one that counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.members) {
      if (!this.configValue.voters.has(id)) continue;
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const result = this.configValue.voters.voteResult((id) => this.votes.get(id));
    return { granted, rejected, result };
  }
}
