import { JointConfig } from '../quorum/joint.js';
import { MajorityConfig } from '../quorum/majority.js';
import { validateConfig, type TrackerConfig } from '../tracker/config.js';
import type { NodeId } from '../types.js';
import { entersJoint, isLeaveJoint, type ConfChange, type ConfChangeSingle } from './types.js';

export type ChangeResult = { ok: true; config: TrackerConfig } | { ok: false; error: string };

interface MutableConfig {
  incoming: Set<NodeId>;
  outgoing: Set<NodeId>;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
}

function thaw(c: TrackerConfig): MutableConfig {
  return {
    incoming: new Set(c.voters.incoming.ids),
    outgoing: new Set(c.voters.outgoing.ids),
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

function freeze(m: MutableConfig): TrackerConfig {
  return {
    voters: new JointConfig(new MajorityConfig(m.incoming), new MajorityConfig(m.outgoing)),
    learners: m.learners,
    learnersNext: m.learnersNext,
    autoLeave: m.autoLeave,
  };
}

function applyChanges(m: MutableConfig, changes: readonly ConfChangeSingle[]): string | undefined {
  for (const change of changes) {
    const id = change.nodeId;
    if (!Number.isSafeInteger(id) || id <= 0) return `invalid node id ${id}`;
    switch (change.type) {
      case 'addNode':
        m.incoming.add(id);
        m.learners.delete(id);
        m.learnersNext.delete(id);
        break;
      case 'addLearner':
        if (m.learners.has(id)) break;
        m.incoming.delete(id);
        m.learnersNext.delete(id);
        // A voter of the outgoing half cannot be a learner at the same time; it becomes one when
        // the joint phase ends.
        if (m.outgoing.has(id)) m.learnersNext.add(id);
        else m.learners.add(id);
        break;
      case 'removeNode':
        m.incoming.delete(id);
        m.learners.delete(id);
        m.learnersNext.delete(id);
        break;
    }
  }
  if (m.incoming.size === 0) return 'the change removes every voter';
  return undefined;
}

function finish(m: MutableConfig): ChangeResult {
  const config = freeze(m);
  const problem = validateConfig(config);
  return problem === undefined ? { ok: true, config } : { ok: false, error: problem };
}

/** Enters a joint configuration: the current voters become the outgoing half. */
export function enterJoint(current: TrackerConfig, autoLeave: boolean, changes: readonly ConfChangeSingle[]): ChangeResult {
  if (current.voters.isJoint) return { ok: false, error: 'the configuration is already joint' };
  if (current.voters.incoming.size === 0) return { ok: false, error: 'cannot enter a joint configuration from zero voters' };
  const m = thaw(current);
  m.outgoing = new Set(m.incoming);
  const problem = applyChanges(m, changes);
  if (problem !== undefined) return { ok: false, error: problem };
  m.autoLeave = autoLeave;
  return finish(m);
}

/** Leaves a joint configuration: the incoming half alone remains; demoted voters become learners. */
export function leaveJoint(current: TrackerConfig): ChangeResult {
  if (!current.voters.isJoint) return { ok: false, error: 'the configuration is not joint' };
  const m = thaw(current);
  for (const id of m.learnersNext) m.learners.add(id);
  m.learnersNext.clear();
  m.outgoing.clear();
  m.autoLeave = false;
  return finish(m);
}

/** Applies a change of at most one voter without a joint phase. */
export function simpleChange(current: TrackerConfig, changes: readonly ConfChangeSingle[]): ChangeResult {
  if (current.voters.isJoint) return { ok: false, error: 'a simple change cannot be applied to a joint configuration' };
  const m = thaw(current);
  const problem = applyChanges(m, changes);
  if (problem !== undefined) return { ok: false, error: problem };
  const before = current.voters.incoming;
  let changed = 0;
  for (const id of m.incoming) if (!before.has(id)) changed++;
  for (const id of before.ids) if (!m.incoming.has(id)) changed++;
  // With two or more voters swapped at once, the old and new majorities need not intersect.
  if (changed > 1) return { ok: false, error: 'more than one voter changed without a joint configuration' };
  return finish(m);
}

/** Applies any ConfChange to `current` according to its transition. */
export function applyConfChangeTo(current: TrackerConfig, cc: ConfChange): ChangeResult {
  if (isLeaveJoint(cc)) return leaveJoint(current);
  const { joint, autoLeave } = entersJoint(cc);
  return joint ? enterJoint(current, autoLeave, cc.changes) : simpleChange(current, cc.changes);
}
