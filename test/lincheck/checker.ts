/**
 * A linearizability checker for histories of concurrent operations against a sequential model.
 *
 * The search is Wing & Gong's, with Lowe's just-in-time linearization and memoization of visited
 * configurations: the history of each partition becomes a time-ordered doubly linked list of call
 * and return events; the search repeatedly picks a call event that precedes the first return
 * event still in the list (so no unlinearized operation has completed before it was called),
 * asks the model whether the operation can take effect in the current state, and if so removes
 * ("lifts") both of its events and starts over from the head of the list. Reaching a return event
 * means the operation it belongs to must already have taken effect, so the search backtracks.
 * A configuration is (set of linearized operations, model state); the future of the search
 * depends on nothing else, so a configuration seen once is never explored again.
 *
 * Time semantics: an operation occupies the closed interval [call, return]. Operation A precedes
 * B in real time only when A.return < B.call; when A.return === B.call the two are concurrent,
 * because both could have taken effect at that very instant, in either order. The event list
 * therefore orders calls before returns at equal timestamps. A recorder that knows A completed
 * before B started must give B a strictly larger call time.
 *
 * Unknown outcomes: `return === Infinity` means the client never learned whether the operation
 * took effect (crash, timeout). Such an operation may take effect at any point after its call, or
 * not at all, so it gets no return event: nothing has to follow it and the search may finish
 * without it. The model sees its output as unknown (`outcome === 'unknown'`).
 */

/** Whether the client observed the operation's output. */
export type Outcome = 'known' | 'unknown';

export interface Operation<Input, Output> {
  readonly clientId: number;
  readonly input: Input;
  /** When the client issued the operation. Finite. */
  readonly call: number;
  /** Meaningless (and not looked at by models) when `return` is Infinity. */
  readonly output: Output;
  /** When the client received the output, or Infinity when it never learned the outcome. */
  readonly return: number;
}

export type StepResult<State> = { readonly ok: true; readonly state: State } | { readonly ok: false };

/**
 * A sequential specification. States are treated as immutable values: `step` must return a new
 * state rather than modify the one it is given, because the search keeps old states to backtrack
 * to and to remember visited configurations.
 */
export interface Model<State, Input, Output> {
  init(): State;
  /**
   * Applies `input` to `state`. `ok` is false when a sequential object in `state` could not have
   * produced `output`. With `outcome === 'unknown'` any output is acceptable, but the operation
   * still changes the state as it would have.
   */
  step(state: State, input: Input, output: Output, outcome: Outcome): StepResult<State>;
  equal(a: State, b: State): boolean;
  /** Equal states must hash equally; distinct states should rarely collide. */
  hash(state: State): string;
  /**
   * Splits a history into independent sub-histories (e.g. one per key) that are linearizable
   * together exactly when each is linearizable alone. Checking them separately turns one search
   * over the product of all keys' states into several small ones.
   */
  partition?(operations: readonly Operation<Input, Output>[]): Operation<Input, Output>[][];
  describeOperation?(input: Input, output: Output, outcome: Outcome): string;
  describeState?(state: State): string;
}

export interface CheckOptions {
  /**
   * Give up after about this long and answer 'unknown'. The clock is consulted every few thousand
   * search steps, so histories that need fewer always get a definite verdict.
   */
  readonly timeoutMs?: number;
}

/** Where and how a partition failed to linearize. */
export interface IllegalPartition<State, Input, Output> {
  /** Index into the model's partitioning (0 when the model does not partition). */
  readonly partitionIndex: number;
  /** The failing partition's operations, ordered by call time. */
  readonly operations: readonly Operation<Input, Output>[];
  /**
   * The longest sequence of this partition's operations that the search could linearize, in
   * linearization order: everything up to here is consistent with both the model and real time.
   */
  readonly longestPrefix: readonly Operation<Input, Output>[];
  /** The model state after `longestPrefix`. */
  readonly stateAfterPrefix: State;
  /**
   * The not-yet-linearized operation that returned first: it had to take effect before anything
   * called after its return, so the search could not get past it.
   */
  readonly blockingOperation: Operation<Input, Output>;
  /**
   * The operations that could take effect next in real-time order (called no later than
   * `blockingOperation` returned). Because `longestPrefix` is a longest one, the model rejects
   * every one of them in `stateAfterPrefix`.
   */
  readonly candidates: readonly Operation<Input, Output>[];
}

