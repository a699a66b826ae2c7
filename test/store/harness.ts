// Several stores in one process over a memory network, each on its own LevelDB engine, with a
// fake placement driver. Used by the store loop tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvpb, metapb, type pdpb } from '../../src/proto/index.js';
import { StorageEngine } from '../../src/storage/engine.js';
import { KvService } from '../../src/store/kv_service.js';
import { MemoryNetwork } from '../../src/store/memory_transport.js';
import type { PlacementClient } from '../../src/store/placement.js';
import { Store } from '../../src/store/store.js';
import type { TuningOverrides } from '../../src/store/options.js';
import { SeededRandom } from '../support/prng.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | null | undefined): string => new TextDecoder().decode(b ?? new Uint8Array(0));

export const FAST_TUNING: TuningOverrides = {
  raft: { tickIntervalMs: 10, electionTicks: 10, heartbeatTicks: 2 },
  hibernate: { enabled: false },
  regionHeartbeatIntervalMs: 100,
  storeHeartbeatIntervalMs: 100,
};

/** Ids, heartbeats and operators, as a placement driver would provide them. */
export class FakePd {
  private nextId = 1000;
  private lastTs = 0n;
  readonly regions = new Map<number, pdpb.IRegionHeartbeatRequest>();
  readonly splits: Array<[metapb.IRegion, metapb.IRegion]> = [];
  private readonly operatorHandlers = new Map<number, (res: pdpb.IRegionHeartbeatResponse) => void>();

  /** A strictly increasing timestamp: wall-clock milliseconds << 18, bumped when that would repeat. */
  timestamp(): bigint {
    const now = BigInt(Date.now()) << 18n;
    this.lastTs = now > this.lastTs ? now : this.lastTs + 1n;
    return this.lastTs;
  }

  clientFor(storeId: number): PlacementClient {
    return {
      regionHeartbeat: (req) => {
        this.regions.set(Number(req.region?.id ?? 0), req);
      },
      onOperator: (handler) => {
        this.operatorHandlers.set(storeId, handler);
      },
      askSplit: async (region) => ({
        newRegionId: this.nextId++,
        newPeerIds: (region.peers ?? []).map(() => this.nextId++),
      }),
      reportSplit: async (left, right) => {
        this.splits.push([left, right]);
      },
      storeHeartbeat: async () => ({ gcSafePoint: 0n }),
      timestamp: async () => this.timestamp(),
    };
  }

  allocId(): number {
    return this.nextId++;
  }

  /** Sends an operator step to the store leading the Region. */
  sendOperator(storeId: number, res: pdpb.IRegionHeartbeatResponse): void {
    this.operatorHandlers.get(storeId)?.(res);
  }
}

export interface TestStore {
  storeId: number;
  address: string;
  dir: string;
  engine: StorageEngine;
  store: Store;
  kv: KvService;
}

export class StoreCluster {
  readonly network = new MemoryNetwork();
  readonly pd = new FakePd();
  readonly stores = new Map<number, TestStore>();
  private readonly dirs: string[] = [];
  private seed = 1;

  constructor(private readonly tuning: TuningOverrides = FAST_TUNING) {}

  addressOf(storeId: number): string {
    return `store-${storeId}`;
  }

  async startStore(storeId: number, dir?: string): Promise<TestStore> {
    const path = dir ?? (await mkdtemp(join(tmpdir(), `cairn-store-${storeId}-`)));
    if (dir === undefined) this.dirs.push(path);
    const engine = await StorageEngine.open(path);
    const address = this.addressOf(storeId);
    const store = await Store.open({
      engine,
      transport: this.network.transport(address, () => 1),
      address,
      clusterId: 1,
      storeId,
      resolveStore: (id) => (this.stores.has(id) || id > 0 ? this.addressOf(id) : undefined),
      tuning: this.tuning,
      random: new SeededRandom(this.seed++),
      ...(process.env.CAIRN_TEST_LOG ? { logger: testLogger(`s${storeId}`) } : {}),
    });
    store.tasks.setPlacement(this.pd.clientFor(storeId));
    this.network.register(address, store);
    store.start();
    const t: TestStore = { storeId, address, dir: path, engine, store, kv: new KvService(store) };
    this.stores.set(storeId, t);
    return t;
  }

