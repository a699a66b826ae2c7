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
 * ReadIndex requests on the leader, confirmed in order. Every heartbeat broadcast is a numbered
 * round; a read waits for the round broadcast right after it arrived. A follower's response to
 * round s acknowledges every read waiting for a round ≤ s (they all predate that heartbeat). A
 * read is released when a quorum of voters (the leader included) acknowledged its round;
 * releasing one releases all before it.
 */
export class ReadOnly {
  private queue: PendingRead[] = [];
  private head = 0;
  private readonly ackedSeq = new Map<NodeId, number>();

  constructor(
    readonly option: ReadOnlyOption,
    /** Bound on requests waiting for confirmation; beyond it new requests are refused. */
    readonly maxPending: number,
  ) {}

  get pendingCount(): number {
    return this.queue.length - this.head;
  }

  /** Queues a read confirmed by heartbeat round `seq`; false when the queue is full. */
  add(seq: number, index: number, from: NodeId, context: Uint8Array): boolean {
    if (this.pendingCount >= this.maxPending) return false;
    this.queue.push({ seq, index, from, context });
    return true;
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
