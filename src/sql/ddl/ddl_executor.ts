// Schema statements: databases, schemas, tables, indexes, views, sequences, ALTER TABLE, DROP and
// TRUNCATE. Each runs in a transaction (the session's block, or its own) that writes the new
// descriptors and bumps the schema version. Changes that must not block reads and writes of a
// table with rows — a new index, a new column whose default must be computed per row — go through
// F1's states (deleteOnly → writeOnly → backfill → public), each state a committed schema version
// that every gateway has loaded before the next one starts.
import type { ColumnDescriptor, DatabaseDescriptor, IndexDescriptor, SchemaDescriptor, TableDescriptor, CheckConstraint } from '../catalog/descriptors.js';
import { PRIMARY_INDEX_ID } from '../catalog/descriptors.js';
import { indexRange, sequenceValueKey, tableRange, encodeU64 } from '../catalog/keys.js';
import type { CatalogSnapshot } from '../catalog/catalog_snapshot.js';
import { isVirtualSchema, type NameResolver } from '../catalog/resolver.js';
import { SqlError, SqlState, isSqlError } from '../errors.js';
import { compile } from '../exec/eval.js';
import { tableCodec } from '../exec/table_codec.js';
import { updateRow } from '../exec/mutations.js';
import type { ColumnDef, Expr, ParsedStatement, QualifiedName, Statement, TableConstraint } from '../parser/ast.js';
import { deparseExpr, deparseQuery } from '../parser/deparse.js';
import { BindEnv, ExprBinder } from '../plan/binder.js';
import { isVolatile } from '../plan/bound.js';
import { coerce } from '../plan/coercion.js';
import { QueryPlanner } from '../plan/planner.js';
import { Scope } from '../plan/scope.js';
import { resolveTypeName } from '../plan/type_names.js';
import type { ResultSink } from '../pgwire/session_api.js';
import { formatType, NO_TYPMOD, Oid, Types, type SqlType } from '../types/oids.js';
import { DEFAULT_TYPE_SETTINGS } from '../types/settings.js';
import { formatText } from '../types/text_io.js';
import { isKeyType } from '../types/key_encoding.js';
import type { Datum, Row } from '../types/datum.js';
import type { Gateway } from '../gateway.js';
import { SqlTxn } from '../session/sql_txn.js';
import type { SqlSession } from '../session/session.js';
import { toSqlError } from '../session/session.js';
import { CatalogTxn } from './catalog_txn.js';
import { InsertNode } from '../exec/mutations.js';
import { planColumn } from '../plan/plan_node.js';
import { drain } from '../plan/plan_node.js';
import { keyId } from '../catalog/kv.js';
import { KeyExistsError, WriteConflictError, TxnAbortedError } from '../../client/txn/errors.js';

/** Times a DDL statement outside a transaction block is retried after a conflict with another schema change. */
const DDL_RETRIES = 20;
/** Rows read and written per backfill transaction. */
const BACKFILL_BATCH_ROWS = 2_000;
/** Keys removed per transaction when a dropped table's data is cleared. */
const CLEAR_BATCH_KEYS = 2_000;
/** Longest identifier PostgreSQL keeps (longer ones are truncated, as in PostgreSQL). */
const MAX_IDENTIFIER_BYTES = 63;

type Ddl = Exclude<
  Statement,
  { kind: 'query' | 'insert' | 'update' | 'delete' | 'transaction' | 'set' | 'reset' | 'show' | 'copy' | 'explain' | 'prepare' | 'execute' | 'deallocate' | 'discard' | 'analyze' | 'comment' | 'listen' | 'unlisten' | 'notify' | 'grant' }
>;

function truncateIdent(name: string): string {
  const b = Buffer.from(name, 'utf8');
  if (b.length <= MAX_IDENTIFIER_BYTES) return name;
  return b.subarray(0, MAX_IDENTIFIER_BYTES).toString('utf8').replace(/\uFFFD+$/, '');
}

function relationExists(name: string): SqlError {
  return new SqlError(SqlState.duplicateTable, `relation "${name}" already exists`);
}

/** A context for one DDL statement: its catalog transaction and name resolution. */
interface DdlCtx {
  readonly session: SqlSession;
  readonly cat: CatalogTxn;
  readonly names: NameResolver;
  readonly sink: ResultSink;
}

export class DdlExecutor {
  constructor(private readonly gateway: Gateway) {}

  async execute(session: SqlSession, ps: ParsedStatement, sink: ResultSink): Promise<void> {
    const s = ps.statement as Ddl;
    if (session.inBlock) {
      if (s.kind === 'createDatabase' || (s.kind === 'drop' && s.object === 'database')) {
        throw new SqlError(SqlState.activeSqlTransaction, `${ps.tag} cannot run inside a transaction block`);
      }
      const txn = await session.blockTxn();
      let cat = session.blockCatalog;
      if (cat === undefined) {
        cat = new CatalogTxn(txn, this.gateway.schema.snapshot, (v, ids) => this.gateway.installSchemaVersion(v, ids));
        session.setBlockCatalog(cat);
      }
      const tag = await this.run(s, { session, cat, names: session.namesFor(cat.view()), sink });
      sink.commandComplete(tag ?? ps.tag);
      return;
    }
    let attempt = 0;
    for (;;) {
      await this.gateway.schema.refresh();
      const txn = new SqlTxn(await this.gateway.beginTxn());
      const cat = new CatalogTxn(txn, this.gateway.schema.snapshot, (v, ids) => this.gateway.installSchemaVersion(v, ids));
      try {
        const tag = await this.run(s, { session, cat, names: session.namesFor(cat.view()), sink });
        if (cat.changed) await cat.beforeCommit();
        await this.gateway.commitWithRegistration(txn);
        if (cat.changed) await cat.afterCommit();
        sink.commandComplete(tag ?? ps.tag);
        return;
      } catch (err) {
        await txn.rollback().catch(() => {});
        const conflict = err instanceof WriteConflictError || err instanceof TxnAbortedError || (isSqlError(err) && err.code === SqlState.serializationFailure);
        if (err instanceof KeyExistsError) throw this.nameTaken(s);
        if (!conflict || ++attempt >= DDL_RETRIES) throw toSqlError(err);
        await new Promise((r) => setTimeout(r, Math.min(5 * 2 ** attempt, 200)));
      }
    }
  }

  private nameTaken(s: Ddl): SqlError {
    if (s.kind === 'createDatabase') return new SqlError(SqlState.duplicateDatabase, `database "${s.name}" already exists`);
    if (s.kind === 'createTable' || s.kind === 'createView' || s.kind === 'createSequence') return relationExists(s.name.parts[s.name.parts.length - 1]!);
    if (s.kind === 'createSchema') return new SqlError(SqlState.duplicateSchema, `schema "${s.name}" already exists`);
    return new SqlError(SqlState.duplicateObject, 'the object was created concurrently');
  }

  /** Runs one statement in the catalog transaction; returns a tag when it differs from the parsed one. */
  private async run(s: Ddl, c: DdlCtx): Promise<string | undefined> {
    switch (s.kind) {
      case 'createDatabase':
        return this.createDatabase(s, c);
      case 'createSchema':
        return this.createSchema(s, c);
      case 'createTable':
        return this.createTable(s, c);
      case 'createIndex':
        return this.createIndex(s, c);
      case 'createView':
        return this.createView(s, c);
      case 'createSequence':
        return this.createSequence(s, c);
      case 'drop':
        return this.drop(s, c);
      case 'alterTable':
        return this.alterTable(s, c);
      case 'renameObject':
        return this.renameObject(s, c);
      case 'truncate':
        return this.truncate(s, c);
    }
  }

  // ---- databases and schemas ------------------------------------------------------------------------------

  private async createDatabase(s: Extract<Ddl, { kind: 'createDatabase' }>, c: DdlCtx): Promise<undefined> {
    const name = truncateIdent(s.name);
    if (c.cat.view().database(name) !== undefined) {
      if (s.ifNotExists) {
        c.sink.notice({ severity: 'NOTICE', code: SqlState.duplicateDatabase, message: `database "${name}" already exists, skipping` });
        return undefined;
      }
      throw new SqlError(SqlState.duplicateDatabase, `database "${name}" already exists`);
    }
    const id = await c.cat.allocateIds(2);
    const db: DatabaseDescriptor = { kind: 'database', id, name, version: 0, modifiedAtSchemaVersion: 0 };
    const schema: SchemaDescriptor = { kind: 'schema', id: id + 1, name: 'public', databaseId: id, version: 0, modifiedAtSchemaVersion: 0 };
    c.cat.put(db);
    c.cat.claimName(0, 0, name, id);
    c.cat.put(schema);
    c.cat.claimName(id, 0, 'public', id + 1);
    return undefined;
  }

