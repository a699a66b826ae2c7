// Properties of the memcomparable key encoding, for every key type: bytewise order is the order
// of compareDatums (reversed for descending columns), equal values encode identically, decoding
// gives back an equal value, columns concatenate into one key that sorts like the row of values
// with NULLS LAST ascending and NULLS FIRST descending. datumKey is checked against the same order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSqlError } from '../../../src/sql/errors.js';
import { compareBytes, compareDatums, datumKey } from '../../../src/sql/types/compare.js';
import { SqlArray, TIMESTAMP_INFINITY, TIMESTAMP_MAX, TIMESTAMP_MIN, TIMESTAMP_NEG_INFINITY, type Datum } from '../../../src/sql/types/datum.js';
import { Interval } from '../../../src/sql/types/interval.js';
import { KeyReader, KeyWriter, decodeKeyDatum, encodeKeyDatum } from '../../../src/sql/types/key_encoding.js';
import { Numeric } from '../../../src/sql/types/numeric.js';
import { Oid } from '../../../src/sql/types/oids.js';

const hex = (n: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));

const numericArb: fc.Arbitrary<Datum> = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }), fc.integer({ min: 0, max: 30 })).map(([u, s]) => Numeric.of(u, s)) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: -99, max: 99 }), fc.integer({ min: 0, max: 3 })).map(([u, s]) => Numeric.of(BigInt(u) * 10n ** BigInt(s), s)) },
  { weight: 1, arbitrary: fc.tuple(fc.bigInt({ min: -9n, max: 9n }), fc.integer({ min: -200, max: 200 })).map(([u, e]) => (e >= 0 ? Numeric.of(u * 10n ** BigInt(e), 0) : Numeric.of(u, -e))) },
  { weight: 1, arbitrary: fc.constantFrom(Numeric.NaN, Numeric.Infinity, Numeric.NegativeInfinity, Numeric.ZERO) },
);

const textArb = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'b', '\u0000', ' ', '\u00ff', '\uffff', '\ue000', '😀', 'é'), fc.string({ unit: 'binary', maxLength: 1 })) });