interface CheckSummary {
  readonly operationCount: number;
  readonly partitionCount: number;
  readonly elapsedMs: number;
}

export type CheckResult<State, Input, Output> =
  | (CheckSummary & { readonly verdict: 'ok' })
  | (CheckSummary & {
      readonly verdict: 'illegal';
      readonly failure: IllegalPartition<State, Input, Output>;
    })
  | (CheckSummary & {
      readonly verdict: 'unknown';
      readonly reason: 'timeout';
      /** Partitions fully checked (and found linearizable) before time ran out. */
      readonly partitionsChecked: number;
    });

export class InvalidHistoryError extends Error {
  constructor(
    readonly operationIndex: number,
    message: string,
  ) {
    super(`operation #${operationIndex}: ${message}`);
    this.name = 'InvalidHistoryError';
  }
}

/** Groups operations by a key, keeping each group in the original order. */
export function partitionBy<Input, Output>(
  operations: readonly Operation<Input, Output>[],
  keyOf: (operation: Operation<Input, Output>) => string,
): Operation<Input, Output>[][] {
  const groups = new Map<string, Operation<Input, Output>[]>();
  for (const operation of operations) {
    const key = keyOf(operation);
    let group = groups.get(key);
    if (group === undefined) {
      group = [];
      groups.set(key, group);
    }
    group.push(operation);
  }
  return [...groups.values()];
}

export function checkOperations<State, Input, Output>(
  model: Model<State, Input, Output>,
  operations: readonly Operation<Input, Output>[],
  options: CheckOptions = {},
): CheckResult<State, Input, Output> {
  operations.forEach(validateOperation);
  const startedAt = performance.now();
  const deadline = options.timeoutMs === undefined ? Infinity : startedAt + options.timeoutMs;
  const partitions = model.partition ? model.partition(operations) : [operations];
  const summary = (): CheckSummary => ({
    operationCount: operations.length,
    partitionCount: partitions.length,
    elapsedMs: performance.now() - startedAt,
  });

  // Partitions are searched in round-robin slices rather than one after another: an illegal
  // partition is often refuted in a few thousand steps while a legal-looking one next to it
  // can take exponentially long, and any one refutation settles the verdict. Slicing by steps
  // rather than by time keeps the outcome (and the partition reported) deterministic.
  let searches = partitions.map((partition, partitionIndex) => ({
    partitionIndex,
    partition,
    slices: searchPartition(model, partition),
  }));
  let partitionsChecked = 0;
  while (searches.length > 0) {
    const unfinished: typeof searches = [];
    for (const search of searches) {
      const slice = search.slices.next();
      if (slice.done && slice.value.kind === 'illegal') {
        return {
          verdict: 'illegal',
          failure: describeFailure(
            search.partitionIndex,
            search.partition,
            slice.value.longestPrefix,
            slice.value.stateAfterPrefix,
          ),
          ...summary(),
        };
      }
      if (slice.done) {
        partitionsChecked++;
        continue;
      }
      unfinished.push(search);
      if (performance.now() > deadline) {
        return { verdict: 'unknown', reason: 'timeout', partitionsChecked, ...summary() };
      }
    }
    searches = unfinished;
  }
  return { verdict: 'ok', ...summary() };
}

/** A multi-line, human-readable account of why a history is not linearizable. */
export function explainIllegal<State, Input, Output>(
  model: Model<State, Input, Output>,
  failure: IllegalPartition<State, Input, Output>,
): string {
  const describeOperation = (operation: Operation<Input, Output>): string => {
    const outcome: Outcome = operation.return === Infinity ? 'unknown' : 'known';
    const text = model.describeOperation
      ? model.describeOperation(operation.input, operation.output, outcome)
      : JSON.stringify({ input: operation.input, output: outcome === 'known' ? operation.output : '?' });
    return `client ${operation.clientId} [${operation.call}, ${operation.return}] ${text}`;
  };
  const describeState = (state: State): string =>
    model.describeState ? model.describeState(state) : model.hash(state);
  const lines = [
    `partition ${failure.partitionIndex} (${failure.operations.length} operations) is not linearizable`,
    `longest linearizable prefix (${failure.longestPrefix.length} operations):`,
    ...failure.longestPrefix.map((operation, position) => `  ${position + 1}. ${describeOperation(operation)}`),
    `state after the prefix: ${describeState(failure.stateAfterPrefix)}`,
    `must take effect next, since it returned first: ${describeOperation(failure.blockingOperation)}`,
    `none of the operations that could go next is allowed by the model in that state:`,
    ...failure.candidates.map((operation) => `  - ${describeOperation(operation)}`),
  ];
  return lines.join('\n');
}

