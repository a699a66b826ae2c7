/**
 * A latency histogram in the manner of HdrHistogram: values in microseconds, exact below 256 µs,
 * then 128 linear sub-buckets per power of two, so any recorded value is reported within 0.4% (half
 * a sub-bucket) of its true value. Fixed memory (3,200 counters), O(1) record, mergeable.
 */
export class LatencyHistogram {
  private static readonly LINEAR = 256;
  private static readonly SUB = 128;
  /** Largest value kept apart: 2^31 - 1 µs, about 36 minutes; larger values are clamped to it. */
  static readonly MAX_US = 2 ** 31 - 1;
  private static readonly SIZE = 256 + 23 * 128;

  private readonly counts = new Float64Array(LatencyHistogram.SIZE);
  private total = 0;
  private sumUs = 0;
  private minUs = Number.POSITIVE_INFINITY;
  private maxUs = 0;

  get count(): number {
    return this.total;
  }

  /** Records one latency given in milliseconds. */
  recordMs(ms: number): void {
    this.recordUs(ms * 1000);
  }

  recordUs(us: number): void {
    const v = Math.min(LatencyHistogram.MAX_US, Math.max(0, Math.round(us)));
    this.counts[LatencyHistogram.indexOf(v)]!++;
    this.total++;
    this.sumUs += v;
    if (v < this.minUs) this.minUs = v;
    if (v > this.maxUs) this.maxUs = v;
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < LatencyHistogram.SIZE; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.sumUs += other.sumUs;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
  }

  meanMs(): number {
    return this.total === 0 ? Number.NaN : this.sumUs / this.total / 1000;
  }

  maxMs(): number {
    return this.total === 0 ? Number.NaN : this.maxUs / 1000;
  }

  /** The latency (ms) at or below which `p` percent of the recorded values lie; NaN when empty. */
  percentileMs(p: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    if (rank >= this.total) return this.maxUs / 1000;
    let seen = 0;
    for (let i = 0; i < LatencyHistogram.SIZE; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const [low, width] = LatencyHistogram.boundsOf(i);
        const mid = low + (width - 1) / 2;
        return Math.min(this.maxUs, Math.max(this.minUs, mid)) / 1000;
      }
    }
    return this.maxUs / 1000;
  }

  private static indexOf(v: number): number {
    if (v < LatencyHistogram.LINEAR) return v;
    const magnitude = 31 - Math.clz32(v); // ≥ 8
    const shift = magnitude - 7;
    const sub = v >>> shift; // in [128, 256)
    return LatencyHistogram.LINEAR + (shift - 1) * LatencyHistogram.SUB + (sub - LatencyHistogram.SUB);
  }

  /** [lowest value, number of values] of bucket i. */
  private static boundsOf(i: number): [number, number] {
    if (i < LatencyHistogram.LINEAR) return [i, 1];
    const shift = Math.floor((i - LatencyHistogram.LINEAR) / LatencyHistogram.SUB) + 1;
    const sub = ((i - LatencyHistogram.LINEAR) % LatencyHistogram.SUB) + LatencyHistogram.SUB;
    const width = 2 ** shift;
    return [sub * width, width];
  }
}
