// The contract between the PostgreSQL wire protocol (this folder) and the SQL layer behind it.
//
// pgwire knows nothing of SQL: it frames and parses messages, runs the startup handshake and the
// extended-protocol state machine (error → skip to Sync), and calls a Session for everything that
// needs meaning. The Session owns prepared statements, portals, transactions and the encoding of
// values; what it hands back to pgwire is already bytes, or plain descriptions.
//
// Errors: every Session method may throw. A thrown SqlError (../errors.ts) becomes an
// ErrorResponse with its SQLSTATE and fields; anything else becomes XX000 "internal error" (and is
// logged). After an error in the extended protocol pgwire discards messages until Sync, as
// PostgreSQL does; the Session learns of the failure because it threw, and reports the new
// transaction status through txnStatus().

import type { SqlError } from '../errors.js';

/** One column of a RowDescription. */
export interface FieldDescription {
  readonly name: string;
  /** OID of the table the column comes from, else 0. */
  readonly tableOid: number;
  /** Attribute number of the column in that table, else 0. */
  readonly columnAttr: number;
  readonly typeOid: number;
  /** pg_type.typlen (-1 variable). */
  readonly typeSize: number;
  readonly typeModifier: number;
  /** 0 text, 1 binary. */
  readonly format: 0 | 1;
}

/** ReadyForQuery status: idle, in a transaction block, in a failed transaction block. */
export type TxnStatus = 'I' | 'T' | 'E';

export interface Notice {
  /** WARNING, NOTICE, INFO, LOG, DEBUG */
  readonly severity: 'WARNING' | 'NOTICE' | 'INFO' | 'LOG' | 'DEBUG';
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

/** A COPY ... FROM STDIN in progress: the client's data, as it arrives. */
export interface CopyInStream {
  /**
   * The CopyData payloads in order, ending when the client sends CopyDone. If the client sends
   * CopyFail the iterator throws a SqlError (57014, "COPY from stdin failed: <client message>").
   * pgwire stops reading the socket while a bounded number of chunks wait unconsumed.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>;
}

/** Where a statement's output goes. Calls are in protocol order. */
export interface ResultSink {
  /** RowDescription. In the extended protocol the Session sends none from execute (Describe does). */
  rowDescription(fields: readonly FieldDescription[]): void;
  /** DataRow: each value already encoded in its column's format; null is SQL NULL. */
  dataRow(values: ReadonlyArray<Uint8Array | null>): void;
  /** CommandComplete with a tag such as "SELECT 3", "INSERT 0 1", "BEGIN". */
  commandComplete(tag: string): void;
  /** EmptyQueryResponse (the query text held no statement). */
  emptyQuery(): void;
  notice(notice: Notice): void;
  /** ParameterStatus, after SET changes a reported parameter (TimeZone, DateStyle, ...). */
  parameterStatus(name: string, value: string): void;
  /**
   * Starts COPY FROM STDIN: sends CopyInResponse (overall format and one format per column) and
   * returns the incoming data. The Session must consume it to the end (or until it throws) before
   * completing the statement.
   */
  copyIn(format: 0 | 1, columnFormats: ReadonlyArray<0 | 1>): CopyInStream;
  /**
   * Starts COPY TO STDOUT: sends CopyOutResponse; then copyData() per chunk and copyDone().
   */
  copyOut(format: 0 | 1, columnFormats: ReadonlyArray<0 | 1>): void;
  copyData(chunk: Uint8Array): void;
  copyDone(): void;
  /**
   * Resolves when the bytes buffered for the client fall below pgwire's high-water mark. A Session
   * producing many rows awaits it every few hundred rows so a slow client bounds the memory held.
   */
  drain(): Promise<void>;
  /** True once the client asked to cancel the running statement (CancelRequest). */
  readonly cancelled: boolean;
}

export interface StatementDescription {
  /** OIDs of the parameters ($1 ...), as inferred or as the client gave them. */
  readonly parameterTypes: readonly number[];
  /** The row the statement returns, or null for NoData. Formats are 0 (not yet bound). */
  readonly fields: readonly FieldDescription[] | null;
}

export interface Session {
  /** Simple query protocol: one Query message, possibly several statements. */
  simpleQuery(sql: string, sink: ResultSink): Promise<void>;

  /** Parse: creates a prepared statement ('' is the unnamed one, replaced by each Parse). */
  parse(name: string, sql: string, parameterTypes: readonly number[]): Promise<void>;
  /** Bind: creates a portal from a prepared statement and parameter values. */
  bind(
    portal: string,
    statement: string,
    parameterFormats: ReadonlyArray<0 | 1>,
    parameters: ReadonlyArray<Uint8Array | null>,
    resultFormats: ReadonlyArray<0 | 1>,
  ): Promise<void>;
  describeStatement(name: string): Promise<StatementDescription>;
  /** The row a portal returns (with its bound result formats), or null for NoData. */
  describePortal(name: string): Promise<readonly FieldDescription[] | null>;
  /**
   * Execute: runs a portal, sending at most maxRows rows (0 = all). Returns 'suspended' when rows
   * remain (pgwire sends PortalSuspended; a later Execute continues), else 'complete' (the Session
   * has sent CommandComplete or EmptyQueryResponse).
   */
  execute(portal: string, maxRows: number, sink: ResultSink): Promise<'complete' | 'suspended'>;
  closeStatement(name: string): Promise<void>;
  closePortal(name: string): Promise<void>;
  /**
   * Sync: ends an implicit transaction the extended protocol opened (commits it, or rolls it back
   * after an error), and drops the unnamed portal. pgwire sends ReadyForQuery after it.
   */
  sync(hadError: boolean): Promise<void>;

  txnStatus(): TxnStatus;
  /** A CancelRequest with this session's key arrived: stop the running statement soon. */
  cancel(): void;
  /** The connection ended (client closed it, or pgwire closed it after a protocol error). */
  close(): Promise<void>;
}

export interface StartupOutcome {
  readonly session: Session;
  /** ParameterStatus messages sent after AuthenticationOk. */
  readonly parameters: ReadonlyArray<readonly [string, string]>;
}

/** Creates sessions. Implemented by the SQL layer. */
export interface SessionFactory {
  /**
   * Called with the startup message's parameters (user, database, application_name, options, ...)
   * once authentication passed. Throws a SqlError to refuse (e.g. 3D000 for a database that does
   * not exist): pgwire sends it as a FATAL ErrorResponse and closes the connection.
   */
  open(parameters: ReadonlyMap<string, string>, connection: ConnectionInfo): Promise<StartupOutcome>;
}

export interface ConnectionInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The process id sent in BackendKeyData (unique per live connection on this node). */
  readonly processId: number;
}

/** What pgwire does with an error a Session threw, for tests and logs. */
export type ErrorLike = SqlError | Error;
