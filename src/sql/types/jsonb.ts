// json and jsonb. json is text that has been checked to be JSON; jsonb is the parsed value,
// normalised as PostgreSQL stores it: object keys sorted (shorter keys first, then by bytes),
// duplicate keys resolved to the last one written, numbers kept exact as numeric. Parsing follows
// PostgreSQL's JSON lexer and parser, error details included; output, ordering, containment and
// the operators and functions follow jsonb's documented behaviour and PostgreSQL 15's answers.

import { SqlError, SqlState } from '../errors.js';
import { SqlArray, type Datum, type TimeTz } from './datum.js';
import { formatDateXsd, formatTime, formatTimeTz, formatTimestampXsd } from './datetime.js';
import { formatFloat4, formatFloat8 } from './float.js';
import type { Interval } from './interval.js';
import { Numeric } from './numeric.js';
import { Oid } from './oids.js';
import type { TypeSettings } from './settings.js';

/** A JSON value: numbers are exact decimals; an object's Map iterates in jsonb's key order. */
export type JsonValue = null | boolean | string | Numeric | JsonValue[] | Map<string, JsonValue>;

/**
 * How deeply arrays and objects may nest. PostgreSQL's limit is its stack (about 14,000 levels
 * with the default max_stack_depth); this one keeps the recursive walks here (comparison,
 * containment, jsonb_strip_nulls) far inside V8's stack, and is deeper than documents go.
 */
export const MAX_JSON_DEPTH = 1024;

// ---------------------------------------------------------------------------------------------
// Errors

function syntaxError(detail: string): SqlError {
  return new SqlError(SqlState.invalidTextRepresentation, 'invalid input syntax for type json', { detail });
}

function tooDeep(): SqlError {
  return new SqlError(SqlState.statementTooComplex, 'stack depth limit exceeded', {
    detail: `JSON values may nest at most ${MAX_JSON_DEPTH} levels deep.`,
  });
}

function invalidParameter(message: string): SqlError {
  return new SqlError(SqlState.invalidParameterValue, message);
}

// ---------------------------------------------------------------------------------------------
// The lexer

type TokenType = '{' | '}' | '[' | ']' | ',' | ':' | 'string' | 'number' | 'true' | 'false' | 'null' | 'end';

interface Token {
  readonly type: TokenType;
  readonly start: number;
  readonly end: number;
  /** The decoded text of a string token (jsonb only). */
  readonly text?: string;
}

/** Letters, digits, '_' and anything beyond ASCII: what PostgreSQL reads as one word for its errors. */
function isWordChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c >= 0x80;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

class JsonLexer {
  private pos = 0;

  constructor(
    private readonly input: string,
    /** jsonb decodes strings and refuses what text cannot hold; json only checks the syntax. */
    private readonly decode: boolean,
  ) {}

  private invalidToken(start: number, end: number): SqlError {
    return syntaxError(`Token "${this.input.slice(start, end)}" is invalid.`);
  }

