// A single-store model of the kv transaction layer (src/kv) for tests.
//
// - MemoryEngine: an ordered map of engine keys (bytewise order) behind the MvccReader interface;
//   `apply` writes a command's staged Modify records, each at recordKey(key, tag, ts).
// - ModelStore: runs one kv command at a time, each with a fresh MvccWriter, and applies what it
//   staged atomically before the next command starts — what the store's key latches give.
// - ManualClock + TimestampOracle: strictly increasing composeTs(physical, logical) timestamps on a
//   clock the test moves by hand, so lock TTLs can be made to expire.
// - Percolator clients written as step machines: TxnActor (begin, buffered writes, reads that see
//   the transaction's own writes, then prewrite primary, prewrite secondaries, commit ts, commit
//   primary, commit secondaries; rollback on conflict) and SnapshotActor (reads every key at one
//   ts, by point reads or by a paged scan). Each step issues at most one store command, so a test
//   can interleave clients command by command. A client meeting a lock checks the lock's primary
//   (checkTxnStatus) and resolves the key (resolveKey with the commit ts, or 0 to roll it back);
//   a live lock makes a reader report 'blocked' (it retries on a later step) and a writer abort,
//   unless readers push (World.readersPush): then a reader moves the lock's min commit ts past its
//   read ts and reads on, and the coordinator retries its commit with a newer timestamp.
// - runScenario: optionally commits a first transaction giving every key a value, then plays a
//   generated schedule: transactions joining one by one, client steps, snapshot readers at fresh
//   or earlier timestamps, coordinator crashes, late copies of earlier prewrite requests,
//   heartbeats and clock moves; then lets surviving clients finish, resolves every lock left, and
//   returns the history (reads observed, each transaction's fate as the store records it) for the
//   property checks in txn.test.ts.
import { RecordTag, parseKey, recordKey, type ParsedKey } from '../../src/kv/keys.js';
import { composeTs, decodeLock, decodeWrite, physicalMs, type Lock, type Write } from '../../src/kv/records.js';
import {
  MvccWriter,
  checkTxnStatus,
  commit,
  gcKey,
  getAt,
  heartbeat,
  prewrite,
  resolveKey,
  rollback,
  scanAt,
  writeOfTxn,
  type KeyError,
  type Modify,
  type MvccReader,
  type PrewriteMutation,
  type PrewriteParams,
  type ReadResult,
  type ScanAtResult,
  type TxnStatus,
} from '../../src/kv/txn.js';

// ---- bytes ----

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** Model keys and values are strings of byte-sized characters (latin1), one character a byte. */
export function bytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

export function text(b: Uint8Array): string {
  return Buffer.from(b).toString('latin1');
}

/** A broken rule of the transaction protocol found while running the model. */
export class ModelInvariantError extends Error {}

// ---- the engine ----

export interface EngineRecord extends ParsedKey {
  readonly engineKey: Uint8Array;
  readonly value: Uint8Array;
}

export class MemoryEngine implements MvccReader {
  private keys: Uint8Array[] = [];
  private values: Uint8Array[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** The first index whose key is >= `key`. */
  private lowerBound(key: Uint8Array): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async get(engineKey: Uint8Array): Promise<Uint8Array | undefined> {
    return this.getSync(engineKey);
  }

  getSync(engineKey: Uint8Array): Uint8Array | undefined {
    const i = this.lowerBound(engineKey);
    if (i < this.keys.length && compareBytes(this.keys[i]!, engineKey) === 0) return this.values[i]!.slice();
    return undefined;
  }

  async scan(gte: Uint8Array, lt: Uint8Array, limit: number): Promise<Array<[Uint8Array, Uint8Array]>> {
    const out: Array<[Uint8Array, Uint8Array]> = [];
    for (let i = this.lowerBound(gte); i < this.keys.length && out.length < limit; i++) {
      const key = this.keys[i]!;
      if (compareBytes(key, lt) >= 0) break;
      out.push([key.slice(), this.values[i]!.slice()]);
    }
    return out;
  }

  put(engineKey: Uint8Array, value: Uint8Array): void {
    const i = this.lowerBound(engineKey);
    if (i < this.keys.length && compareBytes(this.keys[i]!, engineKey) === 0) {
      this.values[i] = value.slice();
    } else {
      this.keys.splice(i, 0, engineKey.slice());
      this.values.splice(i, 0, value.slice());
    }
  }

  delete(engineKey: Uint8Array): void {
    const i = this.lowerBound(engineKey);
    if (i < this.keys.length && compareBytes(this.keys[i]!, engineKey) === 0) {
      this.keys.splice(i, 1);
      this.values.splice(i, 1);
    }
  }

  /** Applies one command's modifications as a unit: every engine key is computed before any change. */
  apply(modifies: readonly Modify[]): void {
    const staged = modifies.map((m) => {
      const engineKey = recordKey(m.key, m.tag, m.ts);
      if (m.op === 'put' && m.value === undefined) throw new ModelInvariantError('a put modification without a value');
      return { engineKey, value: m.op === 'put' ? m.value : undefined };
    });
    for (const s of staged) {
      if (s.value === undefined) this.delete(s.engineKey);
      else this.put(s.engineKey, s.value);
    }
  }

  /** Every pair in key order (copies). */
  entries(): Array<[Uint8Array, Uint8Array]> {
    return this.keys.map((k, i) => [k.slice(), this.values[i]!.slice()]);
  }

  /** Every pair, parsed as a user data record. */
  records(): EngineRecord[] {
    return this.keys.map((k, i) => ({ ...parseKey(k), engineKey: k.slice(), value: this.values[i]!.slice() }));
  }
}

// ---- the store ----

/** Runs kv commands one at a time; each sees every earlier command's effects. */
export class ModelStore {
  private running = false;
  commands = 0;

