// numeric against PostgreSQL 15: parsing and printing, the arithmetic operators, rounding, the
// transcendental functions, numeric(p,s) coercion and conversions, over a table of hand-picked
// values and over random ones; plus algebraic properties that need no oracle.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlError, SqlState } from '../../../src/sql/errors.js';
import { Numeric } from '../../../src/sql/types/numeric.js';
import { numericTypmod } from '../../../src/sql/types/oids.js';
import { Oracle, describeMismatches, lit, type OracleCase } from './oracle.js';

let oracle: Oracle;
beforeAll(async () => {
  oracle = await Oracle.start();
});
afterAll(async () => {
  await oracle?.stop();
});

const N = (s: string): Numeric => Numeric.parse(s);
const num = (s: string): string => `${lit(s)}::numeric`;

const VALUES = [
  '0', '1', '-1', '0.1', '0.2', '10000.50', '1e3', '-0.00', '3', '7', '1.5', '-2.25', '123456789.987654321',
  '0.000001', '1e-20', '99999999999999999999', '2', '0.3333', '4', '12.3400', '-7.5', '0.5', '-0.5', '2.5',
  '1e100', '1e-100', '9999.9999', '0.0001', '-123.456', 'NaN', 'Infinity', '-Infinity',
];

async function expectSame(cases: OracleCase[]): Promise<void> {
  const mismatches = await oracle.compare(cases);
  expect(mismatches.length, `${mismatches.length} of ${cases.length} differ from PostgreSQL:\n${describeMismatches(mismatches)}`).toBe(0);
}

describe('numeric text input and output', () => {
  it('parses and prints as PostgreSQL does', async () => {
    const inputs = [
      ...VALUES, ' 1.50 ', '+.5', '5.', '1.5e-3', '1000e-2', ' nan ', 'inf', '-INF', '+Infinity', 'infinity', '1E+2', '1e-0',
      '00012.3400', '-.0', '1.5e1', '12e-20', '0e-5', '0e5', '.', 'e5', '1e', '1.2.3', '', ' ', '1 2', '0x10', '1_000', '--1',
      '+-1', '1e+', 'Infinityx', 'in', '1e99999999999', '1e-16384', '1e-16383', '1e131071', '1e131072', '-0', '0.000',
      '\t7\n', '1.', '-1e-5', '123456789012345678901234567890.123456789012345678901234567890',
    ];
    await expectSame(inputs.map((s) => ({ label: `parse ${JSON.stringify(s)}`, sql: `select ${lit(s)}::numeric::text`, cairn: () => N(s).toString() })));
  });
});

type Binary = [name: string, sql: (a: string, b: string) => string, js: (a: Numeric, b: Numeric) => Numeric];
const BINARY: Binary[] = [
  ['+', (a, b) => `(${a} + ${b})`, (a, b) => a.add(b)],
  ['-', (a, b) => `(${a} - ${b})`, (a, b) => a.sub(b)],
  ['*', (a, b) => `(${a} * ${b})`, (a, b) => a.mul(b)],
  ['/', (a, b) => `(${a} / ${b})`, (a, b) => a.div(b)],
  ['%', (a, b) => `(${a} % ${b})`, (a, b) => a.mod(b)],
  ['div', (a, b) => `div(${a}, ${b})`, (a, b) => a.divTrunc(b)],
];

