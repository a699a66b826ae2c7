// The Region cache: routing by key and id, replacement of overlapping and stale views, leader
// updates, the LRU bound, and (property-based) that it agrees with a linear search and that stale
// views arriving late never replace newer ones.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RegionCache } from '../../src/client/region_cache.js';
import type { PeerMeta, RegionMeta } from '../../src/client/region_meta.js';
import { metapb } from '../../src/proto/index.js';

const b = (s: string): Uint8Array => Buffer.from(s);

function peers(regionId: number): PeerMeta[] {
  return [1, 2, 3].map((storeId) => ({ id: regionId * 10 + storeId, storeId, role: metapb.PeerRole.VOTER }));
}

function region(id: number, start: string, end: string, version = 1, confVer = 1): RegionMeta {
  return { id, startKey: b(start), endKey: b(end), epoch: { version, confVer }, peers: peers(id) };
}

const ids = (cache: RegionCache): number[] => cache.regions().map((r) => r.region.id);

describe('RegionCache', () => {
  it('locates keys by binary search; empty start and end are the ends of the key space', () => {
    const cache = new RegionCache();
    cache.update({ region: region(1, '', 'b'), leader: undefined });
    cache.update({ region: region(3, 'd', ''), leader: undefined });
    cache.update({ region: region(2, 'b', 'd'), leader: undefined });
    expect(ids(cache)).toEqual([1, 2, 3]);
    expect(cache.locate(b(''))?.region.id).toBe(1);
    expect(cache.locate(b('a\xff'))?.region.id).toBe(1);
    expect(cache.locate(b('b'))?.region.id).toBe(2);
    expect(cache.locate(b('czzz'))?.region.id).toBe(2);
    expect(cache.locate(b('d'))?.region.id).toBe(3);
    expect(cache.locate(Buffer.alloc(100, 0xff))?.region.id).toBe(3);
    cache.invalidate(2);
    expect(cache.locate(b('c'))).toBeUndefined();
    expect(cache.getById(2)).toBeUndefined();
  });

  it('replaces the Regions a newer Region overlaps, and ignores older views', () => {
    const cache = new RegionCache();
    cache.update({ region: region(1, 'a', 'c'), leader: undefined });
    cache.update({ region: region(2, 'c', 'e'), leader: undefined });
    // A merge of both (version above both) replaces them.
    expect(cache.update({ region: region(2, 'a', 'e', 3), leader: undefined })).toBe(true);
    expect(ids(cache)).toEqual([2]);
    // Region 1 at its old version arrives late (a lagging PD answer): refused.
    expect(cache.update({ region: region(1, 'a', 'c', 1), leader: undefined })).toBe(false);
    // The same id with an older epoch: refused, whatever its range.
    expect(cache.update({ region: region(2, 'x', 'y', 2), leader: undefined })).toBe(false);
    expect(cache.update({ region: region(2, 'a', 'e', 3, 0), leader: undefined })).toBe(false);
    expect(ids(cache)).toEqual([2]);
    // A Region that keeps its id and moves its range drops the old entry.
    cache.update({ region: region(2, 'a', 'b', 4), leader: undefined });
    expect(cache.locate(b('c'))).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('takes leader hints only for members, and walks untried peers', () => {
    const cache = new RegionCache();
    const r = region(7, 'a', 'c');
    cache.update({ region: r, leader: r.peers[0] });
    expect(cache.updateLeader(7, r.peers[2]!)).toBe(true);
    expect(cache.getById(7)?.leader?.storeId).toBe(3);
    expect(cache.updateLeader(7, { id: 999, storeId: 9, role: metapb.PeerRole.VOTER })).toBe(false);
    expect(cache.switchToUntriedPeer(7, new Set([71]))?.id).toBe(72);
    expect(cache.switchToUntriedPeer(7, new Set([71, 72, 73]))).toBeUndefined();
    // A PD leader that is not a member is dropped; the previous leader is kept when still a member.
    cache.update({ region: region(7, 'a', 'c', 1, 2), leader: { id: 5, storeId: 5, role: 0 } });
    expect(cache.getById(7)?.leader?.id).toBe(72);
  });

  it('applies EpochNotMatch Regions with the answering store as the leader guess', () => {
    const cache = new RegionCache();
    cache.update({ region: region(1, 'a', 'e'), leader: peers(1)[0] });
    const applied = cache.applyCurrentRegions([region(1, 'a', 'c', 2), region(5, 'c', 'e', 2)], 2);
    expect(applied).toBe(2);
    expect(ids(cache)).toEqual([1, 5]);
    expect(cache.getById(5)?.leader?.storeId).toBe(2);
    expect(cache.getById(1)?.leader?.storeId).toBe(2);
  });

  it('evicts the least recently used Region beyond its capacity', () => {
    const cache = new RegionCache({ capacity: 3 });
    cache.update({ region: region(1, 'a', 'b'), leader: undefined });
    cache.update({ region: region(2, 'b', 'c'), leader: undefined });
    cache.update({ region: region(3, 'c', 'd'), leader: undefined });
    cache.locate(b('a')); // region 1 is now the most recent
    cache.update({ region: region(4, 'd', 'e'), leader: undefined });
    expect(ids(cache)).toEqual([1, 3, 4]);
    cache.getById(3);
    cache.update({ region: region(5, 'e', 'f'), leader: undefined });
    expect(ids(cache)).toEqual([3, 4, 5]);
    expect(() => new RegionCache({ capacity: 0 })).toThrow(RangeError);
  });

  const keyArb = fc.uint8Array({ minLength: 0, maxLength: 3, max: 8 });

  it('agrees with a linear search over any partition (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keyArb.filter((k) => k.length > 0), { maxLength: 30, comparator: (x, y) => Buffer.compare(x, y) === 0 }), fc.array(fc.boolean(), { minLength: 31, maxLength: 31 }), fc.array(keyArb, { maxLength: 40 }), (splitKeys, keep, probes) => {
        const bounds = [new Uint8Array(), ...[...splitKeys].sort((x, y) => Buffer.compare(x, y)), new Uint8Array()];
        const all: RegionMeta[] = [];
        for (let i = 0; i + 1 < bounds.length; i++) all.push({ id: i + 1, startKey: bounds[i]!, endKey: bounds[i + 1]!, epoch: { version: 1, confVer: 1 }, peers: peers(i + 1) });
        const cached = all.filter((_, i) => keep[i]);
        const cache = new RegionCache();
        for (const r of [...cached].reverse()) cache.update({ region: r, leader: undefined });
        for (const key of probes) {
          const expected = cached.find((r) => Buffer.compare(r.startKey, key) <= 0 && (r.endKey.length === 0 || Buffer.compare(key, r.endKey) < 0));
          expect(cache.locate(key)?.region.id).toBe(expected?.id);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps disjoint ranges and the newest view whatever order split views arrive in (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), keyArb.filter((k) => k.length > 0)), { maxLength: 20 }), fc.infiniteStream(fc.nat()), (splits, shuffle) => {
        // History: one Region, split repeatedly; each split gives both halves version + 1.
        let live: RegionMeta[] = [{ id: 1, startKey: new Uint8Array(), endKey: new Uint8Array(), epoch: { version: 1, confVer: 1 }, peers: peers(1) }];
        const history: RegionMeta[] = [...live];
        let nextId = 2;
        for (const [pick, at] of splits) {
          const target = live[pick % live.length]!;
          const inside = Buffer.compare(target.startKey, at) < 0 && (target.endKey.length === 0 || Buffer.compare(at, target.endKey) < 0);
          if (!inside) continue;
          const version = target.epoch.version + 1;
          const left: RegionMeta = { ...target, endKey: at, epoch: { version, confVer: 1 } };
          const right: RegionMeta = { id: nextId, startKey: at, endKey: target.endKey, epoch: { version, confVer: 1 }, peers: peers(nextId) };
          nextId += 1;
          live = live.flatMap((r) => (r === target ? [left, right] : [r]));
          history.push(left, right);
        }
        // Views arrive in any order; then every live Region arrives once more (a full refresh).
        const order = [...history];
        const it = shuffle[Symbol.iterator]();
        for (let i = order.length - 1; i > 0; i--) {
          const j = (it.next().value as number) % (i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        const cache = new RegionCache();
        for (const r of order) cache.update({ region: r, leader: undefined });
        const check = (): void => {
          const regions = cache.regions();
          for (let i = 1; i < regions.length; i++) {
            const prev = regions[i - 1]!.region;
            expect(prev.endKey.length).toBeGreaterThan(0);
            expect(Buffer.compare(prev.endKey, regions[i]!.region.startKey)).toBeLessThanOrEqual(0);
          }
        };
        check();
        for (const r of live) cache.update({ region: r, leader: undefined });
        check();
        expect(cache.regions().map((r) => r.region)).toEqual(live);
      }),
      { numRuns: 300 },
    );
  });
});
