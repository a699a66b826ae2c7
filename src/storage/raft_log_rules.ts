// The rules of RaftLogStore mutations, as pure functions over the current (read-only) state. Each
// validates a mutation completely and returns a plan; implementations apply the plan (in memory,
// or as write-batch operations plus an in-memory mirror update). Validating before touching
// anything is what makes a rejected mutation leave no trace, on disk or in memory.

import {
  LogUnavailableError,
  RaftUsageError,
  SnapshotOutOfDateError,
  invariant,
} from '../raft/errors.js';
import type { Storage } from '../raft/storage.js';
import type { ConfState, Entry, HardState, Snapshot } from '../raft/types.js';
import type { RaftPersistUpdate } from './raft_log_store.js';

/** Inclusive range of log indexes. */
export interface IndexRange {
  readonly from: number;
  readonly to: number;
}

export interface PersistPlan {
  readonly snapshot: Snapshot | undefined;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | undefined;
  /** Indexes of existing entries that disappear (not counting those overwritten in place). */
  readonly removed: readonly IndexRange[];
  readonly lastIndex: number;
}

export interface CompactPlan {
  /** The entries discarded. */
  readonly removed: IndexRange;
  readonly compactIndex: number;
  readonly compactTerm: number;
}

function isIndex(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function validateHardStateFields(hs: HardState): void {
  invariant(
    isIndex(hs.term) && isIndex(hs.vote) && isIndex(hs.commit),
    () => `hard state fields must be non-negative safe integers: ${JSON.stringify(hs)}`,
  );
}

export function validateConfState(cs: ConfState): void {
  const lists: Array<[string, readonly number[]]> = [
    ['voters', cs.voters],
    ['learners', cs.learners],
    ['votersOutgoing', cs.votersOutgoing],
    ['learnersNext', cs.learnersNext],
  ];
  for (const [name, ids] of lists) {
    invariant(Array.isArray(ids), () => `conf state ${name} is not an array`);
    for (const id of ids) {
      invariant(
        Number.isSafeInteger(id) && id > 0,
        () => `conf state ${name} holds ${id}; node ids are positive safe integers`,
      );
    }
  }
  invariant(typeof cs.autoLeave === 'boolean', () => 'conf state autoLeave is not a boolean');
}

function validateEntries(entries: readonly Entry[]): void {
  let previous: Entry | undefined;
  for (const entry of entries) {
    invariant(
      isIndex(entry.index) && entry.index > 0 && isIndex(entry.term) && entry.term > 0,
      () => `entry index and term must be positive safe integers: index ${entry.index}, term ${entry.term}`,
    );
    invariant(
      entry.kind === 'normal' || entry.kind === 'confChange',
      () => `entry ${entry.index} has unknown kind ${String(entry.kind)}`,
    );
    invariant(entry.data instanceof Uint8Array, () => `entry ${entry.index} data is not a Uint8Array`);
    if (previous !== undefined) {
      invariant(
        entry.index === previous.index + 1,
        () => `entries are not contiguous: ${previous?.index} then ${entry.index}`,
      );
      invariant(
        entry.term >= previous.term,
        () => `entry terms decrease: ${previous?.term} at ${previous?.index}, then ${entry.term}`,
      );
    }
    previous = entry;
  }
}

export function planPersist(log: Storage, update: RaftPersistUpdate): PersistPlan {
  const current = log.initialState().hardState;
  let firstIndex = log.firstIndex();
  let lastIndex = log.lastIndex();
  let snapshotIndex = log.snapshot().meta.index;
  const removed: IndexRange[] = [];

  const { snapshot } = update;
  if (snapshot !== undefined) {
    const { index, term, confState } = snapshot.meta;
    invariant(
      isIndex(index) && isIndex(term) && (index === 0) === (term === 0),
      () => `snapshot index ${index} and term ${term} must be safe integers, both zero or both positive`,
    );
    invariant(snapshot.data instanceof Uint8Array, () => 'snapshot data is not a Uint8Array');
    validateConfState(confState);
    if (index <= snapshotIndex) throw new SnapshotOutOfDateError(index, snapshotIndex);
    // A snapshot always replaces the whole log. Raft restores one only when its own log does not
    // hold the snapshot's last entry, and from then on assumes its log ends at the snapshot; a
    // stored suffix surviving here would reappear behind its back.
    if (lastIndex >= firstIndex) removed.push({ from: firstIndex, to: lastIndex });
    firstIndex = index + 1;
    lastIndex = index;
    snapshotIndex = index;
  }
  const termAt = (index: number): number =>
    snapshot !== undefined && index === snapshot.meta.index ? snapshot.meta.term : log.term(index);

  const { entries } = update;
  const first = entries[0];
  const last = entries[entries.length - 1];
  if (first !== undefined && last !== undefined) {
    validateEntries(entries);
    invariant(
      first.index <= lastIndex + 1,
      () => `appending entries from ${first.index} would leave a gap after the last index ${lastIndex}`,
    );
    invariant(
      first.index > snapshotIndex,
      () => `entries from ${first.index} would overwrite the snapshot at ${snapshotIndex}`,
    );
    invariant(
      first.index > current.commit,
      () => `entries from ${first.index} would overwrite committed entries (commit ${current.commit})`,
    );
    const previousTerm = termAt(first.index - 1);
    invariant(
      first.term >= previousTerm,
      () => `entry ${first.index} has term ${first.term}, below the preceding entry's ${previousTerm}`,
    );
    if (last.index < lastIndex) removed.push({ from: last.index + 1, to: lastIndex });
    lastIndex = last.index;
  }

  const { hardState } = update;
  if (hardState !== undefined) {
    validateHardStateFields(hardState);
    invariant(
      hardState.term >= current.term,
      () => `hard state term goes back from ${current.term} to ${hardState.term}`,
    );
    invariant(
      hardState.term !== current.term || current.vote === 0 || hardState.vote === current.vote,
      () => `vote changes from ${current.vote} to ${hardState.vote} within term ${current.term}`,
    );
    invariant(
      hardState.commit >= current.commit,
      () => `commit index goes back from ${current.commit} to ${hardState.commit}`,
    );
  }
  const commit = hardState?.commit ?? current.commit;
  invariant(
    commit <= lastIndex,
    () => `commit index ${commit} would be past the last index ${lastIndex}`,
  );

  return { snapshot, entries, hardState, removed, lastIndex };
}

export function planCreateSnapshot(
  log: Storage,
  index: number,
  confState: ConfState,
  data: Uint8Array,
): Snapshot {
  validateConfState(confState);
  invariant(data instanceof Uint8Array, () => 'snapshot data is not a Uint8Array');
  if (!isIndex(index)) throw new RaftUsageError(`snapshot index ${index} is not a safe integer`);
  const snapshotIndex = log.snapshot().meta.index;
  if (index <= snapshotIndex) throw new SnapshotOutOfDateError(index, snapshotIndex);
  const lastIndex = log.lastIndex();
  if (index > lastIndex) throw new LogUnavailableError(index, lastIndex);
  return { meta: { index, term: log.term(index), confState }, data };
}

/** Undefined when there is nothing to discard. */
export function planCompact(log: Storage, compactIndex: number): CompactPlan | undefined {
  if (!isIndex(compactIndex)) throw new RaftUsageError(`compact index ${compactIndex} is not a safe integer`);
  const firstIndex = log.firstIndex();
  if (compactIndex < firstIndex) return undefined;
  const snapshotIndex = log.snapshot().meta.index;
  if (compactIndex > snapshotIndex) {
    throw new RaftUsageError(
      `cannot compact to ${compactIndex}: past the snapshot at ${snapshotIndex}, a lagging peer could not catch up`,
    );
  }
  return {
    removed: { from: firstIndex, to: compactIndex },
    compactIndex,
    compactTerm: log.term(compactIndex),
  };
}
