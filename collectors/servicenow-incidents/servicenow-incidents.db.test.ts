import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AuthenticationError, SourceError } from "../../src/collect/http-client.js";
import { instantsOfWallTime, queryDateTime } from "../../src/collect/time-zone.js";
import { createRegistry, type SourceRecord } from "../../src/collect/types.js";
import { startTestApp, type TestApp } from "../../test/helpers/app.js";
import { contextFor, drive, lastCursor, parseExample } from "../../test/helpers/drive-collector.js";
import { type LocalServer, sendJson, startLocalServer } from "../../test/helpers/local-server.js";
import {
  FAKE_CREDENTIALS,
  type FakeRecord,
  type FakeServiceNow,
  type FakeServiceNowOptions,
  generateIncidents,
  serveGeneratedIncidents,
  startFakeServiceNow,
} from "./fake-servicenow.js";
import {
  serviceNowIncidentsCollector as collector,
  nextLink,
  parseServiceNowDateTime,
  serviceNowIncidentsOptions,
} from "./index.js";

const here = path.dirname(fileURLToPath(import.meta.url));

// ---- the instance's records, and what they should give, worked out by hand ---------------------------

const rec = (
  n: number,
  opened: string,
  resolved: string,
  updated: string,
  extra: Partial<FakeRecord> = {},
): FakeRecord => ({
  sys_id: `a${n}`.padEnd(32, "0"),
  number: `INC000${n}`,
  opened_at: opened,
  resolved_at: resolved,
  sys_updated_on: updated,
  ...extra,
});

const SD = { "assignment_group.name": "IT Service Desk" };
/** Listed out of order on purpose: the instance sorts (ORDERBYsys_updated_on). */
const INCIDENTS: FakeRecord[] = [
  rec(4, "2025-03-04 08:00:00", "2025-03-07 08:00:01", "2025-03-07 08:00:01", { active: "false", ...SD }),
  rec(1, "2025-03-03 09:00:00", "2025-03-03 09:42:30", "2025-03-03 09:42:31", { active: "false", ...SD }),
  rec(2, "2025-03-01 23:50:00", "2025-03-02 01:05:15", "2025-03-04 08:00:00", { active: "false" }),
  rec(3, "2025-03-04 08:00:00", "", "2025-03-04 08:30:00", { active: "true", ...SD }),
  rec(5, "2025-03-05 10:00:00", "yesterday", "2025-03-07 09:00:00", { active: "false" }),
  rec(6, "2025-03-08 12:00:00", "2025-03-08 11:00:00", "2025-03-08 12:30:00", { active: "false", ...SD }),
  rec(7, "2025-03-08 12:00:00", "2025-03-08 12:00:00", "2025-03-08 12:30:00", { active: "false", ...SD }),
  rec(0, "2025-02-10 08:00:00", "2025-02-10 09:00:00", "2025-02-20 10:00:00", { active: "false" }),
];
const id = (n: number) => `a${n}`.padEnd(32, "0");

/** minutes = seconds / 60, exactly. */
const MINUTES = {
  a1: 42.5, // 09:00:00 → 09:42:30
  a2: 75.25, // 23:50:00 → 01:05:15 the next day
  a4: 259_201 / 60, // three days and one second
  a7: 0, // resolved the second it was opened
};

const NOW = new Date("2025-04-01T00:00:00Z");
/** NOW minus the collector's settling minute, as the upper bound of every query. */
const UPPER = "sys_updated_on<2025-03-31 23:59:00";
const SINCE = "2025-03-01";

let fake: FakeServiceNow;
const fakes: FakeServiceNow[] = [];
async function startFake(opts: FakeServiceNowOptions = {}): Promise<FakeServiceNow> {
  const f = await startFakeServiceNow({ records: structuredClone(INCIDENTS), ...opts });
  fakes.push(f);
  return f;
}
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

const basic = (f: FakeServiceNow, extra: Record<string, unknown> = {}) => ({
  instanceUrl: f.url,
  username: FAKE_CREDENTIALS.username,
  password: FAKE_CREDENTIALS.password,
  since: SINCE,
  ...extra,
});

const tableQueries = (f: FakeServiceNow) =>
  f.requests.map((r) => ({
    query: r.query.get("sysparm_query"),
    offset: r.query.get("sysparm_offset"),
    status: r.status,
  }));

/** Records as short tuples: [kind, externalId or reason, value, cursor]. */
const brief = (records: SourceRecord[]) =>
  records.map((r) => {
    if (r.kind === "checkpoint") return ["skip", r.cursor];
    if (r.kind === "rejected") return ["rejected", r.externalId, r.reason, r.cursor];
    return ["obs", r.externalId, r.value, r.observedAt.toISOString(), r.cursor];
  });

// ---- options --------------------------------------------------------------------------------------------

