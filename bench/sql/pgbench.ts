// Running PostgreSQL's pgbench against a SQL endpoint (PostgreSQL or Cairn) and reading its report.
// pgbench is the client: its built-in TPC-B-like script (three UPDATEs, a SELECT and an INSERT in
// one transaction) or its select-only script (`-S`, one primary-key SELECT), over the simple,
// extended or prepared protocol (`-M`). The figures are pgbench's own: transactions processed,
// failed transactions, tps (without the initial connection time), latency average and standard
// deviation (`-P` makes pgbench report the deviation). A client that hits an error aborts; pgbench
// then exits with status 2 and says so on stderr, which is counted here as aborted clients.
import { spawn } from 'node:child_process';

export interface PgbenchTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

export type PgbenchWorkload = 'tpcb' | 'select';
export type PgbenchMode = 'simple' | 'extended' | 'prepared';
export const PGBENCH_WORKLOADS: readonly PgbenchWorkload[] = ['tpcb', 'select'];
export const PGBENCH_MODES: readonly PgbenchMode[] = ['simple', 'extended', 'prepared'];

export interface PgbenchResult {
  readonly workload: PgbenchWorkload;
  readonly mode: PgbenchMode;
  readonly clients: number;
  readonly threads: number;
  readonly seconds: number;
  /** "number of transactions actually processed". */
  readonly transactions: number;
  /** "number of failed transactions" (serialization and deadlock failures pgbench counts). */
  readonly failed: number;
  /** Clients that stopped on an error (pgbench's "client N ... aborted"). */
  readonly abortedClients: number;
  /** Transactions per second without the initial connection time; undefined if none completed. */
  readonly tps: number | undefined;
  readonly latencyAvgMs: number | undefined;
  readonly latencyStddevMs: number | undefined;
  readonly exitCode: number | null;
  /** pgbench's error lines, the first few. */
  readonly errors: readonly string[];
}

/** What pgbench prints beyond this is dropped (it prints a few hundred bytes when healthy). */
const MAX_CAPTURE_CHARS = 1024 * 1024;
/** Error lines kept for the report. */
const MAX_ERROR_LINES = 10;
/** pgbench's connection attempts give up after this (libpq's PGCONNECT_TIMEOUT). */
const CONNECT_TIMEOUT_SECONDS = 10;
/** A run taking this much longer than its -T has hung: it is killed. */
const RUN_GRACE_MS = 60_000;
/** `pgbench -i` is given this long. */
const INIT_TIMEOUT_MS = 10 * 60_000;

interface Captured {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a pgbench child: no inherited PG* variable may redirect it. */
function pgbenchEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  env.PGCONNECT_TIMEOUT = String(CONNECT_TIMEOUT_SECONDS);
  return env;
}

function connectionArgs(target: PgbenchTarget): string[] {
  return ['-h', target.host, '-p', String(target.port), '-U', target.user];
}

function capture(args: readonly string[], timeoutMs: number, signal: AbortSignal | undefined, onStderrLine?: (line: string) => void): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: pgbenchEnv(), ...(signal === undefined ? {} : { signal }) });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const keep = (buffer: string, more: string): string => (buffer.length >= MAX_CAPTURE_CHARS ? buffer : (buffer + more).slice(0, MAX_CAPTURE_CHARS));
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = keep(stdout, d)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = keep(stderr, d);
      if (onStderrLine === undefined) return;
      const lines = (partial + d).split('\n');
      partial = (lines.pop() ?? '').slice(-MAX_CAPTURE_CHARS);
      for (const l of lines) onStderrLine(l);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface PgbenchReport {
  readonly transactions: number;
  readonly failed: number;
  readonly abortedClients: number;
  readonly tps: number | undefined;
  readonly latencyAvgMs: number | undefined;
  readonly latencyStddevMs: number | undefined;
  readonly errors: readonly string[];
}

