// The statement splitter of `cairn sql` against PostgreSQL's own lexer and parser (libpg-query,
// the server's grammar compiled to WebAssembly): for generated scripts full of semicolons inside
// strings, E'' strings, dollar-quoted bodies, quoted identifiers and nested comments, the
// statements it cuts are the ones the server's parser finds, however the text is chunked.
import fc from 'fast-check';
import { loadModule, parseSync } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqlError, SqlState } from '../../src/sql/errors.js';
import { MAX_STATEMENT_CHARS, StatementSplitter } from '../../src/cli/sql_statement_splitter.js';

interface RawStmt {
  stmt_location?: number;
  stmt_len?: number;
}

/** The statements PostgreSQL's parser finds in `text`, trimmed (its locations count UTF-8 bytes). */
function serverStatements(text: string): string[] {
  const parsed = parseSync(text) as { stmts?: RawStmt[] };
  const bytes = Buffer.from(text, 'utf8');
  return (parsed.stmts ?? []).map((s) => {
    const start = s.stmt_location ?? 0;
    const end = s.stmt_len === undefined || s.stmt_len === 0 ? bytes.length : start + s.stmt_len;
    return bytes.subarray(start, end).toString('utf8').trim();
  });
}

function splitWhole(text: string): string[] {
  const s = new StatementSplitter();
  return [...s.push(text), ...s.finish()];
}

function splitInChunks(text: string, cuts: readonly number[]): string[] {
  const s = new StatementSplitter();
  const out: string[] = [];
  let at = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (cut <= at || cut >= text.length) continue;
    out.push(...s.push(text.slice(at, cut)));
    at = cut;
  }
  out.push(...s.push(text.slice(at)));
  return [...out, ...s.finish()];
}

beforeAll(async () => {
  await loadModule();
});

describe('StatementSplitter, cases PostgreSQL decides', () => {
  const cases: Array<[string, string]> = [
    ['plain statements', 'select 1; select 2;'],
    ['a semicolon in a string', "select ';'; select 'it''s; fine';"],
    ['a backslash ends nothing in a standard string', "select 'a\\'; select 2;"],
    ['a backslash escapes a quote in an E string', "select E'\\';'; select 2;"],
    ['lower-case e strings too', "select e'x\\'y;'; select 1"],
    ['U& strings are standard', "select U&'d;'; select 2"],
    ['a semicolon in a quoted identifier', 'select 1 as "a;""b"; select 2;'],
    ['dollar-quoted bodies', 'create function f() returns int as $$ select 1; $$ language sql; select 2;'],
    ['tagged dollar quotes hold other tags', 'select $fn$ ; $$ ; $fn$; select 2'],
    ['$1 is a parameter, not a quote', 'prepare p as select $1::int; execute p(1);'],
    ['a $ inside an identifier', 'select 1 as x$$; select 2;'],
    ['line comments', 'select 1 -- no; here\n; select 2;'],
    ['nested block comments', 'select 1 /* a /* b ; */ c ; */ ; select 2'],
    ['parentheses hold semicolons (rule actions)', 'create rule r as on insert to t do also (select 1; select 2); select 3;'],
    ['empty statements vanish', 'select 1;;; select 2'],
    ['a trailing comment is no statement', 'select 1; -- end'],
    ['the last statement needs no semicolon', 'select 1; select 2'],
    ['leading comments stay with their statement', '/* x; */ select 1; -- y\nselect 2;'],
  ];
  for (const [name, text] of cases) {
    it(name, () => {
      expect(splitWhole(text)).toEqual(serverStatements(text));
      // Fed one character at a time, the answer is the same.
      expect(splitInChunks(text, Array.from({ length: text.length }, (_, i) => i))).toEqual(serverStatements(text));
    });
  }

  it('says where the input stands, for the prompt', () => {
    const s = new StatementSplitter();
    expect(s.isIdle).toBe(true);
    expect(s.push('select 1\n')).toEqual([]);
    expect(s.isIdle).toBe(false);
    expect(s.insideLiteral).toBe(false);
    expect(s.push("  , 'abc;\n")).toEqual([]);
    expect(s.insideLiteral).toBe(true);
    expect(s.lexicalState).toEqual({ kind: 'singleQuote', escapes: false });
    expect(s.push("def';\n")).toEqual(["select 1\n  , 'abc;\ndef'"]);
    expect(s.isIdle).toBe(true);
    expect(s.push('-- only a comment\n')).toEqual([]);
    expect(s.isIdle).toBe(true);
    expect(s.push('/* open\n')).toEqual([]);
    expect(s.isIdle).toBe(false);
    expect(s.insideLiteral).toBe(true);
    s.reset();
    expect(s.isIdle).toBe(true);
    expect(s.finish()).toEqual([]);
  });

  it('hands back an unterminated string at the end, for the server to reject', () => {
    const s = new StatementSplitter();
    expect(s.push("select 'abc\n")).toEqual([]);
    expect(s.finish()).toEqual(["select 'abc"]);
    expect(() => parseSync("select 'abc")).toThrow(/unterminated quoted string/);
  });

  it('refuses a statement longer than the bound, and forgets it', () => {
    const s = new StatementSplitter();
    const big = 'x'.repeat(1024 * 1024);
    let error: unknown;
    try {
      for (let i = 0; i <= MAX_STATEMENT_CHARS / big.length; i++) s.push(big);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SqlError);
    expect((error as SqlError).code).toBe(SqlState.programLimitExceeded);
    expect(s.isIdle).toBe(true);
    expect(s.push('select 1;')).toEqual(['select 1']);
  });
});