  next(): Token {
    const s = this.input;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.pos++;
    }
    const start = this.pos;
    if (start >= s.length) return { type: 'end', start, end: start };
    const c = s.charCodeAt(start);
    switch (c) {
      case 0x7b:
      case 0x7d:
      case 0x5b:
      case 0x5d:
      case 0x2c:
      case 0x3a:
        this.pos++;
        return { type: s[start] as TokenType, start, end: this.pos };
      case 0x22:
        return this.string(start);
      case 0x2d:
        return this.number(start, start + 1);
      default:
        if (isDigit(c)) return this.number(start, start);
        return this.word(start);
    }
  }

  private word(start: number): Token {
    const s = this.input;
    let p = start;
    while (p < s.length && isWordChar(s.charCodeAt(p))) p++;
    if (p === start) {
      // An unexpected punctuation character: reported alone (a whole surrogate pair if it is one).
      const width = s.codePointAt(start)! > 0xffff ? 2 : 1;
      throw this.invalidToken(start, start + width);
    }
    this.pos = p;
    const word = s.slice(start, p);
    if (word === 'true' || word === 'false' || word === 'null') return { type: word, start, end: p };
    throw this.invalidToken(start, p);
  }

  private number(start: number, digitsAt: number): Token {
    const s = this.input;
    let p = digitsAt;
    let error = false;
    if (p < s.length && s.charCodeAt(p) === 0x30) p++;
    else if (p < s.length && isDigit(s.charCodeAt(p))) while (p < s.length && isDigit(s.charCodeAt(p))) p++;
    else error = true;
    if (p < s.length && s[p] === '.') {
      p++;
      if (p >= s.length || !isDigit(s.charCodeAt(p))) error = true;
      else while (p < s.length && isDigit(s.charCodeAt(p))) p++;
    }
    if (p < s.length && (s[p] === 'e' || s[p] === 'E')) {
      p++;
      if (p < s.length && (s[p] === '+' || s[p] === '-')) p++;
      if (p >= s.length || !isDigit(s.charCodeAt(p))) error = true;
      else while (p < s.length && isDigit(s.charCodeAt(p))) p++;
    }
    // Letters and digits run on into the token, for the error message.
    while (p < s.length && isWordChar(s.charCodeAt(p))) {
      p++;
      error = true;
    }
    this.pos = p;
    if (error) throw this.invalidToken(start, p);
    return { type: 'number', start, end: p };
  }

  private string(start: number): Token {
    const s = this.input;
    let p = start;
    let out = '';
    let runStart = start + 1;
    let highSurrogate = -1;
    const flush = (to: number): void => {
      if (this.decode) out += s.slice(runStart, to);
    };
    for (;;) {
      p++;
      if (p >= s.length) throw this.invalidToken(start, p);
      const c = s.charCodeAt(p);
      if (c === 0x22) break;
      if (c < 0x20) {
        throw syntaxError(`Character with value 0x${c.toString(16).padStart(2, '0')} must be escaped.`);
      }
      if (c === 0x5c) {
        flush(p);
        p++;
        if (p >= s.length) throw this.invalidToken(start, p);
        const e = s[p]!;
        if (e === 'u') {
          let ch = 0;
          for (let i = 0; i < 4; i++) {
            p++;
            if (p >= s.length) throw this.invalidToken(start, p);
            const h = hexValue(s.charCodeAt(p));
            if (h < 0) throw syntaxError('"\\u" must be followed by four hexadecimal digits.');
            ch = ch * 16 + h;
          }
          if (this.decode) {
            if (ch >= 0xd800 && ch <= 0xdbff) {
              if (highSurrogate !== -1) throw syntaxError('Unicode high surrogate must not follow a high surrogate.');
              highSurrogate = ch;
            } else {
              if (ch >= 0xdc00 && ch <= 0xdfff) {
                if (highSurrogate === -1) throw syntaxError('Unicode low surrogate must follow a high surrogate.');
                out += String.fromCharCode(highSurrogate, ch);
                highSurrogate = -1;
              } else {
                if (highSurrogate !== -1) throw syntaxError('Unicode low surrogate must follow a high surrogate.');
                if (ch === 0) {
                  throw new SqlError(SqlState.untranslatableCharacter, 'unsupported Unicode escape sequence', {
                    detail: '\\u0000 cannot be converted to text.',
                  });
                }
                out += String.fromCharCode(ch);
              }
            }
          }
        } else {
          if (this.decode && highSurrogate !== -1) throw syntaxError('Unicode low surrogate must follow a high surrogate.');
          const escaped = SIMPLE_ESCAPES[e];
          if (escaped === undefined) {
            const width = s.codePointAt(p)! > 0xffff ? 2 : 1;
            throw syntaxError(`Escape sequence "\\${s.slice(p, p + width)}" is invalid.`);
          }
          out += escaped;
        }
        runStart = p + 1;
      } else if (this.decode && highSurrogate !== -1) {
        throw syntaxError('Unicode low surrogate must follow a high surrogate.');
      }
    }
    if (this.decode && highSurrogate !== -1) throw syntaxError('Unicode low surrogate must follow a high surrogate.');
    flush(p);
    this.pos = p + 1;
    return this.decode ? { type: 'string', start, end: this.pos, text: out } : { type: 'string', start, end: this.pos };
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

// ---------------------------------------------------------------------------------------------
// The parser

/** Where the parser was when a token did not fit (PostgreSQL's JsonParseContext). */
type ParseContext = 'value' | 'string' | 'arrayNext' | 'objectStart' | 'objectLabel' | 'objectNext' | 'end';

function unexpected(context: ParseContext, token: Token, input: string): SqlError {
  if (token.type === 'end') return syntaxError('The input string ended unexpectedly.');
  const found = input.slice(token.start, token.end);
  switch (context) {
    case 'end':
      return syntaxError(`Expected end of input, but found "${found}".`);
    case 'value':
      return syntaxError(`Expected JSON value, but found "${found}".`);
    case 'string':
      return syntaxError(`Expected string, but found "${found}".`);
    case 'arrayNext':
      return syntaxError(`Expected "," or "]", but found "${found}".`);
    case 'objectStart':
      return syntaxError(`Expected string or "}", but found "${found}".`);
    case 'objectLabel':
      return syntaxError(`Expected ":", but found "${found}".`);
    case 'objectNext':
      return syntaxError(`Expected "," or "}", but found "${found}".`);
  }
}

type Frame = { readonly kind: 'array'; readonly items: JsonValue[] } | { readonly kind: 'object'; readonly entries: Map<string, JsonValue>; key: string };

/**
 * Parses JSON text with PostgreSQL's grammar and error order; with `build` false it only checks
 * the syntax (json input), with it true it builds the jsonb value.
 */
function parseJson(input: string, build: boolean): JsonValue {
  const lexer = new JsonLexer(input, build);
  let current = lexer.next();
  // A function, not the variable, so that the compiler does not narrow it across advance().
  const peek = (): Token => current;
  const advance = (): void => {
    current = lexer.next();
  };
  const expect = (type: TokenType, context: ParseContext): void => {
    if (peek().type !== type) throw unexpected(context, peek(), input);
    advance();
  };
  const stack: Frame[] = [];
  let value: JsonValue = null;
  // Each turn reads one value (scalar, or the opening of a container) then closes what it can.
  for (;;) {
    let opened = false;
    switch (peek().type) {
      case '{': {
        advance();
        if (stack.length >= MAX_JSON_DEPTH) throw tooDeep();
        if (peek().type === '}') {
          advance();
          value = new Map();
          break;
        }
        if (peek().type !== 'string') throw unexpected('objectStart', peek(), input);
        const key = peek().text ?? '';
        advance();
        expect(':', 'objectLabel');
        stack.push({ kind: 'object', entries: new Map(), key });
        opened = true;
        break;
      }
      case '[':
        advance();
        if (stack.length >= MAX_JSON_DEPTH) throw tooDeep();
        if (peek().type === ']') {
          advance();
          value = [];
          break;
        }
        stack.push({ kind: 'array', items: [] });
        opened = true;
        break;
      case 'string':
        value = peek().text ?? '';
        advance();
        break;
      case 'number':
        value = build ? Numeric.parse(input.slice(peek().start, peek().end)) : null;
        advance();
        break;
      case 'true':
      case 'false':
        value = peek().type === 'true';
        advance();
        break;
      case 'null':
        value = null;
        advance();
        break;
      default:
        throw unexpected('value', peek(), input);
    }
    if (opened) continue;
    // Close containers for as long as the value completes one.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        expect('end', 'end');
        return value;
      }
      if (top.kind === 'array') {
        if (build) top.items.push(value);
        if (peek().type === ',') {
          advance();
          break;
        }
        expect(']', 'arrayNext');
        stack.pop();
        value = top.items;
      } else {
        if (build) {
          // the last of duplicate keys wins; delete first so that it also takes the later place
          top.entries.delete(top.key);
          top.entries.set(top.key, value);
        }
        if (peek().type === ',') {
          advance();
          if (peek().type !== 'string') throw unexpected('string', peek(), input);
          top.key = peek().text ?? '';
          advance();
          expect(':', 'objectLabel');
          break;
        }
        expect('}', 'objectNext');
        stack.pop();
        value = build ? sortedObject(top.entries) : null;
      }
    }
  }
}

