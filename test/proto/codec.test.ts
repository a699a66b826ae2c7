import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { metapb, pdpb, raftpb } from '../../src/proto/index.js';
import type { Entry, Message } from '../../src/raft/index.js';
import { decodeMessage, encodeMessage, WireFormatError } from '../../src/store/raft_codec.js';

describe('protobuf runtime configuration', () => {
  it('decodes every 64-bit field as a plain number, absent ones as 0', () => {
    const r = metapb.Region.decode(metapb.Region.encode({ id: 2 ** 40 + 7 }).finish());
    expect(r.id).toBe(2 ** 40 + 7);
    const empty = metapb.RegionEpoch.decode(new Uint8Array(0));
    expect(empty.version).toBe(0);
    expect(typeof empty.confVer).toBe('number');
    expect(typeof pdpb.Timestamp.decode(new Uint8Array(0)).physical).toBe('number');
  });
});

const id = fc.integer({ min: 1, max: 2 ** 40 });
const idx = fc.integer({ min: 0, max: 2 ** 45 });
const bytes = fc.uint8Array({ maxLength: 32 });
const entry: fc.Arbitrary<Entry> = fc.record({
  term: idx,
  index: idx,
  kind: fc.constantFrom<Entry['kind']>('normal', 'confChange'),
  data: bytes,
});
const confState = fc.record({
  voters: fc.array(id, { maxLength: 5 }),
  learners: fc.array(id, { maxLength: 3 }),
  votersOutgoing: fc.array(id, { maxLength: 5 }),
  learnersNext: fc.array(id, { maxLength: 3 }),
  autoLeave: fc.boolean(),
});
const base = { from: id, to: id, term: idx };
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ ...base, type: fc.constant('append' as const), index: idx, logTerm: idx, commit: idx, entries: fc.array(entry, { maxLength: 4 }) }),
  fc.record({ ...base, type: fc.constant('appendResponse' as const), index: idx, reject: fc.boolean(), hintIndex: idx, hintTerm: idx }),
  fc.record({ ...base, type: fc.constantFrom('vote' as const, 'preVote' as const), lastIndex: idx, lastTerm: idx, transfer: fc.boolean() }),
  fc.record({ ...base, type: fc.constantFrom('voteResponse' as const, 'preVoteResponse' as const), reject: fc.boolean() }),
  fc.record({ ...base, type: fc.constant('heartbeat' as const), commit: idx, readSeq: idx }),
  fc.record({ ...base, type: fc.constant('heartbeatResponse' as const), readSeq: idx }),
  fc.record({ ...base, type: fc.constant('snapshot' as const), snapshot: fc.record({ meta: fc.record({ index: idx, term: idx, confState }), data: bytes }) }),
  fc.record({ ...base, type: fc.constant('timeoutNow' as const) }),
  fc.record({ ...base, type: fc.constant('propose' as const), entries: fc.array(entry, { maxLength: 3 }) }),
  fc.record({ ...base, type: fc.constant('readIndex' as const), context: bytes }),
  fc.record({ ...base, type: fc.constant('readIndexResponse' as const), index: idx, context: bytes }),
  fc.record({ ...base, type: fc.constant('transferLeader' as const), target: id }),
);

describe('raft messages on the wire', () => {
  it('every message survives encode → bytes → decode unchanged', () => {
    fc.assert(
      fc.property(message, (m) => {
        const wire = raftpb.Message.decode(raftpb.Message.encode(encodeMessage(m)).finish());
        const back = decodeMessage(wire);
        // Bytes decode as Buffer views; compare them as plain arrays.
        const norm = (x: unknown): unknown => {
          if (x instanceof Uint8Array) return [...x];
          if (Array.isArray(x)) return x.map(norm);
          if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, norm(v)]));
          return x;
        };
        expect(norm(back)).toEqual(norm(m));
      }),
      { numRuns: 500 },
    );
  });

  it('an unknown message type is a WireFormatError, not a crash', () => {
    expect(() => decodeMessage({ type: 99 as raftpb.MessageType })).toThrow(WireFormatError);
  });
});
