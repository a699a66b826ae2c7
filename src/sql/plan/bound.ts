// Bound expressions: the syntax tree's expressions after names are resolved to row positions,
// operators and functions to implementations, and every node has a SQL type. The executor turns
// them into closures (exec/eval.ts); the planner inspects them (which columns a predicate uses,
// whether it is a key comparison it can turn into a scan range).
import type { Datum, Row } from '../types/datum.js';
import type { SqlType } from '../types/oids.js';
import type { TypeSettings } from '../types/settings.js';
import type { PlanNode } from './plan_node.js';

/** What a running expression can reach besides its row. */
export interface EvalContext {
  readonly params: readonly Datum[];
  readonly settings: TypeSettings;
  /** Rows of enclosing queries, innermost last (for correlated subqueries). */
  readonly outer: Row[];
  /** Microseconds since 1970 at which the transaction started (now(), current_timestamp). */
  readonly txnTimestamp: bigint;
  /** Microseconds since 1970 at which the statement started (statement_timestamp()). */
  readonly statementTimestamp: bigint;
  readonly session: SessionFacts;
  /** Results of uncorrelated subqueries, computed once per execution. */
  readonly subqueryCache: Map<BoundSubquery, Datum | Datum[] | boolean>;
  /** Runs a subquery plan (set by the executor). */
  runSubquery(plan: PlanNode, outerRow: Row, limit: number): Promise<Row[]>;
  /** Asynchronous services for volatile functions such as nextval (set by the executor). */
  readonly services: EvalServices;
}

export interface SessionFacts {
  readonly user: string;
  readonly database: string;
  readonly searchPath: readonly string[];
  readonly backendPid: number;
  readonly applicationName: string;
  /** Reads a session setting by name (current_setting). */
  setting(name: string): string | undefined;
}

export interface EvalServices {
  nextval(sequence: string | number): Promise<bigint>;
  currval(sequence: string | number): Promise<bigint>;
  setval(sequence: string | number, value: bigint, isCalled: boolean): Promise<bigint>;
  /** Resolves a relation name to its OID (regclass input), or throws 42P01. */
  regclassIn(name: string): number;
  /** A relation OID's name for regclass output. */
  regclassOut(oid: number): string;
  /** A unique 64-bit integer (unique_rowid()). */
  uniqueRowId(): bigint;
}

/** A scalar function or operator implementation. Arguments are never null when `strict`. */
export type ScalarImpl = (args: Datum[], ctx: EvalContext) => Datum;
export type AsyncScalarImpl = (args: Datum[], ctx: EvalContext) => Promise<Datum>;

export interface BoundSubquery {
  readonly plan: PlanNode;
  /** Whether it reads columns of enclosing queries (then it runs once per outer row). */
  readonly correlated: boolean;
}

export type BoundExpr =
  | { readonly k: 'const'; readonly type: SqlType; readonly value: Datum }
  | { readonly k: 'column'; readonly type: SqlType; readonly index: number }
  /** A column of an enclosing query's row: depth 1 is the immediately enclosing one. */
  | { readonly k: 'outer'; readonly type: SqlType; readonly depth: number; readonly index: number }
  | { readonly k: 'param'; readonly type: SqlType; readonly index: number }
  | {
      readonly k: 'call';
      readonly type: SqlType;
      readonly name: string;
      readonly args: readonly BoundExpr[];
      /** Null in any argument gives null without calling the implementation. */
      readonly strict: boolean;
      readonly volatile: boolean;
      readonly impl: ScalarImpl;
    }
  | {
      readonly k: 'asyncCall';
      readonly type: SqlType;
      readonly name: string;
      readonly args: readonly BoundExpr[];
      readonly strict: boolean;
      readonly impl: AsyncScalarImpl;
    }
  | { readonly k: 'and' | 'or'; readonly type: SqlType; readonly args: readonly BoundExpr[] }
  | { readonly k: 'not'; readonly type: SqlType; readonly arg: BoundExpr }
  | { readonly k: 'isNull'; readonly type: SqlType; readonly arg: BoundExpr; readonly negated: boolean }
  | {
      readonly k: 'case';
      readonly type: SqlType;
      readonly whens: ReadonlyArray<{ readonly when: BoundExpr; readonly then: BoundExpr }>;
      readonly else: BoundExpr;
    }
  | { readonly k: 'coalesce'; readonly type: SqlType; readonly args: readonly BoundExpr[] }
  /** x IN (list): `eq` compares two non-null values of the common type. */
  | {
      readonly k: 'inList';
      readonly type: SqlType;
      readonly arg: BoundExpr;
      readonly list: readonly BoundExpr[];
      readonly negated: boolean;
      readonly eq: (a: Datum, b: Datum) => boolean;
      /** When every list element is a constant: their keys, for a set lookup. */
      readonly keyOf?: (v: Datum) => string;
    }
  | {
      readonly k: 'subquery';
      readonly type: SqlType;
      readonly mode: 'scalar' | 'exists' | 'array';
      readonly subquery: BoundSubquery;
    }
  /** left op ANY/ALL (subquery rows): `cmp` returns true, false or null for one pair. */
  | {
      readonly k: 'quantifiedSubquery';
      readonly type: SqlType;
      readonly quantifier: 'any' | 'all';
      readonly left: readonly BoundExpr[];
      readonly cmp: (left: Datum[], right: Row, ctx: EvalContext) => boolean | null;
      readonly subquery: BoundSubquery;
    };