  private async createSchema(s: Extract<Ddl, { kind: 'createSchema' }>, c: DdlCtx): Promise<undefined> {
    const db = c.names.requireCurrentDatabase();
    const name = truncateIdent(s.name);
    if (isVirtualSchema(name) || c.cat.view().schema(db.id, name) !== undefined) {
      if (s.ifNotExists) {
        c.sink.notice({ severity: 'NOTICE', code: SqlState.duplicateSchema, message: `schema "${name}" already exists, skipping` });
        return undefined;
      }
      throw new SqlError(SqlState.duplicateSchema, `schema "${name}" already exists`);
    }
    const id = await c.cat.allocateIds(1);
    c.cat.put({ kind: 'schema', id, name, databaseId: db.id, version: 0, modifiedAtSchemaVersion: 0 });
    c.cat.claimName(db.id, 0, name, id);
    return undefined;
  }

  // ---- tables ---------------------------------------------------------------------------------------------

  private relationNameTaken(view: CatalogSnapshot, schemaId: number, name: string): boolean {
    if (view.tableByName(schemaId, name) !== undefined) return true;
    return view.tablesOf(schemaId).some((t) => t.indexes.some((i) => i.name === name));
  }

  /** A column definition to a column descriptor (and the sequence a SERIAL column owns). */
  private columnFromDef(def: ColumnDef, id: number, c: DdlCtx, tableName: string): { column: ColumnDescriptor; serial: boolean; unique: boolean; primary: boolean; checks: Array<{ name?: string; expr: Expr }> } {
    if (def.type.names.length === 0) throw new SqlError(SqlState.syntaxError, `column "${def.name}" needs a type`);
    const { type, serial } = resolveTypeName(def.type);
    if (def.collation !== undefined) {
      const coll = def.collation[def.collation.length - 1]!.toLowerCase();
      if (!['c', 'posix', 'default', 'ucs_basic'].includes(coll)) throw new SqlError(SqlState.undefinedObject, `collation "${def.collation.join('.')}" for encoding "UTF8" does not exist`);
    }
    let nullable = true;
    let defaultExpr: string | undefined;
    let unique = false;
    let primary = false;
    const checks: Array<{ name?: string; expr: Expr }> = [];
    for (const con of def.constraints) {
      switch (con.kind) {
        case 'notNull':
          nullable = false;
          break;
        case 'null':
          break;
        case 'default':
          defaultExpr = deparseExpr(con.expr!);
          break;
        case 'primaryKey':
          primary = true;
          nullable = false;
          break;
        case 'unique':
          unique = true;
          break;
        case 'check':
          checks.push({ ...(con.name ? { name: con.name } : {}), expr: con.expr! });
          break;
        case 'references':
          throw new SqlError(SqlState.featureNotSupported, 'foreign key constraints are not supported');
        case 'generated':
          throw new SqlError(SqlState.featureNotSupported, 'generated columns are not supported');
        case 'identity':
          throw new SqlError(SqlState.featureNotSupported, 'identity columns are not supported; use SERIAL');
      }
    }
    if (serial) {
      nullable = false;
      defaultExpr = `nextval('${`${tableName}_${def.name}_seq`.replace(/'/g, "''")}'::regclass)`;
    }
    if (defaultExpr !== undefined) this.validateDefault(defaultExpr, type, def.name, c);
    return {
      column: { id, name: truncateIdent(def.name), type, nullable, ...(defaultExpr !== undefined ? { defaultExpr } : {}), hidden: false, state: 'public' },
      serial,
      unique,
      primary,
      checks,
    };
  }

  private binderFor(c: DdlCtx): { binder: ExprBinder; env: BindEnv } {
    const env = new BindEnv(c.session.typeSettings, [], { database: c.session.database, user: c.session.user });
    const planner = new QueryPlanner(env, c.names, this.gateway.virtualTables);
    return { binder: planner.binder, env };
  }

  private validateDefault(text: string, type: SqlType, column: string, c: DdlCtx): void {
    const { parseSql } = requireParser();
    const stmt = parseSql(`SELECT ${text}`)[0]!.statement;
    if (stmt.kind !== 'query' || stmt.query.kind !== 'select') throw new SqlError(SqlState.syntaxError, `invalid default for column "${column}"`);
    const { binder, env } = this.binderFor(c);
    const expr = stmt.query.targets[0]!.expr;
    if (containsColumnRef(expr)) throw new SqlError(SqlState.featureNotSupported, 'cannot use column reference in DEFAULT expression');
    try {
      coerce(binder.bind(expr, new Scope([], undefined), { clause: 'DEFAULT' }), type, 'assignment', env, () => `column "${column}" is of type ${formatType(type)} but default expression is of type ${'?'}`);
    } catch (err) {
      // nextval on a sequence created in this very statement is not visible yet.
      if (isSqlError(err) && err.code === SqlState.undefinedTable && text.startsWith('nextval(')) return;
      throw err;
    }
  }

  private async createTable(s: Extract<Ddl, { kind: 'createTable' }>, c: DdlCtx): Promise<string | undefined> {
    if (s.temporary) throw new SqlError(SqlState.featureNotSupported, 'temporary tables are not supported');
    const target = c.names.targetSchema(s.name);
    const name = truncateIdent(target.name);
    if (this.relationNameTaken(c.cat.view(), target.schema.id, name)) {
      if (s.ifNotExists) {
        c.sink.notice({ severity: 'NOTICE', code: SqlState.duplicateTable, message: `relation "${name}" already exists, skipping` });
        return 'CREATE TABLE';
      }
      throw relationExists(name);
    }
    if (s.asQuery !== undefined) return this.createTableAs(s, c, target.database, target.schema, name);
    const tableId = await c.cat.allocateIds(1);
    const columns: ColumnDescriptor[] = [];
    const pkColumns: string[] = [];
    const uniques: Array<{ columns: string[]; name?: string; include: string[] }> = [];
    const checkExprs: Array<{ name?: string; expr: Expr; column?: string }> = [];
    const serials: ColumnDescriptor[] = [];
    let nextColumnId = 1;
    const seen = new Set<string>();
    for (const def of s.columns) {
      if (seen.has(def.name)) throw new SqlError(SqlState.duplicateColumn, `column "${def.name}" specified more than once`);
      seen.add(def.name);
      const r = this.columnFromDef(def, nextColumnId++, c, name);
      columns.push(r.column);
      if (r.primary) pkColumns.push(r.column.name);
      if (r.unique) uniques.push({ columns: [r.column.name], include: [] });
      for (const ch of r.checks) checkExprs.push({ ...ch, column: r.column.name });
      if (r.serial) serials.push(r.column);
    }
    for (const con of s.constraints) this.collectTableConstraint(con, pkColumns, uniques, checkExprs, columns);
    if (pkColumns.length > 1 && s.columns.some((d) => d.constraints.some((k) => k.kind === 'primaryKey'))) {
      throw new SqlError(SqlState.invalidTableDefinition, `multiple primary keys for table "${name}" are not allowed`);
    }
    const pkUnique = [...new Set(pkColumns)];
    if (pkUnique.length !== pkColumns.length && s.constraints.filter((k) => k.kind === 'primaryKey').length > 1) {
      throw new SqlError(SqlState.invalidTableDefinition, `multiple primary keys for table "${name}" are not allowed`);
    }
    let primaryIndex: IndexDescriptor;
    if (pkUnique.length === 0) {
      // A table without a primary key gets a hidden one, as in CockroachDB.
      const rowid: ColumnDescriptor = { id: nextColumnId++, name: 'rowid', type: Types.int8, nullable: false, defaultExpr: 'unique_rowid()', hidden: true, state: 'public' };
      columns.push(rowid);
      primaryIndex = { id: PRIMARY_INDEX_ID, name: `${name}_pkey`, unique: true, primary: true, columns: [{ columnId: rowid.id, descending: false }], storing: [], state: 'public' };
    } else {
      const cols = pkUnique.map((n) => {
        const col = columns.find((x) => x.name === n);
        if (col === undefined) throw new SqlError(SqlState.undefinedColumn, `column "${n}" named in key does not exist`);
        if (!isKeyType(col.type.oid)) throw new SqlError(SqlState.featureNotSupported, `column "${n}" of type ${formatType(col.type)} cannot be part of a primary key`);
        return col;
      });
      for (const col of cols) (col as { nullable: boolean }).nullable = false;
      const conName = s.constraints.find((k) => k.kind === 'primaryKey')?.name ?? s.columns.flatMap((d) => d.constraints).find((k) => k.kind === 'primaryKey')?.name;
      primaryIndex = { id: PRIMARY_INDEX_ID, name: conName ?? truncateIdent(`${name}_pkey`), unique: true, primary: true, columns: cols.map((col) => ({ columnId: col.id, descending: false })), storing: [], state: 'public', constraintName: conName ?? truncateIdent(`${name}_pkey`) };
    }
    const indexes: IndexDescriptor[] = [primaryIndex];
    let nextIndexId = PRIMARY_INDEX_ID + 1;
    for (const u of uniques) {
      const cols = u.columns.map((n) => {
        const col = columns.find((x) => x.name === n);
        if (col === undefined) throw new SqlError(SqlState.undefinedColumn, `column "${n}" named in key does not exist`);
        return col;
      });
      const idxName = u.name ?? this.uniqueIndexName(c.cat.view(), target.schema.id, indexes, `${name}_${u.columns.join('_')}_key`);
      indexes.push({ id: nextIndexId++, name: idxName, unique: true, primary: false, columns: cols.map((col) => ({ columnId: col.id, descending: false })), storing: this.includeIds(u.include, columns), state: 'public', constraintName: idxName });
    }
    const table: TableDescriptor = {
      kind: 'table',
      id: tableId,
      name,
      version: 0,
      modifiedAtSchemaVersion: 0,
      databaseId: target.database.id,
      schemaId: target.schema.id,
      columns,
      nextColumnId,
      primaryIndex,
      indexes,
      nextIndexId,
      checks: [],
      foreignKeys: [],
      state: 'public',
    };
    const checks = this.bindChecks(checkExprs, table, c);
    const withChecks: TableDescriptor = { ...table, checks };
    c.cat.put(withChecks);
    c.cat.claimName(target.database.id, target.schema.id, name, tableId);
    for (const col of serials) await this.createOwnedSequence(c, target.database, target.schema, `${name}_${col.name}_seq`, tableId, col);
    return undefined;
  }

