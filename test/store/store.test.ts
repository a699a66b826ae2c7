import { afterEach, describe, expect, it } from 'vitest';
import { rawKey as dataKey } from '../../src/kv/keys.js';
import { StoreCluster, dec, enc, regionWithPeers, waitFor } from './harness.js';

let cluster: StoreCluster;
afterEach(async () => {
  await cluster?.close();
});

async function threeStoresOneRegion(): Promise<StoreCluster> {
  const c = new StoreCluster();
  for (const id of [1, 2, 3]) await c.startStore(id);
  const region = regionWithPeers(1, [[11, 1], [12, 2], [13, 3]]);
  for (const id of [1, 2, 3]) await c.get(id).store.bootstrapRegion(region);
  return c;
}

describe('the store loop', () => {
  it('three stores elect a leader, replicate writes, and serve linearizable reads', async () => {
    cluster = await threeStoresOneRegion();
    const leader = await cluster.waitForLeader(1);
    expect([1, 2, 3]).toContain(leader.storeId);
    const res = await cluster.put(1, [['a', '1'], ['b', '2']]);
    expect(res.regionError).toBeFalsy();
    expect(dec((await cluster.read(1, 'a')).value)).toBe('1');
    expect((await cluster.read(1, 'zz')).found).toBe(false);
    // Every replica applies the write.
    await waitFor(async () => {
      for (const id of [1, 2, 3]) {
        const v = await cluster.get(id).engine.db.get(dataKey(enc('b')));
        if (v === undefined || dec(v) !== '2') return false;
      }
      return true;
    }, 5000, 'the write on every replica');
  });

  it('a follower refuses requests and names the leader', async () => {
    cluster = await threeStoresOneRegion();
    const leader = await cluster.waitForLeader(1);
    const follower = [1, 2, 3].find((id) => id !== leader.storeId)!;
    const region = cluster.regionOn(follower, 1)!;
    const res = await cluster.get(follower).kv.handle({ get: { context: { regionId: 1, regionEpoch: region.epoch ?? {} }, key: enc('a') } });
    expect(res.get?.regionError?.notLeader?.leader?.storeId).toBe(leader.storeId);
  });

  it('stale epochs, unknown regions and keys outside the region are refused with the right errors', async () => {
    cluster = await threeStoresOneRegion();
    const leader = await cluster.waitForLeader(1);
    const stale = await leader.kv.handle({ get: { context: { regionId: 1, regionEpoch: { confVer: 1, version: 0 } }, key: enc('a') } });
    expect(stale.get?.regionError?.epochNotMatch?.currentRegions?.[0]?.id).toBe(1);
    const unknown = await leader.kv.handle({ get: { context: { regionId: 77, regionEpoch: {} }, key: enc('a') } });
    expect(unknown.get?.regionError?.regionNotFound?.regionId).toBe(77);
  });

  it('a restarted store recovers its regions and catches up by log', async () => {
    cluster = await threeStoresOneRegion();
    await cluster.put(1, [['k1', 'v1']]);
    const leader = await cluster.waitForLeader(1);
    const victim = [1, 2, 3].find((id) => id !== leader.storeId)!;
    const dir = await cluster.stopStore(victim);
    for (let i = 0; i < 20; i++) expect((await cluster.put(1, [[`k${i}`, `w${i}`]])).regionError).toBeFalsy();
    const back = await cluster.startStore(victim, dir);
    await waitFor(async () => dec(await back.engine.db.get(dataKey(enc('k19')))) === 'w19', 5000, 'the restarted store to catch up');
  });

  it('a store that missed compacted entries catches up by snapshot', async () => {
    cluster = new StoreCluster({ raft: { tickIntervalMs: 10, electionTicks: 10, heartbeatTicks: 2 }, hibernate: { enabled: false }, logGc: { thresholdEntries: 20, keepEntries: 2 } });
    for (const id of [1, 2, 3]) await cluster.startStore(id);
    const region = regionWithPeers(1, [[11, 1], [12, 2], [13, 3]]);
    for (const id of [1, 2, 3]) await cluster.get(id).store.bootstrapRegion(region);
    const leader = await cluster.waitForLeader(1);
    const victim = [1, 2, 3].find((id) => id !== leader.storeId)!;
    const dir = await cluster.stopStore(victim);
    for (let i = 0; i < 60; i++) expect((await cluster.put(1, [[`s${i}`, `x${i}`]])).regionError).toBeFalsy();
    const leaderPeer = leader.store.peers.get(1)!;
    expect(leaderPeer.storage.firstIndex()).toBeGreaterThan(30);
    const back = await cluster.startStore(victim, dir);
    await waitFor(async () => dec(await back.engine.db.get(dataKey(enc('s59')))) === 'x59', 8000, 'catch-up by snapshot');
    expect(dec(await back.engine.db.get(dataKey(enc('s0'))))).toBe('x0');
  });
});
