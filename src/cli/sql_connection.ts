// The shell's connection to a SQL node, over node-postgres. Every statement goes out as a simple
// Query message and its results are handed to a ResultSink as they arrive, as the server's text:
// no value is converted to a JavaScript number or Date (10000.50 stays 10000.50), the full command
// tag is kept (pg's own result keeps only its first word), and a long result streams to the
// output instead of piling up in memory: when the output cannot keep up, the socket is paused.
// A running statement is cancelled with a CancelRequest on a second connection, as psql does.
import { connect as connectTcp } from 'node:net';
import type { Writable } from 'node:stream';
import pg from 'pg';
import { SqlError, SqlState } from '../sql/errors.js';
import type { ResultColumn, ResultSink } from './sql_result_printer.js';

/** How long to wait for the server to accept a connection and finish the startup handshake. */
export const CONNECT_TIMEOUT_MS = 15_000;
/** How long a CancelRequest may take to be delivered before it is given up. */
const CANCEL_TIMEOUT_MS = 5_000;
/** The CancelRequest code: 1234 in the high 16 bits, 5678 in the low ones. */
const CANCEL_REQUEST_CODE = 80877102;
const CANCEL_REQUEST_LENGTH = 16;

export interface SqlEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly password?: string;
}

/** The transaction status the server reported with its last ReadyForQuery. */
export type TransactionState = 'idle' | 'open' | 'failed';

export interface ServerNotice {
  readonly severity: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

/** The parts of node-postgres's messages that the shell reads. */
interface FieldMessage {
  readonly name: string;
  readonly dataTypeID: number;
}
interface RowDescriptionMessage {
  readonly fields: readonly FieldMessage[];
}
interface DataRowMessage {
  readonly fields: readonly (string | null)[];
}
interface CommandCompleteMessage {
  readonly text: string;
}
interface CopyDataMessage {
  readonly chunk: Buffer;
}
/** What pg keeps of the BackendKeyData message (the key to cancel this session's statements). */
interface BackendKey {
  readonly processID?: unknown;
  readonly secretKey?: unknown;
}

/** Every type parsed as itself: the shell shows the server's text. */
const TEXT_TYPES: pg.CustomTypesConfig = {
  getTypeParser: (() => (value: string) => value) as unknown as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A server error as the server sent it; anything else (a lost connection, a bug) as a SqlError with
 * `fallbackCode`, its message prefixed by `context` when given.
 */
export function toSqlError(err: unknown, fallbackCode: string = SqlState.internalError, context?: string): SqlError {
  if (err instanceof SqlError) return err;
  if (err instanceof pg.DatabaseError) {
    const position = err.position === undefined ? undefined : Number(err.position);
    return new SqlError(err.code ?? SqlState.internalError, err.message, {
      ...(err.detail === undefined ? {} : { detail: err.detail }),
      ...(err.hint === undefined ? {} : { hint: err.hint }),
      ...(position === undefined || !Number.isFinite(position) ? {} : { position }),
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new SqlError(fallbackCode, context === undefined ? message : `${context}: ${message}`);
}

/**
 * Whether the shell's output can take more text. A full output holds back reading from the
 * server; a failed one (a closed pipe: stdout then stays "full" forever and never drains) does
 * not, so a statement being cancelled is read to its end.
 */
export class OutputGate {
  private gone = false;
  private waiting: Array<() => void> = [];
  private readonly onGone = (): void => {
    this.gone = true;
    this.release();
  };
  private readonly onDrain = (): void => this.release();

  constructor(private readonly output: Writable) {
    output.on('error', this.onGone);
    output.on('close', this.onGone);
    output.on('drain', this.onDrain);
  }

  get blocked(): boolean {
    return !this.gone && !this.output.destroyed && this.output.writableNeedDrain;
  }

  /** Calls `resume` once the output drains or fails. */
  whenUnblocked(resume: () => void): void {
    if (this.blocked) this.waiting.push(resume);
    else resume();
  }

  dispose(): void {
    this.output.off('error', this.onGone);
    this.output.off('close', this.onGone);
    this.output.off('drain', this.onDrain);
    this.release();
  }

  private release(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resume of waiting) resume();
  }
}

/** One statement in flight: a pg Submittable that feeds the sink and honours the output's pace. */
class StatementExecution implements pg.Submittable {
  private paused = false;
  private connection: pg.Connection | undefined;
  readonly done: Promise<void>;
  private settle!: (err?: unknown) => void;

  constructor(
    private readonly text: string,
    private readonly sink: ResultSink,
    private readonly gate: OutputGate,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (err) => (err === undefined ? resolve() : reject(err));
    });
  }

  submit(connection: pg.Connection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  handleRowDescription(msg: RowDescriptionMessage): void {
    const columns: ResultColumn[] = msg.fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID }));
    this.sink.columns(columns);
  }

  handleDataRow(msg: DataRowMessage): void {
    this.sink.row(msg.fields);
    this.throttle();
  }

