// Timestamps over the one Tso stream: coalescing of concurrent callers, strict order, reconnection
// after leader changes and failures, and the bounds.

import { afterEach, describe, expect, it } from 'vitest';
import { PdClient, type PdClientOptions } from '../../src/client/pd_client.js';
import { DeadlineExceededError, InvalidArgumentError, OverloadedError } from '../../src/client/errors.js';
import { type Timestamp, compareTimestamps } from '../../src/client/tso.js';
import { FakeCluster } from './fake_cluster.js';

let cluster: FakeCluster | undefined;
let client: PdClient | undefined;

afterEach(() => {
  client?.close();
  client = undefined;
  cluster?.close();
  cluster = undefined;
});

async function setup(pdMembers: number, options: Partial<PdClientOptions> = {}): Promise<{ cluster: FakeCluster; pd: PdClient }> {
  cluster = await FakeCluster.start({ pdMembers });
  client = new PdClient({ endpoints: cluster.pdEndpoints, backoff: { baseMs: 5, maxMs: 40 }, ...options });
  return { cluster, pd: client };
}

function expectStrictlyIncreasing(timestamps: readonly Timestamp[]): void {
  for (let i = 1; i < timestamps.length; i++) {
    if (compareTimestamps(timestamps[i - 1]!, timestamps[i]!) >= 0) {
      throw new Error(`timestamp ${i} (${JSON.stringify(timestamps[i])}) is not after ${JSON.stringify(timestamps[i - 1])}`);
    }
  }
}

describe('TSO', () => {
  it('hands 1000 concurrent callers strictly increasing timestamps in far fewer stream messages', async () => {
    const { cluster, pd } = await setup(1);
    await pd.getTimestamp(); // warm up: discovery and the stream
    const requestsBefore = cluster.pd.leader.tsoRequests;
    const timestamps = await Promise.all(Array.from({ length: 1_000 }, () => pd.getTimestamp()));
    expectStrictlyIncreasing(timestamps);
    const messages = cluster.pd.leader.tsoRequests - requestsBefore;
    expect(messages).toBeGreaterThanOrEqual(1);
    expect(messages).toBeLessThanOrEqual(5);
    expect(cluster.pd.leader.tsoStreams).toBe(1);
  });

  it('coalesces callers arriving while a request is out, and answers batches of several', async () => {
    const { cluster, pd } = await setup(1);
    cluster.pd.tsoDelayMs = 20;
    const calls: Promise<Timestamp[]>[] = [];
    for (let wave = 0; wave < 5; wave++) {
      for (let i = 0; i < 50; i++) calls.push(pd.getTimestamps(1 + (i % 3)));
      await new Promise((r) => setTimeout(r, 5));
    }
    const results = await Promise.all(calls);
    expectStrictlyIncreasing(results.flat());
    results.forEach((r, i) => expect(r).toHaveLength(1 + ((i % 50) % 3)));
    // One request at a time: each one carries every caller that arrived while the previous was out.
    expect(cluster.pd.leader.tsoRequests).toBeLessThan(10);
  });

  it('keeps increasing across a PD leader change mid-stream (NOT_LEADER, then a broken stream)', async () => {
    const { cluster, pd } = await setup(3);
    const all: Timestamp[] = [];
    for (let round = 0; round < 15; round++) {
      if (round === 5) cluster.pd.moveLeader(1); // the old leader answers NOT_LEADER on the stream
      if (round === 10) cluster.pd.moveLeader(2, { breakStreams: true }); // the stream fails
      all.push(...(await Promise.all(Array.from({ length: 40 }, () => pd.getTimestamp()))));
    }
    expect(all).toHaveLength(600);
    expectStrictlyIncreasing(all);
    expect(cluster.pd.members[1]!.tsoRequests).toBeGreaterThan(0);
    expect(cluster.pd.members[2]!.tsoRequests).toBeGreaterThan(0);
    expect(pd.leaderAddress).toBe(cluster.pd.members[2]!.address);
    expect(pd.internals.tso.streamsOpened).toBeGreaterThanOrEqual(3);
  });

  it('re-discovers the leader when the leader member goes down', async () => {
    const { cluster, pd } = await setup(3);
    const before = await pd.getTimestamp();
    cluster.pd.stopMember(0);
    cluster.pd.moveLeader(1);
    const after = await pd.getTimestamp();
    expect(compareTimestamps(before, after)).toBeLessThan(0);
    expect(cluster.pd.members[1]!.tsoStreams).toBe(1);
  });

  it('fails callers at their deadline when no PD answers', async () => {
    const { cluster, pd } = await setup(1, { callTimeoutMs: 300, discoveryTimeoutMs: 100 });
    await pd.getTimestamp();
    cluster.pd.stopMember(0);
    const started = Date.now();
    const error = await pd.getTimestamp().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((error as DeadlineExceededError).message).toMatch(/getTimestamp/);
  });

  it('refuses counts outside [1, maxBatchSize] and callers beyond the pending bound', async () => {
    const { cluster, pd } = await setup(1, { tsoMaxBatchSize: 100, tsoMaxPendingTimestamps: 150 });
    await expect(pd.getTimestamps(0)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(pd.getTimestamps(101)).rejects.toBeInstanceOf(InvalidArgumentError);
    cluster.pd.tsoDelayMs = 50;
    const first = pd.getTimestamps(100);
    await expect(pd.getTimestamps(51)).rejects.toBeInstanceOf(OverloadedError);
    const second = pd.getTimestamps(50);
    const [a, b] = await Promise.all([first, second]);
    expectStrictlyIncreasing([...a, ...b]);
  });
});
