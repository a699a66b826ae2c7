// What a store needs from the placement driver. The server wires a PD client behind it; store
// tests use fakes.
import type { metapb, pdpb } from '../proto/index.js';

export interface PlacementClient {
  /** Reports a Region led by this store (fire and forget; answers come through onOperator). */
  regionHeartbeat(request: pdpb.IRegionHeartbeatRequest): void;
  /** Registers the handler of operator steps the placement driver sends back. */
  onOperator(handler: (response: pdpb.IRegionHeartbeatResponse) => void): void;
  /** New ids for the right half of a split of `region`. */
  askSplit(region: metapb.IRegion): Promise<{ newRegionId: number; newPeerIds: number[] }>;
  reportSplit(left: metapb.IRegion, right: metapb.IRegion): Promise<void>;
  /** Reports the store's statistics; resolves with the garbage-collection safe point. */
  storeHeartbeat(stats: pdpb.IStoreStats): Promise<{ gcSafePoint: bigint }>;
  /** A fresh timestamp from the oracle (ts = physical_ms << 18 | logical). */
  timestamp(): Promise<bigint>;
}

/** Where a store finds the address of another store. */
export type StoreResolver = (storeId: number) => string | undefined;
