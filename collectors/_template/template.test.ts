// The template's own test, a pattern for yours: a local fake of the source (node:http on 127.0.0.1 and
// a free port) answering in the vendor's documented format, the collector driven directly with a context
// (test/helpers/drive-collector.ts), and expected figures worked out by hand.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contextFor, drive, lastCursor, parseExample } from "../../test/helpers/drive-collector.js";
import { type LocalServer, sendJson, startLocalServer } from "../../test/helpers/local-server.js";
import { templateCollector } from "./index.js";

const here = path.dirname(fileURLToPath(import.meta.url));

const TICKETS = [
  {
    id: 101,
    created_at: "2025-03-01T10:00:00Z",
    resolved_at: "2025-03-01T10:45:30Z",
    updated_at: "2025-03-01T10:45:30Z",
    team: "emea",
  },
  { id: 102, created_at: "2025-03-01T11:00:00Z", resolved_at: null, updated_at: "2025-03-01T11:05:00Z" },
  {
    id: 103,
    created_at: "yesterday",
    resolved_at: "2025-03-01T12:00:00Z",
    updated_at: "2025-03-01T12:00:00Z",
  },
  {
    id: "104",
    created_at: "2025-03-01T12:00:00+01:00",
    resolved_at: "2025-03-01T13:00:00Z",
    updated_at: "2025-03-01T13:00:00Z",
  },
];

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer((req, res, url) => {
    if (url.pathname !== "/api/tickets") return void res.writeHead(404).end();
    if (req.headers.authorization !== "Bearer t0ken") return void res.writeHead(401).end();
    const since = url.searchParams.get("updated_since") ?? "";
    const page = Number(url.searchParams.get("page"));
    const per = Number(url.searchParams.get("per_page"));
    const all = TICKETS.filter((t) => t.updated_at >= since);
    const tickets = all.slice((page - 1) * per, page * per);
    sendJson(res, { total: all.length, tickets, next_page: page * per < all.length ? page + 1 : null });
  });
});
afterAll(() => server.close());

describe("template collector", () => {
  const options = () => ({ baseUrl: server.url, token: "t0ken", since: "2025-01-01T00:00:00Z", pageSize: 2 });

  it("gives resolution minutes, skips unresolved tickets, rejects unreadable ones, and checkpoints each page", async () => {
    let total: number | null = null;
    const ctx = {
      ...contextFor(templateCollector, options()),
      reportTotal: (n: number) => {
        total = n;
      },
    };
    const records = [];
    for await (const r of templateCollector.collect(ctx)) records.push(r);
    expect(records).toEqual([
      {
        externalId: "101",
        observedAt: new Date("2025-03-01T10:45:30Z"),
        value: 45.5,
        dimensions: { team: "emea" },
      },
      { kind: "checkpoint", cursor: "2025-03-01T11:05:00Z" },
      {
        kind: "rejected",
        externalId: "103",
        reason: "ticket 103: unreadable id, created_at or resolved_at",
      },
      { externalId: "104", observedAt: new Date("2025-03-01T13:00:00Z"), value: 120 },
      { kind: "checkpoint", cursor: "2025-03-01T13:00:00Z" },
    ]);
    expect(total).toBe(4);
    expect(server.requests.at(-1)!.path).toBe(
      "/api/tickets?page=2&per_page=2&updated_since=2025-01-01T00%3A00%3A00.000Z",
    );
  });

  it("resumes from the committed cursor", async () => {
    const first = await drive(templateCollector, options());
    const again = await drive(templateCollector, options(), { cursor: lastCursor(first) });
    expect(again).toEqual([
      { externalId: "104", observedAt: new Date("2025-03-01T13:00:00Z"), value: 120 },
      { kind: "checkpoint", cursor: "2025-03-01T13:00:00Z" },
    ]);
  });

  it("fails the run on bad credentials", async () => {
    await expect(drive(templateCollector, { ...options(), token: "nope" })).rejects.toThrow(/401/);
  });

  it("accepts its example.yaml", () => {
    const [o] = parseExample(templateCollector, path.join(here, "example.yaml"), { TICKETS_TOKEN: "t" });
    expect(o!.pageSize).toBe(100);
  });
});
