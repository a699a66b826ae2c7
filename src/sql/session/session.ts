// One client session: its settings, its transaction, its prepared statements and portals, and the
// execution of each statement through the planner and executor. This is the Session pgwire talks
// to (pgwire/session_api.ts).
//
// Transactions: outside a BEGIN … COMMIT block every statement is its own transaction (a read-only
// statement reads one snapshot; a writing one commits at its end, and is retried transparently on
// a serialization conflict, since nothing of it has reached the client yet). Inside a block the
// statements share one snapshot (REPEATABLE READ); an error puts the block in the failed state,
// where everything but ROLLBACK is refused with 25P02, as in PostgreSQL. A conflict at COMMIT is
// 40001 and rolls the block back.
import { randomBytes } from 'node:crypto';
import { KeyExistsError, TxnAbortedError, TxnTooOldError, WriteConflictError, CommitUncertainError, DeadlockError, LockWaitTimeoutError } from '../../client/txn/errors.js';
import type { CatalogSnapshot } from '../catalog/catalog_snapshot.js';
import { NameResolver } from '../catalog/resolver.js';
import { SqlError, SqlState, isSqlError } from '../errors.js';
import type { ExecContext } from '../exec/context.js';
import { drain as drainCursor, type PlanNode } from '../plan/plan_node.js';
import type { CopyInStream, FieldDescription, ResultSink, Session, StatementDescription, TxnStatus } from '../pgwire/session_api.js';
import type { Expr, ParsedStatement, Statement } from '../parser/ast.js';
import { BindEnv } from '../plan/binder.js';
import type { EvalServices, SessionFacts } from '../plan/bound.js';
import { MutationPlanner } from '../plan/mutation_planner.js';
import { QueryPlanner } from '../plan/planner.js';
import type { Datum, Row } from '../types/datum.js';
import { decodeBinary, encodeBinary } from '../types/binary_io.js';
import { formatType, NO_TYPMOD, Oid, Types, typeInfo, type SqlType } from '../types/oids.js';
import { DEFAULT_TYPE_SETTINGS, type TypeSettings } from '../types/settings.js';
import { formatText, parseText } from '../types/text_io.js';
import { DeleteNode, InsertNode, UpdateNode } from '../exec/mutations.js';
import { ExprBinder } from '../plan/binder.js';
import { Scope } from '../plan/scope.js';
import { compile } from '../exec/eval.js';
import type { Gateway } from '../gateway.js';
import { canonicalSettingName, reportedName, settingDef, allSettings } from './settings.js';
import { SqlTxn } from './sql_txn.js';
import { explainText } from './explain.js';
import { runCopyFrom } from './copy.js';
import type { CatalogTxn } from '../ddl/catalog_txn.js';

/** Times a single-statement transaction is retried after a serialization conflict. */
const IMPLICIT_RETRIES = 12;
/** Prepared statements a session may hold. */
export const MAX_PREPARED_STATEMENTS = 10_000;
/** Portals a session may hold. */
export const MAX_PORTALS = 1_000;
/** Rows between two waits for the client to drain its socket. */
const DRAIN_EVERY_ROWS = 512;

interface Prepared {
  readonly sql: string;
  readonly parsed: ParsedStatement | undefined;
  /** Parameter types (given or inferred at Parse). */
  paramTypes: number[];
  /** The plan, reused while the catalog version is unchanged. */
  cached?: { readonly version: bigint; readonly planned: PlannedStatement };
}

interface Portal {
  readonly statement: Prepared;
  readonly params: Datum[];
  readonly resultFormats: ReadonlyArray<0 | 1>;
  /** Rows produced but not yet sent (a suspended portal). */
  pending?: { rows: Row[]; at: number; tag: string; fields: readonly FieldDescription[] };
  done: boolean;
}

/** What planning a statement yields. */
interface PlannedStatement {
  readonly kind: 'rows' | 'mutation' | 'other';
  readonly plan?: PlanNode;
  /** Column names and types of the rows returned (for RowDescription), or undefined for none. */
  readonly columns?: ReadonlyArray<{ name: string; type: SqlType; tableOid: number; attnum: number }>;
  readonly paramTypes: readonly SqlType[];
  readonly version: bigint;
}

type TxnState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'open'; txn: SqlTxn | undefined; readOnly: boolean; catalog: CatalogTxn | undefined; startedAtUs: bigint }
  | { readonly kind: 'failed' };

function retryable(err: unknown): boolean {
  if (err instanceof WriteConflictError || err instanceof TxnAbortedError || err instanceof TxnTooOldError || err instanceof DeadlockError) return true;
  return isSqlError(err) && err.code === SqlState.serializationFailure;
}

/** Converts errors from the KV layer into SQL errors. */
export function toSqlError(err: unknown): unknown {
  if (isSqlError(err)) return err;
  if (err instanceof WriteConflictError) {
    return new SqlError(SqlState.serializationFailure, 'restart transaction: write conflict with another transaction', { hint: 'Retry the transaction.' });
  }
  if (err instanceof TxnAbortedError) return new SqlError(SqlState.serializationFailure, 'restart transaction: the transaction was aborted by a concurrent one', { hint: 'Retry the transaction.' });
  if (err instanceof TxnTooOldError) return new SqlError(SqlState.serializationFailure, `restart transaction: ${err.message}`, { hint: 'The transaction ran longer than the garbage-collection window.' });
  if (err instanceof KeyExistsError) return new SqlError(SqlState.uniqueViolation, 'duplicate key value violates unique constraint', { detail: 'A concurrent transaction inserted the same key.' });
  if (err instanceof DeadlockError) return new SqlError(SqlState.deadlockDetected, 'deadlock detected', { detail: err.message, hint: 'Retry the transaction.' });
  if (err instanceof LockWaitTimeoutError) return new SqlError(SqlState.lockNotAvailable, 'canceling statement due to lock timeout', { detail: err.message });
  if (err instanceof CommitUncertainError) return new SqlError(SqlState.statementCompletionUnknown, `result is ambiguous: ${err.message}`);
  return err;
}

