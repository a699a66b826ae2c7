// JSON functions, system information and array functions against PostgreSQL 15, plus the
// catalog-free answers (privileges, descriptions) drivers rely on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agg, aggregateMismatches, bool, cairnScalar, call, f8, fakeContext, i4, i8, lit, num, rowsMismatches, scalarMismatches, startOracle, txt, unknown, type Call, type Oracle } from './oracle.js';

let oracle: Oracle;
beforeAll(async () => {
  oracle = await startOracle();
}, 60_000);
afterAll(async () => {
  await oracle?.stop();
});

const jb = (v: string): ReturnType<typeof lit> => lit('jsonb', v);
const js = (v: string): ReturnType<typeof lit> => lit('json', v);
const path = (v: string): ReturnType<typeof lit> => lit('text[]', v);

const jsonCalls: Call[] = [
  call('to_json', txt('a"b\\c')), call('to_json', txt('\u0001\n')), call('to_json', f8('NaN')), call('to_json', f8(1.5)), call('to_jsonb', f8(1e20)), call('to_jsonb', lit('float4', '0.1')),
  call('to_json', lit('int4[]', '{{1,2},{3,4}}')), call('to_json', lit('timestamp', '2020-01-01 10:00:00.5')), call('to_json', lit('timestamptz', '2020-01-01 10:00:00+05:30')),
  call('to_json', lit('date', '2020-01-01')), call('to_json', lit('date', 'infinity')), call('to_json', lit('interval', '1 day')), call('to_json', js('{"b":1, "a":2}')),
  call('to_jsonb', js('{"b":1, "a":2, "aa": 3, "b": 4}')), call('to_json', lit('bytea', '\\x01')), call('to_json', bool(true)), call('to_json', lit('name', 'x')),
  call('to_json', jb('[1,2]')), call('to_jsonb', num('1.50')), call('to_jsonb', num('NaN')), call('to_jsonb', lit('text[]', '{a,NULL}')), call('to_json', i8(42)),
  call('array_to_json', lit('int4[]', '{1,2}')), call('array_to_json', lit('int4[]', '{{1,2},{3,4}}'), bool(true)),
  call('json_build_object', txt('a'), i4(1), txt('b'), txt(null)), call('json_build_object', txt('a')), call('json_build_object', txt(null), i4(1)), call('json_build_object', i4(1), i4(2)),
  call('json_build_object', lit('int4[]', '{1}'), i4(2)), call('json_build_object'), call('jsonb_build_object', num('1.5'), i4(2)), call('jsonb_build_object', txt('b'), i4(1), txt('a'), i4(2), txt('b'), i4(3)),
  call('jsonb_build_object'), call('json_build_array', i4(1), txt('a'), txt(null), bool(true), num('1.50')), call('jsonb_build_array', i4(1), txt('a'), txt(null)), call('json_build_array'),
  call('json_object', lit('text[]', '{a,1,b,2}')), call('json_object', lit('text[]', '{a,1,b}')), call('jsonb_object', lit('text[]', '{a,b}'), lit('text[]', '{1,2}')),
  call('jsonb_object', lit('text[]', '{{a,1},{b,NULL}}')),
  call('jsonb_typeof', jb('1.5')), call('jsonb_typeof', jb('{"a":1}')), call('jsonb_typeof', jb('null')), call('json_typeof', js(' [1] ')), call('json_typeof', js('"x"')),
  call('jsonb_array_length', jb('[1,2,[3]]')), call('jsonb_array_length', jb('{"a":1}')), call('jsonb_array_length', jb('1')), call('json_array_length', js('[1,2]')),
  call('jsonb_set', jb('{"a":[1,2]}'), path('{a,1}'), jb('9')), call('jsonb_set', jb('{"a":[1,2]}'), path('{a,x}'), jb('9')), call('jsonb_set', jb('{"a":[1,2]}'), path('{a,-5}'), jb('9')),
  call('jsonb_set', jb('{"a":[1,2]}'), path('{a,7}'), jb('9')), call('jsonb_set', jb('{"a":1}'), path('{b}'), jb('2'), bool(false)), call('jsonb_set', jb('1'), path('{a}'), jb('2')),
  call('jsonb_set', jb('{"a":1}'), path('{a,b}'), jb('2')), call('jsonb_set', jb('{"a":1}'), path('{}'), jb('2')), call('jsonb_set', jb('{"a":1}'), path('{NULL}'), jb('2')),
  call('jsonb_set', jb('{"b":1}'), path('{a}'), jb('{"c":[]}')), call('jsonb_set', jb('[1,[2,3]]'), path('{1,0}'), jb('"x"')), 
  call('jsonb_insert', jb('{"a":[1,2]}'), path('{a,1}'), jb('9')), call('jsonb_insert', jb('{"a":[1,2]}'), path('{a,1}'), jb('9'), bool(true)), call('jsonb_insert', jb('{"a":1}'), path('{a}'), jb('9')),
  call('jsonb_insert', jb('{"a":1}'), path('{b}'), jb('9')), call('jsonb_insert', jb('[1]'), path('{-1}'), jb('0')),
  call('jsonb_strip_nulls', jb('{"a":null,"b":[null,{"c":null}]}')), call('jsonb_pretty', jb('{"a":[1,{"b":null}],"c":{}, "d": [], "e": "x\\"y"}')), call('jsonb_pretty', jb('1')),
  call('jsonb_extract_path', jb('{"a":{"b":[1,2]}}'), txt('a'), txt('b'), txt('1')), call('jsonb_extract_path', jb('{"a":1}'), txt('x')), call('jsonb_extract_path_text', jb('{"a":"x"}'), txt('a')),
  call('jsonb_extract_path_text', jb('{"a":null}'), txt('a')), call('jsonb_extract_path_text', jb('[1,[2,3]]'), txt('-1'), txt('0')), call('json_extract_path_text', js('{"a":{"b":true}}'), txt('a'), txt('b')),
  call('json_extract_path', js('{"a":{"b": [1, 2]}}'), txt('a'), txt('b')), call('json_extract_path_text', js('{"a":1,"a":"two"}'), txt('a')),
  call('json_array_length', js(' [1, [2, 3], {"a": 4}] ')), call('json_array_length', js('{}')), call('json_typeof', js(' null ')),
];

