// Property tests of the small pieces Raft is built from: quorum arithmetic, the inflight window,
// the per-follower progress state machine, and the log. Each is checked against a deliberately
// naive model (brute force over the definition, or a plain array).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RaftInvariantError } from '../../src/raft/errors.js';
import { RaftLog } from '../../src/raft/log/raft_log.js';
import { UnstableLog } from '../../src/raft/log/unstable.js';
import { JointConfig } from '../../src/raft/quorum/joint.js';
import { MajorityConfig, type VoteResult } from '../../src/raft/quorum/majority.js';
import { Inflights } from '../../src/raft/tracker/inflights.js';
import { Progress } from '../../src/raft/tracker/progress.js';
import { EMPTY_CONF_STATE, type Entry, type NodeId } from '../../src/raft/types.js';
import { MemoryRaftStorage } from '../../src/storage/memory_raft_storage.js';

const RUNS = 300;

// ---- Quorum arithmetic ----------------------------------------------------------------------------

const MAX_ID = 9;
/** A set of voter ids drawn from 1..MAX_ID (possibly empty). */
const voterSet = fc.uniqueArray(fc.integer({ min: 1, max: MAX_ID }), { maxLength: MAX_ID });
/** An acknowledged index per id 1..MAX_ID, or undefined for "nothing acknowledged yet". */
const ackMap = fc.array(fc.option(fc.nat({ max: 12 }), { nil: undefined }), { minLength: MAX_ID, maxLength: MAX_ID });
/** A vote per id: granted, rejected, or not heard yet. */
const voteMap = fc.array(fc.option(fc.boolean(), { nil: undefined }), { minLength: MAX_ID, maxLength: MAX_ID });

const lookup = <T>(map: readonly (T | undefined)[]) => (id: NodeId): T | undefined => map[id - 1];

/** By definition: the largest index that more than half of the voters have acknowledged (missing = 0). */
function bruteCommitted(voters: readonly NodeId[], acked: (id: NodeId) => number | undefined): number {
  if (voters.length === 0) return Number.POSITIVE_INFINITY;
  const acks = voters.map((id) => acked(id) ?? 0);
  let best = 0;
  for (const candidate of acks) {
    const holders = acks.filter((a) => a >= candidate).length;
    if (holders * 2 > voters.length && candidate > best) best = candidate;
  }
  return best;
}

/** By definition: won once a majority said yes; lost once a majority can no longer say yes. */
function bruteVote(voters: readonly NodeId[], votes: (id: NodeId) => boolean | undefined): VoteResult {
  if (voters.length === 0) return 'won';
  const yes = voters.filter((id) => votes(id) === true).length;
  const missing = voters.filter((id) => votes(id) === undefined).length;
  if (yes * 2 > voters.length) return 'won';
  if ((yes + missing) * 2 <= voters.length) return 'lost';
  return 'pending';
}

