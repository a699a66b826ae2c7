// The PD leader's live view of the cluster: which stores are alive (from store heartbeats) and,
// for each Region, what its leader last reported (leader, pending and down peers, size). This is
// soft state: it lives only on the leader, is rebuilt from heartbeats after an election, and is
// bounded by what the replicated state knows (stores) or is about to persist (Regions).
//
// Routing answers come from the replicated state (PdStateMachine), which heartbeats keep current:
// a heartbeat carrying a newer epoch than the stored Region is queued for persistence
// (region_sync.ts); one carrying an older epoch is ignored, as is one from a leader of an older
// Raft term, so a delayed report never rolls the view back.

import { metapb, type pdpb } from '../proto/index.js';
import {
  epochIsStale,
  epochsEqual,
  parsePeer,
  parseRegion,
  positiveId,
  uint64,
  type PeerMeta,
  type RegionMeta,
  type StoreMeta,
} from './meta.js';
import type { RegionSync } from './region_sync.js';
import type { PdStateMachine } from './state_machine.js';

export type StoreLiveness = 'up' | 'offline' | 'down' | 'tombstone';

export interface StoreStatsView {
  readonly capacity: number;
  readonly available: number;
  readonly regionCount: number;
  readonly leaderCount: number;
  readonly sendingSnapshots: number;
  readonly receivingSnapshots: number;
  readonly startTimeMs: number;
}

export interface StoreStatus {
  readonly store: StoreMeta;
  readonly liveness: StoreLiveness;
  /** The last heartbeat, or the moment this leadership began when none arrived since. */
  readonly lastHeartbeatMs: number;
  readonly stats: StoreStatsView | undefined;
}

export interface RegionHeartbeatInfo {
  /** The Region as its leader last reported it (at least as new as the stored one). */
  readonly region: RegionMeta;
  readonly leader: PeerMeta;
  /** Peers far behind the leader (catching up, e.g. by snapshot). */
  readonly pendingPeerIds: ReadonlySet<number>;
  /** Peers the leader has not heard from: peer id → seconds. */
  readonly downPeerSeconds: ReadonlyMap<number, number>;
  readonly approximateSize: number;
  readonly approximateKeys: number;
  readonly term: number;
  readonly lastHeartbeatMs: number;
}

export type StoreHeartbeatVerdict =
  | { readonly kind: 'accepted' }
  | { readonly kind: 'unknown-store'; readonly storeId: number }
  | { readonly kind: 'tombstone'; readonly storeId: number }
  | { readonly kind: 'invalid'; readonly detail: string };

export type RegionHeartbeatVerdict =
  | { readonly kind: 'accepted'; readonly info: RegionHeartbeatInfo; readonly persisting: boolean }
  /** Older than what the PD knows; ignored. */
  | { readonly kind: 'stale'; readonly detail: string }
  | { readonly kind: 'invalid'; readonly detail: string }
  /** The leader's store is unknown or a tombstone. */
  | { readonly kind: 'unknown-store'; readonly storeId: number }
  | { readonly kind: 'tombstone'; readonly storeId: number }
  /** A Region the PD does not store yet, and the persistence queue is full; sent again later. */
  | { readonly kind: 'busy' };

export interface RegionWithLeader {
  readonly region: RegionMeta;
  readonly leader: PeerMeta | undefined;
}

export interface ClusterViewDeps {
  readonly stateMachine: PdStateMachine;
  readonly regionSync: RegionSync;
  readonly storeDownTimeoutMs: number;
}

interface StoreRuntime {
  lastHeartbeatMs: number;
  stats: StoreStatsView | undefined;
}

export class ClusterView {
  private readonly storeRuntime = new Map<number, StoreRuntime>();
  private readonly regionInfo = new Map<number, RegionHeartbeatInfo>();
  /** When this leadership began: stores get a full timeout from then before they count as down. */
  private activatedAtMs = 0;

  constructor(private readonly deps: ClusterViewDeps) {}

  /** Starts a fresh view for a new leadership at `now`. */
  reset(now: number): void {
    this.storeRuntime.clear();
    this.regionInfo.clear();
    this.activatedAtMs = now;
  }

  // ---- stores ------------------------------------------------------------------------------

  storeHeartbeat(stats: pdpb.IStoreStats | null | undefined, now: number): StoreHeartbeatVerdict {
    const storeId = positiveId(stats?.storeId);
    if (storeId === undefined) {
      return { kind: 'invalid', detail: 'store heartbeat without a valid store id' };
    }
    const store = this.deps.stateMachine.getStore(storeId);
    if (!store) return { kind: 'unknown-store', storeId };
    if (store.state === metapb.StoreState.STORE_TOMBSTONE) return { kind: 'tombstone', storeId };
    this.storeRuntime.set(storeId, { lastHeartbeatMs: now, stats: statsView(stats!) });
    return { kind: 'accepted' };
  }

  storeStatus(storeId: number, now: number): StoreStatus | undefined {
    const store = this.deps.stateMachine.getStore(storeId);
    if (!store) return undefined;
    const runtime = this.storeRuntime.get(storeId);
    const lastHeartbeatMs = runtime?.lastHeartbeatMs ?? this.activatedAtMs;
    return { store, liveness: this.liveness(store, lastHeartbeatMs, now), lastHeartbeatMs, stats: runtime?.stats };
  }

  storeStatuses(now: number): StoreStatus[] {
    return this.deps.stateMachine.stores().map((s) => this.storeStatus(s.id, now)!);
  }

  storeLiveness(storeId: number, now: number): StoreLiveness | undefined {
    return this.storeStatus(storeId, now)?.liveness;
  }

