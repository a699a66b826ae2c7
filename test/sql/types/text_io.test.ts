// Text input and output of every scalar type and of arrays against PostgreSQL 15: each input is
// read by the type's input function and printed by its output function in both systems (format's
// %s calls the output function, so bool prints t/f there as on the wire); errors must match in
// SQLSTATE, message and detail. Then round-trip properties over generated values.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareDatums } from '../../../src/sql/types/compare.js';
import { SqlArray, SqlRecord, type Datum } from '../../../src/sql/types/datum.js';
import { Numeric } from '../../../src/sql/types/numeric.js';
import { Oid, sqlType, type SqlType } from '../../../src/sql/types/oids.js';
import { DEFAULT_TYPE_SETTINGS, type TypeSettings } from '../../../src/sql/types/settings.js';
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

async function expectSame(cases: OracleCase[]): Promise<void> {
  const mismatches = await oracle.compare(cases);
  expect(mismatches.length, `${mismatches.length} of ${cases.length} differ from PostgreSQL:\n${describeMismatches(mismatches)}`).toBe(0);
}

/** A case reading `input` as `sqlName` and printing it with the type's output function. */
function roundTrip(sqlName: string, type: SqlType, input: string, settings: TypeSettings = S): OracleCase {
  return {
    label: `${JSON.stringify(input)}::${sqlName}`,
    sql: `select format('%s', ${lit(input)}::${sqlName})`,
    cairn: () => formatText(parseText(input, type, settings), type, settings),
  };
}

const SCALARS: [string, SqlType, string[]][] = [
  ['bool', sqlType(Oid.bool), ['t', 'true', 'TRUE', ' yes ', 'y', 'on', '1', 'f', 'false', 'no', 'n', 'off', 'OFF', '0', 'tr', 'ye', 'of', 'o', '2', 'truex', '', ' ', 'nope', '\tt\n', 'fa']],
  ['int2', sqlType(Oid.int2), ['0', '-0', '32767', '-32768', '32768', '-32769', ' 12 ', '+5', '007', '1.5', '', ' ', '1 2', '0x10', 'abc', '99999999999999999999', '-', '+']],
  ['int4', sqlType(Oid.int4), ['0', '2147483647', '-2147483648', '2147483648', ' 99999999999 ', ' x ', '+12', '-0', '00000000000000000001', '1e3', '']],
  ['int8', sqlType(Oid.int8), ['0', '9223372036854775807', '-9223372036854775808', '9223372036854775808', '-9223372036854775809', ' 42 ', 'x', '123456789012345678901234', '']],
  ['oid', sqlType(Oid.oid), ['0', '4294967295', '4294967296', '-1', '-2147483648', '-2147483649', '-4294967295', ' +5 ', 'x', '', '1.0']],
  ['numeric', sqlType(Oid.numeric), ['1.50', '-0.000', 'NaN', '1e5', 'x']],
  ['float8', sqlType(Oid.float8), ['0.1', '-0', 'inf', '1e400', 'x']],
  ['float4', sqlType(Oid.float4), ['0.1', '3.4028236e38', 'nan']],
  ['text', sqlType(Oid.text), ['', 'abc', ' padded ', 'é', '日本語', '😀', 'a\\b', 'NULL', '{}']],
  ['varchar', sqlType(Oid.varchar), ['abc', '  x  ']],
  ['bpchar', sqlType(Oid.bpchar), ['abc  ', '']],
  ['name', sqlType(Oid.name), ['abc', 'x'.repeat(70), 'é'.repeat(40), `${'a'.repeat(62)}é`, '']],
  ['"char"', sqlType(Oid.char), ['abc', '', 'é', '\\101', '\\\\', '\\377', '\\400', '\\3', 'A', ' ']],
  ['bytea', sqlType(Oid.bytea), ['\\x0102ff', '\\x 01 02 ', '\\x', '', 'abc\\\\d\\001', '\\X0A', '\\x012', '\\x0g', 'ab\\c', 'ab\\', '\\x0 1', 'é', '\\x1F', '\\\\x41', 'a\\134b']],
  ['int2vector', sqlType(Oid.int2vector), ['1 2 3', '', ' 1  2 ', '32768', 'x']],
  ['date', sqlType(Oid.date), ['2020-01-01', ' infinity ', '-infinity', '1999-12-31 BC', '2020-02-30', 'x']],
  ['time', sqlType(Oid.time), ['12:34:56.789', '24:00', '25:00']],
  ['time(1)', sqlType(Oid.time, 1), ['12:34:56.789']],
  ['timetz', sqlType(Oid.timetz), ['12:00+02', '00:00:01-05:30']],
  ['timestamp', sqlType(Oid.timestamp), ['2020-05-06 12:34:56.789', 'infinity', '1999-12-31 23:59:59.999999']],
  ['timestamptz', sqlType(Oid.timestamptz), ['2020-05-06 12:34:56+02', '-infinity']],
  ['interval', sqlType(Oid.interval), ['1 day 02:00', '1 year 2 mons', '-00:00:01', '1 mon -30 days', 'x']],
  ['uuid', sqlType(Oid.uuid), ['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{a0eebc999c0b4ef8bb6d6bb9bd380a11}', 'bad']],
  ['json', sqlType(Oid.json), ['{"a": 1}', ' [1, 2 ] ', '{bad']],
  ['jsonb', sqlType(Oid.jsonb), ['{"b":1,"a":[1,2.50]}', 'null', '{bad', '"x"']],
  ['oidvector', sqlType(Oid.oidvector), ['1 2', '4294967295', '-1']],
];

