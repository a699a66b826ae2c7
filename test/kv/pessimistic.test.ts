// Pessimistic locking in the kv layer (src/kv/txn.ts, src/kv/records.ts) on the single-store model
// of model.ts: the lock record's second version, AcquirePessimisticLock (conflicts with other
// locks and with newer commits, idempotence, current reads), its rollback, the prewrite of keys
// locked that way, readers passing over such locks, their resolution once expired, and the wait-for
// a primary publishes. Then a property over random interleavings of pessimistic increments of two
// counters with crashes, heartbeats, clock moves and snapshot readers: no prewrite ever meets a
// write conflict, no increment is lost, and every read sees exactly the commits at or before it.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TS, RecordTag } from '../../src/kv/keys.js';
import { composeTs, decodeLock, decodeWrite, encodeLock, physicalMs, type Lock, type LockKind } from '../../src/kv/records.js';
import {
  acquirePessimisticLock,
  getAt,
  heartbeat,
  pessimisticRollback,
  writeOfTxn,
  type KeyError,
  type PessimisticLockParams,
  type PessimisticLockResult,
  type PrewriteMutation,
  type PrewriteParams,
} from '../../src/kv/txn.js';
import { ModelInvariantError, ModelStore, World, bytes, resolveAllLocks, text } from './model.js';

const T0 = 1_000_000;
/** Timestamps within one millisecond, ordered by n. */
const at = (n: number): bigint => composeTs(T0, n);
const TTL = 100;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function lockParams(primary: string, startTs: bigint, forUpdateTs: bigint, over: Partial<PessimisticLockParams> = {}): PessimisticLockParams {
  return { primary: bytes(primary), startTs, forUpdateTs, ttlMs: TTL, returnValue: true, ...over };
}

function prewriteParams(primary: string, startTs: bigint, over: Partial<PrewriteParams> = {}): PrewriteParams {
  return { primary: bytes(primary), startTs, ttlMs: TTL, txnSize: 1, minCommitTs: startTs + 1n, ...over };
}

function acquire(store: ModelStore, key: string, p: PessimisticLockParams): Promise<PessimisticLockResult> {
  return store.run((r, w) => acquirePessimisticLock(r, w, bytes(key), p));
}

function pessimisticPrewrite(store: ModelStore, m: Omit<PrewriteMutation, 'pessimistic'>, p: PrewriteParams): Promise<KeyError | undefined> {
  return store.prewrite({ ...m, pessimistic: true }, p);
}

/** Prewrites and commits one key optimistically; every step must succeed. */
async function commitOne(store: ModelStore, key: string, value: string, startTs: bigint, commitTs: bigint): Promise<void> {
  expect(await store.prewrite({ op: 'put', key: bytes(key), value: bytes(value) }, prewriteParams(key, startTs))).toBeUndefined();
  expect(await store.commit(bytes(key), startTs, commitTs)).toBeUndefined();
}

async function readValue(store: ModelStore, key: string, ts: bigint): Promise<string | undefined> {
  const r = await store.getAt(bytes(key), ts);
  if (!('value' in r)) throw new Error(`read of ${key} at ${ts} met ${r.error.kind}`);
  return r.value === undefined ? undefined : text(r.value);
}

function valueOf(r: PessimisticLockResult): string | undefined {
  if ('error' in r) throw new Error(`expected a lock, got ${r.error.kind}`);
  return r.value === undefined ? undefined : text(r.value);
}

function errorOf(r: PessimisticLockResult): KeyError | undefined {
  return 'error' in r ? r.error : undefined;
}

/** Every record of `key` as a short string, in engine order. */
function recordsOf(store: ModelStore, key: string): string[] {
  return store.engine
    .records()
    .filter((r) => text(r.key) === key)
    .map((r) => {
      if (r.tag === RecordTag.Write) {
        const w = decodeWrite(r.value);
        return `write@${r.ts}:${w.kind}/${w.startTs}`;
      }
      if (r.tag === RecordTag.Lock) {
        const l = decodeLock(r.value);
        return `lock:${l.kind}/${l.startTs}`;
      }
      return `data@${r.ts}`;
    });
}

// ---- records ----------------------------------------------------------------------------------

