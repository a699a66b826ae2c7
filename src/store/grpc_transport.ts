// The network transport between stores: one long-lived client stream per destination carrying
// RaftBatches, and a separate stream per snapshot carrying its data in bounded chunks.
import * as grpc from '@grpc/grpc-js';
import { raftpb } from '../proto/index.js';
import { GRPC_CHANNEL_OPTIONS, RaftTransportService } from '../proto/services.js';
import type { RaftLogger } from '../raft/index.js';
import type { RaftInbox, Transport } from './transport.js';

/** Snapshot data travels in chunks of this size. */
export const SNAPSHOT_CHUNK_BYTES = 1 << 20;
/** Bytes a destination's stream may have buffered; beyond it batches are dropped (Raft resends). */
const MAX_BUFFERED_BYTES = 64 << 20;
/** After a stream to a destination fails, wait this long before opening another. */
const RECONNECT_BACKOFF_MS = 200;

const RaftTransportClient = grpc.makeGenericClientConstructor(RaftTransportService, 'RaftTransport');
type Client = InstanceType<typeof RaftTransportClient>;

interface Destination {
  client: Client;
  stream: grpc.ClientWritableStream<raftpb.IRaftBatch> | undefined;
  brokenUntil: number;
}

export interface GrpcTransportOptions {
  clusterId: () => number;
  storeId: () => number;
  address: string;
  logger: RaftLogger;
  /** Called when a destination's stream breaks (its store may be down). */
  onUnreachable?: (address: string) => void;
}

export class GrpcTransport implements Transport {
  private readonly destinations = new Map<string, Destination>();
  private queued = new Map<string, raftpb.IRaftMessage[]>();
  /** Set by close(): nothing is queued, sent or reconnected afterwards. */
  private closed = false;

  constructor(private readonly options: GrpcTransportOptions) {}

  send(address: string, message: raftpb.IRaftMessage): void {
    if (this.closed) return;
    let list = this.queued.get(address);
    if (list === undefined) this.queued.set(address, (list = []));
    list.push(message);
  }

  flush(): void {
    if (this.closed) return;
    const queued = this.queued;
    this.queued = new Map();
    for (const [address, messages] of queued) {
      const stream = this.streamTo(address);
      if (stream === undefined) continue;
      if (stream.writableLength > MAX_BUFFERED_BYTES) {
        this.options.logger.warn('raft stream backed up; dropping a batch', { to: address, messages: messages.length });
        continue;
      }
      stream.write({
        clusterId: this.options.clusterId(),
        fromStore: this.options.storeId(),
        fromAddress: this.options.address,
        messages,
      });
    }
  }

  private destination(address: string): Destination {
    let d = this.destinations.get(address);
    if (d === undefined) {
      d = { client: new RaftTransportClient(address, grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS), stream: undefined, brokenUntil: 0 };
      this.destinations.set(address, d);
    }
    return d;
  }

  private streamTo(address: string): grpc.ClientWritableStream<raftpb.IRaftBatch> | undefined {
    const d = this.destination(address);
    if (d.stream !== undefined) return d.stream;
    if (Date.now() < d.brokenUntil) return undefined;
    const stream = d.client.makeClientStreamRequest<raftpb.IRaftBatch, raftpb.IDone>(
      RaftTransportService.raft.path,
      RaftTransportService.raft.requestSerialize,
      RaftTransportService.raft.responseDeserialize,
      (err) => {
        if (d.stream === stream) d.stream = undefined;
        if (err) {
          d.brokenUntil = Date.now() + RECONNECT_BACKOFF_MS;
          this.options.logger.debug('raft stream closed', { to: address, error: err.message });
          this.options.onUnreachable?.(address);
        }
      },
    );
    stream.on('error', () => {
      if (d.stream === stream) d.stream = undefined;
    });
    d.stream = stream;
    return stream;
  }

  async sendSnapshot(address: string, message: raftpb.IRaftMessage): Promise<void> {
    if (this.closed) throw new Error('the raft transport is closed');
    const d = this.destination(address);
    const data = message.message?.snapshot?.data ?? new Uint8Array(0);
    // The first chunk carries the message without its data; the data follows in chunks.
    const head: raftpb.IRaftMessage = {
      ...message,
      message: { ...message.message, snapshot: { ...message.message?.snapshot, data: new Uint8Array(0) } },
    };
    await new Promise<void>((resolve, reject) => {
      const call = d.client.makeClientStreamRequest<raftpb.ISnapshotChunk, raftpb.IDone>(
        RaftTransportService.snapshot.path,
        RaftTransportService.snapshot.requestSerialize,
        RaftTransportService.snapshot.responseDeserialize,
        (err) => (err ? reject(err) : resolve()),
      );
      call.on('error', reject);
      const clusterId = this.options.clusterId();
      let offset = 0;
      let first = true;
      do {
        const end = Math.min(data.byteLength, offset + SNAPSHOT_CHUNK_BYTES);
        const chunk: raftpb.ISnapshotChunk = { clusterId, data: data.subarray(offset, end), last: end >= data.byteLength };
        if (first) chunk.message = head;
        call.write(chunk);
        first = false;
        offset = end;
      } while (offset < data.byteLength);
      call.end();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queued = new Map();
    for (const d of this.destinations.values()) {
      d.stream?.end();
      d.client.close();
    }
    this.destinations.clear();
  }
}

/** The server side: hands what arrives to the store. */
export function raftTransportImplementation(
  inbox: RaftInbox,
  options: { maxSnapshotBytes: number; logger: RaftLogger },
): grpc.UntypedServiceImplementation {
  return {
    raft: (call: grpc.ServerReadableStream<raftpb.IRaftBatch, raftpb.IDone>, callback: grpc.sendUnaryData<raftpb.IDone>) => {
      call.on('data', (batch: raftpb.IRaftBatch) => inbox.receive(batch));
      call.on('end', () => callback(null, {}));
      call.on('error', () => {});
    },
    snapshot: (call: grpc.ServerReadableStream<raftpb.ISnapshotChunk, raftpb.IDone>, callback: grpc.sendUnaryData<raftpb.IDone>) => {
      let head: raftpb.IRaftMessage | undefined;
      let clusterId = 0;
      const parts: Uint8Array[] = [];
      let size = 0;
      let failed = false;
      const fail = (message: string): void => {
        if (failed) return;
        failed = true;
        options.logger.warn('refusing a snapshot stream', { error: message });
        callback({ code: grpc.status.INVALID_ARGUMENT, message } as grpc.ServiceError, null);
      };
      call.on('data', (chunk: raftpb.ISnapshotChunk) => {
        if (failed) return;
        if (head === undefined) {
          if (!chunk.message) return fail('the first snapshot chunk must carry the raft message');
          head = chunk.message;
          clusterId = Number(chunk.clusterId ?? 0);
        }
        const data = chunk.data ?? new Uint8Array(0);
        size += data.byteLength;
        if (size > options.maxSnapshotBytes) return fail(`snapshot exceeds ${options.maxSnapshotBytes} bytes`);
        parts.push(data);
        if (chunk.last) {
          const full = Buffer.concat(parts);
          const message: raftpb.IRaftMessage = {
            ...head,
            message: { ...head.message, snapshot: { ...head.message?.snapshot, data: full } },
          };
          inbox.receiveSnapshot(clusterId, message).then(
            () => callback(null, {}),
            (err: unknown) => fail(err instanceof Error ? err.message : String(err)),
          );
        }
      });
      call.on('error', () => {
        failed = true;
      });
    },
  };
}