const jsonAggregates = [
  agg('json_agg', ['int4'], [['1'], [null], ['3']]), agg('json_agg', ['json'], [['{"a":1}'], ['[1, 2]']]), agg('json_agg', ['text'], []), agg('jsonb_agg', ['text'], [['a'], [null]]),
  agg('jsonb_agg', ['numeric'], [['1.50'], ['2']]), agg('json_object_agg', ['text', 'int4'], [['a', '1'], ['b', null]]), agg('json_object_agg', ['text', 'int4'], [[null, '1']]),
  agg('jsonb_object_agg', ['text', 'int4'], [['b', '1'], ['a', '2'], ['b', '3']]), agg('json_object_agg', ['int4', 'text'], [['1', 'x']]), agg('jsonb_agg', ['jsonb'], [['{"a": [1]}'], ['null']]),
];

const jsonRows: Call[] = [
  call('jsonb_each', jb('{"b":1,"a":[2]}')), call('jsonb_each_text', jb('{"a":"x","b":null,"c":{"d":1}}')), call('jsonb_each', jb('[1]')), call('jsonb_array_elements', jb('[1,"a",null,[2]]')),
  call('jsonb_array_elements_text', jb('[1,"a",null,[2]]')), call('jsonb_array_elements', jb('{"a":1}')), call('jsonb_array_elements', jb('3')), call('jsonb_object_keys', jb('{"bb":1,"a":2}')),
  call('jsonb_object_keys', jb('[1]')), call('jsonb_object_keys', jb('1')), call('json_array_elements_text', js('[1,"a"]')), call('json_object_keys', js('{"b":1,"a":2}')),
  // json keeps what was written: order, duplicates, spacing
  call('json_each', js('{"b": [1, 2], "a":{"x" : "y"}, "b": null}')), call('json_each_text', js('{"a":"x\\ny","b":null,"c":1.50}')), call('json_array_elements', js('[ 1 , "a" , {"k": [2]} ]')),
  call('json_object_keys', js('{"a":1,"a":2}')), call('json_each', js('[1]')), call('json_array_elements', js('{"a":1}')), call('json_object_keys', js('"x"')), call('json_each_text', js('1')), call('json_array_elements_text', js('{}')), call('json_array_elements', js('1')),
];

