// Transactions on a real three-node cluster whose Regions are kept small (a split every 64 engine
// records), so a few hundred keys span several Regions: one- and two-phase commits, snapshot reads
// at a fixed timestamp, a transaction's reads of its own buffered writes, write conflicts, inserts,
// locks left by a coordinator that died after prewrite, readers pushing a live transaction instead
// of waiting for it, rollback, and ResolveLock over every lock of a transaction in a Region.
//
// Some steps drive the store's transactional commands directly (through kv.runOperation), to hold
// a transaction between prewrite and commit or to look at the locks a key carries.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import {
  KeyExistsError,
  TxnAbortedError,
  TxnClient,
  TxnClosedError,
  WriteConflictError,
  compareKeys,
  type PdClient,
  type RawKvClient,
} from '../../src/client/index.js';
import { REGROUP, type CommandName, type SubResponse } from '../../src/client/kv_client.js';
import { MAX_TS } from '../../src/kv/keys.js';
import { decodeTs, encodeTs, physicalMs } from '../../src/kv/records.js';
import { kvpb } from '../../src/proto/index.js';
import { ProcessCluster, ensureBuilt, failureTrackingSteps, waitUntil, type ProcNode } from '../cluster/harness.js';

/** Keys loaded before the steps run: t/k0000 … t/k0299. */
const LOADED = 300;
/** The loaded keys should end up over at least this many Regions before the steps start. */
const MIN_REGIONS = 8;

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));
const name = (i: number): string => `t/k${String(i).padStart(4, '0')}`;
const loadedValue = (i: number): string => `v-${i}`;
const id = (key: Uint8Array): string => Buffer.from(key).toString('latin1');

const cluster = new ProcessCluster({
  'raft-tick-interval': '100ms',
  'raft-election-ticks': '10',
  'region-split-keys': '64',
  'log-level': 'info',
});
let nodes: ProcNode[] = [];
let kv: RawKvClient;
let pd: PdClient;
let txns: TxnClient;
let failed = false;
const figures: Record<string, number | string> = {};

// ---- direct access to the store's transactional commands ----

/** Sends one command about `key` to the leader of its Region, routing again as the client must. */
async function onKey<C extends CommandName>(key: Uint8Array, command: C, build: (context: kvpb.IContext) => kvpb.IRequest): Promise<SubResponse<C>> {
  return kv.runOperation(`test ${command}`, { timeoutMs: 15_000 }, (scope) => scope.requestForKey(key, command, build));
}

interface SeenLock {
  readonly lockTs: bigint;
  readonly primary: string;
  readonly minCommitTs: bigint;
  readonly ttlMs: number;
}

/** The lock `key` carries, if any, as a read at the largest timestamp meets it (nothing resolved). */
async function lockOn(key: string): Promise<SeenLock | undefined> {
  const k = enc(key);
  const response = await onKey(k, 'txnGet', (context) => ({ txnGet: { context, key: k, version: encodeTs(MAX_TS) } }));
  const locked = response.error?.locked;
  if (response.error && !locked) throw new Error(`txnGet of ${key}: ${response.error.message}`);
  if (!locked) return undefined;
  return { lockTs: decodeTs(locked.lockTs), primary: dec(locked.primary ?? new Uint8Array(0))!, minCommitTs: decodeTs(locked.minCommitTs), ttlMs: Number(locked.ttlMs ?? 0) };
}

/** Prewrites puts of `pairs` for a transaction at startTs, grouped per Region, as a coordinator would. */
async function prewriteRaw(pairs: ReadonlyArray<readonly [string, string]>, primary: string, startTs: bigint, ttlMs: number): Promise<kvpb.IKeyError[]> {
  const errors: kvpb.IKeyError[] = [];
  await kv.runOperation('test prewrite', { timeoutMs: 15_000 }, (scope) =>
    scope.forEachRegion(pairs, ([k]) => enc(k), async (entry, group) => {
      const response = await scope.request(entry, 'prewrite', (context) => ({
        prewrite: {
          context,
          mutations: group.map(([k, v]) => ({ op: kvpb.MutationOp.MUTATION_PUT, key: enc(k), value: enc(v) })),
          primaryLock: enc(primary),
          startTs: encodeTs(startTs),
          lockTtlMs: ttlMs,
          txnSize: pairs.length,
        },
      }));
      if (response === REGROUP) return REGROUP;
      errors.push(...(response.errors ?? []));
      return undefined;
    }),
  );
  return errors;
}

