// The backslash commands of `cairn sql` (`\q`, `\?`, `\c`, `\l`, `\dt`, `\d`, `\timing`). The
// informational ones send ordinary, deliberately plain SQL against pg_catalog: a subset of the
// tables and functions psql's own `\l`, `\dt` and `\d` use (pg_database, pg_class, pg_namespace,
// pg_attribute, pg_attrdef, pg_index; format_type, pg_get_expr, pg_get_indexdef), which Cairn's
// virtual catalog is to answer for psql anyway. No regular expressions, no visibility functions,
// no parameters (names are sent as literals), so the simple protocol is enough.
import { SqlError, SqlState } from '../sql/errors.js';
import type { ResultColumn } from './sql_result_printer.js';

/** A result collected whole: what the informational commands print or inspect. */
export interface CollectedResult {
  readonly columns: readonly ResultColumn[];
  readonly rows: readonly (readonly (string | null)[])[];
}

/** What a backslash command may do to the shell that runs it. */
export interface MetaCommandShell {
  /** Human formats (table, records) get titles and lists; csv and tsv only results. */
  readonly humanOutput: boolean;
  write(text: string): void;
  query(sql: string): Promise<CollectedResult>;
  print(result: CollectedResult, options: { rowCount: boolean }): void;
  /** Replaces the connection by one to `database`; keeps the current one if that fails (and throws). */
  connectTo(database: string): Promise<void>;
  /** One line describing the current connection. */
  connectionSummary(): string;
  timing: boolean;
}

export type MetaCommandOutcome = 'continue' | 'quit';

export const META_COMMAND_HELP = `General
  \\q, quit, exit      leave the shell (Ctrl-D too)
  \\?                  show this help
  \\timing [on|off]    show how long each statement takes
Connection
  \\c [DATABASE]       connect to another database (without one: show the connection)
Informational
  \\l                  list databases
  \\dt                 list tables
  \\d [[SCHEMA.]TABLE] describe a table (without one: list tables and views)
A statement ends with a semicolon and may span lines; Ctrl-C cancels the line being typed or the
running statement.
`;

/** A string literal (standard_conforming_strings: only the quote is doubled). */
function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function usage(message: string): SqlError {
  return new SqlError(SqlState.syntaxError, message);
}

/** Splits the arguments of a backslash command at blanks; "double quotes" keep blanks and case. */
export function metaArguments(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let quoted = false;
  let inToken = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        current += '""';
        i++;
      } else {
        if (c === '"') quoted = false;
        current += c;
      }
    } else if (c === ' ' || c === '\t') {
      if (inToken) args.push(current);
      current = '';
      inToken = false;
    } else {
      if (c === '"') quoted = true;
      current += c;
      inToken = true;
    }
  }
  if (quoted) throw usage(`unterminated quoted name in ${text.trim()}`);
  if (inToken) args.push(current);
  return args;
}

/** `name`, `schema.name`, `"Mixed Case"."T"`: the parts, unquoted names folded to lower case. */
export function qualifiedNameParts(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        current += '"';
        i++;
      } else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"') quoted = true;
    else if (c === '.') {
      parts.push(current);
      current = '';
    } else current += c.toLowerCase();
  }
  parts.push(current);
  if (parts.some((p) => p === '')) throw usage(`"${text}" is not a table name`);
  return parts;
}

function listDatabasesSql(): string {
  return 'SELECT datname AS "Name" FROM pg_catalog.pg_database ORDER BY 1';
}

/** pg_class.relkind of what `\d` lists, and the word shown for it. */
const RELATION_KINDS: ReadonlyArray<readonly [string, string]> = [
  ['r', 'table'],
  ['p', 'partitioned table'],
  ['v', 'view'],
  ['m', 'materialized view'],
  ['S', 'sequence'],
  ['f', 'foreign table'],
];
const TABLE_KINDS = ['r', 'p'];

const kindList = (kinds: readonly string[]): string => `(${kinds.map(literal).join(', ')})`;

/** User relations: not in the system schemas (pg_catalog, information_schema, pg_toast). */
const USER_SCHEMAS = `n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_toast%'`;

function listRelationsSql(tablesOnly: boolean): string {
  const kinds = tablesOnly ? TABLE_KINDS : RELATION_KINDS.map(([k]) => k);
  const type = tablesOnly ? '' : `, CASE c.relkind ${RELATION_KINDS.map(([k, word]) => `WHEN ${literal(k)} THEN ${literal(word)}`).join(' ')} END AS "Type"`;
  return (
    `SELECT n.nspname AS "Schema", c.relname AS "Name"${type} ` +
    `FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ` +
    `WHERE c.relkind IN ${kindList(kinds)} AND ${USER_SCHEMAS} ORDER BY 1, 2`
  );
}

function findRelationsSql(parts: readonly string[]): string {
  const name = parts[parts.length - 1]!;
  const schema = parts.length === 2 ? ` AND n.nspname = ${literal(parts[0]!)}` : '';
  return (
    `SELECT c.oid, n.nspname, c.relname, c.relkind ` +
    `FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ` +
    `WHERE c.relname = ${literal(name)}${schema} AND c.relkind IN ${kindList(RELATION_KINDS.map(([k]) => k))} ORDER BY 2`
  );
}

