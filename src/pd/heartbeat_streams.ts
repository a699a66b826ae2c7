// The open RegionHeartbeat streams, one per store: the way operator steps reach Region leaders.
// A stream is bound to a store by the first valid heartbeat on it (the leader peer's store); a
// newer stream from the same store replaces the older one. The registry is bounded by the number
// of known stores, and each stream's outgoing buffer by MAX_HEARTBEAT_BACKLOG: when a store does
// not read its responses, further steps are dropped — every step is sent again on the Region's
// next heartbeat, so nothing is lost but time.

import type { pdpb } from '../proto/index.js';

export const MAX_HEARTBEAT_BACKLOG = 256;

/** What the registry needs of a gRPC server duplex stream. */
export interface HeartbeatSink {
  write(response: pdpb.IRegionHeartbeatResponse): boolean;
  end(): void;
  /** Responses buffered and not yet sent (object mode: a count of messages). */
  readonly writableLength: number;
  /** False once the stream ended or was destroyed. */
  readonly writable: boolean;
}

export class HeartbeatStreams {
  private readonly byStore = new Map<number, HeartbeatSink>();
  private readonly storeBySink = new WeakMap<HeartbeatSink, number>();
  readonly stats = { sent: 0, dropped: 0 };

  /** Binds `sink` to `storeId`, ending the store's previous stream. */
  bind(storeId: number, sink: HeartbeatSink): void {
    const previous = this.byStore.get(storeId);
    if (previous === sink) return;
    this.byStore.set(storeId, sink);
    this.storeBySink.set(sink, storeId);
    if (previous) {
      this.storeBySink.delete(previous);
      endQuietly(previous);
    }
  }

  /** Forgets `sink` (it closed); a newer stream of its store stays bound. */
  unbind(sink: HeartbeatSink): void {
    const storeId = this.storeBySink.get(sink);
    if (storeId === undefined) return;
    this.storeBySink.delete(sink);
    if (this.byStore.get(storeId) === sink) this.byStore.delete(storeId);
  }

  /** The store `sink` is bound to, if any. */
  storeOf(sink: HeartbeatSink): number | undefined {
    return this.storeBySink.get(sink);
  }

  /** Sends to `sink` unless its backlog is full; false when dropped. */
  sendTo(sink: HeartbeatSink, response: pdpb.IRegionHeartbeatResponse): boolean {
    if (!sink.writable || sink.writableLength >= MAX_HEARTBEAT_BACKLOG) {
      this.stats.dropped++;
      return false;
    }
    sink.write(response);
    this.stats.sent++;
    return true;
  }

  /** Sends to the stream of `storeId`; false when the store has none or its backlog is full. */
  send(storeId: number, response: pdpb.IRegionHeartbeatResponse): boolean {
    const sink = this.byStore.get(storeId);
    if (!sink) {
      this.stats.dropped++;
      return false;
    }
    return this.sendTo(sink, response);
  }

  get size(): number {
    return this.byStore.size;
  }

  /** Ends every stream (leadership lost, or shutdown): stores reconnect to the new leader. */
  closeAll(): void {
    const sinks = [...this.byStore.values()];
    this.byStore.clear();
    for (const sink of sinks) {
      this.storeBySink.delete(sink);
      endQuietly(sink);
    }
  }
}

function endQuietly(sink: HeartbeatSink): void {
  try {
    sink.end();
  } catch {
    // The stream is already gone; nothing to close.
  }
}
