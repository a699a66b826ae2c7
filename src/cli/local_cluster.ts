// `cairn local`: a cluster of several nodes on this machine, for trying Cairn out. Each node is a
// separate `cairn start` process (exactly what an operator runs), with its data directory and log
// under one parent directory; the first three host the placement driver. The command initialises
// the cluster on first use, prints how to reach it, and stops every node on SIGINT or SIGTERM.
// Run again with the same directory to restart the same cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, parsePositiveInt } from './flags.js';

const BIN = fileURLToPath(new URL('../../bin/cairn.js', import.meta.url));
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const MAX_NODES = 9;

export interface LocalClusterOptions {
  nodes: string;
  dir: string;
  grpcPort: string;
  httpPort: string;
  sqlPort: string;
  logLevel: string;
}

interface LocalNode {
  readonly name: string;
  readonly grpc: string;
  readonly http: string;
  readonly sql: string;
  readonly dir: string;
  readonly log: string;
  child?: ChildProcess;
}

function port(flag: string, value: string, count: number): number {
  const p = parsePositiveInt(flag, value);
  if (p + count - 1 > 65535) throw new UsageError(`--${flag} ${p} leaves no room for ${count} ports below 65536`);
  return p;
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log yet)';
  }
}

export async function localClusterCommand(opts: LocalClusterOptions, init: (host: string) => Promise<void>): Promise<void> {
  const count = parsePositiveInt('nodes', opts.nodes);
  if (count > MAX_NODES) throw new UsageError(`--nodes is at most ${MAX_NODES} on one machine`);
  const grpcBase = port('grpc-port', opts.grpcPort, count);
  const httpBase = port('http-port', opts.httpPort, count);
  const sqlBase = port('sql-port', opts.sqlPort, count);
  const root = resolve(opts.dir);
  mkdirSync(root, { recursive: true });
  const nodes: LocalNode[] = Array.from({ length: count }, (_, i) => ({
    name: `n${i + 1}`,
    grpc: `${HOST}:${grpcBase + i}`,
    http: `${HOST}:${httpBase + i}`,
    sql: `${HOST}:${sqlBase + i}`,
    dir: join(root, `n${i + 1}`),
    log: join(root, `n${i + 1}.log`),
  }));
  const joinList = nodes.slice(0, 3).map((n) => n.grpc).join(',');

  let stopping = false;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    await Promise.all(
      nodes.map(
        (n) =>
          new Promise<void>((done) => {
            const child = n.child;
            if (child === undefined || child.exitCode !== null || child.signalCode !== null) return done();
            const force = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
            child.once('exit', () => {
              clearTimeout(force);
              done();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  };

  for (const n of nodes) {
    const log = openSync(n.log, 'a');
    const args = [BIN, 'start', `--store=${n.dir}`, `--listen-addr=${n.grpc}`, `--advertise-addr=${n.grpc}`, `--http-addr=${n.http}`, `--sql-addr=${n.sql}`, '--insecure', `--join=${joinList}`, `--log-level=${opts.logLevel}`];
    const child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    n.child = child;
    child.once('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`${n.name} exited (code ${code}, signal ${signal}); its log: ${n.log}\n${tail(n.log, 5)}\n`);
    });
  }

  const waitAll = async (path: string, what: string): Promise<void> => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    const pending = new Set(nodes);
    for (;;) {
      for (const n of nodes) {
        if (n.child?.exitCode !== null || n.child.signalCode !== null) throw new Error(`${n.name} exited before it was ${what}; see ${n.log}`);
      }
      for (const n of [...pending]) {
        try {
          if ((await fetch(`http://${n.http}${path}`, { signal: AbortSignal.timeout(2000) })).ok) pending.delete(n);
        } catch {
          // not listening yet
        }
      }
      if (pending.size === 0) return;
      if (Date.now() > deadline) throw new Error(`${[...pending].map((n) => n.name).join(', ')} not ${what} after ${START_TIMEOUT_MS / 1000} s; see the logs in ${root}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  try {
    await waitAll('/health', 'up');
    await init(nodes[0]!.grpc);
    await waitAll('/health?ready=1', 'ready');
  } catch (err) {
    await stopAll();
    throw err;
  }

  const lines = [
    `local cluster of ${count} node${count === 1 ? '' : 's'} is ready; data and logs in ${root}`,
    ...nodes.map((n) => `  ${n.name}  SQL ${n.sql}   gRPC ${n.grpc}   admin http://${n.http}/health`),
    'connect with:',
    `  psql "postgresql://root@${nodes[0]!.sql}/defaultdb?sslmode=disable"`,
    `  node ${BIN} sql --insecure --host=${nodes[0]!.sql}`,
    'Ctrl-C stops every node; run the same command again to restart this cluster.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  await new Promise<void>((done) => {
    const onSignal = (): void => {
      process.stdout.write('stopping the nodes...\n');
      stopAll().then(done, done);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