  private includeIds(names: readonly string[], columns: readonly ColumnDescriptor[]): number[] {
    return names.map((n) => {
      const col = columns.find((x) => x.name === n);
      if (col === undefined) throw new SqlError(SqlState.undefinedColumn, `column "${n}" does not exist`);
      return col.id;
    });
  }

  private uniqueIndexName(view: CatalogSnapshot, schemaId: number, extra: readonly IndexDescriptor[], base: string): string {
    let candidate = truncateIdent(base);
    for (let i = 1; this.relationNameTaken(view, schemaId, candidate) || extra.some((x) => x.name === candidate); i++) candidate = truncateIdent(`${base}${i}`);
    return candidate;
  }

  private collectTableConstraint(
    con: TableConstraint,
    pk: string[],
    uniques: Array<{ columns: string[]; name?: string; include: string[] }>,
    checks: Array<{ name?: string; expr: Expr }>,
    columns: ColumnDescriptor[],
  ): void {
    switch (con.kind) {
      case 'primaryKey':
        if (pk.length > 0) throw new SqlError(SqlState.invalidTableDefinition, 'multiple primary keys for table are not allowed');
        pk.push(...con.columns);
        for (const n of con.columns) if (!columns.some((c) => c.name === n)) throw new SqlError(SqlState.undefinedColumn, `column "${n}" named in key does not exist`);
        return;
      case 'unique':
        uniques.push({ columns: [...con.columns], ...(con.name ? { name: con.name } : {}), include: [...con.include] });
        return;
      case 'check':
        checks.push({ ...(con.name ? { name: con.name } : {}), expr: con.expr! });
        return;
      case 'foreignKey':
        throw new SqlError(SqlState.featureNotSupported, 'foreign key constraints are not supported');
      default:
        throw new SqlError(SqlState.featureNotSupported, `${con.kind} constraints are not supported`);
    }
  }

  private bindChecks(exprs: ReadonlyArray<{ name?: string; expr: Expr; column?: string }>, table: TableDescriptor, c: DdlCtx): CheckConstraint[] {
    if (exprs.length === 0) return [];
    const { binder } = this.binderFor(c);
    const scope = new Scope(
      table.columns.filter((col) => !col.hidden).map((col) => ({
        name: col.name,
        relation: table.name,
        type: col.type,
        expr: { k: 'column', type: col.type, index: table.columns.indexOf(col) },
        hidden: false,
        tableOid: table.id,
        attnum: col.id,
      })),
      undefined,
    );
    const names = new Set(table.checks.map((x) => x.name));
    return exprs.map((e) => {
      const bound = binder.bindCondition(e.expr, scope, { clause: 'CHECK' });
      if (isVolatile(bound)) throw new SqlError(SqlState.featureNotSupported, 'CHECK expressions must be immutable');
      let name = e.name ?? `${table.name}_${e.column ?? columnNamesIn(e.expr)[0] ?? ''}_check`.replace(/__/g, '_');
      for (let i = 1; names.has(name); i++) name = `${e.name ?? `${table.name}_check`}${i}`;
      names.add(name);
      const used = columnNamesIn(e.expr);
      return { name, expr: deparseExpr(e.expr), columnIds: table.columns.filter((col) => used.includes(col.name)).map((col) => col.id), validated: true };
    });
  }

  private async createOwnedSequence(c: DdlCtx, db: DatabaseDescriptor, schema: SchemaDescriptor, seqName: string, tableId: number, col: ColumnDescriptor): Promise<void> {
    const name = this.uniqueIndexName(c.cat.view(), schema.id, [], seqName);
    const id = await c.cat.allocateIds(1);
    const max = col.type.oid === Oid.int2 ? 32767n : col.type.oid === Oid.int4 ? 2147483647n : (1n << 63n) - 1n;
    const seq: TableDescriptor = this.sequenceDescriptor(id, name, db.id, schema.id, { increment: 1n, minValue: 1n, maxValue: max, start: 1n, cycle: false, cache: 1, ownedBy: { tableId, columnId: col.id } });
    c.cat.put(seq);
    c.cat.claimName(db.id, schema.id, name, id);
  }

  private sequenceDescriptor(id: number, name: string, databaseId: number, schemaId: number, options: NonNullable<TableDescriptor['sequence']>): TableDescriptor {
    const value: ColumnDescriptor = { id: 1, name: 'last_value', type: Types.int8, nullable: false, hidden: false, state: 'public' };
    return {
      kind: 'table',
      id,
      name,
      version: 0,
      modifiedAtSchemaVersion: 0,
      databaseId,
      schemaId,
      columns: [value],
      nextColumnId: 2,
      primaryIndex: { id: PRIMARY_INDEX_ID, name: `${name}_pkey`, unique: true, primary: true, columns: [{ columnId: 1, descending: false }], storing: [], state: 'public' },
      indexes: [],
      nextIndexId: 2,
      checks: [],
      foreignKeys: [],
      state: 'public',
      sequence: options,
    };
  }

  private async createTableAs(s: Extract<Ddl, { kind: 'createTable' }>, c: DdlCtx, db: DatabaseDescriptor, schema: SchemaDescriptor, name: string): Promise<string> {
    const env = new BindEnv(c.session.typeSettings, [], { database: c.session.database, user: c.session.user });
    const planner = new QueryPlanner(env, c.names, this.gateway.virtualTables);
    const planned = planner.planTopQuery(s.asQuery!);
    const colNames = planned.names.map((n, i) => s.columns[i]?.name ?? n);
    const tableId = await c.cat.allocateIds(1);
    const columns: ColumnDescriptor[] = planned.plan.columns.map((col, i) => ({
      id: i + 1,
      name: colNames[i]!,
      type: col.type.oid === Oid.unknown ? Types.text : col.type,
      nullable: true,
      hidden: false,
      state: 'public',
    }));
    const rowid: ColumnDescriptor = { id: columns.length + 1, name: 'rowid', type: Types.int8, nullable: false, defaultExpr: 'unique_rowid()', hidden: true, state: 'public' };
    columns.push(rowid);
    const table: TableDescriptor = {
      kind: 'table',
      id: tableId,
      name,
      version: 0,
      modifiedAtSchemaVersion: 0,
      databaseId: db.id,
      schemaId: schema.id,
      columns,
      nextColumnId: columns.length + 1,
      primaryIndex: { id: PRIMARY_INDEX_ID, name: `${name}_pkey`, unique: true, primary: true, columns: [{ columnId: rowid.id, descending: false }], storing: [], state: 'public' },
      indexes: [],
      nextIndexId: 2,
      checks: [],
      foreignKeys: [],
      state: 'public',
    };
    const put = c.cat.put(table) as TableDescriptor;
    const full = { ...put, indexes: [put.primaryIndex] };
    c.cat.put(full);
    c.cat.claimName(db.id, schema.id, name, tableId);
    // Fill it in the same transaction.
    const ctx = c.session.makeContext([], c.cat.txn, c.cat.txn, c.cat.view(), BigInt(Date.now()) * 1000n);
    const rows = await drain(planned.plan.open(ctx));
    const finalTable = c.cat.view().table(tableId)!;
    const filled: Row[] = rows.map((r) => [...r, this.gateway.uniqueRowId()]);
    const insert = new InsertNode(finalTable, new StaticRows(finalTable.columns.map((col) => planColumn(col.name, col.type)), filled), [], undefined, undefined, []);
    await drain(insert.open(ctx));
    return `SELECT ${rows.length}`;
  }

  // ---- indexes ----------------------------------------------------------------------------------------------

