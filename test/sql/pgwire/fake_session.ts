// A stand-in for the SQL layer behind pgwire. It understands a handful of statements and answers
// them the way PostgreSQL 15 does (same column names, type OIDs, command tags, SQLSTATEs and
// messages), so that a test can send the same thing to this fake through pgwire and to a real
// PostgreSQL and compare what the client sees. It also records every call, and flags any use of
// the Session contract pgwire must not make (two calls at once, a call after close, two closes).
//
// Statements (case-insensitive, one or more per simple query, separated by ';'):
//   select <item>, ...          items: integer, 'text', null, $n, $n::text|int4|int8|bytea|bool,
//                               each optionally "as name"
//   select generate_series(1, n)
//   select repeat('x', n) from generate_series(1, m)   m rows, awaiting drain() every 100
//   select 1/0                  22012 at execution
//   select pg_sleep(s)          polls sink.cancelled; 57014 when cancelled
//   select pg_terminate_backend(pg_backend_pid())      FATAL 57P01
//   select cairn_internal_error()                      throws a plain Error
//   begin | start transaction | commit | end | rollback
//   create [temp] table name(a int)
//   copy name from stdin | copy name to stdout | select count(*) from name
//   set name = value | set name to value
//   do $$ begin raise notice '...'; end $$
//   anything else: 42601 syntax error at or near the first word

import { SqlError, SqlState } from '../../../src/sql/errors.js';
import type {
  ConnectionInfo,
  CopyInStream,
  FieldDescription,
  ResultSink,
  Session,
  SessionFactory,
  StartupOutcome,
  StatementDescription,
  TxnStatus,
} from '../../../src/sql/pgwire/session_api.js';

const OID = { bool: 16, bytea: 17, int8: 20, int4: 23, text: 25, void: 2278 } as const;
const TYPE_SIZE: Record<number, number> = { 16: 1, 17: -1, 20: 8, 23: 4, 25: -1, 2278: 4 };
const CAST_TYPES: Record<string, number> = { text: OID.text, int4: OID.int4, integer: OID.int4, int: OID.int4, int8: OID.int8, bigint: OID.int8, bytea: OID.bytea, bool: OID.bool, boolean: OID.bool };
const CAST_NAMES: Record<number, string> = { 25: 'text', 23: 'int4', 20: 'int8', 17: 'bytea', 16: 'bool' };
/** Parameters PostgreSQL reports with ParameterStatus when SET changes them. */
const REPORTED_SETTINGS: Record<string, string> = {
  application_name: 'application_name',
  datestyle: 'DateStyle',
  timezone: 'TimeZone',
  intervalstyle: 'IntervalStyle',
  client_encoding: 'client_encoding',
  standard_conforming_strings: 'standard_conforming_strings',
};
const DRAIN_EVERY_ROWS = 100;
const SLEEP_POLL_MS = 5;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Item =
  | { kind: 'int'; value: number; name: string }
  | { kind: 'text'; value: string; name: string }
  | { kind: 'null'; name: string }
  | { kind: 'param'; index: number; type: number | null; name: string };

/** A statement as the fake understands it. */
type Plan =
  | { kind: 'empty' }
  | { kind: 'select'; items: Item[] }
  | { kind: 'series'; count: number }
  | { kind: 'repeat'; width: number; count: number }
  | { kind: 'divideByZero' }
  | { kind: 'sleep'; seconds: number }
  | { kind: 'terminate' }
  | { kind: 'internalError' }
  | { kind: 'begin' }
  | { kind: 'commit' }
  | { kind: 'rollback' }
  | { kind: 'createTable'; table: string }
  | { kind: 'copyIn'; table: string }
  | { kind: 'copyOut'; table: string }
  | { kind: 'count'; table: string }
  | { kind: 'set'; name: string; value: string }
  | { kind: 'notice'; message: string };

interface Prepared {
  readonly plan: Plan;
  readonly parameterTypes: number[];
}

interface Portal {
  readonly prepared: Prepared;
  readonly parameters: ReadonlyArray<Uint8Array | null>;
  readonly parameterFormats: ReadonlyArray<0 | 1>;
  readonly resultFormats: ReadonlyArray<0 | 1>;
  /** Rows still to send, once the portal has started. */
  pending: Array<Array<Uint8Array | null>> | null;
}

