// Type coercion while binding: turning an expression of one type into another (implicitly for
// operators and functions, by assignment for INSERT/UPDATE, explicitly for CAST), and choosing the
// common type of UNION branches, CASE results, COALESCE and VALUES columns, after PostgreSQL's
// rules ("UNION, CASE, and Related Constructs" in its documentation).
import { SqlError, SqlState } from '../errors.js';
import { castContextOf, castDatum, type CastContext } from '../types/casts.js';
import type { Datum } from '../types/datum.js';
import { formatType, NO_TYPMOD, Oid, typeInfo, type SqlType } from '../types/oids.js';
import type { TypeSettings } from '../types/settings.js';
import { parseText } from '../types/text_io.js';
import type { BoundExpr } from './bound.js';

export const UNKNOWN: SqlType = { oid: Oid.unknown, typmod: NO_TYPMOD };

/** Types whose values share one representation and need no conversion among themselves. */
const TEXT_LIKE = new Set<number>([Oid.text, Oid.varchar, Oid.name, Oid.bpchar]);

export function isTextLike(oid: number): boolean {
  return TEXT_LIKE.has(oid);
}

/** Position in the numeric promotion order, or undefined for a non-numeric type. */
export function numericRank(oid: number): number | undefined {
  switch (oid) {
    case Oid.int2:
      return 1;
    case Oid.int4:
      return 2;
    case Oid.int8:
      return 3;
    case Oid.numeric:
      return 4;
    case Oid.float4:
      return 5;
    case Oid.float8:
      return 6;
    default:
      return undefined;
  }
}

export function isNumeric(oid: number): boolean {
  return numericRank(oid) !== undefined;
}

export function isIntegerType(oid: number): boolean {
  return oid === Oid.int2 || oid === Oid.int4 || oid === Oid.int8;
}

export function typeName(t: SqlType): string {
  return formatType(t);
}

function category(oid: number): string {
  return typeInfo(oid)?.category ?? 'U';
}

function preferred(oid: number): boolean {
  return typeInfo(oid)?.preferred ?? false;
}

/** A bound unknown-typed constant (a quoted literal whose type comes from its context). */
export function isUnknownLiteral(e: BoundExpr): e is Extract<BoundExpr, { k: 'const' }> {
  return e.k === 'const' && e.type.oid === Oid.unknown;
}

export interface CoercionEnv {
  readonly settings: TypeSettings;
  /** Records the type a parameter turned out to need; returns the type it has. */
  resolveParam(index: number, type: SqlType): SqlType;
}

/** Whether a value of `from` may be used where `to` is expected without an explicit cast. */
export function implicitlyCoercible(from: number, to: number): boolean {
  if (from === to || from === Oid.unknown) return true;
  if (TEXT_LIKE.has(from) && TEXT_LIKE.has(to)) return true;
  return castContextOf(from, to) === 'implicit';
}

function castCall(e: BoundExpr, to: SqlType, context: CastContext, settings: TypeSettings): BoundExpr {
  const from = e.type;
  if (e.k === 'const') {
    return { k: 'const', type: to, value: castDatum(e.value, from, to, settings, context) };
  }
  return {
    k: 'call',
    type: to,
    name: `cast to ${formatType(to)}`,
    args: [e],
    strict: true,
    volatile: false,
    // The session's settings (time zone, date style) at run time decide text conversions.
    impl: (args, ctx) => castDatum(args[0]!, from, to, ctx.settings, context),
  };
}

/**
 * Coerces `e` to `to` in the given context, or throws the error PostgreSQL gives. An unknown
 * literal is converted now (its text parsed as `to`); an untyped parameter takes the type.
 */
