// Scenario tests for log replication: commitment, log matching and repair, flow control,
// batching, bounds, proposals, and the Ready/advance contract across crashes. A group is
// bootstrapped at index 5, term 5; the first leader (term 6) appends its empty entry at index 6,
// so the first proposal lands at index 7.

import { describe, expect, it } from 'vitest';
import { RaftUsageError } from '../../src/raft/index.js';
import { Cluster, text } from './harness.js';
import {
  PAPER_RAFT,
  deliveredSince,
  logShape,
  mark,
  ofType,
  payloadAt,
  payloads,
  persistedHardState,
  recordAndDrop,
  roles,
  takeReady,
  termAt,
  terms,
  tickUntilLeader,
} from './support_replication.js';

const entryIds = (m: { entries: readonly { index: number; term: number }[] }): string[] =>
  m.entries.map((e) => `${e.index}:${e.term}`);

describe('commitment', () => {
  it('an entry commits once a majority holds it, and not before', () => {
    const c = Cluster.create([1, 2, 3, 4, 5]);
    c.campaign(1);
    // n4 and n5 are down: `a` reaches n1, n2 and n3 — three of five — and commits.
    c.isolate(4);
    c.isolate(5);
    expect(c.propose(1, 'a')).toEqual({ kind: 'appended', index: 7, term: 6 });
    expect(c.node(1).status().commit).toBe(7);
    for (const id of [1, 2, 3]) expect(c.get(id).applied).toEqual(['a']);

    // n3 goes down too: `b` reaches n1 and n2 only — two of five — and stays uncommitted.
    c.isolate(3);
    expect(c.propose(1, 'b')).toEqual({ kind: 'appended', index: 8, term: 6 });
    expect(c.node(1).status().lastIndex).toBe(8);
    expect(c.node(2).status().lastIndex).toBe(8);
    expect(c.node(1).status().progress?.get(2)?.match).toBe(8);
    expect(c.node(1).status().commit).toBe(7);
    for (const id of [1, 2]) expect(c.get(id).applied).toEqual(['a']);

    // n4 comes back (n3 and n5 stay down). At n1's next heartbeat n4 answers, receives 7 and 8,
    // and acknowledges them: three of five hold `b`, and it commits.
    c.heal();
    c.isolate(3);
    c.isolate(5);
    c.tick(1);
    expect(c.node(1).status().commit).toBe(8);
    for (const id of [1, 2, 4]) expect(c.get(id).applied).toEqual(['a', 'b']);
    // n3 and n5 have seen nothing of b, nor (n5) of a.
    expect(c.get(3).applied).toEqual(['a']);
    expect(c.get(5).applied).toEqual([]);
  });
});

