import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SourceError } from "../../src/collect/http-client.js";
import type { SourceRecord } from "../../src/collect/types.js";
import { contextFor, drive, parseExample } from "../../test/helpers/drive-collector.js";
import { type LocalServer, sendJson, startLocalServer } from "../../test/helpers/local-server.js";
import { compareCursors, httpJsonCollector, httpJsonOptions, nextFromLinkHeader } from "./index.js";
import { compileJsonPath, queryAll, queryOne } from "./jsonpath.js";

const here = path.dirname(fileURLToPath(import.meta.url));

// ---- the fake source -------------------------------------------------------------------------------

/** Tickets served 2 per page with Link headers (page 2's link is relative, with several rels). */
const TICKETS = [
  { id: 1, closed_at: "2025-03-01T10:00:00Z", minutes: 12.5, team: "emea" },
  { id: "A-2", closed_at: "2025-03-01T12:00:00+02:00", minutes: "7", team: "apac", calls: 3 },
  { id: 3, closed_at: 1740830400000, minutes: 3, team: null },
  { id: 4, closed_at: "2025-03-02T00:00:00.250Z", minutes: -0.5, team: 7 },
  { id: 5, closed_at: "2025-03-03T08:30:00-05:00", minutes: "1e2", team: "emea" },
];

/** Events for the cursor tests: ascending updated_at, with a tie (e2, e3) across a page boundary. */
const EVENTS = [
  { id: "e1", at: "2025-01-01T00:00:00Z", updated_at: "2025-02-01T00:00:00Z", v: 1 },
  { id: "e2", at: "2025-01-02T00:00:00Z", updated_at: "2025-02-02T00:00:00Z", v: 2 },
  { id: "e3", at: "2025-01-03T00:00:00Z", updated_at: "2025-02-02T00:00:00Z", v: 3 },
  { id: "e4", at: "2025-01-04T00:00:00Z", updated_at: "2025-02-03T00:00:00Z", v: 4 },
  { id: "e5", at: "2025-01-05T00:00:00Z", updated_at: "2025-02-04T00:00:00Z", v: 5 },
];

const BAD = [
  { id: 1, at: "2025-03-01T00:00:00Z", v: "n/a" },
  { id: 2, at: "yesterday", v: 1 },
  { id: 3, at: "2025-03-01T00:00:00", v: 1 },
  { id: 4, v: 1 },
  { at: "2025-03-01T00:00:00Z", v: 1 },
  { id: 6, at: "2025-03-01T00:00:00Z", v: 5, w: "heavy" },
  { id: 7, at: "2025-03-01T00:00:00Z", v: "1e3", w: "2" },
  { id: 8, at: "2025-03-01T00:00:00Z", v: null },
  { id: 9, at: "2025-03-01T00:00:00Z", v: true },
  { id: 10, at: "2025-03-01T00:00:00Z", v: "0x10" },
  { id: 11, at: "2025-03-01T00:00:00Z", v: 1, region: { name: "x" } },
  { id: "", at: "2025-03-01T00:00:00Z", v: 1 },
];

let server: LocalServer;

