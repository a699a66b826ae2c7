// float4 and float8 text I/O against PostgreSQL 15: shortest round-trip output (extra_float_digits
// 1 and 3), %g output (extra_float_digits 0 and below), strtod-style input and its errors, over
// hand-picked and random values, subnormals included.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFloat4, formatFloat8, parseFloat4, parseFloat8 } from '../../../src/sql/types/float.js';
import { Oracle, describeMismatches, lit, type OracleCase } from './oracle.js';

let oracle: Oracle;
beforeAll(async () => {
  oracle = await Oracle.start();
});
afterAll(async () => {
  await oracle?.stop();
});

/** Cases grouped by the extra_float_digits they run under (SET once per group). */
type Grouped = Map<number, OracleCase[]>;

function add(groups: Grouped, efd: number, c: OracleCase): void {
  const list = groups.get(efd) ?? [];
  list.push(c);
  groups.set(efd, list);
}

async function expectSame(groups: Grouped): Promise<void> {
  const mismatches = [];
  let total = 0;
  for (const [efd, cases] of groups) {
    // A real SET: a setting changed inside the statement would come too late for constants,
    // which the planner prints while folding them.
    await oracle.run(`SET extra_float_digits = ${efd}`);
    mismatches.push(...(await oracle.compare(cases)));
    total += cases.length;
  }
  await oracle.run('SET extra_float_digits = 1');
  expect(mismatches.length, `${mismatches.length} of ${total} differ from PostgreSQL:\n${describeMismatches(mismatches)}`).toBe(0);
}

function printed(expr: string): string {
  return `select (${expr})::text`;
}

const DIGIT_SETTINGS = [1, 3, 0, -1, -4, -15];

const INPUTS = [
  '0', '-0', '1', '-1', '0.1', '0.2', '0.30000000000000004', '1e15', '1e14', '123456789012345678', '1e-4', '1e-5', '0.00012345', '1.5e-7',
  '1e20', '1e21', '1e22', '1.7976931348623157e308', '5e-324', '2.2250738585072014e-308', '4e-320', '123e-7', '100', '1e100', '3.14159',
  '  inf ', '-INFINITY', 'nAn', '+inf', '-nan', 'nan(123)', 'Infinity', '0x10', '0x1.8p1', '0X1P-2', '1e', '.5', '5.', '1e400', '-1e400', '1e-400',
  ' 1e400 ', 'abc', '', ' ', ' 1.5 ', '1.5x', 'infinityx', '0b101', '0o17', '0x', '+-1', '1e+5', '1E-5', '1e39', '1e-46', '1e-40', '3.4028235e38',
  '3.4028236e38', '1e6', '123456', '1234567', '16777217', '1.00000005960464477539', '7.038531e-26', '1.17549435e-38', '1.4e-45', '2.5', '1.5',
  '0.000001', '999999999999999', '9999999999999999', '1e-310', '-1e-320', '12345678.9',
  // exact binary values on a rounding tie of %.15g and %.1g: C rounds them half to even
  '1234567890123445', '1234567890123455', '0.5', '3.5', '0.125', '0.375',
  // decimals exactly half-way between two doubles or floats: PostgreSQL never prints those
  '1e23', '2e23', '8.589973e9', '9007199254740993', '12867521024',
];