export interface FakeFactoryOptions {
  /** Databases that exist; others are refused with 3D000. */
  readonly databases?: readonly string[];
  /** Makes open() take this long. */
  readonly openDelayMs?: number;
}

export class FakeSessionFactory implements SessionFactory {
  readonly sessions: FakeSession[] = [];
  /** While set, every session waits for it before taking each chunk of COPY FROM STDIN data. */
  copyGate: Promise<void> | null = null;
  private readonly databases: ReadonlySet<string>;

  constructor(private readonly options: FakeFactoryOptions = {}) {
    this.databases = new Set(options.databases ?? ['defaultdb', 'postgres']);
  }

  async open(parameters: ReadonlyMap<string, string>, connection: ConnectionInfo): Promise<StartupOutcome> {
    if (this.options.openDelayMs !== undefined) await sleep(this.options.openDelayMs);
    const user = parameters.get('user') ?? '';
    const database = parameters.get('database') ?? user;
    if (!this.databases.has(database)) {
      throw new SqlError(SqlState.invalidCatalogName, `database "${database}" does not exist`, { severity: 'FATAL' });
    }
    const session = new FakeSession(parameters, connection, () => this.copyGate);
    this.sessions.push(session);
    return {
      session,
      parameters: [
        ['application_name', parameters.get('application_name') ?? ''],
        ['client_encoding', 'UTF8'],
        ['DateStyle', 'ISO, MDY'],
        ['default_transaction_read_only', 'off'],
        ['in_hot_standby', 'off'],
        ['integer_datetimes', 'on'],
        ['IntervalStyle', 'postgres'],
        ['is_superuser', 'on'],
        ['server_encoding', 'UTF8'],
        ['server_version', '15.0 (fake)'],
        ['session_authorization', user],
        ['standard_conforming_strings', 'on'],
        ['TimeZone', 'UTC'],
      ],
    };
  }

  /** Every contract violation any session saw. */
  violations(): string[] {
    return this.sessions.flatMap((s) => s.violations);
  }
}

export class FakeSession implements Session {
  /** Method names in call order, with their main argument: "parse:s1", "execute:", "sync:false". */
  readonly calls: string[] = [];
  readonly violations: string[] = [];
  cancels = 0;
  closes = 0;
  /** Rows handed to the sink by `repeat` statements so far (for backpressure tests). */
  rowsProduced = 0;
  /** Copy data chunks received, in order. */
  readonly copyChunks: Uint8Array[] = [];

  private status: TxnStatus = 'I';
  private readonly statements = new Map<string, Prepared>();
  private readonly portals = new Map<string, Portal>();
  private readonly tables = new Map<string, Array<number | null>>();
  private inCall = false;

  constructor(
    readonly parameters: ReadonlyMap<string, string>,
    readonly connection: ConnectionInfo,
    private readonly copyGate: () => Promise<void> | null = () => null,
  ) {}

  // --- Session -------------------------------------------------------------------------------

  simpleQuery(sql: string, sink: ResultSink): Promise<void> {
    return this.guard(`simpleQuery:${sql}`, async () => {
      const statements = splitStatements(sql);
      if (statements.length === 0) {
        sink.emptyQuery();
        return;
      }
      for (const text of statements) {
        const plan = planStatement(text);
        if (plan.kind !== 'commit' && plan.kind !== 'rollback') this.refuseInFailedTransaction();
        // PostgreSQL folds 1/0 while planning, before it describes the result.
        if (plan.kind === 'divideByZero') throw new SqlError(SqlState.divisionByZero, 'division by zero');
        const prepared: Prepared = { plan, parameterTypes: [] };
        const portal: Portal = { prepared, parameters: [], parameterFormats: [], resultFormats: [], pending: null };
        const fields = describeFields(plan, [], []);
        if (fields !== null) sink.rowDescription(fields);
        await this.run(portal, 0, sink);
      }
    });
  }

