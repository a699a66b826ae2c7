// Linearizable reads, as transcripts. A ReadState { index, context } tells the caller: once your
// state machine has applied `index`, a read served from it reflects every write acknowledged
// before the request. The leader may hand one out only when it knows it is still the leader:
// after a heartbeat round to a quorum (safe), or from its lease (leaseBased: valid for a while
// after a quorum answered a heartbeat round, since those followers then refuse other candidates).

import { describe, expect, it } from 'vitest';
import {
  RaftNode,
  RaftUsageError,
  type ConfState,
  type HeartbeatMessage,
  type Message,
  type NodeId,
} from '../../src/raft/index.js';
import { MemoryRaftStorage } from '../../src/storage/memory_raft_storage.js';
import { Cluster, SeededRandom, str, text } from './harness.js';

/** The read states a node has been handed, as (index, context) pairs that print readably. */
function reads(c: Cluster, id: NodeId): Array<{ index: number; context: string }> {
  return c.get(id).readStates.map((rs) => ({ index: rs.index, context: str(rs.context) }));
}

/** Records every message the network is asked to carry (the filter sees all uncut traffic). */
function recordTraffic(c: Cluster, keep: (m: Message) => boolean = () => true): Message[] {
  const seen: Message[] = [];
  c.filter = (m) => {
    seen.push(m);
    return keep(m);
  };
  return seen;
}

const dropHeartbeatResponses = (m: Message): boolean => m.type !== 'heartbeatResponse';

/** Ticks every node until one is elected (how a group starts in lease mode). */
function electByTicking(c: Cluster): NodeId {
  for (let i = 0; i < 200; i++) {
    c.tickAll();
    const leader = c.leader();
    if (leader !== undefined) return leader;
  }
  throw new Error('no leader elected');
}

function pendingReads(c: Cluster, id: NodeId): number {
  return c.node(id).core.readOnly.pendingCount;
}

