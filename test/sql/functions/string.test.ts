// The string and binary-string functions against PostgreSQL 15 (UTF-8 database, C locale).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bool, bytes, cairnScalar, call, f8, i4, i8, lit, num, scalarMismatches, startOracle, txt, unknown, type Call, type Oracle } from './oracle.js';

let oracle: Oracle;
beforeAll(async () => {
  oracle = await startOracle();
}, 60_000);
afterAll(async () => {
  await oracle?.stop();
});

const calls: Call[] = [
  // lengths count characters; octets count UTF-8 bytes
  call('length', txt('héllo😀')), call('char_length', txt('')), call('character_length', txt('abc')), call('length', bytes('\\x0102')),
  call('octet_length', txt('é😀')), call('octet_length', bytes('\\x010203')), call('bit_length', txt('é')), call('bit_length', bytes('\\xff')),
  call('length', lit('varchar', 'abc')), call('length', lit('bpchar', 'ab  ')),
  // case (ASCII only, as in the C locale)
  call('lower', txt('HeLLo ÀÉ')), call('upper', txt('hello àé')), call('initcap', txt('hELLO wORLD-foo_bar 1a2b éa')),
  // substrings
  call('substr', txt('hello'), i4(2)), call('substr', txt('hello'), i4(0), i4(3)), call('substr', txt('hello'), i4(-1), i4(3)), call('substr', txt('hello'), i4(2), i4(-1)),
  call('substring', txt('h😀llo'), i4(2), i4(2)), call('substring', txt('hello'), i4(10)), call('substring', bytes('\\x01020304'), i4(2), i4(2)),
  call('substring', txt('foobar'), txt('o(.)b')), call('substring', txt('foobar'), txt('o.b')), call('substring', txt('foobar'), txt('x(y)?')),
  call('substring', txt('foobar'), txt('%#"o_b#"%'), txt('#')), call('substring', txt('foobar'), txt('%o#"%#"'), txt('#')),
  call('substring', txt('foobar'), txt('#"%#"o%'), txt('#')), call('substring', txt('foobar'), txt('f%'), txt('#')),
  call('substring', txt('foobar'), txt('#"o#"#"x#"'), txt('#')),
  call('pg_catalog.position', txt('abc'), txt('c')), call('pg_catalog.position', txt('a😀c'), txt('c')), call('strpos', txt('abc'), txt('')), call('strpos', txt('abc'), txt('x')),
  call('pg_catalog.position', bytes('\\x010203'), bytes('\\x03')), call('starts_with', txt('alphabet'), txt('alph')), call('starts_with', txt('a'), txt('ab')),
  call('overlay', txt('abcdef'), txt('XY'), i4(2), i4(3)), call('overlay', txt('abcdef'), txt('XY'), i4(2)), call('overlay', txt('abc'), txt('x'), i4(0)),
  call('overlay', txt('abc'), txt('x'), i4(2), i4(-1)), call('overlay', bytes('\\x010203'), bytes('\\xff'), i4(2)),
  call('left', txt('hello'), i4(2)), call('left', txt('hello'), i4(-2)), call('right', txt('hello'), i4(2)), call('right', txt('hello'), i4(-2)),
  call('left', txt('hi'), i4(-5)), call('right', txt('hi'), i4(10)),
  // replacing, trimming, padding
  call('replace', txt('abcabc'), txt('b'), txt('XY')), call('replace', txt('abc'), txt(''), txt('x')),
  call('translate', txt('12345'), txt('143'), txt('ax')), call('translate', txt('aaa'), txt('aa'), txt('bc')),
  call('btrim', txt('  hi  ')), call('btrim', txt('xxhixx'), txt('x')), call('ltrim', txt('  hi  ')), call('rtrim', txt('  hi  ')),
  call('ltrim', txt('zzyhizz'), txt('yz')), call('rtrim', txt('hi😀😀'), txt('😀')), call('btrim', bytes('\\x00010200'), bytes('\\x00')),
  call('lpad', txt('hi'), i4(5)), call('lpad', txt('hello'), i4(2)), call('lpad', txt('hi'), i4(5), txt('xy')), call('lpad', txt('hi'), i4(5), txt('')),
  call('rpad', txt('hi'), i4(5), txt('xy')), call('rpad', txt('hi'), i4(-1)), call('repeat', txt('ab'), i4(3)), call('repeat', txt('ab'), i4(-1)),
  call('repeat', txt('ab'), i4(1000000000)), call('reverse', txt('a😀b')),
  call('split_part', txt('a,b,c'), txt(','), i4(2)), call('split_part', txt('a,b,c'), txt(','), i4(5)), call('split_part', txt('a,b,c'), txt(','), i4(-1)),
  call('split_part', txt('a,b,c'), txt(','), i4(0)), call('split_part', txt('abc'), txt(''), i4(1)), call('split_part', txt(''), txt(','), i4(1)),
  // concatenation and formatting
  call('concat', txt('a'), txt(null), i4(1), bool(true), num('2.50')), call('concat'), call('concat', txt(null)),
  call('concat_ws', txt(','), txt('a'), txt(null), txt('b')), call('concat_ws', txt(null), txt('a')), call('concat_ws', txt('-'), i4(1), f8(2.5)),
  call('format', txt('%s|%I|%L|%%'), txt('a'), txt('B c'), txt(null)), call('format', txt('%2$s %1$s'), txt('a'), txt('b')),
  call('format', txt('[%5s][%-5s]'), txt('ab'), txt('cd')), call('format', txt('[%*s]'), i4(4), txt('x')), call('format', txt('[%*s]'), i4(-4), txt('x')),
  call('format', txt('%s %s'), txt('1')), call('format', txt('%z'), txt('1')), call('format', txt('abc%')), call('format', txt('%I'), txt(null)),
  call('format', txt('%L'), txt("O'Reilly")), call('format', txt('%s'), i4(42)), call('format', txt('plain')), call('format', txt('%0$s'), txt('a')),
  call('format', txt('%1$s %s'), txt('a'), txt('b')),
  call('quote_ident', txt('Foo')), call('quote_ident', txt('select')), call('quote_ident', txt('name')), call('quote_ident', txt('a b')),
  call('quote_ident', txt('_x1$')), call('quote_ident', txt('a"b')), call('quote_ident', txt('1a')),
  call('quote_literal', txt("it's")), call('quote_literal', txt('a\\b')), call('quote_literal', i4(42)), call('quote_nullable', txt(null)),
  call('quote_nullable', txt('x')), call('quote_nullable', num('1.5')),
  // hashes and encodings
  call('md5', txt('abc')), call('md5', bytes('\\x00ff')), call('sha256', bytes('\\x616263')), call('sha224', bytes('\\x')), call('sha512', bytes('\\x00')),
  call('encode', bytes('\\x00ff5c41270a'), txt('escape')), call('encode', bytes('\\xdeadbeef'), txt('hex')), call('encode', bytes('\\x616263'), txt('base64')),
  call('encode', lit('bytea', `\\x${'61'.repeat(60)}`), txt('base64')), call('encode', bytes('\\x01'), txt('foo')),
  call('decode', txt('YWJj'), txt('base64')), call('decode', txt('YW Jj'), txt('base64')), call('decode', txt('YWJ'), txt('base64')),
  call('decode', txt('YW=j'), txt('base64')), call('decode', txt('Y===='), txt('base64')), call('decode', txt('YQ==YQ=='), txt('base64')), call('decode', txt('YW*j'), txt('base64')), call('decode', txt('ab cd'), txt('hex')),
  call('decode', txt('abc'), txt('hex')), call('decode', txt('zz'), txt('hex')), call('decode', txt('a\\\\b\\101'), txt('escape')),
  call('decode', txt('a\\9'), txt('escape')), call('decode', txt('x'), txt('nope')),
  call('convert_from', bytes('\\xc3a9'), lit('name', 'UTF8')), call('convert_from', bytes('\\xff'), lit('name', 'UTF8')),
  call('convert_from', bytes('\\xe9'), lit('name', 'latin1')), call('convert_to', txt('é'), lit('name', 'LATIN1')), call('convert_to', txt('é'), lit('name', 'utf-8')),
  call('convert_to', txt('x'), lit('name', 'foo')), call('convert_from', bytes('\\x61'), lit('name', 'foo')),
  // characters and numbers
  call('to_hex', i4(255)), call('to_hex', i4(-1)), call('to_hex', i8(-1)), call('to_hex', i8('9223372036854775807')),
  call('ascii', txt('A')), call('ascii', txt('😀')), call('ascii', txt('')), call('chr', i4(65)), call('chr', i4(128512)), call('chr', i4(0)),
  call('chr', i4(1114112)), call('chr', i4(55296)), call('chr', i4(-1)),
  // arrays of strings
  call('string_to_array', txt('a,b,,c'), txt(',')), call('string_to_array', txt('a,b,,c'), txt(','), txt('')), call('string_to_array', txt('abc'), txt(null)),
  call('string_to_array', txt('abc'), txt('')), call('string_to_array', txt(''), txt(',')), call('string_to_array', txt(null), txt(',')),
  call('string_to_array', txt('a xx b'), txt('xx'), txt(' b')),
  call('array_to_string', lit('int4[]', '{1,NULL,3}'), txt(',')), call('array_to_string', lit('int4[]', '{1,NULL,3}'), txt(','), txt('*')),
  call('array_to_string', lit('text[]', '{{a,b},{c,d}}'), txt('|')), call('array_to_string', lit('int4[]', '{1,2}'), txt(null)),
  call('array_to_string', lit('numeric[]', '{1.50,2}'), txt(';'), txt(null)),
  // null in, null out
  call('upper', txt(null)), call('lpad', txt('a'), i4(null)), call('replace', txt('a'), txt(null), txt('b')),
  // untyped literals are text
  call('length', unknown('abc')), call('upper', unknown('abc')),
];

