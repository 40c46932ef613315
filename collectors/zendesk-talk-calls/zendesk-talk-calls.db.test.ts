import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthenticationError, SourceError } from "../../src/collect/http-client.js";
import { createRegistry, type SourceRecord } from "../../src/collect/types.js";
import { startTestApp, type TestApp } from "../../test/helpers/app.js";
import { drive, lastCursor, parseExample } from "../../test/helpers/drive-collector.js";
import { EXPORT_PATH, type FakeCall, type FakeZendesk, startFakeZendesk } from "./fake-zendesk.js";
import { createPacer, zendeskTalkCallsCollector, zendeskTalkCallsOptions } from "./index.js";

const here = path.dirname(fileURLToPath(import.meta.url));

// ---- data -----------------------------------------------------------------------------------------

const CREDS = { email: "ops@acme.example", apiToken: "t0k3n" };
const epoch = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** Calls written by hand: each one exercises a rule; the expected minutes are worked out below. */
const HAND: FakeCall[] = [
  // 90 s → 1.5 min; handle 100 + 20 + 30 = 150 s → 2.5 min
  {
    id: 101,
    created_at: "2025-02-01T08:00:00Z",
    updated_at: "2025-02-01T09:00:00Z",
    duration: 90,
    talk_time: 100,
    hold_time: 20,
    wrap_up_time: 30,
  },
  // 45 s → 0.75 min; handle 30 + 0 + 75 = 105 s → 1.75 min
  {
    id: 102,
    created_at: "2025-02-01T08:01:00Z",
    updated_at: "2025-02-01T09:01:00Z",
    duration: 45,
    talk_time: 30,
    hold_time: 0,
    wrap_up_time: 75,
  },
  // 61 s → 61/60 min exactly, no rounding; handle the same
  {
    id: 103,
    created_at: "2025-02-01T08:02:00+01:00",
    updated_at: "2025-02-01T09:02:00Z",
    duration: 61,
    talk_time: 61,
    hold_time: 0,
    wrap_up_time: 0,
  },
  // in progress: no figure yet (skipped, not rejected)
  {
    id: 104,
    created_at: "2025-02-01T08:03:00Z",
    updated_at: "2025-02-01T09:03:00Z",
    duration: null,
    talk_time: null,
    hold_time: null,
    wrap_up_time: null,
  },
  { id: 105, created_at: "2025-02-01T08:04:00Z", updated_at: "2025-02-01T09:04:00Z" },
  // unreadable: rejected with a reason
  { id: 106, created_at: "2025-02-01T08:05:00Z", updated_at: "2025-02-01T09:05:00Z", duration: "abc" },
  { id: 107, created_at: "2025-02-01T08:06:00Z", updated_at: "2025-02-01T09:06:00Z", duration: -5 },
  { id: 108, created_at: "15/01/2025 10:22", updated_at: "2025-02-01T09:07:00Z", duration: 30 },
  { id: null, created_at: "2025-02-01T08:08:00Z", updated_at: "2025-02-01T09:08:00Z", duration: 30 },
  // 120 s → 2 min; handle: wrap-up still open → skipped
  {
    id: 110,
    created_at: "2025-02-01T08:09:00Z",
    updated_at: "2025-02-01T09:09:00Z",
    duration: 120,
    talk_time: 100,
    hold_time: 0,
    wrap_up_time: null,
  },
  // 200 s → 3.3333… min; handle: hold_time unreadable → rejected
  {
    id: 111,
    created_at: "2025-02-01T08:10:00Z",
    updated_at: "2025-02-01T09:10:00Z",
    duration: 200,
    talk_time: 150,
    hold_time: "x",
    wrap_up_time: 10,
  },
  // "300" s → 5 min; handle 240 + 30 + 30 = 300 s → 5 min
  {
    id: 112,
    created_at: "2025-02-01T08:11:00Z",
    updated_at: "2025-02-01T09:11:00Z",
    duration: "300",
    talk_time: 240,
    hold_time: 30,
    wrap_up_time: 30,
  },
];

