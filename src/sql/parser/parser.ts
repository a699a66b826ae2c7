// The parser: PostgreSQL's own grammar (libpg-query, compiled to WebAssembly) and the adapter into
// Cairn's syntax tree. Two CockroachDB forms that PostgreSQL's grammar lacks are rewritten first,
// in place and keeping every offset where possible: `UPSERT INTO` (parsed as INSERT, marked as an
// upsert) and `USE db` (as `SET database = db`).
import { loadModule, parseSync } from 'libpg-query';
import { SqlError, SqlState } from '../errors.js';
import { adaptStatement } from './adapter.js';
import type { ParsedStatement, Statement } from './ast.js';

/** Longest statement text accepted (PostgreSQL's own limit is 1 GiB; pgwire bounds messages first). */
export const MAX_SQL_LENGTH = 16 << 20;

let loaded: Promise<void> | undefined;
let ready = false;

/** Loads the parser's WebAssembly module; call once before parsing (idempotent). */
export async function initParser(): Promise<void> {
  loaded ??= loadModule().then(() => {
    ready = true;
  });
  return loaded;
}

interface Chunk {
  readonly start: number;
  readonly end: number;
}

/**
 * Splits SQL text into statements at top-level semicolons, skipping quoted strings, quoted
 * identifiers, dollar-quoted bodies and comments. Used only to find statement starts for the
 * rewrites; PostgreSQL's grammar does the real parsing.
 */
export function splitStatements(sql: string): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const quote = c;
      i++;
      while (i < n) {
        if (sql[i] === quote) {
          if (sql[i + 1] === quote) i += 2;
          else break;
        } else if (sql[i] === '\\' && quote === "'" && i > 0 && (sql[start] === 'E' || sql[start] === 'e')) {
          i += 2;
        } else i++;
      }
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(sql.slice(i, i + 64));
      if (m && !(i > 0 && /[A-Za-z_0-9]/.test(sql[i - 1]!))) {
        const tag = m[0];
        const close = sql.indexOf(tag, i + tag.length);
        i = close < 0 ? n : close + tag.length;
      } else i++;
    } else if (c === ';') {
      chunks.push({ start, end: i });
      i++;
      start = i;
    } else i++;
  }
  if (start < n) chunks.push({ start, end: n });
  return chunks;
}

/** Offset of the first token of [start, end), past whitespace and comments. */
function firstTokenAt(sql: string, start: number, end: number): number {
  let i = start;
  while (i < end) {
    if (/\s/.test(sql[i]!)) i++;
    else if (sql[i] === '-' && sql[i + 1] === '-') {
      while (i < end && sql[i] !== '\n') i++;
    } else if (sql[i] === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? end : close + 2;
    } else break;
  }
  return i;
}

interface Rewritten {
  readonly text: string;
  /** Offsets (in the rewritten text) of statements that were UPSERT. */
  readonly upserts: Set<number>;
}

function rewrite(sql: string): Rewritten {
  const upserts = new Set<number>();
  let out = '';
  let copied = 0;
  for (const chunk of splitStatements(sql)) {
    const at = firstTokenAt(sql, chunk.start, chunk.end);
    const word = /^[A-Za-z]+/.exec(sql.slice(at, at + 8))?.[0]?.toLowerCase();
    if (word === 'upsert') {
      out += sql.slice(copied, at) + 'INSERT';
      upserts.add(out.length - 6);
      copied = at + 6;
    } else if (word === 'use') {
      const rest = sql.slice(at + 3, chunk.end);
      const m = /^\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z_0-9$]*)\s*$/.exec(rest);
      if (m) {
        out += sql.slice(copied, at) + `SET database = ${m[1]}`;
        copied = chunk.end;
      }
    }
  }
  out += sql.slice(copied);
  return { text: out, upserts };
}

/** 1-based character position of a byte offset in the UTF-8 encoding of `text`. */
function charPosition(text: string, byteOffset: number): number {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.subarray(0, Math.max(0, Math.min(byteOffset, bytes.length))).toString('utf8').length + 1;
}

interface RawParseResult {
  stmts?: Array<{ stmt?: unknown; stmt_location?: number; stmt_len?: number }>;
}

