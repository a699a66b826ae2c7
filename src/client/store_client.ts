// The connection to one store: a single long-lived BatchCommands stream carrying every KV request
// this process sends there. A unary gRPC call costs about 90 µs of client CPU, so requests are
// multiplexed instead: each gets an id, requests issued within the same tick travel together in one
// BatchCommandsRequest (at most maxBatchSize per message), and responses are matched back by id in
// whatever order the store sends them. In-flight requests are bounded: past maxInFlight a caller
// waits for a slot until its own deadline (backpressure, not an unbounded queue). When the stream
// breaks, every request written to it fails with a retryable StoreUnreachableError (it may or may
// not have executed) and the next request opens a new stream.

import type * as grpc from '@grpc/grpc-js';
import type { kvpb } from '../proto/index.js';
import { KvService } from '../proto/services.js';
import type { Deadline } from './deadline.js';
import { ClientClosedError, DeadlineExceededError, InvalidArgumentError, OverloadedError, ProtocolError, StoreUnreachableError } from './errors.js';
import { CLIENT_CHANNEL_OPTIONS, createClient, describeGrpcError, openBidiStream } from './grpc_call.js';

export interface StoreClientOptions {
  /** Requests per BatchCommandsRequest. Default 256. */
  readonly maxBatchSize?: number;
  /** Requests sent or queued and not yet answered. Default 4,096. */
  readonly maxInFlight?: number;
  /** Callers waiting for an in-flight slot; beyond this they get OverloadedError. Default 65,536. */
  readonly maxWaiting?: number;
  readonly channelOptions?: grpc.ChannelOptions;
}

const DEFAULTS = { maxBatchSize: 256, maxInFlight: 4_096, maxWaiting: 65_536 } as const;

interface PendingRequest {
  readonly id: number;
  readonly request: kvpb.IRequest;
  readonly resolve: (response: kvpb.IResponse) => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

interface SlotWaiter {
  readonly resume: () => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

interface OpenStream {
  readonly call: grpc.ClientDuplexStream<kvpb.IBatchCommandsRequest, kvpb.IBatchCommandsResponse>;
  /** Written to this stream and not yet answered, by request id. */
  readonly sent: Map<number, PendingRequest>;
}

export class StoreClient {
  private readonly client: grpc.Client;
  private readonly maxBatchSize: number;
  private readonly maxInFlight: number;
  private readonly maxWaiting: number;
  private stream: OpenStream | undefined;
  private outbox: PendingRequest[] = [];
  private readonly slotWaiters: SlotWaiter[] = [];
  private inFlight = 0;
  private nextRequestId = 1;
  private flushScheduled = false;
  private closed = false;
  /** Counters for metrics and tests. */
  readonly stats = {
    streamsOpened: 0,
    streamFailures: 0,
    messagesSent: 0,
    requestsSent: 0,
    responsesReceived: 0,
    maxInFlightObserved: 0,
  };

  constructor(
    readonly address: string,
    options: StoreClientOptions = {},
  ) {
    this.maxBatchSize = positive('maxBatchSize', options.maxBatchSize ?? DEFAULTS.maxBatchSize);
    this.maxInFlight = positive('maxInFlight', options.maxInFlight ?? DEFAULTS.maxInFlight);
    this.maxWaiting = positive('maxWaiting', options.maxWaiting ?? DEFAULTS.maxWaiting);
    this.client = createClient(KvService, 'Kv', address, options.channelOptions ?? CLIENT_CHANNEL_OPTIONS);
  }

  /** Requests admitted and not yet answered (queued or on the wire). */
  get inFlightCount(): number {
    return this.inFlight;
  }

