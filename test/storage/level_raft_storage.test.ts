// LevelRaftStorage specifics: group commit across many groups, staging rules, what an uncommitted
// batch leaves behind (nothing), and refusal of corrupted records on recovery.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RaftInvariantError, RaftUsageError } from '../../src/raft/errors.js';
import { StorageEngine } from '../../src/storage/engine.js';
import { StorageCorruptionError, StorageIOError, StorageUsageError } from '../../src/storage/errors.js';
import { raftHardStateKey, raftLogEntryKey, raftTruncatedStateKey } from '../../src/storage/keys.js';
import { LevelRaftStorage } from '../../src/storage/level_raft_storage.js';
import { MemoryRaftStorage } from '../../src/storage/memory_raft_storage.js';
import { bootstrapUpdate, type RaftPersistUpdate } from '../../src/storage/raft_log_store.js';
import { encodeEntry, encodeHardState, encodeTruncatedState } from '../../src/storage/raft_records.js';
import { confState, entries, makeTempDir, observe, rawDb, removeDir } from './helpers.js';

const CS = confState([1, 2, 3]);

let dir: string;
let engine: StorageEngine;

beforeEach(async () => {
  dir = await makeTempDir();
  engine = await StorageEngine.open(dir);
});

afterEach(async () => {
  await engine.close();
  await removeDir(dir);
});

async function reopenEngine(): Promise<void> {
  await engine.close();
  engine = await StorageEngine.open(dir);
}

describe('group commit', () => {
  it('stages many groups into one batch; one commit persists them all', async () => {
    const groupCount = 300;
    const groups: LevelRaftStorage[] = [];
    const models: MemoryRaftStorage[] = [];
    for (let g = 1; g <= groupCount; g++) {
      groups.push(await LevelRaftStorage.open(engine, g));
      models.push(new MemoryRaftStorage());
    }

    const round = async (updateFor: (g: number, model: MemoryRaftStorage) => RaftPersistUpdate): Promise<void> => {
      const batch = engine.newBatch();
      groups.forEach((storage, k) => {
        const model = models[k] as MemoryRaftStorage;
        const update = updateFor(k + 1, model);
        storage.stage(batch, update);
        model.persist(update);
      });
      await batch.commit({ sync: true });
      expect(batch.state).toBe('committed');
      groups.forEach((storage, k) => expect(observe(storage)).toEqual(observe(models[k] as MemoryRaftStorage)));
    };

    // Round 1: each group bootstraps with its own membership.
    await round((g) => bootstrapUpdate(confState([g, g + 1, g + 2])));
    // Round 2: a different number of entries per group.
    await round((g) => ({ entries: entries(6, 6 + (g % 7), 5 + (g % 2), g % 5), hardState: { term: 6, vote: g % 4, commit: 6 } }));
    // Round 3: half the groups overwrite a suffix, the others append.
    await round((g, model) => {
      const last = model.lastIndex();
      const from = g % 2 === 0 ? Math.max(7, last - 2) : last + 1;
      return { entries: entries(from, from + 1, 7, 3) };
    });

    await reopenEngine();
    for (let g = 1; g <= groupCount; g++) {
      const recovered = await LevelRaftStorage.open(engine, g);
      expect(observe(recovered)).toEqual(observe(models[g - 1] as MemoryRaftStorage));
    }
  });

  it('staging updates the mirror at once; the disk follows when the batch commits', async () => {
    const storage = await LevelRaftStorage.bootstrap(engine, 1, CS);
    const batch = engine.newBatch();
    storage.stage(batch, { entries: entries(6, 8, 5) });
    expect(storage.lastIndex()).toBe(8);
    await reopenEngine();
    expect((await LevelRaftStorage.open(engine, 1)).lastIndex()).toBe(5);
    const again = await LevelRaftStorage.open(engine, 1);
    const second = engine.newBatch();
    again.stage(second, { entries: entries(6, 8, 5) });
    await second.commit({ sync: false });
    await reopenEngine();
    expect((await LevelRaftStorage.open(engine, 1)).lastIndex()).toBe(8);
  });

  it('several writes of one group share a batch, each planned against the one before', async () => {
    const storage = await LevelRaftStorage.bootstrap(engine, 1, CS);
    const batch = engine.newBatch();
    storage.stage(batch, { entries: entries(6, 12, 5), hardState: { term: 5, vote: 1, commit: 10 } });
    storage.stageCreateSnapshot(batch, 10, CS, new Uint8Array(0));
    storage.stageCompact(batch, 9);
    expect(storage.firstIndex()).toBe(10);
    await batch.commit({ sync: true });
    const model = observe(storage);
    await reopenEngine();
    expect(observe(await LevelRaftStorage.open(engine, 1))).toEqual(model);
  });
});