describe('lock records, version 2', () => {
  const tsArb = fc.bigInt({ min: 0n, max: MAX_TS });

  it('round-trip every kind with for_update_ts and wait-for', () => {
    const kinds: LockKind[] = ['put', 'delete', 'lock', 'pessimistic'];
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 20 }),
        fc.constantFrom(...kinds),
        tsArb,
        tsArb,
        fc.nat({ max: 0xffff_ffff }),
        tsArb,
        fc.bigInt({ min: 1n, max: MAX_TS }),
        (primary, kind, startTs, minCommitTs, ttlMs, forUpdateTs, waitForTs) => {
          const lock: Lock = { primary, kind, startTs, minCommitTs, ttlMs, txnSize: 3, forUpdateTs, waitForTs };
          const encoded = encodeLock(lock);
          expect(encoded[0]).toBe(2);
          const back = decodeLock(encoded);
          expect({ ...back, primary: hex(back.primary) }).toEqual({ ...lock, primary: hex(primary) });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('optimistic locks keep the version 1 layout, which still decodes as documented', () => {
    const lock: Lock = { primary: bytes('pk'), kind: 'delete', startTs: 0x0102n, minCommitTs: 0x0304n, ttlMs: 0x0506, txnSize: 0x0708 };
    // version | kind | start_ts u64 | min_commit_ts u64 | ttl_ms u32 | txn_size u32 | primary
    const v1 = '01' + '01' + '0000000000000102' + '0000000000000304' + '00000506' + '00000708' + hex(bytes('pk'));
    expect(hex(encodeLock(lock))).toBe(v1);
    const back = decodeLock(Buffer.from(v1, 'hex'));
    expect({ ...back, primary: text(back.primary) }).toEqual({ ...lock, primary: 'pk' });
    expect(back.forUpdateTs).toBeUndefined();
  });

  it('refuses malformed records', () => {
    const pessimistic = encodeLock({ primary: bytes('p'), kind: 'pessimistic', startTs: 1n, minCommitTs: 2n, ttlMs: 3, txnSize: 0, forUpdateTs: 4n });
    expect(() => decodeLock(pessimistic.subarray(0, 40))).toThrow(/too short/);
    const asV1 = pessimistic.slice();
    asV1[0] = 1;
    expect(() => decodeLock(asV1)).toThrow(/version 1/);
    const v3 = pessimistic.slice();
    v3[0] = 3;
    expect(() => decodeLock(v3)).toThrow(/version 3/);
    const badKind = pessimistic.slice();
    badKind[1] = 9;
    expect(() => decodeLock(badKind)).toThrow(/kind 9/);
  });
});

// ---- the commands one by one ------------------------------------------------------------------

describe('acquirePessimisticLock', () => {
  it('locks, returns the newest committed value (not the start ts snapshot), then prewrite and commit make the write visible', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'old', at(1), at(2));
    // Committed after the locking transaction started, before its for_update_ts.
    await commitOne(store, 'k', 'newer', at(4), at(5));
    const startTs = at(3);
    expect(await readValue(store, 'k', startTs)).toBe('old');
    expect(valueOf(await acquire(store, 'k', lockParams('k', startTs, at(6))))).toBe('newer');
    expect(store.lockOf(bytes('k'))).toMatchObject({ kind: 'pessimistic', startTs, forUpdateTs: at(6) });
    expect(recordsOf(store, 'k')[0]).toBe(`lock:pessimistic/${startTs}`);

    // The prewrite of the locked key skips the conflict check (the commit at 5 is after start ts 3).
    expect(await pessimisticPrewrite(store, { op: 'put', key: bytes('k'), value: bytes('mine') }, prewriteParams('k', startTs, { minCommitTs: at(7) }))).toBeUndefined();
    expect(store.lockOf(bytes('k'))).toMatchObject({ kind: 'put', startTs, forUpdateTs: at(6), minCommitTs: at(7) });
    expect(await store.commit(bytes('k'), startTs, at(8))).toBeUndefined();
    expect(store.lockOf(bytes('k'))).toBeUndefined();
    expect(await readValue(store, 'k', at(7))).toBe('newer');
    expect(await readValue(store, 'k', at(8))).toBe('mine');
    expect(store.writesOf(bytes('k'))[0]).toEqual({ commitTs: at(8), write: { kind: 'put', startTs } });
  });

  it('without returnValue, and on a key that does not exist, gives no value', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'v', at(1), at(2));
    expect(valueOf(await acquire(store, 'k', lockParams('k', at(3), at(3), { returnValue: false })))).toBeUndefined();
    expect(valueOf(await acquire(store, 'missing', lockParams('k', at(3), at(3))))).toBeUndefined();
    expect(store.lockOf(bytes('missing'))?.kind).toBe('pessimistic');
  });

  it('a key only locked commits as a lock-only record that leaves the value as it was', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'kept', at(1), at(2));
    expect(valueOf(await acquire(store, 'k', lockParams('k', at(3), at(3))))).toBe('kept');
    expect(await pessimisticPrewrite(store, { op: 'lock', key: bytes('k') }, prewriteParams('k', at(3)))).toBeUndefined();
    expect(store.lockOf(bytes('k'))?.kind).toBe('lock');
    expect(await store.commit(bytes('k'), at(3), at(4))).toBeUndefined();
    expect(store.writesOf(bytes('k'))[0]).toEqual({ commitTs: at(4), write: { kind: 'lock', startTs: at(3) } });
    expect(await readValue(store, 'k', at(5))).toBe('kept');
  });

  it("meets another transaction's lock, pessimistic or prewritten: locked, with that lock, and nothing written", async () => {
    const store = new ModelStore();
    expect(valueOf(await acquire(store, 'k', lockParams('p', at(1), at(1))))).toBeUndefined();
    const before = store.engine.entries();
    const err = errorOf(await acquire(store, 'k', lockParams('k', at(2), at(2))));
    expect(err).toMatchObject({ kind: 'locked', lock: { kind: 'pessimistic', startTs: at(1) } });
    if (err?.kind === 'locked') expect(text(err.lock.primary)).toBe('p');
    expect(store.engine.entries()).toEqual(before);
    // An optimistic prewrite is stopped by it as well.
    expect((await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('x') }, prewriteParams('k', at(3))))?.kind).toBe('locked');

    await store.prewrite({ op: 'put', key: bytes('j'), value: bytes('x') }, prewriteParams('j', at(4)));
    expect(errorOf(await acquire(store, 'j', lockParams('j', at(5), at(5))))).toMatchObject({ kind: 'locked', lock: { kind: 'put', startTs: at(4) } });
  });

  it('after a commit newer than for_update_ts: writeConflict naming it; at a newer for_update_ts it locks', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'v1', at(1), at(5));
    const err = errorOf(await acquire(store, 'k', lockParams('k', at(2), at(3))));
    expect(err).toMatchObject({ kind: 'writeConflict', startTs: at(2), conflictStartTs: at(1), conflictCommitTs: at(5) });
    expect(store.lockOf(bytes('k'))).toBeUndefined();
    expect(valueOf(await acquire(store, 'k', lockParams('k', at(2), at(6))))).toBe('v1');
  });

  it('allowed to, it locks past a newer commit, at that commit, and says so', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'v1', at(1), at(5));
    const r = await acquire(store, 'k', lockParams('k', at(2), at(3), { allowLockWithConflict: true }));
    expect(r).toEqual({ value: bytes('v1'), lockedWithConflictTs: at(5) });
    expect(store.lockOf(bytes('k'))).toMatchObject({ kind: 'pessimistic', forUpdateTs: at(5), minCommitTs: at(6) });
    // Without a newer commit there is nothing to report.
    expect(await acquire(store, 'j', lockParams('k', at(2), at(3), { allowLockWithConflict: true }))).toEqual({ value: undefined });
    // Another transaction's lock still stops it.
    expect(errorOf(await acquire(store, 'k', lockParams('k', at(7), at(7), { allowLockWithConflict: true })))?.kind).toBe('locked');
  });

  it('a newer rollback or lock-only commit is no conflict: the value did not change', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'v1', at(1), at(2));
    await store.prewrite({ op: 'lock', key: bytes('k') }, prewriteParams('k', at(5)));
    expect(await store.commit(bytes('k'), at(5), at(6))).toBeUndefined();
    expect(await store.rollback(bytes('k'), at(7))).toBeUndefined();
    expect(valueOf(await acquire(store, 'k', lockParams('k', at(3), at(4))))).toBe('v1');
  });

  it('is idempotent: its own lock stays, a newer for_update_ts raises it, an older one changes nothing', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'v', at(1), at(2));
    await acquire(store, 'k', lockParams('k', at(3), at(4)));
    expect(valueOf(await acquire(store, 'k', lockParams('k', at(3), at(9))))).toBe('v');
    expect(store.lockOf(bytes('k'))).toMatchObject({ kind: 'pessimistic', forUpdateTs: at(9), minCommitTs: at(10) });
    const before = store.engine.entries();
    expect(valueOf(await acquire(store, 'k', lockParams('k', at(3), at(5))))).toBe('v');
    expect(store.engine.entries()).toEqual(before);
    // Already prewritten: still a success, the prewritten lock kept.
    await pessimisticPrewrite(store, { op: 'delete', key: bytes('k') }, prewriteParams('k', at(3)));
    expect(valueOf(await acquire(store, 'k', lockParams('k', at(3), at(11))))).toBe('v');
    expect(store.lockOf(bytes('k'))?.kind).toBe('delete');
  });

  it('after its own rollback on the key: pessimisticLockRolledBack', async () => {
    const store = new ModelStore();
    expect(await store.rollback(bytes('k'), at(3))).toBeUndefined();
    expect(errorOf(await acquire(store, 'k', lockParams('k', at(3), at(4))))).toMatchObject({ kind: 'pessimisticLockRolledBack', startTs: at(3) });
    expect(store.lockOf(bytes('k'))).toBeUndefined();
  });
});

