// Model-based property: random sequences of valid Raft log mutations applied to MemoryRaftStorage
// (the model) and LevelRaftStorage must agree on every observable after every step, and after
// closing and reopening the engine the LevelDB storage must recover exactly the model's state.
//
// Operations are generated as "intents" (fractions, offsets) and resolved against the model's
// current state, so every generated sequence is a legal one that Raft could produce.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConfState, Entry, HardState, Snapshot } from '../../src/raft/types.js';
import { StorageEngine } from '../../src/storage/engine.js';
import { LevelRaftStorage } from '../../src/storage/level_raft_storage.js';
import { MemoryRaftStorage } from '../../src/storage/memory_raft_storage.js';
import type { RaftPersistUpdate } from '../../src/storage/raft_log_store.js';
import { observe, withTempDir } from './helpers.js';

const GROUP_ID = 7;

type Intent =
  | {
      readonly kind: 'append';
      readonly back: number;
      readonly sizes: readonly number[];
      readonly termBump: number;
      readonly hardState: HardStateIntent | null;
    }
  | { readonly kind: 'hardState'; readonly hardState: HardStateIntent }
  | {
      readonly kind: 'snapshotAndCompact';
      readonly snapshotFraction: number;
      readonly compactFraction: number;
      readonly data: Uint8Array;
      readonly confState: ConfState;
    }
  | {
      readonly kind: 'applySnapshot';
      readonly mode: 'match' | 'mismatch' | 'beyond';
      readonly fraction: number;
      readonly ahead: number;
      readonly data: Uint8Array;
      readonly confState: ConfState;
      readonly withEntries: number;
    }
  | { readonly kind: 'setConfState'; readonly confState: ConfState }
  | { readonly kind: 'reopen' };

interface HardStateIntent {
  readonly termBump: number;
  readonly vote: number;
  readonly commitFraction: number;
}

const nodeIds = fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 4 });
const confStateArb: fc.Arbitrary<ConfState> = fc.record({
  voters: nodeIds,
  learners: nodeIds,
  votersOutgoing: nodeIds,
  learnersNext: nodeIds,
  autoLeave: fc.boolean(),
});
// Integers rather than fc.double: doubles are biased towards tiny values, which would leave the
// commit index (and so snapshots and compaction) stuck near zero.
const fraction = fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000);
const hardStateIntent: fc.Arbitrary<HardStateIntent> = fc.record({
  termBump: fc.integer({ min: 0, max: 1 }),
  vote: fc.integer({ min: 0, max: 3 }),
  commitFraction: fraction,
});
const data = fc.uint8Array({ maxLength: 24 });

const intentArb: fc.Arbitrary<Intent> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      back: fc.integer({ min: 0, max: 6 }),
      sizes: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 0, maxLength: 8 }),
      termBump: fc.integer({ min: 0, max: 2 }),
      hardState: fc.option(hardStateIntent),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('hardState' as const), hardState: hardStateIntent }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('snapshotAndCompact' as const),
      snapshotFraction: fraction,
      compactFraction: fraction,
      data,
      confState: confStateArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('applySnapshot' as const),
      mode: fc.constantFrom('match' as const, 'mismatch' as const, 'beyond' as const),
      fraction,
      ahead: fc.integer({ min: 0, max: 5 }),
      data,
      confState: confStateArb,
      withEntries: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('setConfState' as const), confState: confStateArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
);

function pick(low: number, high: number, f: number): number {
  return low + Math.min(high - low, Math.floor(f * (high - low + 1)));
}

function resolveHardState(model: MemoryRaftStorage, intent: HardStateIntent, lastIndex: number, minTerm: number): HardState {
  const current = model.initialState().hardState;
  const term = Math.max(current.term, minTerm) + intent.termBump;
  const vote = term === current.term && current.vote !== 0 ? current.vote : intent.vote;
  const commit = pick(current.commit, lastIndex, intent.commitFraction);
  return { term, vote, commit };
}

function payload(index: number, size: number, salt: number): Uint8Array {
  return new Uint8Array(size).fill((index * 31 + salt) % 256);
}

/** Resolves an append intent into an update valid for the model's current state. */
function resolveAppend(model: MemoryRaftStorage, intent: Extract<Intent, { kind: 'append' }>, salt: number): RaftPersistUpdate {
  const current = model.initialState().hardState;
  const lastIndex = model.lastIndex();
  const floor = Math.max(model.snapshot().meta.index, current.commit) + 1;
  const start = Math.max(floor, lastIndex + 1 - intent.back);
  const term = Math.max(model.term(start - 1), 1) + intent.termBump;
  const entries: Entry[] = intent.sizes.map((size, k) => ({
    index: start + k,
    term,
    kind: k % 3 === 2 ? 'confChange' : 'normal',
    data: payload(start + k, size, salt),
  }));
  const newLast = entries.length > 0 ? start + entries.length - 1 : lastIndex;
  const update: RaftPersistUpdate = { entries };
  if (intent.hardState !== null) {
    update.hardState = resolveHardState(model, intent.hardState, newLast, entries.length > 0 ? term : 0);
  }
  return update;
}

