// npx tsx bench/kv/main.ts [--records 10000] [--ops N] [--seconds 10] [--warmup 1]
//                          [--concurrency 1,16,64] [--workloads a,b,c] [--targets etcd,cairn]
//                          [--seed 1] [--dir /tmp] [--json results.json]
//
// YCSB core workloads (parameters read from the shared corpus at run time) against KV targets,
// side by side: etcd (a 3-member cluster started here) as the peer, Cairn as the subject.
// Per target: start it, load --records records (not timed), then for each workload and each
// concurrency C run a closed loop of C clients — each issues its next operation as soon as the last
// returns — for --seconds (after --warmup seconds not measured), or until --ops operations complete.
// Latencies go to log-bucketed histograms per operation type; throughput is completions per second
// of the measured window. Tables give ops/s, p50 and p99 per target for reads and updates and the
// ratio cairn/etcd; the last line gives that ratio at 64 clients for puts and linearizable gets.
//
// Targets are looked up in targets.ts; one that cannot run here is reported "not available: why"
// and left out, never estimated. All clients share this one Node process (and the machine's two
// cores with the servers): the "client cpu" column says how much of a core the bench itself used.

import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { LatencyHistogram } from './histogram.js';
import { BenchRandom } from './random.js';
import type { KvTarget, TargetContext } from './target.js';
import { TARGETS, openTarget } from './targets.js';
import { KeyChooser, OperationChooser, WorkloadError, keyBytes, loadWorkload, ycsbCorpusDir, type WorkloadSpec } from './workload.js';

const PEER = 'etcd';
const SUMMARY_CONCURRENCY = 64;

interface Options {
  records: number;
  ops: number | undefined;
  seconds: number;
  warmup: number;
  concurrency: number[];
  workloads: string[];
  targets: string[];
  seed: number;
  loadConcurrency: number;
  dir: string;
  json: string | undefined;
}

interface OpStats {
  count: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  errors: number;
}

interface Point {
  workload: string;
  concurrency: number;
  seconds: number;
  opsPerSecond: number;
  read: OpStats;
  update: OpStats;
  clientCpu: number;
  firstError: string | undefined;
}

interface LoadResult {
  records: number;
  seconds: number;
  recordsPerSecond: number;
}

interface TargetReport {
  name: string;
  status: 'ran' | 'unavailable' | 'failed';
  reason?: string;
  description?: string;
  load?: LoadResult;
  points: Point[];
}

