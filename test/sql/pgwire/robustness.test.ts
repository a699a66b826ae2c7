// What clients never send on purpose: malformed messages, garbage, floods, stalls, disconnects at
// awkward moments; and the bounds: connection limits, the startup timeout, backpressure in both
// directions, cancellation, graceful shutdown. Each malformed input must end that connection
// with a FATAL 08P01 naming the problem, leave every other connection untouched, and close the
// Session exactly once. Messages are PostgreSQL's where PostgreSQL has one; PostgreSQL itself
// keeps some of these connections open after an ERROR, this server closes them as its brief says.

import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, pgClient, startFakeServer, type FakeServer } from './harness.js';
import { RawClient, cstr, fe, int16, int32, transcript } from './raw_client.js';

const USER = { user: 'root', database: 'defaultdb' };
const MAX_MESSAGE_BYTES = 64 * 1024;

let fake: FakeServer;

beforeAll(async () => {
  fake = await startFakeServer({ limits: { maxMessageBytes: MAX_MESSAGE_BYTES } });
});

afterAll(async () => {
  await fake?.stop();
});

interface Keyed {
  processID: number;
  secretKey: number;
}

async function sendCancel(port: number, processId: number, secretKey: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  c.send(fe.cancelRequest(processId, secretKey));
  return c;
}

/** Waits until every session the factory opened has been closed, and checks the contract held. */
async function allSessionsClosed(server: FakeServer): Promise<void> {
  await eventually(() => server.server.connections() === 0 && server.factory.sessions.every((s) => s.closes === 1), 5_000, 'sessions to close');
  expect(server.factory.violations()).toEqual([]);
}

const malformed: Record<string, { frames: Buffer[]; message: string }> = {
  'an unknown message type': { frames: [Buffer.from('z\0\0\0\x04')], message: 'invalid frontend message type 122' },
  'a password message after startup': { frames: [fe.message('p', cstr('secret'))], message: 'invalid frontend message type 112' },
  'a length below 4': { frames: [Buffer.from([0x51, 0, 0, 0, 2])], message: 'invalid message length' },
  'a message over the limit (refused from its header alone)': {
    frames: [Buffer.concat([Buffer.from('Q'), int32(MAX_MESSAGE_BYTES + 5)])],
    message: 'message too large',
  },
  'a query without its NUL': { frames: [fe.message('Q', Buffer.from('select 1'))], message: 'invalid string in message' },
  'a query with bytes after its NUL': { frames: [fe.message('Q', Buffer.from('select 1\0xx'))], message: 'invalid message format' },
  'a Parse whose type count runs past the end': {
    frames: [fe.message('P', cstr(''), cstr('select 1'), int16(3), int32(23))],
    message: 'insufficient data left in message',
  },
  'a Bind with format code 5': {
    frames: [fe.parse('', 'select $1::text'), fe.bind('', '', [Buffer.from('a')], [5]), fe.sync()],
    message: 'unsupported format code: 5',
  },
  'a Bind with format code -1': {
    frames: [fe.parse('', 'select $1::text'), fe.bind('', '', [Buffer.from('a')], [-1]), fe.sync()],
    message: 'unsupported format code: -1',
  },
  'a Bind with a bad result format code': {
    frames: [fe.parse('', 'select 1'), fe.bind('', '', [], [], [2]), fe.sync()],
    message: 'unsupported format code: 2',
  },
  'a Bind with more formats than parameters': {
    frames: [fe.parse('', 'select $1::text'), fe.bind('', '', [Buffer.from('a')], [0, 0]), fe.sync()],
    message: 'bind message has 2 parameter formats but 1 parameters',
  },
  'a Bind parameter of length -2': {
    frames: [fe.message('B', cstr(''), cstr(''), int16(0), int16(1), int32(-2), int16(0))],
    message: 'invalid length -2 of bind parameter $1',
  },
  'a Bind parameter longer than the message': {
    frames: [fe.message('B', cstr(''), cstr(''), int16(0), int16(1), int32(9), Buffer.from('1'), int16(0))],
    message: 'insufficient data left in message',
  },
  'a Bind whose parameter count runs past the end': {
    frames: [fe.message('B', cstr(''), cstr(''), int16(0), int16(65535))],
    message: 'insufficient data left in message',
  },
  'a Describe of something that is neither S nor P': { frames: [fe.message('D', Buffer.from('X'), cstr(''))], message: 'invalid DESCRIBE message subtype 88' },
  'a Close of something that is neither S nor P': { frames: [fe.message('C', Buffer.from('X'), cstr(''))], message: 'invalid CLOSE message subtype 88' },
  'a truncated Execute': { frames: [fe.message('E', cstr(''), Buffer.from([0, 0]))], message: 'insufficient data left in message' },
  'a Sync with a body': { frames: [fe.message('S', Buffer.from([1]))], message: 'invalid message format' },
  'a CopyFail without its NUL during COPY': {
    frames: [fe.query('create table t(a int)'), fe.query('copy t from stdin'), fe.message('f', Buffer.from('oops'))],
    message: 'invalid string in message',
  },
};

