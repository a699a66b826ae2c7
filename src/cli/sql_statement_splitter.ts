// Cuts the text a user types or pipes into `cairn sql` into statements at the semicolons that end
// them, the way PostgreSQL's lexer sees the text: a semicolon inside a quoted string, a quoted
// identifier, a dollar-quoted body, a comment or parentheses does not end a statement. The
// splitter is incremental: text may arrive in chunks of any size (lines, whole files), and a
// token cut in two by a chunk boundary is recognised once the rest arrives, so the result never
// depends on how the input was chunked.
import { SqlError, SqlState } from '../sql/errors.js';

/** One statement may be at most this long: a bound on what the shell buffers for an unfinished one. */
export const MAX_STATEMENT_CHARS = 16 * 1024 * 1024;

/** Where the scanner stands at the end of the text it has seen. */
export type LexicalState =
  | { readonly kind: 'code' }
  | { readonly kind: 'lineComment' }
  /** PostgreSQL block comments nest. */
  | { readonly kind: 'blockComment'; readonly depth: number }
  /** `escapes`: an E'...' string, in which a backslash escapes the next character. */
  | { readonly kind: 'singleQuote'; readonly escapes: boolean }
  | { readonly kind: 'doubleQuote' }
  | { readonly kind: 'dollarQuote'; readonly tag: string };

const CODE: LexicalState = { kind: 'code' };

function isIdentStart(c: string): boolean {
  return /[A-Za-z_\u0080-\uffff]/.test(c);
}

/** Characters that may continue an identifier (a `$` after one of these is not a dollar quote). */
function isIdentContinue(c: string): boolean {
  return /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}

export class StatementSplitter {
  /** The scanned text of the unfinished statement, in the pieces it arrived in. */
  private parts: string[] = [];
  private partsLength = 0;
  /** The last two characters of `parts` (what decides `E'` and `$`), '' at a statement's start. */
  private lastScanned = '';
  /** Received but not yet scanned: a few characters whose meaning the next chunk decides. */
  private tail = '';
  private state: LexicalState = CODE;
  private parenDepth = 0;
  /** Whether the unfinished statement holds anything but whitespace and comments. */
  private sawCode = false;

  /** Adds text; returns the statements it completes (without their semicolon, trimmed). */
  push(chunk: string): string[] {
    if (this.partsLength + this.tail.length + chunk.length > MAX_STATEMENT_CHARS) {
      this.reset();
      throw new SqlError(SqlState.programLimitExceeded, `statement is longer than ${MAX_STATEMENT_CHARS} characters; its text was discarded`);
    }
    return this.scan(this.tail + chunk, false);
  }

  /**
   * Ends the input: returns the statements still pending, the last one possibly without a final
   * semicolon (the shell runs it, as psql does at the end of a file), and starts afresh.
   */
  finish(): string[] {
    const statements = this.scan(this.tail, true);
    if (this.sawCode) statements.push(this.parts.join('').trim());
    this.reset();
    return statements;
  }

  /** Forgets the unfinished statement (Ctrl-C at the prompt). */
  reset(): void {
    this.parts = [];
    this.partsLength = 0;
    this.lastScanned = '';
    this.tail = '';
    this.state = CODE;
    this.parenDepth = 0;
    this.sawCode = false;
  }

  /** True when nothing but whitespace and comments is pending: the shell shows its main prompt. */
  get isIdle(): boolean {
    return !this.sawCode && (this.state.kind === 'code' || this.state.kind === 'lineComment');
  }

  /** True inside a string, quoted identifier, dollar-quoted body or block comment. */
  get insideLiteral(): boolean {
    const k = this.state.kind;
    return k === 'singleQuote' || k === 'doubleQuote' || k === 'dollarQuote' || k === 'blockComment';
  }

  get lexicalState(): LexicalState {
    return this.state;
  }

