// Typed gRPC plumbing shared by the PD and store clients: clients are built with
// makeGenericClientConstructor from the shared service definitions, and calls go through the
// method definitions (path + codec) so request and response types are checked end to end.

import * as grpc from '@grpc/grpc-js';
import { GRPC_CHANNEL_OPTIONS } from '../proto/services.js';
import type { Deadline } from './deadline.js';

/**
 * Reconnection bounds for client channels. grpc-js waits 1 s before the first reconnection and up to
 * 120 s after that; a database client wants to notice a restarted peer sooner.
 */
export const CLIENT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  ...GRPC_CHANNEL_OPTIONS,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.min_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

export function createClient(
  service: grpc.ServiceDefinition,
  serviceName: string,
  address: string,
  channelOptions: grpc.ChannelOptions,
): grpc.Client {
  const Constructor = grpc.makeGenericClientConstructor(service, serviceName);
  return new Constructor(address, grpc.credentials.createInsecure(), channelOptions);
}

export function unaryCall<Req, Res>(
  client: grpc.Client,
  method: grpc.MethodDefinition<Req, Res>,
  request: Req,
  deadline: Deadline,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      new grpc.Metadata(),
      { deadline: deadline.toDate() },
      (error, response) => {
        if (error) reject(error);
        else if (response === undefined) reject(new Error(`${method.path}: empty response`));
        else resolve(response);
      },
    );
  });
}

export function openBidiStream<Req, Res>(client: grpc.Client, method: grpc.MethodDefinition<Req, Res>): grpc.ClientDuplexStream<Req, Res> {
  return client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, new grpc.Metadata());
}

/** The gRPC status of a failed call, if the error carries one. */
export function grpcStatusOf(error: unknown): grpc.status | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? (code as grpc.status) : undefined;
}

/**
 * Statuses that say "this peer, now" rather than "this request": the peer is down or restarting,
 * the attempt timed out, or the connection was torn down under the call. Worth another attempt,
 * possibly elsewhere.
 */
export function isTransientStatus(code: grpc.status | undefined): boolean {
  return (
    code === grpc.status.UNAVAILABLE ||
    code === grpc.status.DEADLINE_EXCEEDED ||
    code === grpc.status.CANCELLED ||
    code === grpc.status.ABORTED
  );
}

export function describeGrpcError(error: unknown): string {
  const code = grpcStatusOf(error);
  const details = (error as { details?: unknown } | null)?.details;
  const name = code === undefined ? 'error' : (grpc.status[code] ?? `status ${code}`);
  const text = typeof details === 'string' && details ? details : error instanceof Error ? error.message : String(error);
  // grpc-js appends an empty "Resolution note:" to connection errors; it only adds noise.
  return `${name}: ${text.replace(/\s*Resolution note:\s*$/, '')}`;
}
