// The output formats of `cairn sql`. Results arrive as the server sends them (the columns, then
// row after row, then the command tag); a printer turns them into text:
//
//   table    aligned columns as psql prints them: centred headers, a rule, numbers right-aligned,
//            multi-line values continued with `+`, then `(N rows)` and a blank line. NULL is shown
//            as NULL. Rows are laid out in groups of TABLE_GROUP_ROWS, so a huge result is never
//            held whole: a later group may widen a column, never narrow it.
//   records  one block per row (psql's expanded mode, `\x`): `-[ RECORD n ]`, then name | value.
//   csv      RFC 4180: a header line, then one line per row; a field is quoted when it holds the
//            delimiter, a quote, a line break, or is `\.`; NULL is an empty field.
//   tsv      the same with tabs.
//
// A statement without rows prints its command tag (`CREATE TABLE`, `INSERT 0 3`). After rows, the
// human formats also print the tag of INSERT, UPDATE, DELETE and MERGE (with RETURNING), as psql does.
// COPY ... TO STDOUT writes its data as it comes and, like psql, no tag after it.
import { Oid } from '../sql/types/oids.js';
import { type DisplayLine, displayLines } from './sql_display_text.js';

export type SqlOutputFormat = 'table' | 'records' | 'csv' | 'tsv';
export const SQL_OUTPUT_FORMATS: readonly SqlOutputFormat[] = ['table', 'records', 'csv', 'tsv'];

/** Rows laid out together by the table format (and the records format): the bound on rows held. */
export const TABLE_GROUP_ROWS = 10_000;

export interface ResultColumn {
  readonly name: string;
  readonly typeOid: number;
}

/** Receives one statement's results as they arrive from the server. */
export interface ResultSink {
  /** A RowDescription: rows follow. */
  columns(columns: readonly ResultColumn[]): void;
  row(values: readonly (string | null)[]): void;
  /** Data of a COPY ... TO STDOUT. */
  copyData(chunk: string): void;
  /** CommandComplete: the end of one result. */
  complete(tag: string): void;
}

export interface PrinterOptions {
  /** Print `(N rows)` after a table (and `(0 rows)` for empty records). Default true. */
  readonly rowCount?: boolean;
}

const NULL_TEXT = 'NULL';

/** Types psql right-aligns: the numbers. */
const RIGHT_ALIGNED = new Set<number>([Oid.int2, Oid.int4, Oid.int8, Oid.float4, Oid.float8, Oid.numeric, Oid.oid, Oid.xid, Oid.cid, Oid.money]);

const TAGS_AFTER_ROWS = ['INSERT', 'UPDATE', 'DELETE', 'MERGE'];

function tagAfterRows(tag: string): boolean {
  const verb = tag.split(' ', 1)[0]!;
  return TAGS_AFTER_ROWS.includes(verb);
}

function rowCountLine(n: number): string {
  return `(${n} ${n === 1 ? 'row' : 'rows'})\n`;
}

function widthOf(lines: readonly DisplayLine[]): number {
  let w = 0;
  for (const l of lines) w = Math.max(w, l.width);
  return w;
}

const spaces = (n: number): string => (n > 0 ? ' '.repeat(n) : '');

export function createResultPrinter(format: SqlOutputFormat, write: (text: string) => void, options: PrinterOptions = {}): ResultSink {
  const rowCount = options.rowCount ?? true;
  switch (format) {
    case 'table':
      return new TablePrinter(write, rowCount);
    case 'records':
      return new RecordsPrinter(write, rowCount);
    case 'csv':
      return new DelimitedPrinter(write, ',');
    case 'tsv':
      return new DelimitedPrinter(write, '\t');
  }
}

class TablePrinter implements ResultSink {
  private cols: readonly ResultColumn[] | undefined;
  private header: DisplayLine[][] = [];
  private widths: number[] = [];
  private rightAligned: boolean[] = [];
  private group: DisplayLine[][][] = [];
  private headerPrinted = false;
  private count = 0;
  private copied = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly rowCount: boolean,
  ) {}

  columns(columns: readonly ResultColumn[]): void {
    this.cols = columns;
    this.header = columns.map((c) => displayLines(c.name));
    this.widths = this.header.map(widthOf);
    this.rightAligned = columns.map((c) => RIGHT_ALIGNED.has(c.typeOid));
    this.group = [];
    this.headerPrinted = false;
    this.count = 0;
  }

  row(values: readonly (string | null)[]): void {
    const cells = values.map((v) => displayLines(v ?? NULL_TEXT));
    cells.forEach((lines, j) => {
      this.widths[j] = Math.max(this.widths[j] ?? 0, widthOf(lines));
    });
    this.group.push(cells);
    this.count++;
    if (this.group.length >= TABLE_GROUP_ROWS) this.flush();
  }

  copyData(chunk: string): void {
    this.copied = true;
    this.write(chunk);
  }

  complete(tag: string): void {
    if (this.cols === undefined) {
      if (tag !== '' && !this.copied) this.write(`${tag}\n`);
      this.copied = false;
      return;
    }
    this.flush();
    let out = this.rowCount ? `${rowCountLine(this.count)}\n` : '\n';
    if (tagAfterRows(tag)) out += `${tag}\n`;
    this.write(out);
    this.cols = undefined;
  }

  private flush(): void {
    let out = '';
    if (!this.headerPrinted) {
      out += this.headerText();
      this.headerPrinted = true;
    }
    if (this.widths.length > 0) for (const cells of this.group) out += this.rowText(cells);
    this.group = [];
    if (out !== '') this.write(out);
  }

  private headerText(): string {
    if (this.widths.length === 0) return '--\n';
    let out = '';
    const height = Math.max(...this.header.map((h) => h.length));
    for (let k = 0; k < height; k++) {
      const cells = this.header.map((lines, j) => {
        const line = lines[k];
        const w = this.widths[j]!;
        const width = line?.width ?? 0;
        const left = Math.floor((w - width) / 2);
        const more = k < lines.length - 1;
        return ` ${spaces(left)}${line?.text ?? ''}${spaces(w - width - left)}${more ? '+' : ' '}`;
      });
      out += `${cells.join('|')}\n`;
    }
    out += `${this.widths.map((w) => '-'.repeat(w + 2)).join('+')}\n`;
    return out;
  }

  private rowText(cells: readonly DisplayLine[][]): string {
    let out = '';
    const height = Math.max(1, ...cells.map((c) => c.length));
    const last = cells.length - 1;
    for (let k = 0; k < height; k++) {
      const parts = cells.map((lines, j) => {
        const line = lines[k];
        const more = k < lines.length - 1;
        const right = this.rightAligned[j]!;
        const text = line?.text ?? '';
        // The last column carries no trailing blanks, unless a `+` must line up after it.
        const trailing = j === last && !more && (line === undefined || !right);
        const pad = trailing ? '' : spaces(this.widths[j]! - (line?.width ?? 0));
        const body = right ? pad + text : text + pad;
        return ` ${body}${more ? '+' : j === last ? '' : ' '}`;
      });
      out += `${parts.join('|')}\n`;
    }
    return out;
  }
}

