// System information and utility functions (PostgreSQL's "System Information Functions",
// "Sequence Manipulation Functions", array functions, and the catalog-free functions psql and
// drivers call): version(), current_setting, pg_typeof, gen_random_uuid, nextval & co., the array
// functions, and the privilege and description functions, which in a single-user-model database
// answer "yes" and "no description". Functions that need the catalog (pg_table_is_visible,
// pg_get_*def, regclass lookups) live with the catalog, not here.
import { SqlError, SqlState } from '../errors.js';
import { compareDatums } from '../types/compare.js';
import { SqlArray, type Datum } from '../types/datum.js';
import * as dt from '../types/datetime.js';
import { Numeric } from '../types/numeric.js';
import { arrayTypeOf, formatType, NO_TYPMOD, Oid, sqlType, typeInfo, Types, type SqlType } from '../types/oids.js';
import { utf8Bytes } from '../types/text_io.js';
import { randomUuid } from '../types/uuid.js';
import type { EvalContext, ScalarImpl } from '../plan/bound.js';
import { defineAsyncScalar, defineScalar, type ScalarOverload } from './registry.js';
import { flattenArray, typedScalar } from './string.js';

/** Cairn's release, as version() reports it after the PostgreSQL version drivers parse. */
export const CAIRN_VERSION = '0.1.0';
/** The PostgreSQL version Cairn speaks for: drivers read "PostgreSQL 15" from version(). */
const POSTGRES_COMPATIBLE_VERSION = '15.0';
/** Longest pg_sleep: a longer sleep is refused rather than holding a connection for hours. */
export const MAX_SLEEP_SECONDS = 300;
/** pg_sleep checks for cancellation at least this often. */
const SLEEP_SLICE_MS = 100;
/** Most elements array_fill may create (PostgreSQL's MaxArraySize is 134217727; ours is lower). */
export const MAX_ARRAY_FILL_ELEMENTS = 10_000_000;
/** When this process started: pg_postmaster_start_time() and pg_conf_load_time(). */
const PROCESS_START = dt.currentTimestamp();

const name = (v: string): Datum => v;

// ---- version, session and settings --------------------------------------------------------------------

defineScalar('version', {
  params: [],
  returns: Types.text,
  impl: () => `PostgreSQL ${POSTGRES_COMPATIBLE_VERSION} (Cairn ${CAIRN_VERSION}) on x86_64-pc-linux-gnu, compiled by TypeScript, 64-bit`,
});
defineScalar('current_database', { params: [], returns: Types.name, impl: (_a, ctx) => name(ctx.session.database) });
for (const fn of ['current_user', 'session_user', 'current_role', 'user']) {
  defineScalar(fn, { params: [], returns: Types.name, impl: (_a, ctx) => name(ctx.session.user) });
}

/** The search_path entries that name schemas ("$user" names none here: there are no per-user schemas). */
function searchPathSchemas(ctx: EvalContext): string[] {
  return ctx.session.searchPath.filter((s) => s !== '$user' && s !== '"$user"');
}

defineScalar('current_schema', { params: [], returns: Types.name, impl: (_a, ctx) => searchPathSchemas(ctx)[0] ?? null });
defineScalar('current_schemas', {
  params: [Oid.bool],
  returns: Types.nameArray,
  impl: (a, ctx) => {
    const schemas = searchPathSchemas(ctx);
    // pg_catalog is searched first unless the path names it.
    const implicit = a[0] === true && !schemas.includes('pg_catalog') ? ['pg_catalog'] : [];
    return new SqlArray(Oid.name, [...implicit, ...schemas]);
  },
});

function unrecognizedSetting(setting: string): SqlError {
  return new SqlError(SqlState.undefinedObject, `unrecognized configuration parameter "${setting}"`);
}

defineScalar(
  'current_setting',
  {
    params: [Oid.text],
    returns: Types.text,
    impl: (a, ctx) => {
      const v = ctx.session.setting(a[0] as string);
      if (v === undefined) throw unrecognizedSetting(a[0] as string);
      return v;
    },
  },
  {
    params: [Oid.text, Oid.bool],
    returns: Types.text,
    impl: (a, ctx) => {
      const v = ctx.session.setting(a[0] as string);
      if (v === undefined) {
        if (a[1] === true) return null;
        throw unrecognizedSetting(a[0] as string);
      }
      return v;
    },
  },
);

