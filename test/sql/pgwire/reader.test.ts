// The frame reader and the field cursor on their own: messages come out whole and in order
// however the byte stream is cut, views into them stay valid, and every malformed header or body
// is refused with the protocol violation PostgreSQL names (or 22021 for text that is not UTF-8).

import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SqlError } from '../../../src/sql/errors.js';
import { MessageCursor } from '../../../src/sql/pgwire/message_cursor.js';
import { FrontendReader, STARTUP_PACKET_TYPE } from '../../../src/sql/pgwire/reader.js';
import { fe } from './raw_client.js';

const MAX = 64 * 1024;
const TYPES = 'BCDEFHPQSXcdf';

function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

function expectViolation(action: () => unknown, code: string, message: string): void {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(SqlError);
  const error = thrown as SqlError;
  expect({ code: error.code, message: error.message }).toEqual({ code, message });
}

describe('FrontendReader', () => {
  const message = fc.record({
    type: fc.constantFrom(...TYPES),
    body: fc.uint8Array({ maxLength: 600 }),
  });

  it('yields every message whole and in order, however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[a-z_]{1,10}$/), fc.string({ maxLength: 20 }).filter((s) => !s.includes('\0')), { maxKeys: 4 }),
        fc.array(message, { maxLength: 25 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (parameters, messages, cuts) => {
          const startup = fe.startup({ user: 'u', ...parameters });
          const stream = Buffer.concat([startup, ...messages.map((m) => fe.message(m.type, Buffer.from(m.body)))]);
          const reader = new FrontendReader(MAX);
          const got: Array<{ type: number; body: Buffer }> = [];
          let started = false;
          for (const chunk of cut(stream, cuts)) {
            reader.push(chunk);
            while (reader.next()) {
              // Views are kept, not copied: they must survive everything pushed after them.
              got.push({ type: reader.type, body: reader.buffer.subarray(reader.start, reader.end) });
              if (!started) {
                started = true;
                reader.startMessages();
              }
            }
          }
          expect(reader.buffered).toBe(0);
          expect(got.length).toBe(messages.length + 1);
          expect(got[0]!.type).toBe(STARTUP_PACKET_TYPE);
          expect(Buffer.compare(got[0]!.body, startup.subarray(4))).toBe(0);
          messages.forEach((m, i) => {
            expect(String.fromCharCode(got[i + 1]!.type)).toBe(m.type);
            expect(Buffer.compare(got[i + 1]!.body, Buffer.from(m.body))).toBe(0);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('does not copy a message that lies whole in one chunk', () => {
    const reader = new FrontendReader(MAX);
    reader.startMessages();
    const chunk = Buffer.concat([fe.query('select 1'), fe.sync()]);
    reader.push(chunk);
    expect(reader.next()).toBe(true);
    expect(reader.buffer).toBe(chunk);
    expect(reader.buffer.toString('utf8', reader.start, reader.end)).toBe('select 1\0');
    expect(reader.next()).toBe(true);
    expect(reader.end - reader.start).toBe(0);
    expect(reader.next()).toBe(false);
  });

  it('refuses an unknown type as soon as its byte arrives', () => {
    const reader = new FrontendReader(MAX);
    reader.startMessages();
    reader.push(Buffer.from('z'));
    expectViolation(() => reader.next(), '08P01', 'invalid frontend message type 122');
  });

  it('refuses a length below 4 and a body over the limit before the body arrives', () => {
    const short = new FrontendReader(MAX);
    short.startMessages();
    short.push(Buffer.from([0x51, 0, 0, 0, 3]));
    expectViolation(() => short.next(), '08P01', 'invalid message length');

    const large = new FrontendReader(1000);
    large.startMessages();
    large.push(Buffer.from([0x51, 0, 0, 0x03, 0xed])); // 1005: a body of 1001 bytes
    expectViolation(() => large.next(), '08P01', 'message too large');

    const exact = new FrontendReader(1000);
    exact.startMessages();
    exact.push(Buffer.concat([Buffer.from([0x64, 0, 0, 0x03, 0xec]), Buffer.alloc(1000)]));
    expect(exact.next()).toBe(true);
    expect(exact.end - exact.start).toBe(1000);
  });

  it('refuses a startup packet whose length is out of bounds (PostgreSQL: 8 to 10,004 bytes)', () => {
    for (const length of [0, 4, 7, 10_005, 0x4745_5420 /* "GET " */]) {
      const reader = new FrontendReader(MAX);
      const header = Buffer.alloc(4);
      header.writeInt32BE(length);
      reader.push(header);
      expectViolation(() => reader.next(), '08P01', 'invalid length of startup packet');
    }
    const largest = new FrontendReader(MAX);
    const header = Buffer.alloc(4);
    header.writeInt32BE(10_004);
    largest.push(Buffer.concat([header, Buffer.alloc(10_000)]));
    expect(largest.next()).toBe(true);
  });

  it('counts what it holds and lets go of it on discard', () => {
    const reader = new FrontendReader(MAX);
    reader.startMessages();
    reader.push(Buffer.concat([fe.query('x'), fe.query('y')]));
    expect(reader.buffered).toBe(2 * (5 + 2));
    reader.discard();
    expect(reader.buffered).toBe(0);
    expect(reader.next()).toBe(false);
  });
});

describe('MessageCursor', () => {
  const cursor = new MessageCursor();
  const aimAt = (bytes: number[] | Buffer, end?: number): MessageCursor => {
    const buffer = Buffer.from(bytes);
    return cursor.aim(buffer, 0, end ?? buffer.length);
  };

  it('reads integers big-endian, counts unsigned, int32 signed', () => {
    const c = aimAt([0xff, 0xfe, 0xff, 0xff, 0xff, 0xfe, 0x80, 0, 0, 1]);
    expect(c.uint16()).toBe(65534);
    expect(c.int32()).toBe(-2);
    expect(c.uint32()).toBe(0x8000_0001);
    c.expectEnd();
  });

  it('refuses to run past the end of the message', () => {
    expectViolation(() => aimAt([0, 0, 0]).int32(), '08P01', 'insufficient data left in message');
    expectViolation(() => aimAt([1]).uint16(), '08P01', 'insufficient data left in message');
    expectViolation(() => aimAt([1, 2, 3]).bytes(4), '08P01', 'insufficient data left in message');
    expectViolation(() => aimAt([1, 2]).expectAtLeast(2, 2), '08P01', 'insufficient data left in message');
  });

  it('refuses a string whose NUL is missing or lies beyond the message', () => {
    expectViolation(() => aimAt(Buffer.from('abc')).cstring(), '08P01', 'invalid string in message');
    // The NUL exists in the buffer, but in the next message.
    expectViolation(() => aimAt(Buffer.from('abc\0'), 3).cstring(), '08P01', 'invalid string in message');
  });

  it('refuses trailing bytes', () => {
    const c = aimAt(Buffer.from('a\0b'));
    expect(c.cstring()).toBe('a');
    expectViolation(() => c.expectEnd(), '08P01', 'invalid message format');
  });

  it('accepts exactly the strings that are valid UTF-8 (Node isUtf8 as the oracle)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }).map((a) => a.filter((b) => b !== 0)), (bytes) => {
        const buffer = Buffer.concat([Buffer.from(bytes), Buffer.from([0])]);
        const c = cursor.aim(buffer, 0, buffer.length);
        if (isUtf8(bytes)) {
          expect(c.cstring()).toBe(Buffer.from(bytes).toString('utf8'));
        } else {
          expect(() => c.cstring()).toThrow(/invalid byte sequence for encoding "UTF8"/);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('reports the offending bytes as PostgreSQL does, and keeps a literal U+FFFD', () => {
    expectViolation(
      () => aimAt(Buffer.concat([Buffer.from('select '), Buffer.from([0xc3, 0x28, 0])])).cstring(),
      '22021',
      'invalid byte sequence for encoding "UTF8": 0xc3 0x28',
    );
    expect(aimAt(Buffer.from('\uFFFD\0')).cstring()).toBe('\uFFFD');
  });
});
