import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { PROJECT_ROOT } from "../../src/paths.js";

export interface UpliftProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the port once the process logs that it is serving. */
  ready: Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The "serving" log line, as JSON (pino) or as the older text format. */
export const SERVING =
  /"msg":"Uplift is serving"[^\n]*"graphql":"http:\/\/[^"]*:(\d+)\/graphql"|"graphql":"http:\/\/[^"]*:(\d+)\/graphql"[^\n]*"msg":"Uplift is serving"|Uplift is serving graphql=http:\/\/[^:]+:(\d+)\/graphql/;

/** Runs `src/main.ts` as `npm start` does (node --import tsx), in its own process. */
export function spawnUplift(env: Record<string, string | undefined>, cwd = PROJECT_ROOT): UpliftProcess {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  delete base.VITEST;
  delete base.NODE_ENV; // vitest sets "test", which changes library behaviour (Apollo's signal handlers)
  // tsx resolved from the project, so that the working directory can be any folder.
  const tsx = pathToFileURL(path.join(PROJECT_ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
  const child = spawn(process.execPath, ["--import", tsx, path.join(PROJECT_ROOT, "src", "main.ts")], {
    cwd,
    env: {
      ...base,
      TSX_TSCONFIG_PATH: path.join(PROJECT_ROOT, "tsconfig.json"), // tsx reads it from the cwd otherwise
      LOG_LEVEL: "info",
      PORT: "0",
      UPLIFT_SCHEDULER: "off",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<number>((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = SERVING.exec(out);
      if (m) resolve(Number(m[1] ?? m[2] ?? m[3]));
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then(({ code }) => reject(new Error(`uplift exited (${code}) before serving:\n${out}`)));
  });
  ready.catch(() => undefined);
  return { child, output: () => out, ready, exited };
}

/** PIDs of live postgres processes whose command line names `dir`. */
export function postgresProcessesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes("postgres") && cmd.includes(dir)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export async function gqlAt(port: number, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as any;
}
