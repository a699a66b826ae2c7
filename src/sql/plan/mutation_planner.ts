// Planning INSERT, UPSERT, UPDATE and DELETE: target columns, defaults, assignment coercion to
// the columns' types, ON CONFLICT, RETURNING, and the scan that finds the rows to change (with the
// WHERE clause pushed into it like a SELECT's).
import type { ColumnDescriptor, TableDescriptor } from '../catalog/descriptors.js';
import { SqlError, SqlState } from '../errors.js';
import type { Expr, Statement, Target } from '../parser/ast.js';
import { parseSql } from '../parser/parser.js';
import { formatType } from '../types/oids.js';
import { resolveUnknown } from './binder.js';
import type { BoundExpr } from './bound.js';
import { coerce } from './coercion.js';
import { planColumn, type PlanColumn, type PlanNode } from './plan_node.js';
import type { QueryPlanner } from './planner.js';
import { Scope, type ScopeColumn } from './scope.js';
import { DeleteNode, InsertNode, UpdateNode, type CheckSpec, type OnConflictSpec } from '../exec/mutations.js';
import { ProjectNode, ValuesNode } from '../exec/nodes.js';

type InsertStmt = Extract<Statement, { kind: 'insert' }>;
type UpdateStmt = Extract<Statement, { kind: 'update' }>;
type DeleteStmt = Extract<Statement, { kind: 'delete' }>;

export interface PlannedMutation {
  readonly plan: InsertNode | UpdateNode | DeleteNode;
  /** RETURNING columns, or empty. */
  readonly names: readonly string[];
  readonly returns: boolean;
}

function tableScope(table: TableDescriptor, alias: string, parent: Scope | undefined, offset = 0, withHidden = true): Scope {
  const cols: ScopeColumn[] = [];
  table.columns.forEach((c, i) => {
    if (c.state !== 'public') return;
    if (c.hidden && !withHidden) return;
    cols.push({ name: c.name, relation: alias, type: c.type, expr: { k: 'column', type: c.type, index: offset + i }, hidden: c.hidden, tableOid: table.id, attnum: c.id });
  });
  return new Scope(cols, parent);
}

/** Parses a stored default/check expression. */
function parseStoredExpr(text: string, what: string): Expr {
  const stmt = parseSql(`SELECT ${text}`)[0]?.statement;
  if (stmt?.kind !== 'query' || stmt.query.kind !== 'select' || stmt.query.targets.length !== 1) {
    throw new SqlError(SqlState.dataCorrupted, `${what} "${text}" cannot be parsed`);
  }
  return stmt.query.targets[0]!.expr;
}

export class MutationPlanner {
  constructor(private readonly planner: QueryPlanner) {}

  private get binder() {
    return this.planner.binder;
  }

  private requireWritable(name: Extract<Statement, { kind: 'insert' }>['table'], verb: string): TableDescriptor {
    const { table } = this.planner.names.requireTable(name, verb);
    if (table.view !== undefined) throw new SqlError(SqlState.objectNotInPrerequisiteState, `cannot ${verb.toLowerCase()} view "${table.name}"`, { detail: 'Views are read-only in Cairn.' });
    if (table.sequence !== undefined) throw new SqlError(SqlState.wrongObjectType, `cannot change sequence "${table.name}"`);
    return table;
  }

  /** The expression filling a column the statement does not set. */
  defaultFor(table: TableDescriptor, c: ColumnDescriptor): BoundExpr {
    if (c.defaultExpr === undefined) return { k: 'const', type: c.type, value: null };
    const bound = this.binder.bind(parseStoredExpr(c.defaultExpr, `default of column "${c.name}"`), new Scope([], undefined), { clause: 'DEFAULT' });
    return this.assign(bound, c, table);
  }

