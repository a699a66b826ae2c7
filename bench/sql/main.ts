// npx tsx bench/sql/main.ts [--seconds 30] [--clients 16] [--scale 1] [--targets cairn,postgres]
//                           [--modes simple,prepared] [--workloads tpcb,select]
//
// pgbench against PostgreSQL 15 and a 3-node Cairn cluster, side by side in one invocation. For
// each target: `pgbench -i -s SCALE`, then for each workload (tpcb: pgbench's default TPC-B-like
// script; select: `-S`, select-only) and each protocol mode (`-M simple`, `-M prepared`, ...) one
// run of `pgbench -c CLIENTS -j 2 -T SECONDS -n -P N`. PostgreSQL runs from a temporary directory
// as it ships (fsync and synchronous_commit on); Cairn as bench/sql/cairn_sql_cluster.ts starts it.
// The result is the table on stdout, with Cairn's tps over PostgreSQL's for each (workload, mode),
// and one summary line per workload; pgbench's progress lines go to stderr. A target that cannot
// start is reported with its reason and left out; the others are still measured. Every process
// started here is killed by PID at the end, on errors, and on Ctrl-C.
import { cpus, loadavg, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { startPostgres, type PostgresServer } from '../../test/support/postgres.js';
import { CairnSqlCluster, cairnUnavailable } from './cairn_sql_cluster.js';
import {
  PGBENCH_MODES,
  PGBENCH_WORKLOADS,
  type PgbenchMode,
  type PgbenchResult,
  type PgbenchTarget,
  type PgbenchWorkload,
  initPgbench,
  runPgbench,
} from './pgbench.js';

type TargetName = 'postgres' | 'cairn';
const TARGETS: readonly TargetName[] = ['postgres', 'cairn'];
/** Connections PostgreSQL accepts beyond the benchmark's clients (pgbench's own, psql, ...). */
const SPARE_CONNECTIONS = 10;
/** pgbench worker threads: one per core on these machines. */
const PGBENCH_THREADS = 2;

interface Options {
  readonly seconds: number;
  readonly clients: number;
  readonly scale: number;
  readonly targets: readonly TargetName[];
  readonly modes: readonly PgbenchMode[];
  readonly workloads: readonly PgbenchWorkload[];
}

interface TargetOutcome {
  readonly target: TargetName;
  readonly results: readonly PgbenchResult[];
  /** Why the target was not (fully) measured. */
  readonly problem?: string;
}

const log = (line: string): void => {
  process.stderr.write(`[bench:sql] ${line}\n`);
};

function listOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new Error(`--${flag} needs at least one of ${allowed.join(', ')}`);
  return items.map((item) => {
    const found = allowed.find((a) => a === item);
    if (found === undefined) throw new Error(`--${flag}: "${item}" is not one of ${allowed.join(', ')}`);
    return found;
  });
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new Error(`--${flag} must be a positive integer, got "${value}"`);
  return n;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      seconds: { type: 'string', default: '30' },
      clients: { type: 'string', default: '16' },
      scale: { type: 'string', default: '1' },
      targets: { type: 'string', default: 'cairn,postgres' },
      modes: { type: 'string', default: 'simple,prepared' },
      workloads: { type: 'string', default: 'tpcb,select' },
    },
  });
  const targets = listOf('targets', values.targets!, TARGETS);
  return {
    seconds: positive('seconds', values.seconds!),
    clients: positive('clients', values.clients!),
    scale: positive('scale', values.scale!),
    // PostgreSQL first: its figures are printed even if Cairn then fails.
    targets: TARGETS.filter((t) => targets.includes(t)),
    modes: listOf('modes', values.modes!, PGBENCH_MODES),
    workloads: listOf('workloads', values.workloads!, PGBENCH_WORKLOADS),
  };
}

/** `stop` made safe to call from the signal handler and the normal path at once: one stop, shared. */
function once(stop: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => (stopping ??= stop());
}

/** pgbench -i, then every (workload, mode) on one target. */
async function measure(name: TargetName, target: PgbenchTarget, o: Options, signal: AbortSignal): Promise<TargetOutcome> {
  const results: PgbenchResult[] = [];
  log(`${name}: pgbench -i -s ${o.scale} on ${target.host}:${target.port}`);
  await initPgbench(target, { scale: o.scale, signal });
  for (const workload of o.workloads) {
    for (const mode of o.modes) {
      log(`${name}: ${workload} -M ${mode}, ${o.clients} clients, ${o.seconds} s`);
      const r = await runPgbench({ target, workload, mode, clients: o.clients, threads: PGBENCH_THREADS, seconds: o.seconds, signal, onProgress: (line) => log(`${name} ${workload} ${mode}: ${line}`) });
      if (r.exitCode !== 0 || r.abortedClients > 0) log(`${name} ${workload} ${mode}: pgbench exited ${r.exitCode}, ${r.abortedClients} clients aborted: ${r.errors.join(' | ')}`);
      results.push(r);
    }
  }
  return { target: name, results };
}

