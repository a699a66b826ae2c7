// The `cairn` executable.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { Command, CommanderError, Option } from 'commander';
import { PdClient, RawKvClient } from '../client/index.js';
import type { nodepb } from '../proto/index.js';
import { GRPC_CHANNEL_OPTIONS, NodeService } from '../proto/services.js';
import { Node } from '../server/node.js';
import { jsonLogger } from '../server/logger.js';
import {
  UsageError,
  parseAddressList,
  parseBytes,
  parseDurationMs,
  parseHostPort,
  parseLogLevel,
  parsePositiveInt,
} from './flags.js';
import { type LocalClusterOptions, localClusterCommand } from './local_cluster.js';
import { registerSqlCommand } from './sql_shell.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

interface StartOptions {
  store: string;
  listenAddr: string;
  advertiseAddr?: string;
  httpAddr: string;
  join: string;
  raftTickInterval: string;
  raftElectionTicks: string;
  storeDownTimeout: string;
  gcTtl: string;
  regionSplitSize: string;
  regionSplitKeys: string;
  raftLogGcThreshold: string;
  logLevel: string;
  sqlAddr: string;
  insecure?: boolean;
}

async function startCommand(opts: StartOptions): Promise<void> {
  const listen = parseHostPort('listen-addr', opts.listenAddr);
  const http = parseHostPort('http-addr', opts.httpAddr);
  const sql = parseHostPort('sql-addr', opts.sqlAddr);
  const join = parseAddressList('join', opts.join);
  let advertise = opts.advertiseAddr;
  if (advertise !== undefined) {
    const hp = parseHostPort('advertise-addr', advertise, '');
    if (hp.host === '' || hp.host === '0.0.0.0') throw new UsageError('--advertise-addr needs a host others can reach, not 0.0.0.0');
    advertise = `${hp.host}:${hp.port}`;
  } else {
    advertise = `${listen.host === '0.0.0.0' ? hostname() : listen.host}:${listen.port}`;
  }
  const logger = jsonLogger(parseLogLevel(opts.logLevel), { node: advertise });
  const tickMs = parseDurationMs('raft-tick-interval', opts.raftTickInterval);
  const gcTtlMs = parseDurationMs('gc-ttl', opts.gcTtl);
  if (gcTtlMs < 1_000) throw new UsageError('--gc-ttl must be at least 1s');
  const electionTicks = parsePositiveInt('raft-election-ticks', opts.raftElectionTicks);
  if (electionTicks < 3) throw new UsageError('--raft-election-ticks must be at least 3');
  const node = await Node.start({
    storeDir: opts.store,
    listen,
    advertise,
    http,
    join,
    tuning: {
      raft: { tickIntervalMs: tickMs, electionTicks, heartbeatTicks: Math.max(1, Math.floor(electionTicks / 5)) },
      split: { maxSizeBytes: parseBytes('region-split-size', opts.regionSplitSize), maxKeys: parsePositiveInt('region-split-keys', opts.regionSplitKeys) },
      logGc: { thresholdEntries: parsePositiveInt('raft-log-gc-threshold', opts.raftLogGcThreshold) },
      // A round every tenth of the TTL, between 1 s and 1 min.
      mvccGc: { intervalMs: Math.min(60_000, Math.max(1_000, Math.floor(gcTtlMs / 10))) },
    },
    pd: { storeDownTimeoutMs: parseDurationMs('store-down-timeout', opts.storeDownTimeout), gcTtlMs },
    logger,
    sql,
  });
  if (opts.insecure !== true) logger.warn('TLS is not implemented yet: the node serves SQL without encryption or authentication (as --insecure)');
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // A failed engine write stops the store: this process must not keep serving from it.
  const watchdog = setInterval(() => {
    const fatal = node.storeHandle.fatalError;
    if (fatal && !stopping) {
      logger.error('exiting: the store failed', { error: fatal.message });
      process.exit(1);
    }
  }, 1000);
  watchdog.unref();
}

