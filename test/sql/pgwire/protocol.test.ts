// The protocol as a client sees it, checked against PostgreSQL 15 itself: each conversation below
// is held byte for byte with a real PostgreSQL and with pgwire in front of the fake Session
// (which answers these statements as PostgreSQL does), and the two transcripts must match
// message for message. Where this server deliberately differs (no TLS or GSS encryption), the
// expected answer is the one the brief and the protocol documentation give.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../support/postgres.js';
import { startFakeServer, type FakeServer } from './harness.js';
import { RawClient, converse, fe, int32, transcript } from './raw_client.js';

let postgres: PostgresServer;
let fake: FakeServer;

beforeAll(async () => {
  [postgres, fake] = await Promise.all([startPostgres({ user: 'root' }), startFakeServer()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([postgres?.stop(), fake?.stop()]);
});

const text = (s: string): Buffer => Buffer.from(s);

interface Conversation {
  readonly frames: Buffer[];
  /** ReadyForQuery messages to wait for (the conversation may also end by the server closing). */
  readonly readies?: number;
  /** Something the transcript must contain, so that two empty transcripts cannot pass. */
  readonly mustContain: string;
}

const conversations: Record<string, Conversation> = {
  'simple query': { frames: [fe.query('select 1')], mustContain: 'C SELECT 1' },
  'several statements in one query': {
    frames: [fe.query('select 1; select generate_series(1,2); select null')],
    mustContain: 'C SELECT 2',
  },
  'empty queries': { frames: [fe.query(''), fe.query(';')], readies: 2, mustContain: 'I' },
  'syntax error, then the connection goes on': {
    frames: [fe.query('selec'), fe.query('select 1')],
    readies: 2,
    mustContain: 'E ERROR/ERROR 42601 syntax error at or near "selec" @1',
  },
  'an error stops the rest of a multi-statement query': {
    frames: [fe.query('select 1; select 1/0; select 2')],
    mustContain: 'E ERROR/ERROR 22012 division by zero',
  },
  'transaction status through a failed block': {
    frames: [fe.query('begin'), fe.query('select 1/0'), fe.query('select 1'), fe.query('rollback')],
    readies: 4,
    mustContain: 'Z E',
  },
  'warning notice': { frames: [fe.query('commit')], mustContain: 'N WARNING/WARNING 25P01 there is no transaction in progress' },
  'notice from a statement': {
    frames: [fe.query("do $$ begin raise notice 'hello'; end $$")],
    mustContain: 'N NOTICE/NOTICE 00000 hello',
  },
  'extended query with text parameters': {
    frames: [
      fe.parse('', 'select $1::text, $2::int4', []),
      fe.bind('', '', [text('abc'), text('42')]),
      fe.describe('P', ''),
      fe.execute(''),
      fe.sync(),
    ],
    mustContain: 'D abc,42',
  },
  'extended query with a NULL parameter and a uniform format list': {
    frames: [fe.parse('', 'select $1::text, $2::text'), fe.bind('', '', [null, text('x')], [0]), fe.execute(''), fe.sync()],
    mustContain: 'D NULL,x',
  },
  'binary parameters and results': {
    frames: [
      fe.parse('', 'select $1::int4, $2::text', [23, 25]),
      fe.bind('', '', [Buffer.from([0, 0, 1, 0]), text('t')], [1, 0], [1]),
      fe.describe('P', ''),
      fe.execute(''),
      fe.sync(),
    ],
    mustContain: 'T int4:23:1,text:25:1',
  },
  'describe a statement': {
    frames: [fe.parse('s1', 'select $1::int8, $2'), fe.describe('S', 's1'), fe.sync()],
    mustContain: 't 20,25',
  },
  'describe a statement without a result': { frames: [fe.parse('s1', 'begin'), fe.describe('S', 's1'), fe.sync()], mustContain: 'n' },
  'an error skips to Sync': {
    frames: [
      fe.parse('', 'selec'),
      fe.bind('', ''),
      fe.execute(''),
      fe.flush(),
      fe.query('select 2'),
      fe.sync(),
      fe.query('select 3'),
    ],
    readies: 2,
    mustContain: 'D 3',
  },
  'execute with a row limit suspends the portal': {
    frames: [fe.parse('', 'select generate_series(1,3)'), fe.bind('', ''), fe.execute('', 2), fe.execute('', 2), fe.sync()],
    mustContain: 's',
  },
  'named statements are kept across Syncs until closed': {
    frames: [
      fe.parse('s1', 'select 7'),
      fe.sync(),
      fe.bind('', 's1'),
      fe.execute(''),
      fe.sync(),
      fe.close('S', 's1'),
      fe.sync(),
      fe.bind('', 's1'),
      fe.sync(),
    ],
    readies: 4,
    mustContain: 'E ERROR/ERROR 26000 prepared statement "s1" does not exist',
  },
  'the unnamed portal is dropped at Sync': {
    frames: [fe.parse('', 'select 1'), fe.bind('', ''), fe.sync(), fe.execute(''), fe.sync()],
    readies: 2,
    mustContain: 'E ERROR/ERROR 34000 portal "" does not exist',
  },
  'a named portal, closed': {
    frames: [fe.parse('', 'select 1'), fe.bind('p1', ''), fe.close('P', 'p1'), fe.execute('p1'), fe.sync()],
    mustContain: '3',
  },
  'bind with the wrong number of parameters': {
    frames: [fe.parse('', 'select $1::text'), fe.bind('', '', []), fe.sync()],
    mustContain: 'E ERROR/ERROR 08P01 bind message supplies 0 parameters, but prepared statement "" requires 1',
  },
  'empty query through the extended protocol': {
    frames: [fe.parse('', ''), fe.bind('', ''), fe.describe('P', ''), fe.execute(''), fe.sync()],
    mustContain: 'I',
  },
  'a transaction block across the extended protocol': {
    frames: [
      fe.parse('', 'begin'),
      fe.bind('', ''),
      fe.execute(''),
      fe.sync(),
      fe.parse('', 'select 1/0'),
      fe.bind('', ''),
      fe.execute(''),
      fe.sync(),
      fe.query('rollback'),
    ],
    readies: 3,
    mustContain: 'Z E',
  },
  'copy from stdin': {
    frames: [
      fe.query('create temp table t(a int)'),
      fe.query('copy t from stdin'),
      fe.copyData('1\n2\n'),
      fe.copyData('3\n'),
      fe.copyDone(),
      fe.query('select count(*) from t'),
    ],
    readies: 3,
    mustContain: 'C COPY 3',
  },
  'copy data split across CopyData messages mid-line': {
    frames: [
      fe.query('create temp table t(a int)'),
      fe.query('copy t from stdin'),
      fe.copyData('1'),
      fe.copyData('2\n3'),
      fe.copyData('4\n'),
      fe.copyDone(),
      fe.query('copy t to stdout'),
    ],
    readies: 3,
    mustContain: 'd "34\\n"',
  },
  'copy from stdin failed by the client': {
    frames: [
      fe.query('create temp table t(a int)'),
      fe.query('copy t from stdin'),
      fe.copyData('1\n'),
      fe.copyFail('boom'),
      fe.query('select count(*) from t'),
    ],
    readies: 3,
    mustContain: 'E ERROR/ERROR 57014 COPY from stdin failed: boom',
  },
  'a bad row fails the copy; the rest of the data is ignored': {
    frames: [
      fe.query('create temp table t(a int)'),
      fe.query('copy t from stdin'),
      fe.copyData('x\n'),
      fe.copyData('2\n'),
      fe.copyDone(),
      fe.query('select 8'),
    ],
    readies: 3,
    mustContain: 'D 8',
  },
  'another message during copy from stdin ends the connection': {
    frames: [fe.query('create temp table t(a int)'), fe.query('copy t from stdin'), fe.copyData('1\n'), fe.query('select 6')],
    readies: 3,
    mustContain: 'E FATAL/FATAL 08P01 terminating connection because protocol synchronization was lost',
  },
  'copy in the extended protocol ignores Flush and Sync until CopyDone': {
    frames: [
      fe.query('create temp table t(a int)'),
      fe.parse('', 'copy t from stdin'),
      fe.bind('', ''),
      fe.execute(''),
      fe.flush(),
      fe.copyData('1\n'),
      fe.sync(),
      fe.copyData('2\n'),
      fe.copyDone(),
      fe.sync(),
    ],
    readies: 2,
    mustContain: 'C COPY 2',
  },
  'stray copy messages are ignored': {
    frames: [fe.copyData('abc'), fe.copyDone(), fe.copyFail('x'), fe.query('select 4')],
    mustContain: 'D 4',
  },
  'copy to stdout': {
    frames: [
      fe.query('create temp table t(a int)'),
      fe.query('copy t from stdin'),
      fe.copyData('5\n\\N\n6\n'),
      fe.copyDone(),
      fe.query('copy t to stdout'),
    ],
    readies: 3,
    mustContain: 'd "\\\\N\\n"',
  },
  'query text that is not UTF-8': {
    frames: [fe.message('Q', Buffer.from('select \''), Buffer.from([0xc3, 0x28]), Buffer.from('\'\0')), fe.query('select 1')],
    readies: 2,
    mustContain: 'E ERROR/ERROR 22021 invalid byte sequence for encoding "UTF8": 0xc3 0x28',
  },
  'SET reports a parameter and completes': { frames: [fe.query("set application_name = 'pgwire-test'")], mustContain: 'C SET' },
  'a FATAL error from the session ends the connection': {
    frames: [fe.query('select pg_terminate_backend(pg_backend_pid())'), fe.query('select 1')],
    readies: 2,
    mustContain: 'E FATAL/FATAL 57P01 terminating connection due to administrator command',
  },
};

describe('conversations match PostgreSQL 15', () => {
  for (const [name, conversation] of Object.entries(conversations)) {
    it(name, async () => {
      const options = { readies: conversation.readies ?? 1 };
      const [expected, actual] = await Promise.all([
        converse(postgres.port, conversation.frames, options),
        converse(fake.port, conversation.frames, options),
      ]);
      expect(expected).toContain(conversation.mustContain);
      expect(actual).toEqual(expected);
    });
  }
});

async function handshake(port: number, packets: Buffer[], oneByteAnswers: number): Promise<{ bytes: string[]; lines: string[] }> {
  const client = await RawClient.connect(port);
  try {
    const bytes: string[] = [];
    for (let i = 0; i < packets.length; i++) {
      client.send(packets[i]!);
      if (i < oneByteAnswers) bytes.push(await client.byte());
    }
    const messages = await client.untilReady(1);
    return { bytes, lines: transcript(messages) };
  } finally {
    client.close();
  }
}

describe('the startup handshake matches PostgreSQL 15', () => {
  const user = { user: 'root', database: 'postgres' };
  const cases: Record<string, { packets: Buffer[]; oneByteAnswers: number }> = {
    'plain startup': { packets: [fe.startup(user)], oneByteAnswers: 0 },
    'SSLRequest is refused with N, then the startup goes on': { packets: [fe.sslRequest(), fe.startup(user)], oneByteAnswers: 1 },
    'a second SSLRequest is an unsupported protocol': { packets: [fe.sslRequest(), fe.sslRequest()], oneByteAnswers: 1 },
    'protocol 3.1 is negotiated down to 3.0': { packets: [fe.startup(user, 0x0003_0001)], oneByteAnswers: 0 },
    'unknown protocol options are listed back': { packets: [fe.startup({ ...user, '_pq_.frob': 'on' })], oneByteAnswers: 0 },
    'protocol 4.0 is refused': { packets: [fe.startup(user, 0x0004_0000)], oneByteAnswers: 0 },
    'a startup packet without user is refused': { packets: [fe.startup({ database: 'postgres' })], oneByteAnswers: 0 },
    'a startup packet without its terminator is refused': {
      packets: [Buffer.concat([int32(18), int32(0x0003_0000), Buffer.from('user\0root\0')])],
      oneByteAnswers: 0,
    },
    'a database that does not exist is refused after authentication': {
      packets: [fe.startup({ user: 'root', database: 'nope' })],
      oneByteAnswers: 0,
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const [expected, actual] = await Promise.all([
        handshake(postgres.port, c.packets, c.oneByteAnswers),
        handshake(fake.port, c.packets, c.oneByteAnswers),
      ]);
      expect(expected.lines.length).toBeGreaterThan(0);
      expect(actual).toEqual(expected);
    });
  }

  it('GSSENCRequest is refused with N (this server has no GSSAPI) and the startup goes on', async () => {
    const { bytes, lines } = await handshake(fake.port, [fe.gssRequest(), fe.startup(user)], 1);
    expect(bytes).toEqual(['N']);
    expect(lines).toEqual(['R 0', 'Z I']);
  });

  it('sends AuthenticationOk, the ParameterStatus list, BackendKeyData and ReadyForQuery, in that order', async () => {
    const client = await RawClient.connect(fake.port);
    client.send(fe.startup({ user: 'root', database: 'defaultdb', application_name: 'order-check' }));
    const messages = await client.untilReady();
    client.close();
    const types = messages.map((m) => m.type).join('');
    expect(types).toMatch(/^RS+KZ$/);
    const status = messages.filter((m) => m.type === 'S').map((m) => m.body.toString('utf8').split('\0').slice(0, 2));
    expect(status).toContainEqual(['application_name', 'order-check']);
    expect(status).toContainEqual(['server_encoding', 'UTF8']);
    const key = messages.find((m) => m.type === 'K')!;
    expect(key.body.length).toBe(8);
    expect(key.body.readInt32BE(0)).toBeGreaterThan(0);
  });

  it('gives every live connection its own process id', async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(fake.port)));
    const ids = await Promise.all(
      clients.map(async (c) => {
        c.send(fe.startup({ user: 'root', database: 'defaultdb' }));
        const key = (await c.untilReady()).find((m) => m.type === 'K')!;
        return key.body.readInt32BE(0);
      }),
    );
    for (const c of clients) c.close();
    expect(new Set(ids).size).toBe(ids.length);
    const opened = fake.factory.sessions.slice(-20).map((s) => s.connection.processId);
    expect(new Set(opened)).toEqual(new Set(ids));
  });

  it('SET sends the new value as ParameterStatus', async () => {
    const client = await RawClient.started(fake.port);
    client.send(fe.query("set application_name = 'renamed'"));
    const messages = await client.untilReady();
    client.close();
    const status = messages.filter((m) => m.type === 'S').map((m) => m.body.toString('utf8'));
    expect(status).toEqual(['application_name\0renamed\0']);
  });
});
