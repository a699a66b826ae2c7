// The sqllogictest runner: the parser on small inline scripts, value rendering and hashing against
// the format's documented rules (and C's printf as the oracle for %.3f), and whole scripts run
// against a private PostgreSQL 15, including two corpus files that PostgreSQL passes completely.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../support/postgres.js';
import { parseScript, type QueryRecord, type StatementRecord } from './parser.js';
import {
  compareBytewise,
  compareResults,
  conditionsExclude,
  formatReal,
  globToRegExp,
  hashLine,
  hashValues,
  renderClassicValue,
  renderSltValue,
  runFile,
  runScript,
  sortRows,
  type Dialect,
  type FileResult,
  type RecordOutcome,
} from './runner.js';

const OID = { bool: 16, int8: 20, int4: 23, text: 25, float8: 701, numeric: 1700 } as const;

describe('parseScript', () => {
  it('reads statements, queries, results and hash lines with their line numbers', () => {
    const records = parseScript(
      [
        'hash-threshold 8', // 1
        '', // 2
        'statement ok', // 3
        'CREATE TABLE t1(a INTEGER,', // 4
        '# a comment inside the SQL is dropped', // 5
        '  b INTEGER)', // 6
        '', // 7
        'query IT rowsort label-1', // 8
        'SELECT a, b', // 9
        '  FROM t1', // 10
        '----', // 11
        '1', // 12
        'x y', // 13
        '', // 14
        'query I nosort', // 15
        'SELECT a FROM t1', // 16
        '----', // 17
        '30 values hashing to 3c13dee48d9356ae19af2515e05e6b54', // 18
        '', // 19
        'statement error', // 20
        'SELECT * FORM t1', // 21
      ].join('\n'),
    );
    expect(records.map((record) => [record.kind, record.line])).toEqual([
      ['hashThreshold', 1],
      ['statement', 3],
      ['query', 8],
      ['query', 15],
      ['statement', 20],
    ]);
    const create = records[1] as StatementRecord;
    expect(create.sql).toBe('CREATE TABLE t1(a INTEGER,\n  b INTEGER)');
    expect(create.expect).toEqual({ kind: 'ok' });
    const select = records[2] as QueryRecord;
    expect(select).toMatchObject({ sql: 'SELECT a, b\n  FROM t1', columnTypes: 'IT', sortMode: 'rowsort', label: 'label-1' });
    expect(select.expect).toEqual({ kind: 'rows', rows: { kind: 'lines', lines: ['1', 'x y'] } });
    expect((records[3] as QueryRecord).expect).toEqual({
      kind: 'rows',
      rows: { kind: 'hash', valueCount: 30, md5: '3c13dee48d9356ae19af2515e05e6b54' },
    });
    expect((records[4] as StatementRecord).expect).toEqual({ kind: 'error', error: { kind: 'anyError' } });
  });

  it('attaches skipif/onlyif to the next record only, trailing comments ignored', () => {
    const records = parseScript(
      ['onlyif sqlite # empty RHS', 'skipif mysql', 'query I nosort', 'SELECT 1 IN ()', '----', '0', '', 'statement ok', 'SELECT 1', '', 'onlyif mssql', 'halt'].join('\n'),
    );
    expect(records[0]!.conditions).toEqual([
      { kind: 'onlyif', engine: 'sqlite' },
      { kind: 'skipif', engine: 'mysql' },
    ]);
    expect(records[1]!.conditions).toEqual([]);
    expect(records[2]).toMatchObject({ kind: 'halt', conditions: [{ kind: 'onlyif', engine: 'mssql' }] });
  });

  it('reads the sqllogictest-rs extras: query error, statement error <regex>, pgcode, count, control, include, subtest', () => {
    const records = parseScript(
      [
        'subtest Arithmetic',
        '',
        'control sortmode rowsort',
        '',
        'include other/*.slt',
        '',
        'statement count 2',
        'INSERT INTO t VALUES (1), (2)',
        '',
        'query error duplicate CTE name',
        'WITH c AS (SELECT 1), c AS (SELECT 2) SELECT * FROM c;',
        '',
        'statement error pgcode 42601 syntax',
        'SELEC 1',
        '',
        'statement error',
        'SELECT 1/0',
        '----',
        'division by zero',
        '',
        'query II',
        'SELECT 1, 2',
        '----',
        '1\t2',
      ].join('\r\n'),
    );
    expect(records.map((record) => record.kind)).toEqual(['control', 'include', 'statement', 'query', 'statement', 'statement', 'query']);
    expect(records[0]).toMatchObject({ setting: { kind: 'sortMode', mode: 'rowsort' } });
    expect(records[1]).toMatchObject({ pattern: 'other/*.slt' });
    expect((records[2] as StatementRecord).expect).toEqual({ kind: 'count', rowCount: 2 });
    expect((records[3] as QueryRecord).expect).toEqual({ kind: 'error', error: { kind: 'messagePattern', pattern: 'duplicate CTE name' } });
    expect((records[4] as StatementRecord).expect).toEqual({ kind: 'error', error: { kind: 'sqlstate', code: '42601', pattern: 'syntax' } });
    expect((records[5] as StatementRecord).expect).toEqual({ kind: 'error', error: { kind: 'messageBlock', text: 'division by zero' } });
    expect((records[6] as QueryRecord).expect).toEqual({ kind: 'rows', rows: { kind: 'lines', lines: ['1\t2'] } });
  });

  it('turns what it cannot read into malformed or unsupported records, never an exception', () => {
    const records = parseScript(
      ['query I bogussort', 'SELECT 1', '', 'frobnicate now', 'SELECT 2', '', 'statement maybe', 'SELECT 3', '', 'system ok', 'echo hi', '', 'hash-threshold many', '', 'statement ok', ''].join('\n'),
    );
    expect(records.map((record) => record.kind)).toEqual(['malformed', 'malformed', 'malformed', 'unsupported', 'malformed', 'malformed']);
    expect(records[0]).toMatchObject({ reason: "unknown sort mode 'bogussort'" });
    expect(records[1]).toMatchObject({ reason: "unknown record type 'frobnicate'" });
    fc.assert(
      fc.property(fc.array(fc.constantFrom('statement ok', 'query I', '----', '', '# c', 'halt', 'skipif x', 'SELECT 1', 'include', 'control x'), { maxLength: 30 }), (lines) => {
        expect(() => parseScript(lines.join('\n'))).not.toThrow();
      }),
    );
  });
});

