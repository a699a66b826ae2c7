// Small helpers for the Raft scenario tests (election.test.ts, replication.test.ts): reading
// what went over the wire, reading a node's log, and driving one node's Ready by hand.

import type { Entry, Message, NodeId, Ready, StateRole } from '../../src/raft/index.js';
import { str, type Cluster } from './harness.js';

/** The options of the Raft paper's algorithm: no pre-vote, no check-quorum (hence no leases). */
export const PAPER_RAFT = { preVote: false, checkQuorum: false } as const;

/** The message shape(s) whose `type` can be T (VoteRequest's type is 'vote' | 'preVote'). */
export type MessageOf<T extends Message['type']> = Message extends infer M
  ? M extends { type: infer U }
    ? T extends U
      ? M
      : never
    : never
  : never;

/** A position in `cluster.delivered`, to look only at what was delivered after it. */
export function mark(c: Cluster): number {
  return c.delivered.length;
}

export function deliveredSince(c: Cluster, from: number): Message[] {
  return c.delivered.slice(from);
}

/** Messages of one type, optionally only those from / to a node. */
export function ofType<T extends Message['type']>(
  msgs: readonly Message[],
  type: T,
  where: { from?: NodeId; to?: NodeId } = {},
): MessageOf<T>[] {
  return msgs.filter(
    (m): m is MessageOf<T> =>
      m.type === type && (where.from === undefined || m.from === where.from) && (where.to === undefined || m.to === where.to),
  );
}

/** The term of the entry at `index` in a node's log (persisted or not), or undefined. */
export function termAt(c: Cluster, id: NodeId, index: number): number | undefined {
  return c.node(id).core.log.term(index);
}

/** A node's log from `from` to its last index, as "index:term" strings. */
export function logShape(c: Cluster, id: NodeId, from: number): string[] {
  const log = c.node(id).core.log;
  const out: string[] = [];
  for (let i = from; i <= log.lastIndex(); i++) out.push(`${i}:${log.term(i) ?? '?'}`);
  return out;
}

/** The payload of the entry at `index` in a node's log. */
export function payloadAt(c: Cluster, id: NodeId, index: number): string {
  const [entry] = c.node(id).core.log.slice(index, index + 1, Number.POSITIVE_INFINITY);
  if (entry === undefined) throw new Error(`node ${id} has no entry at ${index}`);
  return str(entry.data);
}

export function payloads(entries: readonly Entry[]): string[] {
  return entries.map((e) => str(e.data));
}

/** What the persisted hard state of a node holds. */
export function persistedHardState(c: Cluster, id: NodeId): { term: number; vote: NodeId; commit: number } {
  const hs = c.get(id).storage.initialState().hardState;
  return { term: hs.term, vote: hs.vote, commit: hs.commit };
}

/**
 * Takes one node's Ready by hand and does what the harness does with it (persist, apply normal
 * entries, advance) except sending: the caller decides what to deliver (with `c.send`) or to
 * drop. Returns the Ready for inspection.
 */
export function takeReady(c: Cluster, id: NodeId): Ready {
  const t = c.get(id);
  const rd = t.node.ready();
  t.storage.persist({
    ...(rd.snapshot ? { snapshot: rd.snapshot } : {}),
    entries: rd.entries,
    ...(rd.hardState ? { hardState: rd.hardState } : {}),
  });
  for (const e of rd.committedEntries) {
    if (e.kind !== 'normal') throw new Error('takeReady applies only normal entries');
    t.appliedEntries.push(e);
    if (e.data.byteLength > 0) t.applied.push(str(e.data));
  }
  t.readStates.push(...rd.readStates);
  t.node.advance();
  return rd;
}

/**
 * Installs a filter that records every message that reaches it (cut links are dropped before the
 * filter) and drops those `drop` selects. Returns the record.
 */
export function recordAndDrop(c: Cluster, drop: (m: Message) => boolean): Message[] {
  const seen: Message[] = [];
  c.filter = (m) => {
    seen.push(m);
    return !drop(m);
  };
  return seen;
}

/** Ticks one node (settling after each tick) until `done`; returns the number of ticks taken. */
export function tickUntil(c: Cluster, id: NodeId, done: () => boolean, limit = 1000): number {
  for (let n = 1; n <= limit; n++) {
    c.tick(id);
    if (done()) return n;
  }
  throw new Error(`node ${id}: condition not reached within ${limit} ticks`);
}

/**
 * Ticks the given nodes together, one tick each per round, until one of them leads. Returns the
 * leader and the number of rounds.
 */
export function tickUntilLeader(c: Cluster, ids: readonly NodeId[], limit = 1000): { leader: NodeId; rounds: number } {
  for (let round = 1; round <= limit; round++) {
    for (const id of ids) c.node(id).tick();
    c.settle();
    const leader = ids.find((id) => c.role(id) === 'leader');
    if (leader !== undefined) return { leader, rounds: round };
  }
  throw new Error(`no leader among ${ids.join(',')} within ${limit} rounds`);
}

export function roles(c: Cluster, ids: readonly NodeId[]): StateRole[] {
  return ids.map((id) => c.role(id));
}

export function terms(c: Cluster, ids: readonly NodeId[]): number[] {
  return ids.map((id) => c.term(id));
}