function numberAfter(text: string, pattern: RegExp): number | undefined {
  const m = pattern.exec(text);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : undefined;
}

/** Reads pgbench's final report (stdout) and its error lines (stderr). */
export function parsePgbenchReport(stdout: string, stderr: string): PgbenchReport {
  const errorLines = stderr.split('\n').filter((l) => l.startsWith('pgbench: error:') || l.includes('aborted'));
  return {
    transactions: numberAfter(stdout, /^number of transactions actually processed: (\d+)/m) ?? 0,
    failed: numberAfter(stdout, /^number of failed transactions: (\d+)/m) ?? 0,
    abortedClients: stderr.split('\n').filter((l) => /\bclient \d+ .*aborted\b/.test(l)).length,
    tps: numberAfter(stdout, /^tps = ([\d.]+) \(without initial connection time\)/m),
    latencyAvgMs: numberAfter(stdout, /^latency average = ([\d.]+) ms/m),
    latencyStddevMs: numberAfter(stdout, /^latency stddev = ([\d.]+) ms/m),
    errors: errorLines.slice(0, MAX_ERROR_LINES),
  };
}

export interface PgbenchInitOptions {
  readonly scale: number;
  /** pgbench's --init-steps (default dtgvp: drop, tables, client-side data, vacuum, primary keys). */
  readonly initSteps?: string;
  readonly signal?: AbortSignal;
}

/** `pgbench -i -s SCALE`: creates and fills pgbench_accounts, _branches, _tellers and _history. */
export async function initPgbench(target: PgbenchTarget, options: PgbenchInitOptions): Promise<void> {
  const args = ['-i', '-q', '-s', String(options.scale), ...(options.initSteps === undefined ? [] : ['-I', options.initSteps]), ...connectionArgs(target), target.database];
  const run = await capture(args, INIT_TIMEOUT_MS, options.signal);
  if (run.code !== 0) {
    // pgbench's own error and detail lines say why; NOTICEs before them do not.
    const lines = run.stderr.trim().split('\n');
    const errors = lines.filter((l) => l.startsWith('pgbench: error:') || l.startsWith('pgbench: detail:'));
    const why = (errors.length > 0 ? errors : lines).slice(-MAX_ERROR_LINES).join(' | ');
    throw new Error(`pgbench -i failed (exit ${run.code}): ${why}`);
  }
}

export interface PgbenchRunOptions {
  readonly target: PgbenchTarget;
  readonly workload: PgbenchWorkload;
  readonly mode: PgbenchMode;
  readonly clients: number;
  /** pgbench worker threads (-j); at most `clients`. Default 2, one per core here. */
  readonly threads?: number;
  readonly seconds: number;
  /** -P interval in seconds; default a fifth of the run, at least 1. */
  readonly progressSeconds?: number;
  /** pgbench's progress lines, as they come. */
  readonly onProgress?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** One timed pgbench run (`-c -j -T -n -M`, plus `-S` for select-only). */
export async function runPgbench(options: PgbenchRunOptions): Promise<PgbenchResult> {
  const threads = Math.min(options.threads ?? 2, options.clients);
  const progress = options.progressSeconds ?? Math.max(1, Math.floor(options.seconds / 5));
  const args = [
    ...connectionArgs(options.target),
    '-c',
    String(options.clients),
    '-j',
    String(threads),
    '-T',
    String(options.seconds),
    '-n',
    '-M',
    options.mode,
    '-P',
    String(progress),
    ...(options.workload === 'select' ? ['-S'] : []),
    options.target.database,
  ];
  const onLine = options.onProgress;
  const run = await capture(args, options.seconds * 1000 + RUN_GRACE_MS, options.signal, onLine === undefined ? undefined : (l) => l.startsWith('progress:') && onLine(l));
  const report = parsePgbenchReport(run.stdout, run.stderr);
  return { workload: options.workload, mode: options.mode, clients: options.clients, threads, seconds: options.seconds, ...report, exitCode: run.code };
}