  assign(e: BoundExpr, c: ColumnDescriptor, _table: TableDescriptor): BoundExpr {
    return coerce(e, c.type, 'assignment', this.planner.env, () => `column "${c.name}" is of type ${formatType(c.type)} but expression is of type ${formatType(e.type)}`);
  }

  checksOf(table: TableDescriptor, alias: string): CheckSpec[] {
    if (table.checks.length === 0) return [];
    const scope = tableScope(table, alias, undefined);
    return table.checks.map((ch) => ({ name: ch.name, expr: this.binder.bindCondition(parseStoredExpr(ch.expr, `check constraint "${ch.name}"`), scope, { clause: 'CHECK' }) }));
  }

  private returningOf(targets: readonly Target[], scope: Scope): { exprs: BoundExpr[]; columns: PlanColumn[]; names: string[] } | undefined {
    if (targets.length === 0) return undefined;
    const exprs: BoundExpr[] = [];
    const names: string[] = [];
    for (const t of targets) {
      if (t.expr.kind === 'column' && t.expr.star) {
        const rel = t.expr.parts.length > 0 ? t.expr.parts[t.expr.parts.length - 1] : undefined;
        for (const c of scope.columns) {
          if (c.hidden || (rel !== undefined && c.relation !== rel)) continue;
          exprs.push(c.expr);
          names.push(c.name);
        }
        continue;
      }
      exprs.push(resolveUnknown(this.binder.bind(t.expr, scope, { clause: 'RETURNING' }), this.planner.env));
      names.push(t.alias ?? (t.expr.kind === 'column' ? t.expr.parts[t.expr.parts.length - 1]! : t.expr.kind === 'func' ? t.expr.name[t.expr.name.length - 1]! : '?column?'));
    }
    return { exprs, names, columns: exprs.map((e, i) => planColumn(names[i]!, e.type)) };
  }