describe("servicenow-incidents options", () => {
  const issues = (raw: unknown) => {
    const r = serviceNowIncidentsOptions.safeParse(raw);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  const ok = { instanceUrl: "https://acme.service-now.com/", token: "t" };

  it("applies the defaults", () => {
    expect(serviceNowIncidentsOptions.parse(ok)).toEqual({
      instanceUrl: "https://acme.service-now.com",
      table: "incident",
      query: "",
      token: "t",
      timeZone: "UTC",
      pageSize: 1000,
    });
  });

  it("reads since as a date or a date-time with an offset, and trims the query", () => {
    const o = serviceNowIncidentsOptions.parse({
      ...ok,
      since: "2025-01-31",
      query: " ^active=true^ ",
      timeZone: "Europe/Berlin",
    });
    expect(o.since?.toISOString()).toBe("2025-01-31T00:00:00.000Z");
    expect(o.query).toBe("active=true");
    expect(
      serviceNowIncidentsOptions.parse({ ...ok, since: "2025-01-31T10:00:00+02:00" }).since?.toISOString(),
    ).toBe("2025-01-31T08:00:00.000Z");
  });

  it("refuses unknown options, bad values and anything but exactly one auth style, naming the option", () => {
    expect(issues({ ...ok, pageSizes: 5 })).toEqual([expect.stringMatching(/pageSizes/)]);
    expect(issues({ instanceUrl: ok.instanceUrl })).toEqual([
      ": credentials are required: username and password (Basic) or token (Bearer)",
    ]);
    expect(issues({ ...ok, username: "u", password: "p" })).toEqual([
      "token: give either username and password (Basic) or token (Bearer), not both",
    ]);
    expect(issues({ instanceUrl: ok.instanceUrl, username: "u" })).toEqual([
      "password: is required with username",
    ]);
    expect(issues({ instanceUrl: ok.instanceUrl, password: "p" })).toEqual([
      "username: is required with password",
    ]);
    expect(issues({ ...ok, timeZone: "Mars/Olympus" })).toEqual([
      "timeZone: must be an IANA time zone name such as Europe/Berlin",
    ]);
    expect(issues({ ...ok, pageSize: 10_001 })).toEqual([expect.stringMatching(/^pageSize:/)]);
    expect(issues({ ...ok, pageSize: 0 })).toEqual([expect.stringMatching(/^pageSize:/)]);
    expect(issues({ ...ok, instanceUrl: "acme.service-now.com" })).toEqual([
      "instanceUrl: must be an absolute http(s) URL",
    ]);
    expect(issues({ ...ok, instanceUrl: "https://acme.service-now.com/?x=1" })).toEqual([
      "instanceUrl: must not have a query string or a fragment",
    ]);
    expect(issues({ ...ok, table: "incident;drop" })).toEqual([expect.stringMatching(/^table:/)]);
    expect(issues({ ...ok, since: "last year" })).toEqual([expect.stringMatching(/^since: expected a date/)]);
    expect(issues({ ...ok, query: "active=true^ORDERBYDESCnumber" })).toEqual([
      "query: must not contain ORDERBY: the collector orders by sys_updated_on",
    ]);
    expect(issues({ ...ok, query: "active=true^NQpriority=1" })).toEqual([
      expect.stringMatching(/^query: .*\^NQ/),
    ]);
    expect(issues({ ...ok, query: "active=true^EQ" })).toEqual([expect.stringMatching(/^query: .*\^EQ/)]);
  });

  it("accepts its example.yaml", () => {
    const [o] = parseExample(collector, path.join(here, "example.yaml"), { SERVICENOW_TOKEN: "t" });
    expect(o).toMatchObject({ token: "t", query: "assignment_group.name=IT Service Desk", pageSize: 1000 });
  });
});

describe("date-times and time zones", () => {
  it("reads the Table API's UTC date-times and nothing else", () => {
    expect(parseServiceNowDateTime("2025-03-01 10:00:00")?.toISOString()).toBe("2025-03-01T10:00:00.000Z");
    for (const bad of ["", "2025-03-01T10:00:00Z", "03/01/2025 10:00:00", "2025-02-30 10:00:00", null, 5]) {
      expect(parseServiceNowDateTime(bad)).toBeNull();
    }
  });

  it("writes query values as wall-clock time in the time zone", () => {
    const at = new Date("2025-07-01T12:00:00.750Z");
    expect(queryDateTime(at, "UTC").text).toBe("2025-07-01 12:00:00");
    expect(queryDateTime(at, "America/New_York").text).toBe("2025-07-01 08:00:00");
    expect(queryDateTime(at, "Asia/Kolkata").text).toBe("2025-07-01 17:30:00");
    expect(queryDateTime(new Date("2025-01-15T12:00:00Z"), "Europe/Berlin").text).toBe("2025-01-15 13:00:00");
  });

  it("never writes a lower bound the server could read as a later instant when daylight saving time ends", () => {
    const tz = "America/New_York"; // 2025-11-02: 02:00 EDT becomes 01:00 EST, 01:00–01:59 happens twice
    expect(instantsOfWallTime("2025-11-02 01:30:00", tz, Date.parse("2025-11-02T06:00:00Z"))).toEqual([
      Date.parse("2025-11-02T05:30:00Z"),
      Date.parse("2025-11-02T06:30:00Z"),
    ]);
    // 05:30Z is the first 01:30; "01:30" could be read as 06:30Z, so the value steps back an hour.
    expect(queryDateTime(new Date("2025-11-02T05:30:00Z"), tz).text).toBe("2025-11-02 00:30:00");
    // 06:30Z is the second 01:30: reading "01:30" as the first only re-reads an hour.
    expect(queryDateTime(new Date("2025-11-02T06:30:00Z"), tz).text).toBe("2025-11-02 01:30:00");
    // The skipped hour in spring needs nothing special.
    expect(queryDateTime(new Date("2025-03-09T07:30:00Z"), tz).text).toBe("2025-03-09 03:30:00");
  });

  it("finds rel=next in ServiceNow's Link header, commas in URLs and all", () => {
    const h =
      '<https://x.service-now.com/api/now/table/incident?sysparm_fields=sys_id,number&sysparm_offset=0&sysparm_limit=2>;rel="first",' +
      '<https://x.service-now.com/api/now/table/incident?sysparm_fields=sys_id,number&sysparm_offset=2&sysparm_limit=2>;rel="next",' +
      '<https://x.service-now.com/api/now/table/incident?sysparm_fields=sys_id,number&sysparm_offset=8&sysparm_limit=2>;rel="last"';
    expect(nextLink(h)).toBe(
      "https://x.service-now.com/api/now/table/incident?sysparm_fields=sys_id,number&sysparm_offset=2&sysparm_limit=2",
    );
    expect(
      nextLink('<https://x/a?sysparm_offset=0>;rel="first",<https://x/a?sysparm_offset=8>;rel="last"'),
    ).toBeNull();
    expect(nextLink(null)).toBeNull();
  });
});

// ---- the collector against the fake instance ------------------------------------------------------------

describe("servicenow-incidents collector", () => {
  beforeAll(async () => {
    fake = await startFakeServiceNow({ records: structuredClone(INCIDENTS) });
  });
  afterAll(async () => {
    await fake.close();
  });

  it("backfills every page from since: minutes opened → resolved, unresolved skipped, unreadable rejected", async () => {
    fake.requests.length = 0;
    const totals: number[] = [];
    const records: SourceRecord[] = [];
    const ctx = contextFor(collector, basic(fake, { pageSize: 3 }), { now: NOW });
    ctx.reportTotal = (t) => totals.push(t);
    for await (const r of collector.collect(ctx)) records.push(r);

    expect(brief(records)).toEqual([
      ["obs", id(1), MINUTES.a1, "2025-03-03T09:42:30.000Z", "2025-03-03T09:42:31.000Z"],
      ["obs", id(2), MINUTES.a2, "2025-03-02T01:05:15.000Z", "2025-03-04T08:00:00.000Z"],
      ["skip", "2025-03-04T08:30:00.000Z"],
      ["obs", id(4), MINUTES.a4, "2025-03-07T08:00:01.000Z", "2025-03-07T08:00:01.000Z"],
      [
        "rejected",
        id(5),
        'INC0005: resolved_at "yesterday" is not a date-time (YYYY-MM-DD HH:mm:ss)',
        "2025-03-07T09:00:00.000Z",
      ],
      [
        "rejected",
        id(6),
        "INC0006: resolved_at 2025-03-08 11:00:00 is before opened_at 2025-03-08 12:00:00",
        "2025-03-08T12:30:00.000Z",
      ],
      ["obs", id(7), MINUTES.a7, "2025-03-08T12:00:00.000Z", "2025-03-08T12:30:00.000Z"],
    ]);
    expect(MINUTES.a4).toBe(4320 + 1 / 60);
    expect(totals).toEqual([7]);

    const query = `sys_updated_on>=2025-03-01 00:00:00^${UPPER}^ORDERBYsys_updated_on`;
    expect(tableQueries(fake)).toEqual([
      { query, offset: "0", status: 200 },
      { query, offset: "3", status: 200 },
      { query, offset: "6", status: 200 },
    ]);
    const q = fake.requests[0]!.query;
    expect(q.get("sysparm_fields")).toBe("sys_id,opened_at,resolved_at,sys_updated_on,number");
    expect(q.get("sysparm_display_value")).toBe("false");
    expect(q.get("sysparm_exclude_reference_link")).toBe("true");
    expect(q.get("sysparm_limit")).toBe("3");
    expect(fake.requests[0]!.path.startsWith("/api/now/table/incident?")).toBe(true);
    expect(fake.requests[0]!.authorization).toBe(
      `Basic ${Buffer.from(`${FAKE_CREDENTIALS.username}:${FAKE_CREDENTIALS.password}`).toString("base64")}`,
    );
  });

  it("starts 365 days back without since, and sends Bearer auth with token", async () => {
    fake.requests.length = 0;
    const records = await drive(
      collector,
      { instanceUrl: fake.url, token: FAKE_CREDENTIALS.token },
      { now: NOW },
    );
    expect(
      records.filter((r) => r.kind === undefined).map((r) => (r as { externalId: string }).externalId),
    ).toEqual([0, 1, 2, 4, 7].map(id));
    expect(fake.requests.map((r) => r.query.get("sysparm_query"))).toEqual([
      `sys_updated_on>=2024-04-01 00:00:00^${UPPER}^ORDERBYsys_updated_on`,
    ]);
    expect(fake.requests[0]!.query.get("sysparm_limit")).toBe("1000");
    expect(fake.requests[0]!.authorization).toBe(`Bearer ${FAKE_CREDENTIALS.token}`);
  });

  it("later runs ask only from the committed cursor, with the same second again (>=)", async () => {
    const first = await drive(collector, basic(fake, { pageSize: 3 }), { now: NOW });
    const cursor = lastCursor(first);
    expect(cursor).toBe("2025-03-08T12:30:00.000Z");

    // Since then: INC0003 was resolved, INC0008 was opened and resolved.
    const f = await startFake();
    const a3 = f.store.find((r) => r.number === "INC0003")!;
    Object.assign(a3, { resolved_at: "2025-03-10 09:30:00", sys_updated_on: "2025-03-10 09:30:00" });
    f.store.push(rec(8, "2025-03-10 10:00:00", "2025-03-10 10:20:00", "2025-03-10 10:20:00"));

    const second = await drive(collector, basic(f, { pageSize: 3 }), { now: NOW, cursor });
    expect(tableQueries(f)).toEqual([
      {
        query: `sys_updated_on>=2025-03-08 12:30:00^${UPPER}^ORDERBYsys_updated_on`,
        offset: "0",
        status: 200,
      },
      {
        query: `sys_updated_on>=2025-03-08 12:30:00^${UPPER}^ORDERBYsys_updated_on`,
        offset: "3",
        status: 200,
      },
    ]);
    expect(brief(second)).toEqual([
      // The cursor's own second comes back (the overlap): upserts make it harmless.
      ["rejected", id(6), expect.stringContaining("before opened_at"), "2025-03-08T12:30:00.000Z"],
      ["obs", id(7), 0, "2025-03-08T12:00:00.000Z", "2025-03-08T12:30:00.000Z"],
      [
        "obs",
        id(3),
        6 * 24 * 60 + 90, // 4 March 08:00 → 10 March 09:30
        "2025-03-10T09:30:00.000Z",
        "2025-03-10T09:30:00.000Z",
      ],
      ["obs", id(8), 20, "2025-03-10T10:20:00.000Z", "2025-03-10T10:20:00.000Z"],
    ]);
  });

  it("writes the bounds in the integration user's time zone", async () => {
    const f = await startFake({ userTimeZone: "America/New_York" });
    const records = await drive(collector, basic(f, { timeZone: "America/New_York" }), {
      now: NOW,
      cursor: "2025-03-08T12:30:00.000Z",
    });
    // EST (UTC−5) before 9 March, EDT (UTC−4) after.
    expect(f.requests[0]!.query.get("sysparm_query")).toBe(
      "sys_updated_on>=2025-03-08 07:30:00^sys_updated_on<2025-03-31 19:59:00^ORDERBYsys_updated_on",
    );
    expect(brief(records).map((r) => r[1])).toEqual([id(6), id(7)]);

    // The same instance read with the wrong timeZone: "12:30" New York time is 17:30Z, past both records.
    const wrong = await drive(collector, basic(f), { now: NOW, cursor: "2025-03-08T12:30:00.000Z" });
    expect(wrong).toEqual([]);
  });

  it("does not skip records updated in the hour that repeats when daylight saving time ends", async () => {
    const tz = "America/New_York";
    const f = await startFake({
      userTimeZone: tz,
      ambiguous: "later", // the instance reads "01:30" as the second 01:30 (06:30Z)
      records: [
        rec(1, "2025-11-02 05:00:00", "2025-11-02 05:40:00", "2025-11-02 05:40:00"),
        rec(2, "2025-11-02 05:00:00", "2025-11-02 06:10:00", "2025-11-02 06:10:00"),
      ],
    });
    const records = await drive(collector, basic(f, { timeZone: tz }), {
      now: new Date("2025-11-03T00:00:00Z"),
      cursor: "2025-11-02T05:30:00.000Z", // 01:30 EDT, the first 01:30
    });
    expect(f.requests[0]!.query.get("sysparm_query")).toMatch(/^sys_updated_on>=2025-11-02 00:30:00\^/);
    expect(brief(records).map((r) => [r[1], r[2]])).toEqual([
      [id(1), 40],
      [id(2), 70],
    ]);
  });

  it("ANDs the query option with its own conditions", async () => {
    fake.requests.length = 0;
    const records = await drive(
      collector,
      basic(fake, { query: "active=false^assignment_group.name=IT Service Desk" }),
      { now: NOW },
    );
    expect(fake.requests[0]!.query.get("sysparm_query")).toBe(
      `active=false^assignment_group.name=IT Service Desk^sys_updated_on>=2025-03-01 00:00:00^${UPPER}^ORDERBYsys_updated_on`,
    );
    expect(brief(records).map((r) => r[1])).toEqual([id(1), id(4), id(6), id(7)]);
  });

  it("reads the table option", async () => {
    const f = await startFake({ table: "sn_customerservice_case" });
    const records = await drive(collector, basic(f, { table: "sn_customerservice_case" }), { now: NOW });
    expect(f.requests[0]!.path).toMatch(/^\/api\/now\/table\/sn_customerservice_case\?/);
    expect(records.filter((r) => r.kind === undefined)).toHaveLength(4);
    await expect(drive(collector, basic(f), { now: NOW })).rejects.toThrow(/HTTP 400 .*Invalid table/);
  });

  it("goes on past short pages (records the user may not read) and stops at an empty last page", async () => {
    // 7 rows match; 3 are hidden by ACLs, which ServiceNow applies after the limit.
    const visible = [
      "2025-03-02 10:00:00",
      "2025-03-02 12:00:00",
      "2025-03-02 13:00:00",
      "2025-03-02 15:00:00",
    ];
    const hidden = ["2025-03-02 11:00:00", "2025-03-02 16:00:00", "2025-03-02 17:00:00"];
    const records = [
      ...visible.map((t, i) => rec(i + 1, "2025-03-02 09:00:00", t, t)),
      ...hidden.map((t, i) => rec(i + 5, "2025-03-02 09:00:00", t, t, { secret: true })),
    ];
    const f = await startFake({ records, hidden: (r) => r.secret === true });
    const got = await drive(collector, basic(f, { pageSize: 2 }), { now: NOW });
    expect(brief(got).map((r) => r[1])).toEqual([1, 2, 3, 4].map(id));
    expect(tableQueries(f).map((r) => r.offset)).toEqual(["0", "2", "4", "6"]);
    // The last page: nothing in it, and a Link header with no rel="next".
    const last = await fetch(`${f.url}${f.requests.at(-1)!.path}`, {
      headers: { authorization: f.requests[0]!.authorization! },
    });
    expect(await last.json()).toEqual({ result: [] });
    expect(last.headers.get("x-total-count")).toBe("7");
    expect(last.headers.get("link")).toMatch(/rel="first",.*rel="prev",.*rel="last"$/);
    expect(last.headers.get("link")).not.toMatch(/rel="next"/);
  });

  it("pages by X-Total-Count when a proxy strips the Link header", async () => {
    const f = await startFake({ omitLink: true });
    const got = await drive(collector, basic(f, { pageSize: 3 }), { now: NOW });
    expect(got).toHaveLength(7);
    expect(tableQueries(f).map((r) => r.offset)).toEqual(["0", "3", "6"]);
  });

  it("waits out a 429 in the middle of a backfill (Retry-After: 1) and misses nothing", async () => {
    const f = await startFake({ rateLimitOn: [2] });
    const started = Date.now();
    const got = await drive(collector, basic(f, { pageSize: 3 }), { now: NOW });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(tableQueries(f).map((r) => [r.offset, r.status])).toEqual([
      ["0", 200],
      ["3", 429],
      ["3", 200],
      ["6", 200],
    ]);
    expect(brief(got).map((r) => r[1])).toEqual([
      id(1),
      id(2),
      "2025-03-04T08:30:00.000Z",
      id(4),
      id(5),
      id(6),
      id(7),
    ]);
  });

  it("fails with AuthenticationError on wrong credentials", async () => {
    const err = await drive(collector, { ...basic(fake), password: "wrong" }, { now: NOW }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toMatch(/^authentication failed \(HTTP 401\)/);
  });

  it("asks again from the last record read when rows leave the result set mid-backfill, so none is skipped", async () => {
    // Six incidents a second apart, two per page. Before page 2, INC0001 (read on page 1) is updated: its
    // sys_updated_on moves past the run's upper bound, every later row moves one offset down, and offset 2
    // would now start at INC0004 — INC0003 would be skipped.
    const at = (s: number) => `2025-03-02 10:00:0${s}`;
    const f = await startFake({
      records: [1, 2, 3, 4, 5, 6].map((n) => rec(n, "2025-03-02 09:00:00", at(n), at(n))),
      beforeRequest: (n, self) => {
        if (n === 2) self.store.find((r) => r.number === "INC0001")!.sys_updated_on = "2025-03-31 23:59:30";
      },
    });
    const got = await drive(collector, basic(f, { pageSize: 2 }), { now: NOW });
    const ids = brief(got).map((r) => r[1]);
    expect(new Set(ids)).toEqual(new Set([1, 2, 3, 4, 5, 6].map(id)));
    expect(tableQueries(f).map((r) => [r.query?.split("^")[0], r.offset])).toEqual([
      ["sys_updated_on>=2025-03-01 00:00:00", "0"],
      ["sys_updated_on>=2025-03-01 00:00:00", "2"], // X-Total-Count 6 → 5: set aside
      ["sys_updated_on>=2025-03-02 10:00:02", "0"], // again from INC0002's second
      ["sys_updated_on>=2025-03-02 10:00:02", "2"],
      ["sys_updated_on>=2025-03-02 10:00:02", "4"],
    ]);
    // Cursors never go backwards.
    const cursors = got.map((r) => r.cursor!);
    expect(cursors).toEqual([...cursors].sort());
  });

  it("keeps the cursor put when a change cannot be recovered in the run, and the next run recovers it", async () => {
    // INC0001–3 share one second with the cursor; asking again from it would not move on.
    const s = "2025-03-02 10:00:00";
    const records = [
      rec(1, "2025-03-02 09:00:00", s, s),
      rec(2, "2025-03-02 09:00:00", s, s),
      rec(3, "2025-03-02 09:00:00", s, s),
      rec(4, "2025-03-02 09:00:00", "2025-03-02 10:00:01", "2025-03-02 10:00:01"),
      rec(5, "2025-03-02 09:00:00", "2025-03-02 10:00:02", "2025-03-02 10:00:02"),
    ];
    const f = await startFake({
      records,
      beforeRequest: (n, self) => {
        if (n === 2) self.store.find((r) => r.number === "INC0001")!.sys_updated_on = "2025-03-31 23:59:30";
      },
    });
    const cursor = "2025-03-02T10:00:00.000Z";
    const got = await drive(collector, basic(f, { pageSize: 2 }), { now: NOW, cursor });
    // Page 2 starts at INC0004: INC0003 was skipped in this run, so no cursor goes past its second.
    expect(brief(got).map((r) => [r[1], r.at(-1)])).toEqual([
      [id(1), cursor],
      [id(2), cursor],
      [id(4), cursor],
      [id(5), cursor],
    ]);
    const next = await drive(collector, basic(f, { pageSize: 2 }), { now: NOW, cursor: lastCursor(got) });
    expect(brief(next).map((r) => r[1])).toContain(id(3));
  });

  it("collects a backfill range by resolved_at, whatever the cursor", async () => {
    fake.requests.length = 0;
    const got = await drive(collector, basic(fake), {
      now: NOW,
      cursor: "2025-03-08T12:30:00.000Z",
      range: { from: new Date("2025-03-02T01:05:16Z"), to: new Date("2025-03-07T08:00:01Z") },
    });
    // Asked a day wider on each side (time zones), then kept to [from, to) exactly: INC0002 resolved a
    // second before from, INC0004 exactly at to.
    expect(fake.requests[0]!.query.get("sysparm_query")).toBe(
      "resolved_at>=2025-03-01 01:05:16^resolved_at<2025-03-08 08:00:01^sys_updated_on>=2025-03-01 01:05:16" +
        `^${UPPER}^ORDERBYsys_updated_on`,
    );
    expect(brief(got).filter((r) => r[0] === "obs")).toEqual([
      ["obs", id(1), MINUTES.a1, "2025-03-03T09:42:30.000Z", "2025-03-03T09:42:31.000Z"],
    ]);
    expect(got.filter((r) => r.kind === "checkpoint")).toHaveLength(2); // INC0002, INC0004
  });

  it("serves a generated backfill whose figures match the generator's", async () => {
    const { fake: big, data, options } = await serveGeneratedIncidents(5_000, { pageSize: 700 });
    fakes.push(big);
    const got = await drive(collector, options, { now: NOW });
    const obs = got.filter((r) => r.kind === undefined) as { value: number }[];
    expect(obs).toHaveLength(data.resolved);
    expect(obs.reduce((s, o) => s + o.value, 0)).toBeCloseTo(data.sumMinutes, 6);
    expect(big.tableRequests).toBe(Math.ceil(5_000 / 700));
    expect(generateIncidents(3).records).toEqual(generateIncidents(3).records); // reproducible
  });
});

describe("servicenow-incidents with any page size", () => {
  // The instance may cut sysparm_limit (glide.json.return_limit): the Link header then pages by what it served.
  for (const maxPageSize of [1, 7, 100, 1000]) {
    it(`reads every incident with pages of ${maxPageSize}`, async () => {
      const data = generateIncidents(maxPageSize === 1 ? 60 : 600);
      const fake = await startFakeServiceNow({ records: data.records, maxPageSize });
      try {
        const got = await drive(
          collector,
          {
            instanceUrl: fake.url,
            username: FAKE_CREDENTIALS.username,
            password: FAKE_CREDENTIALS.password,
            since: new Date(data.firstUpdated.getTime() - 1000).toISOString(),
            pageSize: 1000,
          },
          { now: NOW },
        );
        const obs = got.filter((r) => r.kind === undefined) as { value: number }[];
        expect(obs).toHaveLength(data.resolved);
        expect(obs.reduce((s, o) => s + o.value, 0)).toBeCloseTo(data.sumMinutes, 6);
        expect(fake.tableRequests).toBe(Math.ceil(data.records.length / maxPageSize));
      } finally {
        await fake.close();
      }
    });
  }
});

describe("servicenow-incidents garbage", () => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await startLocalServer((_req, res, url) => {
      const table = url.pathname.split("/").at(-1);
      if (table === "html") {
        res
          .writeHead(200, { "content-type": "text/html" })
          .end("<html><body>Instance hibernating</body></html>");
      } else if (table === "no_result") {
        sendJson(res, { records: [] });
      } else if (table === "descending") {
        sendJson(res, {
          result: [
            {
              sys_id: "b",
              opened_at: "2025-03-02 09:00:00",
              resolved_at: "",
              sys_updated_on: "2025-03-02 12:00:00",
            },
            {
              sys_id: "c",
              opened_at: "2025-03-02 09:00:00",
              resolved_at: "",
              sys_updated_on: "2025-03-02 11:00:00",
            },
          ],
        });
      } else {
        sendJson(res, {
          result: [
            null,
            { sys_id: "d", opened_at: "2025-03-02 09:00:00", resolved_at: "2025-03-02 10:00:00" },
            {
              opened_at: "2025-03-02 09:00:00",
              resolved_at: "2025-03-02 10:00:00",
              sys_updated_on: "2025-03-02 12:00:00",
            },
            {
              sys_id: "e",
              opened_at: "",
              resolved_at: "2025-03-02 10:00:00",
              sys_updated_on: "2025-03-02 12:00:00",
            },
            {
              sys_id: "f",
              opened_at: "03/02/2025 09:00",
              resolved_at: "2025-03-02 10:00:00",
              sys_updated_on: "2025-03-02 12:00:00",
            },
            { sys_id: "g", opened_at: "2025-03-02 09:00:00", sys_updated_on: "2025-03-02 12:00:00" },
            {
              sys_id: "h",
              opened_at: "2025-03-02 09:00:00",
              resolved_at: "2025-03-02 10:00:00",
              sys_updated_on: "2025-03-02 12:00:00",
            },
          ],
        });
      }
    });
  });
  afterAll(async () => {
    await server.close();
  });
  const opts = (table: string) => ({ instanceUrl: server.url, token: "t", table });

  it("rejects records it cannot read, with reasons, and keeps the rest", async () => {
    const got = await drive(collector, opts("mixed"), { now: NOW });
    expect(brief(got)).toEqual([
      ["rejected", undefined, "record null is not an object", undefined],
      ["rejected", "d", "sys_updated_on missing is not a date-time (YYYY-MM-DD HH:mm:ss)", undefined],
      ["rejected", undefined, "sys_id missing is not a non-empty string", "2025-03-02T12:00:00.000Z"],
      ["rejected", "e", "opened_at is empty on a resolved record", "2025-03-02T12:00:00.000Z"],
      [
        "rejected",
        "f",
        'opened_at "03/02/2025 09:00" is not a date-time (YYYY-MM-DD HH:mm:ss)',
        "2025-03-02T12:00:00.000Z",
      ],
      [
        "rejected",
        "g",
        "resolved_at is missing from the record (does the table have it?)",
        "2025-03-02T12:00:00.000Z",
      ],
      ["obs", "h", 60, "2025-03-02T10:00:00.000Z", "2025-03-02T12:00:00.000Z"],
    ]);
  });

  it("fails on an HTML page, a body without result, and records out of order, yielding nothing of that page", async () => {
    await expect(drive(collector, opts("html"), { now: NOW })).rejects.toThrow(
      /expected JSON .* got text\/html/,
    );
    await expect(drive(collector, opts("no_result"), { now: NOW })).rejects.toThrow(
      /expected a JSON object with a "result" array/,
    );
    const got: SourceRecord[] = [];
    const err = await (async () => {
      for await (const r of collector.collect(contextFor(collector, opts("descending"), { now: NOW })))
        got.push(r);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toMatch(
      /not in ascending sys_updated_on order \(record 1: 2025-03-02T11:00:00.000Z after/,
    );
    expect(got).toEqual([]);
  });
});

// ---- through the real runner: what a run stores, counts and commits ------------------------------------

describe("servicenow-incidents runs", () => {
  let t: TestApp;
  let sql: pg.Client;
  let live: FakeServiceNow;

  beforeAll(async () => {
    live = await startFakeServiceNow({ records: structuredClone(INCIDENTS), rateLimitOn: [2] });
    const creds = (password: string) =>
      `{ instanceUrl: "${live.url}", username: admin, password: ${password}, since: "${SINCE}", pageSize: 3 }`;
    t = await startTestApp({
      config: `
metrics:
  - { key: it.resolution_time, name: Resolution time, unit: minutes, direction: LOWER_IS_BETTER }
  - { key: it.other, name: Other, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: helpdesk, name: Help desk, kpis: [{ metric: it.resolution_time }, { metric: it.other }] }
collectors:
  - name: helpdesk-resolution
    type: servicenow-incidents
    schedule: "0 * * * *"
    project: helpdesk
    metric: it.resolution_time
    options: ${creds(FAKE_CREDENTIALS.password)}
  - name: wrong-password
    type: servicenow-incidents
    schedule: "0 * * * *"
    project: helpdesk
    metric: it.other
    options: ${creds("nope")}
`,
      registry: createRegistry([collector]),
    });
    sql = new pg.Client(t.db.url);
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await t?.stop();
    await live?.close();
  });

  const run = async (name: string) =>
    (await t.gql(`mutation { runCollector(name: "${name}") { status observations rejected error } }`)).body
      .data.runCollector;
  const stored = async (metric: string) =>
    Object.fromEntries(
      (
        await sql.query(
          `SELECT o.external_id, o.value, o.observed_at FROM observation o JOIN metric m ON m.id = o.metric_id
           WHERE m.key = $1 ORDER BY o.external_id`,
          [metric],
        )
      ).rows.map((r) => [r.external_id, [r.value, r.observed_at.toISOString()]]),
    );
  const cursor = async (name: string) =>
    (await sql.query("SELECT cursor FROM collector_cursor WHERE instance = $1", [name])).rows[0]?.cursor ??
    null;

  it("backfills through a rate limit, stores the hand-computed minutes, then collects only what changed", async () => {
    expect(await run("helpdesk-resolution")).toEqual({
      status: "SUCCEEDED",
      observations: 4,
      rejected: 2,
      error: null,
    });
    expect(await stored("it.resolution_time")).toEqual({
      [id(1)]: [MINUTES.a1, "2025-03-03T09:42:30.000Z"],
      [id(2)]: [MINUTES.a2, "2025-03-02T01:05:15.000Z"],
      [id(4)]: [MINUTES.a4, "2025-03-07T08:00:01.000Z"],
      [id(7)]: [MINUTES.a7, "2025-03-08T12:00:00.000Z"],
    });
    expect(await cursor("helpdesk-resolution")).toBe("2025-03-08T12:30:00.000Z");
    expect(live.requests.filter((r) => r.status === 429)).toHaveLength(1);
    const log = (await sql.query("SELECT log FROM collector_run WHERE instance = 'helpdesk-resolution'"))
      .rows[0].log as { reason: string; externalId: string }[];
    expect(log).toEqual([
      {
        reason: 'INC0005: resolved_at "yesterday" is not a date-time (YYYY-MM-DD HH:mm:ss)',
        externalId: id(5),
      },
      {
        reason: "INC0006: resolved_at 2025-03-08 11:00:00 is before opened_at 2025-03-08 12:00:00",
        externalId: id(6),
      },
    ]);

    // Since the first run: INC0003 resolved after 2 hours, INC0008 opened and resolved in 20 minutes.
    const a3 = live.store.find((r) => r.number === "INC0003")!;
    Object.assign(a3, { resolved_at: "2025-03-04 10:00:00", sys_updated_on: "2025-03-10 09:30:00" });
    live.store.push(rec(8, "2025-03-10 10:00:00", "2025-03-10 10:20:00", "2025-03-10 10:20:00"));
    live.requests.length = 0;

    // INC0007 comes again (the cursor's second) and is rewritten; INC0006 is rejected again.
    expect(await run("helpdesk-resolution")).toEqual({
      status: "SUCCEEDED",
      observations: 3,
      rejected: 1,
      error: null,
    });
    expect(
      live.requests.map((r) => [r.query.get("sysparm_query")?.split("^")[0], r.query.get("sysparm_offset")]),
    ).toEqual([
      ["sys_updated_on>=2025-03-08 12:30:00", "0"],
      ["sys_updated_on>=2025-03-08 12:30:00", "3"],
    ]);
    const after = await stored("it.resolution_time");
    expect(Object.keys(after)).toHaveLength(6);
    expect(after[id(3)]).toEqual([120, "2025-03-04T10:00:00.000Z"]);
    expect(after[id(8)]).toEqual([20, "2025-03-10T10:20:00.000Z"]);
    expect(await cursor("helpdesk-resolution")).toBe("2025-03-10T10:20:00.000Z");
  });

  it("fails a run with wrong credentials, saying authentication failed, and stores nothing", async () => {
    const res = await run("wrong-password");
    expect(res.status).toBe("FAILED");
    expect(res.error).toMatch(/authentication failed \(HTTP 401\)/);
    expect(res.observations).toBe(0);
    expect(await stored("it.other")).toEqual({});
    expect(await cursor("wrong-password")).toBeNull();
  });
});
