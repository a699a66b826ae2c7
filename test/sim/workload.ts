import type { NodeId, ReadState } from '../../src/raft/index.js';
import type { Operation } from '../lincheck/checker.js';
import type { RegisterInput, RegisterOutput } from '../lincheck/models.js';
import type { SeededRandom } from '../support/prng.js';
import { encodeCommand, type SimNode } from './sim_node.js';

type OpKind = 'write' | 'logRead' | 'indexRead';

interface PendingOp {
  readonly id: string;
  readonly client: number;
  readonly kind: OpKind;
  readonly key: string;
  readonly value: string;
  readonly node: NodeId;
  readonly incarnation: number;
  readonly call: number;
  readonly deadline: number;
  /** For index reads: the read index once the leader confirmed it. */
  readIndex: number | undefined;
}

export interface WorkloadOptions {
  clients: number;
  keys: readonly string[];
  /** Probability per tick that an idle client starts an operation. */
  opRate: number;
  /** Time units an operation may take before the client gives up. */
  timeout: number;
  /** Probability that a client sends an operation to a random node instead of its leader guess. */
  wanderRate: number;
}

/**
 * Clients of a replicated register service. Each runs one operation at a time: a write or a
 * read through the log (proposals), or a linearizable read through ReadIndex (served once the
 * node has applied up to the read index). Outcomes feed a history for the linearizability
 * checker; a write whose outcome is unknown (timeout, node crash) is recorded as possibly taking
 * effect at any later time, and an unknown read is left out.
 */
export class Workload {
  private history: Operation<RegisterInput, RegisterOutput>[] = [];
  /** For every op applied anywhere: the logical time it was first applied. */
  private readonly firstApplied = new Map<string, number>();
  /** Writes whose outcome the client never learned: their op ids and history positions. */
  private unknownWrites: { id: string; operation: Operation<RegisterInput, RegisterOutput> }[] = [];
  private readonly pending = new Map<string, PendingOp>();
  private readonly busy = new Set<number>();
  private readonly leaderGuess = new Map<number, NodeId>();
  /** A logical clock: every call and return gets a distinct, increasing time. */
  private clock = 0;
  private opSeq = 0;
  completed = 0;
  unknown = 0;
  refused = 0;

  constructor(
    private readonly options: WorkloadOptions,
    private readonly random: SeededRandom,
  ) {}

  /** Lets idle clients start operations against live nodes. */
  onTick(now: number, nodes: ReadonlyMap<NodeId, SimNode>): void {
    const live = [...nodes.values()].filter((n) => n.up);
    if (live.length === 0) return;
    for (let client = 0; client < this.options.clients; client++) {
      if (this.busy.has(client) || !this.random.chance(this.options.opRate)) continue;
      // Clients mostly follow their idea of the leader, but not always (another client, a load
      // balancer, a retry elsewhere): operations through different leaders must interleave for
      // stale reads from a deposed leader to be observable at all.
      const guess = this.leaderGuess.get(client);
      const guessed = guess !== undefined ? nodes.get(guess) : undefined;
      const node = guessed?.up && !this.random.chance(this.options.wanderRate) ? guessed : this.random.pick(live);
      this.start(now, client, node);
    }
  }

  private start(now: number, client: number, node: SimNode): void {
    const raft = node.raft!;
    const r = this.random.next();
    const kind: OpKind = r < 0.5 ? 'write' : r < 0.75 ? 'indexRead' : 'logRead';
    const key = this.random.pick(this.options.keys);
    const id = `c${client}.${++this.opSeq}`;
    const value = `v${this.opSeq}`;
    const call = ++this.clock;
    const op: PendingOp = {
      id,
      client,
      kind,
      key,
      value,
      node: node.id,
      incarnation: node.incarnation,
      call,
      deadline: now + this.options.timeout,
      readIndex: undefined,
    };
    if (kind === 'indexRead') {
      const result = raft.readIndex(new TextEncoder().encode(id));
      if (result.kind === 'dropped') {
        this.refuse(client, result.leader);
        return;
      }
    } else {
      const data =
        kind === 'write' ? encodeCommand({ kind: 'write', op: id, key, value }) : encodeCommand({ kind: 'read', op: id, key });
      const result = raft.propose(data);
      if (result.kind === 'dropped') {
        // Refused outright: it never happened, so it is not part of the history.
        this.refuse(client, result.leader);
        return;
      }
    }
    this.pending.set(id, op);
    this.busy.add(client);
  }

  private refuse(client: number, leader: NodeId): void {
    this.refused++;
    if (leader !== 0) this.leaderGuess.set(client, leader);
    else this.leaderGuess.delete(client);
  }

