// Scenario tests for Raft's election rules: who may become leader, when, and who must step down.
// Each test reads as a transcript of one run of a small cluster (see harness.ts). A group is
// bootstrapped at index 5, term 5, so the first election is for term 6 and the first leader's
// empty entry lands at index 6.

import { describe, expect, it } from 'vitest';
import { RaftNode, type Message, type NodeId, type RandomSource } from '../../src/raft/index.js';
import { MemoryRaftStorage } from '../../src/storage/memory_raft_storage.js';
import { Cluster } from './harness.js';
import {
  PAPER_RAFT,
  deliveredSince,
  logShape,
  mark,
  ofType,
  payloadAt,
  persistedHardState,
  roles,
  terms,
  tickUntil,
  tickUntilLeader,
} from './support_replication.js';

const ELECTION_TICK = 10;

describe('basic elections', () => {
  it('3 nodes: n1 pre-campaigns, then campaigns, wins term 6 and commits an empty entry of its term', () => {
    const c = Cluster.create([1, 2, 3]);
    // A freshly bootstrapped group: three followers in term 5, nobody leads.
    expect(roles(c, [1, 2, 3])).toEqual(['follower', 'follower', 'follower']);
    expect(terms(c, [1, 2, 3])).toEqual([5, 5, 5]);

    c.campaign(1);

    // n1 first asks for pre-votes for term 6, carrying its log position (5, 5).
    const preVotes = ofType(c.delivered, 'preVote', { from: 1 });
    expect(preVotes.map((m) => [m.to, m.term, m.lastIndex, m.lastTerm])).toEqual([
      [2, 6, 5, 5],
      [3, 6, 5, 5],
    ]);
    // n2 and n3 grant them in term 6 without adopting term 6 themselves.
    expect(ofType(c.delivered, 'preVoteResponse', { to: 1 }).map((m) => [m.from, m.term, m.reject])).toEqual([
      [2, 6, false],
      [3, 6, false],
    ]);
    // Only then does n1 move to term 6 and ask for real votes, which are granted.
    expect(ofType(c.delivered, 'vote', { from: 1 }).map((m) => [m.to, m.term])).toEqual([
      [2, 6],
      [3, 6],
    ]);
    expect(ofType(c.delivered, 'voteResponse', { to: 1 }).map((m) => [m.from, m.term, m.reject])).toEqual([
      [2, 6, false],
      [3, 6, false],
    ]);

    // n1 leads term 6; its followers know it.
    expect(roles(c, [1, 2, 3])).toEqual(['leader', 'follower', 'follower']);
    expect(terms(c, [1, 2, 3])).toEqual([6, 6, 6]);
    expect([c.leaderOf(2), c.leaderOf(3)]).toEqual([1, 1]);
    // The new leader appends an empty entry of its own term at index 6 and sends it after (5, 5).
    const firstAppends = ofType(c.delivered, 'append', { from: 1 }).slice(0, 2);
    expect(firstAppends.map((m) => [m.to, m.index, m.logTerm, m.entries.map((e) => `${e.index}:${e.term}`)])).toEqual([
      [2, 5, 5, ['6:6']],
      [3, 5, 5, ['6:6']],
    ]);
    // Everybody commits and applies it, and every vote is on disk.
    for (const id of [1, 2, 3]) {
      expect(c.get(id).appliedEntries.map((e) => [e.index, e.term, e.data.byteLength])).toEqual([[6, 6, 0]]);
      expect(persistedHardState(c, id)).toEqual({ term: 6, vote: 1, commit: 6 });
    }
  });

  it('5 nodes: n3 wins with the votes of all four others; a majority (3) suffices when two are down', () => {
    const c = Cluster.create([1, 2, 3, 4, 5]);
    c.campaign(3);
    // Four pre-votes and four votes granted; n3 leads term 6.
    expect(ofType(c.delivered, 'voteResponse', { to: 3 }).filter((m) => !m.reject).map((m) => m.from)).toEqual([1, 2, 4, 5]);
    expect(roles(c, [1, 2, 3, 4, 5])).toEqual(['follower', 'follower', 'leader', 'follower', 'follower']);
    for (const id of [1, 2, 3, 4, 5]) expect(persistedHardState(c, id)).toEqual({ term: 6, vote: 3, commit: 6 });

    // A second group of five where n4 and n5 are down: n1 still gets n2 and n3, a majority.
    const d = Cluster.create([1, 2, 3, 4, 5]);
    d.isolate(4);
    d.isolate(5);
    d.campaign(1);
    expect(d.role(1)).toBe('leader');
    expect(d.term(1)).toBe(6);
    expect(d.node(1).status().commit).toBe(6);
  });

  it('5 nodes: with only one other node reachable, a pre-candidate cannot win and its term does not move', () => {
    const c = Cluster.create([1, 2, 3, 4, 5]);
    // n3 can talk to n5 only.
    c.partition([3, 5], [1, 2, 4]);
    c.campaign(3);
    // n5 grants the pre-vote; 2 of 5 is no majority, so n3 never starts a real election.
    expect(ofType(c.delivered, 'preVoteResponse', { to: 3 }).map((m) => [m.from, m.reject])).toEqual([[5, false]]);
    expect(ofType(c.delivered, 'vote')).toEqual([]);
    expect(c.role(3)).toBe('preCandidate');
    expect(terms(c, [1, 2, 3, 4, 5])).toEqual([5, 5, 5, 5, 5]);
  });
});

