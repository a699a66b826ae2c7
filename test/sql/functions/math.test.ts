// The mathematical functions against PostgreSQL 15: values, result types and errors of a broad
// table of calls, each evaluated by both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, f4, f8, i2, i4, i8, lit, num, scalarMismatches, startOracle, unknown, type Call, type Oracle } from './oracle.js';

let oracle: Oracle;
beforeAll(async () => {
  oracle = await startOracle();
}, 60_000);
afterAll(async () => {
  await oracle?.stop();
});

const calls: Call[] = [
  // abs keeps the argument's type and checks its range
  call('abs', i2(-5)), call('abs', i2(-32768)), call('abs', i4(-7)), call('abs', i4(-2147483648)), call('abs', i8('-9223372036854775807')),
  call('abs', i8('-9223372036854775808')), call('abs', f4(-1.5)), call('abs', f8('-0')), call('abs', num('-12.340')), call('abs', num('-Infinity')),
  // rounding
  call('ceil', f8(-1.5)), call('ceiling', num('1.01')), call('ceil', num('-0.5')), call('floor', f8(-1.5)), call('floor', num('-1.000')),
  call('round', f8(2.5)), call('round', f8(3.5)), call('round', f8(-0.5)), call('round', f8(-2.5)), call('round', num('2.5')), call('round', num('-2.5')),
  call('round', num('1234.5678'), i4(2)), call('round', num('1234.5678'), i4(-2)), call('round', num('12.5'), i4(-1)), call('round', num('0.5'), i4(0)),
  call('round', num('NaN'), i4(2)), call('round', num('1.5'), i4(5)),
  call('trunc', f8(-1.7)), call('trunc', num('-1.7')), call('trunc', num('1234.5678'), i4(2)), call('trunc', num('1234.5678'), i4(-2)),
  call('sign', f8(-3)), call('sign', f8('-0')), call('sign', f8('NaN')), call('sign', num('0.00')), call('sign', num('-7.5')), call('sign', num('NaN')),
  // roots, exponentials, logarithms
  call('sqrt', f8(2)), call('sqrt', f8(-1)), call('sqrt', num('2')), call('sqrt', num('2.0000')), call('sqrt', num('-1')), call('sqrt', num('0.0001')),
  call('cbrt', f8(-8)), call('cbrt', f8(64)),
  call('exp', f8(1)), call('exp', f8(0)), call('exp', f8(1000)), call('exp', f8(-1000)), call('exp', f8('-Infinity')), call('exp', num('1')), call('exp', num('1.0')),
  call('exp', num('-5000')), call('exp', num('10')),
  call('ln', f8(10)), call('ln', f8(0)), call('ln', f8(-1)), call('ln', num('2.0')), call('ln', num('0')), call('ln', num('-1')), call('ln', num('10')),
  call('log', f8(1000)), call('log', num('1000')), call('log', num('2'), num('8')), call('log', num('2.0'), num('8')), call('log', num('10'), num('0')),
  call('log10', f8(100)), call('log10', num('100')), call('log10', f8(0)),
  call('power', f8(2), f8(10)), call('power', f8(2), f8(0.5)), call('pow', f8(-8), f8(1 / 3)), call('power', f8(0), f8(-1)), call('power', f8(1), f8('NaN')),
  call('power', f8('NaN'), f8(0)), call('power', f8(-1), f8('Infinity')), call('power', f8(10), f8(400)), call('power', f8(10), f8(-400)),
  call('power', num('2'), num('10')), call('power', num('2.0'), num('10')), call('power', num('2'), num('0.5')), call('power', num('-2'), num('3')),
  call('power', num('0'), num('-1')), call('power', num('-8'), num('0.5')), call('pow', num('1.5'), num('2.5')),
  // integer division and remainders
  call('mod', i2(7), i2(3)), call('mod', i4(-7), i4(3)), call('mod', i4(-2147483648), i4(-1)), call('mod', i4(5), i4(0)), call('mod', i8(10), i8(-3)),
  call('mod', num('-7.5'), num('2')), call('mod', num('7'), num('0')), call('mod', num('5.25'), num('1.1')),
  call('div', num('-7'), num('2')), call('div', num('7.9'), num('2.1')), call('div', num('1'), num('0')),
  call('gcd', i4(12), i4(18)), call('gcd', i4(-12), i4(18)), call('gcd', i4(0), i4(0)), call('gcd', i4(-2147483648), i4(0)), call('gcd', i8(1071), i8(462)),
  call('gcd', num('0'), num('0.50')), call('gcd', num('1.5'), num('2.25')), call('gcd', num('NaN'), num('1')),
  call('lcm', i4(4), i4(6)), call('lcm', i4(-4), i4(6)), call('lcm', i4(0), i4(5)), call('lcm', i4(2147483647), i4(2)), call('lcm', i8(21), i8(6)),
  call('lcm', num('1.5'), num('2.25')), call('lcm', num('0'), num('1.5')),
  call('factorial', i8(0)), call('factorial', i8(20)), call('factorial', i8(25)), call('factorial', i8(-1)), call('factorial', i8(40000)),
  // scale inspection
  call('scale', num('1.2300')), call('scale', num('NaN')), call('scale', num('12')), call('min_scale', num('1.2300')), call('min_scale', num('100.00')),
  call('min_scale', num('0.000')), call('trim_scale', num('1.2300')), call('trim_scale', num('100.00')), call('trim_scale', num('NaN')),
  // constants, angles and trigonometry
  call('pi'), call('degrees', f8(1)), call('radians', f8(180)), call('degrees', f8('1e308')),
  call('sin', f8(1)), call('sin', f8('Infinity')), call('sin', f8('NaN')), call('cos', f8(0)), call('tan', f8(1)), call('cot', f8(1)), call('cot', f8(0)),
  call('asin', f8(0.5)), call('asin', f8(2)), call('acos', f8(-1)), call('acos', f8(1.5)), call('atan', f8(1)), call('atan2', f8(1), f8(-1)),
  call('sinh', f8(1)), call('cosh', f8(0)), call('tanh', f8(0.5)), call('asinh', f8(1)), call('acosh', f8(1)), call('acosh', f8(0.5)),
  call('atanh', f8(0.5)), call('atanh', f8(1)), call('atanh', f8(2)),
  // width_bucket
  call('width_bucket', f8(5), f8(0), f8(10), i4(4)), call('width_bucket', f8(-1), f8(0), f8(10), i4(4)), call('width_bucket', f8(10), f8(0), f8(10), i4(4)),
  call('width_bucket', f8(5), f8(10), f8(0), i4(3)), call('width_bucket', f8(5), f8(0), f8(10), i4(0)), call('width_bucket', f8(5), f8(1), f8(1), i4(3)),
  call('width_bucket', f8('NaN'), f8(1), f8(2), i4(3)), call('width_bucket', f8(5), f8(0), f8('Infinity'), i4(3)),
  call('width_bucket', f8(20), f8(0), f8(10), i4(2147483647)),
  call('width_bucket', num('5.35'), num('0.024'), num('10.06'), i4(5)), call('width_bucket', num('11'), num('0'), num('10'), i4(5)),
  call('width_bucket', num('5'), num('10'), num('0'), i4(5)), call('width_bucket', num('NaN'), num('0'), num('10'), i4(5)),
  call('width_bucket', i4(5), lit('int4[]', '{1,3,7}')), call('width_bucket', i4(0), lit('int4[]', '{1,3,7}')), call('width_bucket', i4(9), lit('int4[]', '{1,3,7}')),
  call('width_bucket', num('3'), lit('numeric[]', '{1,3,3,7}')), call('width_bucket', i4(5), lit('int4[]', '{1,NULL,7}')),
  // null in, null out
  call('abs', i4(null)), call('round', num('1.5'), i4(null)), call('power', f8(null), f8(2)),
];

// Calls whose overload PostgreSQL picks by preferring float8 (the numeric category's preferred
// type) over numeric for an integer or untyped argument: function resolution's job (registry.ts).
const resolutionCalls: Call[] = [
  call('abs', unknown('-3.5')), call('sqrt', unknown('4')), call('round', i4(5)), call('ceil', i4(5)), call('exp', i4(1)), call('power', i4(2), i4(3)),
  call('log', i8(100)),
];

describe('math functions', () => {
  it('agree with PostgreSQL', async () => {
    expect(await scalarMismatches(oracle, calls)).toEqual([]);
  });

  it('resolve integer and untyped arguments to the float8 overloads as PostgreSQL does', async () => {
    expect(await scalarMismatches(oracle, resolutionCalls)).toEqual([]);
  });

  it('setseed accepts only seeds in [-1, 1] and returns void', async () => {
    expect(await scalarMismatches(oracle, [call('setseed', f8(0.5)), call('setseed', f8(2)), call('setseed', f8(-1.5))])).toEqual([]);
  });
});
