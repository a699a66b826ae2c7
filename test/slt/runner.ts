// Runs sqllogictest scripts against any server that speaks the PostgreSQL protocol: PostgreSQL 15
// today, Cairn later, with nothing in between but a connection URL. Each file runs over one
// connection in a database of its own, created before and dropped after, so files never see each
// other's tables. Results are rendered and compared the way the original harness does it (classic
// `.test` files: one value per line, `I` as %d, `R` as %.3f, NULL, (empty), MD5 of the values) or
// the way sqllogictest-rs does it (`.slt` files: one row per line, values as the server prints them,
// whitespace-insensitive). A record that fails, hangs or kills the connection is counted and the
// file goes on with the next record.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { connect as connectSocket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import pg from 'pg';
import { parseScript, type Condition, type ExpectedError, type ExpectedRows, type ScriptRecord, type SortMode } from './parser.js';

/** How result lines are read and values rendered: SQLite's harness or sqllogictest-rs. */
export type Dialect = 'classic' | 'slt';

/** The engine name `skipif` / `onlyif` compare with, unless the caller names another. */
export const DEFAULT_ENGINE = 'postgresql';
/** The original harness hashes results of more than 8 values unless a script says otherwise. */
export const CLASSIC_DEFAULT_HASH_THRESHOLD = 8;
/** sqllogictest-rs never hashes unless a script says so. */
export const SLT_DEFAULT_HASH_THRESHOLD = 0;
/** A record that runs longer than this fails, is cancelled, and the file moves on. */
export const DEFAULT_RECORD_TIMEOUT_MS = 30_000;
/** After a cancel request, how long to wait for the server to give the connection back. */
export const CANCEL_GRACE_MS = 5_000;
/** How long a connection (or a cancel request's connection) may take to open. */
export const CONNECT_TIMEOUT_MS = 20_000;
/** CREATE DATABASE and DROP DATABASE for a file must finish within this. */
export const ADMIN_TIMEOUT_MS = 60_000;
/** A query whose result holds more values than this is cancelled and failed: memory stays bounded. */
export const MAX_RESULT_VALUES = 2_000_000;
/** Scripts larger than this are refused (the largest corpus file is about 3 MB). */
export const MAX_SCRIPT_BYTES = 64 * 1024 * 1024;
/** `include` may nest this deep; deeper is taken for a cycle. */
export const MAX_INCLUDE_DEPTH = 8;
/** A directory walk stops after this many entries, so a mistaken root cannot walk the disk. */
export const MAX_WALK_ENTRIES = 200_000;
/** Failure reports keep at most this many expected and actual lines each. */
export const MAX_REPORTED_LINES = 40;
/** A file result keeps the details of at most this many failed or skipped records. */
export const MAX_KEPT_OUTCOMES = 20_000;
/** The original harness keys labels by their first 20 characters. */
const LABEL_KEY_LENGTH = 20;

// PostgreSQL type OIDs (protocol facts). The runner is a client and knows only what the protocol
// says, so it keeps its own copy instead of importing the server's catalog.
const OID_BOOL = 16;
const INTEGER_OIDS: ReadonlySet<number> = new Set([20, 21, 23, 26]); // int8, int2, int4, oid
const FLOAT_OIDS: ReadonlySet<number> = new Set([700, 701, 1700]); // float4, float8, numeric

/** A value as the server sent it in text format; null for SQL NULL. */
export type TextValue = string | null;

export interface ResultColumn {
  readonly name: string;
  readonly typeOid: number;
}

// ---------------------------------------------------------------------------------------------
// Rendering values

/** `.slt` files follow sqllogictest-rs; everything else is SQLite's original format. */
export function dialectForPath(path: string): Dialect {
  return path.endsWith('.slt') ? 'slt' : 'classic';
}

function isBooleanTrue(value: string): boolean {
  return value === 't' || value === 'true';
}

/** C's (int) cast of a 64-bit integer, as sqlite3_column_int applies it: the low 32 bits. */
function toInt32(value: bigint): string {
  return BigInt.asIntN(32, value).toString();
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** SQLite's REAL to INTEGER: truncation toward zero, saturating at the 64-bit range. */
function doubleToInt64(value: number): bigint {
  if (Number.isNaN(value)) return 0n;
  if (value <= -9223372036854775808) return INT64_MIN;
  if (value >= 9223372036854775807) return INT64_MAX;
  return BigInt(Math.trunc(value));
}

/** SQLite's TEXT to INTEGER: the leading integer (after blanks and a sign), else 0; saturating. */
function textToInt64(text: string): bigint {
  const match = /^\s*([+-]?)(\d+)/.exec(text);
  if (match === null) return 0n;
  const magnitude = BigInt(match[2]!);
  const value = match[1] === '-' ? -magnitude : magnitude;
  return value < INT64_MIN ? INT64_MIN : value > INT64_MAX ? INT64_MAX : value;
}

/** SQLite's TEXT to REAL: the longest leading decimal number, else 0. */
function textToDouble(text: string): number {
  const match = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text);
  return match === null ? 0 : Number(match[0]);
}

