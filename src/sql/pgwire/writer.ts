// Encodes backend messages into one growable buffer that is reused from reply to reply, so that a
// whole query cycle (ParseComplete ... ReadyForQuery) leaves in a single socket write. take()
// hands the bytes over for writing: a small batch is copied out (the socket keeps what it is
// given until sent, and this buffer is about to be overwritten), a large one is handed over whole
// and a fresh buffer takes its place.

import { ErrorField, type ErrorReport } from './error_report.js';
import { Backend, ENCRYPTION_REFUSED } from './protocol.js';
import type { FieldDescription, TxnStatus } from './session_api.js';

/** Capacity of a fresh buffer: a typical reply fits without growing. */
const INITIAL_CAPACITY = 16 * 1024;
/** A buffer that grew past this (for one large reply) is not kept for the next one. */
const RETAINED_CAPACITY = 1024 * 1024;
/** Batches at least this large are handed to the socket instead of copied. */
const HANDOFF_BYTES = 64 * 1024;
/** Body lengths travel as int32. */
const MAX_MESSAGE_LENGTH = 0x7fff_ffff;
/** UTF-16 code units encode to at most 3 UTF-8 bytes each. */
const MAX_UTF8_BYTES_PER_UNIT = 3;

const NUL_CHARACTER = '\u0000';
const REPLACEMENT_CHARACTER = '\uFFFD';

export class BackendWriter {
  private buf = Buffer.allocUnsafe(INITIAL_CAPACITY);
  private len = 0;
  private messageStart = 0;

  /** Bytes encoded and not yet taken. */
  get length(): number {
    return this.len;
  }

  /** The encoded bytes, for one socket write; the writer starts empty again. */
  take(): Buffer {
    const len = this.len;
    this.len = 0;
    if (len >= HANDOFF_BYTES) {
      const out = this.buf.subarray(0, len);
      this.buf = Buffer.allocUnsafe(Math.min(this.buf.length, RETAINED_CAPACITY));
      return out;
    }
    const out = Buffer.allocUnsafe(len);
    this.buf.copy(out, 0, 0, len);
    if (this.buf.length > RETAINED_CAPACITY) this.buf = Buffer.allocUnsafe(INITIAL_CAPACITY);
    return out;
  }

  /** Forgets what was encoded (the connection is gone). */
  discard(): void {
    this.len = 0;
  }

  // --- messages ----------------------------------------------------------------------------

  encryptionRefused(): void {
    this.ensure(1);
    this.buf[this.len++] = ENCRYPTION_REFUSED;
  }

  authenticationOk(): void {
    this.begin(Backend.authentication);
    this.int32(0);
    this.finish();
  }

  parameterStatus(name: string, value: string): void {
    this.begin(Backend.parameterStatus);
    this.cstring(name);
    this.cstring(value);
    this.finish();
  }

  backendKeyData(processId: number, secretKey: number): void {
    this.begin(Backend.backendKeyData);
    this.int32(processId);
    this.int32(secretKey);
    this.finish();
  }

  /** `newestVersion` is the full version number (3 << 16 | minor), as PostgreSQL sends it. */
  negotiateProtocolVersion(newestVersion: number, unrecognizedOptions: readonly string[]): void {
    this.begin(Backend.negotiateProtocolVersion);
    this.int32(newestVersion);
    this.int32(unrecognizedOptions.length);
    for (const option of unrecognizedOptions) this.cstring(option);
    this.finish();
  }

  readyForQuery(status: TxnStatus): void {
    this.ensure(6);
    const b = this.buf;
    let p = this.len;
    b[p++] = Backend.readyForQuery;
    b[p++] = 0;
    b[p++] = 0;
    b[p++] = 0;
    b[p++] = 5;
    b[p++] = status.charCodeAt(0);
    this.len = p;
  }

  parseComplete(): void {
    this.empty(Backend.parseComplete);
  }

  bindComplete(): void {
    this.empty(Backend.bindComplete);
  }

  closeComplete(): void {
    this.empty(Backend.closeComplete);
  }

  noData(): void {
    this.empty(Backend.noData);
  }

  portalSuspended(): void {
    this.empty(Backend.portalSuspended);
  }

  emptyQueryResponse(): void {
    this.empty(Backend.emptyQueryResponse);
  }

  parameterDescription(typeOids: readonly number[]): void {
    this.begin(Backend.parameterDescription);
    this.int16(typeOids.length);
    for (const oid of typeOids) this.int32(oid);
    this.finish();
  }

  rowDescription(fields: readonly FieldDescription[]): void {
    this.begin(Backend.rowDescription);
    this.int16(fields.length);
    for (const field of fields) {
      this.cstring(field.name);
      this.ensure(18);
      this.int32(field.tableOid);
      this.int16(field.columnAttr);
      this.int32(field.typeOid);
      this.int16(field.typeSize);
      this.int32(field.typeModifier);
      this.int16(field.format);
    }
    this.finish();
  }

