import { describe, expect, it } from 'vitest';
import { PLANTED_BUGS, type PlantedBug } from './planted.js';
import { PROFILES, type ProfileName } from './profiles.js';
import { Simulation, type RunOptions, type SeedResult } from './simulation.js';

function runRange(from: number, to: number, options: RunOptions = {}): SeedResult[] {
  const results: SeedResult[] = [];
  for (let seed = from; seed <= to; seed++) results.push(new Simulation(seed, options).run());
  return results;
}

const failures = (results: readonly SeedResult[]): string[] =>
  results.filter((r) => r.violations.length > 0).map((r) => `seed ${r.seed} (tick ${r.violationTick}): ${r.violations[0]}`);

describe('the simulator on the real implementation', () => {
  it('finds no violation in 250 seeded fault schedules, and exercises every kind of fault', () => {
    const results = runRange(1, 250);
    expect(failures(results)).toEqual([]);
    const total = (f: (r: SeedResult) => number): number => results.reduce((acc, r) => acc + f(r), 0);
    // A run that does nothing proves nothing: every fault and operation kind actually happened.
    expect(total((r) => r.stats.elections)).toBeGreaterThan(1000);
    expect(total((r) => r.stats.partitions)).toBeGreaterThan(500);
    expect(total((r) => r.stats.crashes)).toBeGreaterThan(100);
    expect(total((r) => r.stats.confChanges)).toBeGreaterThan(300);
    expect(total((r) => r.stats.transfers)).toBeGreaterThan(100);
    expect(total((r) => r.stats.opsCompleted)).toBeGreaterThan(10_000);
    // Histories were judged, not skipped.
    expect(results.filter((r) => r.lincheck === 'ok').length).toBeGreaterThanOrEqual(248);
  });

  it.each(Object.keys(PROFILES) as ProfileName[])('finds no violation under the %s profile', (profile) => {
    expect(failures(runRange(1, 100, { overrides: PROFILES[profile] }))).toEqual([]);
  });

  it('replays a seed exactly', () => {
    const a = new Simulation(42).run();
    const b = new Simulation(42).run();
    expect(b.stats).toEqual(a.stats);
    expect(b.violations).toEqual(a.violations);
    expect(b.params).toEqual(a.params);
  });
});

// Each planted bug must be caught within a fixed range of seeds. The runs are deterministic, so
// these are not flaky: they fail only if a change makes the simulator blind to the bug.
describe('the simulator catches planted bugs', () => {
  const caught = (bug: PlantedBug, to: number, overrides: RunOptions['overrides'] = {}): SeedResult[] =>
    runRange(1, to, { raftClass: PLANTED_BUGS[bug], overrides }).filter((r) => r.violations.length > 0);

  it('granting votes without the election restriction', () => {
    const hits = caught('voteWithoutLogCheck', 30);
    expect(hits.length).toBeGreaterThan(0);
    for (const r of hits) {
      expect(r.violations[0]).toMatch(/leader completeness|commit durability|log matching|state machine safety|committed|linearizability/);
    }
  });

  it("committing an earlier term's entry by counting replicas (the paper's Figure 8)", () => {
    const hits = caught('commitPreviousTermByCounting', 100, PROFILES.divergentLogs);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.violations[0]).toMatch(/commit durability|leader completeness|state machine safety/);
  });

  it('serving lease reads on check-quorum alone (a stale read after the leader is cut off)', () => {
    const hits = caught('trustCheckQuorumAsLease', 60, PROFILES.leaseReads);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.violations[0]).toMatch(/linearizability/);
  });
});
