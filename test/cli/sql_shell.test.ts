// `cairn sql` against a private PostgreSQL 15, run as a subprocess (tsx's CLI running
// sql_shell_launcher.ts, which is what `npx tsx` runs, without npm's lookup) with
// `--host 127.0.0.1:<port> --user postgres --database postgres`. Expected output comes from
// PostgreSQL itself: psql's aligned, expanded and CSV output for the same statements (with NULL
// displayed as NULL, which the shell's table format does), the server's own error fields, and
// psql's `\d`. The interactive session is driven in-process through pipes (no pseudo-terminal).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTORY_MAX_LINES } from '../../src/cli/sql_history.js';
import { UsageError } from '../../src/cli/flags.js';
import { type SqlCommandFlags, databaseSetBy, runSqlShell, sqlShellOptionsFromFlags } from '../../src/cli/sql_shell.js';
import { type PostgresServer, startPostgres } from '../support/postgres.js';

const TSX_CLI = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
const LAUNCHER = fileURLToPath(new URL('./sql_shell_launcher.ts', import.meta.url));
/** A shell run that takes longer than this has hung. */
const RUN_TIMEOUT_MS = 30_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let server: PostgresServer;
let work: string;

function connectionFlags(): string[] {
  return ['--insecure', '--host', `127.0.0.1:${server.port}`, '--user', 'postgres', '--database', 'postgres'];
}

/** Runs `cairn sql ARGS` with `input` on its standard input; `onStart` may signal it. */
function cairnSql(args: readonly string[], input = '', onStart?: (pid: number) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX_CLI, LAUNCHER, 'sql', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HOME: work } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cairn sql ${args.join(' ')} did not finish in ${RUN_TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (onStart !== undefined && child.pid !== undefined) onStart(child.pid);
    child.stdin.end(input);
  });
}