/**
 * printf("%.3f") as SQLite's printf does it: NaN and infinities print as `NaN`, `Inf`, `-Inf`;
 * exact halfway cases round away from zero (as `toFixed` does); negative zero prints without sign.
 */
export function formatReal(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Inf' : '-Inf';
  // toFixed switches to exponent notation from 1e21 on; such doubles are integers anyway.
  if (Math.abs(value) >= 1e21) return `${BigInt(value).toString()}.000`;
  return value.toFixed(3);
}

/** Every byte outside printable ASCII becomes `@` (per byte of UTF-8, as the C harness sees it). */
function maskUnprintable(text: string): string {
  // Fast path: the corpus is ASCII.
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : '@';
  return out;
}

/**
 * One value rendered as SQLite's sqllogictest harness renders it for column type `type`
 * (`I`, `R` or `T`): what a SQLite column holding the value would give.
 */
export function renderClassicValue(type: 'I' | 'R' | 'T', value: TextValue, typeOid: number): string {
  if (value === null) return 'NULL';
  const isBoolean = typeOid === OID_BOOL;
  switch (type) {
    case 'I':
      if (isBoolean) return isBooleanTrue(value) ? '1' : '0';
      if (INTEGER_OIDS.has(typeOid)) return toInt32(BigInt(value));
      if (FLOAT_OIDS.has(typeOid)) return toInt32(doubleToInt64(Number(value)));
      return toInt32(textToInt64(value));
    case 'R':
      if (isBoolean) return formatReal(isBooleanTrue(value) ? 1 : 0);
      if (INTEGER_OIDS.has(typeOid) || FLOAT_OIDS.has(typeOid)) return formatReal(Number(value));
      return formatReal(textToDouble(value));
    case 'T':
      // SQLite has no booleans: a comparison is the integer 1 or 0, also as text.
      if (isBoolean) return isBooleanTrue(value) ? '1' : '0';
      if (value === '') return '(empty)';
      return maskUnprintable(value);
  }
}

/** One value rendered as sqllogictest-rs files expect it: the server's text, with a few words. */
export function renderSltValue(value: TextValue, typeOid: number): string {
  if (value === null) return 'NULL';
  if (typeOid === OID_BOOL) return isBooleanTrue(value) ? 'true' : 'false';
  if (value === '') return '(empty)';
  return value;
}

// ---------------------------------------------------------------------------------------------
// Sorting, hashing, comparing

