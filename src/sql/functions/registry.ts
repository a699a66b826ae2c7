// The built-in functions: scalar functions, aggregates, window functions and set-returning
// functions, by name, each with its overloads. The binder resolves a call to one overload the way
// PostgreSQL's function resolution does (exact match, then implicit coercions preferring exact
// matches and preferred types, with polymorphic anyelement/anyarray arguments unified). Modules
// under functions/ register themselves here; index.ts imports them all.
import { SqlError, SqlState } from '../errors.js';
import type { Datum, Row } from '../types/datum.js';
import { arrayTypeOf, elementTypeOf, formatType, NO_TYPMOD, Oid, typeInfo, type SqlType } from '../types/oids.js';
import type { AsyncScalarImpl, EvalContext, ScalarImpl } from '../plan/bound.js';
import { implicitlyCoercible, isTextLike } from '../plan/coercion.js';

/**
 * A parameter type: an OID, or a polymorphic placeholder. 'anyelement' matches any non-array type
 * and all anyelement/anyarray parameters of one call must agree; 'anycompatible' is like it but
 * coerces to a common type; 'any' matches anything independently.
 */
export type ParamType = number | 'any' | 'anyelement' | 'anyarray' | 'anycompatible' | 'anycompatiblearray' | 'anynonarray';

export type ReturnType = SqlType | ((args: readonly SqlType[]) => SqlType);

export interface ScalarOverload {
  readonly params: readonly ParamType[];
  /** When set, the last parameter repeats (a VARIADIC function such as concat). */
  readonly variadic?: boolean;
  readonly returns: ReturnType;
  readonly impl: ScalarImpl;
  /** Null in, null out (most functions); false for functions that look at nulls (concat, coalesce-like). */
  readonly strict?: boolean;
  /** random(), now() within a statement is stable, nextval is volatile. */
  readonly volatile?: boolean;
}

export interface AsyncScalarOverload extends Omit<ScalarOverload, 'impl'> {
  readonly asyncImpl: AsyncScalarImpl;
}

/** The running state of one aggregate over one group. */
export interface Accumulator {
  /** Adds one row's arguments (already filtered by FILTER and, when strict, non-null). */
  add(args: readonly Datum[], ctx: EvalContext): void;
  result(ctx: EvalContext): Datum;
}

export interface AggregateOverload {
  readonly params: readonly ParamType[];
  readonly returns: ReturnType;
  /** A fresh accumulator; `argTypes` are the resolved argument types. */
  readonly create: (argTypes: readonly SqlType[]) => Accumulator;
  /** Rows with a null argument are skipped (all standard aggregates except count(*)-like ones). */
  readonly strict?: boolean;
}

export interface WindowFrameRows {
  /** All rows of the partition, ordered. */
  readonly rows: readonly Row[];
  /** Index of the current row within `rows`. */
  readonly current: number;
  /** Rows of the current row's peer group (same ORDER BY values): [start, end). */
  readonly peerStart: number;
  readonly peerEnd: number;
  /** The frame: [start, end). */
  readonly frameStart: number;
  readonly frameEnd: number;
}

export interface WindowOverload {
  readonly params: readonly ParamType[];
  readonly returns: ReturnType;
  /** Computes the value for the current row; `args(i)` evaluates argument expressions on row i. */
  readonly compute: (frame: WindowFrameRows, args: (rowIndex: number) => Datum[], ctx: EvalContext) => Datum;
}

export interface SetReturningOverload {
  readonly params: readonly ParamType[];
  readonly variadic?: boolean;
  /** Column names and types of the rows produced. */
  readonly columns: (args: readonly SqlType[]) => ReadonlyArray<{ readonly name: string; readonly type: SqlType }>;
  /** Produces the rows (bounded by the caller's row limits). */
  readonly rows: (args: readonly Datum[], argTypes: readonly SqlType[], ctx: EvalContext) => Iterable<Datum[]>;
  readonly strict?: boolean;
}

export type FunctionKind = 'scalar' | 'aggregate' | 'window' | 'setReturning';

interface Entry {
  scalar: Array<ScalarOverload | AsyncScalarOverload>;
  aggregate: AggregateOverload[];
  window: WindowOverload[];
  setReturning: SetReturningOverload[];
}

const FUNCTIONS = new Map<string, Entry>();

function entry(name: string): Entry {
  const key = name.toLowerCase();
  let e = FUNCTIONS.get(key);
  if (e === undefined) {
    e = { scalar: [], aggregate: [], window: [], setReturning: [] };
    FUNCTIONS.set(key, e);
  }
  return e;
}

export function defineScalar(name: string, ...overloads: ScalarOverload[]): void {
  entry(name).scalar.push(...overloads);
}

export function defineAsyncScalar(name: string, ...overloads: AsyncScalarOverload[]): void {
  entry(name).scalar.push(...overloads);
}

export function defineAggregate(name: string, ...overloads: AggregateOverload[]): void {
  entry(name).aggregate.push(...overloads);
}

export function defineWindow(name: string, ...overloads: WindowOverload[]): void {
  entry(name).window.push(...overloads);
}

export function defineSetReturning(name: string, ...overloads: SetReturningOverload[]): void {
  entry(name).setReturning.push(...overloads);
}

export function lookupFunction(name: string): Entry | undefined {
  return FUNCTIONS.get(name.toLowerCase());
}

export function functionNames(): string[] {
  return [...FUNCTIONS.keys()];
}

// ---- resolution ------------------------------------------------------------------------------------------

export interface Resolved<O> {
  readonly overload: O;
  /** The type each argument must be coerced to. */
  readonly argTypes: readonly SqlType[];
  readonly returnType: SqlType;
}