const FILLER_FROM = Date.parse("2025-02-02T00:00:00Z");
/** 2000 ordinary calls, one a minute from 2025-02-02: with HAND, pages of 1000, 1000 and 14 calls. */
function filler(count = 2000): FakeCall[] {
  return Array.from({ length: count }, (_, i) => {
    const updated = FILLER_FROM + i * 60_000;
    const duration = 30 + (i % 10) * 6;
    return {
      id: 10_000 + i,
      created_at: new Date(updated - 600_000).toISOString().replace(".000Z", "Z"),
      updated_at: new Date(updated).toISOString().replace(".000Z", "Z"),
      duration,
      talk_time: duration - 10,
      hold_time: 10,
      wrap_up_time: 30,
      direction: i % 2 ? "inbound" : "outbound",
    };
  });
}
const fillerUpdated = (i: number) => Math.floor((FILLER_FROM + i * 60_000) / 1000);

const SINCE = "2025-01-01T00:00:00Z";
const base = (fake: FakeZendesk, extra: Record<string, unknown> = {}) => ({
  baseUrl: fake.url,
  ...CREDS,
  since: SINCE,
  requestsPerMinute: 600,
  ...extra,
});

async function withFake<T>(calls: FakeCall[], fn: (fake: FakeZendesk) => Promise<T>): Promise<T> {
  const fake = await startFakeZendesk(CREDS, calls);
  try {
    return await fn(fake);
  } finally {
    await fake.close();
  }
}

type Obs = { externalId: string; observedAt: Date; value: number };
const observations = (rs: SourceRecord[]) =>
  rs.filter((r) => r.kind === undefined || r.kind === "observation") as Obs[];
const rejections = (rs: SourceRecord[]) => rs.filter((r) => r.kind === "rejected");
const checkpoints = (rs: SourceRecord[]) => rs.filter((r) => r.kind === "checkpoint").map((r) => r.cursor);
const minutesById = (rs: SourceRecord[]) => new Map(observations(rs).map((o) => [o.externalId, o.value]));
const exportPaths = (fake: FakeZendesk) =>
  fake.requests.filter((r) => r.path.startsWith(EXPORT_PATH)).map((r) => r.path.slice(EXPORT_PATH.length));

// ---- options ------------------------------------------------------------------------------------------

describe("zendesk-talk-calls options", () => {
  const ok = { baseUrl: "https://acme.zendesk.com/", email: "ops@acme.example", apiToken: "x" };
  const issues = (raw: unknown) => {
    const r = zendeskTalkCallsOptions.safeParse(raw);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };

  it("applies the defaults", () => {
    const o = zendeskTalkCallsOptions.parse(ok);
    expect(o).toEqual({
      ...ok,
      baseUrl: "https://acme.zendesk.com",
      measure: "duration",
      requestsPerMinute: 10,
    });
    expect(zendeskTalkCallsOptions.parse({ ...ok, since: "2025-03-01" }).since).toEqual(
      new Date("2025-03-01T00:00:00Z"),
    );
    expect(zendeskTalkCallsOptions.parse({ ...ok, since: "2025-03-01T02:00:00+02:00" }).since).toEqual(
      new Date("2025-03-01T00:00:00Z"),
    );
  });

  it("refuses unknown, missing and bad options at start-up", () => {
    expect(issues({ ...ok, pageSize: 100 })).toEqual([expect.stringMatching(/pageSize/)]);
    expect(issues({ ...ok, email: "ops@acme.example/token" })).toEqual([
      "email: must be an email address (without /token: the collector adds it)",
    ]);
    expect(issues({ ...ok, baseUrl: "acme.zendesk.com" })).toEqual([expect.stringMatching(/^baseUrl: /)]);
    expect(issues({ ...ok, measure: "talk_time" })).toEqual([expect.stringMatching(/^measure: /)]);
    expect(issues({ ...ok, since: "2025-03-01T00:00:00" })).toEqual([
      expect.stringMatching(/^since: expected/),
    ]);
    expect(issues({ ...ok, requestsPerMinute: 0 })).toEqual([expect.stringMatching(/^requestsPerMinute: /)]);
    expect(issues({ ...ok, requestsPerMinute: 1001 })).toEqual([
      expect.stringMatching(/^requestsPerMinute: /),
    ]);
    expect(issues({ ...ok, apiToken: "" })).toEqual(["apiToken: must not be empty"]);
    expect(issues({ baseUrl: ok.baseUrl })).toHaveLength(2);
  });

  it("accepts its example.yaml", () => {
    const [o] = parseExample(zendeskTalkCallsCollector, path.join(here, "example.yaml"), {
      ZENDESK_API_TOKEN: "t",
    });
    expect(o).toMatchObject({
      baseUrl: "https://acme.zendesk.com",
      measure: "duration",
      requestsPerMinute: 10,
    });
  });
});

