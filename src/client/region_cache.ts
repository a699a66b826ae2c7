// The client's routing table: Regions it has learned (from PD and from stores' errors) with the
// peer it believes leads each. Kept sorted by start key so a key is routed with one binary search;
// the Regions in it never overlap. Bounded: past `capacity` the least recently used Region is
// dropped (it is fetched from PD again when needed).
//
// Staleness rule: a Region that overlaps a cached Region with a newer epoch version is older than
// what we know and is ignored. Every split and merge gives the resulting Regions a version above
// that of each Region they came from, so among overlapping Regions the higher version is the newer
// view. This keeps a lagging PD answer from overwriting what a store just told us.

import { compareKeys } from './keys.js';
import { type PeerMeta, type RegionInfo, type RegionMeta, canLead, epochIsOlder, regionContains } from './region_meta.js';

export interface CachedRegion {
  readonly region: RegionMeta;
  /** The peer requests go to; undefined when nobody has told us who leads. */
  leader: PeerMeta | undefined;
}

export interface RegionCacheOptions {
  /** Most Regions kept; default 100,000. */
  readonly capacity?: number;
}

export const DEFAULT_REGION_CACHE_CAPACITY = 100_000;

export class RegionCache {
  readonly capacity: number;
  /** Ordered by start key; the ranges are disjoint. */
  private readonly sorted: CachedRegion[] = [];
  /** Map iteration order doubles as the LRU order: oldest first, touched entries are re-inserted. */
  private readonly byId = new Map<number, CachedRegion>();

  constructor(options: RegionCacheOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_REGION_CACHE_CAPACITY;
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`region cache capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.byId.size;
  }

  /** The cached Region containing `key`, if any. */
  locate(key: Uint8Array): CachedRegion | undefined {
    const index = this.lastStartingAtOrBefore(key);
    const entry = index >= 0 ? this.sorted[index] : undefined;
    if (!entry || !regionContains(entry.region, key)) return undefined;
    this.touch(entry);
    return entry;
  }

  getById(regionId: number): CachedRegion | undefined {
    const entry = this.byId.get(regionId);
    if (entry) this.touch(entry);
    return entry;
  }

  /**
   * Adds or replaces a Region, dropping the cached Regions it overlaps. Returns false (and changes
   * nothing) when the cache already holds a newer view of the range.
   */
  update(info: RegionInfo): boolean {
    const { region } = info;
    const sameId = this.byId.get(region.id);
    if (sameId && epochIsOlder(region.epoch, sameId.region.epoch)) return false;
    const [from, to] = this.overlapping(region.startKey, region.endKey);
    for (let i = from; i < to; i++) {
      const existing = this.sorted[i]!;
      if (existing.region.epoch.version > region.epoch.version) return false;
    }
    const removed = this.sorted.splice(from, to - from);
    for (const entry of removed) this.byId.delete(entry.region.id);
    // A Region keeps its id while its range changes; the old range may not overlap the new one.
    if (sameId && this.byId.get(region.id) === sameId) this.removeEntry(sameId);

    const entry: CachedRegion = { region, leader: this.pickLeader(region, info.leader, sameId) };
    const at = this.lastStartingAtOrBefore(region.startKey) + 1;
    this.sorted.splice(at, 0, entry);
    this.byId.set(region.id, entry);
    this.evictBeyondCapacity();
    return true;
  }

  /**
   * Records a NotLeader hint. Returns false when the hinted peer is not a member of the cached
   * Region: the cached membership is stale and the caller should reload the Region.
   */
  updateLeader(regionId: number, leader: PeerMeta): boolean {
    const entry = this.byId.get(regionId);
    if (!entry) return false;
    const member = entry.region.peers.find((p) => p.id === leader.id && p.storeId === leader.storeId);
    if (!member) return false;
    entry.leader = member;
    return true;
  }

  /**
   * Moves the Region's leader guess to a peer that can lead and is not in `tried` (peer ids), for a
   * NotLeader answer without a hint. Returns the new guess, or undefined when every peer was tried.
   */
  switchToUntriedPeer(regionId: number, tried: ReadonlySet<number>): PeerMeta | undefined {
    const entry = this.byId.get(regionId);
    if (!entry) return undefined;
    const next = entry.region.peers.find((p) => canLead(p) && !tried.has(p.id));
    if (next) entry.leader = next;
    return next;
  }

  /**
   * Applies the Regions of an EpochNotMatch answer from the store `answeredBy`; returns how many
   * were accepted (newer than, or as new as, the cache).
   */
  applyCurrentRegions(regions: readonly RegionMeta[], answeredBy: number): number {
    let applied = 0;
    for (const region of regions) {
      // The answer does not say who leads these Regions. The answering store holds them, and after a
      // split the leader of the old Region usually leads both halves, so its peer is the best guess.
      const guess = region.peers.find((p) => p.storeId === answeredBy && canLead(p));
      if (this.update({ region, leader: guess })) applied += 1;
    }
    return applied;
  }

  invalidate(regionId: number): boolean {
    const entry = this.byId.get(regionId);
    if (!entry) return false;
    this.removeEntry(entry);
    return true;
  }

  clear(): void {
    this.sorted.length = 0;
    this.byId.clear();
  }

  /** The cached Regions in key order (a copy; for diagnostics and tests). */
  regions(): RegionInfo[] {
    return this.sorted.map((e) => ({ region: e.region, leader: e.leader }));
  }

  private pickLeader(region: RegionMeta, hinted: PeerMeta | undefined, previous: CachedRegion | undefined): PeerMeta | undefined {
    const member = (peer: PeerMeta | undefined): PeerMeta | undefined =>
      peer ? region.peers.find((p) => p.id === peer.id && p.storeId === peer.storeId) : undefined;
    return member(hinted) ?? member(previous?.leader);
  }

  private touch(entry: CachedRegion): void {
    this.byId.delete(entry.region.id);
    this.byId.set(entry.region.id, entry);
  }

  private removeEntry(entry: CachedRegion): void {
    const index = this.lastStartingAtOrBefore(entry.region.startKey);
    if (index >= 0 && this.sorted[index] === entry) this.sorted.splice(index, 1);
    if (this.byId.get(entry.region.id) === entry) this.byId.delete(entry.region.id);
  }

  private evictBeyondCapacity(): void {
    while (this.byId.size > this.capacity) {
      const oldest = this.byId.values().next().value;
      if (!oldest) return;
      this.removeEntry(oldest);
    }
  }

  /** Index of the last entry whose start key is <= key, or -1. */
  private lastStartingAtOrBefore(key: Uint8Array): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.sorted[mid]!.region.startKey, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** The index range [from, to) of entries overlapping [start, end) (empty end = +infinity). */
  private overlapping(start: Uint8Array, end: Uint8Array): [number, number] {
    let from = this.lastStartingAtOrBefore(start);
    const before = from >= 0 ? this.sorted[from] : undefined;
    if (!before || !regionContains(before.region, start)) from += 1;
    let to = Math.max(from, 0);
    while (to < this.sorted.length && (end.byteLength === 0 || compareKeys(this.sorted[to]!.region.startKey, end) < 0)) to += 1;
    return [Math.max(from, 0), to];
  }
}
