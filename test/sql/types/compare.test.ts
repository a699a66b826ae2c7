// Ordering and equality against PostgreSQL 15: for lists of values of one type, the dense rank of
// each value under ORDER BY (btree order, "C" collation) must equal its rank under compareDatums,
// and datumKey must put exactly the equal values together, as GROUP BY does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareDatums, datumKey } from '../../../src/sql/types/compare.js';
import type { Datum } from '../../../src/sql/types/datum.js';
import { Oid, sqlType, type SqlType } from '../../../src/sql/types/oids.js';
import { DEFAULT_TYPE_SETTINGS } from '../../../src/sql/types/settings.js';
import { parseText } from '../../../src/sql/types/text_io.js';
import { Oracle, lit } from './oracle.js';

let oracle: Oracle;
beforeAll(async () => {
  oracle = await Oracle.start();
});
afterAll(async () => {
  await oracle?.stop();
});

const LISTS: [string, SqlType, string[]][] = [
  ['int2', sqlType(Oid.int2), ['0', '-1', '32767', '-32768', '5', '5', '-0']],
  ['int4', sqlType(Oid.int4), ['0', '-2147483648', '2147483647', '7', '-7', '7']],
  ['int8', sqlType(Oid.int8), ['0', '-9223372036854775808', '9223372036854775807', '9007199254740993', '9007199254740992', '-1']],
  ['oid', sqlType(Oid.oid), ['0', '4294967295', '2147483648', '2147483647', '1']],
  ['float8', sqlType(Oid.float8), ['NaN', '-0', '0', 'Infinity', '-Infinity', '1e-320', '-1e-320', '1.5', '1.5000000000000002', 'nan', '1e308', '-1e308']],
  ['float4', sqlType(Oid.float4), ['NaN', '-0', '0', 'Infinity', '-Infinity', '1e-40', '3.4028235e38', '0.1', '0.1']],
  ['numeric', sqlType(Oid.numeric), ['1.0', '1.00', '1', 'NaN', 'nan', 'Infinity', '-Infinity', '0', '-0.000', '1e-100', '-1e100', '0.1', '0.10', '123456789012345678901234567890.5']],
  ['text', sqlType(Oid.text), ['', 'a', 'A', 'b', 'ab', 'a b', 'é', 'e', 'z', '😀', '\uffff', '\ue000', '日本', 'a\u0001', 'aa', 'é']],
  ['varchar', sqlType(Oid.varchar), ['a', 'a ', 'a  ', 'b', '']],
  ['bpchar', sqlType(Oid.bpchar), ['a', 'a ', 'a  ', 'a b', 'ab', '', ' ', 'b']],
  ['name', sqlType(Oid.name), ['pg_class', 'pg_Class', 'a', '', 'ä']],
  ['"char"', sqlType(Oid.char), ['a', 'é', '', 'A', '\\377', '\\001', 'z']],
  ['bytea', sqlType(Oid.bytea), ['\\x', '\\x00', '\\x0000', '\\x01', '\\xff', '\\x00ff', '\\x7f', '\\x80', '\\x80']],
  ['bool', sqlType(Oid.bool), ['t', 'f', 'true']],
  ['int4[]', sqlType(Oid._int4), ['{}', '{1}', '{1,2}', '{1,NULL}', '{NULL}', '{NULL,1}', '{2}', '{1,2,3}', '{{1,2},{3,4}}', '{1,2,3,4}', '[0:1]={1,2}', '[2:3]={1,2}', '{{1},{2}}', '{1,1}', '{1,2}']],
  ['text[]', sqlType(Oid._text), ['{}', '{a}', '{a,b}', '{"a b"}', '{NULL}', '{a,NULL}', '{b}', '{""}']],
  ['numeric[]', sqlType(Oid._numeric), ['{1.0}', '{1.00}', '{1,NaN}', '{1,Infinity}']],
  ['date', sqlType(Oid.date), ['2020-01-01', 'infinity', '-infinity', '1970-01-01', '1969-12-31', '2020-01-01']],
  ['timestamp', sqlType(Oid.timestamp), ['2020-01-01 00:00', 'infinity', '-infinity', '294276-12-31 23:59:59', '4714-11-24 00:00 BC', '1970-01-01']],
  ['timestamptz', sqlType(Oid.timestamptz), ['2020-01-01 00:00+00', '2020-01-01 01:00+01', 'infinity', '1969-12-31 23:59:59.999999+00']],
  ['time', sqlType(Oid.time), ['00:00', '24:00', '12:00', '12:00:00.000001']],
  ['timetz', sqlType(Oid.timetz), ['12:00+00', '13:00+01', '12:00+01', '11:00-01', '00:00+00']],
  ['interval', sqlType(Oid.interval), ['1 mon', '30 days', '720 hours', '1 day', '24 hours', '-1 day', '0', '1 year', '12 mons', '360 days']],
  ['uuid', sqlType(Oid.uuid), ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11']],
  ['jsonb', sqlType(Oid.jsonb), ['1', '1.0', '"a"', 'null', 'true', 'false', '[1,2]', '[1]', '{"a":1}', '{"a":1,"b":2}', '{"b":1}', '[]', '{}', '"b"', '2']],
];

/** Dense ranks (0-based) of values under a comparison. */
function denseRanks(values: readonly Datum[], cmp: (a: Datum, b: Datum) => number): number[] {
  const order = values.map((_, i) => i).sort((a, b) => cmp(values[a]!, values[b]!));
  const ranks = new Array<number>(values.length);
  let rank = 0;
  order.forEach((idx, k) => {
    if (k > 0 && cmp(values[order[k - 1]!]!, values[idx]!) !== 0) rank++;
    ranks[idx] = rank;
  });
  return ranks;
}

describe('compareDatums', () => {
  for (const [name, type, inputs] of LISTS) {
    it(`orders ${name} as PostgreSQL's ORDER BY does`, async () => {
      const rows = inputs.map((v, i) => `(${i}, ${lit(v)}::${name})`).join(', ');
      const pg = await oracle.run(`select string_agg(r::text, ',' order by i) from (select i, dense_rank() over (order by v) - 1 as r from (values ${rows}) t(i, v)) q`);
      const values = inputs.map((v) => parseText(v, type, DEFAULT_TYPE_SETTINGS));
      expect(denseRanks(values, (a, b) => compareDatums(a, b, type.oid)).join(',')).toBe(pg.value);
    });

    it(`groups ${name} as PostgreSQL's GROUP BY does`, async () => {
      const rows = inputs.map((v, i) => `(${i}, ${lit(v)}::${name})`).join(', ');
      // Each value's group: the smallest index with an equal value.
      const pg = await oracle.run(`select string_agg(g::text, ',' order by i) from (select i, min(i) over (partition by v) as g from (values ${rows}) t(i, v)) q`);
      const values = inputs.map((v) => parseText(v, type, DEFAULT_TYPE_SETTINGS));
      const keys = values.map((v) => datumKey(v, type.oid));
      const groups = keys.map((k) => keys.indexOf(k));
      expect(groups.join(',')).toBe(pg.value);
    });
  }
});
