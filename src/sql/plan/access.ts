// Choosing how to read a table from the predicates on it: point lookups when every column of the
// primary key (or of a unique index) is fixed by equality, a key range over the primary key or an
// index when a prefix of its columns is fixed and the next one bounded, else a full scan. The
// predicates still run on every row read, so a range only has to cover the matching rows.
import type { IndexDescriptor, TableDescriptor } from '../catalog/descriptors.js';
import { Oid } from '../types/oids.js';
import type { BoundExpr } from './bound.js';
import { columnsUsed, hasSubquery, isVolatile } from './bound.js';

/** Keys one point access may expand to (IN lists multiply). */
export const MAX_POINT_KEYS = 1_000;

export interface RangeBound {
  readonly expr: BoundExpr;
  readonly inclusive: boolean;
}

export type AccessPath =
  | { readonly kind: 'full' }
  /** Every key column fixed: each entry of `keys` holds one value expression per index column. */
  | { readonly kind: 'points'; readonly index: IndexDescriptor; readonly keys: ReadonlyArray<readonly BoundExpr[]> }
  /** The first columns fixed by `prefix`, the next one optionally bounded. */
  | { readonly kind: 'range'; readonly index: IndexDescriptor; readonly prefix: readonly BoundExpr[]; readonly lower?: RangeBound; readonly upper?: RangeBound };

interface ColumnConstraints {
  eq: BoundExpr[][]; // alternatives (IN gives several); [[x]] for a single equality
  lower?: RangeBound;
  upper?: RangeBound;
}

/** Whether an expression can be computed before reading the row (no columns of this row). */
function rowIndependent(e: BoundExpr): boolean {
  return columnsUsed(e).size === 0 && !hasSubquery(e) && !isVolatile(e);
}

const MIRROR: Record<string, string> = { '=': '=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

function constraintsOf(filters: readonly BoundExpr[], table: TableDescriptor): Map<number, ColumnConstraints> {
  const byColumn = new Map<number, ColumnConstraints>();
  const get = (pos: number): ColumnConstraints => {
    let c = byColumn.get(pos);
    if (c === undefined) byColumn.set(pos, (c = { eq: [] }));
    return c;
  };
  const columnType = (pos: number): number => table.columns[pos]?.type.oid ?? -1;
  for (const f of filters) {
    if (f.k === 'call' && f.args.length === 2 && MIRROR[f.name] !== undefined) {
      let [a, b] = f.args as [BoundExpr, BoundExpr];
      let op = f.name;
      if (a.k !== 'column' && b.k === 'column') {
        [a, b] = [b, a];
        op = MIRROR[op]!;
      }
      if (a.k !== 'column' || !rowIndependent(b) || a.type.oid !== columnType(a.index) || b.type.oid !== a.type.oid) continue;
      const c = get(a.index);
      if (op === '=') c.eq.push([b]);
      else if (op === '>' || op === '>=') c.lower ??= { expr: b, inclusive: op === '>=' };
      else c.upper ??= { expr: b, inclusive: op === '<=' };
    } else if (f.k === 'inList' && !f.negated && f.arg.k === 'column' && f.arg.type.oid === columnType(f.arg.index) && f.list.every(rowIndependent)) {
      const c = get(f.arg.index);
      c.eq.push(f.list.map((x) => x));
    }
  }
  return byColumn;
}

function positionOf(table: TableDescriptor, columnId: number): number {
  return table.columns.findIndex((c) => c.id === columnId);
}

/** Text-like key columns compare by the "C" collation, so any of their equalities can use the key. */
function keyable(oid: number): boolean {
  return oid !== Oid.jsonb && oid !== Oid.json && oid !== Oid.record;
}

export function chooseAccessPath(table: TableDescriptor, filters: readonly BoundExpr[]): AccessPath {
  if (filters.length === 0) return { kind: 'full' };
  const cons = constraintsOf(filters, table);
  if (cons.size === 0) return { kind: 'full' };
  const candidates = [table.primaryIndex, ...table.indexes.filter((i) => i.state === 'public' && !i.primary && i.predicate === undefined)];
  let best: { path: AccessPath; score: number } | undefined;
  for (const index of candidates) {
    const fixed: BoundExpr[][] = [];
    let next: ColumnConstraints | undefined;
    for (const col of index.columns) {
      const pos = positionOf(table, col.columnId);
      const c = cons.get(pos);
      if (pos < 0 || c === undefined || !keyable(table.columns[pos]!.type.oid)) {
        next = c;
        break;
      }
      if (c.eq.length > 0) {
        // Among several equalities on one column, the shortest alternative list narrows most.
        fixed.push([...c.eq].sort((x, y) => x.length - y.length)[0]!);
        continue;
      }
      next = c;
      break;
    }
    const isPrimary = index.primary;
    if (fixed.length === index.columns.length && (index.unique || isPrimary)) {
      const keys = crossProduct(fixed);
      if (keys !== undefined) {
        const score = 1000 + (isPrimary ? 10 : 0) - keys.length / MAX_POINT_KEYS;
        if (best === undefined || score > best.score) best = { path: { kind: 'points', index, keys }, score };
        continue;
      }
    }
    // A range: a prefix of single equalities, then a bound on the next column.
    const prefix: BoundExpr[] = [];
    for (const alternatives of fixed) {
      if (alternatives.length !== 1) break;
      prefix.push(alternatives[0]!);
    }
    let lower: RangeBound | undefined;
    let upper: RangeBound | undefined;
    if (prefix.length === fixed.length && next !== undefined) {
      const col = index.columns[prefix.length];
      if (col !== undefined) {
        // A descending column stores larger values first: the bounds trade places.
        lower = col.descending ? next.upper : next.lower;
        upper = col.descending ? next.lower : next.upper;
      }
    }
    if (prefix.length === 0 && lower === undefined && upper === undefined) continue;
    const score = prefix.length * 10 + (lower ? 3 : 0) + (upper ? 3 : 0) + (isPrimary ? 1 : 0);
    if (best === undefined || score > best.score) {
      best = { path: { kind: 'range', index, prefix, ...(lower ? { lower } : {}), ...(upper ? { upper } : {}) }, score };
    }
  }
  return best?.path ?? { kind: 'full' };
}

function crossProduct(lists: readonly BoundExpr[][]): BoundExpr[][] | undefined {
  let out: BoundExpr[][] = [[]];
  for (const alternatives of lists) {
    const next: BoundExpr[][] = [];
    for (const prefix of out) for (const a of alternatives) next.push([...prefix, a]);
    if (next.length > MAX_POINT_KEYS) return undefined;
    out = next;
  }
  return out;
}
