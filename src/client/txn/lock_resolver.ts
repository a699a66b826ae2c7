// What a transaction does when it meets another transaction's lock: ask the lock's primary what
// became of that transaction (CheckTxnStatus, which also rolls back a lock whose TTL ran out), then
// commit or roll back the lock it met accordingly. A live transaction is waited for. Outcomes are
// remembered (bounded), so a reader meeting many locks of one transaction asks its primary once.
import { decodeTs, encodeTs } from '../../kv/records.js';
import { kvpb } from '../../proto/index.js';
import type { RegionScope } from '../kv_client.js';
import { ProtocolError } from '../errors.js';

/** Transaction outcomes remembered by one resolver. */
const MAX_REMEMBERED = 4_096;

export interface LockRef {
  readonly key: Uint8Array;
  readonly primary: Uint8Array;
  readonly lockTs: bigint;
}

export type ResolveOutcome =
  /** The lock is gone (committed or rolled back); the reader may retry at once. */
  | { readonly kind: 'resolved'; readonly committedAt: bigint | undefined }
  /**
   * Its transaction is alive: wait and retry. `ttlMs` is its primary's TTL (from its start ts);
   * `waitForTs` the transaction it is itself waiting for, if it published one (else 0).
   */
  | { readonly kind: 'alive'; readonly ttlMs: number; readonly waitForTs: bigint }
  /** Its transaction is alive but will commit after the reader's timestamp: read past the lock. */
  | { readonly kind: 'pushed' };

export function lockFromWire(info: kvpb.ILockInfo): LockRef {
  return { key: info.key ?? new Uint8Array(0), primary: info.primary ?? new Uint8Array(0), lockTs: decodeTs(info.lockTs) };
}

export class LockResolver {
  /** lock ts → commit ts (0 = rolled back). */
  private readonly outcomes = new Map<bigint, bigint>();

  constructor(private readonly timestamp: () => Promise<bigint>) {}

  /**
   * Resolves one lock met by a writer, or by a reader at `readerTs` (then a live transaction is
   * pushed past the reader rather than waited for).
   */
  async resolve(scope: RegionScope, lock: LockRef, readerTs = 0n): Promise<ResolveOutcome> {
    let commitTs = this.outcomes.get(lock.lockTs);
    if (commitTs === undefined) {
      const status = await this.checkStatus(scope, lock, readerTs);
      if (status.kind === 'alive') return readerTs > 0n && status.minCommitTs > readerTs ? { kind: 'pushed' } : { kind: 'alive', ttlMs: status.ttlMs, waitForTs: status.waitForTs };
      commitTs = status.commitTs;
      this.remember(lock.lockTs, commitTs);
    }
    await this.resolveKey(scope, lock, commitTs);
    return { kind: 'resolved', committedAt: commitTs === 0n ? undefined : commitTs };
  }

  private remember(lockTs: bigint, commitTs: bigint): void {
    if (this.outcomes.size >= MAX_REMEMBERED) this.outcomes.delete(this.outcomes.keys().next().value!);
    this.outcomes.set(lockTs, commitTs);
  }

  private async checkStatus(
    scope: RegionScope,
    lock: LockRef,
    readerTs: bigint,
  ): Promise<{ kind: 'alive'; ttlMs: number; minCommitTs: bigint; waitForTs: bigint } | { kind: 'done'; commitTs: bigint }> {
    const currentTs = await this.timestamp();
    const response = await scope.requestForKey(lock.primary, 'checkTxnStatus', (context) => ({
      checkTxnStatus: {
        context,
        primaryKey: lock.primary,
        lockTs: encodeTs(lock.lockTs),
        currentTs: encodeTs(currentTs),
        callerStartTs: readerTs > 0n ? encodeTs(readerTs) : undefined,
      },
    }));
    if (response.error) throw new ProtocolError('CheckTxnStatus', response.error.message ?? 'key error');
    switch (response.status ?? kvpb.TxnStatusKind.TXN_LOCKED) {
      case kvpb.TxnStatusKind.TXN_LOCKED:
        return { kind: 'alive', ttlMs: Number(response.lock?.ttlMs ?? 0), minCommitTs: decodeTs(response.lock?.minCommitTs), waitForTs: decodeTs(response.lock?.waitForTs) };
      case kvpb.TxnStatusKind.TXN_COMMITTED:
        return { kind: 'done', commitTs: decodeTs(response.commitTs) };
      default:
        return { kind: 'done', commitTs: 0n };
    }
  }

  private async resolveKey(scope: RegionScope, lock: LockRef, commitTs: bigint): Promise<void> {
    const response = await scope.requestForKey(lock.key, 'resolveLock', (context) => ({
      resolveLock: { context, startTs: encodeTs(lock.lockTs), commitTs: commitTs === 0n ? undefined : encodeTs(commitTs), keys: [lock.key] },
    }));
    if (response.error) throw new ProtocolError('ResolveLock', response.error.message ?? 'key error');
  }
}
