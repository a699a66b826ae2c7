// Routing through the PD server: splits reported by stores, heartbeats that bring newer epochs
// (persisted in coalesced batches) and heartbeats that are stale (ignored).

import { describe, expect, it } from 'vitest';
import { metapb } from '../../src/proto/index.js';
import { InvalidArgumentError, StoreTombstoneError } from '../../src/pd/errors.js';
import { key, region, store } from './builders.js';
import { settle } from './fake_replication.js';
import { SimCluster } from './sim_cluster.js';

async function splitCluster(): Promise<{ sim: SimCluster; left: number; middle: number }> {
  const sim = new SimCluster();
  await sim.start([4, 5]);
  const left = await sim.split(2, 'g'); // [, g) new; [g, ) region 2
  const middle = await sim.split(2, 'p'); // [g, p) new; [p, ) region 2
  return { sim, left, middle };
}

describe('routing', () => {
  it('answers GetRegion by key, by id and ScanRegions after splits', async () => {
    const { sim, left, middle } = await splitCluster();
    const at = async (k: string): Promise<number | undefined> => (await sim.server.getRegionByKey(key(k)))?.region.id;
    expect(await at('')).toBe(left);
    expect(await at('f')).toBe(left);
    expect(await at('g')).toBe(middle);
    expect(await at('oz')).toBe(middle);
    expect(await at('p')).toBe(2);
    expect(await at('zzzz')).toBe(2);
    expect((await sim.server.scanRegions(key('h'), key(''), 0)).map((r) => r.region.id)).toEqual([middle, 2]);
    expect((await sim.server.scanRegions(key(''), key('h'), 0)).map((r) => r.region.id)).toEqual([left, middle]);
    expect((await sim.server.scanRegions(key(''), key(''), 1)).map((r) => r.region.id)).toEqual([left]);
    expect((await sim.server.getRegionById(2))?.region.startKey).toEqual(key('p'));
    // Split ids came from the allocator, above the bootstrap ids.
    expect(left).toBeGreaterThan(3);
  });

  it('ignores a stale heartbeat of the pre-split parent: routing stays, nothing is persisted', async () => {
    const { sim, left } = await splitCluster();
    const proposals = sim.group.proposed.length;
    const staleParent = region(2, '', '', { confVer: 1, version: 1 }, [[3, 1]]);
    sim.server.handleRegionHeartbeat({ header: { clusterId: 42 }, region: staleParent, leader: { id: 3, storeId: 1 }, term: 1 }, sim.sink(1));
    await settle();
    expect(sim.group.proposed.length).toBe(proposals);
    expect(sim.routed('a')).toBe(left);
    expect(sim.storedRegion(2)?.startKey).toEqual(key('p'));
  });

  it('persists a heartbeat with a newer epoch and reports its leader; an older term does not move the leader back', async () => {
    const { sim } = await splitCluster();
    const sink = sim.sink(1);
    const r = sim.regions.get(2)!;
    r.peers.push({ id: 50, storeId: 4, role: metapb.PeerRole.VOTER });
    r.confVer++;
    r.term = 5;
    sim.server.handleRegionHeartbeat(sim.heartbeatRequest(r), sink);
    await sim.server.regionSync.idle();
    expect(sim.storedRegion(2)?.peers.map((p) => p.storeId)).toEqual([1, 4]);
    expect((await sim.server.getRegionById(2))?.leader?.id).toBe(3);
    // Leadership moves to peer 50 in term 6; then a delayed heartbeat of term 5 arrives.
    sim.server.handleRegionHeartbeat({ ...sim.heartbeatRequest(r), leader: { id: 50, storeId: 4 }, term: 6 }, sim.sink(4));
    sim.server.handleRegionHeartbeat({ ...sim.heartbeatRequest(r), term: 5 }, sink);
    expect((await sim.server.getRegionById(2))?.leader?.id).toBe(50);
  });

  it('coalesces heartbeats into bounded PutRegions batches while a proposal is in flight', async () => {
    const sim = new SimCluster();
    await sim.start([4]);
    for (let i = 0; i < 3; i++) await sim.split(2, `k${String.fromCharCode(100 + i)}`);
    let release!: () => void;
    sim.group.gate = new Promise<void>((resolve) => (release = resolve));
    const before = sim.group.proposed.length;
    // Three rounds of conf changes on every Region while Raft is held up.
    for (let round = 0; round < 3; round++) {
      for (const r of sim.regions.values()) {
        r.confVer++;
        sim.server.handleRegionHeartbeat(sim.heartbeatRequest(r), sim.sink(1));
      }
    }
    sim.group.gate = undefined;
    release();
    await sim.server.regionSync.idle();
    const putRegions = sim.group.proposed.slice(before);
    // One in flight from the first heartbeat, then one batch with the newest of the rest.
    expect(putRegions.length).toBe(2);
    for (const r of sim.regions.values()) expect(sim.storedRegion(r.id)?.epoch.confVer).toBe(r.confVer);
  });

  it('validates heartbeats and store requests', async () => {
    const sim = new SimCluster();
    await sim.start([4]);
    const sink = sim.sink(1);
    expect(() =>
      sim.server.handleRegionHeartbeat({ region: region(2, '', '', { confVer: 1, version: 1 }, [[3, 1]]), leader: { id: 99, storeId: 1 } }, sink),
    ).toThrow(InvalidArgumentError);
    expect(() => sim.server.handleRegionHeartbeat({ region: { id: 2 }, leader: { id: 3, storeId: 1 } }, sink)).toThrow(InvalidArgumentError);
    await expect(sim.server.storeHeartbeat({ storeId: 77 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(sim.server.putStore({ id: 0, address: 'x:1' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(sim.server.scanRegions(key(''), key(''), 1e9)).rejects.toBeInstanceOf(InvalidArgumentError);
    // A tombstone store is refused everywhere.
    await sim.member.propose({ putStore: { store: store(4, { state: metapb.StoreState.STORE_TOMBSTONE }) } });
    await expect(sim.server.putStore(store(4))).rejects.toBeInstanceOf(StoreTombstoneError);
    await expect(sim.server.storeHeartbeat({ storeId: 4 })).rejects.toBeInstanceOf(StoreTombstoneError);
  });
});
