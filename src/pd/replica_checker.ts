// The replica checker: keeps every Region at `maxReplicas` healthy voters. Run periodically on the
// PD leader; each patrol examines a bounded slice of Regions (resuming where the last one stopped)
// and starts a bounded number of operators.
//
// For one Region, in order (the first rule that applies wins; Regions with a running operator or
// in a joint configuration are skipped):
// 1. A peer on a store that is down past the timeout (or a tombstone, or reported down by the
//    leader for that long) is removed — after moving leadership away if it leads — provided an up
//    store without a peer of this Region can take its place (or the Region has voters to spare).
//    Removing first is as safe as adding first (a dead voter already counts against the quorum)
//    and simpler; the next rules then add the replacement. With nowhere to put one, the dead peer
//    stays: the Region is no worse off with it, and keeps its data should the store come back.
// 2. A learner with no operator is promoted if voters are missing, otherwise removed.
// 3. Fewer voters than maxReplicas: add a learner on an up store without a peer of this Region
//    (fewest Regions first), then promote it once it has caught up.
// 4. A peer on an offline (decommissioning) store is replaced: add elsewhere, promote, then remove.
// 5. More voters than maxReplicas: remove one that is not the leader.

import type { ClusterView, RegionHeartbeatInfo, StoreLiveness } from './cluster.js';
import { epochsEqual, inJointState, isLearner, isVoter, type PeerMeta } from './meta.js';
import { Operator, type OperatorController, type OperatorKind, type OperatorStep, type PeerRef } from './operator.js';

export type ReplicaPlan =
  | { readonly kind: 'remove-down-replica'; readonly peer: PeerMeta; readonly transferTo: PeerMeta | undefined }
  | { readonly kind: 'promote-learner'; readonly peer: PeerMeta }
  | { readonly kind: 'remove-learner'; readonly peer: PeerMeta }
  | { readonly kind: 'add-replica'; readonly storeId: number }
  | {
      readonly kind: 'replace-offline-replica';
      readonly peer: PeerMeta;
      readonly storeId: number;
      /** When the replaced peer leads: an existing healthy voter, or undefined to use the new one. */
      readonly transferTo: PeerMeta | undefined;
    }
  | { readonly kind: 'remove-extra-replica'; readonly peer: PeerMeta };

export interface ReplicaPlanInput {
  readonly observed: Pick<RegionHeartbeatInfo, 'region' | 'leader' | 'pendingPeerIds' | 'downPeerSeconds'>;
  readonly liveness: (storeId: number) => StoreLiveness | undefined;
  /** Peers per store over all Regions, to spread new replicas. */
  readonly regionCountByStore: ReadonlyMap<number, number>;
  readonly maxReplicas: number;
  readonly storeDownTimeoutMs: number;
}

