// Reads the fields of one message body in place: integers, NUL-terminated strings and byte runs,
// each checked against the end of the body. One cursor per connection is re-aimed at every
// message, so decoding allocates only the values it returns. Running past the end, a string
// without its NUL and trailing bytes are protocol violations (FATAL); text that is not UTF-8 is
// an ordinary error (22021), as in PostgreSQL.

import { isUtf8 } from 'node:buffer';
import { protocolErrors } from './protocol_errors.js';

const EMPTY = Buffer.alloc(0);
const REPLACEMENT_CHARACTER = '\uFFFD';

export class MessageCursor {
  private buffer: Buffer = EMPTY;
  private pos = 0;
  private end = 0;

  aim(buffer: Buffer, start: number, end: number): this {
    this.buffer = buffer;
    this.pos = start;
    this.end = end;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  byte(): number {
    if (this.end - this.pos < 1) throw protocolErrors.insufficientData();
    return this.buffer[this.pos++]!;
  }

  /** An unsigned 16-bit count, as PostgreSQL reads the counts of Parse and Bind. */
  uint16(): number {
    if (this.end - this.pos < 2) throw protocolErrors.insufficientData();
    const b = this.buffer;
    const value = (b[this.pos]! << 8) | b[this.pos + 1]!;
    this.pos += 2;
    return value;
  }

  int32(): number {
    if (this.end - this.pos < 4) throw protocolErrors.insufficientData();
    const b = this.buffer;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) | 0;
  }

  /** An unsigned 32-bit value (an OID). */
  uint32(): number {
    return this.int32() >>> 0;
  }

  cstring(): string {
    const nul = this.buffer.indexOf(0, this.pos);
    if (nul === -1 || nul >= this.end) throw protocolErrors.invalidString();
    const start = this.pos;
    this.pos = nul + 1;
    if (nul === start) return '';
    const text = this.buffer.toString('utf8', start, nul);
    // Invalid UTF-8 decodes to U+FFFD; only then is the (rarer) exact check worth its cost.
    if (text.includes(REPLACEMENT_CHARACTER)) {
      const raw = this.buffer.subarray(start, nul);
      if (!isUtf8(raw)) throw protocolErrors.invalidUtf8(describeInvalidUtf8(raw));
    }
    return text;
  }

  /** A view of the next n bytes (not a copy: message bodies are never overwritten). */
  bytes(n: number): Buffer {
    if (n < 0 || this.end - this.pos < n) throw protocolErrors.insufficientData();
    const view = this.buffer.subarray(this.pos, this.pos + n);
    this.pos += n;
    return view;
  }

  /** Throws unless n more items of itemBytes each could fit: a count is checked before arrays are sized by it. */
  expectAtLeast(n: number, itemBytes: number): void {
    if (n * itemBytes > this.end - this.pos) throw protocolErrors.insufficientData();
  }

  expectEnd(): void {
    if (this.pos !== this.end) throw protocolErrors.invalidMessageFormat();
  }
}

/** The first invalid sequence as PostgreSQL prints it: "0xc3 0x28". */
export function describeInvalidUtf8(bytes: Uint8Array): string {
  let i = 0;
  while (i < bytes.length) {
    const length = validSequenceLength(bytes, i);
    if (length === 0) break;
    i += length;
  }
  const lead = bytes[i] ?? 0;
  const expected = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  const shown: string[] = [];
  for (let j = i; j < Math.min(bytes.length, i + expected); j++) shown.push(`0x${bytes[j]!.toString(16).padStart(2, '0')}`);
  return shown.join(' ');
}

/** The length of the well-formed UTF-8 sequence at i (RFC 3629), or 0 if there is none. */
function validSequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  const continuation = (k: number, low = 0x80, high = 0xbf): boolean => {
    const b = bytes[i + k];
    return b !== undefined && b >= low && b <= high;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return continuation(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const low = b0 === 0xe0 ? 0xa0 : 0x80;
    const high = b0 === 0xed ? 0x9f : 0xbf;
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const low = b0 === 0xf0 ? 0x90 : 0x80;
    const high = b0 === 0xf4 ? 0x8f : 0xbf;
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}