  private async createIndex(s: Extract<Ddl, { kind: 'createIndex' }>, c: DdlCtx): Promise<undefined> {
    const { table, schema } = c.names.requireTable(s.table, 'CREATE INDEX');
    if (table.view !== undefined || table.sequence !== undefined) throw new SqlError(SqlState.wrongObjectType, `"${table.name}" is not a table`);
    if (s.method !== undefined && !['btree', 'hash', 'lsm', 'prefix'].includes(s.method.toLowerCase())) {
      throw new SqlError(SqlState.featureNotSupported, `index method "${s.method}" is not supported`);
    }
    if (s.where !== undefined) throw new SqlError(SqlState.featureNotSupported, 'partial indexes are not supported');
    const cols = s.elements.map((e) => {
      if (e.column === undefined) throw new SqlError(SqlState.featureNotSupported, 'expression indexes are not supported');
      const col = table.columns.find((x) => x.name === e.column && x.state === 'public');
      if (col === undefined) throw new SqlError(SqlState.undefinedColumn, `column "${e.column}" does not exist`);
      if (!isKeyType(col.type.oid)) throw new SqlError(SqlState.featureNotSupported, `column "${col.name}" of type ${formatType(col.type)} cannot be indexed`);
      return { columnId: col.id, descending: e.direction === 'desc' };
    });
    const base = s.name ?? `${table.name}_${s.elements.map((e) => e.column).join('_')}_${s.unique ? 'key' : 'idx'}`;
    if (s.name !== undefined && this.relationNameTaken(c.cat.view(), schema.id, truncateIdent(s.name))) {
      if (s.ifNotExists) {
        c.sink.notice({ severity: 'NOTICE', code: SqlState.duplicateTable, message: `relation "${s.name}" already exists, skipping` });
        return undefined;
      }
      throw relationExists(s.name);
    }
    const name = s.name !== undefined ? truncateIdent(s.name) : this.uniqueIndexName(c.cat.view(), schema.id, [], base);
    const index: IndexDescriptor = {
      id: table.nextIndexId,
      name,
      unique: s.unique,
      primary: false,
      columns: cols,
      storing: this.includeIds(s.include, table.columns),
      state: 'public',
      ...(s.unique ? { constraintName: name } : {}),
    };
    await this.addIndex(c, table, index);
    return undefined;
  }

  /**
   * Adds an index. A table created in this transaction (nobody else can see it) gets it public at
   * once; otherwise it starts deleteOnly and the rest of F1's steps run after the commit.
   */
  private async addIndex(c: DdlCtx, table: TableDescriptor, index: IndexDescriptor): Promise<void> {
    const createdHere = this.gateway.schema.snapshot.table(table.id) === undefined;
    if (createdHere) {
      // Fill it from the rows this transaction wrote so far.
      c.cat.put({ ...table, indexes: [...table.indexes, { ...index, state: 'public' }], nextIndexId: index.id + 1 });
      await this.backfillInTxn(c, table.id, index.id);
      return;
    }
    c.cat.put({ ...table, indexes: [...table.indexes, { ...index, state: 'deleteOnly' }], nextIndexId: index.id + 1 });
    c.cat.jobs.push(() => this.completeIndex(table.id, index.id, c.session));
  }

  private async backfillInTxn(c: DdlCtx, tableId: number, indexId: number): Promise<void> {
    const table = c.cat.view().table(tableId)!;
    const index = table.indexes.find((i) => i.id === indexId)!;
    const codec = tableCodec(table);
    const span = codec.primarySpan();
    const seen = new Map<string, Row>();
    let from = span.start;
    for (;;) {
      const page = await c.cat.txn.scan(from, span.end, BACKFILL_BATCH_ROWS);
      for (const p of page) {
        const row = codec.decode(p.key, p.value);
        const e = codec.indexEntry(index, row);
        if (index.unique && e.value[0] === 0xfe) {
          const prior = seen.get(keyId(e.key));
          if (prior !== undefined) throw this.duplicateForIndex(table, index, row);
          seen.set(keyId(e.key), row);
          c.cat.txn.insert(e.key, e.value);
        } else c.cat.txn.put(e.key, e.value);
      }
      if (page.length < BACKFILL_BATCH_ROWS) return;
      from = new Uint8Array([...page[page.length - 1]!.key, 0]);
    }
  }

  private duplicateForIndex(table: TableDescriptor, index: IndexDescriptor, row: readonly Datum[]): SqlError {
    const cols = index.columns.map((ic) => table.columns.find((col) => col.id === ic.columnId)!);
    return new SqlError(SqlState.uniqueViolation, `could not create unique index "${index.name}"`, {
      detail: `Key (${cols.map((col) => col.name).join(', ')})=(${cols.map((col) => { const v = row[table.columns.indexOf(col)]!; return v === null ? 'null' : formatText(v, col.type, DEFAULT_TYPE_SETTINGS); }).join(', ')}) is duplicated.`,
      table: table.name,
      constraint: index.name,
    });
  }

  /** The steps after deleteOnly: writeOnly, backfill, public (or removal if the backfill fails). */
  private async completeIndex(tableId: number, indexId: number, session: SqlSession): Promise<void> {
    await this.setIndexState(tableId, indexId, 'writeOnly');
    try {
      await this.backfillIndex(tableId, indexId);
    } catch (err) {
      await this.removeIndex(tableId, indexId).catch(() => {});
      throw err;
    }
    await this.setIndexState(tableId, indexId, 'public');
    void session;
  }

  /** One schema-change step in its own transaction; returns when every gateway has the new version. */
  private async step(mutate: (table: TableDescriptor) => TableDescriptor | undefined, tableId: number): Promise<void> {
    let attempt = 0;
    for (;;) {
      await this.gateway.schema.refresh();
      const txn = new SqlTxn(await this.gateway.beginTxn());
      const cat = new CatalogTxn(txn, this.gateway.schema.snapshot, (v, ids) => this.gateway.installSchemaVersion(v, ids));
      try {
        const table = cat.view().table(tableId);
        if (table === undefined) throw new SqlError(SqlState.undefinedTable, 'the table was dropped during the schema change');
        const next = mutate(table);
        if (next === undefined) {
          await txn.rollback();
          return;
        }
        cat.put(next);
        await cat.beforeCommit();
        await this.gateway.commitWithRegistration(txn);
        await cat.afterCommit();
        await this.gateway.awaitSchemaVersion(cat.newVersion!);
        return;
      } catch (err) {
        await txn.rollback().catch(() => {});
        const conflict = err instanceof WriteConflictError || err instanceof TxnAbortedError || (isSqlError(err) && err.code === SqlState.serializationFailure);
        if (!conflict || ++attempt >= DDL_RETRIES) throw toSqlError(err);
        await new Promise((r) => setTimeout(r, Math.min(5 * 2 ** attempt, 200)));
      }
    }
  }

  private async setIndexState(tableId: number, indexId: number, state: IndexDescriptor['state']): Promise<void> {
    await this.step((t) => ({ ...t, indexes: t.indexes.map((i) => (i.id === indexId ? { ...i, state } : i)) }), tableId);
  }

  private async removeIndex(tableId: number, indexId: number): Promise<void> {
    await this.step((t) => ({ ...t, indexes: t.indexes.filter((i) => i.id !== indexId) }), tableId);
    void this.clearRange(indexRange(tableId, indexId));
  }

  /** Writes the index entries of every row that exists now, in batches, each its own transaction. */
  private async backfillIndex(tableId: number, indexId: number): Promise<void> {
    const table = this.gateway.schema.snapshot.table(tableId)!;
    const index = table.indexes.find((i) => i.id === indexId)!;
    const codec = tableCodec(table);
    const span = codec.primarySpan();
    let from = span.start;
    for (;;) {
      let page: Array<{ key: Uint8Array; value: Uint8Array }> = [];
      await this.withRetries(async (txn) => {
        page = await txn.scan(from, span.end, BACKFILL_BATCH_ROWS);
        for (const p of page) {
          const row = codec.decode(p.key, p.value);
          const e = codec.indexEntry(index, row);
          if (index.unique && e.value[0] === 0xfe) {
            const existing = await txn.get(e.key);
            if (existing !== undefined) {
              const pk = codec.primaryKeyOfEntry(index, e.key, existing);
              if (keyId(pk) !== keyId(p.key)) throw this.duplicateForIndex(table, index, row);
              continue;
            }
          }
          txn.put(e.key, e.value);
        }
      });
      if (page.length < BACKFILL_BATCH_ROWS) return;
      from = new Uint8Array([...page[page.length - 1]!.key, 0]);
    }
  }

  private async withRetries(body: (txn: SqlTxn) => Promise<void>): Promise<void> {
    let attempt = 0;
    for (;;) {
      const txn = new SqlTxn(await this.gateway.beginTxn());
      try {
        await body(txn);
        await txn.commit();
        return;
      } catch (err) {
        await txn.rollback().catch(() => {});
        const conflict = err instanceof WriteConflictError || err instanceof TxnAbortedError;
        if (!conflict || ++attempt >= DDL_RETRIES) throw toSqlError(err);
        await new Promise((r) => setTimeout(r, Math.min(5 * 2 ** attempt, 200)));
      }
    }
  }

  /** Removes every key in a range, in batches (dropped tables and indexes); best effort, in the background. */
  async clearRange(range: { start: Uint8Array; end: Uint8Array }): Promise<void> {
    let from = range.start;
    for (;;) {
      let n = 0;
      let last: Uint8Array | undefined;
      try {
        await this.withRetries(async (txn) => {
          const page = await txn.scan(from, range.end, CLEAR_BATCH_KEYS);
          n = page.length;
          for (const p of page) txn.delete(p.key);
          last = page[page.length - 1]?.key;
        });
      } catch (err) {
        this.gateway.logger.warn('could not clear dropped data', { error: err instanceof Error ? err.message : String(err) });
        return;
      }
      if (n < CLEAR_BATCH_KEYS || last === undefined) return;
      from = new Uint8Array([...last, 0]);
    }
  }