// EvalContext can read settings but not change them: set_config succeeds only when it changes nothing.
defineScalar('set_config', {
  params: [Oid.text, Oid.text, Oid.bool],
  returns: Types.text,
  strict: false,
  volatile: true,
  impl: (a, ctx) => {
    if (a[0] === null) throw new SqlError(SqlState.nullValueNotAllowed, 'SET requires parameter name');
    const setting = a[0] as string;
    const current = ctx.session.setting(setting);
    if (current === undefined) throw unrecognizedSetting(setting);
    const value = (a[1] as string | null) ?? '';
    if (value === current) return value;
    throw new SqlError(SqlState.featureNotSupported, 'set_config() cannot change a setting in Cairn yet', { hint: `Use SET ${setting} = ... instead.` });
  },
});

defineScalar('pg_backend_pid', { params: [], returns: Types.int4, impl: (_a, ctx) => ctx.session.backendPid });
// No inet type in Cairn: the server and client addresses are reported as unknown (NULL), as for a Unix socket.
const INET = sqlType(Oid.inet);
for (const fn of ['inet_server_addr', 'inet_client_addr']) defineScalar(fn, { params: [], returns: INET, strict: false, impl: () => null });
for (const fn of ['inet_server_port', 'inet_client_port']) defineScalar(fn, { params: [], returns: Types.int4, strict: false, impl: () => null });

defineScalar('pg_postmaster_start_time', { params: [], returns: Types.timestamptz, impl: () => PROCESS_START });
defineScalar('pg_conf_load_time', { params: [], returns: Types.timestamptz, impl: () => PROCESS_START });
defineScalar('pg_is_in_recovery', { params: [], returns: Types.bool, volatile: true, impl: () => false });
defineScalar('pg_my_temp_schema', { params: [], returns: Types.oid, impl: () => 0 });
defineScalar('pg_client_encoding', { params: [], returns: Types.name, impl: () => 'UTF8' });

/** The encodings PostgreSQL numbers that Cairn can name (it stores UTF8 only). */
const ENCODINGS: ReadonlyArray<readonly [number, string]> = [
  [0, 'SQL_ASCII'],
  [6, 'UTF8'],
  [8, 'LATIN1'],
];
defineScalar('pg_encoding_to_char', { params: [Oid.int4], returns: Types.name, impl: (a) => ENCODINGS.find(([n]) => n === a[0])?.[1] ?? '' });
defineScalar('pg_char_to_encoding', {
  params: [Oid.name],
  returns: Types.int4,
  impl: (a) => ENCODINGS.find(([, n]) => n === (a[0] as string).toUpperCase().replace(/[^A-Z0-9]/g, '').replace('SQLASCII', 'SQL_ASCII'))?.[0] ?? -1,
});

// ---- types ---------------------------------------------------------------------------------------------

defineScalar(
  'pg_typeof',
  typedScalar({ params: ['any'], returns: Types.regtype, strict: false, specialize: (t) => () => t[0]!.oid }),
);

defineScalar('format_type', {
  params: [Oid.oid, Oid.int4],
  returns: Types.text,
  strict: false,
  impl: (a) => (a[0] === null ? null : formatType({ oid: a[0] as number, typmod: a[1] === null ? NO_TYPMOD : (a[1] as number) })),
});

/** Bytes a value takes in PostgreSQL's in-memory form (varlena values with a 4-byte header). */
function datumSize(v: Datum, type: SqlType): number {
  const info = typeInfo(type.oid);
  if (info !== undefined && info.length > 0) return info.length;
  if (typeof v === 'string') return 4 + utf8Bytes(v).length;
  if (v instanceof Uint8Array) return 4 + v.length;
  if (v instanceof Numeric) {
    if (!v.isFinite) return 4 + 2;
    const digits = v.toBase10000();
    // The short numeric header (2 bytes) holds weights in [-64, 63] and scales up to 63.
    const short = digits.weight >= -64 && digits.weight <= 63 && v.scale <= 63;
    return 4 + (short ? 2 : 4) + 2 * digits.digits.length;
  }
  if (v instanceof SqlArray) {
    const flat = flattenArray(v);
    let ndims = 0;
    for (let level: Datum = v; level instanceof SqlArray && level.values.length > 0; level = level.values[0]!) ndims++;
    const nulls = flat.some((x) => x === null) ? Math.ceil(Math.ceil(flat.length / 8) / 8) * 8 : 0;
    const element: SqlType = { oid: v.elementType, typmod: NO_TYPMOD };
    const data = flat.reduce<number>((n, x) => n + (x === null ? 0 : datumSize(x, element)), 0);
    return 16 + 8 * ndims + nulls + data;
  }
  return 4 + utf8Bytes(String(v)).length;
}

