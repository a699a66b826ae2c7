// Queries to executable plans. A SELECT is planned in the order SQL defines its meaning: FROM (with
// joins, and WHERE conjuncts pushed down to the tables and joins they mention), GROUP BY and
// aggregates, HAVING, window functions, the select list, DISTINCT, ORDER BY, LIMIT/OFFSET. Set
// operations and VALUES unify their columns' types; WITH queries are materialized once per
// execution; subqueries in expressions are planned with the enclosing scope as their parent.
import { SqlError, SqlState } from '../errors.js';
import type { TableDescriptor } from '../catalog/descriptors.js';
import type { NameResolver, VirtualSchemaName } from '../catalog/resolver.js';
import { lookupFunction, resolveOverload } from '../functions/registry.js';
import type { CommonTable, Expr, FromItem, Query, SelectQuery, SetOpQuery, SortItem, Target, ValuesQuery, WindowSpec } from '../parser/ast.js';
import { parseSql } from '../parser/parser.js';
import type { Row } from '../types/datum.js';
import { NO_TYPMOD, Oid, Types, type SqlType } from '../types/oids.js';
import { chooseAccessPath } from './access.js';
import { ExprBinder, resolveUnknown, type BindEnv, type BindOptions, type CollectedAggregate, type CollectedWindow, type SubqueryPlanner } from './binder.js';
import type { BoundExpr, BoundSubquery } from './bound.js';
import { columnsUsed, conjuncts, hasSubquery, isVolatile, remapColumns } from './bound.js';
import { coerce, commonType } from './coercion.js';
import { bindComparison, comparator } from './operators.js';
import { planColumn, type PlanColumn, type PlanNode } from './plan_node.js';
import { exprKey, Scope, type ScopeColumn } from './scope.js';
import {
  ApplyJoinNode,
  DistinctNode,
  FilterNode,
  FunctionScanNode,
  HashAggregateNode,
  HashJoinNode,
  LimitNode,
  MaterializedNode,
  NestedLoopJoinNode,
  ProjectNode,
  SetOpNode,
  SortNode,
  ValuesNode,
  WindowNode,
  collect,
  type AggregateCall,
  type FrameBound,
  type JoinType,
  type SortKey,
  type WindowCall,
} from '../exec/nodes.js';
import { TableScanNode } from '../exec/scan.js';
import { tableCodec } from '../exec/table_codec.js';
import type { ExecContext } from '../exec/context.js';

/** Supplies the rows of virtual tables (pg_catalog, information_schema). */
export interface VirtualTableSource {
  has(schema: VirtualSchemaName, name: string): boolean;
  columns(schema: VirtualSchemaName, name: string): ReadonlyArray<{ readonly name: string; readonly type: SqlType }>;
  rows(schema: VirtualSchemaName, name: string, ctx: ExecContext): Promise<Row[]> | Row[];
}

/** How deep views and subqueries may nest (guards against a view defined in terms of itself). */
const MAX_NESTING = 64;
/** Iterations a recursive WITH query may take. */
const MAX_RECURSION_ITERATIONS = 100_000;

interface CteBinding {
  readonly def: CommonTable;
  readonly columns: readonly PlanColumn[];
  /** Produces the rows (materialized once per execution). */
  readonly source: (ctx: ExecContext) => Promise<Row[]>;
}

export class CteEnv {
  constructor(
    readonly parent: CteEnv | undefined,
    readonly bindings: Map<string, CteBinding> = new Map(),
  ) {}
  lookup(name: string): CteBinding | undefined {
    return this.bindings.get(name) ?? this.parent?.lookup(name);
  }
}

/** A FROM item being planned: its row width, its scope columns (positions local to it), and how to build it. */
interface Rel {
  readonly width: number;
  readonly columns: ScopeColumn[];
  /** For base tables: the table and predicates pushed onto it (in the table's row layout). */
  readonly base?: { readonly table: TableDescriptor; readonly filters: BoundExpr[]; readonly alias: string };
  /** For other items: the node (filters pushed onto it are applied on top). */
  node?: PlanNode;
  readonly pushed: BoundExpr[];
  readonly lateral?: boolean;
}

export interface PlannedQuery {
  readonly plan: PlanNode;
  /** Output column names (plan.columns carries the same names). */
  readonly names: readonly string[];
}

function deriveName(e: Expr): string {
  switch (e.kind) {
    case 'column':
      return e.parts[e.parts.length - 1] ?? '?column?';
    case 'func':
      return e.name[e.name.length - 1]!.toLowerCase();
    case 'cast':
      return e.arg.kind === 'const' ? (e.type.names[e.type.names.length - 1] ?? '?column?') : deriveName(e.arg);
    case 'case':
      return 'case';
    case 'coalesce':
      return 'coalesce';
    case 'nullif':
      return 'nullif';
    case 'greatest':
    case 'least':
      return e.kind;
    case 'exists':
      return 'exists';
    case 'array':
    case 'arraySubquery':
      return 'array';
    case 'row':
      return 'row';
    case 'sqlValue':
      return e.fn === 'current_timestamp' ? 'current_timestamp' : e.fn;
    case 'subquery': {
      const q = e.query;
      if (q.kind === 'select' && q.targets.length === 1) return q.targets[0]!.alias ?? deriveName(q.targets[0]!.expr);
      return '?column?';
    }
    case 'collate':
      return deriveName(e.arg);
    default:
      return '?column?';
  }
}

/** Whether an expression (outside subqueries) calls an aggregate function without OVER. */
function containsAggregate(e: Expr | undefined): boolean {
  if (e === undefined) return false;
  let found = false;
  const visit = (x: unknown): void => {
    if (found || x === null || typeof x !== 'object') return;
    const node = x as { kind?: string };
    if (node.kind === 'subquery' || node.kind === 'exists' || node.kind === 'quantifiedSubquery' || node.kind === 'arraySubquery') {
      // Aggregates inside a subquery belong to it, except for its left operand.
      if (node.kind === 'quantifiedSubquery') visit((x as { left: unknown }).left);
      return;
    }
    if (node.kind === 'func') {
      const f = x as Extract<Expr, { kind: 'func' }>;
      if (f.over === undefined) {
        const def = lookupFunction(f.name[f.name.length - 1]!);
        if (def !== undefined && def.aggregate.length > 0 && (def.scalar.length === 0 || f.star || f.distinct)) {
          found = true;
          return;
        }
      }
    }
    for (const v of Object.values(x as Record<string, unknown>)) {
      if (Array.isArray(v)) v.forEach(visit);
      else if (v !== null && typeof v === 'object') visit(v);
    }
  };
  visit(e);
  return found;
}

export class QueryPlanner implements SubqueryPlanner {
  readonly binder: ExprBinder;
  private depth = 0;

