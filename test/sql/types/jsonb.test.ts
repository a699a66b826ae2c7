// json and jsonb against PostgreSQL 15: input (errors with their details), normalised output,
// jsonb_pretty, btree ordering, containment, the operators and functions, to_jsonb and the
// jsonb_build_* functions; plus properties of random documents that need no oracle.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlArray } from '../../../src/sql/types/datum.js';
import { Jsonb, MAX_JSON_DEPTH, jsonbBuildArray, jsonbBuildObject, toJsonb, validateJson, type JsonValue } from '../../../src/sql/types/jsonb.js';
import { Numeric } from '../../../src/sql/types/numeric.js';
import { Oid } from '../../../src/sql/types/oids.js';
import { DEFAULT_TYPE_SETTINGS as S } from '../../../src/sql/types/settings.js';
import { Oracle, describeMismatches, lit, type OracleCase } from './oracle.js';

let oracle: Oracle;
beforeAll(async () => {
  oracle = await Oracle.start();
});
afterAll(async () => {
  await oracle?.stop();
});

async function expectSame(cases: OracleCase[]): Promise<void> {
  const mismatches = await oracle.compare(cases);
  expect(mismatches.length, `${mismatches.length} of ${cases.length} differ from PostgreSQL:\n${describeMismatches(mismatches)}`).toBe(0);
}

const J = (x: string): Jsonb => Jsonb.parse(x);
const textArray = (xs: readonly (string | null)[]): string => `array[${xs.map((x) => (x === null ? 'null' : lit(x))).join(',')}]::text[]`;

const INPUTS = [
  '{"a": 1, "b": [1, 2, "x"]}', '{"b":1,"a":2,"aa":3,"a":4}', '[]', '{}', '1', '-0', '1.50', '1e3', '1E-3', '-1.5e+10', '0.0',
  '12345678901234567890.123456789012345678901234567890', '"x"', '"\\u00e9\\ud83d\\ude00"', '"\\ud83d"', '"\\ude00"',
  '"\\ud83d\\u0041"', '"\\u0000"', '"a\\u0000"', '"\\x"', '"\\u12"', '"\\u12g4"', 'true', 'false', 'null', 'nul', 'True', '[1,]',
  '[1 2]', '{"a" 1}', '{"a":1,}', '{1:2}', '{"a":1 "b":2}', '', ' ', '[', '{', '{"a"', '{"a":', '[1,', '"abc', '01', '-',
  '1.', '.5', '1e', '1e+', '+1', '--1', '0x10', 'Infinity', 'NaN', '[1] x', '1 2', '"\t"', '"a\nb"', '["\\"\\\\\\/\\b\\f\\n\\r\\t"]',
  '"\\u001f\\u007f"', '{"é":1,"z":2,"aa":3}', '[1, {"a": [true, null, {"b": "c"}]}]', '{"a":{"b":{"c":{}}}}', ' {"a" : 1 } ',
  'é', '[1]]', '{"a":1}}', 'tru e', '[true,false,null]', '1e400', '-1e-400', '{"":1}', '[[[[]]]]', '"\\uD800\\uDC00"',
  '"\\uDBFF\\uDFFF"', '[1,2,3,]', 'abc', '#', '[#]', '{"a":1,"a":null}', '"🎉"', '[💩]', '{"a":1,"b":2,"a":3,"c":{"x":1,"x":[2]}}',
];

