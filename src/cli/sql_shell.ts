// `cairn sql`: the SQL shell. It connects to a node's SQL port with node-postgres and runs
// statements from `-e` (repeatable), from `-f FILE`, or from standard input: interactively with a
// prompt, line editing and history when standard input is a terminal, silently otherwise. Input is
// cut into statements at the semicolons that end them (sql_statement_splitter.ts), each statement
// is sent on its own and its results printed as they arrive (sql_result_printer.ts); backslash
// commands are in sql_meta_commands.ts.
//
// Exit status: 0 when every statement succeeded (and always after an interactive session), 1 when
// one failed or the connection could not be made, 2 for a usage error, 130 when interrupted.
// Outside interactive sessions the shell stops at the first error (`--set errexit=false` goes on).
import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { type Command, Option } from 'commander';
import { SqlError, SqlState } from '../sql/errors.js';
import { UsageError, parseHostPort } from './flags.js';
import { HISTORY_MAX_LINES, defaultHistoryFile, loadHistory, rememberLine, saveHistory } from './sql_history.js';
import { type CollectedResult, type MetaCommandShell, runMetaCommand } from './sql_meta_commands.js';
import { OutputGate, SqlConnection, type ServerNotice, type SqlEndpoint, toSqlError } from './sql_connection.js';
import { SQL_OUTPUT_FORMATS, type ResultColumn, type ResultSink, type SqlOutputFormat, createResultPrinter } from './sql_result_printer.js';
import { StatementSplitter } from './sql_statement_splitter.js';

export { type SqlEndpoint } from './sql_connection.js';
export { type SqlOutputFormat } from './sql_result_printer.js';

export const DEFAULT_SQL_PORT = 26257;
const DEFAULT_HOST = 'localhost';
const DEFAULT_USER = 'root';
const DEFAULT_DATABASE = 'defaultdb';
/** A backslash command collects its catalog query whole: at most this many rows. */
const META_QUERY_MAX_ROWS = 100_000;

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** Where the statements come from. */
export type SqlShellSource =
  | { readonly kind: 'execute'; readonly sql: readonly string[] }
  /** `-f PATH`; `-f -` reads standard input without prompts. */
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'stdin' };

/** Client-side settings (`--set key=value`). Unset ones take their defaults. */
export interface SqlShellSettings {
  /** Stop at the first error. Default: on, except in an interactive session. */
  readonly errexit?: boolean;
  /** Print each statement before running it. Default off. */
  readonly echo?: boolean;
  /** Print how long each statement took (`\timing`). Default off. */
  readonly showTimes?: boolean;
}

/** The streams the shell uses; tests pass their own. */
export interface SqlShellIo {
  readonly input: Readable;
  readonly output: Writable;
  readonly error: Writable;
  /** Prompt, history and Ctrl-C handling as at a terminal. Default: whether `input` is a terminal. */
  readonly interactive?: boolean;
}

export interface SqlShellOptions {
  readonly endpoint: SqlEndpoint;
  /** Must be true: TLS is not supported yet. */
  readonly insecure: boolean;
  readonly source: SqlShellSource;
  /** Default: table when the input is interactive, tsv otherwise (as CockroachDB's shell does). */
  readonly format?: SqlOutputFormat;
  readonly settings?: SqlShellSettings;
  /** Default ~/.cairn_sql_history. */
  readonly historyFile?: string;
  /** Default: the process's standard streams. */
  readonly io?: SqlShellIo;
}

function isTerminal(stream: Readable | Writable): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** `root@localhost:26257/defaultdb`, with an IPv6 address in brackets. */
function endpointLabel(e: SqlEndpoint): string {
  const host = e.host.includes(':') ? `[${e.host}]` : e.host;
  return `${e.user}@${host}:${e.port}/${e.database}`;
}

/**
 * The database a successful `USE db` or `SET database = db` switched to, if `statement` is one
 * (Cairn's session variable, as in CockroachDB). A quoted name keeps its case; a bare one is folded.
 */