  constructor(readonly engine: MemoryEngine = new MemoryEngine()) {}

  async run<T>(command: (reader: MvccReader, writer: MvccWriter) => Promise<T>): Promise<T> {
    if (this.running) throw new ModelInvariantError('the model store runs one command at a time');
    this.running = true;
    try {
      const writer = new MvccWriter();
      const result = await command(this.engine, writer);
      this.engine.apply(writer.modifies);
      this.commands++;
      return result;
    } finally {
      this.running = false;
    }
  }

  prewrite(m: PrewriteMutation, p: PrewriteParams): Promise<KeyError | undefined> {
    return this.run((r, w) => prewrite(r, w, m, p));
  }
  commit(key: Uint8Array, startTs: bigint, commitTs: bigint): Promise<KeyError | undefined> {
    return this.run((r, w) => commit(r, w, key, startTs, commitTs));
  }
  rollback(key: Uint8Array, startTs: bigint): Promise<KeyError | undefined> {
    return this.run((r, w) => rollback(r, w, key, startTs));
  }
  checkTxnStatus(primary: Uint8Array, lockTs: bigint, currentTs: bigint, callerStartTs = 0n): Promise<TxnStatus> {
    return this.run((r, w) => checkTxnStatus(r, w, primary, lockTs, currentTs, callerStartTs));
  }
  heartbeat(primary: Uint8Array, startTs: bigint, adviseTtlMs: number): Promise<{ ttlMs: number } | KeyError> {
    return this.run((r, w) => heartbeat(r, w, primary, startTs, adviseTtlMs));
  }
  resolveKey(key: Uint8Array, startTs: bigint, commitTs: bigint): Promise<KeyError | undefined> {
    return this.run((r, w) => resolveKey(r, w, key, startTs, commitTs));
  }
  getAt(key: Uint8Array, ts: bigint, committedTxns?: ReadonlySet<bigint>): Promise<ReadResult> {
    return this.run((r) => getAt(r, key, ts, committedTxns));
  }
  scanAt(start: Uint8Array, end: Uint8Array, ts: bigint, limit: number, keyOnly: boolean, committedTxns?: ReadonlySet<bigint>): Promise<ScanAtResult> {
    return this.run((r) => scanAt(r, start, end, ts, limit, keyOnly, committedTxns));
  }
  gcKey(key: Uint8Array, safePoint: bigint): Promise<number> {
    return this.run((r, w) => gcKey(r, w, key, safePoint));
  }

  /** The lock on `key`, read straight from the engine (not a command). */
  lockOf(key: Uint8Array): Lock | undefined {
    const v = this.engine.getSync(recordKey(key, RecordTag.Lock, undefined));
    return v === undefined ? undefined : decodeLock(v);
  }

  /** Write records of `key`, newest commit first, read straight from the engine. */
  writesOf(key: Uint8Array): Array<{ commitTs: bigint; write: Write }> {
    return this.engine
      .records()
      .filter((r) => r.tag === RecordTag.Write && compareBytes(r.key, key) === 0)
      .map((r) => ({ commitTs: r.ts!, write: decodeWrite(r.value) }));
  }
}

// ---- time ----

export class ManualClock {
  constructor(public nowMs = 1_700_000_000_000) {}

  advance(ms: number): void {
    if (!(Number.isInteger(ms) && ms >= 0)) throw new RangeError(`the clock only moves forward: ${ms}`);
    this.nowMs += ms;
  }
}

/** Strictly increasing timestamps: the clock's milliseconds, and a logical counter within one. */
export class TimestampOracle {
  private physical = -1;
  private logical = 0;
  readonly issued: bigint[] = [];

