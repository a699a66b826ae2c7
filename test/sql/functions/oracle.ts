// Test support for the function library: the same call evaluated by Cairn's registry (resolution,
// argument coercion, implementation, text output) and by a real PostgreSQL 15, each reduced to an
// Outcome (the text of the value and the name of its type, or the error's SQLSTATE and message) so
// that a table of calls can be compared in one go.
import pg from 'pg';
import '../../../src/sql/functions/index.js';
import { isSqlError } from '../../../src/sql/errors.js';
import type { EvalContext, ScalarImpl } from '../../../src/sql/plan/bound.js';
import { lookupFunction, resolveOverload, type SetReturningOverload } from '../../../src/sql/functions/registry.js';
import { castDatum } from '../../../src/sql/types/casts.js';
import type { Datum, Row } from '../../../src/sql/types/datum.js';
import { formatType, Oid, type SqlType } from '../../../src/sql/types/oids.js';
import { DEFAULT_TYPE_SETTINGS, type TypeSettings } from '../../../src/sql/types/settings.js';
import { formatText, parseText } from '../../../src/sql/types/text_io.js';
import { startPostgres, type PostgresServer } from '../../support/postgres.js';
import { resolveTypeName } from '../../../src/sql/plan/type_names.js';

/** An argument: its SQL text for PostgreSQL, and its text and type for Cairn. */
export interface Arg {
  readonly sql: string;
  readonly text: string | null;
  readonly type: SqlType;
}

export type Outcome =
  | { readonly kind: 'value'; readonly text: string | null; readonly type: string }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

export interface Call {
  readonly name: string;
  readonly args: readonly Arg[];
}

const typeCache = new Map<string, SqlType>();

/** The SqlType a PostgreSQL type name denotes (int4, double precision, text[] ...). */
export function typeNamed(name: string): SqlType {
  let t = typeCache.get(name);
  if (t === undefined) {
    const array = name.endsWith('[]');
    const base = array ? name.slice(0, -2) : name;
    t = resolveTypeName({ names: [base], modifiers: [], arrayDims: array ? 1 : 0, location: 0 }).type;
    typeCache.set(name, t);
  }
  return t;
}

function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A typed constant: 'text'::type. */
export function lit(type: string, text: string | null): Arg {
  const t = typeNamed(type);
  return { sql: text === null ? `NULL::${type}` : `${sqlLiteral(text)}::${type}`, text, type: t };
}

/** An untyped literal ('abc' or NULL), whose type the call decides. */
export function unknown(text: string | null): Arg {
  return { sql: text === null ? 'NULL' : sqlLiteral(text), text, type: { oid: Oid.unknown, typmod: -1 } };
}

export const i2 = (v: number | string | null): Arg => lit('int2', v === null ? null : String(v));
export const i4 = (v: number | string | null): Arg => lit('int4', v === null ? null : String(v));
export const i8 = (v: number | string | bigint | null): Arg => lit('int8', v === null ? null : String(v));
export const num = (v: string | null): Arg => lit('numeric', v);
export const f4 = (v: number | string | null): Arg => lit('float4', v === null ? null : String(v));
export const f8 = (v: number | string | null): Arg => lit('float8', v === null ? null : String(v));
export const txt = (v: string | null): Arg => lit('text', v);
export const bool = (v: boolean | null): Arg => lit('bool', v === null ? null : String(v));
export const bytes = (v: string | null): Arg => lit('bytea', v);

export function call(name: string, ...args: Arg[]): Call {
  return { name, args };
}

export function callSql(c: Call): string {
  return `${c.name}(${c.args.map((a) => a.sql).join(', ')})`;
}

// ---- Cairn's side ---------------------------------------------------------------------------------------

