// Binding expressions: names to row positions (through scopes, outward for correlated
// subqueries), literals to typed constants, operators and functions to implementations, and
// aggregates and window functions to the columns of the nodes that will compute them.
import { SqlError, SqlState } from '../errors.js';
import {
  lookupFunction,
  resolveOverload,
  type AggregateOverload,
  type AsyncScalarOverload,
  type ScalarOverload,
  type WindowOverload,
} from '../functions/registry.js';
import type { Expr, Query, SortItem, WindowSpec } from '../parser/ast.js';
import { castContextOf } from '../types/casts.js';
import { SqlArray, SqlRecord, type Datum } from '../types/datum.js';
import { Numeric } from '../types/numeric.js';
import { elementTypeOf, formatType, NO_TYPMOD, Oid, Types, type SqlType } from '../types/oids.js';
import type { TypeSettings } from '../types/settings.js';
import type { BoundExpr, BoundSubquery, ScalarImpl } from './bound.js';
import { coerce, commonType, isUnknownLiteral, UNKNOWN, type CoercionEnv } from './coercion.js';
import { arrayOf, bindBinaryOperator, bindComparison, bindUnaryOperator, comparator, comparisonType, isComparison } from './operators.js';
import type { PlanNode } from './plan_node.js';
import { ambiguous, asOuter, exprKey, Scope, undefinedColumn } from './scope.js';
import { resolveTypeName } from './type_names.js';
import { datumKey } from '../types/compare.js';
import { likeMatcher } from '../functions/like.js';

/** An aggregate call found while binding, computed by the aggregation node. */
export interface CollectedAggregate {
  readonly name: string;
  readonly overload: AggregateOverload;
  readonly argTypes: readonly SqlType[];
  /** Bound in the aggregation's input scope. */
  readonly args: readonly BoundExpr[];
  readonly distinct: boolean;
  readonly filter: BoundExpr | undefined;
  readonly orderBy: ReadonlyArray<{ readonly expr: BoundExpr; readonly descending: boolean; readonly nullsFirst: boolean }>;
  readonly star: boolean;
  readonly type: SqlType;
  readonly key: string;
}

export interface CollectedWindow {
  readonly name: string;
  readonly overload: WindowOverload | undefined;
  readonly aggregate: CollectedAggregate | undefined;
  readonly args: readonly BoundExpr[];
  readonly partitionBy: readonly BoundExpr[];
  readonly orderBy: ReadonlyArray<{ readonly expr: BoundExpr; readonly descending: boolean; readonly nullsFirst: boolean }>;
  readonly spec: WindowSpec;
  readonly type: SqlType;
}

/** Where aggregates of the expression being bound go. */
export interface AggregateSink {
  /** The scope the aggregate arguments are bound in (the input of GROUP BY). */
  readonly input: Scope;
  /** Registers an aggregate and returns the expression that reads its result. */
  add(agg: Omit<CollectedAggregate, 'key'>): BoundExpr;
}

export interface WindowSink {
  add(w: CollectedWindow): BoundExpr;
  readonly named: ReadonlyMap<string, WindowSpec>;
}

export interface BindOptions {
  readonly aggregates?: AggregateSink;
  readonly windows?: WindowSink;
  /** Names the context for error messages ("WHERE", "JOIN conditions", ...). */
  readonly clause?: string;
}

/** Planning of subqueries, supplied by the query planner. */
export interface SubqueryPlanner {
  planSubquery(query: Query, parent: Scope): { plan: PlanNode; correlated: boolean };
}

/** Mutable state shared by the binding of one statement. */
export class BindEnv implements CoercionEnv {
  /** Parameter types: given by the client or inferred; unknown until something needs them. */
  readonly params: SqlType[];
  subqueries: SubqueryPlanner | undefined;

  constructor(
    readonly settings: TypeSettings,
    givenParamTypes: readonly number[],
    readonly session: { readonly database: string; readonly user: string },
  ) {
    this.params = givenParamTypes.map((oid) => (oid === 0 ? UNKNOWN : { oid, typmod: NO_TYPMOD }));
  }

  resolveParam(index: number, type: SqlType): SqlType {
    while (this.params.length <= index) this.params.push(UNKNOWN);
    const current = this.params[index]!;
    if (current.oid === Oid.unknown) {
      const t = { oid: type.oid, typmod: NO_TYPMOD };
      this.params[index] = t;
      return t;
    }
    return current;
  }

  paramType(index: number): SqlType {
    while (this.params.length <= index) this.params.push(UNKNOWN);
    return this.params[index]!;
  }
}

const bool = Types.bool;

function call(name: string, type: SqlType, args: BoundExpr[], impl: ScalarImpl, strict = true, volatile = false): BoundExpr {
  return { k: 'call', type, name, args, strict, volatile, impl };
}

function integerConst(text: string): BoundExpr {
  const big = BigInt(text);
  if (big >= -2147483648n && big <= 2147483647n) return { k: 'const', type: Types.int4, value: Number(big) };
  if (big >= -(1n << 63n) && big < 1n << 63n) return { k: 'const', type: Types.int8, value: big };
  return { k: 'const', type: Types.numeric, value: Numeric.parse(text) };
}

export class ExprBinder {
  constructor(readonly env: BindEnv) {}

