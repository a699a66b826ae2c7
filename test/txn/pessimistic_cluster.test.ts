// Pessimistic transactions on a real three-node cluster whose Regions are kept small (a split every
// 64 engine records), so the keys below span several Regions: lockKeys across Regions, reads of
// locked values, rollback, all-or-nothing lock requests, snapshot readers passing over locks, an
// abandoned lock resolved once its TTL passes, a long holder kept alive by its heartbeat, the wait
// timeout; then the workloads PostgreSQL runs without a failure: sixteen clients incrementing one
// counter, and two groups locking two counters in opposite orders (deadlocks, broken by detection
// or by the wait timeout, never a hang).
//
// The workload figures (commits per second, lock waits) are printed at the end.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import {
  DeadlockError,
  LockWaitTimeoutError,
  TxnAbortedError,
  TxnClient,
  TxnClosedError,
  type PdClient,
  type RawKvClient,
  type Transaction,
} from '../../src/client/index.js';
import { type CommandName, type SubResponse } from '../../src/client/kv_client.js';
import { decodeTs, encodeTs, physicalMs } from '../../src/kv/records.js';
import { kvpb } from '../../src/proto/index.js';
import { ProcessCluster, ensureBuilt, failureTrackingSteps, waitUntil, type ProcNode } from '../cluster/harness.js';

/** Filler keys loaded first, so that the Regions split: f/0000 … f/0299. */
const FILLER = 300;
const MIN_REGIONS = 4;

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));
const id = (key: Uint8Array): string => Buffer.from(key).toString('latin1');
const filler = (i: number): string => `f/${String(i).padStart(4, '0')}`;

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

async function onKey<C extends CommandName>(key: Uint8Array, command: C, build: (context: kvpb.IContext) => kvpb.IRequest): Promise<SubResponse<C>> {
  return kv.runOperation(`test ${command}`, { timeoutMs: 15_000 }, (scope) => scope.requestForKey(key, command, build));
}

/** One AcquirePessimisticLock request for `keys` (all in one Region), as another transaction's coordinator would send it. */
async function lockRaw(keys: readonly string[], primary: string, startTs: bigint, ttlMs: number): Promise<kvpb.IAcquirePessimisticLockResponse> {
  return onKey(enc(keys[0]!), 'acquirePessimisticLock', (context) => ({
    acquirePessimisticLock: { context, keys: keys.map(enc), primaryLock: enc(primary), startTs: encodeTs(startTs), forUpdateTs: encodeTs(startTs), lockTtlMs: ttlMs },
  }));
}

/** The state of the transaction at lockTs as its primary says (a writer's look, pushing nothing). */
async function statusOf(primary: string, lockTs: bigint): Promise<kvpb.ICheckTxnStatusResponse> {
  const currentTs = await txns.timestamp();
  return onKey(enc(primary), 'checkTxnStatus', (context) => ({
    checkTxnStatus: { context, primaryKey: enc(primary), lockTs: encodeTs(lockTs), currentTs: encodeTs(currentTs) },
  }));
}

async function regionOf(key: string): Promise<number> {
  const info = await pd.getRegion(enc(key));
  if (!info) throw new Error(`no region holds ${key}`);
  return info.region.id;
}

