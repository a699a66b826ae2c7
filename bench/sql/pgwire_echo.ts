// npx tsx bench/sql/pgwire_echo.ts [--seconds 5] [--clients 16] [--no-postgres]
//
// The cost of the wire protocol alone. pgwire runs in a child process in front of a Session that
// does nothing (each statement answers one row echoing its parameter), and C node-postgres
// clients in this process run a prepared single-row select (Bind, Describe, Execute, Sync per
// query, as pg sends it) in closed loops for --seconds. Printed: queries/s, and the server
// process's CPU time per query, which on a shared two-core machine says more than the rate. The
// same loop is then run against PostgreSQL 15 (`select $1::int4`, prepared) for the ratio.
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { PgServer } from '../../src/sql/pgwire/server.js';
import type {
  FieldDescription,
  ResultSink,
  Session,
  SessionFactory,
  StartupOutcome,
  StatementDescription,
  TxnStatus,
} from '../../src/sql/pgwire/session_api.js';
import { startPostgres } from '../../test/support/postgres.js';

const SERVE_FLAG = '--serve';
/** The child must say where it listens within this, or the run fails. */
const SERVER_START_TIMEOUT_MS = 15_000;
/** After the run, how long the child may take to exit on its own before it is killed. */
const CHILD_EXIT_TIMEOUT_MS = 5_000;

const INT4_FIELD: FieldDescription = { name: 'n', tableOid: 0, columnAttr: 0, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 };
const ONE = new TextEncoder().encode('1');

/** Answers every statement with one int4 row: the first parameter, or 1. */
class EchoSession implements Session {
  private readonly portals = new Map<string, ReadonlyArray<Uint8Array | null>>();
  private readonly row: Array<Uint8Array | null> = [ONE];

  async simpleQuery(_sql: string, sink: ResultSink): Promise<void> {
    sink.rowDescription([INT4_FIELD]);
    this.row[0] = ONE;
    sink.dataRow(this.row);
    sink.commandComplete('SELECT 1');
  }

  async parse(): Promise<void> {}

  async bind(portal: string, _statement: string, _formats: ReadonlyArray<0 | 1>, parameters: ReadonlyArray<Uint8Array | null>): Promise<void> {
    this.portals.set(portal, parameters);
  }

  async describeStatement(): Promise<StatementDescription> {
    return { parameterTypes: [23], fields: [INT4_FIELD] };
  }

  async describePortal(): Promise<readonly FieldDescription[] | null> {
    return [INT4_FIELD];
  }

  async execute(portal: string, _maxRows: number, sink: ResultSink): Promise<'complete' | 'suspended'> {
    this.row[0] = this.portals.get(portal)?.[0] ?? ONE;
    sink.dataRow(this.row);
    sink.commandComplete('SELECT 1');
    return 'complete';
  }

  async closeStatement(): Promise<void> {}

  async closePortal(name: string): Promise<void> {
    this.portals.delete(name);
  }

  async sync(): Promise<void> {
    this.portals.delete('');
  }

  txnStatus(): TxnStatus {
    return 'I';
  }

  cancel(): void {}

  async close(): Promise<void> {}
}

const echoFactory: SessionFactory = {
  async open(): Promise<StartupOutcome> {
    return { session: new EchoSession(), parameters: [['server_version', '15.0'], ['client_encoding', 'UTF8']] };
  },
};

// --- the child: serve until told to stop -----------------------------------------------------

async function serve(): Promise<void> {
  const server = await PgServer.listen({ host: '127.0.0.1', port: 0, factory: echoFactory });
  let cpuAtStart = process.cpuUsage();
  process.on('message', async (message: string) => {
    if (message === 'mark') {
      cpuAtStart = process.cpuUsage();
      process.send?.({ marked: true });
    } else if (message === 'stop') {
      const cpu = process.cpuUsage(cpuAtStart);
      await server.close(1_000);
      process.send?.({ cpuMicros: cpu.user + cpu.system }, () => process.exit(0));
    }
  });
  process.send?.({ port: server.address().port });
}

// --- the parent: drive it --------------------------------------------------------------------

interface Options {
  seconds: number;
  clients: number;
  postgres: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      clients: { type: 'string', default: '16' },
      'no-postgres': { type: 'boolean', default: false },
    },
  });
  const positive = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
    return n;
  };
  return { seconds: positive('seconds', values.seconds), clients: Math.floor(positive('clients', values.clients)), postgres: !values['no-postgres'] };
}

const log = (line: string): void => {
  process.stderr.write(`[bench:pgwire] ${line}\n`);
};

function nextMessage<T>(child: ChildProcess, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the pgwire child did not answer in time')), timeoutMs);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as T);
    });
    child.once('exit', (code) => reject(new Error(`the pgwire child exited with ${code}`)));
  });
}

/** C clients, each running the prepared select in a closed loop; returns queries completed. */
async function drive(port: number, user: string, database: string, options: Options): Promise<{ queries: number; seconds: number }> {
  const clients = await Promise.all(
    Array.from({ length: options.clients }, async () => {
      const client = new pg.Client({ host: '127.0.0.1', port, user, database });
      await client.connect();
      return client;
    }),
  );
  // Warm up: every client prepares its statement once.
  await Promise.all(clients.map((c) => c.query({ name: 'echo', text: 'select $1::int4', values: [0] })));
  let queries = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  await Promise.all(
    clients.map(async (client, k) => {
      let i = 0;
      while (performance.now() < deadline) {
        const r = await client.query({ name: 'echo', text: 'select $1::int4', values: [k * 1_000_000 + i] });
        if (r.rowCount !== 1) throw new Error(`expected one row, got ${r.rowCount}`);
        i += 1;
        queries += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(clients.map((c) => c.end()));
  return { queries, seconds };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const child = fork(fileURLToPath(import.meta.url), [SERVE_FLAG], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const { port } = await nextMessage<{ port: number }>(child, SERVER_START_TIMEOUT_MS);
    log(`pgwire (echo session) on port ${port}: ${options.clients} clients, ${options.seconds} s`);
    child.send('mark');
    await nextMessage(child, SERVER_START_TIMEOUT_MS);
    const pgwire = await drive(port, 'bench', 'defaultdb', options);
    child.send('stop');
    const { cpuMicros } = await nextMessage<{ cpuMicros: number }>(child, SERVER_START_TIMEOUT_MS);
    const rate = pgwire.queries / pgwire.seconds;
    // Warm-up and connection setup are inside the CPU window; they are a few hundred of many thousand queries.
    const microsPerQuery = cpuMicros / pgwire.queries;
    console.log(`pgwire    ${rate.toFixed(0).padStart(8)} queries/s   server CPU ${microsPerQuery.toFixed(1)} µs/query   (${pgwire.queries} queries)`);
    if (options.postgres) {
      const postgres = await startPostgres({ user: 'bench' });
      try {
        const peer = await drive(postgres.port, 'bench', 'postgres', options);
        const peerRate = peer.queries / peer.seconds;
        console.log(`postgres  ${peerRate.toFixed(0).padStart(8)} queries/s   (${peer.queries} queries, select $1::int4, prepared)`);
        console.log(`ratio     ${(rate / peerRate).toFixed(2)} (pgwire + echo session / PostgreSQL 15)`);
      } finally {
        await postgres.stop();
      }
    }
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_EXIT_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
  }
}

if (process.argv.includes(SERVE_FLAG)) {
  void serve();
} else {
  main().catch((error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  });
}