  /** Binds and coerces to boolean (WHERE, ON, HAVING, CASE WHEN). */
  bindCondition(e: Expr, scope: Scope, opts: BindOptions = {}): BoundExpr {
    const b = this.bind(e, scope, opts);
    if (b.type.oid !== Oid.bool && b.type.oid !== Oid.unknown) {
      throw new SqlError(SqlState.datatypeMismatch, `argument of ${opts.clause ?? 'WHERE'} must be type boolean, not type ${formatType(b.type)}`).withPosition(locationOf(e) + 1);
    }
    return coerce(b, bool, 'implicit', this.env);
  }

  bind(e: Expr, scope: Scope, opts: BindOptions = {}): BoundExpr {
    // Under GROUP BY, an expression equal to a grouping expression reads the group's value.
    if (scope.grouped?.hasComplexKeys && e.kind !== 'column' && e.kind !== 'const' && e.kind !== 'param' && !(e.kind === 'func' && this.isAggregateCall(e))) {
      const matched = this.matchGroupExpr(e, scope);
      if (matched !== undefined) return matched;
    }
    try {
      return this.bindInner(e, scope, opts);
    } catch (err) {
      if (err instanceof SqlError && err.fields.position === undefined && locationOf(e) >= 0) throw err.withPosition(locationOf(e) + 1);
      throw err;
    }
  }

  private matchGroupExpr(e: Expr, scope: Scope): BoundExpr | undefined {
    const grouped = scope.grouped!;
    let bound: BoundExpr;
    try {
      bound = this.bindInner(e, grouped.input, {});
    } catch {
      return undefined;
    }
    const i = grouped.keys.indexOf(exprKey(bound));
    return i < 0 ? undefined : { k: 'column', type: grouped.types[i]!, index: i };
  }

  private isAggregateCall(e: Extract<Expr, { kind: 'func' }>): boolean {
    if (e.over !== undefined) return false;
    const name = e.name[e.name.length - 1]!.toLowerCase();
    const f = lookupFunction(name);
    return f !== undefined && f.aggregate.length > 0 && f.scalar.length === 0;
  }