describe('numeric arithmetic', () => {
  it('matches PostgreSQL for every pair of the value table', async () => {
    const cases: OracleCase[] = [];
    for (const [name, sql, js] of BINARY) {
      for (const a of VALUES) {
        for (const b of VALUES) {
          cases.push({ label: `${a} ${name} ${b}`, sql: `select ${sql(num(a), num(b))}::text`, cairn: () => js(N(a), N(b)).toString() });
        }
      }
    }
    await expectSame(cases);
  });

  it('matches PostgreSQL for comparisons', async () => {
    const cases: OracleCase[] = [];
    for (const a of VALUES) {
      for (const b of VALUES) {
        cases.push({ label: `cmp ${a} ${b}`, sql: `select numeric_cmp(${num(a)}, ${num(b)})::text`, cairn: () => String(Math.sign(N(a).compare(N(b)))) });
      }
    }
    await expectSame(cases);
  });

  it('matches PostgreSQL on random operands', async () => {
    const operand = fc
      .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 25 }))
      .map(([u, s]) => Numeric.of(u, s).toString());
    const pairs = fc.sample(fc.tuple(operand, operand), { numRuns: 400, seed: 42 });
    const cases: OracleCase[] = [];
    for (const [a, b] of pairs) {
      for (const [name, sql, js] of BINARY) {
        if (name === 'power') continue;
        cases.push({ label: `${a} ${name} ${b}`, sql: `select ${sql(num(a), num(b))}::text`, cairn: () => js(N(a), N(b)).toString() });
      }
    }
    await expectSame(cases);
  });
});

