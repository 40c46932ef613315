import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type AuthApp, startAuthApp } from "./helpers.js";

// POST /api/v1/observations with access control on: a credential is required, the writer role at least,
// and a key scoped to projects writes only to those; a refused body stores nothing.

const CONFIG = `
metrics:
  - { key: it.resolution_time, name: Resolution, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: alpha, name: Alpha }
  - { slug: beta, name: Beta }
`;

let t: AuthApp;
let reader: string;
let writer: string;
let alphaWriter: string;

beforeAll(async () => {
  t = await startAuthApp(CONFIG);
  reader = await t.key("bulk-reader", "READER", []);
  writer = await t.key("bulk-writer", "WRITER", []);
  alphaWriter = await t.key("bulk-alpha", "WRITER", ["alpha"]);
});
afterAll(async () => t?.stop());

const line = (slug: string, id: string) =>
  JSON.stringify({
    projectSlug: slug,
    metricKey: "it.resolution_time",
    observedAt: "2025-01-01T00:00:00Z",
    value: 3,
    externalId: id,
  });

async function post(secret: string | null, body: string) {
  const res = await fetch(`${t.url}/api/v1/observations`, {
    method: "POST",
    headers: {
      "content-type": "application/x-ndjson",
      ...(secret ? { authorization: `Bearer ${secret}` } : {}),
    },
    body,
  });
  return { status: res.status, json: (await res.json()) as any };
}

const stored = async () => Number((await t.app.db.ds.query(`SELECT count(*) AS n FROM observation`))[0].n);

describe("bulk ingest with access control on", () => {
  it("refuses a request without a credential (401) or below the writer role (403)", async () => {
    const none = await post(null, `${line("alpha", "a")}\n`);
    expect(none.status).toBe(401);
    expect(none.json.errors[0].extensions.code).toBe("UNAUTHENTICATED");
    const r = await post(reader, `${line("alpha", "a")}\n`);
    expect(r.status).toBe(403);
    expect(r.json.errors[0].extensions.code).toBe("FORBIDDEN");
    expect(await stored()).toBe(0);
  });

  it("a writer and the admin token may write", async () => {
    expect(await post(writer, `${line("alpha", "w1")}\n${line("beta", "w2")}\n`)).toEqual({
      status: 200,
      json: { inserted: 2, updated: 0 },
    });
    expect((await post(ADMIN_TOKEN, `${line("beta", "w3")}\n`)).json).toEqual({ inserted: 1, updated: 0 });
    expect(await stored()).toBe(3);
  });

  it("a key scoped to alpha may not write to beta: 403 naming the line, nothing stored", async () => {
    const before = await stored();
    const r = await post(alphaWriter, `${line("alpha", "s1")}\n${line("beta", "s2")}\n`);
    expect(r.status).toBe(403);
    expect(r.json.errors).toEqual([
      { line: 2, field: "projectSlug", message: expect.stringContaining("beta") },
    ]);
    expect(await stored()).toBe(before);
    expect((await post(alphaWriter, `${line("alpha", "s1")}\n`)).status).toBe(200);
  });
});
