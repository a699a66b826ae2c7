// PdServer's lifecycle: option bounds, the post-election barrier (a new leader never answers
// from a stale state machine), and periodic work that runs only while leading.

import { describe, expect, it } from 'vitest';
import { PdServer } from '../../src/pd/server.js';
import { NotLeaderError } from '../../src/pd/errors.js';
import { FakePdGroup, ManualClock } from './fake_replication.js';
import { key, region, store } from './builders.js';
import { RecordingSink } from './sim_cluster.js';

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('PdServer', () => {
  it('validates its options, naming the offending one', () => {
    const { member } = FakePdGroup.single();
    expect(() => new PdServer({ stateMachine: member.stateMachine, replication: member, options: { maxReplicas: 0 } })).toThrow(/maxReplicas/);
    expect(() => new PdServer({ stateMachine: member.stateMachine, replication: member, options: { idWindow: 1.5 } })).toThrow(/idWindow/);
  });

  it('a new leader serves only after its state machine caught up (the TSO window is the barrier)', async () => {
    const group = new FakePdGroup([1, 2]);
    const clock = new ManualClock(1_000);
    const servers = group.members.map((m) => {
      const server = new PdServer({ stateMachine: m.stateMachine, replication: m, clock: clock.now, newClusterId: () => 5 });
      m.server = server;
      return server;
    });
    group.elect(1);
    await servers[0]!.bootstrap({ store: store(1), region: region(2, '', '', { confVer: 1, version: 1 }, [[3, 1]]) });
    await servers[0]!.putStore(store(4));
    // Member 2 has applied nothing; it becomes leader and is asked at once.
    let release!: () => void;
    group.gate = new Promise<void>((resolve) => (release = resolve));
    group.elect(2);
    expect(group.member(2).stateMachine.bootstrapped).toBe(false);
    expect(servers[1]!.isServing).toBe(false);
    const answer = servers[1]!.isBootstrapped();
    const stores = servers[1]!.getAllStores();
    await new Promise((resolve) => setTimeout(resolve, 10));
    group.gate = undefined;
    release();
    expect(await answer).toBe(true);
    expect((await stores).map((s) => s.id)).toEqual([1, 4]);
    expect((await servers[1]!.getRegionByKey(key('x')))?.region.id).toBe(2);
    // The deposed leader redirects.
    await expect(servers[0]!.allocIds(1)).rejects.toMatchObject({ constructor: NotLeaderError, leaderAddress: group.member(2).address });
  });

  it('runs patrols and TSO window extensions on timers only while leading, and stops them on losing leadership', async () => {
    const { group, member } = FakePdGroup.single();
    const server = new PdServer({
      stateMachine: member.stateMachine,
      replication: member,
      options: { patrolIntervalMs: 10, tsoWindowMs: 40 },
      newClusterId: () => 9,
    });
    member.server = server;
    server.start();
    group.elect(1);
    await server.ensureServing();
    await server.bootstrap({ store: store(1), region: region(2, '', '', { confVer: 1, version: 1 }, [[3, 1]]) });
    await server.putStore(store(4));
    const sink = new RecordingSink();
    server.handleRegionHeartbeat(
      { header: { clusterId: 9 }, region: region(2, '', '', { confVer: 1, version: 1 }, [[3, 1]]), leader: { id: 3, storeId: 1 } },
      sink,
    );
    // A patrol timer starts an operator and pushes its first step without another heartbeat.
    await waitFor(() => sink.received.length > 0);
    expect(sink.received[0]!.changePeer?.peer?.storeId).toBe(4);
    const limit = member.stateMachine.tsoPhysicalLimitMs;
    await waitFor(() => member.stateMachine.tsoPhysicalLimitMs > limit);

    group.loseLeader();
    expect(server.operators.size).toBe(0);
    expect(sink.ended).toBe(true); // heartbeat streams are closed so stores find the new leader
    const proposals = group.proposed.length;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(group.proposed.length).toBe(proposals); // no extensions, no patrol work
    server.stop();
  });
});
