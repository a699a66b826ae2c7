import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/**
 * The read side of the Raft log as the state machine sees it: what has been persisted. The state
 * machine never writes through this interface; the caller persists each Ready's output and then
 * calls `advance()`. All methods are synchronous: implementations keep the uncompacted log
 * reachable in memory (see src/storage/).
 *
 * Layout: entries live at indexes [firstIndex(), lastIndex()]. The entry at firstIndex() - 1 has
 * been compacted into the snapshot, but its term stays known (`term(firstIndex() - 1)` works).
 * An empty log has firstIndex() = snapshotIndex + 1 and lastIndex() = snapshotIndex.
 */
export interface Storage {
  /**
   * The persisted hard state, and the membership in force at the caller's applied index (the
   * `applied` the node is restarted with). Implementations return the latest snapshot's membership
   * unless the caller recorded a newer one alongside its applied index.
   */
  initialState(): { hardState: HardState; confState: ConfState };

  /**
   * Entries in [lo, hi), at most `maxBytes` of payload, but always at least one entry when
   * lo < hi. Throws LogCompactedError when lo < firstIndex(), LogUnavailableError when
   * hi > lastIndex() + 1.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];

  /**
   * The term of the entry at `index`, for index in [firstIndex() - 1, lastIndex()]. Throws
   * LogCompactedError below that range and LogUnavailableError above it.
   */
  term(index: number): number;

  firstIndex(): number;
  lastIndex(): number;

  /**
   * The most recent snapshot. Throws SnapshotTemporarilyUnavailableError while one is being
   * prepared; the state machine tries again later.
   */
  snapshot(): Snapshot;
}