describe('Figure 8 of the Raft paper: a leader commits only entries of its own term by counting', () => {
  // The paper's indexes 1, 2, 3 are 6, 7, 8 here, and its terms 2, 3, 4, 5 are 6, 7, 8, 9. Plain
  // Raft (no pre-vote, no check-quorum), as in the paper. One entry per append message, so that a
  // leader can get an older entry to a follower without its own newer one in the same message.
  const OPTIONS = { ...PAPER_RAFT, maxEntriesPerMsg: 1 };

  /** Plays (a) to (c) and returns the cluster in state (c). */
  function figure8c(): Cluster {
    const c = Cluster.create([1, 2, 3, 4, 5], OPTIONS);
    c.campaign(1);
    // (a) S1 leads term 6 and appends a2 at index 7; only S2 receives it.
    c.cutLink(1, 3);
    c.cutLink(1, 4);
    c.cutLink(1, 5);
    expect(c.propose(1, 'a2')).toEqual({ kind: 'appended', index: 7, term: 6 });
    expect(logShape(c, 1, 6)).toEqual(['6:6', '7:6']);
    expect(logShape(c, 2, 6)).toEqual(['6:6', '7:6']);
    expect(c.node(1).status().commit).toBe(6);

    // (b) S1 crashes. S5 is elected in term 7 by S3, S4 and itself (S2 refuses: its log is
    // longer), and accepts b5 at index 8. None of S5's appends leave it.
    c.heal();
    c.isolate(1);
    c.filter = (m) => !(m.type === 'append' && m.from === 5);
    c.campaign(5);
    expect(c.node(5).status()).toMatchObject({ role: 'leader', term: 7 });
    expect(ofType(c.delivered, 'voteResponse', { to: 5 }).map((m) => [m.from, m.reject])).toEqual([
      [2, true],
      [3, false],
      [4, false],
    ]);
    expect(c.propose(5, 'b5')).toEqual({ kind: 'appended', index: 8, term: 7 });
    expect(logShape(c, 5, 6)).toEqual(['6:6', '7:7', '8:7']);

    // (c) S5 crashes; S1 restarts. S1 cannot reach S4. It campaigns in term 7 (S3 already voted
    // for S5 in that term; only S2 votes for it), then in term 8, which S2 and S3 grant.
    c.heal();
    c.isolate(5);
    c.cutLink(1, 4);
    c.restart(1);
    // Every append that would give S3 the term-8 entry is lost on the way (S3 still gets S1's
    // first probe, which it rejects, and the older entry 7 alone).
    c.filter = (m) =>
      !(m.type === 'append' && m.from === 1 && m.to === 3 && m.entries.some((e) => e.term === 8) && termAt(c, 3, m.index) === m.logTerm);
    c.campaign(1);
    expect(c.node(1).status()).toMatchObject({ role: 'candidate', term: 7 });
    c.campaign(1);
    expect(c.node(1).status()).toMatchObject({ role: 'leader', term: 8 });
    // S1 appended its empty entry 8 (term 8), and replicated the old entry 7 (term 6) to S3.
    expect(logShape(c, 1, 6)).toEqual(['6:6', '7:6', '8:8']);
    expect(logShape(c, 2, 6)).toEqual(['6:6', '7:6', '8:8']);
    expect(logShape(c, 3, 6)).toEqual(['6:6', '7:6']);
    expect(logShape(c, 4, 6)).toEqual(['6:6']);
    expect(logShape(c, 5, 6)).toEqual(['6:6', '7:7', '8:7']);
    // Entry 7 is on S1, S2 and S3 — a majority — and S1 knows it...
    const progress = c.node(1).status().progress!;
    expect([progress.get(1)?.match, progress.get(2)?.match, progress.get(3)?.match]).toEqual([8, 8, 7]);
    // ...but it is from term 6, not S1's term 8: S1 must not commit it by counting.
    expect(c.node(1).status().commit).toBe(6);
    for (const id of [1, 2, 3, 4, 5]) expect(c.get(id).applied).toEqual([]);
    return c;
  }

  it('(a)–(c): an entry of an older term held by a majority is not committed by the new leader', () => {
    const c = figure8c();
    // Heartbeats (commit = min(match, commit)) change nothing: still 6 everywhere.
    c.tick(1);
    for (const id of [1, 2, 3]) expect(c.node(id).status().commit).toBe(6);
  });

  it('(d): had S1 committed entry 7, S5 would now erase a committed entry — it was not, so nothing is lost', () => {
    const c = figure8c();
    // S1 crashes again, before its term-8 entry reaches a majority. S5 restarts.
    c.heal();
    c.isolate(1);
    c.restart(5);
    // S5 campaigns in term 8 (S2 and S3 already voted for S1 in it), then in term 9: its last term
    // 7 beats S3's and S4's 6, so S3 and S4 vote for it; S2 (last term 8) refuses.
    c.campaign(5);
    const since = mark(c);
    c.campaign(5);
    expect(ofType(deliveredSince(c, since), 'voteResponse', { to: 5 }).map((m) => [m.from, m.term, m.reject])).toEqual([
      [2, 9, true],
      [3, 9, false],
      [4, 9, false],
    ]);
    expect(c.node(5).status()).toMatchObject({ role: 'leader', term: 9 });
    // S5 replicates its log: index 7 — once on a majority — is overwritten on S2 and S3 with S5's
    // entries of term 7, and S2's term-8 entry goes too.
    for (const id of [2, 3, 4, 5]) {
      expect(logShape(c, id, 6)).toEqual(['6:6', '7:7', '8:7', '9:9']);
      expect(c.get(id).applied).toEqual(['b5']);
    }
    // S1 comes back and is brought in line: a2 was never applied anywhere.
    c.heal();
    c.tick(5);
    expect(logShape(c, 1, 6)).toEqual(['6:6', '7:7', '8:7', '9:9']);
    for (const id of [1, 2, 3, 4, 5]) expect(c.get(id).applied).not.toContain('a2');
  });

  it('(e): once S1 gets an entry of its own term onto a majority, entry 7 commits with it and survives', () => {
    const c = figure8c();
    // The network stops losing S1's appends (S4 and S5 are still out of reach). At S1's next
    // heartbeat S3 receives entry 8 (term 8): a majority holds it, so 8 — and 7 with it — commit.
    c.heal();
    c.isolate(5);
    c.cutLink(1, 4);
    c.tick(1);
    expect(logShape(c, 3, 6)).toEqual(['6:6', '7:6', '8:8']);
    expect(c.node(1).status().commit).toBe(8);
    for (const id of [1, 2, 3]) expect(c.get(id).applied).toEqual(['a2']);

    // S1 crashes; S5 restarts and campaigns twice (terms 8 and 9). S2 and S3, whose logs end in
    // term 8, refuse it; only S4 votes for it. S5 cannot win.
    c.heal();
    c.isolate(1);
    c.restart(5);
    c.campaign(5);
    const since = mark(c);
    c.campaign(5);
    expect(ofType(deliveredSince(c, since), 'voteResponse', { to: 5 }).map((m) => [m.from, m.reject])).toEqual([
      [2, true],
      [3, true],
      [4, false],
    ]);
    expect(c.role(5)).not.toBe('leader');

    // Elections go on until S2 or S3 wins; a2 stays at index 7 and is applied everywhere.
    const { leader } = tickUntilLeader(c, [2, 3, 4, 5]);
    expect([2, 3]).toContain(leader);
    // S1 comes back; the new leader's heartbeat brings it (and S4, S5) up to date.
    c.heal();
    c.propose(leader, 'after');
    c.tick(leader);
    for (const id of [1, 2, 3, 4, 5]) {
      expect(termAt(c, id, 7)).toBe(6);
      expect(payloadAt(c, id, 7)).toBe('a2');
      expect(c.get(id).applied).toEqual(['a2', 'after']);
    }
  });
});