  private liveness(store: StoreMeta, lastHeartbeatMs: number, now: number): StoreLiveness {
    if (store.state === metapb.StoreState.STORE_TOMBSTONE) return 'tombstone';
    if (now - lastHeartbeatMs > this.deps.storeDownTimeoutMs) return 'down';
    return store.state === metapb.StoreState.STORE_OFFLINE ? 'offline' : 'up';
  }

  // ---- regions -----------------------------------------------------------------------------

  regionHeartbeat(request: pdpb.IRegionHeartbeatRequest, now: number): RegionHeartbeatVerdict {
    const parsed = parseRegion(request.region);
    if (!parsed.ok) return { kind: 'invalid', detail: parsed.problem };
    const region = parsed.value;
    const leaderParsed = parsePeer(request.leader);
    if (!leaderParsed.ok) return { kind: 'invalid', detail: `region ${region.id} leader: ${leaderParsed.problem}` };
    const leader = region.peers.find((p) => p.id === leaderParsed.value.id && p.storeId === leaderParsed.value.storeId);
    if (!leader) return { kind: 'invalid', detail: `region ${region.id}: the leader is not one of its peers` };
    const store = this.deps.stateMachine.getStore(leader.storeId);
    if (!store) return { kind: 'unknown-store', storeId: leader.storeId };
    if (store.state === metapb.StoreState.STORE_TOMBSTONE) return { kind: 'tombstone', storeId: leader.storeId };
    const term = nonNegative(request.term);
    if (term === undefined) return { kind: 'invalid', detail: `region ${region.id}: term is not a non-negative integer` };

    const sm = this.deps.stateMachine;
    const stored = sm.classifyRegion(region);
    if (stored === 'stale') return { kind: 'stale', detail: `region ${region.id} is older than the stored state` };
    const known = this.regionInfo.get(region.id);
    if (known) {
      if (epochIsStale(region.epoch, known.region.epoch)) {
        return { kind: 'stale', detail: `region ${region.id} is older than its last heartbeat` };
      }
      if (epochsEqual(region.epoch, known.region.epoch) && term < known.term) {
        return { kind: 'stale', detail: `region ${region.id} heartbeat from a leader of an older term` };
      }
    }
    const persisting = stored === 'newer' && this.deps.regionSync.enqueue(region);
    if (!sm.getRegion(region.id) && !this.deps.regionSync.has(region.id)) return { kind: 'busy' };

    const peerIds = new Set(region.peers.map((p) => p.id));
    const pendingPeerIds = new Set<number>();
    for (const raw of request.pendingPeers ?? []) {
      const peer = parsePeer(raw);
      if (peer.ok && peerIds.has(peer.value.id)) pendingPeerIds.add(peer.value.id);
    }
    const downPeerSeconds = new Map<number, number>();
    for (const raw of request.downPeers ?? []) {
      const peer = parsePeer(raw?.peer);
      const seconds = nonNegative(raw?.downSeconds);
      if (peer.ok && seconds !== undefined && peerIds.has(peer.value.id)) downPeerSeconds.set(peer.value.id, seconds);
    }
    const info: RegionHeartbeatInfo = {
      region,
      leader,
      pendingPeerIds,
      downPeerSeconds,
      approximateSize: nonNegative(request.approximateSize) ?? 0,
      approximateKeys: nonNegative(request.approximateKeys) ?? 0,
      term,
      lastHeartbeatMs: now,
    };
    this.regionInfo.set(region.id, info);
    return { kind: 'accepted', info, persisting };
  }

  /** What the Region's leader last reported, during this leadership. */
  regionHeartbeatInfo(regionId: number): RegionHeartbeatInfo | undefined {
    return this.regionInfo.get(regionId);
  }

  /** Every Region heard from during this leadership, in id order. */
  regionHeartbeatInfos(): RegionHeartbeatInfo[] {
    return [...this.regionInfo.values()].sort((a, b) => a.region.id - b.region.id);
  }

  /** Forgets Regions that are neither stored nor about to be (merged away, or never persisted). */
  prune(): void {
    for (const id of this.regionInfo.keys()) {
      if (!this.deps.stateMachine.getRegion(id) && !this.deps.regionSync.has(id)) this.regionInfo.delete(id);
    }
  }

  // ---- routing -----------------------------------------------------------------------------

  regionByKey(key: Uint8Array): RegionWithLeader | undefined {
    const region = this.deps.stateMachine.regionByKey(key);
    return region && this.withLeader(region);
  }

  regionById(regionId: number): RegionWithLeader | undefined {
    const region = this.deps.stateMachine.getRegion(regionId);
    return region && this.withLeader(region);
  }

  scanRegions(start: Uint8Array, end: Uint8Array, limit: number): RegionWithLeader[] {
    return this.deps.stateMachine.scanRegions(start, end, limit).map((r) => this.withLeader(r));
  }

  private withLeader(region: RegionMeta): RegionWithLeader {
    const info = this.regionInfo.get(region.id);
    // The leader is reported only while it is still a peer of the stored Region.
    const leader = info && region.peers.some((p) => p.id === info.leader.id) ? info.leader : undefined;
    return { region, leader };
  }
}

const nonNegative = uint64;

function statsView(stats: pdpb.IStoreStats): StoreStatsView {
  return {
    capacity: nonNegative(stats.capacity) ?? 0,
    available: nonNegative(stats.available) ?? 0,
    regionCount: nonNegative(stats.regionCount) ?? 0,
    leaderCount: nonNegative(stats.leaderCount) ?? 0,
    sendingSnapshots: nonNegative(stats.sendingSnapshots) ?? 0,
    receivingSnapshots: nonNegative(stats.receivingSnapshots) ?? 0,
    startTimeMs: nonNegative(stats.startTimeMs) ?? 0,
  };
}