describe('malformed messages end that connection with FATAL 08P01', () => {
  for (const [name, { frames, message }] of Object.entries(malformed)) {
    it(name, async () => {
      const client = await RawClient.started(fake.port, USER);
      client.send(...frames);
      const lines = transcript(await client.untilClosed());
      expect(lines.at(-1)).toBe(`E FATAL/FATAL 08P01 ${message}`);
      expect(client.closed).toBe(true);
    });
  }

  it('closes each of those sessions exactly once', async () => {
    await allSessionsClosed(fake);
  });
});

describe('garbage on the port', () => {
  it('answers an HTTP request with an error and a close', async () => {
    const client = await RawClient.connect(fake.port);
    client.send(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    expect(transcript(await client.untilClosed())).toEqual(['E FATAL/FATAL 08P01 invalid length of startup packet']);
  });

  it('survives arbitrary bytes before and after startup, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.uint8Array({ minLength: 1, maxLength: 300 }), async (afterStartup, bytes) => {
        const client = afterStartup ? await RawClient.started(fake.port, USER) : await RawClient.connect(fake.port);
        client.send(Buffer.from(bytes));
        await client.within(20);
        client.close();
      }),
      { numRuns: 150 },
    );
    const check = await pgClient({ port: fake.port, ...USER });
    expect((await check.query('select 1')).rows).toEqual([{ '?column?': 1 }]);
    await check.end();
    await allSessionsClosed(fake);
  });

  it('never lets one connection disturb another', async () => {
    const steady = await pgClient({ port: fake.port, ...USER });
    const results: string[] = [];
    const queries = (async () => {
      for (let i = 0; i < 300; i++) {
        const r = await steady.query<[string, number]>({ text: 'select $1::text, $2::int4', values: [`v${i}`, i], rowMode: 'array' });
        results.push(`${r.rows[0]![0]}/${r.rows[0]![1]}`);
      }
    })();
    const attacks = (async () => {
      const bad = Object.values(malformed);
      for (let i = 0; i < 60; i++) {
        const client = await RawClient.started(fake.port, USER);
        client.send(...bad[i % bad.length]!.frames, Buffer.from([i, 0xff, 0, 0, 0, 1]));
        await client.untilClosed();
      }
    })();
    await Promise.all([queries, attacks]);
    expect(results).toEqual(Array.from({ length: 300 }, (_, i) => `v${i}/${i}`));
    await steady.end();
    expect(fake.logs.filter((l) => l.level === 'error')).toEqual([]);
    await allSessionsClosed(fake);
  });
});

describe('internal errors', () => {
  it('become XX000 "internal error: ..." for the client, go to the logger, and the connection goes on', async () => {
    const client = await pgClient({ port: fake.port, ...USER });
    const error = await client.query('select cairn_internal_error()').catch((e: unknown) => e as pg.DatabaseError);
    expect(error).toMatchObject({ code: 'XX000', message: 'internal error: the fake session broke', severity: 'ERROR' });
    const logged = fake.logs.filter((l) => l.level === 'error');
    expect(logged).toHaveLength(1);
    expect(logged[0]!.message).toBe('pgwire: internal error');
    expect(logged[0]!.fields?.error).toBe('the fake session broke');
    expect((await client.query('select 2')).rows).toEqual([{ '?column?': 2 }]);
    await client.end();
    fake.logs.length = 0;
  });
});

