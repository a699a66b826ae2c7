// Tests of the kv layer: the memcomparable key encoding (keys.ts), the Percolator commands one by
// one with their edge cases (txn.ts), and properties of whole schedules in which several
// transactions, snapshot readers, coordinator crashes, late prewrite requests and clock moves
// interleave one store command at a time over a small key space (the model in model.ts).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KeyDecodeError,
  MAX_TS,
  RecordTag,
  decodeKey,
  encodeKey,
  encodedLength,
  keyRecordsEnd,
  parseKey,
  recordKey,
  userRange,
} from '../../src/kv/keys.js';
import { composeTs, decodeLock, decodeWrite, encodeLock, encodeWrite, type Lock, type LockKind } from '../../src/kv/records.js';
import { MvccWriter, checkTxnStatus, commit, heartbeat, prewrite, type KeyError, type PrewriteParams } from '../../src/kv/txn.js';
import {
  ModelStore,
  bytes,
  compareBytes,
  expectedValue,
  parseValue,
  runScenario,
  text,
  type Action,
  type History,
  type Scenario,
  type TxnOp,
} from './model.js';

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// ---- keys.ts -----------------------------------------------------------------------------------

/** Byte strings biased towards the cases that matter: group boundaries, zero bytes, 0xff bytes. */
const userKeyArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 20 }),
  fc.array(fc.constantFrom(0x00, 0x01, 0x61, 0xf7, 0xff), { maxLength: 18 }).map((a) => Uint8Array.from(a)),
);
const tsArb = fc.bigInt({ min: 0n, max: MAX_TS });
const TAGS = [RecordTag.Raw, RecordTag.Lock, RecordTag.Write, RecordTag.Data] as const;

