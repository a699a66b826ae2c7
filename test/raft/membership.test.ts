// Membership changes by joint consensus, as scenario transcripts over the in-process Cluster.
//
// Every group here is bootstrapped at index 5, term 5 (RAFT_INIT_INDEX / RAFT_INIT_TERM): the first
// election is won in term 6 and the new leader's empty entry lands at index 6, so the first
// proposal of a test lands at index 7.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_CHANGES_PER_CONF_CHANGE } from '../../src/raft/confchange/codec.js';
import {
  ConfChangeDecodeError,
  decodeConfChange,
  encodeConfChange,
  type ConfChange,
  type ConfChangeSingle,
  type Entry,
} from '../../src/raft/index.js';
import { Cluster, text } from './harness.js';
import {
  addLearner,
  addNode,
  appendedIndex,
  appliedConfChanges,
  auto,
  conf,
  configOf,
  deliveredOf,
  deliveredSince,
  jointExplicit,
  jointImplicit,
  leaveJoint,
  removeNode,
  threeVoters,
  tickAllUntil,
} from './support_membership.js';

const isLeaveEntry = (e: Entry): boolean => e.kind === 'confChange' && decodeConfChange(e.data).changes.length === 0;

describe('learners', () => {
  it('an empty spare added as a learner catches up by snapshot, applies later entries, never campaigns and is not counted in the quorum', () => {
    const c = threeVoters({ spares: [4] });
    c.propose(1, 'before');

    // n4 starts empty: no membership, no log, no term.
    expect(c.node(4).status()).toMatchObject({ lastIndex: 0, commit: 0, term: 0 });
    expect(configOf(c, 4)).toEqual(conf({ voters: [] }));

    // n4 is kept off the wire while the change commits, so that the snapshot it will need (its
    // log starts at 0, the group's at 6) is one taken after it became a member.
    c.isolate(4);
    const add = c.proposeConfChange(1, auto(addLearner(4)));
    expect(add).toEqual({ kind: 'appended', index: 8, term: 6 });
    for (const id of [1, 2, 3]) expect(configOf(c, id)).toEqual(conf({ voters: [1, 2, 3], learners: [4] }));

    // The leader snapshots its state machine at its applied index and compacts its log.
    const snap = c.snapshotAndCompact(1);
    expect(snap.meta).toMatchObject({ index: 8, term: 6, confState: conf({ voters: [1, 2, 3], learners: [4] }) });
    expect(c.node(1).status().firstIndex).toBe(9);

    // n4 comes back. The next append probes it, it rejects (it has nothing), and the leader,
    // which no longer has the entries n4 needs, sends the snapshot instead.
    c.heal();
    const mark = c.delivered.length;
    const after = c.propose(1, 'after');
    expect(after).toEqual({ kind: 'appended', index: 9, term: 6 });
    const snapshotsSent = deliveredSince(c, mark, 'snapshot').map((m) => [m.from, m.to, m.snapshot.meta.index]);
    expect(snapshotsSent).toEqual([[1, 4, 8]]);
    expect(c.get(4).snapshotsApplied.map((s) => s.meta.index)).toEqual([8]);

    // The snapshot carried the state machine ('before'); the log carried 'after'.
    expect(c.get(4).applied).toEqual(['before', 'after']);
    expect(c.node(4).status()).toMatchObject({ commit: 9, applied: 9, lastIndex: 9, lead: 1, role: 'follower' });
    expect(configOf(c, 4)).toEqual(conf({ voters: [1, 2, 3], learners: [4] }));
    expect(c.node(1).status().progress?.get(4)).toMatchObject({ match: 9, isLearner: true, state: 'replicate' });

    // A learner never campaigns: cut off from the leader and ticked ten election timeouts, it
    // stays a follower in the same term and sends no (pre-)vote request.
    c.cutLink(1, 4);
    c.tick(4, 200);
    expect(c.role(4)).toBe('follower');
    expect(c.term(4)).toBe(6);
    expect(deliveredOf(c, 'preVote', 4)).toEqual([]);
    expect(deliveredOf(c, 'vote', 4)).toEqual([]);
    c.heal();

    // The learner is not in the quorum's denominator: with voter n3 and learner n4 both cut off,
    // n1 and n2 are two of three voters and commit on their own.
    c.isolate(3);
    c.isolate(4);
    const withoutLearner = appendedIndex(c.propose(1, 'two-voters'));
    expect(c.node(1).status().commit).toBe(withoutLearner);
    expect(c.get(2).applied).toContain('two-voters');
    c.heal();
    c.tick(1, 2);
    expect(c.get(4).applied).toContain('two-voters');

    // Nor does its acknowledgement count: with voters n2 and n3 cut off, the entry reaches the
    // learner but one voter of three is no quorum.
    c.isolate(2);
    c.isolate(3);
    const learnerOnly = appendedIndex(c.propose(1, 'learner-ack'));
    expect(c.node(1).status().progress?.get(4)?.match).toBe(learnerOnly);
    expect(c.node(1).status().commit).toBe(learnerOnly - 1);
    expect(c.get(1).applied).not.toContain('learner-ack');
    expect(c.get(4).applied).not.toContain('learner-ack');

    // With the voters back the entry commits, and every replica applies it.
    c.heal();
    c.tick(1, 2);
    expect(c.node(1).status().commit).toBe(learnerOnly);
    for (const id of [1, 2, 3, 4]) expect(c.get(id).applied.at(-1)).toBe('learner-ack');
  });

  it('an empty node refuses the bootstrap snapshot, which predates its addition, until a newer snapshot exists', () => {
    const c = threeVoters({ spares: [4] });
    c.proposeConfChange(1, auto(addLearner(4)));
    expect(configOf(c, 1)).toEqual(conf({ voters: [1, 2, 3], learners: [4] }));

    // The leader's only snapshot is the bootstrap one: index 5, membership {1,2,3}.
    expect(c.get(1).storage.snapshot().meta).toEqual({ index: 5, term: 5, confState: conf({ voters: [1, 2, 3] }) });

    // Applying the change sends n4 nothing (there is no entry after it); the first heartbeat
    // reaches it, its answer makes the leader probe, the probe is rejected, and the leader falls
    // back to its snapshot.
    expect(deliveredOf(c, 'append', 1, 4)).toEqual([]);
    c.tick(1);
    expect(deliveredOf(c, 'snapshot', 1, 4).map((m) => m.snapshot.meta.index)).toEqual([5]);

    // n4 is not in that snapshot's membership, so it refuses it and stays empty (raft.ts restore).
    expect(c.get(4).snapshotsApplied).toEqual([]);
    expect(c.node(4).status()).toMatchObject({ commit: 0, lastIndex: 0, lead: 1 });
    expect(configOf(c, 4)).toEqual(conf({ voters: [] }));

    // The leader waits for that snapshot to be reported: nothing but heartbeats goes to n4.
    expect(c.node(1).status().progress?.get(4)).toMatchObject({ state: 'snapshot', pendingSnapshot: 5, match: 0 });
    const mark = c.delivered.length;
    c.tick(1, 5);
    expect(deliveredSince(c, mark).filter((m) => m.to === 4 && m.type !== 'heartbeat')).toEqual([]);

    // The caller takes a snapshot that includes n4 and reports the first one as not installed;
    // the next heartbeat round sends the new snapshot, which n4 accepts.
    c.snapshotAndCompact(1);
    c.node(1).reportSnapshot(4, 'failure');
    c.tick(1, 2);
    expect(deliveredOf(c, 'snapshot', 1, 4).map((m) => m.snapshot.meta.index)).toEqual([5, 7]);
    expect(c.get(4).snapshotsApplied.map((s) => s.meta.index)).toEqual([7]);
    expect(configOf(c, 4)).toEqual(conf({ voters: [1, 2, 3], learners: [4] }));
    c.propose(1, 'x');
    expect(c.get(4).applied).toEqual(['x']);
  });

  it('promoting a learner (addNode of an existing learner) makes it count toward the quorum', () => {
    const c = threeVoters({ learners: [4] });
    expect(configOf(c, 4)).toEqual(conf({ voters: [1, 2, 3], learners: [4] }));
    expect(c.node(4).core.promotable()).toBe(false);

    // One change, one voter: applied directly.
    const promote = c.proposeConfChange(1, auto(addNode(4)));
    expect(promote).toEqual({ kind: 'appended', index: 7, term: 6 });
    for (const id of [1, 2, 3, 4]) {
      expect(configOf(c, id)).toEqual(conf({ voters: [1, 2, 3, 4] }));
      expect(c.get(id).confStates).toEqual([conf({ voters: [1, 2, 3, 4] })]);
    }
    expect(c.node(1).status().progress?.get(4)?.isLearner).toBe(false);
    expect(c.node(4).core.isLearner).toBe(false);
    expect(c.node(4).core.promotable()).toBe(true);

    // Four voters need three acknowledgements: n1 and n2 alone no longer commit.
    c.isolate(3);
    c.isolate(4);
    const twoOfFour = appendedIndex(c.propose(1, 'two-of-four'));
    expect(c.node(1).status().progress?.get(2)?.match).toBe(twoOfFour);
    expect(c.node(1).status().commit).toBe(twoOfFour - 1);
    c.heal();
    c.tick(1, 2);
    expect(c.node(1).status().commit).toBe(twoOfFour);

    // n4's acknowledgement is what makes three of four: with only n3 cut off the entry commits.
    c.isolate(3);
    const threeOfFour = appendedIndex(c.propose(1, 'three-of-four'));
    expect(c.node(1).status().commit).toBe(threeOfFour);
    expect(c.get(4).applied).toEqual(['two-of-four', 'three-of-four']);
  });
});

