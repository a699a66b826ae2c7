// The SQL gateway of one node: the session factory pgwire hands connections to, and what every
// session of the node shares — the transaction client, the catalog cache, the parse cache, the
// virtual tables, the DDL executor, and the coordination of schema changes with the other
// gateways of the cluster.
import { bootstrapCatalog, readDescriptor } from './catalog/catalog_store.js';
import type { CatalogSnapshot } from './catalog/catalog_snapshot.js';
import type { TableDescriptor, CheckConstraint } from './catalog/descriptors.js';
import { sequenceValueKey, encodeU64, readU64 } from './catalog/keys.js';
import { SchemaCache, SCHEMA_LEASE_MS, SCHEMA_POLL_MS } from './catalog/schema_cache.js';
import { DdlExecutor } from './ddl/ddl_executor.js';
import { SqlError, SqlState } from './errors.js';
import type { ParsedStatement } from './parser/ast.js';
import { initParser, parseSql } from './parser/parser.js';
import type { BoundExpr, EvalServices } from './plan/bound.js';
import type { ConnectionInfo, SessionFactory, StartupOutcome } from './pgwire/session_api.js';
import { SnapshotReader, SqlTxn } from './session/sql_txn.js';
import { SqlSession } from './session/session.js';
import type { Transaction, TxnClient } from '../client/txn/txn_client.js';
import { WriteConflictError, TxnAbortedError } from '../client/txn/errors.js';
import { virtualTables } from './vtables/registry.js';
import { parseStoredCheck } from './plan/stored_exprs.js';
import { BindEnv } from './plan/binder.js';
import { QueryPlanner } from './plan/planner.js';
import { NameResolver } from './catalog/resolver.js';
import { Scope } from './plan/scope.js';
import './functions/index.js';

/** Parsed statements remembered by text (prepared statements and repeated simple queries). */
const PARSE_CACHE_ENTRIES = 2_048;
/** Query text longer than this is parsed every time rather than cached. */
const PARSE_CACHE_MAX_TEXT = 8_192;
/** Rows a statement may hold in memory for sorts, hash tables and materialized subqueries. */
export const DEFAULT_MEMORY_ROW_LIMIT = 5_000_000;
/** Times a sequence update is retried when several sessions call nextval at once. */
const SEQUENCE_RETRIES = 50;
/** Milliseconds since 2020-01-01: the epoch of unique_rowid(). */
const ROWID_EPOCH_MS = 1_577_836_800_000;

export interface GatewayLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export interface GatewayOptions {
  /** The transaction client (made on first use). */
  readonly txnClient: () => TxnClient;
  /** This node's id (unique in the cluster; part of unique_rowid()). */
  readonly nodeId: () => number;
  /** Whether the node can serve (initialized, in touch with the placement driver). */
  readonly ready: () => boolean;
  readonly logger: GatewayLogger;
  /** Tells every other gateway of the cluster about a new schema version; resolves when they have it. */
  readonly broadcastSchemaVersion?: (version: bigint) => Promise<void>;
  readonly memoryRowLimit?: number;
}

export class Gateway implements SessionFactory {
  readonly schema: SchemaCache;
  readonly ddl: DdlExecutor;
  readonly virtualTables: typeof virtualTables = virtualTables;
  readonly memoryRowLimit: number;
  readonly logger: GatewayLogger;
  private readonly parseCache = new Map<string, ParsedStatement[]>();
  private readonly inFlightCommits = new Set<Promise<unknown>>();
  private bootstrapped = false;
  private rowidLastMs = 0;
  private rowidSeq = 0;
  private started = false;
  readonly sessions = new Set<SqlSession>();

  constructor(private readonly options: GatewayOptions) {
    this.logger = options.logger;
    this.memoryRowLimit = options.memoryRowLimit ?? DEFAULT_MEMORY_ROW_LIMIT;
    this.schema = new SchemaCache({
      freshReader: () => this.snapshotReader(),
      onError: (err) => this.logger.debug('schema refresh failed', { error: err instanceof Error ? err.message : String(err) }),
    });
    this.ddl = new DdlExecutor(this);
  }