describe('pessimisticRollback', () => {
  it('removes the lock without a rollback record; the transaction may lock the key again', async () => {
    const store = new ModelStore();
    await acquire(store, 'k', lockParams('k', at(1), at(2)));
    await store.run((r, w) => pessimisticRollback(r, w, bytes('k'), at(1), at(2)));
    expect(recordsOf(store, 'k')).toEqual([]);
    expect(valueOf(await acquire(store, 'k', lockParams('k', at(1), at(3))))).toBeUndefined();
    expect(store.lockOf(bytes('k'))?.forUpdateTs).toBe(at(3));
  });

  it('leaves alone a lock taken again at a newer for_update_ts, prewritten locks and other transactions', async () => {
    const store = new ModelStore();
    await acquire(store, 'k', lockParams('k', at(1), at(5)));
    await store.run((r, w) => pessimisticRollback(r, w, bytes('k'), at(1), at(4)));
    expect(store.lockOf(bytes('k'))?.kind).toBe('pessimistic');
    await store.run((r, w) => pessimisticRollback(r, w, bytes('k'), at(2), at(9)));
    expect(store.lockOf(bytes('k'))?.startTs).toBe(at(1));
    await pessimisticPrewrite(store, { op: 'put', key: bytes('k'), value: bytes('v') }, prewriteParams('k', at(1)));
    await store.run((r, w) => pessimisticRollback(r, w, bytes('k'), at(1), at(9)));
    expect(recordsOf(store, 'k')).toEqual([`lock:put/${at(1)}`, `data@${at(1)}`]);
  });
});