describe('MajorityConfig', () => {
  it('committedIndex is the largest index acknowledged by a majority', () => {
    fc.assert(
      fc.property(voterSet, ackMap, (voters, acks) => {
        const acked = lookup(acks);
        expect(new MajorityConfig(voters).committedIndex(acked)).toBe(bruteCommitted(voters, acked));
      }),
      { numRuns: RUNS },
    );
  });

  it('voteResult: won iff yes ≥ quorum, lost iff yes + missing < quorum', () => {
    fc.assert(
      fc.property(voterSet, voteMap, (voters, votes) => {
        const config = new MajorityConfig(voters);
        const v = lookup(votes);
        const result = config.voteResult(v);
        expect(result).toBe(bruteVote(voters, v));
        // The same, stated with the config's own quorum.
        const yes = voters.filter((id) => v(id) === true).length;
        const missing = voters.filter((id) => v(id) === undefined).length;
        if (voters.length > 0) {
          expect(result === 'won').toBe(yes >= config.quorum());
          expect(result === 'lost').toBe(yes + missing < config.quorum());
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('the empty config has committed everything and wins every vote', () => {
    const empty = new MajorityConfig();
    expect(empty.committedIndex(() => 3)).toBe(Number.POSITIVE_INFINITY);
    expect(empty.committedIndex(() => undefined)).toBe(Number.POSITIVE_INFINITY);
    expect(empty.voteResult(() => false)).toBe('won');
    expect(empty.voteResult(() => undefined)).toBe('won');
  });
});

describe('JointConfig', () => {
  it('committedIndex is the minimum of the two halves', () => {
    fc.assert(
      fc.property(voterSet, voterSet, ackMap, (incoming, outgoing, acks) => {
        const acked = lookup(acks);
        const joint = new JointConfig(new MajorityConfig(incoming), new MajorityConfig(outgoing));
        expect(joint.committedIndex(acked)).toBe(Math.min(bruteCommitted(incoming, acked), bruteCommitted(outgoing, acked)));
      }),
      { numRuns: RUNS },
    );
  });

  it('voteResult combines the halves: won only if both won, lost if either lost, else pending', () => {
    const table: Record<VoteResult, Record<VoteResult, VoteResult>> = {
      won: { won: 'won', pending: 'pending', lost: 'lost' },
      pending: { won: 'pending', pending: 'pending', lost: 'lost' },
      lost: { won: 'lost', pending: 'lost', lost: 'lost' },
    };
    const seen = new Set<string>();
    fc.assert(
      fc.property(voterSet, voterSet, voteMap, (incoming, outgoing, votes) => {
        const v = lookup(votes);
        const joint = new JointConfig(new MajorityConfig(incoming), new MajorityConfig(outgoing));
        const a = bruteVote(incoming, v);
        const b = bruteVote(outgoing, v);
        seen.add(`${a}/${b}`);
        expect(joint.voteResult(v)).toBe(table[a][b]);
      }),
      { numRuns: 1000 },
    );
    // The generator reached every cell of the table.
    expect(seen.size).toBe(9);
  });

  it('with an empty outgoing half it behaves exactly like the incoming half', () => {
    fc.assert(
      fc.property(voterSet, ackMap, voteMap, (incoming, acks, votes) => {
        const half = new MajorityConfig(incoming);
        const joint = new JointConfig(half, new MajorityConfig());
        expect(joint.isJoint).toBe(false);
        expect(joint.committedIndex(lookup(acks))).toBe(half.committedIndex(lookup(acks)));
        expect(joint.voteResult(lookup(votes))).toBe(half.voteResult(lookup(votes)));
        expect(joint.ids()).toEqual([...incoming].sort((x, y) => x - y));
      }),
      { numRuns: RUNS },
    );
  });
});

// ---- Inflights ------------------------------------------------------------------------------------

type InflightOp =
  | { readonly op: 'add'; readonly delta: number; readonly bytes: number }
  | { readonly op: 'extendLast'; readonly delta: number; readonly bytes: number }
  | { readonly op: 'freeLE'; readonly offset: number }
  | { readonly op: 'freeFirstOne' }
  | { readonly op: 'reset' };

const inflightOp: fc.Arbitrary<InflightOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('add' as const), delta: fc.integer({ min: -1, max: 4 }), bytes: fc.nat({ max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('extendLast' as const), delta: fc.integer({ min: 0, max: 3 }), bytes: fc.nat({ max: 40 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('freeLE' as const), offset: fc.integer({ min: -12, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('freeFirstOne' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reset' as const) }) },
);

describe('Inflights', () => {
  it('agrees with an array model under random add / freeLE / freeFirstOne / extendLast / reset', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 1, max: 120 })),
        fc.array(inflightOp, { maxLength: 60 }),
        (capacity, maxBytes, ops) => {
          const inflights = new Inflights(capacity, maxBytes);
          let model: Array<{ index: number; bytes: number }> = [];
          let cursor = 10; // the last index ever added, so indexes keep moving forward
          const modelBytes = (): number => model.reduce((sum, x) => sum + x.bytes, 0);
          const modelFull = (): boolean => model.length === capacity || modelBytes() >= maxBytes;

          for (const o of ops) {
            switch (o.op) {
              case 'add': {
                const last = model.at(-1)?.index ?? cursor;
                const index = last + o.delta;
                if (modelFull() || (model.length > 0 && index <= last)) {
                  // A full window, or an index that does not follow the last one, is a caller bug.
                  expect(() => inflights.add(index, o.bytes)).toThrow(RaftInvariantError);
                } else {
                  inflights.add(index, o.bytes);
                  model.push({ index, bytes: o.bytes });
                  cursor = Math.max(cursor, index);
                }
                break;
              }
              case 'extendLast': {
                const last = model.at(-1);
                const index = (last?.index ?? cursor) + o.delta;
                if (last === undefined || o.delta === 0) {
                  expect(() => inflights.extendLast(index, o.bytes)).toThrow(RaftInvariantError);
                } else {
                  inflights.extendLast(index, o.bytes);
                  model[model.length - 1] = { index, bytes: last.bytes + o.bytes };
                  cursor = Math.max(cursor, index);
                }
                break;
              }
              case 'freeLE': {
                const index = (model.at(-1)?.index ?? cursor) + o.offset;
                inflights.freeLE(index);
                model = model.filter((x) => x.index > index);
                break;
              }
              case 'freeFirstOne':
                inflights.freeFirstOne();
                model = model.slice(1);
                break;
              case 'reset':
                inflights.reset();
                model = [];
                break;
            }
            expect(inflights.count).toBe(model.length);
            expect(inflights.totalBytes).toBe(modelBytes());
            expect(inflights.full()).toBe(modelFull());
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

// ---- Progress ------------------------------------------------------------------------------------

type ProgressOp =
  | { readonly op: 'sentEntries'; readonly entries: number; readonly bytes: number; readonly merged: boolean }
  | { readonly op: 'maybeUpdate'; readonly n: number }
  | { readonly op: 'maybeDecrTo'; readonly probeReject: boolean; readonly rejected: number; readonly hint: number }
  | { readonly op: 'becomeProbe' }
  | { readonly op: 'becomeReplicate' }
  | { readonly op: 'becomeSnapshot'; readonly ahead: number };

const progressOp: fc.Arbitrary<ProgressOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('sentEntries' as const), entries: fc.nat({ max: 4 }), bytes: fc.nat({ max: 10 }), merged: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('maybeUpdate' as const), n: fc.nat({ max: 40 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('maybeDecrTo' as const),
      probeReject: fc.boolean(),
      rejected: fc.nat({ max: 40 }),
      hint: fc.nat({ max: 40 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('becomeProbe' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('becomeReplicate' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('becomeSnapshot' as const), ahead: fc.nat({ max: 8 }) }) },
);

describe('Progress', () => {
  it('keeps match < next under random transitions; maybeDecrTo never moves next below match + 1', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10 }), fc.integer({ min: 1, max: 4 }), fc.array(progressOp, { maxLength: 60 }), (match, maxInflight, ops) => {
        const pr = new Progress({ match, next: match + 1, isLearner: false, maxInflight, maxInflightBytes: Number.POSITIVE_INFINITY });
        for (const o of ops) {
          const before = { match: pr.match, next: pr.next, state: pr.state };
          switch (o.op) {
            case 'sentEntries':
              // As the leader does: only to a follower that is not paused, continuing from next.
              if (pr.isPaused()) break;
              pr.sentEntries(o.entries, pr.next - 1 + o.entries, o.bytes, o.merged);
              expect(pr.match).toBe(before.match);
              if (before.state === 'replicate') expect(pr.next).toBe(before.next + o.entries);
              if (before.state === 'probe') expect(pr.isPaused()).toBe(true);
              break;
            case 'maybeUpdate': {
              const updated = pr.maybeUpdate(o.n);
              expect(updated).toBe(o.n > before.match);
              expect(pr.match).toBe(Math.max(before.match, o.n));
              expect(pr.next).toBeGreaterThanOrEqual(before.next);
              break;
            }
            case 'maybeDecrTo': {
              // Half the time reject exactly the outstanding probe (the realistic case), else anything.
              const rejected = o.probeReject ? pr.next - 1 : o.rejected;
              const changed = pr.maybeDecrTo(rejected, o.hint);
              expect(pr.match).toBe(before.match);
              if (changed) {
                expect(pr.next).toBeGreaterThanOrEqual(pr.match + 1);
                expect(pr.next).toBeLessThanOrEqual(before.next);
                // As the leader does on a rejection (handleAppendResponse): a replicating follower
                // drops back to probing, which empties the window of appends now known lost.
                if (pr.state === 'replicate') pr.becomeProbe();
              } else {
                expect(pr.next).toBe(before.next);
              }
              break;
            }
            case 'becomeProbe':
              pr.becomeProbe();
              expect(pr.state).toBe('probe');
              expect(pr.isPaused()).toBe(false);
              break;
            case 'becomeReplicate':
              pr.becomeReplicate();
              expect(pr.state).toBe('replicate');
              expect(pr.next).toBe(pr.match + 1);
              break;
            case 'becomeSnapshot':
              // A snapshot is sent only when the follower needs compacted entries: it is never
              // behind what the follower has acknowledged.
              pr.becomeSnapshot(pr.match + o.ahead);
              expect(pr.state).toBe('snapshot');
              expect(pr.isPaused()).toBe(true);
              break;
          }
          expect(pr.match).toBeLessThan(pr.next);
          expect(pr.inflights.count).toBeLessThanOrEqual(maxInflight);
          if (pr.state !== 'replicate') expect(pr.inflights.count).toBe(0);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

// ---- The log ---------------------------------------------------------------------------------------

const payload = (index: number, term: number): Uint8Array => new TextEncoder().encode(`${index}@${term}`);
const entry = (index: number, term: number): Entry => ({ index, term, kind: 'normal', data: payload(index, term) });
const show = (es: readonly Entry[]): string[] => es.map((e) => `${e.index}@${e.term}:${new TextDecoder().decode(e.data)}`);

type UnstableOp =
  | { readonly op: 'truncateAndAppend'; readonly back: number; readonly terms: readonly number[] }
  | { readonly op: 'stableTo'; readonly back: number; readonly rightTerm: boolean };

const unstableOp: fc.Arbitrary<UnstableOp> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('truncateAndAppend' as const),
      back: fc.nat({ max: 8 }),
      terms: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('stableTo' as const), back: fc.nat({ max: 8 }), rightTerm: fc.boolean() }) },
);

describe('UnstableLog', () => {
  it('truncateAndAppend and stableTo agree with an array model', () => {
    const cases = new Set<string>();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(unstableOp, { maxLength: 40 }), (offset0, ops) => {
        const u = new UnstableLog(offset0);
        let offset = offset0;
        let model: Entry[] = []; // model[k] is the entry at offset + k
        for (const o of ops) {
          const end = offset + model.length; // where the next appended entry would go
          if (o.op === 'truncateAndAppend') {
            // Anywhere from the end back to before the offset (which replaces everything), never below 1.
            const from = Math.max(1, end - o.back);
            const fresh = o.terms.map((t, k) => entry(from + k, t));
            cases.add(from === end ? 'append' : from <= offset ? 'replace-all' : 'truncate-suffix');
            u.truncateAndAppend(fresh);
            const kept = model.filter((e) => e.index < from);
            model = [...kept, ...fresh];
            offset = Math.min(offset, from);
          } else {
            const index = end - o.back;
            const t = index >= offset && index < end ? model[index - offset]!.term : undefined;
            const term = o.rightTerm && t !== undefined ? t : (t ?? 0) + 1;
            u.stableTo(index, term);
            cases.add(t !== undefined && t === term ? 'stable' : 'stable-ignored');
            if (t !== undefined && t === term) {
              model = model.slice(index + 1 - offset);
              offset = index + 1;
            }
          }
          expect(u.offset).toBe(offset);
          expect(show(u.entries)).toEqual(show(model));
          const last = model.length > 0 ? offset + model.length - 1 : undefined;
          expect(u.maybeLastIndex()).toBe(last);
          for (let i = Math.max(0, offset - 2); i <= offset + model.length + 1; i++) {
            const inModel = i >= offset && i < offset + model.length ? model[i - offset]!.term : undefined;
            expect(u.maybeTerm(i)).toBe(inModel);
          }
          if (model.length > 0) expect(show(u.slice(offset, offset + model.length))).toEqual(show(model));
        }
      }),
      { numRuns: RUNS },
    );
    expect([...cases].sort()).toEqual(['append', 'replace-all', 'stable', 'stable-ignored', 'truncate-suffix']);
  });
});

type LogOp =
  | {
      readonly op: 'maybeAppend';
      readonly back: number;
      readonly badPrev: boolean;
      readonly bumps: readonly number[];
      readonly commitAhead: number;
    }
  | { readonly op: 'persist' }
  | { readonly op: 'findConflict'; readonly start: number; readonly bumps: readonly number[] };

const logOp: fc.Arbitrary<LogOp> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('maybeAppend' as const),
      back: fc.nat({ max: 6 }),
      badPrev: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
      bumps: fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 5 }),
      commitAhead: fc.integer({ min: -6, max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('persist' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('findConflict' as const),
      start: fc.integer({ min: 1, max: 25 }),
      bumps: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 5 }),
    }),
  },
);

describe('RaftLog.maybeAppend', () => {
  it('agrees with an array model, never changes an entry at or below commit, and refuses to', () => {
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(fc.array(logOp, { maxLength: 40 }), fc.integer({ min: 1, max: 3 }), (ops, startTerm) => {
        const storage = new MemoryRaftStorage();
        const log = new RaftLog(storage, Number.POSITIVE_INFINITY);
        let model: Entry[] = []; // model[i - 1] is the entry at index i
        let commit = 0;
        const termOf = (i: number): number | undefined => (i === 0 ? 0 : model[i - 1]?.term);

        for (const o of ops) {
          const before = show(model.slice(0, commit));
          const last = model.length;
          if (o.op === 'maybeAppend') {
            const prev = Math.max(0, last - o.back);
            const prevTerm = termOf(prev)!;
            // Terms never decrease along the message, starting from the term at prev.
            let t = Math.max(prevTerm, startTerm);
            const fresh = o.bumps.map((bump, k) => entry(prev + 1 + k, (t += bump)));
            const leaderCommit = Math.max(0, prev + fresh.length + o.commitAhead);
            const logTerm = o.badPrev ? prevTerm + 1 : prevTerm;
            const lastNew = prev + fresh.length;

            if (o.badPrev) {
              // The log does not hold (prev, logTerm): nothing happens.
              expect(log.maybeAppend(prev, logTerm, leaderCommit, fresh)).toBeUndefined();
              outcomes.add('mismatch');
            } else {
              const conflict = fresh.find((e) => termOf(e.index) !== e.term)?.index ?? 0;
              if (conflict !== 0 && conflict <= commit) {
                // Overwriting a committed entry would lose an acknowledged write: the node must stop.
                expect(() => log.maybeAppend(prev, logTerm, leaderCommit, fresh)).toThrow(RaftInvariantError);
                outcomes.add('refused');
              } else {
                outcomes.add(conflict === 0 ? 'present' : conflict <= storage.lastIndex() ? 'overwrote-persisted' : 'appended');
                expect(log.maybeAppend(prev, logTerm, leaderCommit, fresh)).toBe(lastNew);
                if (conflict !== 0) model = [...model.slice(0, conflict - 1), ...fresh.slice(conflict - prev - 1)];
                commit = Math.max(commit, Math.min(leaderCommit, lastNew));
              }
            }
          } else if (o.op === 'persist') {
            // The caller persists the unstable entries (replacing any suffix the storage had).
            const unstable = log.unstableEntries().slice();
            const lastUnstable = unstable.at(-1);
            if (lastUnstable !== undefined) {
              storage.persist({ entries: unstable });
              log.stableTo(lastUnstable.index, lastUnstable.term);
            }
            expect(log.unstableEntries()).toHaveLength(0);
          } else {
            let t = startTerm;
            const probe = o.bumps.map((bump, k) => entry(o.start + k, (t += bump)));
            const expected = probe.find((e) => termOf(e.index) !== e.term)?.index ?? 0;
            expect(log.findConflict(probe)).toBe(expected);
          }

          // The log agrees with the model everywhere.
          expect(log.lastIndex()).toBe(model.length);
          expect(log.committed).toBe(commit);
          for (let i = 0; i <= model.length; i++) expect(log.term(i)).toBe(termOf(i));
          expect(log.term(model.length + 1)).toBeUndefined();
          if (model.length > 0) expect(show(log.slice(1, model.length + 1, Number.POSITIVE_INFINITY))).toEqual(show(model));
          expect(log.findConflict(model)).toBe(0);
          // Nothing at or below the commit index ever changed.
          expect(show(model.slice(0, before.length))).toEqual(before);
        }
      }),
      { numRuns: RUNS },
    );
    // Every branch was exercised.
    expect([...outcomes].sort()).toEqual(['appended', 'mismatch', 'overwrote-persisted', 'present', 'refused']);
  });
});

describe('RaftLog.findConflictByTerm', () => {
  /** Non-decreasing terms for indexes 1..n. */
  const termsArb = fc
    .array(fc.integer({ min: 0, max: 2 }), { maxLength: 30 })
    .map((bumps) => {
      let t = 1;
      return bumps.map((b) => (t += b));
    });

  function logOf(terms: readonly number[], persisted: number): RaftLog {
    const storage = new MemoryRaftStorage();
    const entries = terms.map((t, k) => entry(k + 1, t));
    if (persisted > 0) storage.persist({ entries: entries.slice(0, persisted) });
    const log = new RaftLog(storage, Number.POSITIVE_INFINITY);
    // The rest sits in the unstable part.
    log.append(entries.slice(persisted));
    return log;
  }

  it('returns the largest index ≤ i whose term is ≤ t', () => {
    fc.assert(
      fc.property(termsArb, fc.nat({ max: 35 }), fc.nat({ max: 80 }), fc.nat({ max: 100 }), (terms, i, t, split) => {
        const log = logOf(terms, Math.floor((split / 100) * terms.length));
        const term = Math.min(t, (terms.at(-1) ?? 1) + 1);
        const termAt = (j: number): number => (j === 0 ? 0 : terms[j - 1]!);
        let j = Math.min(i, terms.length);
        while (termAt(j) > term) j--;
        expect(log.findConflictByTerm(i, term)).toEqual({ index: j, term: termAt(j) });
      }),
      { numRuns: RUNS },
    );
  });

  it('stops with term 0 where the search reaches compacted entries', () => {
    fc.assert(
      fc.property(termsArb, fc.nat({ max: 35 }), fc.nat({ max: 8 }), fc.nat({ max: 100 }), (terms, i, t, cut) => {
        const storage = new MemoryRaftStorage();
        const entries = terms.map((term, k) => entry(k + 1, term));
        if (entries.length > 0) storage.persist({ entries });
        const compactAt = Math.floor((cut / 100) * terms.length);
        if (compactAt > 0) {
          storage.createSnapshot(compactAt, EMPTY_CONF_STATE, new Uint8Array(0));
          storage.compact(compactAt);
        }
        const log = new RaftLog(storage, Number.POSITIVE_INFINITY);
        // Known terms: the compaction point (its term is kept) and everything after it.
        const termAt = (j: number): number | undefined => (j < compactAt ? undefined : j === 0 ? 0 : terms[j - 1]);
        let j = Math.min(i, terms.length);
        let expected: { index: number; term: number } | undefined;
        for (;;) {
          const tj = termAt(j);
          if (tj === undefined) {
            expected = { index: j, term: 0 };
            break;
          }
          if (tj <= t) {
            expected = { index: j, term: tj };
            break;
          }
          j--;
        }
        expect(log.findConflictByTerm(i, t)).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });
});
