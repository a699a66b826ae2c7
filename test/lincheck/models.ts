import { partitionBy, type Model, type Outcome, type StepResult } from './checker.js';

const REJECTED = { ok: false } as const;

// ---------------------------------------------------------------------------------------------
// Key-value store with get / put / append (the workload of the kv test histories).

export type KvInput =
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'append'; readonly key: string; readonly value: string };

/** The value a get returned. Ignored for put and append (by convention ""). */
export type KvOutput = string;

/**
 * The state is the value of a single key: `partition` splits histories per key and keys are
 * independent, so the checker never shows this model operations on two keys at once.
 * A key that was never written reads as "".
 */
export const kvModel: Model<string, KvInput, KvOutput> = {
  init: () => '',
  step(state, input, output, outcome): StepResult<string> {
    switch (input.kind) {
      case 'get':
        return outcome === 'unknown' || output === state ? { ok: true, state } : REJECTED;
      case 'put':
        return { ok: true, state: input.value };
      case 'append':
        return { ok: true, state: state + input.value };
    }
  },
  equal: (a, b) => a === b,
  hash: (state) => state,
  partition: (operations) => partitionBy(operations, (operation) => operation.input.key),
  describeOperation(input, output, outcome) {
    switch (input.kind) {
      case 'get':
        return `get(${JSON.stringify(input.key)}) -> ${outcome === 'known' ? JSON.stringify(output) : '?'}`;
      case 'put':
        return `put(${JSON.stringify(input.key)}, ${JSON.stringify(input.value)})${outcome === 'unknown' ? ' -> ?' : ''}`;
      case 'append':
        return `append(${JSON.stringify(input.key)}, ${JSON.stringify(input.value)})${outcome === 'unknown' ? ' -> ?' : ''}`;
    }
  },
  describeState: (state) => JSON.stringify(state),
};

// ---------------------------------------------------------------------------------------------
// Registers with read / write / compare-and-set (the Raft simulator's workload).

export type RegisterValue = string | number;

export type RegisterInput =
  | { readonly kind: 'read'; readonly key: string }
  | { readonly kind: 'write'; readonly key: string; readonly value: RegisterValue }
  | { readonly kind: 'cas'; readonly key: string; readonly expected: RegisterValue; readonly value: RegisterValue };

/**
 * read: the value read, null when the register was never written. cas: whether it swapped.
 * write: ignored (by convention null).
 *
 * Recording convention: a write or cas whose outcome the client never learned is recorded with
 * return = Infinity (its output is then ignored); a read whose outcome is unknown carries no
 * information and must be left out of the history.
 */
export type RegisterOutput = RegisterValue | boolean | null;

export type RegisterState = RegisterValue | null;

/**
 * Each key is its own register; the state is the value of one key, because `partition` gives
 * the checker one key's operations at a time.
 */
export const registerModel: Model<RegisterState, RegisterInput, RegisterOutput> = {
  init: () => null,
  step: (state, input, output, outcome) => stepRegister(state, input, output, outcome),
  equal: (a, b) => a === b,
  hash: hashRegister,
  partition: (operations) => partitionBy(operations, (operation) => operation.input.key),
  describeOperation: (input, output, outcome) =>
    describeRegisterOperation(`[${JSON.stringify(input.key)}]`, input, output, outcome),
  describeState: (state) => JSON.stringify(state),
};

// ---------------------------------------------------------------------------------------------
// The single integer register of the Jepsen etcd histories.

export type EtcdInput =
  | { readonly kind: 'read' }
  | { readonly kind: 'write'; readonly value: number }
  | { readonly kind: 'cas'; readonly expected: number; readonly value: number };

/** read: the value, null when unset. cas: whether the compare matched. write: ignored (null). */
export type EtcdOutput = number | boolean | null;

export const etcdModel: Model<number | null, EtcdInput, EtcdOutput> = {
  init: () => null,
  step: (state, input, output, outcome) => stepRegister(state, input, output, outcome),
  equal: (a, b) => a === b,
  hash: hashRegister,
  describeOperation: (input, output, outcome) => describeRegisterOperation('', input, output, outcome),
  describeState: (state) => JSON.stringify(state),
};

// ---------------------------------------------------------------------------------------------

/** A register operation with its key (if any) already used up by partitioning. */
type RegisterOperation<Value extends RegisterValue> =
  | { readonly kind: 'read' }
  | { readonly kind: 'write'; readonly value: Value }
  | { readonly kind: 'cas'; readonly expected: Value; readonly value: Value };

function stepRegister<Value extends RegisterValue>(
  state: Value | null,
  input: RegisterOperation<Value>,
  output: Value | boolean | null,
  outcome: Outcome,
): StepResult<Value | null> {
  switch (input.kind) {
    case 'read':
      if (outcome === 'unknown') return { ok: true, state };
      // A malformed history is the recorder's bug, not a linearizability violation.
      if (typeof output === 'boolean') {
        throw new TypeError(`a read's output must be a value or null, got ${String(output)}`);
      }
      return output === state ? { ok: true, state } : REJECTED;
    case 'write':
      return { ok: true, state: input.value };
    case 'cas': {
      const swaps = state === input.expected;
      const next = swaps ? input.value : state;
      if (outcome === 'unknown') return { ok: true, state: next };
      if (typeof output !== 'boolean') {
        throw new TypeError(`a cas's output must be a boolean, got ${JSON.stringify(output)}`);
      }
      return output === swaps ? { ok: true, state: next } : REJECTED;
    }
  }
}

// Type-tagged so that the number 1 and the string "1" are different states.
function hashRegister(state: RegisterState): string {
  if (state === null) return 'n';
  return typeof state === 'number' ? `d${state}` : `s${state}`;
}

function describeRegisterOperation(
  target: string,
  input: RegisterOperation<RegisterValue>,
  output: RegisterOutput,
  outcome: Outcome,
): string {
  const result = outcome === 'unknown' ? '?' : JSON.stringify(output);
  switch (input.kind) {
    case 'read':
      return `read${target}() -> ${result}`;
    case 'write':
      return `write${target}(${JSON.stringify(input.value)})${outcome === 'unknown' ? ' -> ?' : ''}`;
    case 'cas':
      return `cas${target}(${JSON.stringify(input.expected)}, ${JSON.stringify(input.value)}) -> ${result}`;
  }
}
