// A raw protocol 3.0 client for tests: frontend messages built byte by byte from the protocol
// documentation (independently of src/sql/pgwire), a socket that collects backend messages, and
// a transcript form of those messages that hides what legitimately differs between two servers
// (process ids, keys, the set of ParameterStatus values), so that the same conversation can be
// held with a real PostgreSQL and with pgwire and compared line by line.

import { connect, type Socket } from 'node:net';

// --- frontend messages ---------------------------------------------------------------------

export const fe = {
  startup(parameters: Record<string, string>, version = 0x0003_0000): Buffer {
    const pairs = Object.entries(parameters).map(([k, v]) => `${k}\0${v}\0`).join('');
    const body = Buffer.concat([int32(version), Buffer.from(pairs, 'utf8'), Buffer.from([0])]);
    return Buffer.concat([int32(body.length + 4), body]);
  },
  /** A bare first packet: length, then the code. */
  request(code: number, ...words: number[]): Buffer {
    return Buffer.concat([int32(8 + 4 * words.length), int32(code), ...words.map(int32)]);
  },
  sslRequest: (): Buffer => fe.request(80877103),
  gssRequest: (): Buffer => fe.request(80877104),
  cancelRequest: (processId: number, secretKey: number): Buffer => fe.request(80877102, processId, secretKey),
  message(type: string, ...parts: Buffer[]): Buffer {
    const body = Buffer.concat(parts);
    return Buffer.concat([Buffer.from(type, 'latin1'), int32(body.length + 4), body]);
  },
  query: (sql: string): Buffer => fe.message('Q', cstr(sql)),
  parse: (name: string, sql: string, types: number[] = []): Buffer =>
    fe.message('P', cstr(name), cstr(sql), int16(types.length), ...types.map(int32)),
  bind(
    portal: string,
    statement: string,
    parameters: Array<Buffer | null> = [],
    parameterFormats: number[] = [],
    resultFormats: number[] = [],
  ): Buffer {
    return fe.message(
      'B',
      cstr(portal),
      cstr(statement),
      int16(parameterFormats.length),
      ...parameterFormats.map(int16),
      int16(parameters.length),
      ...parameters.map((p) => (p === null ? int32(-1) : Buffer.concat([int32(p.length), p]))),
      int16(resultFormats.length),
      ...resultFormats.map(int16),
    );
  },
  describe: (target: 'S' | 'P', name: string): Buffer => fe.message('D', Buffer.from(target), cstr(name)),
  execute: (portal: string, maxRows = 0): Buffer => fe.message('E', cstr(portal), int32(maxRows)),
  close: (target: 'S' | 'P', name: string): Buffer => fe.message('C', Buffer.from(target), cstr(name)),
  sync: (): Buffer => fe.message('S'),
  flush: (): Buffer => fe.message('H'),
  terminate: (): Buffer => fe.message('X'),
  copyData: (data: string | Buffer): Buffer => fe.message('d', typeof data === 'string' ? Buffer.from(data) : data),
  copyDone: (): Buffer => fe.message('c'),
  copyFail: (reason: string): Buffer => fe.message('f', cstr(reason)),
};

export function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n | 0);
  return b;
}

export function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n << 16 >> 16);
  return b;
}

export function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf8');
}

// --- backend messages ----------------------------------------------------------------------

export interface BackendMessage {
  readonly type: string;
  readonly body: Buffer;
}

/** Cuts a byte stream into backend messages; a lone 'N'/'S'/'G' byte answer comes first if expected. */
export function splitBackend(bytes: Buffer): { messages: BackendMessage[]; rest: Buffer } {
  const messages: BackendMessage[] = [];
  let p = 0;
  while (bytes.length - p >= 5) {
    const length = bytes.readInt32BE(p + 1);
    if (bytes.length - p < 1 + length) break;
    messages.push({ type: String.fromCharCode(bytes[p]!), body: bytes.subarray(p + 5, p + 1 + length) });
    p += 1 + length;
  }
  return { messages, rest: bytes.subarray(p) };
}

export interface ErrorFields {
  readonly [code: string]: string;
}

export function errorFields(message: BackendMessage): ErrorFields {
  const fields: Record<string, string> = {};
  let p = 0;
  while (p < message.body.length && message.body[p] !== 0) {
    const code = String.fromCharCode(message.body[p]!);
    const end = message.body.indexOf(0, p + 1);
    fields[code] = message.body.toString('utf8', p + 1, end);
    p = end + 1;
  }
  return fields;
}

export function dataRowValues(message: BackendMessage): Array<string | null> {
  const b = message.body;
  const n = b.readInt16BE(0);
  const values: Array<string | null> = [];
  let p = 2;
  for (let i = 0; i < n; i++) {
    const length = b.readInt32BE(p);
    p += 4;
    if (length === -1) values.push(null);
    else {
      values.push(b.toString('utf8', p, p + length));
      p += length;
    }
  }
  return values;
}

export interface FieldInfo {
  readonly name: string;
  readonly tableOid: number;
  readonly columnAttr: number;
  readonly typeOid: number;
  readonly typeSize: number;
  readonly typeModifier: number;
  readonly format: number;
}

export function rowDescriptionFields(message: BackendMessage): FieldInfo[] {
  const b = message.body;
  const n = b.readInt16BE(0);
  const fields: FieldInfo[] = [];
  let p = 2;
  for (let i = 0; i < n; i++) {
    const end = b.indexOf(0, p);
    const name = b.toString('utf8', p, end);
    p = end + 1;
    fields.push({
      name,
      tableOid: b.readUInt32BE(p),
      columnAttr: b.readInt16BE(p + 4),
      typeOid: b.readUInt32BE(p + 6),
      typeSize: b.readInt16BE(p + 10),
      typeModifier: b.readInt32BE(p + 12),
      format: b.readInt16BE(p + 16),
    });
    p += 18;
  }
  return fields;
}

