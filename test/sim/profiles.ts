import type { SimParams } from './simulation.js';

/**
 * Named fault profiles: parameter overrides aimed at one kind of danger, as a Jepsen test picks
 * its nemesis. Without a profile each seed draws every parameter itself (see deriveParams).
 */
export const PROFILES = {
  /**
   * Slow, reordering links (delays near the election timeout) and one entry per append, among
   * five voters: competing leaders leave divergent logs behind, the setting of the Raft paper's
   * Figure 8, where committing an older term's entry by counting replicas loses it.
   */
  divergentLogs: {
    nodes: 5,
    initialVoters: 5,
    preVote: false,
    maxEntriesPerMsg: 1,
    electionTick: 5,
    partitionRate: 0.06,
    healRate: 0.05,
    confChangeRate: 0,
    transferRate: 0,
    faults: { dropRate: 0.05, duplicateRate: 0, minDelay: 1, maxDelay: 40 },
  },
  /**
   * Lease reads under leader isolation: a fast network, so a new leader is elected and serves
   * writes while the isolated one still believes in its lease, and many clients that do not all
   * follow the same leader, so stale reads become observable.
   */
  leaseReads: {
    nodes: 3,
    initialVoters: 3,
    readOnlyOption: 'leaseBased',
    checkQuorum: true,
    preVote: true,
    clients: 8,
    opRate: 0.6,
    wanderRate: 0.3,
    partitionRate: 0.06,
    healRate: 0.05,
    crashRate: 0,
    leaderCrashRate: 0,
    confChangeRate: 0,
    transferRate: 0,
    electionTick: 10,
    heartbeatTick: 1,
    faults: { dropRate: 0, duplicateRate: 0, minDelay: 1, maxDelay: 3 },
  },
} satisfies Record<string, Partial<SimParams>>;

export type ProfileName = keyof typeof PROFILES;