  constructor(
    readonly env: BindEnv,
    readonly names: NameResolver,
    readonly virtualTables: VirtualTableSource,
  ) {
    this.binder = new ExprBinder(env);
    env.subqueries = this;
  }

  // ---- entry points ------------------------------------------------------------------------------------

  /** A CTE environment with nothing in it (for statements planned outside a query). */
  emptyCtes(): CteEnv {
    return new CteEnv(undefined);
  }

  planTopQuery(query: Query): PlannedQuery {
    const planned = this.planQuery(query, undefined, new CteEnv(undefined));
    // Output columns still of unknown type (SELECT 'x', SELECT NULL, SELECT $1) become text.
    const cols = planned.plan.columns;
    if (cols.some((c) => c.type.oid === Oid.unknown)) {
      const exprs: BoundExpr[] = cols.map((c, i) => resolveUnknown({ k: 'column', type: c.type, index: i }, this.env));
      const columns = cols.map((c, i) => ({ ...c, type: exprs[i]!.type }));
      return { plan: new ProjectNode(planned.plan, exprs, columns), names: planned.names };
    }
    return planned;
  }

  planSubquery(query: Query, parent: Scope): BoundSubquery {
    const inner = new Scope([], parent, undefined, true);
    const planned = this.planQuery(query, inner, new CteEnv(this.currentCtes));
    return { plan: planned.plan, correlated: inner.usedByInner || parent.usedByInner || this.scopeChainUsed(inner) };
  }

  private scopeChainUsed(s: Scope): boolean {
    return s.usedByInner;
  }

  /** The CTEs visible at the point of planning (for subqueries in expressions). */
  private currentCtes: CteEnv | undefined;

  planQuery(query: Query, parent: Scope | undefined, ctes: CteEnv): PlannedQuery {
    if (++this.depth > MAX_NESTING) throw new SqlError(SqlState.statementTooComplex, `queries nest more than ${MAX_NESTING} levels deep`);
    const saved = this.currentCtes;
    try {
      let env = ctes;
      if (query.with !== undefined) env = this.planWith(query.with, parent, ctes);
      this.currentCtes = env;
      switch (query.kind) {
        case 'select':
          return this.planSelect(query, parent, env);
        case 'values':
          return this.planValues(query, parent, env);
        case 'setop':
          return this.planSetOp(query, parent, env);
      }
    } finally {
      this.depth--;
      this.currentCtes = saved;
    }
  }

  // ---- WITH ------------------------------------------------------------------------------------------------

  private planWith(w: NonNullable<Query['with']>, parent: Scope | undefined, outer: CteEnv): CteEnv {
    const env = new CteEnv(outer);
    for (const def of w.tables) {
      if (env.bindings.has(def.name)) throw new SqlError(SqlState.duplicateAlias, `WITH query name "${def.name}" specified more than once`).withPosition(def.location + 1);
      const recursive = w.recursive && this.referencesName(def.query, def.name);
      if (recursive) env.bindings.set(def.name, this.planRecursiveCte(def, parent, env));
      else {
        const planned = this.planQuery(def.query, parent === undefined ? undefined : link(parent), env);
        const columns = this.renameColumns(planned.plan.columns, def.columns, def.name);
        const key = {};
        const plan = planned.plan;
        env.bindings.set(def.name, {
          def,
          columns,
          source: async (ctx) => {
            const cached = ctx.materialized.get(key);
            if (cached !== undefined) return cached;
            const rows = await collect(plan.open(ctx), ctx, `WITH query "${def.name}"`);
            ctx.materialized.set(key, rows);
            return rows;
          },
        });
      }
    }
    return env;
  }

  private referencesName(q: Query, name: string): boolean {
    let found = false;
    const visit = (x: unknown): void => {
      if (found || x === null || typeof x !== 'object') return;
      const n = x as { kind?: string; name?: { parts?: string[] } };
      if (n.kind === 'table' && n.name?.parts?.length === 1 && n.name.parts[0] === name) {
        found = true;
        return;
      }
      for (const v of Object.values(x as Record<string, unknown>)) {
        if (Array.isArray(v)) v.forEach(visit);
        else if (v !== null && typeof v === 'object') visit(v);
      }
    };
    visit(q);
    return found;
  }

  private planRecursiveCte(def: CommonTable, parent: Scope | undefined, env: CteEnv): CteBinding {
    const q = def.query;
    if (q.kind !== 'setop' || q.op !== 'union') {
      throw new SqlError(SqlState.invalidRecursion, `recursive query "${def.name}" does not have the form non-recursive-term UNION [ALL] recursive-term`).withPosition(def.location + 1);
    }
    const base = this.planQuery(q.left, parent === undefined ? undefined : link(parent), env);
    const columns = this.renameColumns(base.plan.columns, def.columns, def.name);
    const holder: { rows: Row[] } = { rows: [] };
    const working: CteBinding = { def, columns, source: async () => holder.rows };
    const inner = new CteEnv(env, new Map([[def.name, working]]));
    const rec = this.planQuery(q.right, parent === undefined ? undefined : link(parent), inner);
    if (rec.plan.columns.length !== columns.length) throw new SqlError(SqlState.datatypeMismatch, `each UNION query must have the same number of columns`);
    const recPlan = this.castColumns(rec.plan, columns.map((c) => c.type));
    const basePlan = base.plan;
    const all = q.all;
    const key = {};
    return {
      def,
      columns,
      source: async (ctx) => {
        const cached = ctx.materialized.get(key);
        if (cached !== undefined) return cached;
        const oids = columns.map((c) => c.type.oid);
        const seen = new Set<string>();
        const { rowKey } = await import('../exec/nodes.js');
        const out: Row[] = [];
        const keep = (rows: Row[]): Row[] => {
          if (all) return rows;
          const fresh: Row[] = [];
          for (const r of rows) {
            const k = rowKey(r, oids);
            if (!seen.has(k)) {
              seen.add(k);
              fresh.push(r);
            }
          }
          return fresh;
        };
        let current = keep(await collect(basePlan.open(ctx), ctx, `WITH RECURSIVE query "${def.name}"`));
        out.push(...current);
        for (let i = 0; current.length > 0; i++) {
          if (i >= MAX_RECURSION_ITERATIONS || out.length > ctx.memoryRowLimit) {
            throw new SqlError(SqlState.programLimitExceeded, `recursive query "${def.name}" exceeded ${MAX_RECURSION_ITERATIONS} iterations or ${ctx.memoryRowLimit} rows`);
          }
          holder.rows = current;
          current = keep(await collect(recPlan.open(ctx), ctx, `WITH RECURSIVE query "${def.name}"`));
          out.push(...current);
        }
        ctx.materialized.set(key, out);
        return out;
      },
    };
  }

