// The way to the placement-driver leader: found by asking any member (GetMembers is answered by
// every member and names the leader), then one channel to it, kept until a call says it is no longer
// the leader or it stops answering. Also the keeper of the cluster id: learned from the first answer
// when not configured, sent in every request header after that, and checked in every answer.

import type * as grpc from '@grpc/grpc-js';
import { pdpb } from '../proto/index.js';
import { PdService } from '../proto/services.js';
import { Backoff, type BackoffPolicy, type RandomSource, sleep } from './backoff.js';
import { type Deadline, pushBounded, raceDeadline } from './deadline.js';
import { ClientClosedError, PdClusterMismatchError, PdUnavailableError } from './errors.js';
import { createClient, describeGrpcError, unaryCall } from './grpc_call.js';
import { u64 } from './wire.js';

export interface PdLeader {
  readonly address: string;
  readonly client: grpc.Client;
}

/** What a response header says about the call it belongs to. */
export type HeaderVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'notLeader'; readonly leaderAddress: string | undefined; readonly message: string }
  | { readonly kind: 'unavailable'; readonly message: string }
  /** Refused for lack of a cluster id the answer has now taught us: ask again at once. */
  | { readonly kind: 'clusterIdLearned'; readonly message: string }
  | { readonly kind: 'error'; readonly type: pdpb.ErrorType; readonly message: string };

export interface PdLeaderChannelOptions {
  readonly endpoints: readonly string[];
  readonly clusterId: number | undefined;
  /** Bound on one GetMembers probe of one member. */
  readonly discoveryTimeoutMs: number;
  /** Sleep between rounds over all members when none names a leader. */
  readonly backoff: BackoffPolicy;
  readonly random: RandomSource;
  readonly channelOptions: grpc.ChannelOptions;
  /** Aborted when the owner closes; cuts backoff sleeps short. */
  readonly signal: AbortSignal;
}

/** Members learned from GetMembers are remembered up to this many (the endpoints always are). */
const MAX_KNOWN_MEMBERS = 16;

export class PdLeaderChannel {
  private leader: PdLeader | undefined;
  private discovery: Promise<PdLeader> | undefined;
  private readonly candidates: string[];
  private preferred: string | undefined;
  private knownClusterId: number;
  private closed = false;
  readonly stats = { discoveries: 0, getMembersProbes: 0, redirects: 0 };

  constructor(private readonly options: PdLeaderChannelOptions) {
    this.candidates = [...new Set(options.endpoints)];
    this.knownClusterId = options.clusterId ?? 0;
  }

  /** 0 until learned. */
  get clusterId(): number {
    return this.knownClusterId;
  }

  get leaderAddress(): string | undefined {
    return this.leader?.address;
  }

  header(): pdpb.IRequestHeader {
    return { clusterId: this.knownClusterId };
  }

  /** The current leader, discovering it first when unknown. Concurrent callers share one discovery. */
  acquire(deadline: Deadline): Promise<PdLeader> {
    if (this.closed) return Promise.reject(new ClientClosedError('PD client'));
    if (this.leader) return Promise.resolve(this.leader);
    if (!this.discovery) {
      const discovery = this.discover(deadline);
      this.discovery = discovery;
      const clear = (): void => {
        if (this.discovery === discovery) this.discovery = undefined;
      };
      discovery.then(clear, clear);
    }
    return raceDeadline(this.discovery, deadline, () => new PdUnavailableError(this.options.endpoints, ['leader discovery did not finish before the deadline']));
  }

  /** Follows a NOT_LEADER answer: the named member becomes the leader at once. */
  redirect(address: string): PdLeader {
    this.stats.redirects += 1;
    return this.adopt(address, undefined);
  }

  /** The leader failed a call; forget it (unless another caller already moved on). */
  forget(leader: PdLeader): void {
    if (this.leader !== leader) return;
    this.leader = undefined;
    leader.client.close();
  }