describe('pipelining and flushing', () => {
  it('answers many pipelined queries in order', async () => {
    const client = await RawClient.started(fake.port, USER);
    client.send(...Array.from({ length: 200 }, (_, i) => fe.query(`select ${i}`)));
    const lines = transcript(await client.untilReady(200));
    client.close();
    expect(lines.filter((l) => l.startsWith('D '))).toEqual(Array.from({ length: 200 }, (_, i) => `D ${i}`));
  });

  it('holds extended-protocol replies until Flush or Sync', async () => {
    const client = await RawClient.started(fake.port, USER);
    client.send(fe.parse('', 'select 5'), fe.bind('', ''), fe.execute(''));
    expect(await client.within(200)).toEqual([]);
    client.send(fe.flush());
    const flushed = [];
    for (let i = 0; i < 4; i++) flushed.push((await client.next())!);
    expect(transcript(flushed)).toEqual(['1', '2', 'D 5', 'C SELECT 1']);
    expect(await client.within(100)).toEqual([]);
    client.send(fe.sync());
    expect(transcript(await client.untilReady())).toEqual(['Z I']);
    client.close();
  });

  it('processes pipelined extended messages strictly in order', async () => {
    const client = await RawClient.started(fake.port, USER);
    const frames: Buffer[] = [];
    for (let i = 0; i < 50; i++) frames.push(fe.parse(`s${i}`, `select ${i}`), fe.bind(`p${i}`, `s${i}`), fe.execute(`p${i}`), fe.sync());
    client.send(...frames);
    const lines = transcript(await client.untilReady(50));
    client.close();
    expect(lines.filter((l) => l.startsWith('D '))).toEqual(Array.from({ length: 50 }, (_, i) => `D ${i}`));
    const session = fake.factory.sessions.at(-1)!;
    const expectedCalls = Array.from({ length: 50 }, (_, i) => [`parse:s${i}`, `bind:p${i}:s${i}`, `execute:p${i}:0`, 'sync:false']).flat();
    expect(session.calls).toEqual(expectedCalls);
  });

  it('writes early once the buffered replies pass the flush threshold', async () => {
    const small = await startFakeServer({ limits: { flushThresholdBytes: 1024 } });
    const client = await RawClient.started(small.port, USER);
    client.send(fe.parse('', 'select generate_series(1,2000)'), fe.bind('', ''), fe.execute(''));
    const early = await client.within(300);
    expect(early.filter((m) => m.type === 'D').length).toBeGreaterThan(1000);
    client.close();
    await small.stop();
  });
});

describe('backpressure', () => {
  it('makes a Session wait in drain() while a client does not read', async () => {
    const server = await startFakeServer({ limits: { writeHighWaterBytes: 64 * 1024 } });
    const client = await RawClient.started(server.port, USER);
    const rows = 50_000;
    client.socket.pause();
    client.send(fe.query(`select repeat('x', 1000) from generate_series(1, ${rows})`));
    const session = server.factory.sessions.at(-1)!;
    await eventually(() => session.rowsProduced > 0);
    let last = -1;
    await eventually(
      () => {
        const settled = session.rowsProduced === last;
        last = session.rowsProduced;
        return settled;
      },
      10_000,
      'the producer to stop',
    );
    await new Promise((r) => setTimeout(r, 300));
    // Socket buffers hold a few MB at most; 50 MB of rows cannot have been produced.
    expect(session.rowsProduced).toBe(last);
    expect(session.rowsProduced).toBeLessThan(rows / 2);
    client.socket.resume();
    const lines = transcript(await client.untilReady(1, 30_000));
    expect(lines.filter((l) => l.startsWith('D ')).length).toBe(rows);
    expect(lines.slice(-2)).toEqual([`C SELECT ${rows}`, 'Z I']);
    client.close();
    await server.stop();
  });

  it('stops reading a client whose COPY data the Session is not consuming', async () => {
    const server = await startFakeServer({ limits: { readBufferBytes: 256 * 1024 } });
    let open!: () => void;
    server.factory.copyGate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const client = await RawClient.started(server.port, USER);
    client.send(fe.query('create table t(a int)'), fe.query('copy t from stdin'));
    await client.untilReady(1);
    expect((await client.next())?.type).toBe('G');
    const line = `${'1'.repeat(999)}\n`;
    const message = fe.copyData(line.repeat(64));
    const messages = 640; // about 41 MB
    for (let i = 0; i < messages; i++) client.socket.write(message);
    await new Promise((r) => setTimeout(r, 1_000));
    const session = server.factory.sessions.at(-1)!;
    expect(session.copyChunks.length).toBe(0);
    // What the kernel's socket buffers and a 256 KiB read buffer can absorb is far below 41 MB.
    expect(client.socket.writableLength).toBeGreaterThan(20 * 1024 * 1024);
    server.factory.copyGate = null;
    open();
    client.send(fe.copyDone());
    const lines = transcript(await client.untilReady(1, 30_000));
    expect(lines).toEqual([`C COPY ${messages * 64}`, 'Z I']);
    client.close();
    await server.stop();
  });
});