  private renameColumns(cols: readonly PlanColumn[], names: readonly string[], what: string): PlanColumn[] {
    if (names.length > cols.length) throw new SqlError(SqlState.invalidColumnReference, `${what} has ${cols.length} columns available but ${names.length} columns specified`);
    return cols.map((c, i) => ({ ...c, name: names[i] ?? c.name }));
  }

  // ---- VALUES and set operations --------------------------------------------------------------------------

  private planValues(q: ValuesQuery, parent: Scope | undefined, ctes: CteEnv): PlannedQuery {
    const scope = new Scope([], parent);
    const width = q.rows[0]?.length ?? 0;
    const bound = q.rows.map((r) => {
      if (r.length !== width) throw new SqlError(SqlState.syntaxError, 'VALUES lists must all be the same length');
      return r.map((e) => this.binder.bind(e, scope, { clause: 'VALUES' }));
    });
    const types: SqlType[] = [];
    for (let c = 0; c < width; c++) types.push(commonType(bound.map((r) => r[c]!.type), 'VALUES'));
    const rows = bound.map((r) => r.map((e, c) => coerce(e, types[c]!, 'implicit', this.env)));
    const names = types.map((_, i) => `column${i + 1}`);
    const node = new ValuesNode(
      types.map((t, i) => planColumn(names[i]!, t)),
      rows,
    );
    return this.finishOrderLimit(q, { plan: node, names }, parent, ctes);
  }

  private planSetOp(q: SetOpQuery, parent: Scope | undefined, ctes: CteEnv): PlannedQuery {
    const left = this.planQuery(q.left, parent === undefined ? undefined : link(parent), ctes);
    const right = this.planQuery(q.right, parent === undefined ? undefined : link(parent), ctes);
    const lc = left.plan.columns;
    const rc = right.plan.columns;
    const opName = q.op.toUpperCase();
    if (lc.length !== rc.length) throw new SqlError(SqlState.syntaxError, `each ${opName} query must have the same number of columns`);
    const types = lc.map((c, i) => {
      const t = commonType([c.type, rc[i]!.type], opName);
      return t.oid === Oid.unknown ? Types.text : t;
    });
    const l = this.castColumns(left.plan, types);
    const r = this.castColumns(right.plan, types);
    const columns = types.map((t, i) => planColumn(left.names[i]!, t));
    const node = new SetOpNode(columns, q.op, q.all, l, r);
    return this.finishOrderLimit(q, { plan: node, names: left.names }, parent, ctes);
  }

  /** A projection casting each column to the given type where it differs. */
  castColumns(plan: PlanNode, types: readonly SqlType[]): PlanNode {
    const cols = plan.columns;
    if (cols.every((c, i) => c.type.oid === types[i]!.oid)) return plan;
    const exprs = cols.map((c, i) => coerce({ k: 'column', type: c.type, index: i }, { oid: types[i]!.oid, typmod: NO_TYPMOD }, 'implicit', this.env));
    return new ProjectNode(plan, exprs, cols.map((c, i) => ({ ...c, type: types[i]! })));
  }

  /** ORDER BY / LIMIT on the output of VALUES or a set operation: by output column name or position. */
  private finishOrderLimit(q: Query, planned: PlannedQuery, parent: Scope | undefined, _ctes: CteEnv): PlannedQuery {
    let plan = planned.plan;
    if (q.orderBy.length > 0) {
      const scope = new Scope(
        plan.columns.map((c, i) => ({ name: c.name, relation: undefined, type: c.type, expr: { k: 'column', type: c.type, index: i }, hidden: false, tableOid: 0, attnum: 0 })),
        parent,
      );
      const keys: SortKey[] = q.orderBy.map((s) => {
        const ordinal = this.ordinal(s.expr, plan.columns.length);
        const bound =
          ordinal !== undefined
            ? { expr: { k: 'column', type: plan.columns[ordinal]!.type, index: ordinal } as BoundExpr, descending: s.direction === 'desc', nullsFirst: s.nulls === 'first' ? true : s.nulls === 'last' ? false : s.direction === 'desc' }
            : this.binder.bindSortItem(s, scope);
        return { ...bound, compare: comparator(bound.expr.type.oid) };
      });
      plan = new SortNode(plan, keys);
    }
    if (q.limit !== undefined || q.offset !== undefined) plan = new LimitNode(plan, this.bindLimit(q.limit, 'LIMIT'), this.bindLimit(q.offset, 'OFFSET'));
    return { plan, names: planned.names };
  }

  private ordinal(e: Expr, width: number): number | undefined {
    if (e.kind !== 'const' || e.value.type !== 'integer') return undefined;
    const n = Number(e.value.text);
    if (n < 1 || n > width) throw new SqlError(SqlState.invalidColumnReference, `ORDER BY position ${n} is not in select list`).withPosition(e.location + 1);
    return n - 1;
  }

  private bindLimit(e: Expr | undefined, what: string): BoundExpr | undefined {
    if (e === undefined) return undefined;
    if (e.kind === 'const' && e.value.type === 'null') return undefined;
    const b = this.binder.bind(e, new Scope([], undefined), { clause: what });
    if (b.type.oid === Oid.numeric || b.type.oid === Oid.float8 || b.type.oid === Oid.float4) return coerce(b, Types.int8, 'assignment', this.env);
    return coerce(b, Types.int8, 'implicit', this.env);
  }

  // ---- SELECT -----------------------------------------------------------------------------------------------

