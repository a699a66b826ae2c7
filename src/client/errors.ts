// Errors the client surfaces. Each carries what the caller needs to decide what to do next (TiKV
// style): whether retrying can help, which store or PD endpoints were involved, and for operations
// that gave up, the attempts that were made. `ClientError` is the discriminated union over `code`.

import { pdpb } from '../proto/index.js';

/** The caller passed something the client refuses before any network traffic. */
export class InvalidArgumentError extends Error {
  readonly code = 'InvalidArgument' as const;
  readonly retryable = false;
}

/** The client (or the PD client / store client under it) was closed. */
export class ClientClosedError extends Error {
  readonly code = 'ClientClosed' as const;
  readonly retryable = false;
  constructor(what: string) {
    super(`${what} is closed`);
  }
}

/** The operation's deadline passed; `attempts` lists what was tried, oldest first. */
export class DeadlineExceededError extends Error {
  readonly code = 'DeadlineExceeded' as const;
  readonly retryable = true;
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
    readonly attempts: readonly string[],
    readonly lastError?: Error,
  ) {
    super(`${operation}: deadline of ${Math.round(timeoutMs)} ms exceeded${describeAttempts(attempts)}`);
  }
}

/** The operation hit its bound on retries before its deadline. */
export class RetriesExhaustedError extends Error {
  readonly code = 'RetriesExhausted' as const;
  readonly retryable = true;
  constructor(
    readonly operation: string,
    readonly maxRetries: number,
    readonly attempts: readonly string[],
    readonly lastError?: Error,
  ) {
    super(`${operation}: gave up after ${maxRetries} retries${describeAttempts(attempts)}`);
  }
}

/** A bounded queue is full; the caller should shed load or retry later. */
export class OverloadedError extends Error {
  readonly code = 'Overloaded' as const;
  readonly retryable = true;
  constructor(
    readonly resource: string,
    readonly limit: number,
  ) {
    super(`${resource} is full (limit ${limit})`);
  }
}

/**
 * The store could not be reached, or the stream to it broke while the request was outstanding. A
 * request that was already written may or may not have been executed.
 */
export class StoreUnreachableError extends Error {
  readonly code = 'StoreUnreachable' as const;
  readonly retryable = true;
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`store ${address} unreachable: ${reason}`);
  }
}

/** The store answered that it could not decode or understand the request (`Response.error`). */
export class StoreRequestError extends Error {
  readonly code = 'StoreRequestRejected' as const;
  readonly retryable = false;
  constructor(
    readonly address: string,
    readonly detail: string,
  ) {
    super(`store ${address} rejected the request: ${detail}`);
  }
}

/** A peer (store or PD) answered something that breaks the protocol; not retried. */
export class ProtocolError extends Error {
  readonly code = 'Protocol' as const;
  readonly retryable = false;
  constructor(
    readonly peer: string,
    detail: string,
  ) {
    super(`protocol violation by ${peer}: ${detail}`);
  }
}

/** No placement-driver leader could be found within the bounds. */
export class PdUnavailableError extends Error {
  readonly code = 'PdUnavailable' as const;
  readonly retryable = true;
  constructor(
    readonly endpoints: readonly string[],
    readonly attempts: readonly string[],
  ) {
    super(`no placement-driver leader reachable via [${endpoints.join(', ')}]${describeAttempts(attempts)}`);
  }
}

/** PD belongs to another cluster than this client: never retried, it would never succeed. */
export class PdClusterMismatchError extends Error {
  readonly code = 'PdClusterMismatch' as const;
  readonly retryable = false;
  constructor(
    readonly expectedClusterId: number,
    readonly actualClusterId: number,
    readonly address: string,
    detail?: string,
  ) {
    super(
      `placement driver ${address} belongs to cluster ${actualClusterId || '(unknown)'}, this client to cluster ${expectedClusterId}` +
        (detail ? `: ${detail}` : ''),
    );
  }
}