describe('simple and joint changes', () => {
  it('a single-voter auto change applies directly, without a joint phase', () => {
    const c = threeVoters();
    const remove = c.proposeConfChange(1, auto(removeNode(3)));
    expect(remove).toEqual({ kind: 'appended', index: 7, term: 6 });

    // n1 and n2 applied exactly one configuration, and it is not joint.
    for (const id of [1, 2]) {
      expect(c.get(id).confStates).toEqual([conf({ voters: [1, 2] })]);
      expect(appliedConfChanges(c, id)).toEqual([auto(removeNode(3))]);
    }

    // No leave-joint entry follows, however long the leader runs.
    c.tick(1, 30);
    expect(appliedConfChanges(c, 1)).toHaveLength(1);
    expect(c.node(1).status().lastIndex).toBe(7);
  });

  it('an auto change of two voters goes through a joint config that needs both majorities, and is left automatically', () => {
    const c = threeVoters({ learners: [4] });

    // Swap n3 for n4. The leave-joint entry the leader proposes on its own is held back from
    // n2 and n3 so the joint phase can be watched.
    c.filter = (m) => !(m.type === 'append' && (m.to === 2 || m.to === 3) && m.entries.some(isLeaveEntry));
    const swap = c.proposeConfChange(1, auto(addNode(4), removeNode(3)));
    expect(swap).toEqual({ kind: 'appended', index: 7, term: 6 });

    // Index 7 committed under the old config and was applied: every member is now joint.
    const joint = conf({ voters: [1, 2, 4], votersOutgoing: [1, 2, 3], autoLeave: true });
    for (const id of [1, 2, 3, 4]) expect(configOf(c, id)).toEqual(joint);

    // Applying it, the leader proposed the empty change that leaves the joint config (index 8).
    const leader = c.get(1);
    expect(c.node(1).status().lastIndex).toBe(8);
    expect(c.node(1).core.log.term(8)).toBe(6);
    expect(isLeaveEntry(c.node(1).core.log.slice(8, 9, Infinity)[0]!)).toBe(true);

    // n1 and n4 hold index 8: a majority of the incoming half {1,2,4}, but only one of the
    // outgoing half {1,2,3}. It is not committed.
    expect(c.node(1).status().progress?.get(4)?.match).toBe(8);
    expect(c.node(1).status().progress?.get(2)?.match).toBe(7);
    expect(c.node(1).status().commit).toBe(7);
    expect(appliedConfChanges(c, 1)).toHaveLength(1);

    // Let the entry through: the next heartbeat round commits it under both halves, and every
    // remaining member applies it. The final config is not joint.
    c.filter = undefined;
    c.tick(1, 2);
    expect(c.node(1).status().commit).toBe(8);
    const final = conf({ voters: [1, 2, 4] });
    for (const id of [1, 2, 4]) {
      expect(configOf(c, id)).toEqual(final);
      expect(c.get(id).confStates).toEqual([joint, final]);
      expect(appliedConfChanges(c, id)).toEqual([auto(addNode(4), removeNode(3)), leaveJoint()]);
    }
    expect(leader.appliedEntries.filter((e) => e.kind === 'confChange').map((e) => e.index)).toEqual([7, 8]);

    // n3 is gone from the leader's progress; the new group commits without it.
    expect([...(c.node(1).status().progress?.keys() ?? [])]).toEqual([1, 2, 4]);
    c.isolate(3);
    const x = appendedIndex(c.propose(1, 'x'));
    expect(c.node(1).status().commit).toBe(x);
  });

  it('jointExplicit stays joint, with both majorities required, until the empty change is proposed', () => {
    const c = threeVoters({ learners: [4] });
    const enter = c.proposeConfChange(1, jointExplicit(addNode(4), removeNode(3)));
    expect(enter).toEqual({ kind: 'appended', index: 7, term: 6 });
    const joint = conf({ voters: [1, 2, 4], votersOutgoing: [1, 2, 3], autoLeave: false });
    for (const id of [1, 2, 3, 4]) expect(configOf(c, id)).toEqual(joint);

    // The leader does not leave on its own: thirty heartbeat rounds later it is still joint and
    // has appended nothing.
    c.tick(1, 30);
    expect(configOf(c, 1)).toEqual(joint);
    expect(c.node(1).status().lastIndex).toBe(7);

    // A majority of the new config {1,2,4} without one of the old {1,2,3}: not committed.
    c.isolate(2);
    c.isolate(3);
    const newOnly = appendedIndex(c.propose(1, 'new-majority-only'));
    expect(c.node(1).status().progress?.get(4)?.match).toBe(newOnly);
    expect(c.node(1).status().commit).toBe(newOnly - 1);
    c.heal();
    c.tick(1, 2);
    expect(c.node(1).status().commit).toBe(newOnly);

    // A majority of the old config {1,2,3} without one of the new {1,2,4}: not committed either.
    c.isolate(2);
    c.isolate(4);
    const oldOnly = appendedIndex(c.propose(1, 'old-majority-only'));
    expect(c.node(1).status().progress?.get(3)?.match).toBe(oldOnly);
    expect(c.node(1).status().commit).toBe(oldOnly - 1);
    c.heal();
    c.tick(1, 2);
    expect(c.node(1).status().commit).toBe(oldOnly);

    // The caller proposes the empty change; once applied the config is simple again.
    const leave = c.proposeConfChange(1, leaveJoint());
    expect(leave).toMatchObject({ kind: 'appended', index: oldOnly + 1 });
    const final = conf({ voters: [1, 2, 4] });
    for (const id of [1, 2, 4]) {
      expect(configOf(c, id)).toEqual(final);
      expect(c.get(id).confStates).toEqual([joint, final]);
    }
  });

  it('jointImplicit enters a joint config even for one change, and leaves it automatically', () => {
    const c = threeVoters({ learners: [4] });
    const enter = c.proposeConfChange(1, jointImplicit(addNode(4)));
    expect(enter).toEqual({ kind: 'appended', index: 7, term: 6 });

    // The leader left by itself within the same round of messages: two configs were applied,
    // the second through the empty change it proposed at index 8.
    const joint = conf({ voters: [1, 2, 3, 4], votersOutgoing: [1, 2, 3], autoLeave: true });
    const final = conf({ voters: [1, 2, 3, 4] });
    for (const id of [1, 2, 3, 4]) {
      expect(c.get(id).confStates).toEqual([joint, final]);
      expect(configOf(c, id)).toEqual(final);
      expect(appliedConfChanges(c, id)).toEqual([jointImplicit(addNode(4)), leaveJoint()]);
    }
    expect(c.node(1).status().commit).toBe(8);
  });
});

