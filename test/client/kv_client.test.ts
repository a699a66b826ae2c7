// The raw KV client against a fake cluster of three stores and four Regions [,b) [b,d) [d,f) [f,)
// led by stores 1, 2, 3, 1: routing, scans across Region boundaries, and recovery from each Region
// error, from a store going down, and the bounds (deadline, retries).

import { afterEach, describe, expect, it } from 'vitest';
import { RawKvClient, type RawKvClientOptions, type RetryEvent } from '../../src/client/kv_client.js';
import { PdClient } from '../../src/client/pd_client.js';
import {
  BatchWritePartialError,
  DeadlineExceededError,
  InvalidArgumentError,
  RetriesExhaustedError,
  StoreUnreachableError,
} from '../../src/client/errors.js';
import { FakeCluster } from './fake_cluster.js';

let cluster: FakeCluster | undefined;
let pd: PdClient | undefined;
let kv: RawKvClient | undefined;

afterEach(() => {
  kv?.close();
  kv = undefined;
  pd?.close();
  pd = undefined;
  cluster?.close();
  cluster = undefined;
});

interface Setup {
  cluster: FakeCluster;
  kv: RawKvClient;
  pd: PdClient;
  events: RetryEvent[];
}

async function setup(options: Partial<RawKvClientOptions> = {}): Promise<Setup> {
  cluster = await FakeCluster.start({ splitKeys: ['b', 'd', 'f'] });
  pd = new PdClient({ endpoints: cluster.pdEndpoints, backoff: { baseMs: 5, maxMs: 40 } });
  const events: RetryEvent[] = [];
  kv = new RawKvClient({ pd, backoff: { baseMs: 5, maxMs: 50 }, onRetry: (e) => events.push(e), ...options });
  return { cluster, kv, pd, events };
}

const b = (s: string): Buffer => Buffer.from(s);
const s = (u: Uint8Array | undefined): string | undefined => (u === undefined ? undefined : Buffer.from(u).toString());
const keysOf = (pairs: readonly { key: Uint8Array }[]): string[] => pairs.map((p) => Buffer.from(p.key).toString());

function regionIdOf(cluster: FakeCluster, key: string): number {
  return cluster.state.regionOfKey(b(key))!.id;
}

