// A RaftLogStore held entirely in memory. The deterministic simulator uses it as a node's disk: it
// survives a simulated crash, so it holds exactly what was persisted and nothing else. The LevelDB
// storage also keeps one as its read mirror.

import {
  LogCompactedError,
  LogUnavailableError,
  RaftUsageError,
  invariant,
} from '../raft/errors.js';
import {
  EMPTY_CONF_STATE,
  EMPTY_HARD_STATE,
  EMPTY_SNAPSHOT,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
} from '../raft/types.js';
import { bootstrapUpdate, isBlankLog, type RaftLogStore, type RaftPersistUpdate } from './raft_log_store.js';
import {
  planCompact,
  planCreateSnapshot,
  planPersist,
  validateConfState,
  type CompactPlan,
  type PersistPlan,
} from './raft_log_rules.js';

/** Everything a RaftLogStore holds; what `restore` rebuilds a storage from. */
export interface RaftLogState {
  readonly hardState: HardState;
  readonly confState: ConfState;
  readonly snapshot: Snapshot;
  /** The compaction point: firstIndex - 1, and the term of the entry there. */
  readonly compactIndex: number;
  readonly compactTerm: number;
  /** The entries at compactIndex + 1, compactIndex + 2, ... */
  readonly entries: readonly Entry[];
}

// Compacting shifts a head offset instead of splicing, and the array is re-based only once the
// dead prefix is large and at least half the array, so compaction is amortised O(discarded).
const REBASE_MIN_DEAD = 1024;

export class MemoryRaftStorage implements RaftLogStore {
  private hardState: HardState = EMPTY_HARD_STATE;
  private confState: ConfState = EMPTY_CONF_STATE;
  private currentSnapshot: Snapshot = EMPTY_SNAPSHOT;
  private compactIndex = 0;
  private compactTerm = 0;
  /** The entry at index compactIndex + 1 + k is log[head + k]. */
  private log: Entry[] = [];
  private head = 0;

  /** A blank group, initialised from the bootstrap state (see bootstrapUpdate). */
  static bootstrap(confState: ConfState, index?: number, term?: number): MemoryRaftStorage {
    const storage = new MemoryRaftStorage();
    storage.persist(bootstrapUpdate(confState, index, term));
    return storage;
  }

  /** A storage holding exactly `state`, e.g. as recovered from disk. */
  static restore(state: RaftLogState): MemoryRaftStorage {
    const storage = new MemoryRaftStorage();
    const { compactIndex, compactTerm, entries, snapshot, hardState } = state;
    const lastIndex = compactIndex + entries.length;
    entries.forEach((entry, k) =>
      invariant(
        entry.index === compactIndex + 1 + k,
        () => `restored entry ${k} has index ${entry.index}, expected ${compactIndex + 1 + k}`,
      ),
    );
    invariant(
      compactIndex <= snapshot.meta.index && snapshot.meta.index <= lastIndex,
      () =>
        `restored snapshot at ${snapshot.meta.index} is outside the log [${compactIndex}, ${lastIndex}]`,
    );
    invariant(
      snapshot.meta.index === compactIndex
        ? snapshot.meta.term === compactTerm
        : entries[snapshot.meta.index - compactIndex - 1]?.term === snapshot.meta.term,
      () => `restored snapshot term ${snapshot.meta.term} differs from the log's at ${snapshot.meta.index}`,
    );
    invariant(
      hardState.commit <= lastIndex,
      () => `restored commit ${hardState.commit} is past the last index ${lastIndex}`,
    );
    validateConfState(state.confState);
    storage.hardState = hardState;
    storage.confState = state.confState;
    storage.currentSnapshot = snapshot;
    storage.compactIndex = compactIndex;
    storage.compactTerm = compactTerm;
    storage.log = entries.slice();
    return storage;
  }

  // ---- Storage (reads) ----------------------------------------------------------------------------

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.confState };
  }

  firstIndex(): number {
    return this.compactIndex + 1;
  }

  lastIndex(): number {
    return this.compactIndex + this.log.length - this.head;
  }

  term(index: number): number {
    if (index < this.compactIndex) throw new LogCompactedError(index, this.firstIndex());
    if (index > this.lastIndex()) throw new LogUnavailableError(index, this.lastIndex());
    if (index === this.compactIndex) return this.compactTerm;
    return this.at(index).term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo > hi) throw new RaftUsageError(`entries(${lo}, ${hi}): lo is past hi`);
    if (lo < this.firstIndex()) throw new LogCompactedError(lo, this.firstIndex());
    if (hi > this.lastIndex() + 1) throw new LogUnavailableError(hi - 1, this.lastIndex());
    const result: Entry[] = [];
    let size = 0;
    for (let index = lo; index < hi; index++) {
      const entry = this.at(index);
      size += entry.data.byteLength;
      if (size > maxBytes && result.length > 0) break;
      result.push(entry);
    }
    return result;
  }

  snapshot(): Snapshot {
    return this.currentSnapshot;
  }

  // ---- RaftLogStore (writes) ----------------------------------------------------------------------

  persist(update: RaftPersistUpdate): void {
    this.applyPersist(planPersist(this, update));
  }

  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    const snapshot = planCreateSnapshot(this, index, confState, data);
    this.currentSnapshot = snapshot;
    return snapshot;
  }

  compact(compactIndex: number): void {
    const plan = planCompact(this, compactIndex);
    if (plan !== undefined) this.applyCompact(plan);
  }

  setConfState(cs: ConfState): void {
    validateConfState(cs);
    this.confState = cs;
  }

  /** Whether nothing was ever persisted (a bootstrap target). */
  isBlank(): boolean {
    return isBlankLog(this);
  }

  // ---- internals ----------------------------------------------------------------------------------

  private at(index: number): Entry {
    const entry = this.log[this.head + index - this.compactIndex - 1];
    invariant(entry !== undefined, () => `entry ${index} missing from the in-memory log`);
    return entry;
  }

  /** Applies a plan made by planPersist against the current state. */
  private applyPersist(plan: PersistPlan): void {
    const { snapshot } = plan;
    if (snapshot !== undefined) {
      const { index, term } = snapshot.meta;
      this.log = [];
      this.head = 0;
      this.compactIndex = index;
      this.compactTerm = term;
      this.currentSnapshot = snapshot;
      this.confState = snapshot.meta.confState;
    }
    const first = plan.entries[0];
    if (first !== undefined) {
      this.log.length = this.head + (first.index - this.compactIndex - 1);
      // A loop, not push(...entries): spreading a huge array overflows the argument stack.
      for (const entry of plan.entries) this.log.push(entry);
    }
    if (plan.hardState !== undefined) this.hardState = plan.hardState;
    invariant(
      this.lastIndex() === plan.lastIndex,
      () => `last index ${this.lastIndex()} differs from the plan's ${plan.lastIndex}`,
    );
  }

  private applyCompact(plan: CompactPlan): void {
    this.head += plan.compactIndex - this.compactIndex;
    this.compactIndex = plan.compactIndex;
    this.compactTerm = plan.compactTerm;
    if (this.head >= REBASE_MIN_DEAD && this.head * 2 >= this.log.length) {
      this.log = this.log.slice(this.head);
      this.head = 0;
    }
  }
}
