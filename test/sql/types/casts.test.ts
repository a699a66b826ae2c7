// Casts against PostgreSQL 15. Which casts exist in which context is read from PostgreSQL's
// behaviour, not from pg_cast: for every pair of types, whether an explicit cast, an INSERT
// (assignment) and a function call (implicit) accept a value of one type for the other. Then the
// conversions themselves, explicit ones through CAST and assignment ones through INSERT …
// RETURNING into columns with type modifiers, must give the same text or the same error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { castContextOf, castDatum, type CastContext } from '../../../src/sql/types/casts.js';
import { Oid, charTypmod, formatType, numericTypmod, sqlType, type SqlType } from '../../../src/sql/types/oids.js';
import { DEFAULT_TYPE_SETTINGS } from '../../../src/sql/types/settings.js';
import { formatText, parseText } from '../../../src/sql/types/text_io.js';
import { Oracle, describeMismatches, lit, type OracleCase } from './oracle.js';

let oracle: Oracle;
beforeAll(async () => {
  oracle = await Oracle.start();
});
afterAll(async () => {
  await oracle?.stop();
});

const S = DEFAULT_TYPE_SETTINGS;

const MATRIX: [string, number][] = [
  ['bool', Oid.bool], ['int2', Oid.int2], ['int4', Oid.int4], ['int8', Oid.int8], ['oid', Oid.oid], ['float4', Oid.float4],
  ['float8', Oid.float8], ['numeric', Oid.numeric], ['text', Oid.text], ['varchar', Oid.varchar], ['bpchar', Oid.bpchar],
  ['name', Oid.name], ['"char"', Oid.char], ['bytea', Oid.bytea], ['date', Oid.date], ['time', Oid.time], ['timetz', Oid.timetz],
  ['timestamp', Oid.timestamp], ['timestamptz', Oid.timestamptz], ['interval', Oid.interval], ['uuid', Oid.uuid], ['json', Oid.json],
  ['jsonb', Oid.jsonb], ['regclass', Oid.regclass], ['regtype', Oid.regtype], ['int4[]', Oid._int4], ['text[]', Oid._text],
  ['numeric[]', Oid._numeric], ['float8[]', Oid._float8], ['varchar[]', Oid._varchar],
];

function tableName(sqlName: string): string {
  return `t_${sqlName.replace(/[^a-z0-9]/g, (c) => (c === '[' ? 'arr' : ''))}`;
}

describe('castContextOf', () => {
  it('gives the context in which PostgreSQL applies each cast', async () => {
    // One table and one function per target type: INSERT applies assignment casts, a call implicit ones.
    for (const [name] of MATRIX) {
      await oracle.run(`CREATE TEMP TABLE ${tableName(name)} (c ${name})`);
      await oracle.run(`CREATE FUNCTION pg_temp.f_${tableName(name)}(${name}) RETURNS int LANGUAGE sql AS 'select 1'`);
    }
    const cases: OracleCase[] = [];
    for (const [from, fromOid] of MATRIX) {
      for (const [to, toOid] of MATRIX) {
        const context = castContextOf(fromOid, toOid);
        const cairn = (allowed: CastContext) => (): string =>
          context !== undefined && ['implicit', 'assignment', 'explicit'].indexOf(context) <= ['implicit', 'assignment', 'explicit'].indexOf(allowed) ? 'ok' : 'no';
        const verdict = (sql: string): string => `select case when (oracle_eval(${lit(sql)})).kind = 'ok' then 'ok' else 'no' end`;
        cases.push({ label: `${from} -> ${to} explicitly`, sql: verdict(`select null::${from}::${to}::text`), cairn: cairn('explicit') });
        cases.push({ label: `${from} -> ${to} in assignment`, sql: verdict(`insert into ${tableName(to)} values (null::${from}) returning 1`), cairn: cairn('assignment') });
        cases.push({ label: `${from} -> ${to} implicitly`, sql: verdict(`select pg_temp.f_${tableName(to)}(null::${from})`), cairn: cairn('implicit') });
      }
    }
    const mismatches = await oracle.compare(cases);
    expect(mismatches.length, `${mismatches.length} of ${cases.length} differ:\n${describeMismatches(mismatches, 30)}`).toBe(0);
  });
});

/** A cast of a literal of `from` to `to`, explicit (CAST) or assignment (INSERT … RETURNING). */
interface CastCase {
  readonly value: string;
  readonly from: [string, SqlType];
  readonly to: [string, SqlType];
}