describe('prewrite of pessimistic keys', () => {
  it('refuses a flagged mutation whose lock is gone, or now held by another transaction, and writes nothing', async () => {
    const store = new ModelStore();
    await acquire(store, 'k', lockParams('k', at(1), at(1)));
    // A resolver rolled the lock back (its transaction looked abandoned).
    expect(await store.resolveKey(bytes('k'), at(1), 0n)).toBeUndefined();
    const before = store.engine.entries();
    expect(await pessimisticPrewrite(store, { op: 'put', key: bytes('k'), value: bytes('x') }, prewriteParams('k', at(1)))).toMatchObject({ kind: 'pessimisticLockNotFound', startTs: at(1) });
    expect(store.engine.entries()).toEqual(before);
    // Another transaction locked it since.
    await acquire(store, 'k', lockParams('k', at(2), at(2)));
    expect((await pessimisticPrewrite(store, { op: 'put', key: bytes('k'), value: bytes('x') }, prewriteParams('k', at(1))))?.kind).toBe('pessimisticLockNotFound');
    expect(store.lockOf(bytes('k'))).toMatchObject({ kind: 'pessimistic', startTs: at(2) });
    // Never locked at all.
    expect((await pessimisticPrewrite(store, { op: 'put', key: bytes('n'), value: bytes('x') }, prewriteParams('n', at(3))))?.kind).toBe('pessimisticLockNotFound');
  });

  it('an unflagged mutation still meets the write conflict an optimistic one meets', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'v', at(2), at(3));
    await acquire(store, 'k', lockParams('k', at(1), at(4)));
    expect((await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('x') }, prewriteParams('k', at(1))))?.kind).toBe('writeConflict');
    expect(await pessimisticPrewrite(store, { op: 'put', key: bytes('k'), value: bytes('x') }, prewriteParams('k', at(1)))).toBeUndefined();
  });

  it('insert over a locked key that exists: alreadyExists, the pessimistic lock kept', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'v', at(1), at(2));
    await acquire(store, 'k', lockParams('k', at(3), at(3)));
    expect((await pessimisticPrewrite(store, { op: 'insert', key: bytes('k'), value: bytes('x') }, prewriteParams('k', at(3))))?.kind).toBe('alreadyExists');
    expect(store.lockOf(bytes('k'))?.kind).toBe('pessimistic');
    await acquire(store, 'n', lockParams('k', at(3), at(3)));
    expect(await pessimisticPrewrite(store, { op: 'insert', key: bytes('n'), value: bytes('x') }, prewriteParams('k', at(3)))).toBeUndefined();
    expect(store.lockOf(bytes('n'))?.kind).toBe('put');
  });

  it('keeps a min commit ts a reader pushed onto the pessimistic primary, and the TTL a heartbeat gave it', async () => {
    const store = new ModelStore();
    await acquire(store, 'p', lockParams('p', at(1), at(2)));
    expect(await store.heartbeat(bytes('p'), at(1), 5_000)).toEqual({ ttlMs: 5_000 });
    // A reader at 20 met a prewritten secondary and pushed the primary past itself.
    const status = await store.checkTxnStatus(bytes('p'), at(1), at(20), at(20));
    expect(status).toMatchObject({ kind: 'locked', lock: { minCommitTs: at(21) } });
    await pessimisticPrewrite(store, { op: 'put', key: bytes('p'), value: bytes('v') }, prewriteParams('p', at(1), { minCommitTs: at(3) }));
    expect(store.lockOf(bytes('p'))).toMatchObject({ kind: 'put', minCommitTs: at(21), ttlMs: 5_000 });
    expect(await store.commit(bytes('p'), at(1), at(15))).toMatchObject({ kind: 'commitTsExpired', minCommitTs: at(21) });
    expect(await store.commit(bytes('p'), at(1), at(22))).toBeUndefined();
  });

  it('commit of a pessimistic lock never prewritten is refused', async () => {
    const store = new ModelStore();
    await acquire(store, 'k', lockParams('k', at(1), at(1)));
    expect((await store.commit(bytes('k'), at(1), at(2)))?.kind).toBe('txnLockNotFound');
    expect(store.lockOf(bytes('k'))?.kind).toBe('pessimistic');
  });
});