  constructor(readonly clock: ManualClock) {}

  next(): bigint {
    const now = this.clock.nowMs;
    if (now > this.physical) {
      this.physical = now;
      this.logical = 0;
    } else {
      this.logical++;
      if (this.logical >= 1 << 18) throw new RangeError('logical timestamp overflow');
    }
    const ts = composeTs(this.physical, this.logical);
    this.issued.push(ts);
    return ts;
  }
}

// ---- the world the clients share ----

export interface Observation {
  readonly ts: bigint;
  readonly key: string;
  readonly value: string | undefined;
  readonly source: string;
}

export class World {
  readonly clock: ManualClock;
  readonly oracle: TimestampOracle;
  readonly store: ModelStore;
  readonly observations: Observation[] = [];
  /** What clients met on their way: locks of live owners, locks they resolved, pushed or stepped over. */
  readonly stats = { liveLocks: 0, resolvedCommitted: 0, resolvedRolledBack: 0, steppedOver: 0, pushed: 0, commitTsRetries: 0 };

  constructor(
    readonly ttlMs = 50,
    /**
     * Readers meeting a live lock push its transaction's min commit ts past their read ts
     * (checkTxnStatus with callerStartTs) and read on, instead of waiting.
     */
    readonly readersPush = false,
    clock = new ManualClock(),
  ) {
    this.clock = clock;
    this.oracle = new TimestampOracle(clock);
    this.store = new ModelStore();
  }

  observe(ts: bigint, key: string, value: Uint8Array | undefined, source: string): void {
    this.observations.push({ ts, key, value: value === undefined ? undefined : text(value), source });
  }
}

export type StepResult = 'progress' | 'blocked' | 'done';

/** A lock a client met and is clearing: first its primary's status, then the key itself. */
interface PendingLock {
  readonly key: Uint8Array;
  readonly lock: Lock;
  commitTs?: bigint;
}

/**
 * One store command towards clearing `pending`. 'live': the lock's owner is alive (nothing was
 * cleared); 'progress' with `cleared` when the lock no longer stands in the way.
 */
async function resolveLockStep(
  world: World,
  pending: PendingLock,
  readTs: bigint | undefined,
  resolved: Set<bigint> | undefined,
): Promise<{ outcome: 'live' | 'progress'; cleared: boolean }> {
  const { lock } = pending;
  if (pending.commitTs === undefined) {
    const reading = readTs !== undefined && resolved !== undefined;
    const callerStartTs = reading && world.readersPush ? readTs : 0n;
    const status = await world.store.checkTxnStatus(lock.primary, lock.startTs, world.oracle.next(), callerStartTs);
    if (status.kind === 'locked') {
      if (reading && status.lock.minCommitTs > readTs) {
        // The transaction can only commit after the read ts: invisible to this reader.
        resolved.add(lock.startTs);
        world.stats.pushed++;
        return { outcome: 'progress', cleared: true };
      }
      world.stats.liveLocks++;
      return { outcome: 'live', cleared: false };
    }
    if (status.kind === 'committed') {
      if (status.commitTs <= lock.startTs) throw new ModelInvariantError(`transaction ${lock.startTs} committed at ${status.commitTs}, not after its start`);
      if (readTs !== undefined && resolved !== undefined && status.commitTs > readTs) {
        // Committed after the read ts: invisible to this reader, which may step over the lock.
        resolved.add(lock.startTs);
        world.stats.steppedOver++;
        return { outcome: 'progress', cleared: true };
      }
      pending.commitTs = status.commitTs;
    } else {
      pending.commitTs = 0n;
    }
    return { outcome: 'progress', cleared: false };
  }
  const err = await world.store.resolveKey(pending.key, lock.startTs, pending.commitTs);
  if (pending.commitTs === 0n) world.stats.resolvedRolledBack++;
  else world.stats.resolvedCommitted++;
  if (err !== undefined) {
    throw new ModelInvariantError(`resolving key ${text(pending.key)} of transaction ${lock.startTs} with ${pending.commitTs}: ${err.kind}`);
  }
  return { outcome: 'progress', cleared: true };
}

/** Reads one key at ts, clearing the locks it meets. */
export class PointRead {
  value: Uint8Array | undefined;
  done = false;
  private pending: PendingLock | undefined;

  constructor(
    private readonly world: World,
    readonly key: Uint8Array,
    readonly ts: bigint,
    private readonly resolved: Set<bigint>,
  ) {}

