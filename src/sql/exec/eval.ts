// Turns bound expressions into closures over a row. Most expressions are synchronous; one that
// contains a subquery or an asynchronous function (nextval) compiles to an async closure, and the
// nodes that evaluate it await it. Three-valued logic follows SQL: null is "unknown".
import { SqlError, SqlState } from '../errors.js';
import type { BoundExpr, BoundSubquery, EvalContext } from '../plan/bound.js';
import { isAsync } from '../plan/bound.js';
import { SqlArray, type Datum, type Row } from '../types/datum.js';

export type SyncEval = (row: Row, ctx: EvalContext) => Datum;
export type AsyncEval = (row: Row, ctx: EvalContext) => Promise<Datum>;

export interface CompiledExpr {
  readonly async: boolean;
  /** Defined when !async. */
  readonly sync?: SyncEval;
  readonly run: AsyncEval;
}

export function compile(e: BoundExpr): CompiledExpr {
  if (!isAsync(e)) {
    const sync = compileSync(e);
    return { async: false, sync, run: (row, ctx) => Promise.resolve(sync(row, ctx)) };
  }
  return { async: true, run: compileAsync(e) };
}

/** A predicate: true only when the expression is true (null and false both reject). */
export function compilePredicate(e: BoundExpr): { readonly async: boolean; readonly sync?: (row: Row, ctx: EvalContext) => boolean; readonly run: (row: Row, ctx: EvalContext) => Promise<boolean> } {
  const c = compile(e);
  if (!c.async) {
    const f = c.sync!;
    const sync = (row: Row, ctx: EvalContext): boolean => f(row, ctx) === true;
    return { async: false, sync, run: (row, ctx) => Promise.resolve(sync(row, ctx)) };
  }
  return { async: true, run: async (row, ctx) => (await c.run(row, ctx)) === true };
}