describe('cancel requests', () => {
  it('cancel the statement of the session they name, and only that one', async () => {
    const a = await pgClient({ port: fake.port, ...USER });
    const b = await pgClient({ port: fake.port, ...USER });
    const started = Date.now();
    const slowA = a.query('select pg_sleep(3)').then(
      () => 'finished',
      (e: pg.DatabaseError) => `${e.code} ${e.message}`,
    );
    const slowB = b.query('select pg_sleep(0.5)').then(() => 'finished');
    await eventually(() => fake.factory.sessions.some((s) => s.calls.at(-1) === 'simpleQuery:select pg_sleep(3)'));
    const keyed = a as unknown as Keyed;
    const canceller = await sendCancel(fake.port, keyed.processID, keyed.secretKey);
    expect(await slowA).toBe('57014 canceling statement due to user request');
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(await slowB).toBe('finished');
    // The server closes the cancel connection without a word.
    expect(await canceller.untilClosed()).toEqual([]);
    const sessionA = fake.factory.sessions.find((s) => s.connection.processId === keyed.processID)!;
    const sessionB = fake.factory.sessions.find((s) => s.connection.processId === (b as unknown as Keyed).processID)!;
    expect([sessionA.cancels, sessionB.cancels]).toEqual([1, 0]);
    expect((await a.query('select 1')).rows).toEqual([{ '?column?': 1 }]);
    await Promise.all([a.end(), b.end()]);
  });

  it('ignore a wrong key', async () => {
    const a = await pgClient({ port: fake.port, ...USER });
    const keyed = a as unknown as Keyed;
    const slow = a.query('select pg_sleep(0.4)');
    await eventually(() => fake.factory.sessions.some((s) => s.calls.at(-1) === 'simpleQuery:select pg_sleep(0.4)'));
    const canceller = await sendCancel(fake.port, keyed.processID, keyed.secretKey ^ 1);
    expect(await canceller.untilClosed()).toEqual([]);
    await expect(slow).resolves.toMatchObject({ rowCount: 1 });
    expect(fake.factory.sessions.find((s) => s.connection.processId === keyed.processID)!.cancels).toBe(0);
    await a.end();
  });

  it('are dropped when the session is idle, so they cannot hit a later statement', async () => {
    const a = await pgClient({ port: fake.port, ...USER });
    const keyed = a as unknown as Keyed;
    const canceller = await sendCancel(fake.port, keyed.processID, keyed.secretKey);
    await canceller.untilClosed();
    await expect(a.query('select pg_sleep(0.2)')).resolves.toMatchObject({ rowCount: 1 });
    expect(fake.factory.sessions.find((s) => s.connection.processId === keyed.processID)!.cancels).toBe(0);
    await a.end();
  });
});

