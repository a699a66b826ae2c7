// The placement driver's replicated state machine: what every member of the PD Raft group holds in
// memory and on disk. `apply` is a pure function of (state, command): it reads no clock and draws
// no randomness (times arrive inside commands), so every member that applies the same log reaches
// the same state, the same writes and the same outcome. Commands that make no sense against the
// current state are ignored — identically everywhere — and the outcome says why, for the proposer.
//
// The persisted form (state_layout.ts) is exactly what `load` reads back: after any sequence of
// applies, loading the accumulated writes rebuilds an equal state machine.

import { StorageCorruptionError } from '../storage/errors.js';
import { RecordDecodeError } from '../storage/record.js';
import { metapb, pdstatepb } from '../proto/index.js';
import type { PdApplyOutcome, PdCommandKind, PdRejection } from './apply_outcome.js';
import {
  epochIsStale,
  parseRegion,
  parseStore,
  positiveId,
  regionToProto,
  regionsEqual,
  storeToProto,
  storesEqual,
  type RegionMeta,
  type StoreMeta,
  uint64,
} from './meta.js';
import { RegionIndex } from './region_index.js';
import {
  clusterStateKey,
  decodeBody,
  encodeClusterState,
  encodeRegion,
  encodeStore,
  parsePdKey,
  regionKey,
  storeKey,
} from './state_layout.js';

/** One key-value write that persists an applied change; a null value deletes the key. */
export type PdWrite = { readonly key: Uint8Array; readonly value: Uint8Array | null };

/** The writes of one apply (persist them all, in one batch) and what the apply did. */
export type PdApplyResult = PdWrite[] & { readonly outcome: PdApplyOutcome };

export interface ClusterStateView {
  readonly clusterId: number;
  readonly bootstrapped: boolean;
  readonly bootstrapTimeMs: number;
  /** Every id below this has been handed out (or reserved by some leader). */
  readonly idAllocatedEnd: number;
  /** No timestamp with a larger physical part has ever been issued. */
  readonly tsoPhysicalLimitMs: number;
}

/** Bounds one PutRegions command, and so one Raft entry of region metadata. */
export const MAX_REGIONS_PER_COMMAND = 256;
/** Bounds one id reservation: a runaway proposer cannot burn the id space in one command. */
export const MAX_ID_WINDOW_SPAN = 1_000_000;
/** physical << 18 | logical must fit an unsigned 64-bit integer. */
export const MAX_TSO_PHYSICAL_MS = 2 ** 46 - 1;

export type RegionClass =
  /** Older than what is stored: same id with an older epoch, or overlapping a newer version. */
  | 'stale'
  /** Identical to the stored Region. */
  | 'unchanged'
  /** Not stored yet, or newer than (or as new as, but different from) the stored one. */
  | 'newer';

const COMMAND_KINDS: readonly PdCommandKind[] = ['bootstrap', 'allocIdWindow', 'tsoWindow', 'putStore', 'putRegions'];

export class PdStateMachine {
  private state: ClusterStateView = emptyClusterState();
  private readonly storesById = new Map<number, StoreMeta>();
  private readonly regionsById = new Map<number, RegionMeta>();
  private readonly routing = new RegionIndex();

  /** Rebuilds the state from the pairs persisted under PD_STATE_RANGE (any order). */
  static load(pairs: Iterable<[Uint8Array, Uint8Array]>): PdStateMachine {
    const machine = new PdStateMachine();
    machine.restore(pairs);
    return machine;
  }

  /**
   * Replaces this state machine's contents in place with the persisted `pairs` — for a Raft
   * snapshot of the PD group (the holder of this object keeps its reference). Throws
   * StorageCorruptionError, leaving the state empty, when a pair is damaged or unknown.
   */
  restore(pairs: Iterable<[Uint8Array, Uint8Array]>): void {
    this.clear();
    try {
      for (const [key, value] of pairs) this.loadPair(key, value);
      const regions = [...this.regionsById.values()].sort((a, b) => a.id - b.id);
      for (const region of regions) {
        const overlap = this.routing.overlapping(region.startKey, region.endKey)[0];
        if (overlap) {
          throw new StorageCorruptionError(regionKey(region.id), `region ${region.id} overlaps stored region ${overlap.id}`);
        }
        this.routing.insert(region);
      }
    } catch (error) {
      this.clear();
      throw error;
    }
  }

