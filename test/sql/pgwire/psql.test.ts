// psql, as a subprocess, against pgwire and against a real PostgreSQL 15: the same command line
// must print the same standard output and standard error and exit with the same status. psql
// exercises what node-postgres does not: SSL and GSS negotiation at connect, COPY through
// \copy, errors printed with their position, notices, ON_ERROR_STOP.

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../support/postgres.js';
import { startFakeServer, type FakeServer } from './harness.js';

let postgres: PostgresServer;
let fake: FakeServer;
let dir: string;

beforeAll(async () => {
  [postgres, fake, dir] = await Promise.all([startPostgres({ user: 'root' }), startFakeServer(), mkdtemp(join(tmpdir(), 'pgwire-psql-'))]);
}, 60_000);

afterAll(async () => {
  await Promise.all([postgres?.stop(), fake?.stop(), dir === undefined ? undefined : rm(dir, { recursive: true, force: true })]);
});

interface PsqlRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Bound on one psql run: a hang is a failure, not a stuck suite. */
const PSQL_TIMEOUT_MS = 15_000;

function psql(port: number, args: string[], database = 'postgres', stdin = ''): Promise<PsqlRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', '-h', '127.0.0.1', '-p', String(port), '-U', 'root', '-d', database, ...args], {
      env: { ...process.env, PGCONNECT_TIMEOUT: '10', PGAPPNAME: 'pgwire-test' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`psql ${args.join(' ')} did not finish in ${PSQL_TIMEOUT_MS} ms`));
    }, PSQL_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      // The port is the one thing that legitimately differs in what psql prints.
      const normalise = (s: string): string => s.replaceAll(`port ${port}`, 'port PORT');
      resolve({ status, stdout: normalise(stdout), stderr: normalise(stderr) });
    });
    child.stdin.end(stdin);
  });
}

async function onBoth(args: string[], stdin = ''): Promise<{ expected: PsqlRun; actual: PsqlRun }> {
  const [expected, actual] = await Promise.all([psql(postgres.port, args, 'postgres', stdin), psql(fake.port, args, 'postgres', stdin)]);
  return { expected, actual };
}

const SCRIPT = `select 1;
select generate_series(1,3);
selec;
begin;
select 1/0;
select 1;
rollback;
create temp table t(a int);
\\copy t from stdin
10
20
\\N
\\.
select count(*) from t;
copy t to stdout;
\\copy t to stdout
do $$ begin raise notice 'from psql'; end $$;
select 'done' as status;
`;

describe('psql prints what it prints against PostgreSQL 15', () => {
  it('-c with one statement', async () => {
    const { expected, actual } = await onBoth(['-c', 'select 1']);
    expect(expected.stdout).toContain('(1 row)');
    expect(actual).toEqual(expected);
  });

  it('-c with several rows, unaligned and tuples only', async () => {
    const { expected, actual } = await onBoth(['-At', '-c', 'select generate_series(1,3)']);
    expect(expected.stdout).toBe('1\n2\n3\n');
    expect(actual).toEqual(expected);
  });

  it('-f with several statements, an error, a failed block, \\copy in and out, and a notice', async () => {
    const file = join(dir, 'script.sql');
    await writeFile(file, SCRIPT);
    const { expected, actual } = await onBoth(['-f', file]);
    expect(expected.stderr).toContain('ERROR:  syntax error at or near "selec"');
    expect(expected.stdout).toContain('COPY 3');
    expect(actual).toEqual(expected);
  });

  it('a script on standard input with ON_ERROR_STOP stops at the first error with status 3', async () => {
    const { expected, actual } = await onBoth(['-v', 'ON_ERROR_STOP=1'], 'select 1;\nselect 1/0;\nselect 2;\n');
    expect(expected.status).toBe(3);
    expect(actual).toEqual(expected);
  });

  it('a database that does not exist', async () => {
    const [expected, actual] = await Promise.all([
      psql(postgres.port, ['-c', 'select 1'], 'nope'),
      psql(fake.port, ['-c', 'select 1'], 'nope'),
    ]);
    expect(expected.stderr).toContain('database "nope" does not exist');
    expect(actual).toEqual(expected);
  });
});

describe('psql against pgwire alone', () => {
  it('connects to defaultdb as root, as the brief gives the command', async () => {
    const [reference, run] = await Promise.all([psql(postgres.port, ['-c', 'select 1']), psql(fake.port, ['-c', 'select 1'], 'defaultdb')]);
    expect(run).toEqual(reference);
    const session = fake.factory.sessions.find((s) => s.parameters.get('database') === 'defaultdb')!;
    expect(session.parameters.get('user')).toBe('root');
    expect(session.parameters.get('application_name')).toBe('pgwire-test');
  });

  it('streams \\copy data from standard input to the session', async () => {
    const rows = Array.from({ length: 5_000 }, (_, i) => String(i)).join('\n');
    const run = await psql(fake.port, ['-c', 'create table big(a int)', '-c', '\\copy big from stdin', '-c', 'select count(*) from big'], 'defaultdb', `${rows}\n\\.\n`);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('COPY 5000');
    expect(run.stdout).toContain(' 5000\n');
  });
});