function nodeClient(host: string): grpc.Client & Record<string, (...args: unknown[]) => unknown> {
  const Client = grpc.makeGenericClientConstructor(NodeService, 'Node');
  return new Client(host, grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS) as unknown as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
}

async function initCommand(opts: { host: string; timeout: string }): Promise<void> {
  const hp = parseHostPort('host', opts.host, '');
  const host = `${hp.host || 'localhost'}:${hp.port}`;
  const timeoutMs = parseDurationMs('timeout', opts.timeout);
  const client = nodeClient(host);
  try {
    const res = await new Promise<nodepb.IInitResponse>((resolve, reject) => {
      client.init!({}, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, r: nodepb.IInitResponse) => (err ? reject(err) : resolve(r)));
    });
    if (res.alreadyInitialized) process.stdout.write(`cluster is already initialized (cluster id ${Number(res.clusterId ?? 0)}); nothing to do\n`);
    else process.stdout.write(`cluster successfully initialized (cluster id ${Number(res.clusterId ?? 0)})\n`);
  } finally {
    client.close();
  }
}

function kvClient(host: string): { kv: RawKvClient; pd: PdClient } {
  const hp = parseHostPort('host', host, '');
  const pd = new PdClient({ endpoints: [`${hp.host || 'localhost'}:${hp.port}`] });
  return { kv: new RawKvClient({ pd }), pd };
}