/** strcmp() on the UTF-8 bytes, which is code-point order (JS `<` compares UTF-16 units). */
export function compareBytewise(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    // A surrogate stands for a code point above U+FFFF, so it sorts after every other unit.
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function compareRows(a: readonly string[], b: readonly string[]): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const c = compareBytewise(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Applies a sort mode to rendered rows: rowsort sorts rows, valuesort every value on its own. */
export function sortRows(rows: readonly (readonly string[])[], mode: SortMode): string[][] {
  switch (mode) {
    case 'nosort':
      return rows.map((row) => [...row]);
    case 'rowsort':
      return rows.map((row) => [...row]).sort(compareRows);
    case 'valuesort':
      return rows
        .flat()
        .sort(compareBytewise)
        .map((value) => [value]);
  }
}

/** sqllogictest's result hash: MD5 over every value followed by a newline, as lowercase hex. */
export function hashValues(values: readonly string[]): string {
  const md5 = createHash('md5');
  for (const value of values) {
    md5.update(value);
    md5.update('\n');
  }
  return md5.digest('hex');
}

/** `N values hashing to <md5>`, the line the harness writes in place of a large result. */
export function hashLine(values: readonly string[]): string {
  return `${values.length} values hashing to ${hashValues(values)}`;
}

/** sqllogictest-rs compares lines with runs of whitespace collapsed and the ends trimmed. */
export function normalizeWhitespace(line: string): string {
  return line.trim().split(/\s+/).join(' ');
}

export type ResultComparison =
  | { readonly matches: true }
  | { readonly matches: false; readonly expected: readonly string[]; readonly actual: readonly string[] };

/**
 * Compares rendered, sorted rows with the expected section. Classic files list one value per
 * line and must match exactly; slt files list one row per line and match whitespace-insensitively.
 * A hash line compares the count and the MD5 of all values in either dialect.
 */
export function compareResults(dialect: Dialect, rows: readonly (readonly string[])[], expected: ExpectedRows): ResultComparison {
  const values = rows.flat();
  if (expected.kind === 'hash') {
    const actual = hashLine(values);
    const wanted = `${expected.valueCount} values hashing to ${expected.md5}`;
    return actual === wanted ? { matches: true } : { matches: false, expected: [wanted], actual: [actual] };
  }
  if (dialect === 'classic') {
    const same = values.length === expected.lines.length && values.every((value, i) => value === expected.lines[i]);
    return same ? { matches: true } : { matches: false, expected: expected.lines, actual: values };
  }
  const actualLines = rows.map((row) => normalizeWhitespace(row.map(normalizeWhitespace).join(' ')));
  const expectedLines = expected.lines.map(normalizeWhitespace);
  const same = actualLines.length === expectedLines.length && actualLines.every((line, i) => line === expectedLines[i]);
  return same ? { matches: true } : { matches: false, expected: expectedLines, actual: actualLines };
}

/** Whether a server error satisfies what the record expects. */
export function errorMatches(expected: ExpectedError, sqlstate: string | undefined, message: string): boolean {
  switch (expected.kind) {
    case 'anyError':
      return true;
    case 'messagePattern':
      return patternFound(expected.pattern, message);
    case 'sqlstate':
      return sqlstate === expected.code && (expected.pattern === undefined || patternFound(expected.pattern, message));
    case 'messageBlock':
      return message.includes(expected.text.trim());
  }
}

function patternFound(pattern: string, message: string): boolean {
  try {
    return new RegExp(pattern).test(message);
  } catch {
    // sqllogictest-rs patterns are Rust regexes; one JavaScript cannot compile is taken literally.
    return message.includes(pattern);
  }
}

function describeExpectedError(expected: ExpectedError): string {
  switch (expected.kind) {
    case 'anyError':
      return 'an error';
    case 'messagePattern':
      return `an error matching /${expected.pattern}/`;
    case 'sqlstate':
      return `SQLSTATE ${expected.code}${expected.pattern === undefined ? '' : ` matching /${expected.pattern}/`}`;
    case 'messageBlock':
      return `an error containing ${JSON.stringify(expected.text)}`;
  }
}

/** Whether a record's conditions exclude it for `engine`; the reason when they do. */
export function conditionsExclude(conditions: readonly Condition[], engine: string): string | undefined {
  const name = engine.toLowerCase();
  for (const condition of conditions) {
    const matches = condition.engine.toLowerCase() === name;
    if (condition.kind === 'skipif' && matches) return `skipif ${condition.engine}`;
    if (condition.kind === 'onlyif' && !matches) return `onlyif ${condition.engine}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Outcomes

export type Failure =
  | { readonly kind: 'unexpectedError'; readonly sqlstate: string | undefined; readonly message: string }
  | { readonly kind: 'missingError'; readonly expected: string }
  | { readonly kind: 'wrongError'; readonly expected: string; readonly sqlstate: string | undefined; readonly message: string }
  | { readonly kind: 'wrongColumnCount'; readonly expected: number; readonly actual: number }
  | { readonly kind: 'wrongResult'; readonly expected: readonly string[]; readonly actual: readonly string[]; readonly actualHash: string }
  | { readonly kind: 'wrongRowCount'; readonly expected: number; readonly actual: number | null }
  | { readonly kind: 'labelMismatch'; readonly label: string }
  | { readonly kind: 'timeout'; readonly timeoutMs: number }
  | { readonly kind: 'resultTooLarge'; readonly limit: number }
  | { readonly kind: 'connectionLost'; readonly message: string }
  | { readonly kind: 'badTypeString'; readonly columnTypes: string }
  | { readonly kind: 'badSubstitution'; readonly message: string }
  | { readonly kind: 'malformed'; readonly reason: string };

export type RecordOutcome =
  | { readonly status: 'passed'; readonly file: string; readonly line: number }
  | { readonly status: 'failed'; readonly file: string; readonly line: number; readonly sql: string; readonly failure: Failure }
  | { readonly status: 'skipped'; readonly file: string; readonly line: number; readonly sql: string; readonly reason: string };

export interface FileResult {
  readonly file: string;
  readonly dialect: Dialect;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly seconds: number;
  /** The failed and skipped records (up to MAX_KEPT_OUTCOMES). */
  readonly outcomes: readonly RecordOutcome[];
  /** Something went wrong around the records (reading the file, the database, cleanup). */
  readonly problems: readonly string[];
}

function clip(lines: readonly string[]): string[] {
  if (lines.length <= MAX_REPORTED_LINES) return [...lines];
  return [...lines.slice(0, MAX_REPORTED_LINES), `... (${lines.length - MAX_REPORTED_LINES} more)`];
}

/** One line saying why a record failed. */
export function describeFailure(failure: Failure): string {
  switch (failure.kind) {
    case 'unexpectedError':
      return `error ${failure.sqlstate ?? '-----'}: ${failure.message}`;
    case 'missingError':
      return `expected ${failure.expected}, but it succeeded`;
    case 'wrongError':
      return `expected ${failure.expected}, got ${failure.sqlstate ?? '-----'}: ${failure.message}`;
    case 'wrongColumnCount':
      return `expected ${failure.expected} columns, got ${failure.actual}`;
    case 'wrongResult':
      return 'wrong result';
    case 'wrongRowCount':
      return `expected ${failure.expected} rows affected, got ${failure.actual ?? 'no count'}`;
    case 'labelMismatch':
      return `result disagrees with earlier queries labelled ${failure.label}`;
    case 'timeout':
      return `no answer within ${failure.timeoutMs} ms (cancelled)`;
    case 'resultTooLarge':
      return `result larger than ${failure.limit} values (cancelled)`;
    case 'connectionLost':
      return `connection lost: ${failure.message}`;
    case 'badTypeString':
      return `type string '${failure.columnTypes}' has letters other than I, R, T`;
    case 'badSubstitution':
      return failure.message;
    case 'malformed':
      return `malformed record: ${failure.reason}`;
  }
}

/** A failure as a multi-line report: file:line, the reason, the SQL, expected and actual lines. */
export function formatOutcome(outcome: RecordOutcome): string {
  if (outcome.status === 'passed') return `${outcome.file}:${outcome.line}: passed`;
  if (outcome.status === 'skipped') return `${outcome.file}:${outcome.line}: skipped (${outcome.reason})`;
  const lines = [`${outcome.file}:${outcome.line}: ${describeFailure(outcome.failure)}`, ...outcome.sql.split('\n').map((l) => `    ${l}`)];
  if (outcome.failure.kind === 'wrongResult') {
    lines.push('  expected:', ...outcome.failure.expected.map((l) => `    ${l}`));
    lines.push('  actual:', ...outcome.failure.actual.map((l) => `    ${l}`));
    lines.push(`    (${outcome.failure.actualHash})`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Connections

type Execution =
  | { readonly kind: 'done'; readonly columns: readonly ResultColumn[]; readonly rows: readonly (readonly TextValue[])[]; readonly rowCount: number | null }
  | { readonly kind: 'error'; readonly sqlstate: string | undefined; readonly message: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'tooLarge' }
  | { readonly kind: 'connectionLost'; readonly message: string };

/** The backend key node-postgres keeps from BackendKeyData, which a cancel request needs. */
interface BackendKey {
  readonly processID: number | null;
  readonly secretKey: number | null;
}

/** Every value stays the text the server sent: rendering is the runner's job, not the driver's. */
const TEXT_ONLY_TYPES: pg.CustomTypesConfig = { getTypeParser: () => (text: string) => text };

/** PostgreSQL's CancelRequest code (1234 << 16 | 5678). */
const CANCEL_REQUEST_CODE = 80877102;

/** Sends a CancelRequest on a connection of its own; resolves when done or given up. */
function sendCancelRequest(host: string, port: number, key: BackendKey): Promise<void> {
  if (key.processID === null || key.secretKey === null) return Promise.resolve();
  const message = Buffer.alloc(16);
  message.writeInt32BE(16, 0);
  message.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  message.writeInt32BE(key.processID, 8);
  message.writeInt32BE(key.secretKey, 12);
  return new Promise((resolve) => {
    const socket = host.startsWith('/') ? connectSocket(join(host, `.s.PGSQL.${port}`)) : connectSocket(port, host);
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => socket.end(message));
    socket.once('close', done);
    socket.once('error', done);
  });
}

function errorFields(error: unknown): { sqlstate: string | undefined; message: string; fatal: boolean } {
  if (error instanceof pg.DatabaseError) {
    // FATAL and PANIC end the session: the server closes the connection after sending them.
    return { sqlstate: error.code, message: error.message, fatal: error.severity === 'FATAL' || error.severity === 'PANIC' };
  }
  return { sqlstate: undefined, message: error instanceof Error ? error.message : String(error), fatal: true };
}

function openClient(url: string, queryTimeoutMs?: number): pg.Client {
  return new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'cairn-slt',
    types: TEXT_ONLY_TYPES,
    ...(queryTimeoutMs === undefined ? {} : { query_timeout: queryTimeoutMs }),
  });
}

/** Closes a client without waiting on a server that may not answer. */
async function closeClient(client: pg.Client): Promise<void> {
  const ended = client.end().catch(() => {});
  const late = new Promise<void>((resolve) => setTimeout(resolve, CANCEL_GRACE_MS).unref());
  await Promise.race([ended, late]);
  client.connection.stream.destroy();
}

/**
 * One connection to the file's database. A query that outlives its timeout is cancelled; if the
 * server does not give the connection back, it is dropped and a new one opened for the next
 * record (session state such as an open transaction is lost then).
 */
class Session {
  private client: pg.Client | undefined;
  private broken: string | undefined;
  /** Set when reconnecting failed: every later record fails at once instead of waiting again. */
  private dead: string | undefined;

  constructor(private readonly url: string) {}

  async open(): Promise<string | undefined> {
    const client = openClient(this.url);
    client.on('error', (error) => {
      this.broken = error.message;
    });
    client.on('end', () => {
      this.broken ??= 'the server closed the connection';
    });
    try {
      await client.connect();
    } catch (error) {
      client.connection.stream.destroy();
      return errorFields(error).message;
    }
    this.client = client;
    this.broken = undefined;
    return undefined;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await closeClient(client);
  }

  async execute(sql: string, timeoutMs: number): Promise<Execution> {
    if (this.dead !== undefined) return { kind: 'connectionLost', message: this.dead };
    if (this.client === undefined || this.broken !== undefined) {
      const why = this.broken ?? 'not connected';
      await this.close();
      const failed = await this.open();
      if (failed !== undefined) {
        this.dead = `reconnecting after "${why}" failed: ${failed}`;
        return { kind: 'connectionLost', message: this.dead };
      }
    }
    return this.executeOn(this.client!, sql, timeoutMs);
  }

  private executeOn(client: pg.Client, sql: string, timeoutMs: number): Promise<Execution> {
    return new Promise((resolve) => {
      const config: pg.QueryArrayConfig = { text: sql, rowMode: 'array', types: TEXT_ONLY_TYPES };
      const query = new pg.Query(config);
      // Rows are kept per statement of a multi-statement text; the last result set is the answer.
      let current: pg.QueryResultBase | undefined;
      let rows: TextValue[][] = [];
      let valueCount = 0;
      let interruption: 'timeout' | 'tooLarge' | undefined;
      let settled = false;
      let graceTimer: NodeJS.Timeout | undefined;
      let cancelSent: Promise<void> = Promise.resolve();

      const settle = (execution: Execution): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(graceTimer);
        const final: Execution = interruption === undefined ? execution : { kind: interruption };
        // The next statement waits for the cancel to be delivered: a cancel that arrives while the
        // backend is idle does nothing, one that arrives late would stop the wrong statement.
        void cancelSent.then(() => resolve(final));
      };
      const interrupt = (why: 'timeout' | 'tooLarge'): void => {
        if (interruption !== undefined) return;
        interruption = why;
        cancelSent = sendCancelRequest(client.host, client.port, client as unknown as BackendKey);
        graceTimer = setTimeout(() => {
          // The server did not answer the cancel: give up on this connection.
          this.broken = 'a cancelled statement did not stop';
          client.connection.stream.destroy();
          settle({ kind: interruption! });
        }, CANCEL_GRACE_MS);
      };
      const timer = setTimeout(() => interrupt('timeout'), timeoutMs);

      query.on('row', (row: TextValue[], result?: pg.QueryResultBase) => {
        if (interruption !== undefined) return;
        if (result !== current) {
          current = result;
          rows = [];
        }
        valueCount += row.length;
        if (valueCount > MAX_RESULT_VALUES) {
          rows = [];
          interrupt('tooLarge');
          return;
        }
        rows.push(row);
      });
      query.on('error', (error: Error) => {
        if (this.broken !== undefined) {
          settle({ kind: 'connectionLost', message: `${this.broken} (${error.message})` });
          return;
        }
        const { sqlstate, message, fatal } = errorFields(error);
        if (fatal) {
          // A session that ends is not a statement that failed: it never satisfies `statement
          // error`, so a server that drops connections cannot pass records by crashing.
          this.broken = message;
          settle({ kind: 'connectionLost', message: sqlstate === undefined ? message : `${sqlstate}: ${message}` });
          return;
        }
        settle({ kind: 'error', sqlstate, message });
      });
      query.on('end', (results: pg.QueryResultBase | pg.QueryResultBase[]) => {
        const list = Array.isArray(results) ? results : [results];
        const withColumns = [...list].reverse().find((result) => result.fields.length > 0);
        const answer = withColumns ?? list[list.length - 1];
        const columns = (answer?.fields ?? []).map((field) => ({ name: field.name, typeOid: field.dataTypeID }));
        settle({
          kind: 'done',
          columns,
          rows: answer !== undefined && answer === current ? rows : [],
          rowCount: answer?.rowCount ?? null,
        });
      });
      client.query(query);
    });
  }
}

