// npx tsx bench/txn/main.ts [--seconds 10] [--concurrency 1,16] [--accounts 1000] [--targets cairn,postgres]
//
// Transfer transactions (read two account balances, write both back, commit) against a 3-node
// Cairn cluster and, in the same run, a PostgreSQL 15 started from a temporary directory (fsync and
// synchronous_commit on, as it ships; REPEATABLE READ, the isolation Cairn gives). For Cairn the
// accounts are spread over many Regions (a small --region-split-keys), and two workloads are run:
// pairs of accounts in one Region (committed in one phase) and pairs in two Regions (two-phase
// commit). PostgreSQL is one node: its single workload is the peer of both. For each, closed loops
// of C clients for --seconds: committed transactions per second, conflicts (write conflicts /
// serialization failures: counted, not retried), and latency of the commit alone and of the whole
// transaction (begin to commit). The ratio is Cairn's committed/s over PostgreSQL's.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { TxnClient, WriteConflictError } from '../../src/client/index.js';
import { CairnTarget } from '../kv/cairn.js';
import { LatencyHistogram } from '../kv/histogram.js';
import { freePorts } from '../kv/procs.js';

interface Options {
  seconds: number;
  concurrency: number[];
  accounts: number;
  targets: string[];
}

interface Point {
  target: string;
  workload: string;
  clients: number;
  committed: number;
  conflicts: number;
  errors: number;
  /** Commits done in one phase (Cairn). */
  onePc: number;
  seconds: number;
  commit: LatencyHistogram;
  txn: LatencyHistogram;
}

type Transfer = (from: number, to: number) => Promise<{ commitMs: number; onePc?: boolean }>;