  /** Every persisted pair of the current state, in key order: the PD part of a Raft snapshot. */
  snapshotPairs(): Array<[Uint8Array, Uint8Array]> {
    const pairs: Array<[Uint8Array, Uint8Array]> = [];
    const stateKey = clusterStateKey();
    pairs.push([stateKey, encodeClusterState(stateKey, this.state)]);
    for (const store of this.stores()) {
      const key = storeKey(store.id);
      pairs.push([key, encodeStore(key, storeToProto(store))]);
    }
    for (const id of [...this.regionsById.keys()].sort((a, b) => a - b)) {
      const key = regionKey(id);
      pairs.push([key, encodeRegion(key, regionToProto(this.regionsById.get(id)!))]);
    }
    return pairs;
  }

  /** Applies one committed command. Never throws for bad input; throws only on a broken invariant. */
  apply(command: pdstatepb.IPdCommand): PdApplyResult {
    const kinds = command && typeof command === 'object' ? COMMAND_KINDS.filter((k) => command[k] != null) : [];
    const kind = kinds[0];
    if (kinds.length !== 1 || kind === undefined) {
      return reject('unknown', 'malformed', `a command must set exactly one of ${COMMAND_KINDS.join(', ')}; got ${kinds.length}`);
    }
    switch (kind) {
      case 'bootstrap':
        return this.applyBootstrap(command.bootstrap!);
      case 'allocIdWindow':
        return this.applyAllocIdWindow(command.allocIdWindow!);
      case 'tsoWindow':
        return this.applyTsoWindow(command.tsoWindow!);
      case 'putStore':
        return this.applyPutStore(command.putStore!);
      case 'putRegions':
        return this.applyPutRegions(command.putRegions!);
    }
  }

  // ---- reads -------------------------------------------------------------------------------

  clusterState(): ClusterStateView {
    return { ...this.state };
  }

  get clusterId(): number {
    return this.state.clusterId;
  }

  get bootstrapped(): boolean {
    return this.state.bootstrapped;
  }

  get idAllocatedEnd(): number {
    return this.state.idAllocatedEnd;
  }

  get tsoPhysicalLimitMs(): number {
    return this.state.tsoPhysicalLimitMs;
  }

  getStore(storeId: number): StoreMeta | undefined {
    return this.storesById.get(storeId);
  }

  /** All stores, tombstones included, in id order. */
  stores(): StoreMeta[] {
    return [...this.storesById.values()].sort((a, b) => a.id - b.id);
  }

  getRegion(regionId: number): RegionMeta | undefined {
    return this.regionsById.get(regionId);
  }

  /** The Region whose [start, end) contains `key`. */
  regionByKey(key: Uint8Array): RegionMeta | undefined {
    return this.routing.find(key);
  }

  /** Up to `limit` Regions intersecting [start, end) in key order (empty end: unbounded). */
  scanRegions(start: Uint8Array, end: Uint8Array, limit: number): RegionMeta[] {
    return this.routing.scan(start, end, limit);
  }

  /** All Regions in key order. */
  regions(): readonly RegionMeta[] {
    return this.routing.all();
  }

  get regionCount(): number {
    return this.regionsById.size;
  }

  /** How a reported Region compares with the stored state (the rule PutRegions applies). */
  classifyRegion(region: RegionMeta): RegionClass {
    const stored = this.regionsById.get(region.id);
    if (stored && epochIsStale(region.epoch, stored.epoch)) return 'stale';
    for (const other of this.routing.overlapping(region.startKey, region.endKey)) {
      if (other.id !== region.id && region.epoch.version < other.epoch.version) return 'stale';
    }
    return stored && regionsEqual(stored, region) ? 'unchanged' : 'newer';
  }

  // ---- commands ----------------------------------------------------------------------------

  private applyBootstrap(command: pdstatepb.IBootstrapCommand): PdApplyResult {
    if (this.state.bootstrapped) {
      return reject('bootstrap', 'already-bootstrapped', `cluster ${this.state.clusterId} is already bootstrapped`);
    }
    const clusterId = positiveId(command.clusterId);
    if (clusterId === undefined) {
      return reject('bootstrap', 'malformed', `cluster id ${String(clusterId)} is not a positive integer`);
    }
    const store = parseStore(command.store);
    if (!store.ok) return reject('bootstrap', 'malformed', store.problem);
    if (store.value.state !== metapb.StoreState.STORE_UP) {
      return reject('bootstrap', 'malformed', `the bootstrap store ${store.value.id} is not up`);
    }
    const region = parseRegion(command.region);
    if (!region.ok) return reject('bootstrap', 'malformed', region.problem);
    if (region.value.startKey.byteLength !== 0 || region.value.endKey.byteLength !== 0) {
      return reject('bootstrap', 'malformed', 'the first region must cover the whole key space');
    }
    if (!region.value.peers.some((p) => p.storeId === store.value.id)) {
      return reject('bootstrap', 'malformed', `the first region has no peer on the bootstrap store ${store.value.id}`);
    }
    const bootstrapTimeMs = uint64(command.bootstrapTimeMs);
    if (bootstrapTimeMs === undefined) {
      return reject('bootstrap', 'malformed', 'bootstrap time is not a non-negative integer');
    }
    // The caller chose the first ids; ids handed out later start above all of them.
    const largestId = Math.max(store.value.id, region.value.id, ...region.value.peers.flatMap((p) => [p.id, p.storeId]));
    this.state = {
      ...this.state,
      clusterId,
      bootstrapped: true,
      bootstrapTimeMs,
      idAllocatedEnd: Math.max(this.state.idAllocatedEnd, largestId + 1),
    };
    this.storesById.set(store.value.id, store.value);
    this.regionsById.set(region.value.id, region.value);
    this.routing.insert(region.value);
    return result(
      [this.clusterStateWrite(), this.storeWrite(store.value), this.regionWrite(region.value)],
      { kind: 'bootstrapped', clusterId },
    );
  }

