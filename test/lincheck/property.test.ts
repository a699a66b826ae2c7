/**
 * Properties of the checker against independent oracles:
 * (a) soundness on legal histories: histories produced by a real sequential object, each
 *     operation taking effect at a random instant inside its [call, return] interval, are
 *     always accepted;
 * (b) agreement with brute force: on small random histories (outputs made up, so many are not
 *     linearizable) the verdict equals that of trying every order that respects real time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkOperations, type Operation } from './checker.js';
import {
  kvModel,
  registerModel,
  type KvInput,
  type KvOutput,
  type RegisterInput,
  type RegisterOutput,
  type RegisterValue,
} from './models.js';

type RegisterOperation = Operation<RegisterInput, RegisterOutput>;

/** The sequential register the histories are judged against, written independently of the model. */
function applyToRegisters(
  registers: ReadonlyMap<string, RegisterValue>,
  input: RegisterInput,
): { readonly registers: ReadonlyMap<string, RegisterValue>; readonly output: RegisterOutput } {
  const current = registers.get(input.key) ?? null;
  switch (input.kind) {
    case 'read':
      return { registers, output: current };
    case 'write':
      return { registers: new Map(registers).set(input.key, input.value), output: null };
    case 'cas':
      if (current !== input.expected) return { registers, output: false };
      return { registers: new Map(registers).set(input.key, input.value), output: true };
  }
}

// ---------------------------------------------------------------------------------------------
// (a) Histories recorded from a real sequential object.

/** The shape of one client operation before the object has run it. */
interface PlannedOperation {
  readonly choice: number; // which operation, model-specific
  readonly key: number;
  readonly value: number;
  readonly expected: number;
  readonly gapBefore: number; // after the client's previous return; 0 makes intervals touch
  readonly duration: number;
  readonly effectAt: number; // in thousandths of the interval
  readonly tieBreak: number;
  readonly outcomeLost: boolean; // the client never learns the outcome
  readonly tookEffect: boolean; // only meaningful when outcomeLost
}

const plannedOperation = fc.record<PlannedOperation>({
  choice: fc.integer({ min: 0, max: 2 }),
  key: fc.integer({ min: 0, max: 2 }),
  value: fc.integer({ min: 0, max: 3 }),
  expected: fc.integer({ min: 0, max: 3 }),
  gapBefore: fc.integer({ min: 0, max: 3 }),
  duration: fc.integer({ min: 0, max: 6 }),
  effectAt: fc.integer({ min: 0, max: 1000 }),
  tieBreak: fc.integer({ min: 0, max: 1_000_000 }),
  outcomeLost: fc.integer({ min: 0, max: 4 }).map((roll) => roll === 0),
  tookEffect: fc.boolean(),
});

const clientPlans = fc.array(fc.array(plannedOperation, { maxLength: 8 }), { minLength: 1, maxLength: 5 });

interface TimedPlan {
  readonly clientId: number;
  readonly plan: PlannedOperation;
  readonly call: number;
  readonly return: number;
  readonly effectTime: number;
}

/** Lays out each client's operations one after another and picks each one's instant of effect. */
function schedule(plans: readonly (readonly PlannedOperation[])[]): TimedPlan[] {
  return plans.flatMap((operations, clientId) => {
    let clock = 0;
    return operations.map((plan) => {
      const call = clock + plan.gapBefore;
      const ret = call + plan.duration;
      clock = ret;
      return { clientId, plan, call, return: ret, effectTime: call + ((ret - call) * plan.effectAt) / 1000 };
    });
  });
}

/**
 * Runs the operations that took effect in order of their instants, with `run` computing each
 * output from the object's state; operations whose outcome was lost are recorded with
 * return = Infinity (and, for `omitWhenLost` ones such as reads, not recorded at all).
 */