  private bindInner(e: Expr, scope: Scope, opts: BindOptions): BoundExpr {
    switch (e.kind) {
      case 'const':
        return this.bindConst(e.value);
      case 'column':
        if (e.star) throw new SqlError(SqlState.syntaxError, 'row expansion via "*" is not supported here').withPosition(e.location + 1);
        return this.resolveColumn(e.parts, e.location, scope);
      case 'param': {
        if (e.index < 1 || e.index > 65535) throw new SqlError(SqlState.undefinedParameter, `there is no parameter $${e.index}`).withPosition(e.location + 1);
        return { k: 'param', type: this.env.paramType(e.index - 1), index: e.index - 1 };
      }
      case 'op':
        return this.bindOp(e, scope, opts);
      case 'and':
      case 'or': {
        const args = e.args.map((a) => this.bindCondition(a, scope, { ...opts, clause: e.kind.toUpperCase() }));
        // Flatten nested ANDs/ORs so conjunct splitting sees every term.
        const flat: BoundExpr[] = [];
        for (const a of args) {
          if (a.k === e.kind) flat.push(...a.args);
          else flat.push(a);
        }
        return { k: e.kind, type: bool, args: flat };
      }
      case 'not':
        return { k: 'not', type: bool, arg: this.bindCondition(e.arg, scope, { ...opts, clause: 'NOT' }) };
      case 'func':
        return this.bindFunc(e, scope, opts);
      case 'cast': {
        const arg = this.bind(e.arg, scope, opts);
        const { type, serial } = resolveTypeName(e.type);
        if (serial) throw new SqlError(SqlState.undefinedObject, `type "${e.type.names.join('.')}" does not exist`).withPosition(e.type.location + 1);
        if (arg.k === 'param' && arg.type.oid === Oid.unknown) {
          return coerce(arg, type, 'explicit', this.env);
        }
        return this.explicitCast(arg, type);
      }
      case 'case':
        return this.bindCase(e, scope, opts);
      case 'coalesce': {
        const args = e.args.map((a) => this.bind(a, scope, opts));
        const type = commonType(args.map((a) => a.type), 'COALESCE');
        return { k: 'coalesce', type, args: args.map((a) => coerce(a, type, 'implicit', this.env)) };
      }
      case 'nullif': {
        const l = this.bind(e.left, scope, opts);
        const r = this.bind(e.right, scope, opts);
        const eq = bindComparison('=', l, r, this.env) as Extract<BoundExpr, { k: 'call' }>;
        const lt = coerce(l, eq.args[0]!.type, 'implicit', this.env);
        const outType = lt.type;
        const impl = eq.impl;
        return call('nullif', outType, [eq.args[0]!, eq.args[1]!], (a, ctx) => (a[0] !== null && a[1] !== null && impl([a[0]!, a[1]!], ctx) === true ? null : a[0]!), false);
      }
      case 'greatest':
      case 'least': {
        const args = e.args.map((a) => this.bind(a, scope, opts));
        const type = commonType(args.map((a) => a.type), e.kind.toUpperCase());
        const cmp = comparator(type.oid);
        const sign = e.kind === 'greatest' ? 1 : -1;
        return call(
          e.kind,
          type,
          args.map((a) => coerce(a, type, 'implicit', this.env)),
          (vals) => {
            let best: Datum = null;
            for (const v of vals as Datum[]) if (v !== null && (best === null || sign * cmp(v, best) > 0)) best = v;
            return best;
          },
          false,
        );
      }
      case 'isNull': {
        if (e.arg.kind === 'row') {
          // ROW(a, b) IS NULL: every field is null; IS NOT NULL: every field is non-null.
          const fields = e.arg.args.map((a) => this.bind(a, scope, opts));
          return { k: 'and', type: bool, args: fields.map((f) => ({ k: 'isNull', type: bool, arg: f, negated: e.negated }) as BoundExpr) };
        }
        return { k: 'isNull', type: bool, arg: this.bind(e.arg, scope, opts), negated: e.negated };
      }
      case 'boolTest': {
        const arg = this.bindCondition(e.arg, scope, { ...opts, clause: 'IS TRUE' });
        const test = e.test;
        return call(
          `is ${test}`,
          bool,
          [arg],
          (a) => {
            const v = a[0];
            switch (test) {
              case 'true':
                return v === true;
              case 'not true':
                return v !== true;
              case 'false':
                return v === false;
              case 'not false':
                return v !== false;
              case 'unknown':
                return v === null;
              case 'not unknown':
                return v !== null;
            }
          },
          false,
        );
      }
      case 'distinctFrom': {
        const l = this.bind(e.left, scope, opts);
        const r = this.bind(e.right, scope, opts);
        if (e.left.kind === 'row' || e.right.kind === 'row') throw new SqlError(SqlState.featureNotSupported, 'IS DISTINCT FROM on row values is not supported');
        const eq = bindComparison('=', l, r, this.env) as Extract<BoundExpr, { k: 'call' }>;
        const impl = eq.impl;
        const negated = e.negated;
        return call(
          negated ? 'is not distinct from' : 'is distinct from',
          bool,
          [...eq.args],
          (a, ctx) => {
            const x = a[0]!;
            const y = a[1]!;
            const same = x === null || y === null ? x === y : impl([x, y], ctx) === true;
            return negated ? same : !same;
          },
          false,
        );
      }
      case 'between':
        return this.bindBetween(e, scope, opts);
      case 'inList':
        return this.bindInList(e, scope, opts);
      case 'like':
        return this.bindLike(e, scope, opts);
      case 'quantified':
        return this.bindQuantifiedArray(e, scope, opts);
      case 'subquery': {
        const sub = this.planSubquery(e.query, scope);
        if (sub.plan.columns.length !== 1) throw new SqlError(SqlState.syntaxError, 'subquery must return only one column').withPosition(e.location + 1);
        return { k: 'subquery', type: sub.plan.columns[0]!.type, mode: 'scalar', subquery: sub };
      }
      case 'exists':
        return { k: 'subquery', type: bool, mode: 'exists', subquery: this.planSubquery(e.query, scope) };
      case 'arraySubquery': {
        const sub = this.planSubquery(e.query, scope);
        if (sub.plan.columns.length !== 1) throw new SqlError(SqlState.syntaxError, 'subquery must return only one column').withPosition(e.location + 1);
        return { k: 'subquery', type: arrayOf([sub.plan.columns[0]!.type]), mode: 'array', subquery: sub };
      }
      case 'quantifiedSubquery':
        return this.bindQuantifiedSubquery(e, scope, opts);
      case 'array': {
        const elements = e.elements.map((x) => this.bind(x, scope, opts));
        if (elements.length === 0) return { k: 'const', type: Types.textArray, value: new SqlArray(Oid.text, []) };
        const type = arrayOf(elements.map((x) => x.type));
        const el = { oid: elementTypeOf(type.oid), typmod: NO_TYPMOD };
        const coerced = elements.map((x) => coerce(x, el, 'implicit', this.env));
        return call('array', type, coerced, (a) => new SqlArray(el.oid, a), false);
      }
      case 'row': {
        const args = e.args.map((x) => this.bind(x, scope, opts));
        const types = args.map((a) => (a.type.oid === Oid.unknown ? Oid.text : a.type.oid));
        return call('row', Types.record, args.map((a) => (a.type.oid === Oid.unknown ? coerce(a, Types.text, 'implicit', this.env) : a)), (a) => new SqlRecord(types, a), false);
      }
      case 'subscript': {
        const arg = this.bind(e.arg, scope, opts);
        const el = elementTypeOf(arg.type.oid);
        if (el === 0 && arg.type.oid !== Oid.jsonb) throw new SqlError(SqlState.datatypeMismatch, `cannot subscript type ${formatType(arg.type)} because it does not support subscripting`);
        if (e.slice) {
          const lo = e.index ? coerce(this.bind(e.index, scope, opts), Types.int4, 'implicit', this.env) : ({ k: 'const', type: Types.int4, value: null } as BoundExpr);
          const hi = e.upper ? coerce(this.bind(e.upper, scope, opts), Types.int4, 'implicit', this.env) : ({ k: 'const', type: Types.int4, value: null } as BoundExpr);
          return call('array slice', arg.type, [arg, lo, hi], (a) => {
            if (a[0] === null) return null;
            const arr = a[0] as SqlArray;
            const from = a[1] === null ? arr.lowerBound : (a[1] as number);
            const to = a[2] === null ? arr.lowerBound + arr.values.length - 1 : (a[2] as number);
            const start = Math.max(from - arr.lowerBound, 0);
            const end = Math.min(to - arr.lowerBound + 1, arr.values.length);
            return new SqlArray(arr.elementType, end > start ? arr.values.slice(start, end) : []);
          }, false);
        }
        const idx = coerce(this.bind(e.index!, scope, opts), Types.int4, 'implicit', this.env);
        return call('array subscript', { oid: el, typmod: NO_TYPMOD }, [arg, idx], (a) => {
          const arr = a[0] as SqlArray;
          const v = arr.values[(a[1] as number) - arr.lowerBound];
          return v === undefined ? null : v;
        });
      }
      case 'field':
        throw new SqlError(SqlState.featureNotSupported, 'field selection from composite values is not supported').withPosition(e.location + 1);
      case 'sqlValue':
        return this.bindSqlValue(e.fn, e.precision);
      case 'collate': {
        const name = e.collation[e.collation.length - 1]!.toLowerCase();
        if (!['c', 'posix', 'default', 'ucs_basic', 'en_us', 'en_us.utf8', 'und-x-icu'].includes(name)) {
          throw new SqlError(SqlState.undefinedObject, `collation "${e.collation.join('.')}" for encoding "UTF8" does not exist`).withPosition(e.location + 1);
        }
        return this.bind(e.arg, scope, opts);
      }
      case 'default':
        throw new SqlError(SqlState.syntaxError, 'DEFAULT is not allowed in this context').withPosition(e.location + 1);
      case 'atTimeZone':
        return this.bindFunc({ kind: 'func', name: ['timezone'], args: [e.zone, e.arg], argNames: [undefined, undefined], star: false, distinct: false, variadic: false, orderBy: [], withinGroup: false, location: e.location }, scope, opts);
    }
  }

