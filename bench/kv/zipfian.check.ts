// npx tsx bench/kv/zipfian.check.ts
//
// Sanity checks of the YCSB key choosers: key naming against YCSB's published keys, ζ against
// YCSB's constant, skew of the plain zipfian against the formula, skew of the scrambled zipfian
// against a prediction computed from the distribution's head, determinism, and speed.

import { performance } from 'node:perf_hooks';
import { BenchRandom } from './random.js';
import { KeyChooser, keyBytes, keyName, workloadFromProperties } from './workload.js';
import { SCRAMBLED_ITEM_COUNT, ZipfianGenerator, fnvhash64, zeta, zetaExact } from './zipfian.js';

let failures = 0;
function check(what: string, ok: boolean, detail: string): void {
  if (!ok) failures++;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'}  ${what}: ${detail}\n`);
}
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
const hashed = { insertOrder: 'hashed', zeroPadding: 1 } as const;

// 1. Key names as YCSB prints them for records 0 and 1 (insertorder=hashed).
check('key of record 0', keyName(0, hashed) === 'user6284781860667377211', keyName(0, hashed));
check('key of record 1', keyName(1, hashed) === 'user8517097267634966620', keyName(1, hashed));
check('fnvhash64 is non-negative', fnvhash64(0x7fff_ffff_ffff) >= 0n, fnvhash64(0x7fff_ffff_ffff).toString());

// 2. ζ: the Euler–Maclaurin path against the exact sum, and against YCSB's ZETAN for 10^10 items.
{
  const n = 3_000_000;
  const exact = zetaExact(n, 0.99);
  const fast = zeta(n, 0.99);
  check(`ζ(${n}, 0.99) Euler–Maclaurin vs exact sum`, relErr(fast, exact) < 1e-12, `${fast} vs ${exact}`);
  const z = zeta(SCRAMBLED_ITEM_COUNT, 0.99);
  check('ζ(10^10, 0.99) vs YCSB ZETAN 26.46902820178302', relErr(z, 26.46902820178302) < 1e-9, `${z}`);
}

// 3. Plain zipfian over 1,000 items: item i should come up with probability (1/(i+1)^θ) / ζ(n).
{
  const n = 1000;
  const draws = 2_000_000;
  const gen = new ZipfianGenerator(0, n - 1, 0.99);
  const counts = new Float64Array(n);
  const random = new BenchRandom(1);
  for (let i = 0; i < draws; i++) counts[gen.next(random)]!++;
  const p = (i: number): number => 1 / Math.pow(i + 1, 0.99) / gen.zetan;
  for (const i of [0, 1, 2, 9, 99]) {
    const seen = counts[i]! / draws;
    // Gray et al.'s inverse CDF is exact for the first two items and an approximation after them.
    const tolerance = i < 2 ? 0.01 : 0.2;
    check(`plain zipfian item ${i}`, relErr(seen, p(i)) < tolerance, `${pct(seen)} drawn, ${pct(p(i))} expected`);
  }
  let top10 = 0;
  let expectedTop10 = 0;
  for (let i = 0; i < n / 10; i++) {
    top10 += counts[i]! / draws;
    expectedTop10 += p(i);
  }
  check('plain zipfian: hottest 10% of items', relErr(top10, expectedTop10) < 0.05, `${pct(top10)} of draws, ${pct(expectedTop10)} expected`);
  // Slope of log(frequency) against log(rank) over ranks 1..100 should be about -θ.
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  const m = 100;
  for (let i = 0; i < m; i++) {
    const x = Math.log(i + 1);
    const y = Math.log(counts[i]! / draws);
    sx += x; sy += y; sxx += x * x; sxy += x * y;
  }
  const slope = (m * sxy - sx * sy) / (m * sxx - sx * sx);
  check('plain zipfian: log-log slope over ranks 1..100', Math.abs(slope + 0.99) < 0.1, `${slope.toFixed(3)} (θ = 0.99)`);
}

