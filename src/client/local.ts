// The in-process path to a store. When the SQL gateway and a Region's leader live in the same
// process, going through gRPC would encode, send over loopback, decode and answer for nothing; the
// store registers itself with the RawKvClient through this interface instead and gets the request
// object as is. The contract is the same as the KV service's: the response carries a RegionError
// exactly when the store would have sent one over the network.

import type { kvpb } from '../proto/index.js';

export interface LocalKvHandler {
  /** The store this process hosts; requests for Regions led there are handed over directly. */
  readonly storeId: number;
  /**
   * Handles one request. The client does not encode it, so the handler must not keep or mutate it
   * after the returned promise settles; the response is read as a plain object (oneof discriminator
   * properties such as `cmd` are not needed).
   */
  handle(request: kvpb.IRequest): Promise<kvpb.IResponse>;
}