  planInsert(s: InsertStmt): PlannedMutation {
    if (s.with !== undefined) throw new SqlError(SqlState.featureNotSupported, 'WITH in INSERT is not supported');
    const table = this.requireWritable(s.table, 'INSERT');
    const alias = s.alias ?? table.name;
    // Target positions in the table row.
    let targets: number[];
    if (s.columns !== undefined) {
      targets = [];
      for (const name of s.columns) {
        const i = table.columns.findIndex((c) => c.name === name && c.state === 'public');
        if (i < 0) throw new SqlError(SqlState.undefinedColumn, `column "${name}" of relation "${table.name}" does not exist`);
        if (targets.includes(i)) throw new SqlError(SqlState.duplicateColumn, `column "${name}" specified more than once`);
        targets.push(i);
      }
    } else {
      targets = table.columns.map((c, i) => ({ c, i })).filter((x) => x.c.state === 'public' && !x.c.hidden).map((x) => x.i);
    }
    const width = table.columns.length;
    const defaults = new Map<number, BoundExpr>();
    const defaultOf = (i: number): BoundExpr => {
      let d = defaults.get(i);
      if (d === undefined) {
        d = this.defaultFor(table, table.columns[i]!);
        defaults.set(i, d);
      }
      return d;
    };
    let source: PlanNode;
    const emptyScope = new Scope([], undefined);
    const fullRow = (values: Map<number, BoundExpr>): BoundExpr[] => {
      const row: BoundExpr[] = [];
      for (let i = 0; i < width; i++) {
        const c = table.columns[i]!;
        if (c.state === 'deleteOnly') row.push({ k: 'const', type: c.type, value: null });
        else row.push(values.get(i) ?? defaultOf(i));
      }
      return row;
    };
    const q = s.source;
    if (q === undefined) {
      source = new ValuesNode(table.columns.map((c) => planColumn(c.name, c.type)), [fullRow(new Map())]);
    } else if (q.kind === 'values' && q.with === undefined && q.orderBy.length === 0 && q.limit === undefined && q.offset === undefined) {
      const rows = q.rows.map((r) => {
        if (r.length > targets.length) throw new SqlError(SqlState.syntaxError, 'INSERT has more expressions than target columns');
        if (r.length < targets.length && s.columns !== undefined) throw new SqlError(SqlState.syntaxError, 'INSERT has more target columns than expressions');
        const values = new Map<number, BoundExpr>();
        r.forEach((e, j) => {
          const pos = targets[j]!;
          const c = table.columns[pos]!;
          values.set(pos, e.kind === 'default' ? defaultOf(pos) : this.assign(this.binder.bind(e, emptyScope, { clause: 'VALUES' }), c, table));
        });
        return fullRow(values);
      });
      source = new ValuesNode(table.columns.map((c) => planColumn(c.name, c.type)), rows);
    } else {
      const planned = this.planner.planQuery(q, undefined, this.planner.emptyCtes());
      const cols = planned.plan.columns;
      if (cols.length > targets.length) throw new SqlError(SqlState.syntaxError, 'INSERT has more expressions than target columns');
      if (cols.length < targets.length && s.columns !== undefined) throw new SqlError(SqlState.syntaxError, 'INSERT has more target columns than expressions');
      const values = new Map<number, BoundExpr>();
      cols.forEach((col, j) => {
        const pos = targets[j]!;
        values.set(pos, this.assign({ k: 'column', type: col.type, index: j }, table.columns[pos]!, table));
      });
      source = new ProjectNode(planned.plan, fullRow(values), table.columns.map((c) => planColumn(c.name, c.type)));
    }
    // ON CONFLICT / UPSERT
    let onConflict: OnConflictSpec | undefined;
    const oc = s.onConflict;
    if (s.upsert) {
      const pk = new Set(table.primaryIndex.columns.map((c) => c.columnId));
      const set = targets.filter((i) => !pk.has(table.columns[i]!.id)).map((i) => ({ position: i, expr: { k: 'column', type: table.columns[i]!.type, index: width + i } as BoundExpr }));
      onConflict = { index: table.primaryIndex, action: set.length === 0 ? 'nothing' : 'update', set, where: undefined };
    } else if (oc !== undefined) {
      let index = undefined as OnConflictSpec['index'];
      if (oc.constraint !== undefined) {
        index = table.indexes.find((i) => (i.constraintName ?? i.name) === oc.constraint || i.name === oc.constraint);
        if (index === undefined) throw new SqlError(SqlState.undefinedObject, `constraint "${oc.constraint}" for table "${table.name}" does not exist`);
      } else if (oc.targetColumns.length > 0) {
        const ids = oc.targetColumns.map((n) => {
          const c = table.columns.find((x) => x.name === n && x.state === 'public');
          if (c === undefined) throw new SqlError(SqlState.undefinedColumn, `column "${n}" does not exist`);
          return c.id;
        });
        index = table.indexes.find((i) => (i.unique || i.primary) && i.state === 'public' && i.columns.length === ids.length && i.columns.every((c) => ids.includes(c.columnId)));
        if (index === undefined) throw new SqlError(SqlState.invalidColumnReference, 'there is no unique or exclusion constraint matching the ON CONFLICT specification');
      } else if (oc.action === 'update') {
        throw new SqlError(SqlState.syntaxError, 'ON CONFLICT DO UPDATE requires inference specification or constraint name', { hint: 'For example, ON CONFLICT (column_name).' });
      }
      let set: Array<{ position: number; expr: BoundExpr }> = [];
      let where: BoundExpr | undefined;
      if (oc.action === 'update') {
        const existing = tableScope(table, alias, undefined);
        const excluded = tableScope(table, 'excluded', undefined, width);
        const scope = new Scope([...existing.columns, ...excluded.columns], undefined);
        set = oc.set.map((sc) => {
          if (sc.path.length > 0) throw new SqlError(SqlState.featureNotSupported, 'assigning to fields or elements is not supported');
          const i = table.columns.findIndex((c) => c.name === sc.column && c.state === 'public');
          if (i < 0) throw new SqlError(SqlState.undefinedColumn, `column "${sc.column}" of relation "${table.name}" does not exist`);
          const c = table.columns[i]!;
          const expr = sc.value.kind === 'default' ? this.defaultFor(table, c) : this.assign(this.binder.bind(sc.value, scope, { clause: 'UPDATE' }), c, table);
          return { position: i, expr };
        });
        if (oc.where !== undefined) where = this.binder.bindCondition(oc.where, scope, { clause: 'WHERE' });
      }
      onConflict = { index, action: oc.action, set, where };
    }
    const returning = this.returningOf(s.returning, tableScope(table, alias, undefined));
    const node = new InsertNode(table, source, this.checksOf(table, alias), onConflict, returning?.exprs, returning?.columns ?? []);
    return { plan: node, names: returning?.names ?? [], returns: returning !== undefined };
  }