export function databaseSetBy(statement: string): string | undefined {
  const m = /^(?:use\s+|set\s+(?:session\s+)?database\s*(?:=|\s+to\s+)\s*)(.+)$/is.exec(statement.trim());
  if (m === null) return undefined;
  const value = m[1]!.trim();
  const quoted = /^"((?:[^"]|"")+)"$/s.exec(value) ?? /^'((?:[^']|'')+)'$/s.exec(value);
  if (quoted !== null) return value.startsWith('"') ? quoted[1]!.replaceAll('""', '"') : quoted[1]!.replaceAll("''", "'");
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(value) ? value.toLowerCase() : undefined;
}

/** How an error is shown: ERROR, SQLSTATE, then DETAIL and HINT when the server gave them. */
function errorText(err: SqlError): string {
  let text = `ERROR: ${err.message}\nSQLSTATE: ${err.code}\n`;
  if (err.fields.detail !== undefined) text += `DETAIL: ${err.fields.detail}\n`;
  if (err.fields.hint !== undefined) text += `HINT: ${err.fields.hint}\n`;
  return text;
}

/** Gathers a result whole, for the backslash commands. */
class CollectingSink implements ResultSink {
  columnsSeen: readonly ResultColumn[] = [];
  readonly rows: (readonly (string | null)[])[] = [];
  overflow = false;

  columns(columns: readonly ResultColumn[]): void {
    this.columnsSeen = columns;
  }

  row(values: readonly (string | null)[]): void {
    if (this.rows.length < META_QUERY_MAX_ROWS) this.rows.push(values);
    else this.overflow = true;
  }

  copyData(): void {}

  complete(): void {}
}

interface ShellBehaviour {
  readonly format: SqlOutputFormat;
  readonly errexit: boolean;
  readonly echo: boolean;
}

/** One session: the connection, the pending input, and what the user asked for. */
class Shell implements MetaCommandShell {
  private readonly splitter = new StatementSplitter();
  private endpoint: SqlEndpoint;
  /** Some statement or command failed. */
  failed = false;
  /** No more input is to be run: quit, an error under errexit, an interrupt, a closed output. */
  stopped = false;
  interrupted = false;
  private outputClosed = false;
  /** The line reader being consumed, closed to stop reading on an interrupt. */
  private reader: Interface | undefined;
  timing: boolean;

  private readonly gate: OutputGate;

  constructor(
    private conn: SqlConnection,
    private readonly io: SqlShellIo,
    private readonly behaviour: ShellBehaviour,
    showTimes: boolean,
  ) {
    this.endpoint = conn.endpoint;
    this.timing = showTimes;
    this.gate = new OutputGate(io.output);
  }

  get humanOutput(): boolean {
    return this.behaviour.format === 'table' || this.behaviour.format === 'records';
  }

  get isRunning(): boolean {
    return this.conn.isRunning;
  }

  write(text: string): void {
    if (!this.outputClosed) this.io.output.write(text);
  }

  writeError(err: SqlError): void {
    this.io.error.write(errorText(err));
  }

  writeNotice(n: ServerNotice): void {
    let text = `${n.severity}: ${n.message}\n`;
    if (n.detail !== undefined) text += `DETAIL: ${n.detail}\n`;
    if (n.hint !== undefined) text += `HINT: ${n.hint}\n`;
    this.io.error.write(text);
  }

  /** The output went away (a closed pipe): stop quietly. */
  outputFailed(): void {
    this.outputClosed = true;
    this.failed = true;
    this.stopped = true;
    void this.conn.cancel();
  }

  prompt(): string {
    if (!this.splitter.isIdle) return '-> ';
    const state = this.conn.transactionState;
    return `${endpointLabel(this.endpoint)}${state === 'open' ? ' OPEN' : state === 'failed' ? ' ERROR' : ''}> `;
  }

  /** Lines come from `reader` from now on. */
  readFrom(reader: Interface): Interface {
    this.reader = reader;
    return reader;
  }

  /** Ctrl-C outside a terminal session: cancel the running statement, or stop reading. */
  interrupt(): void {
    if (this.conn.isRunning) {
      void this.conn.cancel();
      return;
    }
    this.interrupted = true;
    this.stopped = true;
    this.reader?.close();
  }

  /** Ctrl-C at the prompt: forget the statement being typed. */
  resetInput(): void {
    this.splitter.reset();
  }

  cancel(): Promise<void> {
    return this.conn.cancel();
  }

