import { invariant } from '../errors.js';

/**
 * The appends sent to one follower and not yet acknowledged, as a ring of (last index, bytes).
 * Bounded both by message count and by payload bytes; when either bound is reached the follower
 * is paused until acknowledgements free room.
 */
export class Inflights {
  private readonly lastIndexes: Float64Array;
  private readonly sizes: Float64Array;
  private start = 0;
  private length = 0;
  private bytes = 0;

  constructor(
    readonly capacity: number,
    readonly maxBytes: number = Number.POSITIVE_INFINITY,
  ) {
    invariant(capacity > 0, () => `inflight capacity must be positive, got ${capacity}`);
    this.lastIndexes = new Float64Array(capacity);
    this.sizes = new Float64Array(capacity);
  }

  get count(): number {
    return this.length;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  full(): boolean {
    return this.length === this.capacity || this.bytes >= this.maxBytes;
  }

  /** Records an append whose last entry is `lastIndex`. Indexes must increase. */
  add(lastIndex: number, bytes: number): void {
    invariant(!this.full(), () => 'cannot add to a full inflight window');
    if (this.length > 0) {
      const prev = this.lastIndexes[(this.start + this.length - 1) % this.capacity]!;
      invariant(lastIndex > prev, () => `inflight index ${lastIndex} does not follow ${prev}`);
    }
    const slot = (this.start + this.length) % this.capacity;
    this.lastIndexes[slot] = lastIndex;
    this.sizes[slot] = bytes;
    this.length++;
    this.bytes += bytes;
  }

  /** Grows the most recent append (entries merged into a message not yet handed out). */
  extendLast(lastIndex: number, bytes: number): void {
    invariant(this.length > 0, () => 'no inflight append to extend');
    const slot = (this.start + this.length - 1) % this.capacity;
    invariant(lastIndex > this.lastIndexes[slot]!, () => 'extended inflight index must increase');
    this.lastIndexes[slot] = lastIndex;
    this.sizes[slot] = this.sizes[slot]! + bytes;
    this.bytes += bytes;
  }

  /** Frees every append whose last index is ≤ `index`. */
  freeLE(index: number): void {
    while (this.length > 0 && this.lastIndexes[this.start]! <= index) {
      this.bytes -= this.sizes[this.start]!;
      this.start = (this.start + 1) % this.capacity;
      this.length--;
    }
    if (this.length === 0) {
      this.start = 0;
      this.bytes = 0;
    }
  }

  /** Frees the oldest append, so a follower whose acknowledgements were all lost can be probed. */
  freeFirstOne(): void {
    if (this.length === 0) return;
    this.freeLE(this.lastIndexes[this.start]!);
  }

  reset(): void {
    this.start = 0;
    this.length = 0;
    this.bytes = 0;
  }
}