/** Replaces the database part of a connection URL. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

let databaseSequence = 0;

function freshDatabaseName(): string {
  databaseSequence++;
  return `slt_${process.pid}_${databaseSequence}_${randomBytes(3).toString('hex')}`;
}

/** Runs one administrative statement on a short-lived connection to the URL's own database. */
async function administer(url: string, sql: string): Promise<string | undefined> {
  const client = openClient(url, ADMIN_TIMEOUT_MS);
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(sql);
    return undefined;
  } catch (error) {
    return errorFields(error).message;
  } finally {
    await closeClient(client);
  }
}

async function dropDatabase(url: string, name: string): Promise<string | undefined> {
  const plain = await administer(url, `DROP DATABASE IF EXISTS ${quoteIdentifier(name)}`);
  if (plain === undefined) return undefined;
  // A backend of a dropped connection may linger; FORCE (PostgreSQL 13+) ends it.
  const forced = await administer(url, `DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
  return forced === undefined ? undefined : `could not drop database ${name}: ${plain}; with FORCE: ${forced}`;
}

// ---------------------------------------------------------------------------------------------
// Finding and loading scripts

const GLOB_CHARACTERS = /[*?[{]/;

/** A glob as a regular expression over '/'-separated paths: `**`, `*`, `?`, `[...]`, `{a,b}`. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        out += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) {
        out += '\\[';
      } else {
        out += `[${glob.slice(i + 1, end).replace(/^!/, '^').replaceAll('\\', '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = glob.indexOf('}', i + 1);
      if (end < 0) {
        out += '\\{';
      } else {
        out += `(?:${glob
          .slice(i + 1, end)
          .split(',')
          .map((alternative) => alternative.replace(/[.+^$()|\\]/g, '\\$&'))
          .join('|')})`;
        i = end;
      }
    } else {
      out += c.replace(/[.+^$()|\\\]}]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}

/** Whether a file name looks like a sqllogictest script. */
export function isScriptFile(path: string): boolean {
  return path.endsWith('.test') || path.endsWith('.slt');
}

async function walk(directory: string, found: string[], budget: { entries: number }): Promise<void> {
  const entries = await readdir(directory, { withFileTypes: true });
  entries.sort((a, b) => compareBytewise(a.name, b.name));
  for (const entry of entries) {
    if (--budget.entries < 0) throw new Error(`more than ${MAX_WALK_ENTRIES} entries under ${directory}`);
    const path = join(directory, entry.name);
    if (entry.isDirectory()) await walk(path, found, budget);
    else if (entry.isFile()) found.push(path);
  }
}

/**
 * The files a path, directory or glob names, sorted. A directory gives every `.test` and `.slt`
 * file under it; a glob is matched against paths relative to its first wildcard-free directories.
 */
export async function findScriptFiles(pattern: string, baseDirectory: string = process.cwd()): Promise<string[]> {
  const absolute = resolve(baseDirectory, pattern);
  if (!GLOB_CHARACTERS.test(pattern)) {
    const info = await stat(absolute).catch(() => undefined);
    if (info === undefined) return [];
    if (info.isFile()) return [absolute];
    const found: string[] = [];
    await walk(absolute, found, { entries: MAX_WALK_ENTRIES });
    return found.filter(isScriptFile);
  }
  const parts = absolute.split(sep);
  const firstGlob = parts.findIndex((part) => GLOB_CHARACTERS.test(part));
  const root = parts.slice(0, firstGlob).join(sep) || sep;
  const matcher = globToRegExp(parts.slice(firstGlob).join('/'));
  const found: string[] = [];
  const info = await stat(root).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) return [];
  await walk(root, found, { entries: MAX_WALK_ENTRIES });
  return found.filter((path) => matcher.test(relative(root, path).split(sep).join('/')));
}

/** A record together with the file it was read from (includes bring in other files). */
interface PlacedRecord {
  readonly file: string;
  readonly record: ScriptRecord;
}

async function readScript(path: string): Promise<string> {
  const info = await stat(path);
  if (info.size > MAX_SCRIPT_BYTES) throw new Error(`${path} is larger than ${MAX_SCRIPT_BYTES} bytes`);
  return readFile(path, 'utf8');
}

/** Parses a script and splices in the files its `include` records name. */
async function expandIncludes(
  text: string,
  file: string,
  directory: string,
  depth: number,
  display: (path: string) => string,
): Promise<PlacedRecord[]> {
  const placed: PlacedRecord[] = [];
  for (const record of parseScript(text)) {
    if (record.kind !== 'include') {
      placed.push({ file, record });
      continue;
    }
    const malformed = (reason: string): void => {
      placed.push({ file, record: { kind: 'malformed', line: record.line, conditions: record.conditions, reason, text: `include ${record.pattern}` } });
    };
    if (depth >= MAX_INCLUDE_DEPTH) {
      malformed(`includes nest deeper than ${MAX_INCLUDE_DEPTH}`);
      continue;
    }
    const matched = GLOB_CHARACTERS.test(record.pattern)
      ? await findScriptFiles(record.pattern, directory).catch((): string[] => [])
      : (await stat(resolve(directory, record.pattern)).catch(() => undefined))?.isFile() === true
        ? [resolve(directory, record.pattern)]
        : [];
    if (matched.length === 0) {
      malformed(`include ${record.pattern} matches no file`);
      continue;
    }
    for (const path of matched) {
      try {
        placed.push(...(await expandIncludes(await readScript(path), display(path), dirname(path), depth + 1, display)));
      } catch (error) {
        malformed(`cannot read ${path}: ${errorFields(error).message}`);
      }
    }
  }
  return placed;
}

// ---------------------------------------------------------------------------------------------
// Running

export interface RunOptions {
  /** Server to test; files get their own databases, created and dropped through this URL. */
  readonly url: string;
  /** The engine name `skipif` / `onlyif` compare with (DEFAULT_ENGINE when absent). */
  readonly engine?: string;
  readonly recordTimeoutMs?: number;
  /** Called with every record's outcome as it happens (also passes). */
  readonly onOutcome?: (outcome: RecordOutcome) => void;
  /** When aborted, the file stops after the record in flight and cleans up. */
  readonly signal?: AbortSignal;
}

export interface ScriptSource {
  readonly text: string;
  /** The name outcomes carry. */
  readonly name: string;
  readonly dialect: Dialect;
  /** Where `include` paths are resolved from. */
  readonly directory: string;
}

/** Runs one script file; `displayName` is how the file and its includes are named in outcomes. */
export async function runFile(path: string, options: RunOptions, displayName?: string): Promise<FileResult> {
  const name = displayName ?? path;
  let text: string;
  try {
    text = await readScript(path);
  } catch (error) {
    return { file: name, dialect: dialectForPath(path), passed: 0, failed: 0, skipped: 0, seconds: 0, outcomes: [], problems: [`cannot read: ${errorFields(error).message}`] };
  }
  return runScript({ text, name, dialect: dialectForPath(path), directory: dirname(resolve(path)) }, options);
}

/** Runs a script given as text in a fresh database. */
export async function runScript(source: ScriptSource, options: RunOptions): Promise<FileResult> {
  const started = performance.now();
  const problems: string[] = [];
  const base = resolve(source.directory);
  const display = (path: string): string => {
    const relativePath = relative(base, path);
    return relativePath.startsWith('..') ? path : join(dirname(source.name), relativePath);
  };
  const records = await expandIncludes(source.text, source.name, source.directory, 0, display);
  const database = freshDatabaseName();
  const created = await administer(options.url, `CREATE DATABASE ${quoteIdentifier(database)}`);
  const session = new Session(withDatabase(options.url, database));
  const state = new ScriptState(source.dialect, options, database);
  if (created !== undefined) {
    problems.push(`cannot create database ${database}: ${created}`);
    state.abandon(`cannot create a database for the file: ${created}`);
  } else {
    const opened = await session.open();
    if (opened !== undefined) state.abandon(`cannot connect: ${opened}`);
  }
  try {
    for (const { file, record } of records) {
      if (options.signal?.aborted === true) {
        problems.push('interrupted');
        break;
      }
      await state.run(file, record, session);
    }
  } finally {
    await session.close();
    if (created === undefined) {
      const dropped = await dropDatabase(options.url, database);
      if (dropped !== undefined) problems.push(dropped);
    }
    await state.cleanUp();
  }
  return {
    file: source.name,
    dialect: source.dialect,
    passed: state.passed,
    failed: state.failed,
    skipped: state.skipped,
    seconds: (performance.now() - started) / 1000,
    outcomes: state.kept,
    problems,
  };
}

/** What a script's records change as it runs, and the tally of outcomes. */
class ScriptState {
  passed = 0;
  failed = 0;
  skipped = 0;
  readonly kept: RecordOutcome[] = [];
  private hashThreshold: number;
  private defaultSortMode: SortMode = 'nosort';
  private substitution = false;
  private haltedAt: string | undefined;
  private abandoned: string | undefined;
  private readonly labels = new Map<string, string>();
  private testDirectory: string | undefined;
  private readonly engine: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly dialect: Dialect,
    private readonly options: RunOptions,
    private readonly database: string,
  ) {
    this.hashThreshold = dialect === 'classic' ? CLASSIC_DEFAULT_HASH_THRESHOLD : SLT_DEFAULT_HASH_THRESHOLD;
    this.engine = options.engine ?? DEFAULT_ENGINE;
    this.timeoutMs = options.recordTimeoutMs ?? DEFAULT_RECORD_TIMEOUT_MS;
  }

  /** Every later record fails with this reason without being run. */
  abandon(reason: string): void {
    this.abandoned = reason;
  }

  async cleanUp(): Promise<void> {
    if (this.testDirectory !== undefined) await rm(this.testDirectory, { recursive: true, force: true });
  }

  private record(outcome: RecordOutcome): void {
    if (outcome.status === 'passed') this.passed++;
    else if (outcome.status === 'failed') this.failed++;
    else this.skipped++;
    if (outcome.status !== 'passed' && this.kept.length < MAX_KEPT_OUTCOMES) this.kept.push(outcome);
    this.options.onOutcome?.(outcome);
  }

  async run(file: string, record: ScriptRecord, session: Session): Promise<void> {
    const counted = record.kind === 'statement' || record.kind === 'query' || record.kind === 'malformed' || record.kind === 'unsupported';
    const sql = record.kind === 'statement' || record.kind === 'query' ? record.sql : record.kind === 'malformed' || record.kind === 'unsupported' ? record.text : '';
    const where = { file, line: record.line };
    if (this.haltedAt !== undefined) {
      if (counted) this.record({ status: 'skipped', ...where, sql, reason: `after halt at ${this.haltedAt}` });
      return;
    }
    const excluded = conditionsExclude(record.conditions, this.engine);
    if (excluded !== undefined) {
      if (counted) this.record({ status: 'skipped', ...where, sql, reason: excluded });
      return;
    }
    switch (record.kind) {
      case 'hashThreshold':
        this.hashThreshold = record.threshold;
        return;
      case 'halt':
        this.haltedAt = `${file}:${record.line}`;
        return;
      case 'control':
        if (record.setting.kind === 'sortMode') this.defaultSortMode = record.setting.mode;
        else this.substitution = record.setting.enabled;
        return;
      case 'sleep':
        await new Promise((resolve) => setTimeout(resolve, record.milliseconds));
        return;
      case 'include':
        // Includes were spliced in when the script was loaded.
        return;
      case 'unsupported':
        this.record({ status: 'skipped', ...where, sql, reason: record.reason });
        return;
      case 'malformed':
        this.record({ status: 'failed', ...where, sql, failure: { kind: 'malformed', reason: record.reason } });
        return;
      case 'statement':
      case 'query': {
        if (this.abandoned !== undefined) {
          this.record({ status: 'failed', ...where, sql, failure: { kind: 'connectionLost', message: this.abandoned } });
          return;
        }
        const failure = await this.execute(record, session);
        this.record(failure === undefined ? { status: 'passed', ...where } : { status: 'failed', ...where, sql, failure });
      }
    }
  }

  private async substitute(sql: string): Promise<string | Failure> {
    if (!this.substitution) return sql;
    const unknown: string[] = [];
    const variables: Record<string, () => string> = {
      __TEST_DIR__: () => this.testDirectory!,
      __DATABASE__: () => this.database,
      __NOW__: () => (BigInt(Date.now()) * 1_000_000n).toString(),
    };
    if (/\$\{?__TEST_DIR__\b/.test(sql) && this.testDirectory === undefined) {
      this.testDirectory = await mkdtemp(join(tmpdir(), 'cairn-slt-'));
      // The server may run as another user (PostgreSQL as postgres) and write here.
      await chmod(this.testDirectory, 0o777);
    }
    const replaced = sql.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced?: string, bare?: string) => {
      if (whole === '\\$') return '$';
      const name = braced ?? bare!;
      const value = variables[name];
      if (value === undefined) {
        unknown.push(name);
        return whole;
      }
      return value();
    });
    if (unknown.length > 0) return { kind: 'badSubstitution', message: `unknown substitution variable(s): ${unknown.join(', ')}` };
    return replaced;
  }

  private async execute(record: ScriptRecord & { kind: 'statement' | 'query' }, session: Session): Promise<Failure | undefined> {
    if (record.kind === 'query' && record.expect.kind === 'rows' && this.dialect === 'classic' && !/^[IRT]+$/.test(record.columnTypes)) {
      return { kind: 'badTypeString', columnTypes: record.columnTypes };
    }
    const sql = await this.substitute(record.sql);
    if (typeof sql !== 'string') return sql;
    const execution = await session.execute(sql, this.timeoutMs);
    if (execution.kind === 'timeout') return { kind: 'timeout', timeoutMs: this.timeoutMs };
    if (execution.kind === 'tooLarge') return { kind: 'resultTooLarge', limit: MAX_RESULT_VALUES };
    if (execution.kind === 'connectionLost') return { kind: 'connectionLost', message: execution.message };
    const expectedError = record.expect.kind === 'error' ? record.expect.error : undefined;
    if (execution.kind === 'error') {
      if (expectedError === undefined) return { kind: 'unexpectedError', sqlstate: execution.sqlstate, message: execution.message };
      if (errorMatches(expectedError, execution.sqlstate, execution.message)) return undefined;
      return { kind: 'wrongError', expected: describeExpectedError(expectedError), sqlstate: execution.sqlstate, message: execution.message };
    }
    if (expectedError !== undefined) return { kind: 'missingError', expected: describeExpectedError(expectedError) };
    if (record.kind === 'statement') {
      if (record.expect.kind === 'count' && execution.rowCount !== record.expect.rowCount) {
        return { kind: 'wrongRowCount', expected: record.expect.rowCount, actual: execution.rowCount };
      }
      return undefined;
    }
    if (record.expect.kind !== 'rows') return undefined;
    return this.checkRows(record.columnTypes, record.sortMode ?? this.defaultSortMode, record.label, record.expect.rows, execution.columns, execution.rows);
  }

  private checkRows(
    columnTypes: string,
    sortMode: SortMode,
    label: string | undefined,
    expected: ExpectedRows,
    columns: readonly ResultColumn[],
    rows: readonly (readonly TextValue[])[],
  ): Failure | undefined {
    let rendered: string[][];
    if (this.dialect === 'classic') {
      // The original harness refuses a result whose width differs from the type string.
      if (columns.length !== columnTypes.length) return { kind: 'wrongColumnCount', expected: columnTypes.length, actual: columns.length };
      const types = [...columnTypes] as ('I' | 'R' | 'T')[];
      rendered = rows.map((row) => types.map((type, i) => renderClassicValue(type, row[i] ?? null, columns[i]!.typeOid)));
    } else {
      rendered = rows.map((row) => row.map((value, i) => renderSltValue(value, columns[i]?.typeOid ?? 0)));
    }
    const sorted = sortRows(rendered, sortMode);
    const comparison = compareResults(this.dialect, sorted, expected);
    if (!comparison.matches) {
      const values = sorted.flat();
      const overThreshold = this.hashThreshold > 0 && values.length > this.hashThreshold;
      return {
        kind: 'wrongResult',
        expected: clip(comparison.expected),
        actual: clip(comparison.actual),
        actualHash: overThreshold || expected.kind === 'hash' ? hashLine(values) : `${values.length} values`,
      };
    }
    if (label !== undefined) {
      const key = label.slice(0, LABEL_KEY_LENGTH);
      const hash = hashValues(sorted.flat());
      const earlier = this.labels.get(key);
      if (earlier === undefined) this.labels.set(key, hash);
      else if (earlier !== hash) return { kind: 'labelMismatch', label };
    }
    return undefined;
  }
}
