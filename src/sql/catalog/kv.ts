// What the SQL layer needs of a transaction, as an interface: the KV client's Transaction and
// Snapshot satisfy it, and tests can supply an in-memory one.

export interface KvPairBytes {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export interface KvReader {
  /** The timestamp reads see (the transaction's start timestamp). */
  readonly ts: bigint;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Found keys only, keyed by keyId(key). */
  batchGet(keys: readonly Uint8Array[]): Promise<Map<string, Uint8Array>>;
  /** Pairs in [start, end) in key order, at most `limit`. */
  scan(start: Uint8Array, end: Uint8Array, limit: number): Promise<KvPairBytes[]>;
}

export interface KvWriter extends KvReader {
  put(key: Uint8Array, value: Uint8Array): void;
  /** Writes the key only if it does not exist at commit (else the commit fails with KeyExistsError). */
  insert(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
  /** Takes part in conflict detection on `key` without changing it. */
  lockKey(key: Uint8Array): void;
  readonly writeCount: number;
}

/** The identity batchGet results are keyed by (the KV client's keyIdentity: one char per byte). */
export function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}
