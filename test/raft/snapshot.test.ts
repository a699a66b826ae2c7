// Snapshots and compaction, as transcripts. The caller snapshots its state machine and compacts
// the log behind it; a follower that needs a compacted entry is sent the snapshot instead, and the
// leader's progress for it waits in 'snapshot' state until the caller reports the outcome.

import { describe, expect, it } from 'vitest';
import {
  Raft,
  SnapshotTemporarilyUnavailableError,
  type Message,
  type NodeId,
  type ProgressStatus,
  type Snapshot,
  type SnapshotMessage,
} from '../../src/raft/index.js';
import { Cluster, str, type ClusterOptions } from './harness.js';
import { DelegatingStorage } from '../support/delegating_storage.js';

function progress(c: Cluster, leader: NodeId, id: NodeId): ProgressStatus {
  const pr = c.node(leader).status().progress?.get(id);
  if (pr === undefined) throw new Error(`node ${leader} tracks no progress for ${id} (is it the leader?)`);
  return pr;
}

/**
 * Cuts `id` off with the message filter rather than a link cut, so that every message the
 * network is asked to carry (dropped or not) is still recorded in `sent`.
 */
function cutOffWithFilter(c: Cluster, id: NodeId, sent: Message[]): void {
  c.filter = (m) => {
    sent.push(m);
    return m.from !== id && m.to !== id;
  };
}

/** Lets everything through, still recording it. */
function recordAll(c: Cluster, sent: Message[]): void {
  c.filter = (m) => {
    sent.push(m);
    return true;
  };
}

const snapshotsIn = (msgs: readonly Message[], to?: NodeId): SnapshotMessage[] =>
  msgs.filter((m): m is SnapshotMessage => m.type === 'snapshot' && (to === undefined || m.to === to));

/**
 * Restarts a node from its storage. The harness restarts the state machine empty; a real one
 * first reloads the snapshot image, so this helper does that too before entries are re-applied.
 */
function restartFromSnapshot(c: Cluster, id: NodeId): Snapshot {
  c.restart(id);
  const t = c.get(id);
  const snap = t.storage.snapshot();
  t.applied = snap.data.byteLength > 0 ? (JSON.parse(str(snap.data)) as string[]) : [];
  return snap;
}

/** A Storage that delegates to the real one, but can refuse snapshots while "preparing" one. */
class PreparingSnapshotStorage extends DelegatingStorage {
  unavailable = false;
  snapshotCalls = 0;
  override snapshot(): Snapshot {
    this.snapshotCalls++;
    if (this.unavailable) throw new SnapshotTemporarilyUnavailableError();
    return this.inner.snapshot();
  }
}

/** A three-node group whose leader n1 has replicated 'a', 'b', 'c'. */
function groupWithHistory(options: ClusterOptions = {}): Cluster {
  const c = Cluster.create([1, 2, 3], options);
  c.campaign(1);
  for (const v of ['a', 'b', 'c']) c.propose(1, v);
  return c;
}

