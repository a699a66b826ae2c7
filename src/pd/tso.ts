// The timestamp oracle: cluster-wide, strictly increasing timestamps `physical_ms << 18 | logical`
// for transactions.
//
// Why it never goes backwards, even across leader changes and clock jumps:
// - Before issuing anything, a new leader persists a physical limit through Raft
//   (TsoWindowCommand) and starts above the *previous* limit reported by that apply. The apply
//   happens after every earlier committed entry, so the previous limit bounds every timestamp any
//   earlier leader issued.
// - A leader only issues timestamps whose physical part is <= a limit it saw applied, and only
//   while its lease is valid (no other leader can exist at that moment).
// - Within one leadership, `physical` only moves forward (max of itself and the clock), and the
//   logical counter moves to the next millisecond when it would overflow 2^18.
// The window is extended ahead of time (when less than half of it is left) so the Raft round is
// rarely on the request path.

import { InvalidArgumentError, NotLeaderError, PdUnavailableError } from './errors.js';
import type { PdReplication } from './replication.js';
import { MAX_TSO_PHYSICAL_MS, type PdStateMachine } from './state_machine.js';

export const LOGICAL_BITS = 18;
/** Logical values are in [0, LOGICAL_LIMIT). */
export const LOGICAL_LIMIT = 1 << LOGICAL_BITS;
/** Timestamps one request may take: all share one physical millisecond. */
export const MAX_TIMESTAMPS_PER_REQUEST = LOGICAL_LIMIT - 1;
/** Raft rounds one request may wait for before it is told to retry. */
const MAX_EXTENSIONS_PER_REQUEST = 4;
/** Raft rounds a new leader may spend finding a window above its predecessors'. */
const MAX_ACTIVATION_ATTEMPTS = 5;

export interface Timestamp {
  readonly physical: number;
  readonly logical: number;
}

export function timestampToBigInt(ts: Timestamp): bigint {
  return (BigInt(ts.physical) << BigInt(LOGICAL_BITS)) | BigInt(ts.logical);
}

export function timestampFromBigInt(value: bigint): Timestamp {
  if (value < 0n || value >= 1n << 64n) throw new RangeError(`timestamp ${value} is not an unsigned 64-bit integer`);
  return { physical: Number(value >> BigInt(LOGICAL_BITS)), logical: Number(value & BigInt(LOGICAL_LIMIT - 1)) };
}

export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  return a.physical !== b.physical ? a.physical - b.physical : a.logical - b.logical;
}

export interface TimestampOracleDeps {
  readonly replication: PdReplication;
  readonly stateMachine: PdStateMachine;
  /** Milliseconds since the epoch; may jump backwards. */
  readonly clock: () => number;
  /** How far ahead of the clock each persisted limit goes. */
  readonly windowMs: number;
}

type OracleState = 'inactive' | 'activating' | 'serving';

export class TimestampOracle {
  private state: OracleState = 'inactive';
  private activation: Promise<void> | undefined;
  /** The last issued timestamp is (physical, logical); logical -1: none issued at `physical`. */
  private physical = 0;
  private logical = -1;
  /** Highest physical value this leadership may issue (persisted through Raft). */
  private limitMs = 0;
  private extension: Promise<void> | undefined;
  private generation = 0;

  constructor(private readonly deps: TimestampOracleDeps) {
    if (!Number.isSafeInteger(deps.windowMs) || deps.windowMs < 1) {
      throw new RangeError(`tso window must be a positive integer of milliseconds, got ${deps.windowMs}`);
    }
  }

  get serving(): boolean {
    return this.state === 'serving';
  }

  /** The persisted limit this leadership issues under (for tests and status). */
  get physicalLimitMs(): number {
    return this.limitMs;
  }

  /**
   * Starts serving after a leadership gain: persists a window above every earlier one. Resolves
   * once timestamps may be issued; rejects (NotLeaderError, PdUnavailableError) otherwise.
   */
  activate(): Promise<void> {
    this.deactivate();
    this.state = 'activating';
    const generation = this.generation;
    this.activation = this.persistFirstWindow(generation).catch((error: unknown) => {
      if (generation === this.generation) this.state = 'inactive';
      throw error;
    });
    return this.activation;
  }

  /** Stops serving (leadership lost or changed); an in-flight Raft round is ignored when it lands. */
  deactivate(): void {
    this.generation++;
    this.state = 'inactive';
    this.activation = undefined;
    this.extension = undefined;
    this.physical = 0;
    this.logical = -1;
    this.limitMs = 0;
  }