function resolveSnapshot(
  model: MemoryRaftStorage,
  intent: Extract<Intent, { kind: 'applySnapshot' }>,
  salt: number,
): RaftPersistUpdate {
  const current = model.initialState().hardState;
  const lastIndex = model.lastIndex();
  // Raft restores a snapshot only past its commit index.
  const low = Math.max(model.snapshot().meta.index, current.commit) + 1;
  let index: number;
  let term: number;
  if (intent.mode !== 'beyond' && low <= lastIndex) {
    index = pick(low, lastIndex, intent.fraction);
    term = model.term(index) + (intent.mode === 'mismatch' ? 1 : 0);
  } else {
    index = Math.max(low, lastIndex + 1) + intent.ahead;
    term = Math.max(model.term(lastIndex), 1) + (intent.ahead % 2);
  }
  const snapshot: Snapshot = { meta: { index, term, confState: intent.confState }, data: intent.data };
  const hardTerm = Math.max(current.term, term);
  const entries: Entry[] = [];
  const keepsLog = index <= lastIndex && model.term(index) === term;
  // Entries may follow the snapshot in the same update only where the log is being rebuilt.
  if (!keepsLog) {
    for (let k = 0; k < intent.withEntries; k++) {
      entries.push({ index: index + 1 + k, term, kind: 'normal', data: payload(index + 1 + k, k, salt) });
    }
  }
  return {
    snapshot,
    entries,
    hardState: { term: hardTerm, vote: hardTerm === current.term ? current.vote : 0, commit: index },
  };
}

interface Subject {
  engine: StorageEngine;
  storage: LevelRaftStorage;
}

async function reopen(dir: string, subject: Subject): Promise<void> {
  await subject.engine.close();
  subject.engine = await StorageEngine.open(dir);
  subject.storage = await LevelRaftStorage.open(subject.engine, GROUP_ID);
}

async function step(dir: string, model: MemoryRaftStorage, subject: Subject, intent: Intent, salt: number): Promise<void> {
  switch (intent.kind) {
    case 'append': {
      const update = resolveAppend(model, intent, salt);
      model.persist(update);
      await subject.storage.persist(update);
      return;
    }
    case 'hardState': {
      const update = { entries: [], hardState: resolveHardState(model, intent.hardState, model.lastIndex(), 0) };
      model.persist(update);
      await subject.storage.persist(update);
      return;
    }
    case 'snapshotAndCompact': {
      const snapshotIndex = model.snapshot().meta.index;
      // A snapshot is taken at or below the applied (here: committed) index.
      const high = Math.min(model.initialState().hardState.commit, model.lastIndex());
      if (snapshotIndex < high) {
        const index = pick(snapshotIndex + 1, high, intent.snapshotFraction);
        const expected = model.createSnapshot(index, intent.confState, intent.data);
        expect(await subject.storage.createSnapshot(index, intent.confState, intent.data)).toEqual(expected);
      }
      const compactIndex = pick(model.firstIndex() - 1, model.snapshot().meta.index, intent.compactFraction);
      model.compact(compactIndex);
      await subject.storage.compact(compactIndex);
      return;
    }
    case 'applySnapshot': {
      const update = resolveSnapshot(model, intent, salt);
      model.persist(update);
      await subject.storage.persist(update);
      return;
    }
    case 'setConfState':
      model.setConfState(intent.confState);
      await subject.storage.setConfState(intent.confState);
      return;
    case 'reopen':
      await reopen(dir, subject);
      return;
  }
}

describe('LevelRaftStorage against the MemoryRaftStorage model', () => {
  it('agrees on every observable after every step and after reopening', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(intentArb, { minLength: 1, maxLength: 60, size: 'medium' }), async (intents) => {
        await withTempDir(async (dir) => {
          const model = new MemoryRaftStorage();
          const engine = await StorageEngine.open(dir);
          const subject: Subject = { engine, storage: await LevelRaftStorage.open(engine, GROUP_ID) };
          try {
            let salt = 0;
            for (const intent of intents) {
              await step(dir, model, subject, intent, salt++);
              expect(observe(subject.storage)).toEqual(observe(model));
            }
            await reopen(dir, subject);
            expect(observe(subject.storage)).toEqual(observe(model));
          } finally {
            await subject.engine.close();
          }
        });
      }),
      { numRuns: 50 },
    );
  });
});
