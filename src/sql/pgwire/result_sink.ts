// The ResultSink a Session writes a statement's output to. One per connection, reused for every
// statement: each call encodes one backend message into the connection's writer, which goes to
// the socket at ReadyForQuery, at Flush, or as soon as it grows past the flush threshold.

import { noticeReport } from './error_report.js';
import type { CopyInStream, FieldDescription, Notice, ResultSink } from './session_api.js';
import type { BackendWriter } from './writer.js';

/** What the sink needs from its connection. */
export interface SinkHost {
  readonly writer: BackendWriter;
  /** Writes the buffered replies out if they passed the flush threshold. */
  flushIfLarge(): void;
  /** Writes the buffered replies out now (the client must see them to go on, as for CopyInResponse). */
  flush(): void;
  drain(): Promise<void>;
  readonly cancelled: boolean;
  /** Switches the connection to reading copy data and returns it. */
  copyInStream(): CopyInStream;
}

export class ConnectionSink implements ResultSink {
  constructor(private readonly host: SinkHost) {}

  get cancelled(): boolean {
    return this.host.cancelled;
  }

  rowDescription(fields: readonly FieldDescription[]): void {
    this.host.writer.rowDescription(fields);
    this.host.flushIfLarge();
  }

  dataRow(values: ReadonlyArray<Uint8Array | null>): void {
    this.host.writer.dataRow(values);
    this.host.flushIfLarge();
  }

  commandComplete(tag: string): void {
    this.host.writer.commandComplete(tag);
  }

  emptyQuery(): void {
    this.host.writer.emptyQueryResponse();
  }

  notice(notice: Notice): void {
    this.host.writer.noticeResponse(noticeReport(notice));
    this.host.flushIfLarge();
  }

  parameterStatus(name: string, value: string): void {
    this.host.writer.parameterStatus(name, value);
  }

  copyIn(format: 0 | 1, columnFormats: ReadonlyArray<0 | 1>): CopyInStream {
    this.host.writer.copyInResponse(format, columnFormats);
    this.host.flush();
    return this.host.copyInStream();
  }

  copyOut(format: 0 | 1, columnFormats: ReadonlyArray<0 | 1>): void {
    this.host.writer.copyOutResponse(format, columnFormats);
  }

  copyData(chunk: Uint8Array): void {
    this.host.writer.copyData(chunk);
    this.host.flushIfLarge();
  }

  copyDone(): void {
    this.host.writer.copyDone();
  }

  drain(): Promise<void> {
    return this.host.drain();
  }
}
