// Reads sqllogictest scripts into records. Two dialects share this grammar: SQLite's original
// format (`.test`: one result value per line, `hash-threshold`, `skipif`/`onlyif`, `halt`) and the
// sqllogictest-rs dialect used by RisingLight (`.slt`: one result row per line, `query error`,
// `statement error <regex>`, `statement count`, `control`, `include`, `subtest`). The parser keeps
// the expected text exactly as written; what a result line means is the runner's business, because
// it depends on the dialect. Nothing here throws on bad input: a record that cannot be understood
// becomes a `malformed` record that the runner counts as failed, with the reason.

export type SortMode = 'nosort' | 'rowsort' | 'valuesort';

export const SORT_MODES: readonly SortMode[] = ['nosort', 'rowsort', 'valuesort'];

export interface Condition {
  readonly kind: 'skipif' | 'onlyif';
  /** The engine named by the condition, as written (engine names compare case-insensitively). */
  readonly engine: string;
}

export type ExpectedError =
  /** `statement error` with nothing after it: any error will do. */
  | { readonly kind: 'anyError' }
  /** `statement error <regex>`: the regex must match somewhere in the error message. */
  | { readonly kind: 'messagePattern'; readonly pattern: string }
  /** `statement error pgcode 42601 [<regex>]` (CockroachDB's form): the SQLSTATE must match. */
  | { readonly kind: 'sqlstate'; readonly code: string; readonly pattern: string | undefined }
  /** An error record with a `----` section: the message must contain that text. */
  | { readonly kind: 'messageBlock'; readonly text: string };

export type ExpectedRows =
  /** The result lines as written, in order (values or rows, by dialect). */
  | { readonly kind: 'lines'; readonly lines: readonly string[] }
  /** `N values hashing to <md5>`. */
  | { readonly kind: 'hash'; readonly valueCount: number; readonly md5: string };

export type StatementExpectation =
  | { readonly kind: 'ok' }
  | { readonly kind: 'count'; readonly rowCount: number }
  | { readonly kind: 'error'; readonly error: ExpectedError };

export type QueryExpectation =
  | { readonly kind: 'rows'; readonly rows: ExpectedRows }
  | { readonly kind: 'error'; readonly error: ExpectedError };

interface RecordBase {
  /** 1-based line of the record's command line (after its conditions). */
  readonly line: number;
  readonly conditions: readonly Condition[];
}

export interface StatementRecord extends RecordBase {
  readonly kind: 'statement';
  readonly sql: string;
  readonly expect: StatementExpectation;
}

export interface QueryRecord extends RecordBase {
  readonly kind: 'query';
  readonly sql: string;
  /** The type string (`I`, `TIR`, ...), or '' for `query error`. */
  readonly columnTypes: string;
  /** undefined when the record names none: the script's current default applies. */
  readonly sortMode: SortMode | undefined;
  readonly label: string | undefined;
  readonly expect: QueryExpectation;
}

export interface HashThresholdRecord extends RecordBase {
  readonly kind: 'hashThreshold';
  /** 0 means results are never hashed. */
  readonly threshold: number;
}

export interface HaltRecord extends RecordBase {
  readonly kind: 'halt';
}

export interface IncludeRecord extends RecordBase {
  readonly kind: 'include';
  /** A path or glob, relative to the including file. */
  readonly pattern: string;
}

export type ControlSetting =
  | { readonly kind: 'sortMode'; readonly mode: SortMode }
  | { readonly kind: 'substitution'; readonly enabled: boolean };

export interface ControlRecord extends RecordBase {
  readonly kind: 'control';
  readonly setting: ControlSetting;
}

export interface SleepRecord extends RecordBase {
  readonly kind: 'sleep';
  readonly milliseconds: number;
}

/** A record this runner recognises but cannot execute; it is counted as skipped. */
export interface UnsupportedRecord extends RecordBase {
  readonly kind: 'unsupported';
  readonly reason: string;
  readonly text: string;
}

/** A record that does not follow the format; it is counted as failed. */
export interface MalformedRecord extends RecordBase {
  readonly kind: 'malformed';
  readonly reason: string;
  readonly text: string;
}

export type ScriptRecord =
  | StatementRecord
  | QueryRecord
  | HashThresholdRecord
  | HaltRecord
  | IncludeRecord
  | ControlRecord
  | SleepRecord
  | UnsupportedRecord
  | MalformedRecord;

/** A sleep longer than this is refused: a script cannot stall a run for more than a minute. */
export const MAX_SLEEP_MS = 60_000;

