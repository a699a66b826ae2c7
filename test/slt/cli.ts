// Runs sqllogictest files against a server and prints one line per file and a total:
//
//   npx tsx test/slt/cli.ts --url postgresql://user@host:port/db [--files glob|dir|file ...]
//   npx tsx test/slt/cli.ts --postgres [--jobs 2] [--verbose] [--fail-log path] [--summary]
//
// Columns: file, records, passed, failed, skipped, seconds. The total line gives the pass
// percentage, passed / (passed + failed): skipped records (another engine's, or a directive this
// runner cannot execute) count for neither side. Without --files it runs the whole sqllogictest
// corpus ($CAIRN_CORPORA, else ../shared/corpora next to the repository). --postgres starts a
// private PostgreSQL 15 for the run. Exit status: 0, or 1 when the pass percentage is below
// --min-pass, or 2 on usage errors and when nothing could be run.
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { startPostgres, type PostgresServer } from '../support/postgres.js';
import {
  DEFAULT_ENGINE,
  DEFAULT_RECORD_TIMEOUT_MS,
  describeFailure,
  findScriptFiles,
  formatOutcome,
  runFile,
  type FileResult,
  type RecordOutcome,
} from './runner.js';

/** More workers than this would only queue on the server (and this machine has two cores). */
const MAX_JOBS = 16;
/** The summary lists this many failure and skip categories. */
const SUMMARY_CATEGORIES = 40;
/** Each summary category shows this many example locations. */
const SUMMARY_EXAMPLES = 3;

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Arguments {
  readonly url: string | undefined;
  readonly postgres: boolean;
  readonly files: readonly string[];
  readonly jobs: number;
  readonly verbose: boolean;
  readonly failLog: string | undefined;
  readonly timeoutMs: number;
  readonly engine: string;
  readonly minPass: number | undefined;
  readonly summary: boolean;
}

function positiveInteger(limit: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 1 || value > limit) throw new InvalidArgumentError(`needs an integer from 1 to ${limit}`);
    return value;
  };
}

function percentage(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 100) throw new InvalidArgumentError('needs a number from 0 to 100');
  return value;
}

function parseArguments(argv: readonly string[]): Arguments {
  const program = new Command()
    .name('tsx test/slt/cli.ts')
    .description('Run sqllogictest files against a PostgreSQL-protocol server.')
    .option('--url <url>', 'server to test (each file gets a database of its own, created through this URL)')
    .option('--postgres', 'start a private PostgreSQL 15 and run against it', false)
    .option('--files <patterns...>', 'files, directories or globs (default: the whole sqllogictest corpus)')
    .option('--jobs <n>', 'files run at the same time', positiveInteger(MAX_JOBS), 1)
    .option('--verbose', 'print every failed record as it happens (to stderr)', false)
    .option('--fail-log <path>', 'write every failed record, with expected and actual results, to this file')
    .option('--timeout <ms>', 'per-record timeout in milliseconds', positiveInteger(3_600_000), DEFAULT_RECORD_TIMEOUT_MS)
    .option('--engine <name>', 'engine name that skipif/onlyif compare with', DEFAULT_ENGINE)
    .option('--min-pass <percent>', 'exit with status 1 when the pass percentage is lower', percentage)
    .option('--summary', 'after the table, list failures and skips grouped by cause', false)
    .argument('[files...]', 'more files, directories or globs')
    .showHelpAfterError('(run with --help for the options)')
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .parse([...argv], { from: 'user' });
  const options = program.opts<{
    url?: string;
    postgres: boolean;
    files?: string[];
    jobs: number;
    verbose: boolean;
    failLog?: string;
    timeout: number;
    engine: string;
    minPass?: number;
    summary: boolean;
  }>();
  const positional = program.args;
  if ((options.url === undefined) === !options.postgres) {
    program.error('give exactly one of --url and --postgres', { exitCode: 2 });
  }
  return {
    url: options.url,
    postgres: options.postgres,
    files: [...(options.files ?? []), ...positional],
    jobs: options.jobs,
    verbose: options.verbose,
    failLog: options.failLog,
    timeoutMs: options.timeout,
    engine: options.engine,
    minPass: options.minPass,
    summary: options.summary,
  };
}

