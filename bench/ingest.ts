// Ingest: recordObservations over HTTP (GraphQL variables, pre-serialised bodies, a few requests in flight)
// versus PostgreSQL's own COPY into the same table (the floor).
import http from "node:http";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { Dataset } from "./data.js";

export const RECORD_MUTATION =
  "mutation Record($input: [ObservationInput!]!) { recordObservations(input: $input) { inserted updated } }";

/** One JSON body per batch, serialised before any timing. */
export function buildBodies(d: Dataset, batchSize: number, projectSlug: string, metricKey: string): Buffer[] {
  const bodies: Buffer[] = [];
  for (let lo = 0; lo < d.n; lo += batchSize) {
    const hi = Math.min(d.n, lo + batchSize);
    const input = [];
    for (let i = lo; i < hi; i++) {
      input.push({
        projectSlug,
        metricKey,
        observedAt: new Date(d.observedAt[i]).toISOString(),
        value: d.value[i],
        weight: 1,
        externalId: d.externalId(i),
      });
    }
    bodies.push(Buffer.from(JSON.stringify({ query: RECORD_MUTATION, variables: { input } })));
  }
  return bodies;
}

function post(agent: http.Agent, url: URL, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export interface IngestRun {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** Per-request latency, ms (median and max). */
  latencyMedianMs: number;
  latencyMaxMs: number;
}

/** Sends every body with `concurrency` requests in flight; checks each answer. */
export async function ingestOverHttp(
  graphqlUrl: string,
  bodies: Buffer[],
  rowsPerBody: number[],
  concurrency: number,
): Promise<IngestRun> {
  const url = new URL(graphqlUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let next = 0;
  let rows = 0;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const i = next++;
          const t0 = performance.now();
          const res = await post(agent, url, bodies[i]);
          latencies.push(performance.now() - t0);
          const parsed = JSON.parse(res.text);
          const result = parsed?.data?.recordObservations;
          if (res.status !== 200 || !result || parsed.errors) {
            throw new Error(`batch ${i}: HTTP ${res.status} ${res.text.slice(0, 500)}`);
          }
          if (result.inserted + result.updated !== rowsPerBody[i]) {
            throw new Error(`batch ${i}: stored ${result.inserted}+${result.updated} of ${rowsPerBody[i]}`);
          }
          rows += result.inserted;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rows,
    seconds,
    rowsPerSecond: rows / seconds,
    latencyMedianMs: latencies[Math.floor(latencies.length / 2)],
    latencyMaxMs: latencies[latencies.length - 1],
  };
}

export const COPY_SQL =
  "COPY observation (project_id, metric_id, observed_at, value, weight, external_id) FROM STDIN";

/** COPY text format, in chunks of about 1 MB, built before any timing. */
export function buildCopyChunks(d: Dataset, projectId: string, metricId: string): Buffer[] {
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  let size = 0;
  for (let i = 0; i < d.n; i++) {
    const line = `${projectId}\t${metricId}\t${new Date(d.observedAt[i]).toISOString()}\t${d.value[i]}\t1\t${d.externalId(i)}\n`;
    lines.push(line);
    size += line.length;
    if (size >= 1 << 20) {
      chunks.push(Buffer.from(lines.join("")));
      lines = [];
      size = 0;
    }
  }
  if (lines.length) chunks.push(Buffer.from(lines.join("")));
  return chunks;
}

/**
 * COPY … FROM STDIN of the prepared chunks (its own transaction) on a connection opened beforehand, so the
 * timing holds no connection set-up and the backend's CPU stays visible until it is measured.
 */
export async function copyIn(client: pg.Client, chunks: Buffer[], expectedRows: number): Promise<IngestRun> {
  const started = performance.now();
  const stream = client.query(copyFrom(COPY_SQL));
  await pipeline(async function* () {
    yield* chunks;
  }, stream);
  const seconds = (performance.now() - started) / 1000;
  if (stream.rowCount !== expectedRows) throw new Error(`COPY stored ${stream.rowCount} of ${expectedRows}`);
  return {
    rows: stream.rowCount,
    seconds,
    rowsPerSecond: stream.rowCount / seconds,
    latencyMedianMs: Number.NaN,
    latencyMaxMs: Number.NaN,
  };
}