  bindConst(v: Extract<Expr, { kind: 'const' }>['value']): BoundExpr {
    switch (v.type) {
      case 'integer':
        return integerConst(v.text);
      case 'numeric':
        return { k: 'const', type: Types.numeric, value: Numeric.parse(v.text) };
      case 'string':
        return { k: 'const', type: UNKNOWN, value: v.text };
      case 'boolean':
        return { k: 'const', type: bool, value: v.value };
      case 'null':
        return { k: 'const', type: UNKNOWN, value: null };
      case 'bitstring':
        if (v.text.startsWith('x') || v.text.startsWith('X')) {
          // X'1F': PostgreSQL makes a bit string; here it is the bytes, which is what most uses want.
          return { k: 'const', type: UNKNOWN, value: `\\x${v.text.slice(1)}` };
        }
        throw new SqlError(SqlState.featureNotSupported, 'bit string literals are not supported');
    }
  }

  /** Resolves a column name through this scope and its enclosing ones. */
  resolveColumn(parts: readonly string[], location: number, scope: Scope): BoundExpr {
    let s: Scope | undefined = scope;
    let depth = 0;
    const passed: Scope[] = [];
    while (s !== undefined) {
      if (s.grouped !== undefined) {
        const inner = s.grouped.input.find(parts);
        if (inner.length > 1) throw ambiguous(parts, location);
        if (inner.length === 1) {
          const key = exprKey(inner[0]!.expr);
          const i = s.grouped.keys.indexOf(key);
          if (i < 0) {
            throw new SqlError(SqlState.groupingError, `column "${parts.join('.')}" must appear in the GROUP BY clause or be used in an aggregate function`).withPosition(location + 1);
          }
          const e: BoundExpr = { k: 'column', type: s.grouped.types[i]!, index: i };
          for (const p of passed) p.usedByInner = true;
          return depth === 0 ? e : asOuter(e, depth);
        }
      } else {
        const found = s.find(parts);
        if (found.length > 1) throw ambiguous(parts, location);
        if (found.length === 1) {
          for (const p of passed) p.usedByInner = true;
          const e = found[0]!.expr;
          return depth === 0 ? e : asOuter(e, depth);
        }
      }
      passed.push(s);
      if (!s.transparent) depth++;
      s = s.parent;
    }
    // A bare name that is a niladic SQL function written without parentheses.
    if (parts.length === 1) {
      const special = this.specialIdentifier(parts[0]!);
      if (special !== undefined) return special;
    }
    throw undefinedColumn(parts, location, scope);
  }

  private specialIdentifier(_name: string): BoundExpr | undefined {
    return undefined;
  }

  private explicitCast(arg: BoundExpr, type: SqlType): BoundExpr {
    if (arg.type.oid === type.oid && (type.typmod < 0 || arg.type.typmod === type.typmod)) return arg;
    if (arg.type.oid !== Oid.unknown && castContextOf(arg.type.oid, type.oid) === undefined) {
      const textual = (oid: number): boolean => oid === Oid.text || oid === Oid.varchar || oid === Oid.bpchar || oid === Oid.name;
      if (!textual(arg.type.oid) && !textual(type.oid) && !(arg.type.oid === type.oid)) {
        throw new SqlError(SqlState.cannotCoerce, `cannot cast type ${formatType(arg.type)} to ${formatType(type)}`);
      }
    }
    return coerce(arg, type, 'explicit', this.env);
  }