describe('randomized election timeout', () => {
  /** A RandomSource that always returns `pick(bound)` and records the bounds asked for. */
  class FixedRandom implements RandomSource {
    readonly bounds: number[] = [];
    constructor(private readonly pick: (bound: number) => number) {}
    nextInt(bound: number): number {
      this.bounds.push(bound);
      return this.pick(bound);
    }
  }

  function ticksUntilCampaign(node: RaftNode): number {
    for (let n = 1; n <= 1000; n++) {
      node.tick();
      if (node.status().role !== 'follower') return n;
    }
    throw new Error('never campaigned');
  }

  function soloFollower(random: RandomSource): RaftNode {
    const storage = MemoryRaftStorage.bootstrap({ voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });
    return new RaftNode({ id: 1, storage, random, electionTick: ELECTION_TICK, heartbeatTick: 1 });
  }

  it('the extremes: the smallest draw campaigns after electionTick ticks, the largest after 2·electionTick − 1', () => {
    // The random source is asked for a number below electionTick, added to electionTick.
    const low = new FixedRandom(() => 0);
    expect(ticksUntilCampaign(soloFollower(low))).toBe(ELECTION_TICK);
    expect(low.bounds.length).toBeGreaterThan(0);
    expect(new Set(low.bounds)).toEqual(new Set([ELECTION_TICK]));

    const high = new FixedRandom((bound) => bound - 1);
    expect(ticksUntilCampaign(soloFollower(high))).toBe(2 * ELECTION_TICK - 1);
  });

  it('across 40 seeds, every node campaigns after a number of ticks in [electionTick, 2·electionTick), and the draws differ', () => {
    const observed: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const c = Cluster.create([1, 2, 3], { seed });
      for (const id of [1, 2, 3]) {
        // Tick each follower alone, without delivering anything, until it starts a pre-election.
        const node = c.node(id);
        let n = 0;
        while (node.status().role === 'follower') {
          node.tick();
          n++;
          expect(n).toBeLessThan(2 * ELECTION_TICK);
        }
        expect(node.status().role).toBe('preCandidate');
        observed.push(n);
      }
    }
    expect(Math.min(...observed)).toBeGreaterThanOrEqual(ELECTION_TICK);
    expect(Math.max(...observed)).toBeLessThan(2 * ELECTION_TICK);
    // Randomized, not fixed: most of the ten possible values show up.
    expect(new Set(observed).size).toBeGreaterThanOrEqual(6);
  });
});

