// Regions and peers as the client keeps them: every field present and checked once, when the wire
// message (from PD or from a store's EpochNotMatch) enters the client, so that routing code never
// has to guess at missing fields. The shapes stay assignable to the metapb interfaces.

import { metapb } from '../proto/index.js';
import { ProtocolError } from './errors.js';
import { EMPTY_KEY, beforeEnd, compareKeys, formatKey } from './keys.js';
import { u64 } from './wire.js';

export interface RegionEpoch {
  readonly confVer: number;
  readonly version: number;
}

export interface PeerMeta {
  readonly id: number;
  readonly storeId: number;
  readonly role: metapb.PeerRole;
}

export interface RegionMeta {
  readonly id: number;
  /** Inclusive; empty = from the first key. */
  readonly startKey: Uint8Array;
  /** Exclusive; empty = to the end of the key space. */
  readonly endKey: Uint8Array;
  readonly epoch: RegionEpoch;
  readonly peers: PeerMeta[];
}

/** A Region and the peer believed to lead it (unknown when PD has not heard from a leader). */
export interface RegionInfo {
  readonly region: RegionMeta;
  readonly leader: PeerMeta | undefined;
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A wire peer, or undefined when it lacks an id or store id (e.g. an absent NotLeader hint). */
export function peerFromWire(peer: metapb.IPeer | null | undefined): PeerMeta | undefined {
  if (!peer) return undefined;
  const id = u64(peer.id);
  const storeId = u64(peer.storeId);
  if (!isId(id) || !isId(storeId)) return undefined;
  return { id, storeId, role: peer.role ?? metapb.PeerRole.VOTER };
}

/** Validates a wire Region; `source` names the sender for the error message. */
export function regionFromWire(region: metapb.IRegion | null | undefined, source: string): RegionMeta {
  if (!region) throw new ProtocolError(source, 'Region missing');
  const id = u64(region.id);
  if (!isId(id)) throw new ProtocolError(source, `Region id ${id} is not a positive integer`);
  const startKey = region.startKey ?? EMPTY_KEY;
  const endKey = region.endKey ?? EMPTY_KEY;
  if (endKey.byteLength > 0 && compareKeys(startKey, endKey) >= 0) {
    throw new ProtocolError(source, `Region ${id} has start ${formatKey(startKey)} >= end ${formatKey(endKey)}`);
  }
  const confVer = u64(region.epoch?.confVer);
  const version = u64(region.epoch?.version);
  if (!isCount(confVer) || !isCount(version)) throw new ProtocolError(source, `Region ${id} has a malformed epoch`);
  const peers: PeerMeta[] = [];
  for (const wirePeer of region.peers ?? []) {
    const peer = peerFromWire(wirePeer);
    if (!peer) throw new ProtocolError(source, `Region ${id} has a peer without id or store id`);
    peers.push(peer);
  }
  return { id, startKey, endKey, epoch: { confVer, version }, peers };
}

export function regionContains(region: RegionMeta, key: Uint8Array): boolean {
  return compareKeys(region.startKey, key) <= 0 && beforeEnd(key, region.endKey);
}

/** True when `a` is strictly older than `b` in either component: a view built on `a` is stale. */
export function epochIsOlder(a: RegionEpoch, b: RegionEpoch): boolean {
  return a.version < b.version || a.confVer < b.confVer;
}

/** Peers that can lead: voters, including the incoming half of a joint configuration. */
export function canLead(peer: PeerMeta): boolean {
  return peer.role === metapb.PeerRole.VOTER || peer.role === metapb.PeerRole.INCOMING_VOTER;
}

export function describeRegion(region: RegionMeta): string {
  return `Region ${region.id} [${formatKey(region.startKey)}, ${region.endKey.byteLength ? formatKey(region.endKey) : '+inf'}) v${region.epoch.version}/c${region.epoch.confVer}`;
}