  private planSelect(q: SelectQuery, parent: Scope | undefined, ctes: CteEnv): PlannedQuery {
    if (q.into !== undefined) throw new SqlError(SqlState.featureNotSupported, 'SELECT INTO is not supported; use CREATE TABLE AS');
    if (q.locking.length > 0 && q.locking.some((l) => l.wait !== 'block')) throw new SqlError(SqlState.featureNotSupported, 'SKIP LOCKED / NOWAIT are not supported');
    if (q.groupBy.some((g) => g.kind !== 'expr' && g.kind !== 'empty')) throw new SqlError(SqlState.featureNotSupported, 'GROUPING SETS, ROLLUP and CUBE are not supported');
    // FROM and WHERE
    const { node: fromNode, scope } = this.planFromAndWhere(q.from, q.where, parent, ctes);
    let node = fromNode;

    const grouped = q.groupBy.length > 0 || q.having !== undefined || q.targets.some((t) => containsAggregate(t.expr)) || q.orderBy.some((s) => containsAggregate(s.expr));

    // The scope the select list, HAVING and ORDER BY are bound in.
    let outScope = scope;
    const aggregates: CollectedAggregate[] = [];
    let groupExprs: BoundExpr[] = [];
    if (grouped) {
      groupExprs = q.groupBy
        .filter((g): g is Extract<typeof g, { kind: 'expr' }> => g.kind === 'expr')
        .map((g) => this.bindGroupItem(g.expr, q.targets, scope));
      groupExprs = groupExprs.map((g) => resolveUnknown(g, this.env));
      const keys = groupExprs.map(exprKey);
      outScope = new Scope([], parent, {
        input: scope,
        keys,
        types: groupExprs.map((g) => g.type),
        hasComplexKeys: groupExprs.some((g) => g.k !== 'column'),
      });
    }
    const aggSink = grouped
      ? {
          input: scope,
          add: (agg: Omit<CollectedAggregate, 'key'>): BoundExpr => {
            const key = `${agg.name}|${agg.distinct}|${agg.star}|${agg.args.map(exprKey).join(',')}|${agg.filter ? exprKey(agg.filter) : ''}|${agg.orderBy.map((o) => exprKey(o.expr) + o.descending).join(',')}`;
            let i = aggregates.findIndex((a) => a.key === key);
            if (i < 0) {
              aggregates.push({ ...agg, key });
              i = aggregates.length - 1;
            }
            return { k: 'column', type: agg.type, index: groupExprs.length + i };
          },
        }
      : undefined;
    const windows: CollectedWindow[] = [];
    const namedWindows = new Map<string, WindowSpec>(q.windows.map((w) => [w.name ?? '', w]));
    const windowSink = {
      named: namedWindows,
      add: (w: CollectedWindow): BoundExpr => {
        windows.push(w);
        // The final position is known once the aggregates are; fixed up below.
        return { k: 'column', type: w.type, index: -windows.length };
      },
    };
    const opts: BindOptions = { ...(aggSink ? { aggregates: aggSink } : {}), windows: windowSink, clause: 'SELECT' };

    // Select list
    const targets: Array<{ expr: BoundExpr; name: string; col?: ScopeColumn }> = [];
    for (const t of q.targets) this.bindTarget(t, outScope, opts, targets);
    const having = q.having === undefined ? undefined : this.binder.bindCondition(q.having, outScope, { ...opts, windows: undefined, clause: 'HAVING' });

    // ORDER BY: by output name or position, else an expression over the input (a hidden column).
    const sortSpecs: Array<{ index: number; descending: boolean; nullsFirst: boolean }> = [];
    const hidden: BoundExpr[] = [];
    const distinctAll = q.distinct === true;
    for (const s of q.orderBy) sortSpecs.push(this.bindOrderItem(s, targets, hidden, outScope, opts, distinctAll));
    const distinctOn: number[] = [];
    if (Array.isArray(q.distinct)) {
      for (const d of q.distinct as Expr[]) {
        const spec = this.bindOrderItem({ expr: d, direction: 'default', nulls: 'default' }, targets, hidden, outScope, opts, false);
        distinctOn.push(spec.index);
      }
    }

    // Build: aggregation, HAVING, windows, projection, DISTINCT, ORDER BY, LIMIT.
    if (grouped) {
      const aggCalls: AggregateCall[] = aggregates.map((a) => ({
        name: a.name,
        overload: a.overload,
        argTypes: a.argTypes,
        args: a.args,
        distinct: a.distinct,
        filter: a.filter,
        orderBy: a.orderBy.map((o) => ({ ...o, compare: comparator(o.expr.type.oid) })),
        star: a.star,
      }));
      const columns = [
        ...groupExprs.map((g, i) => planColumn(`group${i}`, g.type)),
        ...aggregates.map((a) => planColumn(a.name, a.type)),
      ];
      node = new HashAggregateNode(node, groupExprs, aggCalls, columns);
      if (having !== undefined) node = new FilterNode(node, having);
    } else if (having !== undefined) {
      node = new FilterNode(node, having);
    }
    const fix = (e: BoundExpr): BoundExpr => (windows.length === 0 ? e : remapColumns(e, (i) => (i < 0 ? node.columns.length + (-i - 1) : i)));
    if (windows.length > 0) {
      const inputWidth = node.columns.length;
      const calls: WindowCall[] = windows.map((w) => ({
        overload: w.overload,
        aggregate:
          w.aggregate === undefined
            ? undefined
            : { name: w.aggregate.name, overload: w.aggregate.overload, argTypes: w.aggregate.argTypes, args: w.aggregate.args, distinct: false, filter: undefined, orderBy: [], star: w.aggregate.star },
        args: w.args,
        partitionBy: w.partitionBy,
        orderBy: w.orderBy.map((o) => ({ ...o, compare: comparator(o.expr.type.oid) })),
        frame: this.frameOf(w.spec),
      }));
      const fixedTargets = targets.map((t) => ({ ...t, expr: remapColumns(t.expr, (i) => (i < 0 ? inputWidth + (-i - 1) : i)) }));
      targets.splice(0, targets.length, ...fixedTargets);
      const fixedHidden = hidden.map((h) => remapColumns(h, (i) => (i < 0 ? inputWidth + (-i - 1) : i)));
      hidden.splice(0, hidden.length, ...fixedHidden);
      node = new WindowNode(node, calls, windows.map((w) => planColumn(w.name, w.type)));
    }
    const outputExprs = [...targets.map((t) => fix(t.expr)), ...hidden.map(fix)];
    const outputColumns = [
      ...targets.map((t) => planColumn(t.name, t.expr.type, t.col?.tableOid ?? 0, t.col?.attnum ?? 0)),
      ...hidden.map((h, i) => planColumn(`?sort${i}?`, h.type)),
    ];
    node = new ProjectNode(node, outputExprs, outputColumns);
    const sortKeys: SortKey[] = sortSpecs.map((s) => ({
      expr: { k: 'column', type: outputColumns[s.index]!.type, index: s.index },
      descending: s.descending,
      nullsFirst: s.nullsFirst,
      compare: comparator(outputColumns[s.index]!.type.oid),
    }));
    if (distinctAll) {
      node = new DistinctNode(node, targets.map((t, i) => ({ k: 'column', type: t.expr.type, index: i }) as BoundExpr));
      if (sortKeys.length > 0) node = new SortNode(node, sortKeys);
    } else if (distinctOn.length > 0) {
      // The first row of each group in ORDER BY order: sort by the DISTINCT ON columns first.
      const onKeys: SortKey[] = distinctOn.map((i) => ({ expr: { k: 'column', type: outputColumns[i]!.type, index: i }, descending: false, nullsFirst: false, compare: comparator(outputColumns[i]!.type.oid) }));
      node = new SortNode(node, [...sortKeys, ...onKeys.filter((k) => !sortKeys.some((s) => exprKey(s.expr) === exprKey(k.expr)))]);
      node = new DistinctNode(node, distinctOn.map((i) => ({ k: 'column', type: outputColumns[i]!.type, index: i }) as BoundExpr));
    } else if (sortKeys.length > 0) {
      node = new SortNode(node, sortKeys);
    }
    if (q.limit !== undefined || q.offset !== undefined) node = new LimitNode(node, this.bindLimit(q.limit, 'LIMIT'), this.bindLimit(q.offset, 'OFFSET'));
    if (hidden.length > 0) {
      node = new ProjectNode(
        node,
        targets.map((t, i) => ({ k: 'column', type: t.expr.type, index: i }) as BoundExpr),
        outputColumns.slice(0, targets.length),
      );
    }
    return { plan: node, names: targets.map((t) => t.name) };
  }