  parse(name: string, sql: string, parameterTypes: readonly number[]): Promise<void> {
    return this.guard(`parse:${name}`, async () => {
      this.refuseInFailedTransaction();
      if (name !== '' && this.statements.has(name)) {
        throw new SqlError(SqlState.duplicatePreparedStatement, `prepared statement "${name}" already exists`);
      }
      const statements = splitStatements(sql);
      if (statements.length > 1) {
        throw new SqlError(SqlState.syntaxError, 'cannot insert multiple commands into a prepared statement');
      }
      const plan = statements.length === 0 ? ({ kind: 'empty' } as const) : planStatement(statements[0]!);
      const inferred = inferParameterTypes(plan);
      const types = inferred.map((t, i) => (parameterTypes[i] !== undefined && parameterTypes[i] !== 0 ? parameterTypes[i]! : t));
      this.statements.set(name, { plan, parameterTypes: types });
    });
  }

  bind(
    portal: string,
    statement: string,
    parameterFormats: ReadonlyArray<0 | 1>,
    parameters: ReadonlyArray<Uint8Array | null>,
    resultFormats: ReadonlyArray<0 | 1>,
  ): Promise<void> {
    return this.guard(`bind:${portal}:${statement}`, async () => {
      this.refuseInFailedTransaction();
      const prepared = this.statements.get(statement);
      if (prepared === undefined) {
        throw new SqlError(
          SqlState.invalidSqlStatementName,
          statement === '' ? 'unnamed prepared statement does not exist' : `prepared statement "${statement}" does not exist`,
        );
      }
      if (parameterFormats.length !== parameters.length) {
        this.violations.push(`bind got ${parameterFormats.length} formats for ${parameters.length} parameters`);
      }
      if (parameters.length !== prepared.parameterTypes.length) {
        throw new SqlError(
          SqlState.protocolViolation,
          `bind message supplies ${parameters.length} parameters, but prepared statement "${statement}" requires ${prepared.parameterTypes.length}`,
        );
      }
      const columns = describeFields(prepared.plan, prepared.parameterTypes, [])?.length ?? 0;
      if (resultFormats.length > 1 && resultFormats.length !== columns) {
        throw new SqlError(SqlState.protocolViolation, `bind message has ${resultFormats.length} result formats but query has ${columns} columns`);
      }
      // PostgreSQL plans at Bind, and folds 1/0 while planning.
      if (prepared.plan.kind === 'divideByZero') throw new SqlError(SqlState.divisionByZero, 'division by zero');
      if (portal !== '' && this.portals.has(portal)) {
        throw new SqlError('42P03', `cursor "${portal}" already exists`);
      }
      this.portals.set(portal, { prepared, parameters, parameterFormats, resultFormats, pending: null });
    });
  }

  describeStatement(name: string): Promise<StatementDescription> {
    return this.guard(`describeStatement:${name}`, async () => {
      const prepared = this.statements.get(name);
      if (prepared === undefined) {
        throw new SqlError(
          SqlState.invalidSqlStatementName,
          name === '' ? 'unnamed prepared statement does not exist' : `prepared statement "${name}" does not exist`,
        );
      }
      return { parameterTypes: prepared.parameterTypes, fields: describeFields(prepared.plan, prepared.parameterTypes, []) };
    });
  }

  describePortal(name: string): Promise<readonly FieldDescription[] | null> {
    return this.guard(`describePortal:${name}`, async () => {
      const portal = this.requirePortal(name);
      return describeFields(portal.prepared.plan, portal.prepared.parameterTypes, portal.resultFormats);
    });
  }

  execute(portalName: string, maxRows: number, sink: ResultSink): Promise<'complete' | 'suspended'> {
    return this.guard(`execute:${portalName}:${maxRows}`, async () => {
      const portal = this.requirePortal(portalName);
      this.refuseInFailedTransaction(portal.prepared.plan);
      return this.run(portal, maxRows, sink);
    });
  }

  closeStatement(name: string): Promise<void> {
    return this.guard(`closeStatement:${name}`, async () => {
      this.statements.delete(name);
    });
  }

  closePortal(name: string): Promise<void> {
    return this.guard(`closePortal:${name}`, async () => {
      this.portals.delete(name);
    });
  }

  sync(hadError: boolean): Promise<void> {
    return this.guard(`sync:${hadError}`, async () => {
      this.portals.delete('');
    });
  }

  txnStatus(): TxnStatus {
    return this.status;
  }

  cancel(): void {
    this.cancels += 1;
  }

  async close(): Promise<void> {
    this.closes += 1;
    if (this.closes > 1) this.violations.push('close() called twice');
    if (this.inCall) this.violations.push('close() called while a call was pending');
  }