/** Every key type with values that stress its encoding. */
const KEY_TYPES: [string, number, fc.Arbitrary<Datum>][] = [
  ['bool', Oid.bool, fc.boolean()],
  ['int2', Oid.int2, fc.integer({ min: -32768, max: 32767 })],
  ['int4', Oid.int4, fc.integer()],
  ['int8', Oid.int8, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })],
  ['oid', Oid.oid, fc.integer({ min: 0, max: 0xffffffff })],
  ['float4', Oid.float4, fc.float()],
  ['float8', Oid.float8, fc.double()],
  ['numeric', Oid.numeric, numericArb],
  ['text', Oid.text, textArb],
  ['varchar', Oid.varchar, textArb],
  ['name', Oid.name, textArb],
  ['bpchar', Oid.bpchar, fc.tuple(fc.string({ unit: fc.constantFrom('a', ' ', 'b', '\u0000') }), fc.nat(3)).map(([s, n]) => s + ' '.repeat(n))],
  ['"char"', Oid.char, fc.integer({ min: 0, max: 255 }).map((b) => (b === 0 ? '' : String.fromCharCode(b)))],
  ['bytea', Oid.bytea, fc.uint8Array({ maxLength: 20 }).chain((b) => fc.constantFrom(b, Uint8Array.from([...b, 0]), Uint8Array.from([0, ...b])))],
  ['date', Oid.date, fc.oneof(fc.integer({ min: -2451545 - 10957, max: 2147483646 - 10957 - 1 }), fc.constantFrom(Infinity, -Infinity))],
  ['time', Oid.time, fc.bigInt({ min: 0n, max: 86_400_000_000n })],
  ['timestamp', Oid.timestamp, fc.oneof(fc.bigInt({ min: TIMESTAMP_MIN, max: TIMESTAMP_MAX }), fc.constantFrom(TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY))],
  ['timestamptz', Oid.timestamptz, fc.bigInt({ min: TIMESTAMP_MIN, max: TIMESTAMP_MAX })],
  ['timetz', Oid.timetz, fc.record({ micros: fc.bigInt({ min: 0n, max: 86_400_000_000n }), offsetSeconds: fc.integer({ min: -57599, max: 57599 }) })],
  [
    'interval',
    Oid.interval,
    fc.tuple(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -40, max: 40 }), fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n })).map(([m, d, us]) => new Interval(m, d, us)),
  ],
  ['uuid', Oid.uuid, hex(16).map((h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`)],
];

function encode(v: Datum, oid: number, descending: boolean): Uint8Array {
  const w = new KeyWriter(4);
  encodeKeyDatum(w, v, oid, descending);
  return w.finish();
}

describe('key encoding', () => {
  for (const [name, oid, arb] of KEY_TYPES) {
    describe(name, () => {
      it('orders bytes as compareDatums orders values, both directions', () => {
        fc.assert(
          fc.property(arb, arb, (a, b) => {
            const c = Math.sign(compareDatums(a, b, oid));
            expect(Math.sign(compareBytes(encode(a, oid, false), encode(b, oid, false)))).toBe(c);
            expect(Math.sign(compareBytes(encode(a, oid, true), encode(b, oid, true)))).toBe(-c + 0);
          }),
          { numRuns: 300 },
        );
      });

      it('encodes equal values identically, and only those', () => {
        fc.assert(
          fc.property(arb, arb, (a, b) => {
            const equal = compareDatums(a, b, oid) === 0;
            expect(compareBytes(encode(a, oid, false), encode(b, oid, false)) === 0).toBe(equal);
            expect(datumKey(a, oid) === datumKey(b, oid)).toBe(equal);
          }),
          { numRuns: 200 },
        );
        // Equal pairs are rare among random values: each value with itself, and with its decoding.
        fc.assert(
          fc.property(arb, (a) => {
            const back = decodeKeyDatum(new KeyReader(encode(a, oid, false)), oid, false);
            expect(datumKey(back, oid)).toBe(datumKey(a, oid));
          }),
          { numRuns: 100 },
        );
      });

      it('decodes to an equal value and consumes exactly its bytes', () => {
        fc.assert(
          fc.property(arb, fc.boolean(), (v, descending) => {
            const bytes = encode(v, oid, descending);
            const r = new KeyReader(bytes);
            const back = decodeKeyDatum(r, oid, descending);
            expect(r.atEnd).toBe(true);
            expect(compareDatums(back, v, oid)).toBe(0);
          }),
          { numRuns: 200 },
        );
      });

      it('puts NULL after every value ascending and before every value descending', () => {
        fc.assert(
          fc.property(arb, (v) => {
            expect(compareBytes(encode(null, oid, false), encode(v, oid, false))).toBeGreaterThan(0);
            expect(compareBytes(encode(null, oid, true), encode(v, oid, true))).toBeLessThan(0);
            expect(decodeKeyDatum(new KeyReader(encode(null, oid, true)), oid, true)).toBeNull();
          }),
          { numRuns: 50 },
        );
      });
    });
  }

  it('concatenates columns into keys that sort like rows (NULLS LAST asc, NULLS FIRST desc)', () => {
    const column = fc.constantFrom(...KEY_TYPES).chain(([, oid, arb]) =>
      fc.record({ oid: fc.constant(oid), descending: fc.boolean(), a: fc.option(arb, { freq: 4 }), b: fc.option(arb, { freq: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(column, { minLength: 1, maxLength: 4 }), (cols) => {
        const wa = new KeyWriter();
        const wb = new KeyWriter();
        let expected = 0;
        for (const c of cols) {
          encodeKeyDatum(wa, c.a, c.oid, c.descending);
          encodeKeyDatum(wb, c.b, c.oid, c.descending);
          if (expected !== 0) continue;
          let cmp: number;
          if (c.a === null || c.b === null) cmp = c.a === c.b ? 0 : c.a === null ? 1 : -1;
          else cmp = Math.sign(compareDatums(c.a, c.b, c.oid));
          expected = c.descending ? -cmp + 0 : cmp;
        }
        expect(Math.sign(compareBytes(wa.finish(), wb.finish()))).toBe(expected);
        // And the concatenation decodes column by column.
        const r = new KeyReader(wa.finish());
        for (const c of cols) {
          const v = decodeKeyDatum(r, c.oid, c.descending);
          if (c.a === null) expect(v).toBeNull();
          else expect(compareDatums(v, c.a, c.oid)).toBe(0);
        }
        expect(r.atEnd).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('decodes numerics without trailing zeros and bpchar without trailing spaces', () => {
    const n = decodeKeyDatum(new KeyReader(encode(Numeric.parse('1.500'), Oid.numeric, false)), Oid.numeric, false) as Numeric;
    expect(n.toString()).toBe('1.5');
    const big = decodeKeyDatum(new KeyReader(encode(Numeric.parse('1200'), Oid.numeric, true)), Oid.numeric, true) as Numeric;
    expect(big.toString()).toBe('1200');
    expect(decodeKeyDatum(new KeyReader(encode('ab  ', Oid.bpchar, false)), Oid.bpchar, false)).toBe('ab');
  });

  it('refuses types that cannot be keys with 0A000', () => {
    for (const [value, oid] of [[new SqlArray(Oid.int4, [1]), Oid._int4], ['{}', Oid.json]] as const) {
      expect(() => encode(value, oid, false)).toThrowError(expect.objectContaining({ code: '0A000' }));
    }
  });

  it('reports truncated or corrupt keys as SqlErrors', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KEY_TYPES), fc.uint8Array({ maxLength: 24 }), ([, oid], bytes) => {
        try {
          decodeKeyDatum(new KeyReader(bytes), oid, false);
        } catch (err) {
          expect(isSqlError(err)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