  async step(): Promise<StepResult> {
    if (this.done) return 'done';
    if (this.pending === undefined) {
      const r = await this.world.store.getAt(this.key, this.ts, this.resolved);
      if ('value' in r) {
        this.value = r.value;
        this.done = true;
        return 'done';
      }
      if (r.error.kind !== 'locked') throw new ModelInvariantError(`getAt: ${r.error.kind}`);
      this.pending = { key: this.key, lock: r.error.lock };
      return 'progress';
    }
    const { outcome, cleared } = await resolveLockStep(this.world, this.pending, this.ts, this.resolved);
    if (outcome === 'live') {
      this.pending = undefined; // read again later; the lock may be gone by then
      return 'blocked';
    }
    if (cleared) this.pending = undefined;
    return 'progress';
  }
}

/** Reads every key of [start, end) at ts by a scan in pages of `limit`, clearing the locks it meets. */
export class ScanRead {
  readonly pairs: Array<[string, string]> = [];
  done = false;
  private from: Uint8Array;
  private pending: PendingLock | undefined;

  constructor(
    private readonly world: World,
    start: Uint8Array,
    private readonly end: Uint8Array,
    readonly ts: bigint,
    private readonly limit: number,
    private readonly resolved: Set<bigint>,
  ) {
    this.from = start;
  }

  async step(): Promise<StepResult> {
    if (this.done) return 'done';
    if (this.pending === undefined) {
      const r = await this.world.store.scanAt(this.from, this.end, this.ts, this.limit, false, this.resolved);
      for (const p of r.pairs) this.pairs.push([text(p.key), text(p.value)]);
      const met = r.locks[0];
      if (met !== undefined) {
        this.from = met.key;
        this.pending = { key: met.key, lock: met.lock };
        return 'progress';
      }
      const last = r.pairs[r.pairs.length - 1];
      if (r.more && last !== undefined) {
        this.from = afterUserKey(last.key);
        return 'progress';
      }
      this.done = true;
      return 'done';
    }
    const { outcome, cleared } = await resolveLockStep(this.world, this.pending, this.ts, this.resolved);
    if (outcome === 'live') {
      this.pending = undefined;
      return 'blocked';
    }
    if (cleared) this.pending = undefined;
    return 'progress';
  }
}

/** The smallest user key after `key`. */
export function afterUserKey(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.byteLength + 1);
  out.set(key);
  return out;
}

// ---- clients ----

export type TxnOp =
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'put'; readonly key: string }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'insert'; readonly key: string }
  | { readonly kind: 'lock'; readonly key: string }
  | { readonly kind: 'incr'; readonly key: string };

export interface BufferedWrite {
  readonly op: 'put' | 'delete' | 'insert' | 'lock';
  readonly value?: string;
}

/** Values written by model transactions: `count|txnId|seq`, unique per (transaction, op). */
export function makeValue(count: number, txnId: number, seq: number): string {
  return `${count}|${txnId}|${seq}`;
}

export function parseValue(value: string): { count: number; txnId: number; seq: number } {
  const [count, txnId, seq] = value.split('|').map(Number);
  if (count === undefined || txnId === undefined || seq === undefined || [count, txnId, seq].some(Number.isNaN)) {
    throw new ModelInvariantError(`not a model value: ${JSON.stringify(value)}`);
  }
  return { count, txnId, seq };
}

export type CoordinatorOutcome = 'unstarted' | 'active' | 'committing' | 'committed' | 'aborting' | 'aborted' | 'crashed';

type TxnPhase =
  | { readonly kind: 'begin' }
  | { readonly kind: 'ops'; readonly index: number }
  | { readonly kind: 'prewrite'; readonly index: number }
  | { readonly kind: 'prewriteResolve'; readonly index: number; readonly pending: PendingLock }
  | { readonly kind: 'commitTs' }
  | { readonly kind: 'commitPrimary' }
  | { readonly kind: 'commitSecondary'; readonly index: number }
  | { readonly kind: 'rollback'; readonly index: number }
  | { readonly kind: 'finished' };

/** A Percolator transaction and its coordinator, one store command per step. */
export class TxnActor {
  startTs: bigint | undefined;
  commitTs: bigint | undefined;
  outcome: CoordinatorOutcome = 'unstarted';
  abortReason: string | undefined;
  /** The writes the transaction buffers, in the order first written (the first is the primary). */
  readonly buffer = new Map<string, BufferedWrite>();
  /** Prewrite requests the coordinator sent (a delayed copy may arrive again later). */
  readonly sentPrewrites: Array<{ m: PrewriteMutation; p: PrewriteParams }> = [];
  /** Start ts of transactions known committed after this one's start (their locks don't stop its reads). */
  private readonly resolved = new Set<bigint>();
  private phase: TxnPhase = { kind: 'begin' };
  private read: PointRead | undefined;