function validateOperation<Input, Output>(operation: Operation<Input, Output>, index: number): void {
  if (!Number.isFinite(operation.call)) {
    throw new InvalidHistoryError(index, `call time must be a finite number, got ${operation.call}`);
  }
  if (Number.isNaN(operation.return) || operation.return < operation.call) {
    throw new InvalidHistoryError(
      index,
      `return time ${operation.return} must be >= call time ${operation.call} (or Infinity when the outcome is unknown)`,
    );
  }
}

/**
 * Search steps per slice: between slices the clock is read and other partitions get a turn.
 * Large enough that generator and clock overhead vanish, small enough to react within ~10 ms.
 */
const STEPS_PER_SLICE = 4096;

type PartitionOutcome<State> =
  | { readonly kind: 'ok' }
  | { readonly kind: 'illegal'; readonly longestPrefix: readonly number[]; readonly stateAfterPrefix: State };

const NIL = -1;
const HEAD = 0;

/**
 * The set of configurations explored so far. Histories can visit millions, so each is a slot
 * number into flat storage (the bitsets side by side in one array) instead of an object, and
 * the lookup key is a number: string keys this numerous made hashing the dominant cost.
 */
class VisitedConfigurations<State> {
  // Each distinct state hash gets a small id, so a configuration's key can be numeric.
  private readonly stateIds = new Map<string, number>();
  // A key usually has one slot; a list only when hashes collide.
  private readonly slotsByKey = new Map<number, number | number[]>();
  private readonly states: State[] = [];
  private stateIdOfSlot = new Int32Array(1024);
  private bitsets: Uint32Array;

  constructor(
    private readonly wordsPerBitset: number,
    private readonly equal: (a: State, b: State) => boolean,
  ) {
    this.bitsets = new Uint32Array(Math.max(1, wordsPerBitset) * 1024);
  }

  /**
   * Adds the configuration (`linearized`, whose Zobrist hash is `bitsHashLow`/`bitsHashHigh`,
   * and `state`, whose model hash is `stateHash`); false when it was already there.
   */
  add(bitsHashLow: number, bitsHashHigh: number, stateHash: string, linearized: Uint32Array, state: State): boolean {
    let stateId = this.stateIds.get(stateHash);
    if (stateId === undefined) {
      stateId = this.stateIds.size;
      this.stateIds.set(stateHash, stateId);
    }
    // 32 + 21 bits: an exact integer in a double.
    const key = (bitsHashLow >>> 0) * 0x200000 + ((bitsHashHigh ^ Math.imul(stateId, 0x9e3779b1)) & 0x1fffff);
    const existing = this.slotsByKey.get(key);
    if (existing === undefined) {
      this.slotsByKey.set(key, this.store(linearized, stateId, state));
      return true;
    }
    if (typeof existing === 'number') {
      if (this.holds(existing, linearized, stateId, state)) return false;
      this.slotsByKey.set(key, [existing, this.store(linearized, stateId, state)]);
      return true;
    }
    for (const slot of existing) if (this.holds(slot, linearized, stateId, state)) return false;
    existing.push(this.store(linearized, stateId, state));
    return true;
  }

  private holds(slot: number, linearized: Uint32Array, stateId: number, state: State): boolean {
    if (this.stateIdOfSlot[slot] !== stateId) return false;
    const offset = slot * this.wordsPerBitset;
    for (let word = 0; word < this.wordsPerBitset; word++) {
      if (this.bitsets[offset + word] !== linearized[word]) return false;
    }
    return this.equal(this.states[slot]!, state);
  }