beforeAll(async () => {
  server = await startLocalServer((req, res, url) => {
    const page = Number(url.searchParams.get("page") ?? "1");
    const base = `http://${req.headers.host}`;
    switch (url.pathname) {
      case "/tickets": {
        const items = TICKETS.slice((page - 1) * 2, page * 2);
        const links: string[] = [];
        if (page === 1)
          links.push(`<${base}/tickets?page=2>; rel="next"`, `<${base}/tickets?page=3>; rel="last"`);
        if (page === 2) links.push(`</tickets?page=1>; rel=prev`, `</tickets?page=3>; rel="next last"`);
        return sendJson(
          res,
          { data: { total: TICKETS.length, items } },
          links.length ? { link: links.join(", ") } : {},
        );
      }
      case "/next-api": {
        const next: Record<number, unknown> = {
          1: "/next-api?page=2",
          2: `${base}/next-api?page=3`,
          3: null,
        };
        return sendJson(res, {
          results: TICKETS.slice((page - 1) * 2, page * 2),
          paging: { next: next[page] },
        });
      }
      case "/next-empty":
        return sendJson(res, { results: [TICKETS[0]], paging: { next: "" } });
      case "/next-absent":
        return sendJson(res, { results: [TICKETS[0]] });
      case "/events": {
        // Inclusive filter, like most APIs' updated_since; 2 per page; the Link keeps the filter.
        const since = url.searchParams.get("updated_since");
        const all = EVENTS.filter((e) => since === null || e.updated_at >= since);
        const items = all.slice((page - 1) * 2, page * 2);
        const nextUrl = new URL(`${base}/events`);
        if (since) nextUrl.searchParams.set("updated_since", since);
        nextUrl.searchParams.set("page", String(page + 1));
        const more = page * 2 < all.length;
        return sendJson(res, { items }, more ? { link: `<${nextUrl}>; rel="next"` } : {});
      }
      case "/unordered":
        return sendJson(res, { items: [EVENTS[1], EVENTS[3], EVENTS[0]] });
      case "/bad":
        return sendJson(res, { items: BAD });
      case "/groups":
        return sendJson(res, {
          groups: [{ items: [TICKETS[0], TICKETS[1]] }, { items: [] }, { items: [TICKETS[2]] }],
        });
      case "/html":
        res
          .writeHead(200, { "content-type": "text/html" })
          .end("<!DOCTYPE html><html><body>Login</body></html>");
        return;
      case "/html-on-2":
        if (page === 1) {
          return sendJson(
            res,
            { items: [TICKETS[0], TICKETS[1]] },
            { link: `</html-on-2?page=2>; rel="next"` },
          );
        }
        res.writeHead(200, { "content-type": "text/html" }).end("<html>maintenance</html>");
        return;
      case "/no-content":
        res.writeHead(204, { link: `</tickets?page=2>; rel="next"` }).end();
        return;
      case "/no-items":
        return sendJson(res, { data: { count: 0 } });
      case "/items-object":
        return sendJson(res, { data: { items: { id: 1 } } });
      case "/loop":
        return sendJson(res, { items: [TICKETS[0]], next: "/loop" });
      case "/auth": {
        const ok =
          req.headers.authorization === "Bearer s3cret" ||
          req.headers.authorization === `Basic ${Buffer.from("ann:pw:x").toString("base64")}`;
        if (!ok || req.headers["x-api-key"] !== "k1") {
          res.writeHead(401).end("{}");
          return;
        }
        return sendJson(res, { items: [TICKETS[0]] });
      }
      default:
        res.writeHead(404).end("not found");
    }
  });
});

afterAll(async () => {
  await server.close();
});

// ---- helpers ---------------------------------------------------------------------------------------

const ticketFields = {
  observedAt: "$.closed_at",
  value: "$.minutes",
  externalId: "$.id",
  weight: "$.calls",
  dimensions: { team: "$.team" },
};

/** The paths with query the fake source received while `fn` ran. */
async function requestsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const before = server.requests.length;
  await fn();
  return server.requests.slice(before).map((r) => r.path);
}

const observations = (records: SourceRecord[]) =>
  records.filter((r) => r.kind !== "rejected" && r.kind !== "checkpoint");
const rejections = (records: SourceRecord[]) => records.filter((r) => r.kind === "rejected");

/** The five tickets as observations, written out by hand. */
const EXPECTED_TICKETS = [
  { externalId: "1", observedAt: "2025-03-01T10:00:00.000Z", value: 12.5, dimensions: { team: "emea" } },
  {
    externalId: "A-2",
    observedAt: "2025-03-01T10:00:00.000Z",
    value: 7,
    weight: 3,
    dimensions: { team: "apac" },
  },
  { externalId: "3", observedAt: "2025-03-01T12:00:00.000Z", value: 3 },
  { externalId: "4", observedAt: "2025-03-02T00:00:00.250Z", value: -0.5, dimensions: { team: "7" } },
  { externalId: "5", observedAt: "2025-03-03T13:30:00.000Z", value: 100, dimensions: { team: "emea" } },
];