describe('log matching and conflict resolution', () => {
  it("a follower's uncommitted entries of an old term are overwritten by the new leader's", () => {
    const c = Cluster.create([1, 2, 3], PAPER_RAFT);
    c.campaign(1);
    // n1 is cut off and, still leading term 6, appends x1, x2, x3 at 7..9 that nobody gets.
    c.isolate(1);
    c.propose(1, 'x1');
    c.propose(1, 'x2');
    c.propose(1, 'x3');
    expect(logShape(c, 1, 6)).toEqual(['6:6', '7:6', '8:6', '9:6']);
    // n2 wins term 7 with n3 and commits its empty entry (7) and y (8).
    c.campaign(2);
    c.propose(2, 'y');
    expect(c.node(2).status().commit).toBe(8);

    // The network heals. n2's next heartbeat (term 7) makes n1 a follower; n1's answer shows it is
    // behind, and n2 sends everything after (6, 6), where the logs agree.
    c.heal();
    const since = mark(c);
    c.tick(2);
    const appends = ofType(deliveredSince(c, since), 'append', { from: 2, to: 1 }).filter((m) => m.entries.length > 0);
    expect(appends.map((m) => [m.index, m.logTerm, entryIds(m)])).toEqual([[6, 6, ['7:7', '8:7']]]);
    // n1 dropped its conflicting 7..9 — including 9, beyond the leader's last index — on disk too.
    expect(logShape(c, 1, 6)).toEqual(['6:6', '7:7', '8:7']);
    expect(c.get(1).storage.lastIndex()).toBe(8);
    expect(c.get(1).storage.term(7)).toBe(7);
    expect(c.node(1).status()).toMatchObject({ role: 'follower', term: 7, lead: 2, commit: 8 });
    // Log matching: the three logs are now identical, and only y was ever applied.
    for (const id of [1, 2, 3]) {
      expect(logShape(c, id, 6)).toEqual(['6:6', '7:7', '8:7']);
      expect(c.get(id).applied).toEqual(['y']);
    }
  });

  it('fast backtracking: a follower diverging by 50 entries of one term is repaired after one rejection', () => {
    const c = Cluster.create([1, 2, 3], PAPER_RAFT);
    c.campaign(1);
    // n1 is cut off and, still leading term 6, appends 50 entries (7..56) nobody else gets.
    c.isolate(1);
    for (let i = 0; i < 50; i++) c.propose(1, `old${i}`);
    // n2 wins term 7 with n3, and commits its empty entry and 50 entries: 7..57 of term 7.
    c.campaign(2);
    for (let i = 0; i < 50; i++) c.propose(2, `new${i}`);
    expect(c.node(3).status()).toMatchObject({ lastIndex: 57, commit: 57 });
    expect([termAt(c, 1, 56), termAt(c, 3, 56)]).toEqual([6, 7]);

    // Now n2 is cut off and n1 comes back. n3, whose log is n2's, campaigns in term 8; n1 votes
    // for it (last term 7 beats 6).
    c.heal();
    c.isolate(2);
    const since = mark(c);
    c.campaign(3);
    expect(c.node(3).status()).toMatchObject({ role: 'leader', term: 8 });

    // n3 probes n1 after its last entry before its own empty one: (57, 7). n1 holds only up to 56
    // and rejects, with a hint: its last entry whose term is at most 7 is 56, of term 6.
    const rejections = ofType(deliveredSince(c, since), 'appendResponse', { from: 1 }).filter((m) => m.reject);
    expect(rejections.map((m) => [m.index, m.hintIndex, m.hintTerm])).toEqual([[57, 56, 6]]);
    // From the hint n3 skips all of term 7 in its own log and probes at (6, 6) — where they agree —
    // sending the whole of 7..58 at once.
    const appends = ofType(deliveredSince(c, since), 'append', { from: 3, to: 1 });
    expect(appends.map((m) => [m.index, m.logTerm, m.entries.length])).toEqual([
      [57, 7, 1],
      [6, 6, 52],
      [58, 8, 0],
    ]);
    // One round trip of rejection instead of fifty; n1's log is n3's.
    expect(logShape(c, 1, 55)).toEqual(['55:7', '56:7', '57:7', '58:8']);
    expect(c.node(1).status().commit).toBe(58);
    expect(c.get(1).applied).toEqual(Array.from({ length: 50 }, (_, i) => `new${i}`));
  });

  it('fast backtracking: a follower 50 entries behind (and a new leader probing at its end) needs one rejection', () => {
    const c = Cluster.create([1, 2, 3], PAPER_RAFT);
    c.campaign(1);
    // n3 is down while n1 and n2 commit 50 entries (7..56).
    c.isolate(3);
    for (let i = 0; i < 50; i++) c.propose(1, `e${i}`);
    // n1 goes down and n3 comes back; n2 wins term 7 with n3's vote.
    c.heal();
    c.isolate(1);
    const since = mark(c);
    c.campaign(2);
    expect(c.node(2).status()).toMatchObject({ role: 'leader', term: 7 });
    // n2 probes at (56, 6); n3 has nothing after 6 and says so: hint (6, 6).
    const rejections = ofType(deliveredSince(c, since), 'appendResponse', { from: 3 }).filter((m) => m.reject);
    expect(rejections.map((m) => [m.index, m.hintIndex, m.hintTerm])).toEqual([[56, 6, 6]]);
    // The next append starts right after 6 and carries everything.
    const appends = ofType(deliveredSince(c, since), 'append', { from: 2, to: 3 }).filter((m) => m.entries.length > 0);
    expect(appends.map((m) => [m.index, m.logTerm, m.entries.length])).toEqual([
      [56, 6, 1],
      [6, 6, 51],
    ]);
    expect(c.get(3).applied).toEqual(Array.from({ length: 50 }, (_, i) => `e${i}`));
  });
});

