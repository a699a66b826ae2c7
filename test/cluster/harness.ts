// Real Cairn nodes as separate processes, started from the built binary (bin/cairn.js → dist/)
// on loopback. Every process is tracked by PID and killed in close(), whatever happened.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { PdClient, RawKvClient } from '../../src/client/index.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(REPO, 'bin', 'cairn.js');

/** Builds dist/ if it is missing or older than any source file (npm test builds first). */
export function ensureBuilt(): void {
  const built = join(REPO, 'dist', 'cli', 'main.js');
  if (existsSync(built) && newestMtime(join(REPO, 'src')) <= statSync(built).mtimeMs) return;
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ProcNode {
  readonly name: string;
  readonly grpc: string;
  readonly http: string;
  /** The SQL (pgwire) address. */
  readonly sql: string;
  readonly dir: string;
  readonly log: string;
  proc: ChildProcess | undefined;
  pid: number | undefined;
}

export interface ClusterFlags {
  readonly [flag: string]: string;
}

export class ProcessCluster {
  readonly nodes: ProcNode[] = [];
  joinList: string[] = [];
  private root = '';
  private readonly clients: Array<{ close(): void }> = [];

  constructor(private readonly flags: ClusterFlags = {}) {}

  async setup(): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), 'cairn-cluster-'));
  }

  get rootDir(): string {
    return this.root;
  }

  /** Allocates ports and a directory for a node (not started). */
  async define(name: string): Promise<ProcNode> {
    const node: ProcNode = {
      name,
      grpc: `127.0.0.1:${await freePort()}`,
      http: `127.0.0.1:${await freePort()}`,
      sql: `127.0.0.1:${await freePort()}`,
      dir: join(this.root, name),
      log: join(this.root, `${name}.log`),
      proc: undefined,
      pid: undefined,
    };
    this.nodes.push(node);
    return node;
  }

  start(node: ProcNode, extra: ClusterFlags = {}): void {
    const flags = { ...this.flags, ...extra };
    const args = [
      BIN,
      'start',
      `--store=${node.dir}`,
      `--listen-addr=${node.grpc}`,
      `--advertise-addr=${node.grpc}`,
      `--http-addr=${node.http}`,
      `--sql-addr=${node.sql}`,
      '--insecure',
      `--join=${this.joinList.join(',')}`,
      ...Object.entries(flags).map(([k, v]) => `--${k}=${v}`),
    ];
    const out = createWriteStream(node.log, { flags: 'a' });
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.pipe(out);
    proc.stderr?.pipe(out);
    node.proc = proc;
    node.pid = proc.pid;
  }

  /** kill -9: the process gets no chance to clean anything up. */
  async kill9(node: ProcNode): Promise<void> {
    const proc = node.proc;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
    node.proc = undefined;
  }

  async terminate(node: ProcNode): Promise<number | null> {
    const proc = node.proc;
    if (proc === undefined || proc.exitCode !== null) return proc?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    const code = await exited;
    node.proc = undefined;
    return code;
  }

  cli(args: string[], timeoutMs = 150_000): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: timeoutMs });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  async http(node: ProcNode, path: string): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`http://${node.http}${path}`);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body };
  }

  async waitReady(node: ProcNode, timeoutMs = 60_000): Promise<void> {
    await waitUntil(async () => {
      try {
        return (await this.http(node, '/health?ready=1')).status === 200;
      } catch {
        return false;
      }
    }, timeoutMs, `${node.name} to be ready`);
  }

  /** Regions as this node sees them (its own peers). */
  async regions(node: ProcNode): Promise<Array<{ id: number; leader: boolean; appliedIndex: number; peers: Array<{ id: number; storeId: number; role: string }> }>> {
    return (await this.http(node, '/_status/regions')).body as Array<{ id: number; leader: boolean; appliedIndex: number; peers: Array<{ id: number; storeId: number; role: string }> }>;
  }

  async nodeStatus(node: ProcNode): Promise<{ storeId: number; pdLeader: boolean; leaders: number; regions: number }> {
    return (await this.http(node, '/_status/node')).body as { storeId: number; pdLeader: boolean; leaders: number; regions: number };
  }

  pdClient(): PdClient {
    const pd = new PdClient({ endpoints: this.joinList });
    this.clients.push(pd);
    return pd;
  }

  kvClient(): { kv: RawKvClient; pd: PdClient } {
    const pd = this.pdClient();
    const kv = new RawKvClient({ pd });
    this.clients.push(kv);
    return { kv, pd };
  }

  async close(keepLogsOnFailure = false): Promise<void> {
    for (const c of this.clients) c.close();
    for (const n of this.nodes) {
      if (n.proc && n.proc.exitCode === null) {
        n.proc.kill('SIGKILL');
        await new Promise((r) => n.proc!.once('exit', r));
      }
    }
    if (!keepLogsOnFailure && this.root) await rm(this.root, { recursive: true, force: true });
  }
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Declares tests that call `onFail` when they fail (so a suite can keep its cluster's logs). */
export function failureTrackingSteps(onFail: () => void): (name: string, fn: () => Promise<void>, timeoutMs?: number) => void {
  return (name, fn, timeoutMs = 30_000) => {
    it(name, async () => {
      try {
        await fn();
      } catch (err) {
        onFail();
        throw err;
      }
    }, timeoutMs);
  };
}