// ---- the collector on its own -----------------------------------------------------------------------

describe("zendesk-talk-calls collector", () => {
  it("backfills every page from since, stops on the page that makes no progress although next_page is set, minutes exact", async () => {
    await withFake([...HAND, ...filler()], async (fake) => {
      const records = await drive(zendeskTalkCallsCollector, base(fake));
      // start_time = since, then each page's end_time (the next_page URL); the 4th page holds only the
      // repeat of its start_time's second (no progress): the end, whatever the page size.
      expect(exportPaths(fake)).toEqual([
        `?start_time=${epoch(SINCE)}`,
        `?start_time=${fillerUpdated(987)}`,
        `?start_time=${fillerUpdated(1986)}`,
        `?start_time=${fillerUpdated(1999)}`,
      ]);
      expect(checkpoints(records)).toEqual(
        [fillerUpdated(987), fillerUpdated(1986), fillerUpdated(1999)].map(String),
      );
      expect(lastCursor(records)).toBe(String(fillerUpdated(1999)));
      const v = minutesById(records);
      expect(v.get("101")).toBe(1.5);
      expect(v.get("102")).toBe(0.75);
      expect(v.get("103")).toBe(1.0166666666666666);
      expect(v.get("110")).toBe(2);
      expect(v.get("111")).toBe(3.3333333333333335);
      expect(v.get("112")).toBe(5);
      expect(v.get("10000")).toBe(0.5); // 30 s
      expect(v.get("10001")).toBe(0.6); // 36 s
      expect(v.get("10009")).toBe(1.4); // 84 s
      expect(v.has("104") || v.has("105")).toBe(false);
      expect(observations(records).find((o) => o.externalId === "103")!.observedAt).toEqual(
        new Date("2025-02-01T07:02:00Z"),
      );
      // 6 hand calls + 2000, with the calls of each boundary second read twice (upserts absorb them).
      expect(observations(records)).toHaveLength(6 + 2000 + 3);
      expect(v.size).toBe(6 + 2000);
      expect(rejections(records)).toEqual([
        { kind: "rejected", externalId: "106", reason: 'duration "abc" is not a number of seconds' },
        { kind: "rejected", externalId: "107", reason: "duration -5 is negative" },
        {
          kind: "rejected",
          externalId: "108",
          reason: 'created_at "15/01/2025 10:22" is not an ISO-8601 date-time with an offset',
        },
        { kind: "rejected", reason: "id null is not a call id" },
      ]);
      const auth = fake.requests[0]!.headers.authorization!;
      expect(Buffer.from(auth.replace(/^Basic /, ""), "base64").toString()).toBe(
        "ops@acme.example/token:t0k3n",
      );
    });
  });

  it("measure handle_time: talk + hold + wrap-up; an open part is skipped, an unreadable one rejected", async () => {
    await withFake(HAND, async (fake) => {
      const records = await drive(zendeskTalkCallsCollector, base(fake, { measure: "handle_time" }));
      expect(Object.fromEntries(minutesById(records))).toEqual({
        "101": 2.5,
        "102": 1.75,
        "103": 1.0166666666666666,
        "112": 5,
      });
      expect(
        rejections(records).map((r) => [
          (r as { externalId?: string }).externalId,
          (r as { reason: string }).reason,
        ]),
      ).toEqual([
        ["106", 'duration "abc" is not a number of seconds'],
        ["107", "duration -5 is negative"],
        // 108 has no talk/hold/wrap-up times: no handle time to give, so skipped before its date is read.
        [undefined, "id null is not a call id"],
        ["111", 'hold_time "x" is not a number of seconds'],
      ]);
    });
  });

  it("a later run starts at the committed end_time and gets only what changed since", async () => {
    const calls = [...HAND, ...filler(10)];
    await withFake(calls, async (fake) => {
      const cursor = String(fillerUpdated(9));
      calls.push(
        { id: 20_001, created_at: "2025-03-01T10:00:00Z", updated_at: "2025-03-01T10:05:00Z", duration: 150 },
        { id: 20_002, created_at: "2025-03-01T11:00:00Z", updated_at: "2025-03-01T11:30:00Z", duration: 15 },
      );
      const records = await drive(zendeskTalkCallsCollector, base(fake), { cursor });
      expect(exportPaths(fake)).toEqual([
        `?start_time=${cursor}`,
        `?start_time=${epoch("2025-03-01T11:30:00Z")}`,
      ]);
      // The call of the cursor's own second comes again (start_time is inclusive), then the new ones.
      expect(Object.fromEntries(minutesById(records))).toEqual({ "10009": 1.4, "20001": 2.5, "20002": 0.25 });
      expect(lastCursor(records)).toBe(String(epoch("2025-03-01T11:30:00Z")));
    });
  });

  it("first run without since starts 365 days before the run", async () => {
    await withFake([], async (fake) => {
      const now = new Date("2026-01-15T12:00:00.900Z");
      const records = await drive(zendeskTalkCallsCollector, { ...base(fake), since: undefined }, { now });
      const start = epoch("2025-01-15T12:00:00Z");
      expect(exportPaths(fake)).toEqual([`?start_time=${start}`]);
      // An empty export: nothing to store; the cursor may stay where it started.
      expect(records).toEqual([{ kind: "checkpoint", cursor: String(start) }]);
    });
  });

  it("spaces its requests: at 120 per minute, at least 0.5 s apart", async () => {
    await withFake([...HAND, ...filler()], async (fake) => {
      await drive(zendeskTalkCallsCollector, base(fake, { requestsPerMinute: 120 }));
      expect(fake.times).toHaveLength(4);
      const gaps = fake.times.slice(1).map((t, i) => t - fake.times[i]!);
      for (const gap of gaps) {
        expect(gap).toBeGreaterThanOrEqual(499); // Date.now() has whole milliseconds
        expect(gap).toBeLessThan(1500);
      }
    });
  });

  it("stops waiting for its pace as soon as the run is cancelled", async () => {
    const controller = new AbortController();
    const pacer = createPacer(1, controller.signal);
    await pacer.wait(); // the first request does not wait
    pacer.done(); // the next one would wait 60 s
    const started = Date.now();
    setTimeout(() => controller.abort(new Error("cancelled: shutting down")), 50);
    await expect(pacer.wait()).rejects.toThrow("cancelled: shutting down");
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("throws AuthenticationError on wrong credentials", async () => {
    await withFake(HAND, async (fake) => {
      const err = await drive(zendeskTalkCallsCollector, base(fake, { apiToken: "wrong" })).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as Error).message).toMatch(/authentication failed \(HTTP 401\)/);
    });
  });

  it("a backfill range starts at from, reads to the end, keeps the calls created in [from, to)", async () => {
    await withFake([...HAND, ...filler()], async (fake) => {
      // 103 was created at 08:02+01:00 = 07:02Z: inside; 102 at 08:01Z: outside.
      const range = { from: new Date("2025-02-01T07:00:00Z"), to: new Date("2025-02-01T08:01:00Z") };
      const records = await drive(zendeskTalkCallsCollector, base(fake), { range, cursor: "1" });
      expect(exportPaths(fake)[0]).toBe(`?start_time=${epoch("2025-02-01T07:00:00Z")}`);
      expect(exportPaths(fake)).toHaveLength(4);
      expect(Object.fromEntries(minutesById(records))).toEqual({ "101": 1.5, "103": 1.0166666666666666 });
      // 108's created_at cannot be placed in or out of the range: it is rejected, not lost silently.
      expect(rejections(records).map((r) => (r as { externalId?: string }).externalId)).toEqual(["108"]);
    });
  });

  it("fails the run instead of sending the credentials to a next_page on another host", async () => {
    const calls = filler(1500);
    await withFake(calls, async (fake) => {
      fake.override.set(1, (res) => {
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            calls: calls.slice(0, 1000),
            count: 1000,
            end_time: fillerUpdated(999),
            next_page: `https://elsewhere.example.com${EXPORT_PATH}?start_time=${fillerUpdated(999)}`,
          }),
        );
      });
      await expect(drive(zendeskTalkCallsCollector, base(fake))).rejects.toThrow(
        `the next page is on another origin (https://elsewhere.example.com, configured ${fake.url})`,
      );
      expect(exportPaths(fake)).toEqual([`?start_time=${epoch(SINCE)}`]);
    });
  });

  // Servers have been seen answering 100 calls a page; nothing may depend on the documented 1000.
  for (const pageSize of [1, 7, 100, 1000]) {
    it(`reads every call with pages of ${pageSize} (a page may end early with more to come)`, async () => {
      const calls = filler(300);
      const fake = await startFakeZendesk(CREDS, calls, { pageSize });
      try {
        const run = drive(zendeskTalkCallsCollector, base(fake, { requestsPerMinute: 1000 }));
        if (pageSize === 1) {
          // A page of one call is all repeat after the first: the export cannot move on. Said, not lost.
          await expect(run).rejects.toThrow(/1 calls were updated at 2025-02-02T00:00:00.000Z .*a full page/);
          return;
        }
        const records = await run;
        expect(minutesById(records).size).toBe(300);
        expect(lastCursor(records)).toBe(String(fillerUpdated(299)));
        // Each page after the first repeats the previous page's last call; then one page of only that.
        expect(fake.exportRequests()).toBe(Math.ceil((300 - 1) / (pageSize - 1)) + 1);
      } finally {
        await fake.close();
      }
    });
  }

  it("refuses to loop on a full page inside one second", async () => {
    const second = "2025-02-03T00:00:00Z";
    const calls = Array.from({ length: 1001 }, (_, i) => ({
      id: i + 1,
      created_at: second,
      updated_at: second,
      duration: 60,
    }));
    await withFake(calls, async (fake) => {
      const err = await drive(zendeskTalkCallsCollector, base(fake, { since: second })).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SourceError);
      expect((err as Error).message).toMatch(
        /1000 calls were updated at 2025-02-03T00:00:00.000Z .*a full page/,
      );
      expect(fake.exportRequests()).toBe(1);
    });
  });

  it("throws on garbage pages, naming the URL, and accepts an empty page without end_time", async () => {
    await withFake(HAND, async (fake) => {
      fake.override.set(1, (res) => {
        res.writeHead(200, { "content-type": "text/html" }).end("<html>Help Center</html>");
      });
      fake.override.set(2, (res) => {
        res.writeHead(200, { "content-type": "application/json" }).end('{"call_legs":[],"count":0}');
      });
      fake.override.set(3, (res) => {
        res.writeHead(200, { "content-type": "application/json" }).end('{"calls":[{"id":1}],"count":1}');
      });
      fake.override.set(4, (res) => {
        res
          .writeHead(200, { "content-type": "application/json" })
          .end('{"calls":[],"count":0,"end_time":null,"next_page":null}');
      });
      await expect(drive(zendeskTalkCallsCollector, base(fake))).rejects.toThrow(
        /expected JSON from .*text\/html/,
      );
      await expect(drive(zendeskTalkCallsCollector, base(fake))).rejects.toThrow(
        `${fake.url}${EXPORT_PATH}?start_time=${epoch(SINCE)}: the page has no "calls" list (calls: missing)`,
      );
      await expect(drive(zendeskTalkCallsCollector, base(fake))).rejects.toThrow(/has calls but no end_time/);
      expect(await drive(zendeskTalkCallsCollector, base(fake))).toEqual([]);
      await expect(drive(zendeskTalkCallsCollector, base(fake), { cursor: "2025-01-01" })).rejects.toThrow(
        /cursor "2025-01-01" is not a Unix epoch time/,
      );
    });
  });
});

