import { invariant } from '../errors.js';
import type { Entry, Snapshot } from '../types.js';

/**
 * The part of the log not yet persisted: an incoming snapshot, and entries from `offset` on.
 * Entries leave it when the caller reports them persisted (`stableTo`).
 */
export class UnstableLog {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  /** The index of entries[0] (or where the next entry goes when there are none). */
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** The first index of the log if a snapshot is pending here (it replaces the persisted log). */
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.meta.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot ? this.snapshot.meta.index : undefined;
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      if (this.snapshot && this.snapshot.meta.index === index) return this.snapshot.meta.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset]!.term;
  }

  /** Entries up to (index, term) are persisted. A mismatched term means they were replaced since. */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === undefined || t !== term || index < this.offset) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot && this.snapshot.meta.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.meta.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /** Appends `entries`, first discarding any entries at or after the first new index. */
  truncateAndAppend(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const from = entries[0]!.index;
    if (from === this.offset + this.entries.length) {
      for (const e of entries) this.entries.push(e);
    } else if (from <= this.offset) {
      // Replaces everything here; the persisted log from `from` on is overridden too.
      this.offset = from;
      this.entries = entries.slice();
    } else {
      const kept = this.entries.slice(0, from - this.offset);
      for (const e of entries) kept.push(e);
      this.entries = kept;
    }
  }

  /** Entries in [lo, hi); the caller guarantees offset ≤ lo ≤ hi ≤ last + 1. */
  slice(lo: number, hi: number): Entry[] {
    invariant(
      lo >= this.offset && lo <= hi && hi <= this.offset + this.entries.length,
      () => `unstable slice [${lo}, ${hi}) out of bounds [${this.offset}, ${this.offset + this.entries.length})`,
    );
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
