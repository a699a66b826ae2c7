// The store's key-value service. Every request names a Region and the epoch the client routed it
// with; the store checks both, then writes through the Region's Raft log or reads after a
// linearizable read barrier (the leader's lease, or a read index confirmed by a quorum).
import type * as grpc from '@grpc/grpc-js';
import { kvpb, type raftcmdpb } from '../proto/index.js';
import { RecordTag, parseKey, rawKey, userRange } from '../kv/keys.js';
import type { Peer } from './peer.js';
import { TxnService } from './txn_service.js';
import { clipToRegion, endKey, epochOf, keyInRegion, startKey, startsPastRegion } from './region.js';
import type { Store } from './store.js';

const EMPTY = new Uint8Array(0);
/** Requests one BatchCommands stream may have in flight before new ones are refused as busy. */
const MAX_IN_FLIGHT_PER_STREAM = 20_000;
const DEFAULT_SCAN_LIMIT = 1000;
const RAW_SCAN_CHUNK = 1024;

type Located = { peer: Peer } | { error: kvpb.IRegionError };

export class KvService {
  readonly txn: TxnService;

  constructor(private readonly store: Store) {
    this.txn = new TxnService(store, this);
  }

  get storeId(): number {
    return this.store.storeId;
  }

  /** Handles one request (also the in-process path of a client on the same node). */
  async handle(request: kvpb.IRequest): Promise<kvpb.IResponse> {
    try {
      if (request.get) return { get: await this.get(request.get) };
      if (request.batchGet) return { batchGet: await this.batchGet(request.batchGet) };
      if (request.scan) return { scan: await this.scan(request.scan) };
      if (request.batchWrite) return { batchWrite: await this.batchWrite(request.batchWrite) };
      const txn = await this.txn.handle(request);
      if (txn) return txn;
      return { error: 'empty request: no command set' };
    } catch (err) {
      this.store.logger.warn('kv request failed', { error: err instanceof Error ? err.message : String(err) });
      return { error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Pairs a scan may return: what it asked (a default when 0), within the store's bound. */
  scanLimit(asked: number | null | undefined): number {
    const n = Number(asked ?? 0);
    return Math.min(n === 0 ? DEFAULT_SCAN_LIMIT : n, this.store.tuning.limits.maxScanLimit);
  }

  /** The local leader peer of the Region `context` names, if the keys are in it. */
  locate(context: kvpb.IContext | null | undefined, keys: readonly Uint8Array[]): Located {
    const regionId = Number(context?.regionId ?? 0);
    const peer = this.store.peers.get(regionId);
    if (peer === undefined || peer.isSystem || !peer.initialized || peer.destroyed) {
      return { error: { message: `region ${regionId} is not on store ${this.store.storeId}`, regionNotFound: { regionId } } };
    }
    const askedStore = Number(context?.peer?.storeId ?? 0);
    if (askedStore !== 0 && askedStore !== this.store.storeId) {
      return { error: { message: 'request for another store', storeNotMatch: { requestStoreId: askedStore, actualStoreId: this.store.storeId } } };
    }
    if (!peer.isLeader()) {
      // A client that comes to a follower may have failed to reach the leader: a hibernating
      // follower wakes so that, if the leader is gone, it notices and an election follows.
      if (peer.hibernating) this.store.tasks.wake(peer);
      return { error: peer.notLeaderError('request sent to a follower') };
    }
    const versionError = this.checkVersion(peer, context);
    if (versionError) return { error: versionError };
    for (const key of keys) {
      if (!keyInRegion(key, peer.region)) {
        return {
          error: {
            message: 'key not in region',
            keyNotInRegion: { key, regionId, startKey: startKey(peer.region), endKey: endKey(peer.region) },
          },
        };
      }
    }
    return { peer };
  }

  /** Key ranges change only with a split (version); membership changes do not move keys. */
  private checkVersion(peer: Peer, context: kvpb.IContext | null | undefined): kvpb.IRegionError | undefined {
    const asked = Number(context?.regionEpoch?.version ?? 0);
    const current = epochOf(peer.region).version;
    if (asked === current) return undefined;
    return {
      message: `region epoch version ${asked} does not match ${current}`,
      epochNotMatch: { currentRegions: [peer.region] },
    };
  }

  /** Waits for the read barrier, then checks that the Region still covers what was asked. */
  async barrier(peer: Peer, context: kvpb.IContext | null | undefined): Promise<kvpb.IRegionError | undefined> {
    const error = await this.store.readBarrier(peer);
    if (error) return error;
    if (peer.destroyed) return { message: 'region removed', regionNotFound: { regionId: peer.groupId } };
    return this.checkVersion(peer, context);
  }

  private async get(req: kvpb.IGetRequest): Promise<kvpb.IGetResponse> {
    const key = req.key ?? EMPTY;
    const located = this.locate(req.context, [key]);
    if ('error' in located) return { regionError: located.error };
    const error = await this.barrier(located.peer, req.context);
    if (error) return { regionError: error };
    const value = await this.store.engine.db.get(rawKey(key));
    return value === undefined ? { found: false } : { found: true, value };
  }

  private async batchGet(req: kvpb.IBatchGetRequest): Promise<kvpb.IBatchGetResponse> {
    const keys = req.keys ?? [];
    const located = this.locate(req.context, keys);
    if ('error' in located) return { regionError: located.error };
    const error = await this.barrier(located.peer, req.context);
    if (error) return { regionError: error };
    const values = await this.store.engine.db.getMany(keys.map(rawKey));
    const pairs: kvpb.IKvPair[] = [];
    keys.forEach((key, i) => {
      const value = values[i];
      if (value !== undefined) pairs.push({ key, value });
    });
    return { pairs };
  }

  private async scan(req: kvpb.IScanRequest): Promise<kvpb.IScanResponse> {
    const limit = this.scanLimit(req.limit);
    const start = req.startKey ?? EMPTY;
    const located = this.locate(req.context, []);
    if ('error' in located) return { regionError: located.error };
    const peer = located.peer;
    const region = peer.region;
    if (startsPastRegion(region, start)) {
      return { regionError: { message: 'scan starts past the region', keyNotInRegion: { key: start, regionId: peer.groupId, startKey: startKey(region), endKey: endKey(region) } } };
    }
    const error = await this.barrier(peer, req.context);
    if (error) return { regionError: error };
    // Clip to the Region: the client walks Regions itself.
    const { from, to } = clipToRegion(peer.region, start, req.endKey ?? EMPTY);
    const range = userRange(from, to);
    const pairs: kvpb.IKvPair[] = [];
    // Raw values share the range with transaction records; only the former are returned.
    const it = this.store.engine.db.iterator({ gte: range.gte, lt: range.lt });
    try {
      while (pairs.length < limit) {
        const chunk = await it.nextv(Math.min(RAW_SCAN_CHUNK, 4 * (limit - pairs.length)));
        if (chunk.length === 0) break;
        for (const [k, v] of chunk) {
          const parsed = parseKey(k);
          if (parsed.tag !== RecordTag.Raw) continue;
          pairs.push(req.keyOnly ? { key: parsed.key } : { key: parsed.key, value: v });
          if (pairs.length >= limit) break;
        }
      }
    } finally {
      await it.close();
    }
    return { pairs };
  }

  private async batchWrite(req: kvpb.IBatchWriteRequest): Promise<kvpb.IBatchWriteResponse> {
    const mutations = req.mutations ?? [];
    const limits = this.store.tuning.limits;
    if (mutations.length === 0) return {};
    if (mutations.length > limits.maxMutationsPerWrite) {
      throw new Error(`a write may carry at most ${limits.maxMutationsPerWrite} mutations, got ${mutations.length}`);
    }
    let bytes = 0;
    const writes: raftcmdpb.IWriteCommand[] = [];
    for (const m of mutations) {
      const key = m.key ?? EMPTY;
      if (key.byteLength === 0) throw new Error('a mutation needs a non-empty key');
      if (m.op === kvpb.MutationOp.MUTATION_DELETE) {
        writes.push({ delete: { key } });
        bytes += key.byteLength;
      } else {
        const value = m.value ?? EMPTY;
        writes.push({ put: { key, value } });
        bytes += key.byteLength + value.byteLength;
      }
    }
    if (bytes > limits.maxWriteBytes) throw new Error(`a write may carry at most ${limits.maxWriteBytes} bytes, got ${bytes}`);
    const located = this.locate(req.context, mutations.map((m) => m.key ?? EMPTY));
    if ('error' in located) return { regionError: located.error };
    const peer = located.peer;
    const outcome = await this.store.proposeCommand(peer, {
      header: { regionId: peer.groupId, peer: peer.selfMeta(), regionEpoch: peer.region.epoch ?? {} },
      writes,
    });
    return outcome.kind === 'applied' ? {} : { regionError: outcome.error };
  }

  /** The gRPC implementation of the Kv service. */
  grpcImplementation(): grpc.UntypedServiceImplementation {
    const unary =
      <Req, Res>(f: (req: Req) => Promise<Res>) =>
      (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
        f(call.request).then(
          (res) => callback(null, res),
          (err: unknown) => callback({ code: 3, message: err instanceof Error ? err.message : String(err) } as grpc.ServiceError, null),
        );
      };
    return {
      get: unary((req: kvpb.IGetRequest) => this.get(req)),
      batchGet: unary((req: kvpb.IBatchGetRequest) => this.batchGet(req)),
      scan: unary((req: kvpb.IScanRequest) => this.scan(req)),
      batchWrite: unary((req: kvpb.IBatchWriteRequest) => this.batchWrite(req)),
      batchCommands: (call: grpc.ServerDuplexStream<kvpb.IBatchCommandsRequest, kvpb.IBatchCommandsResponse>) => this.batchCommands(call),
    };
  }

  private batchCommands(call: grpc.ServerDuplexStream<kvpb.IBatchCommandsRequest, kvpb.IBatchCommandsResponse>): void {
    let inFlight = 0;
    let out: { responses: kvpb.IResponse[]; ids: number[] } | undefined;
    let closed = false;
    // Responses finishing in the same turn of the event loop travel in one message.
    const emit = (id: number, response: kvpb.IResponse): void => {
      if (closed) return;
      if (out === undefined) {
        out = { responses: [], ids: [] };
        setImmediate(() => {
          const batch = out!;
          out = undefined;
          if (!closed) call.write({ responses: batch.responses, requestIds: batch.ids });
        });
      }
      out.responses.push(response);
      out.ids.push(id);
    };
    call.on('data', (msg: kvpb.IBatchCommandsRequest) => {
      const requests = msg.requests ?? [];
      const ids = msg.requestIds ?? [];
      requests.forEach((request, i) => {
        const id = Number(ids[i] ?? 0);
        if (inFlight >= MAX_IN_FLIGHT_PER_STREAM) {
          emit(id, busyResponse(request));
          return;
        }
        inFlight++;
        this.handle(request).then((response) => {
          inFlight--;
          emit(id, response);
        });
      });
    });
    call.on('end', () => {
      closed = true;
      call.end();
    });
    call.on('error', () => {
      closed = true;
    });
  }
}

function busyResponse(request: kvpb.IRequest): kvpb.IResponse {
  const regionError: kvpb.IRegionError = { message: 'too many requests in flight on this stream', serverIsBusy: { reason: 'stream in-flight limit', backoffMs: 10 } };
  // The answer goes in the response field of the request's command (both oneofs name it alike).
  const command = (request as kvpb.Request).cmd;
  if (command === undefined) return { error: 'empty request' };
  return { [command]: { regionError } } as kvpb.IResponse;
}
