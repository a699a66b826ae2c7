// A small simulated cluster around one PdServer: stores that heartbeat, Regions whose leaders
// heartbeat and carry out the operator steps the PD hands back — adding a learner (which then
// stays "pending" for a few heartbeats while it catches up), promoting, removing, transferring
// leadership — the way a store's Region leader would through Raft. Time is a ManualClock.

import { metapb, pdpb } from '../../src/proto/index.js';
import type { HeartbeatSink } from '../../src/pd/heartbeat_streams.js';
import type { PdServerOptions } from '../../src/pd/options.js';
import { PdServer } from '../../src/pd/server.js';
import { FakePdGroup, ManualClock, settle, type FakeMember } from './fake_replication.js';
import { key, region as regionSpec, store } from './builders.js';

export class RecordingSink implements HeartbeatSink {
  readonly received: pdpb.IRegionHeartbeatResponse[] = [];
  ended = false;
  writableLength = 0;
  get writable(): boolean {
    return !this.ended;
  }
  write(response: pdpb.IRegionHeartbeatResponse): boolean {
    this.received.push(pdpb.RegionHeartbeatResponse.decode(pdpb.RegionHeartbeatResponse.encode(response).finish()));
    return true;
  }
  end(): void {
    this.ended = true;
  }
  take(): pdpb.IRegionHeartbeatResponse[] {
    return this.received.splice(0);
  }
}

export interface SimPeer {
  id: number;
  storeId: number;
  role: metapb.PeerRole;
}

export interface SimRegion {
  id: number;
  start: string;
  end: string;
  confVer: number;
  version: number;
  peers: SimPeer[];
  leaderPeerId: number;
  term: number;
  /** Peer id → heartbeats it stays pending (catching up) after being added. */
  pending: Map<number, number>;
  /** Responses for this Region are dropped (a leader that never acts). */
  deaf?: boolean;
}

export type StepRecord = { regionId: number; kind: string; peerId: number; storeId: number; pendingAtSend: boolean };

export class SimCluster {
  readonly group: FakePdGroup;
  readonly member: FakeMember;
  readonly clock = new ManualClock(1_000_000);
  readonly server: PdServer;
  readonly regions = new Map<number, SimRegion>();
  readonly sinks = new Map<number, RecordingSink>();
  /** Stores that stopped sending store heartbeats. */
  readonly silentStores = new Set<number>();
  /** Region heartbeats from leaders on silent stores still arrive (a half-failed store). */
  regionHeartbeatsFromSilentStores = false;
  catchUpHeartbeats = 2;
  /** Every step carried out, in order. */
  readonly steps: StepRecord[] = [];

  constructor(options: Partial<PdServerOptions> = {}) {
    const { group, member } = FakePdGroup.single();
    this.group = group;
    this.member = member;
    this.server = new PdServer({
      stateMachine: member.stateMachine,
      replication: member,
      clock: this.clock.now,
      options: { storeDownTimeoutMs: 60_000, operatorTimeoutMs: 120_000, patrolIntervalMs: 1_000, ...options },
      newClusterId: () => 42,
    });
    member.server = this.server;
  }

  /** Leader, bootstrapped with store 1 and Region 2 (peer 3 on store 1), plus `moreStores`. */
  async start(moreStores: readonly number[]): Promise<void> {
    this.group.elect(1);
    await this.server.ensureServing();
    await this.server.bootstrap({ store: store(1), region: regionSpec(2, '', '', { confVer: 1, version: 1 }, [[3, 1]]) });
    for (const id of moreStores) await this.server.putStore(store(id));
    this.regions.set(2, {
      id: 2,
      start: '',
      end: '',
      confVer: 1,
      version: 1,
      peers: [{ id: 3, storeId: 1, role: metapb.PeerRole.VOTER }],
      leaderPeerId: 3,
      term: 1,
      pending: new Map(),
    });
  }

  sink(storeId: number): RecordingSink {
    let sink = this.sinks.get(storeId);
    if (!sink || sink.ended) {
      sink = new RecordingSink();
      this.sinks.set(storeId, sink);
    }
    return sink;
  }

  leaderOf(region: SimRegion): SimPeer {
    const leader = region.peers.find((p) => p.id === region.leaderPeerId);
    if (!leader) throw new Error(`region ${region.id} has no leader peer`);
    return leader;
  }

  toProto(region: SimRegion): metapb.IRegion {
    return regionSpec(region.id, region.start, region.end, { confVer: region.confVer, version: region.version }, region.peers.map((p) => [p.id, p.storeId, p.role] as const));
  }

  heartbeatRequest(region: SimRegion): pdpb.IRegionHeartbeatRequest {
    const leader = this.leaderOf(region);
    return {
      header: { clusterId: 42 },
      region: this.toProto(region),
      leader: { ...leader },
      pendingPeers: region.peers.filter((p) => (region.pending.get(p.id) ?? 0) > 0).map((p) => ({ ...p })),
      approximateSize: 1_024,
      approximateKeys: 10,
      term: region.term,
    };
  }

  async storeHeartbeats(): Promise<void> {
    for (const s of this.member.stateMachine.stores()) {
      if (this.silentStores.has(s.id) || s.state === metapb.StoreState.STORE_TOMBSTONE) continue;
      await this.server.storeHeartbeat({ storeId: s.id });
    }
  }