const HASH_LINE = /^(\d+) values hashing to ([0-9a-f]{32})$/;
const RESULT_SEPARATOR = '----';

/** A `#` in the first column starts a comment, as in the original harness (`  #` is SQL). */
export function isCommentLine(line: string): boolean {
  return line.startsWith('#');
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}

function tokens(line: string): string[] {
  return line.trim().split(/\s+/).filter((token) => token !== '');
}

/** The text after the first `count` tokens of a line, trimmed. */
function restAfterTokens(line: string, count: number): string {
  let rest = line.trimStart();
  for (let i = 0; i < count; i++) {
    rest = rest.replace(/^\S+/, '').trimStart();
  }
  return rest.trimEnd();
}

/** Parses an expected-error description: empty, `pgcode XXXXX [regex]`, or a regex. */
function parseExpectedError(description: string, block: readonly string[] | undefined): ExpectedError {
  if (block !== undefined) return { kind: 'messageBlock', text: block.join('\n') };
  if (description === '') return { kind: 'anyError' };
  const sqlstate = /^pgcode\s+([0-9A-Z]{5})(?:\s+(.*))?$/.exec(description);
  if (sqlstate !== null) {
    const pattern = sqlstate[2]?.trim();
    return { kind: 'sqlstate', code: sqlstate[1]!, pattern: pattern === undefined || pattern === '' ? undefined : pattern };
  }
  return { kind: 'messagePattern', pattern: description };
}

function parseExpectedRows(lines: readonly string[]): ExpectedRows {
  if (lines.length === 1) {
    const hash = HASH_LINE.exec(lines[0]!.trim());
    if (hash !== null) return { kind: 'hash', valueCount: Number(hash[1]), md5: hash[2]! };
  }
  return { kind: 'lines', lines };
}

/** `1s`, `500ms`, `2m`, or a bare number of seconds (sqllogictest-rs accepts humantime durations). */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text.trim());
  if (match === null) return undefined;
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  const scale = unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000;
  return Math.round(amount * scale);
}

/**
 * Splits a script into records. Lines starting with `#` are comments wherever they appear (also
 * inside SQL and results, as in the original harness); records are separated by blank lines.
 */
export function parseScript(text: string): ScriptRecord[] {
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  const records: ScriptRecord[] = [];
  let index = 0;
  let conditions: Condition[] = [];

  /** Reads the non-comment lines from `index` up to a blank line (or `----` when asked). */
  const readBlock = (stopAtSeparator: boolean): { body: string[]; separator: boolean } => {
    const body: string[] = [];
    while (index < lines.length && !isBlank(lines[index]!)) {
      const line = lines[index]!;
      index++;
      if (isCommentLine(line)) continue;
      if (stopAtSeparator && line.trim() === RESULT_SEPARATOR) return { body, separator: true };
      body.push(line);
    }
    return { body, separator: false };
  };

  while (index < lines.length) {
    const line = lines[index]!;
    if (isBlank(line) || isCommentLine(line)) {
      index++;
      continue;
    }
    const lineNumber = index + 1;
    const words = tokens(line);
    const command = words[0]!;
    index++;
    const base = { line: lineNumber, conditions };
    const record = ((): ScriptRecord | undefined => {
      switch (command) {
        case 'skipif':
        case 'onlyif': {
          const engine = words[1];
          if (engine === undefined) {
            readBlock(false);
            return { kind: 'malformed', ...base, reason: `${command} without an engine name`, text: line };
          }
          conditions = [...conditions, { kind: command, engine }];
          return undefined;
        }
        case 'statement':
          return parseStatement(line, words, base, readBlock);
        case 'query':
          return parseQuery(line, words, base, readBlock);
        case 'hash-threshold': {
          readBlock(false);
          const threshold = Number(words[1]);
          if (words.length !== 2 || !Number.isSafeInteger(threshold) || threshold < 0) {
            return { kind: 'malformed', ...base, reason: 'hash-threshold needs one non-negative integer', text: line };
          }
          return { kind: 'hashThreshold', ...base, threshold };
        }
        case 'halt':
          readBlock(false);
          return { kind: 'halt', ...base };
        case 'include': {
          readBlock(false);
          const pattern = restAfterTokens(line, 1);
          if (pattern === '') return { kind: 'malformed', ...base, reason: 'include without a path', text: line };
          return { kind: 'include', ...base, pattern };
        }
        case 'control': {
          readBlock(false);
          const [, name, value] = words;
          if (name === 'sortmode' && value !== undefined && (SORT_MODES as readonly string[]).includes(value)) {
            return { kind: 'control', ...base, setting: { kind: 'sortMode', mode: value as SortMode } };
          }
          if (name === 'substitution' && (value === 'on' || value === 'off')) {
            return { kind: 'control', ...base, setting: { kind: 'substitution', enabled: value === 'on' } };
          }
          return { kind: 'unsupported', ...base, reason: `control ${name ?? ''} ${value ?? ''}`.trim(), text: line };
        }
        case 'subtest':
          // A subtest name only labels the records that follow; it changes nothing.
          readBlock(false);
          return undefined;
        case 'sleep': {
          readBlock(false);
          const milliseconds = parseDuration(restAfterTokens(line, 1));
          if (milliseconds === undefined || milliseconds > MAX_SLEEP_MS) {
            return { kind: 'malformed', ...base, reason: `sleep needs a duration of at most ${MAX_SLEEP_MS} ms`, text: line };
          }
          return { kind: 'sleep', ...base, milliseconds };
        }
        case 'system':
        case 'connection':
        case 'let':
        case 'require': {
          const { body } = readBlock(false);
          return {
            kind: 'unsupported',
            ...base,
            reason: `'${command}' records are not supported by this runner`,
            text: [line, ...body].join('\n'),
          };
        }
        default: {
          const { body } = readBlock(false);
          return { kind: 'malformed', ...base, reason: `unknown record type '${command}'`, text: [line, ...body].join('\n') };
        }
      }
    })();
    if (record !== undefined) {
      records.push(record);
      conditions = [];
    }
  }
  return records;
}

