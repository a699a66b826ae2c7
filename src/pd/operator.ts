// Operators: the PD's unit of work on one Region — a short list of steps (add a learner, promote
// it, remove a peer, transfer leadership) carried out one at a time by the Region's leader.
//
// The PD never executes a step itself. It hands the current step to the Region's leader in a
// RegionHeartbeat response, and decides the step is done only when a later heartbeat shows its
// effect (the learner is present, the peer is gone, the leader moved). Sending the same step again
// on every heartbeat until then is harmless: the store ignores a change whose epoch is stale or
// that is already in effect. At most one operator runs per Region, and every operator has a
// deadline, so a step that can never complete (a store that vanished) does not block its Region.

import { metapb, pdpb } from '../proto/index.js';
import type { RegionHeartbeatInfo } from './cluster.js';
import type { PeerMeta, RegionEpochMeta } from './meta.js';

export interface PeerRef {
  readonly id: number;
  readonly storeId: number;
}

export type OperatorStep =
  | { readonly kind: 'add-learner'; readonly peer: PeerRef }
  /** Issued only once the learner has caught up (is not pending). */
  | { readonly kind: 'promote-learner'; readonly peer: PeerRef }
  /** Not issued while the peer leads the Region (a leader cannot remove itself safely). */
  | { readonly kind: 'remove-peer'; readonly peer: PeerRef }
  /** Done when leadership is anywhere but `from` (the point is to move it away). */
  | { readonly kind: 'transfer-leader'; readonly from: PeerRef; readonly to: PeerRef };

export type OperatorKind =
  | 'add-replica'
  | 'promote-learner'
  | 'remove-down-replica'
  | 'remove-extra-replica'
  | 'remove-learner'
  | 'replace-offline-replica';

/** What an operator sees of its Region: the last heartbeat of its leader. */
export type RegionObservation = Pick<RegionHeartbeatInfo, 'region' | 'leader' | 'pendingPeerIds'>;

export type OperatorStatus = 'running' | 'finished';

export type OperatorEnd = 'finished' | 'timed-out' | 'canceled';

export class Operator {
  private stepIndex = 0;

  constructor(
    readonly regionId: number,
    readonly kind: OperatorKind,
    readonly steps: readonly OperatorStep[],
    /** The Region's epoch when the operator was planned; a split or merge invalidates the plan. */
    readonly epoch: RegionEpochMeta,
    readonly createdAtMs: number,
    readonly deadlineMs: number,
  ) {
    if (steps.length === 0) throw new Error('invariant: an operator has at least one step');
  }

  get currentStep(): OperatorStep | undefined {
    return this.steps[this.stepIndex];
  }

  get currentStepIndex(): number {
    return this.stepIndex;
  }

  /** Moves past every step whose effect `observed` shows. */
  progress(observed: RegionObservation): OperatorStatus {
    while (this.stepIndex < this.steps.length && stepIsDone(this.steps[this.stepIndex]!, observed)) this.stepIndex++;
    return this.stepIndex >= this.steps.length ? 'finished' : 'running';
  }

  isExpired(now: number): boolean {
    return now >= this.deadlineMs;
  }

  /** Whether the Region changed shape (split or merge) since the operator was planned. */
  isObsoleteFor(observed: RegionObservation): boolean {
    return observed.region.epoch.version !== this.epoch.version;
  }

  /** The heartbeat response carrying the current step to the Region's leader, if it may be issued now. */
  nextResponse(observed: RegionObservation): pdpb.IRegionHeartbeatResponse | undefined {
    const step = this.currentStep;
    if (!step || !stepCanIssue(step, observed)) return undefined;
    return stepResponse(step, observed);
  }

  describe(): string {
    return `${this.kind} on region ${this.regionId}: ${this.steps.map(describeStep).join(' → ')} (at step ${this.stepIndex + 1})`;
  }
}

export function stepIsDone(step: OperatorStep, observed: RegionObservation): boolean {
  const peer = (ref: PeerRef): PeerMeta | undefined => observed.region.peers.find((p) => p.id === ref.id);
  switch (step.kind) {
    case 'add-learner':
      // Present in any role: someone may have promoted it already.
      return peer(step.peer) !== undefined;
    case 'promote-learner':
      return peer(step.peer)?.role === metapb.PeerRole.VOTER;
    case 'remove-peer':
      return peer(step.peer) === undefined;
    case 'transfer-leader':
      return observed.leader.id !== step.from.id;
  }
}

export function stepCanIssue(step: OperatorStep, observed: RegionObservation): boolean {
  switch (step.kind) {
    case 'add-learner':
      return true;
    case 'promote-learner': {
      const learner = observed.region.peers.find((p) => p.id === step.peer.id);
      return learner?.role === metapb.PeerRole.LEARNER && !observed.pendingPeerIds.has(step.peer.id);
    }
    case 'remove-peer':
      return observed.leader.id !== step.peer.id;
    case 'transfer-leader':
      return observed.leader.id === step.from.id && observed.region.peers.some((p) => p.id === step.to.id);
  }
}