const regexCalls: Call[] = [
  call('regexp_replace', txt('Hello World'), txt('(o)'), txt('[\\1\\&\\\\]'), txt('g')), call('regexp_replace', txt('abcabc'), txt('b'), txt('X')),
  call('regexp_replace', txt('abcabc'), txt('B'), txt('X'), txt('gi')), call('regexp_replace', txt('abcabc'), txt('b'), txt('X'), i4(3)),
  call('regexp_replace', txt('abcabc'), txt('b'), txt('X'), i4(2), i4(2)), call('regexp_replace', txt('abcabc'), txt('b'), txt('X'), i4(1), i4(0)),
  call('regexp_replace', txt('abc'), txt('b'), txt('X'), i4(0)), call('regexp_replace', txt('abc'), txt('x*'), txt('-'), txt('g')),
  call('regexp_replace', txt('a😀b'), txt('.'), txt('x'), txt('g')), call('regexp_replace', txt('abc'), txt('b'), txt('X'), txt('z')),
  call('regexp_match', txt('foobarbequebaz'), txt('(bar)(beque)')), call('regexp_match', txt('abc'), txt('[[:alpha:]]+(\\d)?')),
  call('regexp_match', txt('a1'), txt('(?i)A\\d')), call('regexp_match', txt('abc'), txt('(')), call('regexp_match', txt('abc'), txt('a{3,1}')),
  call('regexp_match', txt('abc'), txt('x'), txt('z')), call('regexp_match', txt('foobar'), txt('o'), txt('g')), call('regexp_match', txt('abc'), txt('x')),
  call('regexp_match', txt('a\nb'), txt('a.b')), call('regexp_match', txt('a\nb'), txt('a.b'), txt('n')), call('regexp_match', txt('x\nab'), txt('^ab'), txt('n')),
  call('regexp_match', txt('x\nab'), txt('^ab')), call('regexp_match', txt('a.b'), txt('a\\.b')), call('regexp_match', txt('a-b'), txt('a\\-b')),
  call('regexp_match', txt('say ab now'), txt('\\mab\\M')), call('regexp_match', txt('abc'), txt('a{,2}')), call('regexp_match', txt('a{,2}'), txt('a{,2}')),
  call('regexp_match', txt('Abc'), txt('[[:upper:]][[:lower:]]+')), call('regexp_match', txt('a b'), txt('a\\sb')), call('regexp_match', txt('x]y'), txt('[]x]+')),
  call('regexp_match', txt('ABC'), txt('b'), txt('i')), call('regexp_match', txt('a+b'), txt('a+b'), txt('q')), call('regexp_match', txt('a+b'), txt('***=a+b')),
  call('regexp_match', txt('abc'), txt('a b c'), txt('x')), call('regexp_match', txt('tab\there'), txt('\\t')), call('regexp_match', txt('aa'), txt('(a)\\1')),
  call('regexp_match', txt('abc'), txt('\\q')),
  call('regexp_split_to_array', txt('hello world'), txt('\\s*')), call('regexp_split_to_array', txt('  a b '), txt('\\s+')),
  call('regexp_split_to_array', txt('abc'), txt('')), call('regexp_split_to_array', txt('a1b22c'), txt('\\d+')), call('regexp_split_to_array', txt('aXbxc'), txt('x'), txt('i')),
  call('regexp_split_to_array', txt('abc'), txt('b'), txt('g')),
  call('regexp_like', txt('ABC'), txt('b'), txt('i')), call('regexp_like', txt('ABC'), txt('b')), call('regexp_count', txt('ababab'), txt('ab')),
  call('regexp_count', txt('ababab'), txt('ab'), i4(2)), call('regexp_count', txt('AbAB'), txt('ab'), i4(1), txt('i')), call('regexp_count', txt('abc'), txt('x*')),
  call('regexp_instr', txt('abcabc'), txt('b(c)'), i4(1), i4(2), i4(0), txt(''), i4(1)), call('regexp_instr', txt('abcabc'), txt('b(c)'), i4(1), i4(1), i4(1)),
  call('regexp_instr', txt('abc'), txt('x')), call('regexp_instr', txt('a😀bc'), txt('b')),
  call('regexp_substr', txt('abcabc'), txt('b(c)'), i4(1), i4(2), txt(''), i4(1)), call('regexp_substr', txt('abc'), txt('x')),
  call('regexp_substr', txt('number 42 and 7'), txt('\\d+'), i4(1), i4(2)),
];