export function fakeContext(settings: TypeSettings = DEFAULT_TYPE_SETTINGS, overrides: Partial<EvalContext> = {}): EvalContext {
  return {
    params: [],
    settings,
    outer: [],
    txnTimestamp: 1_700_000_000_000_000n,
    statementTimestamp: 1_700_000_000_500_000n,
    session: {
      user: 'postgres',
      database: 'postgres',
      searchPath: ['public'],
      backendPid: 4242,
      applicationName: 'vitest',
      setting: (name) => ({ timezone: settings.timeZone, datestyle: settings.dateStyle, server_version: '15.0' })[name.toLowerCase()],
    },
    subqueryCache: new Map(),
    runSubquery: async () => {
      throw new Error('no subqueries here');
    },
    services: {
      nextval: async () => 1n,
      currval: async () => 1n,
      setval: async (_s, v) => v,
      regclassIn: () => 0,
      regclassOut: (oid) => String(oid),
      uniqueRowId: () => 1n,
    },
    ...overrides,
  };
}

function outcomeOfError(err: unknown): Outcome {
  if (isSqlError(err)) return { kind: 'error', code: err.code, message: err.message };
  return { kind: 'error', code: 'CRASH', message: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err) };
}

/** The value of an argument as the binder would pass it: parsed, then coerced to the parameter type. */
function argValue(a: Arg, to: SqlType, s: TypeSettings): Datum {
  if (a.text === null) return null;
  if (a.type.oid === Oid.unknown) return parseText(a.text, to, s);
  const v = parseText(a.text, a.type, s);
  return a.type.oid === to.oid ? v : castDatum(v, a.type, to, s, 'implicit');
}

type Specialized = { readonly specialize?: (t: readonly SqlType[]) => ScalarImpl };

/** Evaluates a scalar call as the binder and executor would (with `specialize` honoured). */
export async function cairnScalar(c: Call, ctx: EvalContext = fakeContext()): Promise<Outcome> {
  try {
    const name = c.name.split('.').pop()!;
    const f = lookupFunction(name);
    if (f === undefined || f.scalar.length === 0) return { kind: 'error', code: '42883', message: `function ${c.name} does not exist` };
    const resolved = resolveOverload(name, f.scalar, c.args.map((a) => a.type));
    const values = c.args.map((a, i) => argValue(a, resolved.argTypes[i]!, ctx.settings));
    const o = resolved.overload;
    let value: Datum;
    if (o.strict !== false && values.some((v) => v === null)) value = null;
    else if ('asyncImpl' in o) value = await o.asyncImpl(values, ctx);
    else {
      const impl = (o as Specialized).specialize?.(resolved.argTypes) ?? o.impl;
      value = impl(values, ctx);
    }
    // datum.ts holds void as null; PostgreSQL's output function prints a void result as ''.
    const text = resolved.returnType.oid === Oid.void ? '' : value === null ? null : formatText(value, resolved.returnType, ctx.settings);
    return { kind: 'value', text, type: formatType(resolved.returnType) };
  } catch (err) {
    return outcomeOfError(err);
  }
}

/** An aggregate over rows of argument values (each row: one Arg per argument, all of one type per column). */
export function cairnAggregate(name: string, argTypes: readonly SqlType[], rows: ReadonlyArray<ReadonlyArray<string | null>>, ctx: EvalContext = fakeContext()): Outcome {
  try {
    const f = lookupFunction(name);
    if (f === undefined || f.aggregate.length === 0) return { kind: 'error', code: '42883', message: `aggregate ${name} does not exist` };
    const resolved = resolveOverload(name, f.aggregate, argTypes);
    const acc = resolved.overload.create(resolved.argTypes);
    const star = argTypes.length === 0;
    for (const r of rows) {
      const values = star ? [] : r.map((t, i) => argValue({ sql: '', text: t, type: argTypes[i]! }, resolved.argTypes[i]!, ctx.settings));
      if (!star && resolved.overload.strict !== false && values.some((v) => v === null)) continue;
      acc.add(values, ctx);
    }
    const value = acc.result(ctx);
    return { kind: 'value', text: value === null ? null : formatText(value, resolved.returnType, ctx.settings), type: formatType(resolved.returnType) };
  } catch (err) {
    return outcomeOfError(err);
  }
}

