// A Cairn node: the store, the placement driver's member (on the nodes named in --join), the
// KV, Raft and node services on one gRPC port, and the admin HTTP endpoint.
//
// Life of a node:
//   start   → opens its data directory; refuses one that belongs to another format or cluster
//   blank   → alive, not ready; waits for `cairn init` (join nodes) or for the cluster to exist
//   init    → (one join node) picks the cluster id, bootstraps the placement driver's group and
//             the first Region, with store id 1
//   join    → (every other node) learns the cluster id (a join node from the placement driver's
//             Raft traffic, any node from the placement driver itself), gets a store id,
//             registers its store
//   ready   → has a store id and heard from the placement driver recently
import { randomInt } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { PdClient } from '../client/pd_client.js';
import { PdServer, PdStateMachine, type PdApplyOutcome, type PdReplication } from '../pd/index.js';
import { metapb, pdpb, pdstatepb, type nodepb, type raftpb } from '../proto/index.js';
import { GRPC_CHANNEL_OPTIONS, KvService as KvServiceDef, NodeService, PdService, RaftTransportService } from '../proto/services.js';
import { StorageEngine } from '../storage/engine.js';
import { PD_STATE_RANGE } from '../storage/keys.js';
import { GrpcTransport, raftTransportImplementation } from '../store/grpc_transport.js';
import { KvService } from '../store/kv_service.js';
import type { TuningOverrides } from '../store/options.js';
import type { PlacementClient } from '../store/placement.js';
import { composeTs } from '../kv/records.js';
import { Store, type SystemGroupHandle, type SystemStateMachine } from '../store/store.js';
import type { RaftInbox } from '../store/transport.js';
import { startAdminServer } from '../admin/http.js';
import { BLANK_IDENTITY, readIdentity, writeIdentity, type NodeIdentity } from './identity.js';
import type { Logger } from './logger.js';
import type { PdServerOptions } from '../pd/index.js';
import { RawKvClient } from '../client/kv_client.js';
import { TxnClient } from '../client/txn/txn_client.js';
import { Gateway } from '../sql/gateway.js';
import { PgServer } from '../sql/pgwire/server.js';

export const BUILD_VERSION = '0.1.0';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface NodeConfig {
  readonly storeDir: string;
  readonly listen: HostPort;
  /** host:port other nodes and clients use to reach this node's gRPC port. */
  readonly advertise: string;
  readonly http: HostPort;
  /** The advertise addresses of the nodes that host the placement driver. */
  readonly join: readonly string[];
  readonly tuning: TuningOverrides;
  readonly pd: Partial<PdServerOptions>;
  readonly logger: Logger;
  /** Where the SQL gateway listens (PostgreSQL wire protocol); none if undefined. */
  readonly sql?: HostPort;
}

/** Bootstrap ids: the placement driver allocates every later id above these. */
const BOOTSTRAP_STORE_ID = 1;
const BOOTSTRAP_REGION_ID = 2;
const BOOTSTRAP_PEER_ID = 3;
/** On stop, calls in flight get this long to finish before connections are cut. */
const SHUTDOWN_GRACE_MS = 2_000;
/** Ready means the placement driver answered a store heartbeat within this long. */
const READY_WINDOW_MS = 15_000;
/** How often a blank node asks the placement driver whether the cluster exists yet. */
const JOIN_POLL_MS = 500;
/**
 * Every store's address is fetched this often. Followers of a Region never talk to each other
 * until their leader dies, and then the placement driver may have died with it: the addresses
 * an election needs must already be here.
 */
const STORE_ADDRESS_REFRESH_MS = 10_000;
/** Keys one SQL transaction may write (pgbench -i loads 100,000 rows at scale 1 in one transaction). */
const SQL_TXN_MAX_KEYS = 1_000_000;
/**
 * How long a schema change waits for another node to confirm it loaded the new version; also what
 * it waits instead when a node cannot be reached (longer than the SQL schema lease, after which an
 * unreachable gateway commits nothing planned under the old version).
 */
const SCHEMA_BROADCAST_TIMEOUT_MS = 1_500;

export class NodeStartError extends Error {
  readonly code = 'NodeStart';
}