function usage(message: string): never {
  process.stderr.write(`bench:kv: ${message}\n`);
  process.exit(2);
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '10000' },
      ops: { type: 'string' },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '1,16,64' },
      workloads: { type: 'string', default: 'a,b,c' },
      targets: { type: 'string', default: 'etcd,cairn' },
      seed: { type: 'string', default: '1' },
      'load-concurrency': { type: 'string', default: '64' },
      dir: { type: 'string', default: tmpdir() },
      json: { type: 'string' },
    },
    strict: true,
  });
  const num = (name: string, v: string, min: number, integer: boolean): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isSafeInteger(n))) {
      usage(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got "${v}"`);
    }
    return n;
  };
  const list = (name: string, v: string): string[] => {
    const items = v.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
    if (items.length === 0) usage(`--${name} needs at least one entry`);
    return [...new Set(items)];
  };
  const targets = list('targets', values.targets);
  for (const t of targets) if (TARGETS[t] === undefined) usage(`unknown target "${t}" (known: ${Object.keys(TARGETS).join(', ')})`);
  const concurrency = list('concurrency', values.concurrency).map((c) => num('concurrency', c, 1, true));
  if (concurrency.some((c) => c > 4096)) usage('--concurrency above 4096 is not supported');
  return {
    records: num('records', values.records, 1, true),
    ops: values.ops === undefined ? undefined : num('ops', values.ops, 1, true),
    seconds: num('seconds', values.seconds, 0.1, false),
    warmup: num('warmup', values.warmup, 0, false),
    concurrency: concurrency.sort((a, b) => a - b),
    workloads: list('workloads', values.workloads),
    targets,
    seed: num('seed', values.seed, 0, true),
    loadConcurrency: num('load-concurrency', values['load-concurrency'], 1, true),
    dir: values.dir,
    json: values.json,
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A stable 32-bit seed per (run seed, purpose, client). */
function seedFor(seed: number, purpose: string, client: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (const ch of `${purpose}/${client}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/** Inserts records 0..n-1 with `concurrency` writers; not part of any measured figure. */
async function load(target: KvTarget, spec: WorkloadSpec, options: Options, log: (line: string) => void): Promise<LoadResult> {
  const n = options.records;
  let nextRecord = 0;
  let done = 0;
  const start = performance.now();
  let lastReport = start;
  const writer = async (w: number): Promise<void> => {
    const random = new BenchRandom(seedFor(options.seed, 'load', w));
    for (;;) {
      const i = nextRecord++;
      if (i >= n) return;
      const value = new Uint8Array(spec.fieldLength);
      random.fill(value);
      try {
        await target.put(keyBytes(spec.insertStart + i, spec), value);
      } catch (error) {
        throw new Error(`load: put of record ${i} failed: ${errorText(error)}`);
      }
      done++;
      const now = performance.now();
      if (now - lastReport > 5000) {
        lastReport = now;
        log(`${target.name}: loaded ${done.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} records`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.loadConcurrency, n) }, (_, w) => writer(w)));
  const seconds = (performance.now() - start) / 1000;
  return { records: n, seconds, recordsPerSecond: n / seconds };
}

function opStats(h: LatencyHistogram, errors: number, seconds: number): OpStats {
  return {
    count: h.count,
    opsPerSecond: h.count / seconds,
    p50Ms: h.percentileMs(50),
    p99Ms: h.percentileMs(99),
    meanMs: h.meanMs(),
    maxMs: h.maxMs(),
    errors,
  };
}

/** One closed-loop run: `concurrency` clients, warmup, then the measured window. */
async function runPoint(
  target: KvTarget,
  spec: WorkloadSpec,
  concurrency: number,
  options: Options,
  isInterrupted: () => boolean,
): Promise<Point> {
  const keys = new KeyChooser(spec, options.records);
  const operations = new OperationChooser(spec);
  const reads = new LatencyHistogram();
  const updates = new LatencyHistogram();
  let readErrors = 0;
  let updateErrors = 0;
  let firstError: string | undefined;
  let completed = 0;

  const begin = performance.now();
  const measureStart = begin + options.warmup * 1000;
  let measureEnd = measureStart + options.seconds * 1000;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let cpuAtEnd: NodeJS.CpuUsage | undefined;
  let stopped = false;
  const stop = (at: number): void => {
    if (stopped) return;
    stopped = true;
    measureEnd = at;
    cpuAtEnd = process.cpuUsage();
  };
  // Timers mark the window's edges even if no operation completes near them.
  const startTimer = setTimeout(() => (cpuAtStart ??= process.cpuUsage()), Math.max(0, measureStart - performance.now()));
  const endTimer = setTimeout(() => stop(performance.now()), Math.max(0, measureEnd - performance.now()));

  const client = async (c: number): Promise<void> => {
    const random = new BenchRandom(seedFor(options.seed, `${spec.name}/${concurrency}`, c));
    while (!stopped && !isInterrupted()) {
      const op = operations.next(random);
      const key = keyBytes(keys.next(random), spec);
      const t0 = performance.now();
      let failure: string | undefined;
      try {
        if (op === 'read') {
          const value = await target.get(key);
          if (value === undefined) failure = `get found no value for loaded key ${Buffer.from(key).toString('latin1')}`;
          else if (value.length !== spec.fieldLength) failure = `get returned ${value.length} bytes, expected ${spec.fieldLength}`;
        } else {
          const value = new Uint8Array(spec.fieldLength);
          random.fill(value);
          await target.put(key, value);
        }
      } catch (error) {
        failure = errorText(error);
      }
      const t1 = performance.now();
      if (stopped || t1 < measureStart) continue;
      if (t1 > measureEnd) {
        stop(measureEnd);
        continue;
      }
      if (failure !== undefined) {
        if (op === 'read') readErrors++;
        else updateErrors++;
        firstError ??= failure;
        // A failing target should not be hammered in a tight loop.
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      (op === 'read' ? reads : updates).recordMs(t1 - t0);
      completed++;
      if (options.ops !== undefined && completed >= options.ops) stop(t1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, c) => client(c)));
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  cpuAtStart ??= process.cpuUsage();
  cpuAtEnd ??= process.cpuUsage();
  const seconds = Math.max(1e-9, (measureEnd - measureStart) / 1000);
  const cpuMicros = cpuAtEnd.user - cpuAtStart.user + (cpuAtEnd.system - cpuAtStart.system);
  return {
    workload: spec.name,
    concurrency,
    seconds,
    opsPerSecond: completed / seconds,
    read: opStats(reads, readErrors, seconds),
    update: opStats(updates, updateErrors, seconds),
    clientCpu: cpuMicros / 1e6 / seconds,
    firstError,
  };
}

// ---- output ----

const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const fmtMs = (n: number): string => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(2)) : '—');
const fmtRatio = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const ratio = (a: number, b: number): number => (b > 0 ? a / b : Number.NaN);

/** A plain-text table; columns listed in `leftAligned` are padded on the right, the rest on the left. */
function table(header: string[], rows: string[][], leftAligned: readonly number[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (leftAligned.includes(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function describeWorkload(spec: WorkloadSpec, options: Options): string {
  const mix = [
    spec.readProportion > 0 ? `read ${Math.round(spec.readProportion * 100)}%` : '',
    spec.updateProportion > 0 ? `update ${Math.round(spec.updateProportion * 100)}%` : '',
  ].filter((s) => s !== '');
  const distribution = spec.requestDistribution === 'zipfian' ? `scrambled zipfian θ=${spec.zipfianConstant}` : 'uniform';
  const window = options.ops === undefined ? `${options.seconds} s` : `${options.seconds} s or ${fmtInt(options.ops)} ops`;
  return (
    `Workload ${spec.name.toUpperCase()} — ${spec.title}: ${mix.join(' / ')}, ${distribution}, ` +
    `${fmtInt(options.records)} records, ${spec.fieldLength}-byte values, ${window} per point after ${options.warmup} s warmup`
  );
}

function printWorkloadTable(spec: WorkloadSpec, options: Options, reports: TargetReport[]): void {
  let out = `\n${describeWorkload(spec, options)}\n`;
  for (const r of reports) {
    if (r.status === 'unavailable') out += `  ${r.name}: not available: ${r.reason}\n`;
    if (r.status === 'failed') out += `  ${r.name}: failed: ${r.reason}\n`;
  }
  const ran = reports.filter((r) => r.points.some((p) => p.workload === spec.name));
  if (ran.length === 0) {
    process.stdout.write(out + '  (no target ran)\n');
    return;
  }
  const hasReads = spec.readProportion > 0;
  const hasUpdates = spec.updateProportion > 0;
  const header = ['clients', 'target', 'ops/s'];
  if (hasReads) header.push('reads/s', 'read p50 ms', 'read p99 ms');
  if (hasUpdates) header.push('updates/s', 'upd p50 ms', 'upd p99 ms');
  header.push('errors', 'client cpu');
  const rows: string[][] = [];
  const peer = ran.find((r) => r.name === PEER);
  for (const c of options.concurrency) {
    for (const r of ran) {
      const p = r.points.find((q) => q.workload === spec.name && q.concurrency === c);
      if (p === undefined) continue;
      const row = [String(c), r.name, fmtInt(p.opsPerSecond)];
      if (hasReads) row.push(fmtInt(p.read.opsPerSecond), fmtMs(p.read.p50Ms), fmtMs(p.read.p99Ms));
      if (hasUpdates) row.push(fmtInt(p.update.opsPerSecond), fmtMs(p.update.p50Ms), fmtMs(p.update.p99Ms));
      row.push(fmtInt(p.read.errors + p.update.errors), `${Math.round(p.clientCpu * 100)}%`);
      rows.push(row);
    }
    const peerPoint = peer?.points.find((q) => q.workload === spec.name && q.concurrency === c);
    for (const r of ran) {
      if (r === peer || peerPoint === undefined) continue;
      const p = r.points.find((q) => q.workload === spec.name && q.concurrency === c);
      if (p === undefined) continue;
      const row = [String(c), `${r.name}/${PEER}`, fmtRatio(ratio(p.opsPerSecond, peerPoint.opsPerSecond))];
      if (hasReads) row.push(fmtRatio(ratio(p.read.opsPerSecond, peerPoint.read.opsPerSecond)), '', '');
      if (hasUpdates) row.push(fmtRatio(ratio(p.update.opsPerSecond, peerPoint.update.opsPerSecond)), '', '');
      row.push('', '');
      rows.push(row);
    }
  }
  out += table(header, rows, [1]);
  for (const r of ran) {
    for (const p of r.points) {
      if (p.workload === spec.name && p.firstError !== undefined) {
        out += `  ${r.name} at ${p.concurrency} clients, first error: ${p.firstError}\n`;
      }
    }
  }
  process.stdout.write(out);
}

/**
 * "ratio at 64 clients: puts x.xx, linearizable gets y.yy" — puts from the workload with the most
 * updates (A), gets from the one with the most reads (C), each as the subject's ops/s over etcd's.
 */
function summaryLine(specs: WorkloadSpec[], options: Options, reports: TargetReport[]): string {
  const c = options.concurrency.includes(SUMMARY_CONCURRENCY) ? SUMMARY_CONCURRENCY : options.concurrency[options.concurrency.length - 1]!;
  const putSpec = specs.filter((s) => s.updateProportion > 0).sort((a, b) => b.updateProportion - a.updateProportion)[0];
  const getSpec = specs.filter((s) => s.readProportion > 0).sort((a, b) => b.readProportion - a.readProportion)[0];
  const peer = reports.find((r) => r.name === PEER);
  const subjects = reports.filter((r) => r.name !== PEER);
  const lines: string[] = [];
  for (const subject of subjects.length > 0 ? subjects : [undefined]) {
    const rate = (r: TargetReport | undefined, spec: WorkloadSpec | undefined, op: 'read' | 'update'): number => {
      const p = r?.points.find((q) => spec !== undefined && q.workload === spec.name && q.concurrency === c);
      return p === undefined ? Number.NaN : p[op].opsPerSecond;
    };
    const puts = ratio(rate(subject, putSpec, 'update'), rate(peer, putSpec, 'update'));
    const gets = ratio(rate(subject, getSpec, 'read'), rate(peer, getSpec, 'read'));
    const label = subject === undefined ? `(no subject)/${PEER}` : `${subject.name}/${PEER}`;
    let line = `ratio at ${c} clients: puts ${fmtRatio(puts)}, linearizable gets ${fmtRatio(gets)}`;
    line += `  (${label} ops/s; puts from workload ${putSpec?.name.toUpperCase() ?? '—'} updates, gets from workload ${getSpec?.name.toUpperCase() ?? '—'} reads`;
    const missing = [peer, subject].filter((r): r is TargetReport => r !== undefined && r.status !== 'ran');
    if (missing.length > 0) line += `; ${missing.map((r) => `${r.name} ${r.status === 'unavailable' ? 'not available' : 'failed'}: ${r.reason}`).join('; ')}`;
    lines.push(line + ')');
  }
  return lines.join('\n') + '\n';
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

// ---- main ----

async function main(): Promise<void> {
  const started = performance.now();
  const options = parseOptions();
  let specs: WorkloadSpec[];
  let corpus: string;
  try {
    corpus = ycsbCorpusDir();
    specs = options.workloads.map((w) => loadWorkload(w, corpus));
  } catch (error) {
    if (error instanceof WorkloadError || (error as { name?: string }).name === 'PropertiesError') usage(errorText(error));
    throw error;
  }
  const first = specs[0]!;
  for (const s of specs) {
    if (s.insertOrder !== first.insertOrder || s.zeroPadding !== first.zeroPadding || s.insertStart !== first.insertStart || s.fieldLength !== first.fieldLength) {
      usage(`workloads ${first.name} and ${s.name} disagree on insertorder, zeropadding, insertstart or fieldlength, so they cannot share one load`);
    }
  }

  const log = (line: string): void => void process.stderr.write(`[bench:kv ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  process.stdout.write(
    `kv bench: YCSB ${specs.map((s) => s.name.toUpperCase()).join(', ')} from ${corpus} ` +
      `(files say recordcount ${[...new Set(specs.map((s) => s.recordCount))].join('/')}, operationcount ${[...new Set(specs.map((s) => s.operationCount))].join('/')}; ` +
      `run with ${fmtInt(options.records)} records, ${options.ops === undefined ? 'time-bound points' : `≤ ${fmtInt(options.ops)} ops per point`}); ` +
      `clients ${options.concurrency.join(', ')}; targets ${options.targets.join(', ')}; seed ${options.seed}; ` +
      `${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)}, node ${process.version}\n`,
  );

  let interrupted = false;
  let current: KvTarget | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping; tearing down ${current?.name ?? 'nothing'} (again to force)`);
    const code = signal === 'SIGINT' ? 130 : 143;
    void (current?.teardown() ?? Promise.resolve()).finally(() => process.exit(code));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const context: TargetContext = { maxConcurrency: Math.max(...options.concurrency), workDir: options.dir, log };
  const reports: TargetReport[] = [];
  for (const name of options.targets) {
    if (interrupted) break;
    const report: TargetReport = { name, status: 'ran', points: [] };
    reports.push(report);
    let opened: Awaited<ReturnType<typeof openTarget>>;
    try {
      opened = await openTarget(name, context);
    } catch (error) {
      report.status = 'failed';
      report.reason = errorText(error);
      log(`${name}: failed: ${report.reason}`);
      continue;
    }
    if (opened.kind === 'unavailable') {
      report.status = 'unavailable';
      report.reason = opened.reason;
      log(`${name}: not available: ${opened.reason}`);
      continue;
    }
    const target = opened.target;
    current = target;
    try {
      log(`${name}: starting`);
      await target.setup();
      report.description = target.describe?.() ?? name;
      log(`${name}: ${report.description}`);
      const loaded = await load(target, first, options, log);
      report.load = loaded;
      log(`${name}: loaded ${fmtInt(loaded.records)} records in ${loaded.seconds.toFixed(1)} s (${fmtInt(loaded.recordsPerSecond)}/s, ${options.loadConcurrency} writers; not measured)`);
      for (const spec of specs) {
        for (const c of options.concurrency) {
          if (interrupted) break;
          const point = await runPoint(target, spec, c, options, () => interrupted);
          if (interrupted) break;
          report.points.push(point);
          const parts = [`${fmtInt(point.opsPerSecond)} ops/s`];
          if (point.read.count > 0) parts.push(`reads p50 ${fmtMs(point.read.p50Ms)} p99 ${fmtMs(point.read.p99Ms)} ms`);
          if (point.update.count > 0) parts.push(`updates p50 ${fmtMs(point.update.p50Ms)} p99 ${fmtMs(point.update.p99Ms)} ms`);
          const errors = point.read.errors + point.update.errors;
          if (errors > 0) parts.push(`${errors} errors (${point.firstError})`);
          log(`${name}: workload ${spec.name.toUpperCase()}, ${c} clients: ${parts.join(', ')}`);
        }
      }
    } catch (error) {
      report.status = 'failed';
      report.reason = errorText(error);
      log(`${name}: failed: ${report.reason}`);
    } finally {
      if (!interrupted) {
        await target.teardown().catch((error: unknown) => log(`${name}: teardown failed: ${errorText(error)}`));
        current = undefined;
      }
    }
  }
  if (interrupted) return; // the signal handler exits once teardown is done

  for (const spec of specs) printWorkloadTable(spec, options, reports);
  process.stdout.write('\n' + summaryLine(specs, options, reports));
  process.stdout.write(
    `total run time ${duration(performance.now() - started)}; load average at the end ${loadavg()[0]!.toFixed(2)} ` +
      `(${cpus().length} cores: above that, something else was competing for them)\n`,
  );
  if (options.json !== undefined) {
    await writeFile(options.json, JSON.stringify({ options, corpus, workloads: specs, targets: reports }, null, 2) + '\n');
    log(`results written to ${options.json}`);
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (reports.some((r) => r.status === 'failed')) process.exitCode = 1;
}

await main();