describe('keys: memcomparable encoding', () => {
  it('matches the documented layout', () => {
    expect(hex(encodeKey(bytes('ab')))).toBe('6162000000000000f9');
    expect(hex(encodeKey(new Uint8Array(0)))).toBe('0000000000000000f7');
    expect(hex(encodeKey(bytes('abcdefgh')))).toBe('6162636465666768ff' + '0000000000000000f7');
    expect(encodedLength(0)).toBe(9);
    expect(encodedLength(7)).toBe(9);
    expect(encodedLength(8)).toBe(18);
  });

  it('round-trips and reports where the encoding ends', () => {
    fc.assert(
      fc.property(userKeyArb, fc.uint8Array({ maxLength: 12 }), (key, tail) => {
        const enc = encodeKey(key);
        expect(enc.byteLength).toBe(encodedLength(key.byteLength));
        const withTail = new Uint8Array([...enc, ...tail]);
        const { key: back, next } = decodeKey(withTail);
        expect(hex(back)).toBe(hex(key));
        expect(next).toBe(enc.byteLength);
      }),
      { numRuns: 500 },
    );
  });

  it('preserves bytewise order', () => {
    fc.assert(
      fc.property(userKeyArb, userKeyArb, (a, b) => {
        expect(sign(compareBytes(encodeKey(a), encodeKey(b)))).toBe(sign(compareBytes(a, b)));
      }),
      { numRuns: 1000 },
    );
  });

  it('is prefix-free: no encoding is a proper prefix of another', () => {
    fc.assert(
      fc.property(userKeyArb, userKeyArb, (a, b) => {
        fc.pre(compareBytes(a, b) !== 0);
        const ea = encodeKey(a);
        const eb = encodeKey(b);
        const isPrefix = ea.byteLength <= eb.byteLength && compareBytes(ea, eb.subarray(0, ea.byteLength)) === 0;
        expect(isPrefix).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects malformed encodings', () => {
    expect(() => decodeKey(encodeKey(bytes('ab')).subarray(0, 8))).toThrow(KeyDecodeError);
    const badMarker = encodeKey(bytes('ab'));
    badMarker[8] = 0xf6; // nine padding bytes
    expect(() => decodeKey(badMarker)).toThrow(KeyDecodeError);
    const dirtyPad = encodeKey(bytes('ab'));
    dirtyPad[5] = 1;
    expect(() => decodeKey(dirtyPad)).toThrow(KeyDecodeError);
  });
});

describe('keys: record keys', () => {
  it('parseKey inverts recordKey for every tag', () => {
    fc.assert(
      fc.property(userKeyArb, fc.constantFrom(...TAGS), tsArb, (key, tag, ts) => {
        const versioned = tag === RecordTag.Write || tag === RecordTag.Data;
        const parsed = parseKey(recordKey(key, tag, versioned ? ts : undefined));
        expect(hex(parsed.key)).toBe(hex(key));
        expect(parsed.tag).toBe(tag);
        expect(parsed.ts).toBe(versioned ? ts : undefined);
      }),
      { numRuns: 500 },
    );
    for (const ts of [0n, 1n, MAX_TS]) expect(parseKey(recordKey(bytes('k'), RecordTag.Write, ts)).ts).toBe(ts);
  });

  it('parseKey rejects what recordKey never produces', () => {
    const good = recordKey(bytes('k'), RecordTag.Write, 5n);
    expect(() => parseKey(Uint8Array.of(0x21, ...good.subarray(1)))).toThrow(KeyDecodeError);
    expect(() => parseKey(good.subarray(0, 10))).toThrow(KeyDecodeError); // no tag
    expect(() => parseKey(good.subarray(0, good.byteLength - 1))).toThrow(KeyDecodeError); // short ts
    expect(() => parseKey(new Uint8Array([...recordKey(bytes('k'), RecordTag.Lock, undefined), 0]))).toThrow(KeyDecodeError);
    expect(() => parseKey(keyRecordsEnd(bytes('k')))).toThrow(KeyDecodeError);
    expect(() => recordKey(bytes('k'), RecordTag.Write, -1n)).toThrow(RangeError);
    expect(() => recordKey(bytes('k'), RecordTag.Write, MAX_TS + 1n)).toThrow(RangeError);
  });

  it("orders one key's records raw, lock, writes newest first, data newest first", () => {
    fc.assert(
      fc.property(userKeyArb, tsArb, tsArb, (key, t1, t2) => {
        fc.pre(t1 !== t2);
        const [newer, older] = t1 > t2 ? [t1, t2] : [t2, t1];
        const order = [
          recordKey(key, RecordTag.Raw, undefined),
          recordKey(key, RecordTag.Lock, undefined),
          recordKey(key, RecordTag.Write, newer),
          recordKey(key, RecordTag.Write, older),
          recordKey(key, RecordTag.Data, newer),
          recordKey(key, RecordTag.Data, older),
          keyRecordsEnd(key),
        ];
        for (let i = 1; i < order.length; i++) expect(compareBytes(order[i - 1]!, order[i]!)).toBeLessThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it('every record of k lies in userRange(s, e) iff s <= k < e (empty e: no bound)', () => {
    const endArb = fc.oneof({ arbitrary: userKeyArb, weight: 3 }, { arbitrary: fc.constant(new Uint8Array(0)), weight: 1 });
    fc.assert(
      fc.property(userKeyArb, userKeyArb, endArb, fc.constantFrom(...TAGS), tsArb, (k, s, e, tag, ts) => {
        const { gte, lt } = userRange(s, e);
        const versioned = tag === RecordTag.Write || tag === RecordTag.Data;
        const rk = recordKey(k, tag, versioned ? ts : undefined);
        const inside = compareBytes(gte, rk) <= 0 && compareBytes(rk, lt) < 0;
        const expected = compareBytes(s, k) <= 0 && (e.byteLength === 0 || compareBytes(k, e) < 0);
        expect(inside).toBe(expected);
        // The range's end also lies past every record of every key below e.
        expect(compareBytes(keyRecordsEnd(k), lt) <= 0).toBe(e.byteLength === 0 || compareBytes(k, e) < 0);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('records: lock and write values', () => {
  it('round-trip', () => {
    const kinds: LockKind[] = ['put', 'delete', 'lock'];
    fc.assert(
      fc.property(
        userKeyArb,
        fc.constantFrom(...kinds),
        tsArb,
        tsArb,
        fc.nat({ max: 0xffff_ffff }),
        fc.nat({ max: 0xffff_ffff }),
        (primary, kind, startTs, minCommitTs, ttlMs, txnSize) => {
          const lock: Lock = { primary, kind, startTs, minCommitTs, ttlMs, txnSize };
          const back = decodeLock(encodeLock(lock));
          expect({ ...back, primary: hex(back.primary) }).toEqual({ ...lock, primary: hex(primary) });
          for (const wk of ['put', 'delete', 'lock', 'rollback'] as const) expect(decodeWrite(encodeWrite({ kind: wk, startTs }))).toEqual({ kind: wk, startTs });
        },
      ),
      { numRuns: 200 },
    );
  });
});

// ---- the commands one by one -------------------------------------------------------------------

const T0 = 1_000_000;
/** Timestamps within one millisecond, ordered by n. */
const at = (n: number): bigint => composeTs(T0, n);
const TTL = 100;

function params(primary: string, startTs: bigint, over: Partial<PrewriteParams> = {}): PrewriteParams {
  return { primary: bytes(primary), startTs, ttlMs: TTL, txnSize: 1, minCommitTs: startTs + 1n, ...over };
}

/** Prewrites and commits one key; every step must succeed. */
async function commitOne(store: ModelStore, key: string, op: 'put' | 'delete' | 'lock', startTs: bigint, commitTs: bigint, value = `v@${startTs}`): Promise<void> {
  expect(await store.prewrite({ op, key: bytes(key), value: bytes(value) }, params(key, startTs))).toBeUndefined();
  expect(await store.commit(bytes(key), startTs, commitTs)).toBeUndefined();
}

async function readValue(store: ModelStore, key: string, ts: bigint, committed?: ReadonlySet<bigint>): Promise<string | undefined> {
  const r = await store.getAt(bytes(key), ts, committed);
  if (!('value' in r)) throw new Error(`read of ${key} at ${ts} met ${r.error.kind}`);
  return r.value === undefined ? undefined : text(r.value);
}

function kindOf(e: KeyError | undefined): string | undefined {
  return e?.kind;
}

function recordsOf(store: ModelStore, key: string): string[] {
  return store.engine
    .records()
    .filter((r) => text(r.key) === key)
    .map((r) => {
      const tag = ['raw', 'lock', 'write', 'data'][r.tag]!;
      if (r.tag === RecordTag.Write) {
        const w = decodeWrite(r.value);
        return `write@${r.ts}:${w.kind}/${w.startTs}`;
      }
      if (r.tag === RecordTag.Lock) return `lock:${decodeLock(r.value).startTs}`;
      return r.ts === undefined ? tag : `${tag}@${r.ts}`;
    });
}

describe('prewrite', () => {
  it('is idempotent: a retry finds its own lock and writes nothing', async () => {
    const store = new ModelStore();
    const m = { op: 'put', key: bytes('k'), value: bytes('v') } as const;
    expect(await store.prewrite(m, params('k', at(1)))).toBeUndefined();
    const before = store.engine.entries();
    const w = new MvccWriter();
    expect(await prewrite(store.engine, w, m, params('k', at(1)))).toBeUndefined();
    expect(w.modifies).toEqual([]);
    expect(store.engine.entries()).toEqual(before);
    expect(recordsOf(store, 'k')).toEqual([`lock:${at(1)}`, `data@${at(1)}`]);
  });

  it("meets another transaction's lock: locked, with that lock", async () => {
    const store = new ModelStore();
    await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('a') }, params('p', at(1)));
    const err = await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('b') }, params('k', at(2)));
    expect(err?.kind).toBe('locked');
    if (err?.kind === 'locked') {
      expect(err.lock.startTs).toBe(at(1));
      expect(text(err.lock.primary)).toBe('p');
    }
    // A lock of an older transaction stops an older one too.
    expect(kindOf(await store.prewrite({ op: 'delete', key: bytes('k') }, params('k', at(0))))).toBe('locked');
  });

  it('after a newer commit: writeConflict naming the winner', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'put', at(5), at(7));
    const err = await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('x') }, params('k', at(6)));
    expect(err).toMatchObject({ kind: 'writeConflict', startTs: at(6), conflictStartTs: at(5), conflictCommitTs: at(7) });
    // A lock-only commit conflicts as well; a commit before start_ts does not.
    await commitOne(store, 'j', 'lock', at(10), at(12));
    expect(kindOf(await store.prewrite({ op: 'put', key: bytes('j'), value: bytes('x') }, params('j', at(11))))).toBe('writeConflict');
    expect(await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('x') }, params('k', at(8)))).toBeUndefined();
  });

  it('after its own rollback: refused, and nothing is written', async () => {
    const store = new ModelStore();
    await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('v') }, params('k', at(3)));
    expect(await store.rollback(bytes('k'), at(3))).toBeUndefined();
    const before = store.engine.entries();
    expect(kindOf(await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('v') }, params('k', at(3))))).toBe('writeConflict');
    expect(store.engine.entries()).toEqual(before);
    expect(recordsOf(store, 'k')).toEqual([`write@${at(3)}:rollback/${at(3)}`]);
  });

  it('retried after its own commit: committed, with the commit ts, and nothing is written', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'put', at(1), at(2));
    const before = store.engine.entries();
    expect(await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('again') }, params('k', at(1)))).toMatchObject({ kind: 'committed', commitTs: at(2) });
    expect(store.engine.entries()).toEqual(before);
  });

  it('insert: alreadyExists on a visible value, allowed on an absent or deleted key', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'put', at(1), at(2));
    expect(kindOf(await store.prewrite({ op: 'insert', key: bytes('k'), value: bytes('x') }, params('k', at(3))))).toBe('alreadyExists');
    expect(store.lockOf(bytes('k'))).toBeUndefined();
    // A lock-only commit on top keeps the value: still exists.
    await commitOne(store, 'k', 'lock', at(4), at(5));
    expect(kindOf(await store.prewrite({ op: 'insert', key: bytes('k'), value: bytes('x') }, params('k', at(6))))).toBe('alreadyExists');
    await commitOne(store, 'k', 'delete', at(7), at(8));
    expect(await store.prewrite({ op: 'insert', key: bytes('k'), value: bytes('x') }, params('k', at(9)))).toBeUndefined();
    expect(store.lockOf(bytes('k'))?.kind).toBe('put');
    expect(await store.prewrite({ op: 'insert', key: bytes('n'), value: bytes('x') }, params('n', at(10)))).toBeUndefined();
  });

  it('writes a lock (with the params) and data only for puts', async () => {
    const store = new ModelStore();
    await store.prewrite({ op: 'put', key: bytes('a'), value: bytes('v') }, params('p', at(1), { ttlMs: 7, txnSize: 3, minCommitTs: at(4) }));
    await store.prewrite({ op: 'delete', key: bytes('b') }, params('p', at(1)));
    await store.prewrite({ op: 'lock', key: bytes('c') }, params('p', at(1)));
    expect(store.lockOf(bytes('a'))).toMatchObject({ kind: 'put', startTs: at(1), ttlMs: 7, txnSize: 3, minCommitTs: at(4) });
    expect(recordsOf(store, 'a')).toEqual([`lock:${at(1)}`, `data@${at(1)}`]);
    expect(recordsOf(store, 'b')).toEqual([`lock:${at(1)}`]);
    expect(recordsOf(store, 'c')).toEqual([`lock:${at(1)}`]);
  });
});