/** PD answered with an error the client does not recover from by itself (e.g. not bootstrapped). */
export class PdServerError extends Error {
  readonly code = 'PdServerError' as const;
  readonly retryable = false;
  constructor(
    readonly operation: string,
    readonly errorType: pdpb.ErrorType,
    readonly detail: string,
  ) {
    super(`${operation}: placement driver error ${errorTypeName(errorType)}${detail ? `: ${detail}` : ''}`);
  }
}

/** A PD RPC failed with a gRPC status that retrying cannot fix (e.g. UNIMPLEMENTED). */
export class PdRpcError extends Error {
  readonly code = 'PdRpc' as const;
  readonly retryable = false;
  constructor(
    readonly operation: string,
    readonly address: string,
    readonly grpcCode: number | undefined,
    detail: string,
  ) {
    super(`${operation} at ${address} failed (gRPC status ${grpcCode ?? 'none'}): ${detail}`);
  }
}

/** One group of a multi-Region batchWrite whose outcome is not confirmed. */
export interface UnconfirmedMutations<M> {
  readonly mutations: readonly M[];
  /** Why it was not confirmed. The write may still have been applied (e.g. the stream broke). */
  readonly error: ClientError;
}

/**
 * A batchWrite spanning several Regions, of which some groups committed and some did not (or were
 * not confirmed). Each Region's group is atomic on its own; the batch as a whole is not.
 */
export class BatchWritePartialError<M = unknown> extends Error {
  readonly code = 'BatchWritePartial' as const;
  readonly retryable = true;
  constructor(
    readonly committed: readonly M[],
    readonly unconfirmed: readonly UnconfirmedMutations<M>[],
  ) {
    super(
      `batchWrite partially failed: ${committed.length} mutations committed, ` +
        `${unconfirmed.reduce((n, g) => n + g.mutations.length, 0)} in ${unconfirmed.length} Region group(s) not confirmed ` +
        `(first cause: ${unconfirmed[0]?.error.message ?? 'none'})`,
    );
  }
}

export type ClientError =
  | InvalidArgumentError
  | ClientClosedError
  | DeadlineExceededError
  | RetriesExhaustedError
  | OverloadedError
  | StoreUnreachableError
  | StoreRequestError
  | ProtocolError
  | PdUnavailableError
  | PdClusterMismatchError
  | PdServerError
  | PdRpcError
  | BatchWritePartialError;

export type ClientErrorCode = ClientError['code'];

const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set<ClientErrorCode>([
  'InvalidArgument',
  'ClientClosed',
  'DeadlineExceeded',
  'RetriesExhausted',
  'Overloaded',
  'StoreUnreachable',
  'StoreRequestRejected',
  'Protocol',
  'PdUnavailable',
  'PdClusterMismatch',
  'PdServerError',
  'PdRpc',
  'BatchWritePartial',
]);

export function isClientError(error: unknown): error is ClientError {
  return error instanceof Error && CLIENT_ERROR_CODES.has((error as { code?: unknown }).code as string);
}

/** An unexpected throwable becomes an Error so it can travel in `lastError` fields. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The proto name of a PD error type (the generated enum maps numbers back to names). */
export function errorTypeName(type: number): string {
  return (pdpb.ErrorType as unknown as Record<number, string | undefined>)[type] ?? `ERROR_${type}`;
}

/** At most this many attempts are listed in a message: the first few and the most recent. */
const MAX_LISTED_ATTEMPTS = 12;

function describeAttempts(attempts: readonly string[]): string {
  if (attempts.length === 0) return '';
  if (attempts.length <= MAX_LISTED_ATTEMPTS) return `; tried: ${attempts.join('; ')}`;
  const head = attempts.slice(0, 4);
  const tail = attempts.slice(-(MAX_LISTED_ATTEMPTS - 4));
  return `; tried (${attempts.length} attempts): ${head.join('; ')}; … ${attempts.length - head.length - tail.length} more …; ${tail.join('; ')}`;
}