describe('what a proposal may change', () => {
  it('allows one change in flight: a second before the first applies is dropped as confChangePending', () => {
    const c = threeVoters({ learners: [4, 5] });

    // The first change is appended; the second, proposed before any message moves, is refused.
    const first = c.node(1).proposeConfChange(auto(addNode(4)));
    expect(first).toEqual({ kind: 'appended', index: 7, term: 6 });
    const second = c.node(1).proposeConfChange(auto(addNode(5)));
    expect(second).toMatchObject({ kind: 'dropped', reason: 'confChangePending', leader: 1 });
    expect(second.kind === 'dropped' && second.detail).toContain('index 7');

    // Once the first is applied the second may go.
    c.settle();
    expect(configOf(c, 1)).toEqual(conf({ voters: [1, 2, 3, 4], learners: [5] }));
    expect(c.proposeConfChange(1, auto(addNode(5)))).toEqual({ kind: 'appended', index: 8, term: 6 });
    expect(configOf(c, 1)).toEqual(conf({ voters: [1, 2, 3, 4, 5] }));
  });

  it('a new leader refuses a conf change until the entries of earlier terms in its log are applied', () => {
    // Without check-quorum no lease stands in the way of n2's election below.
    const c = threeVoters({ checkQuorum: false });

    // n1 replicates 'x' (index 7) everywhere but never hears an acknowledgement: it is in every
    // log and committed nowhere.
    c.filter = (m) => m.type !== 'appendResponse';
    c.propose(1, 'x');
    for (const id of [1, 2, 3]) expect(c.node(id).status()).toMatchObject({ lastIndex: 7, commit: 6 });

    // n2 takes over in term 7. Its empty entry (index 8) does not commit yet either.
    c.isolate(1);
    c.campaign(2);
    expect(c.role(2)).toBe('leader');
    expect(c.node(2).status()).toMatchObject({ term: 7, lastIndex: 8, commit: 6, applied: 6 });

    // Index 7 might hold a conf change n2 has not applied, so n2 counts one as pending.
    expect(c.node(2).core.pendingConfIndex).toBe(7);
    const early = c.node(2).proposeConfChange(auto(removeNode(1)));
    expect(early).toMatchObject({ kind: 'dropped', reason: 'confChangePending', leader: 2 });
    expect(early.kind === 'dropped' && early.detail).toContain('index 7 is not yet applied (applied 6)');

    // Once acknowledgements flow, 7 and 8 commit and apply, and the change is accepted.
    c.filter = undefined;
    c.tick(2, 2);
    expect(c.node(2).status()).toMatchObject({ commit: 8, applied: 8 });
    expect(c.get(2).applied).toEqual(['x']);
    expect(c.proposeConfChange(2, auto(removeNode(1)))).toEqual({ kind: 'appended', index: 9, term: 7 });
    expect(configOf(c, 2)).toEqual(conf({ voters: [2, 3] }));
  });

  it('while joint, only the leave is accepted: another change is invalid (explicit) or pending (auto)', () => {
    // jointExplicit: the joint config is settled (no change pending), so the rule that refuses a
    // non-leave change is validity — a joint config cannot be changed, only left.
    const c = threeVoters({ learners: [4, 5] });
    c.proposeConfChange(1, jointExplicit(addNode(4)));
    expect(configOf(c, 1).votersOutgoing).toEqual([1, 2, 3]);

    const simple = c.proposeConfChange(1, auto(addNode(5)));
    expect(simple).toMatchObject({ kind: 'dropped', reason: 'invalidConfChange', leader: 1 });
    expect(simple.kind === 'dropped' && simple.detail).toContain('a simple change cannot be applied to a joint configuration');
    const nested = c.proposeConfChange(1, jointExplicit(addNode(5)));
    expect(nested).toMatchObject({ kind: 'dropped', reason: 'invalidConfChange' });
    expect(nested.kind === 'dropped' && nested.detail).toContain('the configuration is already joint');
    // Nothing was appended for either refusal.
    expect(c.node(1).status().lastIndex).toBe(7);

    // An auto joint phase: the leader's own leave entry is in flight the whole time it is joint,
    // so the rule that refuses another change first is the one-in-flight rule.
    const d = threeVoters({ learners: [4, 5] });
    d.filter = (m) => !(m.type === 'append' && m.entries.some(isLeaveEntry));
    d.proposeConfChange(1, auto(addNode(4), addNode(5)));
    expect(configOf(d, 1)).toEqual(conf({ voters: [1, 2, 3, 4, 5], votersOutgoing: [1, 2, 3], autoLeave: true }));
    expect(d.node(1).core.pendingConfIndex).toBe(8);
    const during = d.proposeConfChange(1, auto(removeNode(2)));
    expect(during).toMatchObject({ kind: 'dropped', reason: 'confChangePending' });
    expect(during.kind === 'dropped' && during.detail).toContain('index 8');
  });

  it('a leave while not joint is invalid', () => {
    const c = threeVoters();
    const leave = c.proposeConfChange(1, leaveJoint());
    expect(leave).toMatchObject({ kind: 'dropped', reason: 'invalidConfChange', leader: 1 });
    expect(leave.kind === 'dropped' && leave.detail).toContain('the configuration is not joint');
    expect(c.node(1).status().lastIndex).toBe(6);
  });

  it('a change removing every voter is refused, while swapping two voters at once goes joint', () => {
    const c = threeVoters({ learners: [4, 5] });

    // All three voters removed in one auto change (a joint one, since it is several changes).
    const all = c.proposeConfChange(1, auto(removeNode(1), removeNode(2), removeNode(3)));
    expect(all).toMatchObject({ kind: 'dropped', reason: 'invalidConfChange', leader: 1 });
    expect(all.kind === 'dropped' && all.detail).toContain('removes every voter');

    // Demoting every voter to learner is just as empty.
    const demoteAll = c.proposeConfChange(1, jointExplicit(addLearner(1), addLearner(2), addLearner(3)));
    expect(demoteAll).toMatchObject({ kind: 'dropped', reason: 'invalidConfChange' });
    expect(c.node(1).status().lastIndex).toBe(6);

    // A one-voter group removing its only voter: a simple change, and refused too.
    const solo = Cluster.create([1]);
    solo.campaign(1);
    expect(solo.role(1)).toBe('leader');
    const last = solo.proposeConfChange(1, auto(removeNode(1)));
    expect(last).toMatchObject({ kind: 'dropped', reason: 'invalidConfChange' });
    expect(last.kind === 'dropped' && last.detail).toContain('removes every voter');

    // Two voters swapped at once: not refused (as a simple change it would be, since the old and
    // new majorities might not intersect), but taken through a joint config.
    const swap = c.proposeConfChange(1, auto(removeNode(2), removeNode(3), addNode(4), addNode(5)));
    expect(swap).toEqual({ kind: 'appended', index: 7, term: 6 });
    expect(c.get(1).confStates).toEqual([
      conf({ voters: [1, 4, 5], votersOutgoing: [1, 2, 3], autoLeave: true }),
      conf({ voters: [1, 4, 5] }),
    ]);
  });
});