/** A set-returning call: its rows as text, each column rendered by its declared type. */
export function cairnRows(c: Call, ctx: EvalContext = fakeContext()): { columns: string[]; rows: Array<Array<string | null>> } | Outcome {
  try {
    const f = lookupFunction(c.name);
    if (f === undefined || f.setReturning.length === 0) return { kind: 'error', code: '42883', message: `function ${c.name} does not exist` };
    const resolved = resolveOverload<SetReturningOverload & { returns: SqlType }>(
      c.name,
      f.setReturning.map((o) => ({ ...o, returns: { oid: Oid.record, typmod: -1 } })),
      c.args.map((a) => a.type),
    );
    const o = resolved.overload;
    const values = c.args.map((a, i) => argValue(a, resolved.argTypes[i]!, ctx.settings));
    const cols = o.columns(resolved.argTypes);
    if (o.strict !== false && values.some((v) => v === null)) return { columns: cols.map((x) => formatType(x.type)), rows: [] };
    const rows: Array<Array<string | null>> = [];
    for (const r of o.rows(values, resolved.argTypes, ctx)) {
      rows.push(r.map((v, i) => (v === null ? null : formatText(v, cols[i]!.type, ctx.settings))));
    }
    return { columns: cols.map((x) => formatType(x.type)), rows };
  } catch (err) {
    return outcomeOfError(err);
  }
}

export type { Row };

// ---- PostgreSQL's side -----------------------------------------------------------------------------------

export interface Oracle {
  /** Rows of a query as raw text (PostgreSQL's output functions), or the error. */
  query(sql: string): Promise<{ rows: Array<Array<string | null>>; fields: string[] } | Outcome>;
  scalar(c: Call): Promise<Outcome>;
  stop(): Promise<void>;
}

const rawText = { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig;

export async function startOracle(settings: Record<string, string> = {}): Promise<Oracle> {
  const server: PostgresServer = await startPostgres();
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, database: server.database, types: rawText });
  await client.connect();
  await client.query(`SET TimeZone = 'UTC'`);
  for (const [k, v] of Object.entries(settings)) await client.query(`SET ${k} = ${sqlLiteral(v)}`);
  const query = async (sql: string) => {
    try {
      const r = await client.query({ text: sql, rowMode: 'array' });
      return { rows: r.rows as Array<Array<string | null>>, fields: r.fields.map((f) => f.name) };
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return { kind: 'error', code: e.code ?? 'PGERR', message: e.message ?? String(err) } as Outcome;
    }
  };
  return {
    query,
    scalar: async (c) => {
      const sql = callSql(c);
      const r = await query(`SELECT ${sql}, pg_typeof(${sql})::text`);
      if ('kind' in r) return r;
      return { kind: 'value', text: r.rows[0]![0]!, type: r.rows[0]![1]! };
    },
    stop: async () => {
      await client.end().catch(() => {});
      await server.stop();
    },
  };
}

/** Every call whose outcomes differ, described for a failing assertion (empty when all agree). */
export async function scalarMismatches(oracle: Oracle, calls: readonly Call[], ctx?: EvalContext, compareMessages = true): Promise<string[]> {
  const out: string[] = [];
  for (const c of calls) {
    const want = await oracle.scalar(c);
    const got = await cairnScalar(c, ctx);
    if (!sameOutcome(want, got, compareMessages)) out.push(`${callSql(c)}\n    postgres: ${show(want)}\n    cairn:    ${show(got)}`);
  }
  return out;
}

export function sameOutcome(a: Outcome, b: Outcome, compareMessages = true): boolean {
  if (a.kind === 'value' && b.kind === 'value') return a.text === b.text && a.type === b.type;
  if (a.kind === 'error' && b.kind === 'error') return a.code === b.code && (!compareMessages || a.message === b.message);
  return false;
}