  get nodeId(): number {
    return this.options.nodeId();
  }

  get txnClient(): TxnClient {
    return this.options.txnClient();
  }

  /** Loads the parser; call once before serving. */
  static async prepare(): Promise<void> {
    await initParser();
  }

  stop(): void {
    this.schema.stop();
  }

  // ---- sessions --------------------------------------------------------------------------------------

  async open(parameters: ReadonlyMap<string, string>, connection: ConnectionInfo): Promise<StartupOutcome> {
    if (!this.options.ready()) {
      throw new SqlError(SqlState.cannotConnectNow, 'the database system is starting up', {
        severity: 'FATAL',
        hint: 'The node is not initialised or not in touch with the cluster yet; run cairn init, or wait.',
      });
    }
    await this.ensureStarted();
    const user = parameters.get('user') ?? 'root';
    let database = parameters.get('database') ?? '';
    const catalog = this.schema.snapshot.database(database) !== undefined ? this.schema.snapshot : await this.schema.refresh();
    if (database === '' || (database === user && catalog.database(database) === undefined)) database = 'defaultdb';
    if (catalog.database(database) === undefined) {
      throw new SqlError(SqlState.invalidCatalogName, `database "${database}" does not exist`, { severity: 'FATAL' });
    }
    const session = new SqlSession(this, user, database, connection.processId);
    for (const [k, v] of parameters) {
      if (k === 'application_name') session.settings.set('application_name', v);
    }
    const options = parameters.get('options');
    if (options !== undefined) applyStartupOptions(session, options);
    this.sessions.add(session);
    const close = session.close.bind(session);
    session.close = async () => {
      this.sessions.delete(session);
      await close();
    };
    return { session, parameters: session.reportedParameters() };
  }

  private async ensureStarted(): Promise<void> {
    if (this.started && this.bootstrapped) return;
    await initParser();
    if (!this.bootstrapped) {
      for (let attempt = 0; ; attempt++) {
        const txn = new SqlTxn(await this.beginTxn());
        try {
          await bootstrapCatalog(txn);
          await txn.commit();
          break;
        } catch (err) {
          await txn.rollback().catch(() => {});
          if (!(err instanceof WriteConflictError || err instanceof TxnAbortedError) || attempt >= 20) throw err;
          await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
        }
      }
      this.bootstrapped = true;
      await this.schema.refresh();
    }
    if (!this.started) {
      this.started = true;
      this.schema.start();
    }
  }

  parse(sql: string): ParsedStatement[] {
    if (sql.length <= PARSE_CACHE_MAX_TEXT) {
      const cached = this.parseCache.get(sql);
      if (cached !== undefined) return cached;
    }
    const parsed = parseSql(sql);
    if (sql.length <= PARSE_CACHE_MAX_TEXT) {
      if (this.parseCache.size >= PARSE_CACHE_ENTRIES) {
        // Forget the oldest entry (a Map iterates in insertion order).
        this.parseCache.delete(this.parseCache.keys().next().value as string);
      }
      this.parseCache.set(sql, parsed);
    }
    return parsed;
  }

  // ---- transactions --------------------------------------------------------------------------------------

  beginTxn(): Promise<Transaction> {
    return this.txnClient.begin();
  }

  async snapshotReader(): Promise<SnapshotReader> {
    const ts = await this.txnClient.timestamp();
    return new SnapshotReader(this.txnClient.snapshot(ts));
  }

  /** Commits, remembering the commit as in flight so a schema change can wait for it. */
  async commitWithRegistration(txn: SqlTxn): Promise<bigint> {
    const p = txn.commit();
    this.inFlightCommits.add(p);
    try {
      return await p;
    } finally {
      this.inFlightCommits.delete(p);
    }
  }

  /** Waits for the commits in flight now (bounded by the schema lease). */
  async drainCommits(): Promise<void> {
    const pending = [...this.inFlightCommits];
    if (pending.length === 0) return;
    await Promise.race([Promise.allSettled(pending), new Promise((r) => setTimeout(r, SCHEMA_LEASE_MS))]);
  }

  // ---- schema changes ------------------------------------------------------------------------------------