  private applyAllocIdWindow(command: pdstatepb.IAllocIdWindowCommand): PdApplyResult {
    const end = positiveId(command.end);
    if (end === undefined) {
      return reject('allocIdWindow', 'malformed', `window end ${String(end)} is not a positive integer`);
    }
    // Id 0 means "none" everywhere in the protocol, so the first window starts at 1.
    const start = Math.max(this.state.idAllocatedEnd, 1);
    if (end <= start) {
      return reject('allocIdWindow', 'window-not-ahead', `window end ${end} is not past the allocated end ${start}`);
    }
    if (end - start > MAX_ID_WINDOW_SPAN) {
      return reject('allocIdWindow', 'too-large', `window of ${end - start} ids exceeds ${MAX_ID_WINDOW_SPAN}`);
    }
    this.state = { ...this.state, idAllocatedEnd: end };
    return result([this.clusterStateWrite()], { kind: 'id-window', start, end });
  }

  private applyTsoWindow(command: pdstatepb.ITsoWindowCommand): PdApplyResult {
    const limit = positiveId(command.physicalLimitMs);
    if (limit === undefined || limit > MAX_TSO_PHYSICAL_MS) {
      return reject('tsoWindow', 'malformed', `physical limit ${String(limit)} is out of range`);
    }
    const previousLimitMs = this.state.tsoPhysicalLimitMs;
    if (limit <= previousLimitMs) {
      return reject('tsoWindow', 'window-not-ahead', `physical limit ${limit} is not past ${previousLimitMs}`);
    }
    this.state = { ...this.state, tsoPhysicalLimitMs: limit };
    return result([this.clusterStateWrite()], { kind: 'tso-window', previousLimitMs, limitMs: limit });
  }

  private applyPutStore(command: pdstatepb.IPutStoreCommand): PdApplyResult {
    if (!this.state.bootstrapped) return reject('putStore', 'not-bootstrapped', 'the cluster is not bootstrapped');
    const parsed = parseStore(command.store);
    if (!parsed.ok) return reject('putStore', 'malformed', parsed.problem);
    const store = parsed.value;
    const existing = this.storesById.get(store.id);
    if (existing?.state === metapb.StoreState.STORE_TOMBSTONE && store.state !== metapb.StoreState.STORE_TOMBSTONE) {
      return reject('putStore', 'store-tombstone', `store ${store.id} is a tombstone`);
    }
    if (store.state !== metapb.StoreState.STORE_TOMBSTONE) {
      // stores() is in id order, so every replica names the same conflicting store.
      const clash = this.stores().find(
        (s) => s.id !== store.id && s.address === store.address && s.state !== metapb.StoreState.STORE_TOMBSTONE,
      );
      if (clash) {
        return reject('putStore', 'address-in-use', `address ${store.address} is used by store ${clash.id}`);
      }
    }
    if (existing && storesEqual(existing, store)) return result([], { kind: 'store-put', storeId: store.id });
    this.storesById.set(store.id, store);
    return result([this.storeWrite(store)], { kind: 'store-put', storeId: store.id });
  }

