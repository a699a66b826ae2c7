// Leader transfer, as scenario transcripts over the in-process Cluster.
//
// Groups are bootstrapped at index 5, term 5: n1 wins the first election in term 6 and its empty
// entry lands at index 6. Check-quorum and pre-vote are on (the defaults) unless a test says so.

import { describe, expect, it } from 'vitest';
import { NONE } from '../../src/raft/index.js';
import { Cluster } from './harness.js';
import {
  addNode,
  appendedIndex,
  auto,
  conf,
  configOf,
  deliveredOf,
  deliveredSince,
  queued,
  removeNode,
  threeVoters,
} from './support_membership.js';

describe('leader transfer', () => {
  it('to an up-to-date follower: timeout-now at once, the target wins in term+1, the old leader follows', () => {
    const c = threeVoters();
    c.propose(1, 'a');
    expect(c.node(1).status().progress?.get(2)?.match).toBe(7);

    // n2 holds everything, so the leader's only message is timeout-now, queued by the call itself.
    c.node(1).transferLeader(2);
    expect(c.node(1).status().leadTransferee).toBe(2);
    expect(queued(c, 1)).toEqual([{ type: 'timeoutNow', from: 1, to: 2, term: 6 }]);

    const mark = c.delivered.length;
    c.settle();

    // n2 campaigned at once, in term 7, skipping pre-vote, flagging the election as a transfer.
    expect(deliveredSince(c, mark, 'preVote')).toEqual([]);
    const requests = deliveredSince(c, mark, 'vote');
    expect(requests.map((m) => [m.from, m.to, m.term, m.transfer])).toEqual([
      [2, 1, 7, true],
      [2, 3, 7, true],
    ]);
    expect(c.leader()).toBe(2);
    expect(c.term(2)).toBe(7);

    // The old leader is a follower of n2 in term 7, with no transfer pending anywhere.
    expect(c.node(1).status()).toMatchObject({ role: 'follower', lead: 2, term: 7, leadTransferee: NONE });
    expect(c.leaderOf(3)).toBe(2);

    // The new leader commits; the old one forwards to it.
    expect(c.propose(1, 'b')).toEqual({ kind: 'forwarded', to: 2 });
    for (const id of [1, 2, 3]) expect(c.get(id).applied).toEqual(['a', 'b']);
  });

  it('to a lagging follower: the leader first catches it up with appends, then sends timeout-now', () => {
    const c = threeVoters();

    // n3 misses two entries.
    c.isolate(3);
    c.propose(1, 'a');
    c.propose(1, 'b');
    expect(c.node(3).status().lastIndex).toBe(6);
    c.heal();

    // No timeout-now yet: n3 is behind, so the leader sends an append instead.
    c.node(1).transferLeader(3);
    expect(c.node(1).status().leadTransferee).toBe(3);
    expect(queued(c, 1).map((m) => m.type)).toEqual(['append']);

    const mark = c.delivered.length;
    c.settle();

    // On the wire to n3: appends carrying 7 and 8, and only after them the timeout-now.
    const toN3 = deliveredSince(c, mark).filter((m) => m.from === 1 && m.to === 3);
    const timeoutAt = toN3.findIndex((m) => m.type === 'timeoutNow');
    expect(timeoutAt).toBeGreaterThan(0);
    const carried = toN3
      .slice(0, timeoutAt)
      .flatMap((m) => (m.type === 'append' ? m.entries.map((e) => e.index) : []));
    expect(carried).toEqual([7, 8]);
    expect(toN3.slice(timeoutAt).filter((m) => m.type === 'timeoutNow')).toHaveLength(1);

    // n3 won in term 7 with the full log.
    expect(c.leader()).toBe(3);
    expect(c.term(3)).toBe(7);
    expect(c.get(3).applied).toEqual(['a', 'b']);
    expect(c.node(1).status()).toMatchObject({ role: 'follower', lead: 3, term: 7 });
  });

  it('refuses proposals while a transfer is in progress, abandons it after an election timeout, then accepts them again', () => {
    const c = threeVoters();

    // n3 is unreachable: the timeout-now is lost and the transfer cannot complete.
    c.isolate(3);
    c.node(1).transferLeader(3);
    c.settle();
    expect(c.node(1).status().leadTransferee).toBe(3);
    expect(deliveredOf(c, 'timeoutNow')).toEqual([]);

    const refused = c.propose(1, 'during');
    expect(refused).toMatchObject({ kind: 'dropped', reason: 'leaderTransferring', leader: 1 });
    expect(refused.kind === 'dropped' && refused.detail).toContain('transferred to 3');
    // Conf changes too.
    const cc = c.node(1).proposeConfChange({ transition: 'auto', changes: [{ type: 'removeNode', nodeId: 3 }], context: new Uint8Array() });
    expect(cc).toMatchObject({ kind: 'dropped', reason: 'leaderTransferring' });
    // Proposals forwarded by a follower are dropped at the leader as well.
    expect(c.propose(2, 'forwarded-during')).toEqual({ kind: 'forwarded', to: 1 });
    expect(c.node(1).status().lastIndex).toBe(6);

    // Asking again for the same target does not restart the clock.
    c.tick(1, 5);
    c.node(1).transferLeader(3);
    expect(c.node(1).status().leadTransferee).toBe(3);

    // Nine leader ticks after the request: still transferring. The tenth (the election
    // timeout) abandons it; n1 is still leader in term 6.
    c.tick(1, 4);
    expect(c.node(1).status().leadTransferee).toBe(3);
    expect(c.propose(1, 'still-during')).toMatchObject({ kind: 'dropped', reason: 'leaderTransferring' });
    c.tick(1);
    expect(c.node(1).status()).toMatchObject({ leadTransferee: NONE, role: 'leader', term: 6 });

    const after = c.propose(1, 'after');
    expect(after).toEqual({ kind: 'appended', index: 7, term: 6 });
    expect(c.node(1).status().commit).toBe(7);
    expect(c.get(2).applied).toEqual(['after']);
  });

  it('ignores a transfer to a learner, to a non-member, or to the leader itself', () => {
    const c = threeVoters({ learners: [4] });
    const mark = c.delivered.length;

    for (const target of [4, 9, 1]) {
      c.node(1).transferLeader(target);
      expect(c.node(1).status().leadTransferee).toBe(NONE);
      expect(queued(c, 1)).toEqual([]);
    }
    // Asked through a follower, a transfer to the learner is ignored the same way.
    c.node(2).transferLeader(4);
    c.settle();
    expect(c.node(1).status().leadTransferee).toBe(NONE);

    // Nothing was sent but the forwarded request; n1 still leads in term 6 and takes proposals.
    expect(deliveredSince(c, mark).map((m) => [m.type, m.from, m.to])).toEqual([['transferLeader', 2, 1]]);
    expect(c.propose(1, 'x')).toEqual({ kind: 'appended', index: 7, term: 6 });
    expect(c.leader()).toBe(1);
    expect(c.term(1)).toBe(6);
    expect(c.role(4)).toBe('follower');
  });

  it('a transfer requested on a follower is forwarded to the leader', () => {
    const c = threeVoters();

    // n3's caller asks for n2; n3 is not the leader, so the request goes to n1.
    c.node(3).transferLeader(2);
    expect(queued(c, 3)).toEqual([{ type: 'transferLeader', from: 3, to: 1, term: 6, target: 2 }]);

    const mark = c.delivered.length;
    c.settle();
    expect(
      deliveredSince(c, mark)
        .filter((m) => m.type === 'transferLeader' || m.type === 'timeoutNow')
        .map((m) => [m.type, m.from, m.to]),
    ).toEqual([
      ['transferLeader', 3, 1],
      ['timeoutNow', 1, 2],
    ]);
    expect(c.leader()).toBe(2);
    expect(c.term(2)).toBe(7);
  });

  it('a follower that knows no leader drops a transfer request', () => {
    const c = Cluster.create([1, 2, 3]);
    // Nobody has campaigned yet: n3 knows no leader, so there is nowhere to forward to.
    expect(c.leaderOf(3)).toBe(NONE);
    c.node(3).transferLeader(2);
    expect(queued(c, 3)).toEqual([]);
    c.settle();
    expect(c.delivered).toEqual([]);
    expect(c.leader()).toBeUndefined();
  });

  it('a transfer to the leader itself while another is in progress cancels that one (as in etcd)', () => {
    const c = threeVoters();
    c.isolate(3);
    c.node(1).transferLeader(3);
    expect(c.node(1).status().leadTransferee).toBe(3);
    c.node(1).transferLeader(1);
    expect(c.node(1).status().leadTransferee).toBe(NONE);
    expect(c.propose(1, 'x')).toEqual({ kind: 'appended', index: 7, term: 6 });
  });

  it('with check-quorum, the target overrides the other followers\u2019 lease; an ordinary campaign does not', () => {
    // Without pre-vote an ordinary campaign sends real vote requests, just like a transfer does,
    // so the only difference between the two below is the transfer flag.
    const c = threeVoters({ preVote: false });

    // n3 heard from leader n1 just now: it is inside its lease.
    expect(c.leaderOf(3)).toBe(1);
    expect(c.node(3).core.electionElapsed).toBeLessThan(c.node(3).core.electionTimeout);

    // n2 cannot reach n1, so n3's vote is the one n2 needs. Leader n1 sends timeout-now anyway.
    c.cutLink(2, 1);
    c.node(1).transferLeader(2);
    const mark = c.delivered.length;
    c.settle();

    // n3 granted the vote although it had heard from n1 within the election timeout.
    const answers = deliveredSince(c, mark, 'voteResponse').map((m) => [m.from, m.to, m.term, m.reject]);
    expect(answers).toEqual([[3, 2, 7, false]]);
    expect(c.leader()).toBe(2);
    expect(c.term(2)).toBe(7);
    c.heal();
    c.tick(2);
    expect(c.node(1).status()).toMatchObject({ role: 'follower', lead: 2, term: 7 });

    // Now n3, in the new leader's lease, campaigns on its own. n1 (a follower that just heard
    // from n2) and n2 (the leader) ignore its term-8 vote request: no answer, no term change.
    expect(c.node(1).core.electionElapsed).toBeLessThan(c.node(1).core.electionTimeout);
    const mark2 = c.delivered.length;
    c.campaign(3);
    const requests = deliveredSince(c, mark2, 'vote').map((m) => [m.from, m.to, m.term, m.transfer]);
    expect(requests).toEqual([
      [3, 1, 8, false],
      [3, 2, 8, false],
    ]);
    expect(deliveredSince(c, mark2, 'voteResponse')).toEqual([]);
    expect(c.role(3)).toBe('candidate');
    expect(c.node(1).status()).toMatchObject({ role: 'follower', term: 7, lead: 2 });
    expect(c.node(2).status()).toMatchObject({ role: 'leader', term: 7 });
  });

  it('with pre-vote, an ordinary campaign inside the lease gets no pre-vote, and nobody\u2019s term moves', () => {
    const c = threeVoters();
    const mark = c.delivered.length;
    c.campaign(3);
    expect(deliveredSince(c, mark, 'preVote').map((m) => [m.from, m.to, m.term])).toEqual([
      [3, 1, 7],
      [3, 2, 7],
    ]);
    expect(deliveredSince(c, mark, 'preVoteResponse')).toEqual([]);
    for (const id of [1, 2, 3]) expect(c.term(id)).toBe(6);
    expect(c.role(3)).toBe('preCandidate');
    expect(c.leader()).toBe(1);

    // The leader's next heartbeat turns the pre-candidate back into its follower, and a transfer
    // to the same node then goes through at once.
    c.tick(1);
    expect(c.node(3).status()).toMatchObject({ role: 'follower', lead: 1, term: 6 });
    c.node(1).transferLeader(3);
    c.settle();
    expect(c.leader()).toBe(3);
    expect(c.term(3)).toBe(7);
  });

  it('a second transfer to a different target replaces the first', () => {
    const c = threeVoters();

    // n3 lags and is cut off, so a transfer to it stalls at the catching-up stage.
    c.isolate(3);
    c.propose(1, 'a');
    c.node(1).transferLeader(3);
    c.settle();
    expect(c.node(1).status().leadTransferee).toBe(3);
    expect(c.propose(1, 'refused')).toMatchObject({ kind: 'dropped', reason: 'leaderTransferring' });

    // The caller changes its mind: n2 is up to date, so timeout-now goes to n2 at once.
    c.node(1).transferLeader(2);
    expect(c.node(1).status().leadTransferee).toBe(2);
    expect(queued(c, 1).filter((m) => m.type === 'timeoutNow').map((m) => m.to)).toEqual([2]);
    c.settle();
    expect(c.leader()).toBe(2);
    expect(c.term(2)).toBe(7);
    expect(c.node(1).status()).toMatchObject({ role: 'follower', lead: 2, leadTransferee: NONE });

    // When n3 comes back it follows n2 and catches up; it was never told to campaign.
    c.heal();
    c.tick(2, 2);
    expect(c.leaderOf(3)).toBe(2);
    expect(c.get(3).applied).toEqual(['a']);
    expect(deliveredOf(c, 'timeoutNow').map((m) => m.to)).toEqual([2]);
    expect(deliveredOf(c, 'vote', 3)).toEqual([]);
    expect(appendedIndex(c.propose(2, 'b'))).toBe(9);
    expect(c.get(3).applied).toEqual(['a', 'b']);
  });

  it('a transfer to a node that an in-flight change removes is aborted when the change applies', () => {
    const c = threeVoters();

    // The removal of n3 is appended (index 7), and before it commits the caller asks for n3.
    expect(c.node(1).proposeConfChange(auto(removeNode(3)))).toEqual({ kind: 'appended', index: 7, term: 6 });
    c.node(1).transferLeader(3);
    expect(c.node(1).status().leadTransferee).toBe(3);

    // n3 catches up and is sent timeout-now, but it already knows index 7 is committed and has not
    // applied it, so it does not campaign; the leader, applying the removal, drops the transfer.
    c.settle();
    expect(deliveredOf(c, 'timeoutNow').map((m) => [m.from, m.to])).toEqual([[1, 3]]);
    expect(deliveredOf(c, 'vote', 3)).toEqual([]);
    expect(c.node(1).status()).toMatchObject({ role: 'leader', term: 6, leadTransferee: NONE });
    expect(configOf(c, 1)).toEqual(conf({ voters: [1, 2] }));

    // No election timeout to wait out: proposals are accepted straight away.
    expect(c.propose(1, 'x')).toEqual({ kind: 'appended', index: 8, term: 6 });
  });

  it('a transfer racing an auto joint change: the target campaigns once it has applied the change, then leaves the joint config', () => {
    const c = threeVoters({ learners: [4] });

    // The swap (index 7) is appended, and the transfer to n2 requested before it commits.
    expect(c.node(1).proposeConfChange(auto(addNode(4), removeNode(3)))).toEqual({ kind: 'appended', index: 7, term: 6 });
    c.node(1).transferLeader(2);
    c.settle();

    // n2 got the commit of index 7 and timeout-now in one batch. Campaigning with 7 unapplied
    // could split the group, so it waited for the apply, then campaigned in term 7 and won.
    expect(deliveredOf(c, 'timeoutNow').map((m) => [m.from, m.to])).toEqual([[1, 2]]);
    expect(c.leader()).toBe(2);
    expect(c.term(2)).toBe(7);
    expect(c.node(1).status()).toMatchObject({ role: 'follower', lead: 2, term: 7 });

    // The new leader applied its first entry and left the joint config automatically.
    for (const id of [1, 2, 4]) expect(configOf(c, id)).toEqual(conf({ voters: [1, 2, 4] }));
    expect(c.propose(2, 'x')).toMatchObject({ kind: 'appended', term: 7 });
  });
});
