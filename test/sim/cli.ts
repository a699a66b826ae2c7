// npm run sim -- --seeds 2000          run seeds 1..2000 and print one summary line
// npm run sim -- --seed 17 [--trace]   replay one seed (with a trace of its events)
import { parseArgs } from 'node:util';
import { lincheckLine, runSeeds, summaryLine } from './runner.js';
import { PLANTED_BUGS, type PlantedBug } from './planted.js';
import { PROFILES, type ProfileName } from './profiles.js';
import { Simulation, type RunOptions } from './simulation.js';

function usage(message: string): never {
  process.stderr.write(`sim: ${message}\nusage: npm run sim -- (--seeds N [--from S] | --seed S [--trace]) [--profile NAME] [--planted BUG]\n`);
  process.exit(2);
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) usage(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

let args;
try {
  args = parseArgs({
    options: {
      seeds: { type: 'string' },
      from: { type: 'string' },
      seed: { type: 'string' },
      trace: { type: 'boolean', default: false },
      planted: { type: 'string' },
      profile: { type: 'string' },
    },
    strict: true,
  }).values;
} catch (err) {
  usage(err instanceof Error ? err.message : String(err));
}

let raftOptions: RunOptions = {};
if (args.planted !== undefined) {
  if (!(args.planted in PLANTED_BUGS)) usage(`--planted must be one of ${Object.keys(PLANTED_BUGS).join(', ')}`);
  raftOptions = { raftClass: PLANTED_BUGS[args.planted as PlantedBug] };
}
if (args.profile !== undefined) {
  if (!(args.profile in PROFILES)) usage(`--profile must be one of ${Object.keys(PROFILES).join(', ')}`);
  raftOptions = { ...raftOptions, overrides: PROFILES[args.profile as ProfileName] };
}
const replayFlags = `${args.planted !== undefined ? ` --planted ${args.planted}` : ''}${args.profile !== undefined ? ` --profile ${args.profile}` : ''}`;

const single = positiveInt('seed', args.seed);
const count = positiveInt('seeds', args.seeds);
const from = positiveInt('from', args.from) ?? 1;

if (single !== undefined) {
  if (count !== undefined) usage('give either --seed or --seeds, not both');
  const trace = args.trace ? (line: string) => process.stdout.write(`${line}\n`) : undefined;
  const result = new Simulation(single, { ...raftOptions, ...(trace ? { trace } : {}) }).run();
  process.stdout.write(`params: ${JSON.stringify(result.params)}\n`);
  for (const v of result.violations) process.stdout.write(`VIOLATION (tick ${result.violationTick}): ${v}\n`);
  process.stdout.write(`${summaryLine(1, [result])}\n`);
  process.exit(result.violations.length > 0 ? 1 : 0);
}

if (count === undefined) usage('missing --seeds N or --seed S');
const results = await runSeeds(from, count, (result) => {
  if (result.violations.length === 0) return;
  process.stdout.write(`seed ${result.seed}: VIOLATION at tick ${result.violationTick}: ${result.violations[0]}\n`);
  process.stdout.write(`  replay: npm run sim -- --seed ${result.seed}${replayFlags} --trace\n`);
}, raftOptions);
process.stdout.write(`${lincheckLine(results)}\n`);
process.stdout.write(`${summaryLine(count, results)}\n`);
process.exit(results.some((r) => r.violations.length > 0) ? 1 : 0);
