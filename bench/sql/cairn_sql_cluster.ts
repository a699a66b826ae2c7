// The Cairn side of the SQL bench: a 3-node cluster on loopback, started from the built CLI the way
// README.md's "By hand" section starts one, plus each node's SQL gateway address:
//
//   node bin/cairn.js start --store=DIR --listen-addr=127.0.0.1:P --http-addr=127.0.0.1:H \
//     --join=P1,P2,P3 --sql-addr=127.0.0.1:S --insecure          (three times)
//   node bin/cairn.js init --host=127.0.0.1:P1
//
// then waits for `/health?ready=1` on every node and for the first node's SQL port to answer a
// query. Logs go to the temporary directory at warn level, as in the other benches. Teardown kills
// every node by PID (SIGKILL: the data is thrown away) and removes the directory; a synchronous
// last resort does the same if the process exits without teardown.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePorts, tail } from '../kv/procs.js';
import type { PgbenchTarget } from './pgbench.js';

const NODES = 3;
const HOST = '127.0.0.1';
/** How long the nodes may take to come up, initialise and open their SQL port. */
const START_TIMEOUT_MS = 60_000;
/** Lines of each node's log quoted when startup fails. */
const LOG_TAIL_LINES = 15;
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(REPO, 'bin', 'cairn.js');
const BUILT = join(REPO, 'dist', 'cli', 'main.js');
/** Cairn's SQL user and database, as pgbench should find them. */
const SQL_USER = 'root';
const SQL_DATABASE = 'defaultdb';

interface CairnNode {
  readonly name: string;
  readonly grpc: string;
  readonly http: string;
  readonly sql: string;
  readonly dir: string;
  readonly logFile: string;
  process?: ChildProcess;
  exited?: Promise<void>;
}

/** The first line of a node's log that reports an error (a usage error prints one, then the help). */
function firstErrorLine(logFile: string): string | undefined {
  try {
    return readFileSync(logFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('error:') || l.includes('"level":"error"'))
      ?.trim();
  } catch {
    return undefined;
  }
}

/** Why the cluster cannot be started at all (nothing built), or undefined. */
export function cairnUnavailable(): string | undefined {
  return existsSync(BUILT) ? undefined : `${BUILT} is missing: run npm run build first`;
}

export class CairnSqlCluster {
  private dir: string | undefined;
  private nodes: CairnNode[] = [];
  private readonly emergencyCleanup = (): void => this.killSync();

  constructor(
    private readonly workDir: string,
    private readonly log: (line: string) => void,
  ) {}

  describe(): string {
    return `cairn, ${NODES} nodes on ${HOST} (SQL ${this.nodes.map((n) => n.sql.split(':')[1]).join(', ')}), data in ${this.dir}, default tuning`;
  }

  /** Starts the nodes and returns where pgbench connects: the first node's SQL port. */
  async start(): Promise<PgbenchTarget> {
    this.dir = await mkdtemp(join(this.workDir, 'cairn-bench-sql-'));
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
    const joinList = this.nodes.map((n) => n.grpc).join(',');
    for (const n of this.nodes) {
      const log = openSync(n.logFile, 'a');
      const args = [BIN, 'start', `--store=${n.dir}`, `--listen-addr=${n.grpc}`, `--http-addr=${n.http}`, `--join=${joinList}`, `--sql-addr=${n.sql}`, '--insecure', '--log-level=warn'];
      const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
      closeSync(log);
      n.process = child;
      n.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.once('error', (error) => this.log(`cairn ${n.name}: ${error.message}`));
    }
    try {
      await this.waitForHttp('/health', 'alive');
      const init = spawnSync(process.execPath, [BIN, 'init', `--host=${this.nodes[0]!.grpc}`], { encoding: 'utf8', timeout: START_TIMEOUT_MS });
      if (init.status !== 0) throw new Error(`cairn init failed (${init.status}): ${init.stderr.trim() || init.stdout.trim()}`);
      await this.waitForHttp('/health?ready=1', 'ready');
      await this.waitForSql();
    } catch (error) {
      const logs = this.nodes.map((n) => `--- ${n.name} (${n.logFile}):\n${tail(n.logFile, LOG_TAIL_LINES)}`).join('\n');
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs}`);
    }
    const first = this.nodes[0]!;
    return { host: HOST, port: Number(first.sql.split(':')[1]), user: SQL_USER, database: SQL_DATABASE };
  }

  private checkAlive(): void {
    for (const n of this.nodes) {
      const child = n.process;
      if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) {
        const why = firstErrorLine(n.logFile);
        throw new Error(`cairn node ${n.name} exited during startup (code ${child.exitCode}, signal ${child.signalCode})${why === undefined ? '' : `: ${why}`}`);
      }
    }
  }

  private async waitForHttp(path: string, what: string): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    const pending = new Set(this.nodes);
    while (pending.size > 0) {
      this.checkAlive();
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

  private async waitForSql(): Promise<void> {
    const first = this.nodes[0]!;
    const [host, port] = first.sql.split(':');
    const deadline = Date.now() + START_TIMEOUT_MS;
    let last = '';
    for (;;) {
      this.checkAlive();
      const client = new pg.Client({ host, port: Number(port), user: SQL_USER, database: SQL_DATABASE, connectionTimeoutMillis: 2000 });
      try {
        await client.connect();
        await client.query('select 1');
        return;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      } finally {
        await client.end().catch(() => {});
      }
      if (Date.now() > deadline) throw new Error(`cairn's SQL port ${first.sql} does not answer after ${START_TIMEOUT_MS / 1000} s: ${last}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async stop(): Promise<void> {
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

  /** Last resort when the process exits without stop(): nothing can be awaited here. */
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