export function show(o: Outcome): string {
  return o.kind === 'value' ? `${o.text === null ? 'NULL' : JSON.stringify(o.text)} :: ${o.type}` : `ERROR ${o.code}: ${o.message}`;
}

// ---- aggregates ---------------------------------------------------------------------------------------

export interface AggregateCase {
  readonly name: string;
  /** PostgreSQL type names of the arguments; empty for count(*). */
  readonly types: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | null>>;
}

export function agg(name: string, types: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | null>>): AggregateCase {
  return { name, types, rows };
}

/** The aggregate over its rows as a query PostgreSQL can run. */
export function aggregateSql(c: AggregateCase): string {
  const cols = c.types.map((_t, i) => `c${i + 1}`);
  const callText = cols.length === 0 ? `${c.name}(*)` : `${c.name}(${cols.join(', ')})`;
  const width = Math.max(cols.length, 1);
  const names = cols.length === 0 ? ['c1'] : cols;
  const typeOf = (i: number): string => c.types[i] ?? 'int4';
  const value = (v: string | null, i: number): string => (v === null ? `NULL::${typeOf(i)}` : `${sqlLiteral(v)}::${typeOf(i)}`);
  const source =
    c.rows.length === 0
      ? `(SELECT ${Array.from({ length: width }, (_x, i) => `${value(null, i)} AS ${names[i]}`).join(', ')} WHERE false) v`
      : `(VALUES ${c.rows.map((r) => `(${(r.length === 0 ? [null] : r).map(value).join(', ')})`).join(', ')}) v(${names.join(', ')})`;
  return `SELECT ${callText}, pg_typeof(${callText})::text FROM ${source}`;
}

export async function aggregateMismatches(oracle: Oracle, cases: readonly AggregateCase[], ctx?: EvalContext): Promise<string[]> {
  const out: string[] = [];
  for (const c of cases) {
    const sql = aggregateSql(c);
    const r = await oracle.query(sql);
    const want: Outcome = 'kind' in r ? r : { kind: 'value', text: r.rows[0]![0]!, type: r.rows[0]![1]! };
    const got = cairnAggregate(c.name, c.types.map(typeNamed), c.rows, ctx);
    if (!sameOutcome(want, got)) out.push(`${sql}\n    postgres: ${show(want)}\n    cairn:    ${show(got)}`);
  }
  return out;
}

// ---- window functions ---------------------------------------------------------------------------------

export type FrameSpec = 'default' | 'whole' | 'neighbours';

export interface WindowCase {
  readonly name: string;
  readonly types: readonly string[];
  /** Each row: its ORDER BY key and its argument values (literal texts). */
  readonly rows: ReadonlyArray<{ readonly key: number; readonly args: ReadonlyArray<string | null> }>;
  readonly frame: FrameSpec;
}

export function win(name: string, types: readonly string[], rows: WindowCase['rows'], frame: FrameSpec = 'default'): WindowCase {
  return { name, types, rows, frame };
}

const FRAME_SQL: Record<FrameSpec, string> = {
  default: '',
  whole: ' ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING',
  neighbours: ' ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING',
};

export function windowSql(c: WindowCase): string {
  const argCols = c.types.map((_t, i) => `a${i + 1}`);
  const value = (v: string | null, i: number): string => (v === null ? `NULL::${c.types[i]}` : `${sqlLiteral(v)}::${c.types[i]}`);
  const rows = c.rows.map((r, id) => `(${id}, ${r.key}${r.args.map((a, i) => `, ${value(a, i)}`).join('')})`).join(', ');
  const over = `OVER (ORDER BY k${FRAME_SQL[c.frame]})`;
  return `SELECT ${c.name}(${argCols.join(', ')}) ${over}, pg_typeof(${c.name}(${argCols.join(', ')}) ${over})::text FROM (VALUES ${rows}) v(id, k${argCols.map((a) => `, ${a}`).join('')}) ORDER BY id`;
}