async function readNow(keys: readonly string[]): Promise<Array<string | undefined>> {
  const snap = txns.snapshot(await txns.timestamp());
  return Promise.all(keys.map(async (k) => dec(await snap.get(enc(k)))));
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const sortedNumbers = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

describe('pessimistic transactions on a three-node cluster', () => {
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
      expect(init.status).toBe(0);
      for (const n of nodes) await cluster.waitReady(n);
      ({ kv, pd } = cluster.kvClient());
      txns = new TxnClient(kv, pd);
      for (let i = 0; i < FILLER; i += 30) {
        await txns.run(async (t) => {
          for (let j = i; j < Math.min(FILLER, i + 30); j++) t.put(enc(filler(j)), enc(`v-${j}`));
        });
      }
      await txns.flush();
      await waitUntil(
        async () => (await pd.scanRegions(enc('f/'), enc('f0'), 0)).length >= MIN_REGIONS && (await regionOf(filler(1))) !== (await regionOf(filler(298))),
        40_000,
        `the filler keys to span ${MIN_REGIONS} regions`,
        250,
      );
      figures.setupMs = Date.now() - started;
    } catch (err) {
      failed = true;
      throw err;
    }
  }, 90_000);

  afterAll(async () => {
    process.stdout.write(`pessimistic cluster figures: ${JSON.stringify(figures)}\n`);
    await txns?.flush();
    const keep = failed || process.env.CAIRN_KEEP_LOGS === '1';
    if (keep) process.stdout.write(`pessimistic cluster logs kept in ${cluster.rootDir}\n`);
    await cluster.close(keep);
  });

  const step = failureTrackingSteps(() => {
    failed = true;
  });

  step('lockKeys across Regions returns the newest committed values, which the transaction then reads; commit writes them; rollback unlocks', async () => {
    const [a, b] = [filler(10), filler(290)];
    expect(await regionOf(a)).not.toBe(await regionOf(b));
    const txn = await txns.begin();
    // Committed after txn began: a snapshot read at its start ts would not see it, the lock must.
    await txns.run(async (t) => t.put(enc(a), enc('newer')));
    expect(dec(await txns.snapshot(txn.startTs).get(enc(a)))).toBe('v-10');
    const values = await txn.lockKeys([enc(a), enc(b), enc('f/absent')], { returnValues: true });
    expect(new Map([...values].map(([k, v]) => [k, dec(v)]))).toEqual(new Map([[id(enc(a)), 'newer'], [id(enc(b)), 'v-290'], [id(enc('f/absent')), undefined]]));
    expect(txn.lockedCount).toBe(3);
    expect(dec(await txn.get(enc(a)))).toBe('newer');
    expect(new Map([...(await txn.batchGet([enc(a), enc(b), enc('f/absent')]))].map(([k, v]) => [k, dec(v)]))).toEqual(new Map([[id(enc(a)), 'newer'], [id(enc(b)), 'v-290']]));
    const scanned = await txn.scan(enc(filler(10)), enc(filler(12)), 10);
    expect(scanned.map((p) => [dec(p.key), dec(p.value)])).toEqual([[a, 'newer'], [filler(11), 'v-11']]);
    // A snapshot reader passes over the locks at once.
    const readStarted = Date.now();
    expect(await readNow([a, b])).toEqual(['newer', 'v-290']);
    expect(Date.now() - readStarted).toBeLessThan(2_000);
    // The primary is the first key locked, not the smallest: its lock exists and is pessimistic.
    const status = await statusOf(a, txn.startTs);
    expect(status.status).toBe(kvpb.TxnStatusKind.TXN_LOCKED);
    expect(status.lock?.kind).toBe(kvpb.LockKind.LOCK_PESSIMISTIC);
    txn.put(enc(a), enc('from-locked'));
    // b only locked: committed as a lock record, its value unchanged.
    await txn.commit();
    expect(txn.commitKind).toBe('twoPc');
    await txns.flush();
    expect(await readNow([a, b, 'f/absent'])).toEqual(['from-locked', 'v-290', undefined]);

    const rolled = await txns.begin();
    await rolled.lockKeys([enc(b)]);
    await rolled.rollback();
    await expect(rolled.lockKeys([enc(b)])).rejects.toBeInstanceOf(TxnClosedError);
    // Nothing is left in the way of the next locker.
    const next = await txns.begin();
    const started = Date.now();
    await next.lockKeys([enc(b)], { waitTimeoutMs: 0 });
    expect(Date.now() - started).toBeLessThan(2_000);
    await next.rollback();
  });

  step('a lock request is all or nothing; a lock wait ends with LockWaitTimeoutError, leaving no lock of that call', async () => {
    const [free, held] = [filler(120), filler(121)];
    expect(await regionOf(free)).toBe(await regionOf(held));
    const holder = await txns.begin();
    await holder.lockKeys([enc(held)]);
    const otherTs = await txns.timestamp();
    const refused = await lockRaw([free, held], free, otherTs, 3_000);
    expect(decodeTs(refused.error?.locked?.lockTs)).toBe(holder.startTs);
    // The free key was not locked by the refused request: a third transaction takes it at once.
    const third = await txns.timestamp();
    expect((await lockRaw([free], free, third, 3_000)).error).toBeFalsy();
    await onKey(enc(free), 'pessimisticRollback', (context) => ({ pessimisticRollback: { context, keys: [enc(free)], startTs: encodeTs(third), forUpdateTs: encodeTs(third) } }));

    const waiter = await txns.begin();
    const started = Date.now();
    const err = await waiter.lockKeys([enc(free), enc(held)], { waitTimeoutMs: 700 }).then(() => undefined, (e: unknown) => e);
    const waited = Date.now() - started;
    expect(err).toBeInstanceOf(LockWaitTimeoutError);
    expect((err as LockWaitTimeoutError).holderTs).toBe(holder.startTs);
    expect(waited).toBeGreaterThanOrEqual(650);
    expect(waited).toBeLessThan(5_000);
    figures.lockWaitTimeoutAfterMs = waited;
    expect(waiter.lockedCount).toBe(0);
    // The waiter's locks are gone: the free key is free again.
    const fourth = await txns.timestamp();
    expect((await lockRaw([free], free, fourth, 3_000)).error).toBeFalsy();
    await onKey(enc(free), 'pessimisticRollback', (context) => ({ pessimisticRollback: { context, keys: [enc(free)], startTs: encodeTs(fourth), forUpdateTs: encodeTs(fourth) } }));
    await waiter.rollback();

    // Once the holder commits, a waiter gets the lock and the holder's value.
    holder.put(enc(held), enc('holder'));
    const late = await txns.begin();
    const pending = late.lockKeys([enc(held)], { returnValues: true });
    await new Promise((r) => setTimeout(r, 200));
    const committedAt = Date.now();
    await holder.commit();
    expect(dec((await pending).get(id(enc(held))))).toBe('holder');
    figures.wakeAfterCommitMs = Date.now() - committedAt;
    await late.rollback();
  });

  step('an abandoned pessimistic lock is resolved once its TTL passes; a heartbeating holder outlives its TTL', async () => {
    const key = filler(200);
    const abandonedTs = await txns.timestamp();
    const ttlMs = 400;
    expect((await lockRaw([key], key, abandonedTs, ttlMs)).error).toBeFalsy();
    const waiter = await txns.begin();
    const started = Date.now();
    const values = await waiter.lockKeys([enc(key)], { returnValues: true, waitTimeoutMs: 10_000 });
    figures.resolvedAbandonedAfterMs = Date.now() - started;
    expect(dec(values.get(id(enc(key))))).toBe('v-200');
    expect(physicalMs(await txns.timestamp())).toBeGreaterThan(physicalMs(abandonedTs) + ttlMs);
    await waiter.rollback();
    // The abandoned transaction was rolled back: it may not lock its primary again.
    const again = await lockRaw([key], key, abandonedTs, ttlMs);
    expect(again.error?.pessimisticLockRolledBack).toBeTruthy();

    // A holder with a short TTL but a heartbeat keeps its lock well past the TTL.
    const short = new TxnClient(kv, pd, { lockTtlMs: 300, heartbeatIntervalMs: 100 });
    const holder = await short.begin();
    await holder.lockKeys([enc(key)]);
    const blocked = await txns.begin();
    const wait = blocked.lockKeys([enc(key)], { returnValues: true, waitTimeoutMs: 10_000 }).then(() => Date.now());
    await new Promise((r) => setTimeout(r, 1_500));
    holder.put(enc(key), enc('kept alive'));
    const committedAt = Date.now();
    await holder.commit();
    expect(await wait).toBeGreaterThanOrEqual(committedAt);
    expect(await blocked.get(enc(key)).then(dec)).toBe('kept alive');
    await blocked.rollback();
  });

  step('a lock lost after it expired makes the commit fail as aborted, with nothing written', async () => {
    const key = filler(201);
    // No heartbeat at all: the lock expires while the transaction is still open.
    const forgetful = new TxnClient(kv, pd, { lockTtlMs: 300, heartbeatIntervalMs: 60_000 });
    const txn = await forgetful.begin();
    await txn.lockKeys([enc(key)]);
    txn.put(enc(key), enc('too late'));
    await waitUntil(async () => physicalMs(await txns.timestamp()) > physicalMs(txn.startTs) + 400, 5_000, 'the lock TTL to pass', 50);
    // Another transaction resolves the expired lock and commits the key.
    await txns.run(async (t) => {
      const v = await t.lockKeys([enc(key)], { returnValues: true });
      t.put(enc(key), enc(`${dec(v.get(id(enc(key))))}+other`));
    });
    await expect(txn.commit()).rejects.toBeInstanceOf(TxnAbortedError);
    expect(await readNow([key])).toEqual(['v-201+other']);
  });

  step('16 clients × 30 increments of one counter: every transaction commits, the counter ends at 480', async () => {
    const counter = enc('counter/one');
    await txns.run(async (t) => t.put(counter, enc('0')));
    const clients = 16;
    const rounds = 30;
    const lockMs: number[] = [];
    const waitMs: number[] = [];
    const failures: string[] = [];
    const kinds = { onePc: 0, twoPc: 0 };
    const started = Date.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let r = 0; r < rounds; r++) {
          let txn: Transaction | undefined;
          try {
            txn = await txns.begin();
            const t0 = Date.now();
            const got = await txn.lockKeys([counter], { returnValues: true });
            lockMs.push(Date.now() - t0);
            waitMs.push(txn.lockWaitMs);
            txn.put(counter, enc(String(Number(dec(got.get(id(counter)))) + 1)));
            await txn.commit();
            kinds[txn.commitKind!]++;
          } catch (err) {
            failures.push(err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err));
            await txn?.rollback().catch(() => {});
          }
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const commits = clients * rounds - failures.length;
    const lock = sortedNumbers(lockMs);
    const wait = sortedNumbers(waitMs);
    Object.assign(figures, {
      oneCounterCommitsPerSecond: Number((commits / seconds).toFixed(1)),
      oneCounterSeconds: Number(seconds.toFixed(2)),
      oneCounterLockKeysP50Ms: percentile(lock, 50),
      oneCounterLockKeysP99Ms: percentile(lock, 99),
      oneCounterLockWaitP50Ms: percentile(wait, 50),
      oneCounterLockWaitP99Ms: percentile(wait, 99),
      oneCounterOnePc: kinds.onePc,
    });
    expect(failures).toEqual([]);
    expect(await readNow(['counter/one'])).toEqual([String(clients * rounds)]);
    // One key, one Region: the pessimistic key commits in one phase.
    expect(kinds.onePc).toBeGreaterThan(0);
  }, 60_000);

  step('two groups lock two counters in opposite orders: no hang, each transaction commits or fails with a deadlock or wait timeout, the counters count the commits', async () => {
    const [ca, cb] = ['c/a', 'z/b'];
    await txns.run(async (t) => {
      t.put(enc(ca), enc('0'));
      t.put(enc(cb), enc('0'));
    });
    expect(await regionOf(ca)).not.toBe(await regionOf(cb));
    const perGroup = 8;
    const rounds = 8;
    let commits = 0;
    const failures = { deadlock: 0, timeout: 0, other: [] as string[] };
    const started = Date.now();
    const outcomeMs: Record<'commit' | 'deadlock' | 'timeout', number[]> = { commit: [], deadlock: [], timeout: [] };
    const client = async (order: readonly string[]): Promise<void> => {
      for (let r = 0; r < rounds; r++) {
        const txn = await txns.begin();
        const began = Date.now();
        try {
          const seen = new Map<string, number>();
          for (const key of order) {
            // One lockKeys per counter: the first is held while the second is waited for.
            const got = await txn.lockKeys([enc(key)], { returnValues: true });
            seen.set(key, Number(dec(got.get(id(enc(key))))));
          }
          for (const [key, value] of seen) txn.put(enc(key), enc(String(value + 1)));
          await txn.commit();
          commits++;
          outcomeMs.commit.push(Date.now() - began);
        } catch (err) {
          await txn.rollback().catch(() => {});
          if (err instanceof DeadlockError) {
            failures.deadlock++;
            outcomeMs.deadlock.push(Date.now() - began);
          } else if (err instanceof LockWaitTimeoutError) {
            failures.timeout++;
            outcomeMs.timeout.push(Date.now() - began);
          }
          else failures.other.push(err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err));
        }
      }
    };
    await Promise.all([...Array.from({ length: perGroup }, () => client([ca, cb])), ...Array.from({ length: perGroup }, () => client([cb, ca]))]);
    const seconds = (Date.now() - started) / 1000;
    Object.assign(figures, {
      twoCountersCommits: commits,
      twoCountersDeadlocks: failures.deadlock,
      twoCountersTimeouts: failures.timeout,
      twoCountersSeconds: Number(seconds.toFixed(2)),
      twoCountersCommitP50Ms: percentile(sortedNumbers(outcomeMs.commit), 50),
      twoCountersDeadlockP50Ms: percentile(sortedNumbers(outcomeMs.deadlock), 50),
      twoCountersDeadlockP99Ms: percentile(sortedNumbers(outcomeMs.deadlock), 99),
    });
    expect(failures.other).toEqual([]);
    expect(commits + failures.deadlock + failures.timeout).toBe(2 * perGroup * rounds);
    expect(commits).toBeGreaterThan(0);
    // Cycles are found, not only timed out (each timeout would cost the full 10 s wait).
    expect(failures.deadlock).toBeGreaterThan(0);
    await txns.flush();
    const [va, vb] = await readNow([ca, cb]);
    // Each commit incremented both counters once.
    expect([Number(va), Number(vb)]).toEqual([commits, commits]);
    expect(Number(va) + Number(vb)).toBe(2 * commits);
  }, 60_000);
});