describe('rendering values', () => {
  it('renders NULL, empty strings and unprintable characters as the format says', () => {
    for (const type of ['I', 'R', 'T'] as const) expect(renderClassicValue(type, null, OID.text)).toBe('NULL');
    expect(renderClassicValue('T', '', OID.text)).toBe('(empty)');
    expect(renderClassicValue('T', 'a\tb\u0001', OID.text)).toBe('a@b@');
    // Each byte of a multi-byte UTF-8 character is unprintable on its own.
    expect(renderClassicValue('T', 'é', OID.text)).toBe('@@');
    expect(renderSltValue(null, OID.int4)).toBe('NULL');
    expect(renderSltValue('', OID.text)).toBe('(empty)');
    expect(renderSltValue('t', OID.bool)).toBe('true');
    expect(renderSltValue('f', OID.bool)).toBe('false');
    expect(renderSltValue('12.50', OID.numeric)).toBe('12.50');
  });

  it('renders I as SQLite column_int does: truncation toward zero, text prefixes, the low 32 bits', () => {
    expect(renderClassicValue('I', '42', OID.int4)).toBe('42');
    expect(renderClassicValue('I', '5.6', OID.float8)).toBe('5');
    expect(renderClassicValue('I', '-5.6', OID.float8)).toBe('-5');
    expect(renderClassicValue('I', '12.999', OID.numeric)).toBe('12');
    expect(renderClassicValue('I', '12abc', OID.text)).toBe('12');
    expect(renderClassicValue('I', 'abc', OID.text)).toBe('0');
    expect(renderClassicValue('I', 't', OID.bool)).toBe('1');
    expect(renderClassicValue('I', 'f', OID.bool)).toBe('0');
    // sqlite3_column_int() "returns the lower 32 bits of that value without checking for overflows".
    expect(renderClassicValue('I', '4294967297', OID.int8)).toBe('1');
    expect(renderClassicValue('I', '2147483648', OID.int8)).toBe('-2147483648');
  });

  it('renders R as %.3f', () => {
    expect(renderClassicValue('R', '1', OID.int4)).toBe('1.000');
    expect(renderClassicValue('R', '2.5', OID.float8)).toBe('2.500');
    expect(renderClassicValue('R', '0.333333333333333', OID.float8)).toBe('0.333');
    expect(renderClassicValue('R', '-0.0004', OID.float8)).toBe('-0.000');
    expect(renderClassicValue('R', '1e+22', OID.float8)).toBe('10000000000000000000000.000');
    expect(renderClassicValue('R', 't', OID.bool)).toBe('1.000');
    expect(renderClassicValue('R', '7.25xyz', OID.text)).toBe('7.250');
    // SQLite's printf (checked with SQLite 3.40.1: printf('%.3f', 0.0625)) rounds exact halves away
    // from zero, where glibc's rounds them to even.
    expect(formatReal(0.0625)).toBe('0.063');
    expect(formatReal(-0.0625)).toBe('-0.063');
    expect(formatReal(Number.POSITIVE_INFINITY)).toBe('Inf');
    expect(formatReal(Number.NEGATIVE_INFINITY)).toBe('-Inf');
  });

  it('agrees with C printf("%.3f") on doubles that are not exact halves', () => {
    const isExactHalf = (x: number): boolean => {
      const scaled = x * 2000;
      return Number.isInteger(scaled) && Math.abs(scaled) % 2 === 1;
    };
    const samples = fc.sample(
      fc.oneof(
        fc.double({ min: -1e9, max: 1e9, noNaN: true }),
        fc.integer({ min: -1_000_000, max: 1_000_000 }).map((n) => n / 1000 + 0.0005),
        fc.integer({ min: -100_000, max: 100_000 }).map((n) => n / 7),
      ),
      3000,
    );
    const values = samples.filter((x) => !isExactHalf(x));
    // awk hands each number to the C library's strtod and printf: an implementation of the format
    // independent of this one. 17 significant digits give back the same double.
    const printed = execFileSync('awk', ['{ printf "%.3f\\n", $1 }'], { input: values.map((x) => x.toPrecision(17)).join('\n') + '\n' })
      .toString()
      .trimEnd()
      .split('\n');
    expect(values.map(formatReal)).toEqual(printed);
  });
});