/** json_in: the text itself, once it has been checked to be JSON. */
export function validateJson(text: string): string {
  parseJson(text, false);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Keys

/** Bytes of a string in UTF-8. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Strings in the order of their UTF-8 bytes (the order of their code points). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** jsonb's storage order of object keys: shorter (in bytes) first, then bytewise. */
function compareKeys(a: string, b: string): number {
  const la = utf8Length(a);
  const lb = utf8Length(b);
  return la !== lb ? (la < lb ? -1 : 1) : compareUtf8(a, b);
}

function sortedObject(entries: Map<string, JsonValue>): Map<string, JsonValue> {
  const keys = [...entries.keys()];
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = compareKeys(keys[i - 1]!, keys[i]!) < 0;
  if (sorted) return entries;
  keys.sort(compareKeys);
  return new Map(keys.map((k) => [k, entries.get(k)!]));
}

function isObject(v: JsonValue): v is Map<string, JsonValue> {
  return v instanceof Map;
}

function isArray(v: JsonValue): v is JsonValue[] {
  return Array.isArray(v);
}

function isScalar(v: JsonValue): boolean {
  return !isObject(v) && !isArray(v);
}

// ---------------------------------------------------------------------------------------------
// Output

/** escape_json: a JSON string literal. */
export function quoteJsonString(s: string): string {
  let out = '"';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let escaped: string | undefined;
    if (c === 0x22) escaped = '\\"';
    else if (c === 0x5c) escaped = '\\\\';
    else if (c < 0x20) {
      escaped =
        c === 0x08 ? '\\b' : c === 0x0c ? '\\f' : c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : c === 0x09 ? '\\t' : `\\u${c.toString(16).padStart(4, '0')}`;
    }
    if (escaped !== undefined) {
      out += s.slice(run, i) + escaped;
      run = i + 1;
    }
  }
  return out + s.slice(run) + '"';
}

