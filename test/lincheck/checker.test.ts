/**
 * Hand-written histories. Each op is written as client, [call, return], operation -> output;
 * `UNKNOWN` as the return time means the client never learned the outcome.
 */
import { describe, expect, it } from 'vitest';
import { checkOperations, explainIllegal, InvalidHistoryError, type Operation } from './checker.js';
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
const UNKNOWN = Infinity;

const write = (clientId: number, call: number, ret: number, value: RegisterValue, key = 'x'): RegisterOperation => ({
  clientId,
  input: { kind: 'write', key, value },
  call,
  output: null,
  return: ret,
});
const read = (clientId: number, call: number, ret: number, value: RegisterValue | null, key = 'x'): RegisterOperation => ({
  clientId,
  input: { kind: 'read', key },
  call,
  output: value,
  return: ret,
});
const cas = (
  clientId: number,
  call: number,
  ret: number,
  expected: RegisterValue,
  value: RegisterValue,
  swapped: boolean,
  key = 'x',
): RegisterOperation => ({ clientId, input: { kind: 'cas', key, expected, value }, call, output: swapped, return: ret });

const verdictOf = (operations: RegisterOperation[]): string => checkOperations(registerModel, operations).verdict;

describe('checkOperations on registers', () => {
  it('accepts a sequential history that matches the model', () => {
    // One client, no overlap: the only order is the real-time order, and it is legal.
    expect(
      verdictOf([write(0, 1, 2, 1), read(0, 3, 4, 1), write(0, 5, 6, 2), read(0, 7, 8, 2)]),
    ).toBe('ok');
  });

  it('accepts an empty history and one made only of unknown outcomes', () => {
    expect(verdictOf([])).toBe('ok');
    expect(verdictOf([write(0, 1, UNKNOWN, 1), cas(1, 2, UNKNOWN, 1, 2, false)])).toBe('ok');
  });

  it('accepts reads overlapping a write that see the old and then the new value', () => {
    // The write spans [1, 10]; it can take effect between the two reads.
    expect(verdictOf([write(0, 1, 10, 1), read(1, 2, 3, null), read(1, 4, 5, 1)])).toBe('ok');
  });

  it('rejects reads overlapping a write that see the new and then the old value', () => {
    // Once a read has returned 1 the write has happened; a later read cannot un-see it.
    expect(verdictOf([write(0, 1, 10, 1), read(1, 2, 3, 1), read(1, 4, 5, null)])).toBe('illegal');
  });

  it('rejects a stale read after a completed write, and says where it went wrong', () => {
    // The write returned at 2, before the read was called at 3, so the read must see 1.
    const staleRead = read(1, 3, 4, null);
    const result = checkOperations(registerModel, [write(0, 1, 2, 1), staleRead]);
    expect(result.verdict).toBe('illegal');
    if (result.verdict !== 'illegal') return;
    expect(result.failure.longestPrefix.map((operation) => operation.input.kind)).toEqual(['write']);
    expect(result.failure.stateAfterPrefix).toBe(1);
    expect(result.failure.blockingOperation).toBe(staleRead);
    expect(result.failure.candidates).toEqual([staleRead]);
    const explanation = explainIllegal(registerModel, result.failure);
    expect(explanation).toContain('write["x"](1)');
    expect(explanation).toContain('read["x"]() -> null');
  });

  it('treats intervals that touch as overlapping', () => {
    // The write returns at 5 and the read is called at 5: both could take effect at instant 5,
    // read first, so reading the old value is fine.
    expect(verdictOf([write(0, 1, 5, 1), read(1, 5, 6, null)])).toBe('ok');
    // One tick later the write has definitely happened.
    expect(verdictOf([write(0, 1, 5, 1), read(1, 6, 7, null)])).toBe('illegal');
  });

  it('accepts an unknown-outcome write that becomes visible later', () => {
    // The client of write(1) timed out; the write took effect somewhere after 3.
    expect(verdictOf([write(0, 1, UNKNOWN, 1), read(1, 2, 3, null), read(1, 5, 6, 1), read(2, 7, 8, 1)])).toBe('ok');
  });

  it('accepts an unknown-outcome write that is never seen', () => {
    // It may simply never have happened.
    expect(verdictOf([write(0, 1, UNKNOWN, 1), read(1, 5, 6, null), read(1, 7, 8, null)])).toBe('ok');
  });

  it('rejects an unknown-outcome write that becomes visible and then vanishes', () => {
    // Seen at [3, 4], so it happened; nothing overwrote it before [5, 6].
    expect(verdictOf([write(0, 1, UNKNOWN, 1), read(1, 3, 4, 1), read(1, 5, 6, null)])).toBe('illegal');
  });

  it('rejects an unknown-outcome write seen before it was called', () => {
    expect(verdictOf([read(1, 1, 2, 1), write(0, 3, UNKNOWN, 1)])).toBe('illegal');
  });

  describe('compare-and-set', () => {
    it('accepts concurrent cas where exactly one wins', () => {
      // Both try 0 -> something; whichever goes first swaps, the other sees a non-zero value.
      expect(
        verdictOf([write(0, 1, 2, 0), cas(1, 3, 6, 0, 1, true), cas(2, 4, 7, 0, 2, false), read(0, 8, 9, 1)]),
      ).toBe('ok');
    });

    it('rejects concurrent cas where both win', () => {
      // Nothing writes 0 back in between, so the second cas must see 1 or 2 and fail.
      expect(verdictOf([write(0, 1, 2, 0), cas(1, 3, 6, 0, 1, true), cas(2, 4, 7, 0, 2, true)])).toBe('illegal');
    });

    it('rejects a cas that failed although the value matched', () => {
      expect(verdictOf([write(0, 1, 2, 0), cas(1, 3, 4, 0, 5, false)])).toBe('illegal');
    });

    it('lets an unknown-outcome cas explain a later read', () => {
      // The timed-out cas must have swapped 0 -> 7 for the read to see 7.
      expect(verdictOf([write(0, 1, 2, 0), cas(1, 3, UNKNOWN, 0, 7, false), read(2, 10, 11, 7)])).toBe('ok');
      // And its expected value must have matched when it ran: here it never can.
      expect(verdictOf([write(0, 1, 2, 0), cas(1, 3, UNKNOWN, 3, 7, false), read(2, 10, 11, 7)])).toBe('illegal');
    });
  });

  it('checks keys independently and reports the failing key', () => {
    // Key "a" is fine; key "b" has a stale read.
    const result = checkOperations(registerModel, [
      write(0, 1, 2, 'one', 'a'),
      write(1, 1, 2, 'two', 'b'),
      read(0, 3, 4, 'one', 'a'),
      read(1, 3, 4, null, 'b'),
    ]);
    expect(result.verdict).toBe('illegal');
    expect(result.partitionCount).toBe(2);
    if (result.verdict !== 'illegal') return;
    expect(result.failure.operations.every((operation) => operation.input.key === 'b')).toBe(true);
  });

  it('keeps values of different types apart', () => {
    // The string "1" was written; the number 1 was read.
    expect(verdictOf([write(0, 1, 2, '1'), read(0, 3, 4, 1)])).toBe('illegal');
  });

  it('refuses malformed histories', () => {
    expect(() => verdictOf([write(0, 5, 4, 1)])).toThrow(InvalidHistoryError);
    expect(() => verdictOf([write(0, Number.NaN, 4, 1)])).toThrow(/call time/);
    expect(() => verdictOf([write(0, 1, Number.NaN, 1)])).toThrow(/return time/);
    expect(() => verdictOf([write(0, 1, 2, 0), { ...read(0, 3, 4, null), output: true }])).toThrow(TypeError);
    expect(() => verdictOf([{ ...cas(0, 1, 2, 0, 1, true), output: 0 }])).toThrow(TypeError);
  });
});