const plain = (records: SourceRecord[]) =>
  observations(records).map((r) => {
    const o = r as Extract<SourceRecord, { externalId: string; observedAt: Date }>;
    return {
      externalId: o.externalId,
      observedAt: o.observedAt.toISOString(),
      value: o.value,
      ...(o.weight !== undefined ? { weight: o.weight } : {}),
      ...(o.dimensions ? { dimensions: o.dimensions } : {}),
    };
  });

// ---- tests -----------------------------------------------------------------------------------------

describe("JSONPath subset", () => {
  const doc = {
    data: { items: [{ a: 1 }, { a: 2 }], "odd.name": "x", "q'uote": "y" },
    list: [10, 20, 30],
    groups: [{ items: [1, 2] }, { items: [3] }],
  };

  it("selects members, quoted names, indexes and wildcards", () => {
    expect(queryOne(compileJsonPath("$"), doc)).toBe(doc);
    expect(queryOne(compileJsonPath("$.data.items[1].a"), doc)).toBe(2);
    expect(queryOne(compileJsonPath("$.data['odd.name']"), doc)).toBe("x");
    expect(queryOne(compileJsonPath(`$.data["q'uote"]`), doc)).toBe("y");
    expect(queryOne(compileJsonPath("$.data['q\\'uote']"), doc)).toBe("y");
    expect(queryOne(compileJsonPath("$['list'][0]"), doc)).toBe(10);
    expect(queryOne(compileJsonPath("$.list[-1]"), doc)).toBe(30);
    expect(queryAll(compileJsonPath("$.list[*]"), doc)).toEqual([10, 20, 30]);
    expect(queryAll(compileJsonPath("$.groups[*].items[*]"), doc)).toEqual([1, 2, 3]);
    expect(queryAll(compileJsonPath("$.data.items.*.a"), doc)).toEqual([1, 2]);
  });

  it("selects nothing for absent members, out-of-range indexes and wrong types", () => {
    expect(queryAll(compileJsonPath("$.nope"), doc)).toEqual([]);
    expect(queryAll(compileJsonPath("$.list[3]"), doc)).toEqual([]);
    expect(queryAll(compileJsonPath("$.list.a"), doc)).toEqual([]);
    expect(queryAll(compileJsonPath("$.data[0]"), doc)).toEqual([]);
    expect(queryOne(compileJsonPath("$.a.b"), { a: null })).toBeUndefined();
    // A member that exists with the value null is selected (and is null).
    expect(queryAll(compileJsonPath("$.a"), { a: null })).toEqual([null]);
  });

  it("refuses what it does not support, saying where", () => {
    expect(() => compileJsonPath("data.items")).toThrow(/must start with \$/);
    expect(() => compileJsonPath("$..items")).toThrow(/recursive descent/);
    expect(() => compileJsonPath("$.list[1:2]")).toThrow(/character 9: expected .\]. \(slices/);
    expect(() => compileJsonPath("$.list[?(@.a)]")).toThrow(/inside \[ \]/);
    expect(() => compileJsonPath("$['open")).toThrow(/unterminated/);
    expect(() => compileJsonPath("$.")).toThrow(/member name/);
    expect(compileJsonPath("$.a[*]").definite).toBe(false);
    expect(compileJsonPath("$.a[0]['b']").definite).toBe(true);
  });
});

