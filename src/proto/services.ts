// gRPC service definitions for the services in proto/*.proto, built on the generated static
// message classes. Servers and clients in every layer use these; nothing else names a method path.
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { kvpb, nodepb, pdpb, raftpb } from './index.js';

/** The encode/decode pair of a generated message class. */
interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(data: Uint8Array): T;
}

function method<Req, Res>(
  path: string,
  request: Codec<Req>,
  response: Codec<Res>,
  requestStream: boolean,
  responseStream: boolean,
): MethodDefinition<Req, Res> {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: (m: Req) => Buffer.from(request.encode(m).finish()),
    requestDeserialize: (b: Buffer) => request.decode(b),
    responseSerialize: (m: Res) => Buffer.from(response.encode(m).finish()),
    responseDeserialize: (b: Buffer) => response.decode(b),
  };
}

const unary = <Req, Res>(path: string, req: Codec<Req>, res: Codec<Res>) => method(path, req, res, false, false);

export const RaftTransportService = {
  raft: method<raftpb.IRaftBatch, raftpb.IDone>('/cairn.raft.RaftTransport/Raft', raftpb.RaftBatch, raftpb.Done, true, false),
  snapshot: method<raftpb.ISnapshotChunk, raftpb.IDone>(
    '/cairn.raft.RaftTransport/Snapshot',
    raftpb.SnapshotChunk,
    raftpb.Done,
    true,
    false,
  ),
} satisfies ServiceDefinition;

export const KvService = {
  get: unary<kvpb.IGetRequest, kvpb.IGetResponse>('/cairn.kv.Kv/Get', kvpb.GetRequest, kvpb.GetResponse),
  batchGet: unary<kvpb.IBatchGetRequest, kvpb.IBatchGetResponse>('/cairn.kv.Kv/BatchGet', kvpb.BatchGetRequest, kvpb.BatchGetResponse),
  scan: unary<kvpb.IScanRequest, kvpb.IScanResponse>('/cairn.kv.Kv/Scan', kvpb.ScanRequest, kvpb.ScanResponse),
  batchWrite: unary<kvpb.IBatchWriteRequest, kvpb.IBatchWriteResponse>(
    '/cairn.kv.Kv/BatchWrite',
    kvpb.BatchWriteRequest,
    kvpb.BatchWriteResponse,
  ),
  batchCommands: method<kvpb.IBatchCommandsRequest, kvpb.IBatchCommandsResponse>(
    '/cairn.kv.Kv/BatchCommands',
    kvpb.BatchCommandsRequest,
    kvpb.BatchCommandsResponse,
    true,
    true,
  ),
} satisfies ServiceDefinition;

export const PdService = {
  getMembers: unary<pdpb.IGetMembersRequest, pdpb.IGetMembersResponse>('/cairn.pd.Pd/GetMembers', pdpb.GetMembersRequest, pdpb.GetMembersResponse),
  bootstrap: unary<pdpb.IBootstrapRequest, pdpb.IBootstrapResponse>('/cairn.pd.Pd/Bootstrap', pdpb.BootstrapRequest, pdpb.BootstrapResponse),
  isBootstrapped: unary<pdpb.IIsBootstrappedRequest, pdpb.IIsBootstrappedResponse>(
    '/cairn.pd.Pd/IsBootstrapped',
    pdpb.IsBootstrappedRequest,
    pdpb.IsBootstrappedResponse,
  ),
  allocId: unary<pdpb.IAllocIDRequest, pdpb.IAllocIDResponse>('/cairn.pd.Pd/AllocID', pdpb.AllocIDRequest, pdpb.AllocIDResponse),
  tso: method<pdpb.ITsoRequest, pdpb.ITsoResponse>('/cairn.pd.Pd/Tso', pdpb.TsoRequest, pdpb.TsoResponse, true, true),
  getRegion: unary<pdpb.IGetRegionRequest, pdpb.IGetRegionResponse>('/cairn.pd.Pd/GetRegion', pdpb.GetRegionRequest, pdpb.GetRegionResponse),
  getRegionById: unary<pdpb.IGetRegionByIDRequest, pdpb.IGetRegionResponse>(
    '/cairn.pd.Pd/GetRegionByID',
    pdpb.GetRegionByIDRequest,
    pdpb.GetRegionResponse,
  ),
  scanRegions: unary<pdpb.IScanRegionsRequest, pdpb.IScanRegionsResponse>(
    '/cairn.pd.Pd/ScanRegions',
    pdpb.ScanRegionsRequest,
    pdpb.ScanRegionsResponse,
  ),
  getStore: unary<pdpb.IGetStoreRequest, pdpb.IGetStoreResponse>('/cairn.pd.Pd/GetStore', pdpb.GetStoreRequest, pdpb.GetStoreResponse),
  getAllStores: unary<pdpb.IGetAllStoresRequest, pdpb.IGetAllStoresResponse>(
    '/cairn.pd.Pd/GetAllStores',
    pdpb.GetAllStoresRequest,
    pdpb.GetAllStoresResponse,
  ),
  putStore: unary<pdpb.IPutStoreRequest, pdpb.IPutStoreResponse>('/cairn.pd.Pd/PutStore', pdpb.PutStoreRequest, pdpb.PutStoreResponse),
  storeHeartbeat: unary<pdpb.IStoreHeartbeatRequest, pdpb.IStoreHeartbeatResponse>(
    '/cairn.pd.Pd/StoreHeartbeat',
    pdpb.StoreHeartbeatRequest,
    pdpb.StoreHeartbeatResponse,
  ),
  regionHeartbeat: method<pdpb.IRegionHeartbeatRequest, pdpb.IRegionHeartbeatResponse>(
    '/cairn.pd.Pd/RegionHeartbeat',
    pdpb.RegionHeartbeatRequest,
    pdpb.RegionHeartbeatResponse,
    true,
    true,
  ),
  askSplit: unary<pdpb.IAskSplitRequest, pdpb.IAskSplitResponse>('/cairn.pd.Pd/AskSplit', pdpb.AskSplitRequest, pdpb.AskSplitResponse),
  reportSplit: unary<pdpb.IReportSplitRequest, pdpb.IReportSplitResponse>(
    '/cairn.pd.Pd/ReportSplit',
    pdpb.ReportSplitRequest,
    pdpb.ReportSplitResponse,
  ),
} satisfies ServiceDefinition;

export const NodeService = {
  init: unary<nodepb.IInitRequest, nodepb.IInitResponse>('/cairn.node.Node/Init', nodepb.InitRequest, nodepb.InitResponse),
  status: unary<nodepb.INodeStatusRequest, nodepb.INodeStatusResponse>('/cairn.node.Node/Status', nodepb.NodeStatusRequest, nodepb.NodeStatusResponse),
  schemaChanged: unary<nodepb.ISchemaChangedRequest, nodepb.ISchemaChangedResponse>(
    '/cairn.node.Node/SchemaChanged',
    nodepb.SchemaChangedRequest,
    nodepb.SchemaChangedResponse,
  ),
} satisfies ServiceDefinition;

/**
 * Bounds applied to every channel and server: a message larger than this is refused by gRPC
 * with RESOURCE_EXHAUSTED rather than buffered. Snapshot data travels in chunks well below it.
 */
export const MAX_GRPC_MESSAGE_BYTES = 64 << 20;

export const GRPC_CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': MAX_GRPC_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_GRPC_MESSAGE_BYTES,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_time_between_pings_ms': 5_000,
  'grpc.http2.max_pings_without_data': 0,
} as const;
