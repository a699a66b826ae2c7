// PostgreSQL type OIDs and the facts about each type that the wire protocol, pg_catalog and the
// planner need. OIDs are PostgreSQL's own (clients such as node-postgres, psql and pgbench map
// them to their own types), so they must never change.

export const Oid = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int2vector: 22,
  int4: 23,
  regproc: 24,
  text: 25,
  oid: 26,
  tid: 27,
  xid: 28,
  cid: 29,
  oidvector: 30,
  json: 114,
  xml: 142,
  pg_node_tree: 194,
  float4: 700,
  float8: 701,
  unknown: 705,
  money: 790,
  inet: 869,
  aclitem: 1033,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  bit: 1560,
  varbit: 1562,
  numeric: 1700,
  regprocedure: 2202,
  regoper: 2203,
  regoperator: 2204,
  regclass: 2205,
  regtype: 2206,
  record: 2249,
  cstring: 2275,
  any: 2276,
  anyarray: 2277,
  void: 2278,
  trigger: 2279,
  anyelement: 2283,
  anynonarray: 2776,
  uuid: 2950,
  regconfig: 3734,
  regdictionary: 3769,
  jsonb: 3802,
  anyenum: 3500,
  regnamespace: 4089,
  regrole: 4096,
  regcollation: 4191,
  // array types
  _bool: 1000,
  _bytea: 1001,
  _char: 1002,
  _name: 1003,
  _int2: 1005,
  _int2vector: 1006,
  _int4: 1007,
  _regproc: 1008,
  _text: 1009,
  _oid: 1028,
  _bpchar: 1014,
  _varchar: 1015,
  _int8: 1016,
  _float4: 1021,
  _float8: 1022,
  _aclitem: 1034,
  _cstring: 1263,
  _date: 1182,
  _time: 1183,
  _timestamp: 1115,
  _timestamptz: 1185,
  _interval: 1187,
  _numeric: 1231,
  _timetz: 1270,
  _uuid: 2951,
  _json: 199,
  _jsonb: 3807,
  _regtype: 2211,
  _regclass: 2210,
  _record: 2287,
} as const;

/** PostgreSQL's typcategory letters. */
export type TypeCategory = 'A' | 'B' | 'C' | 'D' | 'E' | 'G' | 'I' | 'N' | 'P' | 'R' | 'S' | 'T' | 'U' | 'V' | 'X' | 'Z';

export interface TypeInfo {
  readonly oid: number;
  /** The name in pg_type (int4, varchar, _int4 ...). */
  readonly name: string;
  /** The name format_type gives (integer, character varying, integer[] ...). */
  readonly sqlName: string;
  /** pg_type.typlen: bytes, -1 for varlena, -2 for C strings. */
  readonly length: number;
  readonly category: TypeCategory;
  /** Whether this is the preferred type of its category (text, float8, ...). */
  readonly preferred: boolean;
  /** Element type OID of an array type, else 0. */
  readonly element: number;
  /** The array type of this type, else 0. */
  readonly array: number;
  /** pg_type.typalign */
  readonly align: 'c' | 's' | 'i' | 'd';
}

function t(
  oid: number,
  name: string,
  sqlName: string,
  length: number,
  category: TypeCategory,
  array: number,
  align: TypeInfo['align'],
  preferred = false,
): TypeInfo {
  return { oid, name, sqlName, length, category, preferred, element: 0, array, align };
}