describe('commit', () => {
  it('turns the lock into a write record, and is idempotent', async () => {
    const store = new ModelStore();
    await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('v') }, params('k', at(1)));
    expect(await store.commit(bytes('k'), at(1), at(2))).toBeUndefined();
    const after = store.engine.entries();
    expect(recordsOf(store, 'k')).toEqual([`write@${at(2)}:put/${at(1)}`, `data@${at(1)}`]);
    const w = new MvccWriter();
    expect(await commit(store.engine, w, bytes('k'), at(1), at(2))).toBeUndefined();
    expect(w.modifies).toEqual([]);
    expect(store.engine.entries()).toEqual(after);
  });

  it('after a rollback: txnLockNotFound; with nothing at all: txnLockNotFound', async () => {
    const store = new ModelStore();
    await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('v') }, params('k', at(1)));
    await store.rollback(bytes('k'), at(1));
    expect(kindOf(await store.commit(bytes('k'), at(1), at(2)))).toBe('txnLockNotFound');
    expect(kindOf(await store.commit(bytes('never'), at(1), at(2)))).toBe('txnLockNotFound');
    expect(recordsOf(store, 'k')).toEqual([`write@${at(1)}:rollback/${at(1)}`]);
  });

  it("another transaction's lock on the key is not this transaction's: txnLockNotFound", async () => {
    const store = new ModelStore();
    await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('v') }, params('k', at(2)));
    expect(kindOf(await store.commit(bytes('k'), at(1), at(3)))).toBe('txnLockNotFound');
    expect(store.lockOf(bytes('k'))?.startTs).toBe(at(2));
  });

  it('below min_commit_ts: commitTsExpired, and the lock stays', async () => {
    const store = new ModelStore();
    await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('v') }, params('k', at(1), { minCommitTs: at(10) }));
    expect(await store.commit(bytes('k'), at(1), at(9))).toMatchObject({ kind: 'commitTsExpired', commitTs: at(9), minCommitTs: at(10) });
    expect(store.lockOf(bytes('k'))?.startTs).toBe(at(1));
    expect(await store.commit(bytes('k'), at(1), at(10))).toBeUndefined();
  });

  it('commits the kind of the lock (delete, lock)', async () => {
    const store = new ModelStore();
    await commitOne(store, 'd', 'delete', at(1), at(2));
    await commitOne(store, 'l', 'lock', at(1), at(2));
    expect(recordsOf(store, 'd')).toEqual([`write@${at(2)}:delete/${at(1)}`]);
    expect(recordsOf(store, 'l')).toEqual([`write@${at(2)}:lock/${at(1)}`]);
  });
});

describe('rollback', () => {
  it('removes lock and data and leaves a rollback record; idempotent', async () => {
    const store = new ModelStore();
    await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('v') }, params('k', at(1)));
    expect(await store.rollback(bytes('k'), at(1))).toBeUndefined();
    expect(recordsOf(store, 'k')).toEqual([`write@${at(1)}:rollback/${at(1)}`]);
    expect(await store.rollback(bytes('k'), at(1))).toBeUndefined();
    expect(recordsOf(store, 'k')).toEqual([`write@${at(1)}:rollback/${at(1)}`]);
  });

  it('of a committed transaction: committed, with its commit ts, and nothing changes', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'put', at(1), at(3));
    const before = store.engine.entries();
    expect(await store.rollback(bytes('k'), at(1))).toMatchObject({ kind: 'committed', startTs: at(1), commitTs: at(3) });
    expect(store.engine.entries()).toEqual(before);
  });

  it('with no lock yet leaves a rollback record that refuses a late prewrite', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'put', at(1), at(2));
    expect(await store.rollback(bytes('k'), at(5))).toBeUndefined();
    expect(recordsOf(store, 'k')).toContain(`write@${at(5)}:rollback/${at(5)}`);
    expect(kindOf(await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('late') }, params('k', at(5))))).toBe('writeConflict');
    expect(store.lockOf(bytes('k'))).toBeUndefined();
    // The rollback record hides nothing from readers.
    expect(await readValue(store, 'k', at(9))).toBe(`v@${at(1)}`);
  });

  it("leaves another transaction's lock alone", async () => {
    const store = new ModelStore();
    await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('v') }, params('k', at(2)));
    expect(await store.rollback(bytes('k'), at(1))).toBeUndefined();
    expect(store.lockOf(bytes('k'))?.startTs).toBe(at(2));
    expect(recordsOf(store, 'k')).toEqual([`lock:${at(2)}`, `write@${at(1)}:rollback/${at(1)}`, `data@${at(2)}`]);
  });
});