defineScalar('pg_column_size', typedScalar({ params: ['any'], returns: Types.int4, specialize: (t) => (a) => datumSize(a[0]!, t[0]!) }));

// ---- identifiers -----------------------------------------------------------------------------------

defineScalar('gen_random_uuid', { params: [], returns: Types.uuid, volatile: true, impl: () => randomUuid() });
defineScalar('unique_rowid', { params: [], returns: Types.int8, volatile: true, impl: (_a, ctx) => ctx.services.uniqueRowId() });
// A transaction's id: its start timestamp (µs), which is unique and grows, stable within the transaction.
defineScalar('txid_current', { params: [], returns: Types.int8, impl: (_a, ctx) => ctx.txnTimestamp });

// Sequences by name (text) or by OID (regclass, as nextval('s'::regclass) or a column default gives).
for (const [fn, call] of [
  ['nextval', (ctx: EvalContext, s: string | number) => ctx.services.nextval(s)],
  ['currval', (ctx: EvalContext, s: string | number) => ctx.services.currval(s)],
] as const) {
  defineAsyncScalar(
    fn,
    { params: [Oid.text], returns: Types.int8, volatile: true, asyncImpl: (a, ctx) => call(ctx, a[0] as string) },
    { params: [Oid.regclass], returns: Types.int8, volatile: true, asyncImpl: (a, ctx) => call(ctx, a[0] as number) },
  );
}
defineAsyncScalar(
  'setval',
  { params: [Oid.text, Oid.int8], returns: Types.int8, volatile: true, asyncImpl: (a, ctx) => ctx.services.setval(a[0] as string, a[1] as bigint, true) },
  { params: [Oid.regclass, Oid.int8], returns: Types.int8, volatile: true, asyncImpl: (a, ctx) => ctx.services.setval(a[0] as number, a[1] as bigint, true) },
  {
    params: [Oid.text, Oid.int8, Oid.bool],
    returns: Types.int8,
    volatile: true,
    asyncImpl: (a, ctx) => ctx.services.setval(a[0] as string, a[1] as bigint, a[2] as boolean),
  },
  {
    params: [Oid.regclass, Oid.int8, Oid.bool],
    returns: Types.int8,
    volatile: true,
    asyncImpl: (a, ctx) => ctx.services.setval(a[0] as number, a[1] as bigint, a[2] as boolean),
  },
);
// The services do not remember the session's last nextval, so lastval cannot be answered.
defineScalar('lastval', {
  params: [],
  returns: Types.int8,
  volatile: true,
  impl: () => {
    throw new SqlError(SqlState.featureNotSupported, 'lastval() is not supported', { hint: 'Use currval() with the sequence name.' });
  },
});

// ---- nulls and sleeping -----------------------------------------------------------------------------

defineScalar('num_nulls', { params: ['any', 'any'], variadic: true, returns: Types.int4, strict: false, impl: (a) => a.filter((v) => v === null).length });
defineScalar('num_nonnulls', { params: ['any', 'any'], variadic: true, returns: Types.int4, strict: false, impl: (a) => a.filter((v) => v !== null).length });

defineAsyncScalar('pg_sleep', {
  params: [Oid.float8],
  returns: Types.void,
  volatile: true,
  asyncImpl: async (a, ctx) => {
    const seconds = a[0] as number;
    if (!(seconds > 0)) return null;
    if (seconds > MAX_SLEEP_SECONDS) {
      throw new SqlError(SqlState.invalidParameterValue, `pg_sleep is limited to ${MAX_SLEEP_SECONDS} seconds`);
    }
    // The executor's context can be cancelled; sleep in slices so a cancel ends the sleep.
    const cancellable = ctx as EvalContext & { readonly checkCancelled?: () => void };
    const end = Date.now() + seconds * 1000;
    for (let left = end - Date.now(); left > 0; left = end - Date.now()) {
      await new Promise((r) => setTimeout(r, Math.min(left, SLEEP_SLICE_MS)));
      cancellable.checkCancelled?.();
    }
    return null;
  },
});

// ---- privileges and descriptions (catalog-free answers) -----------------------------------------------