describe('uncommitted writes', () => {
  it('a batch that is never committed leaves no trace after a restart', async () => {
    const storage = await LevelRaftStorage.bootstrap(engine, 3, CS);
    await storage.persist({ entries: entries(6, 9, 5, 8), hardState: { term: 5, vote: 1, commit: 7 } });
    const persisted = observe(storage);

    const batch = engine.newBatch();
    storage.stage(batch, { entries: entries(8, 12, 6, 8), hardState: { term: 6, vote: 2, commit: 7 } });
    const other = await LevelRaftStorage.open(engine, 4);
    other.stage(batch, bootstrapUpdate(CS));
    expect(batch.operationCount).toBeGreaterThan(0);

    // The process "dies" here: the batch is dropped with the engine.
    await reopenEngine();
    expect(observe(await LevelRaftStorage.open(engine, 3))).toEqual(persisted);
    expect(observe(await LevelRaftStorage.open(engine, 4))).toEqual(observe(new MemoryRaftStorage()));
  });

  it('a batch discarded after staging leaves no trace on disk, and the group refuses writes until reopened', async () => {
    const storage = await LevelRaftStorage.bootstrap(engine, 3, CS);
    const batch = engine.newBatch();
    storage.stage(batch, { entries: entries(6, 7, 5) });
    await batch.discard();
    expect(batch.state).toBe('discarded');
    // The mirror ran ahead of a disk that will never catch up: no more writes through it.
    await expect(storage.persist({ entries: entries(8, 8, 5) })).rejects.toThrow(StorageIOError);
    await reopenEngine();
    const reopened = await LevelRaftStorage.open(engine, 3);
    expect(reopened.lastIndex()).toBe(5);
    await reopened.persist({ entries: entries(6, 6, 5) });
    expect(reopened.lastIndex()).toBe(6);
  });
});

describe('staging rules', () => {
  it('refuses writes into a second batch while the first is uncommitted', async () => {
    const storage = await LevelRaftStorage.bootstrap(engine, 1, CS);
    const batch = engine.newBatch();
    storage.stage(batch, { entries: entries(6, 6, 5) });
    expect(() => storage.stage(engine.newBatch(), { entries: entries(7, 7, 5) })).toThrow(RaftUsageError);
    await expect(storage.compact(5)).rejects.toThrow(RaftUsageError);
    await batch.commit({ sync: true });
    storage.stage(engine.newBatch(), { entries: entries(7, 7, 5) });
  });

  it('a rejected update stages nothing', async () => {
    const storage = await LevelRaftStorage.bootstrap(engine, 1, CS);
    const batch = engine.newBatch();
    expect(() => storage.stage(batch, { entries: entries(9, 9, 5), hardState: { term: 5, vote: 1, commit: 5 } })).toThrow(
      RaftInvariantError,
    );
    expect(batch.operationCount).toBe(0);
    // The group is not left claimed by the rejected update.
    storage.stage(batch, { entries: entries(6, 6, 5) });
    await batch.commit({ sync: true });
    expect(storage.lastIndex()).toBe(6);
  });

  it('refuses a batch of another engine', async () => {
    const otherDir = await makeTempDir();
    const other = await StorageEngine.open(otherDir);
    try {
      const storage = await LevelRaftStorage.open(engine, 1);
      expect(() => storage.stage(other.newBatch(), bootstrapUpdate(CS))).toThrow(StorageUsageError);
    } finally {
      await other.close();
      await removeDir(otherDir);
    }
  });

  it('bootstrap refuses an initialised group', async () => {
    await LevelRaftStorage.bootstrap(engine, 1, CS);
    await expect(LevelRaftStorage.bootstrap(engine, 1, CS)).rejects.toThrow(/already initialised/);
  });

  it('stages compaction and membership alongside other groups', async () => {
    const a = await LevelRaftStorage.bootstrap(engine, 1, CS);
    const b = await LevelRaftStorage.bootstrap(engine, 2, CS);
    await a.persist({ entries: entries(6, 20, 5, 2), hardState: { term: 5, vote: 1, commit: 20 } });
    await a.createSnapshot(15, CS, Uint8Array.of(1));
    const batch = engine.newBatch();
    a.stageCompact(batch, 15);
    const joint = { voters: [1, 2, 4], learners: [], votersOutgoing: [1, 2, 3], learnersNext: [3], autoLeave: false };
    b.stageSetConfState(batch, joint);
    await batch.commit({ sync: true });
    expect(a.firstIndex()).toBe(16);
    expect(b.initialState().confState).toEqual(joint);
    await reopenEngine();
    expect((await LevelRaftStorage.open(engine, 1)).firstIndex()).toBe(16);
    expect((await LevelRaftStorage.open(engine, 2)).initialState().confState).toEqual(joint);
  });
});

