// Warm-request load for the serving benchmarks: one POST body sent over keep-alive connections (node:http
// Agent), either one request at a time (latency percentiles) or from N concurrent clients (requests/s),
// with the CPU it cost (Node + PostgreSQL) divided per request.
import http from "node:http";
import type { CpuMeter } from "./cpu.js";

export interface LoadResult {
  requests: number;
  connections: number;
  seconds: number;
  perSecond: number;
  /** Latencies in ms, in the order requests finished. */
  latencies: number[];
  /** CPU (Node + PostgreSQL) per request, ms; Node's alone. Node includes this client. */
  cpuPerRequestMs: number;
  nodeCpuPerRequestMs: number;
}

/** One POST on a keep-alive agent; resolves with the body, rejects on a non-200 or a GraphQL error. */
function post(agent: http.Agent, url: URL, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200 || text.includes('"errors"'))
            reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 500)}`));
          else resolve(text);
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * `requests` POSTs of `body` to `url` from `connections` concurrent clients, each on its own keep-alive
 * connection. `check` sees the first answer (the caller verifies the figures once).
 */
export async function httpLoad(
  url: string,
  body: string,
  opts: { requests: number; connections: number; cpu: CpuMeter; check?: (answer: string) => void },
): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const u = new URL(url);
  const buf = Buffer.from(body);
  try {
    // Open the connections (and check the answer) before timing.
    const first = await Promise.all(Array.from({ length: opts.connections }, () => post(agent, u, buf)));
    opts.check?.(first[0]!);
    const latencies: number[] = [];
    let sent = 0;
    const c0 = opts.cpu.snapshot();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: opts.connections }, async () => {
        while (sent < opts.requests) {
          sent++;
          const s = performance.now();
          await post(agent, u, buf);
          latencies.push(performance.now() - s);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = (opts.cpu.constructor as typeof CpuMeter).delta(c0, opts.cpu.snapshot());
    return {
      requests: latencies.length,
      connections: opts.connections,
      seconds,
      perSecond: latencies.length / seconds,
      latencies,
      cpuPerRequestMs: cpu.totalMs / latencies.length,
      nodeCpuPerRequestMs: cpu.nodeMs / latencies.length,
    };
  } finally {
    agent.destroy();
  }
}

/** The q-quantile (0..1) of xs, nearest rank. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
