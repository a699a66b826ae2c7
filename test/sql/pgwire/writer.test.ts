// Backend message encoding against the layouts in PostgreSQL's "Message Formats" documentation,
// decoded by the test client's own parser; and the buffer reuse: bytes already taken for the
// socket must never change when the writer goes on encoding into its buffer.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackendWriter } from '../../../src/sql/pgwire/writer.js';
import { dataRowValues, errorFields, rowDescriptionFields, splitBackend, transcript } from './raw_client.js';

const hex = (b: Buffer): string => b.toString('hex');

describe('BackendWriter message layouts', () => {
  it('encodes the fixed-layout messages byte for byte', () => {
    const w = new BackendWriter();
    w.authenticationOk();
    expect(hex(w.take())).toBe('52' + '00000008' + '00000000');
    w.readyForQuery('T');
    expect(hex(w.take())).toBe('5a' + '00000005' + '54');
    w.backendKeyData(0x01020304, -1);
    expect(hex(w.take())).toBe('4b' + '0000000c' + '01020304' + 'ffffffff');
    w.parseComplete();
    w.bindComplete();
    w.closeComplete();
    w.noData();
    w.portalSuspended();
    w.emptyQueryResponse();
    w.copyDone();
    expect(hex(w.take())).toBe(['31', '32', '33', '6e', '73', '49', '63'].map((t) => `${t}00000004`).join(''));
    w.encryptionRefused();
    expect(hex(w.take())).toBe('4e');
  });

  it('encodes ParameterStatus, CommandComplete and NegotiateProtocolVersion', () => {
    const w = new BackendWriter();
    w.parameterStatus('TimeZone', 'Europe/Zürich');
    const status = Buffer.from('TimeZone\0Europe/Zürich\0');
    w.commandComplete('INSERT 0 1');
    w.negotiateProtocolVersion(0x0003_0000, ['_pq_.a', '_pq_.b']);
    const { messages, rest } = splitBackend(w.take());
    expect(rest.length).toBe(0);
    expect(messages[0]!.type).toBe('S');
    expect(Buffer.compare(messages[0]!.body, status)).toBe(0);
    expect(transcript(messages.slice(1))).toEqual(['C INSERT 0 1', 'v 196608 2 _pq_.a,_pq_.b']);
  });

  it('encodes RowDescription with negative sizes and modifiers intact', () => {
    const w = new BackendWriter();
    const fields = [
      { name: 'id', tableOid: 16384, columnAttr: 1, typeOid: 23, typeSize: 4, typeModifier: -1, format: 1 as const },
      { name: 'név', tableOid: 0, columnAttr: 0, typeOid: 1043, typeSize: -1, typeModifier: 36, format: 0 as const },
      { name: 'big', tableOid: 4_000_000_000, columnAttr: -2, typeOid: 4_000_000_001, typeSize: -2, typeModifier: 0, format: 0 as const },
    ];
    w.rowDescription(fields);
    const { messages } = splitBackend(w.take());
    expect(rowDescriptionFields(messages[0]!)).toEqual(fields);
  });

  it('encodes DataRow values, NULLs and empty values', () => {
    const w = new BackendWriter();
    w.dataRow([Buffer.from('abc'), null, new Uint8Array(0), Buffer.from('ünï')]);
    const { messages } = splitBackend(w.take());
    expect(dataRowValues(messages[0]!)).toEqual(['abc', null, '', 'ünï']);
  });

  it('encodes every ErrorResponse field with severity twice and a final terminator', () => {
    const w = new BackendWriter();
    w.errorResponse({
      severity: 'ERROR',
      code: '23505',
      message: 'duplicate key value violates unique constraint "t_pkey"',
      detail: 'Key (id)=(1) already exists.',
      hint: 'h',
      position: 12,
      schema: 'public',
      table: 't',
      column: 'id',
      dataType: 'int4',
      constraint: 't_pkey',
    });
    const bytes = w.take();
    expect(bytes[bytes.length - 1]).toBe(0);
    const { messages } = splitBackend(bytes);
    expect(messages[0]!.type).toBe('E');
    expect(errorFields(messages[0]!)).toEqual({
      S: 'ERROR',
      V: 'ERROR',
      C: '23505',
      M: 'duplicate key value violates unique constraint "t_pkey"',
      D: 'Key (id)=(1) already exists.',
      H: 'h',
      P: '12',
      s: 'public',
      t: 't',
      c: 'id',
      d: 'int4',
      n: 't_pkey',
    });
    w.noticeResponse({ severity: 'NOTICE', code: '00000', message: 'hi' });
    expect(transcript(splitBackend(w.take()).messages)).toEqual(['N NOTICE/NOTICE 00000 hi']);
  });

  it('keeps the framing intact when a string carries a NUL', () => {
    const w = new BackendWriter();
    w.errorResponse({ severity: 'ERROR', code: '22P02', message: 'bad "a\0b"' });
    w.readyForQuery('I');
    const { messages, rest } = splitBackend(w.take());
    expect(rest.length).toBe(0);
    expect(messages.map((m) => m.type)).toEqual(['E', 'Z']);
    expect(errorFields(messages[0]!).M).toBe('bad "a\uFFFDb"');
  });

  it('encodes CopyInResponse and CopyOutResponse with per-column formats', () => {
    const w = new BackendWriter();
    w.copyInResponse(0, [0, 0]);
    w.copyOutResponse(1, [1]);
    expect(hex(w.take())).toBe('47' + '0000000b' + '00' + '0002' + '0000' + '0000' + '48' + '00000009' + '01' + '0001' + '0001');
  });

  it('encodes ParameterDescription OIDs above 2^31', () => {
    const w = new BackendWriter();
    w.parameterDescription([23, 3_000_000_000]);
    expect(transcript(splitBackend(w.take()).messages)).toEqual(['t 23,3000000000']);
  });
});

describe('BackendWriter buffer reuse', () => {
  it('never alters bytes it already handed out, whatever the sizes and take points', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ size: fc.oneof(fc.nat(300), fc.nat(200_000)), take: fc.boolean(), fill: fc.nat(255) }), {
          minLength: 1,
          maxLength: 30,
        }),
        (steps) => {
          const w = new BackendWriter();
          const taken: Buffer[] = [];
          const expected: Buffer[] = [];
          for (const step of steps) {
            const chunk = Buffer.alloc(step.size, step.fill);
            w.copyData(chunk);
            const header = Buffer.alloc(5);
            header[0] = 0x64;
            header.writeInt32BE(step.size + 4, 1);
            expected.push(header, chunk);
            if (step.take) taken.push(w.take());
          }
          taken.push(w.take());
          expect(w.length).toBe(0);
          expect(Buffer.compare(Buffer.concat(taken), Buffer.concat(expected))).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('grows for one large message and goes on encoding after it', () => {
    const w = new BackendWriter();
    const big = Buffer.alloc(5 * 1024 * 1024, 7);
    w.dataRow([big]);
    expect(w.length).toBe(5 + 2 + 4 + big.length);
    const out = w.take();
    expect(dataRowValues(splitBackend(out).messages[0]!)[0]!.length).toBe(big.length);
    w.readyForQuery('I');
    expect(hex(w.take())).toBe('5a0000000549');
  });
});
