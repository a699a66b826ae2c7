// A fake placement driver of one or more members, each a real gRPC server implementing the Pd
// service over the fake cluster's routing view. One member leads (configurable); the others answer
// GetMembers (naming the leader) and NOT_LEADER with the leader's address for everything else,
// including each TsoRequest on an open stream. The oracle and the id counter are shared by the
// members, like replicated state would be, so a new leader never goes back in time.

import * as grpc from '@grpc/grpc-js';
import { type metapb, pdpb } from '../../src/proto/index.js';
import { PdService } from '../../src/proto/services.js';
import { type FakeClusterState, type FakeRegion, leaderPeer, toWireRegion } from './fake_cluster_state.js';
import { bindServer, failStream, unaryHandler } from './fake_server.js';
import { u64 } from '../../src/client/wire.js';

type Stream<Req, Res> = grpc.ServerDuplexStream<Req, Res>;

const MAX_LOGICAL = 1 << 18;

export class FakePdMember {
  server: grpc.Server | undefined;
  port = 0;
  readonly calls: Record<string, number> = {};
  /** Cluster ids seen in request headers, in order. */
  readonly headerClusterIds: number[] = [];
  tsoRequests = 0;
  tsoStreams = 0;
  heartbeatStreams = 0;
  readonly openStreams = new Set<Stream<unknown, unknown>>();

  constructor(readonly index: number) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  count(method: string): void {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
  }
}

export class FakePd {
  readonly members: FakePdMember[] = [];
  leaderIndex = 0;
  /** The next this-many leader answers are ERROR_UNAVAILABLE. */
  unavailableAnswers = 0;
  /** NOT_LEADER answers leave leader_address empty. */
  redirectWithoutAddress = false;
  /** GetMembers answers name no leader (an election in progress). */
  noLeaderKnown = false;
  /** Answer headers carry this cluster id instead of the real one (a foreign cluster). */
  answerClusterId: number | undefined;
  /** The next leader answer (other than GetMembers) carries this error type. */
  forcedError: pdpb.ErrorType | undefined;
  bootstrapped = true;
  /** Like the real PD: answer with cluster id 0 until bootstrapped. */
  hideClusterIdUntilBootstrapped = false;
  /** Like the real PD: refuse cluster id 0 (as a mismatch) except for the methods open to it. */
  strictClusterId = false;
  readonly stores = new Map<number, metapb.IStore>();
  readonly heartbeats: pdpb.IRegionHeartbeatRequest[] = [];
  private tsoPhysical = 0;
  private tsoNextLogical = 0;
  /** Delay before each Tso answer. */
  tsoDelayMs = 0;

  constructor(private readonly cluster: FakeClusterState) {}

