import {
  RaftInvariantError,
  describeConfChange,
  decodeConfChange,
  type ConfChange,
  type ConfChangeSingle,
  type ConfChangeTransition,
  type ConfState,
  type NodeId,
  type Raft,
  type RaftConfig,
  type ReadOnlyOption,
} from '../../src/raft/index.js';
import { MemoryRaftStorage } from '../../src/storage/memory_raft_storage.js';
import { checkOperations } from '../lincheck/checker.js';
import { registerModel } from '../lincheck/models.js';
import { SeededRandom } from '../support/prng.js';
import { SimNetwork, type NetworkFaults } from './network.js';
import { ObservedRaft, type ObservedRaftClass, type RaftObserver } from './observed_raft.js';
import { SafetyChecker } from './safety.js';
import { RegisterState, SimNode, decodeCommand, encodeCommand } from './sim_node.js';
import { Workload } from './workload.js';

/** Time units per tick. Messages take a few units, so many arrive between two ticks. */
export const TICK = 10;
/** Ticks run after liveness is shown, so that everything committed is applied everywhere. */
const SETTLE_TICKS = 20;

/** Everything a seed decides about its run. Printed on failure so a reader knows what ran. */
export interface SimParams {
  seed: number;
  nodes: number;
  initialVoters: number;
  preVote: boolean;
  checkQuorum: boolean;
  readOnlyOption: ReadOnlyOption;
  electionTick: number;
  heartbeatTick: number;
  maxInflightMsgs: number;
  maxEntriesPerMsg: number;
  maxSizePerMsg: number;
  faults: NetworkFaults;
  /** Ticks of faults, membership changes and transfers. */
  chaosTicks: number;
  /** Ticks allowed, once everything is healed, for a leader to emerge and a proposal to commit. */
  livenessTicks: number;
  snapshotInterval: number;
  snapshotKeep: number;
  clients: number;
  /** Ticks a client waits for an outcome before giving up (the outcome is then unknown). */
  opTimeoutTicks: number;
  opRate: number;
  wanderRate: number;
  partitionRate: number;
  healRate: number;
  crashRate: number;
  /** Probability per tick of crashing whichever node currently leads. */
  leaderCrashRate: number;
  restartRate: number;
  /** Probability, per Ready, that a node crashes after persisting it but before sending. */
  crashMidReadyRate: number;
  confChangeRate: number;
  transferRate: number;
}

export function deriveParams(seed: number, overrides: Partial<SimParams> = {}): SimParams {
  const r = new SeededRandom(seed ^ 0x5eed);
  const nodes = r.between(3, 7);
  const checkQuorum = r.chance(0.75);
  const params: SimParams = {
    seed,
    nodes,
    initialVoters: Math.min(nodes, r.pick([3, 3, 5])),
    preVote: r.chance(0.75),
    checkQuorum,
    readOnlyOption: checkQuorum && r.chance(0.5) ? 'leaseBased' : 'safe',
    electionTick: r.pick([5, 10, 10]),
    heartbeatTick: r.pick([1, 1, 2]),
    maxInflightMsgs: r.pick([1, 2, 4, 64]),
    maxEntriesPerMsg: r.pick([1, 3, 64]),
    maxSizePerMsg: r.pick([16, 256, 1 << 20]),
    faults: {
      dropRate: r.pick([0, 0.01, 0.05, 0.1]),
      duplicateRate: r.pick([0, 0.01, 0.05]),
      minDelay: 1,
      maxDelay: r.pick([3, 10, 30, 60]),
    },
    chaosTicks: 300,
    livenessTicks: 200,
    snapshotInterval: r.pick([5, 20, 100]),
    snapshotKeep: r.pick([0, 2, 10]),
    clients: r.between(2, 8),
    opTimeoutTicks: r.pick([5, 10, 20]),
    opRate: r.pick([0.1, 0.3, 0.6]),
    wanderRate: r.pick([0.05, 0.3]),
    partitionRate: r.pick([0.01, 0.03, 0.06]),
    healRate: r.pick([0.03, 0.1]),
    crashRate: r.pick([0, 0.005, 0.02]),
    leaderCrashRate: r.pick([0, 0, 0.02, 0.08]),
    restartRate: r.pick([0.05, 0.2, 0.5]),
    crashMidReadyRate: r.pick([0, 0.001, 0.005]),
    confChangeRate: r.pick([0, 0.02, 0.05]),
    transferRate: r.pick([0, 0.01, 0.03]),
  };
  return { ...params, ...overrides };
}