  dataRow(values: ReadonlyArray<Uint8Array | null>): void {
    this.begin(Backend.dataRow);
    this.int16(values.length);
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value === null || value === undefined) {
        this.int32(-1);
      } else {
        this.ensure(4 + value.length);
        this.int32(value.length);
        this.buf.set(value, this.len);
        this.len += value.length;
      }
    }
    this.finish();
  }

  commandComplete(tag: string): void {
    this.begin(Backend.commandComplete);
    this.cstring(tag);
    this.finish();
  }

  errorResponse(report: ErrorReport): void {
    this.report(Backend.errorResponse, report);
  }

  noticeResponse(report: ErrorReport): void {
    this.report(Backend.noticeResponse, report);
  }

  copyInResponse(format: 0 | 1, columnFormats: ReadonlyArray<0 | 1>): void {
    this.copyResponse(Backend.copyInResponse, format, columnFormats);
  }

  copyOutResponse(format: 0 | 1, columnFormats: ReadonlyArray<0 | 1>): void {
    this.copyResponse(Backend.copyOutResponse, format, columnFormats);
  }

  copyData(chunk: Uint8Array): void {
    this.begin(Backend.copyData);
    this.ensure(chunk.length);
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
    this.finish();
  }

  copyDone(): void {
    this.empty(Backend.copyDone);
  }

  // --- encoding ----------------------------------------------------------------------------

  private report(type: number, report: ErrorReport): void {
    this.begin(type);
    this.field(ErrorField.severity, report.severity);
    this.field(ErrorField.severityNonLocalized, report.severity);
    this.field(ErrorField.code, report.code);
    this.field(ErrorField.message, report.message);
    if (report.detail !== undefined) this.field(ErrorField.detail, report.detail);
    if (report.hint !== undefined) this.field(ErrorField.hint, report.hint);
    if (report.position !== undefined) this.field(ErrorField.position, String(report.position));
    if (report.schema !== undefined) this.field(ErrorField.schema, report.schema);
    if (report.table !== undefined) this.field(ErrorField.table, report.table);
    if (report.column !== undefined) this.field(ErrorField.column, report.column);
    if (report.dataType !== undefined) this.field(ErrorField.dataType, report.dataType);
    if (report.constraint !== undefined) this.field(ErrorField.constraint, report.constraint);
    this.byte(0);
    this.finish();
  }

  private field(code: number, value: string): void {
    this.byte(code);
    this.cstring(value);
  }

  private copyResponse(type: number, format: 0 | 1, columnFormats: ReadonlyArray<0 | 1>): void {
    this.begin(type);
    this.byte(format);
    this.int16(columnFormats.length);
    for (const f of columnFormats) this.int16(f);
    this.finish();
  }

  private empty(type: number): void {
    this.ensure(5);
    const b = this.buf;
    let p = this.len;
    b[p++] = type;
    b[p++] = 0;
    b[p++] = 0;
    b[p++] = 0;
    b[p++] = 4;
    this.len = p;
  }

  private begin(type: number): void {
    this.ensure(5);
    this.buf[this.len] = type;
    this.messageStart = this.len + 1;
    this.len += 5;
  }

  private finish(): void {
    const length = this.len - this.messageStart;
    if (length > MAX_MESSAGE_LENGTH) {
      this.len = this.messageStart - 1;
      throw new RangeError(`a backend message of ${length} bytes exceeds the protocol's int32 length`);
    }
    const b = this.buf;
    const p = this.messageStart;
    b[p] = length >>> 24;
    b[p + 1] = (length >>> 16) & 0xff;
    b[p + 2] = (length >>> 8) & 0xff;
    b[p + 3] = length & 0xff;
  }

  private byte(value: number): void {
    this.ensure(1);
    this.buf[this.len++] = value;
  }

  private int16(value: number): void {
    this.ensure(2);
    const b = this.buf;
    const p = this.len;
    b[p] = (value >>> 8) & 0xff;
    b[p + 1] = value & 0xff;
    this.len = p + 2;
  }

  private int32(value: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.len;
    b[p] = (value >>> 24) & 0xff;
    b[p + 1] = (value >>> 16) & 0xff;
    b[p + 2] = (value >>> 8) & 0xff;
    b[p + 3] = value & 0xff;
    this.len = p + 4;
  }

  private cstring(value: string): void {
    // A NUL inside would end the string early and desynchronise the client's parser.
    const text = value.includes(NUL_CHARACTER) ? value.replaceAll(NUL_CHARACTER, REPLACEMENT_CHARACTER) : value;
    this.ensure(text.length * MAX_UTF8_BYTES_PER_UNIT + 1);
    this.len += this.buf.write(text, this.len, 'utf8');
    this.buf[this.len++] = 0;
  }

  private ensure(extra: number): void {
    const needed = this.len + extra;
    if (needed <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
  }
}