const miscCalls: Call[] = [
  call('current_setting', txt('nope')), call('current_setting', txt('nope'), bool(true)), call('format_type', lit('oid', '23'), i4(null)), call('format_type', lit('oid', '1043'), i4(24)),
  call('format_type', lit('oid', null), i4(1)), call('format_type', lit('oid', '1700'), i4(655366)), call('format_type', lit('oid', '1007'), i4(-1)), call('format_type', lit('oid', '99999'), i4(-1)),
  call('num_nulls', i4(1), txt(null), i4(2)), call('num_nonnulls', i4(1), txt(null), i4(2)), call('num_nulls', txt(null)),
  call('pg_column_size', i4(1)), call('pg_column_size', txt('abc')), call('pg_column_size', num('123.45')), call('pg_column_size', bool(true)), call('pg_column_size', lit('int4[]', '{1,2}')),
  call('pg_column_size', lit('timestamptz', '2020-01-01')), call('pg_encoding_to_char', i4(6)), call('pg_encoding_to_char', i4(99)), call('pg_is_in_recovery'),
  call('has_table_privilege', unknown('pg_class'), unknown('SELECT')), call('has_schema_privilege', unknown('public'), unknown('USAGE')), call('has_database_privilege', unknown('postgres'), unknown('CONNECT')),
  call('obj_description', lit('oid', '2259'), lit('name', 'pg_class_nonexistent')), call('col_description', lit('oid', '1'), i4(1)), call('pg_tablespace_location', lit('oid', '1663')),
  call('setseed', f8(0.5)),
  // arrays
  call('array_length', lit('int4[]', '{1,2,3}'), i4(1)), call('array_length', lit('int4[]', '{}'), i4(1)), call('array_length', lit('int4[]', '{1,2}'), i4(2)),
  call('array_lower', lit('int4[]', '[3:4]={1,2}'), i4(1)), call('array_upper', lit('int4[]', '[3:4]={1,2}'), i4(1)), call('array_upper', lit('int4[]', '{{1,2,3},{4,5,6}}'), i4(2)),
  call('array_ndims', lit('int4[]', '{{1},{2}}')), call('array_ndims', lit('int4[]', '{}')), call('array_dims', lit('int4[]', '[2:3]={1,2}')), call('array_dims', lit('int4[]', '{{1,2},{3,4}}')),
  call('cardinality', lit('int4[]', '{{1,2},{3,4}}')), call('cardinality', lit('int4[]', '{}')),
  call('array_append', lit('int4[]', '[2:3]={1,2}'), i4(3)), call('array_append', lit('int4[]', null), i4(3)), call('array_append', lit('int4[]', '{{1,2}}'), i4(3)), call('array_append', lit('int4[]', '{1}'), i4(null)),
  call('array_append', lit('numeric[]', '{1.5}'), i4(2)), call('array_prepend', i4(0), lit('int4[]', '[2:3]={1,2}')), call('array_prepend', txt('x'), lit('text[]', '{}')),
  call('array_cat', lit('int4[]', '{1,2}'), lit('int4[]', '{{3,4}}')), call('array_cat', lit('int4[]', '{{1,2}}'), lit('int4[]', '{3,4}')), call('array_cat', lit('int4[]', '{{1,2}}'), lit('int4[]', '{{3,4},{5,6}}')),
  call('array_cat', lit('int4[]', '{}'), lit('int4[]', '{1}')), call('array_cat', lit('int4[]', '[0:1]={1,2}'), lit('int4[]', '[5:5]={3}')), call('array_cat', lit('int4[]', null), lit('int4[]', null)),
  call('array_cat', lit('int4[]', '{{1}}'), lit('int4[]', '{{1,2}}')),
  call('array_remove', lit('int4[]', '{1,NULL,2,1}'), i4(1)), call('array_remove', lit('int4[]', '{1,NULL,2,1}'), i4(null)), call('array_remove', lit('int4[]', '{{1}}'), i4(1)),
  call('array_replace', lit('int4[]', '{1,NULL,2,1}'), i4(1), i4(9)), call('array_replace', lit('int4[]', '{{1,2},{1,3}}'), i4(1), i4(0)),
  call('array_position', lit('int4[]', '[0:2]={5,6,7}'), i4(7)), call('array_position', lit('int4[]', '{1,2,1}'), i4(1), i4(2)), call('array_position', lit('int4[]', '{1,2}'), i4(1), i4(null)),
  call('array_position', lit('text[]', '{a,NULL}'), txt(null)), call('array_positions', lit('int4[]', '{1,2,1}'), i4(1)), call('array_positions', lit('int4[]', null), i4(1)),
  call('array_fill', i4(7), lit('int4[]', '{2,3}')), call('array_fill', i4(7), lit('int4[]', '{3}'), lit('int4[]', '{2}')), call('array_fill', i4(null), lit('int4[]', '{2}')),
  call('array_fill', i4(1), lit('int4[]', null)), call('array_fill', i4(1), lit('int4[]', '{2}'), lit('int4[]', '{1,2}')), call('array_fill', lit('date', '2020-01-01'), lit('int4[]', '{2}')),
  call('trim_array', lit('int4[]', '{1,2,3}'), i4(2)), call('trim_array', lit('int4[]', '{1,2,3}'), i4(4)),
];