describe('checkTxnStatus', () => {
  const start = composeTs(T0, 1);
  async function locked(): Promise<ModelStore> {
    const store = new ModelStore();
    await store.prewrite({ op: 'put', key: bytes('p'), value: bytes('v') }, params('p', start));
    return store;
  }

  it('live lock: locked, nothing written (the TTL runs to start + ttl inclusive)', async () => {
    const store = await locked();
    const w = new MvccWriter();
    const status = await checkTxnStatus(store.engine, w, bytes('p'), start, composeTs(T0 + TTL, 9));
    expect(status.kind).toBe('locked');
    expect(w.modifies).toEqual([]);
  });

  it('expired lock: rolled back now (ttlExpired); the owner can no longer commit', async () => {
    const store = await locked();
    expect(await store.checkTxnStatus(bytes('p'), start, composeTs(T0 + TTL + 1, 0))).toEqual({ kind: 'rolledBack', reason: 'ttlExpired' });
    expect(recordsOf(store, 'p')).toEqual([`write@${start}:rollback/${start}`]);
    expect(kindOf(await store.commit(bytes('p'), start, composeTs(T0 + TTL + 2, 0)))).toBe('txnLockNotFound');
    expect(await store.checkTxnStatus(bytes('p'), start, composeTs(T0 + TTL + 3, 0))).toEqual({ kind: 'rolledBack', reason: 'earlier' });
  });

  it('committed: its commit ts, whatever the clock', async () => {
    const store = await locked();
    await store.commit(bytes('p'), start, composeTs(T0, 5));
    expect(await store.checkTxnStatus(bytes('p'), start, composeTs(T0 + 10 * TTL, 0))).toEqual({ kind: 'committed', commitTs: composeTs(T0, 5) });
  });

  it('missing lock: rolled back (lockNotExist) with a record so the primary can never be prewritten', async () => {
    const store = new ModelStore();
    expect(await store.checkTxnStatus(bytes('p'), start, composeTs(T0, 2))).toEqual({ kind: 'rolledBack', reason: 'lockNotExist' });
    expect(recordsOf(store, 'p')).toEqual([`write@${start}:rollback/${start}`]);
    expect(kindOf(await store.prewrite({ op: 'put', key: bytes('p'), value: bytes('v') }, params('p', start)))).toBe('writeConflict');
    expect(await store.checkTxnStatus(bytes('p'), start, composeTs(T0, 3))).toEqual({ kind: 'rolledBack', reason: 'earlier' });
  });

  it('a reader (callerStartTs) pushes a live lock past its ts; the owner must then commit above it', async () => {
    const store = await locked();
    const readerTs = composeTs(T0 + 1, 4);
    const status = await store.checkTxnStatus(bytes('p'), start, composeTs(T0 + 2, 0), readerTs);
    expect(status.kind === 'locked' && status.lock.minCommitTs).toBe(readerTs + 1n);
    expect(store.lockOf(bytes('p'))?.minCommitTs).toBe(readerTs + 1n);
    // Pushed already: asking again writes nothing.
    const w = new MvccWriter();
    expect(await checkTxnStatus(store.engine, w, bytes('p'), start, composeTs(T0 + 2, 1), readerTs)).toMatchObject({ kind: 'locked' });
    expect(w.modifies).toEqual([]);
    expect(kindOf(await store.commit(bytes('p'), start, readerTs))).toBe('commitTsExpired');
    expect(await store.commit(bytes('p'), start, readerTs + 1n)).toBeUndefined();
    expect(await readValue(store, 'p', readerTs)).toBeUndefined();
  });

  it('writers (callerStartTs 0) do not push', async () => {
    const store = await locked();
    const w = new MvccWriter();
    expect(await checkTxnStatus(store.engine, w, bytes('p'), start, composeTs(T0 + 2, 0))).toMatchObject({ kind: 'locked', lock: { minCommitTs: start + 1n } });
    expect(w.modifies).toEqual([]);
  });

  it('a lock-only primary is pushed too (the reader met one of the transaction\'s writes elsewhere)', async () => {
    const store = await locked();
    await store.prewrite({ op: 'lock', key: bytes('q') }, params('q', start));
    const readerTs = composeTs(T0 + 1, 0);
    const status = await store.checkTxnStatus(bytes('q'), start, composeTs(T0 + 2, 0), readerTs);
    expect(status).toMatchObject({ kind: 'locked', lock: { minCommitTs: readerTs + 1n } });
    expect(store.lockOf(bytes('q'))?.minCommitTs).toBe(readerTs + 1n);
  });

  it("another transaction's lock on the primary is not this one's", async () => {
    const store = await locked();
    expect(await store.checkTxnStatus(bytes('p'), composeTs(T0, 0), composeTs(T0, 2))).toEqual({ kind: 'rolledBack', reason: 'lockNotExist' });
    expect(store.lockOf(bytes('p'))?.startTs).toBe(start);
  });
});

describe('heartbeat', () => {
  const start = composeTs(T0, 1);

  it('extends the TTL but never shortens it', async () => {
    const store = new ModelStore();
    await store.prewrite({ op: 'put', key: bytes('p'), value: bytes('v') }, params('p', start));
    expect(await store.heartbeat(bytes('p'), start, 300)).toEqual({ ttlMs: 300 });
    expect(store.lockOf(bytes('p'))?.ttlMs).toBe(300);
    const w = new MvccWriter();
    expect(await heartbeat(store.engine, w, bytes('p'), start, 50)).toEqual({ ttlMs: 300 });
    expect(w.modifies).toEqual([]);
    expect(store.lockOf(bytes('p'))).toMatchObject({ ttlMs: 300, kind: 'put', startTs: start });
    // Alive past the original TTL, expired past the extended one.
    expect((await store.checkTxnStatus(bytes('p'), start, composeTs(T0 + 200, 0))).kind).toBe('locked');
    expect((await store.checkTxnStatus(bytes('p'), start, composeTs(T0 + 301, 0))).kind).toBe('rolledBack');
  });

  it('without the lock: txnNotFound', async () => {
    const store = new ModelStore();
    expect(kindOf((await store.heartbeat(bytes('p'), start, 300)) as KeyError)).toBe('txnNotFound');
    await store.prewrite({ op: 'put', key: bytes('p'), value: bytes('v') }, params('p', composeTs(T0, 2)));
    expect(kindOf((await store.heartbeat(bytes('p'), start, 300)) as KeyError)).toBe('txnNotFound');
  });
});

describe('resolveKey', () => {
  it('commits, rolls back, and leaves a rollback record where there was no lock', async () => {
    const store = new ModelStore();
    await store.prewrite({ op: 'put', key: bytes('a'), value: bytes('v') }, params('a', at(1)));
    await store.prewrite({ op: 'put', key: bytes('b'), value: bytes('v') }, params('a', at(1)));
    expect(await store.resolveKey(bytes('a'), at(1), at(3))).toBeUndefined();
    expect(await store.resolveKey(bytes('a'), at(1), at(3))).toBeUndefined();
    expect(recordsOf(store, 'a')).toEqual([`write@${at(3)}:put/${at(1)}`, `data@${at(1)}`]);
    expect(await store.resolveKey(bytes('b'), at(2), 0n)).toBeUndefined(); // not its lock
    expect(store.lockOf(bytes('b'))?.startTs).toBe(at(1));
    expect(await store.resolveKey(bytes('b'), at(1), 0n)).toBeUndefined();
    expect(recordsOf(store, 'b')).toEqual([`write@${at(2)}:rollback/${at(2)}`, `write@${at(1)}:rollback/${at(1)}`]);
    // Rolling back a committed key is refused.
    expect(kindOf(await store.resolveKey(bytes('a'), at(1), 0n))).toBe('committed');
  });
});

