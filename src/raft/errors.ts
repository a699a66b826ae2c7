// Errors that cross the boundary between the state machine and its storage or caller.

/** The requested index is at or behind the storage's last compaction point. */
export class LogCompactedError extends Error {
  readonly code = 'LogCompacted';
  constructor(readonly index: number, readonly firstIndex: number) {
    super(`log index ${index} is compacted (first available index is ${firstIndex})`);
  }
}

/** The requested index is past the last entry the storage holds. */
export class LogUnavailableError extends Error {
  readonly code = 'LogUnavailable';
  constructor(readonly index: number, readonly lastIndex: number) {
    super(`log index ${index} is not available (last index is ${lastIndex})`);
  }
}

/** The storage is still preparing a snapshot; the leader retries on a later heartbeat. */
export class SnapshotTemporarilyUnavailableError extends Error {
  readonly code = 'SnapshotTemporarilyUnavailable';
  constructor() {
    super('snapshot is temporarily unavailable');
  }
}

/** A snapshot older than the storage's current one was offered. */
export class SnapshotOutOfDateError extends Error {
  readonly code = 'SnapshotOutOfDate';
  constructor(readonly index: number, readonly currentIndex: number) {
    super(`snapshot at index ${index} is older than the current snapshot at ${currentIndex}`);
  }
}

/** The caller misused the API (a programming error, never caused by peers' messages). */
export class RaftUsageError extends Error {
  readonly code = 'RaftUsage';
}

/**
 * An internal invariant does not hold. The node must stop: continuing could corrupt replicated
 * data. Never caught inside the project.
 */
export class RaftInvariantError extends Error {
  readonly code = 'RaftInvariant';
}

export function invariant(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new RaftInvariantError(message());
}