  private bindOp(e: Extract<Expr, { kind: 'op' }>, scope: Scope, opts: BindOptions): BoundExpr {
    if (e.schema !== undefined && e.schema !== 'pg_catalog') throw new SqlError(SqlState.undefinedFunction, `operator does not exist: ${e.schema}.${e.op}`);
    if (e.left === undefined) return bindUnaryOperator(e.op, this.bind(e.right, scope, opts), this.env);
    // Row comparisons: (a, b) = (c, d), (a, b) < (c, d).
    if (e.left.kind === 'row' && e.right.kind === 'row' && isComparison(e.op)) return this.bindRowComparison(e.op, e.left.args, e.right.args, scope, opts);
    if (e.op === '~~' || e.op === '!~~' || e.op === '~~*' || e.op === '!~~*') {
      return this.bindLike(
        { kind: 'like', arg: e.left, pattern: e.right, negated: e.op.startsWith('!'), caseInsensitive: e.op.includes('*'), similar: false, location: e.location },
        scope,
        opts,
      );
    }
    const l = this.bind(e.left, scope, opts);
    const r = this.bind(e.right, scope, opts);
    return bindBinaryOperator(e.op, l, r, this.env);
  }

  private bindRowComparison(op: string, left: readonly Expr[], right: readonly Expr[], scope: Scope, opts: BindOptions): BoundExpr {
    if (left.length !== right.length) throw new SqlError(SqlState.syntaxError, 'unequal number of entries in row expressions');
    const ls = left.map((x) => this.bind(x, scope, opts));
    const rs = right.map((x) => this.bind(x, scope, opts));
    if (op === '=' || op === '<>' || op === '!=') {
      const eqs = ls.map((l, i) => bindComparison('=', l, rs[i]!, this.env));
      const all: BoundExpr = { k: 'and', type: bool, args: eqs };
      return op === '=' ? all : { k: 'not', type: bool, arg: all };
    }
    // Lexicographic: (a, b) < (c, d) is a < c OR (a = c AND b < d).
    const strict = op === '<' || op === '<=' ? '<' : '>';
    let result: BoundExpr = bindComparison(op, ls[ls.length - 1]!, rs[rs.length - 1]!, this.env);
    for (let i = ls.length - 2; i >= 0; i--) {
      result = {
        k: 'or',
        type: bool,
        args: [bindComparison(strict, ls[i]!, rs[i]!, this.env), { k: 'and', type: bool, args: [bindComparison('=', ls[i]!, rs[i]!, this.env), result] }],
      };
    }
    return result;
  }

  private bindCase(e: Extract<Expr, { kind: 'case' }>, scope: Scope, opts: BindOptions): BoundExpr {
    const operand = e.operand === undefined ? undefined : this.bind(e.operand, scope, opts);
    const whens = e.whens.map((w) => {
      const cond = operand === undefined ? this.bindCondition(w.when, scope, { ...opts, clause: 'CASE/WHEN' }) : bindComparison('=', operand, this.bind(w.when, scope, opts), this.env);
      return { when: cond, then: this.bind(w.then, scope, opts) };
    });
    const otherwise: BoundExpr = e.else === undefined ? { k: 'const', type: UNKNOWN, value: null } : this.bind(e.else, scope, opts);
    const type = commonType([...whens.map((w) => w.then.type), otherwise.type], 'CASE');
    return {
      k: 'case',
      type,
      whens: whens.map((w) => ({ when: w.when, then: coerce(w.then, type, 'implicit', this.env) })),
      else: coerce(otherwise, type, 'implicit', this.env),
    };
  }

  private bindBetween(e: Extract<Expr, { kind: 'between' }>, scope: Scope, opts: BindOptions): BoundExpr {
    const arg = this.bind(e.arg, scope, opts);
    const low = this.bind(e.low, scope, opts);
    const high = this.bind(e.high, scope, opts);
    let test: BoundExpr = { k: 'and', type: bool, args: [bindComparison('>=', arg, low, this.env), bindComparison('<=', arg, high, this.env)] };
    if (e.symmetric) {
      test = { k: 'or', type: bool, args: [test, { k: 'and', type: bool, args: [bindComparison('>=', arg, high, this.env), bindComparison('<=', arg, low, this.env)] }] };
    }
    return e.negated ? { k: 'not', type: bool, arg: test } : test;
  }

  private bindInList(e: Extract<Expr, { kind: 'inList' }>, scope: Scope, opts: BindOptions): BoundExpr {
    if (e.arg.kind === 'row') {
      // (a, b) IN ((1, 2), (3, 4)): an OR of row equalities.
      const args = e.list.map((item) => {
        if (item.kind !== 'row') throw new SqlError(SqlState.syntaxError, 'IN list items must be row expressions when comparing rows');
        return this.bindRowComparison('=', (e.arg as Extract<Expr, { kind: 'row' }>).args, item.args, scope, opts);
      });
      const any: BoundExpr = { k: 'or', type: bool, args };
      return e.negated ? { k: 'not', type: bool, arg: any } : any;
    }
    const arg = this.bind(e.arg, scope, opts);
    const items = e.list.map((x) => this.bind(x, scope, opts));
    let type: SqlType | undefined;
    try {
      type = commonType([arg.type, ...items.map((i) => i.type)], 'IN');
    } catch {
      type = undefined;
    }
    if (type === undefined || items.some((i) => comparisonType(arg.type, i.type) === undefined)) {
      // Types that do not unify: compare one by one (x = a OR x = b ...), each with its own operator.
      const ors: BoundExpr[] = items.map((i) => bindComparison('=', arg, i, this.env));
      const any: BoundExpr = { k: 'or', type: bool, args: ors };
      return e.negated ? { k: 'not', type: bool, arg: any } : any;
    }
    const t = type;
    const a = coerce(arg, t, 'implicit', this.env);
    const list = items.map((i) => coerce(i, t, 'implicit', this.env));
    const cmp = comparator(t.oid);
    const allConst = list.every((i) => i.k === 'const');
    return {
      k: 'inList',
      type: bool,
      arg: a,
      list,
      negated: e.negated,
      eq: (x, y) => cmp(x, y) === 0,
      ...(allConst ? { keyOf: (v: Datum) => datumKey(v, t.oid) } : {}),
    };
  }

