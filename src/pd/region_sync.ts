// Persists Region metadata learned from heartbeats: a Region whose epoch is newer than the stored
// one is queued here and written through Raft in PutRegions batches. One proposal is in flight at
// a time; reports arriving meanwhile are coalesced per Region (newest epoch wins), so a burst of
// heartbeats after a wave of splits costs a few Raft entries, not one per heartbeat. The queue is
// bounded: when full, a report is dropped — the Region's next heartbeat brings it again, because
// the stored epoch is still older.

import { epochIsStale, regionToProto, type RegionMeta } from './meta.js';
import type { PdReplication } from './replication.js';
import { MAX_REGIONS_PER_COMMAND } from './state_machine.js';

export const DEFAULT_MAX_PENDING_REGION_PUTS = 4_096;
export const DEFAULT_REGION_PUT_BATCH = 64;

export interface RegionSyncDeps {
  readonly replication: PdReplication;
  readonly maxPending?: number;
  readonly maxBatch?: number;
  /** Told when a batch could not be proposed (leadership lost); the Regions are dropped. */
  readonly onError?: (error: unknown) => void;
}

export class RegionSync {
  private readonly pending = new Map<number, RegionMeta>();
  private inFlight: ReadonlyMap<number, RegionMeta> = new Map();
  private proposing = false;
  private generation = 0;
  private readonly maxPending: number;
  private readonly maxBatch: number;
  /** Counters for status and tests. */
  readonly stats = { proposals: 0, dropped: 0, failed: 0 };

  constructor(private readonly deps: RegionSyncDeps) {
    this.maxPending = deps.maxPending ?? DEFAULT_MAX_PENDING_REGION_PUTS;
    this.maxBatch = Math.min(deps.maxBatch ?? DEFAULT_REGION_PUT_BATCH, MAX_REGIONS_PER_COMMAND);
    if (this.maxPending < 1 || this.maxBatch < 1) throw new RangeError('region sync bounds must be positive');
  }

  /** Queues `region` for persistence; false when the queue is full (the report is dropped). */
  enqueue(region: RegionMeta): boolean {
    const flying = this.inFlight.get(region.id);
    if (flying && !epochIsStale(flying.epoch, region.epoch)) return true; // already on its way
    const queued = this.pending.get(region.id);
    if (queued) {
      if (!epochIsStale(region.epoch, queued.epoch)) this.pending.set(region.id, region);
      return true;
    }
    if (this.pending.size >= this.maxPending) {
      this.stats.dropped++;
      return false;
    }
    this.pending.set(region.id, region);
    this.kick();
    return true;
  }

  /** Whether a report for `regionId` is queued or being proposed. */
  has(regionId: number): boolean {
    return this.pending.has(regionId) || this.inFlight.has(regionId);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Drops everything queued (leadership change); an in-flight proposal finishes on its own. */
  clear(): void {
    this.generation++;
    this.pending.clear();
    this.inFlight = new Map();
    this.proposing = false;
  }

  /** Resolves when nothing is queued or in flight (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    while (this.proposing || this.pending.size > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private kick(): void {
    if (this.proposing || this.pending.size === 0) return;
    const batch = new Map<number, RegionMeta>();
    for (const [id, region] of this.pending) {
      if (batch.size >= this.maxBatch) break;
      batch.set(id, region);
    }
    for (const id of batch.keys()) this.pending.delete(id);
    this.inFlight = batch;
    this.proposing = true;
    this.stats.proposals++;
    const generation = this.generation;
    this.deps.replication
      .propose({ putRegions: { regions: [...batch.values()].map(regionToProto) } })
      .catch((error: unknown) => {
        this.stats.failed++;
        this.deps.onError?.(error);
      })
      .finally(() => {
        if (generation !== this.generation) return;
        this.inFlight = new Map();
        this.proposing = false;
        this.kick();
      });
  }
}
