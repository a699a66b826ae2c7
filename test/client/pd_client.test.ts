// The PD client against a fake PD of three members: leader discovery, NOT_LEADER redirects,
// retries of unavailability with backoff, the cluster id, the unary API and the heartbeat stream.

import { afterEach, describe, expect, it } from 'vitest';
import { PdClient, type PdClientOptions } from '../../src/client/pd_client.js';
import { DeadlineExceededError, PdClusterMismatchError, PdServerError, RetriesExhaustedError } from '../../src/client/errors.js';
import { metapb, pdpb } from '../../src/proto/index.js';
import { FakeCluster } from './fake_cluster.js';

let cluster: FakeCluster | undefined;
let client: PdClient | undefined;

afterEach(() => {
  client?.close();
  client = undefined;
  cluster?.close();
  cluster = undefined;
});

async function setup(pdMembers = 3, options: Partial<PdClientOptions> = {}): Promise<{ cluster: FakeCluster; pd: PdClient }> {
  cluster = await FakeCluster.start({ pdMembers });
  client = new PdClient({ endpoints: cluster.pdEndpoints, backoff: { baseMs: 5, maxMs: 40 }, ...options });
  return { cluster, pd: client };
}

const until = async (condition: () => boolean, timeoutMs = 5_000): Promise<void> => {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('PdClient: leader and cluster id', () => {
  it('finds the leader through any member, learns the cluster id and sends it from then on', async () => {
    const { cluster, pd } = await setup(3);
    cluster.pd.leaderIndex = 2;
    expect(pd.clusterId).toBe(0);
    const members = await pd.getMembers();
    expect(members.members).toHaveLength(3);
    expect(members.leader?.address).toBe(cluster.pd.members[2]!.address);
    expect(pd.leaderAddress).toBe(cluster.pd.members[2]!.address);
    expect(pd.clusterId).toBe(42);
    await pd.isBootstrapped();
    // Discovery asked member 0 with cluster id 0; every later request carries 42.
    expect(cluster.pd.members[0]!.headerClusterIds).toEqual([0]);
    expect(cluster.pd.members[2]!.headerClusterIds).toEqual([42, 42]);
  });

  it('follows NOT_LEADER to the named leader at once, without a backoff or a new discovery', async () => {
    // A backoff of 30 s would time the test out: the redirect must not sleep.
    const { cluster, pd } = await setup(3, { backoff: { baseMs: 30_000, maxMs: 30_000 } });
    await pd.isBootstrapped();
    const probesBefore = pd.internals.leader.getMembersProbes;
    cluster.pd.moveLeader(1);
    const started = Date.now();
    expect(await pd.isBootstrapped()).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(cluster.pd.members[0]!.calls['IsBootstrapped']).toBe(2);
    expect(cluster.pd.members[1]!.calls['IsBootstrapped']).toBe(1);
    expect(pd.internals.leader.getMembersProbes).toBe(probesBefore);
    expect(pd.stats.redirectsFollowed).toBe(1);
    expect(pd.leaderAddress).toBe(cluster.pd.members[1]!.address);
  });

  it('retries ERROR_UNAVAILABLE with backoff until the leader is available', async () => {
    const { cluster, pd } = await setup(1);
    cluster.pd.unavailableAnswers = 3;
    const id = await pd.allocId(5);
    expect(id.count).toBe(5);
    expect(pd.stats.backoffs).toBe(3);
    expect(cluster.pd.members[0]!.calls['AllocID']).toBe(4);
  });

  it('re-discovers the leader when the current one goes down', async () => {
    const { cluster, pd } = await setup(3);
    await pd.isBootstrapped();
    cluster.pd.stopMember(0);
    cluster.pd.moveLeader(2);
    expect(await pd.isBootstrapped()).toBe(true);
    expect(pd.leaderAddress).toBe(cluster.pd.members[2]!.address);
  });

  it('gives up at the call deadline with the attempts in the error', async () => {
    const { cluster, pd } = await setup(1, { callTimeoutMs: 300, maxAttempts: 1_000 });
    cluster.pd.unavailableAnswers = 1_000_000;
    const started = Date.now();
    const error = await pd.isBootstrapped().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((error as DeadlineExceededError).message).toMatch(/PD IsBootstrapped: deadline of 300 ms exceeded; tried: .*unavailable/);
    expect((error as DeadlineExceededError).attempts.length).toBeGreaterThan(1);
  });

  it('gives up after maxAttempts', async () => {
    const { cluster, pd } = await setup(1, { maxAttempts: 4 });
    cluster.pd.unavailableAnswers = 1_000_000;
    const error = await pd.isBootstrapped().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(cluster.pd.totalCalls('IsBootstrapped')).toBe(4);
  });

  it('treats a cluster mismatch as final', async () => {
    const { cluster } = await setup(1);
    client = new PdClient({ endpoints: cluster.pdEndpoints, clusterId: 7, backoff: { baseMs: 5, maxMs: 10 } });
    const error = await client.isBootstrapped().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PdClusterMismatchError);
    expect((error as PdClusterMismatchError).retryable).toBe(false);
    expect(cluster.pd.totalCalls('IsBootstrapped')).toBe(0);
    expect(cluster.pd.totalCalls('GetMembers')).toBe(1);
  });

  it('a client started before bootstrap learns the cluster id when refused for lacking it, and asks again', async () => {
    const { cluster, pd } = await setup(1);
    cluster.pd.bootstrapped = false;
    cluster.pd.hideClusterIdUntilBootstrapped = true;
    cluster.pd.strictClusterId = true;
    expect(await pd.isBootstrapped()).toBe(false);
    expect(pd.clusterId).toBe(0);
    cluster.pd.bootstrapped = true; // by another node
    // The unary path: refused once with cluster id 0, answered with 42.
    expect((await pd.getRegion(Buffer.from('a')))?.region.id).toBeGreaterThan(0);
    expect(pd.clusterId).toBe(42);
    expect(cluster.pd.members[0]!.calls['GetRegion']).toBe(2);
    // The Tso stream path, on a second client that has not learned the id yet either.
    cluster.pd.bootstrapped = false;
    const second = new PdClient({ endpoints: cluster.pdEndpoints, backoff: { baseMs: 5, maxMs: 40 } });
    try {
      await second.isBootstrapped();
      cluster.pd.bootstrapped = true;
      const timestamps = await Promise.all([second.getTimestamp(), second.getTimestamp()]);
      expect(timestamps[0]!.logical + 1).toBe(timestamps[1]!.logical);
      expect(second.clusterId).toBe(42);
    } finally {
      second.close();
    }
  });

  it('rejects answers from a PD that reports another cluster id than the one learned', async () => {
    const { cluster, pd } = await setup(1);
    await pd.isBootstrapped();
    cluster.pd.answerClusterId = 99;
    await expect(pd.isBootstrapped()).rejects.toBeInstanceOf(PdClusterMismatchError);
  });
});

