// An in-process fake cluster for client tests: a fake PD (one or more members) and fake stores,
// all real gRPC servers on loopback, sharing one FakeClusterState. Always close() it in afterEach.

import { metapb } from '../../src/proto/index.js';
import { FakeClusterState } from './fake_cluster_state.js';
import { FakePd } from './fake_pd.js';
import { FakeStore } from './fake_store.js';

export interface FakeClusterOptions {
  /** Keys at which the key space is cut; n keys give n + 1 Regions. */
  readonly splitKeys?: readonly string[];
  readonly storeCount?: number;
  readonly pdMembers?: number;
}

export class FakeCluster {
  readonly state = new FakeClusterState();
  readonly pd = new FakePd(this.state);
  readonly stores: FakeStore[] = [];

  static async start(options: FakeClusterOptions = {}): Promise<FakeCluster> {
    const cluster = new FakeCluster();
    try {
      await cluster.init(options);
    } catch (error) {
      cluster.close();
      throw error;
    }
    return cluster;
  }

  private async init(options: FakeClusterOptions): Promise<void> {
    const storeCount = options.storeCount ?? 3;
    for (let id = 1; id <= storeCount; id++) this.stores.push(new FakeStore(id, this.state));
    for (const store of this.stores) {
      await store.start();
      this.pd.stores.set(store.storeId, { id: store.storeId, address: store.address, state: metapb.StoreState.STORE_UP });
    }
    this.state.createRegions(options.splitKeys ?? ['b', 'd', 'f'], this.stores.map((s) => s.storeId));
    await this.pd.start(options.pdMembers ?? 1);
  }

  store(storeId: number): FakeStore {
    const store = this.stores.find((s) => s.storeId === storeId);
    if (!store) throw new Error(`no store ${storeId}`);
    return store;
  }

  get pdEndpoints(): string[] {
    return this.pd.endpoints;
  }

  /** Total requests executed by all stores (network and local). */
  totalHandled(): number {
    return this.stores.reduce((n, s) => n + s.counters.handled, 0);
  }

  close(): void {
    for (const store of this.stores) store.stop();
    this.pd.stop();
  }
}
