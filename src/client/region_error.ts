// A store's RegionError, turned into a discriminated union the retry logic switches over. The
// fields of the oneof are read directly (not the virtual `error` discriminator) because responses
// handed over in-process by a LocalKvHandler are plain objects without it.

import type { kvpb } from '../proto/index.js';
import { formatKey } from './keys.js';
import { u64 } from './wire.js';
import { type PeerMeta, type RegionMeta, peerFromWire, regionFromWire } from './region_meta.js';

export type RegionErrorKind =
  /** Not the leader; `leader` is the store's hint, if it has one. */
  | { readonly kind: 'NotLeader'; readonly regionId: number; readonly leader: PeerMeta | undefined }
  /** Our epoch is stale; these Regions now cover the range (may be empty). */
  | { readonly kind: 'EpochNotMatch'; readonly currentRegions: readonly RegionMeta[] }
  | { readonly kind: 'RegionNotFound'; readonly regionId: number }
  | { readonly kind: 'KeyNotInRegion'; readonly key: Uint8Array; readonly regionId: number }
  /** Back off at least `backoffMs` (0 = no hint). */
  | { readonly kind: 'ServerIsBusy'; readonly reason: string; readonly backoffMs: number }
  | { readonly kind: 'StaleCommand' }
  | { readonly kind: 'StoreNotMatch'; readonly requestStoreId: number; readonly actualStoreId: number }
  /** A RegionError with no variant this client knows: treated like a missing Region. */
  | { readonly kind: 'Unknown'; readonly message: string };

export function classifyRegionError(error: kvpb.IRegionError, source: string): RegionErrorKind {
  if (error.notLeader) {
    return { kind: 'NotLeader', regionId: u64(error.notLeader.regionId), leader: peerFromWire(error.notLeader.leader) };
  }
  if (error.epochNotMatch) {
    const currentRegions = (error.epochNotMatch.currentRegions ?? []).map((r) => regionFromWire(r, source));
    return { kind: 'EpochNotMatch', currentRegions };
  }
  if (error.regionNotFound) return { kind: 'RegionNotFound', regionId: u64(error.regionNotFound.regionId) };
  if (error.keyNotInRegion) {
    return {
      kind: 'KeyNotInRegion',
      key: error.keyNotInRegion.key ?? new Uint8Array(0),
      regionId: u64(error.keyNotInRegion.regionId),
    };
  }
  if (error.serverIsBusy) {
    const backoffMs = u64(error.serverIsBusy.backoffMs);
    return {
      kind: 'ServerIsBusy',
      reason: error.serverIsBusy.reason ?? '',
      backoffMs: Number.isFinite(backoffMs) && backoffMs > 0 ? backoffMs : 0,
    };
  }
  if (error.staleCommand) return { kind: 'StaleCommand' };
  if (error.storeNotMatch) {
    return {
      kind: 'StoreNotMatch',
      requestStoreId: u64(error.storeNotMatch.requestStoreId),
      actualStoreId: u64(error.storeNotMatch.actualStoreId),
    };
  }
  return { kind: 'Unknown', message: error.message ?? '' };
}

/** One line for attempt histories and logs. */
export function describeRegionError(error: RegionErrorKind): string {
  switch (error.kind) {
    case 'NotLeader':
      return error.leader ? `NotLeader (leader hint: peer ${error.leader.id} on store ${error.leader.storeId})` : 'NotLeader (no hint)';
    case 'EpochNotMatch':
      return `EpochNotMatch (${error.currentRegions.length} current Regions)`;
    case 'RegionNotFound':
      return 'RegionNotFound';
    case 'KeyNotInRegion':
      return `KeyNotInRegion (key ${formatKey(error.key)})`;
    case 'ServerIsBusy':
      return `ServerIsBusy (${error.reason || 'no reason'}${error.backoffMs ? `, backoff ${error.backoffMs} ms` : ''})`;
    case 'StaleCommand':
      return 'StaleCommand';
    case 'StoreNotMatch':
      return `StoreNotMatch (asked store ${error.requestStoreId}, reached store ${error.actualStoreId})`;
    case 'Unknown':
      return `unknown Region error (${error.message || 'no message'})`;
  }
}