describe('ReadIndex (safe)', () => {
  it('a leader releases a read only after a heartbeat round reaches a quorum, at the commit index of the request', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'a');
    const commitAtRequest = c.node(1).status().commit;

    // Heartbeat responses are lost: the leader cannot tell whether it is still the leader.
    const traffic = recordTraffic(c, dropHeartbeatResponses);
    expect(c.node(1).readIndex(text('r1'))).toEqual({ kind: 'pending' });
    c.settle();
    const heartbeats = traffic.filter((m): m is HeartbeatMessage => m.type === 'heartbeat');
    expect(heartbeats.map((m) => m.to).sort()).toEqual([2, 3]);
    expect(heartbeats.every((m) => m.readSeq > 0)).toBe(true);
    expect(reads(c, 1)).toEqual([]);

    // A write commits meanwhile; it must not move the read point of the earlier request.
    c.propose(1, 'b');
    expect(c.node(1).status().commit).toBe(commitAtRequest + 1);
    c.tick(1, 3); // three more heartbeat rounds, every answer lost
    expect(reads(c, 1)).toEqual([]);
    expect(pendingReads(c, 1)).toBe(1);

    // The network recovers: the next heartbeat round confirms leadership and releases the read.
    c.filter = undefined;
    c.tick(1);
    expect(reads(c, 1)).toEqual([{ index: commitAtRequest, context: 'r1' }]);
    expect(pendingReads(c, 1)).toBe(0);
    // The context bytes come back unchanged.
    expect(c.get(1).readStates[0]!.context).toEqual(text('r1'));
  });

  it('many reads in one cycle cost one heartbeat per follower and are released in order', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'a');
    const commit = c.node(1).status().commit;

    const traffic = recordTraffic(c);
    for (let i = 0; i < 5; i++) expect(c.node(1).readIndex(text(`r${i}`))).toEqual({ kind: 'pending' });
    c.settle();

    // The five heartbeats queued for each follower were merged into one, carrying the last read.
    const heartbeats = traffic.filter((m): m is HeartbeatMessage => m.type === 'heartbeat');
    expect(heartbeats.map((m) => m.to).sort()).toEqual([2, 3]);
    const seqs = new Set(heartbeats.map((m) => m.readSeq));
    expect(seqs.size).toBe(1);
    expect(traffic.filter((m) => m.type === 'heartbeatResponse')).toHaveLength(2);

    expect(reads(c, 1)).toEqual([0, 1, 2, 3, 4].map((i) => ({ index: commit, context: `r${i}` })));
  });

  it('a read on a follower is forwarded to the leader and the ReadState appears on the follower', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'a');
    const leaderCommit = c.node(1).status().commit;

    const traffic = recordTraffic(c);
    expect(c.node(2).readIndex(text('from-2'))).toEqual({ kind: 'forwarded', to: 1 });
    c.settle();

    expect(traffic.some((m) => m.type === 'readIndex' && m.from === 2 && m.to === 1)).toBe(true);
    expect(traffic.some((m) => m.type === 'readIndexResponse' && m.from === 1 && m.to === 2)).toBe(true);
    expect(reads(c, 2)).toEqual([{ index: leaderCommit, context: 'from-2' }]);
    // The leader's own caller did not ask for anything.
    expect(reads(c, 1)).toEqual([]);
    expect(reads(c, 3)).toEqual([]);
  });

  it('a new leader answers reads only after an entry of its own term commits', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'a');
    const oldCommit = c.node(1).status().commit;

    // n2 takes over (by transfer, which overrides the followers' leases), but every append it
    // sends is lost, so its first entry cannot commit.
    c.filter = (m) => !(m.from === 2 && m.type === 'append');
    c.node(1).transferLeader(2);
    c.settle();
    expect(c.role(2)).toBe('leader');
    const term = c.term(2);
    const status = c.node(2).status();
    expect(status.commit).toBe(oldCommit);
    expect(status.lastIndex).toBe(oldCommit + 1); // its empty entry of the new term, uncommitted

    // Its commit index may lag what the previous leader acknowledged: it must not serve the read yet.
    expect(c.node(2).readIndex(text('early'))).toEqual({ kind: 'pending' });
    c.settle();
    c.tick(2); // heartbeats go through and are answered (so n3 learns who leads), appends do not
    // A read forwarded from n3 waits in the same way.
    expect(c.node(3).readIndex(text('early-from-3'))).toEqual({ kind: 'forwarded', to: 2 });
    c.settle();
    c.tick(2, 2);
    expect(reads(c, 2)).toEqual([]);
    expect(reads(c, 3)).toEqual([]);
    expect(c.node(2).status().commit).toBe(oldCommit);

    // Appends flow again: the entry of term `term` commits, and then the read is confirmed.
    c.filter = undefined;
    c.tick(2);
    expect(c.node(2).status().commit).toBe(oldCommit + 1);
    expect(c.term(2)).toBe(term);
    expect(reads(c, 2)).toEqual([{ index: oldCommit + 1, context: 'early' }]);
    expect(reads(c, 3)).toEqual([{ index: oldCommit + 1, context: 'early-from-3' }]);
  });

  it('a leader cut off from the majority cannot confirm a read, and the read is dropped when it is deposed', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'a');
    const oldTerm = c.term(1);

    c.isolate(1);
    expect(c.node(1).readIndex(text('stale?'))).toEqual({ kind: 'pending' });
    c.settle();
    c.tick(1, 5); // heartbeats into the void (fewer ticks than an election timeout)
    expect(c.role(1)).toBe('leader');
    expect(reads(c, 1)).toEqual([]);
    expect(pendingReads(c, 1)).toBe(1);

    // n2 and n3 elect a new leader and commit a write the old leader never sees.
    let newLeader: NodeId | undefined;
    for (let i = 0; i < 100 && newLeader === undefined; i++) {
      c.node(2).tick();
      c.node(3).tick();
      c.settle();
      newLeader = [2, 3].find((id) => c.role(id) === 'leader');
    }
    expect(newLeader).toBeDefined();
    const leader = newLeader!;
    expect(c.term(leader)).toBeGreaterThan(oldTerm);
    c.propose(leader, 'b');
    const newCommit = c.node(leader).status().commit;
    // A read point on the old leader would miss 'b': had it been released, it would be stale.
    expect(c.node(1).status().commit).toBeLessThan(newCommit);

    // The partition heals; the new leader's heartbeat deposes n1, which drops its pending read.
    c.heal();
    c.tick(leader);
    expect(c.role(1)).toBe('follower');
    expect(c.leaderOf(1)).toBe(leader);
    expect(pendingReads(c, 1)).toBe(0);
    c.tickAll(3);
    expect(reads(c, 1)).toEqual([]);

    // The caller retries; the request is forwarded and answered at the new commit index.
    expect(c.node(1).readIndex(text('retry'))).toEqual({ kind: 'forwarded', to: leader });
    c.settle();
    expect(reads(c, 1)).toEqual([{ index: newCommit, context: 'retry' }]);
    expect(c.get(1).applied).toEqual(['a', 'b']);
  });

  it('acknowledgements from a learner do not confirm a read', () => {
    const c = Cluster.create([1, 2, 3], { learners: [4] });
    c.campaign(1);
    const commit = c.node(1).status().commit;

    // Only the learner n4 answers heartbeats: n1 + n4 is two nodes, but one voter of three.
    const traffic = recordTraffic(c, (m) => m.type !== 'heartbeatResponse' || m.from === 4);
    expect(c.node(1).readIndex(text('r'))).toEqual({ kind: 'pending' });
    c.settle();
    c.tick(1, 2);
    expect(traffic.some((m) => m.type === 'heartbeatResponse' && m.from === 4 && m.readSeq > 0)).toBe(true);
    expect(reads(c, 1)).toEqual([]);

    // One voter's answer completes the quorum.
    c.filter = (m) => m.type !== 'heartbeatResponse' || m.from === 4 || m.from === 2;
    c.tick(1);
    expect(reads(c, 1)).toEqual([{ index: commit, context: 'r' }]);
  });

  it('a leader that steps down by check-quorum drops its pending reads', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    c.isolate(1);
    expect(c.node(1).readIndex(text('lost'))).toEqual({ kind: 'pending' });
    c.settle();
    // The first check-quorum round still counts the answers from the election; by the end of the
    // second election timeout without hearing from a quorum, n1 steps down on its own.
    c.tick(1, 10);
    expect(c.role(1)).toBe('leader');
    expect(pendingReads(c, 1)).toBe(1);
    c.tick(1, 10);
    expect(c.role(1)).toBe('follower');
    expect(pendingReads(c, 1)).toBe(0);
    c.heal();
    c.tick(1, 3);
    expect(reads(c, 1)).toEqual([]);
    // Without a known leader a new read is refused outright (the caller retries later).
    expect(c.node(1).readIndex(text('again'))).toMatchObject({ kind: 'dropped', reason: 'noLeader' });
  });
});

