// Record layouts: every record round-trips, and any single flipped bit is detected.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConfState } from '../../src/raft/types.js';
import {
  describeKey,
  raftConfStateKey,
  raftHardStateKey,
  raftLogEntryIndex,
  raftLogEntryKey,
  raftLogEntryRange,
  raftSnapshotKey,
  raftTruncatedStateKey,
} from '../../src/storage/keys.js';
import {
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeSnapshot,
  decodeTruncatedState,
  encodeConfState,
  encodeEntry,
  encodeHardState,
  encodeSnapshot,
  encodeTruncatedState,
} from '../../src/storage/raft_records.js';
import { RecordDecodeError } from '../../src/storage/record.js';

const safeIndex = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const nodeIds = fc.array(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), { maxLength: 5 });
const confStateArb: fc.Arbitrary<ConfState> = fc.record({
  voters: nodeIds,
  learners: nodeIds,
  votersOutgoing: nodeIds,
  learnersNext: nodeIds,
  autoLeave: fc.boolean(),
});

function plain<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v)));
}

describe('raft records', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        safeIndex,
        safeIndex,
        safeIndex,
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom('normal' as const, 'confChange' as const),
        confStateArb,
        (groupId, a, b, c, data, kind, cs) => {
          const entryKey = raftLogEntryKey(groupId, a);
          const entry = { index: a, term: b, kind, data };
          expect(plain(decodeEntry(entryKey, encodeEntry(entryKey, entry), a))).toEqual(plain(entry));
          const hsKey = raftHardStateKey(groupId);
          const hs = { term: a, vote: b, commit: c };
          expect(decodeHardState(hsKey, encodeHardState(hsKey, hs))).toEqual(hs);
          const csKey = raftConfStateKey(groupId);
          expect(decodeConfState(csKey, encodeConfState(csKey, cs))).toEqual(cs);
          const snapKey = raftSnapshotKey(groupId);
          const snapshot = { meta: { index: a, term: b, confState: cs }, data };
          expect(plain(decodeSnapshot(snapKey, encodeSnapshot(snapKey, snapshot)))).toEqual(plain(snapshot));
          const truncKey = raftTruncatedStateKey(groupId);
          expect(decodeTruncatedState(truncKey, encodeTruncatedState(truncKey, { index: a, term: b }))).toEqual({
            index: a,
            term: b,
          });
        },
      ),
    );
  });

  it('detect any single flipped bit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), fc.nat(), confStateArb, (data, position, cs) => {
        const key = raftSnapshotKey(1);
        const value = encodeSnapshot(key, { meta: { index: 9, term: 3, confState: cs }, data });
        const bit = position % (value.byteLength * 8);
        const flipped = Uint8Array.from(value);
        flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
        expect(() => decodeSnapshot(key, flipped)).toThrow(RecordDecodeError);
      }),
    );
  });

  it('refuses a record of another type even with a valid checksum', () => {
    const key = raftHardStateKey(1);
    const truncated = encodeTruncatedState(key, { index: 1, term: 1 });
    expect(() => decodeHardState(key, truncated)).toThrow(/tag/);
  });
});

describe('keys', () => {
  it('sort log entries by group, then index', () => {
    const keys = [
      raftLogEntryKey(2, 1),
      raftLogEntryKey(1, 2 ** 40),
      raftLogEntryKey(1, 256),
      raftLogEntryKey(1, 1),
      raftLogEntryKey(2 ** 33, 0),
    ];
    const sorted = [...keys].sort((x, y) => Buffer.compare(x, y));
    expect(sorted.map((k) => describeKey(k))).toEqual([
      describeKey(raftLogEntryKey(1, 1)),
      describeKey(raftLogEntryKey(1, 256)),
      describeKey(raftLogEntryKey(1, 2 ** 40)),
      describeKey(raftLogEntryKey(2, 1)),
      describeKey(raftLogEntryKey(2 ** 33, 0)),
    ]);
    const range = raftLogEntryRange(1);
    for (const key of keys) {
      const inside = Buffer.compare(key, range.gte) >= 0 && Buffer.compare(key, range.lt) < 0;
      expect(inside).toBe(raftLogEntryIndex(key, 1) !== undefined);
    }
    expect(describeKey(raftLogEntryKey(3, 17))).toMatch(/^raft-log-entry\(group=3, index=17\)/);
  });
});
