// The id allocator: windows reserved through Raft, shared by concurrent callers, and never an id
// handed out twice — across leader changes, stale followers and deposed leaders that have not
// noticed.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdAllocator } from '../../src/pd/id_allocator.js';
import { InvalidArgumentError, NotLeaderError } from '../../src/pd/errors.js';
import { FakePdGroup, type FakeMember } from './fake_replication.js';

function allocatorFor(member: FakeMember, windowSize = 100): IdAllocator {
  return new IdAllocator({ replication: member, stateMachine: member.stateMachine, windowSize });
}

describe('id allocator', () => {
  it('serves consecutive ids from one window; concurrent callers share one reservation', async () => {
    const { group, member } = FakePdGroup.single();
    const ids = allocatorFor(member, 1_000);
    const firsts = await Promise.all(Array.from({ length: 50 }, () => ids.alloc(1)));
    expect(group.commandKinds()).toEqual(['allocIdWindow']);
    expect(new Set(firsts).size).toBe(50);
    expect(Math.min(...firsts)).toBe(1);
    expect(Math.max(...firsts)).toBe(50);
    expect(member.stateMachine.idAllocatedEnd).toBe(1_001);
  });

  it('reserves a larger window for a request bigger than the window, and a new one when it runs out', async () => {
    const { group, member } = FakePdGroup.single();
    const ids = allocatorFor(member, 10);
    expect(await ids.alloc(25)).toBe(1); // ids 1..25
    expect(await ids.alloc(1)).toBe(26);
    expect(group.commandKinds()).toEqual(['allocIdWindow', 'allocIdWindow']);
    expect(ids.remaining).toBe(9);
  });

  it('refuses on a follower (with the leader address) and refuses absurd counts', async () => {
    const group = new FakePdGroup([1, 2]);
    group.leaderId = 1;
    await expect(allocatorFor(group.member(2)).alloc(1)).rejects.toMatchObject({
      constructor: NotLeaderError,
      leaderAddress: group.member(1).address,
    });
    await expect(allocatorFor(group.member(1)).alloc(0)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(allocatorFor(group.member(1)).alloc(1e9)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('a new leader with a stale view reserves above the persisted end (its first window is refused, then retried)', async () => {
    const group = new FakePdGroup([1, 2]);
    group.leaderId = 1;
    const a = allocatorFor(group.member(1), 100);
    const seen = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const first = await a.alloc(60); // a fresh window each time: 5 windows
      for (let id = first; id < first + 60; id++) seen.add(id);
    }
    group.elect(2);
    const b = allocatorFor(group.member(2), 100);
    // Member 2 never applied anything yet: it believes the allocated end is 0.
    expect(group.member(2).stateMachine.idAllocatedEnd).toBe(0);
    const first = await b.alloc(1);
    expect(seen.has(first)).toBe(false);
    expect(first).toBeGreaterThan(Math.max(...seen));
    expect(group.member(2).outcomes.at(-2)).toMatchObject({ kind: 'rejected', reason: 'window-not-ahead' });
  });

  it('a deposed leader that has not noticed only serves what is left of its own window', async () => {
    const group = new FakePdGroup([1, 2]);
    group.leaderId = 1;
    const a = allocatorFor(group.member(1), 100);
    const fromA = [await a.alloc(10)];
    group.elect(2, { notifyOld: false });
    group.member(1).believesLeader = true; // partitioned, still thinks it leads
    const b = allocatorFor(group.member(2), 100);
    const fromB = [await b.alloc(50), await b.alloc(50)];
    fromA.push(await a.alloc(10)); // from its remaining window: allowed and disjoint
    await expect(a.alloc(200)).rejects.toBeInstanceOf(NotLeaderError); // needs Raft: refused
    const rangesA = fromA.map((f) => [f, f + 10]);
    const rangesB = fromB.map((f) => [f, f + 50]);
    for (const [s1, e1] of rangesA) for (const [s2, e2] of rangesB) expect(e1! <= s2! || e2! <= s1!).toBe(true);
  });

  it('property: ids never repeat over random allocations, failovers and uninformed deposed leaders', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('alloc' as const), member: fc.integer({ min: 1, max: 3 }), count: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('elect' as const), member: fc.integer({ min: 1, max: 3 }), notify: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const group = new FakePdGroup([1, 2, 3]);
        group.leaderId = 1;
        const allocators = new Map(group.members.map((m) => [m.id, allocatorFor(m, 30)]));
        for (const m of group.members) {
          // A notified member forgets its window, as PdServer does on leadership changes.
          m.server = { onLeadershipChange: () => allocators.get(m.id)!.reset(), onApplied: () => {} } as never;
        }
        const handedOut = new Set<number>();
        for (const s of steps) {
          if (s.kind === 'elect') {
            const previous = group.leaderId;
            group.elect(s.member, { notifyOld: s.notify });
            if (!s.notify && previous !== s.member && previous !== undefined) group.member(previous).believesLeader = true;
            continue;
          }
          try {
            const first = await allocators.get(s.member)!.alloc(s.count);
            for (let id = first; id < first + s.count; id++) {
              expect(handedOut.has(id)).toBe(false);
              expect(id).toBeGreaterThan(0);
              handedOut.add(id);
            }
          } catch (error) {
            expect(error).toBeInstanceOf(NotLeaderError);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