function locateCorpus(): string | undefined {
  const fromEnvironment = process.env['CAIRN_CORPORA'];
  // An explicit setting is obeyed even when wrong, so a typo fails instead of testing another copy.
  const candidates =
    fromEnvironment !== undefined && fromEnvironment !== '' ? [fromEnvironment] : [join(repositoryRoot, '..', 'shared', 'corpora'), '/work/shared/corpora'];
  const found = candidates.find((candidate) => existsSync(join(candidate, 'sqllogictest')));
  return found === undefined ? undefined : join(found, 'sqllogictest');
}

class Table {
  constructor(private readonly nameWidth: number) {}

  header(): string {
    return this.row(['file', 'records', 'passed', 'failed', 'skipped', 'seconds']);
  }

  row(cells: readonly string[]): string {
    const [name, ...numbers] = cells;
    return [name!.padEnd(this.nameWidth), ...numbers.map((cell) => cell.padStart(8))].join('  ');
  }

  file(result: FileResult): string {
    const records = result.passed + result.failed + result.skipped;
    const line = this.row([result.file, String(records), String(result.passed), String(result.failed), String(result.skipped), result.seconds.toFixed(1)]);
    return result.problems.length === 0 ? line : `${line}  (${result.problems.join('; ')})`;
  }
}

/** A failure's cause with the particulars (names, numbers) blanked, so alike failures group. */
function category(outcome: RecordOutcome & { status: 'failed' }): string {
  const failure = outcome.failure;
  const generic = (message: string): string =>
    message
      .replace(/"[^"]*"/g, '"…"')
      .replace(/\b\d+(\.\d+)?\b/g, 'N')
      .slice(0, 120);
  switch (failure.kind) {
    case 'unexpectedError':
      return `error ${failure.sqlstate ?? '-----'} ${generic(failure.message)}`;
    case 'wrongError':
      return `wrong error ${failure.sqlstate ?? '-----'} ${generic(failure.message)}`;
    case 'missingError':
      return 'expected an error, succeeded';
    default:
      return generic(describeFailure(failure));
  }
}

interface Tally {
  count: number;
  examples: string[];
}

function tallyInto(tallies: Map<string, Tally>, key: string, where: string): void {
  const tally = tallies.get(key) ?? { count: 0, examples: [] };
  tally.count++;
  if (tally.examples.length < SUMMARY_EXAMPLES) tally.examples.push(where);
  tallies.set(key, tally);
}

function printTallies(title: string, tallies: Map<string, Tally>): void {
  if (tallies.size === 0) return;
  process.stdout.write(`\n${title}\n`);
  const sorted = [...tallies.entries()].sort((a, b) => b[1].count - a[1].count);
  for (const [key, tally] of sorted.slice(0, SUMMARY_CATEGORIES)) {
    process.stdout.write(`${String(tally.count).padStart(8)}  ${key}   [${tally.examples.join(', ')}]\n`);
  }
  if (sorted.length > SUMMARY_CATEGORIES) process.stdout.write(`          ... ${sorted.length - SUMMARY_CATEGORIES} more\n`);
}

