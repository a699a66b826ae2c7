// The timestamp oracle: strictly increasing timestamps within a leadership and across failovers,
// whatever the clocks do; a persisted window before serving; refusal without a lease.

import { describe, expect, it } from 'vitest';
import { NotLeaderError, PdUnavailableError } from '../../src/pd/errors.js';
import {
  LOGICAL_LIMIT,
  TimestampOracle,
  compareTimestamps,
  timestampFromBigInt,
  timestampToBigInt,
  type Timestamp,
} from '../../src/pd/tso.js';
import { FakePdGroup, ManualClock, type FakeMember } from './fake_replication.js';

const WINDOW = 3_000;

function oracleFor(member: FakeMember, clock: ManualClock): TimestampOracle {
  return new TimestampOracle({ replication: member, stateMachine: member.stateMachine, clock: clock.now, windowMs: WINDOW });
}

function expectIncreasing(timestamps: readonly Timestamp[]): void {
  for (let i = 1; i < timestamps.length; i++) {
    expect(compareTimestamps(timestamps[i - 1]!, timestamps[i]!), `at ${i}`).toBeLessThan(0);
  }
}

describe('timestamp oracle', () => {
  it('persists a window through Raft before serving, then serves from memory', async () => {
    const { group, member } = FakePdGroup.single();
    const clock = new ManualClock(1_000_000);
    const tso = oracleFor(member, clock);
    await expect(tso.getTimestamps(1)).rejects.toBeInstanceOf(PdUnavailableError); // not activated
    await tso.activate();
    expect(member.stateMachine.tsoPhysicalLimitMs).toBe(1_000_000 + WINDOW);
    const proposalsAfterActivation = group.proposed.length;
    const first = await tso.getTimestamps(1);
    const second = await tso.getTimestamps(1);
    expect(first).toEqual({ physical: 1_000_000, logical: 0 });
    expect(second).toEqual({ physical: 1_000_000, logical: 1 });
    expect(group.proposed.length).toBe(proposalsAfterActivation);
  });

  it('returns the last of `count` timestamps and moves to the next millisecond when logical would overflow', async () => {
    const { member } = FakePdGroup.single();
    const clock = new ManualClock(5_000);
    const tso = oracleFor(member, clock);
    await tso.activate();
    expect(await tso.getTimestamps(10)).toEqual({ physical: 5_000, logical: 9 });
    expect(await tso.getTimestamps(LOGICAL_LIMIT - 20)).toEqual({ physical: 5_000, logical: LOGICAL_LIMIT - 11 });
    // 11 more would need logical LOGICAL_LIMIT: the batch moves to the next millisecond instead.
    expect(await tso.getTimestamps(11)).toEqual({ physical: 5_001, logical: 10 });
    expect(await tso.getTimestamps(1)).toEqual({ physical: 5_001, logical: 11 });
  });

  it('stays strictly increasing while the clock jumps backwards', async () => {
    const { member } = FakePdGroup.single();
    const clock = new ManualClock(50_000);
    const tso = oracleFor(member, clock);
    await tso.activate();
    const issued: Timestamp[] = [];
    for (const t of [50_000, 50_010, 49_000, 50_005, 10_000, 50_011, 50_011]) {
      clock.nowMs = t;
      issued.push(await tso.getTimestamps(1));
    }
    expectIncreasing(issued);
    expect(issued.at(-1)!.physical).toBe(50_011);
  });

  it('extends the window ahead of the clock, and waits for an extension rather than issue past it', async () => {
    const { group, member } = FakePdGroup.single();
    const clock = new ManualClock(10_000);
    const tso = oracleFor(member, clock);
    await tso.activate();
    clock.advance(WINDOW / 2 + 100); // less than half the window left
    await tso.getTimestamps(1);
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(group.commandKinds()).toEqual(['tsoWindow', 'tsoWindow']);
    const limit = member.stateMachine.tsoPhysicalLimitMs;
    clock.advance(10 * WINDOW); // far past the persisted limit
    const ts = await tso.getTimestamps(1);
    expect(ts.physical).toBe(clock.nowMs);
    expect(member.stateMachine.tsoPhysicalLimitMs).toBeGreaterThanOrEqual(ts.physical);
    expect(member.stateMachine.tsoPhysicalLimitMs).toBeGreaterThan(limit);
  });

  it('refuses without a lease, and on a node that is not the leader', async () => {
    const group = new FakePdGroup([1, 2]);
    group.leaderId = 1;
    const clock = new ManualClock(1_000);
    const leader = oracleFor(group.member(1), clock);
    await leader.activate();
    group.member(1).leaseOk = false;
    await expect(leader.getTimestamps(1)).rejects.toBeInstanceOf(PdUnavailableError);
    group.member(1).leaseOk = true;
    await expect(leader.getTimestamps(1)).resolves.toBeDefined();
    await expect(oracleFor(group.member(2), clock).getTimestamps(1)).rejects.toMatchObject({
      constructor: NotLeaderError,
      leaderAddress: group.member(1).address,
    });
  });

  it('a deposed leader that still believes it leads issues nothing once its lease is gone', async () => {
    const group = new FakePdGroup([1, 2]);
    group.leaderId = 1;
    const clock = new ManualClock(1_000);
    const a = oracleFor(group.member(1), clock);
    await a.activate();
    group.elect(2, { notifyOld: false });
    group.member(1).believesLeader = true;
    await expect(a.getTimestamps(1)).rejects.toBeInstanceOf(PdUnavailableError);
  });

  it('stays strictly increasing across failovers, with the new leaders’ clocks behind and stale state machines', async () => {
    const group = new FakePdGroup([1, 2, 3]);
    group.leaderId = 1;
    const clocks = new Map([
      [1, new ManualClock(100_000)],
      [2, new ManualClock(90_000)], // 10 s behind
      [3, new ManualClock(100_500)],
    ]);
    const oracles = new Map(group.members.map((m) => [m.id, oracleFor(m, clocks.get(m.id)!)]));
    const issued: Timestamp[] = [];
    const serve = async (id: number, n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        clocks.get(id)!.advance(7);
        issued.push(await oracles.get(id)!.getTimestamps(1 + (i % 3)));
      }
    };
    await oracles.get(1)!.activate();
    await serve(1, 20);
    for (const next of [2, 3, 1, 2]) {
      const previous = group.leaderId!;
      group.elect(next);
      oracles.get(previous)!.deactivate();
      // The new leader's state machine has not applied its predecessors' windows yet.
      await oracles.get(next)!.activate();
      await serve(next, 20);
      clocks.get(next)!.advance(-5_000); // and then its clock jumps back
      await serve(next, 5);
    }
    expectIncreasing(issued);
    // Every persisted window covered what its leader issued.
    expect(group.member(2).stateMachine.tsoPhysicalLimitMs).toBeGreaterThanOrEqual(issued.at(-1)!.physical);
  });

  it('converts to and from the 64-bit form', () => {
    const ts = { physical: 1_700_000_000_123, logical: 4_321 };
    const value = timestampToBigInt(ts);
    expect(value).toBe((1_700_000_000_123n << 18n) | 4_321n);
    expect(timestampFromBigInt(value)).toEqual(ts);
    expect(() => timestampFromBigInt(-1n)).toThrow(RangeError);
  });
});