  /** Sends one request and resolves with the store's response to it. */
  async send(request: kvpb.IRequest, deadline: Deadline): Promise<kvpb.IResponse> {
    if (this.closed) throw new ClientClosedError(`store client for ${this.address}`);
    if (this.inFlight < this.maxInFlight) this.inFlight += 1;
    else await this.waitForSlot(deadline);
    this.stats.maxInFlightObserved = Math.max(this.stats.maxInFlightObserved, this.inFlight);
    return new Promise<kvpb.IResponse>((resolve, reject) => {
      const pending: PendingRequest = { id: this.nextRequestId++, request, resolve, reject, timer: undefined, done: false };
      pending.timer = setTimeout(() => {
        this.stream?.sent.delete(pending.id);
        this.settle(pending, new DeadlineExceededError(`request to store ${this.address}`, deadline.budgetMs, []));
      }, deadline.remainingMs());
      this.outbox.push(pending);
      this.scheduleFlush();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const error = new ClientClosedError(`store client for ${this.address}`);
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      this.stop(stream);
      for (const pending of stream.sent.values()) this.settle(pending, error);
    }
    for (const pending of this.outbox) this.settle(pending, error);
    this.outbox = [];
    for (const waiter of this.slotWaiters.splice(0)) this.abandonWait(waiter, error);
    this.client.close();
  }

  private waitForSlot(deadline: Deadline): Promise<void> {
    if (this.slotWaiters.length >= this.maxWaiting) {
      return Promise.reject(new OverloadedError(`request queue of store ${this.address}`, this.maxWaiting));
    }
    return new Promise<void>((resume, reject) => {
      const waiter: SlotWaiter = { resume, reject, timer: undefined, done: false };
      waiter.timer = setTimeout(() => {
        const index = this.slotWaiters.indexOf(waiter);
        if (index >= 0) this.slotWaiters.splice(index, 1);
        this.abandonWait(
          waiter,
          new DeadlineExceededError(`waiting for one of ${this.maxInFlight} in-flight slots of store ${this.address}`, deadline.budgetMs, []),
        );
      }, deadline.remainingMs());
      this.slotWaiters.push(waiter);
    });
  }

  private abandonWait(waiter: SlotWaiter, error: Error): void {
    if (waiter.done) return;
    waiter.done = true;
    if (waiter.timer) clearTimeout(waiter.timer);
    waiter.reject(error);
  }

  /** A finished request hands its slot straight to the oldest waiter, so none is lost to a race. */
  private releaseSlot(): void {
    for (let waiter = this.slotWaiters.shift(); waiter; waiter = this.slotWaiters.shift()) {
      if (waiter.done) continue;
      waiter.done = true;
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.resume();
      return;
    }
    this.inFlight -= 1;
  }

  private settle(pending: PendingRequest, outcome: kvpb.IResponse | Error): void {
    if (pending.done) return;
    pending.done = true;
    if (pending.timer) clearTimeout(pending.timer);
    this.releaseSlot();
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // setImmediate: everything issued during this macrotask (and its promise continuations) goes
    // out in the same message.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.closed) return;
    const ready = this.outbox.filter((p) => !p.done);
    this.outbox = [];
    if (ready.length === 0) return;
    const stream = this.stream ?? this.open();
    for (let start = 0; start < ready.length; start += this.maxBatchSize) {
      const chunk = ready.slice(start, start + this.maxBatchSize);
      for (const pending of chunk) stream.sent.set(pending.id, pending);
      this.stats.messagesSent += 1;
      this.stats.requestsSent += chunk.length;
      stream.call.write({ requests: chunk.map((p) => p.request), requestIds: chunk.map((p) => p.id) });
    }
  }

  private open(): OpenStream {
    const call = openBidiStream(this.client, KvService.batchCommands);
    const stream: OpenStream = { call, sent: new Map() };
    this.stream = stream;
    this.stats.streamsOpened += 1;
    call.on('data', (message: kvpb.IBatchCommandsResponse) => this.onData(stream, message));
    call.on('error', (error: unknown) => this.onBroken(stream, new StoreUnreachableError(this.address, describeGrpcError(error))));
    call.on('end', () => this.onBroken(stream, new StoreUnreachableError(this.address, 'BatchCommands stream ended by the store')));
    return stream;
  }

  private onData(stream: OpenStream, message: kvpb.IBatchCommandsResponse): void {
    if (this.stream !== stream) return;
    const ids = message.requestIds ?? [];
    const responses = message.responses ?? [];
    if (ids.length !== responses.length) {
      this.onBroken(stream, new ProtocolError(`store ${this.address}`, `BatchCommandsResponse has ${responses.length} responses for ${ids.length} ids`));
      return;
    }
    for (let i = 0; i < ids.length; i++) {
      const pending = stream.sent.get(ids[i]!);
      // Unknown ids are answers to requests that already timed out.
      if (!pending) continue;
      stream.sent.delete(pending.id);
      this.stats.responsesReceived += 1;
      this.settle(pending, responses[i]!);
    }
  }

  private onBroken(stream: OpenStream, error: Error): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.stats.streamFailures += 1;
    this.stop(stream);
    for (const pending of stream.sent.values()) this.settle(pending, error);
    stream.sent.clear();
    if (this.outbox.length > 0) this.scheduleFlush();
  }

  private stop(stream: OpenStream): void {
    stream.call.removeAllListeners();
    // Cancelling emits 'error'; an 'error' without a listener would be thrown.
    stream.call.on('error', () => {});
    stream.call.cancel();
  }
}

function positive(name: string, value: number): number {
  if (!(Number.isSafeInteger(value) && value > 0)) throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
  return value;
}
