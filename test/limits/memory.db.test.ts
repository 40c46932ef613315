import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeConfig } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { spawnUplift, type UpliftProcess } from "../helpers/process.js";

// The measurement: one 5 MB document grew the server's RSS from 177 MB to 553 MB. With the byte
// cap the document is refused before it is parsed; ten in parallel leave RSS within 100 MB of before.
const MB = 1024 * 1024;
let db: TestDatabase;
let p: UpliftProcess;
let port: number;
beforeAll(async () => {
  db = await createTestDatabase();
  p = spawnUplift({ DATABASE_URL: db.url, UPLIFT_CONFIG: writeConfig("metrics: []\n") });
  port = await p.ready;
});
afterAll(async () => {
  p?.child.kill("SIGTERM");
  await p?.exited;
  await db?.drop();
});

function rss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

/** A valid-looking 5 MB document: one field repeated, as an attacker would send. */
function fiveMegabyteDocument(i: number): string {
  const body = "metrics { key } ".repeat(Math.ceil((5 * MB) / 16));
  return `query Q${i} { ${body} }`;
}

async function post(query: string) {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe("memory under oversized documents", () => {
  it("ten parallel 5 MB documents are refused with 413 and leave RSS within 100 MB", async () => {
    // Warm up the paths the measurement uses, so that their code and buffers are in `before`.
    for (let i = 0; i < 3; i++) {
      expect((await post("{ metrics { key } }")).status).toBe(200);
      expect((await post(fiveMegabyteDocument(i).slice(0, 200_000))).status).toBe(413);
    }
    const before = rss(p.child.pid!);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post(fiveMegabyteDocument(i))));
    for (const a of answers) {
      expect(a.status).toBe(413);
      expect(a.body.errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
    }
    const after = rss(p.child.pid!);
    console.log(`RSS before ${Math.round(before / MB)} MB, after ${Math.round(after / MB)} MB`);
    expect(after - before).toBeLessThan(100 * MB);
    // And the server still serves.
    expect((await post("{ metrics { key } }")).body).toEqual({ data: { metrics: [] } });
  });
});