function record<Input, Output, ObjectState>(
  timed: readonly TimedPlan[],
  toInput: (plan: PlannedOperation) => Input,
  omitWhenLost: (input: Input) => boolean,
  initial: ObjectState,
  run: (state: ObjectState, input: Input) => { readonly state: ObjectState; readonly output: Output },
  unknownOutput: Output,
): Operation<Input, Output>[] {
  const inputs = timed.map((operation) => toInput(operation.plan));
  const outputs: Output[] = inputs.map(() => unknownOutput);
  const effective = timed
    .map((operation, index) => ({ operation, index }))
    .filter(({ operation }) => !operation.plan.outcomeLost || operation.plan.tookEffect)
    .sort(
      (a, b) =>
        a.operation.effectTime - b.operation.effectTime || a.operation.plan.tieBreak - b.operation.plan.tieBreak,
    );
  let state = initial;
  for (const { index } of effective) {
    const result = run(state, inputs[index]!);
    state = result.state;
    outputs[index] = result.output;
  }
  return timed.flatMap((operation, index) => {
    const input = inputs[index]!;
    if (operation.plan.outcomeLost && omitWhenLost(input)) return [];
    return [
      {
        clientId: operation.clientId,
        input,
        call: operation.call,
        output: outputs[index]!,
        return: operation.plan.outcomeLost ? Infinity : operation.return,
      },
    ];
  });
}

const keyName = (key: number): string => `k${key}`;

function registerInput(plan: PlannedOperation): RegisterInput {
  const key = keyName(plan.key);
  switch (plan.choice) {
    case 0:
      return { kind: 'read', key };
    case 1:
      return { kind: 'write', key, value: plan.value };
    default:
      return { kind: 'cas', key, expected: plan.expected, value: plan.value };
  }
}

function kvInput(plan: PlannedOperation): KvInput {
  const key = keyName(plan.key);
  switch (plan.choice) {
    case 0:
      return { kind: 'get', key };
    case 1:
      return { kind: 'put', key, value: `<${plan.value}>` };
    default:
      return { kind: 'append', key, value: `<${plan.value}>` };
  }
}

function applyToKv(
  store: ReadonlyMap<string, string>,
  input: KvInput,
): { readonly state: ReadonlyMap<string, string>; readonly output: KvOutput } {
  const current = store.get(input.key) ?? '';
  switch (input.kind) {
    case 'get':
      return { state: store, output: current };
    case 'put':
      return { state: new Map(store).set(input.key, input.value), output: '' };
    case 'append':
      return { state: new Map(store).set(input.key, current + input.value), output: '' };
  }
}

