// The replica checker and operators, end to end through the PD server: Region leaders heartbeat,
// the PD hands back steps, the (simulated) leaders carry them out, later heartbeats show the
// effect. Plus the planner's rules on their own.

import { describe, expect, it } from 'vitest';
import { metapb, pdpb } from '../../src/proto/index.js';
import { planReplicas, type ReplicaPlanInput } from '../../src/pd/replica_checker.js';
import type { StoreLiveness } from '../../src/pd/cluster.js';
import type { PeerMeta, RegionMeta } from '../../src/pd/meta.js';
import { SimCluster } from './sim_cluster.js';

describe('replica checker, end to end', () => {
  it('grows a 1-voter Region to 3 voters: add learner, promote only once caught up, repeat', async () => {
    const sim = new SimCluster();
    await sim.start([4, 5]);
    sim.catchUpHeartbeats = 3;
    await sim.rounds(12);
    expect(sim.voterStores(2)).toEqual([1, 4, 5]);
    expect(sim.regions.get(2)!.peers.every((p) => p.role === metapb.PeerRole.VOTER)).toBe(true);
    expect(sim.steps.map((s) => s.kind)).toEqual(['add-learner', 'promote', 'add-learner', 'promote']);
    // A learner is never promoted while it is still catching up.
    expect(sim.steps.filter((s) => s.kind === 'promote').every((s) => !s.pendingAtSend)).toBe(true);
    // The persisted Region caught up with the heartbeats.
    expect(sim.storedRegion(2)?.peers.map((p) => p.storeId).sort()).toEqual([1, 4, 5]);
    expect(sim.server.operators.size).toBe(0);
    expect(sim.server.operators.stats).toMatchObject({ added: 2, finished: 2, timedOut: 0 });
  });

  it('never sends a promotion while the learner is pending', async () => {
    const sim = new SimCluster();
    await sim.start([4]);
    sim.catchUpHeartbeats = 1_000; // never catches up
    await sim.rounds(6);
    expect(sim.steps.map((s) => s.kind)).toEqual(['add-learner']);
    const sent = [...sim.sinks.values()].flatMap((s) => s.received);
    expect(sent.some((r) => r.changePeer?.changeType === pdpb.ChangeType.ADD_NODE)).toBe(false);
  });

  it('replaces the peers of a store that is down past the timeout', async () => {
    const sim = new SimCluster({ storeDownTimeoutMs: 30_000 });
    await sim.start([4, 5, 6]);
    await sim.rounds(12);
    expect(sim.voterStores(2)).toEqual([1, 4, 5]);
    sim.steps.length = 0;
    sim.silentStores.add(5);
    await sim.rounds(20); // 20 s: not down yet, nothing happens
    expect(sim.steps).toEqual([]);
    await sim.rounds(20); // past 30 s: removed, then replaced on store 6
    expect(sim.steps.map((s) => [s.kind, s.storeId])).toEqual([
      ['remove', 5],
      ['add-learner', 6],
      ['promote', 6],
    ]);
    expect(sim.voterStores(2)).toEqual([1, 4, 6]);
  });

  it('moves leadership off a down store before removing its peer', async () => {
    const sim = new SimCluster({ storeDownTimeoutMs: 30_000 });
    await sim.start([4, 5, 6]);
    await sim.rounds(12);
    sim.steps.length = 0;
    sim.regionHeartbeatsFromSilentStores = true; // the leader's store half-failed: region heartbeats still arrive
    sim.silentStores.add(1); // the leader's store
    await sim.rounds(40);
    const kinds = sim.steps.map((s) => s.kind);
    expect(kinds.slice(0, 2)).toEqual(['transfer-leader', 'remove']);
    expect(sim.steps[1]!.storeId).toBe(1);
    expect(sim.voterStores(2)).toEqual([4, 5, 6]);
    expect(sim.leaderOf(sim.regions.get(2)!).storeId).not.toBe(1);
  });

  it('abandons an operator whose steps never take effect once it times out, then tries again', async () => {
    const sim = new SimCluster({ operatorTimeoutMs: 10_000 });
    await sim.start([4]);
    sim.regions.get(2)!.deaf = true;
    await sim.rounds(1);
    const first = sim.server.operators.get(2);
    expect(first?.kind).toBe('add-replica');
    await sim.rounds(8);
    expect(sim.server.operators.get(2)).toBe(first); // still waiting, still the same
    await sim.rounds(3);
    expect(sim.server.operators.stats.timedOut).toBe(1);
    const second = sim.server.operators.get(2);
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    // A new peer id for the retry: an abandoned peer id is never reused.
    const peerOf = (op: typeof first): number => (op!.steps[0]!.kind === 'add-learner' ? op!.steps[0]!.peer.id : -1);
    expect(peerOf(second)).not.toBe(peerOf(first));
  });

  it('runs at most one operator per Region and starts at most the per-patrol limit', async () => {
    const sim = new SimCluster({ maxOperatorsPerPatrol: 2 });
    await sim.start([4, 5]);
    for (const k of ['c', 'f', 'k', 'q']) await sim.split(2, k); // 5 single-voter Regions
    for (const r of sim.regions.values()) r.deaf = true;
    sim.regionHeartbeats();
    const first = await sim.server.patrol();
    expect(first.started).toHaveLength(2);
    const second = await sim.server.patrol();
    expect(second.started).toHaveLength(2);
    await sim.server.patrol();
    await sim.server.patrol();
    expect(sim.server.operators.size).toBe(5);
    const regionsWithOps = sim.server.operators.all().map((op) => op.regionId);
    expect(new Set(regionsWithOps).size).toBe(regionsWithOps.length);
    // New learners spread over the stores with the fewest Regions.
    const targets = sim.server.operators.all().map((op) => (op.steps[0]!.kind === 'add-learner' ? op.steps[0]!.peer.storeId : 0));
    expect(targets.filter((s) => s === 4).length).toBeGreaterThan(0);
    expect(targets.filter((s) => s === 5).length).toBeGreaterThan(0);
  });

  it('does nothing on a follower, and forgets operators on losing leadership', async () => {
    const sim = new SimCluster();
    await sim.start([4]);
    sim.regions.get(2)!.deaf = true;
    await sim.rounds(1);
    expect(sim.server.operators.size).toBe(1);
    sim.group.loseLeader();
    expect(sim.server.operators.size).toBe(0);
    expect((await sim.server.patrol()).started).toHaveLength(0);
    expect(() => sim.regionHeartbeats()).toThrow(/not the placement-driver leader/);
  });
});

