// The Raft log storage of one group, persisted in the store's LevelDB. Reads (the synchronous
// Storage interface the Raft state machine uses) are served from an in-memory mirror: memory held
// = the uncompacted log plus the latest snapshot, so callers bound it by creating snapshots and
// compacting. Writes are staged into a write batch shared with other groups (group commit).
//
// Staging updates the mirror at once, so several writes of one group (a Ready, then a snapshot
// marker and a compaction) can share a batch, each planned against the one before. Until the
// batch commits, the mirror is ahead of the disk; that is safe because nothing is acknowledged
// before the commit (the Raft contract), and a batch that then fails, or is discarded after
// staging, leaves its groups refusing every further write: the store must be reopened, which
// recovers the truth from disk. A failed write is fatal for a store anyway.

import type { ConfState, Entry, HardState, Snapshot } from '../raft/types.js';
import { EMPTY_CONF_STATE, EMPTY_HARD_STATE, EMPTY_SNAPSHOT } from '../raft/types.js';
import { RaftUsageError } from '../raft/errors.js';
import type { StorageEngine } from './engine.js';
import { StorageCorruptionError, StorageIOError, StorageUsageError } from './errors.js';
import {
  raftConfStateKey,
  raftHardStateKey,
  raftLogEntryIndex,
  raftLogEntryKey,
  raftLogEntryRange,
  raftSnapshotKey,
  raftTruncatedStateKey,
} from './keys.js';
import { MemoryRaftStorage, type RaftLogState } from './memory_raft_storage.js';
import { bootstrapUpdate, type RaftLogStore, type RaftPersistUpdate } from './raft_log_store.js';
import {
  planCompact,
  planCreateSnapshot,
  planPersist,
  validateConfState,
  type IndexRange,
} from './raft_log_rules.js';
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
  type TruncatedState,
} from './raft_records.js';
import { RecordDecodeError } from './record.js';
import type { WriteBatch } from './write_batch.js';

// Recovery reads the log in chunks: one await per chunk, never per entry.
const RECOVERY_CHUNK = 1000;

export class LevelRaftStorage implements RaftLogStore {
  /**
   * The batch holding this group's staged, not yet committed writes. Writes staged into another
   * batch meanwhile are refused: two batches committing in either order could leave the disk in
   * a state the mirror never had.
   */
  private pending: WriteBatch | undefined;

  private constructor(
    private readonly engine: StorageEngine,
    readonly groupId: number,
    private mirror: MemoryRaftStorage,
  ) {}

  /**
   * Recovers the group's exact persisted state. One instance per group per engine: two would each
   * mirror the disk and diverge. Throws StorageCorruptionError on any record that fails its
   * checksum or does not fit with the others.
   */
  static async open(engine: StorageEngine, groupId: number): Promise<LevelRaftStorage> {
    if (!Number.isSafeInteger(groupId) || groupId < 0) {
      throw new StorageUsageError(`raft group id must be a non-negative safe integer, got ${groupId}`);
    }
    const mirror = MemoryRaftStorage.restore(await recoverGroup(engine, groupId));
    return new LevelRaftStorage(engine, groupId, mirror);
  }

  /**
   * A storage for a group the caller knows has nothing on disk (a group just created by this
   * process: a peer first contacted, the right half of a split), without reading the engine.
   * Stale keys from an earlier group of the same id were removed when that group was destroyed.
   */
  static fresh(engine: StorageEngine, groupId: number): LevelRaftStorage {
    if (!Number.isSafeInteger(groupId) || groupId < 0) {
      throw new StorageUsageError(`raft group id must be a non-negative safe integer, got ${groupId}`);
    }
    return new LevelRaftStorage(engine, groupId, new MemoryRaftStorage());
  }

  /** Opens the group and persists its bootstrap state (see bootstrapUpdate); it must be blank. */
  static async bootstrap(
    engine: StorageEngine,
    groupId: number,
    confState: ConfState,
    index?: number,
    term?: number,
  ): Promise<LevelRaftStorage> {
    const storage = await LevelRaftStorage.open(engine, groupId);
    if (!storage.mirror.isBlank()) {
      throw new RaftUsageError(`raft group ${groupId} is already initialised; refusing to bootstrap it`);
    }
    await storage.persist(bootstrapUpdate(confState, index, term));
    return storage;
  }

