// The pgbench suite a SQL endpoint must pass: `pgbench -i -s 1`, then 8 clients running pgbench's
// TPC-B-like script and its select-only script (`-S`) over each protocol mode pgbench has (simple
// Query messages; the extended protocol with unnamed statements; named prepared statements). The
// caller checks the results (pgbench.test.ts: no failed transactions, no aborted client, tps > 0).
import { PGBENCH_MODES, PGBENCH_WORKLOADS, type PgbenchResult, type PgbenchTarget, initPgbench, runPgbench } from '../../bench/sql/pgbench.js';

export type { PgbenchResult, PgbenchTarget } from '../../bench/sql/pgbench.js';

export const SUITE_SCALE = 1;
export const SUITE_CLIENTS = 8;

export interface PgbenchSuiteOptions {
  /** pgbench's progress lines, as they come. */
  readonly onProgress?: (line: string) => void;
  /** pgbench -i --init-steps, for a target that cannot take every default step. */
  readonly initSteps?: string;
}

export async function runPgbenchSuite(
  target: { host: string; port: number; user: string; database: string },
  seconds: number,
  options: PgbenchSuiteOptions = {},
): Promise<PgbenchResult[]> {
  const endpoint: PgbenchTarget = target;
  await initPgbench(endpoint, { scale: SUITE_SCALE, ...(options.initSteps === undefined ? {} : { initSteps: options.initSteps }) });
  const results: PgbenchResult[] = [];
  for (const workload of PGBENCH_WORKLOADS) {
    for (const mode of PGBENCH_MODES) {
      results.push(await runPgbench({ target: endpoint, workload, mode, clients: SUITE_CLIENTS, seconds, ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }) }));
    }
  }
  return results;
}