describe('checkOperations on the kv model', () => {
  type KvOperation = Operation<KvInput, KvOutput>;
  const append = (clientId: number, call: number, ret: number, key: string, value: string): KvOperation => ({
    clientId,
    input: { kind: 'append', key, value },
    call,
    output: '',
    return: ret,
  });
  const get = (clientId: number, call: number, ret: number, key: string, value: string): KvOperation => ({
    clientId,
    input: { kind: 'get', key },
    call,
    output: value,
    return: ret,
  });

  it('reads a missing key as the empty string and appends in linearization order', () => {
    // The two appends overlap, so either order is possible; the get picks one.
    const operations = [
      get(0, 1, 2, 'k', ''),
      append(1, 3, 6, 'k', 'a'),
      append(2, 4, 7, 'k', 'b'),
      get(0, 8, 9, 'k', 'ba'),
    ];
    expect(checkOperations(kvModel, operations).verdict).toBe('ok');
    // But no order produces "aa".
    expect(checkOperations(kvModel, [...operations.slice(0, 3), get(0, 8, 9, 'k', 'aa')]).verdict).toBe('illegal');
  });

  it("answers 'unknown' when the search runs out of time", () => {
    // Twenty fully concurrent appends, then a read that no order explains: every order yields a
    // different state, so nothing prunes the 20! orders the search would have to refute.
    const appends = Array.from({ length: 20 }, (_, i) => append(i, 0, 100, 'k', String.fromCharCode(97 + i)));
    const impossible = get(99, 200, 201, 'k', 'no order of appends produces this');
    const result = checkOperations(kvModel, [...appends, impossible], { timeoutMs: 50 });
    expect(result.verdict).toBe('unknown');
    expect(result.elapsedMs).toBeLessThan(5_000);
    if (result.verdict === 'unknown') expect(result.partitionsChecked).toBe(0);
  });

  it('still finds an illegal key while another key is too hard to finish', () => {
    // Key "hard" is the 20! search above; key "easy" has a stale read. Any one failing key
    // settles the verdict, so the checker must not get stuck on "hard" first.
    const hard = [
      ...Array.from({ length: 20 }, (_, i) => append(i, 0, 100, 'hard', String.fromCharCode(97 + i))),
      get(99, 200, 201, 'hard', 'impossible'),
    ];
    const easy = [append(0, 300, 301, 'easy', 'x'), get(1, 302, 303, 'easy', '')];
    const result = checkOperations(kvModel, [...hard, ...easy], { timeoutMs: 10_000 });
    expect(result.verdict).toBe('illegal');
    if (result.verdict === 'illegal') expect(result.failure.blockingOperation.input.key).toBe('easy');
  });
});