  // ---- views and sequences -------------------------------------------------------------------------------

  private async createView(s: Extract<Ddl, { kind: 'createView' }>, c: DdlCtx): Promise<undefined> {
    const target = c.names.targetSchema(s.name);
    const name = truncateIdent(target.name);
    const existing = c.cat.view().tableByName(target.schema.id, name);
    if (existing !== undefined && !(s.replace && existing.view !== undefined)) throw relationExists(name);
    const env = new BindEnv(c.session.typeSettings, [], { database: c.session.database, user: c.session.user });
    const planner = new QueryPlanner(env, c.names, this.gateway.virtualTables);
    const planned = planner.planTopQuery(s.query);
    if (s.columns.length > planned.names.length) throw new SqlError(SqlState.syntaxError, 'CREATE VIEW specifies more column names than columns');
    const columnNames = planned.names.map((n, i) => s.columns[i] ?? n);
    const dup = columnNames.find((n, i) => columnNames.indexOf(n) !== i);
    if (dup !== undefined) throw new SqlError(SqlState.duplicateColumn, `column "${dup}" specified more than once`);
    const id = existing?.id ?? (await c.cat.allocateIds(1));
    const columns: ColumnDescriptor[] = planned.plan.columns.map((col, i) => ({ id: i + 1, name: columnNames[i]!, type: col.type, nullable: true, hidden: false, state: 'public' }));
    const view: TableDescriptor = {
      kind: 'table',
      id,
      name,
      version: existing?.version ?? 0,
      modifiedAtSchemaVersion: 0,
      databaseId: target.database.id,
      schemaId: target.schema.id,
      columns,
      nextColumnId: columns.length + 1,
      primaryIndex: { id: PRIMARY_INDEX_ID, name: `${name}_pkey`, unique: true, primary: true, columns: [], storing: [], state: 'public' },
      indexes: [],
      nextIndexId: 2,
      checks: [],
      foreignKeys: [],
      state: 'public',
      view: { query: deparseQuery(s.query), columnNames },
    };
    c.cat.put(view);
    if (existing === undefined) c.cat.claimName(target.database.id, target.schema.id, name, id);
    return undefined;
  }

  private async createSequence(s: Extract<Ddl, { kind: 'createSequence' }>, c: DdlCtx): Promise<undefined> {
    const target = c.names.targetSchema(s.name);
    const name = truncateIdent(target.name);
    if (this.relationNameTaken(c.cat.view(), target.schema.id, name)) {
      if (s.ifNotExists) {
        c.sink.notice({ severity: 'NOTICE', code: SqlState.duplicateTable, message: `relation "${name}" already exists, skipping` });
        return undefined;
      }
      throw relationExists(name);
    }
    let increment = 1n;
    let minValue: bigint | undefined;
    let maxValue: bigint | undefined;
    let start: bigint | undefined;
    let cycle = false;
    let cache = 1;
    const big = (v: unknown, what: string): bigint => {
      try {
        return BigInt(String(v));
      } catch {
        throw new SqlError(SqlState.invalidParameterValue, `invalid ${what} for sequence`);
      }
    };
    for (const o of s.options) {
      switch (o.name) {
        case 'increment':
          increment = big(o.value, 'INCREMENT');
          break;
        case 'minvalue':
          if (o.value !== undefined) minValue = big(o.value, 'MINVALUE');
          break;
        case 'maxvalue':
          if (o.value !== undefined) maxValue = big(o.value, 'MAXVALUE');
          break;
        case 'start':
          start = big(o.value, 'START');
          break;
        case 'cycle':
          cycle = o.value !== false;
          break;
        case 'cache':
          cache = Number(o.value ?? 1);
          break;
        case 'as':
        case 'owned_by':
          break;
        default:
          throw new SqlError(SqlState.featureNotSupported, `sequence option ${o.name} is not supported`);
      }
    }
    if (increment === 0n) throw new SqlError(SqlState.invalidParameterValue, 'INCREMENT must not be zero');
    const min = minValue ?? (increment > 0n ? 1n : -(1n << 63n));
    const max = maxValue ?? (increment > 0n ? (1n << 63n) - 1n : -1n);
    const first = start ?? (increment > 0n ? min : max);
    if (first < min || first > max) throw new SqlError(SqlState.invalidParameterValue, `START value (${first}) cannot be less than MINVALUE (${min})`);
    const id = await c.cat.allocateIds(1);
    c.cat.put(this.sequenceDescriptor(id, name, target.database.id, target.schema.id, { increment, minValue: min, maxValue: max, start: first, cycle, cache }));
    c.cat.claimName(target.database.id, target.schema.id, name, id);
    return undefined;
  }

  // ---- DROP -----------------------------------------------------------------------------------------------

  private async drop(s: Extract<Ddl, { kind: 'drop' }>, c: DdlCtx): Promise<undefined> {
    for (const qn of s.names) {
      switch (s.object) {
        case 'database':
          await this.dropDatabase(qn.parts[qn.parts.length - 1]!, s.ifExists, c);
          break;
        case 'schema':
          await this.dropSchema(qn.parts[qn.parts.length - 1]!, s.ifExists, s.cascade, c);
          break;
        case 'index':
          this.dropIndex(qn, s.ifExists, c);
          break;
        case 'table':
        case 'view':
        case 'sequence':
        case 'materialized view': {
          const r = c.names.lookupRelation(qn);
          if (r === undefined || r.kind === 'virtual') {
            if (s.ifExists) {
              c.sink.notice({ severity: 'NOTICE', code: SqlState.undefinedTable, message: `${s.object} "${qn.parts.join('.')}" does not exist, skipping` });
              break;
            }
            if (r?.kind === 'virtual') throw new SqlError(SqlState.insufficientPrivilege, `permission denied: "${qn.parts.join('.')}" is a system catalog`);
            if (qn.parts.length === 1) c.names.requireCurrentDatabase();
            throw new SqlError(SqlState.undefinedTable, `${s.object === 'table' ? 'table' : s.object} "${qn.parts.join('.')}" does not exist`);
          }
          const t = r.table;
          const kind = t.view !== undefined ? 'view' : t.sequence !== undefined ? 'sequence' : 'table';
          if (kind !== s.object) throw new SqlError(SqlState.wrongObjectType, `"${t.name}" is not a ${s.object}`, { hint: `Use DROP ${kind.toUpperCase()} to remove a ${kind}.` });
          this.dropRelation(t, c);
          break;
        }
        default:
          throw new SqlError(SqlState.featureNotSupported, `DROP ${s.object.toUpperCase()} is not supported`);
      }
    }
    return undefined;
  }

  private dropRelation(t: TableDescriptor, c: DdlCtx): void {
    c.cat.releaseName(t.databaseId, t.schemaId, t.name);
    c.cat.remove(t.id);
    if (t.sequence !== undefined) c.cat.txn.delete(sequenceValueKey(t.id));
    // Owned sequences go with their table.
    for (const seq of c.cat.view().tablesOf(t.schemaId)) {
      if (seq.sequence?.ownedBy?.tableId === t.id) {
        c.cat.releaseName(seq.databaseId, seq.schemaId, seq.name);
        c.cat.remove(seq.id);
        c.cat.txn.delete(sequenceValueKey(seq.id));
      }
    }
    if (t.view === undefined && t.sequence === undefined) c.cat.background.push(() => this.clearRange(tableRange(t.id)));
  }

  private async dropDatabase(name: string, ifExists: boolean, c: DdlCtx): Promise<void> {
    const view = c.cat.view();
    const db = view.database(name);
    if (db === undefined) {
      if (ifExists) {
        c.sink.notice({ severity: 'NOTICE', code: SqlState.invalidCatalogName, message: `database "${name}" does not exist, skipping` });
        return;
      }
      throw new SqlError(SqlState.invalidCatalogName, `database "${name}" does not exist`);
    }
    if (name === c.session.database) throw new SqlError(SqlState.objectInUse, 'cannot drop the currently open database');
    if (name === 'system') throw new SqlError(SqlState.insufficientPrivilege, 'cannot drop the system database');
    for (const schema of view.schemasOf(db.id)) {
      for (const t of view.tablesOf(schema.id)) this.dropRelation(t, c);
      c.cat.releaseName(db.id, 0, schema.name);
      c.cat.remove(schema.id);
    }
    c.cat.releaseName(0, 0, db.name);
    c.cat.remove(db.id);
  }

