// COPY table [(columns)] FROM STDIN in PostgreSQL's text and CSV formats: the client's data is
// split into lines and fields as it streams in, each field parsed as its column's type, missing
// columns take their defaults, and the rows are inserted in batches through the same path as
// INSERT (so constraints and indexes are honoured).
import { StringDecoder } from 'node:string_decoder';
import { SqlError, SqlState } from '../errors.js';
import type { CatalogSnapshot } from '../catalog/catalog_snapshot.js';
import type { ExecContext } from '../exec/context.js';
import { compile } from '../exec/eval.js';
import { InsertNode } from '../exec/mutations.js';
import type { Statement } from '../parser/ast.js';
import { BindEnv } from '../plan/binder.js';
import { MutationPlanner } from '../plan/mutation_planner.js';
import { planColumn, type PlanNode, type RowCursor } from '../plan/plan_node.js';
import { QueryPlanner } from '../plan/planner.js';
import type { ResultSink } from '../pgwire/session_api.js';
import type { Datum, Row } from '../types/datum.js';
import { parseText } from '../types/text_io.js';
import type { SqlSession } from './session.js';

/** Rows inserted per batch. */
const COPY_BATCH_ROWS = 1_000;
/** Longest line accepted (PostgreSQL's limit on a field is 1 GiB; this bounds memory per session). */
export const MAX_COPY_LINE_BYTES = 64 << 20;

interface CopyFormat {
  readonly csv: boolean;
  readonly delimiter: string;
  readonly nullString: string;
  readonly header: boolean;
  readonly quote: string;
  readonly escape: string;
}

function formatOf(options: ReadonlyArray<{ name: string; value?: string }>): CopyFormat {
  let csv = false;
  let delimiter: string | undefined;
  let nullString: string | undefined;
  let header = false;
  let quote = '"';
  let escape: string | undefined;
  for (const o of options) {
    const v = o.value;
    switch (o.name.toLowerCase()) {
      case 'format':
        if (v === undefined) break;
        if (v.toLowerCase() === 'csv') csv = true;
        else if (v.toLowerCase() === 'binary') throw new SqlError(SqlState.featureNotSupported, 'COPY in binary format is not supported');
        else if (v.toLowerCase() !== 'text') throw new SqlError(SqlState.invalidParameterValue, `COPY format "${v}" not recognized`);
        break;
      case 'csv':
        csv = true;
        break;
      case 'delimiter':
        delimiter = v;
        break;
      case 'null':
        nullString = v ?? '';
        break;
      case 'header':
        header = v === undefined || ['true', 'on', '1', 'yes'].includes(v.toLowerCase());
        break;
      case 'quote':
        quote = v ?? '"';
        break;
      case 'escape':
        escape = v;
        break;
      case 'freeze':
      case 'encoding':
      case 'oids':
        break;
      default:
        throw new SqlError(SqlState.syntaxError, `option "${o.name}" not recognized`);
    }
  }
  const d = delimiter ?? (csv ? ',' : '\t');
  if (d.length !== 1) throw new SqlError(SqlState.featureNotSupported, 'COPY delimiter must be a single one-byte character');
  return { csv, delimiter: d, nullString: nullString ?? (csv ? '' : '\\N'), header, quote, escape: escape ?? quote };
}

/** Splits a text-format line into fields, undoing backslash escapes; null for the NULL string. */
function textFields(line: string, f: CopyFormat): Array<string | null> {
  const raw = line.split(f.delimiter);
  return raw.map((field) => {
    if (field === f.nullString) return null;
    if (!field.includes('\\')) return field;
    let out = '';
    for (let i = 0; i < field.length; i++) {
      const c = field[i]!;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const n = field[++i];
      switch (n) {
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case 'x': {
          const m = /^[0-9a-fA-F]{1,2}/.exec(field.slice(i + 1));
          if (m) {
            out += String.fromCharCode(parseInt(m[0], 16));
            i += m[0].length;
          } else out += 'x';
          break;
        }
        case undefined:
          break;
        default:
          if (n >= '0' && n <= '7') {
            const m = /^[0-7]{1,3}/.exec(field.slice(i))!;
            out += String.fromCharCode(parseInt(m[0], 8));
            i += m[0].length - 1;
          } else out += n;
      }
    }
    return out;
  });
}

/** Splits a CSV record (already joined across quoted newlines) into fields. */
function csvFields(line: string, f: CopyFormat): Array<string | null> {
  const out: Array<string | null> = [];
  let i = 0;
  for (;;) {
    let value = '';
    let quoted = false;
    if (line[i] === f.quote) {
      quoted = true;
      i++;
      for (;;) {
        if (i >= line.length) throw new SqlError(SqlState.badCopyFileFormat, 'unterminated CSV quoted field');
        const c = line[i]!;
        if (c === f.escape && line[i + 1] === f.quote && (f.escape !== f.quote || true)) {
          value += f.quote;
          i += 2;
          continue;
        }
        if (c === f.quote) {
          i++;
          break;
        }
        value += c;
        i++;
      }
      while (i < line.length && line[i] !== f.delimiter) value += line[i++];
    } else {
      while (i < line.length && line[i] !== f.delimiter) value += line[i++];
    }
    out.push(!quoted && value === f.nullString ? null : value);
    if (i >= line.length) break;
    i++; // the delimiter
    if (i === line.length) {
      out.push(f.nullString === '' ? null : '');
      break;
    }
  }
  return out;
}