  private frameOf(spec: WindowSpec): WindowCall['frame'] {
    // PostgreSQL's FRAMEOPTION bits.
    const f = spec.frameOptions;
    const NONDEFAULT = 0x1;
    const RANGE = 0x2;
    const ROWS = 0x4;
    const START_UNBOUNDED_PRECEDING = 0x20;
    const END_UNBOUNDED_PRECEDING = 0x40;
    const START_UNBOUNDED_FOLLOWING = 0x80;
    const END_UNBOUNDED_FOLLOWING = 0x100;
    const START_CURRENT_ROW = 0x200;
    const END_CURRENT_ROW = 0x400;
    const START_OFFSET_PRECEDING = 0x800;
    const END_OFFSET_PRECEDING = 0x1000;
    const START_OFFSET_FOLLOWING = 0x2000;
    const END_OFFSET_FOLLOWING = 0x4000;
    if (!(f & NONDEFAULT)) return { mode: 'range', start: { kind: 'unboundedPreceding' }, end: { kind: 'currentRow' } };
    if (!(f & (RANGE | ROWS))) throw new SqlError(SqlState.featureNotSupported, 'GROUPS frames are not supported');
    const offsetOf = (e: Expr | undefined): number => {
      if (e?.kind === 'const' && e.value.type === 'integer') return Number(e.value.text);
      throw new SqlError(SqlState.featureNotSupported, 'window frame offsets must be integer constants');
    };
    const start: FrameBound =
      f & START_UNBOUNDED_PRECEDING
        ? { kind: 'unboundedPreceding' }
        : f & START_UNBOUNDED_FOLLOWING
          ? { kind: 'unboundedFollowing' }
          : f & START_CURRENT_ROW
            ? { kind: 'currentRow' }
            : f & START_OFFSET_PRECEDING
              ? { kind: 'preceding', offset: offsetOf(spec.frameStart) }
              : f & START_OFFSET_FOLLOWING
                ? { kind: 'following', offset: offsetOf(spec.frameStart) }
                : { kind: 'unboundedPreceding' };
    const end: FrameBound =
      f & END_UNBOUNDED_FOLLOWING
        ? { kind: 'unboundedFollowing' }
        : f & END_UNBOUNDED_PRECEDING
          ? { kind: 'unboundedPreceding' }
          : f & END_CURRENT_ROW
            ? { kind: 'currentRow' }
            : f & END_OFFSET_PRECEDING
              ? { kind: 'preceding', offset: offsetOf(spec.frameEnd) }
              : f & END_OFFSET_FOLLOWING
                ? { kind: 'following', offset: offsetOf(spec.frameEnd) }
                : { kind: 'currentRow' };
    if ((f & RANGE) && (start.kind === 'preceding' || start.kind === 'following' || end.kind === 'preceding' || end.kind === 'following')) {
      throw new SqlError(SqlState.featureNotSupported, 'RANGE frames with offsets are not supported');
    }
    return { mode: f & ROWS ? 'rows' : 'range', start, end };
  }

  /** GROUP BY item: an output position, an output column alias, or an expression over the input. */
  private bindGroupItem(e: Expr, targets: readonly Target[], scope: Scope): BoundExpr {
    if (e.kind === 'const' && e.value.type === 'integer') {
      const n = Number(e.value.text);
      if (n < 1 || n > targets.length) throw new SqlError(SqlState.invalidColumnReference, `GROUP BY position ${n} is not in select list`).withPosition(e.location + 1);
      const t = targets[n - 1]!;
      if (containsAggregate(t.expr)) throw new SqlError(SqlState.groupingError, 'aggregate functions are not allowed in GROUP BY').withPosition(e.location + 1);
      return this.binder.bind(t.expr, scope, { clause: 'GROUP BY' });
    }
    if (e.kind === 'column' && e.parts.length === 1 && scope.find(e.parts).length === 0) {
      const t = targets.find((x) => x.alias === e.parts[0]);
      if (t !== undefined) return this.binder.bind(t.expr, scope, { clause: 'GROUP BY' });
    }
    return this.binder.bind(e, scope, { clause: 'GROUP BY' });
  }

  private bindTarget(t: Target, scope: Scope, opts: BindOptions, out: Array<{ expr: BoundExpr; name: string; col?: ScopeColumn }>): void {
    const e = t.expr;
    if (e.kind === 'column' && e.star) {
      const source = scope.grouped ? scope.grouped.input : scope;
      let cols: ScopeColumn[];
      if (e.parts.length === 0) {
        cols = source.columns.filter((c) => !c.hidden && !c.qualifiedOnly);
        if (cols.length === 0 && source.columns.length === 0) throw new SqlError(SqlState.syntaxError, 'SELECT * with no tables specified is not valid').withPosition(e.location + 1);
      } else {
        const rel = e.parts[e.parts.length - 1]!;
        if (!source.hasRelation(rel)) throw new SqlError(SqlState.undefinedTable, `missing FROM-clause entry for table "${rel}"`).withPosition(e.location + 1);
        cols = source.relationColumns(rel);
      }
      for (const c of cols) {
        const expr = scope.grouped ? this.binder.resolveColumn(c.relation !== undefined && !c.unqualifiedOnly ? [c.relation, c.name] : [c.name], e.location, scope) : c.expr;
        out.push({ expr, name: c.name, col: c });
      }
      return;
    }
    let expr = this.binder.bind(e, scope, opts);
    let col: ScopeColumn | undefined;
    if (e.kind === 'column' && !scope.grouped) {
      const found = scope.find(e.parts);
      if (found.length === 1) col = found[0];
    }
    if (expr.type.oid === Oid.unknown && expr.k === 'const') expr = { ...expr };
    out.push({ expr, name: t.alias ?? deriveName(e), ...(col ? { col } : {}) });
  }