export interface SeedStats {
  elections: number;
  commits: number;
  partitions: number;
  confChanges: number;
  transfers: number;
  crashes: number;
  opsCompleted: number;
  opsUnknown: number;
  messages: number;
  ticks: number;
}

export interface SeedResult {
  seed: number;
  params: SimParams;
  violations: string[];
  /** The tick at which the first violation was seen. */
  violationTick: number | undefined;
  stats: SeedStats;
  lincheck: 'ok' | 'illegal' | 'unknown';
}

export interface RunOptions {
  /** The Raft implementation under test (a planted-bug variant in tests). */
  raftClass?: ObservedRaftClass;
  overrides?: Partial<SimParams>;
  /** Receives a line per notable event, for debugging one seed. */
  trace?: (line: string) => void;
  lincheckTimeoutMs?: number;
}

/** One seeded run of a simulated cluster. Deterministic: the same seed and options give the same run. */
export class Simulation implements RaftObserver {
  readonly params: SimParams;
  private readonly random: SeededRandom;
  private readonly network: SimNetwork;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly disks = new Map<NodeId, MemoryRaftStorage>();
  private readonly safety = new SafetyChecker();
  private readonly workload: Workload;
  private readonly raftClass: ObservedRaftClass;
  private readonly trace: ((line: string) => void) | undefined;
  private readonly raftConfig: Omit<RaftConfig, 'id' | 'storage' | 'applied'>;
  private now = 0;
  private inChaos = true;
  private violationTick: number | undefined;
  private readonly stats: SeedStats = {
    elections: 0,
    commits: 0,
    partitions: 0,
    confChanges: 0,
    transfers: 0,
    crashes: 0,
    opsCompleted: 0,
    opsUnknown: 0,
    messages: 0,
    ticks: 0,
  };
  /** Nodes that campaigned because of a transfer, with the term they campaigned in. */
  private readonly transferCampaign = new Map<NodeId, number>();