function scalarText(v: JsonValue): string {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'string') return quoteJsonString(v);
  return (v as Numeric).toString();
}

/** How a container is laid out: the separators around its elements. */
interface Layout {
  /** Before the first element, given the level inside the container. */
  readonly first: (level: number) => string;
  /** Between elements. */
  readonly between: (level: number) => string;
  /** Before the closing bracket of a non-empty container, given the container's own level. */
  readonly close: (level: number) => string;
  /** Before the closing bracket of an empty container. */
  readonly closeEmpty: (level: number) => string;
  readonly colon: string;
}

const COMPACT: Layout = { first: () => '', between: () => ', ', close: () => '', closeEmpty: () => '', colon: ': ' };

const indent = (level: number): string => '    '.repeat(level);

/** jsonb_pretty: one element per line, four spaces a level; empty containers open and close on two lines. */
const PRETTY: Layout = {
  first: (level) => `\n${indent(level)}`,
  between: (level) => `,\n${indent(level)}`,
  close: (level) => `\n${indent(level)}`,
  closeEmpty: (level) => `\n${indent(level)}`,
  colon: ': ',
};

/**
 * Writes a value with an explicit stack rather than recursion, so that the depth a document may
 * have is not bounded by the JavaScript stack.
 */
function writeJson(root: JsonValue, layout: Layout): string {
  const parts: string[] = [];
  type Open = { readonly entries: Iterator<[string | undefined, JsonValue]>; readonly close: string; readonly level: number; count: number };
  const stack: Open[] = [];
  const open = (v: JsonValue[] | Map<string, JsonValue>, level: number): void => {
    const isMap = v instanceof Map;
    parts.push(isMap ? '{' : '[');
    const entries: Iterator<[string | undefined, JsonValue]> = isMap ? v.entries() : v.map((e): [undefined, JsonValue] => [undefined, e]).values();
    stack.push({ entries, close: isMap ? '}' : ']', level, count: 0 });
  };
  const write = (v: JsonValue, level: number): void => {
    if (isArray(v) || isObject(v)) open(v, level);
    else parts.push(scalarText(v));
  };
  write(root, 0);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const next = top.entries.next();
    if (next.done === true) {
      stack.pop();
      parts.push(top.count === 0 ? layout.closeEmpty(top.level) : layout.close(top.level), top.close);
      continue;
    }
    parts.push(top.count === 0 ? layout.first(top.level + 1) : layout.between(top.level + 1));
    top.count++;
    const [k, e] = next.value;
    if (k !== undefined) parts.push(quoteJsonString(k), layout.colon);
    write(e, top.level + 1);
  }
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Ordering

/** jsonb's type order: null < string < number < boolean < array < object. */
function typeRank(v: JsonValue): number {
  if (v === null) return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 3;
  if (isArray(v)) return 4;
  if (isObject(v)) return 5;
  return 2;
}

function compareScalars(a: JsonValue, b: JsonValue): number {
  if (typeof a === 'string') return compareUtf8(a, b as string);
  if (typeof a === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (a === null) return 0;
  const r = (a as Numeric).compare(b as Numeric);
  return r < 0 ? -1 : r > 0 ? 1 : 0;
}

/** compareJsonbContainers over two values at the same place: sizes first, then contents in storage order. */
function compareValues(a: JsonValue, b: JsonValue): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra > rb ? 1 : -1;
  if (isArray(a)) {
    const bb = b as JsonValue[];
    if (a.length !== bb.length) return a.length > bb.length ? 1 : -1;
    for (let i = 0; i < a.length; i++) {
      const r = compareValues(a[i]!, bb[i]!);
      if (r !== 0) return r;
    }
    return 0;
  }
  if (isObject(a)) {
    const bm = b as Map<string, JsonValue>;
    if (a.size !== bm.size) return a.size > bm.size ? 1 : -1;
    const ib = bm.entries();
    for (const [ka, va] of a) {
      const [kb, vb] = ib.next().value as [string, JsonValue];
      const rk = compareUtf8(ka, kb);
      if (rk !== 0) return rk;
      const rv = compareValues(va, vb);
      if (rv !== 0) return rv;
    }
    return 0;
  }
  return compareScalars(a, b);
}

/**
 * The btree order of two jsonb values. A top-level scalar is stored as a one-element "raw scalar"
 * array, and PostgreSQL compares it as one: below an array of one element, but above an empty one.
 */
