// The Uplift server of the `bulk` benchmark, alone in a child process (`node --import tsx src/main.ts`, as
// `npm start`), so that its RSS and CPU are its own and not the benchmark's (which holds the body it sends).
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PROJECT_ROOT } from "../src/paths.js";
import { endChild, procStatusBytes, serverEnv, serverNodeFlags, TSX_IMPORT } from "./common.js";

export interface ServerProcess {
  pid: number;
  url: string;
  /** utime + stime of the server process, seconds (USER_HZ resolution). */
  cpuSeconds(): number;
  rss(): number;
  stop(): Promise<void>;
}

export async function startServerProcess(dbUrl: string, config: string): Promise<ServerProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-bench-bulk-"));
  const file = path.join(dir, "uplift.yaml");
  fs.writeFileSync(file, config);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--import",
      TSX_IMPORT,
      // BENCH_SERVER_CPU_PROF, BENCH_SERVER_FLAGS (bench/common.ts); BENCH_SERVER_LOG=1 copies the server's output.
      ...serverNodeFlags(),
      path.join(PROJECT_ROOT, "src", "main.ts"),
    ],
    {
      cwd: PROJECT_ROOT,
      env: serverEnv(dbUrl, file, dir),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  const stop = async () => {
    await endChild(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const onData = (c: Buffer) => {
        out = (out + c.toString()).slice(-20_000);
        if (process.env.BENCH_SERVER_LOG) process.stderr.write(c);
        // JSON log line (pino): {"msg":"Uplift is serving","graphql":"http://127.0.0.1:PORT/graphql"}.
        const m = /"graphql":"http:\/\/[^"]*:(\d+)\/graphql"/.exec(out);
        if (m) resolve(Number(m[1]));
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code) => reject(new Error(`uplift exited (${code}):\n${out}`)));
      setTimeout(() => reject(new Error(`uplift did not start within 120 s:\n${out}`)), 120_000).unref();
    });
    const pid = child.pid as number;
    return {
      pid,
      url: `http://127.0.0.1:${port}`,
      cpuSeconds() {
        const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
        return (Number(f[11]) + Number(f[12])) / 100;
      },
      rss: () => procStatusBytes(pid, "VmRSS"),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