  private fail(err: SqlError): void {
    // Once the output is gone, the errors that follow (the cancelled statement's) are no news.
    if (!this.outputClosed) this.writeError(err);
    this.failed = true;
    if (this.behaviour.errexit) this.stopped = true;
  }

  /** One line of input, without its line break. */
  async feedLine(line: string): Promise<void> {
    if (this.stopped) return;
    const trimmed = line.trim();
    if (this.splitter.isIdle && /^(?:quit|exit)\s*;?$/i.test(trimmed)) {
      this.stopped = true;
      return;
    }
    if (!this.splitter.insideLiteral && trimmed.startsWith('\\')) {
      await this.metaCommand(trimmed);
      return;
    }
    let statements: string[];
    try {
      statements = this.splitter.push(`${line}\n`);
    } catch (err) {
      this.fail(toSqlError(err));
      return;
    }
    for (const statement of statements) {
      await this.execute(statement);
      if (this.stopped) return;
    }
  }

  /** The end of the input: a last statement without its semicolon still runs. */
  async endOfInput(): Promise<void> {
    for (const statement of this.splitter.finish()) {
      if (this.stopped) return;
      await this.execute(statement);
    }
  }

  private async metaCommand(line: string): Promise<void> {
    try {
      if ((await runMetaCommand(line, this)) === 'quit') this.stopped = true;
    } catch (err) {
      this.fail(toSqlError(err));
    }
  }

  private async execute(statement: string): Promise<void> {
    if (this.behaviour.echo) this.write(`> ${statement}\n`);
    const printer = createResultPrinter(this.behaviour.format, (text) => this.write(text));
    const started = performance.now();
    try {
      await this.ensureConnected();
      await this.conn.run(statement, printer, this.gate);
      const database = databaseSetBy(statement);
      if (database !== undefined) this.endpoint = { ...this.endpoint, database };
    } catch (err) {
      this.fail(toSqlError(err));
    }
    if (this.timing) this.write(`Time: ${(performance.now() - started).toFixed(3)} ms\n`);
  }

  /** After the server dropped the connection: one attempt to open a new one (throws if it fails). */
  private async ensureConnected(): Promise<void> {
    const lost = this.conn.lostReason;
    if (lost === undefined) return;
    this.io.error.write(`warning: the connection to the server was lost (${lost}); reconnecting\n`);
    const fresh = await SqlConnection.open(this.endpoint, (n) => this.writeNotice(n));
    await this.conn.close();
    this.conn = fresh;
  }

  async query(sql: string): Promise<CollectedResult> {
    await this.ensureConnected();
    const sink = new CollectingSink();
    await this.conn.run(sql, sink, this.gate);
    if (sink.overflow) throw new SqlError(SqlState.programLimitExceeded, `the catalog query returned more than ${META_QUERY_MAX_ROWS} rows`);
    return { columns: sink.columnsSeen, rows: sink.rows };
  }

  print(result: CollectedResult, options: { rowCount: boolean }): void {
    const printer = createResultPrinter(this.behaviour.format, (text) => this.write(text), options);
    printer.columns(result.columns);
    for (const row of result.rows) printer.row(row);
    printer.complete(`SELECT ${result.rows.length}`);
  }

  async connectTo(database: string): Promise<void> {
    const fresh = await SqlConnection.open({ ...this.endpoint, database }, (n) => this.writeNotice(n));
    await this.conn.close();
    this.conn = fresh;
    this.endpoint = fresh.endpoint;
  }

  connectionSummary(): string {
    const e = this.endpoint;
    return `connected to database "${e.database}" as user "${e.user}" on ${e.host}:${e.port}`;
  }

  close(): Promise<void> {
    this.gate.dispose();
    return this.conn.close();
  }
}

/** Lines of a stream that is not a terminal: no prompt, no line editing. */
function lineReader(input: Readable): Interface {
  return createInterface({ input, crlfDelay: Infinity, terminal: false });
}

async function runLines(shell: Shell, lines: AsyncIterable<string>): Promise<void> {
  for await (const line of lines) {
    await shell.feedLine(line);
    if (shell.stopped) break;
  }
  if (!shell.stopped) await shell.endOfInput();
}