describe('election restriction: a candidate whose log is behind loses', () => {
  it('lower last term: n1 has the longer log (last 9:6) but n2 and n3 hold 8:7, so they refuse n1', () => {
    const c = Cluster.create([1, 2, 3], PAPER_RAFT);
    c.campaign(1);
    // n1 is cut off. Still believing it leads term 6, it appends x, y, z at 7..9 that nobody gets.
    c.isolate(1);
    expect(c.propose(1, 'x')).toEqual({ kind: 'appended', index: 7, term: 6 });
    c.propose(1, 'y');
    c.propose(1, 'z');
    // n2 is elected in term 7 by n2 and n3, and commits its empty entry (7) and w (8) in term 7.
    c.campaign(2);
    expect(c.role(2)).toBe('leader');
    expect(c.term(2)).toBe(7);
    c.propose(2, 'w');
    expect(logShape(c, 2, 6)).toEqual(['6:6', '7:7', '8:7']);
    expect(c.node(2).status().commit).toBe(8);

    // n1 crashes and comes back as a follower in term 6, still holding 7..9 of term 6.
    c.restart(1);
    expect(logShape(c, 1, 6)).toEqual(['6:6', '7:6', '8:6', '9:6']);
    // Still cut off, it times out once (term 7, nobody answers), then the network heals.
    c.campaign(1);
    expect(c.node(1).status()).toMatchObject({ role: 'candidate', term: 7 });
    c.heal();
    const since = mark(c);
    // n1 times out again and campaigns in term 8 with lastIndex 9, lastTerm 6.
    c.campaign(1);
    const requests = ofType(deliveredSince(c, since), 'vote', { from: 1 });
    expect(requests.map((m) => [m.to, m.term, m.lastIndex, m.lastTerm])).toEqual([
      [2, 8, 9, 6],
      [3, 8, 9, 6],
    ]);
    // n2 (the leader) and n3 adopt term 8 — the term is higher — but refuse the vote: 6 < 7.
    const answers = ofType(deliveredSince(c, since), 'voteResponse', { to: 1 });
    expect(answers.map((m) => [m.from, m.term, m.reject])).toEqual([
      [2, 8, true],
      [3, 8, true],
    ]);
    expect(roles(c, [1, 2, 3])).toEqual(['follower', 'follower', 'follower']);
    expect(persistedHardState(c, 2)).toMatchObject({ term: 8, vote: 0 });
    expect(persistedHardState(c, 3)).toMatchObject({ term: 8, vote: 0 });

    // n2 wins term 9; n1's uncommitted x, y, z are replaced by what n2 committed, and never applied.
    c.campaign(2);
    expect(c.role(2)).toBe('leader');
    expect(c.term(2)).toBe(9);
    expect(logShape(c, 1, 6)).toEqual(['6:6', '7:7', '8:7', '9:9']);
    expect(payloadAt(c, 1, 8)).toBe('w');
    for (const id of [1, 2, 3]) expect(c.get(id).applied).toEqual(['w']);
  });

  it('same last term, shorter log: n3 missed a and b (7..8 of term 6), so n1 and n2 refuse it', () => {
    const c = Cluster.create([1, 2, 3], PAPER_RAFT);
    c.campaign(1);
    // n1 → n3 is cut: a and b reach n2 only, and commit with n1 and n2.
    c.cutLink(1, 3);
    c.propose(1, 'a');
    c.propose(1, 'b');
    expect(c.node(1).status().commit).toBe(8);
    expect(c.node(3).status().lastIndex).toBe(6);
    c.heal();

    const since = mark(c);
    // n3 campaigns in term 7 with (lastIndex 6, lastTerm 6).
    c.campaign(3);
    expect(ofType(deliveredSince(c, since), 'vote', { from: 3 }).map((m) => [m.to, m.term, m.lastIndex, m.lastTerm])).toEqual([
      [1, 7, 6, 6],
      [2, 7, 6, 6],
    ]);
    // Same last term (6), but both hold index 8: both reject, and n3 goes back to follower.
    expect(ofType(deliveredSince(c, since), 'voteResponse', { to: 3 }).map((m) => [m.from, m.reject])).toEqual([
      [1, true],
      [2, true],
    ]);
    expect(roles(c, [1, 2, 3])).toEqual(['follower', 'follower', 'follower']);
    expect(terms(c, [1, 2, 3])).toEqual([7, 7, 7]);

    // n1 (whose log is complete) wins term 8 with n3's vote too, and n3 catches up.
    c.campaign(1);
    expect(c.role(1)).toBe('leader');
    expect(c.term(1)).toBe(8);
    expect(c.get(3).applied).toEqual(['a', 'b']);
  });

  it('the pre-vote applies the same check: n3 (behind) is refused pre-votes and nobody changes term', () => {
    // Without check-quorum, so that the followers answer instead of ignoring n3 under a lease.
    const c = Cluster.create([1, 2, 3], { checkQuorum: false });
    c.campaign(1);
    c.cutLink(1, 3);
    c.propose(1, 'a');
    c.heal();
    const since = mark(c);
    // n3 asks for pre-votes for term 7 with (6, 6); n1 and n2 hold 7:6 and refuse in their term 6.
    c.campaign(3);
    const preVotes = ofType(deliveredSince(c, since), 'preVote', { from: 3 });
    expect(preVotes.map((m) => [m.to, m.term, m.lastIndex, m.lastTerm])).toEqual([
      [1, 7, 6, 6],
      [2, 7, 6, 6],
    ]);
    expect(ofType(deliveredSince(c, since), 'preVoteResponse', { to: 3 }).map((m) => [m.from, m.term, m.reject])).toEqual([
      [1, 6, true],
      [2, 6, true],
    ]);
    // n3 gives up; n1 still leads term 6, and no real vote request was ever sent.
    expect(ofType(deliveredSince(c, since), 'vote')).toEqual([]);
    expect(roles(c, [1, 2, 3])).toEqual(['leader', 'follower', 'follower']);
    expect(terms(c, [1, 2, 3])).toEqual([6, 6, 6]);
  });
});