  // ---- Storage (reads, from the mirror) -----------------------------------------------------------

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.mirror.initialState();
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.mirror.entries(lo, hi, maxBytes);
  }

  term(index: number): number {
    return this.mirror.term(index);
  }

  firstIndex(): number {
    return this.mirror.firstIndex();
  }

  lastIndex(): number {
    return this.mirror.lastIndex();
  }

  snapshot(): Snapshot {
    return this.mirror.snapshot();
  }

  // ---- writes: staged into a shared batch ---------------------------------------------------------

  /**
   * Adds `update` to `batch` (validated first: a rejected update stages nothing) and to the
   * mirror. Replaced entries beyond the new last index, and entries a snapshot discards, are
   * deleted in the same batch, so disk never holds a log that did not exist.
   */
  stage(batch: WriteBatch, update: RaftPersistUpdate): void {
    this.beginStage(batch);
    const plan = planPersist(this.mirror, update);
    const { groupId } = this;
    const { snapshot } = plan;
    if (snapshot !== undefined) {
      const snapshotKey = raftSnapshotKey(groupId);
      batch.put(snapshotKey, encodeSnapshot(snapshotKey, snapshot));
      const truncatedKey = raftTruncatedStateKey(groupId);
      const truncated = { index: snapshot.meta.index, term: snapshot.meta.term };
      batch.put(truncatedKey, encodeTruncatedState(truncatedKey, truncated));
      const confKey = raftConfStateKey(groupId);
      batch.put(confKey, encodeConfState(confKey, snapshot.meta.confState));
    }
    for (const range of plan.removed) this.deleteEntries(batch, range);
    for (const entry of plan.entries) {
      const key = raftLogEntryKey(groupId, entry.index);
      batch.put(key, encodeEntry(key, entry));
    }
    if (plan.hardState !== undefined) {
      const key = raftHardStateKey(groupId);
      batch.put(key, encodeHardState(key, plan.hardState));
    }
    this.endStage(batch, () => this.mirror.persist(update));
  }

  /** Stages createSnapshot (readable at once, durable when the batch commits). */
  stageCreateSnapshot(batch: WriteBatch, index: number, confState: ConfState, data: Uint8Array): Snapshot {
    this.beginStage(batch);
    const snapshot = planCreateSnapshot(this.mirror, index, confState, data);
    const key = raftSnapshotKey(this.groupId);
    batch.put(key, encodeSnapshot(key, snapshot));
    this.endStage(batch, () => this.mirror.createSnapshot(index, confState, data));
    return snapshot;
  }

  /** Stages compact; see RaftLogStore.compact for the rule. */
  stageCompact(batch: WriteBatch, compactIndex: number): void {
    this.beginStage(batch);
    const plan = planCompact(this.mirror, compactIndex);
    if (plan === undefined) return;
    // Deleting key by key keeps the compaction atomic with the new truncated state (LevelDB has no
    // range deletion inside a batch); the log is bounded by regular compaction, so this stays small.
    this.deleteEntries(batch, plan.removed);
    const key = raftTruncatedStateKey(this.groupId);
    batch.put(key, encodeTruncatedState(key, { index: plan.compactIndex, term: plan.compactTerm }));
    this.endStage(batch, () => this.mirror.compact(compactIndex));
  }

  /** Stages setConfState, e.g. in the same batch as the applied index it belongs to. */
  stageSetConfState(batch: WriteBatch, cs: ConfState): void {
    this.beginStage(batch);
    validateConfState(cs);
    const key = raftConfStateKey(this.groupId);
    batch.put(key, encodeConfState(key, cs));
    this.endStage(batch, () => this.mirror.setConfState(cs));
  }

  /**
   * Stages the removal of everything this group has on disk (log, hard state, snapshot,
   * membership, compaction point). Afterwards the storage reads as blank; a destroyed group is
   * not written again.
   */
  stageDestroy(batch: WriteBatch): void {
    this.beginStage(batch);
    const { groupId } = this;
    const first = this.mirror.firstIndex();
    const last = this.mirror.lastIndex();
    if (last >= first) this.deleteEntries(batch, { from: first, to: last });
    batch.del(raftHardStateKey(groupId));
    batch.del(raftSnapshotKey(groupId));
    batch.del(raftConfStateKey(groupId));
    batch.del(raftTruncatedStateKey(groupId));
    this.endStage(batch, () => {
      this.mirror = new MemoryRaftStorage();
    });
  }

  // ---- writes: each in its own synced batch -------------------------------------------------------

  async persist(update: RaftPersistUpdate): Promise<void> {
    await this.commitAlone((batch) => this.stage(batch, update));
  }

  async createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    return this.commitAlone((batch) => this.stageCreateSnapshot(batch, index, confState, data));
  }

  async compact(compactIndex: number): Promise<void> {
    await this.commitAlone((batch) => this.stageCompact(batch, compactIndex));
  }

  async setConfState(cs: ConfState): Promise<void> {
    await this.commitAlone((batch) => this.stageSetConfState(batch, cs));
  }

  // ---- internals ----------------------------------------------------------------------------------

  private async commitAlone<T>(stage: (batch: WriteBatch) => T): Promise<T> {
    const batch = this.engine.newBatch();
    let result: T;
    try {
      result = stage(batch);
    } catch (error) {
      await batch.discard();
      throw error;
    }
    await batch.commit({ sync: true });
    return result;
  }

  private beginStage(batch: WriteBatch): void {
    if (batch.owner !== this.engine) {
      throw new StorageUsageError(`raft group ${this.groupId}: the batch belongs to another storage engine`);
    }
    const pending = this.pending;
    if (pending === undefined || pending === batch && batch.state === 'open') return;
    if (pending.state === 'failed' || pending.state === 'discarded') {
      throw new StorageIOError(
        this.engine.dir,
        `raft group ${this.groupId}: a batch holding its writes was ${pending.state === 'failed' ? 'not written' : 'discarded'}, so memory and disk differ; reopen the store`,
      );
    }
    if (pending.state === 'open' || pending.state === 'committing') {
      throw new RaftUsageError(`raft group ${this.groupId} already has writes staged in another uncommitted batch`);
    }
  }

  private endStage(batch: WriteBatch, applyToMirror: () => void): void {
    applyToMirror();
    if (this.pending !== batch) {
      this.pending = batch;
      batch.onCommitted(() => {
        if (this.pending === batch) this.pending = undefined;
      });
    }
  }

  private deleteEntries(batch: WriteBatch, range: IndexRange): void {
    for (let index = range.from; index <= range.to; index++) {
      batch.del(raftLogEntryKey(this.groupId, index));
    }
  }
}