describe('json and jsonb input and output', () => {
  it('reads, normalises and prints as PostgreSQL does, with its error details', async () => {
    const cases: OracleCase[] = [];
    for (const i of INPUTS) {
      cases.push({ label: `jsonb ${JSON.stringify(i)}`, sql: `select ${lit(i)}::jsonb::text`, cairn: () => J(i).toString() });
      cases.push({ label: `json ${JSON.stringify(i)}`, sql: `select ${lit(i)}::json::text`, cairn: () => validateJson(i) });
      cases.push({ label: `jsonb_pretty ${JSON.stringify(i)}`, sql: `select jsonb_pretty(${lit(i)}::jsonb)`, cairn: () => J(i).pretty() });
    }
    await expectSame(cases);
  });

  it(`accepts ${MAX_JSON_DEPTH} levels of nesting and refuses one more with 54001`, () => {
    const deep = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    const j = J(deep);
    expect(j.toString()).toBe(deep);
    expect(j.compare(J(deep))).toBe(0);
    expect(j.contains(j)).toBe(true);
    expect(j.pretty().split('\n')).toHaveLength(2 * MAX_JSON_DEPTH);
    expect(j.stripNulls().key()).toBe(j.key());
    expect(j.concat(j).getIndex(0)?.compare(j.getIndex(0)!)).toBe(0);
    const tooDeep = `[${deep}]`;
    expect(() => J(tooDeep)).toThrowError(expect.objectContaining({ code: '54001' }));
    expect(() => validateJson(tooDeep)).toThrowError(expect.objectContaining({ code: '54001' }));
  });
});

const DOCS = [
  '{"a": 1, "b": [1, 2, {"c": "x"}], "d": null, "e": {"f": [true]}}', '[1, "a", [2, 3], {"k": "v"}, null, "b"]', '[]', '{}', '1',
  '"a"', 'null', 'true', '[1]', '[[1]]', '{"a":{"b":{"c":1}}}', '["a","b","a"]', '[1.0, 2]', '{"1": 2}',
];
const KEYS = ['a', 'b', 'c', 'd', 'k', '1', 'zz', ''];
const INDEXES = [0, 1, -1, -2, 5, -7, 2];
const PATHS: (string | null)[][] = [
  [], ['a'], ['b', '1'], ['b', '2', 'c'], ['b', '-1', 'c'], ['b', 'x'], ['e', 'f', '0'], ['0'], ['2', '1'], ['3', 'k'], ['a', null],
  ['a', 'b', 'c'], ['a', 'b'], ['9'], [' 1'], ['+1'], ['1x'], ['-1'], ['-9'], ['zz', 'y'],
];

function joined<T>(xs: readonly T[], f: (x: T) => string, sep: string): string | null {
  return xs.length === 0 ? null : xs.map(f).join(sep);
}

