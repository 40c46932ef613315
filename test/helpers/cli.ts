import { spawn } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { PROJECT_ROOT } from "../../src/paths.js";

/** Runs `npm run collect -- <args>`'s command (node --import tsx src/cli/collect.ts) to its end. */
export function runCollectCli(
  args: string[],
  env: Record<string, string | undefined>,
  cwd = PROJECT_ROOT,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  delete base.UPLIFT_CONFIG;
  delete base.VITEST;
  delete base.NODE_ENV;
  const tsx = pathToFileURL(path.join(PROJECT_ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
  const child = spawn(
    process.execPath,
    ["--import", tsx, path.join(PROJECT_ROOT, "src", "cli", "collect.ts"), ...args],
    {
      cwd,
      env: { ...base, TSX_TSCONFIG_PATH: path.join(PROJECT_ROOT, "tsconfig.json"), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}
