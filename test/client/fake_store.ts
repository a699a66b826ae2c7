// A fake store: a real gRPC server implementing the Kv service (unary calls and BatchCommands) over
// the fake cluster's Regions and data. It answers like a store would: RegionNotFound for Regions it
// holds no peer of, NotLeader (with the leader as hint) where it does not lead, EpochNotMatch with
// the Region and its split-off siblings for a stale epoch, KeyNotInRegion for keys outside.
// Knobs inject faults, delay answers, answer out of order, and take the server down.

import * as grpc from '@grpc/grpc-js';
import type { kvpb } from '../../src/proto/index.js';
import { KvService } from '../../src/proto/services.js';
import type { LocalKvHandler } from '../../src/client/local.js';
import { type FakeClusterState, type FakeRegion, leaderPeer, regionHasKey, toWireRegion } from './fake_cluster_state.js';
import { bindServer, unaryHandler } from './fake_server.js';
import { u64 } from '../../src/client/wire.js';

export type FaultKind =
  | { kind: 'notLeaderNoHint' }
  | { kind: 'serverIsBusy'; backoffMs: number }
  | { kind: 'regionNotFound' }
  | { kind: 'staleCommand' }
  | { kind: 'epochNotMatchEmpty' };

interface Fault {
  readonly regionId: number | undefined;
  readonly fault: FaultKind;
  remaining: number;
}

export class FakeStore implements LocalKvHandler {
  private server: grpc.Server | undefined;
  port = 0;
  private readonly faults: Fault[] = [];
  private readonly streams = new Set<grpc.ServerDuplexStream<kvpb.IBatchCommandsRequest, kvpb.IBatchCommandsResponse>>();
  /** Delay before a BatchCommands message is answered. */
  responseDelayMs = 0;
  /** Answer each request of a message in its own message, last request first. */
  answerInReverse = false;
  readonly counters = {
    handled: 0,
    unaryCalls: 0,
    batchStreams: 0,
    batchMessages: 0,
    batchRequests: 0,
    /** Requests received on BatchCommands and not answered yet, and the most seen at once. */
    outstanding: 0,
    maxOutstanding: 0,
    local: 0,
    regionErrors: {} as Record<string, number>,
  };