  handleCommandComplete(msg: CommandCompleteMessage): void {
    this.sink.complete(msg.text);
    this.throttle();
  }

  handleEmptyQuery(): void {}

  handlePortalSuspended(): void {}

  handleCopyInResponse(connection: pg.Connection & { sendCopyFail(message: string): void }): void {
    connection.sendCopyFail('COPY FROM STDIN is not supported by cairn sql');
  }

  handleCopyData(msg: CopyDataMessage): void {
    this.sink.copyData(msg.chunk.toString('utf8'));
    this.throttle();
  }

  handleError(err: unknown): void {
    const connection = this.connection;
    if (!(err instanceof pg.DatabaseError) || connection === undefined) {
      this.settle(err);
      return;
    }
    // The server follows an error with ReadyForQuery, which carries the new transaction status
    // (pg stops routing messages to this statement at the error): wait for it, or for the end.
    const finish = (): void => {
      connection.off('readyForQuery', finish);
      connection.off('end', finish);
      connection.off('error', finish);
      this.settle(err);
    };
    connection.on('readyForQuery', finish);
    connection.on('end', finish);
    connection.on('error', finish);
  }

  handleReadyForQuery(): void {
    this.settle();
  }

  /** Stops reading from the server while the output's buffer is full. */
  private throttle(): void {
    if (this.paused || this.connection === undefined || !this.gate.blocked) return;
    this.paused = true;
    const stream = this.connection.stream;
    stream.pause();
    this.gate.whenUnblocked(() => {
      this.paused = false;
      stream.resume();
    });
  }
}

export class SqlConnection {
  private lost: Error | undefined;
  private running: StatementExecution | undefined;

  private constructor(
    private readonly client: pg.Client,
    readonly endpoint: SqlEndpoint,
  ) {
    client.on('error', (err) => {
      this.lost = err;
    });
    client.on('end', () => {
      this.lost ??= new Error('the server closed the connection');
    });
  }

  /** Connects; throws a SqlError saying why not (the server's own error when it refused). */
  static async open(endpoint: SqlEndpoint, onNotice: (notice: ServerNotice) => void): Promise<SqlConnection> {
    const client = new pg.Client({
      host: endpoint.host,
      port: endpoint.port,
      user: endpoint.user,
      database: endpoint.database,
      ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
      ssl: false,
      application_name: 'cairn sql',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      types: TEXT_TYPES,
    });
    // Until open() returns, errors reach its caller through connect().
    const early = (): void => {};
    client.on('error', early);
    client.on('notice', (n) =>
      onNotice({
        severity: n.severity ?? 'NOTICE',
        message: n.message ?? '',
        ...(n.detail === undefined ? {} : { detail: n.detail }),
        ...(n.hint === undefined ? {} : { hint: n.hint }),
      }),
    );
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw toSqlError(err, SqlState.connectionFailure, `cannot connect to ${endpoint.host}:${endpoint.port}`);
    } finally {
      client.off('error', early);
    }
    return new SqlConnection(client, endpoint);
  }

  /** Why the connection is unusable (the server went away), if it is. */
  get lostReason(): string | undefined {
    return this.lost?.message;
  }

  get transactionState(): TransactionState {
    const status = this.client.getTransactionStatus();
    return status === 'T' ? 'open' : status === 'E' ? 'failed' : 'idle';
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Runs one statement (or whatever the server accepts in one simple Query), feeding `sink`. */
  async run(text: string, sink: ResultSink, gate: OutputGate): Promise<void> {
    if (this.lost !== undefined) throw toSqlError(this.lost, SqlState.connectionFailure, 'the connection to the server was lost');
    if (this.running !== undefined) throw new Error('invariant: one statement at a time on a shell connection');
    const execution = new StatementExecution(text, sink, gate);
    this.running = execution;
    try {
      this.client.query(execution);
      await execution.done;
    } catch (err) {
      throw toSqlError(err, SqlState.connectionFailure);
    } finally {
      this.running = undefined;
    }
  }

  /** Asks the server to cancel the running statement (if any); resolves once the request is sent. */
  async cancel(): Promise<void> {
    if (this.running === undefined) return;
    const key = this.client as unknown as BackendKey;
    if (typeof key.processID !== 'number' || typeof key.secretKey !== 'number') return;
    const request = Buffer.alloc(CANCEL_REQUEST_LENGTH);
    request.writeInt32BE(CANCEL_REQUEST_LENGTH, 0);
    request.writeInt32BE(CANCEL_REQUEST_CODE, 4);
    request.writeInt32BE(key.processID, 8);
    request.writeInt32BE(key.secretKey, 12);
    await new Promise<void>((resolve) => {
      const socket = connectTcp(this.endpoint.port, this.endpoint.host);
      socket.setTimeout(CANCEL_TIMEOUT_MS, () => socket.destroy());
      socket.once('connect', () => socket.end(request));
      socket.once('error', () => resolve());
      socket.once('close', () => resolve());
    });
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
