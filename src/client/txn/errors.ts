// What a transaction can end with besides success. `retryable` says whether running the whole
// transaction again (with a new start timestamp) may succeed; the SQL layer maps WriteConflictError
// to SQLSTATE 40001.

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

/** The transaction was used after commit or rollback. */
export class TxnClosedError extends Error {
  readonly code = 'TxnClosed' as const;
  readonly retryable = false;
}

export type TxnError = WriteConflictError | TxnAbortedError | KeyExistsError | TxnTooOldError | CommitUncertainError | TxnClosedError;
