// pgbench against a SQL endpoint: `pgbench -i -s 1`, then TPC-B and select-only with 8 clients in
// the simple, extended and prepared protocol modes, each with zero failed transactions, no aborted
// client and a non-zero tps.
//
// With CAIRN_PGBENCH_URL set (postgresql://root@127.0.0.1:26257/defaultdb) the suite runs against
// that cluster, 30 s per run. Without it, against a private PostgreSQL 15 for 2 s per run, so the
// suite and the reading of pgbench's report are themselves tested: the TPC-B transactions pgbench
// reports must equal the rows it inserted into pgbench_history (one per transaction), and a run
// whose clients hit errors must be reported as aborted, not as a success.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGBENCH_MODES, PGBENCH_WORKLOADS, initPgbench, runPgbench } from '../../bench/sql/pgbench.js';
import { type PostgresServer, startPostgres } from '../support/postgres.js';
import { SUITE_CLIENTS, runPgbenchSuite } from './pgbench_suite.js';

const ENV_URL = process.env.CAIRN_PGBENCH_URL;
const ENV_SECONDS = 30;
const LOCAL_SECONDS = 2;

interface Endpoint {
  host: string;
  port: number;
  user: string;
  database: string;
}

function endpointFromUrl(url: string): Endpoint {
  const u = new URL(url);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? 26257 : Number(u.port),
    user: decodeURIComponent(u.username) || 'root',
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'defaultdb',
  };
}

async function historyRows(e: Endpoint): Promise<number> {
  const client = new pg.Client({ ...e, ssl: false });
  await client.connect();
  try {
    return Number((await client.query('select count(*) as n from pgbench_history')).rows[0].n);
  } finally {
    await client.end();
  }
}

let server: PostgresServer | undefined;
let target: Endpoint;

beforeAll(async () => {
  server = await startPostgres();
  target = ENV_URL === undefined ? { host: server.host, port: server.port, user: server.user, database: server.database } : endpointFromUrl(ENV_URL);
});

afterAll(async () => {
  await server?.stop();
});

describe(`pgbench suite (${ENV_URL === undefined ? 'private PostgreSQL' : ENV_URL})`, () => {
  it(
    'runs TPC-B and select-only in every protocol mode with no failure',
    async () => {
      const seconds = ENV_URL === undefined ? LOCAL_SECONDS : ENV_SECONDS;
      const results = await runPgbenchSuite(target, seconds);
      expect(results.map((r) => `${r.workload}/${r.mode}`)).toEqual(PGBENCH_WORKLOADS.flatMap((w) => PGBENCH_MODES.map((m) => `${w}/${m}`)));
      for (const r of results) {
        const what = `${r.workload} -M ${r.mode}: ${r.errors.join(' | ')}`;
        expect(r.exitCode, what).toBe(0);
        expect(r.abortedClients, what).toBe(0);
        expect(r.failed, what).toBe(0);
        expect(r.clients).toBe(SUITE_CLIENTS);
        expect(r.transactions, what).toBeGreaterThan(0);
        expect(r.tps, what).toBeGreaterThan(0);
        expect(r.latencyAvgMs, what).toBeGreaterThan(0);
        expect(r.latencyStddevMs, what).toBeGreaterThanOrEqual(0);
        // pgbench divides by the time its clients actually ran (not -T exactly, and without the
        // connection time), so tps is near transactions / seconds, not equal to it.
        expect(r.tps!, what).toBeGreaterThan(r.transactions / seconds / 2);
        expect(r.tps!, what).toBeLessThan((r.transactions / seconds) * 2);
      }
      // Every TPC-B transaction inserts one pgbench_history row; the select-only runs none.
      const tpcb = results.filter((r) => r.workload === 'tpcb').reduce((sum, r) => sum + r.transactions, 0);
      expect(await historyRows(target)).toBe(tpcb);
    },
    (ENV_URL === undefined ? 120 : 15 * 60) * 1000,
  );
});

describe('pgbench runs that go wrong (private PostgreSQL)', () => {
  it('reports clients aborted by errors, and refuses an uninitialised database', async () => {
    const local = { host: server!.host, port: server!.port, user: server!.user, database: 'broken' };
    const admin = new pg.Client({ host: server!.host, port: server!.port, user: server!.user, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query('create database broken');
    } finally {
      await admin.end();
    }
    // Nothing initialised: pgbench stops before running anything.
    const early = await runPgbench({ target: local, workload: 'select', mode: 'simple', clients: 2, seconds: 1 });
    expect(early.exitCode).toBe(1);
    expect(early.tps).toBeUndefined();
    expect(early.errors.join('\n')).toMatch(/pgbench_branches/);
    await initPgbench(local, { scale: 1 });
    // Without pgbench_history the TPC-B script's INSERT fails in every client.
    const client = new pg.Client({ ...local });
    await client.connect();
    try {
      await client.query('drop table pgbench_history');
    } finally {
      await client.end();
    }
    const aborted = await runPgbench({ target: local, workload: 'tpcb', mode: 'prepared', clients: 3, seconds: 2 });
    expect(aborted.exitCode).toBe(2);
    expect(aborted.abortedClients).toBe(3);
    expect(aborted.errors.join('\n')).toMatch(/pgbench_history/);
    await expect(initPgbench({ ...local, database: 'nosuchdb' }, { scale: 1 })).rejects.toThrow(/pgbench -i failed.*nosuchdb/s);
  }, 120_000);
});