  private bindLike(e: Extract<Expr, { kind: 'like' }>, scope: Scope, opts: BindOptions): BoundExpr {
    const arg = coerce(this.bind(e.arg, scope, opts), Types.text, 'implicit', this.env);
    const pattern = coerce(this.bind(e.pattern, scope, opts), Types.text, 'implicit', this.env);
    const escape = e.escape === undefined ? undefined : coerce(this.bind(e.escape, scope, opts), Types.text, 'implicit', this.env);
    const matcherFor = likeMatcher({ caseInsensitive: e.caseInsensitive, similar: e.similar });
    const negated = e.negated;
    const args = escape === undefined ? [arg, pattern] : [arg, pattern, escape];
    const name = e.similar ? 'similar to' : e.caseInsensitive ? 'ilike' : 'like';
    return call(negated ? `not ${name}` : name, bool, args, (a) => {
      const m = matcherFor(a[1] as string, a.length > 2 ? (a[2] as string) : undefined);
      return m(a[0] as string) !== negated;
    });
  }

  private bindQuantifiedArray(e: Extract<Expr, { kind: 'quantified' }>, scope: Scope, opts: BindOptions): BoundExpr {
    const left = this.bind(e.left, scope, opts);
    let array = this.bind(e.array, scope, opts);
    if (array.type.oid === Oid.unknown) {
      const elType = left.type.oid === Oid.unknown ? Types.text : left.type;
      array = coerce(array, arrayOf([elType]), 'implicit', this.env);
    }
    const el = elementTypeOf(array.type.oid);
    if (el === 0) throw new SqlError(SqlState.datatypeMismatch, `op ANY/ALL (array) requires array on right side`);
    const elType: SqlType = { oid: el, typmod: NO_TYPMOD };
    const probe = bindBinaryOperator(e.op, left, { k: 'const', type: elType, value: null }, this.env) as Extract<BoundExpr, { k: 'call' }>;
    const impl = probe.impl;
    const l = probe.args[0]!;
    const quantifier = e.quantifier;
    return call(
      `${e.op} ${quantifier.toUpperCase()}`,
      bool,
      [l, array],
      (a, ctx) => {
        if (a[1] === null) return null;
        const x = a[0]!;
        let sawNull = false;
        for (const v of (a[1] as SqlArray).values) {
          if (x === null || v === null) {
            sawNull = true;
            continue;
          }
          const r = impl([x, v], ctx);
          if (r === null) sawNull = true;
          else if (quantifier === 'any' && r === true) return true;
          else if (quantifier === 'all' && r === false) return false;
        }
        if (sawNull) return null;
        return quantifier === 'all';
      },
      false,
    );
  }

  private bindQuantifiedSubquery(e: Extract<Expr, { kind: 'quantifiedSubquery' }>, scope: Scope, opts: BindOptions): BoundExpr {
    const sub = this.planSubquery(e.query, scope);
    const leftExprs = e.left.kind === 'row' ? e.left.args.map((x) => this.bind(x, scope, opts)) : [this.bind(e.left, scope, opts)];
    const cols = sub.plan.columns;
    if (cols.length !== leftExprs.length) {
      throw new SqlError(SqlState.syntaxError, cols.length > leftExprs.length ? 'subquery has too many columns' : 'subquery has too few columns');
    }
    const impls: Array<{ impl: ScalarImpl; leftCast: BoundExpr; rightType: SqlType; rightConvert: ((v: Datum, ctx: import('./bound.js').EvalContext) => Datum) | undefined }> = [];
    for (let i = 0; i < leftExprs.length; i++) {
      const placeholder: BoundExpr = { k: 'column', type: cols[i]!.type, index: i };
      const bound = bindBinaryOperator(e.op, leftExprs[i]!, placeholder, this.env) as Extract<BoundExpr, { k: 'call' }>;
      const rightArg = bound.args[1]!;
      // The right side may have been cast (int column vs numeric value): apply that cast per row.
      let rightConvert: ((v: Datum, ctx: import('./bound.js').EvalContext) => Datum) | undefined;
      if (rightArg.k === 'call') {
        const castImpl = rightArg.impl;
        rightConvert = (v, ctx) => (v === null ? null : castImpl([v], ctx));
      }
      impls.push({ impl: bound.impl, leftCast: bound.args[0]!, rightType: rightArg.type, rightConvert });
    }
    const multi = leftExprs.length > 1;
    const op = e.op;
    return {
      k: 'quantifiedSubquery',
      type: bool,
      quantifier: e.quantifier,
      left: impls.map((x) => x.leftCast),
      subquery: sub,
      cmp: (left, row, ctx) => {
        // For rows, = is true when all fields are equal, false when one differs, else null.
        let sawNull = false;
        for (let i = 0; i < impls.length; i++) {
          const x = left[i]!;
          let y = row[i] as Datum;
          if (impls[i]!.rightConvert !== undefined) y = impls[i]!.rightConvert!(y, ctx);
          if (x === null || y === null) {
            sawNull = true;
            continue;
          }
          const r = impls[i]!.impl([x, y], ctx);
          if (!multi) return r as boolean;
          if (op === '=' && r === false) return false;
          if (op === '<>' && r === true) return true;
        }
        if (sawNull) return null;
        return op !== '<>';
      },
    };
  }

