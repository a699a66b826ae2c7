// The etcd peer for the KV bench: a 3-member etcd cluster on loopback, started from the `etcd`
// binary of Debian's etcd-server package, and a lean client over etcd's gRPC KV API.
//
// Cluster: three processes, each with its own client and peer port (free ports picked at start),
// its own data directory under a temporary directory, `--initial-cluster` naming all three.
// Benchmark-relevant settings:
//   - fsync as etcd ships it (the WAL is fsynced on every Raft Ready); nothing unsafe is turned off.
//   - --snapshot-count 10000: etcd 3.6's default (3.4 ships 100000), bounding the in-memory Raft
//     log and WAL replay as a production setup would; snapshots may fall inside measured runs.
//   - --auto-compaction-mode revision, --auto-compaction-retention 100000: bounds MVCC history on
//     long runs; etcd's revision compactor looks every 5 minutes, so short runs never compact.
//   - default heartbeat (100 ms) and election timeout (1 s); logs at warn level into the temp dir.
// Teardown kills every member by PID (SIGKILL: the data is thrown away) and removes the temporary
// directory; a synchronous last resort does the same if the process exits without teardown.
//
// Client: etcd's gRPC KV API (Range, Put) spoken over node:http2 directly — unary gRPC is one
// HTTP/2 stream: request headers, one length-prefixed protobuf message, then the response message
// and a grpc-status trailer — with the few messages declared below (protobufjs, field numbers from
// etcd's rpc.proto and kv.proto). Measured here against one cluster, 64 clients, linearizable gets:
// @grpc/grpc-js unary calls cost about 200 µs of client CPU per get and the `etcd3` npm package
// (grpc-js plus retry and circuit-breaker policies) 200–330 µs, which made the bench process,
// sharing two cores with the servers, the bottleneck near 3,000–4,600 gets/s; this client costs
// 100–170 µs and reached 6,000–7,000 gets/s on the same cluster. A peer slowed by its client would
// flatter Cairn's ratio, so the peer gets the lean client.
// One HTTP/2 connection per member; each request takes the next connection round-robin, so at
// every concurrency a third of requests reach the leader and two thirds a follower, which forwards
// puts to the leader and serves gets after a ReadIndex round trip. (Pinning each simulated client
// to one member instead would make the single-client figures depend on whether that member
// happened to be the leader.) Gets are linearizable (RangeRequest.serializable = false, etcd's
// default); puts are plain Puts, acknowledged once committed and applied.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, statfs } from 'node:fs/promises';
import { connect as http2Connect, constants as http2Constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { freePorts, tail } from './procs.js';
import { TargetUnavailableError, type KvTarget, type TargetContext } from './target.js';

const MEMBERS = 3;
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;
const CALL_DEADLINE_MS = 10_000;
const TMPFS_MAGIC = 0x01021994;

const KV_PROTO = `
syntax = "proto3";
package etcdserverpb;
message ResponseHeader { uint64 cluster_id = 1; uint64 member_id = 2; int64 revision = 3; uint64 raft_term = 4; }
message KeyValue { bytes key = 1; int64 create_revision = 2; int64 mod_revision = 3; int64 version = 4; bytes value = 5; int64 lease = 6; }
message RangeRequest { bytes key = 1; bytes range_end = 2; int64 limit = 3; int64 revision = 4; bool serializable = 7; }
message RangeResponse { ResponseHeader header = 1; repeated KeyValue kvs = 2; bool more = 3; int64 count = 4; }
message PutRequest { bytes key = 1; bytes value = 2; int64 lease = 3; bool prev_kv = 4; }
message PutResponse { ResponseHeader header = 1; KeyValue prev_kv = 2; }
`;

const root = protobuf.parse(KV_PROTO, { keepCase: true }).root;
const RangeRequest = root.lookupType('etcdserverpb.RangeRequest');
const RangeResponse = root.lookupType('etcdserverpb.RangeResponse');
const PutRequest = root.lookupType('etcdserverpb.PutRequest');
const PutResponse = root.lookupType('etcdserverpb.PutResponse');

interface RangeRequestMessage {
  key: Uint8Array;
  serializable?: boolean;
  limit?: number;
}
interface RangeResponseMessage {
  kvs?: { key?: Uint8Array; value?: Uint8Array }[];
}
interface PutRequestMessage {
  key: Uint8Array;
  value: Uint8Array;
}

/** A call that ended with a grpc-status other than OK (0). */
export class GrpcStatusError extends Error {
  override name = 'GrpcStatusError';
  constructor(
    readonly path: string,
    readonly status: number,
    readonly details: string,
  ) {
    super(`${path}: gRPC status ${status}${details === '' ? '' : `: ${details}`}`);
  }
}

/** One HTTP/2 connection to a gRPC server, reopened on the next call after it drops. */
class GrpcConnection {
  private session: ClientHttp2Session | undefined;
  /** Calls in flight and when the client gives up on each: one sweep a second, not a timer per call. */
  private readonly deadlines = new Map<ClientHttp2Stream, number>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly authority: string) {}

  private open(): ClientHttp2Session {
    const current = this.session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const session = http2Connect(this.authority);
    // Errors surface on the streams of this session; the next call opens a new one.
    session.on('error', () => {});
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    this.sweeper ??= setInterval(() => this.sweep(), 1000).unref();
    return session;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [stream, deadline] of this.deadlines) {
      if (deadline < now) stream.close(http2Constants.NGHTTP2_CANCEL);
    }
  }

  /** A unary call: one request message out, one response message (without its 5-byte prefix) back. */
  unary(path: string, message: Uint8Array, deadlineMs: number): Promise<Buffer> {
    const frame = Buffer.allocUnsafe(5 + message.length);
    frame[0] = 0; // not compressed
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    return new Promise<Buffer>((resolve, reject) => {
      let stream: ClientHttp2Stream;
      try {
        stream = this.open().request({
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': `${deadlineMs}m`,
        });
      } catch (error) {
        reject(error);
        return;
      }
      let httpStatus: number | undefined;
      let grpcStatus: string | undefined;
      let grpcMessage = '';
      const chunks: Buffer[] = [];
      let failure: Error | undefined;
      const readStatus = (headers: Record<string, unknown>): void => {
        const status = headers['grpc-status'];
        if (status !== undefined) grpcStatus = String(status);
        const details = headers['grpc-message'];
        if (details !== undefined) grpcMessage = decodeURIComponent(String(details));
      };
      // The server is told the deadline (grpc-timeout); the sweep covers a server that cannot answer at all.
      const giveUpAt = Date.now() + deadlineMs + 1000;
      this.deadlines.set(stream, giveUpAt);
      stream.on('response', (headers) => {
        httpStatus = Number(headers[':status']);
        readStatus(headers); // a trailers-only answer carries its status here
      });
      stream.on('trailers', (trailers) => readStatus(trailers));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error) => (failure ??= error));
      stream.on('close', () => {
        this.deadlines.delete(stream);
        if (failure !== undefined) return reject(failure);
        if (stream.rstCode === http2Constants.NGHTTP2_CANCEL && Date.now() >= giveUpAt) {
          return reject(new Error(`${path}: no answer within ${deadlineMs + 1000} ms`));
        }
        if (httpStatus !== 200) return reject(new Error(`${path}: HTTP status ${httpStatus ?? 'none'} (stream code ${stream.rstCode})`));
        if (grpcStatus === undefined) return reject(new Error(`${path}: stream closed without a grpc-status (code ${stream.rstCode})`));
        if (grpcStatus !== '0') return reject(new GrpcStatusError(path, Number(grpcStatus), grpcMessage));
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
          return reject(new Error(`${path}: malformed response body (${body.length} bytes)`));
        }
        resolve(body.subarray(5));
      });
      stream.end(frame);
    });
  }

  close(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.session?.close();
    this.session = undefined;
  }
}