describe('lease-based reads', () => {
  it('are answered immediately from the leader lease, without a heartbeat round', () => {
    const c = Cluster.create([1, 2, 3], { readOnlyOption: 'leaseBased' });
    // In lease mode a node that just started ignores vote requests for an election timeout (it
    // may have answered a round just before it crashed), so the group elects a leader by ticking.
    const leader = electByTicking(c);
    c.propose(leader, 'a');
    // One acknowledged heartbeat round establishes the lease.
    c.tick(leader);
    const commit = c.node(leader).status().commit;

    const traffic = recordTraffic(c);
    expect(c.node(leader).readIndex(text('lease'))).toEqual({ kind: 'pending' });
    c.settle();
    expect(reads(c, leader)).toEqual([{ index: commit, context: 'lease' }]);
    // Nothing at all went over the network for it.
    expect(traffic).toEqual([]);
  });

  it('ignore vote requests for quietTicks after start: an election timeout by default, none when told so', () => {
    const quiet = Cluster.create([1, 2, 3], { readOnlyOption: 'leaseBased' });
    quiet.campaign(1);
    quiet.settle();
    expect(quiet.role(1)).not.toBe('leader');
    // A node created by a process that has been up for an election timeout cannot have answered
    // a round it forgot: it may vote at once.
    const fresh = Cluster.create([1, 2, 3], { readOnlyOption: 'leaseBased', quietTicks: 0 });
    fresh.campaign(1);
    fresh.settle();
    expect(fresh.role(1)).toBe('leader');
    // Part of the period: still quiet after 3 ticks of 5 owed, voting after the fifth.
    const partial = Cluster.create([1, 2, 3], { readOnlyOption: 'leaseBased', quietTicks: 5 });
    for (const id of [2, 3]) partial.tick(id, 3);
    partial.campaign(1);
    partial.settle();
    expect(partial.role(1)).not.toBe('leader');
    for (const id of [2, 3]) partial.tick(id, 2);
    partial.campaign(1);
    partial.settle();
    expect(partial.role(1)).toBe('leader');
  });

  it('lapse when heartbeat rounds stop being answered, even while appends are acknowledged', () => {
    const c = Cluster.create([1, 2, 3], { readOnlyOption: 'leaseBased' });
    const leader = electByTicking(c);
    c.tick(leader); // round answered by both followers: the lease starts at this tick

    // From now on heartbeat answers are lost; appends still flow (so check-quorum keeps the
    // leader in office), but appends do not extend the lease.
    const traffic = recordTraffic(c, dropHeartbeatResponses);
    c.propose(leader, 'w0');
    c.tick(leader);
    expect(c.node(leader).readIndex(text('fresh'))).toEqual({ kind: 'pending' });
    c.settle();
    expect(reads(c, leader).map((r) => r.context)).toEqual(['fresh']);

    // An election timeout after the last answered round, another leader could have been elected:
    // the lease must not be used any more.
    for (let k = 1; k < 9; k++) {
      c.propose(leader, `w${k}`);
      c.tick(leader);
    }
    expect(c.role(leader)).toBe('leader');
    const commit = c.node(leader).status().commit;
    traffic.length = 0;
    expect(c.node(leader).readIndex(text('expired'))).toEqual({ kind: 'pending' });
    c.settle();
    expect(reads(c, leader).map((r) => r.context)).toEqual(['fresh']);
    expect(traffic.some((m) => m.type === 'heartbeat' && m.readSeq > 0)).toBe(true);

    // A heartbeat round a quorum answers confirms the read (and renews the lease).
    c.filter = undefined;
    c.tick(leader);
    expect(reads(c, leader)[1]).toEqual({ index: commit, context: 'expired' });
    expect(c.node(leader).readIndex(text('renewed'))).toEqual({ kind: 'pending' });
    c.settle();
    expect(reads(c, leader).map((r) => r.context)).toEqual(['fresh', 'expired', 'renewed']);
  });

  it('cannot be configured without check-quorum', () => {
    const cs: ConfState = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    const make = (checkQuorum: boolean): RaftNode =>
      new RaftNode({
        id: 1,
        storage: MemoryRaftStorage.bootstrap(cs),
        random: new SeededRandom(1),
        readOnlyOption: 'leaseBased',
        checkQuorum,
      });
    // Without check-quorum a deposed leader never notices, so its lease would be a lie.
    expect(() => make(false)).toThrow(RaftUsageError);
    expect(() => Cluster.create([1, 2, 3], { readOnlyOption: 'leaseBased', checkQuorum: false })).toThrow(RaftUsageError);
    // With check-quorum it is accepted.
    expect(() => make(true)).not.toThrow();
  });

  it('fall back to a heartbeat round during a leader transfer', () => {
    const c = Cluster.create([1, 2, 3], { readOnlyOption: 'leaseBased' });
    const leader = electByTicking(c);
    const [near, far] = [1, 2, 3].filter((id) => id !== leader) as [NodeId, NodeId];
    c.tick(leader);
    // The lease holds: a read is answered on the spot.
    expect(c.node(leader).readIndex(text('before'))).toEqual({ kind: 'pending' });
    c.settle();
    expect(reads(c, leader).map((r) => r.context)).toEqual(['before']);

    // `far` stops hearing from the leader and falls behind, so a transfer to it cannot finish at once.
    c.cutLink(leader, far);
    c.propose(leader, 'a');
    const commit = c.node(leader).status().commit;
    c.node(leader).transferLeader(far);
    c.settle();
    expect(c.node(leader).status().leadTransferee).toBe(far);
    expect(c.role(leader)).toBe('leader');

    // The lease is not trusted while a transfer may elect another leader early: the read waits
    // for a heartbeat round, whose answers are lost for now.
    const traffic = recordTraffic(c, dropHeartbeatResponses);
    expect(c.node(leader).readIndex(text('in-transfer'))).toEqual({ kind: 'pending' });
    c.settle();
    expect(reads(c, leader).map((r) => r.context)).toEqual(['before']);
    expect(traffic.some((m) => m.type === 'heartbeat' && m.to === near && m.readSeq > 0)).toBe(true);

    // `near` answers the next heartbeat: with the leader itself that is a quorum, and the read is released.
    c.filter = undefined;
    c.tick(leader);
    expect(c.node(leader).status().leadTransferee).toBe(far);
    expect(reads(c, leader)[1]).toEqual({ index: commit, context: 'in-transfer' });
  });

  it('are forfeited for the rest of the term once a transfer sent timeout-now, even if it was abandoned', () => {
    const c = Cluster.create([1, 2, 3], { readOnlyOption: 'leaseBased' });
    const leader = electByTicking(c);
    const target = [1, 2, 3].find((id) => id !== leader)!;
    const term = c.term(leader);
    c.tick(leader);

    // The target is caught up, so timeout-now goes at once; it is lost, and the target never campaigns.
    c.filter = (m) => m.type !== 'timeoutNow';
    c.node(leader).transferLeader(target);
    c.settle();
    expect(c.node(leader).status().leadTransferee).toBe(target);
    c.tick(leader, 10); // the transfer is abandoned after an election timeout
    expect(c.node(leader).status()).toMatchObject({ role: 'leader', term, leadTransferee: 0 });

    // The heartbeats of those ticks were all answered, yet the lease is not used: the lost
    // timeout-now could still arrive and elect the target over the followers' leases.
    c.filter = dropHeartbeatResponses;
    expect(c.node(leader).readIndex(text('after-transfer'))).toEqual({ kind: 'pending' });
    c.settle();
    expect(reads(c, leader)).toEqual([]);
    c.filter = undefined;
    c.tick(leader);
    expect(reads(c, leader).map((r) => r.context)).toEqual(['after-transfer']);
  });
});