describe('PdClient: the API', () => {
  it('bootstraps once and reports a repeat as already bootstrapped', async () => {
    const { cluster, pd } = await setup(1);
    cluster.pd.bootstrapped = false;
    expect(await pd.isBootstrapped()).toBe(false);
    const store: metapb.IStore = { id: 9, address: '127.0.0.1:1' };
    const region: metapb.IRegion = { id: 1, peers: [{ id: 2, storeId: 9 }] };
    expect(await pd.bootstrap(store, region)).toBe('bootstrapped');
    expect(await pd.bootstrap(store, region)).toBe('already-bootstrapped');
    expect(await pd.isBootstrapped()).toBe(true);
  });

  it('routes: getRegion, getRegionById, scanRegions', async () => {
    const { cluster, pd } = await setup(1);
    const info = await pd.getRegion(Buffer.from('c'));
    expect(Buffer.from(info!.region.startKey).toString()).toBe('b');
    expect(Buffer.from(info!.region.endKey).toString()).toBe('d');
    const truth = cluster.state.regionOfKey(Buffer.from('c'))!;
    expect(info!.leader?.storeId).toBe(truth.leaderStoreId);
    const byId = await pd.getRegionById(info!.region.id);
    expect(byId?.region.id).toBe(info!.region.id);
    expect(await pd.getRegionById(123_456)).toBeUndefined();
    const scanned = await pd.scanRegions(Buffer.from('c'), Buffer.from('e'), 10);
    expect(scanned.map((r) => Buffer.from(r.region.startKey).toString())).toEqual(['b', 'd']);
    const all = await pd.scanRegions(new Uint8Array(), new Uint8Array(), 2);
    expect(all).toHaveLength(2);
  });

  it('stores, ids, splits and heartbeats', async () => {
    const { cluster, pd } = await setup(1);
    expect((await pd.getStore(1))?.address).toBe(cluster.store(1).address);
    expect(await pd.getStore(77)).toBeUndefined();
    await pd.putStore({ id: 77, address: 'x:1', state: metapb.StoreState.STORE_UP });
    expect((await pd.getAllStores()).map((s) => s.id).sort()).toEqual([1, 2, 3, 77]);
    await pd.storeHeartbeat({ storeId: 1, capacity: 100, available: 50 });
    const region = cluster.state.regionsInOrder()[0]!;
    const ids = await pd.askSplit({ id: region.id, peers: region.peers });
    expect(ids.newPeerIds).toHaveLength(region.peers.length);
    await pd.reportSplit({ id: region.id }, { id: ids.newRegionId });
    const first = await pd.allocId();
    const second = await pd.allocId(3);
    expect(second.first).toBeGreaterThan(first.first);
  });

  it('reports PD errors it does not recover from as PdServerError, without retrying', async () => {
    const { cluster, pd } = await setup(1);
    cluster.pd.forcedError = pdpb.ErrorType.ERROR_NOT_BOOTSTRAPPED;
    const error = await pd.getRegion(Buffer.from('a')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PdServerError);
    expect((error as PdServerError).errorType).toBe(pdpb.ErrorType.ERROR_NOT_BOOTSTRAPPED);
    expect((error as PdServerError).message).toMatch(/ERROR_NOT_BOOTSTRAPPED/);
    expect(cluster.pd.totalCalls('GetRegion')).toBe(1);
  });
});