  private async dropSchema(name: string, ifExists: boolean, cascade: boolean, c: DdlCtx): Promise<void> {
    const db = c.names.requireCurrentDatabase();
    const view = c.cat.view();
    const schema = view.schema(db.id, name);
    if (schema === undefined) {
      if (ifExists) {
        c.sink.notice({ severity: 'NOTICE', code: SqlState.invalidSchemaName, message: `schema "${name}" does not exist, skipping` });
        return;
      }
      throw new SqlError(SqlState.invalidSchemaName, `schema "${name}" does not exist`);
    }
    const tables = view.tablesOf(schema.id);
    if (tables.length > 0 && !cascade) {
      throw new SqlError('2BP01', `cannot drop schema ${name} because other objects depend on it`, { hint: 'Use DROP ... CASCADE to drop the dependent objects too.' });
    }
    for (const t of tables) this.dropRelation(t, c);
    c.cat.releaseName(db.id, 0, name);
    c.cat.remove(schema.id);
  }

  private dropIndex(qn: QualifiedName, ifExists: boolean, c: DdlCtx): void {
    const name = qn.parts[qn.parts.length - 1]!;
    const db = c.names.requireCurrentDatabase();
    const view = c.cat.view();
    const schemas = qn.parts.length >= 2 ? [view.schema(db.id, qn.parts[qn.parts.length - 2]!)].filter((x): x is SchemaDescriptor => x !== undefined) : c.names.searchSchemas(db).filter((x): x is SchemaDescriptor => typeof x !== 'string');
    for (const schema of schemas) {
      for (const t of view.tablesOf(schema.id)) {
        const index = t.indexes.find((i) => i.name === name);
        if (index === undefined) continue;
        if (index.primary) throw new SqlError('2BP01', `cannot drop index ${name} because constraint ${name} on table ${t.name} requires it`, { hint: `You can drop constraint ${name} on table ${t.name} instead.` });
        c.cat.put({ ...t, indexes: t.indexes.filter((i) => i.id !== index.id) });
        c.cat.background.push(() => this.clearRange(indexRange(t.id, index.id)));
        return;
      }
    }
    if (ifExists) {
      c.sink.notice({ severity: 'NOTICE', code: SqlState.undefinedObject, message: `index "${name}" does not exist, skipping` });
      return;
    }
    throw new SqlError(SqlState.undefinedObject, `index "${name}" does not exist`);
  }

  // ---- ALTER TABLE --------------------------------------------------------------------------------------------

  private async alterTable(s: Extract<Ddl, { kind: 'alterTable' }>, c: DdlCtx): Promise<undefined> {
    const r = c.names.lookupRelation(s.table);
    if (r === undefined || r.kind === 'virtual') {
      if (s.ifExists) {
        c.sink.notice({ severity: 'NOTICE', code: SqlState.undefinedTable, message: `relation "${s.table.parts.join('.')}" does not exist, skipping` });
        return undefined;
      }
      c.names.requireRelation(s.table);
      return undefined;
    }
    for (const action of s.actions) {
      const table = c.cat.view().table(r.table.id)!;
      if (table.view !== undefined || table.sequence !== undefined) throw new SqlError(SqlState.wrongObjectType, `"${table.name}" is not a table`);
      switch (action.kind) {
        case 'addColumn':
          await this.addColumn(table, action.column, action.ifNotExists, c);
          break;
        case 'dropColumn':
          this.dropColumn(table, action.name, action.ifExists, c);
          break;
        case 'alterColumnDefault': {
          const col = this.requireColumn(table, action.name);
          if (action.expr !== undefined) this.validateDefault(deparseExpr(action.expr), col.type, col.name, c);
          const updated = { ...col } as ColumnDescriptor & { defaultExpr?: string };
          if (action.expr === undefined) delete updated.defaultExpr;
          else updated.defaultExpr = deparseExpr(action.expr);
          c.cat.put({ ...table, columns: table.columns.map((x) => (x.id === col.id ? updated : x)) });
          break;
        }
        case 'alterColumnNotNull': {
          const col = this.requireColumn(table, action.name);
          if (!action.notNull && table.primaryIndex.columns.some((k) => k.columnId === col.id)) {
            throw new SqlError(SqlState.invalidTableDefinition, `column "${col.name}" is in a primary key`);
          }
          if (action.notNull) await this.validateNoNulls(table, col, c);
          c.cat.put({ ...table, columns: table.columns.map((x) => (x.id === col.id ? { ...x, nullable: !action.notNull } : x)) });
          break;
        }
        case 'alterColumnType': {
          const col = this.requireColumn(table, action.name);
          const { type } = resolveTypeName(action.type);
          if (!this.compatibleTypeChange(col.type, type)) throw new SqlError(SqlState.featureNotSupported, `changing the type of column "${col.name}" from ${formatType(col.type)} to ${formatType(type)} is not supported`);
          c.cat.put({ ...table, columns: table.columns.map((x) => (x.id === col.id ? { ...x, type } : x)) });
          break;
        }
        case 'addConstraint':
          await this.addConstraint(table, action.constraint, c);
          break;
        case 'dropConstraint':
          this.dropConstraint(table, action.name, action.ifExists, c);
          break;
        case 'renameColumn': {
          const col = this.requireColumn(table, action.from);
          if (table.columns.some((x) => x.name === action.to && x.state === 'public')) throw new SqlError(SqlState.duplicateColumn, `column "${action.to}" of relation "${table.name}" already exists`);
          c.cat.put({ ...table, columns: table.columns.map((x) => (x.id === col.id ? { ...x, name: truncateIdent(action.to) } : x)) });
          break;
        }
        case 'renameTable':
          this.renameTable(table, action.to, c);
          break;
        case 'renameConstraint': {
          const idx = table.indexes.find((i) => (i.constraintName ?? '') === action.from);
          if (idx !== undefined) {
            c.cat.put({ ...table, indexes: table.indexes.map((i) => (i.id === idx.id ? { ...i, name: action.to, constraintName: action.to } : i)), primaryIndex: idx.primary ? { ...idx, name: action.to, constraintName: action.to } : table.primaryIndex });
            break;
          }
          const ch = table.checks.find((x) => x.name === action.from);
          if (ch === undefined) throw new SqlError(SqlState.undefinedObject, `constraint "${action.from}" for table "${table.name}" does not exist`);
          c.cat.put({ ...table, checks: table.checks.map((x) => (x.name === action.from ? { ...x, name: action.to } : x)) });
          break;
        }
      }
    }
    return undefined;
  }

  private compatibleTypeChange(from: SqlType, to: SqlType): boolean {
    const textual = (o: number): boolean => o === Oid.text || o === Oid.varchar;
    if (textual(from.oid) && textual(to.oid)) return to.typmod < 0 || (from.typmod >= 0 && to.typmod >= from.typmod);
    if (from.oid === to.oid && from.oid === Oid.numeric) return to.typmod < 0;
    return from.oid === to.oid && from.typmod === to.typmod;
  }

  private requireColumn(table: TableDescriptor, name: string): ColumnDescriptor {
    const col = table.columns.find((x) => x.name === name && x.state === 'public' && !x.hidden);
    if (col === undefined) throw new SqlError(SqlState.undefinedColumn, `column "${name}" of relation "${table.name}" does not exist`);
    return col;
  }

  private renameTable(table: TableDescriptor, to: string, c: DdlCtx): void {
    const name = truncateIdent(to);
    if (this.relationNameTaken(c.cat.view(), table.schemaId, name)) throw relationExists(name);
    c.cat.releaseName(table.databaseId, table.schemaId, table.name);
    c.cat.claimName(table.databaseId, table.schemaId, name, table.id);
    c.cat.put({ ...table, name });
  }

  private async renameObject(s: Extract<Ddl, { kind: 'renameObject' }>, c: DdlCtx): Promise<undefined> {
    if (s.object === 'index') {
      const name = s.name.parts[s.name.parts.length - 1]!;
      const db = c.names.requireCurrentDatabase();
      for (const schema of c.names.searchSchemas(db)) {
        if (typeof schema === 'string') continue;
        for (const t of c.cat.view().tablesOf(schema.id)) {
          const idx = t.indexes.find((i) => i.name === name);
          if (idx === undefined) continue;
          if (this.relationNameTaken(c.cat.view(), schema.id, s.to)) throw relationExists(s.to);
          const renamed = { ...idx, name: s.to, ...(idx.constraintName ? { constraintName: s.to } : {}) };
          c.cat.put({ ...t, indexes: t.indexes.map((i) => (i.id === idx.id ? renamed : i)), primaryIndex: idx.primary ? renamed : t.primaryIndex });
          return undefined;
        }
      }
      if (s.ifExists) return undefined;
      throw new SqlError(SqlState.undefinedObject, `index "${name}" does not exist`);
    }
    if (s.object === 'database') {
      const db = c.cat.view().database(s.name.parts[0]!);
      if (db === undefined) throw new SqlError(SqlState.invalidCatalogName, `database "${s.name.parts[0]}" does not exist`);
      if (c.cat.view().database(s.to) !== undefined) throw new SqlError(SqlState.duplicateDatabase, `database "${s.to}" already exists`);
      c.cat.releaseName(0, 0, db.name);
      c.cat.claimName(0, 0, s.to, db.id);
      c.cat.put({ ...db, name: s.to });
      return undefined;
    }
    const r = c.names.lookupRelation(s.name);
    if (r === undefined || r.kind === 'virtual') {
      if (s.ifExists) return undefined;
      throw new SqlError(SqlState.undefinedTable, `relation "${s.name.parts.join('.')}" does not exist`);
    }
    this.renameTable(r.table, s.to, c);
    return undefined;
  }

