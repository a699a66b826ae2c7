// Tuning of a store, with defaults. Every bound is explicit; tests shrink them.

export interface RaftTuning {
  /** Wall-clock length of one Raft tick. */
  tickIntervalMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  maxSizePerMsg: number;
  maxEntriesPerMsg: number;
  maxInflightMsgs: number;
  maxUncommittedEntriesSize: number;
}

export interface SplitOptions {
  /** A Region whose data passes this many bytes is split. */
  maxSizeBytes: number;
  /** A Region holding more keys than this is split. */
  maxKeys: number;
}

export interface LogGcOptions {
  /** Compact a group's log once it holds more applied entries than this. */
  thresholdEntries: number;
  /** Entries kept behind the applied index when compacting (cheap catch-up for a slightly lagging follower). */
  keepEntries: number;
}

export interface HibernateOptions {
  enabled: boolean;
  /** Ticks a Region must stay idle (nothing to replicate, no requests) before it stops ticking. */
  idleTicks: number;
}

export interface StoreLimits {
  /** Raft messages queued from the network and not yet stepped; beyond it batches are dropped. */
  maxInboxMessages: number;
  /** Proposals waiting to apply across the store; beyond it writes get ServerIsBusy. */
  maxPendingProposals: number;
  /** Mutations in one write request. */
  maxMutationsPerWrite: number;
  /** Payload bytes of one write request. */
  maxWriteBytes: number;
  /** Pairs returned by one scan. */
  maxScanLimit: number;
  /** Largest snapshot a store generates or accepts. */
  maxSnapshotBytes: number;
}

export interface MvccGcOptions {
  /** Least time between two garbage-collection rounds over the store's leader Regions. */
  intervalMs: number;
  /** User keys cleaned per replicated command. */
  keysPerCommand: number;
}

export interface StoreTuning {
  raft: RaftTuning;
  mvccGc: MvccGcOptions;
  split: SplitOptions;
  logGc: LogGcOptions;
  hibernate: HibernateOptions;
  limits: StoreLimits;
  /** How often a Region's leader reports it to the placement driver (also sent on every change). */
  regionHeartbeatIntervalMs: number;
  storeHeartbeatIntervalMs: number;
}

export const DEFAULT_TUNING: StoreTuning = {
  raft: {
    tickIntervalMs: 100,
    electionTicks: 10,
    heartbeatTicks: 2,
    maxSizePerMsg: 1 << 20,
    maxEntriesPerMsg: 1024,
    maxInflightMsgs: 256,
    maxUncommittedEntriesSize: 64 << 20,
  },
  split: { maxSizeBytes: 64 << 20, maxKeys: 640_000 },
  mvccGc: { intervalMs: 60_000, keysPerCommand: 256 },
  logGc: { thresholdEntries: 2048, keepEntries: 128 },
  hibernate: { enabled: true, idleTicks: 20 },
  limits: {
    maxInboxMessages: 200_000,
    maxPendingProposals: 100_000,
    maxMutationsPerWrite: 10_000,
    maxWriteBytes: 8 << 20,
    maxScanLimit: 10_000,
    maxSnapshotBytes: 512 << 20,
  },
  regionHeartbeatIntervalMs: 10_000,
  storeHeartbeatIntervalMs: 5_000,
};

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] };

export function resolveTuning(overrides: DeepPartial<StoreTuning> = {}): StoreTuning {
  return {
    raft: { ...DEFAULT_TUNING.raft, ...overrides.raft },
    split: { ...DEFAULT_TUNING.split, ...overrides.split },
    mvccGc: { ...DEFAULT_TUNING.mvccGc, ...overrides.mvccGc },
    logGc: { ...DEFAULT_TUNING.logGc, ...overrides.logGc },
    hibernate: { ...DEFAULT_TUNING.hibernate, ...overrides.hibernate },
    limits: { ...DEFAULT_TUNING.limits, ...overrides.limits },
    regionHeartbeatIntervalMs: overrides.regionHeartbeatIntervalMs ?? DEFAULT_TUNING.regionHeartbeatIntervalMs,
    storeHeartbeatIntervalMs: overrides.storeHeartbeatIntervalMs ?? DEFAULT_TUNING.storeHeartbeatIntervalMs,
  };
}

export type TuningOverrides = DeepPartial<StoreTuning>;
