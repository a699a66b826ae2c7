// Latches serialize the transactional commands of a store that touch a common key: a command
// computes its writes from what it reads, so no other command may change those keys between its
// reads and the moment its writes are applied. A command queues on all of its keys at once, in
// arrival order, and runs when it is first in every queue; since every queue is ordered by the same
// arrival order, no two commands can wait for each other.

export class Latches {
  private readonly queues = new Map<string, Waiter[]>();
  private waiting = 0;

  constructor(private readonly maxWaiting: number) {}

  /** Commands queued or running. */
  get size(): number {
    return this.waiting;
  }

  /**
   * Resolves with a release function once the command holds every key; undefined when the bound
   * on queued commands is reached (the caller answers "server is busy").
   */
  acquire(keys: readonly Uint8Array[]): Promise<() => void> | undefined {
    if (this.waiting >= this.maxWaiting) return undefined;
    const ids = [...new Set(keys.map((k) => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1')))];
    this.waiting++;
    return new Promise((resolve) => {
      const waiter: Waiter = { ids, blockedOn: 0, run: () => resolve(() => this.release(waiter)) };
      for (const id of ids) {
        let queue = this.queues.get(id);
        if (queue === undefined) this.queues.set(id, (queue = []));
        queue.push(waiter);
        if (queue.length > 1) waiter.blockedOn++;
      }
      if (waiter.blockedOn === 0) waiter.run();
    });
  }

  private release(waiter: Waiter): void {
    this.waiting--;
    for (const id of waiter.ids) {
      const queue = this.queues.get(id)!;
      if (queue[0] !== waiter) throw new Error('invariant: a latch released by a command that did not hold it');
      queue.shift();
      if (queue.length === 0) {
        this.queues.delete(id);
        continue;
      }
      const next = queue[0]!;
      next.blockedOn--;
      if (next.blockedOn === 0) next.run();
    }
  }
}

interface Waiter {
  readonly ids: string[];
  blockedOn: number;
  readonly run: () => void;
}