describe('scalar text I/O', () => {
  it('reads and prints every scalar type as PostgreSQL does', async () => {
    const cases: OracleCase[] = [];
    for (const [name, type, inputs] of SCALARS) for (const input of inputs) cases.push(roundTrip(name, type, input));
    await expectSame(cases);
  });

  it('prints bytea in the escape format as PostgreSQL does', async () => {
    await oracle.run('SET bytea_output = escape');
    const escape: TypeSettings = { ...S, byteaOutput: 'escape' };
    try {
      const inputs = ['\\x00017f80ff5c41', 'é', 'plain', '\\x5c5c', '\\x'];
      await expectSame(inputs.map((i) => roundTrip('bytea', sqlType(Oid.bytea), i, escape)));
    } finally {
      await oracle.run('SET bytea_output = hex');
    }
  });

  it('prints records as PostgreSQL does', async () => {
    const rec = (types: number[], values: Datum[]): SqlRecord => new SqlRecord(types, values);
    const cases: [string, SqlRecord][] = [
      ["row(1, 'a b', '', null, 'x\"y', 'back\\slash', '(x)')", rec([Oid.int4, Oid.text, Oid.text, Oid.text, Oid.text, Oid.text, Oid.text], [1, 'a b', '', null, 'x"y', 'back\\slash', '(x)'])],
      ['row()', rec([], [])],
      ['row(null::int)', rec([Oid.int4], [null])],
      ["row(array[1,2], 'é', true, 1.50)", rec([Oid._int4, Oid.text, Oid.bool, Oid.numeric], [new SqlArray(Oid.int4, [1, 2]), 'é', true, N('1.50')])],
      ["row(' ', E'a\\tb', 'a,b')", rec([Oid.text, Oid.text, Oid.text], [' ', 'a\tb', 'a,b'])],
    ];
    await expectSame(cases.map(([sql, r]) => ({ label: sql, sql: `select format('%s', ${sql})`, cairn: () => formatText(r, sqlType(Oid.record), S) })));
  });
});

function N(s: string): Numeric {
  return Numeric.parse(s);
}

const ARRAYS: [string, SqlType, string[]][] = [
  ['int4[]', sqlType(Oid._int4), [
    '{}', '{1,2,3}', ' { 1 , 2 } ', '{{1,2},{3,4}}', '[0:2]={1,2,3}', '[0:1][1:2]={{1,2},{3,4}}', '[1:2][1:2]={{1,2},{3,4}}', '[2]={1,2}', '[-2:-1]={1,2}',
    '[1:2] = {1,2}', ' [1:2]={1,2}', '{NULL,1,null}', '{"1"}', '{  1  }', '{ }', '{{},{}}', '{{}}', '{{1},{2,3}}', '{1,{2}}', '{1,2', '1,2', '{1,2}x',
    '{1,,2}', '{"1"2}', '[1:3]={1,2}', '[3:1]={}', '{}}', '{{1,2},3}', '[1:2]={}', '[1:2', '[a:2]={1}', '[1:2]{1,2}', '{{{{{{{1}}}}}}}', '[ 1 : 2 ] = {1,2}',
    '{a}', '', '{', '{1}{2}', '{{1,2}}', '{{{1}}}', '{2147483648}', '{-0,+7}',
  ]],
  ['text[]', sqlType(Oid._text), [
    '{"a b",NULL,"x\\"y", null, "NULL", "", " "}', '{a\\,b,c}', '{ab c}', '{  a  b  }', '{"a" , "b"}', '{"a" x}', '{NULLx, xNULL}', '{a"b"}', '{ab{c}',
    '{"ab"  }', '{ "a" }', '{a\\ }', '{\\ a}', '{N\\ULL}', '{"\\\\"}', '{é,日本}', '{"{}",",", "\\"\\""}', '{{a,b},{c,d}}', '{"a\\\\b"}', '{a\\', '{"a',
    '{ a b , c d }', '{\t x \n}',
  ]],
  ['bool[]', sqlType(Oid._bool), ['{t,f,yes,NULL}', '{maybe}']],
  ['numeric[]', sqlType(Oid._numeric), ['{1.50,2,NaN,-Infinity}', '{1e3}']],
  ['float8[]', sqlType(Oid._float8), ['{1.5e1,0.1,-0,inf}']],
  ['bytea[]', sqlType(Oid._bytea), ['{1,2}', '{"\\\\x01ff"}', '{"\\\\x0"}']],
  ['"char"[]', sqlType(Oid._char), ['{a,b,""}']],
  ['name[]', sqlType(Oid._name), ['{pg_class,"a b"}']],
  ['varchar[]', sqlType(Oid._varchar), ['{abc, " d "}']],
  ['int8[]', sqlType(Oid._int8), ['{9223372036854775807,-1}']],
  ['oid[]', sqlType(Oid._oid), ['{1,4294967295,-1}']],
  ['date[]', sqlType(Oid._date), ['{2020-01-01,infinity,NULL}']],
  ['timestamp[]', sqlType(Oid._timestamp), ['{"2020-05-06 12:34:56"}']],
  ['interval[]', sqlType(Oid._interval), ['{"1 day","-1 mons"}']],
  ['uuid[]', sqlType(Oid._uuid), ['{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}']],
  ['jsonb[]', sqlType(Oid._jsonb), ['{"{\\"a\\": 1}",null,"[1, 2]"}']],
];

