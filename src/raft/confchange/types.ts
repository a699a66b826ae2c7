import type { NodeId } from '../types.js';

export type ConfChangeType = 'addNode' | 'addLearner' | 'removeNode';

export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

/**
 * How a change moves between configurations:
 * - 'auto': a single voter change is applied directly; anything larger goes through a joint
 *   configuration that the leader leaves automatically once the change is applied;
 * - 'jointImplicit': always joint, left automatically;
 * - 'jointExplicit': always joint, left only when the caller proposes an empty change.
 */
export type ConfChangeTransition = 'auto' | 'jointImplicit' | 'jointExplicit';

/**
 * A membership change. An empty change (no `changes`) means "leave the current joint
 * configuration". `context` is opaque to Raft (callers carry addresses or request ids in it).
 */
export interface ConfChange {
  readonly transition: ConfChangeTransition;
  readonly changes: readonly ConfChangeSingle[];
  readonly context: Uint8Array;
}

export function leaveJointChange(): ConfChange {
  return { transition: 'auto', changes: [], context: new Uint8Array(0) };
}

export function isLeaveJoint(cc: ConfChange): boolean {
  return cc.changes.length === 0;
}

/** Whether `cc` enters a joint configuration, and if so whether it is left automatically. */
export function entersJoint(cc: ConfChange): { joint: boolean; autoLeave: boolean } {
  if (cc.transition !== 'auto' || cc.changes.length > 1) {
    return { joint: true, autoLeave: cc.transition !== 'jointExplicit' };
  }
  return { joint: false, autoLeave: false };
}

export function describeConfChange(cc: ConfChange): string {
  if (isLeaveJoint(cc)) return 'leave-joint';
  const parts = cc.changes.map((c) => {
    switch (c.type) {
      case 'addNode':
        return `v${c.nodeId}`;
      case 'addLearner':
        return `l${c.nodeId}`;
      case 'removeNode':
        return `r${c.nodeId}`;
    }
  });
  return `${parts.join(' ')}${cc.transition === 'auto' ? '' : ` (${cc.transition})`}`;
}
