// An in-process cluster for scenario tests: messages are delivered synchronously until the
// cluster is quiet, with links that can be cut. Each node persists to a MemoryRaftStorage and
// applies committed entries to a list, so a test can read like a transcript:
//
//   const c = Cluster.create([1, 2, 3]);
//   c.campaign(1);                 // n1 wins the election
//   c.propose(1, 'x');             // replicated and applied everywhere

import {
  RaftNode,
  decodeConfChange,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type RaftConfig,
  type RaftFactory,
  type ReadState,
  type Snapshot,
  type StateRole,
} from '../../src/raft/index.js';
import { MemoryRaftStorage } from '../../src/storage/memory_raft_storage.js';
import { SeededRandom } from '../support/prng.js';

export { SeededRandom };

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);

export interface TestNode {
  readonly id: NodeId;
  node: RaftNode;
  readonly storage: MemoryRaftStorage;
  /** Payloads of applied normal entries (empty leader entries omitted), in order. */
  applied: string[];
  appliedEntries: Entry[];
  readStates: ReadState[];
  confStates: ConfState[];
  /** Snapshots this node restored from. */
  snapshotsApplied: Snapshot[];
}

export type NodeOptions = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;

export interface ClusterOptions extends NodeOptions {
  seed?: number;
  /** Nodes that start empty (not members) so they can be added later. */
  spares?: NodeId[];
  /** Learners in the initial configuration. */
  learners?: NodeId[];
  factory?: RaftFactory;
}

export class Cluster {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Links that drop every message: "from->to". */
  private readonly cut = new Set<string>();
  /** Optional filter: return false to drop a message. */
  filter: ((m: Message) => boolean) | undefined = undefined;
  /** Every message delivered, for assertions about what went over the wire. */
  readonly delivered: Message[] = [];
  private readonly options: ClusterOptions;
  private readonly random: SeededRandom;

  private constructor(options: ClusterOptions) {
    this.options = options;
    this.random = new SeededRandom(options.seed ?? 1);
  }

  static create(voters: NodeId[], options: ClusterOptions = {}): Cluster {
    const c = new Cluster(options);
    const confState: ConfState = {
      voters,
      learners: options.learners ?? [],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    };
    for (const id of [...voters, ...(options.learners ?? [])]) c.add(id, MemoryRaftStorage.bootstrap(confState));
    for (const id of options.spares ?? []) c.add(id, new MemoryRaftStorage());
    return c;
  }

  private add(id: NodeId, storage: MemoryRaftStorage, applied?: number): TestNode {
    const config: RaftConfig = {
      electionTick: 10,
      heartbeatTick: 1,
      ...this.options,
      id,
      storage,
      random: this.random,
      ...(applied !== undefined ? { applied } : {}),
    };
    const node = new RaftNode(config, this.options.factory);
    const t: TestNode = { id, node, storage, applied: [], appliedEntries: [], readStates: [], confStates: [], snapshotsApplied: [] };
    this.nodes.set(id, t);
    return t;
  }

  get(id: NodeId): TestNode {
    const t = this.nodes.get(id);
    if (!t) throw new Error(`no node ${id}`);
    return t;
  }

  node(id: NodeId): RaftNode {
    return this.get(id).node;
  }

  role(id: NodeId): StateRole {
    return this.node(id).status().role;
  }

  term(id: NodeId): number {
    return this.node(id).status().term;
  }

  leaderOf(id: NodeId): NodeId {
    return this.node(id).status().lead;
  }

  /** The unique leader among nodes, or undefined. */
  leader(): NodeId | undefined {
    const leaders = [...this.nodes.keys()].filter((id) => this.role(id) === 'leader');
    if (leaders.length > 1) {
      const terms = leaders.map((id) => this.term(id));
      const top = Math.max(...terms);
      const current = leaders.filter((id) => this.term(id) === top);
      return current.length === 1 ? current[0] : undefined;
    }
    return leaders[0];
  }

