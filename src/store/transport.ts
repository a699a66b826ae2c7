// How a store reaches other stores. Messages are queued per destination during a loop
// iteration and flushed as one RaftBatch per destination after the iteration's write is
// durable; snapshots, whose data can be large, travel separately in bounded chunks.
import type { raftpb } from '../proto/index.js';

export interface Transport {
  /** Queues a message for the store (or placement-driver member) at `address`. */
  send(address: string, message: raftpb.IRaftMessage): void;
  /** Sends everything queued: one batch per destination. Delivery is best effort (Raft retries). */
  flush(): void;
  /** Streams a snapshot message in chunks; resolves once the receiver has it all, rejects otherwise. */
  sendSnapshot(address: string, message: raftpb.IRaftMessage): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** Where a transport hands what arrives: the receiving store. */
export interface RaftInbox {
  receive(batch: raftpb.IRaftBatch): void;
  receiveSnapshot(clusterId: number, message: raftpb.IRaftMessage): Promise<void>;
}