/** Where `etcd` is on PATH, or undefined. */
function findEtcd(): string | undefined {
  const found = spawnSync('/bin/sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  logFile: string;
  process?: ChildProcess;
  exited?: Promise<void>;
}

class EtcdTarget implements KvTarget {
  readonly name = 'etcd';
  private dir: string | undefined;
  private members: Member[] = [];
  private connections: GrpcConnection[] = [];
  private next = 0;
  private version = '?';
  private readonly emergencyCleanup = (): void => this.killSync();

  constructor(
    private readonly binary: string,
    private readonly context: TargetContext,
  ) {}

  describe(): string {
    const ports = this.members.map((m) => m.clientPort).join(', ');
    return (
      `etcd ${this.version}, ${MEMBERS} members on ${HOST} (client ports ${ports}), data in ${this.dir}, fsync on, ` +
      `snapshot-count 10000; client: gRPC over node:http2, one connection per member, requests round-robin, linearizable gets`
    );
  }

  async setup(): Promise<void> {
    const versionOut = spawnSync(this.binary, ['--version'], { encoding: 'utf8' });
    this.version = /etcd Version:\s*(\S+)/.exec(versionOut.stdout)?.[1] ?? 'unknown version';
    this.dir = await mkdtemp(join(this.context.workDir, 'cairn-bench-etcd-'));
    process.on('exit', this.emergencyCleanup);
    const fs = await statfs(this.dir);
    if (fs.type === TMPFS_MAGIC) {
      this.context.log(`warning: ${this.dir} is on tmpfs: fsync is free there, so etcd's figures will flatter it`);
    }
    const ports = await freePorts(MEMBERS * 2);
    this.members = Array.from({ length: MEMBERS }, (_, i) => ({
      name: `m${i + 1}`,
      clientPort: ports[2 * i]!,
      peerPort: ports[2 * i + 1]!,
      dataDir: join(this.dir!, `m${i + 1}`),
      logFile: join(this.dir!, `m${i + 1}.log`),
    }));
    const initialCluster = this.members.map((m) => `${m.name}=http://${HOST}:${m.peerPort}`).join(',');
    // etcd reads ETCD_* variables as flags; a stray one would conflict with ours.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
    const token = `cairn-bench-${process.pid}-${Date.now()}`;
    for (const m of this.members) {
      await mkdir(m.dataDir, { recursive: true, mode: 0o700 });
      const log = openSync(m.logFile, 'a');
      const args = [
        `--name=${m.name}`,
        `--data-dir=${m.dataDir}`,
        `--listen-client-urls=http://${HOST}:${m.clientPort}`,
        `--advertise-client-urls=http://${HOST}:${m.clientPort}`,
        `--listen-peer-urls=http://${HOST}:${m.peerPort}`,
        `--initial-advertise-peer-urls=http://${HOST}:${m.peerPort}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-token=${token}`,
        '--initial-cluster-state=new',
        '--snapshot-count=10000',
        '--auto-compaction-mode=revision',
        '--auto-compaction-retention=100000',
        '--logger=zap',
        '--log-level=warn',
      ];
      const child = spawn(this.binary, args, { env, stdio: ['ignore', log, log] });
      closeSync(log);
      m.process = child;
      m.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.once('error', (error) => this.context.log(`etcd ${m.name}: ${error.message}`));
    }
    try {
      await this.waitHealthy();
    } catch (error) {
      const logs = this.members.map((m) => `--- ${m.name} (${m.logFile}):\n${tail(m.logFile, 15)}`).join('\n');
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs}`);
    }
    this.connections = this.members.map((m) => new GrpcConnection(`http://${HOST}:${m.clientPort}`));
    // One linearizable read through every connection: connections up, every member serving.
    for (let i = 0; i < this.connections.length; i++) await this.rangeOn(i, Buffer.from('cairn-bench-ping'));
  }

  private async waitHealthy(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    const pending = new Set(this.members);
    while (pending.size > 0) {
      for (const m of this.members) {
        const child = m.process;
        if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) {
          throw new Error(`etcd member ${m.name} exited during startup (code ${child.exitCode}, signal ${child.signalCode})`);
        }
      }
      for (const m of [...pending]) {
        try {
          const response = await fetch(`http://${HOST}:${m.clientPort}/health`, { signal: AbortSignal.timeout(2000) });
          const body = (await response.json()) as { health?: unknown };
          if (response.ok && (body.health === 'true' || body.health === true)) pending.delete(m);
        } catch {
          // not listening yet
        }
      }
      if (pending.size === 0) break;
      if (Date.now() > deadline) {
        throw new Error(`etcd cluster not healthy after ${START_TIMEOUT_MS / 1000} s (waiting on ${[...pending].map((m) => m.name).join(', ')})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private pick(): number {
    const i = this.next;
    this.next = (i + 1) % this.connections.length;
    return i;
  }

  private async rangeOn(i: number, key: Uint8Array): Promise<RangeResponseMessage> {
    const request: RangeRequestMessage = { key, serializable: false };
    const body = await this.connections[i]!.unary('/etcdserverpb.KV/Range', RangeRequest.encode(request).finish(), CALL_DEADLINE_MS);
    return RangeResponse.decode(body) as unknown as RangeResponseMessage;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const response = await this.rangeOn(this.pick(), key);
    return response.kvs?.[0]?.value;
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    const request: PutRequestMessage = { key, value };
    const body = await this.connections[this.pick()]!.unary('/etcdserverpb.KV/Put', PutRequest.encode(request).finish(), CALL_DEADLINE_MS);
    PutResponse.decode(body);
  }

  async teardown(): Promise<void> {
    for (const connection of this.connections) connection.close();
    this.connections = [];
    // The cluster's data is discarded, so nothing needs a graceful stop, and SIGTERM would cost
    // seconds: a leader told to stop while its peers stop too waits on a leadership transfer.
    await Promise.all(
      this.members.map(async (m) => {
        const child = m.process;
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGKILL');
        await m.exited;
      }),
    );
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    process.off('exit', this.emergencyCleanup);
  }

  /** Last resort when the process exits without teardown: no awaiting possible here. */
  private killSync(): void {
    for (const m of this.members) {
      const child = m.process;
      if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    try {
      if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a member still writing as it dies; nothing more can be done while exiting
    }
  }
}

export function createTarget(context: TargetContext): KvTarget {
  const binary = findEtcd();
  if (binary === undefined) {
    throw new TargetUnavailableError(
      'etcd is not installed (needs the etcd binary on PATH; on Debian: apt-get install -y etcd-server)',
    );
  }
  return new EtcdTarget(binary, context);
}