/** Decides what, if anything, one Region needs. Pure: the same input gives the same plan. */
export function planReplicas(input: ReplicaPlanInput): ReplicaPlan | undefined {
  const { region, leader, pendingPeerIds, downPeerSeconds } = input.observed;
  if (inJointState(region)) return undefined;
  const isBad = (peer: PeerMeta): boolean => {
    const liveness = input.liveness(peer.storeId);
    if (liveness === 'down' || liveness === 'tombstone') return true;
    const downSeconds = downPeerSeconds.get(peer.id);
    return downSeconds !== undefined && downSeconds * 1000 > input.storeDownTimeoutMs;
  };
  const voters = region.peers.filter(isVoter);
  const healthyTransferTarget = (): PeerMeta | undefined =>
    voters
      .filter((p) => p.id !== leader.id && !isBad(p) && input.liveness(p.storeId) === 'up' && !pendingPeerIds.has(p.id))
      .sort((a, b) => a.storeId - b.storeId)[0];

  const usedStores = new Set(region.peers.map((p) => p.storeId));
  const bestStore = (): number | undefined => {
    let best: { id: number; count: number } | undefined;
    for (const [storeId, count] of input.regionCountByStore) {
      if (usedStores.has(storeId) || input.liveness(storeId) !== 'up') continue;
      if (!best || count < best.count || (count === best.count && storeId < best.id)) best = { id: storeId, count };
    }
    return best?.id;
  };

  const bad = region.peers.filter(isBad).sort((a, b) => Number(a.id === leader.id) - Number(b.id === leader.id));
  for (const peer of bad) {
    if (isVoter(peer) && voters.length === 1) continue; // the last voter cannot go
    if (isVoter(peer) && voters.length <= input.maxReplicas && bestStore() === undefined) continue; // no replacement
    if (peer.id !== leader.id) return { kind: 'remove-down-replica', peer, transferTo: undefined };
    const transferTo = healthyTransferTarget();
    if (transferTo) return { kind: 'remove-down-replica', peer, transferTo };
  }
  if (bad.length > 0) return undefined; // nothing safe to do until another peer can lead

  const learner = region.peers.find(isLearner);
  if (learner) {
    return voters.length < input.maxReplicas
      ? { kind: 'promote-learner', peer: learner }
      : { kind: 'remove-learner', peer: learner };
  }

  if (voters.length < input.maxReplicas) {
    const storeId = bestStore();
    return storeId === undefined ? undefined : { kind: 'add-replica', storeId };
  }

  const offline = voters.find((p) => input.liveness(p.storeId) === 'offline');
  if (offline && voters.length <= input.maxReplicas) {
    const storeId = bestStore();
    if (storeId !== undefined) {
      const transferTo = offline.id === leader.id ? healthyTransferTarget() : undefined;
      return { kind: 'replace-offline-replica', peer: offline, storeId, transferTo };
    }
  }

  if (voters.length > input.maxReplicas) {
    const count = (p: PeerMeta): number => input.regionCountByStore.get(p.storeId) ?? 0;
    const rank = (p: PeerMeta): number => (input.liveness(p.storeId) === 'offline' ? 1 : 0);
    const victim = voters
      .filter((p) => p.id !== leader.id)
      .sort((a, b) => rank(b) - rank(a) || count(b) - count(a) || b.storeId - a.storeId)[0];
    if (victim) return { kind: 'remove-extra-replica', peer: victim };
  }
  return undefined;
}

/** The steps of a plan; `newPeerId` is required for plans that add a peer. */
export function planSteps(plan: ReplicaPlan, leader: PeerMeta, newPeerId?: number): { kind: OperatorKind; steps: OperatorStep[] } {
  const ref = (p: PeerMeta): PeerRef => ({ id: p.id, storeId: p.storeId });
  switch (plan.kind) {
    case 'remove-down-replica':
      return {
        kind: plan.kind,
        steps: plan.transferTo
          ? [
              { kind: 'transfer-leader', from: ref(plan.peer), to: ref(plan.transferTo) },
              { kind: 'remove-peer', peer: ref(plan.peer) },
            ]
          : [{ kind: 'remove-peer', peer: ref(plan.peer) }],
      };
    case 'promote-learner':
      return { kind: plan.kind, steps: [{ kind: 'promote-learner', peer: ref(plan.peer) }] };
    case 'remove-learner':
    case 'remove-extra-replica':
      return { kind: plan.kind, steps: [{ kind: 'remove-peer', peer: ref(plan.peer) }] };
    case 'add-replica': {
      const peer = { id: requirePeerId(newPeerId), storeId: plan.storeId };
      return {
        kind: plan.kind,
        steps: [
          { kind: 'add-learner', peer },
          { kind: 'promote-learner', peer },
        ],
      };
    }
    case 'replace-offline-replica': {
      const peer = { id: requirePeerId(newPeerId), storeId: plan.storeId };
      const steps: OperatorStep[] = [
        { kind: 'add-learner', peer },
        { kind: 'promote-learner', peer },
      ];
      if (plan.peer.id === leader.id) {
        steps.push({ kind: 'transfer-leader', from: ref(plan.peer), to: plan.transferTo ? ref(plan.transferTo) : peer });
      }
      steps.push({ kind: 'remove-peer', peer: ref(plan.peer) });
      return { kind: plan.kind, steps };
    }
  }
}

function requirePeerId(id: number | undefined): number {
  if (id === undefined || !Number.isSafeInteger(id) || id <= 0) throw new Error('invariant: a plan that adds a peer needs a new peer id');
  return id;
}