describe('corruption', () => {
  const GROUP = 7;

  async function persistSample(): Promise<void> {
    const storage = await LevelRaftStorage.bootstrap(engine, GROUP, CS);
    await storage.persist({ entries: entries(6, 12, 5, 16), hardState: { term: 5, vote: 1, commit: 9 } });
    await LevelRaftStorage.bootstrap(engine, GROUP + 1, CS);
    await engine.close();
  }

  /** Rewrites one record directly in LevelDB, then reopens the engine. */
  async function tamper(edit: (db: ReturnType<typeof rawDb>) => Promise<void>): Promise<void> {
    const db = rawDb(dir);
    await db.open();
    try {
      await edit(db);
    } finally {
      await db.close();
    }
    engine = await StorageEngine.open(dir);
  }

  async function openError(): Promise<StorageCorruptionError> {
    const error: unknown = await LevelRaftStorage.open(engine, GROUP).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageCorruptionError);
    return error as StorageCorruptionError;
  }

  it('a flipped byte in an entry is refused, naming the key and the group', async () => {
    await persistSample();
    const key = raftLogEntryKey(GROUP, 9);
    await tamper(async (db) => {
      const value = (await db.get(key)) as Uint8Array;
      const flipped = Uint8Array.from(value);
      flipped[12] = (flipped[12] as number) ^ 0x01;
      await db.put(key, flipped);
    });
    const error = await openError();
    expect(error.groupId).toBe(GROUP);
    expect(error.key).toBe(Buffer.from(key).toString('hex'));
    expect(error.message).toContain('raft-log-entry(group=7, index=9)');
    expect(error.message).toContain('checksum mismatch');
    expect(error.message).toContain('raft group 7');
    // Other groups are unaffected.
    expect((await LevelRaftStorage.open(engine, GROUP + 1)).lastIndex()).toBe(5);
  });

  it('a flipped byte in the hard state is refused', async () => {
    await persistSample();
    const key = raftHardStateKey(GROUP);
    await tamper(async (db) => {
      const value = Uint8Array.from((await db.get(key)) as Uint8Array);
      value[3] = (value[3] as number) ^ 0x80;
      await db.put(key, value);
    });
    expect((await openError()).message).toContain('raft-hard-state(group=7)');
  });

  it('a valid record stored under another key is refused (the checksum covers the key)', async () => {
    await persistSample();
    await tamper(async (db) => {
      const value = (await db.get(raftLogEntryKey(GROUP, 8))) as Uint8Array;
      await db.put(raftLogEntryKey(GROUP, 10), value);
    });
    expect((await openError()).message).toContain('index=10');
  });

  it('a truncated value is refused', async () => {
    await persistSample();
    await tamper(async (db) => {
      const key = raftLogEntryKey(GROUP, 6);
      await db.put(key, ((await db.get(key)) as Uint8Array).subarray(0, 3));
    });
    expect((await openError()).message).toMatch(/too short/);
  });

  it('a gap in the log is refused', async () => {
    await persistSample();
    await tamper((db) => db.del(raftLogEntryKey(GROUP, 8)));
    const error = await openError();
    expect(error.message).toContain('index=9');
    expect(error.message).toContain('gap');
  });

  it('a missing log tail under the commit index is refused', async () => {
    await persistSample();
    await tamper(async (db) => {
      for (let index = 9; index <= 12; index++) await db.del(raftLogEntryKey(GROUP, index));
    });
    expect((await openError()).message).toMatch(/commit index 9 is past the last log index 8/);
  });

  it('a hard state committing past the log is refused', async () => {
    await persistSample();
    await tamper(async (db) => {
      const key = raftHardStateKey(GROUP);
      await db.put(key, encodeHardState(key, { term: 5, vote: 1, commit: 40 }));
    });
    expect((await openError()).message).toContain('raft-hard-state(group=7)');
  });

  it('an entry left below the compaction point is refused', async () => {
    await persistSample();
    await tamper(async (db) => {
      const key = raftLogEntryKey(GROUP, 3);
      await db.put(key, encodeEntry(key, { index: 3, term: 5, kind: 'normal', data: new Uint8Array(0) }));
    });
    expect((await openError()).message).toMatch(/index=3.*compaction point 5/);
  });

  it('a compaction point past the snapshot is refused', async () => {
    await persistSample();
    await tamper(async (db) => {
      const key = raftTruncatedStateKey(GROUP);
      await db.put(key, encodeTruncatedState(key, { index: 7, term: 5 }));
      await db.del(raftLogEntryKey(GROUP, 6));
      await db.del(raftLogEntryKey(GROUP, 7));
    });
    expect((await openError()).message).toContain('raft-truncated-state(group=7)');
  });
});