describe('json functions', () => {
  it('agree with PostgreSQL', async () => {
    expect(await scalarMismatches(oracle, jsonCalls)).toEqual([]);
  });

  it('json aggregates agree with PostgreSQL', async () => {
    expect(await aggregateMismatches(oracle, jsonAggregates)).toEqual([]);
  });

  it('json expansion functions agree with PostgreSQL', async () => {
    expect(await rowsMismatches(oracle, jsonRows)).toEqual([]);
  });
});

describe('system and array functions', () => {
  it('agree with PostgreSQL', async () => {
    expect(await scalarMismatches(oracle, miscCalls)).toEqual([]);
  });

  it('report the session and the server as PostgreSQL 15 drivers expect', async () => {
    const ctx = fakeContext();
    const version = await cairnScalar(call('version'), ctx);
    expect(version.kind === 'value' && /^PostgreSQL 15\.\d+ \(Cairn \d+\.\d+\.\d+\)/.test(version.text ?? '')).toBe(true);
    expect(await cairnScalar(call('current_database'), ctx)).toEqual({ kind: 'value', text: 'postgres', type: 'name' });
    expect(await cairnScalar(call('current_schema'), ctx)).toEqual({ kind: 'value', text: 'public', type: 'name' });
    expect(await cairnScalar(call('current_schemas', bool(true)), ctx)).toEqual(await oracle.scalar(call('current_schemas', bool(true))));
    expect(await cairnScalar(call('current_schemas', bool(false)), ctx)).toEqual(await oracle.scalar(call('current_schemas', bool(false))));
    expect(await cairnScalar(call('current_setting', txt('TimeZone')), ctx)).toEqual({ kind: 'value', text: 'UTC', type: 'text' });
    expect(await cairnScalar(call('set_config', txt('TimeZone'), txt('UTC'), bool(false)), ctx)).toEqual({ kind: 'value', text: 'UTC', type: 'text' });
    expect(await cairnScalar(call('set_config', txt('TimeZone'), txt('Europe/Paris'), bool(false)), ctx)).toMatchObject({ kind: 'error', code: '0A000' });
    expect(await cairnScalar(call('pg_backend_pid'), ctx)).toEqual({ kind: 'value', text: '4242', type: 'integer' });
    expect(await cairnScalar(call('pg_get_userbyid', lit('oid', '10')), ctx)).toEqual({ kind: 'value', text: 'root', type: 'name' });
    expect(await cairnScalar(call('inet_server_addr'), ctx)).toMatchObject({ kind: 'value', text: null });
  });

  it('generate uuids, row ids and sequence values through the session services', async () => {
    const calls: string[] = [];
    const ctx = fakeContext(undefined, {
      services: {
        nextval: async (s) => (calls.push(`nextval ${String(s)}`), 7n),
        currval: async (s) => (calls.push(`currval ${String(s)}`), 7n),
        setval: async (s, v, called) => (calls.push(`setval ${String(s)} ${v} ${called}`), v),
        regclassIn: () => 0,
        regclassOut: () => '',
        uniqueRowId: () => 123456789012345678n,
      },
    });
    const uuid = await cairnScalar(call('gen_random_uuid'), ctx);
    expect(uuid.kind === 'value' && /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuid.text ?? '')).toBe(true);
    expect(await cairnScalar(call('unique_rowid'), ctx)).toEqual({ kind: 'value', text: '123456789012345678', type: 'bigint' });
    expect(await cairnScalar(call('nextval', unknown('s1')), ctx)).toEqual({ kind: 'value', text: '7', type: 'bigint' });
    expect(await cairnScalar(call('currval', lit('regclass', '16384')), ctx)).toEqual({ kind: 'value', text: '7', type: 'bigint' });
    expect(await cairnScalar(call('setval', unknown('s1'), i8(42), bool(false)), ctx)).toEqual({ kind: 'value', text: '42', type: 'bigint' });
    expect(calls).toEqual(['nextval s1', 'currval 16384', 'setval s1 42 false']);
  });

  it('pg_typeof names the argument type and pg_sleep sleeps within its bound', async () => {
    const typeOf = await cairnScalar(call('pg_typeof', lit('numeric', '1')));
    expect(typeOf).toMatchObject({ kind: 'value', type: 'regtype' });
    expect(typeOf.kind === 'value' && (typeOf.text === 'numeric' || typeOf.text === '1700')).toBe(true);
    const start = Date.now();
    expect(await cairnScalar(call('pg_sleep', f8(0.05)))).toEqual({ kind: 'value', text: '', type: 'void' });
    expect(Date.now() - start).toBeGreaterThanOrEqual(45);
    expect(await cairnScalar(call('pg_sleep', f8(1e6)))).toMatchObject({ kind: 'error', code: '22023' });
  });
});