  private store(linearized: Uint32Array, stateId: number, state: State): number {
    const slot = this.states.length;
    const offset = slot * this.wordsPerBitset;
    if (offset + this.wordsPerBitset > this.bitsets.length) {
      const grown = new Uint32Array(this.bitsets.length * 2);
      grown.set(this.bitsets);
      this.bitsets = grown;
    }
    if (slot >= this.stateIdOfSlot.length) {
      const grown = new Int32Array(this.stateIdOfSlot.length * 2);
      grown.set(this.stateIdOfSlot);
      this.stateIdOfSlot = grown;
    }
    this.bitsets.set(linearized, offset);
    this.stateIdOfSlot[slot] = stateId;
    this.states.push(state);
    return slot;
  }
}

/**
 * The search over one partition, iteratively (histories have thousands of operations, far
 * beyond a safe recursion depth). Yields after every STEPS_PER_SLICE steps; returns the outcome.
 */
function* searchPartition<State, Input, Output>(
  model: Model<State, Input, Output>,
  operations: readonly Operation<Input, Output>[],
): Generator<void, PartitionOutcome<State>, void> {
  const events = buildEventList(operations);
  const { next, prev, operationOf, returnEventOf } = events;

  const lift = (callEvent: number): void => {
    unlink(callEvent);
    const returnEvent = returnEventOf[callEvent] ?? NIL;
    if (returnEvent !== NIL) unlink(returnEvent);
  };
  // Dancing links: an unlinked event still knows its neighbours, so re-linking in the reverse
  // order of unlinking restores the list exactly.
  const unlift = (callEvent: number): void => {
    const returnEvent = returnEventOf[callEvent] ?? NIL;
    if (returnEvent !== NIL) relink(returnEvent);
    relink(callEvent);
  };
  function unlink(event: number): void {
    const before = prev[event] ?? NIL;
    const after = next[event] ?? NIL;
    next[before] = after;
    if (after !== NIL) prev[after] = before;
  }
  function relink(event: number): void {
    const before = prev[event] ?? NIL;
    const after = next[event] ?? NIL;
    next[before] = event;
    if (after !== NIL) prev[after] = event;
  }

  const outcomes: Outcome[] = operations.map((operation) => (operation.return === Infinity ? 'unknown' : 'known'));
  let knownRemaining = outcomes.filter((outcome) => outcome === 'known').length;
  if (knownRemaining === 0) return { kind: 'ok' };

  const linearized = new Uint32Array((operations.length + 31) >>> 5);
  const zobrist = zobristKeys(operations.length);
  let linearizedHashLow = 0;
  let linearizedHashHigh = 0;
  const toggle = (operationIndex: number): void => {
    linearized[operationIndex >>> 5]! ^= 1 << (operationIndex & 31);
    linearizedHashLow ^= zobrist[2 * operationIndex]!;
    linearizedHashHigh ^= zobrist[2 * operationIndex + 1]!;
  };

  const visited = new VisitedConfigurations<State>(linearized.length, (a, b) => model.equal(a, b));
  // True when the configuration was new.
  const remember = (state: State): boolean =>
    visited.add(linearizedHashLow, linearizedHashHigh, model.hash(state), linearized, state);

  // The explicit stack: linearized call events in linearization order, and the state before each.
  const stackEvents: number[] = [];
  const stackStates: State[] = [];
  let state = model.init();
  let longestPrefix: number[] = [];
  let stateAfterLongestPrefix = state;

  let event = next[HEAD] ?? NIL;
  let stepsLeftInSlice = STEPS_PER_SLICE;
  for (;;) {
    if (--stepsLeftInSlice === 0) {
      yield;
      stepsLeftInSlice = STEPS_PER_SLICE;
    }
    if (event !== NIL && returnEventOf[event] !== RETURN_EVENT) {
      const operationIndex = operationOf[event]!;
      const operation = operations[operationIndex]!;
      const outcome = outcomes[operationIndex]!;
      const result = model.step(state, operation.input, operation.output, outcome);
      if (result.ok) {
        toggle(operationIndex);
        if (remember(result.state)) {
          stackEvents.push(event);
          stackStates.push(state);
          state = result.state;
          lift(event);
          if (outcome === 'known' && --knownRemaining === 0) return { kind: 'ok' };
          if (stackEvents.length > longestPrefix.length) {
            longestPrefix = stackEvents.map((callEvent) => operationOf[callEvent]!);
            stateAfterLongestPrefix = state;
          }
          event = next[HEAD] ?? NIL;
          continue;
        }
        toggle(operationIndex);
      }
      event = next[event] ?? NIL;
      continue;
    }
    // A return event (or, defensively, the end of the list): the operations still unlinearized
    // cannot be ordered from here, so undo the most recent choice and try the next candidate.
    const undone = stackEvents.pop();
    if (undone === undefined) {
      return { kind: 'illegal', longestPrefix, stateAfterPrefix: stateAfterLongestPrefix };
    }
    state = stackStates.pop()!;
    const operationIndex = operationOf[undone]!;
    toggle(operationIndex);
    unlift(undone);
    if (outcomes[operationIndex] === 'known') knownRemaining++;
    event = next[undone] ?? NIL;
  }
}

