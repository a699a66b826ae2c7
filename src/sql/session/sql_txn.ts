// The SQL layer's view of a KV transaction: reads and writes through the transaction client, plus
// what SQL needs on top — a row deleted and inserted again in one transaction is a plain put (the
// KV insert() would otherwise fail at commit on the key the transaction itself deleted), and the
// bookkeeping the commit-time schema check needs.
import type { Snapshot, Transaction, TxnClient } from '../../client/txn/txn_client.js';
import type { KvPairBytes, KvReader, KvWriter } from '../catalog/kv.js';
import { keyId } from '../catalog/kv.js';

/** A read-only snapshot (statements outside a transaction block that only read). */
export class SnapshotReader implements KvReader {
  constructor(private readonly snap: Snapshot) {}

  get ts(): bigint {
    return this.snap.ts;
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.snap.get(key);
  }

  batchGet(keys: readonly Uint8Array[]): Promise<Map<string, Uint8Array>> {
    return this.snap.batchGet(keys);
  }

  scan(start: Uint8Array, end: Uint8Array, limit: number): Promise<KvPairBytes[]> {
    return this.snap.scan(start, end, limit);
  }
}

export class SqlTxn implements KvWriter {
  /** Keys this transaction deleted (an insert of one is a put). */
  private readonly deleted = new Set<string>();
  /** Tables written (for the commit-time schema check). */
  readonly writtenTables = new Set<number>();
  /** The schema version the transaction's statements were planned at (the oldest one). */
  plannedAtVersion: bigint | undefined;

  constructor(readonly txn: Transaction) {}

  get ts(): bigint {
    return this.txn.startTs;
  }

  get writeCount(): number {
    return this.txn.writeCount;
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.txn.get(key);
  }

  batchGet(keys: readonly Uint8Array[]): Promise<Map<string, Uint8Array>> {
    return this.txn.batchGet(keys);
  }

  scan(start: Uint8Array, end: Uint8Array, limit: number): Promise<KvPairBytes[]> {
    return this.txn.scan(start, end, limit);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.txn.put(key, value);
  }

  insert(key: Uint8Array, value: Uint8Array): void {
    if (this.deleted.has(keyId(key))) this.txn.put(key, value);
    else this.txn.insert(key, value);
  }

  delete(key: Uint8Array): void {
    this.deleted.add(keyId(key));
    this.txn.delete(key);
  }

  lockKey(key: Uint8Array): void {
    this.txn.lockKey(key);
  }

  /** Pessimistic locks on rows about to change, returning their newest committed values. */
  lockRows(keys: readonly Uint8Array[], waitTimeoutMs?: number): Promise<Map<string, Uint8Array | undefined>> {
    return this.txn.lockKeys(keys, { returnValues: true, ...(waitTimeoutMs !== undefined && waitTimeoutMs > 0 ? { waitTimeoutMs } : {}) });
  }

  commit(): Promise<bigint> {
    return this.txn.commit();
  }

  rollback(): Promise<void> {
    return this.txn.rollback();
  }
}

export type { TxnClient };