describe('histories recorded from a real sequential object', () => {
  it('are linearizable (registers)', () => {
    fc.assert(
      fc.property(clientPlans, (plans) => {
        const history = record<RegisterInput, RegisterOutput, ReadonlyMap<string, RegisterValue>>(
          schedule(plans),
          registerInput,
          (input) => input.kind === 'read',
          new Map(),
          (registers, input) => {
            const result = applyToRegisters(registers, input);
            return { state: result.registers, output: result.output };
          },
          null,
        );
        expect(checkOperations(registerModel, history).verdict).toBe('ok');
      }),
      { numRuns: 300 },
    );
  });

  it('are linearizable (kv)', () => {
    fc.assert(
      fc.property(clientPlans, (plans) => {
        const history = record<KvInput, KvOutput, ReadonlyMap<string, string>>(
          schedule(plans),
          kvInput,
          (input) => input.kind === 'get',
          new Map(),
          applyToKv,
          '',
        );
        expect(checkOperations(kvModel, history).verdict).toBe('ok');
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// (b) Brute force.

/**
 * Tries every sequence of the operations in which an operation comes only after all operations
 * that returned before it was called, stopping when every operation with a known outcome is
 * placed (unknown ones may be left out: they may never have happened). No pruning, no
 * partitioning: slow and obviously right.
 */
function bruteForceLinearizable(operations: readonly RegisterOperation[]): boolean {
  const placed = operations.map(() => false);
  const knownCount = operations.filter((operation) => operation.return !== Infinity).length;
  const extend = (registers: ReadonlyMap<string, RegisterValue>, knownPlaced: number): boolean => {
    if (knownPlaced === knownCount) return true;
    return operations.some((operation, index) => {
      if (placed[index]) return false;
      const mustComeFirst = operations.some((other, otherIndex) => !placed[otherIndex] && other.return < operation.call);
      if (mustComeFirst) return false;
      const result = applyToRegisters(registers, operation.input);
      const outcomeKnown = operation.return !== Infinity;
      if (outcomeKnown && operation.input.kind !== 'write' && result.output !== operation.output) return false;
      placed[index] = true;
      const found = extend(result.registers, knownPlaced + (outcomeKnown ? 1 : 0));
      placed[index] = false;
      return found;
    });
  };
  return extend(new Map(), 0);
}

const collidingRegisterModel: typeof registerModel = { ...registerModel, hash: () => 'same' };

const smallValue = fc.constantFrom(1, 2);

const smallOperation: fc.Arbitrary<RegisterOperation> = fc
  .record({
    clientId: fc.integer({ min: 0, max: 3 }),
    key: fc.constantFrom('a', 'b'),
    kind: fc.constantFrom('read', 'write', 'cas'),
    value: smallValue,
    expected: smallValue,
    readOutput: fc.constantFrom<RegisterValue | null>(null, 1, 2),
    casOutput: fc.boolean(),
    call: fc.integer({ min: 0, max: 8 }),
    duration: fc.integer({ min: 0, max: 4 }),
    outcomeLost: fc.integer({ min: 0, max: 4 }).map((roll) => roll === 0),
  })
  .map(({ clientId, key, kind, value, expected, readOutput, casOutput, call, duration, outcomeLost }): RegisterOperation => {
    // Reads with a lost outcome are not recorded (see RegisterOutput), so they stay known here.
    const ret = outcomeLost && kind !== 'read' ? Infinity : call + duration;
    switch (kind) {
      case 'read':
        return { clientId, input: { kind, key }, call, output: readOutput, return: ret };
      case 'write':
        return { clientId, input: { kind, key, value }, call, output: null, return: ret };
      case 'cas':
        return { clientId, input: { kind, key, expected, value }, call, output: casOutput, return: ret };
    }
  });

describe('small random histories', () => {
  it('get the same verdict as brute force', () => {
    const keyCounts = fc.constantFrom(1, 2);
    fc.assert(
      fc.property(
        keyCounts.chain((keyCount) =>
          fc.array(
            smallOperation.map((operation) =>
              keyCount === 1 ? { ...operation, input: { ...operation.input, key: 'a' } } : operation,
            ),
            { maxLength: 7 },
          ),
        ),
        (history) => {
          const expected = bruteForceLinearizable(history) ? 'ok' : 'illegal';
          const result = checkOperations(registerModel, history);
          expect(result.verdict).toBe(expected);
          // Every state hashing alike forces the visited-configuration set onto its collision
          // path, where only `equal` tells states apart.
          expect(checkOperations(collidingRegisterModel, history).verdict).toBe(expected);
          if (result.verdict === 'illegal') {
            // The diagnostics promise: after the longest prefix, the model refuses every candidate.
            const { stateAfterPrefix, candidates } = result.failure;
            for (const candidate of candidates) {
              const outcome = candidate.return === Infinity ? 'unknown' : 'known';
              expect(registerModel.step(stateAfterPrefix, candidate.input, candidate.output, outcome).ok).toBe(false);
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('brute force itself tells the two textbook cases apart', () => {
    const write: RegisterOperation = {
      clientId: 0,
      input: { kind: 'write', key: 'a', value: 1 },
      call: 0,
      output: null,
      return: 1,
    };
    const readAfter = (value: RegisterValue | null): RegisterOperation => ({
      clientId: 1,
      input: { kind: 'read', key: 'a' },
      call: 2,
      output: value,
      return: 3,
    });
    expect(bruteForceLinearizable([write, readAfter(1)])).toBe(true);
    expect(bruteForceLinearizable([write, readAfter(null)])).toBe(false);
  });
});