const TEXT = Oid.text;
const OID = Oid.oid;
/** Every privilege check passes: Cairn has one privilege level (root) for now. */
const yes: ScalarImpl = () => true;
const privilegeOverloads: ScalarOverload[] = [
  [TEXT, TEXT],
  [OID, TEXT],
  [TEXT, TEXT, TEXT],
  [TEXT, OID, TEXT],
  [OID, TEXT, TEXT],
  [OID, OID, TEXT],
].map((params) => ({ params, returns: Types.bool, impl: yes }));
for (const fn of ['has_table_privilege', 'has_schema_privilege', 'has_database_privilege', 'has_sequence_privilege', 'has_function_privilege', 'pg_has_role']) {
  defineScalar(fn, ...privilegeOverloads);
}
defineScalar(
  'has_column_privilege',
  ...[
    [TEXT, TEXT, TEXT],
    [OID, TEXT, TEXT],
    [TEXT, Oid.int2, TEXT],
    [OID, Oid.int2, TEXT],
    [TEXT, TEXT, TEXT, TEXT],
    [TEXT, OID, TEXT, TEXT],
    [OID, TEXT, TEXT, TEXT],
    [OID, OID, TEXT, TEXT],
  ].map((params): ScalarOverload => ({ params, returns: Types.bool, impl: yes })),
);

// Every role is root until Cairn has users.
defineScalar('pg_get_userbyid', { params: [OID], returns: Types.name, impl: () => 'root' });
// No comments are stored: every description is NULL.
const noDescription: ScalarImpl = () => null;
defineScalar('obj_description', { params: [OID], returns: Types.text, impl: noDescription }, { params: [OID, Oid.name], returns: Types.text, impl: noDescription });
defineScalar('col_description', { params: [OID, Oid.int4], returns: Types.text, impl: noDescription });
defineScalar('shobj_description', { params: [OID, Oid.name], returns: Types.text, impl: noDescription });
// Tablespaces are not Cairn's concept: every relation is in the default one, whose location is ''.
defineScalar('pg_tablespace_location', { params: [OID], returns: Types.text, impl: () => '' });

// ---- arrays ------------------------------------------------------------------------------------------

function dimensions(a: SqlArray): Array<{ lower: number; length: number }> {
  const out: Array<{ lower: number; length: number }> = [];
  for (let level: Datum = a; level instanceof SqlArray && level.values.length > 0; level = level.values[0]!) {
    out.push({ lower: level.lowerBound, length: level.values.length });
  }
  return out;
}

function dimensionArg(a: SqlArray, dim: number): { lower: number; length: number } | undefined {
  return dim >= 1 ? dimensions(a)[dim - 1] : undefined;
}

defineScalar('array_length', { params: ['anyarray', Oid.int4], returns: Types.int4, impl: (a) => dimensionArg(a[0] as SqlArray, a[1] as number)?.length ?? null });
defineScalar('array_lower', { params: ['anyarray', Oid.int4], returns: Types.int4, impl: (a) => dimensionArg(a[0] as SqlArray, a[1] as number)?.lower ?? null });
defineScalar('array_upper', {
  params: ['anyarray', Oid.int4],
  returns: Types.int4,
  impl: (a) => {
    const d = dimensionArg(a[0] as SqlArray, a[1] as number);
    return d === undefined ? null : d.lower + d.length - 1;
  },
});
defineScalar('array_ndims', {
  params: ['anyarray'],
  returns: Types.int4,
  impl: (a) => {
    const n = dimensions(a[0] as SqlArray).length;
    return n === 0 ? null : n;
  },
});
defineScalar('array_dims', {
  params: ['anyarray'],
  returns: Types.text,
  impl: (a) => {
    const d = dimensions(a[0] as SqlArray);
    return d.length === 0 ? null : d.map((x) => `[${x.lower}:${x.lower + x.length - 1}]`).join('');
  },
});
defineScalar('cardinality', { params: ['anyarray'], returns: Types.int4, impl: (a) => flattenArray(a[0] as SqlArray).length });

const arrayOfCompatible = (args: readonly SqlType[], at: number): SqlType => ({ oid: args[at]!.oid, typmod: NO_TYPMOD });

function oneDimensional(a: SqlArray | null): SqlArray | null {
  if (a !== null && dimensions(a).length > 1) throw new SqlError(SqlState.dataException, 'argument must be empty or one-dimensional array');
  return a;
}

/** Elements equal as IS NOT DISTINCT FROM: NULL matches NULL. */
function sameElement(x: Datum, y: Datum, element: number): boolean {
  if (x === null || y === null) return x === y;
  return compareDatums(x, y, element) === 0;
}