/**
 * One line per message, keeping what both servers must agree on. ParameterStatus and
 * BackendKeyData are dropped (their values legitimately differ); errors keep severity, code,
 * message and position.
 */
export function transcript(messages: readonly BackendMessage[]): string[] {
  const lines: string[] = [];
  for (const m of messages) {
    switch (m.type) {
      case 'S':
      case 'K':
        break;
      case 'R':
        lines.push(`R ${m.body.readInt32BE(0)}`);
        break;
      case 'Z':
        lines.push(`Z ${m.body.toString('latin1')}`);
        break;
      case 'T':
        lines.push(`T ${rowDescriptionFields(m).map((f) => `${f.name}:${f.typeOid}:${f.format}`).join(',')}`);
        break;
      case 'D':
        lines.push(`D ${dataRowValues(m).map((v) => (v === null ? 'NULL' : v)).join(',')}`);
        break;
      case 'C':
        lines.push(`C ${m.body.toString('utf8', 0, m.body.length - 1)}`);
        break;
      case 't': {
        const n = m.body.readInt16BE(0);
        lines.push(`t ${Array.from({ length: n }, (_, i) => m.body.readUInt32BE(2 + 4 * i)).join(',')}`);
        break;
      }
      case 'E':
      case 'N': {
        const f = errorFields(m);
        lines.push(`${m.type} ${f.S}/${f.V} ${f.C} ${f.M}${f.P === undefined ? '' : ` @${f.P}`}`);
        break;
      }
      case 'G':
      case 'H':
        lines.push(`${m.type} ${m.body.toString('hex')}`);
        break;
      case 'd':
        lines.push(`d ${JSON.stringify(m.body.toString('utf8'))}`);
        break;
      case 'v': {
        const count = m.body.readInt32BE(4);
        const options = m.body.toString('utf8', 8, m.body.length - 1).split('\0');
        lines.push(`v ${m.body.readInt32BE(0)} ${count} ${options.join(',')}`);
        break;
      }
      default:
        lines.push(m.type);
    }
  }
  return lines;
}

// --- a socket ------------------------------------------------------------------------------

export class RawClient {
  private bytes: Buffer = Buffer.alloc(0);
  private readonly messages: BackendMessage[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  /** Bytes received, in total (for flush tests). */
  received = 0;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.bytes = Buffer.concat([this.bytes, chunk]);
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  /** Connects and completes a startup; returns the client after the first ReadyForQuery. */
  static async started(port: number, parameters: Record<string, string> = { user: 'root', database: 'postgres' }): Promise<RawClient> {
    const client = await RawClient.connect(port);
    client.send(fe.startup(parameters));
    const startup = await client.untilReady();
    if (startup.at(-1)?.type !== 'Z') throw new Error(`startup failed: ${transcript(startup).join(' | ')}`);
    return client;
  }

  send(...buffers: Buffer[]): void {
    this.socket.write(Buffer.concat(buffers));
  }

  /** The single byte a server answers SSLRequest/GSSENCRequest with. */
  async byte(timeoutMs = 5_000): Promise<string> {
    await this.waitFor(() => this.bytes.length >= 1 || this.closed, timeoutMs);
    if (this.bytes.length < 1) throw new Error('connection closed before the one-byte answer');
    const b = String.fromCharCode(this.bytes[0]!);
    this.bytes = this.bytes.subarray(1);
    return b;
  }

  /** The next backend message, or null if the connection closes first. */
  async next(timeoutMs = 5_000): Promise<BackendMessage | null> {
    await this.waitFor(() => {
      this.split();
      return this.messages.length > 0 || this.closed;
    }, timeoutMs);
    this.split();
    return this.messages.shift() ?? null;
  }

  /** Messages up to and including the count-th ReadyForQuery, or until the connection closes. */
  async untilReady(count = 1, timeoutMs = 5_000): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    let seen = 0;
    while (seen < count) {
      const m = await this.next(timeoutMs);
      if (m === null) break;
      out.push(m);
      if (m.type === 'Z') seen += 1;
    }
    return out;
  }

  /** Everything until the server closes the connection. */
  async untilClosed(timeoutMs = 5_000): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      if (m === null) return out;
      out.push(m);
    }
  }

  /** Whatever arrives within ms (for "nothing is sent yet" checks). */
  async within(ms: number): Promise<BackendMessage[]> {
    await new Promise((r) => setTimeout(r, ms));
    this.split();
    return this.messages.splice(0);
  }

  close(): void {
    this.socket.destroy();
  }

  private split(): void {
    const { messages, rest } = splitBackend(this.bytes);
    this.messages.push(...messages);
    this.bytes = rest;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async waitFor(ready: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for the server`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Holds one conversation: startup, the frames, then messages until `readies` ReadyForQuery or close. */
export async function converse(
  port: number,
  frames: Buffer[],
  options: { readies?: number; parameters?: Record<string, string>; timeoutMs?: number } = {},
): Promise<string[]> {
  const client = await RawClient.started(port, options.parameters);
  try {
    client.send(...frames);
    const messages = await client.untilReady(options.readies ?? 1, options.timeoutMs ?? 5_000);
    return transcript(messages);
  } finally {
    client.close();
  }
}
