// What a running statement can reach: its transaction (for reads, and writes when it may write),
// the catalog view it was planned with, and the expression context (parameters, settings,
// timestamps, outer rows for correlated subqueries).
import type { CatalogSnapshot } from '../catalog/catalog_snapshot.js';
import type { KvReader, KvWriter } from '../catalog/kv.js';
import type { EvalContext } from '../plan/bound.js';
import type { Row } from '../types/datum.js';

/** Locks rows for a writing statement and reads their newest committed values (when available). */
export interface RowLocker {
  /** Locks the keys and returns their newest committed values, keyed by keyId. */
  lockKeys(keys: readonly Uint8Array[]): Promise<Map<string, Uint8Array | undefined>>;
}

export interface ExecContext extends EvalContext {
  readonly reader: KvReader;
  /** Present when the statement may write. */
  readonly writer: KvWriter | undefined;
  /** Pessimistic row locks, when the transaction supports them. */
  readonly locker: RowLocker | undefined;
  readonly catalog: CatalogSnapshot;
  /** Tables this statement wrote (for the commit-time schema check). */
  readonly writtenTables: Set<number>;
  /** Materialized results of WITH queries and other shared subplans, per execution. */
  readonly materialized: Map<object, Row[]>;
  /** Throws 57014 when the client cancelled the statement. */
  checkCancelled(): void;
  /** Rows a single statement may hold in memory (sorts, hash tables, materializations). */
  readonly memoryRowLimit: number;
  /** Seeded per session for random(). */
  random(): number;
}