function columnsSql(relationOid: string): string {
  return (
    `SELECT a.attname AS "Column", pg_catalog.format_type(a.atttypid, a.atttypmod) AS "Type", ` +
    `CASE WHEN a.attnotnull THEN 'not null' ELSE '' END AS "Nullable", ` +
    `coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') AS "Default" ` +
    `FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum ` +
    `WHERE a.attrelid = ${literal(relationOid)} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`
  );
}

function indexesSql(relationOid: string): string {
  return (
    `SELECT c.relname AS "Index", pg_catalog.pg_get_indexdef(i.indexrelid) AS "Definition" ` +
    `FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid ` +
    `WHERE i.indrelid = ${literal(relationOid)} ORDER BY 1`
  );
}

async function describeTable(shell: MetaCommandShell, name: string): Promise<void> {
  const parts = qualifiedNameParts(name);
  if (parts.length > 2) throw usage(`"${name}" has too many parts: use TABLE or SCHEMA.TABLE`);
  const found = await shell.query(findRelationsSql(parts));
  if (found.rows.length === 0) throw new SqlError(SqlState.undefinedTable, `no relation named "${name}"`);
  for (const [oid, schema, relation, kind] of found.rows.map((r) => [r[0], r[1], r[2], r[3]])) {
    if (oid == null || schema == null || relation == null) continue;
    const columns = await shell.query(columnsSql(oid));
    const indexes = kind === 'r' || kind === 'p' || kind === 'm' ? await shell.query(indexesSql(oid)) : undefined;
    if (!shell.humanOutput) {
      shell.print(columns, { rowCount: false });
      if (indexes !== undefined && indexes.rows.length > 0) shell.print(indexes, { rowCount: false });
      continue;
    }
    const word = RELATION_KINDS.find(([k]) => k === kind)?.[1] ?? 'relation';
    shell.write(`${word[0]!.toUpperCase()}${word.slice(1)} "${schema}.${relation}"\n`);
    shell.print(columns, { rowCount: false });
    if (indexes !== undefined && indexes.rows.length > 0) {
      shell.write(`Indexes:\n${indexes.rows.map((r) => `    ${r[1] ?? r[0] ?? ''}\n`).join('')}\n`);
    }
  }
}

async function list(shell: MetaCommandShell, sql: string, nothing: string): Promise<void> {
  const result = await shell.query(sql);
  if (result.rows.length === 0 && shell.humanOutput) shell.write(`${nothing}\n`);
  else shell.print(result, { rowCount: true });
}

function noArguments(command: string, args: readonly string[]): void {
  if (args.length > 0) throw usage(`\\${command} takes no argument`);
}

/** Runs one backslash command line (the text from the backslash to the end of the line). */
export async function runMetaCommand(line: string, shell: MetaCommandShell): Promise<MetaCommandOutcome> {
  const text = line.trim();
  const match = /^\\(\S*)(.*)$/s.exec(text);
  if (match === null) throw usage(`not a backslash command: ${text}`);
  const command = match[1]!;
  const args = metaArguments(match[2]!);
  switch (command) {
    case 'q':
    case 'quit':
      noArguments(command, args);
      return 'quit';
    case '?':
    case 'help':
      shell.write(META_COMMAND_HELP);
      return 'continue';
    case 'timing': {
      if (args.length > 1) throw usage('\\timing takes on, off or nothing');
      const arg = args[0]?.toLowerCase();
      if (arg !== undefined && arg !== 'on' && arg !== 'off') throw usage(`\\timing takes on or off, not "${args[0]}"`);
      shell.timing = arg === undefined ? !shell.timing : arg === 'on';
      shell.write(`timing is ${shell.timing ? 'on' : 'off'}\n`);
      return 'continue';
    }
    case 'c':
    case 'connect': {
      if (args.length > 1) throw usage('\\c takes one database name');
      const target = args[0];
      if (target !== undefined) {
        // As in psql, a database name is taken as written (double quotes only protect blanks).
        const quoted = /^"(.*)"$/s.exec(target);
        const database = quoted === null ? target : quoted[1]!.replaceAll('""', '"');
        if (database === '') throw usage('\\c needs a database name');
        await shell.connectTo(database);
      }
      shell.write(`${shell.connectionSummary()}\n`);
      return 'continue';
    }
    case 'l':
      noArguments(command, args);
      await list(shell, listDatabasesSql(), 'no databases');
      return 'continue';
    case 'dt':
      noArguments(command, args);
      await list(shell, listRelationsSql(true), 'no tables');
      return 'continue';
    case 'd':
      if (args.length > 1) throw usage('\\d takes one table name');
      if (args[0] === undefined) await list(shell, listRelationsSql(false), 'no tables or views');
      else await describeTable(shell, args[0]);
      return 'continue';
    default:
      throw usage(`unknown command \\${command}; \\? lists the commands`);
  }
}