/** Commits `keys` of the transaction at startTs, grouped per Region; the key errors met. */
async function commitRaw(keys: readonly string[], startTs: bigint, commitTs: bigint): Promise<kvpb.IKeyError[]> {
  const errors: kvpb.IKeyError[] = [];
  await kv.runOperation('test commit', { timeoutMs: 15_000 }, (scope) =>
    scope.forEachRegion(keys, (k) => enc(k), async (entry, group) => {
      const response = await scope.request(entry, 'commit', (context) => ({
        commit: { context, keys: group.map(enc), startTs: encodeTs(startTs), commitTs: encodeTs(commitTs) },
      }));
      if (response === REGROUP) return REGROUP;
      if (response.error) errors.push(response.error);
      return undefined;
    }),
  );
  return errors;
}

/**
 * Sends ResolveLock without keys (every lock of the transaction in the Region) to each Region
 * overlapping [start, end); commitTs 0 rolls back. Returns how many Regions were asked.
 */
async function resolveRegionsRaw(start: string, end: string, startTs: bigint, commitTs: bigint): Promise<number> {
  const last = enc(end);
  let regions = 0;
  await kv.runOperation('test resolve lock', { timeoutMs: 15_000 }, async (scope) => {
    let cursor = enc(start);
    for (;;) {
      const entry = await scope.locate(cursor);
      const response = await scope.request(entry, 'resolveLock', (context) => ({
        resolveLock: { context, startTs: encodeTs(startTs), commitTs: commitTs === 0n ? undefined : encodeTs(commitTs), keys: [] },
      }));
      if (response === REGROUP) continue;
      if (response.error) throw new Error(`resolveLock: ${response.error.message}`);
      regions++;
      const regionEnd = entry.region.endKey;
      if (regionEnd.byteLength === 0 || compareKeys(regionEnd, last) >= 0) return;
      cursor = regionEnd;
    }
  });
  return regions;
}

async function regionOf(key: string): Promise<number> {
  const info = await pd.getRegion(enc(key));
  if (!info) throw new Error(`no region holds ${key}`);
  return info.region.id;
}

/** Values of `keys` at a snapshot taken now. */
async function readNow(keys: readonly string[]): Promise<Array<string | undefined>> {
  const snap = txns.snapshot(await txns.timestamp());
  return Promise.all(keys.map(async (k) => dec(await snap.get(enc(k)))));
}