/** Whether a CSV line so far ends inside a quoted field (its record continues on the next line). */
function csvOpen(line: string, f: CopyFormat): boolean {
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inQuote) {
      if (c === f.escape && line[i + 1] === f.quote) i++;
      else if (c === f.quote) inQuote = false;
    } else if (c === f.quote) inQuote = true;
  }
  return inQuote;
}

class RowsNode implements PlanNode {
  constructor(
    readonly columns: ReturnType<typeof planColumn>[],
    private readonly rows: Row[],
  ) {}
  open(): RowCursor {
    let done = false;
    return {
      next: async () => {
        if (done || this.rows.length === 0) return null;
        done = true;
        return this.rows;
      },
      close: () => {},
    };
  }
  explain() {
    return { title: 'COPY rows', details: [], children: [] };
  }
}

export async function runCopyFrom(session: SqlSession, s: Extract<Statement, { kind: 'copy' }>, sink: ResultSink, ctx: ExecContext, catalog: CatalogSnapshot): Promise<number> {
  const env = new BindEnv(session.typeSettings, [], { database: session.database, user: session.user });
  const planner = new QueryPlanner(env, session.namesFor(catalog), session.gateway.virtualTables);
  const { table } = planner.names.requireTable(s.table!, 'COPY');
  if (table.view !== undefined || table.sequence !== undefined) throw new SqlError(SqlState.wrongObjectType, `cannot copy to ${table.view ? 'view' : 'sequence'} "${table.name}"`);
  const format = formatOf(s.options);
  let targets: number[];
  if (s.columns.length > 0) {
    targets = s.columns.map((name) => {
      const i = table.columns.findIndex((c) => c.name === name && c.state === 'public');
      if (i < 0) throw new SqlError(SqlState.undefinedColumn, `column "${name}" of relation "${table.name}" does not exist`);
      return i;
    });
  } else {
    targets = table.columns.map((c, i) => ({ c, i })).filter((x) => x.c.state === 'public' && !x.c.hidden).map((x) => x.i);
  }
  const mp = new MutationPlanner(planner);
  const defaults = table.columns.map((c, i) => (targets.includes(i) || c.state === 'deleteOnly' ? undefined : compile(mp.defaultFor(table, c))));
  const checks = mp.checksOf(table, table.name);
  const columns = table.columns.map((c) => planColumn(c.name, c.type));

  const stream = sink.copyIn(0, targets.map(() => 0 as const));
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let pending: Row[] = [];
  let count = 0;
  let lineNo = 0;
  let headerSkipped = !format.header;
  let ended = false;

  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const node = new InsertNode(table, new RowsNode(columns, pending), checks, undefined, undefined, []);
    const cursor = node.open(ctx);
    while ((await cursor.next()) !== null);
    count += node.affected;
    pending = [];
  };

  const handleLine = async (line: string): Promise<void> => {
    lineNo++;
    if (!headerSkipped) {
      headerSkipped = true;
      return;
    }
    if (line === '\\.') {
      ended = true;
      return;
    }
    const fields = format.csv ? csvFields(line, format) : textFields(line, format);
    if (fields.length !== targets.length) {
      throw new SqlError(SqlState.badCopyFileFormat, fields.length < targets.length ? `missing data for column "${table.columns[targets[fields.length]!]!.name}"` : 'extra data after last expected column', {
        detail: `COPY ${table.name}, line ${lineNo}`,
      });
    }
    const row: Datum[] = new Array(table.columns.length).fill(null);
    for (let j = 0; j < targets.length; j++) {
      const pos = targets[j]!;
      const v = fields[j]!;
      try {
        row[pos] = v === null ? null : parseText(v, table.columns[pos]!.type, ctx.settings);
      } catch (err) {
        if (err instanceof SqlError) throw new SqlError(err.code, err.message, { ...err.fields, detail: `COPY ${table.name}, line ${lineNo}, column ${table.columns[pos]!.name}: "${v}"` });
        throw err;
      }
    }
    for (let p = 0; p < defaults.length; p++) {
      const d = defaults[p];
      if (d !== undefined) row[p] = d.async ? await d.run([], ctx) : d.sync!([], ctx);
    }
    pending.push(row);
    if (pending.length >= COPY_BATCH_ROWS) await flush();
  };

  for await (const chunk of stream) {
    if (ended) continue; // data after \. is ignored, as PostgreSQL does
    carry += decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    let nl: number;
    let from = 0;
    while ((nl = carry.indexOf('\n', from)) >= 0) {
      let line = carry.slice(0, nl);
      if (format.csv && csvOpen(line, format)) {
        from = nl + 1;
        continue;
      }
      carry = carry.slice(nl + 1);
      from = 0;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      await handleLine(line);
      if (ended) break;
    }
    if (carry.length > MAX_COPY_LINE_BYTES) throw new SqlError(SqlState.programLimitExceeded, `COPY line exceeds ${MAX_COPY_LINE_BYTES} bytes`);
    ctx.checkCancelled();
  }
  carry += decoder.end();
  if (!ended && carry.length > 0) await handleLine(carry.endsWith('\r') ? carry.slice(0, -1) : carry);
  await flush();
  return count;
}
