// node-postgres (the driver most Node applications use) against pgwire, each scenario run the same
// way against a real PostgreSQL 15 and against pgwire in front of the fake Session: the results
// the driver hands the application (rows, fields, command tags, error codes, messages and
// positions) must be equal. Covers the simple protocol, the extended protocol (unnamed and named
// statements, binary results, row-limited portals), multi-statement queries, errors and recovery.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../support/postgres.js';
import { pgClient, startFakeServer, type FakeServer, type Target } from './harness.js';

let postgres: PostgresServer;
let fake: FakeServer;
let targets: { postgres: Target; fake: Target };

beforeAll(async () => {
  [postgres, fake] = await Promise.all([startPostgres({ user: 'root' }), startFakeServer()]);
  targets = {
    postgres: { port: postgres.port, user: 'root', database: 'postgres' },
    fake: { port: fake.port, user: 'root', database: 'postgres' },
  };
}, 60_000);

afterAll(async () => {
  await Promise.all([postgres?.stop(), fake?.stop()]);
});

interface Outcome {
  readonly command?: string;
  readonly rowCount?: number | null;
  readonly rows?: unknown[];
  readonly fields?: string[];
  readonly error?: { code?: string; message: string; position?: string; severity?: string };
}

function outcome(result: pg.QueryResult | pg.QueryResult[]): Outcome | Outcome[] {
  if (Array.isArray(result)) return result.map((r) => outcome(r) as Outcome);
  return {
    command: result.command,
    rowCount: result.rowCount,
    rows: result.rows,
    fields: result.fields.map((f) => `${f.name}:${f.dataTypeID}:${f.format}`),
  };
}

async function attempt(run: () => Promise<pg.QueryResult | pg.QueryResult[]>): Promise<Outcome | Outcome[]> {
  try {
    return outcome(await run());
  } catch (error) {
    const e = error as pg.DatabaseError;
    return { error: { code: e.code, message: e.message, position: e.position, severity: e.severity } };
  }
}

/** Runs the scenario on both servers, each on a fresh client, and returns both transcripts. */
async function onBoth(
  scenario: (client: pg.Client) => Promise<unknown[]>,
  config: pg.ClientConfig = {},
): Promise<{ expected: unknown[]; actual: unknown[] }> {
  const run = async (target: Target): Promise<unknown[]> => {
    const client = await pgClient(target, config);
    try {
      return await scenario(client);
    } finally {
      await client.end();
    }
  };
  const [expected, actual] = await Promise.all([run(targets.postgres), run(targets.fake)]);
  return { expected, actual };
}

const scenarios: Record<string, { run: (c: pg.Client) => Promise<unknown[]>; config?: pg.ClientConfig }> = {
  'a simple query': { run: async (c) => [await attempt(() => c.query('select 1'))] },
  'parameters of several types, including NULL': {
    run: async (c) => [await attempt(() => c.query('select $1::text, $2::int4, $3::int8, $4', ['a', 42, '9007199254740993', null]))],
  },
  'text outside ASCII, both ways': {
    run: async (c) => [await attempt(() => c.query('select $1::text as t', ['Zürich ☃ 𝄞 ﷽']))],
  },
  'a 1 MiB parameter': {
    run: async (c) => {
      const big = 'é'.repeat(512 * 1024);
      const r = await c.query<{ text: string }>('select $1::text', [big]);
      return [r.rows[0]!.text === big, r.rows[0]!.text.length];
    },
  },
  'three hundred parameters': {
    run: async (c) => {
      const values = Array.from({ length: 300 }, (_, i) => `v${i}`);
      const list = values.map((_, i) => `$${i + 1}::text as c${i}`).join(', ');
      return [await attempt(() => c.query(`select ${list}`, values))];
    },
  },
  'a named prepared statement, run three times': {
    run: async (c) => {
      const out = [];
      for (const v of [1, 2, 3]) out.push(await attempt(() => c.query({ name: 'p1', text: 'select $1::int4 as n', values: [v] })));
      return out;
    },
  },
  'rowMode array': {
    run: async (c) => [await attempt(() => c.query({ text: 'select generate_series(1,3)', rowMode: 'array', values: [] }))],
  },
  'a multi-statement simple query': {
    run: async (c) => [await attempt(() => c.query('select 1; select generate_series(1,3); select null'))],
  },
  'a syntax error, then recovery': {
    run: async (c) => [await attempt(() => c.query('selec')), await attempt(() => c.query('select 2'))],
  },
  'an error in the extended protocol, then recovery': {
    run: async (c) => [
      await attempt(() => c.query({ name: 'z', text: 'select 1/0' })),
      await attempt(() => c.query('select $1::text', ['after'])),
    ],
  },
  'a failed transaction block': {
    run: async (c) => [
      await attempt(() => c.query('begin')),
      await attempt(() => c.query('select 1/0')),
      await attempt(() => c.query('select $1::int4', [1])),
      await attempt(() => c.query('rollback')),
      await attempt(() => c.query('select 1')),
    ],
  },
  'binary results': {
    run: async (c) => [await attempt(() => c.query('select $1::int4, $2::text, $3::int8', [7, 'x', '-5']))],
    config: { binary: true } as pg.ClientConfig,
  },
  'a portal read a few rows at a time': {
    run: async (c) => [await attempt(() => c.query({ text: 'select generate_series(1,5)', rows: 2 } as pg.QueryConfig))],
  },
  'an empty query': { run: async (c) => [await attempt(() => c.query(''))] },
};

describe('node-postgres sees the same results as from PostgreSQL 15', () => {
  for (const [name, scenario] of Object.entries(scenarios)) {
    it(name, async () => {
      const { expected, actual } = await onBoth(scenario.run, scenario.config);
      expect(expected.length).toBeGreaterThan(0);
      expect(actual).toEqual(expected);
    });
  }
});

describe('node-postgres under load', () => {
  it('serves many clients at once, each getting its own answers', async () => {
    const clients = await Promise.all(Array.from({ length: 12 }, () => pgClient(targets.fake)));
    const answers = await Promise.all(
      clients.map(async (client, k) => {
        const got: string[] = [];
        for (let i = 0; i < 50; i++) {
          const r = await client.query<{ text: string }>({ name: 'echo', text: 'select $1::text', values: [`${k}:${i}`] });
          got.push(r.rows[0]!.text);
        }
        return got;
      }),
    );
    await Promise.all(clients.map((c) => c.end()));
    answers.forEach((got, k) => expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `${k}:${i}`)));
    expect(fake.factory.violations()).toEqual([]);
  });
});