  constructor(
    private readonly world: World,
    readonly id: number,
    readonly program: readonly TxnOp[],
    /**
     * Prewrite the secondaries before the primary (as a client prewriting all keys in parallel may
     * see them land): a reader can then meet a secondary lock whose primary is not locked yet.
     */
    readonly primaryLast = false,
  ) {}

  get finished(): boolean {
    return this.phase.kind === 'finished' || this.outcome === 'crashed';
  }

  get keys(): string[] {
    return [...this.buffer.keys()];
  }

  get primary(): string | undefined {
    return this.keys[0];
  }

  /** The coordinator stops for good; whatever it left in the store stays there. */
  crash(): void {
    if (!this.finished) this.outcome = 'crashed';
  }

  async step(): Promise<StepResult> {
    if (this.finished) return 'done';
    const phase = this.phase;
    switch (phase.kind) {
      case 'begin':
        this.startTs = this.world.oracle.next();
        this.outcome = 'active';
        this.phase = { kind: 'ops', index: 0 };
        return 'progress';
      case 'ops':
        return this.stepOp(phase.index);
      case 'prewrite':
        return this.stepPrewrite(phase.index);
      case 'prewriteResolve': {
        const { outcome, cleared } = await resolveLockStep(this.world, phase.pending, undefined, undefined);
        if (outcome === 'live') {
          this.beginAbort(`locked by live transaction ${phase.pending.lock.startTs}`);
        } else if (cleared) {
          this.phase = { kind: 'prewrite', index: phase.index };
        }
        return 'progress';
      }
      case 'commitTs':
        this.commitTs = this.world.oracle.next();
        this.phase = { kind: 'commitPrimary' };
        return 'progress';
      case 'commitPrimary': {
        const err = await this.world.store.commit(bytes(this.primary!), this.startTs!, this.commitTs!);
        if (err === undefined) {
          this.outcome = 'committed';
          this.phase = this.keys.length > 1 ? { kind: 'commitSecondary', index: 1 } : { kind: 'finished' };
        } else if (err.kind === 'txnLockNotFound') {
          this.commitTs = undefined;
          this.beginAbort('primary lock gone before commit');
        } else if (err.kind === 'commitTsExpired') {
          // A reader pushed the transaction's min commit ts: commit with a newer timestamp.
          this.world.stats.commitTsRetries++;
          this.phase = { kind: 'commitTs' };
        } else {
          throw new ModelInvariantError(`commit of primary ${this.primary} of transaction ${this.startTs}: ${err.kind}`);
        }
        return 'progress';
      }
      case 'commitSecondary': {
        const key = this.keys[phase.index]!;
        const err = await this.world.store.commit(bytes(key), this.startTs!, this.commitTs!);
        if (err !== undefined) throw new ModelInvariantError(`commit of secondary ${key} of committed transaction ${this.startTs}: ${err.kind}`);
        this.phase = phase.index + 1 < this.keys.length ? { kind: 'commitSecondary', index: phase.index + 1 } : { kind: 'finished' };
        return 'progress';
      }
      case 'rollback': {
        const key = this.keys[phase.index]!;
        const err = await this.world.store.rollback(bytes(key), this.startTs!);
        if (err !== undefined) throw new ModelInvariantError(`rollback of ${key} of transaction ${this.startTs}: ${err.kind}`);
        if (phase.index + 1 < this.keys.length) {
          this.phase = { kind: 'rollback', index: phase.index + 1 };
        } else {
          this.phase = { kind: 'finished' };
          this.outcome = 'aborted';
        }
        return 'progress';
      }
      case 'finished':
        return 'done';
    }
  }

  private async stepOp(index: number): Promise<StepResult> {
    const op = this.program[index];
    if (op === undefined) {
      if (this.buffer.size === 0) {
        // Read only: nothing to commit.
        this.outcome = 'committed';
        this.phase = { kind: 'finished' };
      } else {
        this.outcome = 'committing';
        this.phase = { kind: 'prewrite', index: 0 };
      }
      return 'progress';
    }
    const next = (): void => {
      this.phase = { kind: 'ops', index: index + 1 };
    };
    const value = (count: number): string => makeValue(count, this.id, index);
    switch (op.kind) {
      case 'put':
        this.bufferPut(op.key, value(index + 100));
        next();
        return 'progress';
      case 'delete':
        this.buffer.set(op.key, { op: 'delete' });
        next();
        return 'progress';
      case 'insert': {
        const existing = this.buffer.get(op.key);
        this.buffer.set(op.key, { op: existing !== undefined && existing.op !== 'lock' ? 'put' : 'insert', value: value(index + 100) });
        next();
        return 'progress';
      }
      case 'lock':
        if (!this.buffer.has(op.key)) this.buffer.set(op.key, { op: 'lock' });
        next();
        return 'progress';
      case 'get':
      case 'incr': {
        const own = this.buffer.get(op.key);
        let current: string | undefined;
        if (own !== undefined && own.op !== 'lock') {
          current = own.value;
        } else {
          this.read ??= new PointRead(this.world, bytes(op.key), this.startTs!, this.resolved);
          const r = await this.read.step();
          if (r !== 'done') return r;
          current = this.read.value === undefined ? undefined : text(this.read.value);
          this.read = undefined;
          this.world.observe(this.startTs!, op.key, current === undefined ? undefined : bytes(current), `txn ${this.id}`);
        }
        if (op.kind === 'incr') this.bufferPut(op.key, value((current === undefined ? 0 : parseValue(current).count) + 1));
        next();
        return 'progress';
      }
    }
  }

