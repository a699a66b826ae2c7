// Timestamps from the placement driver's oracle, over one long-lived Tso stream. Callers arriving
// while a request is out (or within the same tick) are coalesced into a single TsoRequest with
// count = n; the answer carries the last of n consecutive timestamps (same physical, logical
// counting down) and each caller gets its share in arrival order, so timestamps handed out by one
// client increase in the order they were asked for. A broken stream is reopened (against the new
// leader when PD says so) and the requests it carried are asked again: timestamps PD allocated but
// never delivered are simply skipped, which the oracle allows.

import type * as grpc from '@grpc/grpc-js';
import type { pdpb } from '../proto/index.js';
import { PdService } from '../proto/services.js';
import { Backoff, type BackoffPolicy, type RandomSource, sleep } from './backoff.js';
import { Deadline } from './deadline.js';
import {
  ClientClosedError,
  DeadlineExceededError,
  InvalidArgumentError,
  OverloadedError,
  PdClusterMismatchError,
  PdServerError,
  ProtocolError,
  asError,
} from './errors.js';
import { describeGrpcError, openBidiStream } from './grpc_call.js';
import type { HeaderVerdict, PdLeader, PdLeaderChannel } from './pd_leader.js';
import { u64 } from './wire.js';

/** A TSO timestamp: physical milliseconds and an 18-bit logical counter. */
export interface Timestamp {
  readonly physical: number;
  readonly logical: number;
}

/** Logical counters are 18 bits: a TsoResponse can never cover more than this many timestamps. */
export const MAX_LOGICAL = 1 << 18;

export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  return a.physical !== b.physical ? a.physical - b.physical : a.logical - b.logical;
}

export interface TsoBatcherOptions {
  /** Most timestamps asked for in one TsoRequest; callers beyond wait for the next one. */
  readonly maxBatchSize: number;
  /** Most timestamps waiting (queued or in flight); further callers get OverloadedError. */
  readonly maxPendingTimestamps: number;
  /** TsoRequests outstanding on the stream at once. */
  readonly maxInFlightRequests: number;
  /** Per-caller deadline. */
  readonly callTimeoutMs: number;
  /** An answer slower than this is taken as a dead stream, which is then reopened. */
  readonly rpcTimeoutMs: number;
  readonly backoff: BackoffPolicy;
  readonly random: RandomSource;
  readonly signal: AbortSignal;
}

interface Waiter {
  readonly count: number;
  readonly deadline: Deadline;
  readonly resolve: (timestamps: Timestamp[]) => void;
  readonly reject: (error: Error) => void;
}

interface InFlight {
  readonly waiters: Waiter[];
  readonly count: number;
  /** The cluster id the request carried (0 before it was known). */
  readonly sentClusterId: number;
}

interface OpenStream {
  readonly leader: PdLeader;
  readonly call: grpc.ClientDuplexStream<pdpb.ITsoRequest, pdpb.ITsoResponse>;
  readonly inFlight: InFlight[];
  watchdog: NodeJS.Timeout | undefined;
}

export class TsoBatcher {
  private pending: Waiter[] = [];
  private pendingTimestamps = 0;
  private stream: OpenStream | undefined;
  private opening = false;
  private pumpScheduled = false;
  private reconnectDelay: Promise<void> | undefined;
  private readonly backoff: Backoff;
  private last: Timestamp = { physical: 0, logical: 0 };
  private closed = false;
  /** Counters for metrics and tests. */
  readonly stats = { requestsSent: 0, timestampsDelivered: 0, streamsOpened: 0, streamFailures: 0 };
  private readonly lastErrors: string[] = [];

  constructor(
    private readonly leader: PdLeaderChannel,
    private readonly options: TsoBatcherOptions,
  ) {
    this.backoff = new Backoff(options.backoff, options.random);
  }