const log = (line: string): void => {
  process.stderr.write(`[bench:txn] ${line}\n`);
};

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '1,16' },
      accounts: { type: 'string', default: '1000' },
      targets: { type: 'string', default: 'cairn,postgres' },
    },
  });
  const positive = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${v}`);
    return n;
  };
  return {
    seconds: positive('seconds', values.seconds!),
    concurrency: values.concurrency!.split(',').map((v) => positive('concurrency', v)),
    accounts: positive('accounts', values.accounts!),
    targets: values.targets!.split(',').filter((t) => t !== ''),
  };
}

/** Closed loops of `clients` transfers over pairs from `pick` for `seconds`. */
async function runPoint(target: string, workload: string, clients: number, seconds: number, pick: () => [number, number], transfer: Transfer): Promise<Point> {
  const point: Point = { target, workload, clients, committed: 0, conflicts: 0, errors: 0, onePc: 0, seconds, commit: new LatencyHistogram(), txn: new LatencyHistogram() };
  const end = performance.now() + seconds * 1000;
  let lastError = '';
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const [from, to] = pick();
        const t0 = performance.now();
        try {
          const { commitMs, onePc } = await transfer(from, to);
          if (onePc) point.onePc++;
          point.commit.recordMs(commitMs);
          point.txn.recordMs(performance.now() - t0);
          point.committed++;
        } catch (err) {
          if (err instanceof WriteConflictError || (err as { code?: string }).code === '40001') point.conflicts++;
          else {
            point.errors++;
            lastError = err instanceof Error ? err.message : String(err);
          }
        }
      }
    }),
  );
  if (point.errors > 0) log(`${target} ${workload} @${clients}: ${point.errors} errors, last: ${lastError}`);
  log(`${target} ${workload} @${clients}: ${(point.committed / seconds).toFixed(1)} txn/s (${point.onePc} in one phase), commit p50 ${point.commit.percentileMs(50).toFixed(2)} ms`);
  return point;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const accountKey = (i: number): Uint8Array => enc(`acct/${String(i).padStart(7, '0')}`);

async function benchCairn(o: Options): Promise<Point[]> {
  const cairn = new CairnTarget({ maxConcurrency: Math.max(...o.concurrency), workDir: tmpdir(), log }, ['--region-split-keys=200']);
  const points: Point[] = [];
  try {
    await cairn.setup();
    const { kv, pd } = cairn.clients;
    const txns = new TxnClient(kv, pd);
    for (let i = 0; i < o.accounts; i += 100) {
      await txns.run(async (t) => {
        for (let j = i; j < Math.min(o.accounts, i + 100); j++) t.put(accountKey(j), enc('1000'));
      });
    }
    await txns.flush();
    // Wait for the splits the load triggers, then group the accounts by Region.
    await new Promise((r) => setTimeout(r, 3_000));
    // Accounts grouped by Region, refreshed as the Regions keep splitting under the writes (each
    // write adds versions), so that "1-region" pairs stay in one Region.
    let groups: number[][] = [];
    let multi: number[][] = [];
    const regroup = async (): Promise<number> => {
      const regions = await pd.scanRegions(accountKey(0), accountKey(o.accounts), 0);
      const next: number[][] = regions.map(() => []);
      for (let i = 0; i < o.accounts; i++) {
        const key = Buffer.from(accountKey(i));
        const r = regions.findIndex((x) => Buffer.compare(key, Buffer.from(x.region.startKey)) >= 0 && (x.region.endKey.byteLength === 0 || Buffer.compare(key, Buffer.from(x.region.endKey)) < 0));
        if (r >= 0) next[r]!.push(i);
      }
      groups = next.filter((g) => g.length > 0);
      multi = groups.filter((g) => g.length >= 2);
      return regions.length;
    };
    log(`cairn: ${o.accounts} accounts over ${await regroup()} regions`);
    if (multi.length === 0 || groups.length < 2) throw new Error('the accounts did not spread over several Regions');
    const refresher = setInterval(() => void regroup().catch(() => {}), 500);
    const rand = (n: number): number => Math.floor(Math.random() * n);
    const sameRegion = (): [number, number] => {
      const g = multi[rand(multi.length)]!;
      const a = rand(g.length);
      let b = rand(g.length - 1);
      if (b >= a) b++;
      return [g[a]!, g[b]!];
    };
    const twoRegions = (): [number, number] => {
      for (;;) {
        const a = rand(groups.length);
        const b = rand(groups.length);
        if (a === b) continue;
        return [groups[a]![rand(groups[a]!.length)]!, groups[b]![rand(groups[b]!.length)]!];
      }
    };
    const transfer: Transfer = async (from, to) => {
      const txn = await txns.begin();
      const got = await txn.batchGet([accountKey(from), accountKey(to)]);
      const a = Number(new TextDecoder().decode(got.get(Buffer.from(accountKey(from)).toString('latin1'))));
      const b = Number(new TextDecoder().decode(got.get(Buffer.from(accountKey(to)).toString('latin1'))));
      txn.put(accountKey(from), enc(String(a - 1)));
      txn.put(accountKey(to), enc(String(b + 1)));
      const t0 = performance.now();
      await txn.commit();
      return { commitMs: performance.now() - t0, onePc: txn.commitKind === 'onePc' };
    };
    for (const c of o.concurrency) {
      points.push(await runPoint('cairn', '1-region', c, o.seconds, sameRegion, transfer));
      points.push(await runPoint('cairn', 'multi-region', c, o.seconds, twoRegions, transfer));
    }
    clearInterval(refresher);
    await txns.flush();
  } finally {
    await cairn.teardown();
  }
  return points;
}

async function benchPostgres(o: Options): Promise<Point[]> {
  const initdb = spawnSync('initdb', ['--version'], { encoding: 'utf8' });
  if (initdb.status !== 0) {
    log('postgres: not available (initdb not found)');
    return [];
  }
  const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-pg-'));
  // PostgreSQL refuses to run as root: then it runs as the postgres user, which owns its directory.
  const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
  if (asUser !== undefined) {
    if (spawnSync('id', ['-u', asUser]).status !== 0) {
      log(`postgres: not available (running as root and there is no ${asUser} user to run it as)`);
      await rm(dir, { recursive: true, force: true });
      return [];
    }
    spawnSync('chown', [asUser, dir]);
  }
  const command = (cmd: string, args: string[]): [string, string[]] => (asUser === undefined ? [cmd, args] : ['runuser', ['-u', asUser, '--', cmd, ...args]]);
  const [port] = await freePorts(1);
  let server: ChildProcess | undefined;
  const pools: pg.Pool[] = [];
  const points: Point[] = [];
  try {
    const init = spawnSync(...command('initdb', ['-D', join(dir, 'data'), '-U', 'bench', '--auth=trust', '-E', 'UTF8']), { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    server = spawn(...command('postgres', ['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', `max_connections=${Math.max(...o.concurrency) + 10}`]), { stdio: 'ignore', detached: true });
    const started = server;
    // Should this process end without the cleanup below, the server must not outlive it.
    process.once('exit', () => {
      if (started.pid !== undefined && started.exitCode === null) process.kill(-started.pid, 'SIGKILL');
    });
    const pool = new pg.Pool({ host: '127.0.0.1', port, user: 'bench', database: 'postgres', max: Math.max(...o.concurrency) });
    pools.push(pool);
    // An idle connection learning of the server's shutdown is no error of the bench.
    pool.on('error', (err) => log(`postgres: idle connection: ${err.message}`));
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await pool.query('select 1');
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const version = (await pool.query('show server_version')).rows[0].server_version as string;
    log(`postgres ${version} on 127.0.0.1:${port}, data in ${dir}`);
    await pool.query('create table accounts (id int primary key, balance bigint not null)');
    await pool.query('insert into accounts select g, 1000 from generate_series(0, $1 - 1) g', [o.accounts]);
    const rand = (n: number): number => Math.floor(Math.random() * n);
    const pair = (): [number, number] => {
      const a = rand(o.accounts);
      let b = rand(o.accounts - 1);
      if (b >= a) b++;
      return [a, b];
    };
    const transfer: Transfer = async (from, to) => {
      const client = await pool.connect();
      try {
        await client.query('begin isolation level repeatable read');
        try {
          const rows = (await client.query('select id, balance from accounts where id = any($1)', [[from, to]])).rows as Array<{ id: number; balance: string }>;
          const bal = new Map(rows.map((r) => [r.id, Number(r.balance)]));
          await client.query('update accounts set balance = $2 where id = $1', [from, bal.get(from)! - 1]);
          await client.query('update accounts set balance = $2 where id = $1', [to, bal.get(to)! + 1]);
          const t0 = performance.now();
          await client.query('commit');
          return { commitMs: performance.now() - t0 };
        } catch (err) {
          await client.query('rollback').catch(() => {});
          throw err;
        }
      } finally {
        client.release();
      }
    };
    for (const c of o.concurrency) points.push(await runPoint('postgres', 'any', c, o.seconds, pair, transfer));
  } finally {
    for (const p of pools) await p.end().catch(() => {});
    if (server?.pid !== undefined && server.exitCode === null) {
      // Its own process group (runuser and postgres): SIGINT is a fast shutdown; SIGKILL if slow.
      const pid = server.pid;
      const exited = new Promise((r) => server!.once('exit', r));
      process.kill(-pid, 'SIGINT');
      const slow = setTimeout(() => process.kill(-pid, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(slow);
    }
    await rm(dir, { recursive: true, force: true });
  }
  return points;
}

function table(points: Point[], o: Options): Promise<void> {
  const out: string[] = [];
  const pad = (s: string, n: number): string => s.padStart(n);
  out.push(`${'target'.padEnd(9)}${'workload'.padEnd(14)}${pad('clients', 7)}${pad('txn/s', 10)}${pad('conflicts', 11)}${pad('1-phase', 9)}${pad('commit p50', 12)}${pad('p99', 9)}${pad('txn p50', 10)}${pad('p99', 9)}${pad('vs pg', 8)}`);
  for (const p of points) {
    const peer = points.find((q) => q.target === 'postgres' && q.clients === p.clients);
    const ratio = p.target !== 'postgres' && peer && peer.committed > 0 ? (p.committed / p.seconds / (peer.committed / peer.seconds)).toFixed(2) : '';
    out.push(
      `${p.target.padEnd(9)}${p.workload.padEnd(14)}${pad(String(p.clients), 7)}${pad((p.committed / p.seconds).toFixed(1), 10)}${pad(String(p.conflicts), 11)}${pad(p.target === 'postgres' ? '' : String(p.onePc), 9)}` +
        `${pad(p.commit.percentileMs(50).toFixed(2), 12)}${pad(p.commit.percentileMs(99).toFixed(2), 9)}${pad(p.txn.percentileMs(50).toFixed(2), 10)}${pad(p.txn.percentileMs(99).toFixed(2), 9)}${pad(ratio, 8)}`,
    );
  }
  return new Promise((resolve) => process.stdout.write(
    `txn bench: transfers between ${o.accounts} accounts (read 2, write 2, commit), ${o.seconds} s per point; latencies in ms; ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)}\n` +
      `${out.join('\n')}\n`,
    () => resolve(),
  ));
}

const options = parseOptions();
const points: Point[] = [];
if (options.targets.includes('cairn')) points.push(...(await benchCairn(options)));
if (options.targets.includes('postgres')) points.push(...(await benchPostgres(options)));
await table(points, options);
process.exit(0);