  constructor(seed: number, private readonly options: RunOptions = {}) {
    this.params = deriveParams(seed, options.overrides);
    this.random = new SeededRandom(seed);
    this.network = new SimNetwork(this.random.fork(), { ...this.params.faults });
    this.raftClass = options.raftClass ?? ObservedRaft;
    this.trace = options.trace;
    const p = this.params;
    this.raftConfig = {
      random: this.random.fork(),
      electionTick: p.electionTick,
      heartbeatTick: p.heartbeatTick,
      preVote: p.preVote,
      checkQuorum: p.checkQuorum,
      readOnlyOption: p.readOnlyOption,
      maxInflightMsgs: p.maxInflightMsgs,
      maxEntriesPerMsg: p.maxEntriesPerMsg,
      maxSizePerMsg: p.maxSizePerMsg,
      maxUncommittedEntriesSize: 1 << 20,
      ...(this.trace
        ? {
            logger: {
              debug: (msg: string, fields?: Record<string, unknown>) => this.log(`  raft: ${msg} ${JSON.stringify(fields ?? {})}`),
              info: (msg: string, fields?: Record<string, unknown>) => this.log(`  raft: ${msg} ${JSON.stringify(fields ?? {})}`),
              warn: (msg: string, fields?: Record<string, unknown>) => this.log(`  raft WARN: ${msg} ${JSON.stringify(fields ?? {})}`),
            },
          }
        : {}),
    };
    this.workload = new Workload(
      {
        clients: p.clients,
        keys: ['x', 'y'],
        opRate: p.opRate,
        // A client waits at least a few round trips: giving up sooner only piles up overlapping
        // writes of unknown outcome, which tells the checker nothing and makes it slow.
        timeout: Math.max(p.opTimeoutTicks * TICK, 4 * p.faults.maxDelay),
        wanderRate: p.wanderRate,
      },
      this.random.fork(),
    );
    const ids = Array.from({ length: p.nodes }, (_, i) => i + 1);
    const voters = ids.slice(0, p.initialVoters);
    const confState: ConfState = { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    for (const id of ids) {
      const disk = voters.includes(id) ? MemoryRaftStorage.bootstrap(confState) : new MemoryRaftStorage();
      const node = new SimNode(id, disk, this.random.nextInt(TICK));
      this.nodes.set(id, node);
      this.disks.set(id, disk);
      this.guard(node, () => node.start(this.raftConfig, this.raftClass, this));
    }
  }

  // ---- RaftObserver ------------------------------------------------------------------------------

  onBecomeLeader(raft: Raft): void {
    this.stats.elections++;
    this.log(`n${raft.id} became leader of term ${raft.term}`);
    if (this.transferCampaign.get(raft.id) === raft.term) this.stats.transfers++;
    this.safety.onBecomeLeader(raft);
  }

  onCampaign(raft: Raft, kind: 'preElection' | 'election' | 'transfer'): void {
    // A transfer campaign moves to term + 1; remember it to count the transfer if it wins.
    if (kind === 'transfer') this.transferCampaign.set(raft.id, raft.term + 1);
  }

  // ---- Running -----------------------------------------------------------------------------------

  run(): SeedResult {
    const p = this.params;
    const chaosEnd = p.chaosTicks * TICK;
    const end = chaosEnd + p.livenessTicks * TICK;
    let liveness: LivenessProbe | undefined;
    let settleUntil: number | undefined;
    for (this.now = 0; this.now < end && this.violationTick === undefined; this.now++) {
      if (settleUntil !== undefined && this.now >= settleUntil) break;
      if (this.now === chaosEnd) {
        this.healEverything();
        liveness = new LivenessProbe(this.now);
      }
      this.deliverDue();
      this.tickNodes();
      if (this.now % TICK === 0) {
        this.stats.ticks++;
        if (this.inChaos) {
          this.injectFaults();
          this.workload.onTick(this.now, this.nodes);
        }
        // Once liveness is shown, run a little longer so that what was committed gets applied.
        if (liveness !== undefined && settleUntil === undefined && liveness.step(this)) settleUntil = this.now + SETTLE_TICKS * TICK;
      }
      for (const node of this.nodes.values()) this.processReady(node);
      this.workload.checkTimeouts(this.now, this.nodes);
      if (this.safety.violations.length > 0 && this.violationTick === undefined) this.violationTick = this.tick;
    }
    if (this.violationTick === undefined && liveness !== undefined && !liveness.done) {
      this.safety.violations.push(liveness.describeFailure(this));
      this.violationTick = this.tick;
    }
    this.workload.finishAll();
    let lincheck: SeedResult['lincheck'] = 'ok';
    if (this.violationTick === undefined) {
      const { operations } = this.workload.finalHistory((opId) => this.mayStillApply(opId));
      const result = checkOperations(registerModel, operations, { timeoutMs: this.options.lincheckTimeoutMs ?? 5_000 });
      lincheck = result.verdict;
      if (result.verdict === 'illegal') {
        this.safety.violations.push(`linearizability: the client history of ${operations.length} operations is not linearizable`);
        this.violationTick = this.tick;
      }
    }
    this.stats.commits = this.safety.committedEntries;
    this.stats.confChanges = this.safety.confChangesApplied.size;
    this.stats.opsCompleted = this.workload.completed;
    this.stats.opsUnknown = this.workload.unknown;
    this.stats.messages = this.network.sent;
    return {
      seed: p.seed,
      params: p,
      violations: this.safety.violations,
      violationTick: this.violationTick,
      stats: this.stats,
      lincheck,
    };
  }

  get tick(): number {
    return Math.floor(this.now / TICK);
  }

  private log(line: string): void {
    this.trace?.(`[t${this.tick}] ${line}`);
  }

  /** Runs a step of a node; an exception from the Raft code is a violation, never a test crash. */
  private guard(node: SimNode, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      const what = err instanceof RaftInvariantError ? 'invariant' : 'exception';
      const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
      this.safety.violations.push(`${what} on node ${node.id}: ${detail}`);
      node.crash();
    }
  }

  private deliverDue(): void {
    for (const { message, cut } of this.network.due(this.now)) {
      const target = this.nodes.get(message.to);
      const delivered = target !== undefined && target.up && !cut;
      if (delivered) this.guard(target, () => target.raft!.step(message));
      if (message.type === 'snapshot') {
        // The transport knows whether a snapshot got through; the sender's Raft needs to hear it.
        const sender = this.nodes.get(message.from);
        if (sender?.up) this.guard(sender, () => sender.raft!.reportSnapshot(message.to, delivered ? 'finish' : 'failure'));
      } else if (!delivered && target !== undefined && !target.up && this.random.chance(0.5)) {
        // Sometimes the transport notices a peer is down, as a failed connection would show.
        const sender = this.nodes.get(message.from);
        if (sender?.up) this.guard(sender, () => sender.raft!.reportUnreachable(message.to));
      }
    }
  }