/** Marks return events in `returnEventOf`; call events hold their return event or NIL. */
const RETURN_EVENT = -2;

interface EventList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  readonly operationOf: Int32Array;
  readonly returnEventOf: Int32Array;
}

function buildEventList<Input, Output>(operations: readonly Operation<Input, Output>[]): EventList {
  interface TimedEvent {
    readonly time: number;
    readonly isCall: boolean;
    readonly operationIndex: number;
  }
  const timed: TimedEvent[] = [];
  operations.forEach((operation, operationIndex) => {
    timed.push({ time: operation.call, isCall: true, operationIndex });
    if (operation.return !== Infinity) timed.push({ time: operation.return, isCall: false, operationIndex });
  });
  // Calls before returns at equal times: closed intervals that touch overlap (see the header).
  timed.sort(
    (a, b) =>
      a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.operationIndex - b.operationIndex,
  );

  // Event ids start at 1; 0 is the list head.
  const size = timed.length + 1;
  const next = new Int32Array(size);
  const prev = new Int32Array(size);
  const operationOf = new Int32Array(size).fill(NIL);
  const returnEventOf = new Int32Array(size).fill(NIL);
  const callEventOf = new Int32Array(operations.length).fill(NIL);
  timed.forEach((timedEvent, position) => {
    const id = position + 1;
    prev[id] = id - 1;
    next[id] = id + 1 < size ? id + 1 : NIL;
    operationOf[id] = timedEvent.operationIndex;
    if (timedEvent.isCall) {
      callEventOf[timedEvent.operationIndex] = id;
    } else {
      returnEventOf[id] = RETURN_EVENT;
      returnEventOf[callEventOf[timedEvent.operationIndex]!] = id;
    }
  });
  next[HEAD] = size > 1 ? 1 : NIL;
  prev[HEAD] = NIL;
  return { next, prev, operationOf, returnEventOf };
}

/**
 * Two pseudo-random 32-bit words per operation; the XOR of those of the linearized operations
 * hashes the set in O(1) per change. Seeded, so runs are reproducible.
 */
function zobristKeys(operationCount: number): Int32Array {
  const keys = new Int32Array(2 * operationCount);
  let seed = 0x9e3779b9 | 0;
  for (let i = 0; i < keys.length; i++) {
    // splitmix32
    seed = (seed + 0x9e3779b9) | 0;
    let z = seed;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    keys[i] = z ^ (z >>> 16);
  }
  return keys;
}

function describeFailure<State, Input, Output>(
  partitionIndex: number,
  partition: readonly Operation<Input, Output>[],
  longestPrefixIndexes: readonly number[],
  stateAfterPrefix: State,
): IllegalPartition<State, Input, Output> {
  const inPrefix = new Set(longestPrefixIndexes);
  const remaining = partition.filter((_, index) => !inPrefix.has(index));
  // Illegal means some known operation was left over, so there is a blocking one.
  let blockingOperation = remaining.find((operation) => operation.return !== Infinity)!;
  for (const operation of remaining) {
    if (operation.return < blockingOperation.return) blockingOperation = operation;
  }
  const byCall = (a: Operation<Input, Output>, b: Operation<Input, Output>): number => a.call - b.call;
  return {
    partitionIndex,
    operations: [...partition].sort(byCall),
    longestPrefix: longestPrefixIndexes.map((index) => partition[index]!),
    stateAfterPrefix,
    blockingOperation,
    candidates: remaining.filter((operation) => operation.call <= blockingOperation.return).sort(byCall),
  };
}
