// Cuts the bytes a client sends into messages, incrementally and within bounds. Chunks from the
// socket are queued as they arrive; next() yields one complete message at a time as a window
// (buffer, start, end) onto either the chunk that holds it whole (no copy, the common case) or,
// for a message that straddles chunks, a buffer assembled for it alone. Neither is ever written
// again, so views into a message stay valid for as long as anyone holds them (a Bind parameter
// kept in a portal, a CopyData chunk queued by the Session).
//
// A header is checked as soon as it is complete: an unknown type, a length below 4 or a body over
// the limit fails before any of the body is buffered, so a client cannot make the server hold
// more than the limit for one message.

import { MAX_STARTUP_PACKET_BYTES } from './limits.js';
import { protocolErrors } from './protocol_errors.js';
import { FRONTEND_MESSAGE_TYPES } from './protocol.js';

const EMPTY = Buffer.alloc(0);

/** Type byte + int32 length after startup; the startup packet has the length only. */
const MESSAGE_HEADER_BYTES = 5;
const STARTUP_HEADER_BYTES = 4;
/** The type startup packets are reported with: they have no type byte of their own. */
export const STARTUP_PACKET_TYPE = 0;
/** Consumed chunk slots are dropped from the queue's front once this many pile up. */
const QUEUE_COMPACT_AT = 64;

export class FrontendReader {
  private readonly chunks: Buffer[] = [];
  private head = 0;
  private headPos = 0;
  private queued = 0;
  private startupMode = true;

  private readonly header = Buffer.alloc(MESSAGE_HEADER_BYTES);
  private headerFilled = 0;
  private assembly: Buffer | null = null;
  private assemblyFilled = 0;
  private assemblyType = 0;

  /** The message next() found: its type byte (STARTUP_PACKET_TYPE for a startup packet)... */
  type = 0;
  /** ...and its body, buffer[start, end), without the header. */
  buffer: Buffer = EMPTY;
  start = 0;
  end = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes received but not yet taken into a message. */
  get buffered(): number {
    return this.queued;
  }

  /** After the handshake: typed messages from now on. */
  startMessages(): void {
    this.startupMode = false;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.queued += chunk.length;
  }

  /** Drops everything buffered: the connection is going away. */
  discard(): void {
    this.chunks.length = 0;
    this.head = 0;
    this.headPos = 0;
    this.queued = 0;
    this.assembly = null;
    this.headerFilled = 0;
  }

  /**
   * Finds the next complete message; false when more bytes are needed (all buffered bytes have
   * then been taken into a partial message). Throws a FATAL SqlError on a bad header.
   */
  next(): boolean {
    if (this.assembly === null) {
      const headerBytes = this.startupMode ? STARTUP_HEADER_BYTES : MESSAGE_HEADER_BYTES;
      let type: number;
      let length: number;
      const chunk = this.chunks[this.head];
      if (this.headerFilled === 0 && chunk !== undefined && chunk.length - this.headPos >= headerBytes) {
        const p = this.headPos;
        if (this.startupMode) {
          type = STARTUP_PACKET_TYPE;
          length = readInt32(chunk, p);
        } else {
          type = chunk[p]!;
          this.checkType(type);
          length = readInt32(chunk, p + 1);
        }
        const bodyBytes = this.checkLength(type, length);
        const bodyStart = p + headerBytes;
        if (chunk.length - bodyStart >= bodyBytes) {
          this.type = type;
          this.buffer = chunk;
          this.start = bodyStart;
          this.end = bodyStart + bodyBytes;
          this.consume(headerBytes + bodyBytes);
          return true;
        }
        this.consume(headerBytes);
        this.beginAssembly(type, bodyBytes);
      } else {
        // The header itself straddles chunks: gather it byte-exactly first.
        const before = this.headerFilled;
        this.headerFilled += this.take(this.header, this.headerFilled, headerBytes - this.headerFilled);
        if (!this.startupMode && before === 0 && this.headerFilled > 0) this.checkType(this.header[0]!);
        if (this.headerFilled < headerBytes) return false;
        this.headerFilled = 0;
        if (this.startupMode) {
          type = STARTUP_PACKET_TYPE;
          length = readInt32(this.header, 0);
        } else {
          type = this.header[0]!;
          length = readInt32(this.header, 1);
        }
        this.beginAssembly(type, this.checkLength(type, length));
      }
    }
    const assembly = this.assembly!;
    this.assemblyFilled += this.take(assembly, this.assemblyFilled, assembly.length - this.assemblyFilled);
    if (this.assemblyFilled < assembly.length) return false;
    this.type = this.assemblyType;
    this.buffer = assembly;
    this.start = 0;
    this.end = assembly.length;
    this.assembly = null;
    return true;
  }

  private checkType(type: number): void {
    if (FRONTEND_MESSAGE_TYPES[type] !== 1) throw protocolErrors.invalidMessageType(type);
  }

  private checkLength(type: number, length: number): number {
    if (this.startupMode) {
      // The body must at least hold the protocol version (or request code).
      if (length < STARTUP_HEADER_BYTES + 4 || length - STARTUP_HEADER_BYTES > MAX_STARTUP_PACKET_BYTES) {
        throw protocolErrors.invalidStartupPacketLength();
      }
      return length - STARTUP_HEADER_BYTES;
    }
    if (length < 4) throw protocolErrors.invalidMessageLength(type, length);
    if (length - 4 > this.maxMessageBytes) throw protocolErrors.messageTooLarge(type, length - 4, this.maxMessageBytes);
    return length - 4;
  }

  private beginAssembly(type: number, bodyBytes: number): void {
    this.assemblyType = type;
    this.assembly = bodyBytes === 0 ? EMPTY : Buffer.allocUnsafe(bodyBytes);
    this.assemblyFilled = 0;
  }

  /** Copies up to `want` queued bytes into target at offset; returns how many. */
  private take(target: Buffer, offset: number, want: number): number {
    let copied = 0;
    while (copied < want) {
      const chunk = this.chunks[this.head];
      if (chunk === undefined) break;
      const n = Math.min(want - copied, chunk.length - this.headPos);
      chunk.copy(target, offset + copied, this.headPos, this.headPos + n);
      copied += n;
      this.consume(n);
    }
    return copied;
  }

  private consume(n: number): void {
    this.queued -= n;
    this.headPos += n;
    const chunk = this.chunks[this.head]!;
    if (this.headPos < chunk.length) return;
    this.headPos = 0;
    this.head += 1;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head >= QUEUE_COMPACT_AT) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
  }
}

function readInt32(buffer: Buffer, offset: number): number {
  return ((buffer[offset]! << 24) | (buffer[offset + 1]! << 16) | (buffer[offset + 2]! << 8) | buffer[offset + 3]!) | 0;
}