/** Parses a query string into statements. Throws SqlError 42601 for a syntax error, 0A000 for unsupported syntax. */
export function parseSql(sql: string): ParsedStatement[] {
  if (!ready) throw new SqlError(SqlState.internalError, 'the SQL parser is not loaded (initParser was not awaited)');
  if (sql.length > MAX_SQL_LENGTH) throw new SqlError(SqlState.programLimitExceeded, `statement text exceeds ${MAX_SQL_LENGTH} characters`);
  if (sql.includes('\0')) throw new SqlError(SqlState.syntaxError, 'invalid byte sequence: the statement contains a zero byte');
  const { text, upserts } = rewrite(sql);
  let result: RawParseResult;
  try {
    result = parseSync(text) as RawParseResult;
  } catch (err) {
    const details = (err as { sqlDetails?: { cursorPosition?: number; message?: string } }).sqlDetails;
    const message = details?.message ?? (err instanceof Error ? err.message : String(err));
    const position = details?.cursorPosition;
    throw new SqlError(SqlState.syntaxError, message, position !== undefined && position >= 0 ? { position: charPosition(text, position) } : {});
  }
  const bytes = Buffer.from(text, 'utf8');
  const out: ParsedStatement[] = [];
  for (const raw of result.stmts ?? []) {
    const locationBytes = raw.stmt_location ?? 0;
    const lengthBytes = raw.stmt_len ?? 0;
    const stmtText = (lengthBytes > 0 ? bytes.subarray(locationBytes, locationBytes + lengthBytes) : bytes.subarray(locationBytes)).toString('utf8').trim();
    if (raw.stmt === undefined) continue;
    let statement = adaptStatement(raw.stmt, stmtText);
    const location = Buffer.from(bytes.subarray(0, locationBytes)).toString('utf8').length;
    const firstToken = firstTokenAt(text, location, text.length);
    if (statement.kind === 'insert' && upserts.has(firstToken)) statement = { ...statement, upsert: true };
    out.push({ statement, text: stmtText, location, length: stmtText.length, tag: commandTag(statement) });
  }
  return out;
}

/** The command tag's verb(s), as PostgreSQL sends it in CommandComplete (row counts are added later). */
export function commandTag(s: Statement): string {
  switch (s.kind) {
    case 'query':
      return 'SELECT';
    case 'insert':
      return 'INSERT';
    case 'update':
      return 'UPDATE';
    case 'delete':
      return 'DELETE';
    case 'createTable':
      return s.asQuery ? 'SELECT' : 'CREATE TABLE';
    case 'createIndex':
      return 'CREATE INDEX';
    case 'createDatabase':
      return 'CREATE DATABASE';
    case 'createSchema':
      return 'CREATE SCHEMA';
    case 'createView':
      return 'CREATE VIEW';
    case 'createSequence':
      return 'CREATE SEQUENCE';
    case 'drop':
      return `DROP ${s.object.toUpperCase()}`;
    case 'alterTable':
      return 'ALTER TABLE';
    case 'renameObject':
      return `ALTER ${s.object.toUpperCase()}`;
    case 'truncate':
      return 'TRUNCATE TABLE';
    case 'transaction':
      switch (s.action) {
        case 'begin':
        case 'start':
          return 'BEGIN';
        case 'commit':
          return 'COMMIT';
        case 'rollback':
          return 'ROLLBACK';
        case 'savepoint':
          return 'SAVEPOINT';
        case 'release':
          return 'RELEASE';
        case 'rollbackTo':
          return 'ROLLBACK';
        case 'prepare':
          return 'PREPARE TRANSACTION';
        case 'commitPrepared':
          return 'COMMIT PREPARED';
        case 'rollbackPrepared':
          return 'ROLLBACK PREPARED';
      }
      return 'BEGIN';
    case 'set':
      return 'SET';
    case 'reset':
      return 'RESET';
    case 'show':
      return 'SHOW';
    case 'copy':
      return 'COPY';
    case 'explain':
      return 'EXPLAIN';
    case 'prepare':
      return 'PREPARE';
    case 'execute':
      return 'EXECUTE';
    case 'deallocate':
      return s.name === undefined ? 'DEALLOCATE ALL' : 'DEALLOCATE';
    case 'discard':
      return s.target === 'all' ? 'DISCARD ALL' : `DISCARD ${s.target.toUpperCase()}`;
    case 'comment':
      return 'COMMENT';
    case 'analyze':
      return 'ANALYZE';
    case 'listen':
      return 'LISTEN';
    case 'unlisten':
      return 'UNLISTEN';
    case 'notify':
      return 'NOTIFY';
    case 'grant':
      return 'GRANT';
  }
}