describe('jsonb operators and functions', () => {
  it('answers ->, ->>, ?, -, #>, #>>, #-, jsonb_set, ?|, ?& as PostgreSQL does', async () => {
    const cases: OracleCase[] = [];
    for (const d of DOCS) {
      const doc = `${lit(d)}::jsonb`;
      for (const k of KEYS) {
        cases.push({ label: `${d} -> ${k}`, sql: `select (${doc} -> ${lit(k)})::text`, cairn: () => J(d).getKey(k)?.toString() ?? null });
        cases.push({ label: `${d} ->> ${k}`, sql: `select (${doc} ->> ${lit(k)})::text`, cairn: () => J(d).getKeyText(k) });
        cases.push({ label: `${d} ? ${k}`, sql: `select (${doc} ? ${lit(k)})::text`, cairn: () => String(J(d).hasKey(k)) });
        cases.push({ label: `${d} - ${k}`, sql: `select (${doc} - ${lit(k)})::text`, cairn: () => J(d).deleteKeys([k]).toString() });
      }
      for (const i of INDEXES) {
        cases.push({ label: `${d} -> ${i}`, sql: `select (${doc} -> ${i})::text`, cairn: () => J(d).getIndex(i)?.toString() ?? null });
        cases.push({ label: `${d} ->> ${i}`, sql: `select (${doc} ->> ${i})::text`, cairn: () => J(d).getIndexText(i) });
        cases.push({ label: `${d} - ${i}`, sql: `select (${doc} - ${i})::text`, cairn: () => J(d).deleteIndex(i).toString() });
      }
      for (const p of PATHS) {
        const path = textArray(p);
        cases.push({ label: `${d} #> ${path}`, sql: `select (${doc} #> ${path})::text`, cairn: () => J(d).getPath(p)?.toString() ?? null });
        cases.push({ label: `${d} #>> ${path}`, sql: `select (${doc} #>> ${path})::text`, cairn: () => J(d).getPathText(p) });
        cases.push({ label: `${d} #- ${path}`, sql: `select (${doc} #- ${path})::text`, cairn: () => J(d).deletePath(p).toString() });
        for (const create of [true, false]) {
          cases.push({ label: `jsonb_set ${d} ${path} ${create}`, sql: `select jsonb_set(${doc}, ${path}, '"NEW"', ${create})::text`, cairn: () => J(d).set(p, J('"NEW"'), create).toString() });
        }
      }
      cases.push({ label: `${d} ?|`, sql: `select (${doc} ?| ${textArray(['a', 'zz', null])})::text`, cairn: () => String(J(d).hasAnyKey(['a', 'zz', null])) });
      cases.push({ label: `${d} ?&`, sql: `select (${doc} ?& ${textArray(['a', 'b', null])})::text`, cairn: () => String(J(d).hasAllKeys(['a', 'b', null])) });
      cases.push({ label: `${d} - text[]`, sql: `select (${doc} - ${textArray(['a', 'b', null])})::text`, cairn: () => J(d).deleteKeys(['a', 'b', null]).toString() });
    }
    await expectSame(cases);
  });

  it('answers the jsonb functions as PostgreSQL does', async () => {
    const cases: OracleCase[] = [];
    for (const d of DOCS) {
      const doc = `${lit(d)}::jsonb`;
      cases.push({ label: `jsonb_typeof ${d}`, sql: `select jsonb_typeof(${doc})`, cairn: () => J(d).typeName() });
      cases.push({ label: `jsonb_array_length ${d}`, sql: `select jsonb_array_length(${doc})::text`, cairn: () => String(J(d).arrayLength()) });
      cases.push({ label: `jsonb_object_keys ${d}`, sql: `select string_agg(k, ',') from jsonb_object_keys(${doc}) k`, cairn: () => joined(J(d).objectKeys(), (k) => k, ',') });
      cases.push({ label: `jsonb_each ${d}`, sql: `select string_agg(key || '=' || value::text, ',') from jsonb_each(${doc})`, cairn: () => joined(J(d).each(), ([k, v]) => `${k}=${v}`, ',') });
      cases.push({
        label: `jsonb_each_text ${d}`,
        sql: `select string_agg(key || '=' || coalesce(value, 'NULL'), ',') from jsonb_each_text(${doc})`,
        cairn: () => joined(J(d).eachText(), ([k, v]) => `${k}=${v ?? 'NULL'}`, ','),
      });
      cases.push({ label: `jsonb_array_elements ${d}`, sql: `select string_agg(e::text, '|') from jsonb_array_elements(${doc}) e`, cairn: () => joined(J(d).arrayElements(), String, '|') });
      cases.push({
        label: `jsonb_array_elements_text ${d}`,
        sql: `select string_agg(coalesce(e, 'NULL'), '|') from jsonb_array_elements_text(${doc}) e`,
        cairn: () => joined(J(d).arrayElementsText(), (x) => x ?? 'NULL', '|'),
      });
      cases.push({ label: `jsonb_strip_nulls ${d}`, sql: `select jsonb_strip_nulls(${doc})::text`, cairn: () => J(d).stripNulls().toString() });
    }
    await expectSame(cases);
  });

  it('orders, contains and concatenates as PostgreSQL does', async () => {
    const cases: OracleCase[] = [];
    const order = (a: string, b: string): OracleCase => ({
      label: `${a} <=> ${b}`,
      sql: `select (case when ${lit(a)}::jsonb < ${lit(b)}::jsonb then -1 when ${lit(a)}::jsonb = ${lit(b)}::jsonb then 0 else 1 end)::text`,
      cairn: () => String(J(a).compare(J(b))),
    });
    for (const a of DOCS) {
      for (const b of DOCS) {
        cases.push({ label: `${a} @> ${b}`, sql: `select (${lit(a)}::jsonb @> ${lit(b)}::jsonb)::text`, cairn: () => String(J(a).contains(J(b))) });
        cases.push({ label: `${a} || ${b}`, sql: `select (${lit(a)}::jsonb || ${lit(b)}::jsonb)::text`, cairn: () => J(a).concat(J(b)).toString() });
        cases.push(order(a, b));
      }
    }
    const containment: [string, string][] = [
      ['{"a":[1,2,3]}', '{"a":[3,1]}'], ['{"a":[1,2,3]}', '{"a":[[1]]}'], ['[[1,2],[3]]', '[[2]]'], ['[1,[2]]', '[2]'],
      ['{"a":{"b":1,"c":2}}', '{"a":{"c":2}}'], ['{"a":1}', '{"a":1.0}'], ['[1,1]', '[1,1,1]'], ['["a"]', '"a"'], ['"a"', '["a"]'],
      ['[{"a":1},{"b":2}]', '[{"a":1,"b":2}]'], ['[{"a":1,"b":2}]', '[{"b":2}]'], ['{"a":[]}', '{"a":{}}'], ['[]', '[]'], ['{}', '{}'], ['[1]', '[]'],
    ];
    for (const [a, b] of containment) {
      cases.push({ label: `${a} @> ${b}`, sql: `select (${lit(a)}::jsonb @> ${lit(b)}::jsonb)::text`, cairn: () => String(J(a).contains(J(b))) });
    }
    const ordering = ['null', '"a"', '"b"', '""', '"ab"', '1', '2', '1.0', '-1', 'true', 'false', '[]', '[1]', '[2]', '[1,2]', '[null]', '{}', '{"a":1}', '{"b":1}', '{"a":2}', '{"aa":1}', '{"a":1,"b":1}', '[[]]', '[{}]', '[[1],1]', '["a"]', '{"a":[]}', '{"a":{}}'];
    for (const a of ordering) for (const b of ordering) cases.push(order(a, b));
    await expectSame(cases);
  });

  it('converts SQL values and builds objects and arrays as PostgreSQL does', async () => {
    const t = (value: JsonValue | string | number | boolean | null, oid: number): { value: never; oid: number } => ({ value: value as never, oid });
    const cases: OracleCase[] = [
      {
        label: 'jsonb_build_object',
        sql: `select jsonb_build_object('a', 1, 'b', 'x', 'a', true, 'c', null, 3, 2.50::numeric, 'f', 1.5::float8, 'g', 'nan'::float8, 'h', '{"x":1}'::jsonb, 'i', array[1,2])::text`,
        cairn: () =>
          jsonbBuildObject(
            [
              t('a', Oid.text), t(1, Oid.int4), t('b', Oid.text), t('x', Oid.text), t('a', Oid.text), t(true, Oid.bool), t('c', Oid.text), t(null, Oid.text),
              t(3, Oid.int4), t(Numeric.parse('2.50'), Oid.numeric), t('f', Oid.text), t(1.5, Oid.float8), t('g', Oid.text), t(NaN, Oid.float8),
              t('h', Oid.text), { value: J('{"x":1}'), oid: Oid.jsonb }, t('i', Oid.text), { value: new SqlArray(Oid.int4, [1, 2]), oid: Oid._int4 },
            ],
            S,
          ).toString(),
      },
      { label: 'odd arguments', sql: `select jsonb_build_object('a')::text`, cairn: () => jsonbBuildObject([t('a', Oid.text)], S).toString() },
      { label: 'null key', sql: `select jsonb_build_object(null::text, 1)::text`, cairn: () => jsonbBuildObject([t(null, Oid.text), t(1, Oid.int4)], S).toString() },
      {
        label: 'jsonb_build_array',
        sql: `select jsonb_build_array(1, 'a', null, true, '2024-03-01'::date, 1e20::float8, 'infinity'::numeric)::text`,
        cairn: () =>
          jsonbBuildArray([t(1, Oid.int4), t('a', Oid.text), t(null, Oid.text), t(true, Oid.bool), t(19783, Oid.date), t(1e20, Oid.float8), { value: Numeric.Infinity, oid: Oid.numeric }], S).toString(),
      },
      { label: 'to_jsonb timestamp', sql: `select to_jsonb('2024-03-01 12:34:56.789'::timestamp)::text`, cairn: () => toJsonb(1709296496789000n, Oid.timestamp, S).toString() },
      { label: 'to_jsonb timestamptz', sql: `select to_jsonb('2024-03-01 12:34:56+05:30'::timestamptz)::text`, cairn: () => toJsonb(1709276696000000n, Oid.timestamptz, S).toString() },
      { label: 'to_jsonb text', sql: `select to_jsonb('a"b'::text)::text`, cairn: () => toJsonb('a"b', Oid.text, S).toString() },
      { label: 'to_jsonb bytea', sql: `select to_jsonb('\\x01ff'::bytea)::text`, cairn: () => toJsonb(Uint8Array.from([1, 255]), Oid.bytea, S).toString() },
      { label: 'to_jsonb json', sql: `select to_jsonb('{"b":1, "a":2}'::json)::text`, cairn: () => toJsonb('{"b":1, "a":2}', Oid.json, S).toString() },
    ];
    await oracle.run('SET TimeZone = UTC');
    await expectSame(cases);
  });
});

