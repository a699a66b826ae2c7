import { invariant } from '../errors.js';
import { Inflights } from './inflights.js';

/**
 * How the leader replicates to one follower:
 * - probe: the follower's log position is unknown; send one append per heartbeat interval and
 *   back off on rejection until a match is found;
 * - replicate: the position is known; stream appends optimistically up to the inflight window;
 * - snapshot: the follower needs entries the leader has compacted; a snapshot is on its way and
 *   nothing else is sent until it is reported done or failed.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  /** The highest index known to be replicated on the follower. */
  match: number;
  /** The index of the next entry to send. Always > match. */
  next: number;
  state: ProgressState = 'probe';
  /** In 'snapshot' state: the index of the snapshot in flight. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. The leader's own progress is always active. */
  recentActive = false;
  /** In 'probe' state: a probe is out and no answer has come back yet. */
  msgAppFlowPaused = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(options: { match: number; next: number; isLearner: boolean; maxInflight: number; maxInflightBytes: number }) {
    this.match = options.match;
    this.next = options.next;
    this.isLearner = options.isLearner;
    this.inflights = new Inflights(options.maxInflight, options.maxInflightBytes);
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot the follower holds at least the snapshot: probe from just after it.
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
  }

  /**
   * Accounts for an append just sent: `entries` entries ending at `lastIndex`. In replicate state
   * the leader moves `next` past them optimistically; in probe state one append is a probe and
   * the follower is paused until answered.
   */
  sentEntries(entries: number, lastIndex: number, bytes: number, mergedIntoPrevious: boolean): void {
    switch (this.state) {
      case 'replicate':
        if (entries > 0) {
          // The merged-into message may predate a state change that emptied the window.
          if (mergedIntoPrevious && this.inflights.count > 0) this.inflights.extendLast(lastIndex, bytes);
          else this.inflights.add(lastIndex, bytes);
          this.next = lastIndex + 1;
        }
        break;
      case 'probe':
        this.msgAppFlowPaused = true;
        break;
      case 'snapshot':
        invariant(false, () => 'an append must not be sent to a follower awaiting a snapshot');
    }
  }

  /**
   * Handles an acknowledgement of index `n`. Returns false if it tells nothing new (out of date).
   */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false;
    this.match = n;
    this.next = Math.max(this.next, n + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * Handles a rejection of the append at index `rejected`; `matchHint` is the leader's best guess of
   * the last index the follower could still match. Returns false if the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    // Nothing but the snapshot is sent in snapshot state, so any rejection is of an older append.
    if (this.state === 'snapshot') return false;
    if (this.state === 'replicate') {
      // Rejections of appends at or below match are stale: the follower has acknowledged them.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // A probe is the only append out in probe state, so any rejection of another index is stale.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** Whether the leader must hold back appends to this follower for now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.msgAppFlowPaused;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  toString(): string {
    let s = `${this.state} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    if (this.inflights.count > 0) s += ` inflight=${this.inflights.count}`;
    return s;
  }
}
