// A write batch over the store's LevelDB: operations staged by many owners (e.g. the Ready of
// thousands of Raft groups) and committed as ONE atomic LevelDB write with at most ONE fsync —
// group commit, the only way syncs scale (about 6,000 fsyncs a second for the whole machine).
// Owners register hooks that run after the write succeeds, to update in-memory state only once
// it matches what is on disk.

import type { ChainedBatch, ClassicLevel } from 'classic-level';
import { StorageIOError, StorageUsageError } from './errors.js';

export type LevelDb = ClassicLevel<Uint8Array, Uint8Array>;

export type WriteBatchState = 'open' | 'committing' | 'committed' | 'failed' | 'discarded';

export interface CommitOptions {
  /** fsync before resolving: required for anything Raft acknowledges (hard state, entries). */
  readonly sync: boolean;
}

export class WriteBatch {
  private batchState: WriteBatchState = 'open';
  private readonly hooks: Array<() => void> = [];
  private operations = 0;
  private bytes = 0;

  constructor(
    private readonly chained: ChainedBatch<LevelDb, Uint8Array, Uint8Array>,
    /** The engine the batch writes to; owners check it to refuse a batch of another store. */
    readonly owner: object,
    private readonly dir: string,
  ) {}

  get state(): WriteBatchState {
    return this.batchState;
  }

  /** Staged operations, for the caller's bound on batch size. */
  get operationCount(): number {
    return this.operations;
  }

  /** Staged key and value bytes, for the caller's bound on batch size. */
  get byteSize(): number {
    return this.bytes;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.assertOpen('put');
    this.chained.put(key, value);
    this.operations += 1;
    this.bytes += key.byteLength + value.byteLength;
  }

  del(key: Uint8Array): void {
    this.assertOpen('del');
    this.chained.del(key);
    this.operations += 1;
    this.bytes += key.byteLength;
  }

  /** Runs `hook` after a successful commit, in registration order. */
  onCommitted(hook: () => void): void {
    this.assertOpen('onCommitted');
    this.hooks.push(hook);
  }

  /**
   * Writes every staged operation atomically, then runs the hooks. On failure nothing of the batch
   * is applied in memory; whether it reached the disk is unknown (a failed fsync), so owners
   * refuse further writes until the store is reopened and recovers the truth from disk.
   */
  async commit(options: CommitOptions): Promise<void> {
    this.assertOpen('commit');
    this.batchState = 'committing';
    try {
      if (this.operations > 0) await this.chained.write({ sync: options.sync });
      else await this.chained.close();
    } catch (error) {
      this.batchState = 'failed';
      throw new StorageIOError(this.dir, `write batch of ${this.operations} operations failed`, {
        cause: error,
      });
    }
    this.batchState = 'committed';
    // Every hook runs even if one throws: each owner's mirror must catch up with the disk.
    let firstError: unknown;
    let failed = false;
    for (const hook of this.hooks) {
      try {
        hook();
      } catch (error) {
        if (!failed) firstError = error;
        failed = true;
      }
    }
    if (failed) throw firstError;
  }

  /** Drops the batch without writing anything. */
  async discard(): Promise<void> {
    if (this.batchState !== 'open') return;
    this.batchState = 'discarded';
    await this.chained.close();
  }

  private assertOpen(operation: string): void {
    if (this.batchState !== 'open') {
      throw new StorageUsageError(`write batch: ${operation} on a batch that is ${this.batchState}`);
    }
  }
}
