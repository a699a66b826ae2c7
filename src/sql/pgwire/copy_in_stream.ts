// The client's data of a COPY ... FROM STDIN, as the Session consumes it. Nothing is queued here:
// each next() pulls the following CopyData straight from the connection's message reader, so the
// bytes waiting for the Session are the reader's (bounded by readBufferBytes, past which the
// socket is not read) and a slow Session slows the client down through TCP.

import type { CopyInStream } from './session_api.js';

/** What the connection provides: the next CopyData body, null at CopyDone, or a thrown SqlError. */
export interface CopyInSource {
  nextCopyData(): Promise<Uint8Array | null>;
  /** The Session stopped iterating early: the rest of the copy data is discarded as it comes. */
  abandonCopy(): void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

export class ClientCopyInStream implements CopyInStream, AsyncIterator<Uint8Array> {
  private finished = false;

  constructor(private readonly source: CopyInSource) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.finished) return DONE;
    try {
      const chunk = await this.source.nextCopyData();
      if (chunk === null) {
        this.finished = true;
        return DONE;
      }
      return { done: false, value: chunk };
    } catch (error) {
      this.finished = true;
      throw error;
    }
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.finished) {
      this.finished = true;
      this.source.abandonCopy();
    }
    return DONE;
  }
}
