// Small vocabulary for the membership and leader-transfer scenarios, so the tests read like
// transcripts: `c.proposeConfChange(1, auto(addNode(4), removeNode(3)))`.

import {
  decodeConfChange,
  type ConfChange,
  type ConfChangeSingle,
  type ConfState,
  type Entry,
  type Message,
  type MessageType,
  type NodeId,
} from '../../src/raft/index.js';
import { expect } from 'vitest';
import { Cluster, type ClusterOptions } from './harness.js';

/**
 * A three-voter group led by n1. Groups are bootstrapped at index 5, term 5, so n1 wins in term 6
 * and its empty entry is index 6, applied everywhere when this returns.
 */
export function threeVoters(options: ClusterOptions = {}): Cluster {
  const c = Cluster.create([1, 2, 3], options);
  c.campaign(1);
  expect(c.leader()).toBe(1);
  expect(c.term(1)).toBe(6);
  expect(c.node(1).status().commit).toBe(6);
  return c;
}

export const addNode = (nodeId: NodeId): ConfChangeSingle => ({ type: 'addNode', nodeId });
export const addLearner = (nodeId: NodeId): ConfChangeSingle => ({ type: 'addLearner', nodeId });
export const removeNode = (nodeId: NodeId): ConfChangeSingle => ({ type: 'removeNode', nodeId });

const NO_CONTEXT = new Uint8Array(0);

export const auto = (...changes: ConfChangeSingle[]): ConfChange => ({ transition: 'auto', changes, context: NO_CONTEXT });
export const jointImplicit = (...changes: ConfChangeSingle[]): ConfChange => ({
  transition: 'jointImplicit',
  changes,
  context: NO_CONTEXT,
});
export const jointExplicit = (...changes: ConfChangeSingle[]): ConfChange => ({
  transition: 'jointExplicit',
  changes,
  context: NO_CONTEXT,
});
/** The empty change: leave the current joint configuration. */
export const leaveJoint = (): ConfChange => ({ transition: 'auto', changes: [], context: NO_CONTEXT });

/** A ConfState literal with the unused fields defaulted, for `toEqual` assertions. */
export function conf(parts: Partial<ConfState> & { voters: NodeId[] }): ConfState {
  return { learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false, ...parts };
}

/** The membership node `id` currently uses (what `status().config` reports). */
export function configOf(c: Cluster, id: NodeId): ConfState {
  return c.node(id).status().config;
}

/** The conf changes node `id` has applied, decoded, in order. */
export function appliedConfChanges(c: Cluster, id: NodeId): ConfChange[] {
  return c
    .get(id)
    .appliedEntries.filter((e: Entry) => e.kind === 'confChange')
    .map((e) => decodeConfChange(e.data));
}

/**
 * The message variant(s) of `type`. An intersection rather than Extract: one interface serves
 * two types ('vote' | 'preVote'), and Extract would turn it into never.
 */
export type MessageOf<T extends MessageType> = Message & { readonly type: T };

/** Messages delivered since `mark` (an index into `c.delivered`), optionally of one type. */
export function deliveredSince<T extends MessageType>(c: Cluster, mark: number, type?: T): MessageOf<T>[] {
  return c.delivered.slice(mark).filter((m): m is MessageOf<T> => type === undefined || m.type === type);
}

/** Messages of `type` delivered from `from` to `to` (either may be undefined for "any"). */
export function deliveredOf<T extends MessageType>(
  c: Cluster,
  type: T,
  from?: NodeId,
  to?: NodeId,
): MessageOf<T>[] {
  return c.delivered.filter(
    (m): m is MessageOf<T> =>
      m.type === type && (from === undefined || m.from === from) && (to === undefined || m.to === to),
  );
}

/** Messages queued inside a node's state machine and not yet handed out in a Ready. */
export function queued(c: Cluster, id: NodeId): readonly Message[] {
  return c.node(id).core.msgs;
}

/** Ticks every node one tick at a time until `done` holds; fails loudly after `limit` ticks. */
export function tickAllUntil(c: Cluster, done: () => boolean, limit = 200): number {
  for (let i = 1; i <= limit; i++) {
    c.tickAll(1);
    if (done()) return i;
  }
  throw new Error(`condition not reached within ${limit} ticks of every node`);
}

/** The index the last appended proposal landed at, or a loud failure if it was not appended. */
export function appendedIndex(result: { kind: string; index?: number }): number {
  if (result.kind !== 'appended' || result.index === undefined) {
    throw new Error(`expected the proposal to be appended, got ${JSON.stringify(result)}`);
  }
  return result.index;
}
