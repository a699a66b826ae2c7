import { defineConfig } from 'vitest/config';

// Tests that start real node processes measure timings (failover, catch-up) that two cores cannot
// honour while other clusters run beside them: they run one file at a time, after the rest.
const PROCESS_TESTS = [
  'test/cluster/**/*.test.ts',
  'test/txn/**/*.test.ts',
  'test/bank/**/*.test.ts',
  'test/sql/sql_cluster.test.ts',
  'test/sql/pgbench.test.ts',
  'test/sql/pgbench_cairn.test.ts',
  'test/sql/vtables/**/*.test.ts',
  'test/slt/cairn_corpus.test.ts',
  'test/cli/**/*.test.ts',
];

export default defineConfig({
  test: {
    // Simulation and storage tests are CPU-heavy; two cores, so keep workers to two.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
          exclude: PROCESS_TESTS,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'processes',
          include: PROCESS_TESTS,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