describe("Link header and cursor order", () => {
  it("finds rel=next among several links, quoted or not, relative or absolute", () => {
    const base = "https://api.example.com/v1/x?page=1";
    expect(nextFromLinkHeader('<https://api.example.com/v1/x?page=2>; rel="next"', base)).toBe(
      "https://api.example.com/v1/x?page=2",
    );
    expect(nextFromLinkHeader('</v1/x?page=1>; rel="prev", </v1/x?a=1,2&page=3>; rel=next', base)).toBe(
      "https://api.example.com/v1/x?a=1,2&page=3",
    );
    expect(nextFromLinkHeader('<?page=9>; title="a, b; c"; rel="last next"', base)).toBe(
      "https://api.example.com/v1/x?page=9",
    );
    expect(nextFromLinkHeader('<https://api.example.com/v1/x?page=4>; rel="last"', base)).toBeNull();
    expect(nextFromLinkHeader(null, base)).toBeNull();
  });

  it("orders cursors as instants, numbers, then text", () => {
    expect(compareCursors("2025-01-01T01:00:00+01:00", "2025-01-01T00:30:00Z")).toBeLessThan(0);
    expect(compareCursors("9", "10")).toBeLessThan(0);
    expect(compareCursors("b", "a")).toBeGreaterThan(0);
    expect(compareCursors("2025-01-01T00:00:00Z", "2025-01-01T00:00:00.000Z")).toBe(0);
  });
});

describe("http-json options", () => {
  const ok = { url: "https://api.example.com/x", items: "$.items", fields: ticketFields };

  it("applies the defaults", () => {
    const o = httpJsonOptions.parse(ok);
    expect(o.headers).toEqual({});
    expect(o.maxPages).toBe(10_000);
    expect(o.pagination).toBeUndefined();
    expect(o.auth).toBeUndefined();
  });

  it("refuses bad paths, wildcard fields, unknown options and half a cursor at start-up", () => {
    const issues = (raw: unknown) => {
      const r = httpJsonOptions.safeParse(raw);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    };
    expect(issues({ ...ok, items: "items" })).toEqual([expect.stringMatching(/^items: invalid JSONPath/)]);
    expect(issues({ ...ok, fields: { ...ticketFields, value: "$.v[*]" } })).toEqual([
      expect.stringMatching(/^fields.value: must select a single value/),
    ]);
    expect(issues({ ...ok, cursorField: "$.updated_at" })).toEqual([
      "cursorParam: cursorField and cursorParam go together: give both or neither",
    ]);
    expect(issues({ ...ok, url: "ftp://x.example.com/" })).toEqual([expect.stringMatching(/^url:/)]);
    expect(issues({ ...ok, pagination: { type: "next" } })).toEqual([
      expect.stringMatching(/^pagination.next/),
    ]);
    expect(issues({ ...ok, pageSize: 5 })).toEqual([expect.stringMatching(/pageSize/)]);
    expect(issues({ items: "$", fields: ticketFields })).toEqual([expect.stringMatching(/^url:/)]);
  });

  it("accepts its example.yaml", () => {
    const [o] = parseExample(httpJsonCollector, path.join(here, "example.yaml"), { ORDERS_API_TOKEN: "t" });
    expect(o!.pagination?.type).toBe("link");
    expect(o!.cursorParam).toBe("updated_since");
  });
});