  // --- execution -----------------------------------------------------------------------------

  private async guard<T>(call: string, body: () => Promise<T>): Promise<T> {
    if (this.closes > 0) this.violations.push(`${call} after close()`);
    if (this.inCall) this.violations.push(`${call} while another call was pending`);
    this.calls.push(call);
    this.inCall = true;
    try {
      return await body();
    } catch (error) {
      // Any error inside an explicit transaction block fails the block.
      if (this.status === 'T') this.status = 'E';
      throw error;
    } finally {
      this.inCall = false;
    }
  }

  private requirePortal(name: string): Portal {
    const portal = this.portals.get(name);
    if (portal === undefined) throw new SqlError(SqlState.invalidCursorName, `portal "${name}" does not exist`);
    return portal;
  }

  private refuseInFailedTransaction(plan?: Plan): void {
    if (this.status !== 'E') return;
    if (plan !== undefined && (plan.kind === 'commit' || plan.kind === 'rollback')) return;
    throw new SqlError(SqlState.inFailedSqlTransaction, 'current transaction is aborted, commands ignored until end of transaction block');
  }

  private async run(portal: Portal, maxRows: number, sink: ResultSink): Promise<'complete' | 'suspended'> {
    const plan = portal.prepared.plan;
    if (plan.kind !== 'commit' && plan.kind !== 'rollback') this.refuseInFailedTransaction();
    switch (plan.kind) {
      case 'empty':
        sink.emptyQuery();
        return 'complete';
      case 'select':
      case 'series':
      case 'count':
        return this.sendRows(portal, maxRows, sink);
      case 'repeat': {
        const row = [encoder.encode('x'.repeat(plan.width))];
        for (let i = 0; i < plan.count; i++) {
          sink.dataRow(row);
          this.rowsProduced += 1;
          if (i % DRAIN_EVERY_ROWS === DRAIN_EVERY_ROWS - 1) await sink.drain();
          if (sink.cancelled) throw canceled();
        }
        sink.commandComplete(`SELECT ${plan.count}`);
        return 'complete';
      }
      case 'divideByZero':
        throw new SqlError(SqlState.divisionByZero, 'division by zero');
      case 'sleep': {
        const until = Date.now() + plan.seconds * 1000;
        while (Date.now() < until) {
          if (sink.cancelled) throw canceled();
          await sleep(SLEEP_POLL_MS);
        }
        sink.dataRow([encoder.encode('')]);
        sink.commandComplete('SELECT 1');
        return 'complete';
      }
      case 'terminate':
        // PostgreSQL returns true, then dies of the signal it sent itself.
        sink.dataRow([encoder.encode('t')]);
        throw new SqlError(SqlState.adminShutdown, 'terminating connection due to administrator command', { severity: 'FATAL' });
      case 'internalError':
        throw new Error('the fake session broke');
      case 'begin':
        if (this.status !== 'I') {
          sink.notice({ severity: 'WARNING', code: SqlState.activeSqlTransaction, message: 'there is already a transaction in progress' });
        }
        this.status = 'T';
        sink.commandComplete('BEGIN');
        return 'complete';
      case 'commit': {
        if (this.status === 'I') {
          sink.notice({ severity: 'WARNING', code: SqlState.noActiveSqlTransaction, message: 'there is no transaction in progress' });
        }
        const failed = this.status === 'E';
        this.status = 'I';
        sink.commandComplete(failed ? 'ROLLBACK' : 'COMMIT');
        return 'complete';
      }
      case 'rollback':
        if (this.status === 'I') {
          sink.notice({ severity: 'WARNING', code: SqlState.noActiveSqlTransaction, message: 'there is no transaction in progress' });
        }
        this.status = 'I';
        sink.commandComplete('ROLLBACK');
        return 'complete';
      case 'createTable':
        if (this.tables.has(plan.table)) throw new SqlError(SqlState.duplicateTable, `relation "${plan.table}" already exists`);
        this.tables.set(plan.table, []);
        sink.commandComplete('CREATE TABLE');
        return 'complete';
      case 'copyIn': {
        const rows = this.requireTable(plan.table);
        const stream = sink.copyIn(0, [0]);
        const added = await this.readCopyRows(stream, plan.table);
        rows.push(...added);
        sink.commandComplete(`COPY ${added.length}`);
        return 'complete';
      }
      case 'copyOut': {
        const rows = this.requireTable(plan.table);
        sink.copyOut(0, [0]);
        for (const value of rows) sink.copyData(encoder.encode(value === null ? '\\N\n' : `${value}\n`));
        sink.copyDone();
        sink.commandComplete(`COPY ${rows.length}`);
        return 'complete';
      }
      case 'set': {
        const reported = REPORTED_SETTINGS[plan.name.toLowerCase()];
        if (reported !== undefined) sink.parameterStatus(reported, plan.value);
        sink.commandComplete('SET');
        return 'complete';
      }
      case 'notice':
        sink.notice({ severity: 'NOTICE', code: SqlState.successfulCompletion, message: plan.message });
        sink.commandComplete('DO');
        return 'complete';
    }
  }