describe('PdClient: region heartbeat stream', () => {
  it('delivers responses and reopens against the new leader after a leader change', async () => {
    const { cluster, pd } = await setup(3);
    const responses: pdpb.IRegionHeartbeatResponse[] = [];
    const handle = pd.regionHeartbeatStream((r) => responses.push(r));
    const region = cluster.state.regionsInOrder()[0]!;
    handle.send({ region: { id: region.id }, leader: region.peers[0]! });
    await until(() => responses.length === 1);
    expect(responses[0]!.regionId).toBe(region.id);
    expect(cluster.pd.members[0]!.heartbeatStreams).toBe(1);

    cluster.pd.moveLeader(1, { breakStreams: true });
    await until(() => handle.connected && cluster.pd.members[1]!.heartbeatStreams === 1);
    handle.send({ region: { id: region.id }, leader: region.peers[0]! });
    await until(() => responses.length === 2);
    expect(cluster.pd.heartbeats).toHaveLength(2);
    handle.close();
  });

  it('follows NOT_LEADER on the heartbeat stream', async () => {
    const { cluster, pd } = await setup(3);
    const responses: pdpb.IRegionHeartbeatResponse[] = [];
    const handle = pd.regionHeartbeatStream((r) => responses.push(r));
    handle.send({ region: { id: 5 } });
    await until(() => responses.length === 1);
    cluster.pd.moveLeader(2);
    // The old leader answers NOT_LEADER; the handle reopens on member 2, where later ones land.
    handle.send({ region: { id: 6 } });
    await until(() => cluster.pd.members[2]!.heartbeatStreams === 1);
    await until(() => handle.connected);
    handle.send({ region: { id: 7 } });
    await until(() => responses.some((r) => r.regionId === 7));
    handle.close();
  });
});