describe('readers and resolvers meeting pessimistic locks', () => {
  it('readers pass over them (get and scan), but not over the lock their prewrite leaves', async () => {
    const store = new ModelStore();
    await commitOne(store, 'a', 'va', at(1), at(2));
    await commitOne(store, 'b', 'vb', at(1), at(2));
    await acquire(store, 'a', lockParams('a', at(3), at(3)));
    await acquire(store, 'b', lockParams('a', at(3), at(3)));
    expect(await readValue(store, 'a', at(9))).toBe('va');
    const scan = await store.scanAt(new Uint8Array(0), new Uint8Array(0), at(9), 10, false);
    expect(scan.locks).toEqual([]);
    expect(scan.pairs.map((p) => [text(p.key), text(p.value)])).toEqual([
      ['a', 'va'],
      ['b', 'vb'],
    ]);
    await pessimisticPrewrite(store, { op: 'put', key: bytes('b'), value: bytes('new') }, prewriteParams('a', at(3)));
    const r = await store.getAt(bytes('b'), at(9));
    expect('error' in r && r.error.kind).toBe('locked');
    const stopped = await store.scanAt(new Uint8Array(0), new Uint8Array(0), at(9), 10, false);
    expect(stopped.locks.map((l) => text(l.key))).toEqual(['b']);
  });

  it('an expired pessimistic primary is rolled back by checkTxnStatus; its secondaries resolve away; a live one stays', async () => {
    const world = new World(TTL);
    const store = world.store;
    const startTs = world.oracle.next();
    await acquire(store, 'p', lockParams('p', startTs, startTs));
    await acquire(store, 's', lockParams('p', startTs, startTs));
    expect(await store.checkTxnStatus(bytes('p'), startTs, world.oracle.next())).toMatchObject({ kind: 'locked', lock: { kind: 'pessimistic' } });
    world.clock.advance(TTL + 1);
    expect(await store.checkTxnStatus(bytes('p'), startTs, world.oracle.next())).toEqual({ kind: 'rolledBack', reason: 'ttlExpired' });
    expect(recordsOf(store, 'p')).toEqual([`write@${startTs}:rollback/${startTs}`]);
    // The secondary: rolled back as the primary says.
    expect(await store.resolveKey(bytes('s'), startTs, 0n)).toBeUndefined();
    expect(store.lockOf(bytes('s'))).toBeUndefined();
    // The abandoned transaction can neither lock its primary again nor prewrite it.
    expect(errorOf(await acquire(store, 'p', lockParams('p', startTs, world.oracle.next())))?.kind).toBe('pessimisticLockRolledBack');
    expect((await pessimisticPrewrite(store, { op: 'put', key: bytes('p'), value: bytes('x') }, prewriteParams('p', startTs)))?.kind).toBe('pessimisticLockNotFound');
  });

  it('resolving a pessimistic lock of a committed transaction removes it without a write record', async () => {
    const store = new ModelStore();
    await acquire(store, 'k', lockParams('p', at(1), at(1)));
    expect(await store.resolveKey(bytes('k'), at(1), at(5))).toBeUndefined();
    expect(recordsOf(store, 'k')).toEqual([]);
  });

  it('rollback (and so Cleanup) of a pessimistic lock removes it and records the rollback', async () => {
    const store = new ModelStore();
    await acquire(store, 'k', lockParams('k', at(1), at(1)));
    expect(await store.rollback(bytes('k'), at(1))).toBeUndefined();
    expect(recordsOf(store, 'k')).toEqual([`write@${at(1)}:rollback/${at(1)}`]);
  });

  it('heartbeat extends a pessimistic primary and publishes (then withdraws) whom it waits for', async () => {
    const store = new ModelStore();
    await acquire(store, 'p', lockParams('p', at(1), at(1)));
    expect(await store.run((r, w) => heartbeat(r, w, bytes('p'), at(1), 500, at(7)))).toEqual({ ttlMs: 500 });
    expect(store.lockOf(bytes('p'))).toMatchObject({ kind: 'pessimistic', ttlMs: 500, waitForTs: at(7) });
    const status = await store.checkTxnStatus(bytes('p'), at(1), at(2));
    expect(status.kind === 'locked' && status.lock.waitForTs).toBe(at(7));
    // A shorter TTL never shortens it; the wait is withdrawn.
    expect(await store.run((r, w) => heartbeat(r, w, bytes('p'), at(1), 200, 0n))).toEqual({ ttlMs: 500 });
    expect(store.lockOf(bytes('p'))?.waitForTs).toBeUndefined();
    expect(await store.run((r, w) => heartbeat(r, w, bytes('q'), at(1), 200, 0n))).toMatchObject({ kind: 'txnNotFound' });
  });
});