export function planNeedsPeerId(plan: ReplicaPlan): boolean {
  return plan.kind === 'add-replica' || plan.kind === 'replace-offline-replica';
}

export interface ReplicaCheckerDeps {
  readonly cluster: ClusterView;
  readonly operators: OperatorController;
  readonly allocIds: (count: number) => Promise<number>;
  readonly clock: () => number;
  readonly maxReplicas: number;
  readonly storeDownTimeoutMs: number;
  readonly operatorTimeoutMs: number;
  readonly maxOperatorsPerPatrol: number;
  readonly regionsPerPatrol: number;
  /**
   * Names the current leadership (undefined when not serving). A patrol that sees it change
   * while waiting for an id stops and starts nothing.
   */
  readonly leadershipToken: () => number | undefined;
  /** Told about each started operator, to push its first step to the Region's leader at once. */
  readonly onOperatorAdded?: (operator: Operator, observed: RegionHeartbeatInfo) => void;
}

export interface PatrolReport {
  readonly examined: number;
  readonly started: readonly Operator[];
}

export class ReplicaChecker {
  /** The last Region id examined; the next patrol continues after it. */
  private cursor = 0;
  private running = false;

  constructor(private readonly deps: ReplicaCheckerDeps) {}

  /** One patrol. Concurrent calls do not overlap: a call made while one runs returns at once. */
  async patrol(): Promise<PatrolReport> {
    if (this.running) return { examined: 0, started: [] };
    this.running = true;
    try {
      return await this.patrolOnce();
    } finally {
      this.running = false;
    }
  }

  private async patrolOnce(): Promise<PatrolReport> {
    const d = this.deps;
    const token = d.leadershipToken();
    if (token === undefined) return { examined: 0, started: [] };
    const now = d.clock();
    const infos = d.cluster.regionHeartbeatInfos();
    const livenessByStore = new Map<number, StoreLiveness>();
    const regionCountByStore = new Map<number, number>();
    for (const status of d.cluster.storeStatuses(now)) {
      livenessByStore.set(status.store.id, status.liveness);
      regionCountByStore.set(status.store.id, 0);
    }
    for (const info of infos) {
      for (const peer of info.region.peers) {
        if (regionCountByStore.has(peer.storeId)) regionCountByStore.set(peer.storeId, regionCountByStore.get(peer.storeId)! + 1);
      }
    }
    const startAt = Math.max(0, infos.findIndex((i) => i.region.id > this.cursor));
    const budget = Math.min(infos.length, d.regionsPerPatrol);
    const started: Operator[] = [];
    let examined = 0;
    for (; examined < budget && started.length < d.maxOperatorsPerPatrol; examined++) {
      const info = infos[(startAt + examined) % infos.length]!;
      this.cursor = info.region.id;
      if (d.operators.get(info.region.id)) continue;
      const plan = planReplicas({
        observed: info,
        liveness: (id) => livenessByStore.get(id),
        regionCountByStore,
        maxReplicas: d.maxReplicas,
        storeDownTimeoutMs: d.storeDownTimeoutMs,
      });
      if (!plan) continue;
      const newPeerId = planNeedsPeerId(plan) ? await d.allocIds(1) : undefined;
      if (d.leadershipToken() !== token) break;
      // The Region may have moved on while we waited for the id.
      const latest = d.cluster.regionHeartbeatInfo(info.region.id);
      if (!latest || !epochsEqual(latest.region.epoch, info.region.epoch) || d.operators.get(info.region.id)) continue;
      const { kind, steps } = planSteps(plan, info.leader, newPeerId);
      const createdAt = d.clock();
      const operator = new Operator(info.region.id, kind, steps, info.region.epoch, createdAt, createdAt + d.operatorTimeoutMs);
      if (d.operators.add(operator) !== 'added') break; // full: wait for running operators to end
      started.push(operator);
      if (plan.kind === 'add-replica' || plan.kind === 'replace-offline-replica') {
        regionCountByStore.set(plan.storeId, (regionCountByStore.get(plan.storeId) ?? 0) + 1);
      }
      d.onOperatorAdded?.(operator, latest);
    }
    if (examined >= infos.length) this.cursor = 0;
    return { examined, started };
  }
}