  /** After this gateway committed a schema change: load it and tell the others. */
  async installSchemaVersion(version: bigint, _changed: readonly number[]): Promise<void> {
    const snap = await this.schema.refresh();
    if (snap.version < version) await this.schema.refresh();
    // The statement returns once every gateway has the change (a gateway that does not answer is
    // waited out for its lease), so no session anywhere still sees the old schema afterwards.
    await this.options.broadcastSchemaVersion?.(version).catch(() => {});
  }

  /**
   * Returns when no gateway can still commit writes planned before `version`: every gateway that
   * answers has loaded it and finished the commits it had in flight; one that does not answer
   * cannot commit anything once its lease runs out, so waiting out the lease covers it.
   */
  async awaitSchemaVersion(version: bigint): Promise<void> {
    await this.drainCommits();
    const broadcast = this.options.broadcastSchemaVersion;
    if (broadcast === undefined) {
      await new Promise((r) => setTimeout(r, SCHEMA_LEASE_MS + SCHEMA_POLL_MS));
      return;
    }
    try {
      await broadcast(version);
    } catch {
      await new Promise((r) => setTimeout(r, SCHEMA_LEASE_MS + SCHEMA_POLL_MS));
    }
  }

  /** Another gateway announced a schema version: load it, let running commits finish, then answer. */
  async onSchemaVersionAnnounced(version: bigint): Promise<bigint> {
    let snap = this.schema.snapshot;
    if (snap.version < version) snap = await this.schema.refresh();
    await this.drainCommits();
    return snap.version;
  }

  // ---- services for expressions ----------------------------------------------------------------------------

  uniqueRowId(): bigint {
    let ms = Date.now() - ROWID_EPOCH_MS;
    if (ms <= this.rowidLastMs) {
      ms = this.rowidLastMs;
      this.rowidSeq++;
      if (this.rowidSeq >= 4096) {
        this.rowidLastMs = ++ms;
        this.rowidSeq = 0;
      }
    } else {
      this.rowidLastMs = ms;
      this.rowidSeq = 0;
    }
    return ((BigInt(ms) << 12n) | BigInt(this.rowidSeq)) * 1024n + BigInt(this.nodeId & 1023);
  }

  regclassName(oid: number, catalog: CatalogSnapshot): string {
    const t = catalog.table(oid);
    if (t === undefined) return String(oid);
    return t.name;
  }

  private sequenceOf(session: SqlSession, catalog: CatalogSnapshot, ref: string | number): TableDescriptor {
    let table: TableDescriptor | undefined;
    if (typeof ref === 'number') table = catalog.table(ref);
    else {
      const names = new NameResolver(catalog, { database: session.database, searchPath: session.searchPath }, this.virtualTables);
      const parts = ref.split('.').map((p) => p.replace(/^"(.*)"$/, '$1'));
      const r = names.lookupRelation({ parts, location: -1 });
      table = r?.kind === 'table' ? r.table : undefined;
      if (table === undefined) throw new SqlError(SqlState.undefinedTable, `relation "${ref}" does not exist`);
    }
    if (table === undefined || table.sequence === undefined) throw new SqlError(SqlState.wrongObjectType, `"${table?.name ?? ref}" is not a sequence`);
    return table;
  }

