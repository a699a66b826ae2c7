// Exponential backoff with jitter. Every retry loop of the client sleeps through one of these so
// that many clients hitting the same fault do not retry in lockstep; the random source is injected
// so tests can make the delays exact.

export interface BackoffPolicy {
  /** The first delay's ceiling; each further attempt doubles it. */
  readonly baseMs: number;
  /** No delay exceeds this. */
  readonly maxMs: number;
}

/** A source of uniform numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

export function resolveBackoffPolicy(given: Partial<BackoffPolicy> | undefined, defaults: BackoffPolicy): BackoffPolicy {
  const policy = { ...defaults, ...given };
  if (!(policy.baseMs > 0) || !(policy.maxMs >= policy.baseMs) || !Number.isFinite(policy.maxMs)) {
    throw new RangeError(`backoff needs 0 < baseMs <= maxMs < infinity, got ${JSON.stringify(policy)}`);
  }
  return policy;
}

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: RandomSource = Math.random,
  ) {}

  get attempts(): number {
    return this.attempt;
  }

  /**
   * The next delay: "equal jitter", half of the exponential ceiling fixed and half random, so a
   * delay never collapses to zero (which would turn a retry loop into a busy loop) yet spreads.
   * `atLeastMs` lets a server's own hint (ServerIsBusy.backoff_ms) raise it, capped at four
   * times maxMs so that a bogus hint cannot stall the caller for long.
   */
  nextDelayMs(atLeastMs = 0): number {
    const ceiling = Math.min(this.policy.maxMs, this.policy.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    const jittered = ceiling / 2 + this.random() * (ceiling / 2);
    return Math.max(Math.round(jittered), Math.min(atLeastMs, this.policy.maxMs * 4), 1);
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (a closing client stops waiting). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
