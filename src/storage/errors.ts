// Errors raised by the storage engine. Each carries what an operator needs to act on it: the data
// directory, or the exact record (key) and Raft group, so a refusal to start is never a mystery.

import { describeKey, keyHex } from './keys.js';

/** The directory is not a Cairn data directory, or holds a format version this build cannot read. */
export class StorageFormatError extends Error {
  readonly code = 'StorageFormat';
  constructor(
    readonly dir: string,
    /** What was found instead of a valid format marker. */
    readonly found: string,
  ) {
    super(`refusing to open ${dir} as a Cairn data directory: ${found}`);
  }
}

/**
 * A stored record fails its checksum, does not decode, or contradicts the records around it. The
 * store must not start on such data: serving it could acknowledge writes that were lost or hand a
 * peer a log that never existed.
 */
export class StorageCorruptionError extends Error {
  readonly code = 'StorageCorruption';
  /** The raw key, hex-encoded. */
  readonly key: string;
  constructor(
    key: Uint8Array,
    readonly detail: string,
    /** The Raft group the record belongs to, when it belongs to one. */
    readonly groupId?: number,
  ) {
    const group = groupId === undefined ? '' : ` of raft group ${groupId}`;
    super(`corrupt record ${describeKey(key)}${group}: ${detail}`);
    this.key = keyHex(key);
  }
}

/** The engine could not be opened or used for a reason other than its contents (locks, I/O). */
export class StorageIOError extends Error {
  readonly code = 'StorageIO';
  constructor(
    readonly dir: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${dir}: ${message}`, options);
  }
}

/** The caller misused the storage API (a programming error, never caused by data on disk). */
export class StorageUsageError extends Error {
  readonly code = 'StorageUsage';
}