  private async sendRows(portal: Portal, maxRows: number, sink: ResultSink): Promise<'complete' | 'suspended'> {
    if (portal.pending === null) portal.pending = this.materialise(portal);
    const pending = portal.pending;
    const take = maxRows > 0 ? Math.min(maxRows, pending.length) : pending.length;
    for (let i = 0; i < take; i++) sink.dataRow(pending[i]!);
    pending.splice(0, take);
    if (maxRows > 0 && pending.length > 0) return 'suspended';
    sink.commandComplete(`SELECT ${take}`);
    return 'complete';
  }

  private materialise(portal: Portal): Array<Array<Uint8Array | null>> {
    const plan = portal.prepared.plan;
    const fields = describeFields(plan, portal.prepared.parameterTypes, portal.resultFormats) ?? [];
    const format = (i: number): 0 | 1 => fields[i]?.format ?? 0;
    switch (plan.kind) {
      case 'series':
        return Array.from({ length: plan.count }, (_, i) => [encodeInt(i + 1, OID.int4, format(0))]);
      case 'count':
        return [[encodeInt(this.requireTable(plan.table).length, OID.int8, format(0))]];
      case 'select':
        return [
          plan.items.map((item, i): Uint8Array | null => {
            switch (item.kind) {
              case 'int':
                return encodeInt(item.value, OID.int4, format(i));
              case 'text':
                return encoder.encode(item.value);
              case 'null':
                return null;
              case 'param': {
                const value = portal.parameters[item.index - 1] ?? null;
                if (value === null) return null;
                const inType = portal.prepared.parameterTypes[item.index - 1] ?? OID.text;
                const outType = item.type ?? OID.text;
                return convert(value, portal.parameterFormats[item.index - 1] ?? 0, inType, format(i), outType);
              }
            }
          }),
        ];
      default:
        return [];
    }
  }

  private async readCopyRows(stream: CopyInStream, table: string): Promise<Array<number | null>> {
    const rows: Array<number | null> = [];
    let partial = '';
    let line = 0;
    for (;;) {
      const gate = this.copyGate();
      if (gate !== null) await gate;
      const next = await stream[Symbol.asyncIterator]().next();
      if (next.done === true) break;
      const chunk = next.value;
      this.copyChunks.push(chunk);
      const text = partial + decoder.decode(chunk, { stream: true });
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        line += 1;
        if (l === '\\.') continue;
        if (l === '\\N') {
          rows.push(null);
          continue;
        }
        if (!/^\s*[-+]?\d+\s*$/.test(l)) {
          throw new SqlError(SqlState.invalidTextRepresentation, `invalid input syntax for type integer: "${l}"`, {
            detail: `COPY ${table}, line ${line}`,
          });
        }
        rows.push(Number.parseInt(l, 10));
      }
    }
    if (partial !== '' && partial !== '\\.') rows.push(Number.parseInt(partial, 10));
    return rows;
  }

  private requireTable(name: string): Array<number | null> {
    const rows = this.tables.get(name);
    if (rows === undefined) throw new SqlError(SqlState.undefinedTable, `relation "${name}" does not exist`);
    return rows;
  }
}

// --- the fake's "parser" ---------------------------------------------------------------------