  private async validateNoNulls(table: TableDescriptor, col: ColumnDescriptor, c: DdlCtx): Promise<void> {
    const codec = tableCodec(table);
    const span = codec.primarySpan();
    const pos = table.columns.indexOf(col);
    let from = span.start;
    for (;;) {
      const page = await c.cat.txn.scan(from, span.end, BACKFILL_BATCH_ROWS);
      for (const p of page) {
        if (codec.decode(p.key, p.value)[pos] === null) throw new SqlError(SqlState.notNullViolation, `column "${col.name}" of relation "${table.name}" contains null values`);
      }
      if (page.length < BACKFILL_BATCH_ROWS) return;
      from = new Uint8Array([...page[page.length - 1]!.key, 0]);
    }
  }

  private async tableIsEmpty(table: TableDescriptor, c: DdlCtx): Promise<boolean> {
    const span = tableCodec(table).primarySpan();
    return (await c.cat.txn.scan(span.start, span.end, 1)).length === 0;
  }

  private async addColumn(table: TableDescriptor, def: ColumnDef, ifNotExists: boolean, c: DdlCtx): Promise<void> {
    if (table.columns.some((x) => x.name === def.name && x.state !== 'deleteOnly')) {
      if (ifNotExists) {
        c.sink.notice({ severity: 'NOTICE', code: SqlState.duplicateColumn, message: `column "${def.name}" of relation "${table.name}" already exists, skipping` });
        return;
      }
      throw new SqlError(SqlState.duplicateColumn, `column "${def.name}" of relation "${table.name}" already exists`);
    }
    const r = this.columnFromDef(def, table.nextColumnId, c, table.name);
    if (r.primary) throw new SqlError(SqlState.featureNotSupported, 'adding a primary key column is not supported; use ALTER TABLE ADD PRIMARY KEY');
    let column = r.column;
    // A constant default needs no rewrite: rows written before the column existed read as it.
    let absentValue: string | undefined;
    let volatileDefault = false;
    if (column.defaultExpr !== undefined) {
      const { binder, env } = this.binderFor(c);
      const { parseSql } = requireParser();
      const stmt = parseSql(`SELECT ${column.defaultExpr}`)[0]!.statement as Extract<Statement, { kind: 'query' }>;
      const bound = coerce(binder.bind((stmt.query as Extract<typeof stmt.query, { kind: 'select' }>).targets[0]!.expr, new Scope([], undefined), { clause: 'DEFAULT' }), column.type, 'assignment', env);
      if (isVolatile(bound) || bound.k === 'asyncCall' || column.defaultExpr.includes('nextval(')) volatileDefault = true;
      else {
        const ctx = c.session.makeContext([], c.cat.txn, undefined, c.cat.view(), BigInt(Date.now()) * 1000n);
        const v = await compile(bound).run([], ctx);
        if (v !== null) absentValue = formatText(v, column.type, DEFAULT_TYPE_SETTINGS);
      }
    }
    const empty = await this.tableIsEmpty(table, c);
    if (!column.nullable && column.defaultExpr === undefined && !empty) {
      throw new SqlError(SqlState.notNullViolation, `column "${column.name}" of relation "${table.name}" contains null values`);
    }
    if (volatileDefault && !empty) {
      // Every existing row needs its own value: F1's steps with a backfill.
      column = { ...column, state: 'deleteOnly' };
      c.cat.put({ ...table, columns: [...table.columns, column], nextColumnId: column.id + 1 });
      const columnId = column.id;
      c.cat.jobs.push(() => this.completeColumn(table.id, columnId, c.session));
    } else {
      column = { ...column, ...(absentValue !== undefined ? { absentValue } : {}) };
      c.cat.put({ ...table, columns: [...table.columns, column], nextColumnId: column.id + 1 });
    }
    for (const ch of r.checks) {
      const t = c.cat.view().table(table.id)!;
      const checks = this.bindChecks([{ ...ch, column: column.name }], t, c);
      c.cat.put({ ...t, checks: [...t.checks, ...checks] });
    }
    if (r.unique) {
      const t = c.cat.view().table(table.id)!;
      const idxName = this.uniqueIndexName(c.cat.view(), t.schemaId, [], `${t.name}_${column.name}_key`);
      await this.addIndex(c, t, { id: t.nextIndexId, name: idxName, unique: true, primary: false, columns: [{ columnId: column.id, descending: false }], storing: [], state: 'public', constraintName: idxName });
    }
    if (r.serial) {
      const t = c.cat.view().table(table.id)!;
      const db = c.cat.view().databaseById(t.databaseId)!;
      const schema = c.cat.view().get(t.schemaId) as SchemaDescriptor;
      await this.createOwnedSequence(c, db, schema, `${t.name}_${column.name}_seq`, t.id, column);
    }
  }

  private async completeColumn(tableId: number, columnId: number, session: SqlSession): Promise<void> {
    const setState = (state: ColumnDescriptor['state']): Promise<void> =>
      this.step((t) => ({ ...t, columns: t.columns.map((x) => (x.id === columnId ? { ...x, state } : x)) }), tableId);
    await setState('writeOnly');
    const table = this.gateway.schema.snapshot.table(tableId)!;
    const col = table.columns.find((x) => x.id === columnId)!;
    const pos = table.columns.indexOf(col);
    const codec = tableCodec(table);
    const span = codec.primarySpan();
    const env = new BindEnv(session.typeSettings, [], { database: session.database, user: session.user });
    const planner = new QueryPlanner(env, session.namesFor(this.gateway.schema.snapshot), this.gateway.virtualTables);
    const { parseSql } = requireParser();
    const stmt = parseSql(`SELECT ${col.defaultExpr}`)[0]!.statement as Extract<Statement, { kind: 'query' }>;
    const expr = compile(coerce(planner.binder.bind((stmt.query as Extract<typeof stmt.query, { kind: 'select' }>).targets[0]!.expr, new Scope([], undefined)), col.type, 'assignment', env));
    let from = span.start;
    for (;;) {
      let page: Array<{ key: Uint8Array; value: Uint8Array }> = [];
      await this.withRetries(async (txn) => {
        page = await txn.scan(from, span.end, BACKFILL_BATCH_ROWS);
        const ctx = session.makeContext([], txn, txn, this.gateway.schema.snapshot, BigInt(Date.now()) * 1000n);
        for (const p of page) {
          const row = codec.decode(p.key, p.value);
          if (row[pos] !== null) continue; // written by a writer that already knew the column
          const updated = row.slice();
          updated[pos] = await expr.run([], ctx);
          await updateRow(ctx, codec, table, p.key, row, updated);
        }
      });
      if (page.length < BACKFILL_BATCH_ROWS) break;
      from = new Uint8Array([...page[page.length - 1]!.key, 0]);
    }
    await setState('public');
  }

  private dropColumn(table: TableDescriptor, name: string, ifExists: boolean, c: DdlCtx): void {
    const col = table.columns.find((x) => x.name === name && x.state === 'public' && !x.hidden);
    if (col === undefined) {
      if (ifExists) {
        c.sink.notice({ severity: 'NOTICE', code: SqlState.undefinedColumn, message: `column "${name}" of relation "${table.name}" does not exist, skipping` });
        return;
      }
      throw new SqlError(SqlState.undefinedColumn, `column "${name}" of relation "${table.name}" does not exist`);
    }
    if (table.primaryIndex.columns.some((k) => k.columnId === col.id)) {
      throw new SqlError(SqlState.featureNotSupported, `column "${name}" is referenced by the primary key`);
    }
    if (table.columns.filter((x) => x.state === 'public' && !x.hidden).length === 1) {
      throw new SqlError(SqlState.featureNotSupported, 'cannot drop the only column of a table');
    }
    const dropped = table.indexes.filter((i) => !i.primary && (i.columns.some((k) => k.columnId === col.id) || i.storing.includes(col.id)));
    c.cat.put({
      ...table,
      columns: table.columns.filter((x) => x.id !== col.id),
      indexes: table.indexes.filter((i) => !dropped.includes(i)),
      checks: table.checks.filter((ch) => !ch.columnIds.includes(col.id)),
    });
    for (const i of dropped) c.cat.background.push(() => this.clearRange(indexRange(table.id, i.id)));
  }