describe('demotion and removal', () => {
  it('demotes a voter to learner through a joint config: learnersNext while joint, learners after', () => {
    const c = threeVoters();
    c.proposeConfChange(1, jointExplicit(addLearner(3)));

    // While joint n3 is still an outgoing voter; it becomes a learner only when the config is left.
    const joint = conf({ voters: [1, 2], votersOutgoing: [1, 2, 3], learnersNext: [3], autoLeave: false });
    for (const id of [1, 2, 3]) expect(configOf(c, id)).toEqual(joint);
    expect(c.node(1).status().progress?.get(3)?.isLearner).toBe(false);
    expect(c.node(3).core.promotable()).toBe(true);

    c.proposeConfChange(1, leaveJoint());
    const final = conf({ voters: [1, 2], learners: [3] });
    for (const id of [1, 2, 3]) {
      expect(configOf(c, id)).toEqual(final);
      expect(c.get(id).confStates).toEqual([joint, final]);
    }
    expect(c.node(1).status().progress?.get(3)?.isLearner).toBe(true);
    expect(c.node(3).core.promotable()).toBe(false);

    // As a learner n3 still receives and applies entries, but cut off from the leader it never
    // campaigns, and n1 and n2 commit without it.
    c.propose(1, 'x');
    expect(c.get(3).applied).toEqual(['x']);
    c.cutLink(1, 3);
    c.tick(3, 100);
    expect(c.role(3)).toBe('follower');
    expect(deliveredOf(c, 'preVote', 3)).toEqual([]);
    c.isolate(3);
    const y = appendedIndex(c.propose(1, 'y'));
    expect(c.node(1).status().commit).toBe(y);
  });

  it('a removed follower stops receiving appends and heartbeats, and cannot disturb the group', () => {
    const c = threeVoters();
    c.proposeConfChange(1, auto(removeNode(3)));
    for (const id of [1, 2, 3]) expect(configOf(c, id)).toEqual(conf({ voters: [1, 2] }));
    expect([...(c.node(1).status().progress?.keys() ?? [])]).toEqual([1, 2]);

    // From here on nothing of the leader's goes to n3.
    const mark = c.delivered.length;
    c.propose(1, 'a');
    c.propose(1, 'b');
    c.tickAll(30);
    expect(deliveredSince(c, mark).filter((m) => m.to === 3)).toEqual([]);
    expect(c.get(2).applied).toEqual(['a', 'b']);
    expect(c.get(3).applied).toEqual([]);

    // n3 applied its own removal, so however long it ticks it does not campaign: n1 stays
    // leader in term 6.
    expect(c.node(3).core.promotable()).toBe(false);
    expect(deliveredSince(c, mark).filter((m) => m.from === 3)).toEqual([]);
    expect(c.leader()).toBe(1);
    expect(c.term(1)).toBe(6);
  });

  // A leader that is no longer a voter in the membership its log leads to hands leadership to a
  // remaining voter (it does not just step down: the others might not know the removal committed
  // and would still need its vote). It accepts no proposals meanwhile, so its log never outgrows
  // what the voters hold, and the hand-off completes as soon as the target has applied the change
  // — no election timeout is spent.

  it('a leader that removes itself hands leadership to a remaining voter once the change applies', () => {
    const c = threeVoters();
    // The change is appended but not yet delivered: n1 is already leaving and refuses proposals.
    expect(c.node(1).proposeConfChange(auto(removeNode(1)))).toEqual({ kind: 'appended', index: 7, term: 6 });
    expect(c.node(1).propose(text('orphan'))).toMatchObject({ kind: 'dropped', reason: 'leaderTransferring' });
    c.settle();

    // Applied everywhere, in one step.
    for (const id of [1, 2, 3]) {
      expect(configOf(c, id)).toEqual(conf({ voters: [2, 3] }));
      expect(c.get(id).confStates).toEqual([conf({ voters: [2, 3] })]);
    }
    expect(c.node(1).core.promotable()).toBe(false);
    // n1's log ends at the removal: nothing was appended after it.
    expect(c.node(1).status().lastIndex).toBe(7);

    // Within the same round of messages a remaining voter leads in term 7; n1 follows it.
    const newLeader = c.leader()!;
    expect([2, 3]).toContain(newLeader);
    expect(c.term(newLeader)).toBe(7);
    expect(c.leaderOf(5 - newLeader)).toBe(newLeader);
    // n1 is no longer a member, so nobody sends it term 7; its next heartbeat is answered with
    // the newer term and it steps down.
    c.tick(1);
    expect(c.node(1).status()).toMatchObject({ role: 'follower', term: 7 });

    // The new leader commits with the two remaining voters; n1 receives none of it.
    const mark = c.delivered.length;
    expect(c.propose(newLeader, 'after')).toEqual({ kind: 'appended', index: 9, term: 7 });
    expect(c.get(2).applied).toEqual(['after']);
    expect(c.get(3).applied).toEqual(['after']);
    expect(c.get(1).applied).toEqual([]);
    expect(deliveredSince(c, mark).filter((m) => m.to === 1)).toEqual([]);
  });

  it('a leader demoted to learner hands over leadership, and then follows the new leader as a learner', () => {
    const c = threeVoters();
    // One voter changes (n1 from voter to learner): a simple change, applied directly.
    expect(c.node(1).proposeConfChange(auto(addLearner(1)))).toEqual({ kind: 'appended', index: 7, term: 6 });
    expect(c.node(1).propose(text('orphan'))).toMatchObject({ kind: 'dropped', reason: 'leaderTransferring' });
    c.settle();
    for (const id of [1, 2, 3]) expect(configOf(c, id)).toEqual(conf({ voters: [2, 3], learners: [1] }));
    expect(c.node(1).core.promotable()).toBe(false);

    const newLeader = c.leader()!;
    expect([2, 3]).toContain(newLeader);
    expect(c.term(newLeader)).toBe(7);

    // The new leader replicates to learner n1, which follows it and forwards its proposals.
    c.tick(newLeader, 2);
    expect(c.node(1).status()).toMatchObject({ role: 'follower', lead: newLeader, term: 7 });
    expect(c.propose(1, 'from-learner')).toEqual({ kind: 'forwarded', to: newLeader });
    for (const id of [1, 2, 3]) expect(c.get(id).applied).toEqual(['from-learner']);
    expect(c.node(newLeader).status().progress?.get(1)).toMatchObject({ isLearner: true, match: 9 });
  });

  it('a leader removed through a joint config: the joint phase is left and a remaining voter leads', () => {
    const c = threeVoters();
    const remove = c.proposeConfChange(1, jointImplicit(removeNode(1)));
    expect(remove).toEqual({ kind: 'appended', index: 7, term: 6 });

    // The joint config applies everywhere: incoming {2,3}, outgoing {1,2,3}.
    const joint = conf({ voters: [2, 3], votersOutgoing: [1, 2, 3], autoLeave: true });
    const final = conf({ voters: [2, 3] });
    for (const id of [1, 2, 3]) expect(c.get(id).confStates[0]).toEqual(joint);

    // However leadership moves, the group ends up out of the joint config, led by n2 or n3 in
    // term 7, with both of them having applied exactly the joint config and then the final one.
    tickAllUntil(
      c,
      () => [2, 3].includes(c.leader() ?? 0) && c.role(1) !== 'leader' && configOf(c, 2).votersOutgoing.length === 0,
    );
    const newLeader = c.leader()!;
    expect(c.term(newLeader)).toBe(7);
    c.tick(newLeader, 2);
    for (const id of [2, 3]) {
      expect(c.get(id).confStates).toEqual([joint, final]);
      expect(appliedConfChanges(c, id)).toEqual([jointImplicit(removeNode(1)), leaveJoint()]);
    }
    expect(c.propose(newLeader, 'after')).toMatchObject({ kind: 'appended', term: 7 });
    expect(c.get(2).applied).toEqual(['after']);
    expect(c.get(3).applied).toEqual(['after']);
  });
});

