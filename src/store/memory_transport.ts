// A transport between stores in one process, for tests of the store loop: messages are
// delivered asynchronously (as a network would), and links can be cut.
import type { raftpb } from '../proto/index.js';
import type { RaftInbox, Transport } from './transport.js';

export class MemoryNetwork {
  private readonly inboxes = new Map<string, RaftInbox>();
  private readonly cut = new Set<string>();
  delivered = 0;
  /** When set, snapshots it returns true for are lost on the way (the sender sees a failure). */
  dropSnapshot: ((to: string, message: raftpb.IRaftMessage) => boolean) | undefined;

  register(address: string, inbox: RaftInbox): void {
    this.inboxes.set(address, inbox);
  }

  unregister(address: string): void {
    this.inboxes.delete(address);
  }

  /** Drops everything between `a` and `b`, both ways. */
  partition(a: string, b: string): void {
    this.cut.add(`${a}|${b}`);
    this.cut.add(`${b}|${a}`);
  }

  heal(): void {
    this.cut.clear();
  }

  isCut(from: string, to: string): boolean {
    return this.cut.has(`${from}|${to}`);
  }

  inbox(address: string): RaftInbox | undefined {
    return this.inboxes.get(address);
  }

  transport(from: string, clusterId: () => number): Transport {
    return new MemoryTransport(this, from, clusterId);
  }
}

class MemoryTransport implements Transport {
  private queued = new Map<string, raftpb.IRaftMessage[]>();

  constructor(
    private readonly network: MemoryNetwork,
    private readonly from: string,
    private readonly clusterId: () => number,
  ) {}

  send(address: string, message: raftpb.IRaftMessage): void {
    let list = this.queued.get(address);
    if (list === undefined) this.queued.set(address, (list = []));
    list.push(message);
  }

  flush(): void {
    const queued = this.queued;
    this.queued = new Map();
    for (const [address, messages] of queued) {
      setImmediate(() => {
        const inbox = this.network.inbox(address);
        if (inbox === undefined || this.network.isCut(this.from, address)) return;
        this.network.delivered += messages.length;
        inbox.receive({ clusterId: this.clusterId(), fromStore: 0, fromAddress: this.from, messages });
      });
    }
  }

  async sendSnapshot(address: string, message: raftpb.IRaftMessage): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    const inbox = this.network.inbox(address);
    if (inbox === undefined || this.network.isCut(this.from, address)) throw new Error(`no route to ${address}`);
    if (this.network.dropSnapshot?.(address, message)) throw new Error(`snapshot to ${address} lost`);
    await inbox.receiveSnapshot(this.clusterId(), message);
  }

  async close(): Promise<void> {
    this.queued.clear();
  }
}
