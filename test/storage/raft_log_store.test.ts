// Scenario tests of the RaftLogStore contract, run against both implementations. Every scenario
// ends by restarting (a no-op for the memory storage, which is its own disk) and checking that
// everything observable survived.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LogCompactedError,
  LogUnavailableError,
  RaftInvariantError,
  RaftUsageError,
  SnapshotOutOfDateError,
} from '../../src/raft/errors.js';
import { EMPTY_CONF_STATE, EMPTY_HARD_STATE, type Snapshot } from '../../src/raft/types.js';
import type { RaftLogStore } from '../../src/storage/raft_log_store.js';
import {
  confState,
  entries,
  entry,
  levelHarnessFactory,
  memoryHarness,
  observe,
  type Harness,
} from './helpers.js';

const CS = confState([1, 2, 3]);

function snapshotAt(index: number, term: number, cs = CS, data = Uint8Array.of(9, 9)): Snapshot {
  return { meta: { index, term, confState: cs }, data };
}

describe.each([memoryHarness, levelHarnessFactory])('$name', (factory) => {
  let harness: Harness;
  let s: RaftLogStore;

  beforeEach(async () => {
    harness = await factory.create();
    s = harness.storage;
  });

  afterEach(async () => {
    await harness.close();
  });

  /** Restarts and asserts nothing observable changed; returns the restarted storage. */
  async function expectSurvivesRestart(): Promise<RaftLogStore> {
    const before = observe(s);
    s = await harness.reopen();
    expect(observe(s)).toEqual(before);
    return s;
  }

  it('starts empty: snapshot 0, firstIndex 1, lastIndex 0', async () => {
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(s.snapshot().meta).toEqual({ index: 0, term: 0, confState: EMPTY_CONF_STATE });
    expect(s.snapshot().data.byteLength).toBe(0);
    expect(s.initialState()).toEqual({ hardState: EMPTY_HARD_STATE, confState: EMPTY_CONF_STATE });
    expect(s.entries(1, 1, 100)).toEqual([]);
    expect(() => s.term(1)).toThrow(LogUnavailableError);
    expect(() => s.entries(1, 2, 100)).toThrow(LogUnavailableError);
    await expectSurvivesRestart();
  });

  it('appends entries and a hard state, and reads them back', async () => {
    const log = [entry(1, 1, 3), entry(2, 1, 0), entry(3, 2, 5, 'confChange'), entry(4, 2, 1), entry(5, 3, 2)];
    await s.persist({ entries: log, hardState: { term: 3, vote: 2, commit: 2 } });
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(5);
    expect([0, 1, 2, 3, 4, 5].map((i) => s.term(i))).toEqual([0, 1, 1, 2, 2, 3]);
    expect(s.entries(1, 6, Infinity)).toEqual(log);
    expect(s.entries(3, 4, Infinity)[0]?.kind).toBe('confChange');
    expect(s.initialState().hardState).toEqual({ term: 3, vote: 2, commit: 2 });
    await s.persist({ entries: entries(6, 7, 3) });
    expect(s.lastIndex()).toBe(7);
    const restarted = await expectSurvivesRestart();
    expect(restarted.entries(3, 4, Infinity)[0]?.data).toEqual(log[2]?.data);
  });

  it('an append at i replaces the entry at i and everything after it', async () => {
    await s.persist({ entries: entries(1, 6, 1, 4), hardState: { term: 1, vote: 1, commit: 2 } });
    await s.persist({ entries: [entry(3, 2, 1), entry(4, 2, 1)], hardState: { term: 2, vote: 0, commit: 2 } });
    expect(s.lastIndex()).toBe(4);
    expect([1, 2, 3, 4].map((i) => s.term(i))).toEqual([1, 1, 2, 2]);
    expect(() => s.term(5)).toThrow(LogUnavailableError);
    await expectSurvivesRestart();
    // Replacing only the last entry, then growing past the old end again.
    await s.persist({ entries: [entry(4, 3), ...entries(5, 9, 3)] });
    expect(s.lastIndex()).toBe(9);
    expect(s.term(4)).toBe(3);
    await expectSurvivesRestart();
  });

  it('refuses appends that leave a gap or rewrite committed entries, changing nothing', async () => {
    await s.persist({ entries: entries(1, 4, 1), hardState: { term: 1, vote: 1, commit: 2 } });
    const before = observe(s);
    await expect(async () => s.persist({ entries: [entry(6, 1)] })).rejects.toThrow(RaftInvariantError);
    await expect(async () => s.persist({ entries: [entry(2, 2)] })).rejects.toThrow(/committed/);
    await expect(async () => s.persist({ entries: [entry(3, 1), entry(5, 1)] })).rejects.toThrow(/contiguous/);
    await expect(async () => s.persist({ entries: [entry(3, 2), entry(4, 1)] })).rejects.toThrow(/terms decrease/);
    // The entries part is fine, but the hard state is not: the whole update is refused.
    await expect(async () =>
      s.persist({ entries: [entry(5, 1)], hardState: { term: 1, vote: 1, commit: 9 } }),
    ).rejects.toThrow(RaftInvariantError);
    expect(observe(s)).toEqual(before);
    await expectSurvivesRestart();
  });

  it('enforces hard state rules: term and commit never go back, one vote per term', async () => {
    await s.persist({ entries: entries(1, 4, 2), hardState: { term: 2, vote: 1, commit: 3 } });
    await expect(async () => s.persist({ entries: [], hardState: { term: 1, vote: 1, commit: 3 } })).rejects.toThrow(
      /term goes back/,
    );
    await expect(async () => s.persist({ entries: [], hardState: { term: 2, vote: 3, commit: 3 } })).rejects.toThrow(
      /vote changes/,
    );
    await expect(async () => s.persist({ entries: [], hardState: { term: 2, vote: 1, commit: 2 } })).rejects.toThrow(
      /commit index goes back/,
    );
    await s.persist({ entries: [], hardState: { term: 3, vote: 3, commit: 4 } });
    expect(s.initialState().hardState).toEqual({ term: 3, vote: 3, commit: 4 });
    await expectSurvivesRestart();
  });

  it('entries() stops before exceeding maxBytes but returns at least one entry', async () => {
    await s.persist({ entries: entries(1, 5, 1, 10) });
    const indexes = (lo: number, hi: number, maxBytes: number): number[] =>
      s.entries(lo, hi, maxBytes).map((e) => e.index);
    expect(indexes(1, 6, 0)).toEqual([1]);
    expect(indexes(1, 6, 10)).toEqual([1]);
    expect(indexes(1, 6, 19)).toEqual([1]);
    expect(indexes(1, 6, 20)).toEqual([1, 2]);
    expect(indexes(1, 6, 35)).toEqual([1, 2, 3]);
    expect(indexes(1, 6, Infinity)).toEqual([1, 2, 3, 4, 5]);
    expect(indexes(2, 4, 1000)).toEqual([2, 3]);
    expect(indexes(3, 3, 0)).toEqual([]);
    expect(() => s.entries(4, 3, 100)).toThrow(RaftUsageError);
  });

  it('createSnapshot records a snapshot without compacting; compact keeps the term at the compaction point', async () => {
    await s.persist({ entries: [...entries(1, 3, 1), ...entries(4, 8, 2)], hardState: { term: 2, vote: 1, commit: 7 } });
    const snapshot = await s.createSnapshot(5, CS, Uint8Array.of(1, 2, 3));
    expect(snapshot.meta).toEqual({ index: 5, term: 2, confState: CS });
    expect(s.snapshot()).toEqual(snapshot);
    expect(s.firstIndex()).toBe(1);
    // The recorded membership is the caller's to set, not the snapshot's.
    expect(s.initialState().confState).toEqual(EMPTY_CONF_STATE);
    await expectSurvivesRestart();

    await s.compact(3);
    expect(s.firstIndex()).toBe(4);
    expect(s.term(3)).toBe(1);
    expect(() => s.term(2)).toThrow(LogCompactedError);
    expect(s.entries(4, 9, Infinity).map((e) => e.index)).toEqual([4, 5, 6, 7, 8]);
    await expectSurvivesRestart();

    await s.compact(2); // already compacted: a no-op
    await s.compact(3);
    expect(s.firstIndex()).toBe(4);
    await expect(async () => s.compact(6)).rejects.toThrow(RaftUsageError);
    await s.compact(5);
    expect(s.firstIndex()).toBe(6);
    expect(s.term(5)).toBe(2);
    expect(s.lastIndex()).toBe(8);
    await expectSurvivesRestart();
  });

  it('reports compacted and unavailable indexes', async () => {
    await s.persist({ entries: entries(1, 6, 1), hardState: { term: 1, vote: 1, commit: 6 } });
    await s.createSnapshot(3, CS, new Uint8Array(0));
    await s.compact(3);
    expect(() => s.term(2)).toThrow(LogCompactedError);
    expect(s.term(3)).toBe(1);
    expect(() => s.term(7)).toThrow(LogUnavailableError);
    expect(() => s.entries(3, 5, Infinity)).toThrow(LogCompactedError);
    expect(() => s.entries(4, 8, Infinity)).toThrow(LogUnavailableError);
    expect(s.entries(4, 7, Infinity).map((e) => e.index)).toEqual([4, 5, 6]);
    try {
      s.term(1);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LogCompactedError);
      expect((error as LogCompactedError).firstIndex).toBe(4);
    }
  });

  it('createSnapshot refuses an index at or below the snapshot, or past the log', async () => {
    await s.persist({ entries: entries(1, 5, 1), hardState: { term: 1, vote: 1, commit: 5 } });
    await s.createSnapshot(4, CS, new Uint8Array(0));
    await expect(async () => s.createSnapshot(4, CS, new Uint8Array(0))).rejects.toThrow(SnapshotOutOfDateError);
    await expect(async () => s.createSnapshot(3, CS, new Uint8Array(0))).rejects.toThrow(SnapshotOutOfDateError);
    await expect(async () => s.createSnapshot(6, CS, new Uint8Array(0))).rejects.toThrow(LogUnavailableError);
    expect(s.snapshot().meta.index).toBe(4);
  });

  it('a snapshot replaces the whole log, even when the log holds its last entry', async () => {
    // Raft restores a snapshot only when its own view of the log lacks the snapshot's last entry,
    // and then assumes the log ends at the snapshot; a surviving stored suffix would reappear.
    await s.persist({ entries: [...entries(1, 4, 1), ...entries(5, 7, 2, 3)], hardState: { term: 2, vote: 1, commit: 2 } });
    const cs = confState([1, 2, 4], [5]);
    await s.persist({ snapshot: snapshotAt(5, 2, cs), entries: [], hardState: { term: 2, vote: 1, commit: 5 } });
    expect(s.firstIndex()).toBe(6);
    expect(s.lastIndex()).toBe(5);
    expect(s.term(5)).toBe(2);
    expect(() => s.entries(6, 7, Infinity)).toThrow(LogUnavailableError);
    expect(s.snapshot().meta).toEqual({ index: 5, term: 2, confState: cs });
    expect(Array.from(s.snapshot().data)).toEqual([9, 9]);
    expect(s.initialState().confState).toEqual(cs);
    await expectSurvivesRestart();
  });

  it('a snapshot that does not match the log discards the whole log', async () => {
    await s.persist({ entries: entries(1, 6, 1), hardState: { term: 1, vote: 1, commit: 1 } });
    await s.persist({ snapshot: snapshotAt(4, 3), entries: [], hardState: { term: 3, vote: 0, commit: 4 } });
    expect(s.firstIndex()).toBe(5);
    expect(s.lastIndex()).toBe(4);
    expect(s.term(4)).toBe(3);
    expect(s.entries(5, 5, 0)).toEqual([]);
    await expectSurvivesRestart();
    // The log continues from the snapshot.
    await s.persist({ entries: entries(5, 6, 3) });
    expect(s.lastIndex()).toBe(6);
    await expectSurvivesRestart();
  });

  it('a snapshot past the end of the log, with entries in the same update', async () => {
    await s.persist({ entries: entries(1, 3, 1), hardState: { term: 1, vote: 1, commit: 3 } });
    await s.persist({
      snapshot: snapshotAt(10, 2),
      entries: entries(11, 12, 2),
      hardState: { term: 2, vote: 0, commit: 11 },
    });
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(12);
    expect(s.term(10)).toBe(2);
    expect(() => s.term(9)).toThrow(LogCompactedError);
    await expectSurvivesRestart();
  });

  it('an older or equal snapshot is out of date and changes nothing', async () => {
    await s.persist({ snapshot: snapshotAt(5, 2), entries: [], hardState: { term: 2, vote: 0, commit: 5 } });
    const before = observe(s);
    await expect(async () => s.persist({ snapshot: snapshotAt(5, 2), entries: [] })).rejects.toThrow(
      SnapshotOutOfDateError,
    );
    await expect(async () => s.persist({ snapshot: snapshotAt(3, 1), entries: [] })).rejects.toThrow(
      SnapshotOutOfDateError,
    );
    expect(observe(s)).toEqual(before);
  });

  it('setConfState is returned by initialState until a snapshot replaces it', async () => {
    await s.persist({ entries: entries(1, 3, 1), hardState: { term: 1, vote: 1, commit: 3 } });
    const joint = { voters: [1, 2, 4], learners: [], votersOutgoing: [1, 2, 3], learnersNext: [3], autoLeave: true };
    await s.setConfState(joint);
    expect(s.initialState().confState).toEqual(joint);
    await expectSurvivesRestart();
    await s.persist({ snapshot: snapshotAt(8, 2), entries: [], hardState: { term: 2, vote: 0, commit: 8 } });
    expect(s.initialState().confState).toEqual(CS);
    await expectSurvivesRestart();
  });

  it('an overwrite may not reach back into the snapshot', async () => {
    await s.persist({ entries: entries(1, 6, 1), hardState: { term: 1, vote: 1, commit: 3 } });
    await s.createSnapshot(3, CS, new Uint8Array(0));
    await expect(async () => s.persist({ entries: [entry(3, 2)] })).rejects.toThrow(RaftInvariantError);
    await s.persist({ entries: [entry(4, 2)] });
    expect(s.lastIndex()).toBe(4);
    await expectSurvivesRestart();
  });
});