describe('one vote per term', () => {
  it('n2 votes for n1 in term 6, refuses n3 in the same term, and still remembers after a restart', () => {
    const c = Cluster.create([1, 2, 3], PAPER_RAFT);
    // n2's answers to n1 are lost, and n1's vote requests do not reach n3.
    c.cutLink(2, 1);
    c.filter = (m) => !(m.type === 'vote' && m.from === 1 && m.to === 3);
    c.campaign(1);
    // n2 granted its vote (the grant was lost): n1 is still a candidate, and n2's vote is on disk.
    expect(c.role(1)).toBe('candidate');
    expect(persistedHardState(c, 2)).toEqual({ term: 6, vote: 1, commit: 5 });
    const n1Request = ofType(c.delivered, 'vote', { from: 1, to: 2 })[0]!;

    // n3 campaigns in the same term 6 with an equally up-to-date log.
    let since = mark(c);
    c.campaign(3);
    expect(c.term(3)).toBe(6);
    // n2 already voted in term 6 and refuses; n1 voted for itself and refuses too. n3 loses.
    expect(ofType(deliveredSince(c, since), 'voteResponse', { to: 3 }).map((m) => [m.from, m.term, m.reject])).toEqual([
      [1, 6, true],
      [2, 6, true],
    ]);
    expect(c.role(3)).toBe('follower');
    const n3Request = ofType(c.delivered, 'vote', { from: 3, to: 2 })[0]!;

    // n2 crashes and restarts from its storage: term 6, vote for n1.
    c.restart(2);
    expect(c.node(2).status()).toMatchObject({ term: 6, vote: 1, role: 'follower' });

    // n3's request arrives again (a retransmission): still refused.
    since = mark(c);
    c.send(n3Request);
    expect(ofType(deliveredSince(c, since), 'voteResponse', { from: 2 }).map((m) => [m.to, m.reject])).toEqual([[3, true]]);

    // The network heals and n1's request arrives again: the same candidate gets the vote again,
    // which with its own makes a majority. n1 leads term 6.
    c.heal();
    since = mark(c);
    c.send(n1Request);
    expect(ofType(deliveredSince(c, since), 'voteResponse', { from: 2 }).map((m) => [m.to, m.reject])).toEqual([[1, false]]);
    expect(c.role(1)).toBe('leader');
    expect(c.term(1)).toBe(6);
    expect(roles(c, [2, 3])).toEqual(['follower', 'follower']);
    expect([c.leaderOf(2), c.leaderOf(3)]).toEqual([1, 1]);
  });
});

describe('split vote', () => {
  it('4 nodes: n1 and n3 split term 6 two votes each; after a randomized timeout a leader is elected in a later term', () => {
    const c = Cluster.create([1, 2, 3, 4], PAPER_RAFT);
    // n1's requests do not reach n4, and n3's do not reach n2.
    c.cutLink(1, 4);
    c.cutLink(3, 2);
    // Both time out at the same moment and campaign in term 6.
    c.node(1).campaign();
    c.node(3).campaign();
    c.settle();
    // n2 votes for n1, n4 for n3; n1 and n3 refuse each other. Two of four each: no majority.
    const answers = ofType(c.delivered, 'voteResponse').map((m) => `${m.from}->${m.to}:${m.reject ? 'no' : 'yes'}`);
    expect(answers.sort()).toEqual(['1->3:no', '2->1:yes', '3->1:no', '4->3:yes']);
    expect(roles(c, [1, 2, 3, 4])).toEqual(['candidate', 'follower', 'candidate', 'follower']);
    expect(c.leader()).toBeUndefined();
    expect(terms(c, [1, 2, 3, 4])).toEqual([6, 6, 6, 6]);

    // The network heals. Nothing happens until some node's randomized election timeout fires.
    c.heal();
    const { leader, rounds } = tickUntilLeader(c, [1, 2, 3, 4]);
    expect(rounds).toBeGreaterThanOrEqual(ELECTION_TICK);
    expect(rounds).toBeLessThan(4 * ELECTION_TICK);
    // One leader, in a later term, followed by everyone.
    const term = c.term(leader);
    expect(term).toBeGreaterThanOrEqual(7);
    for (const id of [1, 2, 3, 4]) {
      expect(c.term(id)).toBe(term);
      expect(c.leaderOf(id)).toBe(leader);
    }
    // Nobody had led before: the winner's empty entry is the first entry after the bootstrap (5).
    expect(c.node(leader).status().commit).toBe(6);
    expect(logShape(c, leader, 6)).toEqual([`6:${term}`]);
  });
});