async function benchPostgres(o: Options, signal: AbortSignal, track: (stop: () => Promise<void>) => void): Promise<TargetOutcome> {
  let server: PostgresServer;
  try {
    server = await startPostgres({ maxConnections: Math.max(100, o.clients + SPARE_CONNECTIONS) });
  } catch (err) {
    return { target: 'postgres', results: [], problem: err instanceof Error ? err.message : String(err) };
  }
  const stop = once(() => server.stop());
  track(stop);
  log(`postgres ${server.version} on 127.0.0.1:${server.port}, data in ${server.dir}`);
  try {
    return await measure('postgres', { host: server.host, port: server.port, user: server.user, database: server.database }, o, signal);
  } catch (err) {
    return { target: 'postgres', results: [], problem: err instanceof Error ? err.message : String(err) };
  } finally {
    await stop();
  }
}

async function benchCairn(o: Options, signal: AbortSignal, track: (stop: () => Promise<void>) => void): Promise<TargetOutcome> {
  const missing = cairnUnavailable();
  if (missing !== undefined) return { target: 'cairn', results: [], problem: missing };
  const cluster = new CairnSqlCluster(tmpdir(), log);
  const stop = once(() => cluster.stop());
  track(stop);
  try {
    let target: PgbenchTarget;
    try {
      target = await cluster.start();
    } catch (err) {
      return { target: 'cairn', results: [], problem: `did not start: ${err instanceof Error ? err.message : String(err)}` };
    }
    log(cluster.describe());
    return await measure('cairn', target, o, signal);
  } catch (err) {
    return { target: 'cairn', results: [], problem: err instanceof Error ? err.message : String(err) };
  } finally {
    await stop();
  }
}

const fixed = (n: number | undefined, digits: number): string => (n === undefined ? '-' : n.toFixed(digits));

function tpsRatio(outcomes: readonly TargetOutcome[], workload: PgbenchWorkload, mode: PgbenchMode): number | undefined {
  const find = (t: TargetName): PgbenchResult | undefined => outcomes.find((x) => x.target === t)?.results.find((r) => r.workload === workload && r.mode === mode);
  const cairn = find('cairn');
  const postgres = find('postgres');
  if (cairn?.tps === undefined || postgres?.tps === undefined || postgres.tps === 0) return undefined;
  return cairn.tps / postgres.tps;
}

function report(o: Options, outcomes: readonly TargetOutcome[]): string {
  const lines: string[] = [];
  lines.push(
    `sql bench: pgbench -c ${o.clients} -j ${Math.min(PGBENCH_THREADS, o.clients)} -T ${o.seconds} -n, scale ${o.scale}; ` +
      `${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)}`,
  );
  const header = ['workload', 'mode', 'target', 'clients', 'tps', 'lat avg ms', 'lat sd ms', 'failed', 'aborted', 'cairn/pg'];
  const rows: string[][] = [];
  for (const workload of o.workloads) {
    for (const mode of o.modes) {
      for (const outcome of outcomes) {
        const r = outcome.results.find((x) => x.workload === workload && x.mode === mode);
        if (r === undefined) continue;
        const ratio = outcome.target === 'cairn' ? fixed(tpsRatio(outcomes, workload, mode), 3) : '';
        rows.push([workload, mode, outcome.target, String(r.clients), fixed(r.tps, 1), fixed(r.latencyAvgMs, 3), fixed(r.latencyStddevMs, 3), String(r.failed), String(r.abortedClients), ratio]);
      }
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: readonly string[]): string => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  lines.push(format(header));
  for (const r of rows) lines.push(format(r));
  for (const outcome of outcomes) if (outcome.problem !== undefined) lines.push(`${outcome.target}: not measured: ${outcome.problem.split('\n')[0]}`);
  for (const workload of o.workloads) {
    const ratios = o.modes.map((mode) => tpsRatio(outcomes, workload, mode));
    if (ratios.some((r) => r !== undefined)) {
      lines.push(`${workload}: cairn/postgres tps ${o.modes.map((mode, i) => `${mode} ${fixed(ratios[i], 3)}`).join(', ')}`);
    } else {
      const missing = TARGETS.filter((t) => !outcomes.some((x) => x.target === t && x.results.some((r) => r.workload === workload && r.tps !== undefined)));
      lines.push(`${workload}: no cairn/postgres ratio (${missing.join(' and ')} not measured)`);
    }
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const abort = new AbortController();
  const stops: Array<() => Promise<void>> = [];
  let interrupted = false;
  let cleanup: Promise<unknown> = Promise.resolve();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping pgbench and every server started`);
    abort.abort();
    // Whichever comes first, this or the benchmark unwinding, exits only once everything is stopped.
    cleanup = Promise.allSettled(stops.map((stop) => stop())).then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const outcomes: TargetOutcome[] = [];
  for (const target of options.targets) {
    if (interrupted) break;
    const outcome = target === 'postgres' ? await benchPostgres(options, abort.signal, (s) => stops.push(s)) : await benchCairn(options, abort.signal, (s) => stops.push(s));
    if (outcome.problem !== undefined) log(`${target}: not measured: ${outcome.problem}`);
    outcomes.push(outcome);
  }
  if (interrupted) {
    await cleanup;
    return 130;
  }
  await new Promise<void>((resolve) => process.stdout.write(report(options, outcomes), () => resolve()));
  const complete = outcomes.every((x) => x.problem === undefined && x.results.every((r) => r.exitCode === 0 && r.abortedClients === 0));
  return complete ? 0 : 1;
}

process.exit(await main());