export class SqlSession implements Session {
  readonly settings = new Map<string, string>();
  typeSettings: TypeSettings = DEFAULT_TYPE_SETTINGS;
  private state: TxnState = { kind: 'idle' };
  private readonly prepared = new Map<string, Prepared>();
  private readonly portals = new Map<string, Portal>();
  private cancelRequested = false;
  private readonly random: () => number;
  /** Values of sequences this session called nextval on (for currval). */
  readonly sequenceValues = new Map<number, bigint>();
  lastSequenceValue: bigint | undefined;

  constructor(
    readonly gateway: Gateway,
    readonly user: string,
    database: string,
    readonly processId: number,
  ) {
    for (const d of allSettings()) this.settings.set(d.name, d.defaultValue);
    this.settings.set('database', database);
    this.settings.set('session_authorization', user);
    this.settings.set('node_id', String(gateway.nodeId));
    const seed = randomBytes(4).readUInt32LE(0);
    let s = seed;
    this.random = () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  get database(): string {
    return this.settings.get('database') ?? 'defaultdb';
  }

  get searchPath(): string[] {
    return (this.settings.get('search_path') ?? 'public')
      .split(',')
      .map((s) => s.trim().replace(/^"(.*)"$/, '$1'))
      .filter((s) => s.length > 0);
  }

  private refreshTypeSettings(): void {
    this.typeSettings = {
      dateStyle: this.settings.get('datestyle') ?? 'ISO, MDY',
      timeZone: this.settings.get('timezone') ?? 'UTC',
      intervalStyle: this.settings.get('intervalstyle') ?? 'postgres',
      extraFloatDigits: Number(this.settings.get('extra_float_digits') ?? '1'),
      byteaOutput: (this.settings.get('bytea_output') ?? 'hex') as 'hex' | 'escape',
    };
  }

  /** ParameterStatus values sent at startup. */
  reportedParameters(): Array<[string, string]> {
    return allSettings()
      .filter((d) => d.reported)
      .map((d) => [reportedName(d.name), this.settings.get(d.name) ?? d.defaultValue]);
  }

  txnStatus(): TxnStatus {
    return this.state.kind === 'idle' ? 'I' : this.state.kind === 'open' ? 'T' : 'E';
  }

  cancel(): void {
    this.cancelRequested = true;
  }

  async close(): Promise<void> {
    if (this.state.kind === 'open' && this.state.txn !== undefined) await this.state.txn.rollback().catch(() => {});
    this.state = { kind: 'idle' };
    this.prepared.clear();
    this.portals.clear();
  }

  // ---- catalog views ----------------------------------------------------------------------------------

  private catalog(): CatalogSnapshot {
    if (this.state.kind === 'open' && this.state.catalog !== undefined) return this.state.catalog.view();
    return this.gateway.schema.snapshot;
  }

  private resolver(catalog: CatalogSnapshot): NameResolver {
    return new NameResolver(catalog, { database: this.database, searchPath: this.searchPath }, this.gateway.virtualTables);
  }

  // ---- the simple query protocol -------------------------------------------------------------------------

  async simpleQuery(sql: string, sink: ResultSink): Promise<void> {
    this.cancelRequested = false;
    let statements: ParsedStatement[];
    try {
      statements = this.gateway.parse(sql);
    } catch (err) {
      if (this.state.kind === 'open') this.state = { kind: 'failed' };
      throw err;
    }
    if (statements.length === 0) {
      sink.emptyQuery();
      return;
    }
    // Several statements in one Query run in one implicit transaction block, unless they manage
    // transactions themselves (PostgreSQL's rule); Cairn runs each on its own then, but an error
    // stops the rest.
    for (const ps of statements) {
      await this.runStatement(ps, [], [], [], sink, true);
    }
  }

  // ---- the extended protocol --------------------------------------------------------------------------

  async parse(name: string, sql: string, parameterTypes: readonly number[]): Promise<void> {
    if (name !== '' && this.prepared.has(name)) throw new SqlError(SqlState.duplicatePreparedStatement, `prepared statement "${name}" already exists`);
    if (this.prepared.size >= MAX_PREPARED_STATEMENTS && !this.prepared.has(name)) {
      throw new SqlError(SqlState.programLimitExceeded, `a session may hold at most ${MAX_PREPARED_STATEMENTS} prepared statements`);
    }
    const statements = this.gateway.parse(sql);
    if (statements.length > 1) throw new SqlError(SqlState.syntaxError, 'cannot insert multiple commands into a prepared statement');
    const parsed = statements[0];
    const p: Prepared = { sql, parsed, paramTypes: [...parameterTypes] };
    if (parsed !== undefined && this.state.kind !== 'failed') {
      // Plan now to learn the parameter and result types (Describe needs them).
      try {
        const planned = await this.planStatement(parsed.statement, p.paramTypes);
        p.paramTypes = planned.paramTypes.map((t) => t.oid);
        p.cached = { version: planned.version, planned };
      } catch (err) {
        if (isSqlError(err) && err.code === SqlState.featureNotSupported) throw err;
        // Statements whose planning needs the transaction (DDL, utilities) are planned at Execute.
        if (!(err instanceof NotPlannable)) throw err;
      }
    } else if (parsed !== undefined && this.state.kind === 'failed') {
      throw this.abortedError();
    }
    this.prepared.set(name, p);
  }

  async bind(portal: string, statement: string, parameterFormats: ReadonlyArray<0 | 1>, parameters: ReadonlyArray<Uint8Array | null>, resultFormats: ReadonlyArray<0 | 1>): Promise<void> {
    const p = this.prepared.get(statement);
    if (p === undefined) throw new SqlError(SqlState.invalidSqlStatementName, `prepared statement "${statement}" does not exist`);
    if (portal !== '' && this.portals.has(portal)) throw new SqlError(SqlState.invalidCursorState, `portal "${portal}" already exists`);
    if (this.portals.size >= MAX_PORTALS && !this.portals.has(portal)) throw new SqlError(SqlState.programLimitExceeded, `a session may hold at most ${MAX_PORTALS} portals`);
    if (this.state.kind === 'failed') throw this.abortedError();
    const expected = p.paramTypes.length;
    if (parameters.length !== expected) {
      throw new SqlError(SqlState.protocolViolation, `bind message supplies ${parameters.length} parameters, but prepared statement "${statement}" requires ${expected}`);
    }
    const params: Datum[] = parameters.map((raw, i) => {
      if (raw === null) return null;
      const oid = p.paramTypes[i] || Oid.text;
      const type: SqlType = { oid, typmod: NO_TYPMOD };
      const format = parameterFormats.length === 0 ? 0 : parameterFormats.length === 1 ? parameterFormats[0]! : parameterFormats[i]!;
      if (format === 1) return decodeBinary(raw, type);
      return parseText(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'), type, this.typeSettings);
    });
    this.portals.set(portal, { statement: p, params, resultFormats, done: false });
  }

  async describeStatement(name: string): Promise<StatementDescription> {
    const p = this.prepared.get(name);
    if (p === undefined) throw new SqlError(SqlState.invalidSqlStatementName, `prepared statement "${name}" does not exist`);
    const cols = p.cached?.planned.columns;
    return {
      parameterTypes: p.paramTypes.map((t) => (t === 0 ? Oid.text : t)),
      fields: cols === undefined ? null : this.fields(cols, []),
    };
  }

  async describePortal(name: string): Promise<readonly FieldDescription[] | null> {
    const portal = this.portals.get(name);
    if (portal === undefined) throw new SqlError(SqlState.invalidCursorName, `portal "${name}" does not exist`);
    const cols = portal.statement.cached?.planned.columns;
    return cols === undefined ? null : this.fields(cols, portal.resultFormats);
  }

  async execute(portalName: string, maxRows: number, sink: ResultSink): Promise<'complete' | 'suspended'> {
    this.cancelRequested = false;
    const portal = this.portals.get(portalName);
    if (portal === undefined) throw new SqlError(SqlState.invalidCursorName, `portal "${portalName}" does not exist`);
    if (portal.pending !== undefined) return this.continuePortal(portal, maxRows, sink);
    if (portal.done) {
      throw new SqlError(SqlState.invalidCursorState, `portal "${portalName}" cannot be run again`);
    }
    const parsed = portal.statement.parsed;
    if (parsed === undefined) {
      sink.emptyQuery();
      return 'complete';
    }
    const result = await this.runStatement(parsed, portal.params, portal.statement.paramTypes, portal.resultFormats, sink, false, portal, maxRows);
    return result;
  }

  private async continuePortal(portal: Portal, maxRows: number, sink: ResultSink): Promise<'complete' | 'suspended'> {
    const pending = portal.pending!;
    const end = maxRows > 0 ? Math.min(pending.rows.length, pending.at + maxRows) : pending.rows.length;
    await this.sendRows(pending.rows.slice(pending.at, end), pending.fields, portal.resultFormats, sink);
    pending.at = end;
    if (pending.at < pending.rows.length) return 'suspended';
    sink.commandComplete(pending.tag);
    portal.pending = undefined;
    portal.done = true;
    return 'complete';
  }

  async closeStatement(name: string): Promise<void> {
    this.prepared.delete(name);
  }

  async closePortal(name: string): Promise<void> {
    this.portals.delete(name);
  }

  async sync(hadError: boolean): Promise<void> {
    this.portals.delete('');
    void hadError;
  }

  // ---- running one statement -----------------------------------------------------------------------------

  private abortedError(): SqlError {
    return new SqlError(SqlState.inFailedSqlTransaction, 'current transaction is aborted, commands ignored until end of transaction block');
  }

  /**
   * Runs a statement. `simple` is true for the simple query protocol (RowDescription is sent with
   * the rows); in the extended protocol Describe sent it. Returns 'suspended' when a portal's row
   * limit stopped it.
   */
  private async runStatement(
    ps: ParsedStatement,
    params: Datum[],
    paramTypes: readonly number[],
    resultFormats: ReadonlyArray<0 | 1>,
    sink: ResultSink,
    simple: boolean,
    portal?: Portal,
    maxRows = 0,
  ): Promise<'complete' | 'suspended'> {
    const s = ps.statement;
    if (this.state.kind === 'failed') {
      if (s.kind === 'transaction' && (s.action === 'rollback' || s.action === 'commit' || s.action === 'rollbackTo')) {
        this.state = { kind: 'idle' };
        sink.commandComplete('ROLLBACK');
        return 'complete';
      }
      throw this.abortedError();
    }
    try {
      return await this.dispatch(ps, params, paramTypes, resultFormats, sink, simple, portal, maxRows);
    } catch (err) {
      const e = toSqlError(err);
      if (this.state.kind === 'open') {
        if (this.state.txn !== undefined) await this.state.txn.rollback().catch(() => {});
        this.state = { kind: 'failed' };
      }
      throw e;
    }
  }

  private async dispatch(
    ps: ParsedStatement,
    params: Datum[],
    paramTypes: readonly number[],
    resultFormats: ReadonlyArray<0 | 1>,
    sink: ResultSink,
    simple: boolean,
    portal: Portal | undefined,
    maxRows: number,
  ): Promise<'complete' | 'suspended'> {
    const s = ps.statement;
    switch (s.kind) {
      case 'transaction':
        await this.transactionStatement(s, sink);
        return 'complete';
      case 'set':
        this.setStatement(s, sink);
        return 'complete';
      case 'reset':
        this.resetStatement(s.name, sink);
        return 'complete';
      case 'show':
        return this.showStatement(s.name, resultFormats, sink, simple, portal, maxRows);
      case 'query':
      case 'insert':
      case 'update':
      case 'delete':
        return this.runPlanned(ps, params, paramTypes, resultFormats, sink, simple, portal, maxRows);
      case 'explain':
        return this.runExplain(s, params, paramTypes, resultFormats, sink, simple);
      case 'copy':
        await this.runCopy(s, sink);
        return 'complete';
      case 'prepare':
        throw new SqlError(SqlState.featureNotSupported, 'PREPARE is not supported; use the extended protocol');
      case 'execute':
        throw new SqlError(SqlState.featureNotSupported, 'EXECUTE is not supported; use the extended protocol');
      case 'deallocate':
        if (s.name === undefined) this.prepared.clear();
        else if (!this.prepared.delete(s.name)) throw new SqlError(SqlState.invalidSqlStatementName, `prepared statement "${s.name}" does not exist`);
        sink.commandComplete(ps.tag);
        return 'complete';
      case 'discard':
        if (s.target === 'all') {
          if (this.state.kind !== 'idle') throw new SqlError(SqlState.activeSqlTransaction, 'DISCARD ALL cannot run inside a transaction block');
          this.prepared.clear();
          this.portals.clear();
          for (const d of allSettings()) if (!d.readOnly && d.name !== 'database') this.settings.set(d.name, d.defaultValue);
          this.refreshTypeSettings();
        }
        sink.commandComplete(ps.tag);
        return 'complete';
      case 'analyze':
      case 'comment':
      case 'grant':
        sink.commandComplete(s.kind === 'analyze' ? (ps.text.trim().toLowerCase().startsWith('vacuum') ? 'VACUUM' : 'ANALYZE') : ps.tag);
        return 'complete';
      case 'listen':
      case 'unlisten':
      case 'notify':
        throw new SqlError(SqlState.featureNotSupported, `${s.kind.toUpperCase()} is not supported`);
      default:
        await this.gateway.ddl.execute(this, ps, sink);
        return 'complete';
    }
  }

  // ---- DDL support (used by ddl/) -----------------------------------------------------------------------

  /** The transaction block's catalog transaction, or undefined outside a block. */
  get blockCatalog(): CatalogTxn | undefined {
    return this.state.kind === 'open' ? this.state.catalog : undefined;
  }

  get inBlock(): boolean {
    return this.state.kind === 'open';
  }

  /** The open block's KV transaction, begun now if not yet. */
  async blockTxn(): Promise<SqlTxn> {
    if (this.state.kind !== 'open') throw new SqlError(SqlState.internalError, 'no transaction block');
    if (this.state.txn === undefined) this.state.txn = new SqlTxn(await this.gateway.beginTxn());
    return this.state.txn;
  }

  setBlockCatalog(c: CatalogTxn): void {
    if (this.state.kind === 'open') this.state.catalog = c;
  }

  namesFor(catalog: CatalogSnapshot): NameResolver {
    return this.resolver(catalog);
  }

  // ---- transactions ---------------------------------------------------------------------------------

  private async transactionStatement(s: Extract<Statement, { kind: 'transaction' }>, sink: ResultSink): Promise<void> {
    switch (s.action) {
      case 'begin':
      case 'start': {
        if (this.state.kind !== 'idle') {
          sink.notice({ severity: 'WARNING', code: SqlState.activeSqlTransaction, message: 'there is already a transaction in progress' });
          sink.commandComplete('BEGIN');
          return;
        }
        const readOnly = s.modes.some((m) => m.kind === 'readOnly' && m.readOnly) || this.settings.get('default_transaction_read_only') === 'on';
        this.state = { kind: 'open', txn: undefined, readOnly, catalog: undefined, startedAtUs: BigInt(Date.now()) * 1000n };
        sink.commandComplete('BEGIN');
        return;
      }
      case 'commit': {
        if (this.state.kind === 'idle') {
          sink.notice({ severity: 'WARNING', code: SqlState.noActiveSqlTransaction, message: 'there is no transaction in progress' });
          sink.commandComplete('COMMIT');
          return;
        }
        const st = this.state as Extract<TxnState, { kind: 'open' }>;
        this.state = { kind: 'idle' };
        if (st.txn !== undefined) await this.commitTxn(st.txn, st.catalog);
        sink.commandComplete('COMMIT');
        return;
      }
      case 'rollback': {
        if (this.state.kind === 'idle') {
          sink.notice({ severity: 'WARNING', code: SqlState.noActiveSqlTransaction, message: 'there is no transaction in progress' });
          sink.commandComplete('ROLLBACK');
          return;
        }
        const st = this.state as Extract<TxnState, { kind: 'open' }>;
        this.state = { kind: 'idle' };
        if (st.txn !== undefined) await st.txn.rollback().catch(() => {});
        sink.commandComplete('ROLLBACK');
        return;
      }
      case 'savepoint':
      case 'release':
      case 'rollbackTo':
        throw new SqlError(SqlState.featureNotSupported, 'savepoints are not supported');
      default:
        throw new SqlError(SqlState.featureNotSupported, 'prepared transactions are not supported');
    }
  }

  /** Commits a transaction: the schema check, then the KV commit, then any schema change it made. */
  async commitTxn(txn: SqlTxn, catalog: CatalogTxn | undefined): Promise<void> {
    try {
      if (catalog !== undefined && catalog.changed) await catalog.beforeCommit();
      if (txn.plannedAtVersion !== undefined) await this.gateway.schema.validateForCommit(txn.plannedAtVersion, txn.writtenTables);
      await this.gateway.commitWithRegistration(txn);
    } catch (err) {
      await txn.rollback().catch(() => {});
      throw toSqlError(err);
    }
    if (catalog !== undefined && catalog.changed) await catalog.afterCommit();
  }

  // ---- SET / SHOW / RESET ----------------------------------------------------------------------------

  private settingValueFromExprs(values: readonly Expr[]): string {
    return values
      .map((v) => {
        if (v.kind === 'const') {
          const c = v.value;
          if (c.type === 'string' || c.type === 'integer' || c.type === 'numeric') return c.text;
          if (c.type === 'boolean') return c.value ? 'on' : 'off';
          if (c.type === 'null') return '';
        }
        if (v.kind === 'column' && v.parts.length === 1) return v.parts[0]!;
        if (v.kind === 'cast' && v.arg.kind === 'const' && v.arg.value.type === 'string') return v.arg.value.text;
        if (v.kind === 'op' && v.op === '-' && v.left === undefined && v.right.kind === 'const' && (v.right.value.type === 'integer' || v.right.value.type === 'numeric')) return `-${v.right.value.text}`;
        throw new SqlError(SqlState.syntaxError, 'SET values must be simple constants or identifiers');
      })
      .join(', ');
  }

  private setStatement(s: Extract<Statement, { kind: 'set' }>, sink: ResultSink): void {
    if (s.transactionModes !== undefined) {
      // SET TRANSACTION / SET SESSION CHARACTERISTICS: Cairn's isolation is snapshot isolation
      // whatever is asked; read-only is honoured.
      for (const m of s.transactionModes) {
        if (m.kind === 'readOnly' && this.state.kind === 'open') (this.state as { readOnly: boolean }).readOnly = m.readOnly;
      }
      sink.commandComplete('SET');
      return;
    }
    const name = canonicalSettingName(s.name);
    const def = settingDef(name);
    if (def?.readOnly) throw new SqlError(SqlState.cantChangeRuntimeParam, `parameter "${s.name}" cannot be changed`);
    let value = s.toDefault || s.values.length === 0 ? (def?.defaultValue ?? '') : this.settingValueFromExprs(s.values);
    if (s.name === 'timezone' && s.values.length === 1 && s.values[0]!.kind === 'const' && (s.values[0] as { value: { type: string } }).value.type === 'string' && value.toLowerCase() === 'local') value = 'UTC';
    if (def?.validate) value = def.validate(value);
    if (name === 'database') {
      const db = this.gateway.schema.snapshot.database(value);
      if (db === undefined) throw new SqlError(SqlState.invalidCatalogName, `database "${value}" does not exist`);
    }
    this.settings.set(name, value);
    this.refreshTypeSettings();
    if (def?.reported) sink.parameterStatus(reportedName(name), value);
    sink.commandComplete('SET');
  }

  private resetStatement(name: string, sink: ResultSink): void {
    if (name === 'all') {
      for (const d of allSettings()) if (!d.readOnly && d.name !== 'database') this.settings.set(d.name, d.defaultValue);
    } else {
      const n = canonicalSettingName(name);
      const def = settingDef(n);
      if (def?.readOnly) throw new SqlError(SqlState.cantChangeRuntimeParam, `parameter "${name}" cannot be changed`);
      this.settings.set(n, def?.defaultValue ?? '');
      if (def?.reported) sink.parameterStatus(reportedName(n), def.defaultValue);
    }
    this.refreshTypeSettings();
    sink.commandComplete('RESET');
  }

  private async showStatement(name: string, formats: ReadonlyArray<0 | 1>, sink: ResultSink, simple: boolean, portal: Portal | undefined, maxRows: number): Promise<'complete' | 'suspended'> {
    const lower = name.toLowerCase();
    let columns: Array<{ name: string; type: SqlType; tableOid: number; attnum: number }>;
    let rows: Row[];
    if (lower === 'all') {
      columns = ['name', 'setting', 'description'].map((n) => ({ name: n, type: Types.text, tableOid: 0, attnum: 0 }));
      rows = allSettings().map((d) => [reportedName(d.name), this.settings.get(d.name) ?? d.defaultValue, d.description]);
    } else if (lower === 'tables' || lower === 'databases' || lower === 'schemas') {
      const cat = this.catalog();
      columns = [{ name: lower === 'tables' ? 'table_name' : lower === 'databases' ? 'database_name' : 'schema_name', type: Types.text, tableOid: 0, attnum: 0 }];
      if (lower === 'databases') rows = cat.allDatabases().map((d) => [d.name]);
      else {
        const db = cat.database(this.database);
        if (db === undefined) throw new SqlError(SqlState.invalidCatalogName, `database "${this.database}" does not exist`);
        if (lower === 'schemas') rows = [...cat.schemasOf(db.id).map((s) => [s.name] as Row), ['information_schema'], ['pg_catalog']];
        else {
          const schema = cat.schema(db.id, 'public');
          rows = schema === undefined ? [] : cat.tablesOf(schema.id).filter((t) => t.view === undefined && t.sequence === undefined).map((t) => [t.name] as Row);
        }
      }
    } else if (lower === 'transaction isolation level' || lower === 'transaction_isolation') {
      columns = [{ name: 'transaction_isolation', type: Types.text, tableOid: 0, attnum: 0 }];
      rows = [[this.settings.get('transaction_isolation') ?? 'repeatable read']];
    } else {
      const n = canonicalSettingName(lower);
      const def = settingDef(n);
      const value = this.settings.get(n);
      if (value === undefined && def === undefined) throw new SqlError(SqlState.undefinedObject, `unrecognized configuration parameter "${name}"`);
      columns = [{ name: def ? reportedName(def.name).toLowerCase() === def.name ? def.name : reportedName(def.name) : lower, type: Types.text, tableOid: 0, attnum: 0 }];
      rows = [[value ?? def!.defaultValue]];
    }
    const fields = this.fields(columns, formats);
    if (simple) sink.rowDescription(fields);
    void portal;
    void maxRows;
    await this.sendRows(rows, fields, formats, sink);
    sink.commandComplete(`SHOW`);
    return 'complete';
  }

  // ---- planning -------------------------------------------------------------------------------------------

  /** Plans a query or a DML statement (others throw NotPlannable). */
  async planStatement(s: Statement, givenParamTypes: readonly number[]): Promise<PlannedStatement> {
    if (s.kind !== 'query' && s.kind !== 'insert' && s.kind !== 'update' && s.kind !== 'delete') {
      if (s.kind === 'show') {
        return { kind: 'other', columns: [{ name: s.name, type: Types.text, tableOid: 0, attnum: 0 }], paramTypes: [], version: this.catalog().version };
      }
      throw new NotPlannable();
    }
    const attempt = (catalog: CatalogSnapshot): PlannedStatement => {
      const env = new BindEnv(this.typeSettings, givenParamTypes, { database: this.database, user: this.user });
      const planner = new QueryPlanner(env, this.resolver(catalog), this.gateway.virtualTables);
      if (s.kind === 'query') {
        const planned = planner.planTopQuery(s.query);
        const columns = planned.plan.columns.map((c, i) => ({ name: planned.names[i] ?? c.name, type: c.type, tableOid: c.tableOid, attnum: c.columnAttr }));
        return { kind: 'rows', plan: planned.plan, columns, paramTypes: this.finalParamTypes(env), version: catalog.version };
      }
      const mp = new MutationPlanner(planner);
      const planned = s.kind === 'insert' ? mp.planInsert(s) : s.kind === 'update' ? mp.planUpdate(s) : mp.planDelete(s);
      const columns = planned.returns ? planned.plan.columns.map((c, i) => ({ name: planned.names[i] ?? c.name, type: c.type, tableOid: c.tableOid, attnum: c.columnAttr })) : undefined;
      return { kind: 'mutation', plan: planned.plan, ...(columns ? { columns } : {}), paramTypes: this.finalParamTypes(env), version: catalog.version };
    };
    try {
      return attempt(this.catalog());
    } catch (err) {
      // A name another gateway just created: reload the catalog once and try again.
      if (isSqlError(err) && (err.code === SqlState.undefinedTable || err.code === SqlState.invalidCatalogName || err.code === SqlState.invalidSchemaName) && !this.inBlockWithCatalog()) {
        const before = this.gateway.schema.snapshot.version;
        const after = await this.gateway.schema.refresh();
        if (after.version !== before) return attempt(this.catalog());
      }
      throw err;
    }
  }

  private inBlockWithCatalog(): boolean {
    return this.state.kind === 'open' && this.state.catalog !== undefined;
  }

  private finalParamTypes(env: BindEnv): SqlType[] {
    return env.params.map((t) => (t.oid === Oid.unknown ? Types.text : t));
  }

  private fields(columns: ReadonlyArray<{ name: string; type: SqlType; tableOid: number; attnum: number }>, formats: ReadonlyArray<0 | 1>): FieldDescription[] {
    return columns.map((c, i) => ({
      name: c.name,
      tableOid: c.tableOid,
      columnAttr: c.attnum,
      typeOid: c.type.oid,
      typeSize: typeInfo(c.type.oid)?.length ?? -1,
      typeModifier: c.type.typmod,
      format: (formats.length === 0 ? 0 : formats.length === 1 ? formats[0]! : (formats[i] ?? 0)) as 0 | 1,
    }));
  }

  // ---- execution --------------------------------------------------------------------------------------

  private async planFor(ps: ParsedStatement, paramTypes: readonly number[], portal: Portal | undefined): Promise<PlannedStatement> {
    const version = this.catalog().version;
    const p = portal?.statement;
    if (p?.cached !== undefined && p.cached.version === version && !this.inBlockWithCatalog()) return p.cached.planned;
    const planned = await this.planStatement(ps.statement, paramTypes);
    if (p !== undefined) {
      p.cached = { version: planned.version, planned };
    }
    return planned;
  }

  makeContext(params: readonly Datum[], reader: ExecContext['reader'], writer: SqlTxn | undefined, catalog: CatalogSnapshot, txnStartUs: bigint): ExecContext {
    const session = this;
    const facts: SessionFacts = {
      user: this.user,
      database: this.database,
      searchPath: this.searchPath,
      backendPid: this.processId,
      applicationName: this.settings.get('application_name') ?? '',
      setting: (name: string) => {
        try {
          return this.settings.get(canonicalSettingName(name));
        } catch {
          return undefined;
        }
      },
    };
    const services: EvalServices = this.gateway.evalServices(this, catalog);
    const ctx: ExecContext = {
      params,
      settings: this.typeSettings,
      outer: [],
      txnTimestamp: txnStartUs,
      statementTimestamp: BigInt(Date.now()) * 1000n,
      session: facts,
      subqueryCache: new Map(),
      runSubquery: async (plan, outerRow, limit) => {
        const sub: ExecContext = { ...ctx, outer: [...ctx.outer, outerRow] };
        return drainCursor(plan.open(sub), limit);
      },
      services,
      reader,
      writer,
      locker:
        writer === undefined
          ? undefined
          : {
              lockKeys: (keys) => writer.lockRows(keys, Number(this.settings.get('lock_timeout') ?? '0')),
            },
      catalog,
      writtenTables: writer?.writtenTables ?? new Set(),
      materialized: new Map(),
      checkCancelled: () => {
        if (session.cancelRequested) throw new SqlError(SqlState.queryCanceled, 'canceling statement due to user request');
      },
      memoryRowLimit: this.gateway.memoryRowLimit,
      random: this.random,
    };
    return ctx;
  }

  private async runPlanned(
    ps: ParsedStatement,
    params: Datum[],
    paramTypes: readonly number[],
    resultFormats: ReadonlyArray<0 | 1>,
    sink: ResultSink,
    simple: boolean,
    portal: Portal | undefined,
    maxRows: number,
  ): Promise<'complete' | 'suspended'> {
    const planned = await this.planFor(ps, paramTypes, portal);
    const fields = planned.columns === undefined ? undefined : this.fields(planned.columns, resultFormats);
    const isMutation = planned.kind === 'mutation';
    let rows: Row[];
    let tag: string;
    if (this.state.kind === 'open') {
      if (isMutation && this.state.readOnly) throw new SqlError(SqlState.readOnlySqlTransaction, `cannot execute ${ps.tag} in a read-only transaction`);
      const txn = await this.blockTxn();
      txn.plannedAtVersion ??= planned.version;
      const ctx = this.makeContext(params, txn, isMutation ? txn : undefined, this.catalog(), this.state.startedAtUs);
      ({ rows, tag } = await this.execute1(planned, ps, ctx));
    } else if (!isMutation) {
      const reader = await this.gateway.snapshotReader();
      const ctx = this.makeContext(params, reader, undefined, this.catalog(), BigInt(Date.now()) * 1000n);
      ({ rows, tag } = await this.execute1(planned, ps, ctx));
    } else {
      // A writing statement on its own: commit at its end; retry on conflicts (nothing was sent yet).
      let attempt = 0;
      let current = planned;
      for (;;) {
        const txn = new SqlTxn(await this.gateway.beginTxn());
        txn.plannedAtVersion = current.version;
        try {
          const ctx = this.makeContext(params, txn, txn, this.gateway.schema.snapshot, BigInt(Date.now()) * 1000n);
          ({ rows, tag } = await this.execute1(current, ps, ctx));
          await this.commitTxn(txn, undefined);
          break;
        } catch (err) {
          await txn.rollback().catch(() => {});
          if (!retryable(err) || ++attempt >= IMPLICIT_RETRIES) throw toSqlError(err);
          await new Promise((r) => setTimeout(r, Math.min(2 ** attempt, 100) * (0.5 + this.random())));
          // The schema may have moved on: plan again.
          current = await this.planStatement(ps.statement, paramTypes);
        }
      }
    }
    if (simple && fields !== undefined) sink.rowDescription(fields);
    if (fields !== undefined) {
      if (maxRows > 0 && rows.length > maxRows && portal !== undefined) {
        await this.sendRows(rows.slice(0, maxRows), fields, resultFormats, sink);
        portal.pending = { rows, at: maxRows, tag, fields };
        return 'suspended';
      }
      await this.sendRows(rows, fields, resultFormats, sink);
    }
    if (portal !== undefined) portal.done = true;
    sink.commandComplete(tag);
    return 'complete';
  }

  private async execute1(planned: PlannedStatement, ps: ParsedStatement, ctx: ExecContext): Promise<{ rows: Row[]; tag: string }> {
    const plan = planned.plan!;
    const rows = await drainCursor(plan.open(ctx));
    if (plan instanceof InsertNode) return { rows, tag: `INSERT 0 ${plan.affected}` };
    if (plan instanceof UpdateNode) return { rows, tag: `UPDATE ${plan.affected}` };
    if (plan instanceof DeleteNode) return { rows, tag: `DELETE ${plan.affected}` };
    return { rows, tag: `${ps.tag} ${rows.length}` };
  }

  async sendRows(rows: readonly Row[], fields: readonly FieldDescription[], formats: ReadonlyArray<0 | 1>, sink: ResultSink): Promise<void> {
    const n = fields.length;
    const types: SqlType[] = fields.map((f) => ({ oid: f.typeOid, typmod: f.typeModifier }));
    const encoders = types.map((t, i) => this.encoderFor(t, fields[i]!.format));
    void formats;
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const values: Array<Uint8Array | null> = new Array(n);
      for (let i = 0; i < n; i++) {
        const v = row[i] as Datum;
        values[i] = v === null || v === undefined ? null : encoders[i]!(v);
      }
      sink.dataRow(values);
      if ((r + 1) % DRAIN_EVERY_ROWS === 0) {
        await sink.drain();
        if (sink.cancelled || this.cancelRequested) throw new SqlError(SqlState.queryCanceled, 'canceling statement due to user request');
      }
    }
  }

  private encoderFor(type: SqlType, format: 0 | 1): (v: Datum) => Uint8Array {
    if (format === 1) return (v) => encodeBinary(v, type);
    const settings = this.typeSettings;
    switch (type.oid) {
      case Oid.int2:
      case Oid.int4:
      case Oid.int8:
        return (v) => Buffer.from(String(v), 'latin1');
      case Oid.text:
      case Oid.varchar:
      case Oid.name:
        return (v) => Buffer.from(v as string, 'utf8');
      case Oid.regclass:
        return (v) => Buffer.from(this.gateway.regclassName(v as number, this.catalog()), 'utf8');
      default:
        return (v) => Buffer.from(formatText(v, type, settings), 'utf8');
    }
  }

  // ---- EXPLAIN and COPY -------------------------------------------------------------------------------

  private async runExplain(s: Extract<Statement, { kind: 'explain' }>, params: Datum[], paramTypes: readonly number[], formats: ReadonlyArray<0 | 1>, sink: ResultSink, simple: boolean): Promise<'complete' | 'suspended'> {
    if (s.analyze) throw new SqlError(SqlState.featureNotSupported, 'EXPLAIN ANALYZE is not supported');
    const planned = await this.planStatement(s.statement, paramTypes);
    void params;
    const lines = explainText(planned.plan!);
    const fields = this.fields([{ name: 'QUERY PLAN', type: Types.text, tableOid: 0, attnum: 0 }], formats);
    if (simple) sink.rowDescription(fields);
    await this.sendRows(lines.map((l) => [l]), fields, formats, sink);
    sink.commandComplete('EXPLAIN');
    return 'complete';
  }

  private async runCopy(s: Extract<Statement, { kind: 'copy' }>, sink: ResultSink): Promise<void> {
    if (!s.from) throw new SqlError(SqlState.featureNotSupported, 'COPY TO is not supported');
    if (!s.stdio) throw new SqlError(SqlState.featureNotSupported, 'COPY from a file is not supported; use COPY FROM STDIN', { hint: "psql's \\copy reads a client-side file." });
    if (s.table === undefined) throw new SqlError(SqlState.syntaxError, 'COPY FROM needs a table');
    const inBlock = this.state.kind === 'open';
    const txn = inBlock ? await this.blockTxn() : new SqlTxn(await this.gateway.beginTxn());
    const catalog = this.catalog();
    txn.plannedAtVersion ??= catalog.version;
    let count: number;
    try {
      const ctx = this.makeContext([], txn, txn, catalog, BigInt(Date.now()) * 1000n);
      count = await runCopyFrom(this, s, sink, ctx, catalog);
      if (!inBlock) await this.commitTxn(txn, undefined);
    } catch (err) {
      if (!inBlock) await txn.rollback().catch(() => {});
      throw err;
    }
    sink.commandComplete(`COPY ${count}`);
  }

  /** For COPY and DDL: a binder over an empty scope with this session's settings. */
  constantBinder(): { binder: ExprBinder; scope: Scope; evalConst: (e: Expr, type: SqlType) => Promise<Datum> } {
    const env = new BindEnv(this.typeSettings, [], { database: this.database, user: this.user });
    const binder = new ExprBinder(env);
    const scope = new Scope([], undefined);
    return {
      binder,
      scope,
      evalConst: async (e, type) => {
        const { coerce } = await import('../plan/coercion.js');
        const b = coerce(binder.bind(e, scope), type, 'assignment', env);
        const reader = await this.gateway.snapshotReader();
        return compile(b).run([], this.makeContext([], reader, undefined, this.catalog(), BigInt(Date.now()) * 1000n));
      },
    };
  }

  /** For the type of an unknown parameter in error messages. */
  describeType(t: SqlType): string {
    return formatType(t);
  }

  /** A copy-in stream reader (exposed for copy.ts). */
  static collectCopy(stream: CopyInStream): AsyncIterator<Uint8Array> {
    return stream[Symbol.asyncIterator]();
  }
}

/** A statement that is executed without a plan (DDL, utilities). */
export class NotPlannable extends Error {
  constructor() {
    super('not plannable');
  }
}