/** Splits on ';' outside quotes and dollar quotes; drops empty statements. */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === "'") {
      const end = sql.indexOf("'", i + 1);
      const stop = end === -1 ? sql.length : end + 1;
      current += sql.slice(i, stop);
      i = stop;
    } else if (sql.startsWith('$$', i)) {
      const end = sql.indexOf('$$', i + 2);
      const stop = end === -1 ? sql.length : end + 2;
      current += sql.slice(i, stop);
      i = stop;
    } else if (ch === ';') {
      if (current.trim() !== '') out.push(current.trim());
      current = '';
      i += 1;
    } else {
      current += ch;
      i += 1;
    }
  }
  if (current.trim() !== '') out.push(current.trim());
  return out;
}

function planStatement(text: string): Plan {
  const sql = text.trim().replace(/\s+/g, ' ');
  const lower = sql.toLowerCase();
  let m: RegExpMatchArray | null;
  if (lower === '') return { kind: 'empty' };
  if ((m = /^select generate_series\(1, ?(\d+)\)$/.exec(lower))) return { kind: 'series', count: Number(m[1]) };
  if ((m = /^select repeat\('x', ?(\d+)\) from generate_series\(1, ?(\d+)\)$/.exec(lower))) {
    return { kind: 'repeat', width: Number(m[1]), count: Number(m[2]) };
  }
  if (lower === 'select 1/0') return { kind: 'divideByZero' };
  if ((m = /^select pg_sleep\(([\d.]+)\)$/.exec(lower))) return { kind: 'sleep', seconds: Number(m[1]) };
  if (lower === 'select pg_terminate_backend(pg_backend_pid())') return { kind: 'terminate' };
  if (lower === 'select cairn_internal_error()') return { kind: 'internalError' };
  if (lower === 'begin' || lower === 'start transaction') return { kind: 'begin' };
  if (lower === 'commit' || lower === 'end') return { kind: 'commit' };
  if (lower === 'rollback') return { kind: 'rollback' };
  if ((m = /^create (?:temp |temporary )?table (\w+) ?\(a int\)$/.exec(lower))) return { kind: 'createTable', table: m[1]! };
  if ((m = /^copy (\w+) from stdin$/.exec(lower))) return { kind: 'copyIn', table: m[1]! };
  if ((m = /^copy (\w+) to stdout$/.exec(lower))) return { kind: 'copyOut', table: m[1]! };
  if ((m = /^select count\(\*\) from (\w+)$/.exec(lower))) return { kind: 'count', table: m[1]! };
  if ((m = /^set (\w+) ?(?:=|to) ?(.+)$/i.exec(sql))) return { kind: 'set', name: m[1]!, value: unquote(m[2]!.trim()) };
  if ((m = /^do \$\$ ?begin raise notice '([^']*)'; ?end ?\$\$$/i.exec(sql))) return { kind: 'notice', message: m[1]! };
  if (lower.startsWith('select ')) {
    const items = parseSelectList(sql.slice('select '.length));
    if (items !== null) return { kind: 'select', items };
  }
  throw syntaxErrorAt(text);
}

function parseSelectList(list: string): Item[] | null {
  const parts = splitTopLevelCommas(list);
  const items: Item[] = [];
  for (const raw of parts) {
    const m = /^(.*?)(?: as (\w+))?$/i.exec(raw.trim());
    if (m === null) return null;
    const expr = m[1]!.trim();
    const alias = m[2];
    let item: Item | null = null;
    let mm: RegExpMatchArray | null;
    if (/^-?\d+$/.test(expr)) item = { kind: 'int', value: Number(expr), name: '?column?' };
    else if ((mm = /^'([^']*)'$/.exec(expr))) item = { kind: 'text', value: mm[1]!, name: '?column?' };
    else if (/^null$/i.test(expr)) item = { kind: 'null', name: '?column?' };
    else if ((mm = /^\$(\d+)(?:::(\w+))?$/.exec(expr))) {
      const cast = mm[2]?.toLowerCase();
      const type = cast === undefined ? null : CAST_TYPES[cast];
      if (type === undefined) return null;
      item = { kind: 'param', index: Number(mm[1]), type, name: type === null ? '?column?' : CAST_NAMES[type]! };
    }
    if (item === null) return null;
    items.push(alias === undefined ? item : { ...item, name: alias.toLowerCase() });
  }
  return items;
}

