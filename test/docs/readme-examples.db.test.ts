// Every README example that calls the API runs as written, against the server `npm start` runs (the
// bundled demo on a fresh database), with only the port changed, and answers JSON with `data` and
// without `errors`.
//
// Which blocks: every ```sh block whose commands (comments aside) name the API's address
// (http://127.0.0.1:4000 or http://localhost:4000). It runs in bash (-euo pipefail) with a bare environment (PATH, HOME, LANG), so
// it cannot lean on the reader's shell.
//
// Examples that need an API key: write the key as "$UPLIFT_KEY" in the block (for example
// `-H "authorization: Bearer $UPLIFT_KEY"`), and say in the text around it how to make one. Such a
// block is run with UPLIFT_KEY set to a key that apiKey() below makes; a block without $UPLIFT_KEY gets
// no key, so it has to work as auth-off on 127.0.0.1 does by default.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../src/paths.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { spawnUplift, type UpliftProcess } from "../helpers/process.js";
import { API_ADDRESS, apiExamples, jsonDocuments, problemWith } from "../helpers/readme-examples.js";

const README = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
const NEEDS_KEY = /\$\{?UPLIFT_KEY\b/;

/**
 * A key for blocks that use $UPLIFT_KEY. The README's API examples run against the default open server
 * (npm start on 127.0.0.1), so none uses one today; creating a key would turn auth on for every other
 * block. A block that needs one must come with a server started with auth on, made here: until then
 * this refuses it by name rather than letting it fail with 401.
 */
function apiKey(): string {
  throw new Error(
    "a README example uses $UPLIFT_KEY, but this test cannot make API keys yet: implement apiKey() in " +
      "test/docs/readme-examples.db.test.ts",
  );
}

function runBash(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-euo", "pipefail", "-c", script], {
      cwd: os.tmpdir(), // not the checkout: an example is no place to change it
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

const examples = apiExamples(README);

describe("the README's API examples, run as written", () => {
  let db: TestDatabase;
  let server: UpliftProcess;
  let port: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    // `npm start` from a folder without uplift.yaml serves the bundled demo, as the README describes.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-readme-"));
    server = spawnUplift({ DATABASE_URL: db.url }, dir);
    port = await server.ready;
  });

  afterAll(async () => {
    if (server) {
      server.child.kill("SIGTERM");
      await server.exited;
    }
    await db?.drop();
  });

  it("finds them (the project's first query and the portfolio)", () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  it.each(examples)("README.md line $line", async ({ script }) => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: os.homedir(),
      LANG: "C.UTF-8",
    };
    if (NEEDS_KEY.test(script)) env.UPLIFT_KEY = apiKey();
    const run = await runBash(
      script.replace(API_ADDRESS, (_, host) => `http://${host}:${port}`),
      env,
    );
    expect(run.err, "stderr").toBe("");
    expect(run.code, "exit code").toBe(0);
    const answers = jsonDocuments(run.out);
    expect(answers.length, run.out).toBeGreaterThan(0);
    expect(answers.map(problemWith), run.out).toEqual(answers.map(() => null));
  });
});

describe("the checks the examples go through", () => {
  it("finds only sh blocks that name the API's address, with their line", () => {
    const md =
      "# x\n```sh\nnpm start  # API on http://127.0.0.1:4000/graphql\n```\n\n```sh\ncurl -s http://localhost:4000/graphql\n```\n" +
      "```js\nfetch('http://127.0.0.1:4000/graphql')\n```\n";
    expect(apiExamples(md)).toEqual([{ line: 6, script: "curl -s http://localhost:4000/graphql\n" }]);
  });

  it("reads JSON documents printed back to back, and refuses anything else", () => {
    expect(jsonDocuments('{"data":{"a":"}{"}}{"data":{}}\n')).toEqual([{ data: { a: "}{" } }, { data: {} }]);
    expect(() => jsonDocuments("malformed JSON body: Bad control character")).toThrow(/not JSON/);
    expect(() => jsonDocuments('{"data":')).toThrow(/incomplete/);
  });

  it("accepts data without errors only", () => {
    expect(problemWith({ data: { project: null } })).toBeNull();
    expect(problemWith({ data: null, errors: [{ message: "x" }] })).toMatch(/^errors/);
    expect(problemWith({ data: { a: 1 }, errors: [] })).toMatch(/^errors/);
    expect(problemWith({ errors: [{ message: "malformed JSON body" }] })).toMatch(/^errors/);
    expect(problemWith({})).toBe("no data");
    expect(problemWith([])).toBe("not a JSON object");
  });
});