describe('heartbeats', () => {
  it('carry commit = min(follower match, leader commit)', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    // Appends to n3 are lost from now on; heartbeats get through.
    c.filter = (m) => !(m.type === 'append' && m.to === 3);
    c.propose(1, 'a');
    c.propose(1, 'b');
    // a and b commit with n2. n3 is known to hold only up to 6.
    expect(c.node(1).status().commit).toBe(8);
    expect(c.node(1).status().progress?.get(3)?.match).toBe(6);

    let since = mark(c);
    c.tick(1);
    const beats = ofType(deliveredSince(c, since), 'heartbeat', { from: 1 });
    expect(beats.map((m) => [m.to, m.commit])).toEqual([
      [2, 8],
      [3, 6],
    ]);
    // n3 is never told to commit what it does not have.
    expect(c.node(3).status().commit).toBe(6);

    // Appends get through again: at the next heartbeat n3 catches up, and the one after tells it 8.
    c.filter = undefined;
    c.tick(1);
    expect(c.node(1).status().progress?.get(3)?.match).toBe(8);
    expect(c.get(3).applied).toEqual(['a', 'b']);
    since = mark(c);
    c.tick(1);
    expect(ofType(deliveredSince(c, since), 'heartbeat', { from: 1 }).map((m) => [m.to, m.commit])).toEqual([
      [2, 8],
      [3, 8],
    ]);
  });
});

