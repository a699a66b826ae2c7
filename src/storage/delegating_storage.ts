import type { ConfState, Entry, HardState, Snapshot, Storage } from '../raft/index.js';

/** A Storage that passes every read to another one; wrappers override the reads they shape. */
export class DelegatingStorage implements Storage {
  constructor(protected readonly inner: Storage) {}
  initialState(): { hardState: HardState; confState: ConfState } {
    return this.inner.initialState();
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.inner.entries(lo, hi, maxBytes);
  }
  term(index: number): number {
    return this.inner.term(index);
  }
  firstIndex(): number {
    return this.inner.firstIndex();
  }
  lastIndex(): number {
    return this.inner.lastIndex();
  }
  snapshot(): Snapshot {
    return this.inner.snapshot();
  }
}