describe('transactions on a three-node cluster with small Regions', () => {
  beforeAll(async () => {
    const started = Date.now();
    ensureBuilt();
    await cluster.setup();
    nodes = [await cluster.define('n1'), await cluster.define('n2'), await cluster.define('n3')];
    cluster.joinList = nodes.map((n) => n.grpc);
    for (const n of nodes) cluster.start(n);
    try {
      for (const n of nodes) await waitUntil(() => cluster.http(n, '/health').then((r) => r.status === 200, () => false), 30_000, `${n.name} to be alive`);
      const init = cluster.cli(['init', `--host=${nodes[0]!.grpc}`]);
      expect(init.stderr).toBe('');
      expect(init.status).toBe(0);
      for (const n of nodes) await cluster.waitReady(n);
      ({ kv, pd } = cluster.kvClient());
      txns = new TxnClient(kv, pd);
      for (let i = 0; i < LOADED; i += 30) {
        await txns.run(async (t) => {
          for (let j = i; j < Math.min(LOADED, i + 30); j++) t.put(enc(name(j)), enc(loadedValue(j)));
        });
      }
      await txns.flush();
      // Splits follow the load within seconds. The steps need several Regions, at least two
      // boundaries inside t/k0100 … t/k0199, and the pairs they write across Regions apart.
      await waitUntil(
        async () => {
          const regions = await pd.scanRegions(enc('t/'), enc('t0'), 0);
          const inside = regions.filter((r) => dec(r.region.startKey)! > name(100) && dec(r.region.startKey)! < name(200));
          if (regions.length < MIN_REGIONS || inside.length < 2) return false;
          for (const [a, b] of [[1, 298], [50, 250], [60, 260], [70, 270], [80, 280]] as const) {
            if ((await regionOf(name(a))) === (await regionOf(name(b)))) return false;
          }
          return true;
        },
        40_000,
        `the loaded keys to span ${MIN_REGIONS} regions`,
        250,
      );
      figures.regionsAfterLoad = (await pd.scanRegions(enc('t/'), enc('t0'), 0)).length;
      figures.setupMs = Date.now() - started;
    } catch (err) {
      failed = true;
      throw err;
    }
  }, 90_000);

  afterAll(async () => {
    process.stdout.write(`txn cluster figures: ${JSON.stringify(figures)}\n`);
    await txns?.flush();
    const keep = failed || process.env.CAIRN_KEEP_LOGS === '1';
    if (keep) process.stdout.write(`txn cluster logs kept in ${cluster.rootDir}\n`);
    await cluster.close(keep);
  });

  const step = failureTrackingSteps(() => {
    failed = true;
  });

  step('one Region commits in one phase, several in two; a snapshot taken before the commit never sees it', async () => {
    // Two new keys with no key between them: no split can come between them before they exist.
    const a = 'one/a';
    const b = 'one/b';
    const one = await txns.begin();
    one.put(enc(a), enc('1pc-a'));
    one.put(enc(b), enc('1pc-b'));
    const before1 = txns.snapshot(await txns.timestamp());
    const commit1 = await one.commit();
    expect(one.commitKind).toBe('onePc');
    expect(one.commitTs).toBe(commit1);
    expect(commit1 > one.startTs).toBe(true);
    expect(commit1 > before1.ts).toBe(true);
    expect(dec(await txns.snapshot(commit1).get(enc(a)))).toBe('1pc-a');
    expect(await txns.snapshot(commit1 - 1n).get(enc(a))).toBeUndefined();
    expect(await before1.get(enc(b))).toBeUndefined();
    expect(await readNow([a, b])).toEqual(['1pc-a', '1pc-b']);

    // Keys far apart in the loaded range: different Regions.
    const first = name(1);
    const last = name(298);
    const fresh = `${name(20)}+new`;
    expect(await regionOf(first)).not.toBe(await regionOf(last));
    const two = await txns.begin();
    two.put(enc(first), enc('2pc-first'));
    two.put(enc(fresh), enc('2pc-fresh'));
    two.put(enc(last), enc('2pc-last'));
    const before2 = txns.snapshot(await txns.timestamp());
    // A read at the fixed timestamp before the commit, repeated after it: the same answers.
    const earlier = await Promise.all([first, fresh, last].map(async (k) => dec(await before2.get(enc(k)))));
    expect(earlier).toEqual([loadedValue(1), undefined, loadedValue(298)]);
    const commit2 = await two.commit();
    expect(two.commitKind).toBe('twoPc');
    expect(commit2 > before2.ts).toBe(true);
    const later = await Promise.all([first, fresh, last].map(async (k) => dec(await before2.get(enc(k)))));
    expect(later).toEqual(earlier);
    const scanBefore = await before2.scan(enc(name(0)), enc(name(300)), 1_000);
    expect(scanBefore.map((p) => dec(p.key))).toEqual(Array.from({ length: LOADED }, (_, i) => name(i)));
    // Secondaries may still be committing in the background; readers resolve whatever is left.
    const atCommit = txns.snapshot(commit2);
    expect(await Promise.all([first, fresh, last].map(async (k) => dec(await atCommit.get(enc(k)))))).toEqual(['2pc-first', '2pc-fresh', '2pc-last']);
    const justBefore = txns.snapshot(commit2 - 1n);
    expect(dec(await justBefore.get(enc(last)))).toBe(loadedValue(298));
    expect(await readNow([first, fresh, last])).toEqual(['2pc-first', '2pc-fresh', '2pc-last']);
  });

  step('a transaction reads its own writes: get, batchGet and scan merge them with stored data across Regions', async () => {
    const from = 100;
    const to = 200;
    const regions = await pd.scanRegions(enc(name(from)), enc(name(to)), 0);
    // Region boundaries inside the range (each a loaded key, the first of its Region).
    const bounds = regions.map((r) => dec(r.region.startKey)!).filter((k) => /^t\/k\d{4}$/.test(k) && k > name(from) && k < name(to));
    expect(bounds.length).toBeGreaterThanOrEqual(2);
    figures.boundariesInOwnWriteRange = bounds.length;

    const model = new Map<string, string>();
    for (let i = from; i < to; i++) model.set(name(i), loadedValue(i));
    const txn = await txns.begin();
    const touched = new Set<string>();
    const put = (k: string, v: string): void => {
      touched.add(k);
      txn.put(enc(k), enc(v));
      model.set(k, v);
    };
    const del = (k: string): void => {
      touched.add(k);
      txn.delete(enc(k));
      model.delete(k);
    };
    put(name(from), 'own-first');
    del(name(from + 1));
    del(name(from + 2));
    put(`${name(from + 2)}x`, 'own-between');
    for (const bound of bounds) {
      // Around every boundary: the key before it deleted, the boundary key overwritten, a new key
      // just before it, and the key after it deleted.
      const i = Number(bound.slice(3));
      del(name(i - 1));
      put(`${name(i - 1)}~`, `own-before-${i}`);
      put(bound, `own-bound-${i}`);
      del(name(i + 1));
    }
    put(`${name(to - 1)}z`, 'own-last');
    // Outside the range: must not appear in its scans.
    txn.put(enc(name(to)), enc('outside'));
    // A key only locked reads (and stays) as stored.
    const lockedOnly = Array.from({ length: to - from }, (_, i) => name(from + i)).find((k) => !touched.has(k))!;
    txn.lockKey(enc(lockedOnly));
    put(`${name(from + 7)}-gone`, 'put then deleted');
    del(`${name(from + 7)}-gone`);

    // get
    for (const k of [name(from), name(from + 1), `${name(from + 2)}x`, lockedOnly, name(from + 6), bounds[0]!, `${name(from + 7)}-gone`]) {
      expect({ k, v: dec(await txn.get(enc(k))) }).toEqual({ k, v: model.get(k) });
    }
    // batchGet: own writes, stored keys, deleted keys and a missing key together.
    const asked = [...bounds, name(from), name(from + 1), name(from + 3), `${name(from + 2)}x`, lockedOnly, 't/missing', `${name(from + 7)}-gone`];
    const got = await txn.batchGet(asked.map(enc));
    const expected = new Map(asked.filter((k) => model.has(k)).map((k) => [id(enc(k)), model.get(k)]));
    expect(new Map([...got].map(([k, v]) => [k, dec(v)]))).toEqual(expected);
    // scan: the whole range, then with limits, then from inside a Region.
    const ordered = [...model.entries()].sort(([x], [y]) => compareKeys(enc(x), enc(y)));
    const asPairs = (pairs: Array<{ key: Uint8Array; value: Uint8Array }>): Array<[string, string]> => pairs.map((p) => [dec(p.key)!, dec(p.value)!]);
    expect(asPairs(await txn.scan(enc(name(from)), enc(name(to)), 10_000))).toEqual(ordered);
    for (const limit of [1, 2, 3, 7, 31, ordered.length - 1]) {
      expect(asPairs(await txn.scan(enc(name(from)), enc(name(to)), limit))).toEqual(ordered.slice(0, limit));
    }
    const inside = `${name(from + 1)}`;
    expect(asPairs(await txn.scan(enc(inside), enc(name(to)), 40))).toEqual(ordered.filter(([k]) => k >= inside).slice(0, 40));

    // Committed, a later snapshot sees exactly the merged view.
    await txn.commit();
    expect(txn.commitKind).toBe('twoPc');
    const after = txns.snapshot(await txns.timestamp());
    expect(asPairs(await after.scan(enc(name(from)), enc(name(to)), 10_000))).toEqual(ordered);
    expect(dec(await after.get(enc(name(to))))).toBe('outside');
    expect(dec(await after.get(enc(lockedOnly)))).toBe(loadedValue(Number(lockedOnly.slice(3))));
  });

  step('two transactions writing a common key: exactly one commits, the other meets a write conflict and leaves nothing', async () => {
    const common = name(50);
    // Each writes the common key and a key of its own in another Region.
    const own = [name(250), name(252)];
    expect(await regionOf(common)).not.toBe(await regionOf(own[0]!));
    const t1 = await txns.begin();
    const t2 = await txns.begin();
    t1.put(enc(common), enc('from-t1'));
    t1.put(enc(own[0]!), enc('t1-own'));
    t2.put(enc(common), enc('from-t2'));
    t2.put(enc(own[1]!), enc('t2-own'));
    const outcomes = await Promise.allSettled([t1.commit(), t2.commit()]);
    const winners = outcomes.filter((o) => o.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    const loserIndex = outcomes.findIndex((o) => o.status === 'rejected');
    const err = (outcomes[loserIndex] as PromiseRejectedResult).reason as unknown;
    expect(err).toBeInstanceOf(WriteConflictError);
    const conflict = err as WriteConflictError;
    expect(conflict.retryable).toBe(true);
    expect(dec(conflict.key)).toBe(common);
    const winner = loserIndex === 0 ? 't2' : 't1';
    const loserOwn = own[loserIndex]!;
    figures.conflictWinner = winner;
    await txns.flush();
    // Nothing of the loser: no lock left on its keys, none of its values visible.
    expect(await lockOn(loserOwn)).toBeUndefined();
    expect(await lockOn(common)).toBeUndefined();
    const [c, o1, o2] = await readNow([common, own[0]!, own[1]!]);
    expect(c).toBe(`from-${winner}`);
    expect([o1, o2]).toEqual(winner === 't1' ? ['t1-own', loadedValue(252)] : [loadedValue(250), 't2-own']);
    // The conflict is retryable: running the loser again with a new start ts succeeds.
    await txns.run(async (t) => {
      t.put(enc(common), enc('retried'));
      t.put(enc(loserOwn), enc('retried-own'));
    });
    expect(await readNow([common, loserOwn])).toEqual(['retried', 'retried-own']);
  });

  step('a refused prewrite leaves no lock on the keys sent with it (same Region, the primary among them)', async () => {
    const contested = name(40);
    // Sorts first, so it is the primary, and lies in the contested key's Region.
    const primary = `${name(39)}x`;
    expect(await regionOf(primary)).toBe(await regionOf(contested));
    const loser = await txns.begin();
    await txns.run(async (t) => t.put(enc(contested), enc('winner')));
    loser.put(enc(primary), enc('loser'));
    loser.put(enc(contested), enc('loser'));
    await expect(loser.commit()).rejects.toBeInstanceOf(WriteConflictError);
    expect(await lockOn(primary)).toBeUndefined();
    expect(await lockOn(contested)).toBeUndefined();
    // A writer to the loser's primary is not held up by a leftover lock's TTL.
    const started = Date.now();
    await txns.run(async (t) => t.put(enc(primary), enc('next')));
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  step('insert refuses an existing key (nothing written) and writes a missing one', async () => {
    const existing = name(60);
    const other = name(260);
    const txn = await txns.begin();
    txn.insert(enc(existing), enc('inserted'));
    txn.put(enc(other), enc('with-the-insert'));
    const err = await txn.commit().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(KeyExistsError);
    expect((err as KeyExistsError).retryable).toBe(false);
    expect(dec((err as KeyExistsError).key)).toBe(existing);
    await txns.flush();
    expect(await readNow([existing, other])).toEqual([loadedValue(60), loadedValue(260)]);
    expect(await lockOn(existing)).toBeUndefined();

    const missing = `${name(60)}+inserted`;
    const ok = await txns.begin();
    ok.insert(enc(missing), enc('fresh'));
    await ok.commit();
    expect(await readNow([missing])).toEqual(['fresh']);
    // Once it exists, a second insert is refused too; a deleted key can be inserted again.
    const again = await txns.begin();
    again.insert(enc(missing), enc('again'));
    await expect(again.commit()).rejects.toBeInstanceOf(KeyExistsError);
    await txns.run(async (t) => t.delete(enc(missing)));
    await txns.run(async (t) => t.insert(enc(missing), enc('reborn')));
    expect(await readNow([missing])).toEqual(['reborn']);
  });

  step('locks of a coordinator that died after prewrite: readers resolve them once the TTL passes, writers proceed, its values never appear', async () => {
    const ttlMs = 500;
    const dying = new TxnClient(kv, pd, { abandonAfterPrewrite: true, lockTtlMs: ttlMs });
    const primary = name(70);
    const sameRegion = name(71);
    const elsewhere = name(270);
    expect(await regionOf(primary)).not.toBe(await regionOf(elsewhere));
    const txn = await dying.begin();
    for (const k of [primary, sameRegion, elsewhere]) txn.put(enc(k), enc('abandoned'));
    await expect(txn.commit()).rejects.toBeInstanceOf(TxnAbortedError);
    for (const k of [primary, sameRegion, elsewhere]) {
      const lock = await lockOn(k);
      expect(lock?.lockTs).toBe(txn.startTs);
      expect(lock?.primary).toBe(primary);
    }
    // Past the TTL (measured on timestamps, as the store does).
    await waitUntil(async () => physicalMs(await txns.timestamp()) > physicalMs(txn.startTs) + ttlMs + 50, 5_000, 'the lock TTL to pass', 50);
    // A reader meets the lock of a secondary: old value, no error.
    const readStarted = Date.now();
    expect(await readNow([elsewhere])).toEqual([loadedValue(270)]);
    figures.readPastExpiredLockMs = Date.now() - readStarted;
    expect(await lockOn(elsewhere)).toBeUndefined();
    // Its primary was rolled back on the way; the other secondary still carries its lock.
    expect(await lockOn(primary)).toBeUndefined();
    expect((await lockOn(sameRegion))?.lockTs).toBe(txn.startTs);
    // A writer meeting that lock resolves it and commits, without waiting for anything.
    const writeStarted = Date.now();
    await txns.run(async (t) => t.put(enc(sameRegion), enc('after-abandon')), 1);
    figures.writePastAbandonedLockMs = Date.now() - writeStarted;
    expect(Date.now() - writeStarted).toBeLessThan(3_000);
    expect(await readNow([primary, sameRegion, elsewhere])).toEqual([loadedValue(70), 'after-abandon', loadedValue(270)]);
    // The abandoned transaction cannot commit any more.
    const late = await commitRaw([primary], txn.startTs, await txns.timestamp());
    expect(late.map((e) => e.txnLockNotFound !== null && e.txnLockNotFound !== undefined)).toEqual([true]);
    const scanned = await txns.snapshot(await txns.timestamp()).scan(enc(name(70)), enc(name(72)), 10);
    expect(scanned.map((p) => dec(p.value))).toEqual([loadedValue(70), 'after-abandon']);
    const anyAbandoned = (await txns.snapshot(await txns.timestamp()).scan(enc('t/'), enc('t0'), 10_000)).filter((p) => dec(p.value) === 'abandoned');
    expect(anyAbandoned).toEqual([]);
  });

  step('a reader pushes the lock of a live transaction instead of waiting for its TTL; that transaction still commits, after the reader', async () => {
    const ttlMs = 10_000;
    const primary = name(80);
    const secondary = name(280);
    expect(await regionOf(primary)).not.toBe(await regionOf(secondary));
    const startTs = await txns.timestamp();
    expect(await prewriteRaw([[primary, 'live-p'], [secondary, 'live-s']], primary, startTs, ttlMs)).toEqual([]);

    const reader = txns.snapshot(await txns.timestamp());
    const readStarted = Date.now();
    expect(dec(await reader.get(enc(secondary)))).toBe(loadedValue(280));
    expect(dec(await reader.get(enc(primary)))).toBe(loadedValue(80));
    const readMs = Date.now() - readStarted;
    figures.readPastLiveLockMs = readMs;
    expect(readMs).toBeLessThan(3_000);
    // The transaction was pushed, not rolled back: its locks stand, its primary's min commit ts
    // above the reader's timestamp.
    const pushed = await lockOn(primary);
    expect(pushed?.lockTs).toBe(startTs);
    expect(pushed!.minCommitTs > reader.ts).toBe(true);
    expect((await lockOn(secondary))?.lockTs).toBe(startTs);

    // Committing at or below the reader's timestamp is refused; above it, it commits.
    const tooLow = await commitRaw([primary], startTs, reader.ts);
    expect(tooLow).toHaveLength(1);
    expect(decodeTs(tooLow[0]!.commitTsExpired?.minCommitTs)).toBe(pushed!.minCommitTs);
    const commitTs = await txns.timestamp();
    expect(commitTs > reader.ts).toBe(true);
    expect(await commitRaw([primary], startTs, commitTs)).toEqual([]);
    expect(await commitRaw([secondary], startTs, commitTs)).toEqual([]);
    // The reader's snapshot is unchanged; a later one sees the commit.
    expect(dec(await reader.get(enc(secondary)))).toBe(loadedValue(280));
    expect(dec(await txns.snapshot(reader.ts).get(enc(primary)))).toBe(loadedValue(80));
    expect(await readNow([primary, secondary])).toEqual(['live-p', 'live-s']);
    expect(dec(await txns.snapshot(commitTs).get(enc(secondary)))).toBe('live-s');
  });

  step('rollback of an open transaction leaves no trace; a closed transaction refuses further use', async () => {
    const keys = [name(85), name(86), name(285)];
    const txn = await txns.begin();
    for (const k of keys) txn.put(enc(k), enc('rolled-back'));
    txn.delete(enc(name(87)));
    expect(dec(await txn.get(enc(keys[0]!)))).toBe('rolled-back');
    await txn.rollback();
    await txn.rollback();
    await expect(txn.get(enc(keys[0]!))).rejects.toBeInstanceOf(TxnClosedError);
    await expect(txn.commit()).rejects.toBeInstanceOf(TxnClosedError);
    expect(() => txn.put(enc(keys[0]!), enc('x'))).toThrow(TxnClosedError);
    for (const k of [...keys, name(87)]) expect(await lockOn(k)).toBeUndefined();
    expect(await readNow([...keys, name(87)])).toEqual([loadedValue(85), loadedValue(86), loadedValue(285), loadedValue(87)]);

    const committed = await txns.begin();
    committed.put(enc(keys[0]!), enc('committed-once'));
    await committed.commit();
    await expect(committed.commit()).rejects.toBeInstanceOf(TxnClosedError);
    await expect(committed.get(enc(keys[0]!))).rejects.toBeInstanceOf(TxnClosedError);
    // Rolling back a committed transaction changes nothing.
    await committed.rollback();
    expect(await readNow([keys[0]!])).toEqual(['committed-once']);
    // A read-only transaction commits at its start timestamp.
    const readOnly = await txns.begin();
    expect(dec(await readOnly.get(enc(keys[1]!)))).toBe(loadedValue(86));
    expect(await readOnly.commit()).toBe(readOnly.startTs);
    await expect(readOnly.commit()).rejects.toBeInstanceOf(TxnClosedError);
  });

  step('ResolveLock without keys commits or rolls back every lock of a transaction in a Region, and only those', async () => {
    const from = name(90);
    const to = name(96);
    const keysOf = (tag: string): string[] => [90, 91, 92, 93, 94, 95].map((i) => `${name(i)}${tag}`);
    const toCommit = keysOf('a');
    const toRollBack = keysOf('b');
    const bystander = `${name(93)}c`;
    const tsA = await txns.timestamp();
    const tsB = await txns.timestamp();
    const tsC = await txns.timestamp();
    expect(await prewriteRaw(toCommit.map((k) => [k, `A:${k}`] as const), toCommit[0]!, tsA, 20_000)).toEqual([]);
    expect(await prewriteRaw(toRollBack.map((k) => [k, `B:${k}`] as const), toRollBack[0]!, tsB, 20_000)).toEqual([]);
    expect(await prewriteRaw([[bystander, 'C']], bystander, tsC, 20_000)).toEqual([]);
    for (const k of toCommit) expect((await lockOn(k))?.lockTs).toBe(tsA);

    const commitTs = await txns.timestamp();
    const regionsA = await resolveRegionsRaw(from, to, tsA, commitTs);
    const regionsB = await resolveRegionsRaw(from, to, tsB, 0n);
    figures.resolveLockRegions = Math.max(regionsA, regionsB);
    for (const k of [...toCommit, ...toRollBack]) expect({ k, lock: await lockOn(k) }).toEqual({ k, lock: undefined });
    expect((await lockOn(bystander))?.lockTs).toBe(tsC);

    // A's writes are visible from its commit ts on, B's never.
    expect(await Promise.all(toCommit.map(async (k) => dec(await txns.snapshot(commitTs).get(enc(k)))))).toEqual(toCommit.map((k) => `A:${k}`));
    expect(await Promise.all(toCommit.map(async (k) => dec(await txns.snapshot(commitTs - 1n).get(enc(k)))))).toEqual(toCommit.map(() => undefined));
    expect(await readNow(toRollBack)).toEqual(toRollBack.map(() => undefined));
    // B's rollback is recorded: a late prewrite of it is refused.
    const late = await prewriteRaw([[toRollBack[1]!, 'late']], toRollBack[0]!, tsB, 20_000);
    expect(late).toHaveLength(1);
    expect(late[0]!.conflict).toBeTruthy();
    expect(await lockOn(toRollBack[1]!)).toBeUndefined();
    // Resolving again changes nothing.
    await resolveRegionsRaw(from, to, tsA, commitTs);
    expect(await readNow(toCommit)).toEqual(toCommit.map((k) => `A:${k}`));

    // The bystander is untouched until resolved itself.
    await resolveRegionsRaw(from, to, tsC, 0n);
    expect(await lockOn(bystander)).toBeUndefined();
    expect(await readNow([bystander])).toEqual([undefined]);
  });
});