class RecordsPrinter implements ResultSink {
  private cols: readonly ResultColumn[] | undefined;
  private names: DisplayLine[][] = [];
  private nameWidth = 0;
  private valueWidth = 0;
  private group: DisplayLine[][][] = [];
  private count = 0;
  private copied = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly rowCount: boolean,
  ) {}

  columns(columns: readonly ResultColumn[]): void {
    this.cols = columns;
    this.names = columns.map((c) => displayLines(c.name));
    this.nameWidth = Math.max(0, ...this.names.map(widthOf));
    this.valueWidth = 0;
    this.group = [];
    this.count = 0;
  }

  row(values: readonly (string | null)[]): void {
    const cells = values.map((v) => displayLines(v ?? NULL_TEXT));
    for (const c of cells) this.valueWidth = Math.max(this.valueWidth, widthOf(c));
    this.group.push(cells);
    if (this.group.length >= TABLE_GROUP_ROWS) this.flush();
  }

  copyData(chunk: string): void {
    this.copied = true;
    this.write(chunk);
  }

  complete(tag: string): void {
    if (this.cols === undefined) {
      if (tag !== '' && !this.copied) this.write(`${tag}\n`);
      this.copied = false;
      return;
    }
    const empty = this.count === 0 && this.group.length === 0;
    this.flush();
    let out = empty ? (this.rowCount ? `${rowCountLine(0)}\n` : '') : '\n';
    if (tagAfterRows(tag)) out += `${tag}\n`;
    if (out !== '') this.write(out);
    this.cols = undefined;
  }

  private flush(): void {
    let out = '';
    for (const cells of this.group) {
      this.count++;
      out += `${this.recordRule(this.count)}\n`;
      cells.forEach((lines, j) => {
        const name = this.names[j] ?? [];
        const height = Math.max(lines.length, name.length);
        for (let k = 0; k < height; k++) {
          const n = name[k];
          const v = lines[k];
          const more = k < lines.length - 1;
          const label = `${n?.text ?? ''}${spaces(this.nameWidth - (n?.width ?? 0))}`;
          const value = more ? `${v?.text ?? ''}${spaces(this.valueWidth - (v?.width ?? 0))}+` : (v?.text ?? '');
          out += `${label} | ${value}\n`;
        }
      });
    }
    this.group = [];
    if (out !== '') this.write(out);
  }

  /** `-[ RECORD n ]` over a rule as wide as the block, with `+` where the `|` column runs. */
  private recordRule(n: number): string {
    const label = `-[ RECORD ${n} ]`;
    const width = this.nameWidth + 3 + this.valueWidth;
    if (label.length >= width) return label;
    const rule = `${'-'.repeat(this.nameWidth + 1)}+${'-'.repeat(this.valueWidth + 1)}`;
    return label + rule.slice(label.length);
  }
}

class DelimitedPrinter implements ResultSink {
  /** The header of the current result, written with its first row (not at all if the statement fails first). */
  private header: string | undefined;
  private inResult = false;
  private copied = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly delimiter: ',' | '\t',
  ) {}

  columns(columns: readonly ResultColumn[]): void {
    this.inResult = true;
    this.header = `${columns.map((c) => this.field(c.name)).join(this.delimiter)}\n`;
  }

  row(values: readonly (string | null)[]): void {
    const line = `${values.map((v) => (v === null ? '' : this.field(v))).join(this.delimiter)}\n`;
    this.write(this.takeHeader() + line);
  }

  copyData(chunk: string): void {
    this.copied = true;
    this.write(chunk);
  }

  complete(tag: string): void {
    if (this.inResult) {
      const header = this.takeHeader();
      if (header !== '') this.write(header);
    } else if (tag !== '' && !this.copied) this.write(`${tag}\n`);
    this.inResult = false;
    this.copied = false;
  }

  private takeHeader(): string {
    const header = this.header ?? '';
    this.header = undefined;
    return header;
  }

  private field(value: string): string {
    const quote = value.includes(this.delimiter) || value.includes('"') || value.includes('\n') || value.includes('\r') || value === '\\.';
    return quote ? `"${value.replaceAll('"', '""')}"` : value;
  }
}
