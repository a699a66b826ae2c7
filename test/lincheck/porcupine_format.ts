/**
 * Parsers for two history formats, both one event per line, with time = line number (1-based):
 *
 * kv (Jepsen-style EDN maps):
 *   {:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
 *   {:process 0, :type :ok, :f :get, :key "5", :value ""}
 *
 * etcd (the Jepsen etcd register test's log):
 *   INFO  jepsen.util - 3	:invoke	:cas	[3 0]
 *   INFO  jepsen.util - 3	:fail	:cas	[3 0]
 *
 * Each process's invocation is paired with its next completion. Completion types follow Jepsen:
 * :ok happened; :fail definitely did not take effect; :info may or may not have taken effect
 * (return = Infinity). An invocation still pending at the end of the file counts as :info.
 * Reads whose outcome is unknown are dropped: they cannot have changed anything and returned
 * nothing to compare against.
 */
import type { Operation } from './checker.js';
import type { EtcdInput, EtcdOutput, KvInput, KvOutput } from './models.js';

export class HistoryParseError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${source}:${line}: ${reason}`);
    this.name = 'HistoryParseError';
  }
}

type CompletionType = 'ok' | 'fail' | 'info';

// ---------------------------------------------------------------------------------------------
// kv

export function parseKvHistory(text: string, source = '<input>'): Operation<KvInput, KvOutput>[] {
  const history = new HistoryBuilder<KvInput, KvOutput>(source);
  splitLines(text).forEach((rawLine, index) => {
    const lineNumber = index + 1;
    const line = rawLine.trim();
    if (line === '') return;
    const fail = (reason: string): never => {
      throw new HistoryParseError(source, lineNumber, reason);
    };
    const fields = parseEdnMap(line, fail);
    const field = (name: string): EdnValue => fields.get(name) ?? fail(`missing :${name}`);

    const processField = field('process');
    // Nemesis (fault injector) events are not client operations.
    if (processField.type === 'keyword' && processField.name === 'nemesis') return;
    if (processField.type !== 'integer') return fail(`:process must be an integer, got ${showEdn(processField)}`);
    const processId = processField.value;
    const type = keywordField(field('type'), 'type', ['invoke', 'ok', 'fail', 'info'], fail);
    const f = keywordField(field('f'), 'f', ['get', 'put', 'append'], fail);
    const keyValue = field('key');
    if (keyValue.type !== 'string') return fail(`:key must be a string, got ${showEdn(keyValue)}`);
    const key = keyValue.value;
    const value = field('value');

    if (type === 'invoke') {
      let input: KvInput;
      if (f === 'get') {
        input = { kind: 'get', key };
      } else {
        if (value.type !== 'string') return fail(`:${f} needs a string :value, got ${showEdn(value)}`);
        input = { kind: f, key, value: value.value };
      }
      history.invoke(processId, f, input, lineNumber);
      return;
    }
    let output: KvOutput = '';
    if (type === 'ok' && f === 'get') {
      // A missing key reads as "", whichever way the recorder spelled it.
      if (value.type === 'string') output = value.value;
      else if (value.type !== 'nil') return fail(`a completed :get needs a string or nil :value, got ${showEdn(value)}`);
    }
    history.complete(processId, f, type, lineNumber, (input) => {
      if (type === 'fail') return 'drop';
      if (type === 'info') return input.kind === 'get' ? 'drop' : { output: '', outcome: 'unknown' };
      return { output, outcome: 'known' };
    });
  });
  return history.finish((input) => (input.kind === 'get' ? 'drop' : { output: '' }));
}

// ---------------------------------------------------------------------------------------------
// etcd

const ETCD_LINE = /^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$/;
const INTEGER = /^-?\d+$/;
const PAIR = /^\[\s*(-?\d+)\s+(-?\d+)\s*\]$/;

export function parseEtcdLog(text: string, source = '<input>'): Operation<EtcdInput, EtcdOutput>[] {
  const history = new HistoryBuilder<EtcdInput, EtcdOutput>(source);
  splitLines(text).forEach((rawLine, index) => {
    const lineNumber = index + 1;
    if (rawLine.trim() === '') return;
    const fail = (reason: string): never => {
      throw new HistoryParseError(source, lineNumber, reason);
    };
    const match = ETCD_LINE.exec(rawLine);
    if (match === null) {
      return fail(
        `expected "INFO jepsen.util - <process> :<type> :<read|write|cas> <value>", got ${JSON.stringify(rawLine)}`,
      );
    }
    const [, processText = '', typeText = '', f = '', valueText = ''] = match;
    const processId = Number(processText);
    const type = typeText as 'invoke' | CompletionType;
    const operationKind = f as EtcdInput['kind'];
    const integer = (): number =>
      INTEGER.test(valueText) ? Number(valueText) : fail(`expected an integer, got ${JSON.stringify(valueText)}`);
    const pair = (): [number, number] => {
      const pairMatch = PAIR.exec(valueText) ?? fail(`expected [expected new], got ${JSON.stringify(valueText)}`);
      return [Number(pairMatch[1]), Number(pairMatch[2])];
    };

    if (type === 'invoke') {
      let input: EtcdInput;
      switch (operationKind) {
        case 'read':
          if (valueText !== 'nil') fail(`a read is invoked with nil, got ${JSON.stringify(valueText)}`);
          input = { kind: 'read' };
          break;
        case 'write':
          input = { kind: 'write', value: integer() };
          break;
        case 'cas': {
          const [expected, value] = pair();
          input = { kind: 'cas', expected, value };
          break;
        }
      }
      history.invoke(processId, operationKind, input, lineNumber);
      return;
    }

    let readValue: number | null = null;
    if (type === 'ok' && operationKind === 'read') readValue = valueText === 'nil' ? null : integer();
    // The etcd client reports a cas whose compare did not match as :fail: it did execute, and
    // saw a different value, which is a definite outcome (false), not "did not happen".
    const casCompareFailed = type === 'fail' && operationKind === 'cas' && PAIR.test(valueText);
    history.complete(processId, operationKind, type, lineNumber, (input) => {
      if (type === 'info') return input.kind === 'read' ? 'drop' : { output: null, outcome: 'unknown' };
      if (type === 'fail') return casCompareFailed ? { output: false, outcome: 'known' } : 'drop';
      switch (input.kind) {
        case 'read':
          return { output: readValue, outcome: 'known' };
        case 'write':
          return { output: null, outcome: 'known' };
        case 'cas':
          return { output: true, outcome: 'known' };
      }
    });
  });
  return history.finish((input) => (input.kind === 'read' ? 'drop' : { output: null }));
}

// ---------------------------------------------------------------------------------------------
// Pairing invocations with completions.

type Completion<Output> = 'drop' | { readonly output: Output; readonly outcome: 'known' | 'unknown' };

interface PendingInvocation<Input> {
  readonly f: string;
  readonly input: Input;
  readonly line: number;
}

class HistoryBuilder<Input, Output> {
  private readonly pending = new Map<number, PendingInvocation<Input>>();
  // Kept in invocation order, holes for dropped ones, so the result reads like the file.
  private readonly slots: (Operation<Input, Output> | undefined)[] = [];
  private readonly slotOf = new Map<PendingInvocation<Input>, number>();

  constructor(private readonly source: string) {}

  invoke(process: number, f: string, input: Input, line: number): void {
    const earlier = this.pending.get(process);
    if (earlier !== undefined) {
      throw new HistoryParseError(
        this.source,
        line,
        `process ${process} invokes :${f} while its :${earlier.f} from line ${earlier.line} has not completed`,
      );
    }
    const invocation = { f, input, line };
    this.pending.set(process, invocation);
    this.slotOf.set(invocation, this.slots.length);
    this.slots.push(undefined);
  }

  complete(
    process: number,
    f: string,
    type: CompletionType,
    line: number,
    resolve: (input: Input) => Completion<Output>,
  ): void {
    const invocation = this.pending.get(process);
    if (invocation === undefined) {
      throw new HistoryParseError(
        this.source,
        line,
        `process ${process} completes :${f} (:${type}) but has no pending invocation`,
      );
    }
    if (invocation.f !== f) {
      throw new HistoryParseError(
        this.source,
        line,
        `process ${process} completes :${f} but invoked :${invocation.f} at line ${invocation.line}`,
      );
    }
    this.pending.delete(process);
    const completion = resolve(invocation.input);
    if (completion === 'drop') return;
    this.slots[this.slotOf.get(invocation)!] = {
      clientId: process,
      input: invocation.input,
      call: invocation.line,
      output: completion.output,
      return: completion.outcome === 'known' ? line : Infinity,
    };
  }

  /** Invocations never completed are unknown outcomes; `unfinished` says what to keep of them. */
  finish(unfinished: (input: Input) => 'drop' | { readonly output: Output }): Operation<Input, Output>[] {
    for (const [process, invocation] of this.pending) {
      const completion = unfinished(invocation.input);
      if (completion === 'drop') continue;
      this.slots[this.slotOf.get(invocation)!] = {
        clientId: process,
        input: invocation.input,
        call: invocation.line,
        output: completion.output,
        return: Infinity,
      };
    }
    this.pending.clear();
    return this.slots.filter((slot): slot is Operation<Input, Output> => slot !== undefined);
  }
}

function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

// ---------------------------------------------------------------------------------------------
// A flat EDN map: {:key value, ...} with keyword, string, integer and nil values.

type EdnValue =
  | { readonly type: 'keyword'; readonly name: string }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'integer'; readonly value: number }
  | { readonly type: 'nil' };

function showEdn(value: EdnValue): string {
  switch (value.type) {
    case 'keyword':
      return `:${value.name}`;
    case 'string':
      return JSON.stringify(value.value);
    case 'integer':
      return String(value.value);
    case 'nil':
      return 'nil';
  }
}

function keywordField<Name extends string>(
  value: EdnValue,
  field: string,
  allowed: readonly Name[],
  fail: (reason: string) => never,
): Name {
  if (value.type === 'keyword' && (allowed as readonly string[]).includes(value.name)) return value.name as Name;
  return fail(`:${field} must be one of ${allowed.map((name) => `:${name}`).join(' ')}, got ${showEdn(value)}`);
}

const STRING_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r' };

function parseEdnMap(line: string, fail: (reason: string) => never): Map<string, EdnValue> {
  let position = 0;
  // EDN treats commas as whitespace.
  const skipSpace = (): void => {
    while (position < line.length && /[\s,]/.test(line[position]!)) position++;
  };
  const expect = (char: string): void => {
    skipSpace();
    if (line[position] !== char) fail(`expected '${char}' at column ${position + 1}`);
    position++;
  };
  const symbol = (): string => {
    const start = position;
    while (position < line.length && /[^\s,{}[\]"]/.test(line[position]!)) position++;
    return line.slice(start, position);
  };
  const value = (): EdnValue => {
    skipSpace();
    const column = position + 1;
    const first = line[position];
    if (first === '"') {
      position++;
      let text = '';
      for (;;) {
        const char = line[position++];
        if (char === undefined) return fail(`unterminated string starting at column ${column}`);
        if (char === '"') return { type: 'string', value: text };
        if (char === '\\') {
          const escaped = line[position++];
          const replacement = escaped === undefined ? undefined : STRING_ESCAPES[escaped];
          if (replacement === undefined) return fail(`unsupported escape '\\${escaped ?? ''}' at column ${position - 1}`);
          text += replacement;
        } else {
          text += char;
        }
      }
    }
    if (first === ':') {
      position++;
      const name = symbol();
      if (name === '') return fail(`empty keyword at column ${column}`);
      return { type: 'keyword', name };
    }
    const word = symbol();
    if (word === 'nil') return { type: 'nil' };
    if (/^-?\d+$/.test(word)) return { type: 'integer', value: Number(word) };
    return fail(
      word === '' ? `expected a value at column ${column}` : `unsupported value ${JSON.stringify(word)} at column ${column}`,
    );
  };

  const fields = new Map<string, EdnValue>();
  expect('{');
  for (;;) {
    skipSpace();
    if (line[position] === '}') {
      position++;
      break;
    }
    if (position >= line.length) fail('unterminated map: missing }');
    const key = value();
    if (key.type !== 'keyword') return fail(`map keys must be keywords, got ${showEdn(key)}`);
    if (fields.has(key.name)) return fail(`duplicate key :${key.name}`);
    fields.set(key.name, value());
  }
  skipSpace();
  if (position < line.length) fail(`unexpected text after the map at column ${position + 1}`);
  return fields;
}