export function compileSync(e: BoundExpr): SyncEval {
  switch (e.k) {
    case 'const': {
      const v = e.value;
      return () => v;
    }
    case 'column': {
      const i = e.index;
      return (row) => row[i] as Datum;
    }
    case 'outer': {
      const { depth, index } = e;
      return (_row, ctx) => {
        const outer = ctx.outer[ctx.outer.length - depth];
        if (outer === undefined) throw new SqlError(SqlState.internalError, `no outer row at depth ${depth}`);
        return outer[index] as Datum;
      };
    }
    case 'param': {
      const i = e.index;
      return (_row, ctx) => {
        if (i >= ctx.params.length) throw new SqlError(SqlState.undefinedParameter, `there is no parameter $${i + 1}`);
        return ctx.params[i] as Datum;
      };
    }
    case 'call': {
      const args = e.args.map(compileSync);
      const impl = e.impl;
      const n = args.length;
      if (e.strict) {
        if (n === 1) {
          const a0 = args[0]!;
          return (row, ctx) => {
            const v = a0(row, ctx);
            return v === null ? null : impl([v], ctx);
          };
        }
        if (n === 2) {
          const a0 = args[0]!;
          const a1 = args[1]!;
          return (row, ctx) => {
            const v0 = a0(row, ctx);
            if (v0 === null) return null;
            const v1 = a1(row, ctx);
            return v1 === null ? null : impl([v0, v1], ctx);
          };
        }
        return (row, ctx) => {
          const vals: Datum[] = new Array(n);
          for (let i = 0; i < n; i++) {
            const v = args[i]!(row, ctx);
            if (v === null) return null;
            vals[i] = v;
          }
          return impl(vals, ctx);
        };
      }
      return (row, ctx) => {
        const vals: Datum[] = new Array(n);
        for (let i = 0; i < n; i++) vals[i] = args[i]!(row, ctx);
        return impl(vals, ctx);
      };
    }
    case 'and': {
      const args = e.args.map(compileSync);
      return (row, ctx) => {
        let sawNull = false;
        for (const a of args) {
          const v = a(row, ctx);
          if (v === false) return false;
          if (v === null) sawNull = true;
        }
        return sawNull ? null : true;
      };
    }
    case 'or': {
      const args = e.args.map(compileSync);
      return (row, ctx) => {
        let sawNull = false;
        for (const a of args) {
          const v = a(row, ctx);
          if (v === true) return true;
          if (v === null) sawNull = true;
        }
        return sawNull ? null : false;
      };
    }
    case 'not': {
      const a = compileSync(e.arg);
      return (row, ctx) => {
        const v = a(row, ctx);
        return v === null ? null : !v;
      };
    }
    case 'isNull': {
      const a = compileSync(e.arg);
      const negated = e.negated;
      return (row, ctx) => (a(row, ctx) === null) !== negated;
    }
    case 'case': {
      const whens = e.whens.map((w) => ({ when: compileSync(w.when), then: compileSync(w.then) }));
      const otherwise = compileSync(e.else);
      return (row, ctx) => {
        for (const w of whens) if (w.when(row, ctx) === true) return w.then(row, ctx);
        return otherwise(row, ctx);
      };
    }
    case 'coalesce': {
      const args = e.args.map(compileSync);
      return (row, ctx) => {
        for (const a of args) {
          const v = a(row, ctx);
          if (v !== null) return v;
        }
        return null;
      };
    }
    case 'inList': {
      const arg = compileSync(e.arg);
      const negated = e.negated;
      if (e.keyOf !== undefined) {
        const keyOf = e.keyOf;
        const keys = new Set<string>();
        let listHasNull = false;
        for (const item of e.list) {
          const v = (item as Extract<BoundExpr, { k: 'const' }>).value;
          if (v === null) listHasNull = true;
          else keys.add(keyOf(v));
        }
        return (row, ctx) => {
          const v = arg(row, ctx);
          if (v === null) return null;
          if (keys.has(keyOf(v))) return !negated;
          return listHasNull ? null : negated;
        };
      }
      const list = e.list.map(compileSync);
      const eq = e.eq;
      return (row, ctx) => {
        const v = arg(row, ctx);
        if (v === null) return null;
        let sawNull = false;
        for (const item of list) {
          const w = item(row, ctx);
          if (w === null) sawNull = true;
          else if (eq(v, w)) return !negated;
        }
        return sawNull ? null : negated;
      };
    }
    case 'subquery':
    case 'quantifiedSubquery':
    case 'asyncCall':
      throw new SqlError(SqlState.internalError, `${e.k} compiled as synchronous`);
  }
}

