// Window functions and set-returning functions against PostgreSQL 15.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookupFunction } from '../../../src/sql/functions/registry.js';
import { MAX_SET_RETURNING_ROWS } from '../../../src/sql/functions/set_returning.js';
import { Oid, Types } from '../../../src/sql/types/oids.js';
import { call, fakeContext, i4, i8, lit, num, rowsMismatches, startOracle, txt, win, windowMismatches, type Call, type Oracle, type WindowCase } from './oracle.js';

let oracle: Oracle;
beforeAll(async () => {
  oracle = await startOracle();
}, 60_000);
afterAll(async () => {
  await oracle?.stop();
});

const keys = (...ks: number[]): WindowCase['rows'] => ks.map((key) => ({ key, args: [] }));
const keyed = (...rows: Array<[number, ...Array<string | null>]>): WindowCase['rows'] => rows.map(([key, ...args]) => ({ key, args }));

const windows: WindowCase[] = [
  win('row_number', [], keys(3, 1, 2)),
  win('rank', [], keys(1, 1, 2, 3, 3, 3, 4)),
  win('dense_rank', [], keys(1, 1, 2, 3, 3, 3, 4)),
  win('percent_rank', [], keys(1, 1, 2, 3, 3, 3, 4)),
  win('percent_rank', [], keys(7)),
  win('cume_dist', [], keys(1, 1, 2, 3, 3, 3, 4)),
  win('ntile', ['int4'], keyed([1, '3'], [2, '3'], [3, '3'], [4, '3'], [5, '3'], [6, '3'], [7, '3'])),
  win('ntile', ['int4'], keyed([1, '5'], [2, '5'], [3, '5'])),
  win('ntile', ['int4'], keyed([1, '0'], [2, '0'])),
  win('ntile', ['int4'], keyed([1, null], [2, null])),
  win('lag', ['text'], keyed([1, 'a'], [2, 'b'], [3, 'c'])),
  win('lag', ['text', 'int4'], keyed([1, 'a', '2'], [2, 'b', '2'], [3, 'c', '2'])),
  win('lag', ['int4', 'int4', 'int4'], keyed([1, '10', '1', '-1'], [2, '20', '1', '-1'], [3, '30', '1', '-1'])),
  win('lag', ['numeric', 'int4', 'int4'], keyed([1, '1.5', '1', '0'], [2, '2.5', '1', '0'])),
  win('lead', ['text'], keyed([1, 'a'], [2, 'b'], [3, 'c'])),
  win('lead', ['text', 'int4', 'text'], keyed([1, 'a', '-1', 'z'], [2, 'b', '-1', 'z'], [3, 'c', '-1', 'z'])),
  win('lead', ['int4', 'int4'], keyed([1, '1', null], [2, '2', '1'])),
  win('first_value', ['text'], keyed([1, 'a'], [2, 'b'], [3, 'c'])),
  win('last_value', ['text'], keyed([1, 'a'], [2, 'b'], [3, 'c'])),
  win('last_value', ['text'], keyed([1, 'a'], [1, 'b'], [3, 'c'])),
  win('last_value', ['text'], keyed([1, 'a'], [2, 'b'], [3, 'c']), 'whole'),
  win('first_value', ['int4'], keyed([1, '10'], [2, '20'], [3, '30'], [4, '40']), 'neighbours'),
  win('nth_value', ['text', 'int4'], keyed([1, 'a', '2'], [2, 'b', '2'], [3, 'c', '2'])),
  win('nth_value', ['text', 'int4'], keyed([1, 'a', '2'], [2, 'b', '2'], [3, 'c', '2']), 'whole'),
  win('nth_value', ['text', 'int4'], keyed([1, 'a', '0'])),
];

const series: Call[] = [
  call('generate_series', i4(1), i4(5)), call('generate_series', i4(5), i4(1)), call('generate_series', i4(1), i4(10), i4(3)), call('generate_series', i4(10), i4(1), i4(-4)),
  call('generate_series', i4(1), i4(5), i4(0)), call('generate_series', i4(2147483646), i4(2147483647)), call('generate_series', i4(-2147483647), i4(-2147483648), i4(-1)),
  call('generate_series', i8('9223372036854775806'), i8('9223372036854775807')), call('generate_series', i4(1), i4(null)),
  call('generate_series', num('1.5'), num('3')), call('generate_series', num('0'), num('1'), num('0.25')), call('generate_series', num('1'), num('0'), num('-0.5')),
  call('generate_series', num('1'), num('NaN')), call('generate_series', num('1'), num('2'), num('0')), call('generate_series', num('Infinity'), num('2')),
  call('generate_series', lit('timestamp', '2020-01-31'), lit('timestamp', '2020-05-01'), lit('interval', '1 month')),
  call('generate_series', lit('timestamp', '2020-01-02'), lit('timestamp', '2020-01-01'), lit('interval', '-6 hours')),
  call('generate_series', lit('timestamptz', '2020-03-07 12:00+00'), lit('timestamptz', '2020-03-10 12:00+00'), lit('interval', '1 day')),
  call('generate_series', lit('timestamp', '2020-01-01'), lit('timestamp', '2020-01-02'), lit('interval', '0 days')),
  call('unnest', lit('int4[]', '{1,NULL,3}')), call('unnest', lit('text[]', '{{a,b},{c,d}}')), call('unnest', lit('int4[]', '{}')), call('unnest', lit('numeric[]', '{1.5,2}')),
  call('generate_subscripts', lit('int4[]', '{5,6,7}'), i4(1)), call('generate_subscripts', lit('int4[]', '[0:2]={5,6,7}'), i4(1), lit('bool', 'true')),
  call('generate_subscripts', lit('int4[]', '{{1,2,3},{4,5,6}}'), i4(2)), call('generate_subscripts', lit('int4[]', '{1}'), i4(3)),
  call('regexp_matches', txt('foobarbequebaz'), txt('(bar)(beque)')), call('regexp_matches', txt('a1b22c333'), txt('\\d+'), txt('g')), call('regexp_matches', txt('abc'), txt('x')),
  call('regexp_matches', txt('abab'), txt('(a)(x)?'), txt('g')), call('regexp_matches', txt('abc'), txt(''), txt('g')),
  call('regexp_split_to_table', txt('hello world  x'), txt('\\s+')), call('regexp_split_to_table', txt('abc'), txt('')), call('regexp_split_to_table', txt('a,b'), txt(','), txt('g')),
  call('string_to_table', txt('a,b,,c'), txt(',')), call('string_to_table', txt('a,b,,c'), txt(','), txt('')), call('string_to_table', txt('abc'), txt(null)), call('string_to_table', txt(null), txt(',')),
];

describe('window functions', () => {
  it('agree with PostgreSQL', async () => {
    expect(await windowMismatches(oracle, windows)).toEqual([]);
  });
});

describe('set-returning functions', () => {
  it('agree with PostgreSQL', async () => {
    expect(await rowsMismatches(oracle, series)).toEqual([]);
  });

  it('stop with 54000 past the row bound instead of running away', () => {
    const overload = lookupFunction('generate_series')!.setReturning.find((o) => o.params.length === 2 && o.params[0] === Oid.int8)!;
    let produced = 0;
    let error: unknown;
    try {
      for (const _row of overload.rows([1n, 1_000_000_000_000n], [Types.int8, Types.int8], fakeContext())) produced++;
    } catch (err) {
      error = err;
    }
    expect(produced).toBe(MAX_SET_RETURNING_ROWS);
    expect(error).toMatchObject({ code: '54000' });
  }, 30_000);
});