type BlockReader = (stopAtSeparator: boolean) => { body: string[]; separator: boolean };
type Base = Pick<RecordBase, 'line' | 'conditions'>;

function parseStatement(line: string, words: readonly string[], base: Base, readBlock: BlockReader): ScriptRecord {
  const mode = words[1];
  const { body, separator } = readBlock(mode === 'error');
  const block = separator ? readBlock(false).body : undefined;
  const sql = body.join('\n');
  const text = [line, ...body].join('\n');
  if (sql.trim() === '') return { kind: 'malformed', ...base, reason: 'statement without SQL', text };
  switch (mode) {
    case 'ok':
      if (words.length > 2) return { kind: 'malformed', ...base, reason: `unexpected text after 'statement ok'`, text };
      return { kind: 'statement', ...base, sql, expect: { kind: 'ok' } };
    case 'error':
      return { kind: 'statement', ...base, sql, expect: { kind: 'error', error: parseExpectedError(restAfterTokens(line, 2), block) } };
    case 'count': {
      const rowCount = Number(words[2]);
      if (words.length !== 3 || !Number.isSafeInteger(rowCount) || rowCount < 0) {
        return { kind: 'malformed', ...base, reason: 'statement count needs one non-negative integer', text };
      }
      return { kind: 'statement', ...base, sql, expect: { kind: 'count', rowCount } };
    }
    default:
      return { kind: 'malformed', ...base, reason: `statement must be followed by ok, error or count, not '${mode ?? ''}'`, text };
  }
}

function parseQuery(line: string, words: readonly string[], base: Base, readBlock: BlockReader): ScriptRecord {
  const { body, separator } = readBlock(true);
  const results = separator ? readBlock(false).body : [];
  const sql = body.join('\n');
  const text = [line, ...body].join('\n');
  if (sql.trim() === '') return { kind: 'malformed', ...base, reason: 'query without SQL', text };
  const columnTypes = words[1];
  if (columnTypes === undefined) return { kind: 'malformed', ...base, reason: 'query without a type string', text };
  if (columnTypes === 'error') {
    const error = parseExpectedError(restAfterTokens(line, 2), separator ? results : undefined);
    return { kind: 'query', ...base, sql, columnTypes: '', sortMode: undefined, label: undefined, expect: { kind: 'error', error } };
  }
  const sortWord = words[2];
  let sortMode: SortMode | undefined;
  if (sortWord !== undefined) {
    if (!(SORT_MODES as readonly string[]).includes(sortWord)) {
      return { kind: 'malformed', ...base, reason: `unknown sort mode '${sortWord}'`, text };
    }
    sortMode = sortWord as SortMode;
  }
  if (words.length > 4) return { kind: 'malformed', ...base, reason: 'too many words on the query line', text };
  return {
    kind: 'query',
    ...base,
    sql,
    columnTypes,
    sortMode,
    label: words[3],
    expect: { kind: 'rows', rows: parseExpectedRows(results) },
  };
}