defineScalar(
  'array_append',
  typedScalar({
    params: ['anycompatiblearray', 'anycompatible'],
    returns: (args) => arrayOfCompatible(args, 0),
    strict: false,
    specialize: (t) => (a) => {
      const arr = oneDimensional(a[0] as SqlArray | null);
      if (arr === null) return new SqlArray(t[1]!.oid, [a[1]!]);
      return new SqlArray(arr.elementType, [...arr.values, a[1]!], arr.values.length === 0 ? 1 : arr.lowerBound);
    },
  }),
);
defineScalar(
  'array_prepend',
  typedScalar({
    params: ['anycompatible', 'anycompatiblearray'],
    returns: (args) => arrayOfCompatible(args, 1),
    strict: false,
    specialize: (t) => (a) => {
      const arr = oneDimensional(a[1] as SqlArray | null);
      if (arr === null) return new SqlArray(t[0]!.oid, [a[0]!]);
      // The lower bound stays: the old elements move up one subscript.
      return new SqlArray(arr.elementType, [a[0]!, ...arr.values], arr.values.length === 0 ? 1 : arr.lowerBound);
    },
  }),
);

function incompatibleArrays(detail: string): SqlError {
  return new SqlError(SqlState.arraySubscriptError, 'cannot concatenate incompatible arrays', { detail });
}

function arrayCat(x: SqlArray | null, y: SqlArray | null): SqlArray | null {
  if (x === null) return y;
  if (y === null) return x;
  const dx = dimensions(x);
  const dy = dimensions(y);
  if (dx.length === 0) return y;
  if (dy.length === 0) return x;
  const inner = (d: Array<{ length: number }>, from: number): string => d.slice(from).map((e) => e.length).join(',');
  if (dx.length === dy.length) {
    if (inner(dx, 1) !== inner(dy, 1)) throw incompatibleArrays('Arrays with differing element dimensions are not compatible for concatenation.');
    return new SqlArray(x.elementType, [...x.values, ...y.values], x.lowerBound);
  }
  if (dx.length === dy.length + 1) {
    if (inner(dx, 1) !== inner(dy, 0)) throw incompatibleArrays('Arrays with differing element dimensions are not compatible for concatenation.');
    return new SqlArray(x.elementType, [...x.values, new SqlArray(y.elementType, y.values, y.lowerBound)], x.lowerBound);
  }
  if (dy.length === dx.length + 1) {
    if (inner(dy, 1) !== inner(dx, 0)) throw incompatibleArrays('Arrays with differing element dimensions are not compatible for concatenation.');
    return new SqlArray(y.elementType, [new SqlArray(x.elementType, x.values, x.lowerBound), ...y.values], y.lowerBound);
  }
  throw incompatibleArrays(`Arrays of ${dx.length} and ${dy.length} dimensions are not compatible for concatenation.`);
}

defineScalar('array_cat', {
  params: ['anycompatiblearray', 'anycompatiblearray'],
  returns: (args) => arrayOfCompatible(args, 0),
  strict: false,
  impl: (a) => arrayCat(a[0] as SqlArray | null, a[1] as SqlArray | null),
});

function refuseMultidimensional(a: SqlArray, what: string): void {
  if (dimensions(a).length > 1) throw new SqlError(SqlState.featureNotSupported, `${what} in multidimensional arrays is not supported`);
}

defineScalar('array_remove', {
  params: ['anycompatiblearray', 'anycompatible'],
  returns: (args) => arrayOfCompatible(args, 0),
  strict: false,
  impl: (a) => {
    const arr = a[0] as SqlArray | null;
    if (arr === null) return null;
    if (dimensions(arr).length > 1) throw new SqlError(SqlState.featureNotSupported, 'removing elements from multidimensional arrays is not supported');
    return new SqlArray(arr.elementType, arr.values.filter((v) => !sameElement(v, a[1]!, arr.elementType)), arr.lowerBound);
  },
});
defineScalar('array_replace', {
  params: ['anycompatiblearray', 'anycompatible', 'anycompatible'],
  returns: (args) => arrayOfCompatible(args, 0),
  strict: false,
  impl: (a) => {
    const arr = a[0] as SqlArray | null;
    if (arr === null) return null;
    const replace = (x: SqlArray): SqlArray =>
      new SqlArray(x.elementType, x.values.map((v) => (v instanceof SqlArray ? replace(v) : sameElement(v, a[1]!, arr.elementType) ? a[2]! : v)), x.lowerBound);
    return replace(arr);
  },
});

