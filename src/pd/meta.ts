// The placement driver's own view of stores, Regions and peers: plain, fully-populated, read-only
// records. Protobuf objects arrive with every field optional and possibly null (and, from the
// network, possibly nonsense); they are parsed into these once, at the door, so the rest of the PD
// never re-checks a field. Parsing copies byte fields so a caller mutating its buffer later cannot
// change PD state.

import { metapb } from '../proto/index.js';

/** Region boundary keys are user keys; this bounds what one routing entry may hold. */
export const MAX_REGION_KEY_BYTES = 64 * 1024;
/** More peers than this in one Region is a bug or an attack, never a configuration. */
export const MAX_PEERS_PER_REGION = 16;
export const MAX_ADDRESS_LENGTH = 256;
export const MAX_VERSION_LENGTH = 64;

export interface PeerMeta {
  readonly id: number;
  readonly storeId: number;
  readonly role: metapb.PeerRole;
}

export interface RegionEpochMeta {
  readonly confVer: number;
  readonly version: number;
}

export interface RegionMeta {
  readonly id: number;
  readonly startKey: Uint8Array;
  /** Empty: to the end of the key space. */
  readonly endKey: Uint8Array;
  readonly epoch: RegionEpochMeta;
  readonly peers: readonly PeerMeta[];
}

export interface StoreMeta {
  readonly id: number;
  readonly address: string;
  readonly httpAddress: string;
  readonly state: metapb.StoreState;
  readonly version: string;
  readonly startTimeMs: number;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(problem: string): Parsed<T> => ({ ok: false, problem });

/**
 * A uint64 field as a safe integer: absent means 0 (proto3 default), anything that is not an
 * unsigned integer below 2^53 is undefined (refused).
 *
 * Decoded messages may hold a protobufjs Long `{ low, high, unsigned }` for a uint64 field the
 * sender left unset: the generated classes compute their prototype defaults when the module
 * loads, before src/proto/index.ts turns Long support off. So both shapes are accepted here.
 */
export function uint64(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'object' && typeof (value as LongLike).low === 'number' && typeof (value as LongLike).high === 'number') {
    const high = (value as LongLike).high >>> 0;
    const low = (value as LongLike).low >>> 0;
    if (high > 0x1f_ffff) return undefined;
    return high * 0x1_0000_0000 + low;
  }
  return undefined;
}

interface LongLike {
  readonly low: number;
  readonly high: number;
}

/** A positive uint64 id, or undefined. */
export function positiveId(value: unknown): number | undefined {
  const id = uint64(value);
  return id !== undefined && id > 0 ? id : undefined;
}

function bytes(value: unknown): Uint8Array | undefined {
  if (value === undefined || value === null) return new Uint8Array(0);
  return value instanceof Uint8Array ? Uint8Array.from(value) : undefined;
}

function text(value: unknown, max: number): string | undefined {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' && value.length <= max ? value : undefined;
}

const PEER_ROLES: ReadonlySet<number> = new Set([
  metapb.PeerRole.VOTER,
  metapb.PeerRole.LEARNER,
  metapb.PeerRole.INCOMING_VOTER,
  metapb.PeerRole.DEMOTING_VOTER,
]);
const STORE_STATES: ReadonlySet<number> = new Set([
  metapb.StoreState.STORE_UP,
  metapb.StoreState.STORE_OFFLINE,
  metapb.StoreState.STORE_TOMBSTONE,
]);

export function parsePeer(input: metapb.IPeer | null | undefined): Parsed<PeerMeta> {
  if (!input) return fail('peer is missing');
  const id = positiveId(input.id);
  if (id === undefined) return fail(`peer id ${String(input.id)} is not a positive integer`);
  const storeId = positiveId(input.storeId);
  if (storeId === undefined) return fail(`peer ${id} has store id ${String(input.storeId)}, not a positive integer`);
  const role = input.role ?? metapb.PeerRole.VOTER;
  if (!PEER_ROLES.has(role)) return fail(`peer ${id} has unknown role ${String(role)}`);
  return ok(Object.freeze({ id, storeId, role }));
}

export function parseEpoch(input: metapb.IRegionEpoch | null | undefined): Parsed<RegionEpochMeta> {
  const confVer = uint64(input?.confVer);
  const version = uint64(input?.version);
  if (confVer === undefined || version === undefined) return fail('region epoch is not a pair of non-negative integers');
  return ok(Object.freeze({ confVer, version }));
}

/**
 * A Region as the PD accepts it: a positive id, a non-empty key range within bounds, and 1 to
 * MAX_PEERS_PER_REGION peers with distinct ids on distinct stores.
 */
