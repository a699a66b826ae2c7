// The bank workload (bank.ts) as part of the test suite: 25 seconds of concurrent transfers and
// snapshot readers over accounts spread across several Regions of a three-node cluster, one node
// killed with SIGKILL and restarted midway, 2% of the coordinators abandoning their transactions
// after prewrite. The money must be conserved at every snapshot and at the end.
import { describe, expect, it } from 'vitest';
import { runBank } from './bank.js';

describe('bank workload on a three-node cluster', () => {
  it('conserves the total through concurrent transfers, readers, abandoned coordinators and a kill -9', async () => {
    const logged: string[] = [];
    const result = await runBank({
      seconds: 25,
      accounts: 200,
      clients: 10,
      readers: 2,
      initialBalance: 1_000,
      abandonRate: 0.02,
      log: (line) => {
        logged.push(line);
        process.stdout.write(`${line}\n`);
      },
    });
    const fmt = (p: { count: number; p50: number; p99: number }): string => `${p.count} commits, p50 ${p.p50.toFixed(2)} ms, p99 ${p.p99.toFixed(2)} ms`;
    process.stdout.write(
      `${result.line}\n` +
        `bank: ${result.seconds.toFixed(1)} s, ${result.transfersPerSecond.toFixed(1)} transfers/s acknowledged, ${result.reads} snapshot reads; ` +
        `${result.failed} failed ${JSON.stringify(result.failures)}, ${result.abandoned} abandoned after prewrite, ${result.uncertain} uncertain; ` +
        `${result.regionsAtStart} regions at start\n` +
        `bank: commit latency one-region (1PC): ${fmt(result.latency.onePc)}; multi-region (2PC): ${fmt(result.latency.twoPc)}\n`,
    );
    for (const a of result.anomalyDetails) process.stdout.write(`bank: anomaly: ${a}\n`);

    expect(result.anomalyDetails).toEqual([]);
    expect(result.anomalies).toBe(0);
    expect(result.totalConstant).toBe(true);
    expect(result.kills).toBe(1);
    expect(result.transfers).toBeGreaterThan(0);
    expect(result.reads).toBeGreaterThan(0);
    expect(result.regionsAtStart).toBeGreaterThanOrEqual(4);
    expect(result.line).toMatch(/^bank: transfers=\d+ reads=\d+ kills=1 total-constant=yes anomalies=0$/);
    // The run's own progress lines name the kill and the restart.
    expect(logged.some((l) => /^bank: kill -9 n\d/.test(l))).toBe(true);
    expect(logged.some((l) => /^bank: restarting n\d/.test(l))).toBe(true);
  }, 180_000);
});