  // ---- Faults ----

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}->${to}`);
  }

  /** Drops all traffic to and from `id`. */
  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  /** Splits the cluster into groups that cannot talk to each other. */
  partition(...groups: NodeId[][]): void {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.cut.add(`${x}->${y}`);
      }
    }
  }

  heal(): void {
    this.cut.clear();
    this.filter = undefined;
  }

  /** Restarts a node from its storage, losing everything that was not persisted. */
  restart(id: NodeId): void {
    const old = this.get(id);
    const snap = old.storage.snapshot();
    const t = this.add(id, old.storage, snap.meta.index);
    // The state machine restarts from the snapshot; entries after it are re-applied.
    t.applied = [];
  }

  // ---- Driving ----

  /** Processes every node's Ready, then delivers messages until nothing more happens. */
  settle(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const outgoing: Message[] = [];
      for (const t of this.nodes.values()) outgoing.push(...this.drainReady(t));
      if (outgoing.length === 0) return;
      for (const m of outgoing) this.deliver(m);
    }
    throw new Error(`cluster did not settle within ${maxRounds} rounds`);
  }

  /** Persists, collects messages, applies, advances. Returns the node's outgoing messages. */
  drainReady(t: TestNode): Message[] {
    const out: Message[] = [];
    while (t.node.hasReady()) {
      const rd = t.node.ready();
      t.storage.persist({
        ...(rd.snapshot ? { snapshot: rd.snapshot } : {}),
        entries: rd.entries,
        ...(rd.hardState ? { hardState: rd.hardState } : {}),
      });
      out.push(...rd.messages);
      if (rd.snapshot) {
        t.snapshotsApplied.push(rd.snapshot);
        t.applied = rd.snapshot.data.byteLength > 0 ? (JSON.parse(str(rd.snapshot.data)) as string[]) : [];
      }
      for (const e of rd.committedEntries) this.apply(t, e);
      t.readStates.push(...rd.readStates);
      t.node.advance();
    }
    return out;
  }

  private apply(t: TestNode, e: Entry): void {
    t.appliedEntries.push(e);
    if (e.kind === 'confChange') {
      const cc: ConfChange = decodeConfChange(e.data);
      const result = t.node.applyConfChange(cc);
      // Not recorded in storage here: a restart resumes from the snapshot index, and storage must
      // then report the membership as of that index (it is recorded with each snapshot).
      t.confStates.push(result.confState);
    } else if (e.data.byteLength > 0) {
      t.applied.push(str(e.data));
    }
  }

  private deliver(m: Message): void {
    if (this.cut.has(`${m.from}->${m.to}`)) return;
    if (this.filter && !this.filter(m)) return;
    const target = this.nodes.get(m.to);
    if (!target) return;
    this.delivered.push(m);
    target.node.step(m);
  }

  /** Sends messages into the cluster (as if from the network) and settles. */
  send(...msgs: Message[]): void {
    for (const m of msgs) this.deliver(m);
    this.settle();
  }

  campaign(id: NodeId): void {
    this.node(id).campaign();
    this.settle();
  }

  propose(id: NodeId, data: string): ReturnType<RaftNode['propose']> {
    const result = this.node(id).propose(text(data));
    this.settle();
    return result;
  }

  proposeConfChange(id: NodeId, cc: ConfChange): ReturnType<RaftNode['proposeConfChange']> {
    const result = this.node(id).proposeConfChange(cc);
    this.settle();
    return result;
  }

  /** Ticks one node n times, settling after each tick. */
  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.node(id).tick();
      this.settle();
    }
  }

  /** Ticks every node n times. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const t of this.nodes.values()) t.node.tick();
      this.settle();
    }
  }

  /** Creates a snapshot of `id`'s applied state at its applied index and compacts its log. */
  snapshotAndCompact(id: NodeId, keepEntries = 0): Snapshot {
    const t = this.get(id);
    const status = t.node.status();
    const snap = t.storage.createSnapshot(status.applied, status.config, text(JSON.stringify(t.applied)));
    t.storage.setConfState(status.config);
    t.storage.compact(Math.max(t.storage.firstIndex() - 1, status.applied - keepEntries));
    return snap;
  }
}