describe('restart', () => {
  // The contract: a node restarts with `applied` equal to what its state machine reflects (the
  // harness restores from the snapshot index), and storage reports the membership in force there.

  it('a node restarted from a snapshot taken after membership changes comes back with that config', () => {
    const c = threeVoters({ learners: [4] });
    c.proposeConfChange(1, auto(addNode(4)));
    c.proposeConfChange(1, auto(removeNode(3)));
    c.propose(1, 'x');
    const final = conf({ voters: [1, 2, 4] });
    expect(configOf(c, 2)).toEqual(final);

    // n2 snapshots at its applied index (9), recording the membership with it, and restarts.
    const snap = c.snapshotAndCompact(2);
    expect(snap.meta).toMatchObject({ index: 9, confState: final });
    expect(c.get(2).storage.initialState().confState).toEqual(final);
    c.restart(2);
    expect(configOf(c, 2)).toEqual(final);
    expect(c.node(2).status()).toMatchObject({ term: 6, applied: 9, commit: 9, role: 'follower' });

    // The restored config is the one n2 votes and counts by: with n1 gone, n2 and n4 (two of the
    // three voters; n3 is no longer one) elect a leader and commit.
    c.isolate(1);
    const mark = c.delivered.length;
    tickAllUntil(c, () => [2, 4].includes(c.leader() ?? 0));
    const newLeader = c.leader()!;
    expect(c.term(newLeader)).toBe(7);
    expect(c.propose(newLeader, 'after-restart')).toMatchObject({ kind: 'appended', term: 7 });
    expect(c.get(2).applied).toEqual(['after-restart']);
    expect(c.get(4).applied).toEqual(['x', 'after-restart']);
    // Nobody asked n3 for a vote: it is not a member any more.
    const voteRequests = deliveredSince(c, mark).filter((m) => m.type === 'vote' || m.type === 'preVote');
    expect(voteRequests.length).toBeGreaterThan(0);
    expect(voteRequests.filter((m) => m.to === 3 || m.from === 3)).toEqual([]);
  });

  it('a node restarted from an older snapshot replays the conf changes after it and ends at the same config', () => {
    const c = threeVoters({ learners: [4] });
    c.proposeConfChange(1, auto(addNode(4)));
    c.proposeConfChange(1, jointImplicit(removeNode(3)));
    c.propose(1, 'x');
    const final = conf({ voters: [1, 2, 4] });
    expect(configOf(c, 2)).toEqual(final);

    // n2's only snapshot is the bootstrap one (index 5): it restarts with that membership...
    expect(c.get(2).storage.snapshot().meta.index).toBe(5);
    c.restart(2);
    expect(c.node(2).status()).toMatchObject({ applied: 5, commit: 10 });
    expect(configOf(c, 2)).toEqual(conf({ voters: [1, 2, 3], learners: [4] }));

    // ...and re-applies entries 6..10 from its log, passing through the same configs in order.
    c.settle();
    expect(c.get(2).confStates).toEqual([
      conf({ voters: [1, 2, 3, 4] }),
      conf({ voters: [1, 2, 4], votersOutgoing: [1, 2, 3, 4], autoLeave: true }),
      final,
    ]);
    expect(configOf(c, 2)).toEqual(final);
    expect(c.get(2).applied).toEqual(['x']);
  });
});

