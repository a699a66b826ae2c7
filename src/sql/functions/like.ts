// LIKE, ILIKE and SIMILAR TO: patterns compiled to regular expressions once per distinct pattern
// (a small cache per call site, since patterns are usually constants or few parameters).
import { SqlError, SqlState } from '../errors.js';

/** Distinct patterns remembered per call site. */
const CACHE_LIMIT = 64;

function escapeRegex(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

function likeToRegex(pattern: string, escape: string | undefined): string {
  const esc = escape === undefined ? '\\' : escape;
  if (esc.length > 1) throw new SqlError(SqlState.invalidEscapeSequence, 'invalid escape string', { hint: 'Escape string must be empty or one character.' });
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (esc !== '' && c === esc) {
      i++;
      if (i >= pattern.length) throw new SqlError(SqlState.invalidEscapeSequence, 'LIKE pattern must not end with escape character');
      out += escapeRegex(pattern[i]!);
    } else if (c === '%') out += '[\\s\\S]*';
    else if (c === '_') out += '[\\s\\S]';
    else out += escapeRegex(c);
  }
  return `${out}$`;
}

function similarToRegex(pattern: string, escape: string | undefined): string {
  const esc = escape === undefined ? '\\' : escape;
  let out = '^(?:';
  let inBracket = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (esc !== '' && c === esc) {
      i++;
      if (i >= pattern.length) throw new SqlError(SqlState.invalidEscapeSequence, 'SIMILAR TO pattern must not end with escape character');
      out += escapeRegex(pattern[i]!);
    } else if (inBracket) {
      out += c === '\\' ? '\\\\' : c;
      if (c === ']') inBracket = false;
    } else if (c === '[') {
      inBracket = true;
      out += c;
    } else if (c === '%') out += '[\\s\\S]*';
    else if (c === '_') out += '[\\s\\S]';
    else if ('|*+?{}()'.includes(c)) out += c;
    else out += escapeRegex(c);
  }
  return `${out})$`;
}

/** A factory of matchers: (pattern, escape) → (text → matches). */
export function likeMatcher(options: { caseInsensitive: boolean; similar: boolean }): (pattern: string, escape: string | undefined) => (text: string) => boolean {
  const cache = new Map<string, (text: string) => boolean>();
  return (pattern, escape) => {
    const key = escape === undefined ? pattern : `${escape}\u0000${pattern}`;
    let m = cache.get(key);
    if (m !== undefined) return m;
    if (!options.similar && !options.caseInsensitive && escape === undefined) {
      m = fastLike(pattern);
    }
    if (m === undefined) {
      const source = options.similar ? similarToRegex(pattern, escape) : likeToRegex(pattern, escape);
      let re: RegExp;
      try {
        re = new RegExp(source, options.caseInsensitive ? 'iu' : 'u');
      } catch (err) {
        throw new SqlError(SqlState.invalidRegularExpression, `invalid regular expression: ${err instanceof Error ? err.message : String(err)}`);
      }
      m = (text) => re.test(text);
    }
    if (cache.size < CACHE_LIMIT) cache.set(key, m);
    return m;
  };
}

/** Patterns of the forms 'abc', 'abc%', '%abc', '%abc%' without escapes or '_' need no regex. */
function fastLike(pattern: string): ((text: string) => boolean) | undefined {
  if (pattern.includes('_') || pattern.includes('\\')) return undefined;
  const inner = pattern.replace(/^%/, '').replace(/%$/, '');
  if (inner.includes('%')) return undefined;
  const starts = pattern.startsWith('%');
  const ends = pattern.endsWith('%') && pattern.length > 1;
  if (starts && ends) return (t) => t.includes(inner);
  if (starts) return (t) => t.endsWith(inner);
  if (ends) return (t) => t.startsWith(inner);
  return (t) => t === inner;
}
