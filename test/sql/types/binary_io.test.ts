// The binary wire format against PostgreSQL 15: encodeBinary must produce the bytes of the type's
// send function (pg_type.typsend), and decodeBinary must read those bytes back to the value that
// prints as PostgreSQL prints it. Malformed input fails with 22P03 (or another SqlError), never
// with another exception.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSqlError } from '../../../src/sql/errors.js';
import { decodeBinary, encodeBinary } from '../../../src/sql/types/binary_io.js';
import { compareDatums } from '../../../src/sql/types/compare.js';
import { SqlRecord, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY, type Datum } from '../../../src/sql/types/datum.js';
import { Numeric } from '../../../src/sql/types/numeric.js';
import { Oid, sqlType, type SqlType } from '../../../src/sql/types/oids.js';
import { DEFAULT_TYPE_SETTINGS } from '../../../src/sql/types/settings.js';
import { formatText, parseText } from '../../../src/sql/types/text_io.js';
import { Oracle, describeMismatches, lit, type OracleCase } from './oracle.js';

let oracle: Oracle;
const sendFunction = new Map<number, string>();
beforeAll(async () => {
  oracle = await Oracle.start();
  for (const oid of [...new Set([...TEXT_CASES.map(([, t]) => t.oid), ...DIRECT_CASES.map(([, t]) => t.oid)])]) {
    const r = await oracle.run(`select typsend::text from pg_type where oid = ${oid}`);
    sendFunction.set(oid, r.value!);
  }
});
afterAll(async () => {
  await oracle?.stop();
});