describe('jsonb properties', () => {
  const key = fc.string({ maxLength: 4, unit: fc.constantFrom('a', 'b', 'é', '"', '\\', '\n', '😀', 'z') });
  const scalar: fc.Arbitrary<JsonValue> = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    key,
    fc.integer({ min: -1000, max: 1000 }).map((n) => Numeric.fromInt(n)),
    fc.constantFrom('1.50', '1.5', '-0.001', '1e30').map((n) => Numeric.parse(n)),
  );
  const { value } = fc.letrec<{ value: JsonValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar,
      fc.array(tie('value'), { maxLength: 4 }),
      // objects go through the parser, which sorts their keys and keeps the last of duplicates
      fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((pairs) => J(`{${pairs.map(([k, v]) => `${JSON.stringify(k)}: ${new Jsonb(v).toString()}`).join(', ')}}`).value),
    ),
  }));
  const doc = value.map((v) => new Jsonb(v));

  it('output reads back as the same value', () => {
    fc.assert(
      fc.property(doc, (j) => {
        const back = Jsonb.parse(j.toString());
        expect(back.toString()).toBe(j.toString());
        expect(back.compare(j)).toBe(0);
        expect(Jsonb.parse(j.pretty()).toString()).toBe(j.toString());
      }),
    );
  });

  it('compare is a total order that key() agrees with, and containment is reflexive', () => {
    fc.assert(
      fc.property(doc, doc, doc, (a, b, c) => {
        expect(Math.sign(a.compare(b)) + Math.sign(b.compare(a))).toBe(0);
        if (a.compare(b) <= 0 && b.compare(c) <= 0) expect(a.compare(c)).toBeLessThanOrEqual(0);
        expect(a.key() === b.key()).toBe(a.compare(b) === 0);
        expect(a.contains(a)).toBe(true);
      }),
    );
  });

  it('agrees with PostgreSQL on the order and containment of random documents', async () => {
    const docs = fc.sample(doc, { numRuns: 60, seed: 42 }).map((j) => j.toString());
    const cases: OracleCase[] = [];
    for (let i = 0; i + 1 < docs.length; i++) {
      const [a, b] = [docs[i]!, docs[i + 1]!];
      cases.push({
        label: `${a} <=> ${b}`,
        sql: `select (case when ${lit(a)}::jsonb < ${lit(b)}::jsonb then -1 when ${lit(a)}::jsonb = ${lit(b)}::jsonb then 0 else 1 end)::text`,
        cairn: () => String(J(a).compare(J(b))),
      });
      cases.push({ label: `${a} @> ${b}`, sql: `select (${lit(a)}::jsonb @> ${lit(b)}::jsonb)::text`, cairn: () => String(J(a).contains(J(b))) });
      cases.push({ label: `${a} || ${b}`, sql: `select (${lit(a)}::jsonb || ${lit(b)}::jsonb)::text`, cairn: () => J(a).concat(J(b)).toString() });
      cases.push({ label: `pretty ${a}`, sql: `select jsonb_pretty(${lit(a)}::jsonb)`, cairn: () => J(a).pretty() });
    }
    await expectSame(cases);
  });
});
