// A parser for Java's .properties format (java.util.Properties#load), which is what YCSB's
// workload files are: comment lines starting with # or !, key/value separated by '=', ':' or
// whitespace, backslash line continuations, and \t \n \r \f \uXXXX escapes. Later keys win.

export class PropertiesError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    message: string,
  ) {
    super(`${source}:${line}: ${message}`);
    this.name = 'PropertiesError';
  }
}

export function parseProperties(text: string, source = '<properties>'): Map<string, string> {
  const result = new Map<string, string>();
  const physical = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < physical.length; i++) {
    const startLine = i + 1;
    let line = physical[i]!.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // A line ending in an odd number of backslashes continues on the next one (leading blanks dropped).
    while (endsWithOddBackslashes(line)) {
      line = line.slice(0, -1);
      i++;
      if (i >= physical.length) break;
      line += physical[i]!.replace(/^[ \t\f]+/, '');
    }
    let keyEnd = 0;
    while (keyEnd < line.length) {
      const ch = line[keyEnd]!;
      if (ch === '\\') {
        keyEnd += 2;
        continue;
      }
      if (ch === '=' || ch === ':' || ch === ' ' || ch === '\t' || ch === '\f') break;
      keyEnd++;
    }
    let valueStart = Math.min(keyEnd, line.length);
    while (valueStart < line.length && /[ \t\f]/.test(line[valueStart]!)) valueStart++;
    if (valueStart < line.length && (line[valueStart] === '=' || line[valueStart] === ':')) valueStart++;
    while (valueStart < line.length && /[ \t\f]/.test(line[valueStart]!)) valueStart++;
    const key = unescape(line.slice(0, Math.min(keyEnd, line.length)), source, startLine);
    const value = unescape(line.slice(valueStart), source, startLine);
    result.set(key, value);
  }
  return result;
}

function endsWithOddBackslashes(line: string): boolean {
  let n = 0;
  for (let j = line.length - 1; j >= 0 && line[j] === '\\'; j--) n++;
  return n % 2 === 1;
}

function unescape(s: string, source: string, line: number): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = s[++i];
    switch (next) {
      case undefined:
        break;
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        const hex = s.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new PropertiesError(source, line, `malformed \\u escape "\\u${hex}"`);
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default:
        out += next;
    }
  }
  return out;
}
