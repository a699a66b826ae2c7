// The subject of the KV bench: a 3-node Cairn cluster on loopback, started from the built CLI
// (bin/cairn.js over dist/; `npm run bench:kv` builds first) the way an operator starts one: three
// `cairn start` processes with the same --join list, then `cairn init` once.
//
// Settings: the shipped defaults (100 ms Raft tick, 10-tick election timeout, 64 MiB Region split
// size, every Raft Ready persisted with one fsync per store-loop iteration), logs at warn level
// into the temporary directory. With the bench's 10,000 records of 100 bytes the data stays in one
// Region, as it would in a real cluster of that size: one Raft group, its leader on one node.
//
// Client: the project's RawKvClient (src/client) over one PdClient, shared by every simulated
// client of the bench: requests go to the Region's leader, concurrent ones multiplexed over one
// BatchCommands stream per store. Gets are linearizable (served by the leader under its lease, or
// after a ReadIndex round); puts are acknowledged once committed by a quorum and applied.
//
// Teardown kills every node by PID (SIGKILL: the data is thrown away) and removes the temporary
// directory; a synchronous last resort does the same if the process exits without teardown.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PdClient, RawKvClient } from '../../src/client/index.js';
import { freePorts, tail } from './procs.js';
import { TargetUnavailableError, type KvTarget, type TargetContext } from './target.js';

const NODES = 3;
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 60_000;
const CALL_TIMEOUT_MS = 10_000;
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(REPO, 'bin', 'cairn.js');
const BUILT = join(REPO, 'dist', 'cli', 'main.js');

interface CairnNode {
  name: string;
  grpc: string;
  http: string;
  sql: string;
  dir: string;
  logFile: string;
  process?: ChildProcess;
  exited?: Promise<void>;
}

export class CairnTarget implements KvTarget {
  readonly name = 'cairn';
  private dir: string | undefined;
  private nodes: CairnNode[] = [];
  private pd: PdClient | undefined;
  private kv: RawKvClient | undefined;
  private readonly emergencyCleanup = (): void => this.killSync();

  constructor(
    private readonly context: TargetContext,
    /** More `cairn start` flags (other benches shrink Regions, say). */
    private readonly extraFlags: readonly string[] = [],
  ) {}

  /** The clients setup() made, for benches that drive more than get and put. */
  get clients(): { kv: RawKvClient; pd: PdClient } {
    if (this.kv === undefined || this.pd === undefined) throw new Error('the cairn target is not set up');
    return { kv: this.kv, pd: this.pd };
  }

  describe(): string {
    return (
      `cairn, ${NODES} nodes on ${HOST} (gRPC ${this.nodes.map((n) => n.grpc.split(':')[1]).join(', ')}), data in ${this.dir}, ` +
      `default tuning (fsync on); client: RawKvClient to Region leaders, one stream per store, linearizable gets`
    );
  }

  async setup(): Promise<void> {
    this.dir = await mkdtemp(join(this.context.workDir, 'cairn-bench-cairn-'));
    process.on('exit', this.emergencyCleanup);
    const ports = await freePorts(NODES * 3);
    this.nodes = Array.from({ length: NODES }, (_, i) => ({
      name: `n${i + 1}`,
      grpc: `${HOST}:${ports[3 * i]!}`,
      http: `${HOST}:${ports[3 * i + 1]!}`,
      sql: `${HOST}:${ports[3 * i + 2]!}`,
      dir: join(this.dir!, `n${i + 1}`),
      logFile: join(this.dir!, `n${i + 1}.log`),
    }));
    const join_ = this.nodes.map((n) => n.grpc).join(',');
    for (const n of this.nodes) {
      const log = openSync(n.logFile, 'a');
      const args = [BIN, 'start', `--store=${n.dir}`, `--listen-addr=${n.grpc}`, `--advertise-addr=${n.grpc}`, `--http-addr=${n.http}`, `--sql-addr=${n.sql}`, '--insecure', `--join=${join_}`, '--log-level=warn', ...this.extraFlags];
      const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
      closeSync(log);
      n.process = child;
      n.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.once('error', (error) => this.context.log(`cairn ${n.name}: ${error.message}`));
    }
    try {
      await this.waitFor('/health', 'alive');
      const init = spawnSync(process.execPath, [BIN, 'init', `--host=${this.nodes[0]!.grpc}`], { encoding: 'utf8', timeout: START_TIMEOUT_MS });
      if (init.status !== 0) throw new Error(`cairn init failed (${init.status}): ${init.stderr.trim() || init.stdout.trim()}`);
      await this.waitFor('/health?ready=1', 'ready');
    } catch (error) {
      const logs = this.nodes.map((n) => `--- ${n.name} (${n.logFile}):\n${tail(n.logFile, 15)}`).join('\n');
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs}`);
    }
    this.pd = new PdClient({ endpoints: this.nodes.map((n) => n.grpc) });
    this.kv = new RawKvClient({ pd: this.pd, operationTimeoutMs: CALL_TIMEOUT_MS });
    // One write and one read: the Region's leader elected, the client's cache and streams warm.
    await this.kv.put(Buffer.from('cairn-bench-ping'), Buffer.from('1'));
    await this.kv.get(Buffer.from('cairn-bench-ping'));
  }

  private async waitFor(path: string, what: string): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    const pending = new Set(this.nodes);
    while (pending.size > 0) {
      for (const n of this.nodes) {
        const child = n.process;
        if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) {
          throw new Error(`cairn node ${n.name} exited during startup (code ${child.exitCode}, signal ${child.signalCode})`);
        }
      }
      for (const n of [...pending]) {
        try {
          const response = await fetch(`http://${n.http}${path}`, { signal: AbortSignal.timeout(2000) });
          if (response.ok) pending.delete(n);
        } catch {
          // not listening yet
        }
      }
      if (pending.size === 0) break;
      if (Date.now() > deadline) throw new Error(`cairn nodes not ${what} after ${START_TIMEOUT_MS / 1000} s (waiting on ${[...pending].map((n) => n.name).join(', ')})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.kv!.get(key);
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.kv!.put(key, value);
  }

  async teardown(): Promise<void> {
    this.kv?.close();
    this.pd?.close();
    this.kv = undefined;
    this.pd = undefined;
    await Promise.all(
      this.nodes.map(async (n) => {
        const child = n.process;
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGKILL');
        await n.exited;
      }),
    );
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    process.off('exit', this.emergencyCleanup);
  }

  /** Last resort when the process exits without teardown: no awaiting possible here. */
  private killSync(): void {
    for (const n of this.nodes) {
      const child = n.process;
      if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    try {
      if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a node still writing as it dies; nothing more can be done while exiting
    }
  }
}

export function createTarget(context: TargetContext): KvTarget {
  if (!existsSync(BUILT)) throw new TargetUnavailableError(`${BUILT} is missing: run npm run build (npm run bench:kv does)`);
  return new CairnTarget(context);
}
