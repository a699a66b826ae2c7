import { LogCompactedError, LogUnavailableError, invariant } from '../errors.js';
import type { Storage } from '../storage.js';
import type { Entry, Snapshot } from '../types.js';
import { UnstableLog } from './unstable.js';

/** Keeps the first entry always, then as many as fit in `maxBytes` of payload. */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length <= 1 || maxBytes === Number.POSITIVE_INFINITY) return entries;
  let size = entries[0]!.data.byteLength;
  let keep = 1;
  while (keep < entries.length) {
    size += entries[keep]!.data.byteLength;
    if (size > maxBytes) break;
    keep++;
  }
  return keep === entries.length ? entries : entries.slice(0, keep);
}

/**
 * The log as Raft reasons about it: the persisted part (Storage) followed by the unstable part.
 *
 *   snapshot/first-1 ... applied ... committed ... stable last | unstable entries ... lastIndex
 *
 * Invariant: firstIndex - 1 ≤ applied ≤ committed ≤ lastIndex.
 */
export class RaftLog {
  readonly unstable: UnstableLog;
  committed: number;
  /** The highest index handed to the caller to apply. */
  applied: number;

  constructor(
    readonly storage: Storage,
    /** Upper bound on the payload of committed entries handed out in one Ready. */
    readonly maxCommittedBytesPerReady: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new UnstableLog(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The term at `index`, or undefined when the index is compacted or beyond the log. */
  term(index: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (index < dummy || index > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(index);
    if (t !== undefined) return t;
    try {
      return this.storage.term(index);
    } catch (err) {
      if (err instanceof LogCompactedError || err instanceof LogUnavailableError) return undefined;
      throw err;
    }
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    invariant(t !== undefined, () => `term of the last index ${this.lastIndex()} is unknown`);
    return t;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Election restriction: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The first index at which `entries` disagree with the log (a different term, or past its end),
   * or 0 when every entry is already present.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term`, with that term. Used to skip over a whole
   * term of mismatched entries per round trip. Returns term 0 if the search reaches unknown terms.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
      i--;
    }
  }

  /**
   * A follower's handling of an append: if the log matches (index, logTerm), append the entries
   * (dropping any conflicting suffix), advance commit, and return the last index the leader's
   * message vouches for. Returns undefined when the log does not match.
   */
  maybeAppend(index: number, logTerm: number, leaderCommit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      invariant(
        conflict > this.committed,
        () => `entry ${conflict} conflicts with the committed prefix (committed ${this.committed})`,
      );
      this.append(entries.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /** Appends entries that directly follow some prefix of the log. Returns the new last index. */
  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0]!.index - 1;
    invariant(after >= this.committed, () => `appending after ${after} would overwrite committed ${this.committed}`);
    invariant(after <= this.lastIndex(), () => `appending after ${after} leaves a gap after ${this.lastIndex()}`);
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    invariant(index <= this.lastIndex(), () => `commit ${index} is past the last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Commits `index` if it is newer and its entry is from `term` (the leader's current term). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    invariant(
      index <= this.committed && index >= this.applied,
      () => `applied ${index} outside [applied ${this.applied}, committed ${this.committed}]`,
    );
    this.applied = index;
  }

  hasNextCommittedEntries(): boolean {
    if (this.unstable.snapshot !== undefined) return false;
    return this.committed > Math.max(this.applied, this.firstIndex() - 1);
  }

  /** Committed entries not yet handed out, bounded by maxCommittedBytesPerReady. */
  nextCommittedEntries(): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    return this.slice(lo, this.committed + 1, this.maxCommittedBytesPerReady);
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable.entries;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replaces the log with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.meta.index;
    this.unstable.restore(snapshot);
  }

  /**
   * Entries in [lo, hi), at most maxBytes of payload (at least one entry). Throws
   * LogCompactedError when lo is compacted.
   */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    const first = this.firstIndex();
    if (lo < first) throw new LogCompactedError(lo, first);
    invariant(lo <= hi && hi <= this.lastIndex() + 1, () => `slice [${lo}, ${hi}) beyond the last index ${this.lastIndex()}`);
    if (lo === hi) return [];
    const offset = this.unstable.offset;
    let result: Entry[] = [];
    if (lo < offset) {
      const storedHi = Math.min(hi, offset);
      result = this.storage.entries(lo, storedHi, maxBytes);
      // The storage stopped early at the size bound: the unstable part would not fit either.
      if (result.length < storedHi - lo) return result;
    }
    if (hi > offset) {
      const fresh = this.unstable.slice(Math.max(lo, offset), hi);
      result = result.length > 0 ? result.concat(fresh) : fresh;
    }
    return limitSize(result, maxBytes);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  toString(): string {
    return `committed=${this.committed} applied=${this.applied} unstable.offset=${this.unstable.offset} unstable.len=${this.unstable.entries.length}`;
  }
}
