// The storage engine: what it accepts as a data directory, what it refuses, and write batches.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageEngine } from '../../src/storage/engine.js';
import {
  StorageCorruptionError,
  StorageFormatError,
  StorageIOError,
  StorageUsageError,
} from '../../src/storage/errors.js';
import { STORAGE_FORMAT_MAGIC, STORAGE_FORMAT_VERSION } from '../../src/storage/format_marker.js';
import { formatMarkerKey } from '../../src/storage/keys.js';
import { RecordWriter } from '../../src/storage/record.js';
import { makeTempDir, rawDb, removeDir } from './helpers.js';

let dir: string;

beforeEach(async () => {
  dir = await makeTempDir();
});

afterEach(async () => {
  await removeDir(dir);
});

async function openError(path: string): Promise<Error> {
  const error: unknown = await StorageEngine.open(path).then(
    async (engine) => {
      await engine.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

async function writeMarker(path: string, magic: string, version: number): Promise<void> {
  const db = rawDb(path);
  await db.open();
  const magicBytes = new TextEncoder().encode(magic);
  await db.put(
    formatMarkerKey(),
    new RecordWriter(magicBytes.byteLength + 4).bytesField(magicBytes).u32(version).finish(formatMarkerKey()),
  );
  await db.close();
}

describe('StorageEngine.open', () => {
  it('creates a missing directory, writes the format marker, and reopens it', async () => {
    const path = join(dir, 'nested', 'store');
    const engine = await StorageEngine.open(path);
    await engine.close();
    const db = rawDb(path);
    await db.open();
    const marker = await db.get(formatMarkerKey());
    await db.close();
    expect(Buffer.from(marker as Uint8Array).subarray(0, 8).toString('latin1')).toBe(STORAGE_FORMAT_MAGIC);
    const reopened = await StorageEngine.open(path);
    expect(reopened.isOpen).toBe(true);
    await reopened.close();
    expect(reopened.isOpen).toBe(false);
  });

  it('accepts an existing empty directory', async () => {
    const engine = await StorageEngine.open(dir);
    await engine.close();
  });

  it('refuses a LevelDB database without the marker', async () => {
    const db = rawDb(dir);
    await db.open();
    await db.put(new TextEncoder().encode('someone-else'), Uint8Array.of(1));
    await db.close();
    const error = await openError(dir);
    expect(error).toBeInstanceOf(StorageFormatError);
    expect(error.message).toContain(dir);
    expect(error.message).toContain('without a Cairn format marker');
  });

  it('refuses a directory holding unrelated files and no LevelDB database', async () => {
    await writeFile(join(dir, 'notes.txt'), 'hello');
    const error = await openError(dir);
    expect(error).toBeInstanceOf(StorageFormatError);
    expect(error.message).toContain(dir);
    expect(error.message).toContain('holds no LevelDB database');
    expect(error.message).toContain('notes.txt');
  });

  it('refuses a path that is a file', async () => {
    const path = join(dir, 'file');
    await writeFile(path, 'x');
    const error = await openError(path);
    expect(error).toBeInstanceOf(StorageFormatError);
    expect(error.message).toContain('not a directory');
  });

  it('refuses a marker with another magic', async () => {
    await writeMarker(dir, 'OTHER-DB', STORAGE_FORMAT_VERSION);
    const error = await openError(dir);
    expect(error).toBeInstanceOf(StorageFormatError);
    expect(error.message).toContain('OTHER-DB');
  });

  it('refuses a marker with another format version', async () => {
    await writeMarker(dir, STORAGE_FORMAT_MAGIC, STORAGE_FORMAT_VERSION + 1);
    const error = await openError(dir);
    expect(error).toBeInstanceOf(StorageFormatError);
    expect(error.message).toContain(`version ${STORAGE_FORMAT_VERSION + 1}`);
  });

  it('refuses a marker that fails its checksum', async () => {
    await (await StorageEngine.open(dir)).close();
    const db = rawDb(dir);
    await db.open();
    const marker = Uint8Array.from((await db.get(formatMarkerKey())) as Uint8Array);
    marker[marker.byteLength - 1] = (marker[marker.byteLength - 1] as number) ^ 0xff;
    await db.put(formatMarkerKey(), marker);
    await db.close();
    expect(await openError(dir)).toBeInstanceOf(StorageCorruptionError);
  });

  it('refuses a directory another engine has open', async () => {
    const engine = await StorageEngine.open(dir);
    try {
      const error = await openError(dir);
      expect(error).toBeInstanceOf(StorageIOError);
      expect(error.message).toContain(dir);
    } finally {
      await engine.close();
    }
  });
});

describe('WriteBatch', () => {
  let engine: StorageEngine;

  beforeEach(async () => {
    await mkdir(dir, { recursive: true });
    engine = await StorageEngine.open(dir);
  });

  afterEach(async () => {
    await engine.close();
  });

  const key = (n: number): Uint8Array => Uint8Array.of(0x20, n);

  it('writes all operations, then runs the hooks in order', async () => {
    const batch = engine.newBatch();
    const seen: string[] = [];
    batch.put(key(1), Uint8Array.of(1));
    batch.put(key(2), Uint8Array.of(2));
    batch.onCommitted(() => seen.push('a'));
    batch.del(key(1));
    batch.onCommitted(() => seen.push('b'));
    expect(batch.operationCount).toBe(3);
    expect(batch.byteSize).toBe(2 + 1 + 2 + 1 + 2);
    expect(seen).toEqual([]);
    await batch.commit({ sync: true });
    expect(seen).toEqual(['a', 'b']);
    expect(await engine.db.get(key(1))).toBeUndefined();
    expect(Array.from((await engine.db.get(key(2))) as Uint8Array)).toEqual([2]);
  });

  it('runs every hook even when one throws, then reports the failure', async () => {
    const batch = engine.newBatch();
    const seen: string[] = [];
    batch.put(key(1), Uint8Array.of(1));
    batch.onCommitted(() => {
      throw new Error('hook failed');
    });
    batch.onCommitted(() => seen.push('second'));
    await expect(batch.commit({ sync: false })).rejects.toThrow('hook failed');
    expect(seen).toEqual(['second']);
  });

  it('refuses use after commit or discard', async () => {
    const batch = engine.newBatch();
    await batch.commit({ sync: false });
    expect(() => batch.put(key(1), Uint8Array.of(1))).toThrow(StorageUsageError);
    await expect(batch.commit({ sync: false })).rejects.toThrow(StorageUsageError);
    const discarded = engine.newBatch();
    discarded.put(key(3), Uint8Array.of(3));
    let ran = false;
    discarded.onCommitted(() => {
      ran = true;
    });
    await discarded.discard();
    expect(() => discarded.del(key(3))).toThrow(StorageUsageError);
    expect(ran).toBe(false);
    expect(await engine.db.get(key(3))).toBeUndefined();
  });

  it('reports a failed write as StorageIOError and runs no hooks', async () => {
    const batch = engine.newBatch();
    batch.put(key(1), Uint8Array.of(1));
    let ran = false;
    batch.onCommitted(() => {
      ran = true;
    });
    await engine.close();
    await expect(batch.commit({ sync: true })).rejects.toThrow(StorageIOError);
    expect(batch.state).toBe('failed');
    expect(ran).toBe(false);
    expect(() => engine.newBatch()).toThrow(StorageIOError);
  });
});