const T = (oid: number): SqlType => ({ oid, typmod: NO_TYPMOD });

function expandParams(o: { params: readonly ParamType[]; variadic?: boolean }, n: number): ParamType[] | undefined {
  if (o.variadic) {
    if (n < o.params.length - 1) return undefined;
    const fixed = o.params.slice(0, -1);
    const rep = o.params[o.params.length - 1]!;
    return [...fixed, ...Array.from({ length: n - fixed.length }, () => rep)];
  }
  return o.params.length === n ? [...o.params] : undefined;
}

interface Match {
  readonly argTypes: SqlType[];
  readonly exact: number;
  readonly preferred: number;
}

function matchOverload(params: ParamType[], actual: readonly SqlType[]): Match | undefined {
  // Unify the polymorphic parameters first.
  let element: number | undefined;
  const anycompat: SqlType[] = [];
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    const a = actual[i]!;
    if (a.oid === Oid.unknown) continue;
    if (p === 'anyelement' || p === 'anynonarray') {
      if (p === 'anynonarray' && elementTypeOf(a.oid) !== 0) return undefined;
      if (element !== undefined && element !== a.oid) return undefined;
      element = a.oid;
    } else if (p === 'anyarray') {
      const el = elementTypeOf(a.oid);
      if (el === 0) return undefined;
      if (element !== undefined && element !== el) return undefined;
      element = el;
    } else if (p === 'anycompatible') {
      anycompat.push(a);
    } else if (p === 'anycompatiblearray') {
      const el = elementTypeOf(a.oid);
      if (el === 0) return undefined;
      anycompat.push(T(el));
    }
  }
  let compat: number | undefined;
  if (anycompat.length > 0) {
    compat = anycompat[0]!.oid;
    for (const t of anycompat) {
      if (t.oid === compat) continue;
      if (implicitlyCoercible(compat, t.oid)) compat = t.oid;
      else if (!implicitlyCoercible(t.oid, compat)) return undefined;
    }
  }
  const argTypes: SqlType[] = [];
  let exact = 0;
  let preferred = 0;
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    const a = actual[i]!;
    let want: SqlType;
    if (p === 'any') want = a.oid === Oid.unknown ? T(Oid.text) : a;
    else if (p === 'anyelement' || p === 'anynonarray') want = T(element ?? Oid.text);
    else if (p === 'anyarray') want = T(element === undefined ? Oid._text : arrayTypeOf(element));
    else if (p === 'anycompatible') want = T(compat ?? Oid.text);
    else if (p === 'anycompatiblearray') want = T(compat === undefined ? Oid._text : arrayTypeOf(compat));
    else want = T(p);
    const concrete = typeof p === 'number';
    if (a.oid === Oid.unknown) {
      // An untyped literal leans towards the preferred type of a category (text, float8, ...).
      if (concrete && typeInfo(want.oid)?.preferred) preferred++;
      argTypes.push(want);
      continue;
    }
    if (a.oid === want.oid || (isTextLike(a.oid) && isTextLike(want.oid))) {
      // A concrete parameter matching exactly beats a polymorphic one.
      exact += a.oid === want.oid ? (concrete ? 2 : 1) : 0;
      argTypes.push(a.oid === want.oid ? a : want);
      continue;
    }
    if (!implicitlyCoercible(a.oid, want.oid)) return undefined;
    if (typeInfo(want.oid)?.preferred) preferred++;
    argTypes.push(want);
  }
  return { argTypes, exact, preferred };
}

/** Picks the overload a call with arguments of these types resolves to, or throws 42883/42725. */
export function resolveOverload<O extends { params: readonly ParamType[]; variadic?: boolean; returns?: ReturnType }>(
  name: string,
  overloads: readonly O[],
  actual: readonly SqlType[],
): Resolved<O> {
  let best: { o: O; m: Match } | undefined;
  let tie = false;
  for (const o of overloads) {
    const params = expandParams(o, actual.length);
    if (params === undefined) continue;
    const m = matchOverload(params, actual);
    if (m === undefined) continue;
    if (best === undefined || m.exact > best.m.exact || (m.exact === best.m.exact && m.preferred > best.m.preferred)) {
      best = { o, m };
      tie = false;
    } else if (m.exact === best.m.exact && m.preferred === best.m.preferred) {
      tie = true;
    }
  }
  const sig = `${name}(${actual.map((t) => (t.oid === Oid.unknown ? 'unknown' : formatType(t))).join(', ')})`;
  if (best === undefined) {
    throw new SqlError(SqlState.undefinedFunction, `function ${sig} does not exist`, {
      hint: 'No function matches the given name and argument types. You might need to add explicit type casts.',
    });
  }
  if (tie && actual.some((t) => t.oid === Oid.unknown)) {
    // With unknown arguments, prefer the candidate taking text (PostgreSQL's rule for unknown literals).
    const textual = overloads.find((o) => {
      const p = expandParams(o, actual.length);
      return p !== undefined && p.every((x, i) => actual[i]!.oid !== Oid.unknown || x === Oid.text);
    });
    if (textual !== undefined) {
      const m = matchOverload(expandParams(textual, actual.length)!, actual);
      if (m !== undefined) best = { o: textual, m };
      tie = false;
    }
  }
  if (tie) {
    throw new SqlError(SqlState.ambiguousFunction, `function ${sig} is not unique`, {
      hint: 'Could not choose a best candidate function. You might need to add explicit type casts.',
    });
  }
  const returns = best.o.returns;
  const returnType = returns === undefined ? T(Oid.record) : typeof returns === 'function' ? returns(best.m.argTypes) : returns;
  return { overload: best.o, argTypes: best.m.argTypes, returnType };
}