// ---- property: pessimistic increments under random interleavings ------------------------------

const COUNTERS = ['ca', 'cb'] as const;

type Phase =
  | { readonly kind: 'begin' }
  | { readonly kind: 'lock'; readonly index: number }
  | { readonly kind: 'resolve'; readonly index: number; readonly lock: Lock; commitTs?: bigint }
  | { readonly kind: 'prewrite'; readonly index: number }
  | { readonly kind: 'commitTs' }
  | { readonly kind: 'commit'; readonly index: number }
  | { readonly kind: 'rollback'; readonly index: number }
  | { readonly kind: 'finished' };

/**
 * A pessimistic transaction incrementing some counters: lock each (current read), then prewrite
 * every one flagged, then commit, one store command per step. A live lock makes it 'blocked'; a
 * newer commit, a newer for_update_ts. Its locks lost (resolved away after it stopped
 * heartbeating) it aborts, as its coordinator must, rolling back what it still holds.
 */
class PessimisticIncrement {
  startTs = 0n;
  forUpdateTs = 0n;
  commitTs: bigint | undefined;
  outcome: 'running' | 'committed' | 'aborting' | 'aborted' | 'crashed' = 'running';
  readonly values = new Map<string, number>();
  phase: Phase = { kind: 'begin' };

  constructor(
    private readonly world: World,
    readonly id: number,
    /** Counters it increments, in the order it locks them; the first is its primary. */
    readonly keys: readonly string[],
  ) {}

  get finished(): boolean {
    return this.phase.kind === 'finished' || this.outcome === 'crashed';
  }

  private abort(): void {
    this.outcome = 'aborting';
    this.phase = { kind: 'rollback', index: 0 };
  }

  crash(): void {
    if (!this.finished) this.outcome = 'crashed';
  }

  async heartbeat(): Promise<void> {
    if (this.finished || this.startTs === 0n) return;
    const advise = this.world.clock.nowMs - physicalMs(this.startTs) + this.world.ttlMs;
    await this.world.store.heartbeat(bytes(this.keys[0]!), this.startTs, advise);
  }