function arrayPositions(arr: SqlArray, value: Datum, start: number | undefined, first: boolean): number[] {
  refuseMultidimensional(arr, 'searching for elements');
  const out: number[] = [];
  for (let i = 0; i < arr.values.length; i++) {
    const subscript = arr.lowerBound + i;
    if (start !== undefined && subscript < start) continue;
    if (sameElement(arr.values[i]!, value, arr.elementType)) {
      out.push(subscript);
      if (first) break;
    }
  }
  return out;
}

defineScalar(
  'array_position',
  {
    params: ['anycompatiblearray', 'anycompatible'],
    returns: Types.int4,
    strict: false,
    impl: (a) => (a[0] === null ? null : (arrayPositions(a[0] as SqlArray, a[1]!, undefined, true)[0] ?? null)),
  },
  {
    params: ['anycompatiblearray', 'anycompatible', Oid.int4],
    returns: Types.int4,
    strict: false,
    impl: (a) => {
      if (a[0] === null) return null;
      if (a[2] === null) throw new SqlError(SqlState.nullValueNotAllowed, 'initial position must not be null');
      return arrayPositions(a[0] as SqlArray, a[1]!, a[2] as number, true)[0] ?? null;
    },
  },
);
defineScalar('array_positions', {
  params: ['anycompatiblearray', 'anycompatible'],
  returns: Types.int4Array,
  strict: false,
  impl: (a) => (a[0] === null ? null : new SqlArray(Oid.int4, arrayPositions(a[0] as SqlArray, a[1]!, undefined, false))),
});

function arrayFill(value: Datum, element: number, dims: SqlArray | null, lowers: SqlArray | null | undefined): SqlArray {
  if (dims === null || lowers === null) throw new SqlError(SqlState.nullValueNotAllowed, 'dimension array or low bound array cannot be null');
  const lengths = dims.values;
  if (lengths.some((v) => v === null) || (lowers !== undefined && lowers.values.some((v) => v === null))) {
    throw new SqlError(SqlState.nullValueNotAllowed, 'dimension values cannot be null');
  }
  if (lowers !== undefined && lowers.values.length !== lengths.length) {
    throw new SqlError(SqlState.arraySubscriptError, 'wrong number of array subscripts', { detail: 'Low bound array has different size than dimensions array.' });
  }
  let total = 1;
  for (const n of lengths as number[]) {
    if (n < 0) throw new SqlError(SqlState.programLimitExceeded, 'array size exceeds the maximum allowed (134217727)');
    total *= n;
  }
  if (total > MAX_ARRAY_FILL_ELEMENTS) throw new SqlError(SqlState.programLimitExceeded, `array size exceeds the maximum allowed (${MAX_ARRAY_FILL_ELEMENTS})`);
  if (lengths.length === 0 || total === 0) return new SqlArray(element, []);
  const build = (d: number): SqlArray => {
    const n = lengths[d] as number;
    const lower = lowers === undefined ? 1 : (lowers.values[d] as number);
    const values: Datum[] = [];
    for (let i = 0; i < n; i++) values.push(d === lengths.length - 1 ? value : build(d + 1));
    return new SqlArray(element, values, lower);
  };
  return build(0);
}

defineScalar(
  'array_fill',
  typedScalar({
    params: ['anyelement', Oid._int4],
    returns: (args) => ({ oid: arrayTypeOf(args[0]!.oid) || Oid._text, typmod: NO_TYPMOD }),
    strict: false,
    specialize: (t) => (a) => arrayFill(a[0]!, t[0]!.oid, a[1] as SqlArray | null, undefined),
  }),
  typedScalar({
    params: ['anyelement', Oid._int4, Oid._int4],
    returns: (args) => ({ oid: arrayTypeOf(args[0]!.oid) || Oid._text, typmod: NO_TYPMOD }),
    strict: false,
    specialize: (t) => (a) => arrayFill(a[0]!, t[0]!.oid, a[1] as SqlArray | null, a[2] as SqlArray | null),
  }),
);

defineScalar('trim_array', {
  params: ['anyarray', Oid.int4],
  returns: (args) => arrayOfCompatible(args, 0),
  impl: (a) => {
    const arr = a[0] as SqlArray;
    const n = a[1] as number;
    const length = dimensions(arr)[0]?.length ?? 0;
    if (n < 0 || n > length) throw new SqlError(SqlState.arraySubscriptError, `number of elements to trim must be between 0 and ${length}`);
    return new SqlArray(arr.elementType, arr.values.slice(0, arr.values.length - n), arr.lowerBound);
  },
});