const BASE: TypeInfo[] = [
  t(Oid.bool, 'bool', 'boolean', 1, 'B', Oid._bool, 'c', true),
  t(Oid.bytea, 'bytea', 'bytea', -1, 'U', Oid._bytea, 'i'),
  t(Oid.char, 'char', '"char"', 1, 'Z', Oid._char, 'c'),
  t(Oid.name, 'name', 'name', 64, 'S', Oid._name, 'c'),
  t(Oid.int8, 'int8', 'bigint', 8, 'N', Oid._int8, 'd'),
  t(Oid.int2, 'int2', 'smallint', 2, 'N', Oid._int2, 's'),
  t(Oid.int2vector, 'int2vector', 'int2vector', -1, 'A', Oid._int2vector, 'i'),
  t(Oid.int4, 'int4', 'integer', 4, 'N', Oid._int4, 'i'),
  t(Oid.regproc, 'regproc', 'regproc', 4, 'N', Oid._regproc, 'i'),
  t(Oid.text, 'text', 'text', -1, 'S', Oid._text, 'i', true),
  t(Oid.oid, 'oid', 'oid', 4, 'N', Oid._oid, 'i', true),
  t(Oid.oidvector, 'oidvector', 'oidvector', -1, 'A', 1013, 'i'),
  t(Oid.json, 'json', 'json', -1, 'U', Oid._json, 'i'),
  t(Oid.pg_node_tree, 'pg_node_tree', 'pg_node_tree', -1, 'Z', 0, 'i'),
  t(Oid.float4, 'float4', 'real', 4, 'N', Oid._float4, 'i'),
  t(Oid.float8, 'float8', 'double precision', 8, 'N', Oid._float8, 'd', true),
  t(Oid.unknown, 'unknown', 'unknown', -2, 'X', 0, 'c'),
  t(Oid.aclitem, 'aclitem', 'aclitem', 12, 'U', Oid._aclitem, 'i'),
  t(Oid.bpchar, 'bpchar', 'character', -1, 'S', Oid._bpchar, 'i'),
  t(Oid.varchar, 'varchar', 'character varying', -1, 'S', Oid._varchar, 'i'),
  t(Oid.date, 'date', 'date', 4, 'D', Oid._date, 'i'),
  t(Oid.time, 'time', 'time without time zone', 8, 'D', Oid._time, 'd'),
  t(Oid.timestamp, 'timestamp', 'timestamp without time zone', 8, 'D', Oid._timestamp, 'd'),
  t(Oid.timestamptz, 'timestamptz', 'timestamp with time zone', 8, 'D', Oid._timestamptz, 'd', true),
  t(Oid.interval, 'interval', 'interval', 16, 'T', Oid._interval, 'd', true),
  t(Oid.timetz, 'timetz', 'time with time zone', 12, 'D', Oid._timetz, 'd'),
  t(Oid.numeric, 'numeric', 'numeric', -1, 'N', Oid._numeric, 'i'),
  t(Oid.regclass, 'regclass', 'regclass', 4, 'N', Oid._regclass, 'i'),
  t(Oid.regtype, 'regtype', 'regtype', 4, 'N', Oid._regtype, 'i'),
  t(Oid.regnamespace, 'regnamespace', 'regnamespace', 4, 'N', 4090, 'i'),
  t(Oid.regrole, 'regrole', 'regrole', 4, 'N', 4097, 'i'),
  t(Oid.regprocedure, 'regprocedure', 'regprocedure', 4, 'N', 2207, 'i'),
  t(Oid.record, 'record', 'record', -1, 'P', Oid._record, 'd'),
  t(Oid.cstring, 'cstring', 'cstring', -2, 'P', Oid._cstring, 'c'),
  t(Oid.any, 'any', '"any"', 4, 'P', 0, 'i'),
  t(Oid.anyarray, 'anyarray', 'anyarray', -1, 'P', 0, 'd'),
  t(Oid.anyelement, 'anyelement', 'anyelement', 4, 'P', 0, 'i'),
  t(Oid.void, 'void', 'void', 4, 'P', 0, 'i'),
  t(Oid.uuid, 'uuid', 'uuid', 16, 'U', Oid._uuid, 'c'),
  t(Oid.jsonb, 'jsonb', 'jsonb', -1, 'U', Oid._jsonb, 'i'),
];

const ARRAYS: TypeInfo[] = BASE.filter((b) => b.array !== 0).map((b) => ({
  oid: b.array,
  name: `_${b.name}`,
  sqlName: `${b.sqlName}[]`,
  length: -1,
  category: 'A' as const,
  preferred: false,
  element: b.oid,
  array: 0,
  align: b.align === 'd' ? 'd' : 'i',
}));

const BY_OID = new Map<number, TypeInfo>();
for (const info of [...BASE, ...ARRAYS]) BY_OID.set(info.oid, info);

export function typeInfo(oid: number): TypeInfo | undefined {
  return BY_OID.get(oid);
}

export function allTypes(): readonly TypeInfo[] {
  return [...BY_OID.values()];
}

export function arrayTypeOf(elementOid: number): number {
  return BY_OID.get(elementOid)?.array ?? 0;
}