describe('numeric functions', () => {
  it('rounds, truncates and takes signs as PostgreSQL does', async () => {
    const cases: OracleCase[] = [];
    for (const v of VALUES) {
      const x = num(v);
      cases.push({ label: `abs ${v}`, sql: `select abs(${x})::text`, cairn: () => N(v).abs().toString() });
      cases.push({ label: `neg ${v}`, sql: `select (- ${x})::text`, cairn: () => N(v).neg().toString() });
      cases.push({ label: `sign ${v}`, sql: `select sign(${x})::text`, cairn: () => N(v).sign().toString() });
      cases.push({ label: `ceil ${v}`, sql: `select ceil(${x})::text`, cairn: () => N(v).ceil().toString() });
      cases.push({ label: `floor ${v}`, sql: `select floor(${x})::text`, cairn: () => N(v).floor().toString() });
      cases.push({ label: `round ${v}`, sql: `select round(${x})::text`, cairn: () => N(v).round().toString() });
      for (const s of [-3, -1, 0, 1, 2, 5, 30]) {
        cases.push({ label: `round ${v}, ${s}`, sql: `select round(${x}, ${s})::text`, cairn: () => N(v).round(s).toString() });
        cases.push({ label: `trunc ${v}, ${s}`, sql: `select trunc(${x}, ${s})::text`, cairn: () => N(v).trunc(s).toString() });
      }
    }
    await expectSame(cases);
  });

  it('computes sqrt, exp, ln and log as PostgreSQL does', async () => {
    const extra = ['0.9', '1.1', '0.95', '1.05', '1.0000000001', '2.302585092994045684017991454684364208', '1234.5', '-1234.5', '100', '0.001',
      '6000', '-6000', '5999.99', '-5999.99', '1e-1000', '12345678901234567890', '0.0000123', '2.000000000000000000000000000000', '1e-10',
      '0.000000000000000000000000000000000001234', '1.10000000000001', '123456789', '-1e-30', '0.0000000000'];
    const cases: OracleCase[] = [];
    for (const v of [...VALUES, ...extra]) {
      const x = num(v);
      cases.push({ label: `sqrt ${v}`, sql: `select sqrt(${x})::text`, cairn: () => N(v).sqrt().toString() });
      cases.push({ label: `exp ${v}`, sql: `select exp(${x})::text`, cairn: () => N(v).exp().toString() });
      cases.push({ label: `ln ${v}`, sql: `select ln(${x})::text`, cairn: () => N(v).ln().toString() });
      cases.push({ label: `log ${v}`, sql: `select log(${x})::text`, cairn: () => N(v).log10().toString() });
    }
    for (const b of ['2', '10', '0.5', '1', '1.5', '123.456', '0', '-2', 'Infinity', 'NaN']) {
      for (const v of ['8', '100', '0.25', '2', '1', '1e-50', '7', '0', 'Infinity', 'NaN', '-1']) {
        cases.push({ label: `log(${b}, ${v})`, sql: `select log(${num(b)}, ${num(v)})::text`, cairn: () => N(v).logBase(N(b)).toString() });
      }
    }
    await expectSame(cases);
  });

  it('raises to powers as PostgreSQL does', async () => {
    const bases = ['0', '1', '-1', '2', '-2', '0.5', '-0.5', '1.5', '10', '123.456', '0.000012', '7', '1.0000001', '1.000001', '0.9', '1.1',
      '1e-20', '2.5', '-8', '100', 'NaN', 'Infinity', '-Infinity', '2.00'];
    const exponents = ['0', '1', '-1', '2', '3', '-3', '10', '-7', '0.5', '2.5', '-2.5', '100', '1e-10', '1000000000', '-1000000000', '12345',
      '-12345', '3e9', '3000000001', '1e10', '10.000', '0.5000', 'NaN', 'Infinity', '-Infinity', '3.0', '4.0'];
    const cases: OracleCase[] = [];
    for (const b of bases) {
      for (const e of exponents) {
        cases.push({ label: `${b} ^ ${e}`, sql: `select power(${num(b)}, ${num(e)})::text`, cairn: () => N(b).power(N(e)).toString() });
      }
    }
    await expectSame(cases);
  });

  it('matches PostgreSQL on random arguments of the inexact functions', async () => {
    const positive = fc
      .tuple(fc.bigInt({ min: 1n, max: 10n ** 25n }), fc.integer({ min: 0, max: 30 }))
      .map(([u, s]) => Numeric.of(u, s).toString());
    const small = fc.tuple(fc.integer({ min: -2000, max: 2000 }), fc.integer({ min: 0, max: 3 })).map(([u, s]) => Numeric.of(BigInt(u), s).toString());
    const cases: OracleCase[] = [];
    for (const v of fc.sample(positive, { numRuns: 150, seed: 7 })) {
      cases.push({ label: `sqrt ${v}`, sql: `select sqrt(${num(v)})::text`, cairn: () => N(v).sqrt().toString() });
      cases.push({ label: `ln ${v}`, sql: `select ln(${num(v)})::text`, cairn: () => N(v).ln().toString() });
      cases.push({ label: `log ${v}`, sql: `select log(${num(v)})::text`, cairn: () => N(v).log10().toString() });
    }
    for (const v of fc.sample(small, { numRuns: 150, seed: 8 })) {
      cases.push({ label: `exp ${v}`, sql: `select exp(${num(v)})::text`, cairn: () => N(v).exp().toString() });
    }
    const base = fc.tuple(fc.integer({ min: 1, max: 99999 }), fc.integer({ min: 0, max: 4 })).map(([u, s]) => Numeric.of(BigInt(u), s).toString());
    const exponent = fc.tuple(fc.integer({ min: -400, max: 400 }), fc.integer({ min: 0, max: 2 })).map(([u, s]) => Numeric.of(BigInt(u), s).toString());
    for (const [b, e] of fc.sample(fc.tuple(base, exponent), { numRuns: 200, seed: 9 })) {
      cases.push({ label: `${b} ^ ${e}`, sql: `select power(${num(b)}, ${num(e)})::text`, cairn: () => N(b).power(N(e)).toString() });
    }
    await expectSame(cases);
  });
});