  /** Returns the last of `count` consecutive timestamps (same physical, logical counting down). */
  async getTimestamps(count: number): Promise<Timestamp> {
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_TIMESTAMPS_PER_REQUEST) {
      throw new InvalidArgumentError(`timestamp count must be an integer in [1, ${MAX_TIMESTAMPS_PER_REQUEST}], got ${count}`);
    }
    for (let extensions = 0; ; extensions++) {
      this.checkLeader();
      if (this.state === 'activating') {
        await this.activation;
        continue;
      }
      if (this.state !== 'serving') throw new PdUnavailableError('the timestamp oracle is not serving yet; retry');
      // Checked right before issuing, with no await in between: no other leader exists now.
      if (!this.deps.replication.leaseValid()) {
        throw new PdUnavailableError('the placement-driver leader lease is not valid; retry');
      }
      const now = this.now();
      let physical = this.physical;
      let logical = this.logical;
      if (now > physical) {
        physical = now;
        logical = -1;
      }
      if (logical + count >= LOGICAL_LIMIT) {
        physical += 1;
        logical = -1;
      }
      if (physical <= this.limitMs) {
        this.physical = physical;
        this.logical = logical + count;
        this.extendIfDue(now);
        return { physical, logical: this.logical };
      }
      if (extensions === MAX_EXTENSIONS_PER_REQUEST) {
        throw new PdUnavailableError('the timestamp window could not be extended in time; retry');
      }
      await this.extend(physical);
    }
  }

  /** Extends the persisted window when less than half of it is left (call periodically). */
  extendIfDue(now = this.now()): void {
    if (this.state !== 'serving') return;
    if (this.limitMs - Math.max(now, this.physical) < this.deps.windowMs / 2) {
      this.extend(Math.max(now, this.physical)).catch(() => {
        // A background extension that fails (leadership lost) is retried on demand.
      });
    }
  }

  private async persistFirstWindow(generation: number): Promise<void> {
    for (let attempt = 0; attempt < MAX_ACTIVATION_ATTEMPTS; attempt++) {
      const base = Math.max(this.now(), this.deps.stateMachine.tsoPhysicalLimitMs + 1);
      const outcome = await this.deps.replication.propose({
        tsoWindow: { physicalLimitMs: Math.min(base + this.deps.windowMs, MAX_TSO_PHYSICAL_MS) },
      });
      if (generation !== this.generation) throw new NotLeaderError(this.deps.replication.leaderAddress(), 'leadership changed');
      if (outcome.kind === 'tso-window') {
        // Everything any earlier leader issued had physical <= previousLimitMs.
        const start = Math.max(this.now(), outcome.previousLimitMs + 1);
        if (start <= outcome.limitMs) {
          this.physical = start;
          this.logical = -1;
          this.limitMs = outcome.limitMs;
          this.state = 'serving';
          return;
        }
        continue; // the clock ran past the new window already; persist a later one
      }
      if (outcome.kind !== 'rejected' || outcome.reason !== 'window-not-ahead') {
        throw new PdUnavailableError(`could not persist a timestamp window: ${outcome.kind}`);
      }
      // Our view of the previous limit was stale; our command applied, so it is current now.
    }
    throw new PdUnavailableError('could not persist a timestamp window above the previous leader’s');
  }

  /** One extension in flight at a time; callers share it. */
  private extend(atLeastPhysical: number): Promise<void> {
    if (this.extension) return this.extension;
    const generation = this.generation;
    const target = Math.min(Math.max(atLeastPhysical, this.now(), this.physical) + this.deps.windowMs, MAX_TSO_PHYSICAL_MS);
    this.extension = this.deps.replication
      .propose({ tsoWindow: { physicalLimitMs: target } })
      .then((outcome) => {
        if (generation !== this.generation) return;
        // A rejection (someone else's window is ahead) leaves the limit alone: issuing under a
        // window we did not persist would be unsafe; the lease check stops us instead.
        if (outcome.kind === 'tso-window') this.limitMs = Math.max(this.limitMs, outcome.limitMs);
      })
      .finally(() => {
        if (generation === this.generation) this.extension = undefined;
      });
    return this.extension;
  }

  private checkLeader(): void {
    if (!this.deps.replication.isLeader()) throw new NotLeaderError(this.deps.replication.leaderAddress());
  }

  private now(): number {
    const now = this.deps.clock();
    if (!Number.isFinite(now) || now < 0) throw new Error(`invariant: the clock returned ${now}`);
    return Math.floor(now);
  }
}