  private async addConstraint(table: TableDescriptor, con: TableConstraint, c: DdlCtx): Promise<void> {
    switch (con.kind) {
      case 'unique': {
        const cols = con.columns.map((n) => this.requireColumn(table, n));
        const name = con.name ?? this.uniqueIndexName(c.cat.view(), table.schemaId, [], `${table.name}_${con.columns.join('_')}_key`);
        if (this.relationNameTaken(c.cat.view(), table.schemaId, name)) throw relationExists(name);
        await this.addIndex(c, table, { id: table.nextIndexId, name, unique: true, primary: false, columns: cols.map((col) => ({ columnId: col.id, descending: false })), storing: this.includeIds(con.include, table.columns), state: 'public', constraintName: name });
        return;
      }
      case 'check': {
        const checks = this.bindChecks([{ ...(con.name ? { name: con.name } : {}), expr: con.expr! }], table, c);
        // Existing rows must satisfy it.
        const { binder } = this.binderFor(c);
        void binder;
        const codec = tableCodec(table);
        const span = codec.primarySpan();
        const specs = checks.map((ch) => ({ name: ch.name, expr: c.session.gateway.bindStoredCheck(table, ch, c.session) }));
        const ctx = c.session.makeContext([], c.cat.txn, undefined, c.cat.view(), BigInt(Date.now()) * 1000n);
        let from = span.start;
        for (;;) {
          const page = await c.cat.txn.scan(from, span.end, BACKFILL_BATCH_ROWS);
          for (const p of page) {
            const row = codec.decode(p.key, p.value);
            for (const sp of specs) {
              if ((await compile(sp.expr).run(row, ctx)) === false) throw new SqlError(SqlState.checkViolation, `check constraint "${sp.name}" of relation "${table.name}" is violated by some row`);
            }
          }
          if (page.length < BACKFILL_BATCH_ROWS) break;
          from = new Uint8Array([...page[page.length - 1]!.key, 0]);
        }
        c.cat.put({ ...table, checks: [...table.checks, ...checks] });
        return;
      }
      case 'primaryKey':
        await this.addPrimaryKey(table, con, c);
        return;
      case 'foreignKey':
        throw new SqlError(SqlState.featureNotSupported, 'foreign key constraints are not supported');
      default:
        throw new SqlError(SqlState.featureNotSupported, `${con.kind} constraints are not supported`);
    }
  }

  /**
   * ADD PRIMARY KEY on a table that has only its hidden rowid key: the rows are rewritten under the
   * new key, in this transaction (pgbench -i does this right after loading, in its own statement).
   * The table may not have secondary indexes yet.
   */
  private async addPrimaryKey(table: TableDescriptor, con: TableConstraint, c: DdlCtx): Promise<void> {
    const current = table.primaryIndex;
    const hiddenKey = current.columns.length === 1 && table.columns.find((x) => x.id === current.columns[0]!.columnId)?.hidden === true;
    if (!hiddenKey) throw new SqlError(SqlState.invalidTableDefinition, `multiple primary keys for table "${table.name}" are not allowed`);
    if (table.indexes.some((i) => !i.primary)) throw new SqlError(SqlState.featureNotSupported, 'ADD PRIMARY KEY on a table with secondary indexes is not supported');
    const cols = con.columns.map((n) => this.requireColumn(table, n));
    for (const col of cols) if (!isKeyType(col.type.oid)) throw new SqlError(SqlState.featureNotSupported, `column "${col.name}" of type ${formatType(col.type)} cannot be part of a primary key`);
    const name = con.name ?? `${table.name}_pkey`;
    const newIndexId = table.nextIndexId;
    const rowidId = current.columns[0]!.columnId;
    const next: TableDescriptor = {
      ...table,
      columns: table.columns.filter((x) => x.id !== rowidId).map((x) => (cols.includes(x) ? { ...x, nullable: false } : x)),
      primaryIndex: { id: newIndexId, name, unique: true, primary: true, columns: cols.map((col) => ({ columnId: col.id, descending: false })), storing: [], state: 'public', constraintName: name },
      indexes: [],
      nextIndexId: newIndexId + 1,
    };
    const full: TableDescriptor = { ...next, indexes: [next.primaryIndex] };
    // Rewrite: read every row under the old key, write it under the new one.
    const oldCodec = tableCodec(table);
    const newCodec = tableCodec(full);
    const span = oldCodec.primarySpan();
    const positions = full.columns.map((col) => table.columns.findIndex((x) => x.id === col.id));
    const seen = new Set<string>();
    // Read every row before writing any: a scan of a transaction merges its buffered writes, so
    // scanning between writes would cost time in proportion to all the writes so far.
    const pairs: Array<{ key: Uint8Array; value: Uint8Array }> = [];
    let from = span.start;
    for (;;) {
      const page = await c.cat.txn.scan(from, span.end, BACKFILL_BATCH_ROWS);
      pairs.push(...page);
      if (page.length < BACKFILL_BATCH_ROWS) break;
      from = new Uint8Array([...page[page.length - 1]!.key, 0]);
    }
    {
      for (const p of pairs) {
        const old = oldCodec.decode(p.key, p.value);
        const row = positions.map((i) => old[i]!);
        for (const col of cols) {
          if (row[full.columns.indexOf(col)] === null) throw new SqlError(SqlState.notNullViolation, `column "${col.name}" of relation "${table.name}" contains null values`);
        }
        const key = newCodec.encodePrimaryKey(row);
        const id = keyId(key);
        if (seen.has(id)) {
          throw new SqlError(SqlState.uniqueViolation, `could not create unique index "${name}"`, { detail: `Key (${cols.map((x) => x.name).join(', ')}) is duplicated.` });
        }
        seen.add(id);
        c.cat.txn.put(key, newCodec.encodeValue(row));
        c.cat.txn.delete(p.key);
      }
    }
    c.cat.put(full);
    c.cat.txn.writtenTables.add(table.id);
  }

  private dropConstraint(table: TableDescriptor, name: string, ifExists: boolean, c: DdlCtx): void {
    const idx = table.indexes.find((i) => i.constraintName === name && !i.primary);
    if (idx !== undefined) {
      c.cat.put({ ...table, indexes: table.indexes.filter((i) => i.id !== idx.id) });
      c.cat.background.push(() => this.clearRange(indexRange(table.id, idx.id)));
      return;
    }
    if (table.primaryIndex.constraintName === name) throw new SqlError(SqlState.featureNotSupported, 'dropping a primary key is not supported');
    if (table.checks.some((ch) => ch.name === name)) {
      c.cat.put({ ...table, checks: table.checks.filter((ch) => ch.name !== name) });
      return;
    }
    if (ifExists) {
      c.sink.notice({ severity: 'NOTICE', code: SqlState.undefinedObject, message: `constraint "${name}" of relation "${table.name}" does not exist, skipping` });
      return;
    }
    throw new SqlError(SqlState.undefinedObject, `constraint "${name}" of relation "${table.name}" does not exist`);
  }

  // ---- TRUNCATE --------------------------------------------------------------------------------------------

  private async truncate(s: Extract<Ddl, { kind: 'truncate' }>, c: DdlCtx): Promise<undefined> {
    const tables = s.tables.map((qn) => {
      const { table } = c.names.requireTable(qn, 'TRUNCATE');
      if (table.view !== undefined || table.sequence !== undefined) throw new SqlError(SqlState.wrongObjectType, `"${table.name}" is not a table`);
      return table;
    });
    for (const t of tables) {
      const range = tableRange(t.id);
      let from = range.start;
      for (;;) {
        const page = await c.cat.txn.scan(from, range.end, CLEAR_BATCH_KEYS);
        for (const p of page) c.cat.txn.delete(p.key);
        if (page.length < CLEAR_BATCH_KEYS) break;
        from = new Uint8Array([...page[page.length - 1]!.key, 0]);
      }
      c.cat.txn.writtenTables.add(t.id);
      if (s.restartIdentity) {
        for (const seq of c.cat.view().tablesOf(t.schemaId)) {
          if (seq.sequence?.ownedBy?.tableId === t.id) c.cat.txn.delete(sequenceValueKey(seq.id));
        }
      }
    }
    return undefined;
  }
}

class StaticRows {
  constructor(
    readonly columns: ReturnType<typeof planColumn>[],
    private readonly rows: Row[],
  ) {}
  open() {
    let done = false;
    return {
      next: async () => {
        if (done || this.rows.length === 0) return null;
        done = true;
        return this.rows;
      },
      close: () => {},
    };
  }
  explain() {
    return { title: 'rows', details: [], children: [] };
  }
}

function containsColumnRef(e: Expr): boolean {
  let found = false;
  const visit = (x: unknown): void => {
    if (found || x === null || typeof x !== 'object') return;
    const n = x as { kind?: string };
    if (n.kind === 'column') {
      found = true;
      return;
    }
    if (n.kind === 'subquery' || n.kind === 'exists') return;
    for (const v of Object.values(x as Record<string, unknown>)) {
      if (Array.isArray(v)) v.forEach(visit);
      else if (v !== null && typeof v === 'object') visit(v);
    }
  };
  visit(e);
  return found;
}

function columnNamesIn(e: Expr): string[] {
  const out: string[] = [];
  const visit = (x: unknown): void => {
    if (x === null || typeof x !== 'object') return;
    const n = x as { kind?: string; parts?: string[] };
    if (n.kind === 'column' && n.parts !== undefined && n.parts.length > 0) out.push(n.parts[n.parts.length - 1]!);
    for (const v of Object.values(x as Record<string, unknown>)) {
      if (Array.isArray(v)) v.forEach(visit);
      else if (v !== null && typeof v === 'object') visit(v);
    }
  };
  visit(e);
  return out;
}

import * as parserModule from '../parser/parser.js';
function requireParser(): typeof parserModule {
  return parserModule;
}

export { NO_TYPMOD, encodeU64 };
