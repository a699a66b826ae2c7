import type { ConfState, NodeId } from '../types.js';
import { JointConfig } from '../quorum/joint.js';
import { MajorityConfig } from '../quorum/majority.js';

/**
 * The membership the leader replicates to and counts votes in. Immutable: a membership change
 * produces a new TrackerConfig.
 *
 * Invariants (checked by `validateConfig`):
 * - learners are disjoint from the voters of both halves;
 * - learnersNext ⊆ outgoing voters \ incoming voters (voters being demoted when the joint phase ends);
 * - outside a joint phase, learnersNext is empty and autoLeave is false.
 */
export interface TrackerConfig {
  readonly voters: JointConfig;
  readonly learners: ReadonlySet<NodeId>;
  readonly learnersNext: ReadonlySet<NodeId>;
  readonly autoLeave: boolean;
}

export const EMPTY_TRACKER_CONFIG: TrackerConfig = {
  voters: new JointConfig(),
  learners: new Set(),
  learnersNext: new Set(),
  autoLeave: false,
};

const sorted = (ids: Iterable<NodeId>): NodeId[] => [...ids].sort((a, b) => a - b);

export function configToConfState(config: TrackerConfig): ConfState {
  return {
    voters: [...config.voters.incoming.ids],
    learners: sorted(config.learners),
    votersOutgoing: [...config.voters.outgoing.ids],
    learnersNext: sorted(config.learnersNext),
    autoLeave: config.autoLeave,
  };
}

/** Every node the config mentions: the nodes the leader tracks progress for. */
export function configMembers(config: TrackerConfig): NodeId[] {
  const all = new Set<NodeId>([...config.voters.ids(), ...config.learners, ...config.learnersNext]);
  return sorted(all);
}

/** Returns a description of the first violated invariant, or undefined if the config is valid. */
export function validateConfig(config: TrackerConfig): string | undefined {
  const { voters, learners, learnersNext, autoLeave } = config;
  for (const id of learners) {
    if (voters.has(id)) return `node ${id} is both a voter and a learner`;
  }
  for (const id of learnersNext) {
    if (!voters.outgoing.has(id)) return `node ${id} is in learnersNext but not an outgoing voter`;
    if (voters.incoming.has(id)) return `node ${id} is in learnersNext and an incoming voter`;
    if (learners.has(id)) return `node ${id} is in learnersNext and a learner`;
  }
  if (!voters.isJoint) {
    if (learnersNext.size > 0) return 'learnersNext must be empty outside a joint config';
    if (autoLeave) return 'autoLeave must be false outside a joint config';
  }
  return undefined;
}

export function configFromConfState(cs: ConfState): TrackerConfig {
  const config: TrackerConfig = {
    voters: new JointConfig(new MajorityConfig(cs.voters), new MajorityConfig(cs.votersOutgoing)),
    learners: new Set(cs.learners),
    learnersNext: new Set(cs.learnersNext),
    autoLeave: cs.autoLeave,
  };
  return config;
}