  private bindOrderItem(
    s: SortItem,
    targets: Array<{ expr: BoundExpr; name: string }>,
    hidden: BoundExpr[],
    scope: Scope,
    opts: BindOptions,
    distinct: boolean,
  ): { index: number; descending: boolean; nullsFirst: boolean } {
    const descending = s.direction === 'desc' || s.usingOp === '>';
    const nullsFirst = s.nulls === 'first' ? true : s.nulls === 'last' ? false : descending;
    const e = s.expr;
    if (e.kind === 'const' && e.value.type === 'integer') {
      const n = Number(e.value.text);
      if (n < 1 || n > targets.length) throw new SqlError(SqlState.invalidColumnReference, `ORDER BY position ${n} is not in select list`).withPosition(e.location + 1);
      return { index: n - 1, descending, nullsFirst };
    }
    if (e.kind === 'column' && e.parts.length === 1 && !e.star) {
      const matches = targets.map((t, i) => ({ t, i })).filter((x) => x.t.name === e.parts[0]);
      if (matches.length >= 1) {
        const keys = new Set(matches.map((m) => exprKey(m.t.expr)));
        if (keys.size > 1) throw new SqlError(SqlState.ambiguousColumn, `ORDER BY "${e.parts[0]}" is ambiguous`).withPosition(e.location + 1);
        return { index: matches[0]!.i, descending, nullsFirst };
      }
    }
    const bound = resolveUnknown(this.binder.bind(e, scope, { ...opts, clause: 'ORDER BY' }), this.env);
    const key = exprKey(bound);
    const existing = targets.findIndex((t) => exprKey(t.expr) === key);
    if (existing >= 0) return { index: existing, descending, nullsFirst };
    if (distinct) throw new SqlError(SqlState.invalidColumnReference, 'for SELECT DISTINCT, ORDER BY expressions must appear in select list').withPosition(('location' in e ? e.location : -1) + 1);
    const h = hidden.findIndex((x) => exprKey(x) === key);
    if (h >= 0) return { index: targets.length + h, descending, nullsFirst };
    hidden.push(bound);
    return { index: targets.length + hidden.length - 1, descending, nullsFirst };
  }

  // ---- FROM and WHERE ------------------------------------------------------------------------------------------

  /** Plans the FROM list and WHERE clause; returns the node and the scope of its rows. */
  planFromAndWhere(items: readonly FromItem[], where: Expr | undefined, parent: Scope | undefined, ctes: CteEnv): { node: PlanNode; scope: Scope } {
    if (items.length === 0) {
      const scope = new Scope([], parent);
      let node: PlanNode = new ValuesNode([], [[]]);
      if (where !== undefined) node = new FilterNode(node, this.binder.bindCondition(where, scope, { clause: 'WHERE' }));
      return { node, scope };
    }
    const rels: Rel[] = [];
    const offsets: number[] = [];
    let width = 0;
    const allColumns: ScopeColumn[] = [];
    for (const item of items) {
      const leftScope = new Scope(allColumns.slice(), parent);
      const rel = this.planFromItem(item, parent, ctes, leftScope);
      offsets.push(width);
      for (const c of rel.columns) allColumns.push(shiftColumn(c, width));
      width += rel.width;
      rels.push(rel);
    }
    this.checkDuplicateAliases(rels);
    const scope = new Scope(allColumns, parent);
    const filters = where === undefined ? [] : conjuncts(this.binder.bindCondition(where, scope, { clause: 'WHERE' }));
    const relOf = (pos: number): number => {
      for (let i = offsets.length - 1; i >= 0; i--) if (pos >= offsets[i]!) return i;
      return 0;
    };
    const top: BoundExpr[] = [];
    const pending: Array<{ expr: BoundExpr; rels: Set<number> }> = [];
    for (const f of filters) {
      const used = columnsUsed(f);
      const relsUsed = new Set([...used].map(relOf));
      if (hasSubquery(f) || isVolatile(f) || relsUsed.size === 0) {
        top.push(f);
        continue;
      }
      if (relsUsed.size === 1) {
        const i = [...relsUsed][0]!;
        this.pushFilter(rels[i]!, remapColumns(f, (p) => p - offsets[i]!));
        continue;
      }
      pending.push({ expr: f, rels: relsUsed });
    }
    let node = this.buildRel(rels[0]!);
    let accWidth = rels[0]!.width;
    for (let i = 1; i < rels.length; i++) {
      const rel = rels[i]!;
      const conds = pending.filter((p) => [...p.rels].every((r) => r <= i) && p.rels.has(i));
      for (const c of conds) pending.splice(pending.indexOf(c), 1);
      const right = this.buildRel(rel);
      if (rel.lateral) {
        node = new ApplyJoinNode('inner', node, right, conds.length === 0 ? undefined : andOf(conds.map((c) => c.expr)));
      } else node = this.joinNodes('inner', node, right, accWidth, conds.map((c) => c.expr));
      accWidth += rel.width;
    }
    const rest = [...pending.map((p) => p.expr), ...top];
    if (rest.length > 0) node = new FilterNode(node, andOf(rest));
    return { node, scope };
  }

  private checkDuplicateAliases(rels: Rel[]): void {
    const seen = new Set<string>();
    for (const r of rels) {
      const names = new Set(r.columns.filter((c) => c.relation !== undefined && !c.unqualifiedOnly).map((c) => c.relation!));
      for (const n of names) {
        if (seen.has(n) && r.base !== undefined) throw new SqlError(SqlState.duplicateAlias, `table name "${n}" specified more than once`);
        seen.add(n);
      }
    }
  }

  private pushFilter(rel: Rel, f: BoundExpr): void {
    if (rel.base !== undefined) rel.base.filters.push(f);
    else rel.pushed.push(f);
  }

  private buildRel(rel: Rel): PlanNode {
    if (rel.node !== undefined) {
      const n = rel.pushed.length > 0 ? new FilterNode(rel.node, andOf(rel.pushed)) : rel.node;
      rel.pushed.length = 0;
      rel.node = n;
      return n;
    }
    const base = rel.base!;
    const codec = tableCodec(base.table);
    const path = chooseAccessPath(base.table, base.filters);
    const node = new TableScanNode(codec, base.alias, path, base.filters.length === 0 ? undefined : andOf(base.filters));
    rel.node = node;
    return node;
  }

  /** Joins two nodes, using a hash join when some condition equates a left and a right expression. */
  private joinNodes(type: JoinType, left: PlanNode, right: PlanNode, leftWidth: number, conds: readonly BoundExpr[]): PlanNode {
    const leftKeys: BoundExpr[] = [];
    const rightKeys: BoundExpr[] = [];
    const residual: BoundExpr[] = [];
    for (const c of conds) {
      if (c.k === 'call' && c.name === '=' && c.args.length === 2 && !hasSubquery(c) && !isVolatile(c)) {
        const [a, b] = c.args as [BoundExpr, BoundExpr];
        const ua = [...columnsUsed(a)];
        const ub = [...columnsUsed(b)];
        const leftOnly = (u: number[]): boolean => u.length > 0 && u.every((p) => p < leftWidth);
        const rightOnly = (u: number[]): boolean => u.length > 0 && u.every((p) => p >= leftWidth);
        if (leftOnly(ua) && rightOnly(ub) && a.type.oid === b.type.oid) {
          leftKeys.push(a);
          rightKeys.push(remapColumns(b, (p) => p - leftWidth));
          continue;
        }
        if (leftOnly(ub) && rightOnly(ua) && a.type.oid === b.type.oid) {
          leftKeys.push(b);
          rightKeys.push(remapColumns(a, (p) => p - leftWidth));
          continue;
        }
      }
      residual.push(c);
    }
    const res = residual.length === 0 ? undefined : andOf(residual);
    if (leftKeys.length > 0) return new HashJoinNode(type === 'cross' ? 'inner' : type, left, right, leftKeys, rightKeys, res);
    return new NestedLoopJoinNode(type, left, right, res);
  }

