// The RegionHeartbeat stream a store keeps to the placement driver: Region leaders report through
// it and PD answers with the next step of an operator. The handle outlives any one stream: after a
// failure it reopens against the (possibly new) leader with backoff, for as long as it is open.
// Heartbeats sent while no stream is up wait in a queue that keeps only the newest heartbeat per
// Region (an older one carries nothing the newer does not) and is bounded.

import type * as grpc from '@grpc/grpc-js';
import type { pdpb } from '../proto/index.js';
import { PdService } from '../proto/services.js';
import { Backoff, type BackoffPolicy, type RandomSource, sleep } from './backoff.js';
import { Deadline } from './deadline.js';
import { type ClientError, ClientClosedError, OverloadedError, PdServerError, PdUnavailableError, asError } from './errors.js';
import { describeGrpcError, openBidiStream } from './grpc_call.js';
import type { HeaderVerdict, PdLeader, PdLeaderChannel } from './pd_leader.js';
import { u64 } from './wire.js';

export interface RegionHeartbeatHandle {
  /**
   * Sends a heartbeat now, or queues it while the stream is being reopened. Returns false when the
   * queue is full and the heartbeat was dropped (the Region's next periodic heartbeat replaces it).
   */
  send(request: pdpb.IRegionHeartbeatRequest): boolean;
  /** True while a stream is open. */
  readonly connected: boolean;
  close(): void;
}

export interface RegionHeartbeatStreamOptions {
  /** Most heartbeats (distinct Regions) queued while disconnected. */
  readonly maxQueued: number;
  /** Bound on finding the leader before one reconnection attempt counts as failed. */
  readonly connectTimeoutMs: number;
  readonly backoff: BackoffPolicy;
  readonly random: RandomSource;
  readonly signal: AbortSignal;
  /** Called once when the handle closes (the owner stops tracking it). */
  readonly onClosed?: () => void;
}

export type RegionHeartbeatResponseHandler = (response: pdpb.IRegionHeartbeatResponse) => void;
/** Told about every failure of the stream; the handle keeps reconnecting regardless. */
export type RegionHeartbeatErrorHandler = (error: ClientError | Error) => void;

interface OpenStream {
  readonly leader: PdLeader;
  readonly call: grpc.ClientDuplexStream<pdpb.IRegionHeartbeatRequest, pdpb.IRegionHeartbeatResponse>;
}

export class RegionHeartbeatStream implements RegionHeartbeatHandle {
  private stream: OpenStream | undefined;
  private readonly queued = new Map<number, pdpb.IRegionHeartbeatRequest>();
  private connecting = false;
  /** The cluster id of the last heartbeat sent (answers come back in order). */
  private lastSentClusterId = 0;
  private closed = false;
  private readonly backoff: Backoff;
  readonly stats = { streamsOpened: 0, sent: 0, received: 0, dropped: 0 };

  constructor(
    private readonly leader: PdLeaderChannel,
    private readonly onResponse: RegionHeartbeatResponseHandler,
    private readonly onError: RegionHeartbeatErrorHandler | undefined,
    private readonly options: RegionHeartbeatStreamOptions,
  ) {
    this.backoff = new Backoff(options.backoff, options.random);
    void this.connect(false);
  }

  get connected(): boolean {
    return this.stream !== undefined;
  }

  send(request: pdpb.IRegionHeartbeatRequest): boolean {
    if (this.closed) return false;
    if (this.stream) {
      this.write(this.stream, request);
      return true;
    }
    const regionId = request.region?.id ?? 0;
    if (!this.queued.has(regionId) && this.queued.size >= this.options.maxQueued) {
      this.stats.dropped += 1;
      this.onError?.(new OverloadedError('region heartbeat queue', this.options.maxQueued));
      return false;
    }
    this.queued.delete(regionId);
    this.queued.set(regionId, request);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queued.clear();
    if (this.stream) this.stop(this.stream);
    this.stream = undefined;
    this.options.onClosed?.();
  }

  private write(stream: OpenStream, request: pdpb.IRegionHeartbeatRequest): void {
    this.stats.sent += 1;
    const header = this.leader.header();
    this.lastSentClusterId = u64(header.clusterId);
    stream.call.write({ ...request, header });
  }

  private async connect(afterFailure: boolean): Promise<void> {
    if (this.connecting || this.closed) return;
    this.connecting = true;
    try {
      while (!this.closed && !this.stream) {
        if (afterFailure) await sleep(this.backoff.nextDelayMs(), this.options.signal);
        afterFailure = true;
        if (this.closed) return;
        let leader: PdLeader;
        try {
          leader = await this.leader.acquire(Deadline.after(this.options.connectTimeoutMs));
        } catch (error) {
          if (error instanceof ClientClosedError) return;
          this.report(error);
          continue;
        }
        if (this.closed) return;
        this.open(leader);
      }
    } finally {
      this.connecting = false;
    }
  }

  private open(leader: PdLeader): void {
    const call = openBidiStream(leader.client, PdService.regionHeartbeat);
    const stream: OpenStream = { leader, call };
    this.stream = stream;
    this.stats.streamsOpened += 1;
    call.on('data', (response: pdpb.IRegionHeartbeatResponse) => this.onData(stream, response));
    call.on('error', (error: unknown) => this.onBroken(stream, new PdUnavailableError([leader.address], [describeGrpcError(error)])));
    call.on('end', () => this.onBroken(stream, new PdUnavailableError([leader.address], ['region heartbeat stream ended'])));
    const queued = [...this.queued.values()];
    this.queued.clear();
    for (const request of queued) this.write(stream, request);
  }

  private onData(stream: OpenStream, response: pdpb.IRegionHeartbeatResponse): void {
    if (this.stream !== stream) return;
    let verdict: HeaderVerdict;
    try {
      verdict = this.leader.checkHeader(response.header, stream.leader.address, this.lastSentClusterId);
    } catch (error) {
      // A cluster mismatch: report it and stop; reconnecting would reach the same cluster.
      this.report(error);
      this.close();
      return;
    }
    switch (verdict.kind) {
      case 'ok':
        this.backoff.reset();
        this.stats.received += 1;
        this.onResponse(response);
        return;
      case 'notLeader':
        this.stop(stream);
        this.stream = undefined;
        if (verdict.leaderAddress && verdict.leaderAddress !== stream.leader.address) {
          this.leader.redirect(verdict.leaderAddress);
          void this.connect(false);
        } else {
          this.leader.forget(stream.leader);
          void this.connect(true);
        }
        return;
      case 'clusterIdLearned':
        // That heartbeat went without the cluster id; the next one (periodic) carries it.
        return;
      case 'unavailable':
        this.onBroken(stream, new PdUnavailableError([stream.leader.address], [verdict.message || 'unavailable']));
        return;
      case 'error':
        this.report(new PdServerError('RegionHeartbeat', verdict.type, verdict.message));
        return;
    }
  }

  private onBroken(stream: OpenStream, error: Error): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.stop(stream);
    this.leader.forget(stream.leader);
    this.report(error);
    void this.connect(true);
  }

  private stop(stream: OpenStream): void {
    stream.call.removeAllListeners();
    stream.call.on('error', () => {});
    stream.call.cancel();
  }

  private report(error: unknown): void {
    if (this.closed) return;
    this.onError?.(asError(error));
  }
}