function splitTopLevelCommas(list: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of list) {
    if (ch === "'") quoted = !quoted;
    if (ch === ',' && !quoted) {
      out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  out.push(current);
  return out;
}

function inferParameterTypes(plan: Plan): number[] {
  if (plan.kind !== 'select') return [];
  const types: number[] = [];
  for (const item of plan.items) {
    if (item.kind === 'param') types[item.index - 1] = item.type ?? OID.text;
  }
  for (let i = 0; i < types.length; i++) types[i] ??= OID.text;
  return types;
}

function describeFields(plan: Plan, parameterTypes: readonly number[], resultFormats: ReadonlyArray<0 | 1>): FieldDescription[] | null {
  const formatOf = (i: number): 0 | 1 => (resultFormats.length === 1 ? resultFormats[0]! : (resultFormats[i] ?? 0));
  const field = (name: string, typeOid: number, i: number): FieldDescription => ({
    name,
    tableOid: 0,
    columnAttr: 0,
    typeOid,
    typeSize: TYPE_SIZE[typeOid] ?? -1,
    typeModifier: -1,
    format: formatOf(i),
  });
  switch (plan.kind) {
    case 'select':
      return plan.items.map((item, i) => {
        const type =
          item.kind === 'int' ? OID.int4 : item.kind === 'param' ? (item.type ?? parameterTypes[item.index - 1] ?? OID.text) : OID.text;
        return field(item.name, type, i);
      });
    case 'series':
      return [field('generate_series', OID.int4, 0)];
    case 'repeat':
      return [field('repeat', OID.text, 0)];
    case 'divideByZero':
      return [field('?column?', OID.int4, 0)];
    case 'sleep':
      return [field('pg_sleep', OID.void, 0)];
    case 'terminate':
      return [field('pg_terminate_backend', OID.bool, 0)];
    case 'internalError':
      return [field('cairn_internal_error', OID.text, 0)];
    case 'count':
      return [field('count', OID.int8, 0)];
    default:
      return null;
  }
}

function encodeInt(value: number, type: number, format: 0 | 1): Uint8Array {
  if (format === 0) return encoder.encode(String(value));
  const out = Buffer.alloc(type === OID.int8 ? 8 : 4);
  if (type === OID.int8) out.writeBigInt64BE(BigInt(value));
  else out.writeInt32BE(value);
  return out;
}

/** Re-encodes a parameter for an output column; enough for text, int4, int8, bytea and bool. */
function convert(value: Uint8Array, inFormat: 0 | 1, inType: number, outFormat: 0 | 1, outType: number): Uint8Array {
  if (inFormat === outFormat && inType === outType) return value;
  const asText = inFormat === 0 ? decoder.decode(value) : binaryToText(value, inType);
  return outFormat === 0 ? encoder.encode(asText) : textToBinary(asText, outType);
}

function binaryToText(value: Uint8Array, type: number): string {
  const b = Buffer.from(value);
  switch (type) {
    case OID.int4:
      return String(b.readInt32BE(0));
    case OID.int8:
      return String(b.readBigInt64BE(0));
    case OID.bool:
      return b[0] === 1 ? 't' : 'f';
    case OID.bytea:
      return `\\x${b.toString('hex')}`;
    default:
      return b.toString('utf8');
  }
}

function textToBinary(text: string, type: number): Uint8Array {
  switch (type) {
    case OID.int4: {
      const b = Buffer.alloc(4);
      b.writeInt32BE(Number(text));
      return b;
    }
    case OID.int8: {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(BigInt(text));
      return b;
    }
    case OID.bool:
      return Uint8Array.of(text === 't' || text === 'true' ? 1 : 0);
    case OID.bytea:
      return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex') : encoder.encode(text);
    default:
      return encoder.encode(text);
  }
}

function syntaxErrorAt(text: string): SqlError {
  const m = /\S+/.exec(text);
  const token = m === null ? '' : (/^[\w$]+/.exec(m[0])?.[0] ?? m[0][0]!);
  return new SqlError(SqlState.syntaxError, `syntax error at or near "${token}"`, { position: (m?.index ?? 0) + 1 });
}

function unquote(value: string): string {
  return value.startsWith("'") && value.endsWith("'") ? value.slice(1, -1) : value;
}

function canceled(): SqlError {
  return new SqlError(SqlState.queryCanceled, 'canceling statement due to user request');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
