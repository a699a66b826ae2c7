// An in-memory stand-in for the PD Raft group: one shared log, members that apply it to their own
// PdStateMachine and "disk" (a key-value map of the writes). It keeps the properties of the real
// thing that the PD logic relies on, and nothing else:
// - a proposal is encoded, appended to the log and resolved once applied on the proposer, with
//   that apply's outcome; entries apply in log order;
// - only the leader may propose; a proposal of a node that lost leadership before its entry is
//   committed is dropped (NotLeaderError);
// - followers apply lazily: a new leader's state machine is stale until its first proposal
//   applies (everything before it applies first), just as a real new leader's apply lags;
// - a deposed leader can be left uninformed (no onLeadershipChange(false)) and even made to
//   believe it still leads (a partitioned old leader), with its stale in-memory state intact.

import { pdstatepb } from '../../src/proto/index.js';
import { NotLeaderError } from '../../src/pd/errors.js';
import type { PdApplyOutcome } from '../../src/pd/apply_outcome.js';
import type { PdMember, PdReplication } from '../../src/pd/replication.js';
import { PdStateMachine } from '../../src/pd/state_machine.js';
import type { PdServer } from '../../src/pd/server.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export class FakePdGroup {
  readonly log: Uint8Array[] = [];
  readonly members: FakeMember[];
  leaderId: number | undefined;
  term = 1;
  /** Every command proposed (decoded), in log order, for assertions. */
  readonly proposed: pdstatepb.IPdCommand[] = [];
  /** When set, proposals wait for this before they commit (to interleave callers). */
  gate: Promise<void> | undefined;

  constructor(memberIds: readonly number[]) {
    this.members = memberIds.map((id) => new FakeMember(this, id));
  }

  /** A group of one member that leads from the start. */
  static single(): { group: FakePdGroup; member: FakeMember } {
    const group = new FakePdGroup([1]);
    group.leaderId = 1;
    return { group, member: group.member(1) };
  }

  member(id: number): FakeMember {
    const found = this.members.find((m) => m.id === id);
    if (!found) throw new Error(`no member ${id}`);
    return found;
  }

  get leader(): FakeMember | undefined {
    return this.leaderId === undefined ? undefined : this.member(this.leaderId);
  }

  /**
   * Makes `id` the leader of a new term. `notifyOld: false` leaves the previous leader's server
   * uninformed (it keeps its stale in-memory view).
   */
  elect(id: number, options: { notifyOld?: boolean } = {}): void {
    const previous = this.leader;
    this.term++;
    this.leaderId = id;
    if (previous && previous.id !== id && options.notifyOld !== false) {
      previous.believesLeader = false;
      previous.server?.onLeadershipChange(false, this.term);
    }
    const next = this.member(id);
    next.believesLeader = false;
    next.server?.onLeadershipChange(true, this.term);
  }

  /** No leader (an election in progress). */
  loseLeader(): void {
    const previous = this.leader;
    this.term++;
    this.leaderId = undefined;
    previous?.server?.onLeadershipChange(false, this.term);
  }

  commandKinds(): string[] {
    return this.proposed.map((c) => Object.keys(c).find((k) => (c as Record<string, unknown>)[k] != null) ?? '?');
  }
}

export class FakeMember implements PdReplication {
  readonly address: string;
  stateMachine = new PdStateMachine();
  /** The persisted writes: hex key → [key, value]. */
  readonly disk = new Map<string, [Uint8Array, Uint8Array]>();
  applied = 0;
  /** Whether the lease holds while leading (false: lease expired, e.g. clock trouble). */
  leaseOk = true;
  /** A deposed leader that has not noticed (partitioned): it answers isLeader() = true. */
  believesLeader = false;
  server: PdServer | undefined;
  readonly outcomes: PdApplyOutcome[] = [];

  constructor(
    private readonly group: FakePdGroup,
    readonly id: number,
  ) {
    this.address = `127.0.0.1:${20000 + id}`;
  }

  async propose(command: pdstatepb.IPdCommand): Promise<PdApplyOutcome> {
    if (this.group.leaderId !== this.id) throw new NotLeaderError(this.leaderAddress());
    const term = this.group.term;
    const bytes = pdstatepb.PdCommand.encode(command).finish();
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.group.gate) await this.group.gate;
    // Leadership changed before the entry committed: a new leader overwrote it.
    if (this.group.leaderId !== this.id || this.group.term !== term) {
      throw new NotLeaderError(this.leaderAddress(), 'proposal dropped: leadership changed');
    }
    this.group.log.push(bytes);
    this.group.proposed.push(pdstatepb.PdCommand.decode(bytes));
    const index = this.group.log.length;
    this.catchUp();
    const outcome = this.outcomes[index - 1];
    if (!outcome) throw new Error('fake: entry not applied');
    return outcome;
  }

  /** Applies every log entry this member has not applied yet. */
  catchUp(): void {
    while (this.applied < this.group.log.length) {
      const command = pdstatepb.PdCommand.decode(this.group.log[this.applied]!);
      const result = this.stateMachine.apply(command);
      for (const write of result) {
        if (write.value === null) this.disk.delete(hex(write.key));
        else this.disk.set(hex(write.key), [write.key, write.value]);
      }
      this.outcomes[this.applied] = result.outcome;
      this.applied++;
      this.server?.onApplied(command, result.outcome);
    }
  }

  /** A state machine rebuilt from this member's disk, as after a restart. */
  reload(): PdStateMachine {
    return PdStateMachine.load(this.disk.values());
  }

  isLeader(): boolean {
    return this.group.leaderId === this.id || this.believesLeader;
  }

  leaseValid(): boolean {
    return this.group.leaderId === this.id && this.leaseOk;
  }

  leaderAddress(): string | undefined {
    return this.group.leader?.address;
  }

  members(): readonly PdMember[] {
    return this.group.members.map((m) => ({ id: m.id, address: m.address }));
  }
}

/** A settable clock. */
export class ManualClock {
  constructor(public nowMs: number) {}
  readonly now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/** Lets pending promise chains (setImmediate-based proposals) run to completion. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
