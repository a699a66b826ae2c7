// SQL on a real three-node cluster, through real clients: psql (the seeds' sessions verbatim,
// compared with what PostgreSQL 15 prints for the same input), node-postgres (simple and extended
// protocol, prepared statements, parameters, transactions and their errors), schema changes seen
// by every gateway, an ADD COLUMN while another client keeps writing, COPY, and concurrent
// updates of one row through different gateways (they wait for each other; none fails).
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { ProcessCluster, ensureBuilt, failureTrackingSteps, type ProcNode } from '../cluster/harness.js';
import { startPostgres, type PostgresServer } from '../support/postgres.js';

const cluster = new ProcessCluster({ 'raft-tick-interval': '100ms', 'raft-election-ticks': '10', 'log-level': 'info' });
let nodes: ProcNode[] = [];
let postgres: PostgresServer;
let failed = false;
const clients: pg.Client[] = [];

function hostPort(n: ProcNode): { host: string; port: number } {
  const [host, port] = n.sql.split(':');
  return { host: host!, port: Number(port) };
}

/** psql with a script on stdin, as a person would type it; returns what psql prints. */
function psql(target: { host: string; port: number; user: string; database: string }, script: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync('psql', ['-X', '-h', target.host, '-p', String(target.port), '-U', target.user, '-d', target.database], {
    input: script,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, PGSSLMODE: 'disable', PGTZ: 'UTC' },
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

function cairn(n: ProcNode): { host: string; port: number; user: string; database: string } {
  return { ...hostPort(n), user: 'root', database: 'defaultdb' };
}

async function connect(n: ProcNode, database = 'defaultdb'): Promise<pg.Client> {
  const c = new pg.Client({ ...hostPort(n), user: 'root', database });
  await c.connect();
  clients.push(c);
  return c;
}

describe('SQL on a three-node cluster', () => {
  beforeAll(async () => {
    ensureBuilt();
    await cluster.setup();
    nodes = [await cluster.define('n1'), await cluster.define('n2'), await cluster.define('n3')];
    cluster.joinList = nodes.map((n) => n.grpc);
    for (const n of nodes) cluster.start(n);
    for (const n of nodes) {
      for (let i = 0; i < 300; i++) {
        try {
          if ((await cluster.http(n, '/health')).status === 200) break;
        } catch {
          // not up yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(cluster.cli(['init', `--host=${nodes[0]!.grpc}`]).status).toBe(0);
    for (const n of nodes) await cluster.waitReady(n);
    postgres = await startPostgres();
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await postgres?.stop();
    const keep = failed || process.env.CAIRN_KEEP_LOGS === '1';
    if (keep) process.stdout.write(`sql cluster logs kept in ${cluster.rootDir}\n`);
    await cluster.close(keep);
  });

  const step = failureTrackingSteps(() => {
    failed = true;
  });

  step('the seeds\' psql sessions print what PostgreSQL 15 prints', async () => {
    const first = `CREATE DATABASE bank;
CREATE TABLE bank.accounts (id INT PRIMARY KEY, balance DECIMAL);
INSERT INTO bank.accounts VALUES (1234, 10000.50);
SELECT * FROM bank.accounts;
`;
    const second = `create table bank.accounts2 (name varchar(255), balance decimal);
insert into bank.accounts2 values ('Andy',100),('Bob',200),('Chris',300);
select * from bank.accounts2;
`;
    // PostgreSQL has no db.table names: the same session there uses a schema called bank.
    const pgFirst = first.replace('CREATE DATABASE bank;', 'CREATE SCHEMA bank;');
    const c1 = psql(cairn(nodes[0]!), first);
    const p1 = psql({ host: postgres.host, port: postgres.port, user: postgres.user, database: postgres.database }, pgFirst);
    expect(c1.stderr).toBe('');
    expect(c1.stdout).toBe(p1.stdout.replace('CREATE SCHEMA', 'CREATE DATABASE'));
    expect(c1.stdout).toContain(' 1234 | 10000.50');
    // The second session runs through another node.
    const c2 = psql(cairn(nodes[1]!), second);
    const p2 = psql({ host: postgres.host, port: postgres.port, user: postgres.user, database: postgres.database }, second);
    expect(c2.stderr).toBe('');
    expect(c2.stdout).toBe(p2.stdout);
  }, 60_000);

  step('errors carry PostgreSQL\'s SQLSTATE and message, and the session goes on', async () => {
    const c = await connect(nodes[2]!);
    const code = async (sql: string): Promise<string | undefined> => {
      try {
        await c.query(sql);
        return undefined;
      } catch (err) {
        return (err as { code?: string }).code;
      }
    };
    expect(await code('select * from no_such_table')).toBe('42P01');
    expect(await code('select no_such_column from bank.accounts')).toBe('42703');
    expect(await code('selec 1')).toBe('42601');
    expect(await code('select 1/0')).toBe('22012');
    expect(await code("select 'abc'::int")).toBe('22P02');
    expect(await code('insert into bank.accounts values (1234, 1)')).toBe('23505');
    expect(await code('create table bank.accounts (x int)')).toBe('42P07');
    expect(await code('create trigger t after insert on bank.accounts execute function f()')).toBe('0A000');
    expect((await c.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  step('the extended protocol: parameters, prepared statements, types as PostgreSQL returns them', async () => {
    const c = await connect(nodes[0]!);
    await c.query('create table items (id serial primary key, name text not null, price numeric(10,2), tags text[], at timestamptz default now(), data jsonb)');
    for (let i = 1; i <= 5; i++) {
      await c.query({ name: 'ins', text: 'insert into items (name, price, tags, data) values ($1, $2, $3, $4) returning id', values: [`item${i}`, i * 1.5, ['a', `t${i}`], { n: i }] });
    }
    const r = await c.query({ text: 'select id, name, price, tags, data, at > now() - interval \'1 hour\' as recent from items where price > $1 order by id', values: ['3'] });
    expect(r.rows.map((x) => [x.id, x.name, x.price, x.tags, x.data, x.recent])).toEqual([
      [3, 'item3', '4.50', ['a', 't3'], { n: 3 }, true],
      [4, 'item4', '6.00', ['a', 't4'], { n: 4 }, true],
      [5, 'item5', '7.50', ['a', 't5'], { n: 5 }, true],
    ]);
    const agg = await c.query('select count(*), sum(price), avg(price)::numeric(10,3), min(name), max(id) from items');
    expect(agg.rows[0]).toEqual({ count: '5', sum: '22.50', avg: '4.500', min: 'item1', max: 5 });
    const joined = await c.query(
      'select i.name, a.balance from items i left join bank.accounts a on a.id = i.id * 1000 + 234 where i.id in (1, 2) order by 1',
    );
    expect(joined.rows).toEqual([
      { name: 'item1', balance: '10000.50' },
      { name: 'item2', balance: null },
    ]);
  });

  step('transactions: read your writes, rollback, the aborted state until ROLLBACK', async () => {
    const c = await connect(nodes[1]!);
    await c.query('begin');
    await c.query("update items set name = 'changed' where id = 1");
    expect((await c.query('select name from items where id = 1')).rows[0].name).toBe('changed');
    await c.query('rollback');
    expect((await c.query('select name from items where id = 1')).rows[0].name).toBe('item1');
    await c.query('begin');
    await expect(c.query('select 1/0')).rejects.toMatchObject({ code: '22012' });
    await expect(c.query('select 1')).rejects.toMatchObject({ code: '25P02' });
    await c.query('rollback');
    expect((await c.query('select 2 as two')).rows).toEqual([{ two: 2 }]);
  });

  step('a schema change made through one node is seen by the others at once', async () => {
    const a = await connect(nodes[0]!);
    const b = await connect(nodes[1]!);
    const c = await connect(nodes[2]!);
    await a.query('create table shared (k int primary key, v text)');
    await b.query("insert into shared values (1, 'one'), (2, 'two')");
    await c.query('create index shared_v on shared (v)');
    expect((await a.query("select k from shared where v = 'two'")).rows).toEqual([{ k: 2 }]);
    await b.query('drop table shared');
    await expect(c.query('select * from shared')).rejects.toMatchObject({ code: '42P01' });
  });

  step('ALTER TABLE ADD COLUMN while another client keeps writing: no write fails, every row has the column', async () => {
    const writer = await connect(nodes[0]!);
    const ddl = await connect(nodes[1]!);
    await writer.query('create table busy (id int primary key, v int)');
    let stop = false;
    let written = 0;
    const errors: string[] = [];
    const loop = (async () => {
      for (let i = 0; !stop && i < 5000; i++) {
        try {
          await writer.query('insert into busy (id, v) values ($1, $2)', [i, i]);
          written++;
        } catch (err) {
          errors.push(String((err as Error).message));
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await ddl.query("alter table busy add column note text default 'x'");
    await ddl.query('create index busy_v on busy (v)');
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await loop;
    expect(errors).toEqual([]);
    expect(written).toBeGreaterThan(0);
    const r = await ddl.query('select count(*) as n, count(note) as notes from busy');
    expect(r.rows[0]).toEqual({ n: String(written), notes: String(written) });
    // The index was built online and holds every row.
    const viaIndex = await ddl.query('select count(*) as n from busy where v >= 0');
    expect(viaIndex.rows[0].n).toBe(String(written));
  }, 60_000);

  step('concurrent updates of one row through different nodes wait for each other; none is lost', async () => {
    const setup = await connect(nodes[0]!);
    await setup.query('create table counter (id int primary key, n int)');
    await setup.query('insert into counter values (1, 0)');
    const workers = await Promise.all(nodes.flatMap((n) => [connect(n), connect(n)]));
    const perWorker = 15;
    await Promise.all(
      workers.map(async (w) => {
        for (let i = 0; i < perWorker; i++) {
          await w.query('begin');
          await w.query('update counter set n = n + 1 where id = 1');
          await w.query('commit');
        }
      }),
    );
    expect((await setup.query('select n from counter where id = 1')).rows[0].n).toBe(workers.length * perWorker);
  }, 120_000);

  step('COPY FROM STDIN through psql loads rows that queries then see', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => `${i}\tname ${i}\t${i % 7 === 0 ? '\\N' : (i * 0.25).toFixed(2)}`).join('\n');
    const r = psql(cairn(nodes[2]!), `create table loaded (id int primary key, name text, amount numeric);\ncopy loaded from stdin;\n${rows}\n\\.\nselect count(*), count(amount), sum(amount) from loaded;\n`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('COPY 500');
    let cents = 0;
    for (let i = 0; i < 500; i++) if (i % 7 !== 0) cents += i * 25;
    const sum = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    expect(r.stdout).toMatch(new RegExp(`\\s+500 \\|\\s+428 \\|\\s+${sum.replace('.', '\\.')}\\n`));
  });
});
