// npm run test:bank -- [--seconds 60] [--accounts 200] [--clients 10] [--readers 2]
// Runs the bank workload on three real nodes (kill -9 and restart of one midway) and ends with
// `bank: transfers=… reads=… kills=1 total-constant=yes anomalies=0`; exits 1 on any anomaly.
import { Command, InvalidArgumentError } from 'commander';
import { runBank } from './bank.js';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

const program = new Command('test:bank')
  .option('--seconds <n>', 'length of the run', positiveInt('--seconds'), 60)
  .option('--accounts <n>', 'number of accounts', positiveInt('--accounts'), 200)
  .option('--clients <n>', 'concurrent transferring clients', positiveInt('--clients'), 10)
  .option('--readers <n>', 'concurrent snapshot readers', positiveInt('--readers'), 2)
  .option('--abandon-rate <r>', 'share of transfers abandoned after prewrite', (v) => {
    const n = Number(v);
    if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('--abandon-rate must be in [0, 1)');
    return n;
  }, 0.02)
  .parse();

const opts = program.opts<{ seconds: number; accounts: number; clients: number; readers: number; abandonRate: number }>();
const result = await runBank({ ...opts, initialBalance: 1_000, log: (line) => process.stderr.write(`${line}\n`) });
const fmt = (p: { count: number; p50: number; p99: number }): string => `${p.count} commits, p50 ${p.p50.toFixed(2)} ms, p99 ${p.p99.toFixed(2)} ms`;
process.stderr.write(
  `bank: ${result.seconds.toFixed(1)} s, ${result.transfersPerSecond.toFixed(1)} transfers/s acknowledged; ` +
    `${result.failed} failed ${JSON.stringify(result.failures)}, ${result.abandoned} abandoned after prewrite, ${result.uncertain} uncertain; ${result.regionsAtStart} regions at start\n` +
    `bank: commit latency one-region (1PC): ${fmt(result.latency.onePc)}; multi-region (2PC): ${fmt(result.latency.twoPc)}\n`,
);
for (const a of result.anomalyDetails) process.stderr.write(`bank: anomaly: ${a}\n`);
process.stdout.write(`${result.line}\n`);
process.exit(result.anomalies === 0 && result.totalConstant ? 0 : 1);