describe("http-json collector", () => {
  it("follows Link headers over every page and maps each field", async () => {
    let records: SourceRecord[] = [];
    const requests = await requestsDuring(async () => {
      records = await drive(httpJsonCollector, {
        url: `${server.url}/tickets`,
        items: "$.data.items",
        fields: ticketFields,
        pagination: { type: "link" },
      });
    });
    expect(plain(records)).toEqual(EXPECTED_TICKETS);
    expect(rejections(records)).toEqual([]);
    expect(records.every((r) => r.cursor === undefined)).toBe(true);
    expect(requests).toEqual(["/tickets", "/tickets?page=2", "/tickets?page=3"]);
  });

  it("follows a next JSONPath (relative, then absolute, then null)", async () => {
    let records: SourceRecord[] = [];
    const requests = await requestsDuring(async () => {
      records = await drive(httpJsonCollector, {
        url: `${server.url}/next-api?page=1`,
        items: "$.results",
        fields: ticketFields,
        pagination: { type: "next", next: "$.paging.next" },
      });
    });
    expect(plain(records)).toEqual(EXPECTED_TICKETS);
    expect(requests).toEqual(["/next-api?page=1", "/next-api?page=2", "/next-api?page=3"]);
  });

  it("stops on an empty or absent next", async () => {
    for (const p of ["/next-empty", "/next-absent"]) {
      let records: SourceRecord[] = [];
      const requests = await requestsDuring(async () => {
        records = await drive(httpJsonCollector, {
          url: `${server.url}${p}`,
          items: "$.results",
          fields: ticketFields,
          pagination: { type: "next", next: "$.paging.next" },
        });
      });
      expect(plain(records).map((r) => r.externalId)).toEqual(["1"]);
      expect(requests).toEqual([p]);
    }
  });

  it("takes 204 No Content as an empty last page", async () => {
    const requests = await requestsDuring(async () => {
      const records = await drive(httpJsonCollector, {
        url: `${server.url}/no-content`,
        items: "$.data.items",
        fields: ticketFields,
        pagination: { type: "link" },
      });
      expect(records).toEqual([]);
    });
    expect(requests).toEqual(["/no-content"]);
  });

  it("stops after maxPages", async () => {
    let records: SourceRecord[] = [];
    const requests = await requestsDuring(async () => {
      records = await drive(httpJsonCollector, {
        url: `${server.url}/tickets`,
        items: "$.data.items",
        fields: ticketFields,
        pagination: { type: "link" },
        maxPages: 2,
      });
    });
    expect(plain(records).map((r) => r.externalId)).toEqual(["1", "A-2", "3", "4"]);
    expect(requests).toEqual(["/tickets", "/tickets?page=2"]);
  });

  it("takes every match of a wildcard items path", async () => {
    const records = await drive(httpJsonCollector, {
      url: `${server.url}/groups`,
      items: "$.groups[*].items[*]",
      fields: ticketFields,
    });
    expect(plain(records)).toEqual(EXPECTED_TICKETS.slice(0, 3));
  });

  it("rejects items it cannot read, naming the field and the value, and keeps the rest", async () => {
    const records = await drive(httpJsonCollector, {
      url: `${server.url}/bad`,
      items: "$.items",
      fields: {
        observedAt: "$.at",
        value: "$.v",
        externalId: "$.id",
        weight: "$.w",
        dimensions: { region: "$.region" },
      },
    });
    expect(plain(records)).toEqual([
      { externalId: "7", observedAt: "2025-03-01T00:00:00.000Z", value: 1000, weight: 2 },
    ]);
    expect(rejections(records)).toEqual([
      { kind: "rejected", externalId: "1", reason: 'value "n/a" ($.v) is not a number' },
      {
        kind: "rejected",
        externalId: "2",
        reason:
          'observedAt "yesterday" ($.at) is not an ISO-8601 date-time with an offset or epoch milliseconds',
      },
      {
        kind: "rejected",
        externalId: "3",
        reason:
          'observedAt "2025-03-01T00:00:00" ($.at) is not an ISO-8601 date-time with an offset or epoch milliseconds',
      },
      { kind: "rejected", externalId: "4", reason: "observedAt ($.at) is missing" },
      { kind: "rejected", reason: "externalId ($.id) is missing" },
      { kind: "rejected", externalId: "6", reason: 'weight "heavy" ($.w) is not a number' },
      { kind: "rejected", externalId: "8", reason: "value null ($.v) is not a number" },
      { kind: "rejected", externalId: "9", reason: "value true ($.v) is not a number" },
      { kind: "rejected", externalId: "10", reason: 'value "0x10" ($.v) is not a number' },
      {
        kind: "rejected",
        externalId: "11",
        reason: 'dimension region {"name":"x"} ($.region) is not a string, number or boolean',
      },
      { kind: "rejected", reason: 'externalId "" ($.id) is not a non-empty string or a number' },
    ]);
  });

  it("sends headers and basic or bearer auth", async () => {
    const base = {
      url: `${server.url}/auth`,
      items: "$.items",
      fields: ticketFields,
      headers: { "x-api-key": "k1" },
    };
    const bearer = await drive(httpJsonCollector, { ...base, auth: { type: "bearer", token: "s3cret" } });
    expect(plain(bearer).map((r) => r.externalId)).toEqual(["1"]);
    const basic = await drive(httpJsonCollector, {
      ...base,
      auth: { type: "basic", username: "ann", password: "pw:x" },
    });
    expect(plain(basic).map((r) => r.externalId)).toEqual(["1"]);
    await expect(
      drive(httpJsonCollector, { ...base, auth: { type: "bearer", token: "wrong" } }),
    ).rejects.toThrow(/401/);
  });

  it("never sends credentials or configured headers to a next page on another origin: the run fails", async () => {
    // Two servers: the configured one links its next page to the other (another port: another origin).
    const other = await startLocalServer((_req, res) => sendJson(res, { items: [] }));
    const home = await startLocalServer((_req, res) =>
      sendJson(res, {
        items: [{ id: 1, at: "2025-03-01T00:00:00Z", v: 1 }],
        next: `${other.url}/steal?page=2`,
      }),
    );
    try {
      const run = drive(httpJsonCollector, {
        url: `${home.url}/first`,
        items: "$.items",
        fields: { observedAt: "$.at", value: "$.v", externalId: "$.id" },
        pagination: { type: "next", next: "$.next" },
        headers: { "x-api-key": "k1" },
        auth: { type: "bearer", token: "s3cret" },
      });
      await expect(run).rejects.toThrow(
        new RegExp(
          `next page is on another origin \\(${other.url.replace(/[.]/g, "\\.")}, configured ${home.url.replace(/[.]/g, "\\.")}\\)`,
        ),
      );
      await expect(run).rejects.toThrow(/^(?!.*s3cret)/s);
      expect(home.requests[0]!.headers.authorization).toBe("Bearer s3cret");
      expect(other.requests).toEqual([]);
    } finally {
      await Promise.all([home.close(), other.close()]);
    }
  });

  describe("with a cursor field", () => {
    const options = {
      url: `http://placeholder/events`,
      items: "$.items",
      fields: { observedAt: "$.at", value: "$.v", externalId: "$.id" },
      pagination: { type: "link" },
      cursorField: "$.updated_at",
      cursorParam: "updated_since",
    };

    it("first run: no cursor parameter; a cursor only where the next item's cursor is greater", async () => {
      let records: SourceRecord[] = [];
      const requests = await requestsDuring(async () => {
        records = await drive(httpJsonCollector, { ...options, url: `${server.url}/events` });
      });
      expect(records.map((r) => [(r as { externalId: string }).externalId, r.cursor])).toEqual([
        ["e1", "2025-02-01T00:00:00Z"],
        ["e2", undefined], // e3 shares its updated_at: committing it here could lose e3 with a `>` API
        ["e3", "2025-02-02T00:00:00Z"],
        ["e4", "2025-02-03T00:00:00Z"],
        ["e5", "2025-02-04T00:00:00Z"],
      ]);
      expect(requests).toEqual(["/events", "/events?page=2", "/events?page=3"]);
    });

    it("later run: the committed cursor goes on the first request only", async () => {
      let records: SourceRecord[] = [];
      const requests = await requestsDuring(async () => {
        records = await drive(
          httpJsonCollector,
          { ...options, url: `${server.url}/events?page=1` },
          { cursor: "2025-02-02T00:00:00Z" },
        );
      });
      expect(plain(records).map((r) => r.externalId)).toEqual(["e2", "e3", "e4", "e5"]);
      expect(records.at(-1)!.cursor).toBe("2025-02-04T00:00:00Z");
      expect(requests).toEqual([
        "/events?page=1&updated_since=2025-02-02T00%3A00%3A00Z",
        "/events?updated_since=2025-02-02T00%3A00%3A00Z&page=2",
      ]);
    });

    it("throws when items go backwards in cursor order", async () => {
      await expect(
        drive(httpJsonCollector, { ...options, url: `${server.url}/unordered`, pagination: undefined }),
      ).rejects.toThrow(
        /not in ascending \$\.updated_at order \(item 2: "2025-02-01T00:00:00Z" after "2025-02-03T00:00:00Z"\)/,
      );
    });
  });

  describe("with observedAt's own path as the cursor field (each instant parsed once)", () => {
    const serve = (items: unknown[]) => startLocalServer((_req, res) => sendJson(res, { items }));
    const options = (url: string) => ({
      url,
      items: "$.items",
      fields: { observedAt: "$.at", value: "$.v", externalId: "$.id" },
      cursorField: "$.at",
      cursorParam: "since",
    });

    it("orders by instant, whatever the offset: one instant written two ways carries no cursor between", async () => {
      const s = await serve([
        { id: "a", at: "2025-03-01T00:00:00Z", v: 1 },
        { id: "b", at: "2025-03-01T01:00:00+01:00", v: 2 }, // the same instant as a
        { id: "x", at: "2025-03-01T12:00:00", v: 3 }, // rejected (no offset); its text still orders
        { id: "c", at: "2025-03-02T00:00:00Z", v: 4 },
      ]);
      try {
        const records = await drive(httpJsonCollector, options(`${s.url}/items`));
        expect(records.map((r) => [r.kind ?? "observation", r.cursor])).toEqual([
          ["observation", undefined],
          ["observation", "2025-03-01T01:00:00+01:00"],
          ["rejected", "2025-03-01T12:00:00"],
          ["observation", "2025-03-02T00:00:00Z"],
        ]);
      } finally {
        await s.close();
      }
    });

    it("throws when an instant goes backwards, also when its text sorts after the previous one", async () => {
      const s = await serve([
        { id: "a", at: "2025-03-01T22:00:00Z", v: 1 },
        { id: "b", at: "2025-03-01T23:00:00+02:00", v: 2 }, // 21:00 UTC
      ]);
      try {
        await expect(drive(httpJsonCollector, options(`${s.url}/items`))).rejects.toThrow(
          /not in ascending \$\.at order \(item 1: "2025-03-01T23:00:00\+02:00" after "2025-03-01T22:00:00Z"\)/,
        );
      } finally {
        await s.close();
      }
    });
  });

  describe("garbage", () => {
    const base = { items: "$.data.items", fields: ticketFields };

    it("throws on HTML instead of JSON, naming the URL", async () => {
      const url = `${server.url}/html`;
      const err = await drive(httpJsonCollector, { ...base, url }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as Error).message).toContain(url);
      expect((err as Error).message).toMatch(/expected JSON .* got text\/html: <!DOCTYPE html>/);
    });

    it("yields nothing from a bad page: what came before it is all there is", async () => {
      const got: SourceRecord[] = [];
      const ctx = contextFor(httpJsonCollector, {
        url: `${server.url}/html-on-2`,
        items: "$.items",
        fields: ticketFields,
        pagination: { type: "link" },
      });
      await expect(
        (async () => {
          for await (const r of httpJsonCollector.collect(ctx)) got.push(r);
        })(),
      ).rejects.toThrow(/html-on-2\?page=2/);
      expect(plain(got).map((r) => r.externalId)).toEqual(["1", "A-2"]);
    });

    it("throws when the items path is missing or not an array", async () => {
      await expect(drive(httpJsonCollector, { ...base, url: `${server.url}/no-items` })).rejects.toThrow(
        `${server.url}/no-items: the page has nothing at items path $.data.items`,
      );
      await expect(drive(httpJsonCollector, { ...base, url: `${server.url}/items-object` })).rejects.toThrow(
        `${server.url}/items-object: items path $.data.items is not an array (found {"id":1})`,
      );
    });

    it("throws when pagination loops", async () => {
      await expect(
        drive(httpJsonCollector, {
          url: `${server.url}/loop`,
          items: "$.items",
          fields: ticketFields,
          pagination: { type: "next", next: "$.next" },
        }),
      ).rejects.toThrow(/pagination loops/);
    });
  });
});