describe('a higher term in any message makes a leader or candidate step down', () => {
  // Messages from n2 in term 9 to n1, and the leader n1 is expected to follow afterwards (a
  // heartbeat's commit never exceeds what the receiver holds: index 5 at least, on every node).
  const cases: { name: string; message: Message; lead: number }[] = [
    { name: 'appendResponse', lead: 0, message: { type: 'appendResponse', from: 2, to: 1, term: 9, index: 6, reject: false, hintIndex: 0, hintTerm: 0 } },
    { name: 'heartbeatResponse', lead: 0, message: { type: 'heartbeatResponse', from: 2, to: 1, term: 9, readSeq: 0 } },
    { name: 'voteResponse (rejection)', lead: 0, message: { type: 'voteResponse', from: 2, to: 1, term: 9, reject: true } },
    { name: 'preVoteResponse (rejection)', lead: 0, message: { type: 'preVoteResponse', from: 2, to: 1, term: 9, reject: true } },
    { name: 'vote', lead: 0, message: { type: 'vote', from: 2, to: 1, term: 9, lastIndex: 6, lastTerm: 6, transfer: false } },
    { name: 'append', lead: 2, message: { type: 'append', from: 2, to: 1, term: 9, index: 6, logTerm: 6, entries: [], commit: 6 } },
    { name: 'heartbeat', lead: 2, message: { type: 'heartbeat', from: 2, to: 1, term: 9, commit: 5, readSeq: 0 } },
  ];

  for (const { name, message, lead } of cases) {
    it(`leader n1 (term 6) receives ${name} in term 9`, () => {
      const c = Cluster.create([1, 2, 3], PAPER_RAFT);
      c.campaign(1);
      expect(c.role(1)).toBe('leader');
      // n1 is cut off (its answers go nowhere) and the message arrives.
      c.isolate(1);
      c.node(1).step(message);
      c.settle();
      expect(c.node(1).status()).toMatchObject({ role: 'follower', term: 9, lead });
      expect(persistedHardState(c, 1).term).toBe(9);
    });

    it(`candidate n1 (term 6) receives ${name} in term 9`, () => {
      const c = Cluster.create([1, 2, 3], PAPER_RAFT);
      // n1 campaigns cut off from everybody: a candidate in term 6 with nobody answering.
      c.isolate(1);
      c.campaign(1);
      expect(c.node(1).status()).toMatchObject({ role: 'candidate', term: 6 });
      c.node(1).step(message);
      c.settle();
      expect(c.node(1).status()).toMatchObject({ role: 'follower', term: 9, lead });
    });
  }

  it('a message from an older term changes nothing', () => {
    const c = Cluster.create([1, 2, 3], PAPER_RAFT);
    c.campaign(1);
    c.node(1).step({ type: 'appendResponse', from: 2, to: 1, term: 3, index: 6, reject: true, hintIndex: 0, hintTerm: 0 });
    c.node(1).step({ type: 'vote', from: 2, to: 1, term: 4, lastIndex: 100, lastTerm: 100, transfer: false });
    c.settle();
    expect(c.node(1).status()).toMatchObject({ role: 'leader', term: 6 });
  });
});