describe('planReplicas', () => {
  const peer = (id: number, storeId: number, role = metapb.PeerRole.VOTER): PeerMeta => ({ id, storeId, role });
  const regionOf = (peers: PeerMeta[]): RegionMeta => ({
    id: 9,
    startKey: new Uint8Array(0),
    endKey: new Uint8Array(0),
    epoch: { confVer: 1, version: 1 },
    peers,
  });
  const input = (peers: PeerMeta[], leaderId: number, liveness: Record<number, StoreLiveness>, extra: Partial<ReplicaPlanInput> = {}): ReplicaPlanInput => ({
    observed: {
      region: regionOf(peers),
      leader: peers.find((p) => p.id === leaderId)!,
      pendingPeerIds: new Set(),
      downPeerSeconds: new Map(),
    },
    liveness: (id) => liveness[id],
    regionCountByStore: new Map(Object.keys(liveness).map((id) => [Number(id), 0])),
    maxReplicas: 3,
    storeDownTimeoutMs: 60_000,
    ...extra,
  });
  const up = { 1: 'up', 2: 'up', 3: 'up', 4: 'up' } as const;

  it('promotes a stray learner when voters are missing, removes it when they are not', () => {
    expect(planReplicas(input([peer(1, 1), peer(2, 2), peer(3, 3, metapb.PeerRole.LEARNER)], 1, up))).toMatchObject({
      kind: 'promote-learner',
      peer: { id: 3 },
    });
    expect(planReplicas(input([peer(1, 1), peer(2, 2), peer(4, 4), peer(3, 3, metapb.PeerRole.LEARNER)], 1, up))).toMatchObject({
      kind: 'remove-learner',
      peer: { id: 3 },
    });
  });

  it('removes an extra voter, never the leader, preferring the busiest store', () => {
    const peers = [peer(1, 1), peer(2, 2), peer(3, 3), peer(4, 4)];
    const counts = new Map([[1, 50], [2, 5], [3, 30], [4, 10]]);
    expect(planReplicas(input(peers, 1, up, { regionCountByStore: counts }))).toMatchObject({ kind: 'remove-extra-replica', peer: { id: 3 } });
  });

  it('treats a peer the leader reports down for longer than the timeout as down', () => {
    const base = input([peer(1, 1), peer(2, 2), peer(3, 3)], 1, up);
    const plan = planReplicas({ ...base, observed: { ...base.observed, downPeerSeconds: new Map([[2, 61]]) } });
    expect(plan).toMatchObject({ kind: 'remove-down-replica', peer: { id: 2 } });
    const recent = planReplicas({ ...base, observed: { ...base.observed, downPeerSeconds: new Map([[2, 10]]) } });
    expect(recent).toBeUndefined();
  });

  it('keeps a down voter while no up store can take its place, and removes it once one can', () => {
    const peers = [peer(1, 1), peer(2, 2), peer(3, 3)];
    expect(planReplicas(input(peers, 1, { 1: 'up', 2: 'up', 3: 'down' }))).toBeUndefined();
    expect(planReplicas(input(peers, 1, { 1: 'up', 2: 'up', 3: 'down', 4: 'down' }))).toBeUndefined();
    expect(planReplicas(input(peers, 1, { 1: 'up', 2: 'up', 3: 'down', 4: 'up' }))).toMatchObject({ kind: 'remove-down-replica', peer: { id: 3 } });
    // With a voter to spare there is no replacement to wait for.
    expect(planReplicas(input([...peers, peer(4, 4)], 1, { 1: 'up', 2: 'up', 3: 'down', 4: 'up' }))).toMatchObject({
      kind: 'remove-down-replica',
      peer: { id: 3 },
    });
  });

  it('leaves a Region whose only voter is down, or that is in a joint configuration, alone', () => {
    expect(planReplicas(input([peer(1, 1)], 1, { 1: 'down', 2: 'up' }))).toBeUndefined();
    expect(planReplicas(input([peer(1, 1), peer(2, 2, metapb.PeerRole.INCOMING_VOTER)], 1, up))).toBeUndefined();
  });

  it('replaces a peer on an offline store by adding first, moving leadership away, then removing', () => {
    const plan = planReplicas(input([peer(1, 1), peer(2, 2), peer(3, 3)], 1, { 1: 'offline', 2: 'up', 3: 'up', 4: 'up' }));
    expect(plan).toMatchObject({ kind: 'replace-offline-replica', peer: { id: 1 }, storeId: 4, transferTo: { id: 2 } });
  });
});