export function coerce(e: BoundExpr, to: SqlType, context: CastContext, env: CoercionEnv, what?: () => string): BoundExpr {
  if (to.oid === Oid.unknown || to.oid === Oid.any || to.oid === Oid.anyelement) return e;
  // regclass is a name on the way in and on the way out: the catalog resolves it.
  if (to.oid === Oid.regclass && (e.type.oid === Oid.unknown || TEXT_LIKE.has(e.type.oid)) && !(e.k === 'param' && e.type.oid === Oid.unknown)) {
    return {
      k: 'call',
      type: to,
      name: 'regclass',
      args: [e.type.oid === Oid.unknown ? { ...e, type: { oid: Oid.text, typmod: NO_TYPMOD } } as BoundExpr : e],
      strict: true,
      volatile: false,
      impl: (args, ctx) => {
        const s = (args[0] as string).trim();
        return /^\d+$/.test(s) ? Number(s) : ctx.services.regclassIn(s);
      },
    };
  }
  if (e.type.oid === Oid.regclass && TEXT_LIKE.has(to.oid)) {
    return { k: 'call', type: to, name: 'regclass text', args: [e], strict: true, volatile: false, impl: (args, ctx) => ctx.services.regclassOut(args[0] as number) };
  }
  if (e.k === 'param' && e.type.oid === Oid.unknown) {
    const type = env.resolveParam(e.index, to);
    const p: BoundExpr = { ...e, type };
    return type.oid === to.oid && (to.typmod < 0 || type.typmod === to.typmod) ? p : coerce(p, to, context, env, what);
  }
  if (isUnknownLiteral(e)) {
    if (e.value === null) return { k: 'const', type: to, value: null };
    const parsed: Datum = parseText(e.value as string, to, env.settings);
    const typed: BoundExpr = { k: 'const', type: { oid: to.oid, typmod: NO_TYPMOD }, value: parsed };
    return to.typmod >= 0 ? castCall(typed, to, context, env.settings) : typed;
  }
  const from = e.type;
  if (from.oid === to.oid) {
    if (to.typmod < 0 || from.typmod === to.typmod) return e;
    return castCall(e, to, context, env.settings);
  }
  if (from.oid === Oid.unknown) {
    // An unknown-typed non-literal (a NULL from a subquery, say): reinterpret its text.
    return castCall({ ...e, type: { oid: Oid.text, typmod: NO_TYPMOD } } as BoundExpr, to, context, env.settings);
  }
  const allowed = TEXT_LIKE.has(from.oid) && TEXT_LIKE.has(to.oid) ? 'implicit' : castContextOf(from.oid, to.oid);
  const ok =
    allowed !== undefined &&
    (context === 'explicit' || (context === 'assignment' && allowed !== 'explicit') || (context === 'implicit' && allowed === 'implicit'));
  if (!ok) {
    if (context === 'explicit' || allowed === undefined) {
      throw new SqlError(SqlState.cannotCoerce, `cannot cast type ${formatType(from)} to ${formatType(to)}`);
    }
    throw new SqlError(SqlState.datatypeMismatch, what ? what() : `expression is of type ${formatType(from)} but ${formatType(to)} is expected`, {
      hint: 'You will need to rewrite or cast the expression.',
    });
  }
  // Text types share a representation: only a length modifier needs work.
  if (TEXT_LIKE.has(from.oid) && TEXT_LIKE.has(to.oid) && to.typmod < 0 && to.oid !== Oid.bpchar && from.oid !== Oid.bpchar) {
    return retype(e, to);
  }
  return castCall(e, to, context, env.settings);
}

/** The same expression seen as another type of identical representation. */
export function retype(e: BoundExpr, to: SqlType): BoundExpr {
  return { ...e, type: to } as BoundExpr;
}

/**
 * The type that several expressions resolve to together (CASE results, UNION columns, COALESCE
 * arguments, VALUES columns, IN lists). Throws 42804 when they cannot be unified.
 */
export function commonType(types: readonly SqlType[], construct: string): SqlType {
  const known = types.filter((t) => t.oid !== Oid.unknown);
  if (known.length === 0) return { oid: Oid.text, typmod: NO_TYPMOD };
  const first = known[0]!;
  if (known.every((t) => t.oid === first.oid)) {
    const typmod = known.every((t) => t.typmod === first.typmod) ? first.typmod : NO_TYPMOD;
    return { oid: first.oid, typmod };
  }
  const cat = category(first.oid);
  let candidate = first;
  for (const t of known.slice(1)) {
    if (t.oid === candidate.oid) continue;
    if (category(t.oid) !== cat) {
      throw new SqlError(SqlState.datatypeMismatch, `${construct} types ${formatType(candidate)} and ${formatType(t)} cannot be matched`);
    }
    // Move to the other type if ours converts to it implicitly and not the reverse (or it is preferred).
    if (!preferred(candidate.oid) && implicitlyCoercible(candidate.oid, t.oid) && !implicitlyCoercible(t.oid, candidate.oid)) candidate = t;
    else if (!preferred(candidate.oid) && preferred(t.oid) && implicitlyCoercible(candidate.oid, t.oid)) candidate = t;
  }
  for (const t of known) {
    if (!implicitlyCoercible(t.oid, candidate.oid)) {
      throw new SqlError(SqlState.datatypeMismatch, `${construct} types ${formatType(candidate)} and ${formatType(t)} cannot be matched`);
    }
  }
  // Text types of different kinds (varchar with text) resolve to text.
  if (TEXT_LIKE.has(candidate.oid) && known.some((t) => t.oid !== candidate.oid)) return { oid: Oid.text, typmod: NO_TYPMOD };
  return { oid: candidate.oid, typmod: NO_TYPMOD };
}
