import type { JointConfig } from './quorum/joint.js';
import type { NodeId } from './types.js';

export type ReadOnlyOption = 'safe' | 'leaseBased';

/** A read waiting for a heartbeat quorum to confirm that this node is still the leader. */
export interface PendingRead {
  readonly seq: number;
  /** The commit index when the read arrived: the read may be served once it is applied. */
  readonly index: number;
  /** The node that asked (this node's own id for local requests). */
  readonly from: NodeId;
  readonly context: Uint8Array;
}

/**
 * ReadIndex requests on the leader, confirmed in order. Each request gets a sequence number; the
 * heartbeat broadcast after it carries that number, and a follower's response acknowledges every
 * request up to it (they all predate the heartbeat). A request is released when a quorum of
 * voters (the leader included) acknowledged its number; releasing one releases all before it.
 */
export class ReadOnly {
  private queue: PendingRead[] = [];
  private head = 0;
  private readonly ackedSeq = new Map<NodeId, number>();
  private nextSeq = 1;

  constructor(
    readonly option: ReadOnlyOption,
    /** Bound on requests waiting for confirmation; beyond it new requests are refused. */
    readonly maxPending: number,
  ) {}

  get pendingCount(): number {
    return this.queue.length - this.head;
  }

  /** The sequence number of the newest pending request, 0 if none. */
  lastPendingSeq(): number {
    return this.pendingCount > 0 ? this.queue[this.queue.length - 1]!.seq : 0;
  }

  /** Queues a read; returns its sequence number, or undefined when the queue is full. */
  add(index: number, from: NodeId, context: Uint8Array): number | undefined {
    if (this.pendingCount >= this.maxPending) return undefined;
    const seq = this.nextSeq++;
    this.queue.push({ seq, index, from, context });
    return seq;
  }

  /** Records that `from` acknowledged heartbeats up to `seq`; returns the reads now confirmed. */
  recvAck(from: NodeId, seq: number, selfId: NodeId, voters: JointConfig): PendingRead[] {
    if (seq <= (this.ackedSeq.get(from) ?? 0)) return [];
    this.ackedSeq.set(from, seq);
    const released: PendingRead[] = [];
    while (this.head < this.queue.length) {
      const read = this.queue[this.head]!;
      const confirmed =
        voters.voteResult((id) => (id === selfId ? true : (this.ackedSeq.get(id) ?? 0) >= read.seq ? true : undefined)) ===
        'won';
      if (!confirmed) break;
      released.push(read);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return released;
  }

  /** Drops everything: leadership changed, so pending reads can no longer be confirmed here. */
  reset(): void {
    this.queue = [];
    this.head = 0;
    this.ackedSeq.clear();
  }
}
