// Shared fixtures for the storage tests: temp directories, entry builders, harnesses that give the
// in-memory and the LevelDB storage the same face, and an "everything observable" dump.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { Storage } from '../../src/raft/storage.js';
import type { ConfState, Entry, EntryKind } from '../../src/raft/types.js';
import { StorageEngine } from '../../src/storage/engine.js';
import { LevelRaftStorage } from '../../src/storage/level_raft_storage.js';
import { MemoryRaftStorage } from '../../src/storage/memory_raft_storage.js';
import type { RaftLogStore } from '../../src/storage/raft_log_store.js';

export async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'cairn-storage-test-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Runs `body` with a fresh temp directory, removed afterwards whatever happens. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await makeTempDir();
  try {
    return await body(dir);
  } finally {
    await removeDir(dir);
  }
}

/** Opens the LevelDB under a store directly, for tests that tamper with records. */
export function rawDb(dir: string): ClassicLevel<Uint8Array, Uint8Array> {
  return new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
}

export function entry(index: number, term: number, size = 0, kind: EntryKind = 'normal'): Entry {
  return { index, term, kind, data: new Uint8Array(size).fill((index * 7 + term) % 256) };
}

/** Entries [from, to] all at `term`. */
export function entries(from: number, to: number, term: number, size = 0): Entry[] {
  const result: Entry[] = [];
  for (let index = from; index <= to; index++) result.push(entry(index, term, size));
  return result;
}

export function confState(voters: number[], learners: number[] = []): ConfState {
  return { voters, learners, votersOutgoing: [], learnersNext: [], autoLeave: false };
}

/** Every observable of a storage, as plain data for toEqual with readable diffs. */
export function observe(storage: Storage) {
  const firstIndex = storage.firstIndex();
  const lastIndex = storage.lastIndex();
  const terms: number[] = [];
  for (let index = firstIndex - 1; index <= lastIndex; index++) terms.push(storage.term(index));
  const snapshot = storage.snapshot();
  return {
    initialState: storage.initialState(),
    firstIndex,
    lastIndex,
    terms,
    entries: storage.entries(firstIndex, lastIndex + 1, Number.MAX_SAFE_INTEGER).map((e) => ({
      index: e.index,
      term: e.term,
      kind: e.kind,
      data: Array.from(e.data),
    })),
    snapshot: { meta: snapshot.meta, data: Array.from(snapshot.data) },
  };
}

/** One storage implementation behind a common face; `reopen` simulates a restart. */
export interface Harness {
  readonly storage: RaftLogStore;
  /** What a restarted process would see (the memory storage is its own disk). */
  reopen(): Promise<RaftLogStore>;
  close(): Promise<void>;
}

export interface HarnessFactory {
  readonly name: string;
  create(): Promise<Harness>;
  bootstrap(cs: ConfState, index?: number, term?: number): Promise<Harness>;
}

export const memoryHarness: HarnessFactory = {
  name: 'MemoryRaftStorage',
  async create() {
    const storage = new MemoryRaftStorage();
    return { storage, reopen: async () => storage, close: async () => {} };
  },
  async bootstrap(cs, index, term) {
    const storage = MemoryRaftStorage.bootstrap(cs, index, term);
    return { storage, reopen: async () => storage, close: async () => {} };
  },
};

const LEVEL_GROUP_ID = 42;

async function levelHarness(open: (engine: StorageEngine) => Promise<LevelRaftStorage>): Promise<Harness> {
  const dir = await makeTempDir();
  let engine = await StorageEngine.open(dir);
  let storage: LevelRaftStorage;
  try {
    storage = await open(engine);
  } catch (error) {
    await engine.close();
    await removeDir(dir);
    throw error;
  }
  return {
    get storage() {
      return storage;
    },
    async reopen() {
      await engine.close();
      engine = await StorageEngine.open(dir);
      storage = await LevelRaftStorage.open(engine, LEVEL_GROUP_ID);
      return storage;
    },
    async close() {
      await engine.close();
      await removeDir(dir);
    },
  };
}

export const levelHarnessFactory: HarnessFactory = {
  name: 'LevelRaftStorage',
  create: () => levelHarness((engine) => LevelRaftStorage.open(engine, LEVEL_GROUP_ID)),
  bootstrap: (cs, index, term) =>
    levelHarness((engine) => LevelRaftStorage.bootstrap(engine, LEVEL_GROUP_ID, cs, index, term)),
};