function compareRoots(a: JsonValue, b: JsonValue): number {
  const scalarA = isScalar(a);
  const scalarB = isScalar(b);
  if (scalarA === scalarB) return compareValues(a, b);
  const other = scalarA ? b : a;
  if (isObject(other)) return scalarA ? -1 : 1;
  // a raw scalar against a real array: the element counts decide, then the raw scalar is first
  const length = (other as JsonValue[]).length;
  const countA = scalarA ? 1 : length;
  const countB = scalarB ? 1 : length;
  if (countA !== countB) return countA > countB ? 1 : -1;
  return scalarA ? -1 : 1;
}

/** A text equal for two values exactly when compare() says they are equal (numbers without trailing zeros). */
function keyText(v: JsonValue, parts: string[]): void {
  if (isArray(v)) {
    parts.push('[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) parts.push(',');
      keyText(v[i]!, parts);
    }
    parts.push(']');
  } else if (isObject(v)) {
    parts.push('{');
    let first = true;
    for (const [k, e] of v) {
      if (!first) parts.push(',');
      first = false;
      parts.push(quoteJsonString(k), ':');
      keyText(e, parts);
    }
    parts.push('}');
  } else if (v instanceof Numeric) {
    parts.push(v.stripTrailingZeros().toString());
  } else {
    parts.push(scalarText(v));
  }
}

// ---------------------------------------------------------------------------------------------
// Containment

function equalScalars(a: JsonValue, b: JsonValue): boolean {
  return typeRank(a) === typeRank(b) && compareScalars(a, b) === 0;
}

/** JsonbDeepContains: every part of `b` is found in `a` (array elements in any order, any count). */
function deepContains(a: JsonValue, b: JsonValue): boolean {
  if (isObject(b)) {
    if (!isObject(a)) return false;
    for (const [k, vb] of b) {
      const va = a.get(k);
      if (va === undefined) return false;
      if (isScalar(vb) ? !equalScalars(va, vb) : typeRank(va) !== typeRank(vb) || !deepContains(va, vb)) return false;
    }
    return true;
  }
  if (isArray(b)) {
    if (!isArray(a)) return false;
    for (const vb of b) {
      let found = false;
      for (const va of a) {
        if (isScalar(vb) ? isScalar(va) && equalScalars(va, vb) : typeRank(va) === typeRank(vb) && deepContains(va, vb)) {
          found = true;
          break;
        }
      }
      if (!found) return false;
    }
    return true;
  }
  return isScalar(a) && equalScalars(a, b);
}

// ---------------------------------------------------------------------------------------------
// Paths

