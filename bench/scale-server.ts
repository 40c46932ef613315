// The `scale` benchmark's Uplift in a child process (`src/main.ts`, as `npm start`), so its CPU and memory are
// its own and the load generator does not share its event loop; CPU of a step for the server, PostgreSQL and
// the client; keep-alive HTTP of pre-serialised bodies.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { PROJECT_ROOT } from "../src/paths.js";
import { endChild, serverEnv, serverNodeFlags, sleep, TSX_IMPORT } from "./common.js";
import { CpuMeter } from "./cpu.js";
import { config } from "./scale-data.js";

export interface Server {
  pid: number;
  url: string;
  /** The end of its log (JSON lines), for an error message. */
  logTail(): string;
  /** utime + stime of the whole process (every thread), ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startServer(dbUrl: string, dir: string): Promise<Server> {
  const file = path.join(dir, "uplift.yaml");
  fs.writeFileSync(file, config());
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", TSX_IMPORT, ...serverNodeFlags(), path.join(PROJECT_ROOT, "src", "main.ts")],
    {
      cwd: PROJECT_ROOT,
      env: serverEnv(dbUrl, file, dir, {
        // The API's statement_timeout as shipped (30 s) unless BENCH_SCALE_STATEMENT_TIMEOUT_MS says otherwise:
        // bulk ingest merges in chunks, each statement bounded by the chunk. (Before the chunks, one merge of
        // 1,000,000 rows overran it at load 10; bench/RESULTS.md, scale.)
        ...(process.env.BENCH_SCALE_STATEMENT_TIMEOUT_MS
          ? { UPLIFT_STATEMENT_TIMEOUT_MS: process.env.BENCH_SCALE_STATEMENT_TIMEOUT_MS }
          : {}),
      }),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  const keep = (c: Buffer) => {
    out = (out + c.toString()).slice(-200_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const deadline = Date.now() + 300_000;
  let port = 0;
  while (!port) {
    const m = /"graphql":"http:\/\/[^"]*:(\d+)\/graphql"/.exec(out);
    if (m) port = Number(m[1]);
    else if (child.exitCode !== null) throw new Error(`uplift exited (${child.exitCode}):\n${out}`);
    else if (Date.now() > deadline) {
      await endChild(child);
      throw new Error(`uplift did not start within 300 s:\n${out}`);
    }
    await sleep(100);
  }
  const pid = child.pid!;
  return {
    pid,
    url: `http://127.0.0.1:${port}`,
    cpuMs() {
      const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, USER_HZ
    },
    logTail: () => out.slice(-4000),
    stop: () => endChild(child),
  };
}

/** CPU of one step: the server child, PostgreSQL, and this process (the client), ms. */
export interface Cpu {
  server: number;
  pg: number;
  client: number;
}

export async function timed<T>(
  server: Server,
  meter: CpuMeter,
  fn: () => Promise<T>,
): Promise<[number, Cpu, T]> {
  const s0 = server.cpuMs();
  const c0 = meter.snapshot();
  const t0 = performance.now();
  const v = await fn();
  const wall = performance.now() - t0;
  const c1 = meter.snapshot();
  const d = CpuMeter.delta(c0, c1);
  return [wall, { server: server.cpuMs() - s0, pg: d.pgMs ?? Number.NaN, client: d.nodeMs }, v];
}

// ---------------------------------------------------------------------------------------------------------
// HTTP: keep-alive POSTs of pre-serialised bodies

export function post(agent: http.Agent, url: URL, body: Buffer, type = "application/json"): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", agent, headers: { "content-type": type, "content-length": body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 500)}`));
          else resolve(text);
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export async function graphql(agent: http.Agent, url: URL, body: Buffer): Promise<any> {
  const json = JSON.parse(await post(agent, url, body));
  if (json.errors) throw new Error(`GraphQL errors: ${JSON.stringify(json.errors).slice(0, 1000)}`);
  return json.data;
}

export const gqlBody = (query: string, variables: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ query, variables }));

/** A streamed NDJSON POST (chunks written as the socket drains). */
export function postStream(url: URL, chunks: Buffer[]): Promise<{ inserted: number; updated: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", headers: { "content-type": "application/x-ndjson" } },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(JSON.parse(text))
            : reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 500)}`)),
        );
      },
    );
    req.on("error", reject);
    let i = 0;
    const pump = () => {
      while (i < chunks.length) if (!req.write(chunks[i++])) return void req.once("drain", pump);
      req.end();
    };
    pump();
  });
}
