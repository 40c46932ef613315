// Headless Chromium for the browser tests, from the npm registry alone: @sparticuz/chromium ships a
// Chromium build (brotli-compressed) inside its tarball. CHROMIUM_PATH overrides it.
//
// @sparticuz/chromium extracts into os.tmpdir() (a fixed /tmp/chromium, mode 0700, owned by whoever ran
// first), which breaks a second user on the same machine and races between parallel test files. So it
// runs here in a child process whose TMPDIR is a private folder of ours, created under a temporary name
// and renamed into place when complete: concurrent callers each extract and the first rename wins.
import { execFile } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { type Browser, chromium } from "playwright-core";

const require = createRequire(import.meta.url);

// Without the background-networking flags Chromium tries Google's hosts at every start. playwright-core
// gives every launch a fresh temporary profile (--user-data-dir) and adds --no-sandbox.
const COMMON_ARGS = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The installed @sparticuz/chromium: its version names the cache folder, its bin/ holds the archives. */
function sparticuz(): { version: string; dir: string } {
  // Its exports hide package.json: go up from the entry point (build/cjs/index.cjs).
  const dir = path.resolve(path.dirname(require.resolve("@sparticuz/chromium")), "..", "..");
  return { version: JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version, dir };
}

/** A folder only this user can write, for the extracted browser; null when `dir` is not one. */
function ownFolder(dir: string): string | null {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    const uid = process.getuid?.() ?? st.uid;
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) return null;
    fs.accessSync(dir, fs.constants.W_OK);
    return dir;
  } catch {
    return null;
  }
}

/**
 * Where the extracted browser lives: node_modules/.cache (goes with the install that shipped it), or a
 * per-user folder in the system's temporary directory when node_modules is not writable (another user's
 * checkout). A folder that another user could have planted is refused.
 */
function cacheRoot(pkgDir: string): string {
  const nodeModules = pkgDir.slice(0, pkgDir.lastIndexOf(`${path.sep}node_modules${path.sep}`) + 13);
  const inInstall = ownFolder(path.join(nodeModules, ".cache", "uplift-chromium"));
  if (inInstall) return inInstall;
  const perUser = ownFolder(path.join(os.tmpdir(), `uplift-chromium-${process.getuid?.() ?? "user"}`));
  if (perUser) return perUser;
  throw new Error(
    `no private folder to extract Chromium into (tried ${nodeModules}/.cache and ${os.tmpdir()})`,
  );
}

// Run with TMPDIR = the target folder; AWS_LAMBDA_JS_RUNTIME makes it also extract al2023/lib (NSS and
// expat), so a machine without libnss3 can run the browser (see LD_LIBRARY_PATH below).
const EXTRACT = `import c from "@sparticuz/chromium"; process.stdout.write(await c.executablePath());`;

async function extract(pkgDir: string, target: string): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  fs.mkdirSync(tmp, { mode: 0o700 });
  try {
    await promisify(execFile)(process.execPath, ["--input-type=module", "-e", EXTRACT], {
      cwd: pkgDir,
      env: { ...process.env, TMPDIR: tmp, AWS_LAMBDA_JS_RUNTIME: "nodejs20.x" },
      timeout: 300_000,
    });
    // Our own font configuration: the system's fonts when there are any (Open Sans lacks ✓, ✗ and →), and
    // the ones shipped with the browser, so that a machine without any fonts still renders text.
    fs.writeFileSync(
      path.join(tmp, "fonts", "uplift-fonts.conf"),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n` +
        `  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n` +
        `  <dir>${path.join(target, "fonts", "fonts")}</dir>\n` +
        `  <cachedir>${path.join(target, "fonts-cache")}</cachedir>\n</fontconfig>\n`,
    );
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another process renamed its copy into place first: use that one.
    if (fs.existsSync(path.join(target, "chromium"))) return;
    throw e;
  }
}

export interface ChromiumInstall {
  executablePath: string;
  args: string[];
  env: Record<string, string>;
  /** Where it came from, for messages. */
  source: string;
}

/** CHROMIUM_PATH when set, else the browser from @sparticuz/chromium, extracted once per user. */
export async function findChromium(): Promise<ChromiumInstall> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  if (process.env.CHROMIUM_PATH) {
    return { executablePath: process.env.CHROMIUM_PATH, args: COMMON_ARGS, env, source: "CHROMIUM_PATH" };
  }
  const { version, dir } = sparticuz();
  const target = path.join(cacheRoot(dir), version);
  if (!fs.existsSync(path.join(target, "chromium"))) await extract(dir, target);
  const lib = path.join(target, "al2023", "lib");
  return {
    executablePath: path.join(target, "chromium"),
    // This build is chrome-headless-shell; its software GL (SwiftShader) sits next to the binary.
    args: [...COMMON_ARGS, "--no-zygote", "--use-gl=angle", "--use-angle=swiftshader"],
    env: {
      ...env,
      FONTCONFIG_FILE: path.join(target, "fonts", "uplift-fonts.conf"),
      LD_LIBRARY_PATH: [lib, env.LD_LIBRARY_PATH].filter(Boolean).join(":"),
    },
    source: `@sparticuz/chromium ${version} in ${target}`,
  };
}

/** Starts headless Chromium (see findChromium). */
export async function launchChromium(): Promise<Browser> {
  const c = await findChromium();
  try {
    return await chromium.launch({
      executablePath: c.executablePath,
      args: c.args,
      env: c.env,
      headless: true,
    });
  } catch (e) {
    throw new Error(`starting Chromium (${c.source}) failed: ${(e as Error).message}`);
  }
}