describe('string functions', () => {
  it('agree with PostgreSQL', async () => {
    expect(await scalarMismatches(oracle, calls)).toEqual([]);
  });

  it('regular expression functions agree with PostgreSQL', async () => {
    expect(await scalarMismatches(oracle, regexCalls)).toEqual([]);
  });

  it('substr and left/right/reverse agree with PostgreSQL on random text', async () => {
    const alphabet = ['a', 'b', 'é', '😀', ' ', 'Z'];
    const sample = fc.sample(
      fc.tuple(fc.array(fc.constantFrom(...alphabet), { maxLength: 8 }).map((a) => a.join('')), fc.integer({ min: -3, max: 10 }), fc.integer({ min: 0, max: 6 })),
      { numRuns: 40, seed: 7 },
    );
    const random: Call[] = sample.flatMap(([s, start, count]) => [call('substr', txt(s), i4(start), i4(count)), call('left', txt(s), i4(start)), call('right', txt(s), i4(start)), call('reverse', txt(s))]);
    expect(await scalarMismatches(oracle, random)).toEqual([]);
  });

  it('concat renders each argument with its own type (not the value guessed from its form)', async () => {
    const c = call('concat', lit('date', '2020-01-02'), txt('|'), lit('float4', '0.1'));
    expect(await cairnScalar(c)).toEqual(await oracle.scalar(c));
  });
});