/** The window function over the rows in key order (ties in input order, as the executor sorts), per input row. */
export function cairnWindow(c: WindowCase, ctx: EvalContext = fakeContext()): Outcome[] | Outcome {
  try {
    const f = lookupFunction(c.name);
    if (f === undefined || f.window.length === 0) return { kind: 'error', code: '42883', message: `window function ${c.name} does not exist` };
    const actual = c.types.map(typeNamed);
    const resolved = resolveOverload(c.name, f.window, actual);
    const order = c.rows.map((_r, i) => i).sort((x, y) => c.rows[x]!.key - c.rows[y]!.key || x - y);
    const args = (local: number): Datum[] => {
      const r = c.rows[order[local]!]!;
      return r.args.map((t, i) => argValue({ sql: '', text: t, type: actual[i]! }, resolved.argTypes[i]!, ctx.settings));
    };
    const n = order.length;
    const rows: Row[] = order.map((i) => [c.rows[i]!.key]);
    const out: Outcome[] = new Array(n);
    for (let local = 0; local < n; local++) {
      const key = c.rows[order[local]!]!.key;
      let peerStart = local;
      while (peerStart > 0 && c.rows[order[peerStart - 1]!]!.key === key) peerStart--;
      let peerEnd = local + 1;
      while (peerEnd < n && c.rows[order[peerEnd]!]!.key === key) peerEnd++;
      const [frameStart, frameEnd] = c.frame === 'default' ? [0, peerEnd] : c.frame === 'whole' ? [0, n] : [Math.max(local - 1, 0), Math.min(local + 2, n)];
      const v = resolved.overload.compute({ rows, current: local, peerStart, peerEnd, frameStart, frameEnd }, args, ctx);
      out[order[local]!] = { kind: 'value', text: v === null ? null : formatText(v, resolved.returnType, ctx.settings), type: formatType(resolved.returnType) };
    }
    return out;
  } catch (err) {
    return outcomeOfError(err);
  }
}

export async function windowMismatches(oracle: Oracle, cases: readonly WindowCase[]): Promise<string[]> {
  const out: string[] = [];
  for (const c of cases) {
    const sql = windowSql(c);
    const r = await oracle.query(sql);
    const want: Outcome[] | Outcome = 'kind' in r ? r : r.rows.map((row) => ({ kind: 'value', text: row[0]!, type: row[1]! }) as Outcome);
    const got = cairnWindow(c);
    const same = Array.isArray(want) && Array.isArray(got) ? want.length === got.length && want.every((w, i) => sameOutcome(w, got[i]!)) : !Array.isArray(want) && !Array.isArray(got) && sameOutcome(want, got);
    if (!same) {
      const fmt = (o: Outcome[] | Outcome): string => (Array.isArray(o) ? o.map(show).join(' | ') : show(o));
      out.push(`${sql}\n    postgres: ${fmt(want)}\n    cairn:    ${fmt(got)}`);
    }
  }
  return out;
}

// ---- set-returning functions ------------------------------------------------------------------------

export async function rowsMismatches(oracle: Oracle, calls: readonly Call[], ctx?: EvalContext): Promise<string[]> {
  const out: string[] = [];
  for (const c of calls) {
    const sql = `SELECT * FROM ${callSql(c)}`;
    const r = await oracle.query(sql);
    const got = cairnRows(c, ctx);
    const wantText = 'kind' in r ? show(r) : JSON.stringify(r.rows);
    const gotText = 'kind' in got ? show(got) : JSON.stringify(got.rows);
    const same = 'kind' in r && 'kind' in got ? sameOutcome(r, got) : wantText === gotText;
    if (!same) out.push(`${sql}\n    postgres: ${wantText}\n    cairn:    ${gotText}`);
  }
  return out;
}
