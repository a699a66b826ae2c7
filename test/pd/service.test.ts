// The Pd gRPC service over a real @grpc/grpc-js server on loopback: headers (cluster id checks,
// not-leader redirects), Bootstrap exactly once, AllocID, and the Tso and RegionHeartbeat streams.

import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdpb } from '../../src/proto/index.js';
import { PdService } from '../../src/proto/services.js';
import { PdServer } from '../../src/pd/server.js';
import { FakePdGroup, ManualClock } from './fake_replication.js';
import { region, store } from './builders.js';

const E = pdpb.ErrorType;
const PdClient = grpc.makeGenericClientConstructor(PdService, 'Pd');
type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

interface Node {
  server: PdServer;
  grpcServer: grpc.Server;
  client: AnyClient;
  address: string;
}

function call<Res>(client: AnyClient, method: string, request: object): Promise<Res> {
  return new Promise((resolve, reject) => {
    client[method]!(request, (error: grpc.ServiceError | null, response: Res) => (error ? reject(error) : resolve(response)));
  });
}

/** Sends `requests` on a bidi stream and collects `expected` responses. */
function exchange<Res>(client: AnyClient, method: string, requests: object[], expected: number): Promise<Res[]> {
  return new Promise((resolve, reject) => {
    const stream = client[method]!() as grpc.ClientDuplexStream<object, Res>;
    const responses: Res[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${responses.length} of ${expected} responses`)), 5_000);
    stream.on('data', (response: Res) => {
      responses.push(response);
      if (responses.length === expected) {
        clearTimeout(timer);
        stream.end();
        resolve(responses);
      }
    });
    stream.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    for (const request of requests) stream.write(request);
  });
}

describe('Pd gRPC service', () => {
  const group = new FakePdGroup([1, 2]);
  const clock = new ManualClock(1_700_000_000_000);
  const nodes: Node[] = [];
  let clusterId = 0;

  beforeAll(async () => {
    for (const member of group.members) {
      const server = new PdServer({ stateMachine: member.stateMachine, replication: member, clock: clock.now, newClusterId: () => 4242 });
      member.server = server;
      const grpcServer = new grpc.Server();
      grpcServer.addService(PdService, server.grpcImplementation());
      const port = await new Promise<number>((resolve, reject) =>
        grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
      );
      const address = `127.0.0.1:${port}`;
      const client = new PdClient(address, grpc.credentials.createInsecure()) as unknown as AnyClient;
      nodes.push({ server, grpcServer, client, address });
    }
    group.elect(1);
    await nodes[0]!.server.ensureServing();
  });

  afterAll(async () => {
    for (const node of nodes) {
      node.client.close();
      node.server.stop();
      await new Promise<void>((resolve) => node.grpcServer.tryShutdown(() => resolve()));
    }
  });

  const leader = (): AnyClient => nodes[0]!.client;
  const follower = (): AnyClient => nodes[1]!.client;

  it('GetMembers is answered by a follower too, naming the leader', async () => {
    const response = await call<pdpb.IGetMembersResponse>(follower(), 'getMembers', { header: {} });
    expect(response.header?.error).toBeFalsy();
    expect(response.members?.map((m) => Number(m.id))).toEqual([1, 2]);
    expect(response.leader?.address).toBe(group.member(1).address);
  });

  it('a follower redirects with ERROR_NOT_LEADER and the leader address', async () => {
    const response = await call<pdpb.IIsBootstrappedResponse>(follower(), 'isBootstrapped', { header: {} });
    expect(response.header?.error?.type).toBe(E.ERROR_NOT_LEADER);
    expect(response.header?.error?.leaderAddress).toBe(group.member(1).address);
  });

  it('before bootstrap: IsBootstrapped is false, other methods say ERROR_NOT_BOOTSTRAPPED', async () => {
    const is = await call<pdpb.IIsBootstrappedResponse>(leader(), 'isBootstrapped', { header: { clusterId: 0 } });
    expect(is.bootstrapped).toBe(false);
    const alloc = await call<pdpb.IAllocIDResponse>(leader(), 'allocId', { header: { clusterId: 0 }, count: 1 });
    expect(alloc.header?.error?.type).toBe(E.ERROR_NOT_BOOTSTRAPPED);
  });

  it('bootstraps exactly once; the second attempt reports the existing cluster id', async () => {
    const request = { header: { clusterId: 0 }, store: store(1), region: region(2, '', '', { confVer: 1, version: 1 }, [[3, 1]]) };
    const first = await call<pdpb.IBootstrapResponse>(leader(), 'bootstrap', request);
    expect(first.header?.error).toBeFalsy();
    clusterId = Number(first.header?.clusterId);
    expect(clusterId).toBe(4242);
    const second = await call<pdpb.IBootstrapResponse>(leader(), 'bootstrap', request);
    expect(second.header?.error?.type).toBe(E.ERROR_ALREADY_BOOTSTRAPPED);
    expect(Number(second.header?.clusterId)).toBe(4242);
    const is = await call<pdpb.IIsBootstrappedResponse>(leader(), 'isBootstrapped', { header: { clusterId: 0 } });
    expect(is.bootstrapped).toBe(true);
  });

  it('refuses a wrong or missing cluster id with ERROR_CLUSTER_MISMATCH', async () => {
    for (const header of [{ clusterId: clusterId + 1 }, { clusterId: 0 }, undefined]) {
      const response = await call<pdpb.IAllocIDResponse>(leader(), 'allocId', { header, count: 1 });
      expect(response.header?.error?.type).toBe(E.ERROR_CLUSTER_MISMATCH);
      expect(Number(response.header?.clusterId)).toBe(clusterId);
    }
    const is = await call<pdpb.IIsBootstrappedResponse>(leader(), 'isBootstrapped', { header: { clusterId: 999 } });
    expect(is.header?.error?.type).toBe(E.ERROR_CLUSTER_MISMATCH);
  });

  it('AllocID hands out fresh consecutive ids above the bootstrap ids', async () => {
    const a = await call<pdpb.IAllocIDResponse>(leader(), 'allocId', { header: { clusterId }, count: 5 });
    const b = await call<pdpb.IAllocIDResponse>(leader(), 'allocId', { header: { clusterId } });
    expect(a.header?.error).toBeFalsy();
    expect(Number(a.id)).toBeGreaterThan(3);
    expect(a.count).toBe(5);
    expect(Number(b.id)).toBe(Number(a.id) + 5);
    expect(b.count).toBe(1);
  });

  it('Tso stream: one response per request, strictly increasing; errors come back as headers on a live stream', async () => {
    const requests = [
      { header: { clusterId }, count: 1 },
      { header: { clusterId }, count: 10 },
      { header: { clusterId: 1 }, count: 1 }, // wrong cluster
      { header: { clusterId }, count: 0 }, // invalid
      { header: { clusterId }, count: 3 },
    ];
    const responses = await exchange<pdpb.ITsoResponse>(leader(), 'tso', requests, requests.length);
    expect(responses.map((r) => r.header?.error?.type ?? E.ERROR_OK)).toEqual([
      E.ERROR_OK,
      E.ERROR_OK,
      E.ERROR_CLUSTER_MISMATCH,
      E.ERROR_INVALID_ARGUMENT,
      E.ERROR_OK,
    ]);
    const values = responses
      .filter((r) => !r.header?.error)
      .map((r) => (BigInt(Number(r.timestamp!.physical)) << 18n) | BigInt(r.timestamp!.logical ?? 0));
    expect(values[1]! - values[0]!).toBe(10n); // the last of 10 consecutive timestamps
    expect(values[2]! - values[1]!).toBe(3n);
    expect(responses[1]!.count).toBe(10);
    expect(Number(responses[0]!.timestamp!.physical)).toBeGreaterThanOrEqual(clock.nowMs);
  });

  it('Tso on a follower answers ERROR_NOT_LEADER per request', async () => {
    const responses = await exchange<pdpb.ITsoResponse>(follower(), 'tso', [{ header: { clusterId }, count: 1 }], 1);
    expect(responses[0]!.header?.error?.type).toBe(E.ERROR_NOT_LEADER);
    expect(responses[0]!.header?.error?.leaderAddress).toBe(group.member(1).address);
  });

  it('RegionHeartbeat stream: the next operator step comes back to the Region leader', async () => {
    const put = await call<pdpb.IPutStoreResponse>(leader(), 'putStore', { header: { clusterId }, store: store(4) });
    expect(put.header?.error).toBeFalsy();
    const heartbeat = {
      header: { clusterId },
      region: region(2, '', '', { confVer: 1, version: 1 }, [[3, 1]]),
      leader: { id: 3, storeId: 1 },
      term: 1,
    };
    const stream = leader().regionHeartbeat!() as grpc.ClientDuplexStream<object, pdpb.IRegionHeartbeatResponse>;
    const received: pdpb.IRegionHeartbeatResponse[] = [];
    stream.on('data', (r: pdpb.IRegionHeartbeatResponse) => received.push(r));
    stream.write(heartbeat);
    await waitFor(() => nodes[0]!.server.heartbeatStreams.size === 1);
    await nodes[0]!.server.patrol(); // 1 voter, 2 stores: add a learner on store 4
    await waitFor(() => received.length >= 1);
    const step = received[0]!;
    expect(Number(step.regionId)).toBe(2);
    expect(step.changePeer?.changeType).toBe(pdpb.ChangeType.ADD_LEARNER);
    expect(Number(step.changePeer?.peer?.storeId)).toBe(4);
    expect(Number(step.targetPeer?.id)).toBe(3);
    stream.write({ ...heartbeat, header: { clusterId: 77 } });
    await waitFor(() => received.length >= 2);
    expect(received[1]!.header?.error?.type).toBe(E.ERROR_CLUSTER_MISMATCH);
    stream.end();
  });

  it('after a failover the old leader redirects and the new one serves with later timestamps', async () => {
    const before = await exchange<pdpb.ITsoResponse>(leader(), 'tso', [{ header: { clusterId }, count: 1 }], 1);
    group.elect(2);
    await nodes[1]!.server.ensureServing();
    const redirected = await call<pdpb.IAllocIDResponse>(leader(), 'allocId', { header: { clusterId } });
    expect(redirected.header?.error?.type).toBe(E.ERROR_NOT_LEADER);
    expect(redirected.header?.error?.leaderAddress).toBe(group.member(2).address);
    const after = await exchange<pdpb.ITsoResponse>(follower(), 'tso', [{ header: { clusterId }, count: 1 }], 1);
    const value = (r: pdpb.ITsoResponse): bigint => (BigInt(Number(r.timestamp!.physical)) << 18n) | BigInt(r.timestamp!.logical ?? 0);
    expect(after[0]!.header?.error).toBeFalsy();
    expect(value(after[0]!)).toBeGreaterThan(value(before[0]!));
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