describe('getAt', () => {
  async function history(): Promise<ModelStore> {
    const store = new ModelStore();
    await commitOne(store, 'k', 'put', at(10), at(20), 'v1');
    await commitOne(store, 'k', 'put', at(30), at(40), 'v2');
    await commitOne(store, 'k', 'delete', at(50), at(60));
    await commitOne(store, 'k', 'put', at(70), at(80), 'v3');
    return store;
  }

  it('sees exactly the commits at or before ts', async () => {
    const store = await history();
    const cases: Array<[number, string | undefined]> = [
      [0, undefined], [19, undefined], [20, 'v1'], [39, 'v1'], [40, 'v2'], [59, 'v2'], [60, undefined], [79, undefined], [80, 'v3'], [500, 'v3'],
    ];
    for (const [n, want] of cases) expect(await readValue(store, 'k', at(n)), `ts ${n}`).toBe(want);
    expect(await readValue(store, 'k', MAX_TS)).toBe('v3');
    expect(await readValue(store, 'other', MAX_TS)).toBeUndefined();
  });

  it('stops at a put or delete lock that may commit at or before ts', async () => {
    const store = await history();
    await store.prewrite({ op: 'delete', key: bytes('k') }, params('p', at(90)));
    for (const n of [90, 91, 1000]) {
      const r = await store.getAt(bytes('k'), at(n));
      expect('error' in r && r.error.kind === 'locked' && r.error.lock.startTs === at(90)).toBe(true);
    }
    // Not for a reader before the lock's start, nor one that knows the transaction's fate.
    expect(await readValue(store, 'k', at(89))).toBe('v3');
    expect(await readValue(store, 'k', at(95), new Set([at(90)]))).toBe('v3');
  });

  it('ignores lock-kind locks, and lock and rollback write records (even many of them)', async () => {
    const store = await history();
    await store.prewrite({ op: 'lock', key: bytes('k') }, params('k', at(100)));
    expect(await readValue(store, 'k', at(101))).toBe('v3');
    await store.commit(bytes('k'), at(100), at(101));
    for (let i = 0; i < 20; i++) {
      await commitOne(store, 'k', 'lock', at(200 + 3 * i), at(201 + 3 * i));
      await store.rollback(bytes('k'), at(202 + 3 * i));
    }
    expect(store.writesOf(bytes('k')).length).toBeGreaterThan(40);
    expect(await readValue(store, 'k', at(1000))).toBe('v3');
    expect(await readValue(store, 'k', at(65))).toBeUndefined();
  });
});

