import { afterEach, describe, expect, it } from 'vitest';
import { StoreCluster, dec, enc, regionWithPeers, waitFor } from './harness.js';

let cluster: StoreCluster;
afterEach(async () => {
  await cluster?.close();
});

const TUNING = {
  raft: { tickIntervalMs: 10, electionTicks: 10, heartbeatTicks: 2 },
  hibernate: { enabled: true, idleTicks: 5 },
  regionHeartbeatIntervalMs: 100_000,
  storeHeartbeatIntervalMs: 100_000,
};

async function idleGroup(): Promise<StoreCluster> {
  const c = new StoreCluster(TUNING);
  for (const id of [1, 2, 3]) await c.startStore(id);
  const region = regionWithPeers(1, [[11, 1], [12, 2], [13, 3]]);
  for (const id of [1, 2, 3]) await c.get(id).store.bootstrapRegion(region);
  await c.waitForLeader(1);
  await c.put(1, [['a', '1']]);
  return c;
}

describe('hibernation', () => {
  it('an idle region stops ticking on every store, and stops sending messages', async () => {
    cluster = await idleGroup();
    await waitFor(() => [1, 2, 3].every((s) => cluster.get(s).store.peers.get(1)!.hibernating), 3000, 'every peer to hibernate');
    const before = cluster.network.delivered;
    const term = cluster.get(1).store.peers.get(1)!.raft.core.term;
    // Many election timeouts later: no message, no election, everyone still asleep.
    await new Promise((r) => setTimeout(r, 1000));
    expect(cluster.network.delivered).toBe(before);
    for (const s of [1, 2, 3]) {
      expect(cluster.get(s).store.peers.get(1)!.raft.core.term).toBe(term);
      expect(cluster.get(s).store.peers.get(1)!.hibernating).toBe(true);
    }
    // Still the same leader, still serving.
    expect(dec((await cluster.read(1, 'a')).value)).toBe('1');
  });

  it('a write wakes the region and commits; the region goes back to sleep afterwards', async () => {
    cluster = await idleGroup();
    await waitFor(() => [1, 2, 3].every((s) => cluster.get(s).store.peers.get(1)!.hibernating), 3000, 'hibernation');
    const res = await cluster.put(1, [['b', '2']]);
    expect(res.regionError).toBeFalsy();
    expect(dec((await cluster.read(1, 'b')).value)).toBe('2');
    await waitFor(() => [1, 2, 3].every((s) => cluster.get(s).store.peers.get(1)!.hibernating), 3000, 'hibernation again');
  });

  it('when a hibernating leader is cut off, a request at a follower wakes it and a new leader is elected', async () => {
    cluster = await idleGroup();
    await waitFor(() => [1, 2, 3].every((s) => cluster.get(s).store.peers.get(1)!.hibernating), 3000, 'hibernation');
    const old = cluster.leaderOf(1)!;
    for (const s of [1, 2, 3]) if (s !== old.storeId) cluster.network.partition(old.address, cluster.addressOf(s));
    const follower = [1, 2, 3].find((s) => s !== old.storeId)!;
    const region = cluster.regionOn(follower, 1)!;
    // The client could not reach the leader and asks a follower: NotLeader, and the follower wakes.
    const res = await cluster.get(follower).kv.handle({ get: { context: { regionId: 1, regionEpoch: region.epoch ?? {} }, key: enc('a') } });
    expect(res.get?.regionError?.notLeader).toBeTruthy();
    await waitFor(() => [1, 2, 3].some((s) => s !== old.storeId && cluster.get(s).store.peers.get(1)!.isLeader()), 5000, 'a new leader');
    const newLeader = [1, 2, 3].find((s) => s !== old.storeId && cluster.get(s).store.peers.get(1)!.isLeader())!;
    const r2 = cluster.regionOn(newLeader, 1)!;
    const write = await cluster.get(newLeader).kv.handle({ batchWrite: { context: { regionId: 1, regionEpoch: r2.epoch ?? {} }, mutations: [{ key: enc('c'), value: enc('3') }] } });
    expect(write.batchWrite?.regionError).toBeFalsy();
  });
});
