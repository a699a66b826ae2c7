// The placement driver's tunables, their defaults and their bounds. They come from flags, so each
// is validated: a value out of range stops startup with a message naming the flag's option.

export interface PdServerOptions {
  /** A store without a heartbeat for this long is down; its peers are removed and replaced. */
  readonly storeDownTimeoutMs: number;
  /** Voters each Region should have. */
  readonly maxReplicas: number;
  /** How often the leader runs the replica checker and expires operators. */
  readonly patrolIntervalMs: number;
  /** An operator not finished this long after it started is abandoned. */
  readonly operatorTimeoutMs: number;
  /** How far ahead of the clock the TSO persists its physical limit. */
  readonly tsoWindowMs: number;
  /** Ids reserved per Raft round by the id allocator. */
  readonly idWindow: number;
  /** Operators the replica checker may start in one patrol. */
  readonly maxOperatorsPerPatrol: number;
  /** Regions the replica checker examines in one patrol (it resumes where it stopped). */
  readonly regionsPerPatrol: number;
  /** Operators running at once, over all Regions. */
  readonly maxOperators: number;
  /** MVCC versions older than this are garbage-collected: the safe point is now minus this. */
  readonly gcTtlMs: number;
}

export const DEFAULT_PD_OPTIONS: PdServerOptions = {
  storeDownTimeoutMs: 5 * 60_000,
  maxReplicas: 3,
  patrolIntervalMs: 1_000,
  operatorTimeoutMs: 5 * 60_000,
  tsoWindowMs: 3_000,
  idWindow: 1_000,
  maxOperatorsPerPatrol: 16,
  regionsPerPatrol: 4_096,
  maxOperators: 4_096,
  gcTtlMs: 10 * 60_000,
};

const BOUNDS: { readonly [K in keyof PdServerOptions]: readonly [min: number, max: number] } = {
  storeDownTimeoutMs: [1, 7 * 24 * 3_600_000],
  maxReplicas: [1, 7],
  patrolIntervalMs: [1, 3_600_000],
  operatorTimeoutMs: [1, 24 * 3_600_000],
  tsoWindowMs: [10, 60_000],
  idWindow: [1, 100_000],
  maxOperatorsPerPatrol: [1, 10_000],
  regionsPerPatrol: [1, 1_000_000],
  maxOperators: [1, 100_000],
  gcTtlMs: [1_000, 365 * 24 * 3_600_000],
};

/** Fills in defaults and checks every bound; throws RangeError naming the offending option. */
export function resolvePdOptions(given: Partial<PdServerOptions> = {}): PdServerOptions {
  const resolved = { ...DEFAULT_PD_OPTIONS, ...stripUndefined(given) };
  for (const name of Object.keys(BOUNDS) as (keyof PdServerOptions)[]) {
    const value = resolved[name];
    const [min, max] = BOUNDS[name];
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(`placement driver option ${name} must be an integer in [${min}, ${max}], got ${value}`);
    }
  }
  return resolved;
}

function stripUndefined(given: Partial<PdServerOptions>): Partial<PdServerOptions> {
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<PdServerOptions>;
}