  constructor(
    readonly storeId: number,
    private readonly cluster: FakeClusterState,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Starts serving, on the previous port when restarting. */
  async start(): Promise<void> {
    const server = new grpc.Server();
    server.addService(KvService, {
      get: unaryHandler((request: kvpb.IGetRequest) => this.viaUnary({ get: request }).get!),
      batchGet: unaryHandler((request: kvpb.IBatchGetRequest) => this.viaUnary({ batchGet: request }).batchGet!),
      scan: unaryHandler((request: kvpb.IScanRequest) => this.viaUnary({ scan: request }).scan!),
      batchWrite: unaryHandler((request: kvpb.IBatchWriteRequest) => this.viaUnary({ batchWrite: request }).batchWrite!),
      batchCommands: (call: grpc.ServerDuplexStream<kvpb.IBatchCommandsRequest, kvpb.IBatchCommandsResponse>) => this.serveBatchCommands(call),
    });
    this.port = await bindServer(server, this.port);
    this.server = server;
  }

  /** Takes the store down: every connection and stream is cut. */
  stop(): void {
    this.server?.forceShutdown();
    this.server = undefined;
    this.streams.clear();
  }

  /** Makes the next `times` requests (for `regionId`, or any) fail with `fault`. */
  inject(fault: FaultKind, times = 1, regionId?: number): void {
    this.faults.push({ regionId, fault, remaining: times });
  }

  /** The in-process path (LocalKvHandler). */
  async handle(request: kvpb.IRequest): Promise<kvpb.IResponse> {
    this.counters.local += 1;
    return this.execute(request);
  }

  private viaUnary(request: kvpb.IRequest): kvpb.IResponse {
    this.counters.unaryCalls += 1;
    return this.execute(request);
  }

  private serveBatchCommands(call: grpc.ServerDuplexStream<kvpb.IBatchCommandsRequest, kvpb.IBatchCommandsResponse>): void {
    this.counters.batchStreams += 1;
    this.streams.add(call);
    call.on('data', (message: kvpb.IBatchCommandsRequest) => {
      const requests = message.requests ?? [];
      const ids = message.requestIds ?? [];
      this.counters.batchMessages += 1;
      this.counters.batchRequests += requests.length;
      this.counters.outstanding += requests.length;
      this.counters.maxOutstanding = Math.max(this.counters.maxOutstanding, this.counters.outstanding);
      const answer = (): void => {
        const responses = requests.map((r) => this.execute(r));
        this.counters.outstanding -= requests.length;
        if (call.cancelled || !this.streams.has(call)) return;
        if (this.answerInReverse) {
          for (let i = responses.length - 1; i >= 0; i--) call.write({ responses: [responses[i]!], requestIds: [ids[i]!] });
        } else call.write({ responses, requestIds: ids });
      };
      if (this.responseDelayMs > 0) setTimeout(answer, this.responseDelayMs);
      else answer();
    });
    call.on('end', () => {
      this.streams.delete(call);
      call.end();
    });
    call.on('error', () => this.streams.delete(call));
  }

  private regionError(kind: string, error: kvpb.IRegionError): kvpb.IRegionError {
    this.counters.regionErrors[kind] = (this.counters.regionErrors[kind] ?? 0) + 1;
    return { message: kind, ...error };
  }

  private takeFault(regionId: number): FaultKind | undefined {
    const index = this.faults.findIndex((f) => f.remaining > 0 && (f.regionId === undefined || f.regionId === regionId));
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.faults.splice(index, 1);
    return fault.fault;
  }

  /** The checks a store makes before serving a request for a Region; undefined when all pass. */
  private check(context: kvpb.IContext | null | undefined, keys: readonly Uint8Array[]): kvpb.IRegionError | undefined {
    const regionId = u64(context?.regionId);
    const region = this.cluster.regions.get(regionId);
    if (!region || !region.peers.some((p) => p.storeId === this.storeId)) {
      return this.regionError('RegionNotFound', { regionNotFound: { regionId } });
    }
    const fault = this.takeFault(regionId);
    if (fault) {
      switch (fault.kind) {
        case 'notLeaderNoHint':
          return this.regionError('NotLeader', { notLeader: { regionId } });
        case 'serverIsBusy':
          return this.regionError('ServerIsBusy', { serverIsBusy: { reason: 'injected', backoffMs: fault.backoffMs } });
        case 'regionNotFound':
          return this.regionError('RegionNotFound', { regionNotFound: { regionId } });
        case 'staleCommand':
          return this.regionError('StaleCommand', { staleCommand: {} });
        case 'epochNotMatchEmpty':
          return this.regionError('EpochNotMatch', { epochNotMatch: { currentRegions: [] } });
      }
    }
    if (region.leaderStoreId !== this.storeId) {
      return this.regionError('NotLeader', { notLeader: { regionId, leader: leaderPeer(region) ?? null } });
    }
    const epoch = context?.regionEpoch;
    if (u64(epoch?.version) !== region.epoch.version || u64(epoch?.confVer) !== region.epoch.confVer) {
      return this.regionError('EpochNotMatch', { epochNotMatch: { currentRegions: this.family(region).map(toWireRegion) } });
    }
    for (const key of keys) {
      if (!regionHasKey(region, key)) {
        return this.regionError('KeyNotInRegion', {
          keyNotInRegion: { key, regionId, startKey: region.startKey, endKey: region.endKey },
        });
      }
    }
    return undefined;
  }

  private family(region: FakeRegion): FakeRegion[] {
    const out = [region];
    for (const id of region.splitInto) {
      const child = this.cluster.regions.get(id);
      if (child) out.push(...this.family(child));
    }
    return out;
  }

  private execute(request: kvpb.IRequest): kvpb.IResponse {
    this.counters.handled += 1;
    const data = this.cluster.data;
    if (request.get) {
      const key = request.get.key ?? new Uint8Array();
      const regionError = this.check(request.get.context, [key]);
      if (regionError) return { get: { regionError } };
      const found = data.get(Buffer.from(key).toString('latin1'));
      return { get: found ? { found: true, value: found.value } : { found: false } };
    }
    if (request.batchGet) {
      const keys = request.batchGet.keys ?? [];
      const regionError = this.check(request.batchGet.context, keys);
      if (regionError) return { batchGet: { regionError } };
      const pairs: kvpb.IKvPair[] = [];
      for (const key of keys) {
        const found = data.get(Buffer.from(key).toString('latin1'));
        if (found) pairs.push({ key: found.key, value: found.value });
      }
      return { batchGet: { pairs } };
    }
    if (request.scan) {
      const start = request.scan.startKey ?? new Uint8Array();
      const regionError = this.check(request.scan.context, [start]);
      if (regionError) return { scan: { regionError } };
      const region = this.cluster.regions.get(u64(request.scan.context?.regionId))!;
      const requestedEnd = request.scan.endKey ?? new Uint8Array();
      const end = requestedEnd.length > 0 ? requestedEnd : region.endKey;
      const limit = request.scan.limit || Number.MAX_SAFE_INTEGER;
      const pairs = [...data.values()]
        .filter((e) => Buffer.compare(e.key, start) >= 0 && (end.length === 0 || Buffer.compare(e.key, end) < 0) && regionHasKey(region, e.key))
        .sort((a, b) => Buffer.compare(a.key, b.key))
        .slice(0, limit)
        .map((e) => ({ key: e.key, value: request.scan!.keyOnly ? Buffer.alloc(0) : e.value }));
      return { scan: { pairs } };
    }
    if (request.batchWrite) {
      const mutations = request.batchWrite.mutations ?? [];
      const regionError = this.check(
        request.batchWrite.context,
        mutations.map((m) => m.key ?? new Uint8Array()),
      );
      if (regionError) return { batchWrite: { regionError } };
      for (const m of mutations) {
        const key = Buffer.from(m.key ?? new Uint8Array());
        if ((m.op ?? 0) === 0) data.set(key.toString('latin1'), { key, value: Buffer.from(m.value ?? new Uint8Array()) });
        else data.delete(key.toString('latin1'));
      }
      return { batchWrite: {} };
    }
    return { error: 'empty request' };
  }
}

