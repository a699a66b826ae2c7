// The truth of the fake cluster: its Regions as the stores hold them, the placement driver's view
// of them (which can be made to lag), and the data. The fake stores and fake PD both read it, and
// tests change it (split, move leaders) to stage the situations the client must handle.

import { metapb } from '../../src/proto/index.js';

export interface FakeRegion {
  id: number;
  startKey: Buffer;
  endKey: Buffer;
  epoch: { confVer: number; version: number };
  peers: { id: number; storeId: number; role: metapb.PeerRole }[];
  leaderStoreId: number | undefined;
  /** Regions split off this one, for EpochNotMatch answers (TiKV answers with the whole family). */
  splitInto: number[];
}

export function toWireRegion(region: FakeRegion): metapb.IRegion {
  return {
    id: region.id,
    startKey: region.startKey,
    endKey: region.endKey,
    epoch: { ...region.epoch },
    peers: region.peers.map((p) => ({ ...p })),
  };
}

export function leaderPeer(region: FakeRegion): metapb.IPeer | undefined {
  const peer = region.peers.find((p) => p.storeId === region.leaderStoreId);
  return peer ? { ...peer } : undefined;
}

export function regionHasKey(region: { startKey: Uint8Array; endKey: Uint8Array }, key: Uint8Array): boolean {
  return Buffer.compare(region.startKey, key) <= 0 && (region.endKey.length === 0 || Buffer.compare(key, region.endKey) < 0);
}

function clone(region: FakeRegion): FakeRegion {
  return { ...region, epoch: { ...region.epoch }, peers: region.peers.map((p) => ({ ...p })), splitInto: [...region.splitInto] };
}

export class FakeClusterState {
  readonly clusterId: number;
  /** What the stores hold. */
  readonly regions = new Map<number, FakeRegion>();
  /** What PD answers with; a copy of `regions` unless a test freezes it. */
  readonly pdRegions = new Map<number, FakeRegion>();
  /** When true, changes to the truth do not reach PD until syncPd(). */
  pdLags = false;
  readonly data = new Map<string, { key: Buffer; value: Buffer }>();
  private nextId = 1_000;

  constructor(clusterId = 42) {
    this.clusterId = clusterId;
  }

  allocId(): number {
    return this.nextId++;
  }

  /** Regions cut at `splitKeys`, each with a peer on every store, leaders spread round-robin. */
  createRegions(splitKeys: readonly string[], storeIds: readonly number[]): void {
    const bounds = ['', ...splitKeys, ''];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const id = this.allocId();
      this.regions.set(id, {
        id,
        startKey: Buffer.from(bounds[i]!),
        endKey: Buffer.from(bounds[i + 1]!),
        epoch: { confVer: 1, version: 1 },
        peers: storeIds.map((storeId) => ({ id: this.allocId(), storeId, role: metapb.PeerRole.VOTER })),
        leaderStoreId: storeIds[i % storeIds.length],
        splitInto: [],
      });
    }
    this.syncPd();
  }

  syncPd(): void {
    this.pdRegions.clear();
    for (const [id, region] of this.regions) this.pdRegions.set(id, clone(region));
  }

  private changed(): void {
    if (!this.pdLags) this.syncPd();
  }

  regionOfKey(key: Uint8Array, view: Map<number, FakeRegion> = this.regions): FakeRegion | undefined {
    for (const region of view.values()) if (regionHasKey(region, key)) return region;
    return undefined;
  }

  regionsInOrder(view: Map<number, FakeRegion> = this.regions): FakeRegion[] {
    return [...view.values()].sort((a, b) => Buffer.compare(a.startKey, b.startKey));
  }

  /** Splits the Region holding `key` at `key`: the left half keeps the id, both get version + 1. */
  split(key: string): { left: FakeRegion; right: FakeRegion } {
    const at = Buffer.from(key);
    const left = this.regionOfKey(at);
    if (!left || left.startKey.equals(at)) throw new Error(`cannot split at ${key}`);
    const right: FakeRegion = {
      id: this.allocId(),
      startKey: at,
      endKey: left.endKey,
      epoch: { confVer: left.epoch.confVer, version: left.epoch.version + 1 },
      peers: left.peers.map((p) => ({ id: this.allocId(), storeId: p.storeId, role: p.role })),
      leaderStoreId: left.leaderStoreId,
      splitInto: [],
    };
    left.endKey = at;
    left.epoch.version += 1;
    left.splitInto.push(right.id);
    this.regions.set(right.id, right);
    this.changed();
    return { left, right };
  }

  moveLeader(regionId: number, storeId: number | undefined): void {
    const region = this.regions.get(regionId);
    if (!region) throw new Error(`no Region ${regionId}`);
    region.leaderStoreId = storeId;
    this.changed();
  }

  /** Every Region led by `from` gets its leader on `to` (a store going away, leaders moving off). */
  moveAllLeaders(from: number, to: number): void {
    for (const region of this.regions.values()) if (region.leaderStoreId === from) region.leaderStoreId = to;
    this.changed();
  }

  put(key: string | Uint8Array, value: string | Uint8Array): void {
    const k = Buffer.from(key);
    this.data.set(k.toString('latin1'), { key: k, value: Buffer.from(value) });
  }

  getValue(key: string): string | undefined {
    return this.data.get(Buffer.from(key).toString('latin1'))?.value.toString();
  }
}