describe('flow control', () => {
  it('probe state: one append at a time, one more per heartbeat response, until the follower answers', () => {
    const c = Cluster.create([1, 2, 3]);
    // Every append to n3 is lost (recorded here); everything else gets through.
    const seen = recordAndDrop(c, (m) => m.type === 'append' && m.to === 3);
    const appendsToN3 = () => ofType(seen, 'append', { to: 3 });
    c.campaign(1);
    // The new leader probes n3 with its empty entry after (5, 5), then waits.
    expect(appendsToN3().map((m) => [m.index, m.logTerm, entryIds(m)])).toEqual([[5, 5, ['6:6']]]);
    expect(c.node(1).status().progress?.get(3)).toMatchObject({ state: 'probe', paused: true, match: 0 });
    // Three proposals: n2 gets each at once, n3 gets nothing.
    c.propose(1, 'a');
    c.propose(1, 'b');
    c.propose(1, 'c');
    expect(appendsToN3()).toHaveLength(1);
    expect(c.get(2).applied).toEqual(['a', 'b', 'c']);

    // Each heartbeat n3 answers lets exactly one more probe out, again from (5, 5).
    for (let beat = 1; beat <= 5; beat++) {
      c.tick(1);
      expect(appendsToN3()).toHaveLength(1 + beat);
      const last = appendsToN3().at(-1)!;
      expect([last.index, last.logTerm, last.entries.length]).toEqual([5, 5, 4]);
      expect(c.node(1).status().progress?.get(3)).toMatchObject({ state: 'probe', paused: true });
    }

    // Appends get through again: the next probe is accepted, and n3 moves to replicate state.
    c.filter = undefined;
    c.tick(1);
    expect(c.node(1).status().progress?.get(3)).toMatchObject({ state: 'replicate', match: 9, paused: false, inflight: 0 });
    expect(c.get(3).applied).toEqual(['a', 'b', 'c']);
  });

  it('replicate state: appends are pipelined up to maxInflightMsgs; a heartbeat response frees one slot', () => {
    const c = Cluster.create([1, 2, 3], { maxInflightMsgs: 3 });
    c.campaign(1);
    expect(c.node(1).status().progress?.get(2)).toMatchObject({ state: 'replicate', match: 6 });
    // n2's acknowledgements are lost from now on.
    c.filter = (m) => !(m.type === 'appendResponse' && m.from === 2);
    const appendsToN2 = (from: number) =>
      ofType(deliveredSince(c, from), 'append', { from: 1, to: 2 }).filter((m) => m.entries.length > 0);

    // p1, p2, p3 go to n2 one message each without waiting for answers: three in flight.
    const since = mark(c);
    c.propose(1, 'p1');
    c.propose(1, 'p2');
    c.propose(1, 'p3');
    expect(appendsToN2(since).map((m) => [m.index, entryIds(m)])).toEqual([
      [6, ['7:6']],
      [7, ['8:6']],
      [8, ['9:6']],
    ]);
    expect(c.node(1).status().progress?.get(2)).toMatchObject({ state: 'replicate', inflight: 3, paused: true, match: 6 });

    // The window is full: p4 commits with n3 but is not sent to n2.
    c.propose(1, 'p4');
    expect(appendsToN2(since)).toHaveLength(3);
    expect(c.node(1).status().commit).toBe(10);
    // n2 learned commit 8 from the commit index carried by the appends of p2 and p3; it holds
    // p3 but has not been told it committed, and it has not got p4.
    expect(c.node(2).status()).toMatchObject({ commit: 8, lastIndex: 9 });
    expect(c.get(2).applied).toEqual(['p1', 'p2']);

    // n1's heartbeat: n2 answers, which frees one slot, and p4 goes out at once.
    const beat = mark(c);
    c.tick(1);
    expect(appendsToN2(beat).map((m) => [m.index, entryIds(m)])).toEqual([[9, ['10:6']]]);
    expect(c.node(1).status().progress?.get(2)).toMatchObject({ inflight: 3, paused: true });

    // The acknowledgements get through again: n2 is caught up and the window empties.
    c.filter = undefined;
    c.tick(1);
    expect(c.node(1).status().progress?.get(2)).toMatchObject({ state: 'replicate', match: 10, inflight: 0, paused: false });
    expect(c.get(2).applied).toEqual(['p1', 'p2', 'p3', 'p4']);
  });
});