  private tickNodes(): void {
    for (const node of this.nodes.values()) {
      if (node.up && (this.now + node.tickPhase) % TICK === 0) this.guard(node, () => node.raft!.tick());
    }
  }

  private processReady(node: SimNode): void {
    this.guard(node, () => {
      while (node.raft !== undefined && node.raft.hasReady()) {
        const raft = node.raft;
        const rd = raft.ready();
        this.safety.beforePersist(node.id, node.disk, rd.entries);
        node.disk.persist({
          ...(rd.snapshot ? { snapshot: rd.snapshot } : {}),
          entries: rd.entries,
          ...(rd.hardState ? { hardState: rd.hardState } : {}),
        });
        this.safety.onPersist(node.id, node.disk, rd.entries);
        if (rd.hardState !== undefined && rd.hardState.commit > node.lastCommit) {
          this.safety.onCommit(node.id, node.disk, node.lastCommit, rd.hardState.commit);
          node.lastCommit = rd.hardState.commit;
          if (node.core?.role === 'leader') this.safety.onLeaderCommit(node.core, this.disks);
        }
        if (this.inChaos && this.params.crashMidReadyRate > 0 && this.random.chance(this.params.crashMidReadyRate)) {
          // Persisted, but the process dies before sending or applying anything.
          this.log(`n${node.id} crashed after persisting a Ready`);
          this.crash(node);
          return;
        }
        for (const m of rd.messages) this.network.send(this.now, m);
        if (rd.snapshot !== undefined) this.applySnapshot(node, rd.snapshot.data, rd.snapshot.meta.index, rd.snapshot.meta.confState);
        for (const e of rd.committedEntries) {
          this.safety.onApply(node.id, e);
          node.appliedIndex = e.index;
          if (e.kind === 'confChange') {
            const cc: ConfChange = decodeConfChange(e.data);
            const result = raft.applyConfChange(cc);
            node.confState = result.confState;
            this.log(`n${node.id} applied conf change ${describeConfChange(cc)} at ${e.index}${result.rejected ? ` (rejected: ${result.rejected})` : ''}`);
            continue;
          }
          const command = decodeCommand(e.data);
          if (command === undefined) continue;
          const outcome = node.state.apply(command);
          if (outcome.fresh) this.workload.onApplied(node, command.op, outcome.value);
        }
        for (const rs of rd.readStates) this.workload.onReadState(node, rs);
        raft.advance();
        this.workload.serveReads(node);
        if (node.snapshotRequested || node.appliedIndex - node.disk.snapshot().meta.index >= this.params.snapshotInterval) {
          const requested = node.snapshotRequested;
          node.snapshotRequested = false;
          node.snapshotAndCompact(this.params.snapshotKeep);
          if (requested) node.freshSnapshotReady = true;
        }
      }
    });
  }

  private applySnapshot(node: SimNode, data: Uint8Array, index: number, confState: ConfState): void {
    node.state = RegisterState.decode(data);
    node.appliedIndex = index;
    node.confState = confState;
    this.log(`n${node.id} restored a snapshot at ${index}`);
  }

  private crash(node: SimNode): void {
    if (!node.up) return;
    this.stats.crashes++;
    node.crash();
    this.log(`n${node.id} crashed`);
  }

  private restart(node: SimNode): void {
    this.guard(node, () => node.start(this.raftConfig, this.raftClass, this));
    this.log(`n${node.id} restarted`);
  }

  // ---- Faults --------------------------------------------------------------------------------------

  private injectFaults(): void {
    const p = this.params;
    const r = this.random;
    const ids = [...this.nodes.keys()];
    if (!this.network.partitioned && r.chance(p.partitionRate)) this.partition(ids);
    else if (this.network.partitioned && r.chance(p.healRate)) {
      this.network.heal();
      this.log('network healed');
    }
    if (r.chance(p.crashRate)) {
      const live = [...this.nodes.values()].filter((n) => n.up);
      if (live.length > 0) this.crash(r.pick(live));
    }
    if (r.chance(p.leaderCrashRate)) {
      const leader = this.currentLeader();
      if (leader !== undefined) this.crash(leader);
    }
    for (const node of this.nodes.values()) {
      if (!node.up && r.chance(p.restartRate)) this.restart(node);
    }
    if (r.chance(p.confChangeRate)) this.proposeRandomConfChange();
    if (r.chance(p.transferRate)) this.randomTransfer();
  }