export function compileAsync(e: BoundExpr): AsyncEval {
  if (!isAsync(e)) {
    const f = compileSync(e);
    return (row, ctx) => Promise.resolve(f(row, ctx));
  }
  switch (e.k) {
    case 'call': {
      const args = e.args.map(compileAsync);
      const { impl, strict } = e;
      return async (row, ctx) => {
        const vals: Datum[] = [];
        for (const a of args) {
          const v = await a(row, ctx);
          if (v === null && strict) return null;
          vals.push(v);
        }
        return impl(vals, ctx);
      };
    }
    case 'asyncCall': {
      const args = e.args.map(compileAsync);
      const { impl, strict } = e;
      return async (row, ctx) => {
        const vals: Datum[] = [];
        for (const a of args) {
          const v = await a(row, ctx);
          if (v === null && strict) return null;
          vals.push(v);
        }
        return impl(vals, ctx);
      };
    }
    case 'and': {
      const args = e.args.map(compileAsync);
      return async (row, ctx) => {
        let sawNull = false;
        for (const a of args) {
          const v = await a(row, ctx);
          if (v === false) return false;
          if (v === null) sawNull = true;
        }
        return sawNull ? null : true;
      };
    }
    case 'or': {
      const args = e.args.map(compileAsync);
      return async (row, ctx) => {
        let sawNull = false;
        for (const a of args) {
          const v = await a(row, ctx);
          if (v === true) return true;
          if (v === null) sawNull = true;
        }
        return sawNull ? null : false;
      };
    }
    case 'not': {
      const a = compileAsync(e.arg);
      return async (row, ctx) => {
        const v = await a(row, ctx);
        return v === null ? null : !v;
      };
    }
    case 'isNull': {
      const a = compileAsync(e.arg);
      const negated = e.negated;
      return async (row, ctx) => ((await a(row, ctx)) === null) !== negated;
    }
    case 'case': {
      const whens = e.whens.map((w) => ({ when: compileAsync(w.when), then: compileAsync(w.then) }));
      const otherwise = compileAsync(e.else);
      return async (row, ctx) => {
        for (const w of whens) if ((await w.when(row, ctx)) === true) return w.then(row, ctx);
        return otherwise(row, ctx);
      };
    }
    case 'coalesce': {
      const args = e.args.map(compileAsync);
      return async (row, ctx) => {
        for (const a of args) {
          const v = await a(row, ctx);
          if (v !== null) return v;
        }
        return null;
      };
    }
    case 'inList': {
      const arg = compileAsync(e.arg);
      const list = e.list.map(compileAsync);
      const { eq, negated } = e;
      return async (row, ctx) => {
        const v = await arg(row, ctx);
        if (v === null) return null;
        let sawNull = false;
        for (const item of list) {
          const w = await item(row, ctx);
          if (w === null) sawNull = true;
          else if (eq(v, w)) return !negated;
        }
        return sawNull ? null : negated;
      };
    }
    case 'subquery':
      return compileSubquery(e);
    case 'quantifiedSubquery':
      return compileQuantified(e);
    default:
      throw new SqlError(SqlState.internalError, `cannot compile ${e.k}`);
  }
}

async function subqueryRows(sub: BoundSubquery, row: Row, ctx: EvalContext, limit: number): Promise<Row[]> {
  if (!sub.correlated) {
    const cached = ctx.subqueryCache.get(sub);
    if (cached !== undefined) return cached as unknown as Row[];
    const rows = await ctx.runSubquery(sub.plan, row, limit);
    ctx.subqueryCache.set(sub, rows as unknown as Datum[]);
    return rows;
  }
  return ctx.runSubquery(sub.plan, row, limit);
}

function compileSubquery(e: Extract<BoundExpr, { k: 'subquery' }>): AsyncEval {
  const sub = e.subquery;
  switch (e.mode) {
    case 'exists':
      return async (row, ctx) => (await subqueryRows(sub, row, ctx, 1)).length > 0;
    case 'scalar':
      return async (row, ctx) => {
        const rows = await subqueryRows(sub, row, ctx, 2);
        if (rows.length > 1) throw new SqlError(SqlState.cardinalityViolation, 'more than one row returned by a subquery used as an expression');
        return rows.length === 0 ? null : (rows[0]![0] as Datum);
      };
    case 'array': {
      const elementType = sub.plan.columns[0]?.type.oid ?? 0;
      return async (row, ctx) => {
        const rows = await subqueryRows(sub, row, ctx, Number.POSITIVE_INFINITY);
        return new SqlArray(elementType, rows.map((r) => r[0] as Datum));
      };
    }
  }
}

function compileQuantified(e: Extract<BoundExpr, { k: 'quantifiedSubquery' }>): AsyncEval {
  const left = e.left.map(compileAsync);
  const { cmp, quantifier, subquery } = e;
  return async (row, ctx) => {
    const values: Datum[] = [];
    for (const l of left) values.push(await l(row, ctx));
    const rows = await subqueryRows(subquery, row, ctx, Number.POSITIVE_INFINITY);
    let sawNull = false;
    for (const r of rows) {
      const c = cmp(values, r, ctx);
      if (c === null) sawNull = true;
      else if (quantifier === 'any' && c) return true;
      else if (quantifier === 'all' && !c) return false;
    }
    if (sawNull) return null;
    return quantifier === 'all';
  };
}
