// One store connection: many requests multiplexed over one BatchCommands stream, responses matched
// by id in any order, the in-flight bound, and what happens when the store goes away.

import { afterEach, describe, expect, it } from 'vitest';
import { Deadline } from '../../src/client/deadline.js';
import { ClientClosedError, DeadlineExceededError, StoreUnreachableError } from '../../src/client/errors.js';
import { StoreClient, type StoreClientOptions } from '../../src/client/store_client.js';
import type { kvpb } from '../../src/proto/index.js';
import { FakeCluster } from './fake_cluster.js';
import { leaderPeer } from './fake_cluster_state.js';

let cluster: FakeCluster | undefined;
const clients: StoreClient[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  cluster?.close();
  cluster = undefined;
});

async function setup(options: StoreClientOptions = {}): Promise<{ cluster: FakeCluster; client: StoreClient }> {
  // One Region led by store 1 holds every key.
  cluster = await FakeCluster.start({ splitKeys: [], storeCount: 1 });
  const client = new StoreClient(cluster.store(1).address, options);
  clients.push(client);
  return { cluster, client };
}

function getRequest(cluster: FakeCluster, key: string): kvpb.IRequest {
  const region = cluster.state.regionOfKey(Buffer.from(key))!;
  return { get: { context: { regionId: region.id, regionEpoch: region.epoch, peer: leaderPeer(region) ?? null }, key: Buffer.from(key) } };
}

const value = (response: kvpb.IResponse): string => Buffer.from(response.get?.value ?? []).toString();

describe('StoreClient', () => {
  it('multiplexes 1000 concurrent requests over one stream in a few messages', async () => {
    const { cluster, client } = await setup({ maxBatchSize: 256 });
    for (let i = 0; i < 1_000; i++) cluster.state.put(`k${i}`, `v${i}`);
    const responses = await Promise.all(Array.from({ length: 1_000 }, (_, i) => client.send(getRequest(cluster, `k${i}`), Deadline.after(5_000))));
    responses.forEach((r, i) => expect(value(r)).toBe(`v${i}`));
    const store = cluster.store(1);
    expect(store.counters.batchStreams).toBe(1);
    expect(store.counters.batchRequests).toBe(1_000);
    // 1000 requests issued in one tick: ceil(1000 / 256) = 4 messages.
    expect(store.counters.batchMessages).toBe(4);
    expect(client.stats.messagesSent).toBe(4);
    expect(store.counters.unaryCalls).toBe(0);
  });

  it('matches responses to requests by id whatever order they come back in', async () => {
    const { cluster, client } = await setup();
    cluster.store(1).answerInReverse = true;
    for (let i = 0; i < 50; i++) cluster.state.put(`k${i}`, `v${i}`);
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => client.send(getRequest(cluster, `k${i}`), Deadline.after(5_000))));
    responses.forEach((r, i) => expect(value(r)).toBe(`v${i}`));
    expect(cluster.store(1).counters.batchMessages).toBe(1);
  });

  it('keeps at most maxInFlight requests outstanding; the rest wait', async () => {
    const { cluster, client } = await setup({ maxInFlight: 8 });
    cluster.store(1).responseDelayMs = 10;
    cluster.state.put('k', 'v');
    const responses = await Promise.all(Array.from({ length: 100 }, () => client.send(getRequest(cluster, 'k'), Deadline.after(10_000))));
    expect(responses.every((r) => value(r) === 'v')).toBe(true);
    expect(cluster.store(1).counters.maxOutstanding).toBeLessThanOrEqual(8);
    expect(cluster.store(1).counters.maxOutstanding).toBeGreaterThan(1);
    expect(client.stats.maxInFlightObserved).toBe(8);
    expect(client.inFlightCount).toBe(0);
  });

  it('a caller waiting for a slot gives up at its own deadline', async () => {
    const { cluster, client } = await setup({ maxInFlight: 1 });
    cluster.store(1).responseDelayMs = 300;
    const first = client.send(getRequest(cluster, 'k'), Deadline.after(5_000));
    const error = await client.send(getRequest(cluster, 'k'), Deadline.after(50)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect((error as Error).message).toMatch(/in-flight slots/);
    await first;
    // The slot given up was not leaked.
    await client.send(getRequest(cluster, 'k'), Deadline.after(5_000));
    expect(client.inFlightCount).toBe(0);
  });

  it('fails outstanding requests with a retryable StoreUnreachableError when the store goes down, and reconnects after', async () => {
    const { cluster, client } = await setup();
    const store = cluster.store(1);
    cluster.state.put('k', 'v');
    expect(value(await client.send(getRequest(cluster, 'k'), Deadline.after(5_000)))).toBe('v');
    store.responseDelayMs = 1_000;
    const pending = Array.from({ length: 5 }, () => client.send(getRequest(cluster, 'k'), Deadline.after(5_000)).catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 50));
    store.stop();
    const errors = await Promise.all(pending);
    for (const error of errors) {
      expect(error).toBeInstanceOf(StoreUnreachableError);
      expect((error as StoreUnreachableError).retryable).toBe(true);
    }
    // While down, new requests fail fast rather than hang.
    await expect(client.send(getRequest(cluster, 'k'), Deadline.after(5_000))).rejects.toBeInstanceOf(StoreUnreachableError);
    store.responseDelayMs = 0;
    await store.start();
    let answered: kvpb.IResponse | undefined;
    for (let attempt = 0; attempt < 100 && !answered; attempt++) {
      answered = await client.send(getRequest(cluster, 'k'), Deadline.after(5_000)).catch(async () => {
        await new Promise((r) => setTimeout(r, 50));
        return undefined;
      });
    }
    expect(answered && value(answered)).toBe('v');
    expect(client.stats.streamsOpened).toBeGreaterThanOrEqual(2);
  });

  it('times out a request the store never answers, without breaking the stream', async () => {
    const { cluster, client } = await setup();
    cluster.store(1).responseDelayMs = 300;
    const error = await client.send(getRequest(cluster, 'k'), Deadline.after(50)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    cluster.store(1).responseDelayMs = 0;
    cluster.state.put('k', 'v');
    expect(value(await client.send(getRequest(cluster, 'k'), Deadline.after(5_000)))).toBe('v');
    expect(client.stats.streamsOpened).toBe(1);
  });

  it('close() fails pending requests with ClientClosedError', async () => {
    const { cluster, client } = await setup();
    cluster.store(1).responseDelayMs = 1_000;
    const pending = client.send(getRequest(cluster, 'k'), Deadline.after(5_000)).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    client.close();
    expect(await pending).toBeInstanceOf(ClientClosedError);
    await expect(client.send(getRequest(cluster, 'k'), Deadline.after(100))).rejects.toBeInstanceOf(ClientClosedError);
  });
});
