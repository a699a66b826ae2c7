// Aggregates against PostgreSQL 15: the value and result type of each aggregate over small sets of
// rows (with NULLs, empty input, overflow, special float and numeric values).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { agg, aggregateMismatches, cairnAggregate, startOracle, typeNamed, type AggregateCase, type Oracle } from './oracle.js';

let oracle: Oracle;
beforeAll(async () => {
  oracle = await startOracle();
}, 60_000);
afterAll(async () => {
  await oracle?.stop();
});

const col = (...values: Array<string | null>): Array<Array<string | null>> => values.map((v) => [v]);

const cases: AggregateCase[] = [
  agg('count', [], col('1', '2', null)),
  agg('count', [], []),
  agg('count', ['int4'], col('1', null, '3')),
  agg('count', ['text'], []),
  // sum: result types widen as PostgreSQL declares them
  agg('sum', ['int2'], col('1', '2', null)),
  agg('sum', ['int4'], col('2147483647', '2147483647')),
  agg('sum', ['int4'], []),
  agg('sum', ['int8'], col('9223372036854775807', '1')),
  agg('sum', ['numeric'], col('1.5', '2.25', null)),
  agg('sum', ['numeric'], col('1', 'NaN')),
  agg('sum', ['numeric'], col('Infinity', '-Infinity')),
  agg('sum', ['float4'], col('0.1', '0.2')),
  agg('sum', ['float8'], col('0.1', '0.2')),
  agg('sum', ['float8'], col('1e308', '1e308')),
  agg('sum', ['float8'], col('Infinity', '1')),
  agg('sum', ['interval'], col('1 day', '2 hours', '1 mon')),
  // avg
  agg('avg', ['int2'], col('1', '2')),
  agg('avg', ['int4'], col('1', '2', '4')),
  agg('avg', ['int8'], col('9223372036854775807', '9223372036854775807')),
  agg('avg', ['numeric'], col('1.5', '2.25')),
  agg('avg', ['numeric'], col('1e-20', '3')),
  agg('avg', ['numeric'], col('Infinity', '1')),
  agg('avg', ['float4'], col('1.5', '2')),
  agg('avg', ['float8'], col('1', '2', '4')),
  agg('avg', ['interval'], col('1 day', '2 hours')),
  agg('avg', ['int4'], []),
  // min and max over every ordered type
  agg('min', ['int4'], col('3', null, '-1', '2')),
  agg('max', ['int8'], col('3', '9223372036854775807')),
  agg('max', ['float8'], col('1', 'NaN', 'Infinity')),
  agg('min', ['float8'], col('1', 'NaN', '-Infinity')),
  agg('max', ['numeric'], col('1.50', '1.5', '-2')),
  agg('min', ['text'], col('b', 'a', 'ab', 'B')),
  agg('max', ['text'], col('b', 'é', 'z')),
  agg('min', ['date'], col('2020-01-02', '2019-12-31')),
  agg('max', ['timestamp'], col('2020-01-02 03:04:05', '2020-01-02 03:04:06')),
  agg('max', ['timestamptz'], col('2020-01-02 03:04:05+00', '2020-01-02 03:04:05+01')),
  agg('max', ['interval'], col('1 mon', '29 days', '721 hours')),
  agg('min', ['time'], col('10:00', '09:59:59.5')),
  agg('max', ['int4[]'], col('{1,2}', '{1,2,0}', '{1,1,9}')),
  agg('min', ['oid'], col('10', '3')),
  agg('max', ['int4'], []),
  // booleans and bits
  agg('bool_and', ['bool'], col('true', null, 'false')),
  agg('bool_and', ['bool'], col('true', 'true')),
  agg('bool_or', ['bool'], col('false', null)),
  agg('every', ['bool'], []),
  agg('bit_and', ['int4'], col('12', '10')),
  agg('bit_or', ['int2'], col('12', '3')),
  agg('bit_xor', ['int8'], col('12', '10', '1')),
  agg('bit_or', ['int4'], []),
  // collecting
  agg('string_agg', ['text', 'text'], [['a', ','], ['b', null], ['c', ';'], [null, '!']]),
  agg('string_agg', ['text', 'text'], [[null, ',']]),
  agg('string_agg', ['bytea', 'bytea'], [['\\x01', '\\xff'], ['\\x02', '\\xff']]),
  agg('array_agg', ['int4'], col('1', null, '3')),
  agg('array_agg', ['text'], col('a b', null, '')),
  agg('array_agg', ['int4[]'], col('{1,2}', '{3,4}')),
  agg('array_agg', ['int4[]'], col('{1,2}', '{3}')),
  agg('array_agg', ['int4[]'], col('{1,2}', null)),
  agg('array_agg', ['int4[]'], col('{}')),
  agg('array_agg', ['int4'], []),
  // statistics: numeric for exact inputs, float8 for floats
  agg('var_pop', ['int4'], col('1', '2', '4')),
  agg('var_samp', ['int4'], col('1', '2', '4')),
  agg('variance', ['int8'], col('1', '2', '4')),
  agg('stddev_pop', ['int4'], col('1', '2', '4')),
  agg('stddev_samp', ['int2'], col('1', '2', '4')),
  agg('stddev', ['numeric'], col('1.5', '2.25', '7')),
  agg('var_pop', ['numeric'], col('1.5', '2.25')),
  agg('var_pop', ['int4'], col('1', '1', '1')),
  agg('var_samp', ['numeric'], col('1.5', '1.5')),
  agg('var_samp', ['int4'], col('5')),
  agg('stddev', ['numeric'], col('1', 'NaN')),
  agg('var_pop', ['float8'], col('1', '2', '4')),
  agg('var_samp', ['float8'], col('1', '2', '4')),
  agg('stddev', ['float8'], col('1', '2', '4')),
  agg('stddev_pop', ['float4'], col('1.5', '2.5')),
  agg('stddev', ['float8'], col('1e308', '-1e308')),
  agg('var_pop', ['float8'], col('Infinity', '1')),
  agg('var_samp', ['float8'], col('3')),
  agg('stddev', ['float8'], []),
];

describe('aggregates', () => {
  it('agree with PostgreSQL', async () => {
    expect(await aggregateMismatches(oracle, cases)).toEqual([]);
  });

  it('sum and count of random int4 columns agree with exact arithmetic', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: -2147483648, max: 2147483647 }), { nil: null }), { maxLength: 40 }), (values) => {
        const rows = values.map((v) => [v === null ? null : String(v)]);
        const present = values.filter((v): v is number => v !== null);
        const sum = cairnAggregate('sum', [typeNamed('int4')], rows);
        const count = cairnAggregate('count', [typeNamed('int4')], rows);
        expect(sum).toEqual({ kind: 'value', text: present.length === 0 ? null : String(present.reduce((a, b) => a + BigInt(b), 0n)), type: 'bigint' });
        expect(count).toEqual({ kind: 'value', text: String(present.length), type: 'bigint' });
      }),
    );
  });
});
