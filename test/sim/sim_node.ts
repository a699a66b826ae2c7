import {
  EMPTY_CONF_STATE,
  RaftNode,
  SnapshotTemporarilyUnavailableError,
  type ConfState,
  type NodeId,
  type Raft,
  type RaftConfig,
  type ReadState,
  type Snapshot,
} from '../../src/raft/index.js';
import type { MemoryRaftStorage } from '../../src/storage/memory_raft_storage.js';
import { DelegatingStorage } from '../support/delegating_storage.js';
import type { ObservedRaftClass, RaftObserver } from './observed_raft.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A command in a log entry of the simulated register service. */
export type Command =
  | { kind: 'write'; op: string; key: string; value: string }
  | { kind: 'read'; op: string; key: string }
  | { kind: 'marker'; op: string };

export function encodeCommand(c: Command): Uint8Array {
  switch (c.kind) {
    case 'write':
      return encoder.encode(`w|${c.op}|${c.key}|${c.value}`);
    case 'read':
      return encoder.encode(`r|${c.op}|${c.key}`);
    case 'marker':
      return encoder.encode(`m|${c.op}`);
  }
}

export function decodeCommand(data: Uint8Array): Command | undefined {
  if (data.byteLength === 0) return undefined;
  const parts = decoder.decode(data).split('|');
  switch (parts[0]) {
    case 'w':
      return { kind: 'write', op: parts[1]!, key: parts[2]!, value: parts[3]! };
    case 'r':
      return { kind: 'read', op: parts[1]!, key: parts[2]! };
    case 'm':
      return { kind: 'marker', op: parts[1]! };
    default:
      throw new Error(`unknown command ${decoder.decode(data)}`);
  }
}

/** The register service's state: values per key, and the ops already applied (to ignore replays). */
export class RegisterState {
  values = new Map<string, string>();
  appliedOps = new Set<string>();

  /** Applies a command; returns the value a read observed (undefined for writes and replays). */
  apply(c: Command): { fresh: boolean; value: string | null } {
    if (this.appliedOps.has(c.op)) return { fresh: false, value: null };
    this.appliedOps.add(c.op);
    switch (c.kind) {
      case 'write':
        this.values.set(c.key, c.value);
        return { fresh: true, value: null };
      case 'read':
        return { fresh: true, value: this.values.get(c.key) ?? null };
      case 'marker':
        return { fresh: true, value: null };
    }
  }

  encode(): Uint8Array {
    return encoder.encode(JSON.stringify({ values: [...this.values], ops: [...this.appliedOps] }));
  }

  static decode(data: Uint8Array): RegisterState {
    const s = new RegisterState();
    if (data.byteLength === 0) return s;
    const parsed = JSON.parse(decoder.decode(data)) as { values: [string, string][]; ops: string[] };
    s.values = new Map(parsed.values);
    s.appliedOps = new Set(parsed.ops);
    return s;
  }
}

/**
 * The read side Raft sees. Snapshots are produced on demand, as a real store would: when the
 * stored snapshot is older than what this node has applied, the first request asks the node to
 * make a fresh one and answers "temporarily unavailable"; the leader retries and gets it.
 */
class OnDemandSnapshotStorage extends DelegatingStorage {
  constructor(
    private readonly disk: MemoryRaftStorage,
    private readonly node: SimNode,
  ) {
    super(disk);
  }
  override snapshot(): Snapshot {
    const snap = this.disk.snapshot();
    if (this.node.freshSnapshotReady || snap.meta.index >= this.node.appliedIndex) {
      this.node.freshSnapshotReady = false;
      return snap;
    }
    this.node.snapshotRequested = true;
    throw new SnapshotTemporarilyUnavailableError();
  }
}

/**
 * One simulated server: a disk (MemoryRaftStorage) that survives crashes, and everything else —
 * the Raft node and the state machine — that a crash destroys.
 */
export class SimNode {
  raft: RaftNode | undefined = undefined;
  core: Raft | undefined = undefined;
  state = new RegisterState();
  appliedIndex = 0;
  confState: ConfState = EMPTY_CONF_STATE;
  /** Read states waiting for the state machine to reach their index. */
  waitingReads: ReadState[] = [];
  snapshotRequested = false;
  freshSnapshotReady = false;
  lastCommit = 0;
  incarnation = 0;

  constructor(
    readonly id: NodeId,
    readonly disk: MemoryRaftStorage,
    /** Offset of this node's tick within the tick interval (timers are not in phase). */
    readonly tickPhase: number,
  ) {}

  get up(): boolean {
    return this.raft !== undefined;
  }

  /** (Re)starts from the disk: the state machine resumes from the stored snapshot. */
  start(config: Omit<RaftConfig, 'id' | 'storage' | 'applied'>, cls: ObservedRaftClass, observer: RaftObserver): void {
    const snap = this.disk.snapshot();
    this.state = RegisterState.decode(snap.data);
    this.appliedIndex = snap.meta.index;
    this.confState = this.disk.initialState().confState;
    this.waitingReads = [];
    this.snapshotRequested = false;
    this.freshSnapshotReady = false;
    this.lastCommit = this.disk.initialState().hardState.commit;
    this.incarnation++;
    const storage = new OnDemandSnapshotStorage(this.disk, this);
    const full: RaftConfig = { ...config, id: this.id, storage, applied: snap.meta.index };
    this.raft = new RaftNode(full, (c) => {
      const core = new cls(c, observer);
      this.core = core;
      return core;
    });
  }

  crash(): void {
    this.raft = undefined;
    this.core = undefined;
    this.waitingReads = [];
  }

  /** Snapshot of the state machine at the applied index, then compaction keeping `keep` entries. */
  snapshotAndCompact(keep: number): void {
    if (this.appliedIndex <= this.disk.snapshot().meta.index) return;
    this.disk.createSnapshot(this.appliedIndex, this.confState, this.state.encode());
    // Storage reports the membership of the latest snapshot: a restart resumes from there.
    this.disk.setConfState(this.confState);
    const compactTo = Math.max(this.disk.firstIndex() - 1, this.appliedIndex - keep);
    this.disk.compact(compactTo);
  }
}
