import type { NodeId } from '../types.js';
import { MajorityConfig, type VoteResult } from './majority.js';

/**
 * Two majority configurations that must both agree: the incoming one and, while a membership
 * change is in its joint phase, the outgoing one. Outside a joint phase `outgoing` is empty and
 * the joint config behaves like `incoming` alone.
 */
export class JointConfig {
  constructor(
    readonly incoming: MajorityConfig = new MajorityConfig(),
    readonly outgoing: MajorityConfig = new MajorityConfig(),
  ) {}

  get isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  has(id: NodeId): boolean {
    return this.incoming.has(id) || this.outgoing.has(id);
  }

  /** Every voter of either half, sorted, without duplicates. */
  ids(): NodeId[] {
    const all = new Set<NodeId>([...this.incoming.ids, ...this.outgoing.ids]);
    return [...all].sort((a, b) => a - b);
  }

  committedIndex(acked: (id: NodeId) => number | undefined): number {
    return Math.min(this.incoming.committedIndex(acked), this.outgoing.committedIndex(acked));
  }

  voteResult(votes: (id: NodeId) => boolean | undefined): VoteResult {
    const a = this.incoming.voteResult(votes);
    const b = this.outgoing.voteResult(votes);
    if (a === b) return a;
    if (a === 'lost' || b === 'lost') return 'lost';
    // One half won and the other is pending, or both pending.
    return 'pending';
  }

  toString(): string {
    return this.isJoint ? `${this.incoming}&&${this.outgoing}` : this.incoming.toString();
  }
}