describe('scanAt', () => {
  const keyName = (i: number): string => `k${String(i).padStart(3, '0')}`;
  /** 300 keys: every one put, every 5th overwritten later, every 3rd deleted after that. */
  async function many(): Promise<ModelStore> {
    const store = new ModelStore();
    for (let i = 0; i < 300; i++) await commitOne(store, keyName(i), 'put', at(10), at(11), `a${i}`);
    for (let i = 0; i < 300; i += 5) await commitOne(store, keyName(i), 'put', at(20), at(21), `b${i}`);
    for (let i = 0; i < 300; i += 3) await commitOne(store, keyName(i), 'delete', at(30), at(31));
    return store;
  }
  async function perKey(store: ModelStore, ts: bigint, from = 0, to = 300): Promise<Array<[string, string]>> {
    const out: Array<[string, string]> = [];
    for (let i = from; i < to; i++) {
      const v = await readValue(store, keyName(i), ts);
      if (v !== undefined) out.push([keyName(i), v]);
    }
    return out;
  }
  const pairsOf = (r: { pairs: Array<{ key: Uint8Array; value: Uint8Array }> }): Array<[string, string]> => r.pairs.map((p) => [text(p.key), text(p.value)]);

  it('returns the empty key like any other (it starts the key space)', async () => {
    const store = new ModelStore();
    const empty = new Uint8Array(0);
    expect(await store.prewrite({ op: 'put', key: empty, value: bytes('v') }, { primary: empty, startTs: at(1), ttlMs: 1, txnSize: 1, minCommitTs: 0n })).toBeUndefined();
    expect(await store.commit(empty, at(1), at(2))).toBeUndefined();
    const r = await store.scanAt(empty, empty, at(3), 10, false);
    expect(r.pairs.map((p) => [p.key, text(p.value)])).toEqual([[empty, 'v']]);
  });

  it('across many keys and engine pages agrees with point reads at every ts', async () => {
    const store = await many();
    expect(store.engine.size).toBeGreaterThan(256);
    for (const n of [5, 11, 25, 31, 40]) {
      const r = await store.scanAt(new Uint8Array(0), new Uint8Array(0), at(n), 10_000, false);
      expect(r.more).toBe(false);
      expect(r.locks).toEqual([]);
      expect(pairsOf(r)).toEqual(await perKey(store, at(n)));
    }
  });

  it('honours [start, end), limits (continuing after the last key) and keyOnly', async () => {
    const store = await many();
    const ts = at(40);
    const bounded = await store.scanAt(bytes(keyName(50)), bytes(keyName(120)), ts, 10_000, false);
    expect(pairsOf(bounded)).toEqual(await perKey(store, ts, 50, 120));
    const paged: Array<[string, string]> = [];
    let from = bytes(keyName(0));
    for (;;) {
      const page = await store.scanAt(from, new Uint8Array(0), ts, 7, false);
      expect(page.pairs.length).toBeLessThanOrEqual(7);
      paged.push(...pairsOf(page));
      if (!page.more) break;
      expect(page.pairs.length).toBe(7);
      from = new Uint8Array([...page.pairs[6]!.key, 0]);
    }
    expect(paged).toEqual(await perKey(store, ts));
    const keysOnly = await store.scanAt(new Uint8Array(0), new Uint8Array(0), ts, 10_000, true);
    expect(keysOnly.pairs.map((p) => text(p.key))).toEqual(paged.map(([k]) => k));
    expect(keysOnly.pairs.every((p) => p.value.byteLength === 0)).toBe(true);
    const limitedKeys = await store.scanAt(new Uint8Array(0), new Uint8Array(0), ts, 3, true);
    expect(limitedKeys.pairs.map((p) => text(p.key))).toEqual(paged.slice(0, 3).map(([k]) => k));
    expect(limitedKeys.more).toBe(true);
  });

  it('stops at the first blocking lock with the keys before it; steps over the others', async () => {
    const store = await many();
    const full = await perKey(store, at(55));
    await store.prewrite({ op: 'put', key: bytes(keyName(151)), value: bytes('x') }, params('p', at(50)));
    await store.prewrite({ op: 'lock', key: bytes(keyName(101)) }, params('p', at(50)));
    await store.prewrite({ op: 'delete', key: bytes(keyName(52)) }, params('p', at(60)));
    const r = await store.scanAt(new Uint8Array(0), new Uint8Array(0), at(55), 10_000, false);
    expect(r.more).toBe(true);
    expect(r.locks.map((l) => [text(l.key), l.lock.startTs])).toEqual([[keyName(151), at(50)]]);
    expect(pairsOf(r)).toEqual(full.filter(([k]) => k < keyName(151)));
    // Knowing the transaction's fate, the reader walks on; the lock at 60 is after its ts.
    const past = await store.scanAt(new Uint8Array(0), new Uint8Array(0), at(55), 10_000, false, new Set([at(50)]));
    expect(pairsOf(past)).toEqual(full);
    expect(past.more).toBe(false);
    // A reader at 60 stops at the delete lock first.
    const later = await store.scanAt(new Uint8Array(0), new Uint8Array(0), at(60), 10_000, false);
    expect(later.locks.map((l) => text(l.key))).toEqual([keyName(52)]);
  });

  it('agrees with point reads on random histories (property)', async () => {
    type Op = { key: number; kind: 'put' | 'delete' | 'lock' | 'rollback' | 'prewrite' };
    const opArb: fc.Arbitrary<Op> = fc.record({ key: fc.nat({ max: 11 }), kind: fc.constantFrom('put', 'put', 'delete', 'lock', 'rollback', 'prewrite') });
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), fc.nat(), fc.integer({ min: 1, max: 5 }), fc.nat({ max: 11 }), fc.nat({ max: 12 }), async (ops, readAt, limit, s, e) => {
        const store = new ModelStore();
        const name = (i: number): string => 'k'.repeat(1 + (i % 3)) + String.fromCharCode(97 + i); // shared prefixes
        let n = 1;
        for (const op of ops) {
          const key = name(op.key);
          const startTs = at(n);
          n += 2;
          if (store.lockOf(bytes(key)) !== undefined) continue;
          if (op.kind === 'rollback') await store.rollback(bytes(key), startTs);
          else if (op.kind === 'prewrite') await store.prewrite({ op: 'put', key: bytes(key), value: bytes(`p${startTs}`) }, params(key, startTs));
          else await commitOne(store, key, op.kind, startTs, startTs + 1n);
        }
        const ts = at(readAt % (n + 2));
        const names = Array.from({ length: 12 }, (_, i) => name(i)).sort();
        const start = names[s]!;
        const end = e >= names.length ? '' : names[e]!;
        const expected: Array<[string, string]> = [];
        let blockedAt: string | undefined;
        for (const key of names) {
          if (key < start || (end !== '' && key >= end)) continue;
          const r = await store.getAt(bytes(key), ts);
          if (!('value' in r)) {
            blockedAt = key;
            break;
          }
          if (r.value !== undefined) expected.push([key, text(r.value)]);
        }
        const got: Array<[string, string]> = [];
        let from = bytes(start);
        let lockKey: string | undefined;
        for (;;) {
          const page = await store.scanAt(from, bytes(end), ts, limit, false);
          got.push(...pairsOf(page));
          if (page.locks.length > 0) {
            lockKey = text(page.locks[0]!.key);
            break;
          }
          if (!page.more) break;
          from = new Uint8Array([...page.pairs[page.pairs.length - 1]!.key, 0]);
        }
        expect(lockKey).toBe(blockedAt);
        expect(got).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe('gcKey', () => {
  it('keeps the newest put at or below the safe point and everything newer', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'put', at(10), at(11), 'v1');
    await store.rollback(bytes('k'), at(12));
    await commitOne(store, 'k', 'put', at(20), at(21), 'v2');
    await commitOne(store, 'k', 'delete', at(30), at(31));
    await commitOne(store, 'k', 'put', at(40), at(41), 'v3');
    await commitOne(store, 'k', 'lock', at(42), at(43));
    await commitOne(store, 'k', 'put', at(50), at(51), 'v4');
    await store.prewrite({ op: 'put', key: bytes('k'), value: bytes('v5') }, params('k', at(60)));
    const removed = await store.gcKey(bytes('k'), at(45));
    expect(removed).toBe(5); // the lock write at 43, v3 kept, the delete at 31, v2, the rollback, v1
    expect(recordsOf(store, 'k')).toEqual([
      `lock:${at(60)}`,
      `write@${at(51)}:put/${at(50)}`,
      `write@${at(41)}:put/${at(40)}`,
      `data@${at(60)}`,
      `data@${at(50)}`,
      `data@${at(40)}`,
    ]);
    expect(await readValue(store, 'k', at(45))).toBe('v3');
    expect(await readValue(store, 'k', at(51))).toBe('v4');
  });

  it('removes a delete marker at or below the safe point with everything older', async () => {
    const store = new ModelStore();
    await commitOne(store, 'k', 'put', at(10), at(11), 'v1');
    await commitOne(store, 'k', 'delete', at(20), at(21));
    await commitOne(store, 'k', 'put', at(30), at(31), 'v2');
    expect(await store.gcKey(bytes('k'), at(25))).toBe(2);
    expect(recordsOf(store, 'k')).toEqual([`write@${at(31)}:put/${at(30)}`, `data@${at(30)}`]);
    expect(await store.gcKey(bytes('k'), at(25))).toBe(0);
    expect(await readValue(store, 'k', at(25))).toBeUndefined();
  });

  it('reads at or after the safe point are the same before and after (property)', async () => {
    const kinds = ['put', 'put', 'delete', 'lock', 'rollback'] as const;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ key: fc.nat({ max: 2 }), kind: fc.constantFrom(...kinds) }), { maxLength: 30 }), fc.nat(), async (ops, sp) => {
        const store = new ModelStore();
        const keys = ['a', 'b', 'c'];
        let n = 1;
        for (const op of ops) {
          const key = keys[op.key]!;
          if (op.kind === 'rollback') await store.rollback(bytes(key), at(n));
          else await commitOne(store, key, op.kind, at(n), at(n + 1));
          n += 2;
        }
        const safePoint = at(sp % (n + 1));
        const readTs = [safePoint, ...Array.from({ length: n + 2 }, (_, i) => at(i)).filter((t) => t > safePoint), MAX_TS];
        const snapshot = async (): Promise<Array<string | undefined>> => {
          const out: Array<string | undefined> = [];
          for (const t of readTs) for (const key of keys) out.push(await readValue(store, key, t));
          return out;
        };
        const before = await snapshot();
        const beforeWrites = keys.map((k) => store.writesOf(bytes(k)).length);
        let removed = 0;
        for (const key of keys) removed += await store.gcKey(bytes(key), safePoint);
        expect(await snapshot()).toEqual(before);
        expect(keys.reduce((sum, k, i) => sum + beforeWrites[i]! - store.writesOf(bytes(k)).length, 0)).toBe(removed);
        for (const key of keys) {
          // At most one version at or below the safe point, a put; every data record belongs to a put.
          const writes = store.writesOf(bytes(key));
          const old = writes.filter((w) => w.commitTs <= safePoint);
          expect(old.length).toBeLessThanOrEqual(1);
          if (old[0] !== undefined) expect(old[0].write.kind).toBe('put');
          const puts = new Set(writes.filter((w) => w.write.kind === 'put').map((w) => w.write.startTs));
          const data = store.engine.records().filter((r) => r.tag === RecordTag.Data && text(r.key) === key);
          expect(data.map((d) => d.ts).sort()).toEqual([...puts].sort());
        }
      }),
      { numRuns: 300 },
    );
  });
});

// ---- interleaved transactions on one store -----------------------------------------------------

/** Mixed workload: keys with shared prefixes, a zero byte and one longer than an encoding group. */
const MIXED_KEYS = ['a', 'a\u0000', 'ab', 'b', 'abcdefghi'];
const COUNTERS = ['x', 'y'];

