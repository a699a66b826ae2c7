// Small pieces: backoff delays (with an injected random source), Region error classification, and
// reading 64-bit fields that decode as Long defaults.

import { describe, expect, it } from 'vitest';
import { Backoff, resolveBackoffPolicy } from '../../src/client/backoff.js';
import { Deadline } from '../../src/client/deadline.js';
import { classifyRegionError, describeRegionError } from '../../src/client/region_error.js';
import { u64 } from '../../src/client/wire.js';
import { kvpb, pdpb } from '../../src/proto/index.js';

describe('Backoff', () => {
  it('doubles up to the cap with equal jitter from the injected random source', () => {
    const low = new Backoff({ baseMs: 10, maxMs: 100 }, () => 0);
    expect(Array.from({ length: 6 }, () => low.nextDelayMs())).toEqual([5, 10, 20, 40, 50, 50]);
    const high = new Backoff({ baseMs: 10, maxMs: 100 }, () => 0.999_999);
    expect(Array.from({ length: 6 }, () => high.nextDelayMs())).toEqual([10, 20, 40, 80, 100, 100]);
    high.reset();
    expect(high.nextDelayMs()).toBe(10);
  });

  it('respects a server hint, capped so a bogus one cannot stall the caller', () => {
    const backoff = new Backoff({ baseMs: 10, maxMs: 100 }, () => 0);
    expect(backoff.nextDelayMs(250)).toBe(250);
    expect(backoff.nextDelayMs(1e9)).toBe(400);
  });

  it('rejects nonsensical policies', () => {
    expect(() => resolveBackoffPolicy({ baseMs: 0 }, { baseMs: 1, maxMs: 2 })).toThrow(RangeError);
    expect(() => resolveBackoffPolicy({ maxMs: 1 }, { baseMs: 5, maxMs: 10 })).toThrow(RangeError);
  });
});

describe('Deadline', () => {
  it('tracks remaining time and nests per-attempt bounds', () => {
    const deadline = Deadline.after(1_000);
    expect(deadline.remainingMs()).toBeGreaterThan(900);
    expect(deadline.within(10).remainingMs()).toBeLessThanOrEqual(10);
    expect(deadline.within(5_000)).toBe(deadline);
    expect(Deadline.after(0).expired()).toBe(true);
    expect(() => Deadline.after(Number.NaN)).toThrow(RangeError);
  });
});

describe('classifyRegionError', () => {
  it('reads decoded errors, including absent 64-bit fields', () => {
    const decoded = kvpb.RegionError.decode(kvpb.RegionError.encode({ notLeader: { regionId: 5 } }).finish());
    const kind = classifyRegionError(decoded, 'store 1');
    expect(kind).toEqual({ kind: 'NotLeader', regionId: 5, leader: undefined });
    expect(describeRegionError(kind)).toBe('NotLeader (no hint)');
    const busy = kvpb.RegionError.decode(kvpb.RegionError.encode({ serverIsBusy: { reason: 'queue full' } }).finish());
    expect(classifyRegionError(busy, 'store 1')).toEqual({ kind: 'ServerIsBusy', reason: 'queue full', backoffMs: 0 });
    expect(classifyRegionError({ message: 'what' }, 'store 1')).toEqual({ kind: 'Unknown', message: 'what' });
    expect(classifyRegionError({ staleCommand: {} }, 'store 1').kind).toBe('StaleCommand');
  });

  it('refuses malformed Regions in EpochNotMatch', () => {
    expect(() => classifyRegionError({ epochNotMatch: { currentRegions: [{ id: 0 }] } }, 'store 1')).toThrow(/protocol violation by store 1/);
    expect(() =>
      classifyRegionError({ epochNotMatch: { currentRegions: [{ id: 3, startKey: Buffer.from('b'), endKey: Buffer.from('a') }] } }, 'store 1'),
    ).toThrow(/start "b" >= end "a"/);
  });
});

describe('u64', () => {
  it('reads absent uint64 fields of decoded messages as 0', () => {
    const header = pdpb.RequestHeader.decode(pdpb.RequestHeader.encode({}).finish());
    expect(u64(header.clusterId)).toBe(0);
    const present = pdpb.RequestHeader.decode(pdpb.RequestHeader.encode({ clusterId: 2 ** 40 }).finish());
    expect(u64(present.clusterId)).toBe(2 ** 40);
    expect(u64(undefined)).toBe(0);
  });
});