  /**
   * Checks a response header: learns the cluster id if unknown, throws on a cluster mismatch (from
   * either side), and classifies the error. A missing header reads as "no error, cluster unknown".
   * `sentClusterId` is the id the request carried: a request sent before the id was known (e.g.
   * the client started before the cluster was bootstrapped) may be refused as a mismatch, which is
   * then no mismatch at all but the moment the id is learned.
   */
  checkHeader(header: pdpb.IResponseHeader | null | undefined, address: string, sentClusterId: number): HeaderVerdict {
    const clusterId = u64(header?.clusterId);
    if (clusterId !== 0) {
      if (this.knownClusterId === 0) this.knownClusterId = clusterId;
      else if (clusterId !== this.knownClusterId) throw new PdClusterMismatchError(this.knownClusterId, clusterId, address);
    }
    const error = header?.error;
    const type = error?.type ?? pdpb.ErrorType.ERROR_OK;
    const message = error?.message ?? '';
    switch (type) {
      case pdpb.ErrorType.ERROR_OK:
        return { kind: 'ok' };
      case pdpb.ErrorType.ERROR_NOT_LEADER:
        return { kind: 'notLeader', leaderAddress: error?.leaderAddress || undefined, message };
      case pdpb.ErrorType.ERROR_UNAVAILABLE:
        return { kind: 'unavailable', message };
      case pdpb.ErrorType.ERROR_CLUSTER_MISMATCH:
        if (sentClusterId === 0 && this.knownClusterId !== 0) return { kind: 'clusterIdLearned', message };
        throw new PdClusterMismatchError(this.knownClusterId, clusterId, address, message);
      default:
        return { kind: 'error', type, message };
    }
  }

  close(): void {
    this.closed = true;
    this.leader?.client.close();
    this.leader = undefined;
  }

  private adopt(address: string, probe: grpc.Client | undefined): PdLeader {
    if (this.leader?.address === address) {
      probe?.close();
      return this.leader;
    }
    const previous = this.leader;
    this.leader = {
      address,
      client: probe ?? createClient(PdService, 'Pd', address, this.options.channelOptions),
    };
    previous?.client.close();
    this.remember(address);
    return this.leader;
  }

  private remember(address: string): void {
    if (this.candidates.includes(address)) return;
    if (this.candidates.length >= this.options.endpoints.length + MAX_KNOWN_MEMBERS) return;
    this.candidates.push(address);
  }

  private async discover(deadline: Deadline): Promise<PdLeader> {
    this.stats.discoveries += 1;
    const backoff = new Backoff(this.options.backoff, this.options.random);
    const attempts: string[] = [];
    for (;;) {
      // The member that answered last time is asked first: a dead endpoint early in the list then
      // costs one failed probe per discovery round only while nothing better is known.
      const order = this.preferred ? [this.preferred, ...this.candidates.filter((c) => c !== this.preferred)] : [...this.candidates];
      for (const address of order) {
        if (this.closed) throw new ClientClosedError('PD client');
        if (deadline.expired()) throw new PdUnavailableError(this.options.endpoints, attempts);
        const leader = await this.probe(address, deadline, attempts);
        if (leader) return leader;
      }
      const delay = backoff.nextDelayMs();
      if (delay >= deadline.remainingMs()) throw new PdUnavailableError(this.options.endpoints, attempts);
      await sleep(delay, this.options.signal);
    }
  }

  /** Asks one member who leads; returns the adopted leader or undefined (noted in `attempts`). */
  private async probe(address: string, deadline: Deadline, attempts: string[]): Promise<PdLeader | undefined> {
    const client = createClient(PdService, 'Pd', address, this.options.channelOptions);
    let kept = false;
    try {
      this.stats.getMembersProbes += 1;
      const header = this.header();
      const response = await unaryCall(client, PdService.getMembers, { header }, deadline.within(this.options.discoveryTimeoutMs));
      const verdict = this.checkHeader(response.header, address, u64(header.clusterId));
      this.preferred = address;
      for (const member of response.members ?? []) if (member.address) this.remember(member.address);
      const leaderAddress = response.leader?.address || (verdict.kind === 'notLeader' ? verdict.leaderAddress : undefined);
      if (!leaderAddress) {
        pushBounded(attempts, `${address}: no leader known${verdict.kind === 'ok' ? '' : ` (${verdict.message || verdict.kind})`}`);
        return undefined;
      }
      if (this.closed) throw new ClientClosedError('PD client');
      kept = leaderAddress === address;
      return this.adopt(leaderAddress, kept ? client : undefined);
    } catch (error) {
      if (error instanceof PdClusterMismatchError || error instanceof ClientClosedError) throw error;
      pushBounded(attempts, `${address}: ${describeGrpcError(error)}`);
      return undefined;
    } finally {
      if (!kept) client.close();
    }
  }
}