  async step(): Promise<'progress' | 'blocked' | 'done'> {
    if (this.finished) return 'done';
    const phase = this.phase;
    const store = this.world.store;
    const primary = this.keys[0]!;
    switch (phase.kind) {
      case 'begin':
        this.startTs = this.world.oracle.next();
        this.forUpdateTs = this.startTs;
        this.phase = { kind: 'lock', index: 0 };
        return 'progress';
      case 'lock': {
        const key = this.keys[phase.index]!;
        const r = await acquire(store, key, { primary: bytes(primary), startTs: this.startTs, forUpdateTs: this.forUpdateTs, ttlMs: this.world.ttlMs, returnValue: true });
        if ('value' in r) {
          this.values.set(key, r.value === undefined ? 0 : Number(text(r.value)));
          this.phase = phase.index + 1 < this.keys.length ? { kind: 'lock', index: phase.index + 1 } : { kind: 'prewrite', index: 0 };
          return 'progress';
        }
        switch (r.error.kind) {
          case 'writeConflict':
            if (r.error.conflictCommitTs <= this.forUpdateTs) throw new ModelInvariantError('a conflict with a commit at or below for_update_ts');
            this.forUpdateTs = this.world.oracle.next();
            return 'progress';
          case 'locked':
            this.phase = { kind: 'resolve', index: phase.index, lock: r.error.lock };
            return 'progress';
          case 'pessimisticLockRolledBack':
            this.abort();
            return 'progress';
          default:
            throw new ModelInvariantError(`lock of ${key}: ${r.error.kind}`);
        }
      }
      case 'resolve': {
        const key = this.keys[phase.index]!;
        if (phase.commitTs === undefined) {
          const status = await store.checkTxnStatus(phase.lock.primary, phase.lock.startTs, this.world.oracle.next());
          // Its owner lives: look again on a later step (time must pass for anything to change).
          if (status.kind === 'locked') return 'blocked';
          phase.commitTs = status.kind === 'committed' ? status.commitTs : 0n;
          return 'progress';
        }
        const err = await store.resolveKey(bytes(key), phase.lock.startTs, phase.commitTs);
        if (err !== undefined) throw new ModelInvariantError(`resolving ${key}: ${err.kind}`);
        this.phase = { kind: 'lock', index: phase.index };
        return 'progress';
      }
      case 'prewrite': {
        const key = this.keys[phase.index]!;
        const m: PrewriteMutation = { op: 'put', key: bytes(key), value: bytes(String(this.values.get(key)! + 1)), pessimistic: true };
        const err = await store.prewrite(m, { primary: bytes(primary), startTs: this.startTs, ttlMs: this.world.ttlMs, txnSize: this.keys.length, minCommitTs: this.forUpdateTs + 1n });
        if (err === undefined) {
          this.phase = phase.index + 1 < this.keys.length ? { kind: 'prewrite', index: phase.index + 1 } : { kind: 'commitTs' };
          return 'progress';
        }
        // What the lock promised: no conflict at prewrite, ever. Losing the lock is the only way out.
        if (err.kind !== 'pessimisticLockNotFound') throw new ModelInvariantError(`prewrite of locked ${key}: ${err.kind}`);
        this.abort();
        return 'progress';
      }
      case 'commitTs':
        this.commitTs = this.world.oracle.next();
        this.phase = { kind: 'commit', index: 0 };
        return 'progress';
      case 'commit': {
        const key = this.keys[phase.index]!;
        const next = (): void => {
          this.phase = phase.index + 1 < this.keys.length ? { kind: 'commit', index: phase.index + 1 } : { kind: 'finished' };
        };
        const err = await store.commit(bytes(key), this.startTs, this.commitTs!);
        if (err === undefined) {
          if (phase.index === 0) this.outcome = 'committed';
          next();
          return 'progress';
        }
        if (phase.index === 0 && err.kind === 'txnLockNotFound') {
          this.commitTs = undefined;
          this.abort();
          return 'progress';
        }
        if (phase.index === 0 && err.kind === 'commitTsExpired') {
          this.phase = { kind: 'commitTs' };
          return 'progress';
        }
        throw new ModelInvariantError(`commit of ${key}: ${err.kind}`);
      }
      case 'rollback': {
        const key = this.keys[phase.index]!;
        const err = await store.rollback(bytes(key), this.startTs);
        if (err !== undefined) throw new ModelInvariantError(`rollback of ${key}: ${err.kind}`);
        if (phase.index + 1 < this.keys.length) this.phase = { kind: 'rollback', index: phase.index + 1 };
        else {
          this.phase = { kind: 'finished' };
          this.outcome = 'aborted';
        }
        return 'progress';
      }
      case 'finished':
        return 'done';
    }
  }
}

type Action =
  | { readonly t: 'step'; readonly actor: number }
  | { readonly t: 'crash'; readonly actor: number }
  | { readonly t: 'heartbeat'; readonly actor: number }
  | { readonly t: 'tick'; readonly ms: number }
  | { readonly t: 'read' };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 12, arbitrary: fc.nat({ max: 7 }).map((actor) => ({ t: 'step', actor }) as const) },
  { weight: 1, arbitrary: fc.nat({ max: 7 }).map((actor) => ({ t: 'crash', actor }) as const) },
  { weight: 2, arbitrary: fc.nat({ max: 7 }).map((actor) => ({ t: 'heartbeat', actor }) as const) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 40 }).map((ms) => ({ t: 'tick', ms }) as const) },
  { weight: 3, arbitrary: fc.constant({ t: 'read' } as const) },
);

const programArb = fc.oneof(
  fc.constantFrom<readonly string[]>(['ca'], ['cb']),
  fc.constantFrom<readonly string[]>(['ca', 'cb'], ['cb', 'ca']),
);

const DRAIN_STEP_CAP = 20_000;