  /** Stops a store as a crash would leave it: the loop stops, the engine closes. */
  async stopStore(storeId: number): Promise<string> {
    const t = this.stores.get(storeId)!;
    this.network.unregister(t.address);
    await t.store.stop();
    await t.engine.close();
    this.stores.delete(storeId);
    return t.dir;
  }

  get(storeId: number): TestStore {
    const t = this.stores.get(storeId);
    if (!t) throw new Error(`store ${storeId} is not running`);
    return t;
  }

  /** The store whose peer leads `regionId`, if exactly one claims it. */
  leaderOf(regionId: number): TestStore | undefined {
    const leaders = [...this.stores.values()].filter((t) => t.store.peers.get(regionId)?.isLeader());
    return leaders.length === 1 ? leaders[0] : undefined;
  }

  async waitForLeader(regionId: number, timeoutMs = 5000): Promise<TestStore> {
    let found: TestStore | undefined;
    await waitFor(() => (found = this.leaderOf(regionId)) !== undefined, timeoutMs, `a leader for region ${regionId}`);
    return found!;
  }

  regionOn(storeId: number, regionId: number): metapb.IRegion | undefined {
    return this.get(storeId).store.peers.get(regionId)?.region;
  }

  /** Sends a request for `regionId` to its current leader, as a client would. */
  async request(regionId: number, build: (context: kvpb.IContext) => kvpb.IRequest): Promise<kvpb.IResponse> {
    const leader = await this.waitForLeader(regionId);
    const region = leader.store.peers.get(regionId)!.region;
    const peer = (region.peers ?? []).find((p) => Number(p.storeId) === leader.storeId);
    return leader.kv.handle(build({ regionId, regionEpoch: region.epoch ?? {}, peer: peer ?? {} }));
  }

  async put(regionId: number, pairs: Array<[string, string]>): Promise<kvpb.IBatchWriteResponse> {
    const res = await this.request(regionId, (context) => ({
      batchWrite: { context, mutations: pairs.map(([k, v]) => ({ op: kvpb.MutationOp.MUTATION_PUT, key: enc(k), value: enc(v) })) },
    }));
    return res.batchWrite ?? {};
  }

  async read(regionId: number, key: string): Promise<kvpb.IGetResponse> {
    const res = await this.request(regionId, (context) => ({ get: { context, key: enc(key) } }));
    return res.get ?? {};
  }

  /** Reads a key wherever it lives now, routing again on region errors as a client does. */
  async readKey(key: string, viaStore = 1): Promise<kvpb.IGetResponse> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const rid = this.regionFor(viaStore, enc(key));
      if (rid !== undefined) {
        const res = await this.read(rid, key);
        if (!res.regionError) return res;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`could not read ${key}`);
  }

  /** The Region of this store holding `key`. */
  regionFor(storeId: number, key: Uint8Array): number | undefined {
    for (const peer of this.get(storeId).store.peers.values()) {
      if (peer.isSystem || !peer.initialized) continue;
      const r = peer.region;
      const start = r.startKey ?? new Uint8Array(0);
      const end = r.endKey ?? new Uint8Array(0);
      if (Buffer.compare(Buffer.from(key), Buffer.from(start)) >= 0 && (end.byteLength === 0 || Buffer.compare(Buffer.from(key), Buffer.from(end)) < 0)) {
        return peer.groupId;
      }
    }
    return undefined;
  }

  async close(): Promise<void> {
    for (const id of [...this.stores.keys()]) await this.stopStore(id);
    for (const d of this.dirs) await rm(d, { recursive: true, force: true });
  }
}

export function regionWithPeers(id: number, peers: Array<[peerId: number, storeId: number]>): metapb.IRegion {
  return {
    id,
    startKey: new Uint8Array(0),
    endKey: new Uint8Array(0),
    epoch: { confVer: 1, version: 1 },
    peers: peers.map(([pid, sid]) => ({ id: pid, storeId: sid, role: metapb.PeerRole.VOTER })),
  };
}

function testLogger(prefix: string) {
  const write = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    process.stderr.write(`${prefix} ${level} ${msg} ${fields ? JSON.stringify(fields) : ''}\n`);
  return { debug: process.env.CAIRN_TEST_LOG === 'debug' ? write('debug') : () => {}, info: write('info'), warn: write('warn') };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