  /** Node `node` applied the command of op `opId` (first time), observing `value` for reads. */
  onApplied(node: SimNode, opId: string, value: string | null): void {
    // The first apply anywhere comes after the commit: a write had taken effect by then.
    if (!this.firstApplied.has(opId)) this.firstApplied.set(opId, ++this.clock);
    const op = this.pending.get(opId);
    if (op === undefined || op.node !== node.id || op.incarnation !== node.incarnation) return;
    if (op.kind === 'write') this.finish(op, { kind: 'write', key: op.key, value: op.value }, null);
    else if (op.kind === 'logRead') this.finish(op, { kind: 'read', key: op.key }, value);
  }

  onReadState(node: SimNode, rs: ReadState): void {
    const id = new TextDecoder().decode(rs.context);
    const op = this.pending.get(id);
    if (op === undefined || op.node !== node.id || op.incarnation !== node.incarnation) return;
    op.readIndex = rs.index;
  }

  /** Serves index reads whose read index the node has now applied. */
  serveReads(node: SimNode): void {
    for (const op of this.pending.values()) {
      if (op.kind !== 'indexRead' || op.node !== node.id || op.readIndex === undefined) continue;
      if (op.incarnation !== node.incarnation || node.appliedIndex < op.readIndex) continue;
      this.finish(op, { kind: 'read', key: op.key }, node.state.values.get(op.key) ?? null);
    }
  }

  private finish(op: PendingOp, input: RegisterInput, output: RegisterOutput): void {
    this.pending.delete(op.id);
    this.busy.delete(op.client);
    this.leaderGuess.set(op.client, op.node);
    this.history.push({ clientId: op.client, input, call: op.call, output, return: ++this.clock });
    this.completed++;
  }

  /** The client stops waiting: the outcome is unknown. */
  private abandon(op: PendingOp): void {
    this.pending.delete(op.id);
    this.busy.delete(op.client);
    this.leaderGuess.delete(op.client);
    this.unknown++;
    if (op.kind === 'write') {
      const operation: Operation<RegisterInput, RegisterOutput> = {
        clientId: op.client,
        input: { kind: 'write', key: op.key, value: op.value },
        call: op.call,
        output: null,
        return: Number.POSITIVE_INFINITY,
      };
      this.history.push(operation);
      this.unknownWrites.push({ id: op.id, operation });
    }
  }

  checkTimeouts(now: number, nodes: ReadonlyMap<NodeId, SimNode>): void {
    for (const op of [...this.pending.values()]) {
      const node = nodes.get(op.node);
      const gone = node === undefined || !node.up || node.incarnation !== op.incarnation;
      if (gone || now >= op.deadline) this.abandon(op);
    }
  }

  /** Ends the run: whatever is still pending has an unknown outcome. */
  finishAll(): void {
    for (const op of [...this.pending.values()]) this.abandon(op);
  }

  /**
   * The history for the checker. A client that gave up on a write does not know whether it took
   * effect; the simulation does, and uses it. A write some node applied had taken effect by the
   * time it was first applied (that follows its commit), so its interval closes there. A write
   * that no node applied and no node's log still holds (the run has settled) never takes effect,
   * so it is dropped. Only a write still sitting uncommitted in some log stays open-ended. Leaving
   * every abandoned write open-ended would let the checker place each anywhere or nowhere, which
   * makes the search explode without making the check stronger.
   */
  finalHistory(mayStillApply: (opId: string) => boolean): {
    operations: Operation<RegisterInput, RegisterOutput>[];
    droppedUnknownWrites: number;
    openEndedWrites: number;
  } {
    const replaced = new Map<Operation<RegisterInput, RegisterOutput>, Operation<RegisterInput, RegisterOutput> | undefined>();
    let dropped = 0;
    let openEnded = 0;
    for (const { id, operation } of this.unknownWrites) {
      const applied = this.firstApplied.get(id);
      if (applied !== undefined && applied > operation.call) {
        replaced.set(operation, { ...operation, return: applied });
      } else if (!mayStillApply(id)) {
        replaced.set(operation, undefined);
        dropped++;
      } else {
        openEnded++;
      }
    }
    const operations: Operation<RegisterInput, RegisterOutput>[] = [];
    for (const o of this.history) {
      if (!replaced.has(o)) operations.push(o);
      else {
        const r = replaced.get(o);
        if (r !== undefined) operations.push(r);
      }
    }
    return { operations, droppedUnknownWrites: dropped, openEndedWrites: openEnded };
  }

  get historyLength(): number {
    return this.history.length;
  }

  get pendingCount(): number {
    return this.pending.size;
  }
}