function opArb(keys: readonly string[], counters: boolean): fc.Arbitrary<TxnOp> {
  const key = fc.constantFrom(...keys);
  if (counters) return fc.oneof({ arbitrary: key.map((k) => ({ kind: 'incr', key: k }) as const), weight: 4 }, { arbitrary: key.map((k) => ({ kind: 'get', key: k }) as const), weight: 1 });
  const kinds = [
    ['get', 3],
    ['put', 3],
    ['incr', 2],
    ['delete', 1],
    ['insert', 1],
    ['lock', 1],
  ] as const;
  return fc.oneof(...kinds.map(([kind, weight]) => ({ arbitrary: key.map((k) => ({ kind, key: k }) as TxnOp), weight })));
}

interface Weights {
  step: number;
  crash: number;
  replay: number;
}

function actionArb(w: Weights): fc.Arbitrary<Action> {
  return fc.oneof(
    { arbitrary: fc.constant({ t: 'begin' } as const), weight: 2 },
    { arbitrary: fc.nat({ max: 30 }).map((actor) => ({ t: 'step', actor }) as const), weight: w.step },
    { arbitrary: fc.nat({ max: 30 }).map((actor) => ({ t: 'crash', actor }) as const), weight: w.crash },
    { arbitrary: fc.integer({ min: 0, max: 30 }).map((ms) => ({ t: 'tick', ms }) as const), weight: 2 },
    { arbitrary: fc.constant({ t: 'expire' } as const), weight: 1 },
    { arbitrary: fc.nat({ max: 30 }).map((actor) => ({ t: 'heartbeat', actor }) as const), weight: 1 },
    { arbitrary: fc.tuple(fc.nat({ max: 30 }), fc.nat({ max: 30 })).map(([actor, which]) => ({ t: 'replay', actor, which }) as const), weight: w.replay },
    {
      arbitrary: fc.tuple(fc.option(fc.nat({ max: 1000 }), { nil: undefined, freq: 2 }), fc.constantFrom(0, 0, 1, 2, 3)).map(([reuse, scanLimit]) => ({ t: 'snapshot', reuse, scanLimit }) as const),
      weight: 2,
    },
  );
}

function scenarioArb(kind: 'mixed' | 'counters', w: Weights = { step: 24, crash: 1, replay: 1 }): fc.Arbitrary<Scenario> {
  const keySpace = kind === 'mixed' ? MIXED_KEYS : COUNTERS;
  const program = fc.array(opArb(keySpace, kind === 'counters'), { minLength: 1, maxLength: 4 });
  return fc.record({
    keySpace: fc.constant(keySpace),
    programs: fc.array(program, { minLength: 2, maxLength: 6 }),
    actions: fc.array(actionArb(w), { minLength: 20, maxLength: 160, size: 'medium' }),
    ttlMs: fc.constantFrom(20, 50),
    preload: fc.constantFrom(true, true, false),
    primaryLast: fc.boolean(),
    readersPush: fc.boolean(),
  });
}

const RUNS = 400;

function describeHistory(h: History): string {
  return h.txns
    .map((f) => `txn ${f.actor.id} start ${f.actor.startTs} ${f.actor.outcome}${f.actor.abortReason ? ` (${f.actor.abortReason})` : ''} -> ${f.committed ? `committed at ${f.commitTs}` : 'not committed'}; writes ${JSON.stringify([...f.actor.buffer])}`)
    .join('\n');
}

function fateOf(h: History, txnId: number): History['txns'][number] {
  const f = h.txns.find((t) => t.actor.id === txnId);
  if (f === undefined) throw new Error(`no transaction ${txnId}`);
  return f;
}