  private applyPutRegions(command: pdstatepb.IPutRegionsCommand): PdApplyResult {
    if (!this.state.bootstrapped) return reject('putRegions', 'not-bootstrapped', 'the cluster is not bootstrapped');
    const inputs = command.regions ?? [];
    if (!Array.isArray(inputs)) return reject('putRegions', 'malformed', 'regions is not a list');
    if (inputs.length > MAX_REGIONS_PER_COMMAND) {
      return reject('putRegions', 'too-large', `${inputs.length} regions exceed ${MAX_REGIONS_PER_COMMAND} per command`);
    }
    const writes: PdWrite[] = [];
    const updated: number[] = [];
    const unchanged: number[] = [];
    const stale: number[] = [];
    const invalid: number[] = [];
    const removed: number[] = [];
    for (const input of inputs) {
      const parsed = parseRegion(input);
      if (!parsed.ok) {
        invalid.push(uint64(input?.id) ?? 0);
        continue;
      }
      const region = parsed.value;
      const verdict = this.classifyRegion(region);
      if (verdict === 'stale') {
        stale.push(region.id);
        continue;
      }
      if (verdict === 'unchanged') {
        unchanged.push(region.id);
        continue;
      }
      const stored = this.regionsById.get(region.id);
      if (stored) this.routing.remove(stored);
      for (const other of this.routing.overlapping(region.startKey, region.endKey)) {
        // A newer Region now covers (part of) this older one's range: after a merge the older
        // one is gone, after a split it comes back with its own newer report.
        this.routing.remove(other);
        this.regionsById.delete(other.id);
        writes.push({ key: regionKey(other.id), value: null });
        removed.push(other.id);
      }
      this.regionsById.set(region.id, region);
      this.routing.insert(region);
      writes.push(this.regionWrite(region));
      updated.push(region.id);
    }
    return result(writes, { kind: 'regions-put', updated, unchanged, stale, invalid, removed });
  }

  // ---- persistence -------------------------------------------------------------------------

  private clusterStateWrite(): PdWrite {
    const key = clusterStateKey();
    return { key, value: encodeClusterState(key, this.state) };
  }

  private storeWrite(store: StoreMeta): PdWrite {
    const key = storeKey(store.id);
    return { key, value: encodeStore(key, storeToProto(store)) };
  }

  private regionWrite(region: RegionMeta): PdWrite {
    const key = regionKey(region.id);
    return { key, value: encodeRegion(key, regionToProto(region)) };
  }

  private loadPair(key: Uint8Array, value: Uint8Array): void {
    const parsedKey = parsePdKey(key);
    if (!parsedKey) throw new StorageCorruptionError(key, 'not a placement-driver key this version writes');
    try {
      switch (parsedKey.kind) {
        case 'clusterState': {
          const decoded = decodeBody((b) => pdstatepb.ClusterState.decode(b), key, value);
          const state = clusterStateFromProto(decoded);
          if (!state) throw new RecordDecodeError('cluster state has a field out of range');
          this.state = state;
          return;
        }
        case 'store': {
          const parsed = parseStore(decodeBody((b) => metapb.Store.decode(b), key, value));
          if (!parsed.ok) throw new RecordDecodeError(parsed.problem);
          if (parsed.value.id !== parsedKey.id) throw new RecordDecodeError(`holds store ${parsed.value.id}`);
          this.storesById.set(parsed.value.id, parsed.value);
          return;
        }
        case 'region': {
          const parsed = parseRegion(decodeBody((b) => metapb.Region.decode(b), key, value));
          if (!parsed.ok) throw new RecordDecodeError(parsed.problem);
          if (parsed.value.id !== parsedKey.id) throw new RecordDecodeError(`holds region ${parsed.value.id}`);
          this.regionsById.set(parsed.value.id, parsed.value);
          return;
        }
      }
    } catch (error) {
      if (error instanceof RecordDecodeError) throw new StorageCorruptionError(key, error.message);
      throw error;
    }
  }

  private clear(): void {
    this.state = emptyClusterState();
    this.storesById.clear();
    this.regionsById.clear();
    this.routing.clear();
  }
}

function emptyClusterState(): ClusterStateView {
  return { clusterId: 0, bootstrapped: false, bootstrapTimeMs: 0, idAllocatedEnd: 0, tsoPhysicalLimitMs: 0 };
}

function clusterStateFromProto(decoded: pdstatepb.IClusterState): ClusterStateView | undefined {
  const numbers = [decoded.clusterId, decoded.bootstrapTimeMs, decoded.idAllocatedEnd, decoded.tsoPhysicalLimitMs].map(uint64);
  if (!numbers.every((n) => n !== undefined)) return undefined;
  const [clusterId, bootstrapTimeMs, idAllocatedEnd, tsoPhysicalLimitMs] = numbers as [number, number, number, number];
  return { clusterId, bootstrapped: decoded.bootstrapped === true, bootstrapTimeMs, idAllocatedEnd, tsoPhysicalLimitMs };
}

function result(writes: PdWrite[], outcome: PdApplyOutcome): PdApplyResult {
  return Object.assign(writes, { outcome });
}

function reject(command: PdCommandKind | 'unknown', reason: PdRejection, detail: string): PdApplyResult {
  return result([], { kind: 'rejected', command, reason, detail });
}