  /**
   * Scans `t` (the unscanned tail and the new chunk) from its start. Without `atEnd`, stops before
   * a character whose meaning depends on one not yet received (a quote that may be doubled, a `-`
   * that may start a comment, ...) and keeps the rest as the tail.
   */
  private scan(t: string, atEnd: boolean): string[] {
    const done: string[] = [];
    /** Where the unfinished statement starts in `t` (0: it began in an earlier chunk). */
    let segStart = 0;
    /** The character `back` places before `i` within the current statement, or ''. */
    const before = (i: number, back: number): string => {
      const at = i - back;
      if (at >= segStart) return t[at]!;
      if (segStart > 0) return '';
      return this.lastScanned[this.lastScanned.length - (segStart - at)] ?? '';
    };
    let i = 0;
    scanning: while (i < t.length) {
      const c = t[i]!;
      const hasNext = i + 1 < t.length;
      const next = hasNext ? t[i + 1]! : '';
      switch (this.state.kind) {
        case 'code': {
          if (c === "'") {
            const prefix = before(i, 1);
            const escapes = (prefix === 'E' || prefix === 'e') && !isIdentContinue(before(i, 2));
            this.state = { kind: 'singleQuote', escapes };
            this.sawCode = true;
            i++;
          } else if (c === '"') {
            this.state = { kind: 'doubleQuote' };
            this.sawCode = true;
            i++;
          } else if (c === '-' || c === '/') {
            if (!hasNext && !atEnd) break scanning;
            if (c === '-' && next === '-') {
              this.state = { kind: 'lineComment' };
              i += 2;
            } else if (c === '/' && next === '*') {
              this.state = { kind: 'blockComment', depth: 1 };
              i += 2;
            } else {
              this.sawCode = true;
              i++;
            }
          } else if (c === '$') {
            const tagEnd = isIdentContinue(before(i, 1)) ? undefined : dollarTagEnd(t, i, atEnd);
            if (tagEnd === 'needMore') break scanning;
            this.sawCode = true;
            if (tagEnd === undefined) {
              i++;
            } else {
              this.state = { kind: 'dollarQuote', tag: t.slice(i, tagEnd + 1) };
              i = tagEnd + 1;
            }
          } else if (c === ';' && this.parenDepth === 0) {
            if (this.sawCode) done.push((this.parts.join('') + t.slice(segStart, i)).trim());
            this.parts = [];
            this.partsLength = 0;
            this.lastScanned = '';
            this.sawCode = false;
            i++;
            segStart = i;
          } else {
            if (c === '(') this.parenDepth++;
            else if (c === ')' && this.parenDepth > 0) this.parenDepth--;
            if (!isSpace(c)) this.sawCode = true;
            i++;
          }
          break;
        }
        case 'lineComment':
          if (c === '\n') this.state = CODE;
          i++;
          break;
        case 'blockComment': {
          if ((c === '/' || c === '*') && !hasNext && !atEnd) break scanning;
          const depth = this.state.depth;
          if (c === '/' && next === '*') {
            this.state = { kind: 'blockComment', depth: depth + 1 };
            i += 2;
          } else if (c === '*' && next === '/') {
            this.state = depth === 1 ? CODE : { kind: 'blockComment', depth: depth - 1 };
            i += 2;
          } else {
            i++;
          }
          break;
        }
        case 'singleQuote': {
          if (this.state.escapes && c === '\\') {
            if (!hasNext && !atEnd) break scanning;
            i += 2;
          } else if (c === "'") {
            // A doubled quote stands for one quote inside the string.
            if (!hasNext && !atEnd) break scanning;
            if (next === "'") i += 2;
            else {
              this.state = CODE;
              i++;
            }
          } else {
            i++;
          }
          break;
        }
        case 'doubleQuote': {
          if (c === '"') {
            if (!hasNext && !atEnd) break scanning;
            if (next === '"') i += 2;
            else {
              this.state = CODE;
              i++;
            }
          } else {
            i++;
          }
          break;
        }
        case 'dollarQuote': {
          const tag = this.state.tag;
          const close = t.indexOf(tag, i);
          if (close < 0) {
            // The closing tag may straddle the end of what has arrived: keep its length unscanned.
            i = Math.max(i, t.length - tag.length + 1);
            break scanning;
          }
          this.state = CODE;
          i = close + tag.length;
          break;
        }
      }
    }
    const stop = Math.min(i, t.length);
    const scanned = t.slice(segStart, stop);
    if (scanned !== '') {
      this.parts.push(scanned);
      this.partsLength += scanned.length;
      this.lastScanned = (this.lastScanned + scanned).slice(-2);
    }
    this.tail = t.slice(stop);
    return done;
  }
}

/**
 * For a `$` at `at` in code (not inside an identifier): the index of the `$` closing a
 * dollar-quote opening tag (`$$`, `$body$`), undefined when this `$` opens none (a parameter such
 * as `$1`), or 'needMore' when the text ends before that can be decided.
 */
function dollarTagEnd(t: string, at: number, atEnd: boolean): number | undefined | 'needMore' {
  let j = at + 1;
  if (j < t.length && t[j] !== '$' && !isIdentStart(t[j]!)) return undefined;
  while (j < t.length && t[j] !== '$') {
    if (!isIdentContinue(t[j]!)) return undefined;
    j++;
  }
  if (j >= t.length) return atEnd ? undefined : 'needMore';
  return j;
}