const T = {
  bool: ['bool', sqlType(Oid.bool)],
  int2: ['int2', sqlType(Oid.int2)],
  int4: ['int4', sqlType(Oid.int4)],
  int8: ['int8', sqlType(Oid.int8)],
  oid: ['oid', sqlType(Oid.oid)],
  regclass: ['regclass', sqlType(Oid.regclass)],
  float4: ['float4', sqlType(Oid.float4)],
  float8: ['float8', sqlType(Oid.float8)],
  numeric: ['numeric', sqlType(Oid.numeric)],
  numeric52: ['numeric(5,2)', sqlType(Oid.numeric, numericTypmod(5, 2))],
  numeric3m1: ['numeric(3,-1)', sqlType(Oid.numeric, numericTypmod(3, -1))],
  text: ['text', sqlType(Oid.text)],
  varchar: ['varchar', sqlType(Oid.varchar)],
  varchar3: ['varchar(3)', sqlType(Oid.varchar, charTypmod(3))],
  bpchar: ['bpchar', sqlType(Oid.bpchar)],
  char3: ['char(3)', sqlType(Oid.bpchar, charTypmod(3))],
  char5: ['char(5)', sqlType(Oid.bpchar, charTypmod(5))],
  name: ['name', sqlType(Oid.name)],
  qchar: ['"char"', sqlType(Oid.char)],
  bytea: ['bytea', sqlType(Oid.bytea)],
  interval: ['interval', sqlType(Oid.interval)],
  uuid: ['uuid', sqlType(Oid.uuid)],
  int4Array: ['int4[]', sqlType(Oid._int4)],
  textArray: ['text[]', sqlType(Oid._text)],
  numeric31Array: ['numeric(3,1)[]', sqlType(Oid._numeric, numericTypmod(3, 1))],
  varchar2Array: ['varchar(2)[]', sqlType(Oid._varchar, charTypmod(2))],
  float8Array: ['float8[]', sqlType(Oid._float8)],
  date: ['date', sqlType(Oid.date)],
  time: ['time', sqlType(Oid.time)],
  time2: ['time(2)', sqlType(Oid.time, 2)],
  timetz: ['timetz', sqlType(Oid.timetz)],
  timestamp: ['timestamp', sqlType(Oid.timestamp)],
  timestamp0: ['timestamp(0)', sqlType(Oid.timestamp, 0)],
  timestamptz: ['timestamptz', sqlType(Oid.timestamptz)],
  timestamptz3: ['timestamptz(3)', sqlType(Oid.timestamptz, 3)],
  interval1: ['interval(1)', sqlType(Oid.interval, 0x7fff0001)],
  intervalDayToMinute: ['interval day to minute', sqlType(Oid.interval, ((8 | 1024 | 2048) << 16) | 0xffff)],
  json: ['json', sqlType(Oid.json)],
  jsonb: ['jsonb', sqlType(Oid.jsonb)],
} satisfies Record<string, [string, SqlType]>;

function cases(from: [string, SqlType], to: [string, SqlType], values: string[]): CastCase[] {
  return values.map((value) => ({ value, from, to }));
}

