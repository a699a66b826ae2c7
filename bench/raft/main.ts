// npm run bench:raft [-- --seconds 5 --payload 100 --window 1024]
//
// Proposals committed per second by a 3-node Raft group running in this process:
//   1. memory storage (the protocol and batching alone);
//   2. each node on its own classic-level store, one synced write per Ready (group commit).
// For context it also measures the raw synced-write rate of classic-level on this disk: with one
// sync per entry a node could never beat it, so entries per sync is what makes the difference.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { RaftNode, type ConfState, type Message, type NodeId, type Ready } from '../../src/raft/index.js';
import { StorageEngine } from '../../src/storage/engine.js';
import { LevelRaftStorage } from '../../src/storage/level_raft_storage.js';
import { MemoryRaftStorage } from '../../src/storage/memory_raft_storage.js';
import type { RaftLogStore, RaftPersistUpdate } from '../../src/storage/raft_log_store.js';
import { SeededRandom } from '../../test/support/prng.js';

interface Options {
  seconds: number;
  payload: number;
  window: number;
}

interface Result {
  entriesPerSecond: number;
  committed: number;
  seconds: number;
  readysLeader: number;
  entriesPersistedLeader: number;
  syncsLeader: number;
  syncsFollowers: number;
  entriesPersistedFollowers: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

const IDS: readonly NodeId[] = [1, 2, 3];
const CONF: ConfState = { voters: [...IDS], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

function updateOf(rd: Ready): RaftPersistUpdate {
  return {
    ...(rd.snapshot ? { snapshot: rd.snapshot } : {}),
    entries: rd.entries,
    ...(rd.hardState ? { hardState: rd.hardState } : {}),
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Drives three nodes. Each node runs its own loop: take the messages that arrived, step them,
 * then handle at most one Ready at a time (persist, send, apply, advance). While a synced write
 * is in flight, messages and proposals pile up and land in the next Ready: that is the batching.
 */
class Group {
  readonly nodes = new Map<NodeId, RaftNode>();
  private readonly inbox = new Map<NodeId, Message[]>();
  private readonly wake = new Map<NodeId, () => void>();
  private running = true;
  private readonly proposedAt = new Map<number, number>();
  readonly latencies: number[] = [];
  committed = 0;
  readysLeader = 0;
  entriesPersisted = new Map<NodeId, number>();
  syncs = new Map<NodeId, number>();
  private inFlight = 0;
  private seq = 0;
  /** Set once n1 leads: the client starts proposing. */
  private measuring = false;

  constructor(
    storages: ReadonlyMap<NodeId, RaftLogStore>,
    private readonly persist: (id: NodeId, update: RaftPersistUpdate, sync: boolean) => void | Promise<void>,
    private readonly options: Options,
  ) {
    const random = new SeededRandom(7);
    for (const id of IDS) {
      this.nodes.set(
        id,
        new RaftNode({ id, storage: storages.get(id)!, random, electionTick: 10, heartbeatTick: 1, checkQuorum: false }),
      );
      this.inbox.set(id, []);
      this.entriesPersisted.set(id, 0);
      this.syncs.set(id, 0);
    }
  }

  private send(m: Message): void {
    this.inbox.get(m.to)!.push(m);
    this.wake.get(m.to)?.();
  }

  private topUp(): void {
    const leader = this.nodes.get(1)!;
    const payload = new Uint8Array(this.options.payload);
    while (this.running && this.measuring && this.inFlight < this.options.window) {
      const n = ++this.seq;
      new DataView(payload.buffer).setUint32(0, n);
      const result = leader.propose(payload.slice());
      if (result.kind !== 'appended') throw new Error(`proposal refused: ${JSON.stringify(result)}`);
      this.proposedAt.set(result.index, performance.now());
      this.inFlight++;
    }
    this.wake.get(1)?.();
  }

  private async loop(id: NodeId): Promise<void> {
    const node = this.nodes.get(id)!;
    const inbox = this.inbox.get(id)!;
    while (this.running) {
      if (inbox.length > 0) {
        const batch = inbox.splice(0, inbox.length);
        for (const m of batch) node.step(m);
      }
      if (!node.hasReady()) {
        await new Promise<void>((resolve) => this.wake.set(id, resolve));
        this.wake.delete(id);
        continue;
      }
      const rd = node.ready();
      const persisted = this.persist(id, updateOf(rd), rd.mustSync);
      if (persisted instanceof Promise) await persisted;
      if (rd.mustSync) this.syncs.set(id, this.syncs.get(id)! + 1);
      this.entriesPersisted.set(id, this.entriesPersisted.get(id)! + rd.entries.length);
      for (const m of rd.messages) this.send(m);
      if (id === 1) {
        this.readysLeader++;
        const now = performance.now();
        for (const e of rd.committedEntries) {
          const at = this.proposedAt.get(e.index);
          if (at === undefined) continue;
          this.proposedAt.delete(e.index);
          this.latencies.push(now - at);
          this.committed++;
          this.inFlight--;
        }
      }
      node.advance();
      if (id === 1) this.topUp();
      // Yield so other nodes' loops and I/O callbacks run (as separate processes would).
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async run(): Promise<Result> {
    // Elect n1 before measuring.
    const loops = IDS.map((id) => this.loop(id));
    this.nodes.get(1)!.campaign();
    this.wake.get(1)?.();
    while (this.nodes.get(1)!.status().role !== 'leader' || this.nodes.get(1)!.status().commit < 6) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    this.committed = 0;
    this.latencies.length = 0;
    for (const id of IDS) {
      this.syncs.set(id, 0);
      this.entriesPersisted.set(id, 0);
    }
    this.readysLeader = 0;
    const start = performance.now();
    this.measuring = true;
    this.topUp();
    await new Promise((resolve) => setTimeout(resolve, this.options.seconds * 1000));
    const seconds = (performance.now() - start) / 1000;
    const committed = this.committed;
    this.running = false;
    for (const id of IDS) this.wake.get(id)?.();
    await Promise.all(loops);
    const sorted = this.latencies.slice().sort((a, b) => a - b);
    const followerSyncs = this.syncs.get(2)! + this.syncs.get(3)!;
    return {
      entriesPerSecond: committed / seconds,
      committed,
      seconds,
      readysLeader: this.readysLeader,
      entriesPersistedLeader: this.entriesPersisted.get(1)!,
      syncsLeader: this.syncs.get(1)!,
      syncsFollowers: followerSyncs,
      entriesPersistedFollowers: this.entriesPersisted.get(2)! + this.entriesPersisted.get(3)!,
      latencyP50Ms: percentile(sorted, 50),
      latencyP99Ms: percentile(sorted, 99),
    };
  }
}

async function benchMemory(options: Options): Promise<Result> {
  const storages = new Map<NodeId, MemoryRaftStorage>(IDS.map((id) => [id, MemoryRaftStorage.bootstrap(CONF)]));
  const group = new Group(storages, (id, update) => storages.get(id)!.persist(update), options);
  return group.run();
}

async function benchLevel(options: Options, dir: string): Promise<Result> {
  const engines = new Map<NodeId, StorageEngine>();
  const storages = new Map<NodeId, LevelRaftStorage>();
  for (const id of IDS) {
    const engine = await StorageEngine.open(join(dir, `n${id}`));
    engines.set(id, engine);
    storages.set(id, await LevelRaftStorage.bootstrap(engine, 1, CONF));
  }
  const group = new Group(
    storages,
    async (id, update, sync) => {
      const batch = engines.get(id)!.newBatch();
      storages.get(id)!.stage(batch, update);
      await batch.commit({ sync });
    },
    options,
  );
  const result = await group.run();
  for (const engine of engines.values()) await engine.close();
  return result;
}

/** Synced single-key writes on classic-level, back to back: the per-sync cost of this disk. */
async function rawSyncRate(dir: string, seconds: number): Promise<number> {
  const engine = await StorageEngine.open(join(dir, 'raw'));
  const value = new Uint8Array(100);
  let n = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const batch = engine.newBatch();
    batch.put(new Uint8Array([0x7f, n & 0xff, (n >> 8) & 0xff]), value);
    await batch.commit({ sync: true });
    n++;
  }
  await engine.close();
  return n / seconds;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      payload: { type: 'string', default: '100' },
      window: { type: 'string', default: '1024' },
    },
    strict: true,
  });
  const num = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) {
      process.stderr.write(`bench:raft: --${name} must be a number ≥ ${min}, got "${v}"\n`);
      process.exit(2);
    }
    return n;
  };
  return {
    seconds: num('seconds', values.seconds, 0.1),
    payload: Math.floor(num('payload', values.payload, 4)),
    window: Math.floor(num('window', values.window, 1)),
  };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const options = parseOptions();
  const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-raft-'));
  try {
    process.stdout.write(
      `raft bench: 3 voters in one process, ${options.payload}-byte entries, up to ${options.window} proposals in flight, ${options.seconds} s per run\n`,
    );
    const mem = await benchMemory(options);
    process.stdout.write(
      `memory storage:        ${fmt(mem.entriesPerSecond)} entries/s committed  ` +
        `(${(mem.entriesPersistedLeader / Math.max(1, mem.readysLeader)).toFixed(1)} entries per leader Ready; ` +
        `commit latency p50 ${mem.latencyP50Ms.toFixed(2)} ms, p99 ${mem.latencyP99Ms.toFixed(2)} ms)\n`,
    );
    const raw = await rawSyncRate(dir, Math.min(2, options.seconds));
    const level = await benchLevel(options, dir);
    const perSyncLeader = level.entriesPersistedLeader / Math.max(1, level.syncsLeader);
    const perSyncFollowers = level.entriesPersistedFollowers / Math.max(1, level.syncsFollowers);
    process.stdout.write(
      `classic-level, synced: ${fmt(level.entriesPerSecond)} entries/s committed  ` +
        `(${perSyncLeader.toFixed(1)} entries per sync at the leader, ${perSyncFollowers.toFixed(1)} at followers; ` +
        `${fmt(level.syncsLeader / level.seconds)} leader syncs/s; ` +
        `commit latency p50 ${level.latencyP50Ms.toFixed(2)} ms, p99 ${level.latencyP99Ms.toFixed(2)} ms)\n`,
    );
    process.stdout.write(
      `disk baseline:         ${fmt(raw)} synced single-entry writes/s on this disk; ` +
        `group commit reaches ${(level.entriesPerSecond / raw).toFixed(1)}× that with three replicas sharing it\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
