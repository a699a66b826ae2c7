import type { Entry, NodeId, Raft } from '../../src/raft/index.js';
import type { MemoryRaftStorage } from '../../src/storage/memory_raft_storage.js';

const decoder = new TextDecoder();
const describeData = (e: Entry): string => `${e.kind}:${decoder.decode(e.data)}`;

/**
 * Raft's safety properties, checked incrementally as the simulation runs:
 * - election safety: at most one leader per term;
 * - log matching: two entries with the same index and term carry the same command and follow an
 *   entry of the same term (so, by induction, the logs agree on everything before them);
 * - committed entries never change: once any node has committed (index, term), no node commits
 *   a different term at that index, and no node holding it replaces it;
 * - leader completeness: a new leader holds every entry committed before its election;
 * - commit durability: when a leader commits an entry, no node lacking it could be elected;
 * - state machine safety: every node applies the same entry at each index.
 * The first violation is kept; later ones are usually consequences.
 */
export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** "index:term" → the command and the previous entry's term. */
  private readonly entryAt = new Map<string, { data: string; prevTerm: number | undefined }>();
  /** index → term of the committed entry. */
  private readonly committedTerm = new Map<number, number>();
  private maxCommitted = 0;
  /** index → the entry applied there. */
  private readonly appliedAt = new Map<number, string>();
  violations: string[] = [];
  elections = 0;
  confChangesApplied = new Set<number>();

  private fail(message: string): void {
    this.violations.push(message);
  }

  onBecomeLeader(raft: Raft): void {
    this.elections++;
    const term = raft.term;
    const previous = this.leaderOfTerm.get(term);
    if (previous !== undefined && previous !== raft.id) {
      this.fail(`election safety: nodes ${previous} and ${raft.id} are both leaders of term ${term}`);
      return;
    }
    this.leaderOfTerm.set(term, raft.id);
    const firstIndex = raft.log.firstIndex();
    for (let index = Math.max(1, firstIndex); index <= this.maxCommitted; index++) {
      const term = this.committedTerm.get(index);
      if (term === undefined) continue;
      const mine = raft.log.term(index);
      if (mine !== term) {
        this.fail(
          `leader completeness: node ${raft.id} became leader of term ${raft.term} without committed entry ${index} (term ${term}); it has term ${mine ?? 'none'} there`,
        );
        return;
      }
    }
  }

  /**
   * Before `disk` persists `entries` for node `id`: a node that holds a committed entry never
   * replaces it. (A node that never received it — a deposed leader cut off from the rest — may
   * well write something else at that index; it just can never commit it.)
   */
  beforePersist(id: NodeId, disk: MemoryRaftStorage, entries: readonly Entry[]): void {
    const last = disk.lastIndex();
    const first = disk.firstIndex();
    for (const e of entries) {
      if (e.index > last || e.index < first) continue;
      const committed = this.committedTerm.get(e.index);
      if (committed === undefined || committed === e.term) continue;
      if (disk.term(e.index) === committed) {
        this.fail(`committed entry overwritten: node ${id} replaced committed entry ${e.index} (term ${committed}) with term ${e.term}`);
        return;
      }
    }
  }

  /** After `disk` persisted `entries` for node `id`. */
  onPersist(id: NodeId, disk: MemoryRaftStorage, entries: readonly Entry[]): void {
    for (const e of entries) {
      let prevTerm: number | undefined;
      try {
        prevTerm = disk.term(e.index - 1);
      } catch {
        prevTerm = undefined;
      }
      const key = `${e.index}:${e.term}`;
      const data = describeData(e);
      const known = this.entryAt.get(key);
      if (known === undefined) {
        this.entryAt.set(key, { data, prevTerm });
        continue;
      }
      if (known.data !== data) {
        this.fail(`log matching: two different entries at index ${e.index} term ${e.term}: "${known.data}" and "${data}" (node ${id})`);
        return;
      }
      if (known.prevTerm !== undefined && prevTerm !== undefined && known.prevTerm !== prevTerm) {
        this.fail(
          `log matching: entry ${e.index}/${e.term} follows term ${known.prevTerm} on one node and term ${prevTerm} on node ${id}`,
        );
        return;
      }
    }
  }

  /** Node `id` moved its commit index from `from` to `to` (its disk holds the entries). */
  onCommit(id: NodeId, disk: MemoryRaftStorage, from: number, to: number): void {
    const first = disk.firstIndex();
    for (let index = Math.max(from + 1, first - 1); index <= to; index++) {
      let term: number;
      try {
        term = disk.term(index);
      } catch {
        continue;
      }
      const known = this.committedTerm.get(index);
      if (known === undefined) {
        this.committedTerm.set(index, term);
        if (index > this.maxCommitted) this.maxCommitted = index;
      } else if (known !== term) {
        this.fail(`committed entries disagree at index ${index}: term ${known} elsewhere, term ${term} on node ${id}`);
        return;
      }
    }
  }

  /**
   * Commit durability, checked when a leader advances its commit index to `index`: the entry
   * must be held by enough nodes that no node lacking it could win an election in the leader's
   * configuration. A node wins only with votes from nodes whose logs its own log is at least as
   * up to date as (the election restriction), so for every node lacking the entry, the nodes it
   * could win votes from must not form a quorum. This holds for every commit a correct leader
   * makes (nothing lacking an entry of the leader's term can outrank a node holding it); a
   * leader that commits too early (the paper's Figure 8) breaks it at once, before any later
   * election has to happen for the loss to show.
   */
  onLeaderCommit(leader: Raft, disks: ReadonlyMap<NodeId, MemoryRaftStorage>): void {
    const index = leader.log.committed;
    const term = leader.log.term(index);
    if (term === undefined) return;
    const holds = (disk: MemoryRaftStorage): boolean => {
      if (index < disk.firstIndex()) return disk.snapshot().meta.index >= index || disk.firstIndex() - 1 >= index;
      if (index > disk.lastIndex()) return false;
      return disk.term(index) === term;
    };
    const last = (disk: MemoryRaftStorage): { index: number; term: number } => ({
      index: disk.lastIndex(),
      term: disk.term(disk.lastIndex()),
    });
    const voters = leader.tracker.config.voters;
    for (const [candidate, disk] of disks) {
      if (holds(disk)) continue;
      const c = last(disk);
      const wouldGrant = (id: NodeId): boolean | undefined => {
        const voterDisk = disks.get(id);
        if (voterDisk === undefined) return false;
        const v = last(voterDisk);
        return c.term > v.term || (c.term === v.term && c.index >= v.index);
      };
      if (voters.voteResult(wouldGrant) === 'won') {
        this.fail(
          `commit durability: leader ${leader.id} (term ${leader.term}) committed ${index} (term ${term}), but node ${candidate}, which lacks it (last ${c.index}/${c.term}), could still be elected`,
        );
        return;
      }
    }
  }

  onApply(id: NodeId, e: Entry): void {
    const data = `${e.term}/${describeData(e)}`;
    const known = this.appliedAt.get(e.index);
    if (known === undefined) {
      this.appliedAt.set(e.index, data);
      if (e.kind === 'confChange') this.confChangesApplied.add(e.index);
    } else if (known !== data) {
      this.fail(`state machine safety: index ${e.index} applied as "${known}" elsewhere and "${data}" on node ${id}`);
    }
  }

  get committedEntries(): number {
    return this.committedTerm.size;
  }
}
