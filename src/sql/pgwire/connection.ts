// One client connection: the startup handshake, then the message loop of protocol 3.0 (simple
// query, extended query with skip-to-Sync after an error, COPY in both directions), driving one
// Session. Messages are taken one at a time, in order: the next is not looked at until the
// Session call for the previous one has settled. Replies accumulate in one buffer and leave at
// ReadyForQuery, at Flush, or when the buffer passes the flush threshold.
//
// Whatever the client sends, nothing escapes run(): a bad message ends this connection with a
// FATAL ErrorResponse and leaves every other connection alone. The Session is closed exactly
// once, after any call into it has settled.

import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { SqlError } from '../errors.js';
import { ClientCopyInStream, type CopyInSource } from './copy_in_stream.js';
import { endsSession, reportError, type ErrorReport } from './error_report.js';
import type { PgLimits } from './limits.js';
import type { PgLogger } from './logger.js';
import { MessageCursor } from './message_cursor.js';
import { protocolErrors } from './protocol_errors.js';
import {
  CANCEL_REQUEST_CODE,
  Frontend,
  GSSENC_REQUEST_CODE,
  PROTOCOL_3_0,
  PROTOCOL_MAJOR_SUPPORTED,
  PROTOCOL_MINOR_LATEST,
  PROTOCOL_OPTION_PREFIX,
  SSL_REQUEST_CODE,
  TARGET_PORTAL,
  TARGET_STATEMENT,
} from './protocol.js';
import { FrontendReader } from './reader.js';
import { ConnectionSink, type SinkHost } from './result_sink.js';
import type { CopyInStream, Session, SessionFactory } from './session_api.js';
import { BackendWriter } from './writer.js';

/** After the final message, how long the client has to close its end before the socket is destroyed. */
const CLOSE_LINGER_MS = 2_000;
/** Frozen all-text format lists are shared for Binds with up to this many parameters. */
const SHARED_FORMAT_LISTS = 32;

const NO_NUMBERS: readonly number[] = Object.freeze([]);
const NO_FORMATS: ReadonlyArray<0 | 1> = Object.freeze([]);
const ALL_TEXT: ReadonlyArray<ReadonlyArray<0 | 1>> = Array.from({ length: SHARED_FORMAT_LISTS + 1 }, (_, n) =>
  Object.freeze(new Array<0 | 1>(n).fill(0)),
);
const ALL_BINARY: ReadonlyArray<ReadonlyArray<0 | 1>> = Array.from({ length: SHARED_FORMAT_LISTS + 1 }, (_, n) =>
  Object.freeze(new Array<0 | 1>(n).fill(1)),
);

/** What a connection needs from the server that accepted it. */
export interface ConnectionHost {
  readonly factory: SessionFactory;
  readonly limits: PgLimits;
  readonly logger: PgLogger;
  readonly shuttingDown: boolean;
  /** Takes a session slot and returns a process id unique among live sessions, or null when full. */
  admit(connection: PgConnection): number | null;
  /** Gives the slot back (called once, whether or not admit succeeded). */
  release(connection: PgConnection): void;
  /** A CancelRequest arrived on this connection. */
  cancel(processId: number, secretKey: number): void;
}

type Phase = 'startup' | 'opening' | 'ready';

export class PgConnection implements SinkHost, CopyInSource {
  readonly writer = new BackendWriter();
  /** Resolves once the socket is closed and the Session (if any) has been closed. */
  readonly finished: Promise<void>;
  processId = 0;
  secretKey = 0;

  private readonly reader: FrontendReader;
  private readonly cursor = new MessageCursor();
  private readonly sink: ConnectionSink;
  private readonly limits: PgLimits;
  private session: Session | null = null;
  private phase: Phase = 'startup';

  /** No more messages are processed; the socket is ending or gone. */
  private closed = false;
  private socketGone = false;
  private paused = false;
  private dataWaiter: (() => void) | null = null;
  private drainWaiter: { promise: Promise<void>; resolve: () => void } | null = null;
  private socketClosed!: () => void;
  private startupTimer: NodeJS.Timeout | null;
  private lingerTimer: NodeJS.Timeout | null = null;