describe('message bounds and batching', () => {
  it('maxEntriesPerMsg bounds the entries in one append', () => {
    const c = Cluster.create([1, 2, 3], { maxEntriesPerMsg: 2 });
    c.campaign(1);
    const since = mark(c);
    // Five entries proposed at once (indexes 7..11).
    expect(c.node(1).proposeBatch(['a', 'b', 'c', 'd', 'e'].map(text))).toEqual({ kind: 'appended', index: 11, term: 6 });
    c.settle();
    for (const to of [2, 3]) {
      const appends = ofType(deliveredSince(c, since), 'append', { to }).filter((m) => m.entries.length > 0);
      expect(appends.map((m) => entryIds(m))).toEqual([['7:6', '8:6'], ['9:6', '10:6'], ['11:6']]);
      expect(c.get(to).applied).toEqual(['a', 'b', 'c', 'd', 'e']);
    }
  });

  it('maxSizePerMsg bounds the payload of one append, except that one entry always goes', () => {
    const c = Cluster.create([1, 2, 3], { maxSizePerMsg: 10 });
    c.campaign(1);
    const since = mark(c);
    // Four 4-byte entries, then one of 25 bytes (more than the bound by itself).
    c.node(1).proposeBatch(['aaaa', 'bbbb', 'cccc', 'dddd', 'X'.repeat(25)].map(text));
    c.settle();
    const appends = ofType(deliveredSince(c, since), 'append', { to: 2 }).filter((m) => m.entries.length > 0);
    expect(appends.map((m) => payloads(m.entries))).toEqual([['aaaa', 'bbbb'], ['cccc', 'dddd'], ['X'.repeat(25)]]);
    expect(c.get(3).applied).toEqual(['aaaa', 'bbbb', 'cccc', 'dddd', 'X'.repeat(25)]);
  });

  it('many proposals between two Readys come out as one Ready and one merged append per follower', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    const n1 = c.node(1);
    // Ten proposals, one by one, with no Ready taken in between.
    for (let i = 1; i <= 10; i++) expect(n1.propose(text(`p${i}`))).toEqual({ kind: 'appended', index: 6 + i, term: 6 });
    const rd = takeReady(c, 1);
    // One Ready: ten entries to persist, and exactly one append per follower carrying all ten.
    expect(rd.entries.map((e) => `${e.index}:${e.term}`)).toEqual(Array.from({ length: 10 }, (_, i) => `${7 + i}:6`));
    expect(rd.mustSync).toBe(true);
    expect(rd.committedEntries).toEqual([]);
    expect(rd.messages.map((m) => (m.type === 'append' ? [m.type, m.to, m.index, m.logTerm, m.entries.length] : [m.type, m.to]))).toEqual([
      ['append', 2, 6, 6, 10],
      ['append', 3, 6, 6, 10],
    ]);
    expect(n1.hasReady()).toBe(false);
    // Delivered, they commit all ten.
    c.send(...rd.messages);
    for (const id of [1, 2, 3]) expect(c.get(id).applied).toEqual(Array.from({ length: 10 }, (_, i) => `p${i + 1}`));
  });

  it('merging stays within maxEntriesPerMsg and maxSizePerMsg', () => {
    const c = Cluster.create([1, 2, 3], { maxEntriesPerMsg: 4, maxSizePerMsg: 12 });
    c.campaign(1);
    const n1 = c.node(1);
    // Ten 2-byte proposals between two Readys: at most 4 entries per message.
    for (let i = 0; i < 10; i++) n1.propose(text(`a${i}`));
    let rd = takeReady(c, 1);
    const sizes = (to: number) =>
      rd.messages.filter((m) => m.to === to).map((m) => (m.type === 'append' ? m.entries.length : -1));
    expect(sizes(2)).toEqual([4, 4, 2]);
    expect(sizes(3)).toEqual([4, 4, 2]);
    c.send(...rd.messages);
    // Five 5-byte proposals: at most 12 bytes per message, so two entries each.
    for (let i = 0; i < 5; i++) n1.propose(text(`bbbb${i}`));
    rd = takeReady(c, 1);
    expect(sizes(2)).toEqual([2, 2, 1]);
    c.send(...rd.messages);
    expect(c.get(3).applied).toHaveLength(15);
    // Both followers acknowledged everything: nothing left in flight.
    expect(c.node(1).status().progress?.get(2)).toMatchObject({ match: 21, inflight: 0 });
  });
});

describe('maxUncommittedEntriesSize', () => {
  it('refuses proposals past the bound with uncommittedLogFull, and accepts them again once entries commit', () => {
    const c = Cluster.create([1, 2, 3], { maxUncommittedEntriesSize: 10 });
    c.campaign(1);
    // Both followers are down: nothing can commit.
    c.isolate(2);
    c.isolate(3);
    expect(c.propose(1, 'aaaa')).toEqual({ kind: 'appended', index: 7, term: 6 });
    expect(c.propose(1, 'bbbb')).toEqual({ kind: 'appended', index: 8, term: 6 });
    expect(c.node(1).status().uncommittedSize).toBe(8);
    // 8 + 3 > 10: refused.
    expect(c.propose(1, 'ccc')).toMatchObject({ kind: 'dropped', reason: 'uncommittedLogFull', leader: 1 });
    // 8 + 2 = 10 fits exactly.
    expect(c.propose(1, 'cc')).toEqual({ kind: 'appended', index: 9, term: 6 });
    expect(c.propose(1, 'd')).toMatchObject({ kind: 'dropped', reason: 'uncommittedLogFull' });
    expect(c.node(1).status()).toMatchObject({ lastIndex: 9, uncommittedSize: 10 });

    // The followers come back; at the next heartbeat everything commits and is applied, which
    // releases the budget.
    c.heal();
    c.tick(1);
    expect(c.node(1).status()).toMatchObject({ commit: 9, uncommittedSize: 0 });
    expect(c.get(1).applied).toEqual(['aaaa', 'bbbb', 'cc']);
    expect(c.propose(1, 'dddddddddd')).toEqual({ kind: 'appended', index: 10, term: 6 });
    for (const id of [1, 2, 3]) expect(c.get(id).applied).toEqual(['aaaa', 'bbbb', 'cc', 'dddddddddd']);
  });
});