describe('float8', () => {
  it('reads and prints the input table as PostgreSQL does, at every extra_float_digits', async () => {
    const cases: Grouped = new Map();
    for (const efd of DIGIT_SETTINGS) {
      for (const s of INPUTS) {
        add(cases, efd, { label: `float8 ${JSON.stringify(s)} efd=${efd}`, sql: printed(`${lit(s)}::float8`), cairn: () => formatFloat8(parseFloat8(s), efd) });
      }
    }
    await expectSame(cases);
  });

  it('prints random doubles as PostgreSQL does', async () => {
    const values = fc.sample(fc.double({ noNaN: true, noDefaultInfinity: true }), { numRuns: 1500, seed: 11 });
    const cases: Grouped = new Map();
    values.forEach((v, i) => {
      const text = v.toString();
      const efd = DIGIT_SETTINGS[i % DIGIT_SETTINGS.length]!;
      add(cases, efd, { label: `float8 ${text} efd=${efd}`, sql: printed(`${lit(text)}::float8`), cairn: () => formatFloat8(parseFloat8(text), efd) });
    });
    await expectSame(cases);
  });

  it('prints large integers, whose rounding edges are integers, as PostgreSQL does', async () => {
    const values = fc.sample(fc.bigInt({ min: 2n ** 53n, max: 2n ** 80n }), { numRuns: 600, seed: 14 });
    const cases: Grouped = new Map();
    for (const v of values) {
      // Above 2^53 (2^24 for float4) many integers lie exactly half-way between two values.
      const text = v.toString();
      add(cases, 1, { label: `float8 ${text}`, sql: printed(`${lit(text)}::float8`), cairn: () => formatFloat8(parseFloat8(text), 1) });
      const f = Math.fround(Number(v % 2n ** 40n));
      const t4 = BigInt(f).toString();
      add(cases, 1, { label: `float4 ${t4}`, sql: printed(`${lit(t4)}::float4`), cairn: () => formatFloat4(parseFloat4(t4), 1) });
    }
    await expectSame(cases);
  });
});

describe('float4', () => {
  it('reads and prints the input table as PostgreSQL does, at every extra_float_digits', async () => {
    const cases: Grouped = new Map();
    for (const efd of DIGIT_SETTINGS) {
      for (const s of INPUTS) {
        add(cases, efd, { label: `float4 ${JSON.stringify(s)} efd=${efd}`, sql: printed(`${lit(s)}::float4`), cairn: () => formatFloat4(parseFloat4(s), efd) });
      }
    }
    await expectSame(cases);
  });

  it('prints random single-precision values as PostgreSQL does', async () => {
    const values = fc.sample(fc.float({ noNaN: true, noDefaultInfinity: true }), { numRuns: 1500, seed: 12 });
    const cases: Grouped = new Map();
    values.forEach((v, i) => {
      // Nine significant digits always read back as the same float4.
      const text = v === 0 ? (Object.is(v, -0) ? '-0' : '0') : v.toPrecision(9);
      const efd = DIGIT_SETTINGS[i % DIGIT_SETTINGS.length]!;
      add(cases, efd, { label: `float4 ${text} efd=${efd}`, sql: printed(`${lit(text)}::float4`), cairn: () => formatFloat4(parseFloat4(text), efd) });
    });
    await expectSame(cases);
  });

  it('rounds decimal input to single precision once, like strtof', async () => {
    // Decimals near the midpoint of two floats, where rounding to double first can go wrong.
    const values = fc.sample(fc.float({ min: Math.fround(1e-30), max: Math.fround(1e30), noNaN: true }), { numRuns: 300, seed: 13 });
    const cases: Grouped = new Map();
    for (const v of values) {
      const next = Math.fround(v * (1 + 2 ** -23));
      const mid = (v + next) / 2;
      for (const text of [mid.toPrecision(17), mid.toPrecision(25), (mid * (1 + 1e-16)).toPrecision(20)]) {
        add(cases, 1, { label: `float4 midpoint ${text}`, sql: printed(`${lit(text)}::float4`), cairn: () => formatFloat4(parseFloat4(text), 1) });
      }
    }
    await expectSame(cases);
  });
});

describe('float properties', () => {
  it('prints text that reads back as the same double', () => {
    fc.assert(
      fc.property(fc.double(), (v) => {
        expect(Object.is(parseFloat8(formatFloat8(v)), v)).toBe(true);
      }),
    );
  });

  it('prints text that reads back as the same float4', () => {
    fc.assert(
      fc.property(fc.float(), (v) => {
        expect(Object.is(parseFloat4(formatFloat4(v)), v)).toBe(true);
      }),
    );
  });
});
