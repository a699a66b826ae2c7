// The storage engine of a store: one LevelDB (classic-level) holding every kind of record (see
// keys.ts for the key layout), so one write batch — one fsync — can cover Raft logs, Raft state
// and MVCC data of every group at once.

import { mkdir, readdir, stat } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { StorageFormatError, StorageIOError } from './errors.js';
import { checkFormatMarker, encodeFormatMarker } from './format_marker.js';
import { describeKey, formatMarkerKey } from './keys.js';
import { WriteBatch, type LevelDb } from './write_batch.js';

// LevelDB always writes this file when it creates a database; without it a directory is not one.
const LEVELDB_CURRENT_FILE = 'CURRENT';

export class StorageEngine {
  private closed = false;

  private constructor(
    readonly dir: string,
    /**
     * Raw access for the storage layer's own readers (iterators, getMany). Writes go through
     * newBatch() so they keep the record framing and group commit.
     */
    readonly db: LevelDb,
  ) {}

  /**
   * Opens the store in `dir`, creating it if the directory is missing or empty. Refuses
   * (StorageFormatError) a directory holding anything other than a Cairn store of this format.
   */
  static async open(dir: string): Promise<StorageEngine> {
    await checkDirectory(dir);
    const db: LevelDb = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      createIfMissing: true,
      errorIfExists: false,
    });
    try {
      await db.open();
    } catch (error) {
      throw new StorageIOError(dir, `cannot open LevelDB: ${describeCause(error)}`, { cause: error });
    }
    try {
      await ensureFormatMarker(dir, db);
    } catch (error) {
      await db.close();
      throw error;
    }
    return new StorageEngine(dir, db);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  newBatch(): WriteBatch {
    if (this.closed) throw new StorageIOError(this.dir, 'the storage engine is closed');
    return new WriteBatch(this.db.batch(), this, this.dir);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }
}

async function checkDirectory(dir: string): Promise<void> {
  let names: string[];
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw new StorageFormatError(dir, 'it is not a directory');
    names = await readdir(dir);
  } catch (error) {
    if (error instanceof StorageFormatError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      await mkdir(dir, { recursive: true });
      return;
    }
    throw new StorageIOError(dir, `cannot inspect the directory: ${describeCause(error)}`, { cause: error });
  }
  if (names.length > 0 && !names.includes(LEVELDB_CURRENT_FILE)) {
    const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? `, … (${names.length} entries)` : '');
    throw new StorageFormatError(dir, `it is not empty and holds no LevelDB database (found: ${shown})`);
  }
}

async function ensureFormatMarker(dir: string, db: LevelDb): Promise<void> {
  const key = formatMarkerKey();
  const marker = await db.get(key);
  if (marker !== undefined) {
    checkFormatMarker(dir, marker);
    return;
  }
  // A database with no records at all is one whose creation was interrupted before the marker
  // was written; anything else without a marker belongs to someone else.
  const [firstKey] = await db.keys({ limit: 1 }).all();
  if (firstKey !== undefined) {
    throw new StorageFormatError(
      dir,
      `it holds a LevelDB database without a Cairn format marker (first key ${describeKey(firstKey)})`,
    );
  }
  await db.put(key, encodeFormatMarker(), { sync: true });
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}