// Generated scripts: SELECT lists of literals that hide semicolons, separated by comments.
const inner = fc.constantFrom('a', ';', ' ', '\n', '$', '-', '/', '*', '\\', "'", '"', 'é', 'x;');
const innerText = fc.string({ unit: inner, maxLength: 12 });
const standardString = innerText.map((s) => `'${s.replaceAll("'", "''")}'`);
const escapeString = innerText.map((s) => `E'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`);
const quotedIdent = fc.string({ unit: inner, minLength: 1, maxLength: 12 }).map((s) => `"${s.replaceAll('"', '""')}"`);
const dollarString = fc
  .tuple(fc.constantFrom('', 'x', 'fn', 'a1'), innerText)
  .map(([tag, body]) => ({ quote: `$${tag}$`, body }))
  .filter(({ quote, body }) => `${body}${quote}`.indexOf(quote) === body.length)
  .map(({ quote, body }) => `${quote}${body}${quote}`);
const simple = fc.constantFrom('1', '42', '(1)', '$1', 'now()', 'x$y');
const item = fc.oneof(standardString, escapeString, quotedIdent, dollarString, simple);
// Comment text: everything but the characters that would end or nest the comment.
const commentText = fc.string({ unit: fc.constantFrom('a', ';', ' ', '$', '-', "'", '"', '\\', 'é'), maxLength: 10 });
const lineComment = commentText.map((s) => `-- ${s}\n`);
const blockComment = fc.tuple(commentText, commentText, commentText).map(([a, b, c]) => `/* ${a} /* ${b} */ ${c} */`);
const gap = fc.oneof(fc.constantFrom(' ', '\n', '  '), lineComment, blockComment.map((c) => ` ${c} `));
const statement = fc
  .tuple(fc.option(gap, { nil: undefined }), fc.array(fc.tuple(item, gap), { minLength: 1, maxLength: 4 }))
  .map(([lead, items]) => `${lead ?? ''}select ${items.map(([it, g], i) => `${it}${i < items.length - 1 ? `,${g}` : g}`).join('')}`);
const script = fc
  .tuple(fc.array(statement, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.constantFrom('', ' ', '\n', '; ', ';\n;'))
  .map(([stmts, finalSemicolon, tail]) => `${stmts.join(';\n')}${finalSemicolon ? ';' : ''}${finalSemicolon ? tail : ''}`);

describe('StatementSplitter, generated scripts', () => {
  it('cuts where PostgreSQL cuts', () => {
    fc.assert(
      fc.property(script, (text) => {
        expect(splitWhole(text)).toEqual(serverStatements(text));
      }),
      { numRuns: 500 },
    );
  });

  it('does not depend on how the text is chunked', () => {
    fc.assert(
      fc.property(
        script.chain((text) => fc.tuple(fc.constant(text), fc.array(fc.nat({ max: Math.max(0, text.length) }), { maxLength: 20 }))),
        ([text, cuts]) => {
          expect(splitInChunks(text, cuts)).toEqual(splitWhole(text));
        },
      ),
      { numRuns: 500 },
    );
  });
});