const S = DEFAULT_TYPE_SETTINGS;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Values given as text, read with Cairn's parseText (tested against PostgreSQL elsewhere). */
const TEXT_CASES: [string, SqlType, string[]][] = [
  ['bool', sqlType(Oid.bool), ['t', 'f']],
  ['int2', sqlType(Oid.int2), ['0', '-1', '32767', '-32768']],
  ['int4', sqlType(Oid.int4), ['0', '-2147483648', '2147483647', '42']],
  ['int8', sqlType(Oid.int8), ['-9223372036854775808', '9223372036854775807', '1']],
  ['oid', sqlType(Oid.oid), ['0', '4294967295']],
  ['float4', sqlType(Oid.float4), ['0', '-0', '0.1', 'Infinity', '-Infinity', 'NaN', '1e-45', '3.4028235e38']],
  ['float8', sqlType(Oid.float8), ['0', '-0', '0.1', 'Infinity', 'NaN', '5e-324', '-1.7976931348623157e308']],
  ['numeric', sqlType(Oid.numeric), ['0', '0.00', '1', '-1', '10000', '10000.50', '0.0001', '-0.00012', '123456789.123456789', '1e100', '1e-100', 'NaN', 'Infinity', '-Infinity', '99999999', '1.5', '0.1', '-123.4']],
  ['text', sqlType(Oid.text), ['', 'abc', 'é日本😀']],
  ['varchar', sqlType(Oid.varchar), ['x y']],
  ['bpchar', sqlType(Oid.bpchar), ['ab  ']],
  ['name', sqlType(Oid.name), ['pg_class']],
  ['"char"', sqlType(Oid.char), ['a', '', '\\377']],
  ['bytea', sqlType(Oid.bytea), ['\\x', '\\x00ff10']],
  ['interval', sqlType(Oid.interval), ['1 year 2 mons 3 days 04:05:06.789', '-1 day', '00:00:00.000001']],
  ['uuid', sqlType(Oid.uuid), ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']],
  ['int4[]', sqlType(Oid._int4), ['{}', '{1,2,3}', '{1,NULL,3}', '{{1,2},{3,4}}', '[0:1]={5,6}', '[-3:-2][2:3]={{1,2},{3,4}}']],
  ['text[]', sqlType(Oid._text), ['{a,"b c",NULL,""}', '{}']],
  ['numeric[]', sqlType(Oid._numeric), ['{1.5,NaN,NULL}']],
  ['float8[]', sqlType(Oid._float8), ['{0.1,-0}']],
  ['bool[]', sqlType(Oid._bool), ['{t,f,NULL}']],
  ['int2vector', sqlType(Oid.int2vector), ['1 2 3', '']],
  ['jsonb', sqlType(Oid.jsonb), ['{"b": [1, 2.50], "a": null}', '"x"']],
  ['json', sqlType(Oid.json), ['{"b": 1,  "a": 2}']],
  ['date', sqlType(Oid.date), ['2020-02-29', 'infinity']],
  ['timestamptz', sqlType(Oid.timestamptz), ['2020-05-06 12:34:56.789+02', 'infinity']],
  ['interval[]', sqlType(Oid._interval), ['{"1 day","-2 years 00:00:01"}']],
  ['oidvector', sqlType(Oid.oidvector), ['26 4294967295']],
];

/** Date/time values built directly (their text I/O is another module's), with a SQL literal. */
const DIRECT_CASES: [string, SqlType, [string, Datum][]][] = [
  ['date', sqlType(Oid.date), [['1970-01-01', 0], ['2000-01-01', 10957], ['1999-12-31', 10956], ['infinity', Infinity], ['-infinity', -Infinity], ['4714-11-24 BC', -2440588]]],
  ['time', sqlType(Oid.time), [['00:00', 0n], ['24:00', 86_400_000_000n], ['12:34:56.789012', 45_296_789_012n]]],
  ['timestamp', sqlType(Oid.timestamp), [['1970-01-01 00:00', 0n], ['2000-01-01', 946_684_800_000_000n], ['infinity', TIMESTAMP_INFINITY], ['-infinity', TIMESTAMP_NEG_INFINITY], ['1969-12-31 23:59:59.999999', -1n]]],
  ['timestamptz', sqlType(Oid.timestamptz), [['1970-01-01 00:00+00', 0n], ['2000-01-01 01:00+01', 946_684_800_000_000n]]],
  ['timetz', sqlType(Oid.timetz), [['12:00+02', { micros: 43_200_000_000n, offsetSeconds: 7200 }], ['00:00:01-05:30', { micros: 1_000_000n, offsetSeconds: -19800 }]]],
];

function sendSql(typeName: string, oid: number, literal: string): string {
  return `select encode(${sendFunction.get(oid)}(${lit(literal)}::${typeName}), 'hex')`;
}

describe('encodeBinary', () => {
  it('produces the bytes of PostgreSQL send functions', async () => {
    const cases: OracleCase[] = [];
    for (const [name, type, inputs] of TEXT_CASES) {
      for (const input of inputs) {
        cases.push({ label: `${input}::${name}`, sql: sendSql(name, type.oid, input), cairn: () => hex(encodeBinary(parseText(input, type, S), type)) });
      }
    }
    for (const [name, type, values] of DIRECT_CASES) {
      for (const [literal, value] of values) {
        cases.push({ label: `${literal}::${name}`, sql: sendSql(name, type.oid, literal), cairn: () => hex(encodeBinary(value, type)) });
      }
    }
    const rec = new SqlRecord([Oid.int4, Oid.text, Oid.numeric], [7, null, Numeric.parse('1.50')]);
    cases.push({ label: 'record', sql: `select encode(record_send(row(7, null::text, 1.50)), 'hex')`, cairn: () => hex(encodeBinary(rec, sqlType(Oid.record))) });
    const mismatches = await oracle.compare(cases);
    expect(mismatches.length, `${mismatches.length} of ${cases.length} differ:\n${describeMismatches(mismatches)}`).toBe(0);
  });
});

describe('decodeBinary', () => {
  it("reads PostgreSQL's bytes back to the value PostgreSQL prints", async () => {
    const cases: OracleCase[] = [];
    for (const [name, type, inputs] of TEXT_CASES) {
      for (const input of inputs) {
        const bytes = await oracle.run(sendSql(name, type.oid, input));
        cases.push({
          label: `${input}::${name}`,
          sql: `select format('%s', ${lit(input)}::${name})`,
          cairn: () => formatText(decodeBinary(Buffer.from(bytes.value!, 'hex'), type), type, S),
        });
      }
    }
    const mismatches = await oracle.compare(cases);
    expect(mismatches.length, `${mismatches.length} of ${cases.length} differ:\n${describeMismatches(mismatches)}`).toBe(0);
  });

  it('decodes what it encodes', () => {
    for (const [, type, values] of DIRECT_CASES) {
      for (const [, value] of values) expect(compareDatums(decodeBinary(encodeBinary(value, type), type), value, type.oid)).toBe(0);
    }
    fc.assert(
      fc.property(fc.tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 40 })), ([u, s]) => {
        const n = Numeric.of(u, s);
        const back = decodeBinary(encodeBinary(n, sqlType(Oid.numeric)), sqlType(Oid.numeric)) as Numeric;
        expect(back.toString()).toBe(n.toString());
      }),
    );
  });

  it('rejects malformed input with a SqlError, never another exception', () => {
    const types = [...TEXT_CASES.map(([, t]) => t), ...DIRECT_CASES.map(([, t]) => t)].filter((t) => t.oid !== Oid.jsonb);
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.uint8Array({ maxLength: 40 }), (type, bytes) => {
        try {
          decodeBinary(bytes, type);
        } catch (err) {
          expect(isSqlError(err), String(err)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
    expect(() => decodeBinary(Uint8Array.of(0, 0, 0), sqlType(Oid.int4))).toThrowError(expect.objectContaining({ code: '22P03' }));
    expect(() => decodeBinary(Uint8Array.of(0, 0, 0, 1, 2), sqlType(Oid.int4))).toThrowError(expect.objectContaining({ code: '22P03' }));
  });
});
