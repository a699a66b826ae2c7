// Absolute deadlines on the monotonic clock. Every operation of the client is bounded by one; it is
// passed down rather than re-derived so that retries, backoff and nested calls share one budget.

export class Deadline {
  private constructor(
    /** `performance.now()` value at which the time is up. */
    readonly at: number,
    /** The budget the deadline was created with, for error messages. */
    readonly budgetMs: number,
  ) {}

  static after(ms: number): Deadline {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`deadline budget must be a finite, non-negative number of ms, got ${ms}`);
    return new Deadline(performance.now() + ms, ms);
  }

  remainingMs(): number {
    return Math.max(0, this.at - performance.now());
  }

  elapsedMs(): number {
    return this.budgetMs - (this.at - performance.now());
  }

  expired(): boolean {
    return performance.now() >= this.at;
  }

  /** The earlier of this deadline and `ms` from now: a per-attempt bound inside an overall one. */
  within(ms: number): Deadline {
    const at = Math.min(this.at, performance.now() + ms);
    return at === this.at ? this : new Deadline(at, ms);
  }

  /** gRPC takes wall-clock deadlines. */
  toDate(): Date {
    return new Date(Date.now() + this.remainingMs());
  }
}

/**
 * Settles like `promise`, or rejects with `onExpire()` when the deadline passes first. The promise
 * keeps running (it may be shared with other callers); only this caller stops waiting.
 */
export function raceDeadline<T>(promise: Promise<T>, deadline: Deadline, onExpire: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onExpire()), deadline.remainingMs());
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Appends to a diagnostic list, keeping at most `limit` entries (the oldest go first). */
export function pushBounded(list: string[], entry: string, limit = 64): void {
  list.push(entry);
  if (list.length > limit) list.splice(0, list.length - limit);
}