// 4. Scrambled zipfian over 10,000 records, as the bench uses it (workload A's spec).
{
  const records = 10_000;
  const draws = 1_000_000;
  const spec = workloadFromProperties('a', '<inline>', 'requestdistribution=zipfian\nreadproportion=0.5\nupdateproportion=0.5\n');
  const chooser = new KeyChooser(spec, records);
  const counts = new Float64Array(records);
  const random = new BenchRandom(42);
  let outOfRange = 0;
  const start = performance.now();
  for (let i = 0; i < draws; i++) {
    const k = chooser.next(random);
    if (k < 0 || k >= records) outOfRange++;
    else counts[k]!++;
  }
  const drawUs = ((performance.now() - start) * 1000) / draws;
  check('scrambled zipfian: every key in [0, records)', outOfRange === 0, `${outOfRange} out of range`);

  // Prediction: the head of the 10^10-item zipfian mapped through the hash, the rest spread evenly
  // (the generator's range is records+1 wide; draws of the extra number are redrawn).
  const head = 200_000;
  const zetan = zeta(SCRAMBLED_ITEM_COUNT, 0.99);
  const predicted = new Float64Array(records + 1);
  let headMass = 0;
  for (let i = 0; i < head; i++) {
    const pi = 1 / Math.pow(i + 1, 0.99) / zetan;
    predicted[Number(fnvhash64(i) % BigInt(records + 1))]! += pi;
    headMass += pi;
  }
  for (let k = 0; k <= records; k++) predicted[k]! += (1 - headMass) / (records + 1);
  const kept = 1 - predicted[records]!;
  const observed = Array.from(counts, (c) => c / draws).sort((a, b) => b - a);
  const expected = Array.from(predicted.subarray(0, records), (q) => q / kept).sort((a, b) => b - a);
  const share = (xs: number[], k: number): number => xs.slice(0, k).reduce((a, b) => a + b, 0);
  check('scrambled zipfian: hottest key', relErr(observed[0]!, expected[0]!) < 0.05, `${pct(observed[0]!)} of draws, ${pct(expected[0]!)} predicted`);
  for (const [label, k] of [['hottest 1% of keys', records / 100], ['hottest 10% of keys', records / 10]] as const) {
    const o = share(observed, k);
    const e = share(expected, k);
    check(`scrambled zipfian: ${label}`, relErr(o, e) < 0.05, `${pct(o)} of draws, ${pct(e)} predicted (uniform: ${pct(k / records)})`);
  }
  const untouched = counts.filter((c) => c === 0).length;
  check('scrambled zipfian: skewed but spread', observed[0]! > 10 / records && untouched < records / 10, `${untouched} of ${records} keys never drawn in ${draws} draws`);
  // Hot keys are scattered, not clustered at the start of the key space.
  const hottest = Array.from(counts.keys()).sort((a, b) => counts[b]! - counts[a]!).slice(0, 10);
  check('scrambled zipfian: hot keys scattered', Math.max(...hottest) > records / 2, `ten hottest record numbers: ${hottest.join(', ')}`);
  process.stdout.write(`      speed: ${drawUs.toFixed(2)} µs per key draw\n`);
}

// 5. Determinism: a seed gives one sequence, another seed another.
{
  const spec = workloadFromProperties('a', '<inline>', 'requestdistribution=zipfian\n');
  const chooser = new KeyChooser(spec, 10_000);
  const run = (seed: number): string => {
    const random = new BenchRandom(seed);
    return Array.from({ length: 20 }, () => chooser.next(random)).join(',');
  };
  check('same seed, same keys', run(7) === run(7), run(7).slice(0, 60) + '…');
  check('other seed, other keys', run(7) !== run(8), run(8).slice(0, 60) + '…');
  const start = performance.now();
  for (let i = 0; i < 100_000; i++) keyBytes(i, hashed);
  process.stdout.write(`      speed: ${(((performance.now() - start) * 1000) / 100_000).toFixed(2)} µs per key name\n`);
}

process.stdout.write(failures === 0 ? 'zipfian check: all passed\n' : `zipfian check: ${failures} failed\n`);
process.exitCode = failures === 0 ? 0 : 1;