async function runIncrements(programs: ReadonlyArray<readonly string[]>, actions: readonly Action[]): Promise<void> {
  const world = new World(50);
  const actors = programs.map((keys, i) => new PessimisticIncrement(world, i, keys));
  const reads: Array<{ ts: bigint; key: string; value: number }> = [];
  const read = async (): Promise<void> => {
    const ts = world.oracle.next();
    for (const key of COUNTERS) {
      const r = await world.store.run((rd) => getAt(rd, bytes(key), ts));
      // A prewritten lock stops the reader; pessimistic ones never do (checked: no lock is reported
      // for a key that only carries one).
      if ('error' in r) {
        if (r.error.kind !== 'locked' || r.error.lock.kind === 'pessimistic') throw new ModelInvariantError(`read met ${r.error.kind}`);
        continue;
      }
      reads.push({ ts, key, value: r.value === undefined ? 0 : Number(text(r.value)) });
    }
  };
  for (const a of actions) {
    switch (a.t) {
      case 'step':
        await actors[a.actor % actors.length]!.step();
        break;
      case 'crash':
        actors[a.actor % actors.length]!.crash();
        break;
      case 'heartbeat':
        await actors[a.actor % actors.length]!.heartbeat();
        break;
      case 'tick':
        world.clock.advance(a.ms);
        break;
      case 'read':
        await read();
        break;
    }
  }
  // Survivors finish; when every one is blocked (waiting for each other or for a crashed one),
  // time passes the TTL, which breaks any cycle.
  let steps = 0;
  for (;;) {
    const live = actors.filter((x) => !x.finished);
    if (live.length === 0) break;
    let blocked = 0;
    for (const x of live) {
      if ((await x.step()) === 'blocked') blocked++;
      if (++steps > DRAIN_STEP_CAP) throw new ModelInvariantError(`increments did not finish: ${JSON.stringify(actors.map((a) => [a.outcome, a.phase]), (_k, v) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? text(v) : v))}`);
    }
    if (blocked === live.length) world.clock.advance(world.ttlMs + 1);
  }
  await resolveAllLocks(world);
  await read();

  // The store's verdict on each transaction agrees with its coordinator.
  const committed: PessimisticIncrement[] = [];
  for (const x of actors) {
    if (x.startTs === 0n) continue;
    const w = await writeOfTxn(world.store.engine, bytes(x.keys[0]!), x.startTs);
    const isCommitted = w !== undefined && w.write.kind !== 'rollback';
    if (x.outcome === 'committed' && !(isCommitted && w!.commitTs === x.commitTs)) throw new ModelInvariantError(`transaction ${x.id} thinks it committed`);
    if (x.outcome === 'aborted' && isCommitted) throw new ModelInvariantError(`transaction ${x.id} aborted but committed`);
    // A crashed coordinator's transaction may have committed (its primary was committed before the crash).
    if (isCommitted) committed.push(Object.assign(x, { commitTs: w!.commitTs }));
  }
  for (const key of COUNTERS) {
    // No lost update: in commit order, each committed increment read the value the previous one wrote.
    const incs = committed.filter((x) => x.keys.includes(key)).sort((a, b) => (a.commitTs! < b.commitTs! ? -1 : 1));
    incs.forEach((x, i) => expect({ key, id: x.id, read: x.values.get(key) }).toEqual({ key, id: x.id, read: i }));
    // Every read sees exactly the increments committed at or before its ts.
    for (const r of reads.filter((x) => x.key === key)) {
      expect({ key, ts: r.ts, value: r.value }).toEqual({ key, ts: r.ts, value: incs.filter((x) => x.commitTs! <= r.ts).length });
    }
  }
  const locks = world.store.engine.records().filter((r) => r.tag === RecordTag.Lock);
  expect(locks).toEqual([]);
  // A pessimistic lock never becomes a write record of its own: only the puts and the rollbacks.
  const kinds = new Set(world.store.engine.records().filter((r) => r.tag === RecordTag.Write).map((r) => decodeWrite(r.value).kind));
  for (const k of kinds) expect(['put', 'rollback']).toContain(k);
}

describe('property: pessimistic increments', () => {
  it('never meet a write conflict at prewrite, lose no update, and reads see exactly the commits before them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(programArb, { minLength: 2, maxLength: 6 }), fc.array(actionArb, { minLength: 10, maxLength: 200 }), async (programs, actions) => {
        await runIncrements(programs, actions);
      }),
      { numRuns: 300 },
    );
  });

  it('every transaction commits when none crashes and each heartbeats often enough', async () => {
    const world = new World(50);
    const actors = Array.from({ length: 5 }, (_, i) => new PessimisticIncrement(world, i, ['ca']));
    for (let round = 0; round < 2_000 && actors.some((x) => !x.finished); round++) {
      for (const x of actors) await x.step();
      for (const x of actors) await x.heartbeat();
      world.clock.advance(5);
    }
    expect(actors.map((x) => x.outcome)).toEqual(actors.map(() => 'committed'));
    expect(await world.store.run((r) => getAt(r, bytes('ca'), world.oracle.next()))).toEqual({ value: bytes('5') });
  });
});