export function parseRegion(input: metapb.IRegion | null | undefined): Parsed<RegionMeta> {
  if (!input) return fail('region is missing');
  const id = positiveId(input.id);
  if (id === undefined) return fail(`region id ${String(input.id)} is not a positive integer`);
  const startKey = bytes(input.startKey);
  const endKey = bytes(input.endKey);
  if (!startKey || !endKey) return fail(`region ${id} has a key that is not bytes`);
  if (startKey.byteLength > MAX_REGION_KEY_BYTES || endKey.byteLength > MAX_REGION_KEY_BYTES) {
    return fail(`region ${id} has a boundary key longer than ${MAX_REGION_KEY_BYTES} bytes`);
  }
  if (endKey.byteLength > 0 && compareBytes(startKey, endKey) >= 0) {
    return fail(`region ${id} has an empty key range (start_key >= end_key)`);
  }
  const epoch = parseEpoch(input.epoch);
  if (!epoch.ok) return fail(`region ${id}: ${epoch.problem}`);
  const rawPeers = input.peers ?? [];
  if (!Array.isArray(rawPeers) || rawPeers.length === 0) return fail(`region ${id} has no peers`);
  if (rawPeers.length > MAX_PEERS_PER_REGION) {
    return fail(`region ${id} has ${rawPeers.length} peers, more than ${MAX_PEERS_PER_REGION}`);
  }
  const peers: PeerMeta[] = [];
  const peerIds = new Set<number>();
  const storeIds = new Set<number>();
  for (const raw of rawPeers) {
    const peer = parsePeer(raw);
    if (!peer.ok) return fail(`region ${id}: ${peer.problem}`);
    if (peerIds.has(peer.value.id)) return fail(`region ${id} lists peer ${peer.value.id} twice`);
    if (storeIds.has(peer.value.storeId)) return fail(`region ${id} has two peers on store ${peer.value.storeId}`);
    peerIds.add(peer.value.id);
    storeIds.add(peer.value.storeId);
    peers.push(peer.value);
  }
  return ok(Object.freeze({ id, startKey, endKey, epoch: epoch.value, peers: Object.freeze(peers) }));
}

export function parseStore(input: metapb.IStore | null | undefined): Parsed<StoreMeta> {
  if (!input) return fail('store is missing');
  const id = positiveId(input.id);
  if (id === undefined) return fail(`store id ${String(input.id)} is not a positive integer`);
  const address = text(input.address, MAX_ADDRESS_LENGTH);
  if (!address) return fail(`store ${id} has no address, or one longer than ${MAX_ADDRESS_LENGTH}`);
  const httpAddress = text(input.httpAddress, MAX_ADDRESS_LENGTH);
  if (httpAddress === undefined) return fail(`store ${id} has an http address longer than ${MAX_ADDRESS_LENGTH}`);
  const version = text(input.version, MAX_VERSION_LENGTH);
  if (version === undefined) return fail(`store ${id} has a version longer than ${MAX_VERSION_LENGTH}`);
  const state = input.state ?? metapb.StoreState.STORE_UP;
  if (!STORE_STATES.has(state)) return fail(`store ${id} has unknown state ${String(state)}`);
  const startTimeMs = uint64(input.startTimeMs);
  if (startTimeMs === undefined) return fail(`store ${id} has an invalid start time`);
  return ok(Object.freeze({ id, address, httpAddress, state, version, startTimeMs }));
}

export function regionToProto(region: RegionMeta): metapb.IRegion {
  return {
    id: region.id,
    startKey: region.startKey,
    endKey: region.endKey,
    epoch: { confVer: region.epoch.confVer, version: region.epoch.version },
    peers: region.peers.map(peerToProto),
  };
}

export function peerToProto(peer: PeerMeta): metapb.IPeer {
  return { id: peer.id, storeId: peer.storeId, role: peer.role };
}

export function storeToProto(store: StoreMeta): metapb.IStore {
  return { ...store };
}

/** Bytewise order, which is the order of LevelDB keys and of Region ranges. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/** Whether `key` lies in [start, end), an empty end meaning unbounded. */
export function rangeContains(start: Uint8Array, end: Uint8Array, key: Uint8Array): boolean {
  return compareBytes(start, key) <= 0 && (end.byteLength === 0 || compareBytes(key, end) < 0);
}

/** An epoch is stale against another when either counter is behind (TiKV's rule). */
export function epochIsStale(candidate: RegionEpochMeta, current: RegionEpochMeta): boolean {
  return candidate.version < current.version || candidate.confVer < current.confVer;
}

export function epochsEqual(a: RegionEpochMeta, b: RegionEpochMeta): boolean {
  return a.version === b.version && a.confVer === b.confVer;
}

export function isVoter(peer: PeerMeta): boolean {
  return peer.role === metapb.PeerRole.VOTER;
}

export function isLearner(peer: PeerMeta): boolean {
  return peer.role === metapb.PeerRole.LEARNER;
}

/** A Region halfway through a joint-consensus change; its leader leaves the joint state itself. */
export function inJointState(region: RegionMeta): boolean {
  return region.peers.some(
    (p) => p.role === metapb.PeerRole.INCOMING_VOTER || p.role === metapb.PeerRole.DEMOTING_VOTER,
  );
}

export function regionsEqual(a: RegionMeta, b: RegionMeta): boolean {
  return (
    a.id === b.id &&
    bytesEqual(a.startKey, b.startKey) &&
    bytesEqual(a.endKey, b.endKey) &&
    epochsEqual(a.epoch, b.epoch) &&
    a.peers.length === b.peers.length &&
    a.peers.every((p, i) => {
      const q = b.peers[i];
      return q !== undefined && p.id === q.id && p.storeId === q.storeId && p.role === q.role;
    })
  );
}

export function storesEqual(a: StoreMeta, b: StoreMeta): boolean {
  return (
    a.id === b.id &&
    a.address === b.address &&
    a.httpAddress === b.httpAddress &&
    a.state === b.state &&
    a.version === b.version &&
    a.startTimeMs === b.startTimeMs
  );
}