  private bufferPut(key: string, value: string): void {
    const existing = this.buffer.get(key);
    this.buffer.set(key, { op: existing?.op === 'insert' ? 'insert' : 'put', value });
  }

  private params(): PrewriteParams {
    return { primary: bytes(this.primary!), startTs: this.startTs!, ttlMs: this.world.ttlMs, txnSize: this.buffer.size, minCommitTs: this.startTs! + 1n };
  }

  private mutation(key: string): PrewriteMutation {
    const w = this.buffer.get(key)!;
    return w.value === undefined ? { op: w.op, key: bytes(key) } : { op: w.op, key: bytes(key), value: bytes(w.value) };
  }

  /** The keys in the order the coordinator prewrites them. */
  private get prewriteOrder(): string[] {
    const keys = this.keys;
    return this.primaryLast ? [...keys.slice(1), keys[0]!] : keys;
  }

  private async stepPrewrite(index: number): Promise<StepResult> {
    const key = this.prewriteOrder[index]!;
    const m = this.mutation(key);
    const p = this.params();
    this.sentPrewrites.push({ m, p });
    const err = await this.world.store.prewrite(m, p);
    if (err === undefined) {
      this.phase = index + 1 < this.keys.length ? { kind: 'prewrite', index: index + 1 } : { kind: 'commitTs' };
    } else if (err.kind === 'locked') {
      if (err.lock.startTs === this.startTs) throw new ModelInvariantError('prewrite reported the transaction locked by itself');
      this.phase = { kind: 'prewriteResolve', index, pending: { key: bytes(key), lock: err.lock } };
    } else if (err.kind === 'writeConflict' || err.kind === 'alreadyExists') {
      this.beginAbort(`${err.kind} on ${key}`);
    } else {
      throw new ModelInvariantError(`prewrite of ${key}: ${err.kind}`);
    }
    return 'progress';
  }

  private beginAbort(reason: string): void {
    this.abortReason = reason;
    this.outcome = 'aborting';
    this.phase = { kind: 'rollback', index: 0 };
  }

  /** Extends the primary lock's TTL to `ttlMs` past now, while the coordinator is committing. */
  async heartbeat(): Promise<void> {
    if (this.finished || this.sentPrewrites.length === 0 || this.outcome !== 'committing') return;
    const advise = this.world.clock.nowMs - physicalMs(this.startTs!) + this.world.ttlMs;
    await this.world.store.heartbeat(bytes(this.primary!), this.startTs!, advise);
  }

  /** A delayed copy of an earlier prewrite request arrives; its answer reaches no one. */
  async replay(which: number): Promise<void> {
    if (this.sentPrewrites.length === 0) return;
    const { m, p } = this.sentPrewrites[which % this.sentPrewrites.length]!;
    await this.world.store.prewrite(m, p);
  }
}

/** Reads every key of the key space at one ts, by point reads or one paged scan. */
export class SnapshotActor {
  private readonly resolved = new Set<bigint>();
  private index = 0;
  private point: PointRead | undefined;
  private scan: ScanRead | undefined;
  done = false;

  constructor(
    private readonly world: World,
    readonly id: number,
    readonly ts: bigint,
    private readonly keySpace: readonly string[],
    /** 0: point reads; otherwise the scan's page size. */
    private readonly scanLimit: number,
  ) {}

  async step(): Promise<StepResult> {
    if (this.done) return 'done';
    const source = `snapshot ${this.id}`;
    if (this.scanLimit > 0) {
      this.scan ??= new ScanRead(this.world, new Uint8Array(0), new Uint8Array(0), this.ts, this.scanLimit, this.resolved);
      const r = await this.scan.step();
      if (r !== 'done') return r;
      const seen = new Map(this.scan.pairs);
      for (const key of this.keySpace) {
        const v = seen.get(key);
        this.world.observe(this.ts, key, v === undefined ? undefined : bytes(v), `${source} scan`);
      }
      if (seen.size !== this.scan.pairs.length) throw new ModelInvariantError('a scan returned a key twice');
      for (const key of seen.keys()) if (!this.keySpace.includes(key)) throw new ModelInvariantError(`a scan returned unknown key ${key}`);
      this.done = true;
      return 'done';
    }
    const key = this.keySpace[this.index];
    if (key === undefined) {
      this.done = true;
      return 'done';
    }
    this.point ??= new PointRead(this.world, bytes(key), this.ts, this.resolved);
    const r = await this.point.step();
    if (r !== 'done') return r;
    this.world.observe(this.ts, key, this.point.value, source);
    this.point = undefined;
    this.index++;
    return 'progress';
  }
}

