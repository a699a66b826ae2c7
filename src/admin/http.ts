// The admin HTTP endpoint: liveness and readiness for orchestrators, and a JSON view of the node.
// It reads only what the server hands it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface AdminView {
  /** Ready to serve: initialised and in contact with a quorum of the placement driver. */
  ready(): { ready: boolean; reason: string };
  /** A JSON-serialisable description of the node. */
  status(): unknown;
  /** JSON lines of the Regions this node holds. */
  regions(): unknown[];
}

/** Bound on request bodies we read (we accept none) and on header wait. */
const REQUEST_TIMEOUT_MS = 10_000;

export function startAdminServer(address: { host: string; port: number }, view: AdminView): Promise<Server> {
  const server = createServer((req, res) => handle(req, res, view));
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function handle(req: IncomingMessage, res: ServerResponse, view: AdminView): void {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    send(res, 400, { error: 'malformed request URL' });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, { error: `method ${req.method} not allowed` });
    return;
  }
  try {
    switch (url.pathname) {
      case '/health': {
        if (url.searchParams.get('ready') === '1' || url.searchParams.get('ready') === 'true') {
          const r = view.ready();
          send(res, r.ready ? 200 : 503, r);
        } else {
          send(res, 200, { alive: true });
        }
        return;
      }
      case '/_status/node':
        send(res, 200, view.status());
        return;
      case '/_status/regions':
        send(res, 200, view.regions());
        return;
      default:
        send(res, 404, { error: `no such endpoint ${url.pathname}` });
    }
  } catch (err) {
    send(res, 500, { error: err instanceof Error ? err.message : String(err) });
  }
}