describe('array text I/O', () => {
  it('reads and prints array literals as PostgreSQL does', async () => {
    const cases: OracleCase[] = [];
    for (const [name, type, inputs] of ARRAYS) for (const input of inputs) cases.push(roundTrip(name, type, input));
    await expectSame(cases);
  });

  const element = fc.oneof(
    fc.constant(null),
    fc.string({ unit: fc.constantFrom('a', 'b', ' ', '"', '\\', '{', '}', ',', 'N', 'U', 'L', 'é', '\t', '😀'), maxLength: 6 }),
  );
  const textArray = fc.oneof(
    fc.array(element, { maxLength: 5 }).map((vs) => new SqlArray(Oid.text, vs)),
    fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: -3, max: 3 }))
      .chain(([rows, cols, lb]) =>
        fc.array(fc.array(element, { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows }).map(
          (m) => new SqlArray(Oid.text, m.map((r) => new SqlArray(Oid.text, r, 1)), lb),
        ),
      ),
  );

  it('prints generated text arrays that PostgreSQL reads and prints back unchanged', async () => {
    const arrays = fc.sample(textArray, { numRuns: 300, seed: 21 });
    const cases = arrays.map((a) => {
      const text = formatText(a, sqlType(Oid._text), S);
      return roundTrip('text[]', sqlType(Oid._text), text);
    });
    await expectSame(cases);
  });

  it('reads back every array it prints', () => {
    fc.assert(
      fc.property(textArray, (a) => {
        const text = formatText(a, sqlType(Oid._text), S);
        const back = parseText(text, sqlType(Oid._text), S);
        expect(compareDatums(back, a, Oid._text)).toBe(0);
        expect(formatText(back, sqlType(Oid._text), S)).toBe(text);
      }),
    );
  });
});

describe('text I/O round trips', () => {
  const cases: [string, SqlType, fc.Arbitrary<Datum>][] = [
    ['int2', sqlType(Oid.int2), fc.integer({ min: -32768, max: 32767 })],
    ['int4', sqlType(Oid.int4), fc.integer()],
    ['int8', sqlType(Oid.int8), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })],
    ['oid', sqlType(Oid.oid), fc.integer({ min: 0, max: 0xffffffff })],
    ['float8', sqlType(Oid.float8), fc.double()],
    ['float4', sqlType(Oid.float4), fc.float()],
    ['numeric', sqlType(Oid.numeric), fc.tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 30 })).map(([u, s]) => Numeric.of(u, s))],
    ['bool', sqlType(Oid.bool), fc.boolean()],
    ['text', sqlType(Oid.text), fc.string({ unit: 'grapheme' })],
    ['bytea', sqlType(Oid.bytea), fc.uint8Array({ maxLength: 40 })],
    ['"char"', sqlType(Oid.char), fc.integer({ min: 0, max: 255 }).map((b) => (b === 0 ? '' : String.fromCharCode(b)))],
    ['int4[]', sqlType(Oid._int4), fc.array(fc.option(fc.integer())).map((vs) => new SqlArray(Oid.int4, vs))],
    ['float8[]', sqlType(Oid._float8), fc.array(fc.option(fc.double())).map((vs) => new SqlArray(Oid.float8, vs))],
  ];
  for (const [name, type, arb] of cases) {
    it(`reads back what it prints for ${name}`, () => {
      for (const settings of [S, { ...S, byteaOutput: 'escape' as const }]) {
        fc.assert(
          fc.property(arb, (v) => {
            const text = formatText(v, type, settings);
            const back = parseText(text, type, settings);
            expect(compareDatums(back, v, type.oid)).toBe(0);
            expect(formatText(back, type, settings)).toBe(text);
          }),
        );
      }
    });
  }
});