describe('bounds and degenerate groups', () => {
  it('refuses reads past maxPendingReadIndex with tooManyPendingReads', () => {
    const c = Cluster.create([1, 2, 3], { maxPendingReadIndex: 3 });
    c.campaign(1);
    const commit = c.node(1).status().commit;

    c.filter = dropHeartbeatResponses;
    for (let i = 0; i < 3; i++) expect(c.node(1).readIndex(text(`r${i}`))).toEqual({ kind: 'pending' });
    c.settle();
    // The fourth waiting read is one too many.
    expect(c.node(1).readIndex(text('r3'))).toMatchObject({ kind: 'dropped', reason: 'tooManyPendingReads', leader: 1 });
    expect(pendingReads(c, 1)).toBe(3);

    // Once the queue drains, reads are accepted again.
    c.filter = undefined;
    c.tick(1);
    expect(reads(c, 1)).toEqual([0, 1, 2].map((i) => ({ index: commit, context: `r${i}` })));
    expect(c.node(1).readIndex(text('r4'))).toEqual({ kind: 'pending' });
    c.settle();
    expect(reads(c, 1).map((r) => r.context)).toEqual(['r0', 'r1', 'r2', 'r4']);
  });

  it('a single-voter group answers a read at once', () => {
    const c = Cluster.create([1]);
    c.campaign(1);
    expect(c.role(1)).toBe('leader');
    c.propose(1, 'a');
    const commit = c.node(1).status().commit;

    const traffic = recordTraffic(c);
    expect(c.node(1).readIndex(text('solo'))).toEqual({ kind: 'pending' });
    // Released in the very next Ready, with no one to ask.
    expect(c.node(1).hasReady()).toBe(true);
    const rd = c.node(1).ready();
    expect(rd.readStates.map((rs) => ({ index: rs.index, context: str(rs.context) }))).toEqual([
      { index: commit, context: 'solo' },
    ]);
    expect(rd.messages).toEqual([]);
    c.node(1).advance();
    c.settle();
    expect(traffic).toEqual([]);
  });
});