describe('connection limits and timeouts', () => {
  it('refuses sessions beyond maxConnections with 53300, still honours CancelRequests, and frees slots', async () => {
    const server = await startFakeServer({ limits: { maxConnections: 3 } });
    const clients = await Promise.all([0, 1, 2].map(() => pgClient({ port: server.port, ...USER })));
    const refused = await RawClient.connect(server.port);
    refused.send(fe.startup(USER));
    expect(transcript(await refused.untilClosed())).toEqual(['E FATAL/FATAL 53300 sorry, too many clients already']);
    const viaPg = await pgClient({ port: server.port, ...USER }).catch((e: pg.DatabaseError) => e);
    expect(viaPg).toMatchObject({ code: '53300', message: 'sorry, too many clients already' });

    const slow = clients[0]!.query('select pg_sleep(5)').catch((e: pg.DatabaseError) => e.code);
    await eventually(() => server.factory.sessions[0]!.calls.length > 0);
    const keyed = clients[0] as unknown as Keyed;
    await sendCancel(server.port, keyed.processID, keyed.secretKey);
    expect(await slow).toBe('57014');

    await clients[2]!.end();
    await eventually(() => server.server.connections() === 2);
    const again = await pgClient({ port: server.port, ...USER });
    expect((await again.query('select 1')).rowCount).toBe(1);
    await Promise.all([again.end(), clients[0]!.end(), clients[1]!.end()]);
    await allSessionsClosed(server);
    await server.stop();
  });

  it('refuses sockets beyond maxStartingConnections at once', async () => {
    const server = await startFakeServer({ limits: { maxStartingConnections: 2 } });
    const waiting = await Promise.all([RawClient.connect(server.port), RawClient.connect(server.port)]);
    await eventually(() => server.server.connections() === 2);
    const third = await RawClient.connect(server.port);
    expect(transcript(await third.untilClosed())).toEqual(['E FATAL/FATAL 53300 sorry, too many clients already']);
    for (const w of waiting) w.send(fe.startup(USER));
    await Promise.all(waiting.map((w) => w.untilReady()));
    const fourth = await RawClient.started(server.port, USER);
    for (const c of [...waiting, fourth]) c.close();
    await allSessionsClosed(server);
    await server.stop();
  });

  it('drops a client that stalls half-way through its startup packet, but not an idle session', async () => {
    const server = await startFakeServer({ limits: { startupTimeoutMs: 300 } });
    const idle = await RawClient.started(server.port, USER);
    const stalled = await RawClient.connect(server.port);
    stalled.send(fe.startup(USER).subarray(0, 6));
    const started = Date.now();
    expect(await stalled.untilClosed()).toEqual([]);
    expect(Date.now() - started).toBeGreaterThan(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    await new Promise((r) => setTimeout(r, 400));
    idle.send(fe.query('select 3'));
    expect(transcript(await idle.untilReady())).toEqual(['T ?column?:23:0', 'D 3', 'C SELECT 1', 'Z I']);
    idle.close();
    await allSessionsClosed(server);
    await server.stop();
  });
});

describe('the session lifecycle', () => {
  it('closes the session once on Terminate', async () => {
    const server = await startFakeServer();
    const client = await RawClient.started(server.port, USER);
    client.send(fe.terminate());
    expect(await client.untilClosed()).toEqual([]);
    await allSessionsClosed(server);
    await server.stop();
  });

  it('on a client that vanishes mid-statement: the statement sees cancelled, then close() runs once, after it', async () => {
    const server = await startFakeServer();
    const client = await RawClient.started(server.port, USER);
    client.send(fe.query('select pg_sleep(10)'));
    await eventually(() => server.factory.sessions[0]!.calls.length === 1);
    const started = Date.now();
    client.close();
    await allSessionsClosed(server);
    expect(Date.now() - started).toBeLessThan(2_000);
    await server.stop();
  });

  it('on a client that leaves while its session is being opened', async () => {
    const server = await startFakeServer({ factory: { openDelayMs: 200 } });
    const client = await RawClient.connect(server.port);
    client.send(fe.startup(USER));
    await new Promise((r) => setTimeout(r, 50));
    client.close();
    await eventually(() => server.factory.sessions.length === 1, 2_000);
    await allSessionsClosed(server);
    await server.stop();
  });
});

describe('graceful close', () => {
  it('tells idle clients 57P01 at once, lets a busy one finish its query first, then stops', async () => {
    const server = await startFakeServer();
    const idle = await pgClient({ port: server.port, ...USER });
    const busy = await pgClient({ port: server.port, ...USER });
    const idleErrors: string[] = [];
    const busyErrors: string[] = [];
    // After the 57P01 itself, pg also reports the connection's end.
    idle.on('error', (e: Error) => idleErrors.push(`${(e as pg.DatabaseError).code} ${e.message}`));
    busy.on('error', (e: Error) => busyErrors.push(`${(e as pg.DatabaseError).code} ${e.message}`));
    const query = busy.query('select pg_sleep(0.5)');
    await eventually(() => server.factory.sessions[1]!.calls.length === 1);
    const closing = server.server.close(5_000);
    await eventually(() => idleErrors.length > 0, 2_000, 'the idle client to be told');
    expect(idleErrors[0]).toBe('57P01 terminating connection due to administrator command');
    expect(busyErrors).toEqual([]);
    await expect(query).resolves.toMatchObject({ rowCount: 1 });
    await closing;
    await eventually(() => busyErrors.length > 0, 2_000, 'the busy client to be told');
    expect(busyErrors[0]).toBe('57P01 terminating connection due to administrator command');
    expect(server.server.connections()).toBe(0);
    expect(server.factory.sessions.map((s) => s.closes)).toEqual([1, 1]);
    await expect(pgClient({ port: server.port, ...USER })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('cuts off what is still busy when the grace period ends', async () => {
    const server = await startFakeServer();
    const stuck = await pgClient({ port: server.port, ...USER });
    stuck.on('error', () => {});
    const query = stuck.query('select pg_sleep(30)').then(
      () => 'finished',
      () => 'cut off',
    );
    await eventually(() => server.factory.sessions[0]!.calls.length === 1);
    const starting = await RawClient.connect(server.port);
    await eventually(() => server.server.connections() === 2);
    const started = Date.now();
    await server.server.close(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await query).toBe('cut off');
    expect(transcript(await starting.untilClosed())).toEqual(['E FATAL/FATAL 57P03 the database system is shutting down']);
    expect(server.factory.sessions[0]!.closes).toBe(1);
    expect(server.factory.violations()).toEqual([]);
  });
});