describe('sending a snapshot to a follower that fell behind compaction', () => {
  it('is restored by the follower, which then continues with appends; progress goes snapshot → probe → replicate', () => {
    const c = groupWithHistory();
    const sent: Message[] = [];

    // n3 is cut off while the group moves on and n1 compacts its log past n3's position.
    cutOffWithFilter(c, 3, sent);
    for (const v of ['d', 'e', 'f']) c.propose(1, v);
    const n3Last = c.node(3).status().lastIndex;
    const snap = c.snapshotAndCompact(1);
    expect(snap.meta.index).toBe(c.node(1).status().lastIndex);
    expect(c.node(1).status().firstIndex).toBe(snap.meta.index + 1);
    expect(n3Last).toBeLessThan(snap.meta.index);

    // n3 is reachable again, but the snapshot is held in the network for now.
    const held: SnapshotMessage[] = [];
    c.filter = (m) => {
      sent.push(m);
      if (m.type === 'snapshot') {
        held.push(m);
        return false;
      }
      return true;
    };
    c.tick(1); // heartbeat → n3 answers → the probe finds n3 needs compacted entries
    expect(held).toHaveLength(1);
    expect(held[0]!.to).toBe(3);
    expect(held[0]!.snapshot.meta.index).toBe(snap.meta.index);
    expect(progress(c, 1, 3)).toMatchObject({ state: 'snapshot', pendingSnapshot: snap.meta.index, paused: true });

    // While the snapshot is in flight the leader sends n3 nothing else.
    sent.length = 0;
    c.propose(1, 'g');
    expect(sent.filter((m) => m.to === 3 && (m.type === 'append' || m.type === 'snapshot'))).toEqual([]);
    expect(progress(c, 1, 3).state).toBe('snapshot');

    // The transport reports the snapshot delivered: the leader probes after it.
    c.node(1).reportSnapshot(3, 'finish');
    expect(progress(c, 1, 3)).toMatchObject({ state: 'probe', next: snap.meta.index + 1 });

    // The snapshot arrives; n3 restores it and acknowledges, and the leader streams the rest.
    c.filter = undefined;
    const deliveredBefore = c.delivered.length;
    c.send(held[0]!);
    expect(snapshotsIn(c.delivered.slice(deliveredBefore), 3)).toHaveLength(1);
    expect(c.get(3).snapshotsApplied.map((s) => s.meta.index)).toEqual([snap.meta.index]);
    expect(progress(c, 1, 3)).toMatchObject({ state: 'replicate', match: c.node(1).status().lastIndex });
    expect(c.get(3).applied).toEqual(c.get(1).applied);

    // And n3 keeps up with new appends.
    c.propose(1, 'h');
    expect(c.get(3).applied).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(c.get(3).applied).toEqual(c.get(1).applied);
    expect(c.node(3).status().commit).toBe(c.node(1).status().commit);
  });

  it('after a reported failure the follower returns to probe and the snapshot is sent again', () => {
    const c = groupWithHistory();
    const sent: Message[] = [];
    cutOffWithFilter(c, 3, sent);
    for (const v of ['d', 'e']) c.propose(1, v);
    const snap = c.snapshotAndCompact(1);

    // The first snapshot is lost on the way.
    let lost = 0;
    c.filter = (m) => {
      sent.push(m);
      if (m.type === 'snapshot' && lost === 0) {
        lost++;
        return false;
      }
      return true;
    };
    c.tick(1);
    expect(lost).toBe(1);
    expect(progress(c, 1, 3).state).toBe('snapshot');

    // The transport reports the failure: back to probe, paused until the follower is heard from.
    c.node(1).reportSnapshot(3, 'failure');
    expect(progress(c, 1, 3)).toMatchObject({ state: 'probe', pendingSnapshot: 0, paused: true });
    expect(c.get(3).snapshotsApplied).toEqual([]);

    // The next heartbeat answer unpauses it; the probe needs compacted entries, so the snapshot goes again.
    sent.length = 0;
    c.tick(1);
    expect(snapshotsIn(sent, 3)).toHaveLength(1);
    expect(c.get(3).snapshotsApplied.map((s) => s.meta.index)).toEqual([snap.meta.index]);
    c.node(1).reportSnapshot(3, 'finish'); // late report: the follower already answered, no effect
    expect(progress(c, 1, 3).state).toBe('replicate');
    c.propose(1, 'f');
    expect(c.get(3).applied).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });
});

