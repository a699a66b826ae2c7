// The routing index: Regions ordered by start key. Regions never overlap in the index (an
// invariant checked on every insert), so "which Region holds key k" is the last Region starting at
// or before k, if its end is past k. A sorted array with binary search: lookups are O(log n) and
// the rare inserts (splits, merges) pay an O(n) splice, which at tens of thousands of Regions is
// still microseconds.

import { compareBytes, rangeContains, type RegionMeta } from './meta.js';

export class RegionIndex {
  private readonly sorted: RegionMeta[] = [];

  get size(): number {
    return this.sorted.length;
  }

  /** The Region whose [start, end) contains `key`. */
  find(key: Uint8Array): RegionMeta | undefined {
    const at = this.lastStartingAtOrBefore(key);
    if (at < 0) return undefined;
    const region = this.sorted[at]!;
    return rangeContains(region.startKey, region.endKey, key) ? region : undefined;
  }

  /** Regions intersecting [start, end) (empty end: unbounded), in key order. */
  overlapping(start: Uint8Array, end: Uint8Array): RegionMeta[] {
    return this.scan(start, end, Number.POSITIVE_INFINITY);
  }

  /**
   * Up to `limit` Regions intersecting [start, end), in key order: the first is the Region
   * containing `start` (if any).
   */
  scan(start: Uint8Array, end: Uint8Array, limit: number): RegionMeta[] {
    const result: RegionMeta[] = [];
    let at = Math.max(0, this.lastStartingAtOrBefore(start));
    for (; at < this.sorted.length && result.length < limit; at++) {
      const region = this.sorted[at]!;
      if (end.byteLength > 0 && compareBytes(region.startKey, end) >= 0) break;
      if (region.endKey.byteLength === 0 || compareBytes(region.endKey, start) > 0) result.push(region);
    }
    return result;
  }

  /** Inserts a Region whose range overlaps no Region in the index (callers remove overlaps first). */
  insert(region: RegionMeta): void {
    const at = this.lastStartingAtOrBefore(region.startKey) + 1;
    const before = this.sorted[at - 1];
    const after = this.sorted[at];
    const overlapsBefore =
      before !== undefined && (before.endKey.byteLength === 0 || compareBytes(before.endKey, region.startKey) > 0);
    const overlapsAfter =
      after !== undefined && (region.endKey.byteLength === 0 || compareBytes(after.startKey, region.endKey) < 0);
    if (overlapsBefore || overlapsAfter) {
      throw new Error(
        `invariant: region ${region.id} overlaps region ${overlapsBefore ? before!.id : after!.id} in the routing index`,
      );
    }
    this.sorted.splice(at, 0, region);
  }

  /** Removes the entry of `region` (matched by id at its start key); false when absent. */
  remove(region: RegionMeta): boolean {
    const at = this.lastStartingAtOrBefore(region.startKey);
    const found = this.sorted[at];
    if (at < 0 || found === undefined || found.id !== region.id || compareBytes(found.startKey, region.startKey) !== 0) {
      return false;
    }
    this.sorted.splice(at, 1);
    return true;
  }

  clear(): void {
    this.sorted.length = 0;
  }

  all(): readonly RegionMeta[] {
    return this.sorted;
  }

  /** Index of the last Region whose start key is <= key, or -1. */
  private lastStartingAtOrBefore(key: Uint8Array): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.sorted[mid]!.startKey, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }
}