const CONVERSIONS: CastCase[] = [
  ...cases(T.int4, T.int2, ['32767', '-32768', '32768', '0']),
  ...cases(T.int8, T.int4, ['2147483647', '2147483648', '-2147483649']),
  ...cases(T.int8, T.int2, ['-32769', '7']),
  ...cases(T.int2, T.int8, ['-5']),
  ...cases(T.float8, T.int4, ['2.5', '3.5', '-2.5', '-0.5', '2147483647.4', '2147483647.5', '-2147483648.5', '-2147483648.6', 'NaN', 'Infinity', '1e10']),
  ...cases(T.float8, T.int2, ['32767.5', '-32768.5', '32766.5']),
  ...cases(T.float8, T.int8, ['9223372036854775807', '-9223372036854775808', '4611686018427387904.5', '1e19', 'NaN']),
  ...cases(T.float4, T.int4, ['2.5', '16777217', '-1e10']),
  ...cases(T.numeric, T.int4, ['2.5', '-2.5', '2147483647.5', 'NaN', 'Infinity', '-Infinity']),
  ...cases(T.numeric, T.int2, ['32767.5', '-32768.4']),
  ...cases(T.numeric, T.int8, ['9223372036854775807.5', '-9223372036854775808.4', '1e19']),
  ...cases(T.numeric, T.float8, ['1e400', '1e-400', '0.1', 'NaN', '-Infinity', '123456789012345678901234567890']),
  ...cases(T.numeric, T.float4, ['1e39', '3.4028235e38', '0.1', 'Infinity']),
  ...cases(T.float8, T.float4, ['1e300', '1e-300', '0.1', '-0', 'NaN', '3.4028235677973366e38', '1.4e-45', '7e-46']),
  ...cases(T.float4, T.float8, ['0.1', '16777217']),
  ...cases(T.float8, T.numeric, ['1.5', '0.1', '1e20', '1.23456789e-5', 'NaN', '-Infinity', '123456789012345.67', '5e-324']),
  ...cases(T.float4, T.numeric, ['0.1', '-inf', '16777217', '1.5e-30']),
  ...cases(T.int8, T.float4, ['123456789012', '16777217', '9223372036854775807', '-36028797018963971']),
  ...cases(T.int8, T.float8, ['9007199254740993']),
  ...cases(T.int4, T.numeric, ['-7']),
  ...cases(T.numeric, T.numeric52, ['12345.678', '999.994', '999.995', '-0.005', 'NaN', 'Infinity', '1.5']),
  ...cases(T.numeric, T.numeric3m1, ['1234', '9994', '9995', '-15']),
  ...cases(T.int4, T.numeric52, ['999', '1000']),
  ...cases(T.float8, T.numeric52, ['1.005', '999.999']),
  ...cases(T.int4, T.bool, ['0', '1', '-1', '42']),
  ...cases(T.bool, T.int4, ['t', 'f']),
  ...cases(T.int4, T.oid, ['-1', '0', '2147483647']),
  ...cases(T.int8, T.oid, ['-1', '4294967295', '4294967296']),
  ...cases(T.oid, T.int4, ['4294967295', '2147483648', '7']),
  ...cases(T.oid, T.int8, ['4294967295']),
  ...cases(T.int4, T.regclass, ['1259', '-1']),
  ...cases(T.regclass, T.int8, ['1259']),
  ...cases(T.int4, T.qchar, ['65', '0', '-1', '127', '128', '-128', '-129', '300']),
  ...cases(T.qchar, T.int4, ['A', '\\377', '', 'é']),
  ...cases(T.qchar, T.text, ['A', '\\377', '', 'é']),
  ...cases(T.text, T.qchar, ['abc', '', '\\101', '\\400', 'é']),
  ...cases(T.qchar, T.char3, ['x']),
  ...cases(T.text, T.varchar3, ['abc', 'abcd', 'abc   ', 'ab', '', 'ab  d', 'äöüß']),
  ...cases(T.text, T.char3, ['abc', 'abcd', 'abc   ', 'a', '', 'a  b', '日本語x']),
  ...cases(T.text, T.char5, ['ab', '😀😀']),
  ...cases(T.char5, T.text, ['ab', 'ab   ', '']),
  ...cases(T.char5, T.varchar, ['ab']),
  ...cases(T.char5, T.name, ['ab']),
  ...cases(T.char5, T.varchar3, ['ab', 'abcd']),
  ...cases(T.varchar, T.char3, ['abcdef']),
  ...cases(T.bpchar, T.char3, ['abcdef']),
  ...cases(T.name, T.char3, ['abcdef']),
  ...cases(T.text, T.name, ['x'.repeat(70), 'é'.repeat(40)]),
  ...cases(T.bool, T.text, ['t', 'f']),
  ...cases(T.bool, T.varchar3, ['t', 'f']),
  ...cases(T.bool, T.char3, ['t', 'f']),
  ...cases(T.bool, T.char5, ['f']),
  ...cases(T.int4, T.text, ['-42']),
  ...cases(T.int4, T.varchar3, ['12345', '123']),
  ...cases(T.int4, T.char5, ['12']),
  ...cases(T.float8, T.text, ['0.1', '1e20', '-0']),
  ...cases(T.numeric, T.text, ['1.50', 'NaN']),
  ...cases(T.bytea, T.text, ['\\x0102']),
  ...cases(T.uuid, T.text, ['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11']),
  ...cases(T.int4Array, T.text, ['{1,2,NULL}']),
  ...cases(T.text, T.int4, ['42', ' 42 ', 'x', '99999999999']),
  ...cases(T.text, T.numeric, ['1.50', 'abc']),
  ...cases(T.text, T.bool, ['yes', 'maybe']),
  ...cases(T.text, T.bytea, ['\\x41', '\\xz']),
  ...cases(T.text, T.uuid, ['{a0eebc999c0b4ef8bb6d6bb9bd380a11}', 'nope']),
  ...cases(T.varchar, T.int4, ['12']),
  ...cases(T.bpchar, T.int4, ['12  ']),
  ...cases(T.text, T.int4Array, ['{1,2}', '{x}']),
  ...cases(T.text, T.interval, ['1 day 02:00', '1 year 2 mons', 'x']),
  ...cases(T.int4Array, T.numeric31Array, ['{1,2}', '{99}', '{100}']),
  ...cases(T.float8Array, T.numeric31Array, ['{1.25,2.35,NULL}']),
  ...cases(T.textArray, T.varchar2Array, ['{a,abc,NULL}', '{"a  "}']),
  ...cases(T.textArray, T.int4Array, ['{1,2}', '{1,x}']),
  ...cases(T.int4Array, T.float8Array, ['[0:1]={1,2}', '{{1,2},{3,4}}']),
  ...cases(T.int4Array, T.textArray, ['{}']),
  ...cases(T.date, T.timestamp, ['2020-02-29', 'infinity', '-infinity', '1900-01-01', '5874897-12-31']),
  ...cases(T.date, T.timestamptz, ['2020-02-29', '2020-07-01', 'infinity']),
  ...cases(T.timestamp, T.date, ['2020-05-06 12:34:56.789', '1969-12-31 23:59:59', 'infinity', '-infinity']),
  ...cases(T.timestamptz, T.date, ['2020-05-06 23:30:00+00', '2020-05-06 00:30:00+00', '-infinity']),
  ...cases(T.timestamp, T.time, ['2020-05-06 12:34:56.789', '1969-12-31 23:59:59', 'infinity']),
  ...cases(T.timestamptz, T.time, ['2020-05-06 23:30:00+00']),
  ...cases(T.timestamptz, T.timetz, ['2020-05-06 23:30:00+00', '2020-01-06 23:30:00+00', 'infinity']),
  ...cases(T.timestamp, T.timestamptz, ['2020-03-29 02:30:00', '2020-10-25 02:30:00', '2020-05-06 12:00', 'infinity']),
  ...cases(T.timestamptz, T.timestamp, ['2020-03-29 01:30:00+00', '2020-05-06 12:00+00']),
  ...cases(T.time, T.interval, ['12:34:56.789', '00:00']),
  ...cases(T.interval, T.time, ['25:00', '-01:00', '1 day 02:03', '1 mon 12:00']),
  ...cases(T.timetz, T.time, ['12:00+05']),
  ...cases(T.timestamp, T.timestamp0, ['1999-12-31 23:59:59.5', '2000-01-01 00:00:00.5', '2020-05-06 12:34:56.4']),
  ...cases(T.timestamptz, T.timestamptz3, ['2020-05-06 12:34:56.78951+00']),
  ...cases(T.time, T.time2, ['12:34:56.789', '23:59:59.999']),
  ...cases(T.text, T.interval1, ['1 day 00:00:01.25', '-00:00:00.05']),
  ...cases(T.text, T.intervalDayToMinute, ['1 year 2 days 03:04:05']),
  ...cases(T.text, T.timestamp0, ['2020-05-06 12:34:56.5']),
  ...cases(T.json, T.jsonb, ['{"b": 1,  "a": [1, 2.50]}', '{"a": 1, "a": 2}']),
  ...cases(T.jsonb, T.json, ['{"b": 1, "a": 2}']),
  ...cases(T.jsonb, T.int4, ['12', '12.5', '"12"', 'null', '[1]', '{}', 'true', '1e10']),
  ...cases(T.jsonb, T.numeric, ['1.50', '"x"']),
  ...cases(T.jsonb, T.float8, ['0.1', 'false']),
  ...cases(T.jsonb, T.bool, ['true', 'false', '1']),
  ...cases(T.jsonb, T.int8, ['9223372036854775808']),
  ...cases(T.jsonb, T.text, ['{"a": [1, "x"]}']),
  ...cases(T.date, T.text, ['2020-01-01']),
  ...cases(T.text, T.date, ['2020-01-01', 'nope']),
];