  get leader(): FakePdMember {
    return this.members[this.leaderIndex]!;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.address);
  }

  totalCalls(method: string): number {
    return this.members.reduce((n, m) => n + (m.calls[method] ?? 0), 0);
  }

  async start(memberCount: number): Promise<void> {
    for (let i = 0; i < memberCount; i++) this.members.push(new FakePdMember(i));
    for (const member of this.members) await this.startMember(member);
  }

  async startMember(member: FakePdMember): Promise<void> {
    const server = new grpc.Server();
    server.addService(PdService, this.service(member));
    member.port = await bindServer(server, member.port);
    member.server = server;
  }

  stopMember(index: number): void {
    const member = this.members[index]!;
    member.server?.forceShutdown();
    member.server = undefined;
    member.openStreams.clear();
  }

  /** Moves leadership; with `breakStreams`, the old leader's open streams fail (as on a crash). */
  moveLeader(index: number, options: { breakStreams?: boolean } = {}): void {
    const old = this.leader;
    this.leaderIndex = index;
    if (options.breakStreams) {
      for (const stream of old.openStreams) failStream(stream, grpc.status.UNAVAILABLE, 'leader stepped down');
      old.openStreams.clear();
    }
  }

  stop(): void {
    for (const member of this.members) member.server?.forceShutdown();
  }

  /** The header error a member answers `method` with, if any (the shared rules of every call). */
  private headerFor(member: FakePdMember, method: string, request: { header?: pdpb.IRequestHeader | null }): pdpb.IResponseHeader {
    member.count(method);
    const asked = u64(request.header?.clusterId);
    member.headerClusterIds.push(asked);
    const clusterId = this.answerClusterId ?? (this.hideClusterIdUntilBootstrapped && !this.bootstrapped ? 0 : this.cluster.clusterId);
    const openToZero = method === 'GetMembers' || method === 'IsBootstrapped' || method === 'Bootstrap';
    if ((asked !== 0 && asked !== clusterId) || (this.strictClusterId && asked === 0 && !openToZero)) {
      return { clusterId, error: { type: pdpb.ErrorType.ERROR_CLUSTER_MISMATCH, message: `cluster is ${clusterId}` } };
    }
    if (method !== 'GetMembers' && member.index !== this.leaderIndex) {
      return {
        clusterId,
        error: {
          type: pdpb.ErrorType.ERROR_NOT_LEADER,
          message: 'not leader',
          leaderAddress: this.redirectWithoutAddress ? '' : this.leader.address,
        },
      };
    }
    if (method !== 'GetMembers' && this.forcedError !== undefined) {
      const type = this.forcedError;
      this.forcedError = undefined;
      return { clusterId, error: { type, message: 'forced by the test' } };
    }
    if (method !== 'GetMembers' && this.unavailableAnswers > 0) {
      this.unavailableAnswers -= 1;
      return { clusterId, error: { type: pdpb.ErrorType.ERROR_UNAVAILABLE, message: 'no leader yet' } };
    }
    return { clusterId };
  }

  private allocTimestamps(count: number): pdpb.ITimestamp {
    const now = Date.now();
    if (now > this.tsoPhysical) {
      this.tsoPhysical = now;
      this.tsoNextLogical = 0;
    }
    if (this.tsoNextLogical + count > MAX_LOGICAL) {
      this.tsoPhysical += 1;
      this.tsoNextLogical = 0;
    }
    this.tsoNextLogical += count;
    return { physical: this.tsoPhysical, logical: this.tsoNextLogical - 1 };
  }

  private routing(region: FakeRegion | undefined): pdpb.IGetRegionResponse {
    return region ? { region: toWireRegion(region), leader: leaderPeer(region) ?? null } : {};
  }

  private service(member: FakePdMember): grpc.UntypedServiceImplementation {
    const cluster = this.cluster;
    const ok = (header: pdpb.IResponseHeader): boolean => !header.error;
    const impl: Record<keyof typeof PdService, grpc.UntypedHandleCall> = {
      getMembers: unaryHandler((request: pdpb.IGetMembersRequest): pdpb.IGetMembersResponse => {
        const header = this.headerFor(member, 'GetMembers', request);
        if (!ok(header)) return { header };
        const members = this.members.map((m) => ({ id: m.index + 1, address: m.address }));
        return { header, members, leader: this.noLeaderKnown ? null : members[this.leaderIndex]! };
      }),
      bootstrap: unaryHandler((request: pdpb.IBootstrapRequest): pdpb.IBootstrapResponse => {
        const header = this.headerFor(member, 'Bootstrap', request);
        if (!ok(header)) return { header };
        if (this.bootstrapped) return { header: { ...header, error: { type: pdpb.ErrorType.ERROR_ALREADY_BOOTSTRAPPED, message: 'already' } } };
        this.bootstrapped = true;
        if (request.store && u64(request.store.id)) this.stores.set(u64(request.store.id), request.store);
        return { header };
      }),
      isBootstrapped: unaryHandler((request: pdpb.IIsBootstrappedRequest): pdpb.IIsBootstrappedResponse => {
        const header = this.headerFor(member, 'IsBootstrapped', request);
        return ok(header) ? { header, bootstrapped: this.bootstrapped } : { header };
      }),
      allocId: unaryHandler((request: pdpb.IAllocIDRequest): pdpb.IAllocIDResponse => {
        const header = this.headerFor(member, 'AllocID', request);
        if (!ok(header)) return { header };
        const count = request.count || 1;
        const id = cluster.allocId();
        for (let i = 1; i < count; i++) cluster.allocId();
        return { header, id, count };
      }),
      tso: (call: Stream<pdpb.ITsoRequest, pdpb.ITsoResponse>) => {
        member.tsoStreams += 1;
        member.openStreams.add(call as Stream<unknown, unknown>);
        call.on('data', (request: pdpb.ITsoRequest) => {
          member.tsoRequests += 1;
          const header = this.headerFor(member, 'Tso', request);
          const answer = (): void => {
            if (call.cancelled || !member.openStreams.has(call as Stream<unknown, unknown>)) return;
            if (!ok(header)) {
              call.write({ header });
              return;
            }
            const count = request.count || 1;
            call.write({ header, count, timestamp: this.allocTimestamps(count) });
          };
          if (this.tsoDelayMs > 0) setTimeout(answer, this.tsoDelayMs);
          else answer();
        });
        call.on('end', () => {
          member.openStreams.delete(call as Stream<unknown, unknown>);
          call.end();
        });
        call.on('error', () => member.openStreams.delete(call as Stream<unknown, unknown>));
      },
      getRegion: unaryHandler((request: pdpb.IGetRegionRequest): pdpb.IGetRegionResponse => {
        const header = this.headerFor(member, 'GetRegion', request);
        if (!ok(header)) return { header };
        return { header, ...this.routing(cluster.regionOfKey(request.key ?? new Uint8Array(), cluster.pdRegions)) };
      }),
      getRegionById: unaryHandler((request: pdpb.IGetRegionByIDRequest): pdpb.IGetRegionResponse => {
        const header = this.headerFor(member, 'GetRegionByID', request);
        if (!ok(header)) return { header };
        return { header, ...this.routing(cluster.pdRegions.get(u64(request.regionId))) };
      }),
      scanRegions: unaryHandler((request: pdpb.IScanRegionsRequest): pdpb.IScanRegionsResponse => {
        const header = this.headerFor(member, 'ScanRegions', request);
        if (!ok(header)) return { header };
        const start = request.startKey ?? new Uint8Array();
        const end = request.endKey ?? new Uint8Array();
        const regions = cluster
          .regionsInOrder(cluster.pdRegions)
          .filter((r) => (r.endKey.length === 0 || Buffer.compare(r.endKey, start) > 0) && (end.length === 0 || Buffer.compare(r.startKey, end) < 0))
          .slice(0, request.limit || undefined)
          .map((r) => ({ region: toWireRegion(r), leader: leaderPeer(r) ?? null }));
        return { header, regions };
      }),
      getStore: unaryHandler((request: pdpb.IGetStoreRequest): pdpb.IGetStoreResponse => {
        const header = this.headerFor(member, 'GetStore', request);
        if (!ok(header)) return { header };
        return { header, store: this.stores.get(u64(request.storeId)) ?? null };
      }),
      getAllStores: unaryHandler((request: pdpb.IGetAllStoresRequest): pdpb.IGetAllStoresResponse => {
        const header = this.headerFor(member, 'GetAllStores', request);
        return ok(header) ? { header, stores: [...this.stores.values()] } : { header };
      }),
      putStore: unaryHandler((request: pdpb.IPutStoreRequest): pdpb.IPutStoreResponse => {
        const header = this.headerFor(member, 'PutStore', request);
        if (ok(header) && request.store && u64(request.store.id)) this.stores.set(u64(request.store.id), { id: u64(request.store.id), address: request.store.address ?? '' });
        return { header };
      }),
      storeHeartbeat: unaryHandler((request: pdpb.IStoreHeartbeatRequest): pdpb.IStoreHeartbeatResponse => ({
        header: this.headerFor(member, 'StoreHeartbeat', request),
      })),
      regionHeartbeat: (call: Stream<pdpb.IRegionHeartbeatRequest, pdpb.IRegionHeartbeatResponse>) => {
        member.heartbeatStreams += 1;
        member.openStreams.add(call as Stream<unknown, unknown>);
        call.on('data', (request: pdpb.IRegionHeartbeatRequest) => {
          const header = this.headerFor(member, 'RegionHeartbeat', request);
          if (!ok(header)) {
            call.write({ header });
            return;
          }
          this.heartbeats.push(request);
          call.write({ header, regionId: u64(request.region?.id), regionEpoch: request.region?.epoch ?? null });
        });
        call.on('end', () => {
          member.openStreams.delete(call as Stream<unknown, unknown>);
          call.end();
        });
        call.on('error', () => member.openStreams.delete(call as Stream<unknown, unknown>));
      },
      askSplit: unaryHandler((request: pdpb.IAskSplitRequest): pdpb.IAskSplitResponse => {
        const header = this.headerFor(member, 'AskSplit', request);
        if (!ok(header)) return { header };
        return { header, newRegionId: cluster.allocId(), newPeerIds: (request.region?.peers ?? []).map(() => cluster.allocId()) };
      }),
      reportSplit: unaryHandler((request: pdpb.IReportSplitRequest): pdpb.IReportSplitResponse => ({
        header: this.headerFor(member, 'ReportSplit', request),
      })),
    };
    return impl;
  }
}

