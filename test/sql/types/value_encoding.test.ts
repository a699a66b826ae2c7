// The row format: every value of every storable type comes back exactly (numeric scale, bpchar
// padding, -0, array bounds), NULLs and unknown columns are told apart from columns added after
// the row was written, dropped or unread columns are skipped, and any corrupt input fails with a
// SqlError rather than another exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSqlError } from '../../../src/sql/errors.js';
import { SqlArray, TIMESTAMP_INFINITY, TIMESTAMP_MAX, TIMESTAMP_MIN, TIMESTAMP_NEG_INFINITY, type Datum, type TimeTz } from '../../../src/sql/types/datum.js';
import { Interval } from '../../../src/sql/types/interval.js';
import { Jsonb } from '../../../src/sql/types/jsonb.js';
import { Numeric } from '../../../src/sql/types/numeric.js';
import { Oid } from '../../../src/sql/types/oids.js';
import { ROW_FORMAT_VERSION, decodeRow, encodeRow, type EncodedColumn } from '../../../src/sql/types/value_encoding.js';

const hex = (n: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));

const SCALARS: [number, fc.Arbitrary<Datum>][] = [
  [Oid.bool, fc.boolean()],
  [Oid.int2, fc.integer({ min: -32768, max: 32767 })],
  [Oid.int4, fc.integer()],
  [Oid.int8, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })],
  [Oid.oid, fc.integer({ min: 0, max: 0xffffffff })],
  [Oid.float4, fc.float()],
  [Oid.float8, fc.double()],
  [
    Oid.numeric,
    fc.oneof(
      fc.tuple(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), fc.integer({ min: 0, max: 60 })).map(([u, s]) => Numeric.of(u, s)),
      fc.tuple(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 5 })).map(([u, s]) => Numeric.of(BigInt(u), s)),
      fc.constantFrom(Numeric.NaN, Numeric.Infinity, Numeric.NegativeInfinity),
    ),
  ],
  [Oid.text, fc.string({ unit: 'grapheme' })],
  [Oid.varchar, fc.string({ maxLength: 200 })],
  [Oid.bpchar, fc.string().map((s) => `${s}   `)],
  [Oid.name, fc.string({ maxLength: 20 })],
  [Oid.char, fc.integer({ min: 0, max: 255 }).map((b) => (b === 0 ? '' : String.fromCharCode(b)))],
  [Oid.bytea, fc.uint8Array({ maxLength: 300 })],
  [Oid.date, fc.oneof(fc.integer({ min: -2_500_000, max: 2_900_000 }), fc.constantFrom(Infinity, -Infinity))],
  [Oid.time, fc.bigInt({ min: 0n, max: 86_400_000_000n })],
  [Oid.timestamp, fc.oneof(fc.bigInt({ min: TIMESTAMP_MIN, max: TIMESTAMP_MAX }), fc.constantFrom(TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY))],
  [Oid.timestamptz, fc.bigInt({ min: TIMESTAMP_MIN, max: TIMESTAMP_MAX })],
  [Oid.timetz, fc.record({ micros: fc.bigInt({ min: 0n, max: 86_400_000_000n }), offsetSeconds: fc.integer({ min: -57599, max: 57599 }) })],
  [Oid.interval, fc.tuple(fc.integer(), fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map(([m, d, us]) => new Interval(m, d, us))],
  [Oid.uuid, hex(16).map((h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`)],
  [Oid.json, fc.json()],
  [Oid.jsonb, fc.json().map((t) => Jsonb.parse(t))],
];

function arrayOf(element: number, arb: fc.Arbitrary<Datum>): fc.Arbitrary<Datum> {
  return fc.oneof(
    fc.tuple(fc.array(fc.option(arb), { maxLength: 6 }), fc.integer({ min: -5, max: 5 })).map(([vs, lb]) => new SqlArray(element, vs, vs.length === 0 ? 1 : lb)),
    fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))
      .chain(([r, c]) => fc.array(fc.array(fc.option(arb), { minLength: c, maxLength: c }), { minLength: r, maxLength: r }))
      .map((m) => new SqlArray(element, m.map((row) => new SqlArray(element, row, 0)), 2)),
  );
}

const TYPES: [number, fc.Arbitrary<Datum>][] = [
  ...SCALARS,
  [Oid._int4, arrayOf(Oid.int4, fc.integer())],
  [Oid._text, arrayOf(Oid.text, fc.string())],
  [Oid._numeric, arrayOf(Oid.numeric, fc.tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.nat(10)).map(([u, s]) => Numeric.of(u, s)))],
  [Oid._float8, arrayOf(Oid.float8, fc.double())],
  [Oid._bool, arrayOf(Oid.bool, fc.boolean())],
];

/** Exact equality of two values of one type: the row format must lose nothing. */
function same(a: Datum, b: Datum): boolean {
  if (a === null || b === null) return a === b;
  if (typeof a === 'number' || typeof a === 'bigint' || typeof a === 'string' || typeof a === 'boolean') return Object.is(a, b);
  if (a instanceof Uint8Array) return b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b));
  if (a instanceof Numeric) return b instanceof Numeric && a.special === b.special && a.unscaled === b.unscaled && a.scale === b.scale;
  if (a instanceof Jsonb) return b instanceof Jsonb && a.toString() === b.toString();
  if (a instanceof Interval) return b instanceof Interval && a.months === b.months && a.days === b.days && a.micros === b.micros;
  if (a instanceof SqlArray) {
    return b instanceof SqlArray && a.elementType === b.elementType && a.lowerBound === b.lowerBound && a.values.length === b.values.length && a.values.every((v, i) => same(v, b.values[i]!));
  }
  const ta = a as TimeTz;
  const tb = b as TimeTz;
  return ta.micros === tb.micros && ta.offsetSeconds === tb.offsetSeconds;
}

/** A schema of distinct column ids (in any order) with a value, or NULL, for each column. */
const rowArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 12 })
  .chain((ids) => fc.tuple(fc.constant(ids), fc.array(fc.constantFrom(...TYPES), { minLength: ids.length, maxLength: ids.length })))
  .chain(([ids, types]) =>
    fc.tuple(
      fc.constant(ids.map((id, i) => ({ id, oid: types[i]![0] }))),
      fc.tuple(...types.map(([, arb]) => fc.option(arb, { freq: 4 }))),
    ),
  );

describe('row encoding', () => {
  it('decodes every value exactly, NULLs as NULL', () => {
    fc.assert(
      fc.property(rowArb, ([columns, values]) => {
        const bytes = encodeRow(columns, values);
        expect(bytes[0]).toBe(ROW_FORMAT_VERSION);
        const out: Datum[] = [];
        const absent: boolean[] = [];
        expect(decodeRow(bytes, columns, out, absent)).toBe(0);
        columns.forEach((_, i) => {
          expect(same(out[i]!, values[i]!), `column ${i}`).toBe(true);
          expect(absent[i]).toBe(false);
        });
      }),
      { numRuns: 400 },
    );
  });

  it('reports columns added after the row was written as absent, and only those', () => {
    fc.assert(
      fc.property(rowArb, fc.integer({ min: 1, max: 3 }), ([columns, values], added) => {
        const bytes = encodeRow(columns, values);
        const maxId = Math.max(...columns.map((c) => c.id));
        const later: EncodedColumn[] = Array.from({ length: added }, (_, k) => ({ id: maxId + 1 + k, oid: Oid.int4 }));
        const all = [...later, ...columns];
        const out: Datum[] = [];
        const absent = new Uint8Array(all.length);
        expect(decodeRow(bytes, all, out, absent)).toBe(added);
        for (let k = 0; k < added; k++) {
          expect(absent[k]).toBe(1);
          expect(out[k]).toBeNull();
        }
        columns.forEach((_, i) => {
          expect(absent[added + i]).toBe(0);
          expect(same(out[added + i]!, values[i]!)).toBe(true);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('skips columns the reader does not ask for (dropped or not projected)', () => {
    fc.assert(
      fc.property(rowArb, fc.infiniteStream(fc.boolean()), ([columns, values], keep) => {
        const bytes = encodeRow(columns, values);
        const picked = columns.map((c, i) => ({ c, i })).filter(() => keep.next().value as boolean);
        // Ask in reverse, so the lookup by id is exercised as well as the in-order walk.
        picked.reverse();
        const out: Datum[] = [];
        expect(decodeRow(bytes, picked.map((p) => p.c), out)).toBe(0);
        picked.forEach((p, k) => expect(same(out[k]!, values[p.i]!)).toBe(true));
      }),
      { numRuns: 200 },
    );
  });

  it('makes NULLs free: a row of NULLs is the header only', () => {
    const columns = Array.from({ length: 50 }, (_, i) => ({ id: i + 1, oid: Oid.text }));
    expect(encodeRow(columns, columns.map(() => null)).length).toBe(2);
  });

  it('fails on corrupt or truncated rows with a SqlError, never another exception', () => {
    fc.assert(
      fc.property(rowArb, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }), ([columns, values], cut, noise) => {
        const bytes = encodeRow(columns, values);
        const truncated = bytes.subarray(0, cut % bytes.length);
        const garbled = Uint8Array.from(bytes);
        const at = 1 + (cut % Math.max(1, garbled.length - 1));
        garbled.set(noise.subarray(0, Math.max(0, garbled.length - at)), Math.min(at, garbled.length));
        for (const b of [truncated, garbled]) {
          try {
            decodeRow(b, columns, []);
          } catch (err) {
            expect(isSqlError(err), String(err)).toBe(true);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('refuses rows of an unknown format version', () => {
    const columns = [{ id: 1, oid: Oid.int4 }];
    const bytes = encodeRow(columns, [7]);
    bytes[0] = ROW_FORMAT_VERSION + 1;
    expect(() => decodeRow(bytes, columns, [])).toThrowError(expect.objectContaining({ code: 'XX001' }));
  });
});