export function elementTypeOf(arrayOid: number): number {
  return BY_OID.get(arrayOid)?.element ?? 0;
}

/**
 * A SQL type as an expression or column has it: the OID and the type modifier (typmod), as
 * PostgreSQL encodes it: -1 for none; varchar(n)/bpchar(n) → n + 4; numeric(p, s) →
 * ((p << 16) | s) + 4; timestamp(p)/time(p)/interval(p) → p.
 */
export interface SqlType {
  readonly oid: number;
  readonly typmod: number;
}

export const NO_TYPMOD = -1;

export function sqlType(oid: number, typmod: number = NO_TYPMOD): SqlType {
  return { oid, typmod };
}

export const Types = {
  bool: sqlType(Oid.bool),
  int2: sqlType(Oid.int2),
  int4: sqlType(Oid.int4),
  int8: sqlType(Oid.int8),
  float4: sqlType(Oid.float4),
  float8: sqlType(Oid.float8),
  numeric: sqlType(Oid.numeric),
  text: sqlType(Oid.text),
  varchar: sqlType(Oid.varchar),
  bpchar: sqlType(Oid.bpchar),
  name: sqlType(Oid.name),
  char: sqlType(Oid.char),
  bytea: sqlType(Oid.bytea),
  date: sqlType(Oid.date),
  time: sqlType(Oid.time),
  timetz: sqlType(Oid.timetz),
  timestamp: sqlType(Oid.timestamp),
  timestamptz: sqlType(Oid.timestamptz),
  interval: sqlType(Oid.interval),
  uuid: sqlType(Oid.uuid),
  json: sqlType(Oid.json),
  jsonb: sqlType(Oid.jsonb),
  oid: sqlType(Oid.oid),
  regclass: sqlType(Oid.regclass),
  regtype: sqlType(Oid.regtype),
  regproc: sqlType(Oid.regproc),
  regnamespace: sqlType(Oid.regnamespace),
  unknown: sqlType(Oid.unknown),
  record: sqlType(Oid.record),
  void: sqlType(Oid.void),
  textArray: sqlType(Oid._text),
  int4Array: sqlType(Oid._int4),
  int2Array: sqlType(Oid._int2),
  oidArray: sqlType(Oid._oid),
  nameArray: sqlType(Oid._name),
  charArray: sqlType(Oid._char),
} as const;

/** The modifier of varchar(n) / char(n). */
export function charTypmod(length: number): number {
  return length + 4;
}

/** The modifier of numeric(precision, scale). */
export function numericTypmod(precision: number, scale: number): number {
  return ((precision << 16) | (scale & 0xffff)) + 4;
}

export function numericPrecisionScale(typmod: number): { precision: number; scale: number } | undefined {
  if (typmod < 4) return undefined;
  const v = typmod - 4;
  const scale = ((v & 0xffff) << 16) >> 16; // PostgreSQL 15 allows negative scales
  return { precision: (v >> 16) & 0xffff, scale };
}

/** format_type(oid, typmod): the name psql's \d shows. */
export function formatType(type: SqlType): string {
  const info = typeInfo(type.oid);
  if (info === undefined) return '???';
  if (info.element !== 0) return `${formatType({ oid: info.element, typmod: type.typmod })}[]`;
  const m = type.typmod;
  switch (type.oid) {
    case Oid.varchar:
      return m >= 4 ? `character varying(${m - 4})` : 'character varying';
    case Oid.bpchar:
      return m >= 4 ? `character(${m - 4})` : 'bpchar';
    case Oid.numeric: {
      const ps = numericPrecisionScale(m);
      return ps === undefined ? 'numeric' : `numeric(${ps.precision},${ps.scale})`;
    }
    case Oid.timestamp:
      return m >= 0 ? `timestamp(${m}) without time zone` : info.sqlName;
    case Oid.timestamptz:
      return m >= 0 ? `timestamp(${m}) with time zone` : info.sqlName;
    case Oid.time:
      return m >= 0 ? `time(${m}) without time zone` : info.sqlName;
    case Oid.timetz:
      return m >= 0 ? `time(${m}) with time zone` : info.sqlName;
    case Oid.interval:
      return m >= 0 && m !== 0x7fff0000 ? `interval(${m & 0xffff})` : info.sqlName;
    default:
      return info.sqlName;
  }
}
