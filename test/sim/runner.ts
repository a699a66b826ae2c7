import { Simulation, type RunOptions, type SeedResult } from './simulation.js';

/** Runs seeds from..from+count-1 in order, reporting each result as it completes. */
export async function runSeeds(
  from: number,
  count: number,
  onResult: (r: SeedResult) => void,
  options: RunOptions = {},
): Promise<SeedResult[]> {
  const results: SeedResult[] = [];
  for (let seed = from; seed < from + count; seed++) {
    const result = new Simulation(seed, options).run();
    results.push(result);
    onResult(result);
    // Let the event loop breathe (signals, output) between seeds.
    if (seed % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return results;
}

/** How the linearizability checks went (a check that ran out of time proves nothing either way). */
export function lincheckLine(results: readonly SeedResult[]): string {
  const count = (v: SeedResult['lincheck']): number => results.filter((r) => r.lincheck === v).length;
  const ops = results.reduce((acc, r) => acc + r.stats.opsCompleted, 0);
  return `lincheck: histories ok=${count('ok')} illegal=${count('illegal')} undecided=${count('unknown')} completed-ops=${ops}`;
}

export function summaryLine(seeds: number, results: readonly SeedResult[]): string {
  const sum = (f: (r: SeedResult) => number): number => results.reduce((acc, r) => acc + f(r), 0);
  const violations = results.filter((r) => r.violations.length > 0).length;
  return (
    `sim: seeds=${seeds} violations=${violations} elections=${sum((r) => r.stats.elections)} ` +
    `commits=${sum((r) => r.stats.commits)} partitions=${sum((r) => r.stats.partitions)} ` +
    `confchanges=${sum((r) => r.stats.confChanges)} transfers=${sum((r) => r.stats.transfers)}`
  );
}
