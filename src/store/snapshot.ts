// Snapshot data of a group: its descriptor and every engine key-value pair in its key range.
// Generation starts from a LevelDB iterator created synchronously between loop iterations: the
// iterator reads the database as of its creation, which is exactly the group's applied index,
// while later iterations keep applying.
import { raftcmdpb, type metapb } from '../proto/index.js';
import type { LevelDb } from '../storage/write_batch.js';
import { encodeTs } from '../kv/records.js';
import { compareBytes } from './region.js';

/** An engine key range [gte, lt). */
export interface KeyRange {
  readonly gte: Uint8Array;
  readonly lt: Uint8Array;
}

export class SnapshotTooLargeError extends Error {
  readonly code = 'SnapshotTooLarge';
}

export class SnapshotDataError extends Error {
  readonly code = 'SnapshotData';
}

const CHUNK = 1000;

/** Starts a snapshot: the returned iterator sees the engine as it is now. */
export function openSnapshotIterator(db: LevelDb, range: KeyRange) {
  return db.iterator({ gte: range.gte, lt: range.lt });
}

type EngineIterator = ReturnType<typeof openSnapshotIterator>;

/** Reads a snapshot iterator to the end (one await per chunk, never per key) and encodes it. */
export async function collectSnapshotData(
  iterator: EngineIterator,
  region: metapb.IRegion,
  maxBytes: number,
  gcSafePoint: bigint,
): Promise<Uint8Array> {
  const pairs: raftcmdpb.ISnapshotPair[] = [];
  let bytes = 0;
  try {
    for (;;) {
      const chunk = await iterator.nextv(CHUNK);
      if (chunk.length === 0) break;
      for (const [key, value] of chunk) {
        bytes += key.byteLength + value.byteLength;
        if (bytes > maxBytes) throw new SnapshotTooLargeError(`snapshot of region ${Number(region.id ?? 0)} exceeds ${maxBytes} bytes`);
        pairs.push({ key, value });
      }
    }
  } finally {
    await iterator.close();
  }
  return raftcmdpb.SnapshotData.encode({ region, pairs, ...(gcSafePoint > 0n ? { gcSafePoint: encodeTs(gcSafePoint) } : {}) }).finish();
}

/** Decodes snapshot data, checking that every key lies in `range` and keys ascend. */
export function decodeSnapshotData(data: Uint8Array, rangeOf: (region: metapb.IRegion) => KeyRange): raftcmdpb.SnapshotData {
  let decoded: raftcmdpb.SnapshotData;
  try {
    decoded = raftcmdpb.SnapshotData.decode(data);
  } catch (err) {
    throw new SnapshotDataError(`undecodable snapshot data: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!decoded.region) throw new SnapshotDataError('snapshot data without a region');
  const range = rangeOf(decoded.region);
  let previous: Uint8Array | undefined;
  for (const pair of decoded.pairs) {
    const key = pair.key ?? new Uint8Array(0);
    if (compareBytes(key, range.gte) < 0 || compareBytes(key, range.lt) >= 0) {
      throw new SnapshotDataError('snapshot data holds a key outside its range');
    }
    if (previous !== undefined && compareBytes(previous, key) >= 0) throw new SnapshotDataError('snapshot keys out of order');
    previous = key;
  }
  return decoded;
}

/** Every key in `range` (to clear it before a snapshot replaces it). */
export async function keysInRange(db: LevelDb, range: KeyRange): Promise<Uint8Array[]> {
  const keys: Uint8Array[] = [];
  const it = db.keys({ gte: range.gte, lt: range.lt });
  try {
    for (;;) {
      const chunk = await it.nextv(CHUNK);
      if (chunk.length === 0) break;
      for (const k of chunk) keys.push(k);
    }
  } finally {
    await it.close();
  }
  return keys;
}