  /** Every Region's leader heartbeats once; then pending learners move closer to caught up. */
  regionHeartbeats(): void {
    for (const region of [...this.regions.values()].sort((a, b) => a.id - b.id)) {
      const leader = this.leaderOf(region);
      if (this.silentStores.has(leader.storeId) && !this.regionHeartbeatsFromSilentStores) continue;
      this.server.handleRegionHeartbeat(this.heartbeatRequest(region), this.sink(leader.storeId));
      for (const [peerId, left] of region.pending) {
        if (left <= 1) region.pending.delete(peerId);
        else region.pending.set(peerId, left - 1);
      }
    }
  }

  /** Region leaders carry out the steps they received. */
  deliver(): void {
    for (const [storeId, sink] of this.sinks) {
      for (const response of sink.take()) this.execute(storeId, response);
    }
  }

  private execute(storeId: number, response: pdpb.IRegionHeartbeatResponse): void {
    const region = this.regions.get(Number(response.regionId));
    if (!region || region.deaf || response.header?.error) return;
    const leader = this.leaderOf(region);
    // What a real leader checks: addressed to it, and computed against its current epoch.
    if (leader.storeId !== storeId || Number(response.targetPeer?.id) !== leader.id) return;
    if (Number(response.regionEpoch?.confVer) !== region.confVer || Number(response.regionEpoch?.version) !== region.version) return;
    const change = response.changePeer;
    if (change?.peer) {
      const peerId = Number(change.peer.id);
      const peerStore = Number(change.peer.storeId);
      const existing = region.peers.find((p) => p.id === peerId);
      const type = change.changeType ?? pdpb.ChangeType.ADD_NODE;
      const record = (kind: string): void => {
        this.steps.push({ regionId: region.id, kind, peerId, storeId: peerStore, pendingAtSend: region.pending.has(peerId) });
      };
      if (type === pdpb.ChangeType.ADD_LEARNER && !existing) {
        region.peers.push({ id: peerId, storeId: peerStore, role: metapb.PeerRole.LEARNER });
        region.pending.set(peerId, this.catchUpHeartbeats);
        region.confVer++;
        record('add-learner');
      } else if (type === pdpb.ChangeType.ADD_NODE && existing?.role === metapb.PeerRole.LEARNER) {
        existing.role = metapb.PeerRole.VOTER;
        region.confVer++;
        record('promote');
      } else if (type === pdpb.ChangeType.REMOVE_NODE && existing && existing.id !== leader.id) {
        region.peers = region.peers.filter((p) => p.id !== peerId);
        region.pending.delete(peerId);
        region.confVer++;
        record('remove');
      }
      return;
    }
    const target = response.transferLeader?.peer;
    if (target && region.peers.some((p) => p.id === Number(target.id))) {
      region.leaderPeerId = Number(target.id);
      region.term++;
      this.steps.push({ regionId: region.id, kind: 'transfer-leader', peerId: Number(target.id), storeId: Number(target.storeId), pendingAtSend: false });
    }
  }

  /** One round: heartbeats in, a patrol, steps carried out. */
  async round(advanceMs = 1_000): Promise<void> {
    this.clock.advance(advanceMs);
    await this.storeHeartbeats();
    this.regionHeartbeats();
    await this.server.patrol();
    this.deliver();
    this.regionHeartbeats(); // report the effect right away, as a leader does after a change
    this.deliver();
    await settle();
  }

  async rounds(n: number, advanceMs = 1_000): Promise<void> {
    for (let i = 0; i < n; i++) await this.round(advanceMs);
  }

  /** Splits Region `regionId` at `splitKey` through AskSplit and ReportSplit; returns the new (left) Region id. */
  async split(regionId: number, splitKey: string): Promise<number> {
    const parent = this.regions.get(regionId)!;
    const { newRegionId, newPeerIds } = await this.server.askSplit(this.toProto(parent));
    const left: SimRegion = {
      id: newRegionId,
      start: parent.start,
      end: splitKey,
      confVer: parent.confVer,
      version: parent.version + 1,
      peers: parent.peers.map((p, i) => ({ ...p, id: newPeerIds[i]! })),
      leaderPeerId: newPeerIds[parent.peers.findIndex((p) => p.id === parent.leaderPeerId)]!,
      term: 1,
      pending: new Map(),
    };
    parent.start = splitKey;
    parent.version++;
    this.regions.set(left.id, left);
    await this.server.reportSplit(this.toProto(left), this.toProto(parent));
    return left.id;
  }

  voterStores(regionId: number): number[] {
    return this.regions
      .get(regionId)!
      .peers.filter((p) => p.role === metapb.PeerRole.VOTER)
      .map((p) => p.storeId)
      .sort((a, b) => a - b);
  }

  /** The stored (persisted) Region as the PD routes it. */
  storedRegion(regionId: number): ReturnType<FakeMember['stateMachine']['getRegion']> {
    return this.member.stateMachine.getRegion(regionId);
  }

  routed(k: string): number | undefined {
    return this.member.stateMachine.regionByKey(key(k))?.id;
  }
}
