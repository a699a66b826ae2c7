// The PostgreSQL wire protocol listener: accepts TCP connections, hands each to a PgConnection,
// counts them against the limits, routes CancelRequests to the connection they name, and shuts
// down gracefully (idle clients are told 57P01 at once, busy ones when their query cycle ends,
// stragglers are cut off when the grace period runs out).

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PgConnection, type ConnectionHost } from './connection.js';
import { reportError } from './error_report.js';
import { resolvePgLimits, type PgLimits } from './limits.js';
import type { PgLogger } from './logger.js';
import { protocolErrors } from './protocol_errors.js';
import type { SessionFactory } from './session_api.js';
import { BackendWriter } from './writer.js';

/** close() without an argument waits this long for busy connections. */
const DEFAULT_CLOSE_GRACE_MS = 5_000;
/** After the grace period every socket is destroyed; this bounds the wait for Sessions to close. */
const SESSION_CLOSE_WAIT_MS = 5_000;
/** A refused socket is destroyed this long after its error was written, if the client lingers. */
const REFUSED_LINGER_MS = 1_000;
/** Process ids run from 1 to this, then wrap (a positive int32, as PostgreSQL's pids are). */
const MAX_PROCESS_ID = 0x7fff_ffff;

export interface PgServerOptions {
  readonly host: string;
  /** 0 picks a free port; address() tells which. */
  readonly port: number;
  readonly factory: SessionFactory;
  readonly logger?: PgLogger;
  readonly limits?: Partial<PgLimits>;
}

export class PgServer {
  private readonly live = new Set<PgConnection>();
  private readonly sessions = new Map<number, PgConnection>();
  /** Connections still in the handshake: accepted, neither admitted nor finished. */
  private readonly starting = new Set<PgConnection>();
  private nextProcessId = 1;
  private closing: Promise<void> | null = null;
  private readonly host: ConnectionHost;

  private constructor(
    private readonly server: Server,
    factory: SessionFactory,
    private readonly limits: PgLimits,
    private readonly logger: PgLogger,
  ) {
    const self = this;
    this.host = {
      factory,
      limits,
      logger,
      get shuttingDown(): boolean {
        return self.closing !== null;
      },
      admit: (connection) => this.admit(connection),
      release: (connection) => this.release(connection),
      cancel: (processId, secretKey) => this.cancel(processId, secretKey),
    };
    server.on('connection', (socket: Socket) => this.accept(socket));
    server.on('error', (error: Error) => logger.error('pgwire: listener error', { error: error.message }));
  }

  static async listen(options: PgServerOptions): Promise<PgServer> {
    const limits = resolvePgLimits(options.limits);
    const logger = options.logger ?? STDERR_LOGGER;
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      server.once('error', onError);
      server.listen({ host: options.host, port: options.port }, () => {
        server.removeListener('error', onError);
        resolve();
      });
    });
    return new PgServer(server, options.factory, limits, logger);
  }

  address(): { host: string; port: number } {
    const address = this.server.address() as AddressInfo | null;
    if (address === null) throw new Error('pgwire server is not listening');
    return { host: address.address, port: address.port };
  }

  /** Open client sockets, including those still in the handshake. */
  connections(): number {
    return this.live.size;
  }

  /**
   * Stops accepting, ends idle connections with 57P01, waits up to graceMs for busy ones to finish
   * their query cycle, then destroys what is left. Resolves when every connection is gone.
   */
  close(graceMs: number = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown(graceMs);
    return this.closing;
  }

  private async shutdown(graceMs: number): Promise<void> {
    const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.live) connection.requestShutdown();
    await within(this.allFinished(), graceMs);
    for (const connection of this.live) connection.abort();
    await within(this.allFinished(), SESSION_CLOSE_WAIT_MS);
    if (this.live.size > 0) {
      this.logger.warn?.('pgwire: sessions still closing after shutdown', { connections: this.live.size });
    }
    await within(listenerClosed, SESSION_CLOSE_WAIT_MS);
  }

  private allFinished(): Promise<void> {
    return Promise.all(Array.from(this.live, (connection) => connection.finished)).then(() => undefined);
  }

  private accept(socket: Socket): void {
    if (this.closing !== null) {
      refuse(socket, protocolErrors.shuttingDown());
      return;
    }
    if (this.starting.size >= this.limits.maxStartingConnections) {
      refuse(socket, protocolErrors.tooManyClients());
      return;
    }
    let connection: PgConnection;
    try {
      connection = new PgConnection(socket, this.host);
    } catch (error) {
      this.logger.error('pgwire: could not set up a connection', { error: error instanceof Error ? error.message : String(error) });
      socket.destroy();
      return;
    }
    this.live.add(connection);
    this.starting.add(connection);
    void connection.finished.then(() => this.live.delete(connection));
  }

  private admit(connection: PgConnection): number | null {
    if (this.sessions.size >= this.limits.maxConnections) return null;
    let processId = this.nextProcessId;
    // At most maxConnections ids are taken, far fewer than the id space: this ends quickly.
    while (this.sessions.has(processId)) processId = processId >= MAX_PROCESS_ID ? 1 : processId + 1;
    this.nextProcessId = processId >= MAX_PROCESS_ID ? 1 : processId + 1;
    this.sessions.set(processId, connection);
    this.starting.delete(connection);
    return processId;
  }

  private release(connection: PgConnection): void {
    this.starting.delete(connection);
    if (this.sessions.get(connection.processId) === connection) this.sessions.delete(connection.processId);
  }

  private cancel(processId: number, secretKey: number): void {
    const target = this.sessions.get(processId);
    // A wrong key is ignored without a word, as PostgreSQL does: the requester learns nothing.
    if (target === undefined || target.secretKey !== secretKey) return;
    target.requestCancel();
  }
}

/** Turns a socket away before any connection state exists for it. */
function refuse(socket: Socket, error: Parameters<typeof reportError>[0]): void {
  socket.on('error', () => {});
  const writer = new BackendWriter();
  writer.errorResponse(reportError(error).report);
  socket.end(writer.take());
  setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
}

/** Resolves when promise settles or after ms, whichever is first. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([promise.then(() => undefined, () => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const STDERR_LOGGER: PgLogger = {
  error(message, fields) {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: message, ...fields })}\n`);
  },
  warn(message, fields) {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: message, ...fields })}\n`);
  },
};