async function main(): Promise<number> {
  const args = parseArguments(process.argv.slice(2));
  const corpus = locateCorpus();
  let patterns = args.files;
  if (patterns.length === 0) {
    if (corpus === undefined) {
      process.stderr.write('no files given and no corpus found (set CAIRN_CORPORA to the directory holding sqllogictest/)\n');
      return 2;
    }
    patterns = [corpus];
  }
  const files: string[] = [];
  for (const pattern of patterns) {
    const found = await findScriptFiles(pattern);
    if (found.length === 0) {
      process.stderr.write(`${pattern}: no such file, or no .test/.slt files there\n`);
      return 2;
    }
    for (const file of found) if (!files.includes(file)) files.push(file);
  }
  // Names relative to the corpus when inside it, else to the working directory.
  const displayName = (file: string): string => {
    const inCorpus = corpus === undefined ? '..' : relative(corpus, file);
    if (!inCorpus.startsWith('..')) return inCorpus;
    const inWorkingDirectory = relative(process.cwd(), file);
    return inWorkingDirectory.startsWith('..') ? file : inWorkingDirectory;
  };

  let server: PostgresServer | undefined;
  const abort = new AbortController();
  const onSignal = (): void => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('interrupted: finishing the records in flight and cleaning up (again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let failLog: WriteStream | undefined;
  try {
    let url = args.url;
    if (args.postgres) {
      server = await startPostgres({
        // The oracle's data is thrown away: durability would only cost time and disk syncs.
        settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
      });
      process.stderr.write(`PostgreSQL ${server.version} at ${server.url}\n`);
      url = server.url;
    }
    if (args.failLog !== undefined) failLog = createWriteStream(args.failLog);
    const failures = new Map<string, Tally>();
    const skips = new Map<string, Tally>();
    const onOutcome = (outcome: RecordOutcome): void => {
      if (outcome.status === 'passed') return;
      const where = `${outcome.file}:${outcome.line}`;
      if (outcome.status === 'skipped') {
        tallyInto(skips, outcome.reason.replace(/^after halt at .*/, 'after halt'), where);
        return;
      }
      tallyInto(failures, category(outcome), where);
      const report = formatOutcome(outcome);
      if (args.verbose) process.stderr.write(`${report}\n`);
      failLog?.write(`${report}\n\n`);
    };

    const table = new Table(Math.max(4, 'total'.length, ...files.map((file) => displayName(file).length)));
    process.stdout.write(`${table.header()}\n`);
    const started = performance.now();
    const results: (FileResult | undefined)[] = files.map(() => undefined);
    let nextToRun = 0;
    let nextToPrint = 0;
    const worker = async (): Promise<void> => {
      while (nextToRun < files.length && !abort.signal.aborted) {
        const index = nextToRun++;
        results[index] = await runFile(files[index]!, { url: url!, engine: args.engine, recordTimeoutMs: args.timeoutMs, onOutcome, signal: abort.signal }, displayName(files[index]!));
        // Lines come out in the order of the file list, whichever worker finishes first.
        while (nextToPrint < files.length && results[nextToPrint] !== undefined) {
          process.stdout.write(`${table.file(results[nextToPrint]!)}\n`);
          nextToPrint++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(args.jobs, files.length) }, worker));
    const seconds = (performance.now() - started) / 1000;

    const done = results.filter((result): result is FileResult => result !== undefined);
    const passed = done.reduce((sum, result) => sum + result.passed, 0);
    const failed = done.reduce((sum, result) => sum + result.failed, 0);
    const skipped = done.reduce((sum, result) => sum + result.skipped, 0);
    const records = passed + failed + skipped;
    const pass = passed + failed === 0 ? 0 : (100 * passed) / (passed + failed);
    const executed = passed + failed;
    process.stdout.write(
      `${table.row(['total', String(records), String(passed), String(failed), String(skipped), seconds.toFixed(1)])}` +
        `  pass ${pass.toFixed(2)}%  (${(records / Math.max(seconds, 1e-9)).toFixed(0)} records/s, ${(executed / Math.max(seconds, 1e-9)).toFixed(0)} executed/s, ${done.length}/${files.length} files, jobs ${args.jobs})\n`,
    );
    if (args.summary) {
      printTallies('failures by cause (count, cause, first examples):', failures);
      printTallies('skips by reason:', skips);
    }
    if (abort.signal.aborted) return 2;
    if (done.length === 0) return 2;
    if (args.minPass !== undefined && pass < args.minPass) return 1;
    return 0;
  } finally {
    await new Promise<void>((resolveClose) => (failLog === undefined ? resolveClose() : failLog.end(resolveClose)));
    await server?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().then(
  (status) => process.exit(status),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
