// Region descriptors: key ranges, epochs, and the peer list as membership changes it.
import type { ConfState } from '../raft/index.js';
import { metapb } from '../proto/index.js';

export type Region = metapb.IRegion;
export type RegionEpoch = { confVer: number; version: number };
export type Peer = { id: number; storeId: number; role: metapb.PeerRole };

const EMPTY = new Uint8Array(0);

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.byteLength - b.byteLength;
}

export const startKey = (r: Region): Uint8Array => r.startKey ?? EMPTY;
export const endKey = (r: Region): Uint8Array => r.endKey ?? EMPTY;

export function epochOf(r: Region): RegionEpoch {
  return { confVer: Number(r.epoch?.confVer ?? 0), version: Number(r.epoch?.version ?? 0) };
}

export function peersOf(r: Region): Peer[] {
  return (r.peers ?? []).map((p) => ({
    id: Number(p.id ?? 0),
    storeId: Number(p.storeId ?? 0),
    role: p.role ?? metapb.PeerRole.VOTER,
  }));
}

/** Whether `key` lies in [start, end); an empty end is the end of the key space. */
export function keyInRegion(key: Uint8Array, r: Region): boolean {
  const end = endKey(r);
  return compareBytes(key, startKey(r)) >= 0 && (end.byteLength === 0 || compareBytes(key, end) < 0);
}

/** Whether two key ranges share at least one key. */
export function rangesOverlap(aStart: Uint8Array, aEnd: Uint8Array, bStart: Uint8Array, bEnd: Uint8Array): boolean {
  const aBeforeB = aEnd.byteLength > 0 && compareBytes(aEnd, bStart) <= 0;
  const bBeforeA = bEnd.byteLength > 0 && compareBytes(bEnd, aStart) <= 0;
  return !aBeforeB && !bBeforeA;
}

/** Whether epoch `a` is older than `b` in either dimension. */
export function epochIsStale(a: RegionEpoch, b: RegionEpoch): boolean {
  return a.version < b.version || a.confVer < b.confVer;
}

export function cloneRegion(r: Region): Region {
  return metapb.Region.decode(metapb.Region.encode(r).finish());
}

/**
 * The Raft membership a Region descriptor stands for, for a group created from a descriptor (the
 * first Region, the right half of a split); neither happens during a joint configuration. The
 * authoritative membership of a running group is its Raft ConfState, not the descriptor.
 */
export function confStateOf(r: Region): ConfState {
  const voters: number[] = [];
  const learners: number[] = [];
  const outgoing: number[] = [];
  const learnersNext: number[] = [];
  let joint = false;
  for (const p of peersOf(r)) {
    switch (p.role) {
      case metapb.PeerRole.VOTER:
        voters.push(p.id);
        outgoing.push(p.id);
        break;
      case metapb.PeerRole.LEARNER:
        learners.push(p.id);
        break;
      case metapb.PeerRole.INCOMING_VOTER:
        voters.push(p.id);
        joint = true;
        break;
      case metapb.PeerRole.DEMOTING_VOTER:
        outgoing.push(p.id);
        learnersNext.push(p.id);
        joint = true;
        break;
    }
  }
  return { voters, learners, votersOutgoing: joint ? outgoing : [], learnersNext, autoLeave: false };
}

/**
 * The peer list after a membership change: every node the new ConfState names, with its store
 * (from the old list or from the change's context) and its role in the new configuration. A
 * voter of the outgoing half only that is being removed (not demoted) stays VOTER until the joint
 * configuration is left: roles are for routing and display.
 */
export function peersForConfState(cs: ConfState, known: readonly Peer[]): Peer[] {
  const storeOf = new Map(known.map((p) => [p.id, p.storeId]));
  const incoming = new Set(cs.voters);
  const outgoing = new Set(cs.votersOutgoing);
  const joint = outgoing.size > 0;
  const ids = new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]);
  const out: Peer[] = [];
  for (const id of [...ids].sort((a, b) => a - b)) {
    let role: metapb.PeerRole;
    if (cs.learners.includes(id)) role = metapb.PeerRole.LEARNER;
    else if (cs.learnersNext.includes(id)) role = metapb.PeerRole.DEMOTING_VOTER;
    else if (joint && incoming.has(id) && !outgoing.has(id)) role = metapb.PeerRole.INCOMING_VOTER;
    else role = metapb.PeerRole.VOTER;
    out.push({ id, storeId: storeOf.get(id) ?? 0, role });
  }
  return out;
}

export function describeRegion(r: Region): string {
  const hex = (b: Uint8Array): string => (b.byteLength === 0 ? '' : Buffer.from(b).toString('hex'));
  const e = epochOf(r);
  return `region ${Number(r.id ?? 0)} [${hex(startKey(r))}, ${hex(endKey(r))}) epoch ${e.confVer}/${e.version} peers ${peersOf(r)
    .map((p) => `${p.id}@${p.storeId}`)
    .join(',')}`;
}

/** The part of a scan of [start, end) (an empty end: no bound) that lies in the Region. */
export function clipToRegion(region: Region, start: Uint8Array, end: Uint8Array): { from: Uint8Array; to: Uint8Array } {
  const regionStart = startKey(region);
  const regionEnd = endKey(region);
  const from = compareBytes(start, regionStart) > 0 ? start : regionStart;
  const to = regionEnd.byteLength > 0 && (end.byteLength === 0 || compareBytes(regionEnd, end) < 0) ? regionEnd : end;
  return { from, to };
}

/** Whether a scan starting at `start` begins at or after the Region's end (nothing of it is here). */
export function startsPastRegion(region: Region, start: Uint8Array): boolean {
  const end = endKey(region);
  return end.byteLength > 0 && compareBytes(start, end) >= 0;
}