/** The SQL that casts a literal of `from` to `to` in the given context. */
function castSql(c: CastCase, context: CastContext, table: string): string {
  const source = `${lit(c.value)}::${c.from[0]}`;
  // reg* values print as names in PostgreSQL; Cairn's value library prints the OID (name lookup is
  // the catalog's), so compare them as OIDs.
  const shown = (e: string): string => (c.to[1].oid === Oid.regclass ? `${e}::oid` : e);
  // format('%s', NULL) is '': keep NULL a NULL (some casts of infinite timestamps give NULL).
  const print = (e: string): string => `case when ${e} is not null then format('%s', ${shown(e)}) end`;
  return context === 'explicit' ? `select ${print('v')} from (select ${source}::${c.to[0]} as v) q` : `insert into ${table} values (${source}) returning ${print('c')}`;
}

describe('castDatum', () => {
  it('converts as PostgreSQL does, explicitly and in assignment', async () => {
    const targets = new Map<string, string>();
    for (const c of CONVERSIONS) {
      if (targets.has(c.to[0])) continue;
      const table = `conv_${targets.size}`;
      targets.set(c.to[0], table);
      await oracle.run(`CREATE TEMP TABLE ${table} (c ${c.to[0]})`);
    }
    const all: OracleCase[] = [];
    for (const c of CONVERSIONS) {
      const context = castContextOf(c.from[1].oid, c.to[1].oid);
      for (const ctx of ['explicit', 'assignment'] as const) {
        if (ctx === 'assignment' && context === 'explicit') continue;
        all.push({
          label: `${JSON.stringify(c.value)}::${c.from[0]} -> ${c.to[0]} (${ctx})`,
          sql: castSql(c, ctx, targets.get(c.to[0])!),
          cairn: () => {
            const v = parseText(c.value, c.from[1], S);
            const r = castDatum(v, c.from[1], c.to[1], S, ctx);
            return r === null ? null : formatText(r, c.to[1], S);
          },
        });
      }
    }
    const mismatches = await oracle.compare(all);
    expect(mismatches.length, `${mismatches.length} of ${all.length} differ:\n${describeMismatches(mismatches, 30)}`).toBe(0);
  });

  it('converts dates and timestamps in the session time zone as PostgreSQL does', async () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata'];
    const tables = new Map<string, string>();
    const all: OracleCase[] = [];
    const dateTime: readonly number[] = [Oid.date, Oid.timestamp, Oid.timestamptz, Oid.timetz, Oid.time];
    const zoned = CONVERSIONS.filter((c) => dateTime.includes(c.from[1].oid) && dateTime.includes(c.to[1].oid));
    for (const c of zoned) {
      if (!tables.has(c.to[0])) {
        tables.set(c.to[0], `zoned_${tables.size}`);
        await oracle.run(`CREATE TEMP TABLE ${tables.get(c.to[0])} (c ${c.to[0]})`);
      }
    }
    for (const zone of zones) {
      const settings = { ...S, timeZone: zone };
      await oracle.run(`SET TimeZone = ${lit(zone)}`);
      const cases: OracleCase[] = zoned.map((c) => ({
        label: `${JSON.stringify(c.value)}::${c.from[0]} -> ${c.to[0]} in ${zone}`,
        sql: castSql(c, 'explicit', tables.get(c.to[0])!),
        cairn: () => {
          const r = castDatum(parseText(c.value, c.from[1], settings), c.from[1], c.to[1], settings, 'explicit');
          return r === null ? null : formatText(r, c.to[1], settings);
        },
      }));
      all.push(...cases);
      const mismatches = await oracle.compare(cases);
      expect(mismatches.length, `${mismatches.length} of ${cases.length} differ in ${zone}:\n${describeMismatches(mismatches, 30)}`).toBe(0);
    }
    await oracle.run('SET TimeZone = UTC');
    expect(all.length).toBeGreaterThan(50);
  });

  it('passes NULL through every cast', () => {
    for (const [, from] of MATRIX) {
      for (const [, to] of MATRIX) {
        if (castContextOf(from, to) === undefined) continue;
        expect(castDatum(null, sqlType(from), sqlType(to), S, 'explicit'), `${formatType(sqlType(from))} -> ${formatType(sqlType(to))}`).toBeNull();
      }
    }
  });
});