describe('pre-vote', () => {
  it('an isolated node keeps its term while it times out, and on rejoining does not disturb the leader', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    // n3 is cut off; n1 and n2 go on and commit x.
    c.isolate(3);
    c.propose(1, 'x');
    expect(c.node(1).status().commit).toBe(7);
    // n3's election timer fires again and again (100 ticks: at least five pre-elections), but a
    // pre-candidate does not touch its term.
    for (let i = 0; i < 100; i++) {
      c.tick(3);
      expect(c.term(3)).toBe(6);
    }
    expect(c.role(3)).toBe('preCandidate');
    expect(persistedHardState(c, 3)).toEqual({ term: 6, vote: 1, commit: 6 });

    // n3 rejoins and pre-campaigns once more, asking for term 7.
    c.heal();
    const since = mark(c);
    tickUntil(c, 3, () => ofType(deliveredSince(c, since), 'preVote', { from: 3 }).length > 0, 2 * ELECTION_TICK);
    expect(ofType(deliveredSince(c, since), 'preVote', { from: 3 }).map((m) => [m.to, m.term])).toEqual([
      [1, 7],
      [2, 7],
    ]);
    // n1 (the leader) and n2 (which just heard from it) ignore the request: no answer, no new term.
    expect(deliveredSince(c, since).filter((m) => m.from !== 3)).toEqual([]);
    expect(terms(c, [1, 2])).toEqual([6, 6]);
    expect(c.role(1)).toBe('leader');

    // n1's next heartbeat brings n3 back as its follower in term 6, and n3 catches up with x.
    c.tick(1);
    expect(c.node(3).status()).toMatchObject({ role: 'follower', term: 6, lead: 1, commit: 7 });
    expect(c.get(3).applied).toEqual(['x']);
    expect(terms(c, [1, 2, 3])).toEqual([6, 6, 6]);
  });

  it('a pre-vote ignored within the lease is answered when the lease runs out, and its sender wins at once', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    // The leader dies. n3 times out first and asks n2, which heard from n1 a moment ago.
    c.isolate(1);
    let since = mark(c);
    c.campaign(3);
    expect(ofType(deliveredSince(c, since), 'preVote', { from: 3 }).map((m) => m.to)).toEqual([2]);
    expect(deliveredSince(c, since).filter((m) => m.from === 2)).toEqual([]);
    expect(c.role(3)).toBe('preCandidate');

    // n3's clock stands still here; only n2 ticks. When n2's lease ends (an election timeout
    // after n1's last heartbeat) it grants the request it ignored, and n3 wins term 7 without a
    // second timeout.
    since = mark(c);
    c.tick(2, ELECTION_TICK);
    expect(ofType(deliveredSince(c, since), 'preVoteResponse', { from: 2 }).map((m) => [m.to, m.term, m.reject])).toEqual([[3, 7, false]]);
    expect(c.node(3).status()).toMatchObject({ role: 'leader', term: 7 });
    expect(c.node(2).status()).toMatchObject({ role: 'follower', term: 7, lead: 3 });
    // n2 never campaigned against it.
    expect(ofType(deliveredSince(c, since), 'preVote', { from: 2 })).toEqual([]);
  });

  it('a pre-vote ignored within the lease is dropped once the leader is heard from again', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    c.cutLink(1, 3);
    c.cutLink(3, 1);
    c.campaign(3);
    expect(c.role(3)).toBe('preCandidate');
    // n1 stays in touch with n2: the ignored request is never answered, however long n2 ticks.
    const since = mark(c);
    for (let i = 0; i < 3 * ELECTION_TICK; i++) {
      c.tick(1);
      c.tick(2);
    }
    expect(ofType(deliveredSince(c, since), 'preVoteResponse', { from: 2 })).toEqual([]);
    expect(c.node(1).status()).toMatchObject({ role: 'leader', term: 6 });
  });

  it('two pre-candidates with equal logs do not both win: the lower id goes first and no vote is split', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    c.isolate(1);
    // Both followers leave the lease and pre-campaign before hearing each other's request.
    c.cutLink(2, 3);
    c.cutLink(3, 2);
    c.tick(2, ELECTION_TICK - 1);
    c.tick(3, ELECTION_TICK - 1);
    c.campaign(2);
    c.campaign(3);
    expect(roles(c, [2, 3])).toEqual(['preCandidate', 'preCandidate']);
    c.heal();
    c.isolate(1);
    const request = (from: NodeId, to: NodeId): Message => ({ type: 'preVote', from, to, term: 7, lastIndex: 6, lastTerm: 6, transfer: false });
    // n2 refuses n3 (a higher id with the same log); n3 grants n2, which then wins term 7.
    const since = mark(c);
    c.send(request(3, 2));
    expect(ofType(deliveredSince(c, since), 'preVoteResponse', { from: 2 }).map((m) => [m.to, m.reject])).toEqual([[3, true]]);
    c.send(request(2, 3));
    expect(ofType(deliveredSince(c, since), 'preVoteResponse', { from: 3 }).map((m) => [m.to, m.reject])).toEqual([[2, false]]);
    expect(c.node(2).status()).toMatchObject({ role: 'leader', term: 7 });
    expect(c.node(3).status()).toMatchObject({ role: 'follower', term: 7, lead: 2 });
  });
});