export class Node {
  private identity: NodeIdentity = BLANK_IDENTITY;
  private engine!: StorageEngine;
  private store!: Store;
  private kv!: KvService;
  private transport!: GrpcTransport;
  private grpcServer!: grpc.Server;
  private httpServer: HttpServer | undefined;
  private pdClient!: PdClient;
  private pdServer: PdServer | undefined;
  private pdState: PdStateMachine | undefined;
  private systemGroup: SystemGroupHandle | undefined;
  private readonly memberId: number;
  private readonly storeAddresses = new Map<number, string>();
  private readonly resolving = new Set<number>();
  private lastPdContactMs = 0;
  private readonly startedAtMs = Date.now();
  private stopping = false;
  private joinTimer: NodeJS.Timeout | undefined;
  private heartbeatHandlers: Array<(res: pdpb.IRegionHeartbeatResponse) => void> = [];
  private heartbeatStream: ReturnType<PdClient['regionHeartbeatStream']> | undefined;
  private initInFlight: Promise<nodepb.IInitResponse> | undefined;
  private adopting: Promise<void> | undefined;
  private placementAttached = false;
  private pdLeaderWatch: NodeJS.Timeout | undefined;
  private storeAddressRefresh: NodeJS.Timeout | undefined;
  private sqlKv: RawKvClient | undefined;
  private sqlTxns: TxnClient | undefined;
  private gateway: Gateway | undefined;
  private pgServer: PgServer | undefined;
  readonly log: Logger;

  private constructor(readonly config: NodeConfig) {
    this.log = config.logger;
    const index = config.join.indexOf(config.advertise);
    this.memberId = index >= 0 ? index + 1 : 0;
  }

  static async start(config: NodeConfig): Promise<Node> {
    const node = new Node(config);
    try {
      await node.open();
    } catch (err) {
      await node.stop().catch(() => {});
      throw err;
    }
    return node;
  }

  private get isPdMember(): boolean {
    return this.memberId !== 0;
  }

  private pdMembers(): Array<{ id: number; address: string }> {
    return this.config.join.map((address, i) => ({ id: i + 1, address }));
  }

  private async open(): Promise<void> {
    const { config, log } = this;
    this.engine = await StorageEngine.open(config.storeDir);
    this.identity = await readIdentity(this.engine);
    log.info('opened data directory', { dir: config.storeDir, clusterId: this.identity.clusterId, storeId: this.identity.storeId });

    this.transport = new GrpcTransport({
      clusterId: () => this.store?.clusterId ?? 0,
      storeId: () => this.store?.storeId ?? 0,
      address: config.advertise,
      logger: log,
      onUnreachable: (address) => this.store?.onStoreUnreachable(address),
    });
    this.store = await Store.open({
      engine: this.engine,
      transport: this.transport,
      address: config.advertise,
      clusterId: this.identity.clusterId,
      storeId: this.identity.storeId,
      resolveStore: (id) => this.resolveStore(id),
      tuning: config.tuning,
      logger: log.child({ component: 'store' }),
    });
    this.kv = new KvService(this.store);
    this.pdClient = new PdClient({
      endpoints: config.join,
      ...(this.identity.clusterId !== 0 ? { clusterId: this.identity.clusterId } : {}),
    });

    if (this.isPdMember) {
      this.pdState = PdStateMachine.load([]);
      this.pdServer = new PdServer({
        stateMachine: this.pdState,
        replication: this.pdReplication(),
        options: config.pd,
        log: (event) => {
          const { level, msg, ...fields } = event;
          if (level === 'info') log.info(msg, { component: 'pd', ...fields });
          else log.warn(msg, { component: 'pd', ...fields });
        },
      });
      this.store.onLeadershipChange((groupId, isLeader, term) => {
        if (groupId === 0) this.pdServer?.onLeadershipChange(isLeader, term);
      });
      // A node that belongs to a cluster already runs its member of the placement driver.
      if (this.identity.clusterId !== 0) await this.hostPdGroup(false);
    }

    await this.startGrpc();
    this.store.start();
    this.pdServer?.start();
    this.httpServer = await startAdminServer(config.http, {
      ready: () => this.readiness(),
      status: () => this.statusJson(),
      regions: () => this.regionsJson(),
    });
    if (config.sql !== undefined) await this.startSql(config.sql);
    log.info('node started', {
      advertise: config.advertise,
      listen: `${config.listen.host}:${config.listen.port}`,
      http: `${config.http.host}:${config.http.port}`,
      ...(config.sql !== undefined ? { sql: `${config.sql.host}:${config.sql.port}` } : {}),
      join: config.join,
      pdMember: this.memberId,
    });
    if (this.identity.bootstrapping && !this.identity.bootstrapped) {
      // The bootstrap was interrupted here: finish it.
      void this.init().catch((err: unknown) => log.warn('resuming the interrupted bootstrap failed', { error: String(err) }));
    } else {
      this.scheduleJoin(0);
    }
  }

