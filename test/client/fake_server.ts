// gRPC server plumbing for the fake cluster: bind on loopback (port 0 = any free port), shut down
// hard, and wrap unary handlers so a thrown error becomes an INTERNAL status.

import * as grpc from '@grpc/grpc-js';

export async function bindServer(server: grpc.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });
}

export function unaryHandler<Req, Res>(handle: (request: Req) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => handle(call.request))
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback({ code: grpc.status.INTERNAL, details: String(error) }),
      );
  };
}

/** Fails a server stream with a status, as a crashing or demoted server would. */
export function failStream(call: grpc.ServerDuplexStream<unknown, unknown>, code: grpc.status, details: string): void {
  call.emit('error', { code, details });
}
