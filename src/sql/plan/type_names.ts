// Type names as written in SQL (INT, character varying(20), DECIMAL(10,2), timestamptz, text[])
// to SQL types. SERIAL and friends are column-definition shorthands and are reported as such.
import { SqlError, SqlState } from '../errors.js';
import type { TypeName } from '../parser/ast.js';
import { arrayTypeOf, charTypmod, NO_TYPMOD, numericTypmod, Oid, type SqlType } from '../types/oids.js';

export interface ResolvedTypeName {
  readonly type: SqlType;
  /** SERIAL, BIGSERIAL, SMALLSERIAL: an integer column with a generated default. */
  readonly serial: boolean;
}

const SIMPLE: Record<string, number> = {
  bool: Oid.bool,
  boolean: Oid.bool,
  int2: Oid.int2,
  smallint: Oid.int2,
  int4: Oid.int4,
  int: Oid.int4,
  integer: Oid.int4,
  int8: Oid.int8,
  bigint: Oid.int8,
  int64: Oid.int8,
  float4: Oid.float4,
  real: Oid.float4,
  float8: Oid.float8,
  double: Oid.float8,
  'double precision': Oid.float8,
  text: Oid.text,
  string: Oid.text,
  name: Oid.name,
  bytea: Oid.bytea,
  bytes: Oid.bytea,
  blob: Oid.bytea,
  date: Oid.date,
  uuid: Oid.uuid,
  json: Oid.json,
  jsonb: Oid.jsonb,
  oid: Oid.oid,
  regclass: Oid.regclass,
  regtype: Oid.regtype,
  regproc: Oid.regproc,
  regprocedure: Oid.regprocedure,
  regnamespace: Oid.regnamespace,
  regrole: Oid.regrole,
  char: Oid.char, // the quoted "char" type; CHAR(n) arrives as bpchar
  record: Oid.record,
  void: Oid.void,
  unknown: Oid.unknown,
  anyelement: Oid.anyelement,
  anyarray: Oid.anyarray,
  int2vector: Oid.int2vector,
  oidvector: Oid.oidvector,
  aclitem: Oid.aclitem,
  pg_node_tree: Oid.pg_node_tree,
  cstring: Oid.cstring,
};

const SERIALS: Record<string, number> = {
  serial: Oid.int4,
  serial4: Oid.int4,
  bigserial: Oid.int8,
  serial8: Oid.int8,
  smallserial: Oid.int2,
  serial2: Oid.int2,
};

function modifier(t: TypeName, i: number, what: string, lo: number, hi: number): number {
  const v = t.modifiers[i]!;
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new SqlError(SqlState.invalidParameterValue, `${what} must be between ${lo} and ${hi}`).withPosition(t.location + 1);
  }
  return v;
}

export function resolveTypeName(t: TypeName): ResolvedTypeName {
  const names = t.names;
  const last = names[names.length - 1] ?? '';
  if (names.length > 1 && names[0] !== 'pg_catalog' && names[0] !== 'public') {
    throw new SqlError(SqlState.undefinedObject, `type "${names.join('.')}" does not exist`).withPosition(t.location + 1);
  }
  let type: SqlType;
  let serial = false;
  const m = t.modifiers;
  const noMods = (): void => {
    if (m.length > 0) throw new SqlError(SqlState.syntaxError, `type modifier is not allowed for type "${last}"`).withPosition(t.location + 1);
  };
  switch (last) {
    case 'varchar':
    case 'character varying':
      if (m.length > 1) throw new SqlError(SqlState.syntaxError, 'invalid type modifier').withPosition(t.location + 1);
      type = { oid: Oid.varchar, typmod: m.length === 1 ? charTypmod(modifier(t, 0, 'length for type varchar', 1, 10485760)) : NO_TYPMOD };
      break;
    case 'bpchar':
    case 'character':
      if (m.length > 1) throw new SqlError(SqlState.syntaxError, 'invalid type modifier').withPosition(t.location + 1);
      // CHAR without a length means CHAR(1) in a type name; the parser gives bpchar with no modifier then.
      type = { oid: Oid.bpchar, typmod: m.length === 1 ? charTypmod(modifier(t, 0, 'length for type char', 1, 10485760)) : names[0] === 'pg_catalog' ? charTypmod(1) : NO_TYPMOD };
      break;
    case 'numeric':
    case 'decimal':
      if (m.length === 0) type = { oid: Oid.numeric, typmod: NO_TYPMOD };
      else {
        const precision = modifier(t, 0, 'NUMERIC precision', 1, 1000);
        const scale = m.length > 1 ? modifier(t, 1, 'NUMERIC scale', -1000, 1000) : 0;
        type = { oid: Oid.numeric, typmod: numericTypmod(precision, scale) };
      }
      break;
    case 'float': {
      const p = m.length === 0 ? 53 : modifier(t, 0, 'precision for type float', 1, 53);
      type = { oid: p <= 24 ? Oid.float4 : Oid.float8, typmod: NO_TYPMOD };
      break;
    }
    case 'timestamp':
    case 'timestamptz':
    case 'time':
    case 'timetz': {
      const oid = last === 'timestamp' ? Oid.timestamp : last === 'timestamptz' ? Oid.timestamptz : last === 'time' ? Oid.time : Oid.timetz;
      type = { oid, typmod: m.length === 1 ? modifier(t, 0, `${last.toUpperCase()} precision`, 0, 6) : NO_TYPMOD };
      break;
    }
    case 'interval':
      type = { oid: Oid.interval, typmod: m.length === 1 ? modifier(t, 0, 'INTERVAL precision', 0, 6) : NO_TYPMOD };
      break;
    default: {
      const serialOid = SERIALS[last];
      if (serialOid !== undefined) {
        noMods();
        type = { oid: serialOid, typmod: NO_TYPMOD };
        serial = true;
        break;
      }
      const oid = SIMPLE[last];
      if (oid === undefined) {
        if (last === 'bit' || last === 'varbit' || last === 'bit varying') throw new SqlError(SqlState.featureNotSupported, 'bit string types are not supported').withPosition(t.location + 1);
        if (last === 'money' || last === 'inet' || last === 'cidr' || last === 'macaddr' || last === 'xml' || last === 'point' || last === 'tsvector') {
          throw new SqlError(SqlState.featureNotSupported, `type ${last} is not supported`).withPosition(t.location + 1);
        }
        throw new SqlError(SqlState.undefinedObject, `type "${names.join('.')}" does not exist`).withPosition(t.location + 1);
      }
      noMods();
      type = { oid, typmod: NO_TYPMOD };
    }
  }
  if (t.arrayDims > 0) {
    if (serial) throw new SqlError(SqlState.featureNotSupported, 'array of serial is not implemented').withPosition(t.location + 1);
    const arr = arrayTypeOf(type.oid);
    if (arr === 0) throw new SqlError(SqlState.undefinedObject, `could not find array type for data type ${last}`).withPosition(t.location + 1);
    type = { oid: arr, typmod: type.typmod };
  }
  return { type, serial };
}
