// Small builders for PD test data: stores, Regions and commands written as one-liners.
import { metapb, type pdstatepb } from '../../src/proto/index.js';

export const key = (text: string): Uint8Array => new TextEncoder().encode(text);

export function store(id: number, overrides: Partial<metapb.IStore> = {}): metapb.IStore {
  return { id, address: `127.0.0.1:${30000 + id}`, state: metapb.StoreState.STORE_UP, version: 'test', ...overrides };
}

/** A peer as [peer id, store id] or [peer id, store id, role]. */
export type PeerSpec = readonly [number, number] | readonly [number, number, metapb.PeerRole];

export function region(
  id: number,
  start: string,
  end: string,
  epoch: { confVer: number; version: number },
  peers: readonly PeerSpec[],
): metapb.IRegion {
  return {
    id,
    startKey: key(start),
    endKey: key(end),
    epoch,
    peers: peers.map(([peerId, storeId, role]) => ({ id: peerId, storeId, role: role ?? metapb.PeerRole.VOTER })),
  };
}

export function bootstrapCommand(clusterId = 7, bootstrapTimeMs = 1_000): pdstatepb.IPdCommand {
  return {
    bootstrap: {
      clusterId,
      store: store(1),
      region: region(2, '', '', { confVer: 1, version: 1 }, [[3, 1]]),
      bootstrapTimeMs,
    },
  };
}

export const LEARNER = metapb.PeerRole.LEARNER;
export const VOTER = metapb.PeerRole.VOTER;