async function checkScenarios(arb: fc.Arbitrary<Scenario>, check: (h: History) => void, numRuns = RUNS): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arb, async (scenario) => {
      const h = await runScenario(scenario);
      try {
        check(h);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n${describeHistory(h)}`);
      }
    }),
    { numRuns },
  );
}

/** No dirty reads: a value read was written by a transaction committed at or before the read ts. */
function checkNoDirtyReads(h: History): void {
  for (const o of h.observations) {
    if (o.value === undefined) continue;
    const { txnId } = parseValue(o.value);
    const writer = fateOf(h, txnId);
    const where = `${o.source} read ${JSON.stringify(o.key)} at ${o.ts}: ${o.value}`;
    expect(writer.committed, `${where} from uncommitted transaction ${txnId}`).toBe(true);
    expect(writer.commitTs! <= o.ts, `${where} committed at ${writer.commitTs}, after the read ts`).toBe(true);
    expect(writer.actor.buffer.get(o.key)?.value, `${where} is not what transaction ${txnId} committed`).toBe(o.value);
  }
}

/** Snapshot reads: a read at ts returns the newest committed value at or before ts. */
function checkExactSnapshots(h: History): void {
  for (const o of h.observations) {
    expect(o.value, `${o.source} read ${JSON.stringify(o.key)} at ${o.ts}`).toBe(expectedValue(h.txns, o.key, o.ts));
  }
}

/** Repeatable reads: every read of one key at one ts, wherever in the schedule, agrees. */
function checkRepeatable(h: History): void {
  const seen = new Map<string, { value: string | undefined; source: string }>();
  for (const o of h.observations) {
    const id = `${o.ts}/${o.key}`;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, { value: o.value, source: o.source });
    else expect(o.value, `${JSON.stringify(o.key)} at ${o.ts}: ${first.source} read ${first.value}, ${o.source} read ${o.value}`).toBe(first.value);
  }
}

/** Counters: each ends at the number of increments of the transactions that committed. */
function checkCounters(h: History): void {
  const last = h.timestamps[h.timestamps.length - 1]!;
  for (const key of h.scenario.keySpace) {
    const final = h.observations.find((o) => o.source === 'final get' && o.ts === last && o.key === key);
    expect(final).toBeDefined();
    const value = final!.value === undefined ? 0 : parseValue(final!.value).count;
    const increments = h.txns
      .filter((f) => f.committed)
      .reduce((sum, f) => sum + f.actor.program.filter((op) => op.kind === 'incr' && op.key === key).length, 0);
    expect(value, `counter ${key}`).toBe(increments);
  }
}

/** Nothing of a transaction that did not commit remains: no lock, data, commit record or read. */
function checkNoTrace(h: History): void {
  const byStart = new Map(h.txns.filter((f) => f.actor.startTs !== undefined).map((f) => [f.actor.startTs!, f]));
  for (const r of h.world.store.engine.records()) {
    const where = `${['raw', 'lock', 'write', 'data'][r.tag]} record of ${JSON.stringify(text(r.key))} at ${r.ts}`;
    if (r.tag === RecordTag.Lock) throw new Error(`${where}: a lock survived the cleanup`);
    if (r.tag === RecordTag.Data) {
      const f = byStart.get(r.ts!);
      expect(f?.committed, `${where}: data of a transaction that did not commit`).toBe(true);
    }
    if (r.tag === RecordTag.Write) {
      const w = decodeWrite(r.value);
      if (w.kind === 'rollback') continue;
      const f = byStart.get(w.startTs);
      expect(f?.committed, `${where}: ${w.kind} of a transaction that did not commit`).toBe(true);
      expect(r.ts, `${where}: not at its commit ts`).toBe(f!.commitTs);
    }
  }
  const rolledBack = new Set(h.txns.filter((f) => !f.committed).map((f) => f.actor.id));
  for (const o of h.observations) {
    if (o.value !== undefined) expect(rolledBack.has(parseValue(o.value).txnId), `${o.source} read ${o.value} at ${o.ts}`).toBe(false);
  }
}

/** Two transactions writing a common key never both commit while they overlap in time. */
function checkNoConcurrentConflictingCommits(h: History): void {
  const committed = h.txns.filter((f) => f.committed && f.actor.buffer.size > 0);
  for (const a of committed) {
    for (const b of committed) {
      if (a.actor.id >= b.actor.id) continue;
      const common = a.actor.keys.filter((k) => b.actor.buffer.has(k));
      if (common.length === 0) continue;
      const disjoint = a.commitTs! < b.actor.startTs! || b.commitTs! < a.actor.startTs!;
      expect(disjoint, `transactions ${a.actor.id} and ${b.actor.id} both committed writes of ${JSON.stringify(common)} while concurrent`).toBe(true);
    }
  }
}

function checkAll(h: History): void {
  checkNoDirtyReads(h);
  checkExactSnapshots(h);
  checkRepeatable(h);
  if (h.scenario.programs.every((program) => program.every((op) => op.kind === 'incr' || op.kind === 'get'))) checkCounters(h);
  checkNoTrace(h);
  checkNoConcurrentConflictingCommits(h);
}

describe('interleaved transactions (single-store model)', () => {
  it('exercise what they should: commits, conflicts, crashes, blocked readers, resolved and pushed locks', async () => {
    const totals = {
      committed: 0,
      conflict: 0,
      alreadyExists: 0,
      lockedLive: 0,
      primaryGone: 0,
      crashed: 0,
      crashedCommitted: 0,
      aborted: 0,
      readsOfScheduleCommits: 0,
      liveLocks: 0,
      resolvedCommitted: 0,
      resolvedRolledBack: 0,
      steppedOver: 0,
      pushed: 0,
    };
    for (const scenario of fc.sample(scenarioArb('mixed'), { numRuns: 150, seed: 42 })) {
      const h = await runScenario(scenario);
      totals.liveLocks += h.world.stats.liveLocks;
      totals.resolvedCommitted += h.world.stats.resolvedCommitted;
      totals.resolvedRolledBack += h.world.stats.resolvedRolledBack;
      totals.steppedOver += h.world.stats.steppedOver;
      totals.pushed += h.world.stats.pushed;
      for (const o of h.observations) {
        if (!o.source.startsWith('final') && o.value !== undefined && parseValue(o.value).txnId >= 0) totals.readsOfScheduleCommits++;
      }
      for (const f of h.txns) {
        if (f.committed && f.actor.buffer.size > 0) totals.committed++;
        if (f.actor.outcome === 'aborted') totals.aborted++;
        if (f.actor.abortReason?.startsWith('writeConflict')) totals.conflict++;
        if (f.actor.abortReason?.startsWith('alreadyExists')) totals.alreadyExists++;
        if (f.actor.abortReason?.startsWith('locked by live')) totals.lockedLive++;
        if (f.actor.abortReason === 'primary lock gone before commit') totals.primaryGone++;
        if (f.actor.outcome === 'crashed' && f.actor.sentPrewrites.length > 0) totals.crashed++;
        if (f.actor.outcome === 'crashed' && f.committed) totals.crashedCommitted++;
      }
    }
    for (const [name, count] of Object.entries(totals)) expect(count, name).toBeGreaterThan(0);
  });

  it('a reader pushing a committing transaction reads its snapshot; the coordinator commits later', async () => {
    // Transaction 0 takes its commit ts, then a reader with a newer ts meets its lock and pushes it.
    const scenario: Scenario = {
      keySpace: ['a', 'b'],
      programs: [[{ kind: 'put', key: 'a' }, { kind: 'put', key: 'b' }]],
      preload: true,
      readersPush: true,
      actions: [
        { t: 'begin' },
        ...Array.from({ length: 6 }, () => ({ t: 'step', actor: 0 }) as const), // ops, prewrite a and b, commit ts
        { t: 'snapshot', reuse: undefined, scanLimit: 0 },
        ...Array.from({ length: 6 }, () => ({ t: 'step', actor: 1 }) as const), // the reader: meets, pushes, reads on
        ...Array.from({ length: 5 }, () => ({ t: 'step', actor: 0 }) as const),
      ],
    };
    const h = await runScenario(scenario);
    expect(h.world.stats.pushed).toBe(1); // b's lock is the same transaction's: stepped over without asking again
    expect(h.world.stats.commitTsRetries).toBe(1);
    const txn = fateOf(h, 0);
    expect(txn.committed).toBe(true);
    const reads = h.observations.filter((o) => o.source === 'snapshot 0');
    expect(reads.map((o) => o.value)).toEqual(['1|-1|0', '1|-1|1']);
    expect(txn.commitTs! > reads[0]!.ts).toBe(true);
    checkAll(h);
  });

  it('no dirty reads: every value read was written by a transaction committed at or before the read ts', async () => {
    await checkScenarios(scenarioArb('mixed'), checkNoDirtyReads);
  });

  it('reads at a ts return exactly the newest committed value at or before it', async () => {
    await checkScenarios(scenarioArb('mixed'), checkExactSnapshots);
  });

  it('no lost updates: each counter ends at the number of committed increments', async () => {
    await checkScenarios(scenarioArb('counters'), checkCounters);
  });

  it('reads at a ts are repeatable: every read of a key at one ts, at any point of the schedule, agrees', async () => {
    await checkScenarios(scenarioArb('mixed'), checkRepeatable);
  });

  it('a rolled-back transaction leaves no trace: no lock, data, commit record or read of its values', async () => {
    await checkScenarios(scenarioArb('mixed', { step: 20, crash: 2, replay: 3 }), checkNoTrace);
  });

  it('transactions writing a common key never both commit while they overlap', async () => {
    await checkScenarios(fc.oneof(scenarioArb('counters'), scenarioArb('mixed')), checkNoConcurrentConflictingCommits);
  });

  it('garbage collection keeps every read at or after the safe point', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb('mixed'), fc.nat(), async (scenario, pick) => {
        const h = await runScenario(scenario);
        const store = h.world.store;
        const safePoint = h.timestamps[pick % h.timestamps.length]!;
        const readTs = [...h.timestamps.filter((t) => t >= safePoint), MAX_TS];
        const readAll = async (): Promise<Array<string | undefined>> => {
          const out: Array<string | undefined> = [];
          for (const t of readTs) for (const key of scenario.keySpace) out.push(await readValue(store, key, t));
          return out;
        };
        const before = await readAll();
        for (const key of scenario.keySpace) await store.gcKey(bytes(key), safePoint);
        expect(await readAll()).toEqual(before);
      }),
      { numRuns: 150 },
    );
  });
});