  private partition(ids: NodeId[]): void {
    const r = this.random;
    this.stats.partitions++;
    const kind = r.nextInt(4);
    if (kind === 0) {
      // Two sides.
      const shuffled = r.shuffle(ids);
      const cut = r.between(1, shuffled.length - 1);
      const groups = [shuffled.slice(0, cut), shuffled.slice(cut)];
      this.network.partition(groups);
      this.log(`partition ${groups.map((g) => `{${g.join(',')}}`).join(' | ')}`);
    } else if (kind === 1) {
      // Isolate the leader (or anyone).
      const leader = this.currentLeader();
      const victim = leader?.id ?? r.pick(ids);
      this.network.partition([[victim], ids.filter((id) => id !== victim)]);
      this.log(`isolated n${victim}`);
    } else if (kind === 2) {
      // Asymmetric: some directed links drop, their reverse directions work.
      const links: string[] = [];
      for (const a of ids) {
        for (const b of ids) {
          if (a !== b && r.chance(0.3)) {
            this.network.cutLink(a, b);
            links.push(`${a}->${b}`);
          }
        }
      }
      this.log(`cut links ${links.join(' ')}`);
    } else {
      // A bridge: one node hears both halves, which cannot hear each other.
      const shuffled = r.shuffle(ids);
      const bridge = shuffled[0]!;
      const rest = shuffled.slice(1);
      const half = Math.ceil(rest.length / 2);
      const left = rest.slice(0, half);
      const right = rest.slice(half);
      for (const a of left) {
        for (const b of right) {
          this.network.cutLink(a, b);
          this.network.cutLink(b, a);
        }
      }
      this.log(`bridge n${bridge} between {${left.join(',')}} and {${right.join(',')}}`);
    }
  }