describe('sorting, hashing, comparing', () => {
  it('sorts rows with strcmp, so "9" sorts after "10" (about.wiki)', () => {
    expect(
      sortRows(
        [
          ['9', 'a'],
          ['10', 'b'],
          ['10', 'a'],
        ],
        'rowsort',
      ),
    ).toEqual([
      ['10', 'a'],
      ['10', 'b'],
      ['9', 'a'],
    ]);
    expect(
      sortRows(
        [
          ['9', 'a'],
          ['10', 'b'],
        ],
        'valuesort',
      ),
    ).toEqual([['10'], ['9'], ['a'], ['b']]);
    expect(sortRows([['b'], ['a']], 'nosort')).toEqual([['b'], ['a']]);
  });

  it('orders strings by UTF-8 bytes, as strcmp does', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(Math.sign(compareBytewise(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
    );
  });

  it('gives rowsort and valuesort results that do not depend on the order rows arrive in', () => {
    const row = fc.array(fc.oneof(fc.constant('NULL'), fc.integer({ min: -50, max: 50 }).map(String), fc.string({ maxLength: 3 })), { minLength: 2, maxLength: 2 });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 20 }), fc.integer(), (rows, seed) => {
        const shuffled = [...rows].sort((a, b) => ((a.join().length * 31 + seed) % 7) - ((b.join().length * 31 + seed) % 7));
        for (const mode of ['rowsort', 'valuesort'] as const) {
          expect(hashLine(sortRows(shuffled, mode).flat())).toBe(hashLine(sortRows(rows, mode).flat()));
        }
      }),
    );
  });

  it('compares classic results value by value and slt results row by row, ignoring whitespace', () => {
    const rows = [
      ['1', 'x y'],
      ['2', 'NULL'],
    ];
    expect(compareResults('classic', rows, { kind: 'lines', lines: ['1', 'x y', '2', 'NULL'] })).toEqual({ matches: true });
    expect(compareResults('classic', rows, { kind: 'lines', lines: ['1', 'x  y', '2', 'NULL'] }).matches).toBe(false);
    // The original harness would stop comparing where the expected lines end; we do not.
    expect(compareResults('classic', rows, { kind: 'lines', lines: ['1', 'x y'] }).matches).toBe(false);
    expect(compareResults('slt', rows, { kind: 'lines', lines: ['1\tx   y', ' 2 NULL '] })).toEqual({ matches: true });
    expect(compareResults('slt', rows, { kind: 'lines', lines: ['1 x y'] }).matches).toBe(false);
    const hash = hashValues(rows.flat());
    for (const dialect of ['classic', 'slt'] as Dialect[]) {
      expect(compareResults(dialect, rows, { kind: 'hash', valueCount: 4, md5: hash })).toEqual({ matches: true });
      expect(compareResults(dialect, rows, { kind: 'hash', valueCount: 5, md5: hash }).matches).toBe(false);
    }
  });

  it('honours skipif and onlyif for the postgresql engine, case-insensitively', () => {
    expect(conditionsExclude([{ kind: 'skipif', engine: 'postgresql' }], 'postgresql')).toBe('skipif postgresql');
    expect(conditionsExclude([{ kind: 'skipif', engine: 'mysql' }], 'postgresql')).toBeUndefined();
    expect(conditionsExclude([{ kind: 'onlyif', engine: 'PostgreSQL' }], 'postgresql')).toBeUndefined();
    expect(conditionsExclude([{ kind: 'onlyif', engine: 'sqlite' }], 'postgresql')).toBe('onlyif sqlite');
  });

  it('matches globs the way shells do', () => {
    expect(globToRegExp('index/**/slt_good_*.test').test('index/between/1/slt_good_0.test')).toBe(true);
    expect(globToRegExp('index/**/slt_good_*.test').test('index/slt_good_0.test')).toBe(true);
    expect(globToRegExp('*.slt').test('dir/a.slt')).toBe(false);
    expect(globToRegExp('{a,b}?.slt').test('b1.slt')).toBe(true);
    expect(globToRegExp('[!x]*.test').test('x1.test')).toBe(false);
  });
});

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function corpusDirectory(): string {
  const fromEnvironment = process.env['CAIRN_CORPORA'];
  const candidates = fromEnvironment !== undefined && fromEnvironment !== '' ? [fromEnvironment] : [join(repositoryRoot, '..', 'shared', 'corpora'), '/work/shared/corpora'];
  const found = candidates.find((candidate) => existsSync(join(candidate, 'sqllogictest')));
  if (found === undefined) throw new Error(`no sqllogictest corpus in ${candidates.join(', ')}; set CAIRN_CORPORA`);
  return join(found, 'sqllogictest');
}