  private planFromItem(item: FromItem, parent: Scope | undefined, ctes: CteEnv, leftScope: Scope): Rel {
    switch (item.kind) {
      case 'table':
        return this.planTableRef(item, parent, ctes);
      case 'subquery': {
        if (item.alias === undefined) {
          // PostgreSQL 16 allows this; 15 does not. Accept it as CockroachDB does.
        }
        const scopeForSub = item.lateral ? link(leftScope) : parent === undefined ? undefined : link(parent);
        const planned = this.planQuery(item.query, scopeForSub, ctes);
        const alias = item.alias?.name;
        const names = this.renameColumns(planned.plan.columns, item.alias?.columns ?? [], `table "${alias ?? 'subquery'}"`).map((c) => c.name);
        const lateral = item.lateral && scopeForSub !== undefined && scopeForSub.usedByInner;
        return this.relFromNode(planned.plan, names, alias, lateral);
      }
      case 'function':
        return this.planFunctionItem(item, parent, leftScope);
      case 'join':
        return this.planJoin(item, parent, ctes, leftScope);
    }
  }

  private relFromNode(plan: PlanNode, names: readonly string[], alias: string | undefined, lateral = false): Rel {
    const columns: ScopeColumn[] = plan.columns.map((c, i) => ({
      name: names[i] ?? c.name,
      relation: alias,
      type: c.type,
      expr: { k: 'column', type: c.type, index: i },
      hidden: false,
      tableOid: c.tableOid,
      attnum: c.columnAttr,
    }));
    return { width: plan.columns.length, columns, node: plan, pushed: [], lateral };
  }

  private planTableRef(item: Extract<FromItem, { kind: 'table' }>, parent: Scope | undefined, ctes: CteEnv): Rel {
    const parts = item.name.parts;
    const aliasName = item.alias?.name ?? parts[parts.length - 1]!;
    if (parts.length === 1) {
      const cte = ctes.lookup(parts[0]!);
      if (cte !== undefined) {
        const node = new MaterializedNode(cte.columns, cte.source, `CTE Scan on ${cte.def.name}`);
        const names = this.renameColumns(cte.columns, item.alias?.columns ?? [], `table "${aliasName}"`).map((c) => c.name);
        return this.relFromNode(node, names, aliasName);
      }
    }
    const resolved = this.names.requireRelation(item.name);
    if (resolved.kind === 'virtual') {
      const { schema, name } = resolved;
      const cols = this.virtualTables.columns(schema, name).map((c) => planColumn(c.name, c.type));
      const source = this.virtualTables;
      const node = new MaterializedNode(cols, async (ctx) => source.rows(schema, name, ctx), `Virtual Scan on ${schema}.${name}`);
      const names = this.renameColumns(cols, item.alias?.columns ?? [], `table "${aliasName}"`).map((c) => c.name);
      const rel = this.relFromNode(node, names, aliasName);
      for (const c of rel.columns) (c as { schema?: string }).schema = schema;
      return rel;
    }
    const table = resolved.table;
    if (table.view !== undefined) {
      const parsed = parseSql(table.view.query);
      const stmt = parsed[0]?.statement;
      if (stmt === undefined || stmt.kind !== 'query') throw new SqlError(SqlState.dataCorrupted, `view "${table.name}" has an invalid definition`);
      const planned = this.planQuery(stmt.query, parent === undefined ? undefined : link(parent), new CteEnv(undefined));
      const names = this.renameColumns(planned.plan.columns, item.alias?.columns ?? table.view.columnNames, `view "${table.name}"`).map((c) => c.name);
      return this.relFromNode(planned.plan, names, aliasName);
    }
    if (table.sequence !== undefined) {
      throw new SqlError(SqlState.featureNotSupported, `selecting from sequence "${table.name}" is not supported; use currval/nextval`);
    }
    const aliasCols = item.alias?.columns ?? [];
    const visible = table.columns.map((c, i) => ({ c, i })).filter((x) => x.c.state === 'public' && !x.c.hidden);
    if (aliasCols.length > visible.length) throw new SqlError(SqlState.invalidColumnReference, `table "${aliasName}" has ${visible.length} columns available but ${aliasCols.length} columns specified`);
    const columns: ScopeColumn[] = [];
    let v = 0;
    table.columns.forEach((c, i) => {
      if (c.state !== 'public') return;
      const name = c.hidden ? c.name : (aliasCols[v++] ?? c.name);
      columns.push({
        name,
        relation: aliasName,
        schema: resolved.schema.name,
        database: resolved.database.name,
        type: c.type,
        expr: { k: 'column', type: c.type, index: i },
        hidden: c.hidden,
        tableOid: table.id,
        attnum: c.id,
      });
    });
    return { width: table.columns.length, columns, base: { table, filters: [], alias: aliasName }, pushed: [] };
  }

