// Cluster-unique ids (stores, Regions, peers), handed out by the PD leader from memory.
//
// The leader reserves a window of ids with one Raft round (AllocIdWindowCommand) and then serves
// from it without touching Raft. Safety does not depend on the leader's view being current: the
// state machine accepts a window only if it ends past every window before it, and reports the
// window's start as the previous end *at apply time*. So every applied window is disjoint from
// every other, whoever proposed it and however stale its view was; a leader (old or new) only
// hands out ids from a window it saw applied. A new leader starts with no window and reserves a
// fresh one above the persisted end; the unused rest of an old leader's window is simply skipped.

import type { PdApplyOutcome } from './apply_outcome.js';
import { InvalidArgumentError, NotLeaderError, PdUnavailableError } from './errors.js';
import type { PdReplication } from './replication.js';
import { MAX_ID_WINDOW_SPAN, type PdStateMachine } from './state_machine.js';

/** Ids one request may take at once. */
export const MAX_IDS_PER_REQUEST = 10_000;
/** Callers waiting for a reservation at once; beyond it, callers are told to retry. */
export const MAX_ID_WAITERS = 10_000;
/** Reservations one call may wait for before giving up (others may drain each new window). */
const MAX_RESERVATIONS_PER_CALL = 8;
/** Rejected reservations in a row (stale view) before giving up. */
const MAX_RESERVE_ATTEMPTS = 3;

export interface IdAllocatorDeps {
  readonly replication: PdReplication;
  readonly stateMachine: PdStateMachine;
  /** Ids reserved per Raft round. */
  readonly windowSize: number;
}

export class IdAllocator {
  /** The current window is [next, end). */
  private next = 0;
  private end = 0;
  /** The one reservation in flight; concurrent callers share it. */
  private reservation: Promise<void> | undefined;
  /** Bumped on every leadership change, so a reservation that finishes late is discarded. */
  private generation = 0;
  private waiters = 0;

  constructor(private readonly deps: IdAllocatorDeps) {
    if (!Number.isSafeInteger(deps.windowSize) || deps.windowSize < 1 || deps.windowSize > MAX_ID_WINDOW_SPAN) {
      throw new RangeError(`id window must be an integer in [1, ${MAX_ID_WINDOW_SPAN}], got ${deps.windowSize}`);
    }
  }

  /** Forgets the window: call on every leadership change (gained or lost). */
  reset(): void {
    this.generation++;
    this.next = 0;
    this.end = 0;
    this.reservation = undefined;
  }

  /** Ids left in the current window (for tests and status). */
  get remaining(): number {
    return this.end - this.next;
  }

  /** Allocates `count` consecutive ids and returns the first. Leader only. */
  async alloc(count = 1): Promise<number> {
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_IDS_PER_REQUEST) {
      throw new InvalidArgumentError(`id count must be an integer in [1, ${MAX_IDS_PER_REQUEST}], got ${count}`);
    }
    for (let reservations = 0; ; reservations++) {
      if (!this.deps.replication.isLeader()) throw new NotLeaderError(this.deps.replication.leaderAddress());
      if (this.end - this.next >= count) {
        const first = this.next;
        this.next += count;
        return first;
      }
      if (reservations === MAX_RESERVATIONS_PER_CALL) {
        throw new PdUnavailableError('id windows were used up by other callers; retry');
      }
      if (this.waiters >= MAX_ID_WAITERS) throw new PdUnavailableError('too many id allocations waiting; retry');
      this.waiters++;
      try {
        await this.reserve(count);
      } finally {
        this.waiters--;
      }
    }
  }

  private reserve(count: number): Promise<void> {
    this.reservation ??= this.reserveWindow(Math.max(this.deps.windowSize, count)).finally(() => {
      this.reservation = undefined;
    });
    return this.reservation;
  }

  private async reserveWindow(size: number): Promise<void> {
    const generation = this.generation;
    for (let attempt = 0; attempt < MAX_RESERVE_ATTEMPTS; attempt++) {
      // Our view may be stale right after an election; the apply outcome is authoritative.
      const base = Math.max(this.end, this.deps.stateMachine.idAllocatedEnd, 1);
      const outcome: PdApplyOutcome = await this.deps.replication.propose({ allocIdWindow: { end: base + size } });
      if (generation !== this.generation) return;
      if (outcome.kind === 'id-window') {
        // Any ids left in the previous window are skipped: windows need not be contiguous.
        this.next = outcome.start;
        this.end = outcome.end;
        return;
      }
      if (outcome.kind !== 'rejected' || outcome.reason !== 'window-not-ahead') {
        throw new PdUnavailableError(`id window reservation failed: ${describe(outcome)}`);
      }
      // Rejected because our view was behind; now that our command applied, the view is current.
    }
    throw new PdUnavailableError('id window reservation kept losing to newer windows; retry');
  }
}

function describe(outcome: PdApplyOutcome): string {
  return outcome.kind === 'rejected' ? `${outcome.reason}: ${outcome.detail}` : outcome.kind;
}