  // ---- SQL ---------------------------------------------------------------------------------------

  /** Starts the SQL gateway: a KV client with the in-process path to this store, and the pgwire listener. */
  private async startSql(addr: HostPort): Promise<void> {
    await Gateway.prepare();
    const sqlLog = this.log.child({ component: 'sql' });
    // Made on first use: the placement-driver client is replaced when the cluster is initialised.
    const txnClient = (): TxnClient => {
      if (this.sqlTxns === undefined) {
        this.sqlKv = new RawKvClient({ pd: this.pdClient, localHandler: this.kv });
        this.sqlTxns = new TxnClient(this.sqlKv, { getTimestamp: () => this.pdClient.getTimestamp({ timeoutMs: 5_000 }) }, { maxWriteKeys: SQL_TXN_MAX_KEYS });
      }
      return this.sqlTxns;
    };
    this.gateway = new Gateway({
      txnClient,
      nodeId: () => this.identity.storeId,
      ready: () => this.readiness().ready,
      logger: sqlLog,
      broadcastSchemaVersion: (version) => this.broadcastSchemaVersion(version),
    });
    try {
      this.pgServer = await PgServer.listen({
        host: addr.host,
        port: addr.port,
        factory: this.gateway,
        logger: { error: (m, f) => sqlLog.error(m, f), warn: (m, f) => sqlLog.warn(m, f), debug: (m, f) => sqlLog.debug(m, f) },
      });
    } catch (err) {
      throw new NodeStartError(`cannot listen for SQL on ${addr.host}:${addr.port}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // ---- gRPC --------------------------------------------------------------------------------------

  private async startGrpc(): Promise<void> {
    const server = new grpc.Server(GRPC_CHANNEL_OPTIONS);
    const inbox: RaftInbox = {
      receive: (batch) => this.receiveRaft(batch),
      receiveSnapshot: (clusterId, message) => this.store.receiveSnapshot(clusterId, message),
    };
    server.addService(RaftTransportService, raftTransportImplementation(inbox, {
      maxSnapshotBytes: this.store.tuning.limits.maxSnapshotBytes,
      logger: this.log,
    }));
    server.addService(KvServiceDef, this.kv.grpcImplementation());
    server.addService(NodeService, this.nodeServiceImplementation());
    server.addService(PdService, this.pdServer?.grpcImplementation() ?? this.pdRedirectImplementation());
    this.grpcServer = server;
    const { host, port } = this.config.listen;
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
        if (err) reject(new NodeStartError(`cannot listen on ${host}:${port}: ${err.message}`));
        else resolve();
      });
    });
  }

  /** Raft traffic; a blank join node adopts the cluster of the placement driver that contacts it. */
  private receiveRaft(batch: raftpb.IRaftBatch): void {
    const cluster = Number(batch.clusterId ?? 0);
    if (this.store.clusterId === 0 && cluster !== 0 && this.isPdMember && this.config.join.includes(batch.fromAddress ?? '')) {
      const onlyPd = (batch.messages ?? []).every((m) => Number(m.regionId ?? 0) === 0);
      if (onlyPd) {
        if (this.adopting === undefined) {
          this.adopting = this.adoptCluster(cluster).finally(() => (this.adopting = undefined));
        }
        void this.adopting.then(() => this.store.receive(batch));
        return;
      }
    }
    this.store.receive(batch);
  }

  private async adoptCluster(clusterId: number): Promise<void> {
    if (this.store.clusterId !== 0) return;
    this.log.info('joining the cluster of the placement driver that contacted this node', { clusterId });
    this.identity = { ...this.identity, clusterId };
    await writeIdentity(this.engine, this.identity);
    this.store.setIdentity(clusterId, this.identity.storeId);
    await this.hostPdGroup(false);
    this.scheduleJoin(0);
  }

  private nodeServiceImplementation(): grpc.UntypedServiceImplementation {
    return {
      init: (_call: grpc.ServerUnaryCall<nodepb.IInitRequest, nodepb.IInitResponse>, callback: grpc.sendUnaryData<nodepb.IInitResponse>) => {
        this.init().then(
          (res) => callback(null, res),
          (err: unknown) => callback({ code: grpc.status.FAILED_PRECONDITION, message: err instanceof Error ? err.message : String(err) } as grpc.ServiceError, null),
        );
      },
      status: (_call: grpc.ServerUnaryCall<nodepb.INodeStatusRequest, nodepb.INodeStatusResponse>, callback: grpc.sendUnaryData<nodepb.INodeStatusResponse>) => {
        const status = this.store.status();
        callback(null, {
          clusterId: this.identity.clusterId,
          storeId: this.identity.storeId,
          address: this.config.advertise,
          httpAddress: `${this.config.http.host}:${this.config.http.port}`,
          build: BUILD_VERSION,
          startedAtMs: this.startedAtMs,
          ready: this.readiness().ready,
          regionCount: status.regions,
          leaderCount: status.leaders,
        });
      },
      schemaChanged: (call: grpc.ServerUnaryCall<nodepb.ISchemaChangedRequest, nodepb.ISchemaChangedResponse>, callback: grpc.sendUnaryData<nodepb.ISchemaChangedResponse>) => {
        const cluster = Number(call.request.clusterId ?? 0);
        if (cluster !== this.identity.clusterId) {
          callback({ code: grpc.status.FAILED_PRECONDITION, message: `schema change of cluster ${cluster}, this node belongs to ${this.identity.clusterId}` } as grpc.ServiceError, null);
          return;
        }
        const gateway = this.gateway;
        if (gateway === undefined) {
          // No SQL here: nothing of this node can hold an older schema.
          callback(null, { loadedVersion: Number(call.request.version ?? 0) });
          return;
        }
        gateway.onSchemaVersionAnnounced(BigInt(call.request.version ?? 0)).then(
          (loaded) => callback(null, { loadedVersion: Number(loaded) }),
          (err: unknown) => callback({ code: grpc.status.UNAVAILABLE, message: err instanceof Error ? err.message : String(err) } as grpc.ServiceError, null),
        );
      },
    };
  }

  /**
   * Tells every other node's SQL gateway about a schema version and waits for their answers. A node
   * that does not answer cannot commit writes planned under an older version once its lease runs
   * out, so for it the lease is waited out instead.
   */
  private async broadcastSchemaVersion(version: bigint): Promise<void> {
    let stores: metapb.IStore[];
    try {
      stores = await this.pdClient.getAllStores({ timeoutMs: SCHEMA_BROADCAST_TIMEOUT_MS });
    } catch {
      await new Promise((r) => setTimeout(r, SCHEMA_BROADCAST_TIMEOUT_MS));
      return;
    }
    const others = stores.filter((st) => Number(st.id ?? 0) !== this.identity.storeId && st.state !== metapb.StoreState.STORE_TOMBSTONE && st.address);
    const results = await Promise.allSettled(
      others.map(
        (st) =>
          new Promise<void>((resolve, reject) => {
            const client = this.nodeClientFor(st.address!);
            client.schemaChanged!(
              { clusterId: this.identity.clusterId, version: Number(version) },
              { deadline: Date.now() + SCHEMA_BROADCAST_TIMEOUT_MS },
              (err: grpc.ServiceError | null, res: nodepb.ISchemaChangedResponse) => {
                if (err) reject(err);
                else if (BigInt(res.loadedVersion ?? 0) < version) reject(new Error('the node has not loaded the version'));
                else resolve();
              },
            );
          }),
      ),
    );
    if (results.some((r) => r.status === 'rejected')) await new Promise((r) => setTimeout(r, SCHEMA_BROADCAST_TIMEOUT_MS));
  }

  private readonly nodeClients = new Map<string, grpc.Client & Record<string, (...args: unknown[]) => unknown>>();

  private nodeClientFor(address: string): grpc.Client & Record<string, (...args: unknown[]) => unknown> {
    let c = this.nodeClients.get(address);
    if (c === undefined) {
      const Client = grpc.makeGenericClientConstructor(NodeService, 'Node');
      c = new Client(address, grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS) as unknown as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
      this.nodeClients.set(address, c);
    }
    return c;
  }

  /** A node outside the placement driver answers GetMembers (so clients find the members) and nothing else. */
  private pdRedirectImplementation(): grpc.UntypedServiceImplementation {
    const members = this.pdMembers();
    const notMember = (_call: unknown, callback: grpc.sendUnaryData<{ header: pdpb.IResponseHeader }>): void =>
      callback(null, { header: { clusterId: this.identity.clusterId, error: { type: pdpb.ErrorType.ERROR_NOT_LEADER, message: 'this node does not host the placement driver; ask a --join node' } } });
    const impl: grpc.UntypedServiceImplementation = {};
    for (const name of Object.keys(PdService)) impl[name] = notMember;
    impl.getMembers = (_call: unknown, callback: grpc.sendUnaryData<pdpb.IGetMembersResponse>) =>
      callback(null, { header: { clusterId: this.identity.clusterId }, members });
    const endStream = (call: grpc.ServerDuplexStream<unknown, unknown>): void => {
      call.on('data', () => {});
      call.write({ header: { clusterId: this.identity.clusterId, error: { type: pdpb.ErrorType.ERROR_NOT_LEADER, message: 'not a placement-driver member' } } });
      call.end();
    };
    impl.tso = endStream;
    impl.regionHeartbeat = endStream;
    return impl;
  }

  // ---- The placement driver's group ---------------------------------------------------------------

  private pdReplication(): PdReplication {
    return {
      propose: async (command: pdstatepb.IPdCommand): Promise<PdApplyOutcome> => {
        const group = this.systemGroup;
        if (group === undefined) throw new (await import('../pd/index.js')).NotLeaderError('the placement driver group is not running here');
        try {
          return (await group.propose(pdstatepb.PdCommand.encode(command).finish())) as PdApplyOutcome;
        } catch (err) {
          const { NotLeaderError } = await import('../pd/index.js');
          throw new NotLeaderError(err instanceof Error ? err.message : String(err));
        }
      },
      isLeader: () => this.systemGroup?.isLeader() ?? false,
      leaseValid: () => this.systemGroup?.leaseValid() ?? false,
      leaderAddress: () => {
        const id = this.systemGroup?.leaderMemberId() ?? 0;
        return id > 0 ? this.config.join[id - 1] : undefined;
      },
      members: () => this.pdMembers(),
    };
  }

  private async hostPdGroup(bootstrap: boolean): Promise<void> {
    if (this.systemGroup !== undefined || this.pdState === undefined) return;
    const state = this.pdState;
    const machine: SystemStateMachine = {
      range: PD_STATE_RANGE,
      apply: (data) => {
        let command: pdstatepb.PdCommand;
        try {
          command = pdstatepb.PdCommand.decode(data);
        } catch {
          return { writes: [], outcome: undefined };
        }
        const result = state.apply(command);
        return { writes: [...result], outcome: result.outcome };
      },
      reload: (pairs) => state.restore(pairs),
    };
    this.systemGroup = await this.store.hostSystemGroup({ memberId: this.memberId, members: this.pdMembers(), stateMachine: machine, bootstrap });
  }

  // ---- Init and join ------------------------------------------------------------------------------

  /** `cairn init`: bootstraps a new cluster on this node, exactly once. */
  init(): Promise<nodepb.IInitResponse> {
    if (this.initInFlight === undefined) {
      this.initInFlight = this.doInit().finally(() => (this.initInFlight = undefined));
    }
    return this.initInFlight;
  }

  private async doInit(): Promise<nodepb.IInitResponse> {
    if (this.identity.bootstrapped) return { alreadyInitialized: true, clusterId: this.identity.clusterId };
    if (!this.isPdMember) {
      throw new Error(`init must be sent to one of the --join nodes (${this.config.join.join(', ')}); ${this.config.advertise} is not one of them`);
    }
    if (this.identity.clusterId !== 0 && !this.identity.bootstrapping) {
      // This node already joined a cluster that another node initialised.
      return { alreadyInitialized: true, clusterId: this.identity.clusterId };
    }
    const clusterId = this.identity.clusterId !== 0 ? this.identity.clusterId : randomInt(1, 2 ** 48);
    this.log.info('initialising a new cluster', { clusterId });
    this.identity = { clusterId, storeId: BOOTSTRAP_STORE_ID, bootstrapped: false, bootstrapping: true };
    await writeIdentity(this.engine, this.identity);
    this.store.setIdentity(clusterId, BOOTSTRAP_STORE_ID);
    this.pdClient.close();
    this.pdClient = new PdClient({ endpoints: this.config.join, clusterId });
    await this.hostPdGroup(true);

    const region: metapb.IRegion = {
      id: BOOTSTRAP_REGION_ID,
      startKey: new Uint8Array(0),
      endKey: new Uint8Array(0),
      epoch: { confVer: 1, version: 1 },
      peers: [{ id: BOOTSTRAP_PEER_ID, storeId: BOOTSTRAP_STORE_ID, role: metapb.PeerRole.VOTER }],
    };
    if (!this.store.peers.has(BOOTSTRAP_REGION_ID)) await this.store.bootstrapRegion(region);
    // The placement driver needs a quorum of the --join nodes running; wait for it.
    const outcome = await this.withRetries('bootstrap the placement driver', () => this.pdClient.bootstrap(this.storeMeta(BOOTSTRAP_STORE_ID), region, { timeoutMs: 10_000 }), 120_000);
    this.log.info('placement driver bootstrapped', { clusterId, outcome: JSON.stringify(outcome) });
    this.identity = { ...this.identity, bootstrapped: true, bootstrapping: false };
    await writeIdentity(this.engine, this.identity);
    this.lastPdContactMs = Date.now();
    this.attachPlacement();
    return { alreadyInitialized: false, clusterId };
  }

  private storeMeta(storeId: number): metapb.IStore {
    return {
      id: storeId,
      address: this.config.advertise,
      httpAddress: `${this.config.http.host === '0.0.0.0' ? hostname() : this.config.http.host}:${this.config.http.port}`,
      state: metapb.StoreState.STORE_UP,
      version: BUILD_VERSION,
      startTimeMs: this.startedAtMs,
    };
  }

  private scheduleJoin(delayMs: number): void {
    if (this.stopping) return;
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.joinTimer = setTimeout(() => {
      this.joinStep().then(
        (done) => {
          if (!done) this.scheduleJoin(JOIN_POLL_MS);
        },
        (err: unknown) => {
          this.log.debug('joining: not yet', { error: err instanceof Error ? err.message : String(err) });
          this.scheduleJoin(JOIN_POLL_MS);
        },
      );
    }, delayMs);
    this.joinTimer.unref();
  }

  /** One step of joining; true once the node has a store id and is registered. */
  private async joinStep(): Promise<boolean> {
    if (this.identity.bootstrapping) return true; // init is running here
    if (this.identity.clusterId === 0) {
      // Ask the placement driver whether the cluster exists; it tells us its id.
      if (!(await this.pdClient.isBootstrapped({ timeoutMs: 2_000 }))) return false;
      const clusterId = this.pdClient.clusterId;
      if (clusterId === 0 || this.identity.clusterId !== 0) return false;
      this.identity = { ...this.identity, clusterId };
      await writeIdentity(this.engine, this.identity);
      this.store.setIdentity(clusterId, 0);
      if (this.isPdMember) await this.hostPdGroup(false);
    }
    if (this.identity.storeId === 0) {
      const ids = await this.pdClient.allocId(1, { timeoutMs: 5_000 });
      const storeId = Number(ids.first);
      this.identity = { ...this.identity, storeId };
      await writeIdentity(this.engine, this.identity);
      this.store.setIdentity(this.identity.clusterId, storeId);
      this.log.info('this node joined the cluster', { clusterId: this.identity.clusterId, storeId });
    }
    await this.pdClient.putStore(this.storeMeta(this.identity.storeId), { timeoutMs: 5_000 });
    this.lastPdContactMs = Date.now();
    this.attachPlacement();
    return true;
  }

  private attachPlacement(): void {
    if (this.placementAttached || this.stopping) return;
    this.placementAttached = true;
    this.heartbeatStream = this.pdClient.regionHeartbeatStream(
      (res) => {
        for (const h of this.heartbeatHandlers) h(res);
      },
      (err) => this.log.debug('region heartbeat stream error', { error: err instanceof Error ? err.message : String(err) }),
    );
    const placement: PlacementClient = {
      regionHeartbeat: (req) => {
        this.heartbeatStream?.send({ ...req, header: { clusterId: this.identity.clusterId } });
      },
      onOperator: (handler) => {
        this.heartbeatHandlers.push(handler);
      },
      askSplit: async (region) => {
        const ids = await this.pdClient.askSplit(region);
        return { newRegionId: ids.newRegionId, newPeerIds: [...ids.newPeerIds] };
      },
      reportSplit: (left, right) => this.pdClient.reportSplit(left, right),
      storeHeartbeat: async (stats) => {
        const { gcSafePoint } = await this.pdClient.storeHeartbeat({ ...stats, startTimeMs: this.startedAtMs }, { timeoutMs: 5_000 });
        this.lastPdContactMs = Date.now();
        return { gcSafePoint: composeTs(gcSafePoint.physical, gcSafePoint.logical) };
      },
      timestamp: async () => {
        const ts = await this.pdClient.getTimestamp({ timeoutMs: 5_000 });
        return composeTs(ts.physical, ts.logical);
      },
    };
    this.store.tasks.setPlacement(placement);
    // A new placement-driver leader starts knowing no Region leaders: tell it at once.
    let knownLeader = this.pdClient.leaderAddress;
    this.pdLeaderWatch = setInterval(() => {
      const now = this.pdClient.leaderAddress;
      if (now !== undefined && now !== knownLeader) {
        knownLeader = now;
        this.store.tasks.heartbeatAllLeaders();
      }
    }, 500);
    this.pdLeaderWatch.unref();
    this.refreshStoreAddresses();
    this.storeAddressRefresh = setInterval(() => this.refreshStoreAddresses(), STORE_ADDRESS_REFRESH_MS);
    this.storeAddressRefresh.unref();
  }

  private refreshStoreAddresses(): void {
    this.pdClient
      .getAllStores({ timeoutMs: 5_000 })
      .then((stores) => {
        for (const store of stores) {
          const id = Number(store.id ?? 0);
          if (id !== 0 && store.address) this.storeAddresses.set(id, store.address);
        }
      })
      .catch((err: unknown) => this.log.debug('could not refresh store addresses', { error: err instanceof Error ? err.message : String(err) }));
  }

  private async withRetries<T>(what: string, f: () => Promise<T>, totalMs: number): Promise<T> {
    const deadline = Date.now() + totalMs;
    let lastError: unknown;
    while (Date.now() < deadline && !this.stopping) {
      try {
        return await f();
      } catch (err) {
        lastError = err;
        this.log.info(`waiting to ${what}`, { error: err instanceof Error ? err.message : String(err) });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    throw new Error(`could not ${what}: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  }

  // ---- Store addresses ----------------------------------------------------------------------------

  private resolveStore(storeId: number): string | undefined {
    if (storeId === this.identity.storeId && storeId !== 0) return this.config.advertise;
    const known = this.storeAddresses.get(storeId);
    if (known !== undefined) return known;
    if (storeId !== 0 && !this.resolving.has(storeId) && this.identity.clusterId !== 0) {
      this.resolving.add(storeId);
      this.pdClient
        .getStore(storeId, { timeoutMs: 5_000 })
        .then((store) => {
          if (store?.address) this.storeAddresses.set(storeId, store.address);
        })
        .catch(() => {})
        .finally(() => this.resolving.delete(storeId));
    }
    return undefined;
  }

  // ---- Views --------------------------------------------------------------------------------------

  readiness(): { ready: boolean; reason: string } {
    if (this.store.fatalError) return { ready: false, reason: `the store stopped: ${this.store.fatalError.message}` };
    if (this.identity.clusterId === 0) return { ready: false, reason: 'not initialised: run cairn init against a --join node' };
    if (this.identity.storeId === 0 || !this.placementAttached) return { ready: false, reason: 'joining the cluster' };
    if (Date.now() - this.lastPdContactMs > READY_WINDOW_MS) return { ready: false, reason: 'no contact with a placement-driver quorum' };
    return { ready: true, reason: 'ok' };
  }

  statusJson(): unknown {
    const s = this.store.status();
    return {
      clusterId: this.identity.clusterId,
      storeId: this.identity.storeId,
      address: this.config.advertise,
      build: BUILD_VERSION,
      startedAtMs: this.startedAtMs,
      pdMember: this.memberId,
      pdLeader: this.systemGroup?.isLeader() ?? false,
      ...s,
      mvccGc: { removedVersions: this.kv?.txn.gcRemovedVersions ?? 0 },
      ready: this.readiness(),
    };
  }

  regionsJson(): unknown[] {
    const out: unknown[] = [];
    for (const peer of this.store.peers.values()) {
      if (peer.isSystem) continue;
      const r = peer.region;
      out.push({
        id: peer.groupId,
        start: Buffer.from(r.startKey ?? []).toString('hex'),
        end: Buffer.from(r.endKey ?? []).toString('hex'),
        epoch: { confVer: Number(r.epoch?.confVer ?? 0), version: Number(r.epoch?.version ?? 0) },
        peers: (r.peers ?? []).map((p) => ({ id: Number(p.id), storeId: Number(p.storeId), role: metapb.PeerRole[p.role ?? 0] })),
        leader: peer.isLeader(),
        hibernating: peer.hibernating,
        appliedIndex: peer.appliedIndex,
      });
    }
    return out;
  }

  get kvService(): KvService {
    return this.kv;
  }

  get storeHandle(): Store {
    return this.store;
  }

  // ---- Shutdown -----------------------------------------------------------------------------------

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.joinTimer) clearTimeout(this.joinTimer);
    if (this.pdLeaderWatch) clearInterval(this.pdLeaderWatch);
    if (this.storeAddressRefresh) clearInterval(this.storeAddressRefresh);
    this.log.info('node stopping');
    // SQL clients first: their statements need the store and the placement driver to finish.
    if (this.pgServer) await this.pgServer.close(SHUTDOWN_GRACE_MS).catch(() => {});
    this.log.debug('sql server closed');
    this.gateway?.stop();
    // Background commits of secondaries get the grace period; readers resolve what is left.
    await Promise.race([this.sqlTxns?.flush().catch(() => {}), new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS).unref())]);
    this.log.debug('sql transactions flushed');
    this.sqlKv?.close();
    for (const c of this.nodeClients.values()) c.close();
    this.heartbeatStream?.close();
    this.kv?.txn.stop();
    this.pdServer?.stop();
    // Calls in flight get a moment to finish; the long-lived streams of other nodes would keep a
    // graceful shutdown waiting for ever, so they are cut after it.
    const transport = this.transport;
    const closingStreams = transport?.close();
    if (this.grpcServer) {
      const server = this.grpcServer;
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    }
    if (this.httpServer) {
      const http = this.httpServer;
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      const force = setTimeout(() => http.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(force);
    }
    this.log.debug('servers closed');
    await this.store?.stop();
    this.log.debug('store stopped');
    await closingStreams;
    this.pdClient?.close();
    if (this.engine?.isOpen) await this.engine.close();
    this.log.info('node stopped');
  }
}