export function isConst(e: BoundExpr): e is Extract<BoundExpr, { k: 'const' }> {
  return e.k === 'const';
}

/** Whether evaluating `e` needs to await (subqueries, nextval and the like). */
export function isAsync(e: BoundExpr): boolean {
  switch (e.k) {
    case 'subquery':
    case 'quantifiedSubquery':
    case 'asyncCall':
      return true;
    case 'call':
      return e.args.some(isAsync);
    case 'and':
    case 'or':
    case 'coalesce':
      return e.args.some(isAsync);
    case 'not':
    case 'isNull':
      return isAsync(e.arg);
    case 'case':
      return e.whens.some((w) => isAsync(w.when) || isAsync(w.then)) || isAsync(e.else);
    case 'inList':
      return isAsync(e.arg) || e.list.some(isAsync);
    default:
      return false;
  }
}

/** Visits every node of an expression (not descending into subquery plans). */
export function visitExpr(e: BoundExpr, f: (e: BoundExpr) => void): void {
  f(e);
  switch (e.k) {
    case 'call':
    case 'asyncCall':
    case 'and':
    case 'or':
    case 'coalesce':
      for (const a of e.args) visitExpr(a, f);
      return;
    case 'not':
    case 'isNull':
      visitExpr(e.arg, f);
      return;
    case 'case':
      for (const w of e.whens) {
        visitExpr(w.when, f);
        visitExpr(w.then, f);
      }
      visitExpr(e.else, f);
      return;
    case 'inList':
      visitExpr(e.arg, f);
      for (const a of e.list) visitExpr(a, f);
      return;
    case 'quantifiedSubquery':
      for (const a of e.left) visitExpr(a, f);
      return;
    default:
      return;
  }
}

/** The row positions an expression reads (of its own row, not of outer rows). */
export function columnsUsed(e: BoundExpr, into: Set<number> = new Set()): Set<number> {
  visitExpr(e, (n) => {
    if (n.k === 'column') into.add(n.index);
  });
  return into;
}

/** Whether an expression contains a subquery (of any kind). */
export function hasSubquery(e: BoundExpr): boolean {
  let found = false;
  visitExpr(e, (n) => {
    if (n.k === 'subquery' || n.k === 'quantifiedSubquery') found = true;
  });
  return found;
}

/** Whether an expression calls a volatile function (random(), nextval(), ...). */
export function isVolatile(e: BoundExpr): boolean {
  let found = false;
  visitExpr(e, (n) => {
    if ((n.k === 'call' && n.volatile) || n.k === 'asyncCall') found = true;
  });
  return found;
}

/** Rewrites the column positions of an expression (for evaluation over a different row layout). */
export function remapColumns(e: BoundExpr, map: (index: number) => number): BoundExpr {
  const r = (x: BoundExpr): BoundExpr => remapColumns(x, map);
  switch (e.k) {
    case 'column':
      return { ...e, index: map(e.index) };
    case 'call':
    case 'asyncCall':
    case 'and':
    case 'or':
    case 'coalesce':
      return { ...e, args: e.args.map(r) } as BoundExpr;
    case 'not':
    case 'isNull':
      return { ...e, arg: r(e.arg) } as BoundExpr;
    case 'case':
      return { ...e, whens: e.whens.map((w) => ({ when: r(w.when), then: r(w.then) })), else: r(e.else) };
    case 'inList':
      return { ...e, arg: r(e.arg), list: e.list.map(r) };
    case 'quantifiedSubquery':
      return { ...e, left: e.left.map(r) };
    default:
      return e;
  }
}

/** Splits a predicate into its AND-ed conjuncts. */
export function conjuncts(e: BoundExpr): BoundExpr[] {
  if (e.k === 'and') return e.args.flatMap(conjuncts);
  return [e];
}