// ---- scenarios ----

export type Action =
  | { readonly t: 'begin' }
  | { readonly t: 'step'; readonly actor: number }
  | { readonly t: 'crash'; readonly actor: number }
  | { readonly t: 'tick'; readonly ms: number }
  | { readonly t: 'expire' }
  | { readonly t: 'heartbeat'; readonly actor: number }
  | { readonly t: 'replay'; readonly actor: number; readonly which: number }
  | { readonly t: 'snapshot'; readonly reuse: number | undefined; readonly scanLimit: number };

export interface Scenario {
  readonly keySpace: readonly string[];
  readonly programs: readonly (readonly TxnOp[])[];
  readonly actions: readonly Action[];
  readonly ttlMs?: number;
  /** Commit a transaction incrementing every key from nothing to 1 (id -1) before the schedule starts. */
  readonly preload?: boolean;
  /** Transactions prewrite their primary last (see TxnActor.primaryLast). */
  readonly primaryLast?: boolean;
  /** Readers push live locks instead of waiting (see World.readersPush). */
  readonly readersPush?: boolean;
}

export interface TxnFate {
  readonly actor: TxnActor;
  /** Whether the store says the transaction committed (its primary's write record), and when. */
  readonly committed: boolean;
  readonly commitTs: bigint | undefined;
}

export interface History {
  readonly world: World;
  readonly scenario: Scenario;
  readonly txns: readonly TxnFate[];
  /** Every read observed, during the schedule and at the end (after every lock was resolved). */
  readonly observations: readonly Observation[];
  /** Timestamps reads may use: every one the oracle issued. */
  readonly timestamps: readonly bigint[];
}

const DRAIN_STEP_CAP = 20_000;

