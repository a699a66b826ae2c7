// The bounds of the wire protocol server: how large a message may be, how many clients it serves,
// how long a client may take to say hello, and how many bytes it holds for a client in each
// direction before it stops reading or makes the Session wait. Every one can be tightened (tests
// do) but none can be switched off.

export interface PgLimits {
  /** Largest message body a client may send after startup (a Query, a Bind, a CopyData). */
  readonly maxMessageBytes: number;
  /** Clients with an open session; the next one is refused with 53300. */
  readonly maxConnections: number;
  /**
   * Sockets still in the handshake, counted apart from sessions so that CancelRequests still get
   * through when every session slot is taken; beyond it a new socket is refused at once.
   */
  readonly maxStartingConnections: number;
  /** A client that has not completed its startup packet(s) within this is dropped. */
  readonly startupTimeoutMs: number;
  /** Received bytes waiting to be processed; above this the socket is not read. */
  readonly readBufferBytes: number;
  /** Replies are written to the socket as soon as this many are buffered, even before Sync. */
  readonly flushThresholdBytes: number;
  /** ResultSink.drain() waits while more than this is queued for the client. */
  readonly writeHighWaterBytes: number;
}

/** PostgreSQL's own limit on a startup packet's body (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_PACKET_BYTES = 10_000;

export const DEFAULT_PG_LIMITS: PgLimits = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxConnections: 1_000,
  maxStartingConnections: 1_000,
  startupTimeoutMs: 10_000,
  readBufferBytes: 1024 * 1024,
  // Large enough that a result of a few hundred rows goes out in one write, small enough that the
  // first rows of a long result reach the client early.
  flushThresholdBytes: 64 * 1024,
  writeHighWaterBytes: 1024 * 1024,
};

export function resolvePgLimits(given: Partial<PgLimits> | undefined): PgLimits {
  const limits: PgLimits = { ...DEFAULT_PG_LIMITS, ...given };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`pgwire limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  // A message length travels as an int32 that counts itself.
  if (limits.maxMessageBytes > 0x7fff_ffff - 4) {
    throw new RangeError(`pgwire limit maxMessageBytes must be below 2^31 - 4, got ${limits.maxMessageBytes}`);
  }
  return limits;
}