/** psql's own output for the same thing: the oracle for layouts. */
function psql(args: readonly string[]): string {
  const r = spawnSync('psql', ['-X', '-h', '127.0.0.1', '-p', String(server.port), '-U', 'postgres', '-d', 'postgres', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout;
}

async function withClient<T>(f: (c: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
  const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'postgres', database });
  await client.connect();
  try {
    return await f(client);
  } finally {
    await client.end();
  }
}

/** What the shell must print for the server's error on `sql`, from the error the server sends. */
async function expectedError(sql: string): Promise<string> {
  return withClient(async (c) => {
    try {
      await c.query(sql);
    } catch (err) {
      const e = err as pg.DatabaseError;
      return `ERROR: ${e.message}\nSQLSTATE: ${e.code}\n${e.detail ? `DETAIL: ${e.detail}\n` : ''}${e.hint ? `HINT: ${e.hint}\n` : ''}`;
    }
    throw new Error(`${sql} did not fail`);
  });
}

beforeAll(async () => {
  server = await startPostgres();
  work = mkdtempSync(join(tmpdir(), 'cairn-sql-shell-'));
  await withClient(async (c) => {
    await c.query('create table t (id int primary key, name text, v numeric(10,2))');
    await c.query(`insert into t values (1, 'a', 10000.50), (2, 'bb', null), (3, E'multi\\nline', 3), (4, 'd', 1)`);
    await c.query('create database other');
  });
});

afterAll(async () => {
  await server?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

// Statements whose table layout must match psql's, byte for byte.
const LAYOUT_QUERIES = [
  'select * from t order by id',
  "select 'é' as a, '日本語' as b, true as c, 1.5::float8 as f, 3::bigint as bigcolumnname, 'z' as last union all select 'abcdef', 'x', false, null, null, 'longer value'",
  "select E'ab\\nlonger' as x, 1 as y",
  "select E'ab\\nlonger' as x",
  "select E'a\\tb' as t, E'c\\rd' as r, E'a\\x01b' as ctl",
  'select 1 as "two\nlines", 2 as b',
  'select',
  'select 1 as a where false',
  'select 1 as a, 2 as a',
  "select 10000.50::numeric as n, '2024-01-02 03:04:05.678+00'::timestamptz as ts, 9223372036854775807::bigint as big, '{\"a\": 1}'::jsonb as j, '\\x00ff'::bytea as b, interval '1 day 2 hours' as i, array[1,2] as arr, 'NaN'::float8 as nan, 42::oid as o, 7::int2 as s",
  'select g as n, repeat(\'x\', g) as xs from generate_series(1, 12) g',
  'create temp table tt (a int)',
  'insert into tt values (1), (2), (3)',
  'insert into tt values (4) returning a, a * 2 as twice',
  'update tt set a = a + 1 where a > 2',
  'delete from tt where a = 2 returning *',
  "copy (select 1, 'a') to stdout",
  'drop table tt',
];

describe('cairn sql -e', () => {
  it('lays out tables as psql does, NULL shown as NULL', async () => {
    const run = await cairnSql([...connectionFlags(), '--format', 'table', ...LAYOUT_QUERIES.flatMap((q) => ['-e', q])]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const expected = psql(['-P', 'null=NULL', ...LAYOUT_QUERIES.flatMap((q) => ['-c', q])]);
    expect(run.stdout).toBe(expected);
  });

  it('prints a small table exactly', async () => {
    const run = await cairnSql([...connectionFlags(), '--format', 'table', '-e', 'select id, name, v from t where id <= 2 order by id']);
    expect(run.stdout).toBe(
      [' id | name |    v     ', '----+------+----------', '  1 | a    | 10000.50', '  2 | bb   |     NULL', '(2 rows)', '', ''].join('\n'),
    );
  });

  it('streams a result larger than a layout group, still as psql lays it out', async () => {
    const q = 'select generate_series(1, 25000)';
    const run = await cairnSql([...connectionFlags(), '--format', 'table', '-e', q]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(psql(['-P', 'null=NULL', '-c', q]));
  });

  it('prints records as psql -x does', async () => {
    const queries = ['select * from t order by id', 'select null::int as a, \'x\' as bbbbbbbbbbbbbbbbbbbb', 'select 1 as a', 'select 1 as a where false', 'create temp table r (a int)', 'insert into r values (5) returning a'];
    const run = await cairnSql([...connectionFlags(), '--format', 'records', ...queries.flatMap((q) => ['-e', q])]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(psql(['-x', '-P', 'null=NULL', ...queries.flatMap((q) => ['-c', q])]));
  });

  it('prints csv as psql --csv does', async () => {
    const queries = [
      'select * from t order by id',
      "select '' as e, null as n, ' sp' as s, 'a,b' as c, 'q\"q' as q, E'l\\nm' as nl, '\\.' as bs, E'tab\\there' as tab",
      'select 1 as a where false',
    ];
    const run = await cairnSql([...connectionFlags(), '--format', 'csv', ...queries.flatMap((q) => ['-e', q])]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(psql(['--csv', ...queries.flatMap((q) => ['-c', q])]));
  });

  it('prints tsv when not at a terminal: header, rows, NULL empty, tabs and line breaks quoted', async () => {
    const run = await cairnSql([...connectionFlags(), '-e', "select id, name, v, E'x\\ty' as tab from t where id <= 3 order by id"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('id\tname\tv\ttab\n1\ta\t10000.50\t"x\ty"\n2\tbb\t\t"x\ty"\n3\t"multi\nline"\t3.00\t"x\ty"\n');
  });

  it('runs several statements of one -e in order, printing tags for those without rows', async () => {
    const run = await cairnSql([
      ...connectionFlags(),
      '--format',
      'table',
      '-e',
      'create temp table s (a int); insert into s values (1), (2), (3); update s set a = a * 10 where a > 1; select sum(a) from s; drop table s',
    ]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('CREATE TABLE\nINSERT 0 3\nUPDATE 2\n sum \n-----\n  51\n(1 row)\n\nDROP TABLE\n');
  });

  it('passes server notices to stderr', async () => {
    const run = await cairnSql([...connectionFlags(), '-e', "do $$ begin raise notice 'hello %', 1; end $$"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('DO\n');
    expect(run.stderr).toBe('NOTICE: hello 1\n');
  });
});

describe('cairn sql errors and exit codes', () => {
  it('prints ERROR and SQLSTATE, stops at the first error and exits 1', async () => {
    const run = await cairnSql([...connectionFlags(), '-e', 'select 1 as one; select * from nope; select 2 as two']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('ERROR: relation "nope" does not exist\nSQLSTATE: 42P01\n');
    expect(run.stderr).toBe(await expectedError('select * from nope'));
    expect(run.stdout).toBe('one\n1\n');
  });

  it('goes on past errors with --set errexit=false, still exiting 1', async () => {
    const run = await cairnSql([...connectionFlags(), '--set', 'errexit=false', '-e', 'select * from nope; select 2 as two']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('two\n2\n');
  });

  it('prints DETAIL and HINT when the server sends them', async () => {
    const duplicate = "insert into t values (1, 'again', 0)";
    const misspelt = 'select nme from t';
    const a = await cairnSql([...connectionFlags(), '-e', duplicate]);
    expect(a.code).toBe(1);
    expect(a.stderr).toBe(await expectedError(duplicate));
    expect(a.stderr).toContain('DETAIL: Key (id)=(1) already exists.\n');
    const b = await cairnSql([...connectionFlags(), '-e', misspelt]);
    expect(b.stderr).toBe(await expectedError(misspelt));
    expect(b.stderr).toContain('HINT: ');
  });

  it('refuses to run without --insecure: TLS is not supported yet', async () => {
    const run = await cairnSql(['--host', `127.0.0.1:${server.port}`, '-e', 'select 1']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/TLS is not supported yet.*--insecure/);
    expect(run.stdout).toBe('');
  });

  it('reports usage errors with exit code 2 and no stack trace', async () => {
    const cases: string[][] = [
      [...connectionFlags(), '--format', 'json', '-e', 'select 1'],
      [...connectionFlags(), '--bogus'],
      [...connectionFlags(), 'extra-argument'],
      [...connectionFlags(), '-e', 'select 1', '-f', '/dev/null'],
    ];
    for (const args of cases) {
      const run = await cairnSql(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/^error: /);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('checks flag values before connecting', () => {
    const base = { insecure: true };
    const refuse = (flags: SqlCommandFlags, message: RegExp): void => {
      expect(() => sqlShellOptionsFromFlags(flags)).toThrow(UsageError);
      expect(() => sqlShellOptionsFromFlags(flags)).toThrow(message);
    };
    refuse({ ...base, url: 'postgresql://root@localhost/db', host: 'localhost' }, /--url cannot be combined/);
    refuse({ ...base, execute: ['select 1'], file: 'x.sql' }, /cannot be combined/);
    refuse({ ...base, set: ['nonsense=1'] }, /unknown setting "nonsense"/);
    refuse({ ...base, set: ['errexit=maybe'] }, /errexit takes true or false/);
    refuse({ ...base, set: ['display_format=csv'], format: 'tsv' }, /disagree/);
    refuse({ ...base, host: 'localhost:99999' }, /outside 1-65535/);
    refuse({ ...base, host: 'a b' }, /--host must be/);
    refuse({ ...base, url: 'mysql://x@y/z' }, /postgresql:\/\//);
    refuse({ ...base, url: 'postgresql://root@h/db?sslmode=require' }, /TLS, which is not supported yet/);
    refuse({ ...base, url: 'postgresql://root@h/db?foo=1' }, /parameter "foo"/);
    expect(sqlShellOptionsFromFlags({}).endpoint).toEqual({ host: 'localhost', port: 26257, user: 'root', database: 'defaultdb' });
    expect(sqlShellOptionsFromFlags({ host: 'db1' }).endpoint.port).toBe(26257);
    expect(sqlShellOptionsFromFlags({ host: '[::1]:5433' }).endpoint).toMatchObject({ host: '::1', port: 5433 });
    expect(sqlShellOptionsFromFlags({ url: 'postgresql://alice:pw@db2:5432/shop?sslmode=disable' })).toMatchObject({
      insecure: true,
      endpoint: { host: 'db2', port: 5432, user: 'alice', password: 'pw', database: 'shop' },
    });
    expect(sqlShellOptionsFromFlags({ set: ['display_format=records', 'errexit=off', 'show_times=on'] })).toMatchObject({
      format: 'records',
      settings: { errexit: false, showTimes: true },
    });
  });

  it('exits 1 with the reason when it cannot connect', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    const refused = await cairnSql(['--insecure', '--host', `127.0.0.1:${closed}`, '-e', 'select 1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^ERROR: cannot connect to 127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED.*\\nSQLSTATE: 08006\\n$`));
    const noDatabase = await cairnSql(['--insecure', '--host', `127.0.0.1:${server.port}`, '-u', 'postgres', '-d', 'nosuchdb', '-e', 'select 1']);
    expect(noDatabase.code).toBe(1);
    expect(noDatabase.stderr).toBe('ERROR: database "nosuchdb" does not exist\nSQLSTATE: 3D000\n');
  });

  it('connects with --url, sslmode=disable standing for --insecure', async () => {
    const run = await cairnSql(['--url', `postgresql://postgres@127.0.0.1:${server.port}/other?sslmode=disable`, '-e', 'select current_database()']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('current_database\nother\n');
  });

  it('cancels the running statement on Ctrl-C (SIGINT) and exits 1', async () => {
    const started = Date.now();
    let pid = 0;
    const running = cairnSql([...connectionFlags(), '-e', 'select pg_sleep(60)'], '', (p) => (pid = p));
    // Once the statement is running on the server, interrupt the shell.
    for (;;) {
      const active = await withClient(async (c) => (await c.query("select count(*)::int as n from pg_stat_activity where query = 'select pg_sleep(60)' and state = 'active'")).rows[0].n as number);
      if (active > 0) break;
      if (Date.now() - started > 20_000) throw new Error('the statement never started');
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(pid, 'SIGINT');
    const run = await running;
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(await expectedErrorForCancel());
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('refuses COPY FROM STDIN with an error rather than hanging', async () => {
    const run = await cairnSql([...connectionFlags(), '-e', 'create temp table c (a int); copy c from stdin']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('CREATE TABLE\n');
    expect(run.stderr).toMatch(/^ERROR: COPY from stdin failed: COPY FROM STDIN is not supported by cairn sql\nSQLSTATE: 57014\n/);
  });
});

/** The server's message for a statement cancelled by a CancelRequest, as pg receives it. */
async function expectedErrorForCancel(): Promise<string> {
  return withClient(async (c) => {
    const sleeper = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'postgres', database: 'postgres' });
    await sleeper.connect();
    try {
      const pid = (await sleeper.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      const failed = sleeper.query('select pg_sleep(60)').then(
        () => undefined,
        (err: pg.DatabaseError) => err,
      );
      for (;;) {
        const n = (await c.query("select count(*)::int as n from pg_stat_activity where pid = $1 and state = 'active'", [pid])).rows[0].n as number;
        if (n > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await c.query('select pg_cancel_backend($1)', [pid]);
      const e = await failed;
      if (e === undefined) throw new Error('the sleep was not cancelled');
      return `ERROR: ${e.message}\nSQLSTATE: ${e.code}\n`;
    } finally {
      await sleeper.end();
    }
  });
}

describe('cairn sql -f and standard input', () => {
  it('runs a file: statements over several lines, comments, dollar-quoted bodies, semicolons in strings', async () => {
    const file = join(work, 'script.sql');
    writeFileSync(
      file,
      [
        '-- a comment; not a statement',
        'create or replace function add_one(x int) returns int as $$',
        '  select x + 1; -- the body has its own semicolon',
        '$$ language sql;',
        "select add_one(41) as answer, ';' as semi, 'it''s' as quoted /* ; */",
        '  , $tag$ a;b $tag$ as dollar;',
        'select id,',
        '       name',
        '  from t where id = 1;',
        'drop function add_one',
        '',
      ].join('\n'),
    );
    const run = await cairnSql([...connectionFlags(), '--format', 'table', '-f', file]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(psql(['-P', 'null=NULL', '-f', file]));
  });

  it('exits 1 when the file cannot be read', async () => {
    const run = await cairnSql([...connectionFlags(), '-f', join(work, 'missing.sql')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: cannot read .*missing\.sql: .*ENOENT/);
  });

  it('reads standard input when it is not a terminal: no prompt, statement by statement, until \\q', async () => {
    const input = ['select 1 as a; select 2', '  as b;', 'select', "  'x;y' as c", ';', '\\q', 'select 3 as never;', ''].join('\n');
    const run = await cairnSql([...connectionFlags()], input);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('a\n1\nb\n2\nc\nx;y\n');
  });

  it('opens a new connection after the server drops the session', async () => {
    const run = await cairnSql([...connectionFlags(), '--set', 'errexit=false'], 'select pg_terminate_backend(pg_backend_pid());\nselect 1 as after;\n');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('pg_terminate_backend\nt\nafter\n1\n');
    expect(run.stderr).toMatch(/^ERROR: terminating connection due to administrator command\nSQLSTATE: 57P01\nwarning: the connection to the server was lost .*; reconnecting\n$/);
  });

  it('runs a last statement left without its semicolon at the end of the input', async () => {
    const run = await cairnSql([...connectionFlags()], 'select 1 as a;\nselect 2 as b\n');
    expect(run.stdout).toBe('a\n1\nb\n2\n');
  });

  it('answers \\dt, \\d TABLE, \\l, \\c and \\timing with plain catalog queries', async () => {
    const input = ['\\dt', '\\d t', '\\l', '\\timing', 'select 1 as x;', '\\timing off', '\\c other', 'select current_database();', ''].join('\n');
    const run = await cairnSql([...connectionFlags(), '--format', 'table'], input);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = run.stdout;
    expect(out).toContain(' Schema | Name \n--------+------\n public | t\n(1 row)\n');
    // \d t: the columns psql's \d shows, with the same types and nullability.
    const psqlColumns = psql(['-c', '\\d t'])
      .split('\n')
      .filter((l) => /^ \w+\s+\|/.test(l) && !l.startsWith(' Column'))
      .map((l) => l.split('|').map((c) => c.trim()))
      .map((c) => [c[0], c[1], c[3]]);
    expect(psqlColumns).toEqual([
      ['id', 'integer', 'not null'],
      ['name', 'text', ''],
      ['v', 'numeric(10,2)', ''],
    ]);
    const ours = out
      .split('\n')
      .filter((l) => /^ (id|name|v)\s+\|/.test(l))
      .map((l) => l.split('|').map((c) => c.trim()))
      .map((c) => [c[0], c[1], c[2]]);
    expect(ours).toEqual(psqlColumns);
    expect(out).toContain('Table "public.t"\n');
    expect(out).toContain('CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)');
    // \l: the databases psql -l lists.
    const databases = psql(['-l', '-A', '-t'])
      .split('\n')
      .filter((l) => l.includes('|'))
      .map((l) => l.split('|')[0]!);
    for (const d of databases) expect(out).toMatch(new RegExp(`^ ${d}\\s*$`, 'm'));
    expect(out).toMatch(/timing is on\n x \n---\n 1\n\(1 row\)\n\nTime: \d+\.\d{3} ms\ntiming is off\n/);
    expect(out).toContain('connected to database "other" as user "postgres"');
    expect(out).toMatch(/ current_database \n-+\n other\n/);
  });

  it('reports an unknown backslash command and a missing table as errors', async () => {
    const a = await cairnSql([...connectionFlags()], '\\frobnicate\n');
    expect(a.code).toBe(1);
    expect(a.stderr).toBe('ERROR: unknown command \\frobnicate; \\? lists the commands\nSQLSTATE: 42601\n');
    const b = await cairnSql([...connectionFlags()], '\\d nosuchtable\n');
    expect(b.code).toBe(1);
    expect(b.stderr).toBe('ERROR: no relation named "nosuchtable"\nSQLSTATE: 42P01\n');
  });

  it('stops on Ctrl-C while waiting for input, with exit code 130', async () => {
    let pid = 0;
    const child = spawn(process.execPath, [TSX_CLI, LAUNCHER, 'sql', ...connectionFlags()], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HOME: work } });
    pid = child.pid!;
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    child.stdin.write('select 1 as a;\n');
    const deadline = Date.now() + 20_000;
    while (!stdout.includes('a\n1\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    process.kill(pid, 'SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    const code = await closed;
    clearTimeout(timer);
    expect(stdout).toBe('a\n1\n');
    expect(code).toBe(130);
  });
});

describe('cairn sql interactive session', () => {
  /** Runs a session over pipes, as at a terminal but without one, and returns what it printed. */
  async function session(lines: readonly string[], historyFile: string): Promise<{ code: number; output: string; errors: string }> {
    const input = new PassThrough();
    const output = new PassThrough();
    const error = new PassThrough();
    let out = '';
    let err = '';
    output.setEncoding('utf8').on('data', (d: string) => (out += d));
    error.setEncoding('utf8').on('data', (d: string) => (err += d));
    const done = runSqlShell({
      endpoint: { host: '127.0.0.1', port: server.port, user: 'postgres', database: 'postgres' },
      insecure: true,
      source: { kind: 'stdin' },
      historyFile,
      io: { input, output, error, interactive: true },
    });
    // One line at a time, each once the shell has answered the previous one with a prompt.
    let seen = 0;
    for (const line of lines) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const prompts = (out.match(/> $|> (?=\S)|-> /g) ?? []).length;
        if (prompts > seen && /(?:> |-> )$/.test(out)) {
          seen = prompts;
          break;
        }
        if (Date.now() > deadline) throw new Error(`no prompt after: ${out}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      input.write(`${line}\n`);
    }
    input.end();
    const code = await done;
    return { code, output: out, errors: err };
  }

  it('prompts user@host:port/database, continues with ->, follows \\c and transactions, keeps history', async () => {
    const historyFile = join(work, 'history');
    const old = Array.from({ length: HISTORY_MAX_LINES + 200 }, (_, i) => `select ${i};`);
    writeFileSync(historyFile, `${old.join('\n')}\n`);
    const lines = ['select 1', '  as x;', '\\c other', 'begin;', 'select 1/0;', 'rollback;', '\\q'];
    const { code, output, errors } = await session(lines, historyFile);
    expect(code).toBe(0);
    const main = `postgres@127.0.0.1:${server.port}`;
    const expected =
      '# Welcome to the Cairn SQL shell.\n# Statements end with a semicolon. \\? shows the commands, \\q leaves.\n' +
      `${main}/postgres> ` +
      '-> ' +
      ' x \n---\n 1\n(1 row)\n\n' +
      `${main}/postgres> ` +
      `connected to database "other" as user "postgres" on 127.0.0.1:${server.port}\n` +
      `${main}/other> ` +
      'BEGIN\n' +
      `${main}/other OPEN> ` +
      `${main}/other ERROR> ` +
      'ROLLBACK\n' +
      `${main}/other> `;
    expect(output).toBe(expected);
    expect(errors).toBe(await expectedError('select 1/0'));
    const saved = readFileSync(historyFile, 'utf8').trimEnd().split('\n');
    expect(saved.length).toBe(HISTORY_MAX_LINES);
    expect(saved.slice(-lines.length)).toEqual(lines);
    expect(saved[0]).toBe(old[old.length - (HISTORY_MAX_LINES - lines.length)]);
  });

  it('knows which statements switch the database, with PostgreSQL identifier rules', () => {
    expect(databaseSetBy('use Foo')).toBe('foo');
    expect(databaseSetBy('USE "Foo"')).toBe('Foo');
    expect(databaseSetBy('set database = bar')).toBe('bar');
    expect(databaseSetBy("SET database TO 'Baz'")).toBe('Baz');
    expect(databaseSetBy('set session database = "a""b"')).toBe('a"b');
    expect(databaseSetBy('set search_path = x')).toBeUndefined();
    expect(databaseSetBy('select 1')).toBeUndefined();
  });

  it('follows SET database and USE in the prompt only when the server accepts them', async () => {
    // PostgreSQL has no such statements: the prompt must not change when they fail.
    const { output } = await session(['set database = other;', 'use other;'], join(work, 'history2'));
    expect(output.endsWith(`postgres@127.0.0.1:${server.port}/postgres> `)).toBe(true);
    expect(output).not.toContain('/other>');
  });
});