  private planSubquery(query: Query, scope: Scope): BoundSubquery {
    const planner = this.env.subqueries;
    if (planner === undefined) throw new SqlError(SqlState.featureNotSupported, 'subqueries are not allowed here');
    return planner.planSubquery(query, scope);
  }

  private bindSqlValue(fn: Extract<Expr, { kind: 'sqlValue' }>['fn'], precision: number | undefined): BoundExpr {
    switch (fn) {
      case 'current_date':
        return this.bindNamedCall('current_date', []);
      case 'current_time':
        return this.bindNamedCall('current_time', precision === undefined ? [] : [{ k: 'const', type: Types.int4, value: precision }]);
      case 'current_timestamp':
        return this.bindNamedCall('now', precision === undefined ? [] : [{ k: 'const', type: Types.int4, value: precision }]);
      case 'localtime':
        return this.bindNamedCall('localtime', []);
      case 'localtimestamp':
        return this.bindNamedCall('localtimestamp', []);
      case 'current_role':
      case 'current_user':
      case 'user':
      case 'session_user':
        return { k: 'const', type: Types.name, value: this.env.session.user };
      case 'current_catalog':
        return { k: 'const', type: Types.name, value: this.env.session.database };
      case 'current_schema':
        return this.bindNamedCall('current_schema', []);
    }
  }

  /** Binds a call to a built-in scalar function by name with already bound arguments. */
  bindNamedCall(name: string, args: BoundExpr[]): BoundExpr {
    const f = lookupFunction(name);
    if (f === undefined || f.scalar.length === 0) throw new SqlError(SqlState.undefinedFunction, `function ${name}() does not exist`);
    return this.bindScalarOverloads(name, f.scalar, args);
  }

  private bindScalarOverloads(name: string, overloads: ReadonlyArray<ScalarOverload | AsyncScalarOverload>, args: BoundExpr[]): BoundExpr {
    const resolved = resolveOverload(name, overloads, args.map((a) => a.type));
    const coerced = args.map((a, i) => coerce(a, resolved.argTypes[i]!, 'implicit', this.env));
    const o = resolved.overload;
    if ('asyncImpl' in o) {
      return { k: 'asyncCall', type: resolved.returnType, name, args: coerced, strict: o.strict !== false, impl: o.asyncImpl };
    }
    // Some implementations depend on the argument types (concat, format, pg_typeof, to_json, ...).
    const specialize = (o as { specialize?: (argTypes: readonly SqlType[]) => ScalarImpl }).specialize;
    const impl = specialize !== undefined ? specialize(resolved.argTypes) : o.impl;
    return { k: 'call', type: resolved.returnType, name, args: coerced, strict: o.strict !== false, volatile: o.volatile === true, impl };
  }

  private bindFunc(e: Extract<Expr, { kind: 'func' }>, scope: Scope, opts: BindOptions): BoundExpr {
    const parts = e.name.map((p) => p.toLowerCase());
    if (parts.length > 1 && parts[0] !== 'pg_catalog' && parts[0] !== 'public' && parts[0] !== 'information_schema' && parts[0] !== 'crdb_internal') {
      throw new SqlError(SqlState.undefinedFunction, `function ${e.name.join('.')}() does not exist`).withPosition(e.location + 1);
    }
    const name = parts[parts.length - 1]!;
    const f = lookupFunction(name);
    if (f === undefined) {
      throw new SqlError(SqlState.undefinedFunction, `function ${e.name.join('.')}(${e.args.length > 0 ? '...' : ''}) does not exist`, {
        hint: 'No function matches the given name and argument types. You might need to add explicit type casts.',
      }).withPosition(e.location + 1);
    }
    if (e.over !== undefined) return this.bindWindowCall(e, name, scope, opts);
    if (f.aggregate.length > 0 && (f.scalar.length === 0 || e.star || e.distinct || e.orderBy.length > 0 || e.filter !== undefined)) {
      return this.bindAggregate(e, name, f.aggregate, scope, opts);
    }
    if (e.star) throw new SqlError(SqlState.wrongObjectType, `${name}(*) specified, but ${name} is not an aggregate function`).withPosition(e.location + 1);
    if (e.distinct) throw new SqlError(SqlState.wrongObjectType, `DISTINCT specified, but ${name} is not an aggregate function`).withPosition(e.location + 1);
    if (f.scalar.length === 0) {
      if (f.window.length > 0) throw new SqlError(SqlState.windowingError, `window function ${name} requires an OVER clause`).withPosition(e.location + 1);
      throw new SqlError(SqlState.featureNotSupported, `set-returning function ${name}() is only supported in FROM`).withPosition(e.location + 1);
    }
    const args = e.args.map((a) => this.bind(a, scope, opts));
    return this.bindScalarOverloads(name, f.scalar, args);
  }