describe('running scripts against PostgreSQL 15', () => {
  let server: PostgresServer;
  let scratch: string;

  beforeAll(async () => {
    server = await startPostgres({ settings: { fsync: 'off' } });
    scratch = await mkdtemp(join(tmpdir(), 'cairn-slt-test-'));
  });
  afterAll(async () => {
    await server?.stop();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  const run = async (text: string, dialect: Dialect, options: { recordTimeoutMs?: number } = {}): Promise<{ result: FileResult; outcomes: RecordOutcome[] }> => {
    const outcomes: RecordOutcome[] = [];
    const result = await runScript({ text, name: 'inline', dialect, directory: scratch }, { url: server.url, onOutcome: (o) => outcomes.push(o), ...options });
    return { result, outcomes };
  };
  const statuses = (outcomes: readonly RecordOutcome[]): string[] => outcomes.map((o) => `${o.line}:${o.status}`);

  it('runs a classic script: passes, failures that do not stop the file, skips, halt', async () => {
    const script = [
      'statement ok', // 1
      'CREATE TABLE t1(a INTEGER, b VARCHAR(10), c REAL)',
      '',
      'statement ok', // 4
      "INSERT INTO t1 VALUES(10,'x',1.5),(9,'',NULL),(2,'y',-0.25)",
      '',
      'query ITR rowsort', // 7
      'SELECT a, b, c FROM t1',
      '----',
      '10',
      'x',
      '1.500',
      '2',
      'y',
      '-0.250',
      '9',
      '(empty)',
      'NULL',
      '',
      'query I nosort', // 20
      'SELECT a FROM t1 ORDER BY a',
      '----',
      '2',
      '9',
      '11',
      '',
      'statement error', // 27
      'SELECT * FORM t1',
      '',
      'query I nosort', // 30
      'SELECT a > 5 FROM t1 ORDER BY a',
      '----',
      '0',
      '1',
      '1',
      '',
      'onlyif sqlite', // 37
      'query I nosort',
      'SELECT 1 IN ()',
      '----',
      '0',
      '',
      'skipif postgresql', // 43
      'statement ok',
      'SELECT nonsense',
      '',
      'hash-threshold 2', // 47
      '',
      'query I valuesort', // 49
      'SELECT a FROM t1',
      '----',
      `3 values hashing to ${hashValues(['10', '2', '9'])}`,
      '',
      'query II nosort', // 54
      'SELECT 1',
      '----',
      '1',
      '',
      'halt', // 59
      '',
      'statement ok', // 61
      'SELECT 1',
    ].join('\n');
    const { result, outcomes } = await run(script, 'classic');
    expect(statuses(outcomes)).toEqual(['1:passed', '4:passed', '7:passed', '20:failed', '27:passed', '30:passed', '38:skipped', '44:skipped', '49:passed', '54:failed', '61:skipped']);
    expect(result).toMatchObject({ passed: 6, failed: 2, skipped: 3, problems: [] });
    const wrong = outcomes.find((o) => o.line === 20);
    expect(wrong).toMatchObject({ status: 'failed', failure: { kind: 'wrongResult', expected: ['2', '9', '11'], actual: ['2', '9', '10'] } });
    expect(outcomes.find((o) => o.line === 54)).toMatchObject({ failure: { kind: 'wrongColumnCount', expected: 2, actual: 1 } });
    expect(outcomes.find((o) => o.line === 38)).toMatchObject({ reason: 'onlyif sqlite' });
  });

  it('runs an slt script: error patterns, SQLSTATEs, row counts, sort mode control, booleans, includes', async () => {
    await writeFile(join(scratch, 'shared_setup.slt'), 'statement ok\ncreate table u(v int, w boolean)\n');
    const script = [
      'include shared_setup.slt', // 1
      '',
      'statement count 3', // 3
      'insert into u values (2, true), (1, null), (3, false);',
      '',
      'control sortmode rowsort', // 6
      '',
      'query IB', // 8
      'select v, w from u',
      '----',
      '1\tNULL',
      '2   true',
      '3 false',
      '',
      'query error division by zero', // 15
      'select v / 0 from u',
      '',
      'statement error pgcode 42P01', // 18
      'select * from missing_table',
      '',
      'statement error pgcode 42P01 no such', // 21
      'select * from missing_table',
      '',
      'query error', // 24
      'select 1',
      '',
      'statement count 5', // 27
      'delete from u',
    ].join('\n');
    const { result, outcomes } = await run(script, 'slt');
    expect(statuses(outcomes)).toEqual(['1:passed', '3:passed', '8:passed', '15:passed', '18:passed', '21:failed', '24:failed', '27:failed']);
    expect(outcomes.map((o) => o.file)).toEqual(['shared_setup.slt', ...Array<string>(7).fill('inline')]);
    expect(outcomes[5]).toMatchObject({ failure: { kind: 'wrongError', sqlstate: '42P01' } });
    expect(outcomes[6]).toMatchObject({ failure: { kind: 'missingError' } });
    expect(outcomes[7]).toMatchObject({ failure: { kind: 'wrongRowCount', expected: 5, actual: 3 } });
    expect(result.failed).toBe(3);
  });

  it('cancels a record that outlives its timeout and goes on in the same database', async () => {
    const script = ['statement ok', 'CREATE TABLE kept(x INTEGER)', '', 'statement ok', 'SELECT pg_sleep(20)', '', 'query I nosort', 'SELECT count(*) FROM kept', '----', '0'].join('\n');
    const started = performance.now();
    const { outcomes } = await run(script, 'classic', { recordTimeoutMs: 300 });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(statuses(outcomes)).toEqual(['1:passed', '4:failed', '7:passed']);
    expect(outcomes[1]).toMatchObject({ failure: { kind: 'timeout', timeoutMs: 300 } });
  });

  it('counts a session the server ends as a failure, even where an error was expected, and reconnects', async () => {
    const script = [
      'statement error',
      'SELECT pg_terminate_backend(pg_backend_pid())',
      '',
      'query I nosort',
      'SELECT 41 + 1',
      '----',
      '42',
    ].join('\n');
    const { outcomes } = await run(script, 'classic');
    expect(statuses(outcomes)).toEqual(['1:failed', '4:passed']);
    expect(outcomes[0]).toMatchObject({ failure: { kind: 'connectionLost', message: expect.stringMatching(/^57P01: terminating connection/) } });
  });

  it('gives every file a database of its own and drops it afterwards', async () => {
    const first = await run('statement ok\nCREATE TABLE private_table(x INTEGER)\n', 'classic');
    expect(first.result.passed).toBe(1);
    const second = await run('statement ok\nSELECT * FROM private_table\n', 'classic');
    expect(second.outcomes[0]).toMatchObject({ failure: { kind: 'unexpectedError', sqlstate: '42P01' } });
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const left = await client.query("SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'slt\\_%'");
      expect(left.rows[0].n).toBe(0);
      // The result hash is MD5 over each value and a newline; PostgreSQL's md5() agrees.
      const md5 = await client.query("SELECT md5(E'10\\n2\\n9\\n') AS h");
      expect(hashValues(['10', '2', '9'])).toBe(md5.rows[0].h);
    } finally {
      await client.end();
    }
  });

  it('passes every record of two corpus files PostgreSQL fully supports', async () => {
    const corpus = corpusDirectory();
    // select1.test: 1031 records, most compared as "N values hashing to"; where.slt: the slt dialect.
    for (const file of ['sqlite/test/select1.test', 'risinglight/where.slt']) {
      const failures: string[] = [];
      const result = await runFile(join(corpus, file), { url: server.url, onOutcome: (o) => o.status === 'failed' && failures.push(`${o.line}`) }, file);
      expect(failures).toEqual([]);
      expect(result.failed).toBe(0);
      expect(result.skipped).toBe(0);
      expect(result.passed).toBeGreaterThan(file.endsWith('.test') ? 1000 : 15);
    }
  });
});