describe('check-quorum', () => {
  it('a leader that hears from a quorum stays leader; cut off from it, it steps down within an election timeout', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    // n3 is cut off, but n2 keeps answering n1's heartbeats: 50 ticks later n1 still leads term 6.
    c.isolate(3);
    c.tick(1, 50);
    expect(c.node(1).status()).toMatchObject({ role: 'leader', term: 6 });

    // Now n1 is cut off from both.
    c.heal();
    c.tick(1);
    c.isolate(1);
    const ticks = tickUntil(c, 1, () => c.role(1) !== 'leader', 5 * ELECTION_TICK);
    // It notices at the end of the first full election timeout without answers: after at least
    // electionTick ticks, and no more than 2·electionTick.
    expect(ticks).toBeGreaterThan(ELECTION_TICK - 1);
    expect(ticks).toBeLessThanOrEqual(2 * ELECTION_TICK);
    // It steps down without changing its term, and refuses proposals for lack of a leader.
    expect(c.node(1).status()).toMatchObject({ role: 'follower', term: 6, lead: 0 });
    expect(c.node(1).propose(new TextEncoder().encode('late'))).toMatchObject({ kind: 'dropped', reason: 'noLeader' });

    // n2 and n3, no longer hearing from n1, elect one of themselves in a later term (7, or more
    // if their timeouts happen to fire together and split a vote).
    const { leader } = tickUntilLeader(c, [2, 3]);
    const newTerm = c.term(leader);
    expect(newTerm).toBeGreaterThanOrEqual(7);
    // n1 rejoins and follows the new leader at its next heartbeat.
    c.heal();
    c.tick(leader);
    expect(c.node(1).status()).toMatchObject({ role: 'follower', term: newTerm, lead: leader });
  });

  it('leader lease: followers that heard from the leader ignore a vote request from a rejoining node with a higher term', () => {
    // Check-quorum without pre-vote, so the isolated node really raises its term.
    const c = Cluster.create([1, 2, 3], { preVote: false });
    c.campaign(1);
    // n3 is cut off and campaigns in terms 7 and 8 with nobody answering.
    c.isolate(3);
    tickUntil(c, 3, () => c.term(3) === 8, 4 * ELECTION_TICK);
    expect(c.role(3)).toBe('candidate');

    // n3 rejoins and campaigns in term 9.
    c.heal();
    const since = mark(c);
    tickUntil(c, 3, () => c.term(3) === 9, 2 * ELECTION_TICK);
    expect(ofType(deliveredSince(c, since), 'vote', { from: 3 }).map((m) => [m.to, m.term])).toEqual([
      [1, 9],
      [2, 9],
    ]);
    // n2 heard from n1 within the election timeout, and n1 is the leader: both ignore it. No
    // answer, and their term stays 6.
    expect(deliveredSince(c, since).filter((m) => m.from !== 3)).toEqual([]);
    expect(c.node(1).status()).toMatchObject({ role: 'leader', term: 6 });
    expect(c.node(2).status()).toMatchObject({ role: 'follower', term: 6, lead: 1, vote: 1 });
    expect(persistedHardState(c, 2)).toMatchObject({ term: 6, vote: 1 });
  });

  it('leader lease against pre-votes: a follower in lease ignores them; one whose lease has expired answers', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    const preVote: Message = { type: 'preVote', from: 3, to: 2, term: 7, lastIndex: 6, lastTerm: 6, transfer: false };

    // n2 just heard from n1: the pre-vote for term 7 is ignored.
    let since = mark(c);
    c.send(preVote);
    expect(deliveredSince(c, since).filter((m) => m.from === 2)).toEqual([]);

    // n1 goes silent towards n2 for a whole election timeout: n2's lease is over (its own timer
    // may fire meanwhile; its pre-votes change nobody's term).
    c.cutLink(1, 2);
    c.tick(2, ELECTION_TICK);
    expect(c.term(2)).toBe(6);
    // Out of its lease, n2 answers the same pre-vote, and grants it (n3's log is as long as its own).
    since = mark(c);
    c.send(preVote);
    expect(ofType(deliveredSince(c, since), 'preVoteResponse', { from: 2 }).map((m) => [m.to, m.term, m.reject])).toEqual([[3, 7, false]]);
    // A granted pre-vote changes nothing on n2.
    expect(c.node(2).status()).toMatchObject({ term: 6, vote: 1 });
  });
});