  private bindAggregate(e: Extract<Expr, { kind: 'func' }>, name: string, overloads: readonly AggregateOverload[], _scope: Scope, opts: BindOptions): BoundExpr {
    const sink = opts.aggregates;
    if (sink === undefined) {
      throw new SqlError(SqlState.groupingError, `aggregate functions are not allowed in ${opts.clause ?? 'this context'}`).withPosition(e.location + 1);
    }
    const input = sink.input;
    // The arguments are computed on the aggregation's input rows; nested aggregates are an error.
    const inner: BindOptions = { clause: 'aggregate function calls' };
    const args = e.star ? [] : e.args.map((a) => this.bind(a, input, inner));
    const resolved = resolveOverload(name, overloads, args.map((a) => a.type));
    const coerced = args.map((a, i) => coerce(a, resolved.argTypes[i]!, 'implicit', this.env));
    const filter = e.filter === undefined ? undefined : this.bindCondition(e.filter, input, { clause: 'FILTER' });
    const orderBy = e.orderBy.map((s) => this.bindSortItem(s, input));
    return sink.add({
      name,
      overload: resolved.overload,
      argTypes: resolved.argTypes,
      args: coerced,
      distinct: e.distinct,
      filter,
      orderBy,
      star: e.star,
      type: resolved.returnType,
    });
  }

  bindSortItem(s: SortItem, scope: Scope, opts: BindOptions = {}): { expr: BoundExpr; descending: boolean; nullsFirst: boolean } {
    const expr = this.bind(s.expr, scope, opts);
    const descending = s.direction === 'desc' || s.usingOp === '>';
    const nullsFirst = s.nulls === 'first' ? true : s.nulls === 'last' ? false : descending;
    return { expr: expr.type.oid === Oid.unknown ? coerce(expr, Types.text, 'implicit', this.env) : expr, descending, nullsFirst };
  }

  private bindWindowCall(e: Extract<Expr, { kind: 'func' }>, name: string, scope: Scope, opts: BindOptions): BoundExpr {
    const sink = opts.windows;
    if (sink === undefined) throw new SqlError(SqlState.windowingError, `window functions are not allowed in ${opts.clause ?? 'this context'}`).withPosition(e.location + 1);
    let spec = e.over!;
    if (spec.refName !== undefined || (spec.name !== undefined && spec.partitionBy.length === 0 && spec.orderBy.length === 0)) {
      const ref = sink.named.get(spec.refName ?? spec.name!);
      if (ref === undefined) throw new SqlError(SqlState.undefinedObject, `window "${spec.refName ?? spec.name}" does not exist`).withPosition(e.location + 1);
      spec = { ...ref, orderBy: spec.orderBy.length > 0 ? spec.orderBy : ref.orderBy, frameOptions: spec.frameOptions || ref.frameOptions };
    }
    const inner: BindOptions = { clause: 'window functions' };
    const args = e.star ? [] : e.args.map((a) => this.bind(a, scope, inner));
    const partitionBy = spec.partitionBy.map((p) => this.bind(p, scope, inner));
    const orderBy = spec.orderBy.map((s) => this.bindSortItem(s, scope, inner));
    const f = lookupFunction(name)!;
    if (f.window.length > 0) {
      const resolved = resolveOverload(name, f.window, args.map((a) => a.type));
      const coerced = args.map((a, i) => coerce(a, resolved.argTypes[i]!, 'implicit', this.env));
      return sink.add({ name, overload: resolved.overload, aggregate: undefined, args: coerced, partitionBy, orderBy, spec, type: resolved.returnType });
    }
    if (f.aggregate.length > 0) {
      const resolved = resolveOverload(name, f.aggregate, args.map((a) => a.type));
      const coerced = args.map((a, i) => coerce(a, resolved.argTypes[i]!, 'implicit', this.env));
      const aggregate: CollectedAggregate = {
        name,
        overload: resolved.overload,
        argTypes: resolved.argTypes,
        args: coerced,
        distinct: false,
        filter: undefined,
        orderBy: [],
        star: e.star,
        type: resolved.returnType,
        key: '',
      };
      return sink.add({ name, overload: undefined, aggregate, args: coerced, partitionBy, orderBy, spec, type: resolved.returnType });
    }
    throw new SqlError(SqlState.wrongObjectType, `OVER specified, but ${name} is not a window function nor an aggregate function`).withPosition(e.location + 1);
  }
}

export function locationOf(e: Expr): number {
  return 'location' in e ? e.location : -1;
}

/** Coerces an expression whose type is still unknown to text (for outputs and sort keys). */
export function resolveUnknown(e: BoundExpr, env: CoercionEnv): BoundExpr {
  if (e.type.oid !== Oid.unknown) return e;
  if (isUnknownLiteral(e) && e.value === null) return { k: 'const', type: Types.text, value: null };
  return coerce(e, Types.text, 'implicit', env);
}
