// A private PostgreSQL 15 server for tests and benchmarks: the oracle for expected SQL results and
// the peer that Cairn's figures are compared with. It runs from a temporary directory on a free
// loopback port, in its own process group, and is stopped (and its directory removed) by stop(),
// or killed when this process exits without calling it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  /** The directory holding the data directory and the Unix socket. */
  readonly dir: string;
  readonly version: string;
  /** postgresql://user@host:port/database */
  readonly url: string;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  readonly user?: string;
  readonly maxConnections?: number;
  /** Extra `-c name=value` settings. */
  readonly settings?: Readonly<Record<string, string>>;
  /** How long to wait for the server to accept connections. Default 30 s. */
  readonly startTimeoutMs?: number;
}

/** Why PostgreSQL cannot run here, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  if (spawnSync('initdb', ['--version'], { encoding: 'utf8' }).status !== 0) {
    if (spawnSync('/usr/lib/postgresql/15/bin/initdb', ['--version']).status !== 0) return 'initdb not found';
  }
  if (process.getuid?.() === 0 && spawnSync('id', ['-u', 'postgres']).status !== 0) {
    return 'running as root and there is no postgres user to run the server as';
  }
  return undefined;
}

function binary(name: string): string {
  return spawnSync(name, ['--version']).status === 0 ? name : `/usr/lib/postgresql/15/bin/${name}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const why = postgresUnavailable();
  if (why !== undefined) throw new Error(`PostgreSQL is not available: ${why}`);
  const user = options.user ?? 'postgres';
  const dir = await mkdtemp(join(tmpdir(), 'cairn-pg-'));
  // PostgreSQL refuses to run as root: it then runs as the postgres user, which owns its directory.
  const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
  if (asUser !== undefined) spawnSync('chown', [asUser, dir]);
  const command = (cmd: string, args: string[]): [string, string[]] =>
    asUser === undefined ? [binary(cmd), args] : ['runuser', ['-u', asUser, '--', binary(cmd), ...args]];
  const port = await freePort();
  const init = spawnSync(...command('initdb', ['-D', join(dir, 'data'), '-U', user, '--auth=trust', '-E', 'UTF8', '--locale=C']), { encoding: 'utf8' });
  if (init.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr}`);
  }
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    max_connections: String(options.maxConnections ?? 100),
    ...options.settings,
  };
  const args = ['-D', join(dir, 'data'), '-p', String(port), '-k', dir];
  for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
  const server: ChildProcess = spawn(...command('postgres', args), { stdio: 'ignore', detached: true });
  const killOnExit = (): void => {
    if (server.pid !== undefined && server.exitCode === null) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killOnExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    if (server.pid !== undefined && server.exitCode === null) {
      const pid = server.pid;
      const exited = new Promise((r) => server.once('exit', r));
      // Its own process group (runuser and postgres): SIGINT is a fast shutdown; SIGKILL if slow.
      process.kill(-pid, 'SIGINT');
      const slow = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 10_000);
      await exited;
      clearTimeout(slow);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  let version = '';
  for (;;) {
    const client = new pg.Client({ host: '127.0.0.1', port, user, database: 'postgres' });
    try {
      await client.connect();
      version = (await client.query('show server_version')).rows[0].server_version as string;
      await client.end();
      break;
    } catch (err) {
      await client.end().catch(() => {});
      if (Date.now() > deadline || server.exitCode !== null) {
        await stop();
        throw new Error(`PostgreSQL did not start: ${err instanceof Error ? err.message : String(err)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { host: '127.0.0.1', port, user, database: 'postgres', dir, version, url: `postgresql://${user}@127.0.0.1:${port}/postgres`, stop };
}
