import type { NodeId } from '../types.js';

export type VoteResult = 'pending' | 'lost' | 'won';

/**
 * A set of voters that decides by simple majority. The empty set is a degenerate case: it has
 * committed everything and wins every vote, so that a joint configuration whose outgoing half is
 * empty behaves exactly like its incoming half.
 */
export class MajorityConfig {
  readonly ids: readonly NodeId[];
  private readonly members: ReadonlySet<NodeId>;

  constructor(ids: Iterable<NodeId> = []) {
    this.members = new Set(ids);
    this.ids = [...this.members].sort((a, b) => a - b);
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: NodeId): boolean {
    return this.members.has(id);
  }

  /** The votes needed to win. */
  quorum(): number {
    return Math.floor(this.ids.length / 2) + 1;
  }

  /**
   * The largest index that a majority has acknowledged. `acked` returns undefined for a voter that
   * has acknowledged nothing (counted as 0).
   */
  committedIndex(acked: (id: NodeId) => number | undefined): number {
    const n = this.ids.length;
    if (n === 0) return Number.POSITIVE_INFINITY;
    if (n === 1) return acked(this.ids[0]!) ?? 0;
    const indexes = new Array<number>(n);
    for (let i = 0; i < n; i++) indexes[i] = acked(this.ids[i]!) ?? 0;
    indexes.sort((a, b) => b - a);
    // Sorted descending, the quorum-th largest index is held by at least a quorum of voters.
    return indexes[this.quorum() - 1]!;
  }

  /** `votes` returns true (granted), false (rejected) or undefined (not yet heard). */
  voteResult(votes: (id: NodeId) => boolean | undefined): VoteResult {
    if (this.ids.length === 0) return 'won';
    let granted = 0;
    let missing = 0;
    for (const id of this.ids) {
      const v = votes(id);
      if (v === undefined) missing++;
      else if (v) granted++;
    }
    const q = this.quorum();
    if (granted >= q) return 'won';
    if (granted + missing >= q) return 'pending';
    return 'lost';
  }

  toString(): string {
    return `(${this.ids.join(' ')})`;
  }
}