describe('RawKvClient: reads and writes across Regions', () => {
  it('puts, gets and deletes keys in all four Regions, each at its leader', async () => {
    const { cluster, kv } = await setup();
    for (const key of ['a1', 'c1', 'e1', 'g1']) await kv.put(b(key), b(`value of ${key}`));
    for (const key of ['a1', 'c1', 'e1', 'g1']) expect(s(await kv.get(b(key)))).toBe(`value of ${key}`);
    expect(cluster.state.getValue('e1')).toBe('value of e1');
    expect(await kv.get(b('zz'))).toBeUndefined();
    await kv.delete(b('c1'));
    expect(await kv.get(b('c1'))).toBeUndefined();
    // Every request went to a leader: no Region errors at all.
    for (const store of cluster.stores) expect(store.counters.regionErrors).toEqual({});
    expect(kv.regionCache.size).toBe(4);
  });

  it('batchGet and batchWrite group keys per Region; batchGet answers in the order asked', async () => {
    const { cluster, kv } = await setup();
    await kv.batchWrite([
      { op: 'put', key: b('g2'), value: b('7') },
      { op: 'put', key: b('a2'), value: b('1') },
      { op: 'put', key: b('c2'), value: b('3') },
      { op: 'put', key: b('e2'), value: b('5') },
      { op: 'put', key: b('a3'), value: b('2') },
    ]);
    // Four Regions: four requests, one per Region.
    expect(cluster.totalHandled()).toBe(4);
    const pairs = await kv.batchGet([b('e2'), b('missing'), b('a3'), b('g2'), b('a2'), b('c2'), b('a3')]);
    expect(keysOf(pairs)).toEqual(['e2', 'a3', 'g2', 'a2', 'c2']);
    expect(pairs.map((p) => s(p.value))).toEqual(['5', '2', '7', '1', '3']);
    await kv.batchWrite([
      { op: 'delete', key: b('a2') },
      { op: 'delete', key: b('g2') },
    ]);
    expect(cluster.state.getValue('a2')).toBeUndefined();
    expect(cluster.state.getValue('g2')).toBeUndefined();
  });

  it('multiplexes concurrent operations over the stores’ streams', async () => {
    const { cluster, kv } = await setup();
    await Promise.all(Array.from({ length: 400 }, (_, i) => kv.put(b(`${'aceg'[i % 4]}${i}`), b(`${i}`))));
    const messages = cluster.stores.reduce((n, st) => n + st.counters.batchMessages, 0);
    const requests = cluster.stores.reduce((n, st) => n + st.counters.batchRequests, 0);
    expect(requests).toBe(400);
    expect(messages).toBeLessThan(40);
    expect(cluster.stores.every((st) => st.counters.batchStreams === 1 && st.counters.unaryCalls === 0)).toBe(true);
    // The cache was cold: the burst waited for the loads under way instead of asking PD 400 times.
    expect(cluster.pd.totalCalls('GetRegion')).toBeLessThanOrEqual(8);
  });

  it('refuses invalid input before any traffic', async () => {
    const { cluster, kv } = await setup({ maxBatchKeys: 3 });
    await expect(kv.get(new Uint8Array())).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(kv.batchGet([b('a'), b('b'), b('c'), b('d')])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(kv.scan(b('a'), b(''), -1)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(cluster.totalHandled()).toBe(0);
  });
});

describe('RawKvClient: scan', () => {
  async function seeded(options: Partial<RawKvClientOptions> = {}): Promise<Setup> {
    const setupResult = await setup(options);
    for (const prefix of 'abcdefgh') for (let i = 0; i < 5; i++) setupResult.cluster.state.put(`${prefix}${i}`, `${prefix}${i}!`);
    return setupResult;
  }

  it('walks every Region in key order', async () => {
    const { kv } = await seeded();
    const pairs = await kv.scan(b(''), b(''), 1_000);
    const expected = [...'abcdefgh'].flatMap((p) => [0, 1, 2, 3, 4].map((i) => `${p}${i}`));
    expect(keysOf(pairs)).toEqual(expected);
    expect(pairs.map((p) => s(p.value))).toEqual(expected.map((k) => `${k}!`));
  });

  it('honours start, end and limit across boundaries', async () => {
    const { kv } = await seeded();
    expect(keysOf(await kv.scan(b('a3'), b('e1'), 100))).toEqual(['a3', 'a4', 'b0', 'b1', 'b2', 'b3', 'b4', 'c0', 'c1', 'c2', 'c3', 'c4', 'd0', 'd1', 'd2', 'd3', 'd4', 'e0']);
    expect(keysOf(await kv.scan(b('a3'), b(''), 4))).toEqual(['a3', 'a4', 'b0', 'b1']);
    expect(keysOf(await kv.scan(b('c'), b('d'), 10))).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(keysOf(await kv.scan(b('d'), b('d'), 10))).toEqual([]);
    expect(keysOf(await kv.scan(b('h3'), b(''), 10))).toEqual(['h3', 'h4']);
    expect(await kv.scan(b('a'), b(''), 0)).toEqual([]);
  });

  it('pages within a Region when it holds more than one request’s worth', async () => {
    const { kv, cluster } = await seeded({ scanBatchSize: 3 });
    const before = cluster.totalHandled();
    const pairs = await kv.scan(b('a'), b('d'), 100);
    expect(keysOf(pairs)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'b3', 'b4', 'c0', 'c1', 'c2', 'c3', 'c4']);
    // [,b): 3 + 2; [b,d): 3 + 3 + 3 + 1 (the last page comes back short).
    expect(cluster.totalHandled() - before).toBe(6);
  });

  it('returns keys only when asked', async () => {
    const { kv } = await seeded();
    const pairs = await kv.scan(b('b'), b('c'), 10, { keyOnly: true });
    expect(keysOf(pairs)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
    expect(pairs.every((p) => p.value.length === 0)).toBe(true);
  });

  it('follows a split that happens between two scans', async () => {
    const { kv, cluster } = await seeded();
    await kv.scan(b(''), b(''), 1_000);
    cluster.state.split('c2');
    cluster.state.split('g');
    const pairs = await kv.scan(b('b3'), b('h1'), 1_000);
    expect(keysOf(pairs)[0]).toBe('b3');
    expect(keysOf(pairs).at(-1)).toBe('h0');
    expect(pairs).toHaveLength(28);
  });
});

describe('RawKvClient: Region errors', () => {
  it('follows a NotLeader hint at once: one extra round trip, no backoff, the cache remembers', async () => {
    // Any backoff is longer than the whole deadline, so an operation that backed off would fail.
    const { cluster, kv, events } = await setup({ backoff: { baseMs: 60_000, maxMs: 60_000 } });
    await kv.get(b('c1')); // cache the Region [b,d), led by store 2
    cluster.state.pdLags = true;
    cluster.state.moveLeader(regionIdOf(cluster, 'c1'), 3);
    const [store2, store3] = [cluster.store(2), cluster.store(3)];
    const before2 = store2.counters.handled;
    const before3 = store3.counters.handled;
    const started = Date.now();
    await kv.put(b('c1'), b('x'));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(store2.counters.handled - before2).toBe(1); // NotLeader, with the hint
    expect(store3.counters.handled - before3).toBe(1); // served
    expect(events.map((e) => [e.reason, e.backoffMs])).toEqual([['NotLeader', 0]]);
    expect(kv.stats.backoffs).toBe(0);
    await kv.get(b('c1'));
    expect(store2.counters.handled - before2).toBe(1);
    expect(store3.counters.handled - before3).toBe(2);
  });

  it('without a hint tries the other peers first, and backs off only when every peer refused', async () => {
    const { cluster, kv, events } = await setup();
    const region = regionIdOf(cluster, 'e1'); // led by store 3
    cluster.store(3).inject({ kind: 'notLeaderNoHint' }, 1, region);
    await kv.put(b('e1'), b('1'));
    // Store 3: no hint; store 1 (first other peer): not leader, hint → store 3: served.
    expect(events.map((e) => [e.reason, e.backoffMs])).toEqual([
      ['NotLeader', 0],
      ['NotLeader', 0],
    ]);
    events.length = 0;
    for (const store of cluster.stores) store.inject({ kind: 'notLeaderNoHint' }, 1, region);
    await kv.put(b('e1'), b('2'));
    expect(events.filter((e) => e.backoffMs > 0).map((e) => e.reason)).toEqual(['NotLeader']);
    expect(cluster.state.getValue('e1')).toBe('2');
  });

  it('re-routes after a split from the EpochNotMatch answer, without asking PD', async () => {
    const { cluster, kv, events } = await setup();
    await kv.batchWrite([
      { op: 'put', key: b('b1'), value: b('1') },
      { op: 'put', key: b('c5'), value: b('2') },
    ]);
    cluster.state.pdLags = true; // PD has not heard of the split: the answer must come from the store
    const { left, right } = cluster.state.split('c');
    const getRegionCalls = cluster.pd.totalCalls('GetRegion');
    await kv.batchWrite([
      { op: 'put', key: b('b2'), value: b('3') },
      { op: 'put', key: b('c6'), value: b('4') },
    ]);
    expect(events.map((e) => e.reason)).toEqual(['EpochNotMatch']);
    expect(cluster.pd.totalCalls('GetRegion')).toBe(getRegionCalls);
    expect(kv.regionCache.getById(left.id)?.region.epoch.version).toBe(2);
    expect(kv.regionCache.getById(right.id)?.region.startKey).toEqual(b('c'));
    expect(cluster.state.getValue('b2')).toBe('3');
    expect(cluster.state.getValue('c6')).toBe('4');
    const pairs = await kv.batchGet([b('b1'), b('c5'), b('b2'), b('c6')]);
    expect(pairs.map((p) => s(p.value))).toEqual(['1', '2', '3', '4']);
  });

  it('RegionNotFound: invalidates, backs off, reloads the Region from PD', async () => {
    const { cluster, kv, events } = await setup();
    await kv.get(b('a1'));
    const calls = cluster.pd.totalCalls('GetRegion');
    cluster.store(1).inject({ kind: 'regionNotFound' }, 1, regionIdOf(cluster, 'a1'));
    await kv.put(b('a1'), b('v'));
    expect(events.map((e) => e.reason)).toEqual(['RegionNotFound']);
    expect(events[0]!.backoffMs).toBeGreaterThan(0);
    expect(cluster.pd.totalCalls('GetRegion')).toBe(calls + 1);
  });

  it('ServerIsBusy: backs off at least as long as the store asks', async () => {
    const { cluster, kv, events } = await setup();
    await kv.get(b('a1'));
    cluster.store(1).inject({ kind: 'serverIsBusy', backoffMs: 80 }, 1);
    const started = Date.now();
    await kv.put(b('a1'), b('v'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    expect(events.map((e) => e.reason)).toEqual(['ServerIsBusy']);
    expect(events[0]!.backoffMs).toBeGreaterThanOrEqual(80);
  });

  it('StaleCommand: retries at once', async () => {
    const { cluster, kv, events } = await setup();
    cluster.store(1).inject({ kind: 'staleCommand' }, 2);
    await kv.put(b('a1'), b('v'));
    expect(events.map((e) => [e.reason, e.backoffMs])).toEqual([
      ['StaleCommand', 0],
      ['StaleCommand', 0],
    ]);
  });

  it('gives up after maxRetries with the attempts in the error', async () => {
    const { cluster, kv } = await setup({ maxRetries: 3 });
    cluster.store(1).inject({ kind: 'staleCommand' }, 100);
    const error = await kv.put(b('a1'), b('v')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as Error).message).toMatch(/put "a1": gave up after 3 retries; tried: .*StaleCommand/);
  });
});

describe('RawKvClient: stores going down', () => {
  it("when the leader's store is down, asks the other peers at once, then backs off until a leader emerges", async () => {
    const { cluster, kv, events, pd } = await setup();
    await kv.get(b('a1')); // Region [,b) led by store 1
    cluster.store(1).stop();
    setTimeout(() => cluster.state.moveAllLeaders(1, 2), 300);
    await kv.put(b('a1'), b('after failover'), { timeoutMs: 10_000 });
    expect(cluster.state.getValue('a1')).toBe('after failover');
    const unreachable = events.filter((e) => e.reason === 'StoreUnreachable');
    expect(unreachable.length).toBeGreaterThanOrEqual(1);
    // The first failure moves on to another peer without waiting: that peer may know (or elect)
    // the new leader long before the placement driver hears of it.
    expect(unreachable[0]!.backoffMs).toBe(0);
    // Stale hints naming the dead store are not followed back to it at once.
    expect(events.some((e) => e.reason === 'NotLeader')).toBe(true);
    expect(kv.regionCache.locate(b('a1'))?.leader?.storeId).toBe(2);
    expect(pd.leaderAddress).toBeDefined();
    // Waiting for an election, no sleep exceeds the short cap, however many rounds it takes.
    const waits = events.filter((e) => e.backoffMs > 0);
    expect(waits.length).toBeGreaterThan(3);
    expect(Math.max(...waits.map((e) => e.backoffMs))).toBeLessThanOrEqual(100);
  });

  it('gives a clear DeadlineExceededError when the leader never comes back', async () => {
    const { cluster, kv } = await setup();
    cluster.store(1).stop();
    const started = Date.now();
    const error = await kv.put(b('a1'), b('v'), { timeoutMs: 400 }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect((error as Error).message).toMatch(/^put "a1": deadline of 400 ms exceeded; tried( \(\d+ attempts\))?: .*store 127\.0\.0\.1:\d+ unreachable/);
    expect(elapsed).toBeLessThan(1_500);
  });

  it('batchWrite across Regions reports which mutations committed and which were not confirmed', async () => {
    const { cluster, kv } = await setup();
    cluster.store(2).stop(); // leads [b,d)
    const error = await kv
      .batchWrite(
        [
          { op: 'put', key: b('a1'), value: b('1') },
          { op: 'put', key: b('c1'), value: b('2') },
          { op: 'put', key: b('e1'), value: b('3') },
        ],
        { timeoutMs: 400 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchWritePartialError);
    const partial = error as BatchWritePartialError<{ key: Uint8Array }>;
    expect(keysOf(partial.committed).sort()).toEqual(['a1', 'e1']);
    expect(partial.unconfirmed).toHaveLength(1);
    expect(keysOf(partial.unconfirmed[0]!.mutations)).toEqual(['c1']);
    expect(partial.unconfirmed[0]!.error.code).toBe('DeadlineExceeded');
    expect(partial.message).toMatch(/2 mutations committed, 1 in 1 Region group\(s\) not confirmed/);
    expect(cluster.state.getValue('a1')).toBe('1');
    expect(cluster.state.getValue('c1')).toBeUndefined();
  });

  it('a single-Region write that fails throws its own error, not a partial one', async () => {
    const { cluster, kv } = await setup();
    cluster.store(2).stop();
    const error = await kv.put(b('c1'), b('v'), { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect((error as DeadlineExceededError).lastError).toBeInstanceOf(StoreUnreachableError);
  });
});

describe('RawKvClient: the local handler', () => {
  it('hands requests for Regions led by the local store over in-process', async () => {
    const { cluster, kv } = await setup();
    const local = cluster.store(1);
    kv.setLocalHandler(local);
    await kv.put(b('a1'), b('local')); // [,b) led by store 1
    await kv.put(b('g1'), b('local too')); // [f,) led by store 1
    await kv.put(b('c1'), b('remote')); // [b,d) led by store 2
    expect(s(await kv.get(b('a1')))).toBe('local');
    expect((await kv.scan(b('f'), b(''), 10)).map((p) => s(p.value))).toEqual(['local too']);
    expect(local.counters.local).toBe(4);
    expect(local.counters.batchMessages).toBe(0);
    expect(local.counters.unaryCalls).toBe(0);
    expect(kv.storeConnections().has(local.address)).toBe(false);
    expect(cluster.store(2).counters.batchRequests).toBe(1);
    expect(kv.stats.localRequests).toBe(4);
  });

  it('Region errors from the local store are handled like remote ones', async () => {
    const { cluster, kv, events } = await setup();
    kv.setLocalHandler(cluster.store(1));
    cluster.state.pdLags = true;
    cluster.state.moveLeader(regionIdOf(cluster, 'a1'), 3);
    await kv.put(b('a1'), b('v'));
    expect(events.map((e) => e.reason)).toEqual(['NotLeader']);
    expect(cluster.store(1).counters.local).toBe(1);
    expect(cluster.store(3).counters.batchRequests).toBe(1);
  });
});
