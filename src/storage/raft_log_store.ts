// The write side of a Raft group's log storage, shared by the in-memory implementation (the "disk"
// of the deterministic simulator) and the LevelDB one. The exact rules every mutation obeys live
// in raft_log_rules.ts so both implementations enforce the same ones.

import { RaftUsageError } from '../raft/errors.js';
import type { Storage } from '../raft/storage.js';
import type { ConfState, Entry, HardState, Snapshot } from '../raft/types.js';

/** One Ready's output for one group. */
export interface RaftPersistUpdate {
  hardState?: HardState;
  entries: readonly Entry[];
  snapshot?: Snapshot;
}

/**
 * Invariants every implementation keeps (c = firstIndex() - 1, the compaction point):
 *   c ≤ snapshot().meta.index ≤ lastIndex()   and   initialState().hardState.commit ≤ lastIndex().
 * Objects handed in (entries, snapshot data) are kept by reference: callers must not mutate them.
 */
export interface RaftLogStore extends Storage {
  /**
   * Persist one Ready's output: snapshot first (if any), then entries, then hard state.
   *
   * Snapshot: its index must exceed the current snapshot's (else SnapshotOutOfDateError). It
   * replaces the whole log (Raft assumes the log ends at the snapshot once it restores one). The
   * compaction point and the recorded membership become the snapshot's.
   *
   * Entries: an entry at index i replaces the entry at i and everything after it. Entries must be
   * contiguous with non-decreasing terms, start no later than lastIndex() + 1, and start after both
   * the snapshot index and the persisted commit index — Raft never rewrites committed entries, so
   * doing so is a bug and raises RaftInvariantError rather than losing acknowledged writes.
   *
   * Hard state: term never decreases, a vote never changes within a term, commit never decreases
   * and never passes lastIndex() (RaftInvariantError otherwise).
   *
   * The update is validated completely before anything changes: a rejected update leaves the
   * storage as it was.
   */
  persist(update: RaftPersistUpdate): void | Promise<void>;

  /**
   * Record a snapshot of the state machine at `index` (the caller's applied index or below): the
   * term is taken from the log. Requires snapshot index < index ≤ lastIndex()
   * (SnapshotOutOfDateError / LogUnavailableError). Does not compact, and does not change the
   * recorded membership (the caller records that with setConfState as it applies changes; a
   * snapshot at or below the applied index is never newer). Returns the snapshot.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot | Promise<Snapshot>;

  /**
   * Discard entries ≤ compactIndex. The rule: compactIndex ≤ snapshot().meta.index, so a peer too
   * far behind can always be caught up by the snapshot (RaftUsageError otherwise); compactIndex
   * ≤ firstIndex() - 1 is already done and is a no-op, so a late or repeated log GC is harmless.
   * Afterwards firstIndex() = compactIndex + 1 and term(compactIndex) stays readable.
   */
  compact(compactIndex: number): void | Promise<void>;

  /** Record the membership in force at the caller's applied index (returned by initialState). */
  setConfState(cs: ConfState): void | Promise<void>;
}

/**
 * New Raft groups start from a snapshot-only state at this index and term, rather than from an
 * empty log: a peer added later then starts empty (index 0), is always behind the log's start, and
 * so always catches up from a snapshot — one code path, never a replay from index 1. (That
 * snapshot must postdate the peer's addition, or the peer refuses it: see src/raft/README.md.)
 */
export const RAFT_INIT_INDEX = 5;
export const RAFT_INIT_TERM = 5;

/**
 * The update that initialises a brand-new group's storage: snapshot metadata only (no data) at
 * (index, term) with `confState`, and hard state {term, vote 0, commit index}. Persist it into an
 * empty storage (see the implementations' `bootstrap`).
 */
export function bootstrapUpdate(
  confState: ConfState,
  index: number = RAFT_INIT_INDEX,
  term: number = RAFT_INIT_TERM,
): RaftPersistUpdate {
  if (!Number.isSafeInteger(index) || index < 1 || !Number.isSafeInteger(term) || term < 1) {
    throw new RaftUsageError(`bootstrap needs index ≥ 1 and term ≥ 1, got index ${index}, term ${term}`);
  }
  return {
    snapshot: { meta: { index, term, confState }, data: new Uint8Array(0) },
    hardState: { term, vote: 0, commit: index },
    entries: [],
  };
}

/** Whether a storage was ever written: bootstrap refuses to overwrite an initialised group. */
export function isBlankLog(storage: Storage): boolean {
  const { hardState } = storage.initialState();
  return (
    storage.lastIndex() === 0 &&
    storage.snapshot().meta.index === 0 &&
    hardState.term === 0 &&
    hardState.vote === 0 &&
    hardState.commit === 0
  );
}
