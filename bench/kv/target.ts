// What the KV bench drives: a store that can put and get single keys. One module per system
// (bench/kv/etcd.ts, bench/kv/cairn.ts) exports `createTarget`; targets.ts lists them.

export interface KvTarget {
  /** Short name used in tables: "etcd", "cairn". */
  name: string;
  /** Starts (or connects to) the system and returns once it serves reads and writes. */
  setup(): Promise<void>;
  /** An ordinary durable write: acknowledged once committed by a quorum. */
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  /** A linearizable read: sees every put acknowledged before it was issued. */
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Stops whatever setup started and removes its files; safe to call twice or after a failed setup. */
  teardown(): Promise<void>;
  /** Optional one-line account of the setup (version, members, settings), printed after setup. */
  describe?(): string;
}

export interface TargetContext {
  /** The most clients the runner will drive at once (a target may size connection pools by it). */
  readonly maxConcurrency: number;
  /** Parent directory for the target's data directories (on a real disk: fsync must cost what it costs). */
  readonly workDir: string;
  /** Progress lines for the operator (go to stderr). */
  log(line: string): void;
}

/** What a target module exports. */
export interface TargetModule {
  createTarget(context: TargetContext): KvTarget | Promise<KvTarget>;
}

/**
 * Thrown by createTarget or setup when the system cannot run here (binary not installed, module not
 * written yet): the runner reports "not available: <reason>" and leaves the target out of the table.
 */
export class TargetUnavailableError extends Error {
  override name = 'TargetUnavailableError';
  constructor(readonly reason: string) {
    super(reason);
  }
}
