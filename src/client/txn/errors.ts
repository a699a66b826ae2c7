// What a transaction can end with besides success. `retryable` says whether running the whole
// transaction again (with a new start timestamp) may succeed; the SQL layer maps WriteConflictError
// to SQLSTATE 40001, DeadlockError to 40P01 and LockWaitTimeoutError to 55P03.

/** Another transaction wrote a key this one writes, after this one started: nothing was committed. */
export class WriteConflictError extends Error {
  readonly code = 'WriteConflict' as const;
  readonly retryable = true;
  constructor(
    readonly key: Uint8Array,
    readonly startTs: bigint,
    readonly conflictCommitTs: bigint,
    detail: string,
  ) {
    super(`write conflict: ${detail}`);
  }
}

/** The transaction was rolled back (its locks expired and a reader resolved them): nothing was committed. */
export class TxnAbortedError extends Error {
  readonly code = 'TxnAborted' as const;
  readonly retryable = true;
}

/** An insert met an existing key: nothing was committed. */
export class KeyExistsError extends Error {
  readonly code = 'KeyExists' as const;
  readonly retryable = false;
  constructor(readonly key: Uint8Array) {
    super(`key ${Buffer.from(key).toString('hex')} already exists`);
  }
}

/** The transaction's start timestamp is below the garbage-collection safe point. */
export class TxnTooOldError extends Error {
  readonly code = 'TxnTooOld' as const;
  readonly retryable = true;
}

/**
 * The primary's commit was sent but its outcome is unknown (the store stopped answering). The
 * transaction may or may not have committed; reading its keys later tells which.
 */
export class CommitUncertainError extends Error {
  readonly code = 'CommitUncertain' as const;
  readonly retryable = false;
  constructor(
    message: string,
    override readonly cause: Error,
  ) {
    super(message);
  }
}

/**
 * lockKeys waited longer than its wait timeout for another transaction's lock. The keys that call
 * was locking are unlocked again; the transaction itself stays open (the caller decides).
 */
export class LockWaitTimeoutError extends Error {
  readonly code = 'LockWaitTimeout' as const;
  readonly retryable = false;
  constructor(
    readonly key: Uint8Array,
    /** Start ts of the transaction holding the lock. */
    readonly holderTs: bigint,
    readonly waitedMs: number,
  ) {
    super(`lock wait timeout: key ${Buffer.from(key).toString('hex')} is still locked by transaction ${holderTs} after ${waitedMs} ms`);
  }
}

/**
 * lockKeys found this transaction and the one holding the lock it waits for each waiting for the
 * other; of the two, the younger gets this error. As with LockWaitTimeoutError, the keys of that
 * call are unlocked again and the transaction stays open: roll it back to let the other proceed.
 */
export class DeadlockError extends Error {
  readonly code = 'Deadlock' as const;
  readonly retryable = true;
  constructor(
    readonly key: Uint8Array,
    readonly startTs: bigint,
    /** Start ts of the transaction this one waited for, which waits for this one. */
    readonly holderTs: bigint,
  ) {
    super(`deadlock: transaction ${startTs} waits for transaction ${holderTs} (on key ${Buffer.from(key).toString('hex')}), which waits for it`);
  }
}

/** The transaction was used after commit or rollback. */
export class TxnClosedError extends Error {
  readonly code = 'TxnClosed' as const;
  readonly retryable = false;
}

export type TxnError =
  | WriteConflictError
  | TxnAbortedError
  | KeyExistsError
  | TxnTooOldError
  | CommitUncertainError
  | TxnClosedError
  | LockWaitTimeoutError
  | DeadlockError;
