import type { Message, NodeId } from '../../src/raft/index.js';
import type { SeededRandom } from '../support/prng.js';
import { EventHeap } from './heap.js';

export interface NetworkFaults {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice. */
  duplicateRate: number;
  /** Delivery delay in [minDelay, maxDelay] time units, drawn per message (so messages reorder). */
  minDelay: number;
  maxDelay: number;
}

export type DeliveryFate = 'delivered' | 'dropped' | 'cut' | 'nodeDown';

/**
 * A seeded, lossy, reordering network. Links are directed: cutting a→b leaves b→a working, so
 * partitions can be asymmetric. Cuts are checked when a message arrives, so messages in flight
 * when a partition starts are lost too.
 */
export class SimNetwork {
  private readonly inFlight = new EventHeap<{ message: Message; lost: boolean }>();
  private readonly cut = new Set<number>();
  faults: NetworkFaults;
  sent = 0;
  dropped = 0;
  duplicated = 0;

  constructor(
    private readonly random: SeededRandom,
    faults: NetworkFaults,
  ) {
    this.faults = faults;
  }

  private static link(from: NodeId, to: NodeId): number {
    return from * 4096 + to;
  }

  send(now: number, m: Message): void {
    this.sent++;
    const f = this.faults;
    // A lost message still travels the queue so that the sender's transport can find out when
    // it would have arrived (a snapshot stream fails visibly; a datagram just vanishes).
    const lost = f.dropRate > 0 && this.random.chance(f.dropRate);
    if (lost) this.dropped++;
    this.inFlight.push(now + this.random.between(f.minDelay, f.maxDelay), { message: m, lost });
    if (!lost && f.duplicateRate > 0 && this.random.chance(f.duplicateRate)) {
      this.duplicated++;
      this.inFlight.push(now + this.random.between(f.minDelay, f.maxDelay), { message: m, lost: false });
    }
  }

  /** Messages due at or before `now`, in delivery order, each with whether it gets through. */
  due(now: number): { message: Message; cut: boolean }[] {
    const out: { message: Message; cut: boolean }[] = [];
    for (;;) {
      const t = this.inFlight.peekTime();
      if (t === undefined || t > now) break;
      const { message, lost } = this.inFlight.pop()!;
      out.push({ message, cut: lost || this.cut.has(SimNetwork.link(message.from, message.to)) });
    }
    return out;
  }

  cutLink(from: NodeId, to: NodeId): void {
    if (from !== to) this.cut.add(SimNetwork.link(from, to));
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(SimNetwork.link(from, to));
  }

  /** Cuts both directions between every pair of nodes in different groups. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.cutLink(x, y);
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  get partitioned(): boolean {
    return this.cut.size > 0;
  }

  get pending(): number {
    return this.inFlight.size;
  }
}