async function runSource(shell: Shell, source: SqlShellSource, io: SqlShellIo): Promise<void> {
  switch (source.kind) {
    case 'execute':
      for (const sql of source.sql) {
        for (const line of sql.split('\n')) {
          await shell.feedLine(line);
          if (shell.stopped) return;
        }
        await shell.endOfInput();
        if (shell.stopped) return;
      }
      return;
    case 'file': {
      if (source.path === '-') return runLines(shell, shell.readFrom(lineReader(io.input)));
      const handle = await open(source.path, 'r');
      try {
        await runLines(shell, shell.readFrom(handle.readLines({ encoding: 'utf8' })));
      } finally {
        await handle.close();
      }
      return;
    }
    case 'stdin':
      return runLines(shell, shell.readFrom(lineReader(io.input)));
  }
}

async function runInteractive(shell: Shell, io: SqlShellIo, historyFile: string): Promise<void> {
  const history = loadHistory(historyFile);
  const terminal = isTerminal(io.input) && isTerminal(io.output);
  const rl = createInterface({
    input: io.input,
    output: io.output,
    terminal,
    history: [...history],
    historySize: HISTORY_MAX_LINES,
    prompt: shell.prompt(),
    crlfDelay: Infinity,
  });
  shell.readFrom(rl);
  rl.on('SIGINT', () => {
    if (shell.isRunning) {
      void shell.cancel();
      return;
    }
    // Ctrl-C at the prompt drops what was typed, like a shell.
    rl.write(null, { ctrl: true, name: 'e' });
    rl.write(null, { ctrl: true, name: 'u' });
    io.output.write('^C\n');
    shell.resetInput();
    rl.setPrompt(shell.prompt());
    rl.prompt();
  });
  shell.write('# Welcome to the Cairn SQL shell.\n# Statements end with a semicolon. \\? shows the commands, \\q leaves.\n');
  rl.prompt();
  let ended = true;
  for await (const line of rl) {
    rememberLine(history, line);
    await shell.feedLine(line);
    if (shell.stopped) {
      ended = false;
      break;
    }
    rl.setPrompt(shell.prompt());
    rl.prompt();
  }
  // Ctrl-D leaves the cursor after the prompt.
  if (ended && terminal) io.output.write('\n');
  rl.close();
  try {
    saveHistory(historyFile, history);
  } catch (err) {
    io.error.write(`warning: could not save the history to ${historyFile}: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

export async function runSqlShell(options: SqlShellOptions): Promise<number> {
  const usingProcessIo = options.io === undefined;
  const io: SqlShellIo = options.io ?? { input: process.stdin, output: process.stdout, error: process.stderr };
  if (!options.insecure) {
    io.error.write('error: TLS is not supported yet; run with --insecure to connect without it (nothing is encrypted)\n');
    return EXIT_USAGE;
  }
  const interactive = options.source.kind === 'stdin' && (io.interactive ?? isTerminal(io.input));
  const settings = options.settings ?? {};
  const behaviour: ShellBehaviour = {
    format: options.format ?? (isTerminal(io.input) || io.interactive === true ? 'table' : 'tsv'),
    errexit: settings.errexit ?? !interactive,
    echo: settings.echo ?? false,
  };
  if (options.source.kind === 'file' && options.source.path !== '-') {
    try {
      await (await open(options.source.path, 'r')).close();
    } catch (err) {
      io.error.write(`error: cannot read ${options.source.path}: ${err instanceof Error ? err.message : String(err)}\n`);
      return EXIT_FAILED;
    }
  }

  let shell: Shell | undefined;
  const notices: ServerNotice[] = [];
  let connection: SqlConnection;
  try {
    connection = await SqlConnection.open(options.endpoint, (n) => (shell === undefined ? notices.push(n) : shell.writeNotice(n)));
  } catch (err) {
    io.error.write(errorText(toSqlError(err)));
    return EXIT_FAILED;
  }
  const active = new Shell(connection, io, behaviour, settings.showTimes ?? false);
  shell = active;
  for (const n of notices) active.writeNotice(n);

  const onOutputError = (): void => active.outputFailed();
  io.output.on('error', onOutputError);
  // Outside a terminal session Ctrl-C arrives as a signal: cancel the statement, or stop.
  const onSignal = (): void => active.interrupt();
  const terminalSession = interactive && isTerminal(io.input);
  if (usingProcessIo && !terminalSession) process.on('SIGINT', onSignal);
  try {
    if (interactive) await runInteractive(active, io, options.historyFile ?? defaultHistoryFile());
    else await runSource(active, options.source, io);
  } catch (err) {
    active.writeError(toSqlError(err));
    active.failed = true;
  } finally {
    if (usingProcessIo && !terminalSession) process.off('SIGINT', onSignal);
    io.output.off('error', onOutputError);
    await active.close();
  }
  if (active.interrupted) return EXIT_INTERRUPTED;
  if (interactive) return EXIT_OK;
  return active.failed ? EXIT_FAILED : EXIT_OK;
}

/** `--host` value: `host`, `host:port`, `[v6]` or `[v6]:port`; the port defaults to 26257. */
export function parseSqlHost(value: string): { host: string; port: number } {
  const v = value.trim();
  if (v === '') throw new UsageError('--host needs a host name or address');
  const hasPort = /^\[[^\]]+\]:\d+$/.test(v) || (/^[^[\]:]+:\d+$/.test(v));
  if (hasPort) {
    const hp = parseHostPort('host', v, '');
    if (hp.host === '') throw new UsageError(`--host needs a host before the port, got "${value}"`);
    return hp;
  }
  const bracketed = /^\[([^\]]+)\]$/.exec(v);
  if (bracketed !== null) return { host: bracketed[1]!, port: DEFAULT_SQL_PORT };
  if (/^[A-Za-z0-9._-]+$/.test(v)) return { host: v, port: DEFAULT_SQL_PORT };
  throw new UsageError(`--host must be HOST or HOST:PORT (an IPv6 address in brackets), got "${value}"`);
}

/** `--url postgresql://user[:password]@host[:port]/database[?sslmode=disable]`. */
export function parseSqlUrl(value: string): { endpoint: SqlEndpoint; sslDisabled: boolean } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--url must be a URL such as postgresql://root@localhost:26257/defaultdb, got "${value}"`);
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') throw new UsageError(`--url must start with postgresql://, got "${value}"`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new UsageError('--url needs a host');
  const port = url.port === '' ? DEFAULT_SQL_PORT : Number(url.port);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || DEFAULT_DATABASE;
  if (database.includes('/')) throw new UsageError(`--url: "${database}" is not a database name`);
  let sslDisabled = false;
  for (const [key, v] of url.searchParams) {
    if (key === 'sslmode') {
      if (v === 'disable') sslDisabled = true;
      else if (v !== 'allow' && v !== 'prefer') throw new UsageError(`--url: sslmode=${v} needs TLS, which is not supported yet (use sslmode=disable)`);
    } else if (key !== 'application_name') throw new UsageError(`--url: parameter "${key}" is not supported (sslmode and application_name are)`);
  }
  const user = url.username === '' ? DEFAULT_USER : decodeURIComponent(url.username);
  const password = url.password === '' ? undefined : decodeURIComponent(url.password);
  return { endpoint: { host, port, user, database, ...(password === undefined ? {} : { password }) }, sslDisabled };
}

const SETTING_KEYS = ['errexit', 'echo', 'show_times', 'display_format'] as const;

function parseBool(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === 'on' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === 'off' || v === '0' || v === 'no') return false;
  throw new UsageError(`--set ${key} takes true or false, got "${value}"`);
}

/** The `--set key=value` flags: client-side settings, and display_format (the same as --format). */
export function parseShellSettings(pairs: readonly string[]): { settings: SqlShellSettings; format?: SqlOutputFormat } {
  let errexit: boolean | undefined;
  let echo: boolean | undefined;
  let showTimes: boolean | undefined;
  let format: SqlOutputFormat | undefined;
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set takes key=value, got "${pair}"`);
    const key = pair.slice(0, eq).trim().toLowerCase();
    const value = pair.slice(eq + 1).trim();
    switch (key) {
      case 'errexit':
        errexit = parseBool(key, value);
        break;
      case 'echo':
        echo = parseBool(key, value);
        break;
      case 'show_times':
        showTimes = parseBool(key, value);
        break;
      case 'display_format':
        format = parseFormat('--set display_format', value);
        break;
      default:
        throw new UsageError(`--set: unknown setting "${key}" (known: ${SETTING_KEYS.join(', ')})`);
    }
  }
  const settings: SqlShellSettings = {
    ...(errexit === undefined ? {} : { errexit }),
    ...(echo === undefined ? {} : { echo }),
    ...(showTimes === undefined ? {} : { showTimes }),
  };
  return format === undefined ? { settings } : { settings, format };
}

function parseFormat(flag: string, value: string): SqlOutputFormat {
  const format = SQL_OUTPUT_FORMATS.find((f) => f === value);
  if (format === undefined) throw new UsageError(`${flag} must be one of ${SQL_OUTPUT_FORMATS.join(', ')}, got "${value}"`);
  return format;
}

/** The flags of `cairn sql` as commander hands them over. */
export interface SqlCommandFlags {
  readonly host?: string;
  readonly insecure?: boolean;
  readonly user?: string;
  readonly database?: string;
  readonly url?: string;
  readonly execute?: readonly string[];
  readonly file?: string;
  readonly format?: string;
  readonly set?: readonly string[];
}

/** Checks the flags and turns them into options; throws a UsageError naming the bad flag. */
export function sqlShellOptionsFromFlags(flags: SqlCommandFlags): SqlShellOptions {
  let endpoint: SqlEndpoint;
  let insecure = flags.insecure === true;
  if (flags.url !== undefined) {
    if (flags.host !== undefined || flags.user !== undefined || flags.database !== undefined) {
      throw new UsageError('--url cannot be combined with --host, --user or --database');
    }
    const parsed = parseSqlUrl(flags.url);
    endpoint = parsed.endpoint;
    insecure ||= parsed.sslDisabled;
  } else {
    const { host, port } = flags.host === undefined ? { host: DEFAULT_HOST, port: DEFAULT_SQL_PORT } : parseSqlHost(flags.host);
    const user = flags.user ?? DEFAULT_USER;
    const database = flags.database ?? DEFAULT_DATABASE;
    if (user === '') throw new UsageError('--user must not be empty');
    if (database === '') throw new UsageError('--database must not be empty');
    endpoint = { host, port, user, database };
  }
  const execute = flags.execute ?? [];
  if (execute.length > 0 && flags.file !== undefined) throw new UsageError('-e/--execute and -f/--file cannot be combined');
  const source: SqlShellSource =
    execute.length > 0 ? { kind: 'execute', sql: execute } : flags.file !== undefined ? { kind: 'file', path: flags.file } : { kind: 'stdin' };
  const set = parseShellSettings(flags.set ?? []);
  const format = flags.format === undefined ? undefined : parseFormat('--format', flags.format);
  if (format !== undefined && set.format !== undefined && format !== set.format) {
    throw new UsageError(`--format ${format} and --set display_format=${set.format} disagree`);
  }
  const chosen = format ?? set.format;
  return { endpoint, insecure, source, settings: set.settings, ...(chosen === undefined ? {} : { format: chosen }) };
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Adds `cairn sql` to the program. */
export function registerSqlCommand(program: Command): void {
  program
    .command('sql')
    .description('open a SQL shell on a node, or run statements given with -e or -f and exit')
    .option('--host <host[:port]>', `the node's SQL address (default ${DEFAULT_HOST}:${DEFAULT_SQL_PORT})`)
    .option('--insecure', 'connect without TLS (required for now: TLS is not supported yet)')
    .option('-u, --user <user>', `user name (default ${DEFAULT_USER})`)
    .option('-d, --database <database>', `database (default ${DEFAULT_DATABASE})`)
    .option('--url <url>', 'postgresql://user@host:port/database instead of --host, --user and --database')
    .option('-e, --execute <sql>', 'run these statements and exit (repeatable)', collect)
    .option('-f, --file <path>', 'run the statements in this file and exit (- for standard input)')
    .addOption(new Option('--format <format>', 'output format (default: table at a terminal, tsv otherwise)').choices([...SQL_OUTPUT_FORMATS]))
    .option('--set <key=value>', `client setting: ${SETTING_KEYS.join(', ')} (repeatable)`, collect)
    .allowExcessArguments(false)
    .action(async (flags: SqlCommandFlags) => {
      process.exitCode = await runSqlShell(sqlShellOptionsFromFlags(flags));
    });
}