/** Plays `scenario`, lets surviving clients finish, resolves every lock left, and reads everything. */
export async function runScenario(scenario: Scenario): Promise<History> {
  const world = new World(scenario.ttlMs ?? 50, scenario.readersPush === true);
  const everyTxn: TxnActor[] = [];
  if (scenario.preload === true) {
    const loader = new TxnActor(
      world,
      -1,
      scenario.keySpace.map((key) => ({ kind: 'incr', key })),
    );
    while (!loader.finished) await loader.step();
    if (loader.outcome !== 'committed') throw new ModelInvariantError('the preload transaction did not commit');
    everyTxn.push(loader);
  }
  const waiting = scenario.programs.map((program, i) => new TxnActor(world, i, program, scenario.primaryLast === true));
  everyTxn.push(...waiting);
  // Transactions join one by one ('begin' actions), so their start timestamps spread over the schedule.
  const txns: TxnActor[] = [];
  const snapshots: SnapshotActor[] = [];
  const actors = (): Array<TxnActor | SnapshotActor> => [...txns, ...snapshots];
  const txnAt = (i: number): TxnActor | undefined => txns[i % Math.max(1, txns.length)];

  for (const a of scenario.actions) {
    switch (a.t) {
      case 'begin': {
        const next = waiting.shift();
        if (next !== undefined) {
          txns.push(next);
          await next.step();
        }
        break;
      }
      case 'step': {
        const all = actors();
        if (all.length > 0) await all[a.actor % all.length]!.step();
        break;
      }
      case 'crash':
        txnAt(a.actor)?.crash();
        break;
      case 'tick':
        world.clock.advance(a.ms);
        break;
      case 'expire':
        world.clock.advance(world.ttlMs + 1);
        break;
      case 'heartbeat':
        await txnAt(a.actor)?.heartbeat();
        break;
      case 'replay':
        await txnAt(a.actor)?.replay(a.which);
        break;
      case 'snapshot': {
        const issued = world.oracle.issued;
        const ts = a.reuse === undefined || issued.length === 0 ? world.oracle.next() : issued[a.reuse % issued.length]!;
        snapshots.push(new SnapshotActor(world, snapshots.length, ts, scenario.keySpace, a.scanLimit));
        break;
      }
    }
  }

  // Surviving clients finish. A reader waiting on a live lock alternates between meeting it (one
  // step) and finding its owner alive (the next), so when every client still running was blocked
  // within the last two rounds, time moves past the TTL.
  txns.push(...waiting.splice(0));
  let steps = 0;
  let blockedBefore = new Set<TxnActor | SnapshotActor>();
  for (;;) {
    const live = actors().filter((x) => !(x instanceof TxnActor ? x.finished : x.done));
    if (live.length === 0) break;
    const blockedNow = new Set<TxnActor | SnapshotActor>();
    for (const x of live) {
      if ((await x.step()) === 'blocked') blockedNow.add(x);
      if (++steps > DRAIN_STEP_CAP) throw new ModelInvariantError('clients did not finish: livelock?');
    }
    if (live.every((x) => blockedNow.has(x) || blockedBefore.has(x))) {
      world.clock.advance(world.ttlMs + 1);
      blockedNow.clear();
    }
    blockedBefore = blockedNow;
  }

  await resolveAllLocks(world);

  // Each transaction's fate, as its primary's write record says; it must agree with the coordinator.
  const fates: TxnFate[] = [];
  for (const actor of everyTxn) {
    let committed = actor.outcome === 'committed' && actor.buffer.size === 0;
    let commitTs: bigint | undefined;
    if (actor.primary !== undefined && actor.startTs !== undefined) {
      const w = await writeOfTxn(world.store.engine, bytes(actor.primary), actor.startTs);
      committed = w !== undefined && w.write.kind !== 'rollback';
      commitTs = committed ? w!.commitTs : undefined;
    }
    if (actor.outcome === 'committed' && actor.buffer.size > 0 && !(committed && commitTs === actor.commitTs)) {
      throw new ModelInvariantError(`transaction ${actor.id} was told it committed at ${actor.commitTs} but the store says ${committed ? commitTs : 'not committed'}`);
    }
    if (actor.outcome === 'aborted' && committed) throw new ModelInvariantError(`transaction ${actor.id} aborted but the store has it committed`);
    fates.push({ actor, committed, commitTs });
  }

  // Final reads at every issued timestamp and one fresh one; no lock is left to stop them.
  const timestamps = [...new Set([...world.oracle.issued, world.oracle.next()])];
  for (const ts of timestamps) {
    for (const key of scenario.keySpace) {
      const r = await world.store.getAt(bytes(key), ts);
      if (!('value' in r)) throw new ModelInvariantError(`final read of ${key} at ${ts} met ${r.error.kind}`);
      world.observe(ts, key, r.value, 'final get');
    }
    const scan = await world.store.scanAt(new Uint8Array(0), new Uint8Array(0), ts, 1_000, false);
    if (scan.locks.length > 0 || scan.more) throw new ModelInvariantError('final scan stopped early');
    const seen = new Map(scan.pairs.map((p) => [text(p.key), p.value] as const));
    for (const key of scenario.keySpace) world.observe(ts, key, seen.get(key), 'final scan');
  }

  return { world, scenario, txns: fates, observations: world.observations, timestamps };
}

/** Resolves every lock in the store through its primary, moving time past TTLs as needed. */
export async function resolveAllLocks(world: World): Promise<void> {
  for (let round = 0; round < 1_000; round++) {
    const locks = world.store.engine.records().filter((r) => r.tag === RecordTag.Lock);
    const first = locks[0];
    if (first === undefined) return;
    const lock = decodeLock(first.value);
    const status = await world.store.checkTxnStatus(lock.primary, lock.startTs, world.oracle.next());
    if (status.kind === 'locked') {
      const aliveUntil = physicalMs(status.lock.startTs) + status.lock.ttlMs;
      world.clock.advance(Math.max(0, aliveUntil + 1 - world.clock.nowMs));
      continue;
    }
    const commitTs = status.kind === 'committed' ? status.commitTs : 0n;
    const err = await world.store.resolveKey(first.key, lock.startTs, commitTs);
    if (err !== undefined) throw new ModelInvariantError(`cleanup of ${text(first.key)}: ${err.kind}`);
  }
  throw new ModelInvariantError('locks kept coming back during cleanup');
}

// ---- what the history should show ----

/** What `key` reads at ts given which transactions committed: the newest committed change ≤ ts. */
export function expectedValue(txns: readonly TxnFate[], key: string, ts: bigint): string | undefined {
  let best: { commitTs: bigint; value: string | undefined } | undefined;
  for (const f of txns) {
    if (!f.committed || f.commitTs === undefined || f.commitTs > ts) continue;
    const w = f.actor.buffer.get(key);
    if (w === undefined || w.op === 'lock') continue;
    if (best === undefined || f.commitTs > best.commitTs) best = { commitTs: f.commitTs, value: w.op === 'delete' ? undefined : w.value };
  }
  return best?.value;
}