  planUpdate(s: UpdateStmt): PlannedMutation {
    if (s.with !== undefined) throw new SqlError(SqlState.featureNotSupported, 'WITH in UPDATE is not supported');
    const table = this.requireWritable(s.table, 'UPDATE');
    const alias = s.alias ?? table.name;
    const { node, scope } = this.planner.planFromAndWhere(
      [{ kind: 'table', name: s.table, ...(s.alias ? { alias: { name: s.alias, columns: [] } } : {}), only: false }, ...s.from],
      s.where,
      undefined,
      this.planner.emptyCtes(),
    );
    const seen = new Set<number>();
    const set = s.set.map((sc) => {
      if (sc.path.length > 0) throw new SqlError(SqlState.featureNotSupported, 'assigning to fields or elements is not supported');
      const i = table.columns.findIndex((c) => c.name === sc.column && c.state === 'public' && !c.hidden);
      if (i < 0) throw new SqlError(SqlState.undefinedColumn, `column "${sc.column}" of relation "${table.name}" does not exist`).withPosition(sc.location + 1);
      if (seen.has(i)) throw new SqlError(SqlState.syntaxError, `multiple assignments to same column "${sc.column}"`);
      seen.add(i);
      const c = table.columns[i]!;
      const expr = sc.value.kind === 'default' ? this.defaultFor(table, c) : this.assign(this.binder.bind(sc.value, scope, { clause: 'UPDATE' }), c, table);
      return { position: i, expr };
    });
    const returning = this.returningOf(s.returning, scope);
    const single = s.from.length === 0;
    const recheck = single && s.where !== undefined ? this.binder.bindCondition(s.where, tableScope(table, alias, undefined), { clause: 'WHERE' }) : undefined;
    const plan = new UpdateNode(table, node, set, this.checksOf(table, alias), returning?.exprs, returning?.columns ?? [], recheck, single);
    return { plan, names: returning?.names ?? [], returns: returning !== undefined };
  }

  planDelete(s: DeleteStmt): PlannedMutation {
    if (s.with !== undefined) throw new SqlError(SqlState.featureNotSupported, 'WITH in DELETE is not supported');
    const table = this.requireWritable(s.table, 'DELETE');
    const { node, scope } = this.planner.planFromAndWhere(
      [{ kind: 'table', name: s.table, ...(s.alias ? { alias: { name: s.alias, columns: [] } } : {}), only: false }, ...s.using],
      s.where,
      undefined,
      this.planner.emptyCtes(),
    );
    const returning = this.returningOf(s.returning, scope);
    const single = s.using.length === 0;
    const recheck = single && s.where !== undefined ? this.binder.bindCondition(s.where, tableScope(table, s.alias ?? table.name, undefined), { clause: 'WHERE' }) : undefined;
    const plan = new DeleteNode(table, node, returning?.exprs, returning?.columns ?? [], recheck, single);
    return { plan, names: returning?.names ?? [], returns: returning !== undefined };
  }
}

