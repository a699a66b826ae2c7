// Micro-benchmark of the row format (src/sql/types/value_encoding.ts): nanoseconds per encodeRow
// and decodeRow for a pgbench_accounts row (int4, int4, int4, char(84)) and a 10-column mixed row,
// with JSON.stringify / JSON.parse of the same values as a yardstick measured in the same run
// (absolute numbers on a shared machine are noise; the ratio is the figure to watch).
//
//   npx tsx bench/sql/row_codec.ts [--rows N]
import { TIMESTAMP_MIN, type Datum } from '../../src/sql/types/datum.js';
import { Numeric } from '../../src/sql/types/numeric.js';
import { Oid } from '../../src/sql/types/oids.js';
import { decodeRow, encodeRow, type EncodedColumn } from '../../src/sql/types/value_encoding.js';

/** Operations per measurement, and measurements per case (the best one is reported). */
const DEFAULT_OPS = 200_000;
const ROUNDS = 5;

interface Case {
  readonly name: string;
  readonly columns: readonly EncodedColumn[];
  readonly rows: readonly (readonly Datum[])[];
}

function pgbenchCase(n: number): Case {
  const columns: EncodedColumn[] = [
    { id: 1, oid: Oid.int4 }, // aid
    { id: 2, oid: Oid.int4 }, // bid
    { id: 3, oid: Oid.int4 }, // abalance
    { id: 4, oid: Oid.bpchar }, // filler char(84)
  ];
  const filler = ' '.repeat(84);
  const rows = Array.from({ length: n }, (_, i) => [i + 1, Math.floor(i / 100000) + 1, (i * 7919) % 10000 - 5000, filler]);
  return { name: 'pgbench_accounts (int4, int4, int4, char(84))', columns, rows };
}

function mixedCase(n: number): Case {
  const columns: EncodedColumn[] = [
    { id: 1, oid: Oid.int4 },
    { id: 2, oid: Oid.int8 },
    { id: 3, oid: Oid.text },
    { id: 4, oid: Oid.numeric },
    { id: 5, oid: Oid.float8 },
    { id: 6, oid: Oid.bool },
    { id: 7, oid: Oid.timestamptz },
    { id: 8, oid: Oid.varchar },
    { id: 9, oid: Oid.date },
    { id: 10, oid: Oid.bytea },
  ];
  const rows = Array.from({ length: n }, (_, i) => [
    i,
    BigInt(i) * 1_000_003n,
    `customer-${i}-name`,
    Numeric.of(BigInt(i * 137 + 5), 2),
    i / 7,
    i % 2 === 0,
    -TIMESTAMP_MIN / 8n + BigInt(i) * 1_000_000n,
    i % 5 === 0 ? null : `street ${i} avenue`,
    18_000 + (i % 1000),
    Uint8Array.of(i & 0xff, (i >> 8) & 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14),
  ]);
  return { name: '10 mixed columns (int4, int8, text, numeric, float8, bool, timestamptz, varchar, date, bytea)', columns, rows };
}

/** Best nanoseconds per call of f over ROUNDS rounds of `ops` calls. */
function measure(ops: number, f: (i: number) => void): number {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) f(i);
    const ns = Number(process.hrtime.bigint() - start) / ops;
    if (ns < best) best = ns;
  }
  return best;
}

function jsonable(v: Datum): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof Numeric) return v.toString();
  return v;
}

function run(c: Case, ops: number): void {
  const n = c.rows.length;
  const encoded = c.rows.map((r) => encodeRow(c.columns, r));
  const out: Datum[] = new Array<Datum>(c.columns.length);
  let sink = 0;
  const encodeNs = measure(ops, (i) => {
    sink += encodeRow(c.columns, c.rows[i % n]!).length;
  });
  const decodeNs = measure(ops, (i) => {
    sink += decodeRow(encoded[i % n]!, c.columns, out);
  });
  const json = c.rows.map((r) => JSON.stringify(r.map(jsonable)));
  const jsonEncodeNs = measure(ops, (i) => {
    sink += JSON.stringify(c.rows[i % n]!.map(jsonable)).length;
  });
  const jsonDecodeNs = measure(ops, (i) => {
    sink += (JSON.parse(json[i % n]!) as unknown[]).length;
  });
  const bytes = encoded.reduce((s, b) => s + b.length, 0) / n;
  console.log(c.name);
  console.log(`  row size   ${bytes.toFixed(1)} bytes (JSON ${(json.reduce((s, j) => s + j.length, 0) / n).toFixed(1)})`);
  console.log(`  encodeRow  ${encodeNs.toFixed(0)} ns   (JSON.stringify ${jsonEncodeNs.toFixed(0)} ns, ratio ${(encodeNs / jsonEncodeNs).toFixed(2)})`);
  console.log(`  decodeRow  ${decodeNs.toFixed(0)} ns   (JSON.parse ${jsonDecodeNs.toFixed(0)} ns, ratio ${(decodeNs / jsonDecodeNs).toFixed(2)})`);
  if (sink === -1) console.log('');
}

const rowsFlag = process.argv.indexOf('--rows');
const ops = rowsFlag >= 0 ? Number(process.argv[rowsFlag + 1]) : DEFAULT_OPS;
if (!Number.isInteger(ops) || ops <= 0) {
  console.error('--rows must be a positive integer');
  process.exit(2);
}
run(pgbenchCase(10_000), ops);
run(mixedCase(10_000), ops);