function stepResponse(step: OperatorStep, observed: RegionObservation): pdpb.IRegionHeartbeatResponse {
  const base: pdpb.IRegionHeartbeatResponse = {
    regionId: observed.region.id,
    regionEpoch: { confVer: observed.region.epoch.confVer, version: observed.region.epoch.version },
    // The leader this step is addressed to; another peer that became leader ignores it.
    targetPeer: { id: observed.leader.id, storeId: observed.leader.storeId, role: observed.leader.role },
  };
  const peer = (ref: PeerRef, role: metapb.PeerRole): metapb.IPeer => ({ id: ref.id, storeId: ref.storeId, role });
  switch (step.kind) {
    case 'add-learner':
      return { ...base, changePeer: { changeType: pdpb.ChangeType.ADD_LEARNER, peer: peer(step.peer, metapb.PeerRole.LEARNER) } };
    case 'promote-learner':
      return { ...base, changePeer: { changeType: pdpb.ChangeType.ADD_NODE, peer: peer(step.peer, metapb.PeerRole.VOTER) } };
    case 'remove-peer': {
      const role = observed.region.peers.find((p) => p.id === step.peer.id)?.role ?? metapb.PeerRole.VOTER;
      return { ...base, changePeer: { changeType: pdpb.ChangeType.REMOVE_NODE, peer: peer(step.peer, role) } };
    }
    case 'transfer-leader':
      return { ...base, transferLeader: { peer: peer(step.to, metapb.PeerRole.VOTER) } };
  }
}

function describeStep(step: OperatorStep): string {
  switch (step.kind) {
    case 'add-learner':
      return `add learner ${step.peer.id} on store ${step.peer.storeId}`;
    case 'promote-learner':
      return `promote learner ${step.peer.id}`;
    case 'remove-peer':
      return `remove peer ${step.peer.id} on store ${step.peer.storeId}`;
    case 'transfer-leader':
      return `transfer leader from store ${step.from.storeId} to store ${step.to.storeId}`;
  }
}

export type AddOperatorResult = 'added' | 'region-busy' | 'full';

export interface OperatorControllerDeps {
  /** Operators running at once over all Regions. */
  readonly maxOperators: number;
  /** Told when an operator ends, for logs and counters. */
  readonly onEnd?: (operator: Operator, end: OperatorEnd, why: string) => void;
}

/** The running operators, at most one per Region and at most `maxOperators` in all. */
export class OperatorController {
  private readonly byRegion = new Map<number, Operator>();
  readonly stats = { added: 0, finished: 0, timedOut: 0, canceled: 0 };

  constructor(private readonly deps: OperatorControllerDeps) {}

  add(operator: Operator): AddOperatorResult {
    if (this.byRegion.has(operator.regionId)) return 'region-busy';
    if (this.byRegion.size >= this.deps.maxOperators) return 'full';
    this.byRegion.set(operator.regionId, operator);
    this.stats.added++;
    return 'added';
  }

  get(regionId: number): Operator | undefined {
    return this.byRegion.get(regionId);
  }

  get size(): number {
    return this.byRegion.size;
  }

  all(): Operator[] {
    return [...this.byRegion.values()];
  }

  /**
   * Advances the Region's operator with what its leader just reported and returns the step to
   * hand back, if one is due now.
   */
  onRegionHeartbeat(observed: RegionObservation, now: number): pdpb.IRegionHeartbeatResponse | undefined {
    const operator = this.byRegion.get(observed.region.id);
    if (!operator) return undefined;
    if (operator.isObsoleteFor(observed)) {
      this.end(operator, 'canceled', `region version moved from ${operator.epoch.version} to ${observed.region.epoch.version}`);
      return undefined;
    }
    if (operator.progress(observed) === 'finished') {
      this.end(operator, 'finished', 'every step took effect');
      return undefined;
    }
    if (operator.isExpired(now)) {
      this.end(operator, 'timed-out', `not finished by ${operator.deadlineMs}`);
      return undefined;
    }
    return operator.nextResponse(observed);
  }

  /** Ends operators past their deadline; returns them. */
  expire(now: number): Operator[] {
    const expired = [...this.byRegion.values()].filter((op) => op.isExpired(now));
    for (const op of expired) this.end(op, 'timed-out', `not finished by ${op.deadlineMs}`);
    return expired;
  }

  cancel(regionId: number, why: string): void {
    const operator = this.byRegion.get(regionId);
    if (operator) this.end(operator, 'canceled', why);
  }

  /** Drops every operator (leadership lost); they are not counted as canceled. */
  clear(): void {
    this.byRegion.clear();
  }

  private end(operator: Operator, end: OperatorEnd, why: string): void {
    this.byRegion.delete(operator.regionId);
    if (end === 'finished') this.stats.finished++;
    else if (end === 'timed-out') this.stats.timedOut++;
    else this.stats.canceled++;
    this.deps.onEnd?.(operator, end, why);
  }
}