  /** Between the first message of a query cycle and its ReadyForQuery. */
  private busy = false;
  /** A Session call is pending. */
  private inCall = false;
  private skipUntilSync = false;
  private errorSinceSync = false;
  private cancelRequested = false;
  private shutdownRequested = false;
  private copyActive = false;
  private copyLostSync = false;
  private pendingFatal: unknown = null;

  constructor(
    private readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    this.limits = host.limits;
    this.reader = new FrontendReader(host.limits.maxMessageBytes);
    this.sink = new ConnectionSink(this);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: Error) => {
      this.host.logger.debug?.('pgwire: socket error', { error: error.message, processId: this.processId });
      this.onSocketGone();
    });
    socket.on('end', () => this.onSocketGone());
    socket.on('close', () => {
      this.onSocketGone();
      this.socketClosed();
    });
    socket.on('drain', () => this.onWritten());
    const closedPromise = new Promise<void>((resolve) => {
      this.socketClosed = resolve;
    });
    this.startupTimer = setTimeout(() => {
      this.startupTimer = null;
      if (this.phase === 'startup') this.abort();
    }, host.limits.startupTimeoutMs);
    this.finished = Promise.all([this.run(), closedPromise]).then(() => undefined);
  }

  // --- control from the server ---------------------------------------------------------------

  /** A CancelRequest with this connection's key: cancel the running statement, if any. */
  requestCancel(): void {
    // As in PostgreSQL, a cancel that finds the connection idle is dropped, not kept for later.
    if (this.closed || this.session === null || !this.busy) return;
    this.cancelRequested = true;
    this.cancelSession();
  }

  /** Graceful shutdown: an idle connection ends now, a busy one after its current query cycle. */
  requestShutdown(): void {
    this.shutdownRequested = true;
    if (this.closed) return;
    if (this.phase === 'startup') {
      this.terminate(protocolErrors.shuttingDown());
      return;
    }
    if (!this.busy) this.wake();
  }

  /** Ends the connection at once. */
  abort(): void {
    this.socket.destroy();
    this.onSocketGone();
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  // --- SinkHost ------------------------------------------------------------------------------

  get cancelled(): boolean {
    return this.cancelRequested || this.closed;
  }

  flush(): void {
    if (this.writer.length === 0) return;
    if (this.closed) {
      this.writer.discard();
      return;
    }
    this.writeOut();
  }

  flushIfLarge(): void {
    if (this.writer.length >= this.limits.flushThresholdBytes) this.flush();
  }

  drain(): Promise<void> {
    const highWater = this.limits.writeHighWaterBytes;
    if (this.closed || this.writer.length + this.socket.writableLength < highWater) return Promise.resolve();
    this.flush();
    if (this.closed || this.socket.writableLength < highWater) return Promise.resolve();
    if (this.drainWaiter === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.drainWaiter = { promise, resolve };
    }
    return this.drainWaiter.promise;
  }

  copyInStream(): CopyInStream {
    this.copyActive = true;
    return new ClientCopyInStream(this);
  }

  // --- CopyInSource --------------------------------------------------------------------------

  async nextCopyData(): Promise<Uint8Array | null> {
    const reader = this.reader;
    for (;;) {
      if (!this.copyActive) return null;
      if (this.closed) {
        this.copyActive = false;
        throw protocolErrors.eofDuringCopy();
      }
      let available: boolean;
      try {
        available = reader.next();
      } catch (error) {
        this.copyActive = false;
        this.pendingFatal = error;
        throw error;
      }
      if (!available) {
        await this.waitForData();
        continue;
      }
      switch (reader.type) {
        case Frontend.copyData:
          return reader.buffer.subarray(reader.start, reader.end);
        case Frontend.copyDone:
          this.copyActive = false;
          return null;
        case Frontend.copyFail: {
          this.copyActive = false;
          let message: string;
          try {
            message = this.cursor.aim(reader.buffer, reader.start, reader.end).cstring();
          } catch (error) {
            this.pendingFatal = error;
            throw error;
          }
          throw protocolErrors.copyFailed(message);
        }
        case Frontend.flush:
        case Frontend.sync:
          // Clients (libpq among them) may send these without noticing that their statement was
          // a COPY; PostgreSQL ignores them here, and so do we.
          continue;
        default:
          this.copyActive = false;
          this.copyLostSync = true;
          throw protocolErrors.unexpectedDuringCopy(reader.type);
      }
    }
  }

  abandonCopy(): void {
    this.copyActive = false;
  }

  // --- the loop ------------------------------------------------------------------------------

  private async run(): Promise<void> {
    try {
      if (await this.startup()) await this.serve();
    } catch (error) {
      const { report, internal } = reportError(error);
      if (internal) this.logInternal(error);
      this.terminate({ ...report, severity: 'FATAL' });
    } finally {
      this.clearStartupTimer();
      if (!this.closed) this.terminate();
      this.host.release(this);
      if (this.session !== null) {
        try {
          await this.session.close();
        } catch (error) {
          this.host.logger.error('pgwire: session close failed', { error: describe(error), processId: this.processId });
        }
      }
    }
  }

  /** The handshake; true when a session is open and the client was told ReadyForQuery. */
  private async startup(): Promise<boolean> {
    const reader = this.reader;
    const c = this.cursor;
    let refusedSsl = false;
    let refusedGss = false;
    for (;;) {
      while (!reader.next()) {
        if (this.closed) return false;
        await this.waitForData();
        if (this.closed) return false;
      }
      c.aim(reader.buffer, reader.start, reader.end);
      const code = c.int32();
      if (code === SSL_REQUEST_CODE && !refusedSsl) {
        refusedSsl = true;
        this.writer.encryptionRefused();
        this.flush();
        continue;
      }
      if (code === GSSENC_REQUEST_CODE && !refusedGss) {
        refusedGss = true;
        this.writer.encryptionRefused();
        this.flush();
        continue;
      }
      this.clearStartupTimer();
      if (code === CANCEL_REQUEST_CODE) {
        const processId = c.int32();
        const secretKey = c.int32();
        this.host.cancel(processId, secretKey);
        this.terminate();
        return false;
      }
      const major = code >>> 16;
      const minor = code & 0xffff;
      if (major !== PROTOCOL_MAJOR_SUPPORTED) throw protocolErrors.unsupportedProtocol(major, minor);
      if (reader.end === reader.start || reader.buffer[reader.end - 1] !== 0) throw protocolErrors.startupPacketLayout();
      const parameters = new Map<string, string>();
      const unrecognizedOptions: string[] = [];
      for (;;) {
        // The list must end with an empty name: the packet's last byte is that NUL.
        if (c.remaining === 0) throw protocolErrors.startupPacketLayout();
        const name = c.cstring();
        if (name === '') break;
        if (c.remaining === 0) throw protocolErrors.startupPacketLayout();
        const value = c.cstring();
        if (name.startsWith(PROTOCOL_OPTION_PREFIX)) unrecognizedOptions.push(name);
        else parameters.set(name, value);
      }
      if (c.remaining !== 0) throw protocolErrors.startupPacketLayout();
      if (minor > PROTOCOL_MINOR_LATEST || unrecognizedOptions.length > 0) {
        this.writer.negotiateProtocolVersion(PROTOCOL_3_0, unrecognizedOptions);
      }
      const user = parameters.get('user');
      if (user === undefined || user === '') throw protocolErrors.noUser();
      reader.startMessages();
      return this.open(parameters);
    }
  }

  private async open(parameters: ReadonlyMap<string, string>): Promise<boolean> {
    if (this.host.shuttingDown) throw protocolErrors.shuttingDown();
    // The key must be set before admit() makes this connection reachable by CancelRequests.
    this.secretKey = randomInt(0, 2 ** 32) | 0;
    const processId = this.host.admit(this);
    if (processId === null) throw protocolErrors.tooManyClients();
    this.processId = processId;
    this.phase = 'opening';
    this.writer.authenticationOk();
    let outcome;
    try {
      outcome = await this.host.factory.open(parameters, {
        remoteAddress: this.socket.remoteAddress ?? '',
        remotePort: this.socket.remotePort ?? 0,
        processId,
      });
    } catch (error) {
      const { report, internal } = reportError(error);
      if (internal) this.logInternal(error);
      this.terminate({ ...report, severity: 'FATAL' });
      return false;
    }
    this.session = outcome.session;
    if (this.closed) return false;
    this.phase = 'ready';
    for (const [name, value] of outcome.parameters) this.writer.parameterStatus(name, value);
    this.writer.backendKeyData(processId, this.secretKey);
    this.writer.readyForQuery('I');
    if (this.shutdownRequested) {
      this.terminate(protocolErrors.adminShutdown());
      return false;
    }
    this.flush();
    return true;
  }

  private async serve(): Promise<void> {
    const reader = this.reader;
    while (!this.closed) {
      if (!reader.next()) {
        if (this.shutdownRequested && !this.busy) {
          this.terminate(protocolErrors.adminShutdown());
          return;
        }
        await this.waitForData();
        continue;
      }
      await this.dispatch(reader.type);
    }
  }

  private async dispatch(type: number): Promise<void> {
    if (this.skipUntilSync) {
      if (type === Frontend.sync) await this.handleSync();
      else if (type === Frontend.terminate) this.terminate();
      return;
    }
    switch (type) {
      case Frontend.query:
        return this.handleQuery();
      case Frontend.parse:
        return this.handleParse();
      case Frontend.bind:
        return this.handleBind();
      case Frontend.describe:
        return this.handleDescribe();
      case Frontend.execute:
        return this.handleExecute();
      case Frontend.close:
        return this.handleClose();
      case Frontend.sync:
        return this.handleSync();
      case Frontend.flush:
        this.aimCursor().expectEnd();
        this.flush();
        return;
      case Frontend.terminate:
        this.terminate();
        return;
      case Frontend.copyData:
      case Frontend.copyDone:
      case Frontend.copyFail:
        // Left over from a COPY that failed while the client was still sending: PostgreSQL
        // accepts and drops these.
        return;
      case Frontend.functionCall:
        this.busy = true;
        this.writer.errorResponse(reportError(protocolErrors.functionCallUnsupported()).report);
        this.readyForQuery();
        return;
      default:
        // The reader admits only the types above.
        throw protocolErrors.invalidMessageType(type);
    }
  }

  // --- messages ------------------------------------------------------------------------------

  private async handleQuery(): Promise<void> {
    this.busy = true;
    try {
      const c = this.aimCursor();
      const sql = c.cstring();
      c.expectEnd();
      this.inCall = true;
      await this.requireSession().simpleQuery(sql, this.sink);
    } catch (error) {
      this.failStatement(error, false);
    }
    this.afterStatement();
    if (!this.closed) this.readyForQuery();
  }

  private async handleParse(): Promise<void> {
    this.busy = true;
    try {
      const c = this.aimCursor();
      const name = c.cstring();
      const sql = c.cstring();
      const count = c.uint16();
      c.expectAtLeast(count, 4);
      let types = NO_NUMBERS;
      if (count > 0) {
        const list = new Array<number>(count);
        for (let i = 0; i < count; i++) list[i] = c.uint32();
        types = list;
      }
      c.expectEnd();
      this.inCall = true;
      await this.requireSession().parse(name, sql, types);
      this.writer.parseComplete();
    } catch (error) {
      this.failStatement(error, true);
    }
    this.afterStatement();
  }

  private async handleBind(): Promise<void> {
    this.busy = true;
    try {
      const c = this.aimCursor();
      const portal = c.cstring();
      const statement = c.cstring();
      const formatCount = c.uint16();
      c.expectAtLeast(formatCount, 2);
      let uniformFormat: 0 | 1 = 0;
      let perParameter: Array<0 | 1> | null = null;
      if (formatCount === 1) {
        uniformFormat = readFormatCode(c);
      } else if (formatCount > 1) {
        perParameter = new Array<0 | 1>(formatCount);
        for (let i = 0; i < formatCount; i++) perParameter[i] = readFormatCode(c);
      }
      const parameterCount = c.uint16();
      if (formatCount > 1 && formatCount !== parameterCount) throw protocolErrors.parameterFormatCount(formatCount, parameterCount);
      c.expectAtLeast(parameterCount, 4);
      const parameters = new Array<Uint8Array | null>(parameterCount);
      for (let i = 0; i < parameterCount; i++) {
        const length = c.int32();
        if (length === -1) parameters[i] = null;
        else if (length < 0) throw protocolErrors.invalidParameterLength(i, length);
        else parameters[i] = c.bytes(length);
      }
      const resultCount = c.uint16();
      c.expectAtLeast(resultCount, 2);
      let resultFormats: ReadonlyArray<0 | 1> = NO_FORMATS;
      if (resultCount === 1) {
        resultFormats = readFormatCode(c) === 0 ? ALL_TEXT[1]! : ALL_BINARY[1]!;
      } else if (resultCount > 1) {
        const list = new Array<0 | 1>(resultCount);
        for (let i = 0; i < resultCount; i++) list[i] = readFormatCode(c);
        resultFormats = list;
      }
      c.expectEnd();
      const parameterFormats = perParameter ?? uniformFormats(uniformFormat, parameterCount);
      this.inCall = true;
      await this.requireSession().bind(portal, statement, parameterFormats, parameters, resultFormats);
      this.writer.bindComplete();
    } catch (error) {
      this.failStatement(error, true);
    }
    this.afterStatement();
  }

  private async handleDescribe(): Promise<void> {
    this.busy = true;
    try {
      const c = this.aimCursor();
      const target = c.byte();
      const name = c.cstring();
      c.expectEnd();
      if (target === TARGET_STATEMENT) {
        this.inCall = true;
        const description = await this.requireSession().describeStatement(name);
        this.writer.parameterDescription(description.parameterTypes);
        if (description.fields === null) this.writer.noData();
        else this.writer.rowDescription(description.fields);
      } else if (target === TARGET_PORTAL) {
        this.inCall = true;
        const fields = await this.requireSession().describePortal(name);
        if (fields === null) this.writer.noData();
        else this.writer.rowDescription(fields);
      } else {
        throw protocolErrors.invalidDescribeTarget(target);
      }
    } catch (error) {
      this.failStatement(error, true);
    }
    this.afterStatement();
  }

  private async handleExecute(): Promise<void> {
    this.busy = true;
    try {
      const c = this.aimCursor();
      const portal = c.cstring();
      const maxRows = c.int32();
      c.expectEnd();
      this.inCall = true;
      // Zero or negative: no limit, as PostgreSQL reads it.
      const outcome = await this.requireSession().execute(portal, maxRows > 0 ? maxRows : 0, this.sink);
      if (outcome === 'suspended') this.writer.portalSuspended();
    } catch (error) {
      this.failStatement(error, true);
    }
    this.afterStatement();
  }

  private async handleClose(): Promise<void> {
    this.busy = true;
    try {
      const c = this.aimCursor();
      const target = c.byte();
      const name = c.cstring();
      c.expectEnd();
      if (target === TARGET_STATEMENT) {
        this.inCall = true;
        await this.requireSession().closeStatement(name);
      } else if (target === TARGET_PORTAL) {
        this.inCall = true;
        await this.requireSession().closePortal(name);
      } else {
        throw protocolErrors.invalidCloseTarget(target);
      }
      this.writer.closeComplete();
    } catch (error) {
      this.failStatement(error, true);
    }
    this.afterStatement();
  }

  private async handleSync(): Promise<void> {
    this.busy = true;
    this.skipUntilSync = false;
    const hadError = this.errorSinceSync;
    this.errorSinceSync = false;
    try {
      this.aimCursor().expectEnd();
      this.inCall = true;
      await this.requireSession().sync(hadError);
    } catch (error) {
      this.failStatement(error, false);
    }
    this.afterStatement();
    if (!this.closed) this.readyForQuery();
  }

  // --- outcomes ------------------------------------------------------------------------------

  private failStatement(error: unknown, extended: boolean): void {
    const { report, internal } = reportError(error);
    if (internal) this.logInternal(error);
    if (this.closed) return;
    if (endsSession(report.severity)) {
      this.terminate(report);
      return;
    }
    this.writer.errorResponse(report);
    if (extended) {
      this.skipUntilSync = true;
      this.errorSinceSync = true;
    }
  }

  private afterStatement(): void {
    this.inCall = false;
    // Copy data the Session did not read is dropped as it arrives.
    this.copyActive = false;
    if (this.closed) return;
    if (this.pendingFatal !== null) {
      const fatal = this.pendingFatal;
      this.pendingFatal = null;
      this.terminate({ ...reportError(fatal).report, severity: 'FATAL' });
    } else if (this.copyLostSync) {
      this.copyLostSync = false;
      this.terminate(protocolErrors.synchronizationLost());
    }
  }

  private readyForQuery(): void {
    this.writer.readyForQuery(this.requireSession().txnStatus());
    this.busy = false;
    this.cancelRequested = false;
    if (this.shutdownRequested) {
      this.terminate(protocolErrors.adminShutdown());
      return;
    }
    this.flush();
  }

  /**
   * Ends the connection: the replies buffered so far and `error`, if any, are the last bytes the
   * client gets. The socket is half-closed so they arrive before the FIN; it is destroyed when the
   * client closes its side, or after CLOSE_LINGER_MS.
   */
  private terminate(error?: SqlError | ErrorReport): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.discard();
    if (error !== undefined) this.writer.errorResponse(error instanceof SqlError ? reportError(error).report : error);
    if (!this.socketGone) {
      if (this.writer.length > 0) this.writeOut();
      this.socket.end();
      this.lingerTimer = setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS);
      this.lingerTimer.unref();
      // Keep reading (and dropping) so the client's FIN is seen.
      if (this.paused) this.socket.resume();
    }
    this.writer.discard();
    if (this.inCall) this.cancelSession();
    this.wake();
    this.resolveDrain();
  }

  // --- socket --------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.reader.push(chunk);
    if (!this.paused && this.reader.buffered >= this.limits.readBufferBytes) {
      this.paused = true;
      this.socket.pause();
    }
    this.wake();
  }

  private onSocketGone(): void {
    if (this.socketGone) return;
    this.socketGone = true;
    this.clearStartupTimer();
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    if (!this.closed) {
      this.closed = true;
      this.reader.discard();
      this.writer.discard();
      if (this.inCall) this.cancelSession();
    }
    if (!this.socket.destroyed) this.socket.destroy();
    this.wake();
    this.resolveDrain();
  }

  /** Called after each socket write completes and on 'drain'. */
  private readonly onWritten = (): void => {
    if (this.drainWaiter !== null && (this.closed || this.socket.writableLength < this.limits.writeHighWaterBytes)) {
      this.resolveDrain();
    }
  };

  private writeOut(): void {
    if (this.socket.destroyed || !this.socket.writable) {
      this.writer.discard();
      return;
    }
    this.socket.write(this.writer.take(), this.onWritten);
  }

  private waitForData(): Promise<void> {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    return new Promise<void>((resolve) => {
      this.dataWaiter = resolve;
    });
  }

  private wake(): void {
    const waiter = this.dataWaiter;
    if (waiter !== null) {
      this.dataWaiter = null;
      waiter();
    }
  }

  private resolveDrain(): void {
    const waiter = this.drainWaiter;
    if (waiter !== null) {
      this.drainWaiter = null;
      waiter.resolve();
    }
  }

  // --- helpers -------------------------------------------------------------------------------

  private aimCursor(): MessageCursor {
    const reader = this.reader;
    return this.cursor.aim(reader.buffer, reader.start, reader.end);
  }

  private requireSession(): Session {
    const session = this.session;
    if (session === null) throw new Error('pgwire: no session after startup');
    return session;
  }

  private cancelSession(): void {
    try {
      this.session?.cancel();
    } catch (error) {
      this.host.logger.error('pgwire: session cancel failed', { error: describe(error), processId: this.processId });
    }
  }

  private clearStartupTimer(): void {
    if (this.startupTimer !== null) {
      clearTimeout(this.startupTimer);
      this.startupTimer = null;
    }
  }

  private logInternal(error: unknown): void {
    this.host.logger.error('pgwire: internal error', {
      error: describe(error),
      stack: error instanceof Error ? error.stack : undefined,
      processId: this.processId,
      remote: this.remote,
    });
  }
}

function readFormatCode(c: MessageCursor): 0 | 1 {
  const code = c.uint16();
  if (code === 0 || code === 1) return code;
  // Format codes are int16 on the wire; show a negative one as the client meant it.
  throw protocolErrors.unsupportedFormatCode(code > 0x7fff ? code - 0x10000 : code);
}

function uniformFormats(format: 0 | 1, count: number): ReadonlyArray<0 | 1> {
  const shared = format === 0 ? ALL_TEXT[count] : ALL_BINARY[count];
  return shared ?? new Array<0 | 1>(count).fill(format);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