  private currentLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const node of this.nodes.values()) {
      const core = node.core;
      if (core === undefined || core.role !== 'leader') continue;
      if (best === undefined || core.term > best.core!.term) best = node;
    }
    return best;
  }

  private proposeRandomConfChange(): void {
    const leader = this.currentLeader();
    if (leader === undefined) return;
    const r = this.random;
    const cs = leader.raft!.status().config;
    const all = [...this.nodes.keys()];
    const members = new Set([...cs.voters, ...cs.learners, ...cs.votersOutgoing, ...cs.learnersNext]);
    const outsiders = all.filter((id) => !members.has(id));
    let changes: ConfChangeSingle[];
    let transition: ConfChangeTransition = 'auto';
    if (cs.votersOutgoing.length > 0) {
      if (cs.autoLeave) return;
      changes = [];
    } else {
      const options: (() => ConfChangeSingle[])[] = [];
      if (outsiders.length > 0) {
        options.push(() => [{ type: 'addLearner', nodeId: r.pick(outsiders) }]);
        options.push(() => [{ type: 'addNode', nodeId: r.pick(outsiders) }]);
      }
      if (cs.learners.length > 0) {
        options.push(() => [{ type: 'addNode', nodeId: r.pick(cs.learners) }]);
        options.push(() => [{ type: 'removeNode', nodeId: r.pick(cs.learners) }]);
      }
      if (cs.voters.length > 1) {
        options.push(() => [{ type: 'removeNode', nodeId: r.pick(cs.voters) }]);
        options.push(() => [{ type: 'addLearner', nodeId: r.pick(cs.voters) }]);
      }
      if (outsiders.length > 0 && cs.voters.length > 0) {
        options.push(() => [
          { type: 'addNode', nodeId: r.pick(outsiders) },
          { type: 'removeNode', nodeId: r.pick(cs.voters) },
        ]);
      }
      if (options.length === 0) return;
      changes = r.pick(options)();
      transition = r.pick(['auto', 'auto', 'jointImplicit', 'jointExplicit'] as const);
    }
    const cc: ConfChange = { transition, changes, context: new Uint8Array(0) };
    const result = leader.raft!.proposeConfChange(cc);
    this.log(`n${leader.id} proposed conf change ${describeConfChange(cc)}: ${result.kind}${result.kind === 'dropped' ? ` (${result.reason})` : ''}`);
  }

  private randomTransfer(): void {
    const leader = this.currentLeader();
    if (leader === undefined) return;
    const voters = leader.raft!.status().config.voters.filter((id) => id !== leader.id);
    if (voters.length === 0) return;
    const target = this.random.pick(voters);
    this.log(`n${leader.id} transfers leadership to n${target}`);
    leader.raft!.transferLeader(target);
  }

  private healEverything(): void {
    this.inChaos = false;
    this.network.heal();
    // Raft promises progress only when messages take much less than an election timeout.
    this.network.faults = { dropRate: 0, duplicateRate: 0, minDelay: 1, maxDelay: Math.min(this.network.faults.maxDelay, TICK) };
    for (const node of this.nodes.values()) if (!node.up) this.restart(node);
    this.log('everything healed; checking liveness');
  }

  /** Whether op `opId` was applied anywhere, or is still in some node's log and might be. */
  private mayStillApply(opId: string): boolean {
    if (this.opsInLogs === undefined) {
      const inLogs = new Set<string>();
      for (const node of this.nodes.values()) {
        for (const op of node.state.appliedOps) inLogs.add(op);
        const disk = node.disk;
        const from = Math.max(disk.firstIndex(), disk.initialState().hardState.commit + 1);
        if (from > disk.lastIndex()) continue;
        for (const e of disk.entries(from, disk.lastIndex() + 1, Number.POSITIVE_INFINITY)) {
          const command = e.kind === 'normal' ? decodeCommand(e.data) : undefined;
          if (command !== undefined) inLogs.add(command.op);
        }
      }
      this.opsInLogs = inLogs;
    }
    return this.opsInLogs.has(opId);
  }

  private opsInLogs: Set<string> | undefined;

  // ---- Used by the liveness probe ------------------------------------------------------------------

  leaderForLiveness(): SimNode | undefined {
    return this.currentLeader();
  }

  proposeMarker(node: SimNode, op: string): boolean {
    const result = node.raft!.propose(encodeCommand({ kind: 'marker', op }));
    return result.kind === 'appended';
  }

  votersOf(node: SimNode): NodeId[] {
    const cs = node.raft!.status().config;
    return [...new Set([...cs.voters, ...cs.votersOutgoing])];
  }

  nodeById(id: NodeId): SimNode | undefined {
    return this.nodes.get(id);
  }

  describeNodes(): string {
    return [...this.nodes.values()]
      .map((n) => {
        if (!n.up) return `n${n.id}:down`;
        const s = n.raft!.status();
        return `n${n.id}:${s.role}/t${s.term}/lead${s.lead}/commit${s.commit}/applied${s.applied}/voters[${s.config.voters}]${s.config.votersOutgoing.length ? `&[${s.config.votersOutgoing}]` : ''}`;
      })
      .join(' ');
  }

  pendingMessages(): number {
    return this.network.pending;
  }
}

/**
 * After healing: within the allowed ticks a leader must emerge and a fresh proposal must be
 * applied by every voter of the leader's configuration.
 */
class LivenessProbe {
  done = false;
  private proposedAt: number | undefined;
  private readonly op: string;

  constructor(private readonly startedAt: number) {
    this.op = `marker@${startedAt}`;
  }

  /** Returns true once liveness is shown. */
  step(sim: Simulation): boolean {
    const leader = sim.leaderForLiveness();
    if (leader === undefined) return false;
    const now = sim.tick;
    if (this.proposedAt === undefined || now - this.proposedAt > 20) {
      // Re-proposing is harmless: the state machine ignores a marker it has already applied.
      if (sim.proposeMarker(leader, this.op)) this.proposedAt = now;
    }
    const voters = sim.votersOf(leader);
    const applied = voters.every((id) => sim.nodeById(id)?.state.appliedOps.has(this.op) ?? false);
    if (applied) this.done = true;
    return this.done;
  }

  describeFailure(sim: Simulation): string {
    const leader = sim.leaderForLiveness();
    const what = leader === undefined ? 'no leader emerged' : `marker not applied by every voter of n${leader.id}`;
    return `liveness: ${what} within ${sim.params.livenessTicks} ticks after healing at tick ${this.startedAt / TICK}: ${sim.describeNodes()}`;
  }
}
