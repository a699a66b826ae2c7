// The KV client's public surface: what sql/, server/ and cli/ import.

export { Backoff, type BackoffPolicy, type RandomSource, sleep } from './backoff.js';
export { Deadline } from './deadline.js';
export * from './errors.js';
export { compareKeys, formatKey, keyAfter } from './keys.js';
export {
  type KvPair,
  RawKvClient,
  type RawKvCallOptions,
  type RawKvClientOptions,
  type RawMutation,
  type RegionRouter,
  type RetryEvent,
  type RetryReason,
  type ScanOptions,
} from './kv_client.js';
export type { LocalKvHandler } from './local.js';
export {
  type BootstrapOutcome,
  type IdRange,
  PdClient,
  type PdCallOptions,
  type PdClientOptions,
  type PdMembers,
  type SplitIds,
} from './pd_client.js';
export type { RegionHeartbeatErrorHandler, RegionHeartbeatHandle, RegionHeartbeatResponseHandler } from './region_heartbeat_stream.js';
export { type CachedRegion, RegionCache, type RegionCacheOptions } from './region_cache.js';
export { type RegionErrorKind, classifyRegionError } from './region_error.js';
export { type PeerMeta, type RegionEpoch, type RegionInfo, type RegionMeta, regionFromWire } from './region_meta.js';
export { StoreClient, type StoreClientOptions } from './store_client.js';
export { MAX_LOGICAL, type Timestamp, compareTimestamps } from './tso.js';
export * from './txn/errors.js';
export { LockResolver, type LockRef, type ResolveOutcome } from './txn/lock_resolver.js';
export { Snapshot, type TimestampSource, Transaction, TxnClient, type TxnClientOptions, type TxnMutation } from './txn/txn_client.js';
