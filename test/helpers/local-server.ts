import http from "node:http";
import type { AddressInfo } from "node:net";

export interface LocalServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every request path (with query) received, in order. */
  requests: { path: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** A throw-away HTTP server on 127.0.0.1 and a free port, for collector tests against fake sources. */
export async function startLocalServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void,
): Promise<LocalServer> {
  const requests: LocalServer["requests"] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push({ path: `${url.pathname}${url.search}`, headers: req.headers });
    try {
      handler(req, res, url);
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

export function sendJson(
  res: http.ServerResponse,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(200, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}
