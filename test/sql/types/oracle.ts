// PostgreSQL 15 as the oracle of the value-library tests: each case runs once in a private server
// and once in Cairn's code, and the two outcomes (text result, or SQLSTATE with message and
// detail) must be identical.
import pg from 'pg';
import { isSqlError } from '../../../src/sql/errors.js';
import { startPostgres, type PostgresServer } from '../../support/postgres.js';

export interface Outcome {
  readonly value?: string | null;
  readonly code?: string;
  readonly message?: string;
  readonly detail?: string;
}

export interface OracleCase {
  /** What the report shows for a mismatch. */
  readonly label: string;
  /** One SQL statement whose first column of the first row is the expected text. */
  readonly sql: string;
  readonly params?: readonly unknown[];
  /** Cairn's answer, as text (null for NULL); a thrown SqlError is an error outcome. */
  readonly cairn: () => string | null;
}

export interface Mismatch {
  readonly label: string;
  readonly sql: string;
  readonly postgres: Outcome;
  readonly cairn: Outcome;
}

export class Oracle {
  private constructor(
    private readonly server: PostgresServer,
    private readonly client: pg.Client,
  ) {}

  static async start(): Promise<Oracle> {
    const server = await startPostgres();
    const client = new pg.Client({ host: server.host, port: server.port, user: server.user, database: server.database });
    try {
      await client.connect();
      await client.query('SET extra_float_digits = 1');
      await client.query(EVAL_FUNCTION);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return new Oracle(server, client);
  }

  async stop(): Promise<void> {
    await this.client.end().catch(() => {});
    await this.server.stop();
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<Outcome> {
    try {
      const r = await this.client.query({ text: sql, values: params as unknown[], rowMode: 'array', types: RAW_TEXT });
      const row = r.rows[0] as unknown[] | undefined;
      const v = row?.[0];
      return { value: v === undefined || v === null ? null : String(v) };
    } catch (err) {
      const e = err as { code?: string; message?: string; detail?: string };
      if (e.code === undefined) throw err;
      return e.detail === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, detail: e.detail };
    }
  }

  /** Runs every case in both systems and returns the ones whose outcomes differ. */
  async compare(cases: readonly OracleCase[]): Promise<Mismatch[]> {
    const expected: Outcome[] = new Array<Outcome>(cases.length);
    const batch: number[] = [];
    for (let i = 0; i < cases.length; i++) {
      if (cases[i]!.params === undefined) batch.push(i);
      else expected[i] = await this.run(cases[i]!.sql, cases[i]!.params);
    }
    for (let at = 0; at < batch.length; at += BATCH_SIZE) {
      const chunk = batch.slice(at, at + BATCH_SIZE);
      const outcomes = await this.evaluate(chunk.map((i) => cases[i]!.sql));
      chunk.forEach((i, k) => {
        expected[i] = outcomes[k]!;
      });
    }
    const mismatches: Mismatch[] = [];
    cases.forEach((c, i) => {
      const got = outcomeOf(c.cairn);
      const want = expected[i]!;
      if (!sameOutcome(want, got)) mismatches.push({ label: c.label, sql: c.sql, postgres: want, cairn: got });
    });
    return mismatches;
  }

  /** Runs statements in one round trip, each in its own subtransaction so one error stays its own. */
  private async evaluate(statements: readonly string[]): Promise<Outcome[]> {
    const r = await this.client.query({
      text: 'SELECT e.* FROM unnest($1::text[]) WITH ORDINALITY AS u(q, i), LATERAL oracle_eval(u.q) AS e ORDER BY u.i',
      values: [statements],
      rowMode: 'array',
      types: RAW_TEXT,
    });
    return (r.rows as (string | null)[][]).map(([kind, value, code, message, detail]) => {
      if (kind === 'ok') return { value: value ?? null };
      const base = { code: code ?? '', message: message ?? '' };
      return detail === null || detail === undefined || detail === '' ? base : { ...base, detail };
    });
  }
}

/** Statements per oracle round trip. */
const BATCH_SIZE = 500;

/** Every value comes back as the server's text, never parsed by the driver. */
const RAW_TEXT = { getTypeParser: () => (v: string) => v };

const EVAL_FUNCTION = `
CREATE FUNCTION oracle_eval(q text, OUT kind text, OUT value text, OUT code text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q INTO value;
  kind := 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
  kind := 'error';
END $$`;

export function outcomeOf(f: () => string | null): Outcome {
  try {
    return { value: f() };
  } catch (err) {
    if (!isSqlError(err)) return { code: 'NOT-A-SQLERROR', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    return err.fields.detail === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, detail: err.fields.detail };
  }
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  return a.value === b.value && a.code === b.code && a.message === b.message && a.detail === b.detail;
}

/** A readable summary of the first mismatches, for the assertion message. */
export function describeMismatches(ms: readonly Mismatch[], limit = 15): string {
  return ms
    .slice(0, limit)
    .map((m) => `${m.label}\n    sql:      ${m.sql}\n    postgres: ${JSON.stringify(m.postgres)}\n    cairn:    ${JSON.stringify(m.cairn)}`)
    .join('\n');
}

/** A SQL string literal. */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