describe.each([memoryHarness, levelHarnessFactory])('$name bootstrap', (factory) => {
  it('starts a new group from snapshot metadata at (5, 5)', async () => {
    const harness = await factory.bootstrap(CS);
    try {
      let s = harness.storage;
      const check = (storage: RaftLogStore): void => {
        expect(storage.snapshot().meta).toEqual({ index: 5, term: 5, confState: CS });
        expect(storage.snapshot().data.byteLength).toBe(0);
        expect(storage.firstIndex()).toBe(6);
        expect(storage.lastIndex()).toBe(5);
        expect(storage.term(5)).toBe(5);
        expect(() => storage.term(4)).toThrow(LogCompactedError);
        expect(storage.initialState()).toEqual({ hardState: { term: 5, vote: 0, commit: 5 }, confState: CS });
      };
      check(s);
      s = await harness.reopen();
      check(s);
      await s.persist({ entries: [entry(6, 6)], hardState: { term: 6, vote: 1, commit: 5 } });
      expect(s.lastIndex()).toBe(6);
      s = await harness.reopen();
      expect(s.lastIndex()).toBe(6);
    } finally {
      await harness.close();
    }
  });

  it('takes an explicit index and term, and refuses nonsense', async () => {
    const harness = await factory.bootstrap(CS, 10, 3);
    try {
      expect(harness.storage.snapshot().meta.index).toBe(10);
      expect(harness.storage.initialState().hardState).toEqual({ term: 3, vote: 0, commit: 10 });
    } finally {
      await harness.close();
    }
    await expect(factory.bootstrap(CS, 0, 0)).rejects.toThrow(RaftUsageError);
  });
});