// ---- through the runner, into the database ----------------------------------------------------------

describe("zendesk-talk-calls runs", () => {
  let fake: FakeZendesk;
  let t: TestApp;
  let sql: pg.Client;
  const calls = [...HAND, ...filler()];

  beforeAll(async () => {
    fake = await startFakeZendesk(CREDS, calls);
    const options = (token: string) =>
      JSON.stringify({
        baseUrl: fake.url,
        email: CREDS.email,
        apiToken: token,
        since: SINCE,
        requestsPerMinute: 600,
      });
    t = await startTestApp({
      config: `
metrics:
  - { key: support.call_minutes, name: Call minutes, unit: min, direction: LOWER_IS_BETTER }
projects:
  - { slug: voice-bot, name: Voice bot, goLiveAt: "2025-03-01T00:00:00Z", kpis: [{ metric: support.call_minutes }] }
collectors:
  - { name: talk, type: zendesk-talk-calls, schedule: "0 * * * *", project: voice-bot, metric: support.call_minutes, options: ${options(CREDS.apiToken)} }
  - { name: talk-wrong, type: zendesk-talk-calls, schedule: "0 * * * *", project: voice-bot, metric: support.call_minutes, options: ${options("expired")} }
`,
      registry: createRegistry([zendeskTalkCallsCollector]),
    });
    sql = new pg.Client(t.db.url);
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await t?.stop();
    await fake?.close();
  });

  const run = async (name: string) =>
    (
      await t.gql(`mutation($n: String!) { runCollector(name: $n) { status observations rejected error } }`, {
        n: name,
      })
    ).body.data.runCollector;
  const cursor = async (name: string) =>
    (await sql.query("SELECT cursor FROM collector_cursor WHERE instance = $1", [name])).rows[0]?.cursor ??
    null;
  const count = async () => Number((await sql.query("SELECT count(*) FROM observation")).rows[0].count);

  it("wrong credentials: the run fails saying authentication failed, and stores nothing", async () => {
    const r = await run("talk-wrong");
    expect(r.status).toBe("FAILED");
    expect(r.error).toMatch(/authentication failed \(HTTP 401\)/);
    expect(r.observations).toBe(0);
    expect(await count()).toBe(0);
    expect(await cursor("talk-wrong")).toBeNull();
  });

  it("backfills through a 429 mid-way, then a second run fetches only what is new", async () => {
    const n = fake.exportRequests();
    fake.rateLimitAt.add(n + 2); // the second page: 429 with Retry-After: 1
    const first = await run("talk");
    // 2006 calls, the 3 boundary seconds read twice (each an update of the same row).
    expect(first).toEqual({ status: "SUCCEEDED", observations: 2009, rejected: 4, error: null });
    expect(fake.exportRequests() - n).toBe(5);
    const paths = exportPaths(fake).slice(n);
    expect(paths[2]).toBe(paths[1]); // the same page, asked again…
    expect(fake.times[n + 2]! - fake.times[n + 1]!).toBeGreaterThanOrEqual(999); // …after Retry-After
    expect(await count()).toBe(2006);
    expect(await cursor("talk")).toBe(String(fillerUpdated(1999)));
    const stored = await sql.query(
      "SELECT external_id, value, observed_at FROM observation WHERE external_id IN ('101','102','103','112') ORDER BY external_id",
    );
    expect(stored.rows.map((r) => [r.external_id, r.value, r.observed_at.toISOString()])).toEqual([
      ["101", 1.5, "2025-02-01T08:00:00.000Z"],
      ["102", 0.75, "2025-02-01T08:01:00.000Z"],
      ["103", 1.0166666666666666, "2025-02-01T07:02:00.000Z"],
      ["112", 5, "2025-02-01T08:11:00.000Z"],
    ]);

    calls.push(
      { id: 20_001, created_at: "2025-03-02T10:00:00Z", updated_at: "2025-03-02T10:04:00Z", duration: 150 },
      // 104 ended: exported again with its duration, collected now
      {
        ...HAND[3]!,
        updated_at: "2025-03-02T10:05:00Z",
        duration: 33,
        talk_time: 33,
        hold_time: 0,
        wrap_up_time: 0,
      },
    );
    const before = fake.startTimes.length;
    const second = await run("talk");
    expect(fake.startTimes.slice(before)).toEqual([fillerUpdated(1999), epoch("2025-03-02T10:05:00Z")]);
    expect(second).toEqual({ status: "SUCCEEDED", observations: 4, rejected: 0, error: null });
    expect(await count()).toBe(2008);
    expect(await cursor("talk")).toBe(String(epoch("2025-03-02T10:05:00Z")));
    const fresh = await sql.query(
      "SELECT external_id, value FROM observation WHERE external_id IN ('104','20001') ORDER BY external_id",
    );
    expect(fresh.rows).toEqual([
      { external_id: "104", value: 0.55 },
      { external_id: "20001", value: 2.5 },
    ]);
  });
});