async function withKv<T>(host: string, f: (kv: RawKvClient, pd: PdClient) => Promise<T>): Promise<T> {
  const { kv, pd } = kvClient(host);
  try {
    return await f(kv, pd);
  } finally {
    kv.close();
    pd.close();
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export function buildProgram(): Command {
  const program = new Command('cairn')
    .description('Cairn: a distributed SQL database (Raft-replicated, PostgreSQL wire protocol)')
    .version(packageVersion(), '-v, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('version')
    .description('print the version and the Node.js runtime')
    .action(() => {
      process.stdout.write(`cairn ${packageVersion()} (node ${process.versions.node})\n`);
    });

  program
    .command('start')
    .description('start a node; it serves until SIGTERM or SIGINT')
    .requiredOption('--store <dir>', 'data directory (created if missing)')
    .requiredOption('--join <addrs>', 'comma-separated advertise addresses of the nodes that host the placement driver (usually the first three)')
    .option('--listen-addr <host:port>', 'internal gRPC address to listen on (Raft, KV, placement driver)', ':26258')
    .option('--advertise-addr <host:port>', 'address other nodes and clients use to reach this node (default: hostname and the listen port)')
    .option('--http-addr <host:port>', 'admin HTTP address (/health, /health?ready=1)', ':8080')
    .option('--sql-addr <host:port>', 'SQL address (PostgreSQL wire protocol) to listen on', ':26257')
    .option('--insecure', 'serve without TLS and authentication (the only mode so far)')
    .option('--raft-tick-interval <duration>', 'length of one Raft tick', '100ms')
    .option('--raft-election-ticks <n>', 'ticks without a leader before an election', '10')
    .option('--store-down-timeout <duration>', 'a store silent this long has its replicas replaced', '5m')
    .option('--region-split-size <bytes>', 'split a Region once its data passes this size', '64MiB')
    .option('--region-split-keys <n>', 'split a Region once it holds this many keys', '640000')
    .option('--gc-ttl <duration>', 'keep MVCC versions this long before garbage collection may remove them', '10m')
    .option('--raft-log-gc-threshold <n>', 'compact a Region\'s Raft log once it holds this many applied entries', '2048')
    .addOption(new Option('--log-level <level>', 'debug, info, warn or error').default('info'))
    .action((opts: StartOptions) => startCommand(opts));

  program
    .command('init')
    .description('bootstrap a new cluster through one of its --join nodes (safe to re-run)')
    .requiredOption('--host <host:port>', 'a --join node')
    .option('--timeout <duration>', 'how long to wait for a quorum of --join nodes', '2m')
    .action((opts: { host: string; timeout: string }) => initCommand(opts));

  program
    .command('local')
    .description('run a cluster of several nodes on this machine (initialised on first use) until Ctrl-C')
    .option('--nodes <n>', 'how many nodes (the first three host the placement driver)', '3')
    .option('--dir <dir>', 'parent of the nodes\' data directories and logs', './cairn-local')
    .option('--grpc-port <port>', 'gRPC port of the first node; the others take the next ones', '20160')
    .option('--http-port <port>', 'admin HTTP port of the first node; the others take the next ones', '8080')
    .option('--sql-port <port>', 'SQL port of the first node; the others take the next ones', '26257')
    .addOption(new Option('--log-level <level>', 'log level of the nodes').default('info'))
    .action((opts: LocalClusterOptions) => localClusterCommand(opts, (host) => initCommand({ host, timeout: '2m' })));

  registerSqlCommand(program);

  const debug = program.command('debug').description('low-level tools');
  const kv = debug.command('kv').description('raw key-value access (UTF-8 keys and values)');
  kv.command('put <key> <value>')
    .requiredOption('--host <host:port>', 'any node')
    .action((key: string, value: string, opts: { host: string }) =>
      withKv(opts.host, async (c) => {
        await c.put(enc(key), enc(value));
        process.stdout.write('OK\n');
      }),
    );
  kv.command('get <key>')
    .requiredOption('--host <host:port>', 'any node')
    .action((key: string, opts: { host: string }) =>
      withKv(opts.host, async (c) => {
        const v = await c.get(enc(key));
        if (v === undefined) {
          process.stdout.write('(not found)\n');
          process.exitCode = 1;
        } else process.stdout.write(`${dec(v)}\n`);
      }),
    );
  kv.command('delete <key>')
    .requiredOption('--host <host:port>', 'any node')
    .action((key: string, opts: { host: string }) =>
      withKv(opts.host, async (c) => {
        await c.delete(enc(key));
        process.stdout.write('OK\n');
      }),
    );
  kv.command('scan [start] [end]')
    .requiredOption('--host <host:port>', 'any node')
    .option('--limit <n>', 'at most this many pairs', '100')
    .action((start: string | undefined, end: string | undefined, opts: { host: string; limit: string }) =>
      withKv(opts.host, async (c) => {
        const limit = parsePositiveInt('limit', opts.limit);
        const pairs = await c.scan(enc(start ?? ''), enc(end ?? ''), limit);
        for (const p of pairs) process.stdout.write(`${dec(p.key)}\t${dec(p.value)}\n`);
      }),
    );
  debug
    .command('regions')
    .description('one JSON line per Region: id, start, end (hex), epoch, peers, leader')
    .requiredOption('--host <host:port>', 'any node')
    .action((opts: { host: string }) =>
      withKv(opts.host, async (_c, pd) => {
        let start: Uint8Array = new Uint8Array(0);
        for (;;) {
          const regions = await pd.scanRegions(start, new Uint8Array(0), 1000);
          for (const { region, leader } of regions) {
            process.stdout.write(
              `${JSON.stringify({
                id: region.id,
                start: hex(region.startKey),
                end: hex(region.endKey),
                epoch: region.epoch,
                peers: region.peers.map((p) => ({ id: p.id, storeId: p.storeId, role: p.role === 1 ? 'learner' : 'voter' })),
                leader: leader ? { id: leader.id, storeId: leader.storeId } : null,
              })}\n`,
            );
          }
          const last = regions[regions.length - 1];
          if (regions.length < 1000 || last === undefined || last.region.endKey.byteLength === 0) break;
          start = last.region.endKey;
        }
      }),
    );
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\nsee: cairn --help\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message}\n`);
    return 1;
  }
}