describe('proposals away from the leader', () => {
  it('a follower forwards a proposal to the leader, which appends it', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    const since = mark(c);
    expect(c.propose(2, 'via-n2')).toEqual({ kind: 'forwarded', to: 1 });
    const forwarded = ofType(deliveredSince(c, since), 'propose');
    expect(forwarded.map((m) => [m.from, m.to, m.term, payloads(m.entries)])).toEqual([[2, 1, 0, ['via-n2']]]);
    for (const id of [1, 2, 3]) expect(c.get(id).applied).toEqual(['via-n2']);
    expect(payloadAt(c, 1, 7)).toBe('via-n2');
  });

  it('with disableProposalForwarding, a follower refuses with notLeader and names the leader', () => {
    const c = Cluster.create([1, 2, 3], { disableProposalForwarding: true });
    c.campaign(1);
    const since = mark(c);
    expect(c.propose(2, 'x')).toMatchObject({ kind: 'dropped', reason: 'notLeader', leader: 1 });
    expect(deliveredSince(c, since)).toEqual([]);
    expect(c.node(1).status().lastIndex).toBe(6);
  });

  it('a (pre-)candidate, or a follower that knows no leader, refuses with noLeader', () => {
    // A follower of a fresh group: no leader yet.
    const c = Cluster.create([1, 2, 3]);
    expect(c.node(2).propose(text('x'))).toMatchObject({ kind: 'dropped', reason: 'noLeader', leader: 0 });
    // A pre-candidate cut off from everybody.
    c.isolate(3);
    c.campaign(3);
    expect(c.role(3)).toBe('preCandidate');
    expect(c.node(3).propose(text('x'))).toMatchObject({ kind: 'dropped', reason: 'noLeader', leader: 0 });

    // A candidate (no pre-vote), also cut off.
    const d = Cluster.create([1, 2, 3], PAPER_RAFT);
    d.campaign(1);
    d.isolate(3);
    d.campaign(3);
    expect(d.node(3).status()).toMatchObject({ role: 'candidate', term: 7 });
    expect(d.node(3).propose(text('x'))).toMatchObject({ kind: 'dropped', reason: 'noLeader', leader: 0 });
    expect(d.node(3).status().lastIndex).toBe(6);
  });
});

describe('the Ready/advance contract', () => {
  it('ready() twice without advance() throws RaftUsageError; work done in between lands in the next Ready', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    const t = c.get(1);
    t.node.propose(text('first'));
    const rd = t.node.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([7]);
    expect(() => t.node.ready()).toThrow(RaftUsageError);
    // Until advance(), there is no next Ready, though the caller may go on proposing.
    expect(t.node.propose(text('second'))).toEqual({ kind: 'appended', index: 8, term: 6 });
    expect(t.node.hasReady()).toBe(false);
    t.storage.persist({ entries: rd.entries, ...(rd.hardState ? { hardState: rd.hardState } : {}) });
    t.node.advance();
    expect(() => t.node.advance()).toThrow(RaftUsageError);
    // The proposal made in between is in the next Ready.
    const next = takeReady(c, 1);
    expect(payloads(next.entries)).toEqual(['second']);
    c.send(...rd.messages, ...next.messages);
    for (const id of [1, 2, 3]) expect(c.get(id).applied).toEqual(['first', 'second']);
  });

  it('mustSync is false for a Ready that only moves the commit index, true when entries, term or vote change', () => {
    const c = Cluster.create([1, 2, 3], PAPER_RAFT);
    // A campaign changes term and vote: that Ready must be synced although it has no entries.
    c.node(1).campaign();
    const campaign = takeReady(c, 1);
    expect(campaign).toMatchObject({ entries: [], mustSync: true, hardState: { term: 6, vote: 1, commit: 5 } });
    c.send(...campaign.messages);
    expect(c.role(1)).toBe('leader');

    c.node(1).propose(text('c'));
    const proposal = takeReady(c, 1);
    expect(proposal).toMatchObject({ mustSync: true, hardState: undefined });
    expect(proposal.entries.map((e) => e.index)).toEqual([7]);
    // Only n2 receives the append, by hand: it must persist the entry (synced) before acknowledging.
    const toN2 = proposal.messages.find((m) => m.to === 2)!;
    c.node(2).step(toN2);
    const append = takeReady(c, 2);
    expect(append).toMatchObject({ mustSync: true, hardState: undefined, committedEntries: [] });
    expect(append.messages.map((m) => (m.type === 'appendResponse' ? [m.type, m.index, m.reject] : [m.type]))).toEqual([
      ['appendResponse', 7, false],
    ]);
    // n1 counts the acknowledgement: 7 commits. Its Ready only moves the commit index.
    c.node(1).step(append.messages[0]!);
    const commit = takeReady(c, 1);
    expect(commit).toMatchObject({ entries: [], mustSync: false, hardState: { term: 6, vote: 1, commit: 7 } });
    expect(payloads(commit.committedEntries)).toEqual(['c']);
    // n2 learns of the commit; again only the commit index moves.
    const commitToN2 = commit.messages.find((m) => m.to === 2)!;
    expect(commitToN2).toMatchObject({ type: 'append', index: 7, entries: [], commit: 7 });
    c.node(2).step(commitToN2);
    const followerCommit = takeReady(c, 2);
    expect(followerCommit).toMatchObject({ entries: [], mustSync: false, hardState: { term: 6, vote: 1, commit: 7 } });
    expect(payloads(followerCommit.committedEntries)).toEqual(['c']);
    expect(persistedHardState(c, 2).commit).toBe(7);
  });
});