/** Reads and cross-checks everything a group persisted. */
async function recoverGroup(engine: StorageEngine, groupId: number): Promise<RaftLogState> {
  const { db } = engine;
  const hardStateKey = raftHardStateKey(groupId);
  const snapshotKey = raftSnapshotKey(groupId);
  const confStateKey = raftConfStateKey(groupId);
  const truncatedKey = raftTruncatedStateKey(groupId);
  const [hardStateValue, snapshotValue, confStateValue, truncatedValue] = await db.getMany([
    hardStateKey,
    snapshotKey,
    confStateKey,
    truncatedKey,
  ]);

  const decode = <T>(key: Uint8Array, value: Uint8Array, decoder: (k: Uint8Array, v: Uint8Array) => T): T => {
    try {
      return decoder(key, value);
    } catch (error) {
      if (error instanceof RecordDecodeError) throw new StorageCorruptionError(key, error.message, groupId);
      throw error;
    }
  };
  const corrupt = (key: Uint8Array, detail: string): StorageCorruptionError =>
    new StorageCorruptionError(key, detail, groupId);

  const hardState =
    hardStateValue === undefined ? EMPTY_HARD_STATE : decode(hardStateKey, hardStateValue, decodeHardState);
  const snapshot =
    snapshotValue === undefined ? EMPTY_SNAPSHOT : decode(snapshotKey, snapshotValue, decodeSnapshot);
  // Every write of a snapshot that sets the membership also writes this key, so its absence means
  // no membership was ever recorded.
  const confState =
    confStateValue === undefined ? EMPTY_CONF_STATE : decode(confStateKey, confStateValue, decodeConfState);
  const truncated: TruncatedState =
    truncatedValue === undefined
      ? { index: 0, term: 0 }
      : decode(truncatedKey, truncatedValue, decodeTruncatedState);

  const entries: Entry[] = [];
  let previousTerm = truncated.term;
  const iterator = db.iterator(raftLogEntryRange(groupId));
  try {
    for (;;) {
      const chunk = await iterator.nextv(RECOVERY_CHUNK);
      if (chunk.length === 0) break;
      for (const [key, value] of chunk) {
        const index = raftLogEntryIndex(key, groupId);
        if (index === undefined) throw corrupt(key, 'malformed key in the raft log range');
        const expected = truncated.index + 1 + entries.length;
        if (index !== expected) {
          throw corrupt(
            key,
            index < expected
              ? `entry at or below the compaction point ${truncated.index} was not deleted`
              : `log has a gap: expected entry ${expected}`,
          );
        }
        const entry = decode(key, value, (k, v) => decodeEntry(k, v, index));
        if (entry.term < previousTerm) {
          throw corrupt(key, `term ${entry.term} is below the preceding entry's term ${previousTerm}`);
        }
        previousTerm = entry.term;
        entries.push(entry);
      }
    }
  } finally {
    await iterator.close();
  }

  const lastIndex = truncated.index + entries.length;
  const { meta } = snapshot;
  if (truncated.index > meta.index) {
    throw corrupt(truncatedKey, `compaction point ${truncated.index} is past the snapshot at ${meta.index}`);
  }
  if (meta.index > lastIndex) {
    throw corrupt(snapshotKey, `snapshot at ${meta.index} is past the last log index ${lastIndex}`);
  }
  const termAtSnapshot =
    meta.index === truncated.index ? truncated.term : entries[meta.index - truncated.index - 1]?.term;
  if (termAtSnapshot !== meta.term) {
    throw corrupt(
      snapshotKey,
      `snapshot term ${meta.term} differs from the log's term ${termAtSnapshot} at ${meta.index}`,
    );
  }
  if (hardState.commit > lastIndex) {
    throw corrupt(hardStateKey, `commit index ${hardState.commit} is past the last log index ${lastIndex}`);
  }
  return {
    hardState,
    confState,
    snapshot,
    compactIndex: truncated.index,
    compactTerm: truncated.term,
    entries,
  };
}
