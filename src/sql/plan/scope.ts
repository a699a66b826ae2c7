// Name resolution scopes. A scope lists the columns a row has at one point of a query (the FROM
// clause's joined row, or the output of GROUP BY), with the relation names that qualify them; an
// inner query's scope points at its enclosing query's, so a name not found inside resolves as an
// outer reference (and marks the inner query correlated).
import { SqlError, SqlState } from '../errors.js';
import type { SqlType } from '../types/oids.js';
import type { BoundExpr } from './bound.js';

export interface ScopeColumn {
  readonly name: string;
  /** The alias or table name that qualifies it (t in t.a). */
  readonly relation: string | undefined;
  readonly schema?: string;
  readonly database?: string;
  readonly type: SqlType;
  /** Where its value is in the scope's row (usually a column reference). */
  readonly expr: BoundExpr;
  /** Left out of SELECT * (the rowid of a table without a primary key). */
  readonly hidden: boolean;
  readonly tableOid: number;
  readonly attnum: number;
  /** A column of a USING/NATURAL join side: found by qualified names only (the merged one wins otherwise). */
  readonly qualifiedOnly?: boolean;
  /** The merged column of a USING/NATURAL join: found by unqualified names only. */
  readonly unqualifiedOnly?: boolean;
}

/** How a name is looked up: full resolution (from) or through GROUP BY (agg). */
export interface GroupedView {
  /** The scope aggregate arguments and GROUP BY expressions are bound in. */
  readonly input: Scope;
  /** Canonical keys of the GROUP BY expressions (exprKey), in output order. */
  readonly keys: readonly string[];
  readonly types: readonly SqlType[];
  /** Whether some GROUP BY expression is more than a column (then subtrees are matched too). */
  readonly hasComplexKeys: boolean;
}

export class Scope {
  /** Set when an inner query resolved a name here (the inner query is correlated). */
  usedByInner = false;

  constructor(
    readonly columns: readonly ScopeColumn[],
    readonly parent: Scope | undefined,
    /** Present when this scope is the output of GROUP BY (or of a whole-input aggregate). */
    readonly grouped?: GroupedView,
    /**
     * A scope that only links an inner query to its enclosing one: no row of its own is pushed
     * when the inner query runs, so it does not count as a level of outer references.
     */
    readonly transparent = false,
  ) {}

  /** The columns matching a (possibly qualified) name in this scope alone. */
  find(parts: readonly string[]): ScopeColumn[] {
    const name = parts[parts.length - 1]!;
    const qualifier = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    const schema = parts.length >= 3 ? parts[parts.length - 3] : undefined;
    const database = parts.length >= 4 ? parts[parts.length - 4] : undefined;
    return this.columns.filter((c) => {
      if (c.name !== name) return false;
      if (qualifier === undefined) return !c.qualifiedOnly;
      if (c.unqualifiedOnly || c.relation !== qualifier) return false;
      if (schema !== undefined && c.schema !== undefined && c.schema !== schema) return false;
      if (database !== undefined && c.database !== undefined && c.database !== database) return false;
      return true;
    });
  }

  /** Whether a relation name is visible here (for t.* expansion and error messages). */
  hasRelation(name: string): boolean {
    return this.columns.some((c) => c.relation === name);
  }

  relationColumns(name: string): ScopeColumn[] {
    return this.columns.filter((c) => c.relation === name && !c.unqualifiedOnly && !c.hidden);
  }
}

export function ambiguous(parts: readonly string[], location: number): SqlError {
  return new SqlError(SqlState.ambiguousColumn, `column reference "${parts.join('.')}" is ambiguous`).withPosition(location + 1);
}

export function undefinedColumn(parts: readonly string[], location: number, scope: Scope | undefined): SqlError {
  if (parts.length >= 2) {
    const rel = parts[parts.length - 2]!;
    let s = scope;
    let known = false;
    while (s !== undefined) {
      if (s.hasRelation(rel)) known = true;
      s = s.parent;
    }
    if (!known) {
      return new SqlError(SqlState.undefinedTable, `missing FROM-clause entry for table "${rel}"`).withPosition(location + 1);
    }
  }
  const shown = parts.length === 1 ? `"${parts[0]}"` : parts.join('.');
  return new SqlError(SqlState.undefinedColumn, `column ${shown} does not exist`).withPosition(location + 1);
}

/** Rewrites an expression bound in a scope `depth` levels up into outer references. */
export function asOuter(e: BoundExpr, depth: number): BoundExpr {
  switch (e.k) {
    case 'column':
      return { k: 'outer', type: e.type, depth, index: e.index };
    case 'outer':
      return { ...e, depth: e.depth + depth };
    case 'call':
    case 'asyncCall':
    case 'and':
    case 'or':
    case 'coalesce':
      return { ...e, args: e.args.map((a) => asOuter(a, depth)) } as BoundExpr;
    case 'not':
    case 'isNull':
      return { ...e, arg: asOuter(e.arg, depth) } as BoundExpr;
    case 'case':
      return { ...e, whens: e.whens.map((w) => ({ when: asOuter(w.when, depth), then: asOuter(w.then, depth) })), else: asOuter(e.else, depth) };
    case 'inList':
      return { ...e, arg: asOuter(e.arg, depth), list: e.list.map((a) => asOuter(a, depth)) };
    default:
      return e;
  }
}

/** A canonical text for an expression: equal texts mean the same computation (GROUP BY matching). */
export function exprKey(e: BoundExpr): string {
  switch (e.k) {
    case 'const':
      return `c${e.type.oid}:${String(e.value instanceof Uint8Array ? Buffer.from(e.value).toString('hex') : e.value)}`;
    case 'column':
      return `#${e.index}`;
    case 'outer':
      return `^${e.depth}.${e.index}`;
    case 'param':
      return `$${e.index}`;
    case 'call':
    case 'asyncCall':
      return `${e.name}:${e.type.oid}(${e.args.map(exprKey).join(',')})`;
    case 'and':
    case 'or':
    case 'coalesce':
      return `${e.k}(${e.args.map(exprKey).join(',')})`;
    case 'not':
      return `not(${exprKey(e.arg)})`;
    case 'isNull':
      return `isnull${e.negated ? '!' : ''}(${exprKey(e.arg)})`;
    case 'case':
      return `case(${e.whens.map((w) => `${exprKey(w.when)}=>${exprKey(w.then)}`).join(';')};${exprKey(e.else)})`;
    case 'inList':
      return `in${e.negated ? '!' : ''}(${exprKey(e.arg)};${e.list.map(exprKey).join(',')})`;
    default:
      // Subqueries never match each other.
      return `?${Math.random()}`;
  }
}