  /** `count` consecutive timestamps, in increasing order. */
  getTimestamps(count: number, timeoutMs = this.options.callTimeoutMs): Promise<Timestamp[]> {
    if (this.closed) return Promise.reject(new ClientClosedError('PD client'));
    if (!Number.isSafeInteger(count) || count < 1 || count > this.options.maxBatchSize) {
      return Promise.reject(new InvalidArgumentError(`timestamp count must be an integer in [1, ${this.options.maxBatchSize}], got ${count}`));
    }
    if (this.pendingTimestamps + count > this.options.maxPendingTimestamps) {
      return Promise.reject(new OverloadedError('TSO request queue', this.options.maxPendingTimestamps));
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ count, deadline: Deadline.after(timeoutMs), resolve, reject });
      this.pendingTimestamps += count;
      this.schedulePump();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const error = new ClientClosedError('PD client');
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      this.stopStream(stream);
      for (const batch of stream.inFlight) for (const w of batch.waiters) w.reject(error);
    }
    this.rejectAllPending(error);
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    // setImmediate rather than a microtask: every caller of the current macrotask (e.g. a loop
    // issuing 1000 calls, and whatever their promise continuations issue) joins the same request.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed) return;
    this.expireWaiters();
    if (this.pending.length === 0) return;
    if (!this.stream) {
      void this.openStream();
      return;
    }
    const stream = this.stream;
    while (stream.inFlight.length < this.options.maxInFlightRequests && this.pending.length > 0) {
      // One splice, not a shift per waiter: the queue may hold up to maxPendingTimestamps callers.
      let take = 0;
      let count = 0;
      while (take < this.pending.length && count + this.pending[take]!.count <= this.options.maxBatchSize) {
        count += this.pending[take]!.count;
        take += 1;
      }
      const waiters = this.pending.splice(0, take);
      const header = this.leader.header();
      stream.inFlight.push({ waiters, count, sentClusterId: u64(header.clusterId) });
      this.stats.requestsSent += 1;
      stream.call.write({ header, count });
      this.armWatchdog(stream);
    }
  }

  private async openStream(): Promise<void> {
    if (this.opening || this.stream || this.closed) return;
    this.opening = true;
    try {
      if (this.reconnectDelay) await this.reconnectDelay;
      const first = this.pending[0];
      if (!first || this.closed) return;
      let leader: PdLeader;
      try {
        leader = await this.leader.acquire(first.deadline);
      } catch (error) {
        if (error instanceof PdClusterMismatchError || error instanceof ClientClosedError) {
          this.rejectAllPending(error);
          return;
        }
        this.noteFailure(asError(error).message);
        this.delayReconnect();
        return;
      }
      if (this.closed) return;
      const call = openBidiStream(leader.client, PdService.tso);
      const stream: OpenStream = { leader, call, inFlight: [], watchdog: undefined };
      this.stream = stream;
      this.stats.streamsOpened += 1;
      call.on('data', (response: pdpb.ITsoResponse) => this.onResponse(stream, response));
      call.on('error', (error: unknown) => this.onStreamBroken(stream, describeGrpcError(error), true));
      call.on('end', () => this.onStreamBroken(stream, 'stream ended by the placement driver', true));
    } finally {
      this.opening = false;
      this.schedulePump();
    }
  }

  private onResponse(stream: OpenStream, response: pdpb.ITsoResponse): void {
    if (this.stream !== stream) return;
    const batch = stream.inFlight.shift();
    if (!batch) {
      this.onStreamBroken(stream, 'TsoResponse without an outstanding request', false, true);
      return;
    }
    let verdict: HeaderVerdict;
    try {
      verdict = this.leader.checkHeader(response.header, stream.leader.address, batch.sentClusterId);
    } catch (error) {
      // A cluster mismatch: nothing this stream could ever answer is usable.
      for (const w of batch.waiters) w.reject(asError(error));
      this.resetStream(stream);
      this.rejectAllPending(asError(error));
      return;
    }
    switch (verdict.kind) {
      case 'ok':
        break;
      case 'notLeader':
        stream.inFlight.unshift(batch);
        this.resetStream(stream);
        if (verdict.leaderAddress && verdict.leaderAddress !== stream.leader.address) this.leader.redirect(verdict.leaderAddress);
        else {
          this.leader.forget(stream.leader);
          this.delayReconnect();
        }
        this.noteFailure(`${stream.leader.address}: not leader`);
        this.schedulePump();
        return;
      case 'clusterIdLearned':
        // Ask again, now with the id; the stream itself is fine.
        this.pending = batch.waiters.concat(this.pending);
        this.afterAnswer(stream);
        return;
      case 'unavailable':
        stream.inFlight.unshift(batch);
        this.resetStream(stream);
        this.leader.forget(stream.leader);
        this.noteFailure(`${stream.leader.address}: unavailable (${verdict.message})`);
        this.delayReconnect();
        return;
      case 'error':
        for (const w of batch.waiters) w.reject(new PdServerError('Tso', verdict.type, verdict.message));
        this.settled(batch);
        this.afterAnswer(stream);
        return;
    }

    const ts = response.timestamp;
    const physical = u64(ts?.physical);
    const lastLogical = ts?.logical ?? 0;
    const firstLogical = lastLogical - batch.count + 1;
    const problem =
      response.count !== batch.count
        ? `answered ${response.count ?? 0} timestamps for a request of ${batch.count}`
        : !Number.isSafeInteger(physical) || physical <= 0
          ? `physical time ${physical} is not a positive integer`
          : firstLogical < 0 || lastLogical >= MAX_LOGICAL
            ? `logical ${lastLogical} cannot end a run of ${batch.count}`
            : compareTimestamps({ physical, logical: firstLogical }, this.last) <= 0
              ? `timestamp ${physical}.${firstLogical} is not after ${this.last.physical}.${this.last.logical}, which was already handed out`
              : undefined;
    if (problem) {
      const error = new ProtocolError(`placement driver ${stream.leader.address}`, `Tso ${problem}`);
      for (const w of batch.waiters) w.reject(error);
      this.settled(batch);
      this.resetStream(stream);
      this.delayReconnect();
      return;
    }

    let logical = firstLogical;
    for (const waiter of batch.waiters) {
      const timestamps: Timestamp[] = new Array<Timestamp>(waiter.count);
      for (let i = 0; i < waiter.count; i++) timestamps[i] = { physical, logical: logical++ };
      waiter.resolve(timestamps);
    }
    this.last = { physical, logical: lastLogical };
    this.stats.timestampsDelivered += batch.count;
    this.settled(batch);
    this.backoff.reset();
    this.afterAnswer(stream);
  }

  private afterAnswer(stream: OpenStream): void {
    if (stream.watchdog) clearTimeout(stream.watchdog);
    stream.watchdog = undefined;
    if (stream.inFlight.length > 0) this.armWatchdog(stream);
    this.schedulePump();
  }

  private settled(batch: InFlight): void {
    this.pendingTimestamps -= batch.count;
  }

  private onStreamBroken(stream: OpenStream, reason: string, retryable: boolean, protocol = false): void {
    if (this.stream !== stream) return;
    this.stats.streamFailures += 1;
    this.noteFailure(`${stream.leader.address}: ${reason}`);
    if (protocol) {
      const error = new ProtocolError(`placement driver ${stream.leader.address}`, reason);
      for (const batch of stream.inFlight) {
        for (const w of batch.waiters) w.reject(error);
        this.settled(batch);
      }
      stream.inFlight.length = 0;
    }
    this.resetStream(stream);
    if (retryable) this.leader.forget(stream.leader);
    this.delayReconnect();
  }

  /** Drops the stream; the requests it carried go back to the front of the queue, in order. */
  private resetStream(stream: OpenStream): void {
    if (this.stream === stream) this.stream = undefined;
    const requeued = stream.inFlight.flatMap((b) => b.waiters);
    stream.inFlight.length = 0;
    this.pending = requeued.concat(this.pending);
    this.stopStream(stream);
  }

  private stopStream(stream: OpenStream): void {
    if (stream.watchdog) clearTimeout(stream.watchdog);
    stream.watchdog = undefined;
    stream.call.removeAllListeners('data');
    stream.call.removeAllListeners('end');
    // An 'error' listener stays: cancelling emits one, and an unhandled 'error' would throw.
    stream.call.removeAllListeners('error');
    stream.call.on('error', () => {});
    stream.call.cancel();
  }

  private armWatchdog(stream: OpenStream): void {
    if (stream.watchdog) return;
    stream.watchdog = setTimeout(() => {
      stream.watchdog = undefined;
      this.onStreamBroken(stream, `no TsoResponse within ${this.options.rpcTimeoutMs} ms`, true);
    }, this.options.rpcTimeoutMs);
  }

  /** The next stream opens after a backoff, and the queue is served again then. */
  private delayReconnect(): void {
    if (this.reconnectDelay) return;
    const delay = sleep(this.backoff.nextDelayMs(), this.options.signal).then(() => {
      this.reconnectDelay = undefined;
      this.schedulePump();
    });
    this.reconnectDelay = delay;
  }

  private expireWaiters(): void {
    if (!this.pending.some((w) => w.deadline.expired())) return;
    const live: Waiter[] = [];
    for (const waiter of this.pending) {
      if (!waiter.deadline.expired()) {
        live.push(waiter);
        continue;
      }
      this.pendingTimestamps -= waiter.count;
      waiter.reject(new DeadlineExceededError('getTimestamp', waiter.deadline.budgetMs, [...this.lastErrors]));
    }
    this.pending = live;
  }

  private rejectAllPending(error: Error): void {
    const pending = this.pending;
    this.pending = [];
    this.pendingTimestamps = 0;
    for (const waiter of pending) waiter.reject(error);
  }

  private noteFailure(entry: string): void {
    this.lastErrors.push(entry);
    if (this.lastErrors.length > 8) this.lastErrors.shift();
  }
}