  private planFunctionItem(item: Extract<FromItem, { kind: 'function' }>, parent: Scope | undefined, leftScope: Scope): Rel {
    if (item.calls.length !== 1) throw new SqlError(SqlState.featureNotSupported, 'ROWS FROM with several functions is not supported').withPosition(item.location + 1);
    const callExpr = item.calls[0]!;
    const name = callExpr.name[callExpr.name.length - 1]!.toLowerCase();
    const def = lookupFunction(name);
    // Function arguments may refer to earlier FROM items (functions in FROM are implicitly LATERAL).
    const argScope = new Scope([], leftScope);
    const args = callExpr.args.map((a) => this.binder.bind(a, argScope, { clause: 'FROM' }));
    const correlated = argScope.usedByInner || leftScope.usedByInner;
    let node: PlanNode;
    let names: string[];
    if (def !== undefined && def.setReturning.length > 0) {
      const resolved = resolveOverload(name, def.setReturning, args.map((a) => a.type));
      const coerced = args.map((a, i) => coerce(a, resolved.argTypes[i]!, 'implicit', this.env));
      const cols = resolved.overload.columns(resolved.argTypes);
      const outCols = cols.map((c) => planColumn(cols.length === 1 ? name : c.name, c.type));
      if (item.withOrdinality) outCols.push(planColumn('ordinality', Types.int8));
      node = new FunctionScanNode(outCols, name, resolved.overload, coerced, resolved.argTypes, item.withOrdinality);
      names = outCols.map((c) => c.name);
    } else if (def !== undefined && def.scalar.length > 0) {
      // A scalar function in FROM yields one row with one column.
      const bound = this.binder.bindNamedCall(name, args);
      const outCols = [planColumn(name, bound.type)];
      if (item.withOrdinality) outCols.push(planColumn('ordinality', Types.int8));
      node = new ValuesNode(outCols, [item.withOrdinality ? [bound, { k: 'const', type: Types.int8, value: 1n }] : [bound]]);
      names = outCols.map((c) => c.name);
    } else {
      throw new SqlError(SqlState.undefinedFunction, `function ${name}() does not exist`).withPosition(callExpr.location + 1);
    }
    const alias = item.alias?.name ?? name;
    if (item.alias !== undefined && item.alias.columns.length > 0) {
      names = names.map((n, i) => item.alias!.columns[i] ?? n);
    } else if (item.alias !== undefined && names.length === 1 && !item.withOrdinality) {
      names = [item.alias.name];
    }
    if (correlated) {
      // Re-plan with the row of the earlier items as the outer row of each evaluation.
      return { ...this.relFromNode(node, names, alias), lateral: true };
    }
    void parent;
    return this.relFromNode(node, names, alias);
  }

  private planJoin(item: Extract<FromItem, { kind: 'join' }>, parent: Scope | undefined, ctes: CteEnv, leftScope: Scope): Rel {
    const left = this.planFromItem(item.left, parent, ctes, leftScope);
    const midScope = new Scope([...leftScope.columns, ...left.columns.map((c) => shiftColumn(c, 0))], parent);
    const right = this.planFromItem(item.right, parent, ctes, midScope);
    const lw = left.width;
    const rightCols = right.columns.map((c) => shiftColumn(c, lw));
    let columns: ScopeColumn[] = [...left.columns, ...rightCols];
    const type = item.type;
    const conds: BoundExpr[] = [];
    let usingNames = item.using;
    if (item.natural) {
      const leftNames = new Set(left.columns.filter((c) => !c.hidden && !c.qualifiedOnly).map((c) => c.name));
      usingNames = rightCols.filter((c) => !c.hidden && !c.qualifiedOnly && leftNames.has(c.name)).map((c) => c.name);
    }
    if (usingNames !== undefined) {
      const merged: ScopeColumn[] = [];
      const qualifiedOnly = new Set<ScopeColumn>();
      for (const name of usingNames) {
        const l = left.columns.filter((c) => c.name === name && !c.qualifiedOnly);
        const r = rightCols.filter((c) => c.name === name && !c.qualifiedOnly);
        if (l.length !== 1) throw new SqlError(SqlState.undefinedColumn, `column "${name}" specified in USING clause does not exist in left table`);
        if (r.length !== 1) throw new SqlError(SqlState.undefinedColumn, `column "${name}" specified in USING clause does not exist in right table`);
        const lc = l[0]!;
        const rc = r[0]!;
        const t = commonType([lc.type, rc.type], 'JOIN/USING');
        const le = coerce(lc.expr, t, 'implicit', this.env);
        const re = coerce(rc.expr, t, 'implicit', this.env);
        conds.push(bindComparison('=', le, re, this.env));
        const expr: BoundExpr = type === 'right' ? re : type === 'full' ? { k: 'coalesce', type: t, args: [le, re] } : le;
        merged.push({ name, relation: item.alias?.name, type: t, expr, hidden: false, tableOid: 0, attnum: 0, unqualifiedOnly: item.alias === undefined });
        qualifiedOnly.add(lc);
        qualifiedOnly.add(rc);
      }
      columns = [...merged, ...columns.map((c) => (qualifiedOnly.has(c) ? { ...c, qualifiedOnly: true } : c))];
    }
    // ON is bound over this join's own row (left ++ right); references to earlier FROM items are not allowed.
    const ownScope = new Scope(columns, parent);
    if (item.on !== undefined) conds.push(...conjuncts(this.binder.bindCondition(item.on, ownScope, { clause: 'JOIN/ON' })));
    // Conditions on one side only move into that side where the join type allows it.
    const keep: BoundExpr[] = [];
    for (const c of conds) {
      const used = [...columnsUsed(c)];
      const onlyLeft = used.length > 0 && used.every((p) => p < lw);
      const onlyRight = used.length > 0 && used.every((p) => p >= lw);
      if (!hasSubquery(c) && !isVolatile(c) && onlyLeft && (type === 'inner' || type === 'cross' || type === 'right')) this.pushFilter(left, c);
      else if (!hasSubquery(c) && !isVolatile(c) && onlyRight && (type === 'inner' || type === 'cross' || type === 'left')) this.pushFilter(right, remapColumns(c, (p) => p - lw));
      else keep.push(c);
    }
    const ln = this.buildRel(left);
    const rn = this.buildRel(right);
    let node: PlanNode;
    if (right.lateral) {
      if (type !== 'inner' && type !== 'left' && type !== 'cross') throw new SqlError(SqlState.featureNotSupported, 'LATERAL with RIGHT or FULL JOIN is not supported');
      node = new ApplyJoinNode(type === 'left' ? 'left' : 'inner', ln, rn, keep.length === 0 ? undefined : andOf(keep));
    } else node = this.joinNodes(type, ln, rn, lw, keep);
    if (item.alias !== undefined) {
      const alias = item.alias;
      const visible = columns.filter((c) => !c.hidden && !c.qualifiedOnly);
      columns = columns.map((c) => ({ ...c, relation: alias.name, qualifiedOnly: c.qualifiedOnly && !visible.includes(c) ? true : false, unqualifiedOnly: false }));
      if (alias.columns.length > 0) {
        let i = 0;
        columns = columns.map((c) => (c.hidden || c.qualifiedOnly ? c : { ...c, name: alias.columns[i++] ?? c.name }));
      }
    }
    return { width: lw + right.width, columns, node, pushed: [] };
  }
}

/** A transparent link to an enclosing scope (see Scope.transparent). */
function link(parent: Scope): Scope {
  return new Scope([], parent, undefined, true);
}

function shiftColumn(c: ScopeColumn, by: number): ScopeColumn {
  if (by === 0) return c;
  return { ...c, expr: remapColumns(c.expr, (p) => p + by) };
}

export function andOf(exprs: readonly BoundExpr[]): BoundExpr {
  if (exprs.length === 1) return exprs[0]!;
  return { k: 'and', type: Types.bool, args: exprs };
}
