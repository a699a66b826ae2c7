// The Pd gRPC service: a thin adapter from PdService (src/proto/services.ts) to PdServer.
//
// Every answer carries a response header; PD errors travel in it (never as gRPC statuses), so a
// client always gets the cluster id and, on ERROR_NOT_LEADER, where the leader is. Checks, in
// order:
// 1. Leadership: every method but GetMembers is answered by the serving leader only; others get
//    ERROR_NOT_LEADER with `leader_address` (ERROR_UNAVAILABLE while a new leader catches up).
// 2. Cluster id: a request must name this cluster. 0 ("I don't know yet") is accepted by
//    GetMembers and IsBootstrapped, and by Bootstrap, where a non-zero id is the id the caller
//    wants for the new cluster and 0 lets the PD choose one. Anything else → ERROR_CLUSTER_MISMATCH.
// 3. Bootstrapped: methods about the cluster's contents need a bootstrapped cluster.
// Streams (Tso, RegionHeartbeat) apply the same checks to every message and answer failures with
// an error header on the stream; the stream itself stays up (except RegionHeartbeat on a
// follower, which is ended after the error so the store reconnects to the leader).

import { once } from 'node:events';
import type {
  handleBidiStreamingCall,
  handleUnaryCall,
  ServerDuplexStream,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { pdpb } from '../proto/index.js';
import type { PdService } from '../proto/services.js';
import {
  AlreadyBootstrappedError,
  ClusterMismatchError,
  InvalidArgumentError,
  NotBootstrappedError,
  NotLeaderError,
  PdUnavailableError,
  ProposalRejectedError,
  StoreTombstoneError,
} from './errors.js';
import { peerToProto, regionToProto, storeToProto, uint64 } from './meta.js';
import type { RegionWithLeader } from './cluster.js';
import type { PdServer } from './server.js';

/** Tso requests of one stream being answered at once; beyond it the stream stops reading. */
export const MAX_TSO_REQUESTS_IN_FLIGHT = 64;

type ClusterIdPolicy = 'open' | 'bootstrap' | 'bootstrapped';

type RequestWithHeader = { header?: pdpb.IRequestHeader | null };
type ResponseWithHeader = { header?: pdpb.IResponseHeader | null };

/** The handlers, keyed like PdService, typed per method. */
type StreamingMethod = 'tso' | 'regionHeartbeat';
type Service = typeof PdService;
type PdHandlers = { [K in Exclude<keyof Service, StreamingMethod>]: handleUnaryCall<Req<Service[K]>, Res<Service[K]>> } & {
  [K in StreamingMethod]: handleBidiStreamingCall<Req<Service[K]>, Res<Service[K]>>;
};
type Req<M> = M extends { requestDeserialize: (b: Buffer) => infer R } ? R : never;
type Res<M> = M extends { responseDeserialize: (b: Buffer) => infer R } ? R : never;

export function pdGrpcImplementation(server: PdServer): UntypedServiceImplementation {
  const handlers: PdHandlers = {
    getMembers: (_call, callback) => {
      const { members, leader } = server.members();
      callback(null, {
        header: { clusterId: server.stateMachine.clusterId },
        members: members.map((m) => ({ id: m.id, address: m.address })),
        leader: leader ? { id: leader.id, address: leader.address } : null,
      });
    },
    bootstrap: unary(server, 'bootstrap', async (request: pdpb.IBootstrapRequest) => {
      await server.bootstrap({ clusterId: requireNumber(request.header?.clusterId, 'header.cluster_id'), store: request.store, region: request.region });
      return {};
    }),
    isBootstrapped: unary(server, 'open', async () => ({ bootstrapped: await server.isBootstrapped() })),
    allocId: unary(server, 'bootstrapped', async (request: pdpb.IAllocIDRequest) => {
      const count = request.count || 1;
      return { id: await server.allocIds(count), count };
    }),
    tso: (call) => serveTso(server, call),
    getRegion: unary(server, 'bootstrapped', async (request: pdpb.IGetRegionRequest) =>
      regionResponse(await server.getRegionByKey(request.key ?? new Uint8Array(0))),
    ),
    getRegionById: unary(server, 'bootstrapped', async (request: pdpb.IGetRegionByIDRequest) =>
      regionResponse(await server.getRegionById(requireNumber(request.regionId, 'region_id'))),
    ),
    scanRegions: unary(server, 'bootstrapped', async (request: pdpb.IScanRegionsRequest) => {
      const found = await server.scanRegions(
        request.startKey ?? new Uint8Array(0),
        request.endKey ?? new Uint8Array(0),
        requireNumber(request.limit ?? 0, 'limit'),
      );
      return { regions: found.map(regionResponse) };
    }),
    getStore: unary(server, 'bootstrapped', async (request: pdpb.IGetStoreRequest) => {
      const store = await server.getStore(requireNumber(request.storeId, 'store_id'));
      return { store: store ? storeToProto(store) : null };
    }),
    getAllStores: unary(server, 'bootstrapped', async () => ({
      stores: (await server.getAllStores()).map(storeToProto),
    })),
    putStore: unary(server, 'bootstrapped', async (request: pdpb.IPutStoreRequest) => {
      await server.putStore(request.store);
      return {};
    }),
    storeHeartbeat: unary(server, 'bootstrapped', async (request: pdpb.IStoreHeartbeatRequest) => {
      const { gcSafePointMs } = await server.storeHeartbeat(request.stats);
      return { gcSafePoint: { physical: gcSafePointMs, logical: 0 } };
    }),
    regionHeartbeat: (call) => serveRegionHeartbeats(server, call),
    askSplit: unary(server, 'bootstrapped', async (request: pdpb.IAskSplitRequest) => server.askSplit(request.region)),
    reportSplit: unary(server, 'bootstrapped', async (request: pdpb.IReportSplitRequest) => {
      await server.reportSplit(request.left, request.right);
      return {};
    }),
  };
  return handlers as unknown as UntypedServiceImplementation;
}

function unary<Request extends RequestWithHeader, Response extends ResponseWithHeader>(
  server: PdServer,
  policy: ClusterIdPolicy,
  handle: (request: Request) => Promise<Omit<Response, 'header'>>,
): handleUnaryCall<Request, Response> {
  return (call, callback) => {
    void (async () => {
      let response: Response;
      try {
        await server.ensureServing();
        checkClusterId(server, call.request.header, policy);
        const body = await handle(call.request);
        response = { ...body, header: { clusterId: server.stateMachine.clusterId } } as Response;
      } catch (error) {
        response = { header: errorHeader(server, error) } as Response;
      }
      callback(null, response);
    })();
  };
}

function checkClusterId(server: PdServer, header: pdpb.IRequestHeader | null | undefined, policy: ClusterIdPolicy): void {
  const given = uint64(header?.clusterId);
  if (given === undefined) {
    throw new InvalidArgumentError('header.cluster_id is not an unsigned integer');
  }
  const sm = server.stateMachine;
  if (policy === 'bootstrapped') {
    if (!sm.bootstrapped) throw new NotBootstrappedError();
    if (given !== sm.clusterId) throw new ClusterMismatchError(sm.clusterId, given);
    return;
  }
  // 'open' and 'bootstrap': 0 is fine; before bootstrap there is no id to mismatch.
  if (given !== 0 && sm.bootstrapped && given !== sm.clusterId) throw new ClusterMismatchError(sm.clusterId, given);
}

/** Maps an error to a response header; unexpected errors are logged and reported as ERROR_UNKNOWN. */
export function errorHeader(server: PdServer, error: unknown): pdpb.IResponseHeader {
  const header = (type: pdpb.ErrorType, message: string, leaderAddress = ''): pdpb.IResponseHeader => ({
    clusterId: server.stateMachine.clusterId,
    error: { type, message, leaderAddress },
  });
  const E = pdpb.ErrorType;
  if (error instanceof NotLeaderError) return header(E.ERROR_NOT_LEADER, error.message, error.leaderAddress ?? '');
  if (error instanceof PdUnavailableError) return header(E.ERROR_UNAVAILABLE, error.message);
  if (error instanceof InvalidArgumentError) return header(E.ERROR_INVALID_ARGUMENT, error.message);
  if (error instanceof NotBootstrappedError) return header(E.ERROR_NOT_BOOTSTRAPPED, error.message);
  if (error instanceof AlreadyBootstrappedError) return header(E.ERROR_ALREADY_BOOTSTRAPPED, error.message);
  if (error instanceof ClusterMismatchError) return header(E.ERROR_CLUSTER_MISMATCH, error.message);
  if (error instanceof StoreTombstoneError) return header(E.ERROR_STORE_TOMBSTONE, error.message);
  if (error instanceof ProposalRejectedError) {
    switch (error.reason) {
      case 'already-bootstrapped':
        return header(E.ERROR_ALREADY_BOOTSTRAPPED, error.message);
      case 'not-bootstrapped':
        return header(E.ERROR_NOT_BOOTSTRAPPED, error.message);
      case 'store-tombstone':
        return header(E.ERROR_STORE_TOMBSTONE, error.message);
      case 'window-not-ahead':
        return header(E.ERROR_UNAVAILABLE, error.message);
      case 'malformed':
      case 'address-in-use':
      case 'too-large':
        return header(E.ERROR_INVALID_ARGUMENT, error.message);
    }
  }
  server.log({ level: 'error', msg: 'pd: unexpected failure answering a request', error: String(error) });
  return header(E.ERROR_UNKNOWN, `internal error: ${(error as Error)?.message ?? String(error)}`);
}

function requireNumber(value: unknown, field: string): number {
  const number = uint64(value);
  if (number === undefined) throw new InvalidArgumentError(`${field} is not an unsigned integer`);
  return number;
}

function regionResponse(found: RegionWithLeader | undefined): pdpb.IRegionWithLeader {
  if (!found) return {};
  return { region: regionToProto(found.region), leader: found.leader ? peerToProto(found.leader) : null };
}

/** One response per request, in request order; at most MAX_TSO_REQUESTS_IN_FLIGHT being worked on. */
function serveTso(server: PdServer, call: ServerDuplexStream<pdpb.ITsoRequest, pdpb.ITsoResponse>): void {
  let chain: Promise<void> = Promise.resolve();
  let inFlight = 0;
  let paused = false;
  call.on('data', (request: pdpb.ITsoRequest) => {
    inFlight++;
    if (inFlight >= MAX_TSO_REQUESTS_IN_FLIGHT && !paused) {
      paused = true;
      call.pause();
    }
    chain = chain
      .then(async () => {
        const response = await answerTso(server, request);
        if (!call.writable) return;
        // Respect the client's flow control: wait until it reads before answering the next.
        if (!call.write(response)) await drainedOrClosed(call);
      })
      .catch((error: unknown) => {
        server.log({ level: 'warn', msg: 'pd: tso stream write failed', error: String(error) });
      })
      .finally(() => {
        inFlight--;
        if (paused && inFlight < MAX_TSO_REQUESTS_IN_FLIGHT / 2) {
          paused = false;
          call.resume();
        }
      });
  });
  call.on('end', () => {
    void chain.then(() => {
      if (call.writable) call.end();
    });
  });
  call.on('error', () => {
    // The client went away; pending answers are dropped by the writable check.
  });
}

async function answerTso(server: PdServer, request: pdpb.ITsoRequest): Promise<pdpb.ITsoResponse> {
  try {
    await server.ensureServing();
    checkClusterId(server, request.header, 'bootstrapped');
    const count = requireNumber(request.count ?? 0, 'count');
    if (count === 0) throw new InvalidArgumentError('count must be at least 1');
    const ts = await server.getTimestamps(count);
    return {
      header: { clusterId: server.stateMachine.clusterId },
      count,
      timestamp: { physical: ts.physical, logical: ts.logical },
    };
  } catch (error) {
    return { header: errorHeader(server, error) };
  }
}

async function drainedOrClosed(call: ServerDuplexStream<pdpb.ITsoRequest, pdpb.ITsoResponse>): Promise<void> {
  const controller = new AbortController();
  try {
    await Promise.race([
      once(call, 'drain', { signal: controller.signal }),
      once(call, 'close', { signal: controller.signal }),
      once(call, 'finish', { signal: controller.signal }),
    ]);
  } catch {
    // Aborted or errored: either way there is nothing more to wait for.
  } finally {
    controller.abort();
  }
}

function serveRegionHeartbeats(
  server: PdServer,
  call: ServerDuplexStream<pdpb.IRegionHeartbeatRequest, pdpb.IRegionHeartbeatResponse>,
): void {
  const closed = (): void => server.heartbeatStreamClosed(call);
  call.on('data', (request: pdpb.IRegionHeartbeatRequest) => {
    try {
      if (!server.replication.isLeader()) {
        server.heartbeatStreams.sendTo(call, { header: errorHeader(server, new NotLeaderError(server.replication.leaderAddress())) });
        closed();
        if (call.writable) call.end();
        return;
      }
      checkClusterId(server, request.header, 'bootstrapped');
      server.handleRegionHeartbeat(request, call);
    } catch (error) {
      server.heartbeatStreams.sendTo(call, { header: errorHeader(server, error) });
    }
  });
  call.on('end', () => {
    closed();
    if (call.writable) call.end();
  });
  call.on('error', closed);
  call.on('close', closed);
}