describe('numeric(p, s) and conversions', () => {
  it('applies type modifiers as PostgreSQL does', async () => {
    const mods: [number, number][] = [[5, 2], [4, 2], [3, 0], [1, 0], [2, 5], [3, -2], [10, 4], [1, 1], [1000, 500], [20, 0], [4, 4]];
    const inputs = [...VALUES, '12345.678', '99.995', '0.001', '1234', '1250', '5', '10', '0.05', '-99.994', '0.00005'];
    const cases: OracleCase[] = [];
    for (const v of inputs) {
      for (const [p, s] of mods) {
        cases.push({ label: `${v}::numeric(${p},${s})`, sql: `select ${num(v)}::numeric(${p},${s})::text`, cairn: () => N(v).applyTypmod(numericTypmod(p, s)).toString() });
      }
    }
    await expectSame(cases);
  });

  it('converts to integers with PostgreSQL rounding and errors', async () => {
    const cases: OracleCase[] = [];
    const ints: [string, string, bigint, bigint][] = [
      ['int2', 'smallint', -32768n, 32767n],
      ['int4', 'integer', -2147483648n, 2147483647n],
      ['int8', 'bigint', -(2n ** 63n), 2n ** 63n - 1n],
    ];
    for (const v of [...VALUES, '32767.5', '-32768.5', '32767.4', '2147483647.5', '1e19', '9223372036854775807.4', '-9223372036854775808.5']) {
      for (const [t, name, min, max] of ints) {
        cases.push({
          label: `${v}::${t}`,
          sql: `select ${num(v)}::${t}::text`,
          cairn: () => {
            const r = N(v).toBigInt(name);
            // The range check is the caller's job (casts.ts); it raises PostgreSQL's error.
            if (r < min || r > max) throw new SqlError(SqlState.numericValueOutOfRange, `${name} out of range`);
            return r.toString();
          },
        });
      }
    }
    await expectSame(cases);
  });

  it('converts from float8 and float4 with 15 and 6 significant digits', async () => {
    const doubles = [0, 1.5, 0.1, 1e20, 1.23456789e-5, 123456789012345.67, 2 ** 53, -0.30000000000000004, 5e-324, 1.7976931348623157e308, Math.PI, -Math.E, 1 / 3, 0.5, 2.5e-7];
    const cases: OracleCase[] = [];
    for (const d of doubles) {
      const t = String(d);
      cases.push({ label: `float8 ${t}`, sql: `select ${lit(t)}::float8::numeric::text`, cairn: () => Numeric.fromNumber(d).toString() });
      const f = Math.fround(d);
      if (Number.isFinite(f) && (f !== 0 || d === 0)) {
        cases.push({ label: `float4 ${t}`, sql: `select ${lit(t)}::float4::numeric::text`, cairn: () => Numeric.fromNumber(f, 6).toString() });
      }
    }
    for (const s of ['NaN', 'Infinity', '-Infinity']) {
      cases.push({ label: `float8 ${s}`, sql: `select ${lit(s)}::float8::numeric::text`, cairn: () => Numeric.fromNumber(Number(s)).toString() });
    }
    await expectSame(cases);
  });
});

describe('numeric properties', () => {
  const arb = fc.tuple(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), fc.integer({ min: 0, max: 40 })).map(([u, s]) => Numeric.of(u, s));

  it('prints text that parses back to the same value and scale', () => {
    fc.assert(
      fc.property(arb, (a) => {
        const b = N(a.toString());
        expect(b.unscaled).toBe(a.unscaled);
        expect(b.scale).toBe(a.scale);
      }),
    );
  });

  it('adds and subtracts exactly', () => {
    fc.assert(
      fc.property(arb, arb, (a, b) => {
        expect(a.add(b).sub(b).compare(a)).toBe(0);
        expect(a.add(b).compare(b.add(a))).toBe(0);
        expect(a.add(b).scale).toBe(Math.max(a.scale, b.scale));
      }),
    );
  });

  it('keeps x = trunc(x / y) * y + x % y', () => {
    fc.assert(
      fc.property(arb, arb, (a, b) => {
        fc.pre(!b.isZero);
        expect(a.divTrunc(b).mul(b).add(a.mod(b)).compare(a)).toBe(0);
      }),
    );
  });

  it('orders consistently with subtraction', () => {
    fc.assert(
      fc.property(arb, arb, (a, b) => {
        expect(Math.sign(a.compare(b))).toBe(a.sub(b).signum());
      }),
    );
  });

  it('round-trips the base-10000 form of the binary protocol', () => {
    fc.assert(
      fc.property(arb, (a) => {
        const { weight, digits } = a.toBase10000();
        const b = Numeric.fromBase10000(a.unscaled < 0n, weight, digits, a.scale);
        expect(b.toString()).toBe(a.toString());
      }),
    );
  });
});