describe('a follower receiving a snapshot', () => {
  it('applies a snapshot and the appends that follow it, received before it persisted anything', () => {
    const c = groupWithHistory();
    const sent: Message[] = [];
    cutOffWithFilter(c, 3, sent);
    for (const v of ['d', 'e']) c.propose(1, v);
    const snap = c.snapshotAndCompact(1);
    c.propose(1, 'f');
    const term = c.term(1);
    const fIndex = c.node(1).status().lastIndex;
    expect(fIndex).toBe(snap.meta.index + 1);
    const f = c.get(1).storage.entries(fIndex, fIndex + 1, Number.POSITIVE_INFINITY);

    // n3 is handed the snapshot and then the append of 'f' that follows it, both before its next Ready.
    c.filter = undefined;
    const n3 = c.node(3);
    n3.step({ type: 'snapshot', from: 1, to: 3, term, snapshot: snap });
    n3.step({ type: 'append', from: 1, to: 3, term, index: snap.meta.index, logTerm: snap.meta.term, entries: f, commit: fIndex });
    const rd = n3.ready();
    // The snapshot comes first; 'f' is persisted with it but applied only after the snapshot.
    expect(rd.snapshot?.meta.index).toBe(snap.meta.index);
    expect(rd.entries.map((e) => e.index)).toEqual([fIndex]);
    expect(rd.committedEntries).toEqual([]);
    expect(rd.mustSync).toBe(true);
    // Hand the Ready back to the harness's way of processing it: persist, apply, advance.
    c.get(3).storage.persist({ snapshot: rd.snapshot!, entries: rd.entries, ...(rd.hardState ? { hardState: rd.hardState } : {}) });
    c.get(3).applied = JSON.parse(str(rd.snapshot!.data)) as string[];
    n3.advance();
    c.settle();
    expect(c.get(3).applied).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(c.node(3).status()).toMatchObject({ commit: fIndex, applied: fIndex, firstIndex: snap.meta.index + 1 });
  });

  it('ignores a snapshot older than its commit index and answers with its commit index', () => {
    const c = groupWithHistory();
    // An early snapshot, then more history.
    const old = c.snapshotAndCompact(1);
    for (const v of ['d', 'e']) c.propose(1, v);
    const n2 = c.node(2).status();
    expect(n2.commit).toBeGreaterThan(old.meta.index);

    // The old snapshot turns up late (say, a retransmission).
    const before = c.delivered.length;
    c.send({ type: 'snapshot', from: 1, to: 2, term: c.term(1), snapshot: old });
    expect(c.get(2).snapshotsApplied).toEqual([]);
    const answer = c.delivered.slice(before).find((m) => m.type === 'appendResponse' && m.from === 2);
    expect(answer).toMatchObject({ type: 'appendResponse', to: 1, reject: false, index: n2.commit });
    expect(c.node(2).status()).toMatchObject({ commit: n2.commit, lastIndex: n2.lastIndex, firstIndex: n2.firstIndex });
    expect(c.get(2).applied).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('refuses a snapshot whose membership does not include it', () => {
    const c = groupWithHistory({ spares: [4] });
    // n1's snapshot describes the group (1 2 3); n4 is not a member of it.
    const snap = c.snapshotAndCompact(1);
    expect(snap.meta.confState.voters).toEqual([1, 2, 3]);

    const before = c.delivered.length;
    c.send({ type: 'snapshot', from: 1, to: 4, term: c.term(1), snapshot: snap });
    expect(c.get(4).snapshotsApplied).toEqual([]);
    expect(c.node(4).status()).toMatchObject({ commit: 0, lastIndex: 0 });
    expect(c.node(4).status().config.voters).toEqual([]);
    expect(c.get(4).storage.snapshot().meta.index).toBe(0);
    // It answers with what it has (nothing), which the leader ignores: n4 is not in its config.
    expect(c.delivered.slice(before).find((m) => m.from === 4)).toMatchObject({ type: 'appendResponse', index: 0 });
    expect(c.node(1).status().progress?.has(4)).toBe(false);
  });

  it('that already holds the snapshot’s last entry only fast-forwards its commit index', () => {
    const c = groupWithHistory();
    // n2 receives the append of 'd' but none of the messages that would tell it 'd' committed.
    c.filter = (m) => !(m.to === 2 && (m.type === 'heartbeat' || (m.type === 'append' && m.entries.length === 0)));
    c.propose(1, 'd');
    const dIndex = c.node(1).status().lastIndex;
    expect(c.node(1).status().commit).toBe(dIndex);
    expect(c.node(2).status()).toMatchObject({ lastIndex: dIndex, commit: dIndex - 1 });
    expect(c.get(2).applied).toEqual(['a', 'b', 'c']);

    const snap = c.snapshotAndCompact(1);
    expect(snap.meta.index).toBe(dIndex);
    const firstBefore = c.node(2).status().firstIndex;

    c.filter = undefined;
    const before = c.delivered.length;
    c.send({ type: 'snapshot', from: 1, to: 2, term: c.term(1), snapshot: snap });
    // No restore: same log, just a newer commit index, and 'd' is applied from n2's own log.
    expect(c.get(2).snapshotsApplied).toEqual([]);
    expect(c.node(2).status()).toMatchObject({ commit: dIndex, lastIndex: dIndex, firstIndex: firstBefore });
    expect(c.get(2).applied).toEqual(['a', 'b', 'c', 'd']);
    expect(c.get(2).appliedEntries.at(-1)?.index).toBe(dIndex);
    expect(c.delivered.slice(before).find((m) => m.from === 2)).toMatchObject({ type: 'appendResponse', index: dIndex });
  });
});

describe('when the leader holds a snapshot back', () => {
  it('does not send a snapshot to a follower it has not heard from recently', () => {
    const c = groupWithHistory();
    const sent: Message[] = [];
    cutOffWithFilter(c, 3, sent);
    for (const v of ['d', 'e']) c.propose(1, v);
    // A check-quorum round passes without a word from n3: it is no longer recently active.
    c.tick(1, 10);
    expect(c.role(1)).toBe('leader');
    expect(progress(c, 1, 3).recentActive).toBe(false);
    const snap = c.snapshotAndCompact(1);

    // The transport gives up on n3, so the leader goes back to probing it, and more is proposed.
    c.node(1).reportUnreachable(3);
    // Its next entry is compacted away: only the snapshot could help it.
    expect(progress(c, 1, 3)).toMatchObject({ state: 'probe', recentActive: false });
    expect(progress(c, 1, 3).next).toBeLessThanOrEqual(snap.meta.index);
    sent.length = 0;
    c.propose(1, 'f');
    c.tick(1, 3);
    // n3 needs compacted entries, but a snapshot to a silent node would likely be wasted.
    expect(snapshotsIn(sent)).toEqual([]);
    expect(progress(c, 1, 3).state).toBe('probe');

    // n3 answers again: now it gets the snapshot and catches up.
    recordAll(c, sent);
    c.tick(1);
    expect(snapshotsIn(sent, 3)).toHaveLength(1);
    expect(c.get(3).applied).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('sends nothing while storage.snapshot() is temporarily unavailable, and retries later', () => {
    let storageOf1: PreparingSnapshotStorage | undefined;
    const c = groupWithHistory({
      factory: (config) => {
        if (config.id !== 1) return new Raft(config);
        storageOf1 = new PreparingSnapshotStorage(config.storage);
        return new Raft({ ...config, storage: storageOf1 });
      },
    });
    const storage = storageOf1!;
    const sent: Message[] = [];
    cutOffWithFilter(c, 3, sent);
    for (const v of ['d', 'e']) c.propose(1, v);
    c.snapshotAndCompact(1);

    // The storage is still preparing a snapshot when n3 comes back.
    storage.unavailable = true;
    recordAll(c, sent);
    sent.length = 0;
    c.tick(1, 3);
    expect(storage.snapshotCalls).toBeGreaterThan(0);
    expect(snapshotsIn(sent)).toEqual([]);
    expect(progress(c, 1, 3).state).toBe('probe');
    expect(c.get(3).applied).toEqual(['a', 'b', 'c']);

    // Once it is ready, the next heartbeat answer brings the snapshot.
    storage.unavailable = false;
    const callsBefore = storage.snapshotCalls;
    c.tick(1);
    expect(storage.snapshotCalls).toBeGreaterThan(callsBefore);
    expect(snapshotsIn(sent, 3)).toHaveLength(1);
    expect(c.get(3).applied).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(progress(c, 1, 3).state).toBe('replicate');
  });
});

describe('restart from a snapshot', () => {
  it('a node restarted with applied = its snapshot index recovers, then catches up from the leader', () => {
    const c = groupWithHistory();
    // n3 snapshots its own state machine and compacts, keeping one entry before the snapshot;
    // more is committed after the snapshot.
    const own = c.snapshotAndCompact(3, 1);
    expect(c.node(3).status().firstIndex).toBe(own.meta.index);
    c.propose(1, 'd');
    expect(c.get(3).applied).toEqual(['a', 'b', 'c', 'd']);

    // n3 goes down; meanwhile the group moves on and n1 compacts past everything n3 has.
    c.isolate(3);
    for (const v of ['e', 'f']) c.propose(1, v);
    const leaderSnap = c.snapshotAndCompact(1);

    // n3 restarts from its storage: state machine from its snapshot, entries after it re-applied.
    const snap = restartFromSnapshot(c, 3);
    expect(snap.meta.index).toBe(own.meta.index);
    expect(c.node(3).status()).toMatchObject({ applied: own.meta.index, role: 'follower' });
    c.settle();
    expect(c.get(3).applied).toEqual(['a', 'b', 'c', 'd']);
    expect(c.get(3).snapshotsApplied).toEqual([]);

    // Back on the network: n3 is sent n1's snapshot and then follows new appends.
    c.heal();
    const before = c.delivered.length;
    c.tick(1);
    expect(snapshotsIn(c.delivered.slice(before), 3).map((m) => m.snapshot.meta.index)).toEqual([leaderSnap.meta.index]);
    expect(c.get(3).applied).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    c.propose(1, 'g');
    expect(c.get(3).applied).toEqual(c.get(1).applied);
    expect(c.node(3).status().commit).toBe(c.node(1).status().commit);

    // A second restart, now from the leader's snapshot it received, recovers the same state.
    restartFromSnapshot(c, 3);
    c.settle();
    c.tick(1);
    expect(c.get(3).applied).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  });
});