describe('the options matter', () => {
  it('without pre-vote and check-quorum, a rejoining node with a higher term forces a new election', () => {
    const c = Cluster.create([1, 2, 3], PAPER_RAFT);
    c.campaign(1);
    // n3 is cut off; n1 and n2 commit x.
    c.isolate(3);
    c.propose(1, 'x');
    // n3 times out twice in isolation: terms 7 and 8.
    tickUntil(c, 3, () => c.term(3) === 8, 4 * ELECTION_TICK);

    // n3 rejoins and campaigns in term 9.
    c.heal();
    const since = mark(c);
    tickUntil(c, 3, () => c.term(3) === 9, 2 * ELECTION_TICK);
    // Nobody ignores it: n1 and n2 adopt term 9 — the leader n1 is deposed — but they refuse the
    // vote, because n3 lacks x.
    expect(ofType(deliveredSince(c, since), 'voteResponse', { to: 3 }).map((m) => [m.from, m.term, m.reject])).toEqual([
      [1, 9, true],
      [2, 9, true],
    ]);
    expect(roles(c, [1, 2, 3])).toEqual(['follower', 'follower', 'follower']);
    expect(terms(c, [1, 2, 3])).toEqual([9, 9, 9]);
    expect(c.leader()).toBeUndefined();

    // A new election is needed; n1 or n2 (they hold x) wins a term after 9.
    const { leader } = tickUntilLeader(c, [1, 2, 3]);
    expect([1, 2]).toContain(leader);
    expect(c.term(leader)).toBeGreaterThanOrEqual(10);
    // x survives and n3 finally gets it.
    expect(c.get(3).applied).toEqual(['x']);
  });

  it('with pre-vote and check-quorum (the defaults), the same story leaves leader and term untouched', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    c.isolate(3);
    c.propose(1, 'x');
    c.tick(3, 4 * ELECTION_TICK);
    c.heal();
    c.tick(3, 2 * ELECTION_TICK);
    c.tick(1);
    expect(roles(c, [1, 2, 3])).toEqual(['leader', 'follower', 'follower']);
    expect(terms(c, [1, 2, 3])).toEqual([6, 6, 6]);
    expect(c.get(3).applied).toEqual(['x']);
  });
});

describe('a stale leader', () => {
  it('n1, leader of term 6 cut off while n2 or n3 took over in a later term, steps down on the first append response', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    // n1 is cut off. n2 and n3 stop hearing from it; their election timeouts fire and one of them
    // wins term 7 (or a later one, if their timeouts happen to fire together and split a vote).
    c.isolate(1);
    const { leader } = tickUntilLeader(c, [2, 3]);
    const follower = leader === 2 ? 3 : 2;
    const newTerm = c.term(leader);
    expect(newTerm).toBeGreaterThanOrEqual(7);
    expect(c.term(follower)).toBe(newTerm);
    // n1 never noticed (it did not tick): it still leads term 6.
    expect(c.node(1).status()).toMatchObject({ role: 'leader', term: 6 });

    // The network heals. A client proposes `stale` on n1, which appends it at 7 in term 6.
    c.heal();
    const since = mark(c);
    expect(c.propose(1, 'stale')).toEqual({ kind: 'appended', index: 7, term: 6 });
    // Its appends of term 6 are answered in the new term by both, and n1 steps down into it.
    expect(ofType(deliveredSince(c, since), 'append', { from: 1 }).map((m) => [m.to, m.term])).toEqual([
      [2, 6],
      [3, 6],
    ]);
    expect(ofType(deliveredSince(c, since), 'appendResponse', { to: 1 }).map((m) => [m.from, m.term])).toEqual([
      [2, newTerm],
      [3, newTerm],
    ]);
    expect(c.node(1).status()).toMatchObject({ role: 'follower', term: newTerm });

    // The new leader's next heartbeat repairs n1's log: index 7 now holds its empty entry of the
    // new term, and `stale` is applied nowhere.
    c.tick(leader);
    expect(c.leaderOf(1)).toBe(leader);
    expect(logShape(c, 1, 6)).toEqual(['6:6', `7:${newTerm}`]);
    for (const id of [1, leader, follower]) expect(c.get(id).applied).toEqual([]);
    c.propose(leader, 'fresh');
    for (const id of [1, 2, 3]) expect(c.get(id).applied).toEqual(['fresh']);
  });
});