  evalServices(session: SqlSession, catalog: CatalogSnapshot): EvalServices {
    return {
      nextval: async (ref) => {
        const seq = this.sequenceOf(session, catalog, ref);
        const opts = seq.sequence!;
        const inc = BigInt(opts.increment);
        const min = BigInt(opts.minValue);
        const max = BigInt(opts.maxValue);
        const start = BigInt(opts.start);
        const key = sequenceValueKey(seq.id);
        // Sequences are not transactional: each step commits on its own.
        for (let attempt = 0; ; attempt++) {
          const txn = await this.beginTxn();
          try {
            const cur = await txn.get(key);
            let next = cur === undefined ? start : BigInt.asIntN(64, readU64(cur)) + inc;
            if (next > max || next < min) {
              if (!opts.cycle) throw new SqlError('2200H', `nextval: reached ${inc > 0n ? 'maximum' : 'minimum'} value of sequence "${seq.name}" (${inc > 0n ? max : min})`);
              next = inc > 0n ? min : max;
            }
            txn.put(key, encodeU64(BigInt.asUintN(64, next)));
            await txn.commit();
            session.sequenceValues.set(seq.id, next);
            session.lastSequenceValue = next;
            return next;
          } catch (err) {
            await txn.rollback().catch(() => {});
            if (!(err instanceof WriteConflictError || err instanceof TxnAbortedError) || attempt >= SEQUENCE_RETRIES) throw err;
            await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
          }
        }
      },
      currval: async (ref) => {
        const seq = this.sequenceOf(session, catalog, ref);
        const v = session.sequenceValues.get(seq.id);
        if (v === undefined) throw new SqlError(SqlState.objectNotInPrerequisiteState, `currval of sequence "${seq.name}" is not yet defined in this session`);
        return v;
      },
      setval: async (ref, value, isCalled) => {
        const seq = this.sequenceOf(session, catalog, ref);
        const opts = seq.sequence!;
        if (value < BigInt(opts.minValue) || value > BigInt(opts.maxValue)) {
          throw new SqlError(SqlState.numericValueOutOfRange, `setval: value ${value} is out of bounds for sequence "${seq.name}" (${opts.minValue}..${opts.maxValue})`);
        }
        const stored = isCalled ? value : value - BigInt(opts.increment);
        const txn = await this.beginTxn();
        try {
          txn.put(sequenceValueKey(seq.id), encodeU64(BigInt.asUintN(64, stored)));
          await txn.commit();
        } catch (err) {
          await txn.rollback().catch(() => {});
          throw err;
        }
        if (isCalled) session.sequenceValues.set(seq.id, value);
        return value;
      },
      regclassIn: (name) => {
        const names = new NameResolver(catalog, { database: session.database, searchPath: session.searchPath }, this.virtualTables);
        const parts = name.split('.').map((p) => p.replace(/^"(.*)"$/, '$1'));
        const r = names.lookupRelation({ parts, location: -1 });
        if (r === undefined) throw new SqlError(SqlState.undefinedTable, `relation "${name}" does not exist`);
        if (r.kind === 'virtual') return this.virtualTables.oidOf?.(r.schema, r.name) ?? 0;
        return r.table.id;
      },
      regclassOut: (oid) => this.regclassName(oid, catalog),
      uniqueRowId: () => this.uniqueRowId(),
    };
  }

  /** A stored CHECK constraint bound over a table's row (for validation). */
  bindStoredCheck(table: TableDescriptor, check: CheckConstraint, session: SqlSession): BoundExpr {
    const env = new BindEnv(session.typeSettings, [], { database: session.database, user: session.user });
    const planner = new QueryPlanner(env, session.namesFor(this.schema.snapshot), this.virtualTables);
    const scope = new Scope(
      table.columns.map((c, i) => ({ name: c.name, relation: table.name, type: c.type, expr: { k: 'column', type: c.type, index: i }, hidden: c.hidden, tableOid: table.id, attnum: c.id })),
      undefined,
    );
    return planner.binder.bindCondition(parseStoredCheck(check.expr), scope, { clause: 'CHECK' });
  }

  /** Reads a descriptor at a fresh timestamp (for tools and tests). */
  async readDescriptor(id: number): Promise<unknown> {
    return readDescriptor(await this.snapshotReader(), id);
  }
}

/** The startup packet's `options` (e.g. `-c search_path=x`), as psql's PGOPTIONS sends them. */
function applyStartupOptions(session: SqlSession, options: string): void {
  const parts = options.split(/\s+/).filter((p) => p.length > 0);
  for (let i = 0; i < parts.length; i++) {
    let p = parts[i]!;
    if (p === '-c') p = parts[++i] ?? '';
    else if (p.startsWith('-c')) p = p.slice(2);
    else if (p.startsWith('--')) p = p.slice(2);
    const eq = p.indexOf('=');
    if (eq <= 0) continue;
    const name = p.slice(0, eq).replace(/-/g, '_').toLowerCase();
    session.settings.set(name === 'timezone' ? 'timezone' : name, p.slice(eq + 1));
  }
}