describe('ConfChange codec', () => {
  const nodeId = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
  const single: fc.Arbitrary<ConfChangeSingle> = fc.record({
    type: fc.constantFrom('addNode' as const, 'addLearner' as const, 'removeNode' as const),
    nodeId,
  });
  const confChange: fc.Arbitrary<ConfChange> = fc.record({
    transition: fc.constantFrom('auto' as const, 'jointImplicit' as const, 'jointExplicit' as const),
    changes: fc.array(single, { maxLength: 12 }),
    context: fc.uint8Array({ maxLength: 64 }),
  });

  it('round-trips every ConfChange', () => {
    fc.assert(
      fc.property(confChange, (cc) => {
        const decoded = decodeConfChange(encodeConfChange(cc));
        expect(decoded).toEqual(cc);
        expect(decoded.context).toBeInstanceOf(Uint8Array);
      }),
    );
  });

  it('decodes from a view into a larger buffer', () => {
    fc.assert(
      fc.property(confChange, fc.uint8Array({ maxLength: 16 }), fc.uint8Array({ maxLength: 16 }), (cc, before, after) => {
        const bytes = encodeConfChange(cc);
        const big = new Uint8Array(before.length + bytes.length + after.length);
        big.set(before, 0);
        big.set(bytes, before.length);
        big.set(after, before.length + bytes.length);
        expect(decodeConfChange(big.subarray(before.length, before.length + bytes.length))).toEqual(cc);
      }),
    );
  });

  it('refuses every truncation with ConfChangeDecodeError', () => {
    fc.assert(
      fc.property(confChange, (cc) => {
        const bytes = encodeConfChange(cc);
        for (let n = 0; n < bytes.length; n++) {
          expect(() => decodeConfChange(bytes.subarray(0, n))).toThrow(ConfChangeDecodeError);
        }
      }),
    );
    expect(() => decodeConfChange(new Uint8Array(0))).toThrow('conf change truncated: needed 6 bytes, have 0');
    const one = encodeConfChange(auto(addNode(7)));
    expect(() => decodeConfChange(one.subarray(0, 10))).toThrow('conf change truncated: needed 15 bytes, have 10');
  });

  it('refuses garbled bytes with ConfChangeDecodeError, or decodes them to a change that re-encodes identically', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let decoded: ConfChange;
        try {
          decoded = decodeConfChange(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfChangeDecodeError);
          expect((err as Error).message.length).toBeGreaterThan(0);
          return;
        }
        expect(encodeConfChange(decoded)).toEqual(bytes);
      }),
    );
    // Flipping any single byte of a valid encoding is caught or yields another valid change.
    fc.assert(
      fc.property(confChange, fc.nat(), fc.integer({ min: 1, max: 255 }), (cc, at, xor) => {
        const bytes = encodeConfChange(cc).slice();
        const i = at % bytes.length;
        bytes[i] = bytes[i]! ^ xor;
        try {
          expect(encodeConfChange(decodeConfChange(bytes))).toEqual(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfChangeDecodeError);
        }
      }),
    );
  });

  it('names what is wrong in each kind of garbled input', () => {
    const valid = encodeConfChange({ transition: 'jointExplicit', changes: [addLearner(3)], context: new Uint8Array([9, 9]) });
    const garble = (at: number, value: number): Uint8Array => {
      const b = valid.slice();
      b[at] = value;
      return b;
    };
    const expectDecodeError = (bytes: Uint8Array, message: string): void => {
      expect(() => decodeConfChange(bytes)).toThrow(ConfChangeDecodeError);
      expect(() => decodeConfChange(bytes)).toThrow(message);
    };
    expectDecodeError(garble(0, 2), 'unknown conf change encoding version 2');
    expectDecodeError(garble(1, 3), 'unknown conf change transition 3');
    expectDecodeError(garble(6, 7), 'unknown conf change type 7');
    // A node id of zero (all eight id bytes zeroed).
    const zeroId = valid.slice();
    zeroId.fill(0, 7, 15);
    expectDecodeError(zeroId, 'invalid node id 0');
    // A node id past Number.MAX_SAFE_INTEGER.
    const hugeId = valid.slice();
    hugeId.fill(0xff, 7, 15);
    expectDecodeError(hugeId, 'invalid node id 18446744073709551615');
    // A change count far past the bound, and one that merely overruns the buffer.
    const manyChanges = valid.slice();
    new DataView(manyChanges.buffer).setUint32(2, MAX_CHANGES_PER_CONF_CHANGE + 1);
    expectDecodeError(manyChanges, `too many changes: ${MAX_CHANGES_PER_CONF_CHANGE + 1}`);
    const overrunChanges = valid.slice();
    new DataView(overrunChanges.buffer).setUint32(2, 2);
    expectDecodeError(overrunChanges, 'conf change truncated');
    // A context length past the end, and trailing bytes after a complete change.
    const longContext = valid.slice();
    new DataView(longContext.buffer).setUint32(15, 0xffffffff);
    expectDecodeError(longContext, 'conf change truncated');
    const trailing = new Uint8Array(valid.length + 3);
    trailing.set(valid);
    expectDecodeError(trailing, '3 trailing bytes after conf change');
  });

  it('refuses to encode what it could not decode', () => {
    expect(() => encodeConfChange(auto(addNode(0)))).toThrow(ConfChangeDecodeError);
    expect(() => encodeConfChange(auto(addNode(1.5)))).toThrow('invalid node id 1.5');
    const tooMany = Array.from({ length: MAX_CHANGES_PER_CONF_CHANGE + 1 }, (_, i) => addLearner(i + 1));
    expect(() => encodeConfChange(auto(...tooMany))).toThrow(ConfChangeDecodeError);
  });
});
