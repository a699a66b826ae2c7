/**
 * Checks history files for linearizability and prints one row per file.
 *
 *   npx tsx test/lincheck/cli.ts --format kv|etcd [--timeout-ms N] [--explain] FILE...
 *
 * Columns: file, verdict (ok | illegal | unknown | error), operations, partitions, ms.
 * --explain prints, after an illegal file's row, the longest linearizable prefix and the
 * operations the search could not place after it.
 * Exit status: 0 when every file is ok, 1 when any is illegal or unknown, 2 on usage or parse
 * errors.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { checkOperations, explainIllegal, type CheckResult, type Model, type Operation } from './checker.js';
import { etcdModel, kvModel } from './models.js';
import { parseEtcdLog, parseKvHistory } from './porcupine_format.js';

const USAGE = 'usage: tsx test/lincheck/cli.ts --format kv|etcd [--timeout-ms N] [--explain] FILE...';

interface Arguments {
  readonly format: 'kv' | 'etcd';
  readonly timeoutMs: number | undefined;
  readonly explain: boolean;
  readonly files: readonly string[];
}

function parseArguments(argv: readonly string[]): Arguments | string {
  let format: string | undefined;
  let timeoutMs: number | undefined;
  let explain = false;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!;
    if (argument === '--format') {
      format = argv[++i];
    } else if (argument.startsWith('--format=')) {
      format = argument.slice('--format='.length);
    } else if (argument === '--timeout-ms') {
      timeoutMs = Number(argv[++i]);
      if (!Number.isFinite(timeoutMs) || timeoutMs < 0) return '--timeout-ms needs a non-negative number';
    } else if (argument === '--explain') {
      explain = true;
    } else if (argument === '--help' || argument === '-h') {
      return USAGE;
    } else if (argument.startsWith('--')) {
      return `unknown option ${argument}\n${USAGE}`;
    } else {
      files.push(argument);
    }
  }
  if (format !== 'kv' && format !== 'etcd') return `--format must be kv or etcd\n${USAGE}`;
  if (files.length === 0) return `no files given\n${USAGE}`;
  return { format, timeoutMs, explain, files };
}

type FileOutcome = 'ok' | 'illegal' | 'unknown' | 'error';

function checkFile<State, Input, Output>(
  model: Model<State, Input, Output>,
  parse: (text: string, source: string) => Operation<Input, Output>[],
  file: string,
  args: Arguments,
): FileOutcome {
  let result: CheckResult<State, Input, Output>;
  try {
    const operations = parse(readFileSync(file, 'utf8'), file);
    result = checkOperations(model, operations, args.timeoutMs === undefined ? {} : { timeoutMs: args.timeoutMs });
  } catch (error) {
    printRow([basename(file), 'error', '-', '-', '-']);
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 'error';
  }
  printRow([
    basename(file),
    result.verdict,
    String(result.operationCount),
    String(result.partitionCount),
    result.elapsedMs.toFixed(1),
  ]);
  if (args.explain && result.verdict === 'illegal') {
    process.stdout.write(`${indent(explainIllegal(model, result.failure))}\n`);
  }
  return result.verdict;
}

const COLUMN_WIDTHS = [24, 8, 10, 10, 10];

function printRow(cells: readonly string[]): void {
  process.stdout.write(`${cells.map((cell, i) => cell.padEnd(COLUMN_WIDTHS[i] ?? 0)).join(' ').trimEnd()}\n`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

function main(argv: readonly string[]): number {
  const args = parseArguments(argv);
  if (typeof args === 'string') {
    process.stderr.write(`${args}\n`);
    return 2;
  }
  printRow(['file', 'verdict', 'operations', 'partitions', 'ms']);
  const outcomes = args.files.map((file) =>
    args.format === 'kv' ? checkFile(kvModel, parseKvHistory, file, args) : checkFile(etcdModel, parseEtcdLog, file, args),
  );
  if (outcomes.includes('error')) return 2;
  return outcomes.every((outcome) => outcome === 'ok') ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