describe('restart and crashes', () => {
  it('restarting from storage keeps term, vote, log and commit; committed entries are applied again', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    c.propose(1, 'a');
    c.propose(1, 'b');
    const before = [1, 2, 3].map((id) => c.node(id).status());
    // All three nodes crash and restart from their storage.
    for (const id of [1, 2, 3]) c.restart(id);
    for (const [k, id] of [1, 2, 3].entries()) {
      const after = c.node(id).status();
      expect({ term: after.term, vote: after.vote, commit: after.commit, lastIndex: after.lastIndex }).toEqual({
        term: before[k]!.term,
        vote: before[k]!.vote,
        commit: before[k]!.commit,
        lastIndex: before[k]!.lastIndex,
      });
      expect(after).toMatchObject({ term: 6, vote: 1, commit: 8, lastIndex: 8, role: 'follower', lead: 0 });
      expect(logShape(c, id, 6)).toEqual(['6:6', '7:6', '8:6']);
      expect([payloadAt(c, id, 7), payloadAt(c, id, 8)]).toEqual(['a', 'b']);
    }
    // Their state machines restart empty (from the bootstrap snapshot) and get 6..8 again.
    c.settle();
    for (const id of [1, 2, 3]) expect(c.get(id).applied).toEqual(['a', 'b']);
    // They elect a leader in term 7 and go on.
    c.campaign(2);
    expect(c.node(2).status()).toMatchObject({ role: 'leader', term: 7 });
    c.propose(2, 'c');
    for (const id of [1, 2, 3]) expect(c.get(id).applied).toEqual(['a', 'b', 'c']);
  });

  it("a follower that crashes before persisting a Ready loses only what it never acknowledged", () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    // n3 is down, so n1 needs n2's acknowledgement to commit anything.
    c.isolate(3);
    c.node(1).propose(text('d'));
    const leaderReady = takeReady(c, 1);
    // n2 receives the append and prepares its Ready: the entry to persist and the acknowledgement...
    c.node(2).step(leaderReady.messages.find((m) => m.to === 2)!);
    const lost = c.node(2).ready();
    expect(lost.entries.map((e) => e.index)).toEqual([7]);
    expect(lost.messages.map((m) => [m.type, m.to])).toEqual([['appendResponse', 1]]);
    // ...and crashes before persisting it. The acknowledgement never left.
    c.restart(2);
    expect(c.node(2).status()).toMatchObject({ term: 6, vote: 1, commit: 6, lastIndex: 6 });
    c.settle();
    // n1 has counted nobody but itself: d is not committed, and nobody applied it.
    expect(c.node(1).status().commit).toBe(6);
    expect(c.node(1).status().progress?.get(2)?.match).toBe(6);
    expect(c.get(1).applied).toEqual([]);

    // At n1's next heartbeat n2 turns out to be behind; it receives d again, persists and
    // acknowledges it, and d commits — applied exactly once everywhere.
    c.tick(1);
    expect(c.node(1).status().commit).toBe(7);
    expect(c.get(1).applied).toEqual(['d']);
    expect(c.get(2).applied).toEqual(['d']);
    c.heal();
    c.tick(1);
    expect(c.get(3).applied).toEqual(['d']);
  });

  it('a leader that crashes before persisting a proposal: the proposal is lost, and its index later holds another term', () => {
    const c = Cluster.create([1, 2, 3]);
    c.campaign(1);
    const result = c.node(1).propose(text('e'));
    expect(result).toEqual({ kind: 'appended', index: 7, term: 6 });
    // n1 takes its Ready (the entry and the appends) and crashes before persisting or sending it.
    const lost = c.node(1).ready();
    expect(payloads(lost.entries)).toEqual(['e']);
    c.restart(1);
    expect(c.node(1).status()).toMatchObject({ term: 6, lastIndex: 6, commit: 6 });

    // The others never saw e. Once their leases expire, a new leader is elected in term 7.
    const { leader } = tickUntilLeader(c, [1, 2, 3]);
    expect(c.term(leader)).toBe(7);
    c.propose(leader, 'f');
    // Index 7 now holds the new leader's empty entry of term 7: e (index 7, term 6) was not
    // committed, as the proposer can tell from the term applied at its index.
    for (const id of [1, 2, 3]) {
      const at7 = c.get(id).appliedEntries.find((e) => e.index === 7);
      expect(at7?.term).toBe(7);
      expect(c.get(id).applied).toEqual(['f']);
    }
    expect(roles(c, [1, 2, 3]).filter((r) => r === 'leader')).toHaveLength(1);
    expect(terms(c, [1, 2, 3])).toEqual([7, 7, 7]);
  });
});