/** strtol over a whole path element, as jsonb path lookups read array subscripts. */
function parseSubscript(text: string): number | undefined {
  const m = /^[ \t\n\r\v\f]*([+-]?\d+)$/.exec(text);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

/** The element at `i` (negative counts from the end), or undefined. */
function elementAt(items: readonly JsonValue[], i: number): JsonValue | undefined {
  const index = i < 0 ? items.length + i : i;
  return index >= 0 && index < items.length ? items[index] : undefined;
}

/** The path element as setPath reads an array subscript: an integer, or an error naming its position. */
function pathSubscript(text: string, position: number): number {
  const n = parseSubscript(text);
  if (n === undefined) {
    throw new SqlError(SqlState.invalidTextRepresentation, `path element at position ${position} is not an integer: "${text}"`);
  }
  return n;
}

type PathEdit = { readonly kind: 'set'; readonly value: JsonValue; readonly create: boolean } | { readonly kind: 'delete' };

/** PostgreSQL's setPath: replaces, creates or deletes the element at the path; other values are kept. */
function editPath(v: JsonValue, path: readonly (string | null)[], level: number, edit: PathEdit): JsonValue {
  const element = path[level];
  if (element === null) {
    throw new SqlError(SqlState.nullValueNotAllowed, `path element at position ${level + 1} is null`);
  }
  if (element === undefined) return v;
  const last = level === path.length - 1;
  if (isObject(v)) {
    if (v.has(element)) {
      const out = new Map(v);
      if (last) {
        if (edit.kind === 'delete') out.delete(element);
        else out.set(element, edit.value);
      } else {
        out.set(element, editPath(v.get(element)!, path, level + 1, edit));
      }
      return out;
    }
    if (last && edit.kind === 'set' && edit.create) {
      const out = new Map(v);
      out.set(element, edit.value);
      return sortedObject(out);
    }
    return v;
  }
  if (isArray(v)) {
    const n = v.length;
    let index = pathSubscript(element, level + 1);
    let prepend = false;
    if (index < 0) {
      if (-index > n) prepend = true;
      else index = n + index;
    } else if (index > n) {
      index = n;
    }
    const creating = edit.kind === 'set' && edit.create && last;
    if (creating && (prepend || n === 0)) return [edit.value as JsonValue, ...v];
    if (!prepend && index < n) {
      const out = v.slice();
      if (last) {
        if (edit.kind === 'delete') out.splice(index, 1);
        else out[index] = edit.value;
      } else {
        out[index] = editPath(v[index]!, path, level + 1, edit);
      }
      return out;
    }
    if (creating) return [...v, (edit as { value: JsonValue }).value];
    return v;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// The value

function stripNulls(v: JsonValue): JsonValue {
  if (isArray(v)) {
    const out: JsonValue[] = [];
    for (const e of v) out.push(stripNulls(e));
    return out;
  }
  if (isObject(v)) {
    const out = new Map<string, JsonValue>();
    for (const [k, e] of v) if (e !== null) out.set(k, stripNulls(e));
    return out;
  }
  return v;
}

function textOf(v: JsonValue): string | null {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  return new Jsonb(v).toString();
}

function typeofName(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'boolean';
  if (isArray(v)) return 'array';
  if (isObject(v)) return 'object';
  return 'number';
}

export class Jsonb {
  constructor(readonly value: JsonValue) {}

  /** jsonb_in */
  static parse(text: string): Jsonb {
    return new Jsonb(parseJson(text, true));
  }

  /** jsonb_out */
  toString(): string {
    return writeJson(this.value, COMPACT);
  }

  /** jsonb_pretty */
  pretty(): string {
    return writeJson(this.value, PRETTY);
  }

  /** jsonb's btree order (jsonb_cmp). */
  compare(o: Jsonb): number {
    return compareRoots(this.value, o.value);
  }

  equals(o: Jsonb): boolean {
    return this.compare(o) === 0;
  }

  /** A grouping and hashing key, equal exactly when compare() is 0 ('1.0' and '1' share one). */
  key(): string {
    const parts: string[] = [];
    keyText(this.value, parts);
    return parts.join('');
  }

  get isScalar(): boolean {
    return isScalar(this.value);
  }

  /** jsonb -> text: an object's field, or null. */
  getKey(k: string): Jsonb | null {
    const v = this.value;
    return isObject(v) && v.has(k) ? new Jsonb(v.get(k)!) : null;
  }

  /** jsonb -> integer: an array's element (negative from the end), or null. A raw scalar is element 0 of itself. */
  getIndex(i: number): Jsonb | null {
    const v = this.value;
    if (isObject(v)) return null;
    const e = elementAt(isArray(v) ? v : [v], i);
    return e === undefined ? null : new Jsonb(e);
  }

  /** jsonb ->> text */
  getKeyText(k: string): string | null {
    const j = this.getKey(k);
    return j === null ? null : textOf(j.value);
  }

  /** jsonb ->> integer */
  getIndexText(i: number): string | null {
    const j = this.getIndex(i);
    return j === null ? null : textOf(j.value);
  }

  private walk(path: readonly (string | null)[]): JsonValue | undefined {
    let v: JsonValue = this.value;
    for (const element of path) {
      if (element === null) return undefined;
      if (isObject(v)) {
        if (!v.has(element)) return undefined;
        v = v.get(element)!;
      } else if (isArray(v)) {
        const i = parseSubscript(element);
        if (i === undefined) return undefined;
        const e = elementAt(v, i);
        if (e === undefined) return undefined;
        v = e;
      } else {
        return undefined;
      }
    }
    return v;
  }

  /** jsonb #> text[] */
  getPath(path: readonly (string | null)[]): Jsonb | null {
    const v = this.walk(path);
    return v === undefined ? null : path.length === 0 ? this : new Jsonb(v);
  }

  /** jsonb #>> text[] */
  getPathText(path: readonly (string | null)[]): string | null {
    const v = this.walk(path);
    return v === undefined ? null : textOf(v);
  }

  /** jsonb @> jsonb (and, turned around, <@). */
  contains(o: Jsonb): boolean {
    const a = this.value;
    const b = o.value;
    // An array contains a scalar it holds, but a scalar never contains an array.
    if (isScalar(b) && isArray(a)) return deepContains(a, [b]);
    if (isScalar(a) !== isScalar(b)) return false;
    return deepContains(a, b);
  }

  /** jsonb ? text: a key of an object, or a string element of an array (or the string itself). */
  hasKey(k: string): boolean {
    const v = this.value;
    if (isObject(v)) return v.has(k);
    if (isArray(v)) return v.some((e) => e === k);
    return v === k;
  }

  /** jsonb ?| text[] (null keys are skipped) */
  hasAnyKey(keys: readonly (string | null)[]): boolean {
    return keys.some((k) => k !== null && this.hasKey(k));
  }

  /** jsonb ?& text[] (null keys are skipped) */
  hasAllKeys(keys: readonly (string | null)[]): boolean {
    return keys.every((k) => k === null || this.hasKey(k));
  }

  /** jsonb - text and jsonb - text[]: object keys, or array elements equal to those strings, removed. */
  deleteKeys(keys: readonly (string | null)[]): Jsonb {
    const v = this.value;
    if (isScalar(v)) throw invalidParameter('cannot delete from scalar');
    const drop = new Set(keys.filter((k): k is string => k !== null));
    if (drop.size === 0) return this;
    if (isObject(v)) {
      if (![...drop].some((k) => v.has(k))) return this;
      return new Jsonb(new Map([...v].filter(([k]) => !drop.has(k))));
    }
    const items = v as JsonValue[];
    return new Jsonb(items.filter((e) => !(typeof e === 'string' && drop.has(e))));
  }

  /** jsonb - integer */
  deleteIndex(i: number): Jsonb {
    const v = this.value;
    if (isScalar(v)) throw invalidParameter('cannot delete from scalar');
    if (isObject(v)) throw invalidParameter('cannot delete from object using integer index');
    const items = v as JsonValue[];
    const index = i < 0 ? items.length + i : i;
    if (index < 0 || index >= items.length) return this;
    return new Jsonb(items.filter((_, k) => k !== index));
  }

  /** jsonb #- text[] */
  deletePath(path: readonly (string | null)[]): Jsonb {
    const v = this.value;
    if (isScalar(v)) throw invalidParameter('cannot delete path in scalar');
    if (path.length === 0 || (isArray(v) ? v.length === 0 : (v as Map<string, JsonValue>).size === 0)) return this;
    return new Jsonb(editPath(v, path, 0, { kind: 'delete' }));
  }

  /** jsonb_set(target, path, new_value, create_if_missing) */
  set(path: readonly (string | null)[], newValue: Jsonb, createMissing = true): Jsonb {
    const v = this.value;
    if (isScalar(v)) throw invalidParameter('cannot set path in scalar');
    const empty = isArray(v) ? v.length === 0 : (v as Map<string, JsonValue>).size === 0;
    if ((empty && !createMissing) || path.length === 0) return this;
    return new Jsonb(editPath(v, path, 0, { kind: 'set', value: newValue.value, create: createMissing }));
  }

  /**
   * jsonb || jsonb: objects merge (the right side wins), arrays concatenate; otherwise both sides
   * become array elements (a scalar as one element, an object as one element).
   */
  concat(o: Jsonb): Jsonb {
    const a = this.value;
    const b = o.value;
    if (isObject(a) && isObject(b)) {
      const out = new Map(a);
      for (const [k, v] of b) out.set(k, v);
      return new Jsonb(sortedObject(out));
    }
    const asElements = (v: JsonValue): JsonValue[] => (isArray(v) ? v : [v]);
    return new Jsonb([...asElements(a), ...asElements(b)]);
  }

  /** jsonb_typeof */
  typeName(): string {
    return typeofName(this.value);
  }

  /** jsonb_array_length */
  arrayLength(): number {
    const v = this.value;
    if (isArray(v)) return v.length;
    throw invalidParameter(isObject(v) ? 'cannot get array length of a non-array' : 'cannot get array length of a scalar');
  }

  /** jsonb_object_keys */
  objectKeys(): string[] {
    const v = this.value;
    if (isObject(v)) return [...v.keys()];
    throw invalidParameter(isArray(v) ? 'cannot call jsonb_object_keys on an array' : 'cannot call jsonb_object_keys on a scalar');
  }

  /** jsonb_each: [key, value] pairs. */
  each(): [string, Jsonb][] {
    const v = this.value;
    if (!isObject(v)) throw invalidParameter('cannot call jsonb_each on a non-object');
    return [...v].map(([k, e]): [string, Jsonb] => [k, new Jsonb(e)]);
  }

  /** jsonb_each_text: [key, text] pairs; JSON null is SQL NULL. */
  eachText(): [string, string | null][] {
    const v = this.value;
    if (!isObject(v)) throw invalidParameter('cannot call jsonb_each_text on a non-object');
    return [...v].map(([k, e]): [string, string | null] => [k, textOf(e)]);
  }

  /** jsonb_array_elements */
  arrayElements(): Jsonb[] {
    return this.elements().map((e) => new Jsonb(e));
  }

  /** jsonb_array_elements_text */
  arrayElementsText(): (string | null)[] {
    return this.elements().map(textOf);
  }

  private elements(): JsonValue[] {
    const v = this.value;
    if (isArray(v)) return v;
    throw invalidParameter(isObject(v) ? 'cannot extract elements from an object' : 'cannot extract elements from a scalar');
  }

  /** jsonb_strip_nulls: object fields whose value is null go, at every level (array elements stay). */
  stripNulls(): Jsonb {
    return new Jsonb(stripNulls(this.value));
  }
}

// ---------------------------------------------------------------------------------------------
// SQL values to JSON

/** A float's text as JSON: a number when it reads as one, else a string ("NaN", "Infinity"). */
function numberFromText(text: string): JsonValue {
  return /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(text) ? Numeric.parse(text) : text;
}

/** How a value of a type the caller knows the text of becomes JSON (to_jsonb's "other" types). */
export type TextOutput = (value: Datum, oid: number) => string;

/**
 * to_jsonb's conversion of a SQL value of type `oid`: booleans and numbers as themselves, date
 * and time stamps in ISO 8601 ("2024-03-01T12:00:00+00:00"), json parsed, jsonb as it is, arrays
 * element by element, anything else as the string of its text output (given by `textOf`).
 */
export function toJsonValue(value: Datum, oid: number, s: TypeSettings, textOutput?: TextOutput): JsonValue {
  if (value === null) return null;
  if (value instanceof Jsonb) return value.value;
  if (value instanceof SqlArray) return value.values.map((e) => toJsonValue(e, value.elementType, s, textOutput));
  switch (oid) {
    case Oid.bool:
      return value as boolean;
    case Oid.int2:
    case Oid.int4:
    case Oid.int8:
    case Oid.oid:
      return Numeric.parse(String(value));
    case Oid.float4:
      return numberFromText(formatFloat4(value as number, s.extraFloatDigits));
    case Oid.float8:
      return numberFromText(formatFloat8(value as number, s.extraFloatDigits));
    case Oid.numeric: {
      const n = value as Numeric;
      return n.isFinite ? n : n.toString();
    }
    case Oid.json:
      return Jsonb.parse(value as string).value;
    case Oid.date:
      return formatDateXsd(value as number);
    case Oid.timestamp:
      return formatTimestampXsd(value as bigint, false, s);
    case Oid.timestamptz:
      return formatTimestampXsd(value as bigint, true, s);
    case Oid.time:
      return formatTime(value as bigint);
    case Oid.timetz:
      return formatTimeTz(value as TimeTz);
    case Oid.interval:
      return (value as Interval).format(s);
    default:
      if (typeof value === 'string') return value;
      if (textOutput !== undefined) return textOutput(value, oid);
      if (value instanceof Uint8Array) return '\\x' + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
      throw new SqlError(SqlState.featureNotSupported, `to_jsonb of a value of type ${oid} is not supported`);
  }
}

/** to_jsonb(value) */
export function toJsonb(value: Datum, oid: number, s: TypeSettings, textOutput?: TextOutput): Jsonb {
  return new Jsonb(toJsonValue(value, oid, s, textOutput));
}

/** A SQL value with its type, as the variadic jsonb_build_* functions receive them. */
export interface TypedDatum {
  readonly value: Datum;
  readonly oid: number;
}

/** jsonb_build_array(...) */
export function jsonbBuildArray(args: readonly TypedDatum[], s: TypeSettings, textOutput?: TextOutput): Jsonb {
  return new Jsonb(args.map((a) => toJsonValue(a.value, a.oid, s, textOutput)));
}

/** jsonb_build_object(key, value, ...): keys are scalars read as text; the last of equal keys wins. */
export function jsonbBuildObject(args: readonly TypedDatum[], s: TypeSettings, textOutput?: TextOutput): Jsonb {
  if (args.length % 2 !== 0) {
    throw new SqlError(SqlState.invalidParameterValue, 'argument list must have even number of elements', {
      hint: 'The arguments of jsonb_build_object() must consist of alternating keys and values.',
    });
  }
  const entries = new Map<string, JsonValue>();
  for (let i = 0; i < args.length; i += 2) {
    const k = args[i]!;
    if (k.value === null) throw new SqlError(SqlState.invalidParameterValue, `argument ${i + 1}: key must not be null`);
    const key = toJsonValue(k.value, k.oid, s, textOutput);
    if (key !== null && (isArray(key) || isObject(key) || k.oid === Oid.json || k.oid === Oid.jsonb)) {
      throw new SqlError(SqlState.invalidParameterValue, 'key value must be scalar, not array, composite, or json');
    }
    const text = typeof key === 'string' ? key : key === null ? 'null' : scalarText(key);
    entries.delete(text);
    entries.set(text, toJsonValue(args[i + 1]!.value, args[i + 1]!.oid, s, textOutput));
  }
  return new Jsonb(sortedObject(entries));
}
