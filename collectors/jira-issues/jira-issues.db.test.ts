import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AuthenticationError, createHttpClient, SourceError } from "../../src/collect/http-client.js";
import { createRegistry, type SourceRecord } from "../../src/collect/types.js";
import { createLogger } from "../../src/log.js";
import { startTestApp, type TestApp } from "../../test/helpers/app.js";
import { contextFor, drive, lastCursor, parseExample } from "../../test/helpers/drive-collector.js";
import { sendJson, startLocalServer } from "../../test/helpers/local-server.js";
import { type FakeIssue, type FakeJira, startFakeJira } from "./fake-jira.js";
import {
  buildJql,
  INDEX_LAG_MS,
  jiraIssuesCollector,
  jiraIssuesOptions,
  jqlDateTime,
  parseJiraDateTime,
  readIssue,
} from "./index.js";

const here = path.dirname(fileURLToPath(import.meta.url));

const USER_JQL = "project = ITSM AND issuetype = Incident";
const EMAIL = "bot@acme.example";
const API_TOKEN = "atl-s3cret";
/** The run's "now" in the collector tests: since defaults to 2024-06-01T12:00Z. */
const NOW = new Date("2025-06-01T12:00:00Z");

const issue = (n: number, fields: Record<string, unknown> & { updated: string }): FakeIssue => ({
  id: String(10_000 + n),
  key: `ITSM-${n}`,
  fields: {
    created: null,
    resolutiondate: null,
    summary: `Incident ${n}`,
    status: { name: "Done" },
    ...fields,
  },
});

/**
 * The incidents, listed out of order (the fake sorts by updated). Minutes worked out by hand:
 * 1: 10:22:01 → 12:52:31 = 2 h 30 min 30 s = 150.5
 * 2: 09:00:00+0100 (08:00:00Z) → 09:30:15Z = 1 h 30 min 15 s = 90.25
 * 4: 2025-01-18 08:00-0500 (13:00Z) → 2025-01-19 13:00Z = 24 h = 1440
 * 7: 10:00:00 → 10:00:20 = 20 s = 1/3
 */
function incidents(): FakeIssue[] {
  return [
    issue(7, {
      created: "2025-01-22T10:00:00.000+0000",
      resolutiondate: "2025-01-22T10:00:20.000+0000",
      updated: "2025-01-22T10:00:20.000+0000",
    }),
    issue(1, {
      created: "2025-01-15T10:22:01.000+0000",
      resolutiondate: "2025-01-15T12:52:31.000+0000",
      updated: "2025-01-15T12:52:31.000+0000",
    }),
    issue(2, {
      created: "2025-01-16T09:00:00.000+0100",
      resolutiondate: "2025-01-16T09:30:15.000+0000",
      updated: "2025-01-16T10:00:00.000+0000",
    }),
    // unresolved: no figure, skipped
    issue(3, {
      created: "2025-01-17T07:00:00.000+0000",
      resolutiondate: null,
      updated: "2025-01-17T08:00:00.000+0000",
    }),
    issue(4, {
      created: "2025-01-18T08:00:00.000-0500",
      resolutiondate: "2025-01-19T13:00:00.000+0000",
      updated: "2025-01-19T13:00:00.000+0000",
    }),
    issue(5, {
      created: "yesterday",
      resolutiondate: "2025-01-20T09:00:00.000+0000",
      updated: "2025-01-20T09:00:00.000+0000",
    }),
    issue(6, {
      created: "2025-01-21T08:00:00.000+0000",
      resolutiondate: "2025-01-21",
      updated: "2025-01-21T10:00:00.000+0000",
    }),
    // updated before `since`: not asked for
    issue(8, {
      created: "2024-04-01T08:00:00.000+0000",
      resolutiondate: "2024-05-01T08:00:00.000+0000",
      updated: "2024-05-01T08:00:00.000+0000",
    }),
  ];
}

const obs = (n: number, resolved: string, value: number): SourceRecord => ({
  externalId: String(10_000 + n),
  observedAt: new Date(resolved),
  value,
});

/** What the backfill yields, in order, with pages of 3: [1, 2, 3], [4, 5, 6], [7]. */
const BACKFILL: SourceRecord[] = [
  obs(1, "2025-01-15T12:52:31Z", 150.5),
  obs(2, "2025-01-16T09:30:15Z", 90.25),
  { kind: "checkpoint", cursor: "2025-01-17T08:00:00.000Z" },
  obs(4, "2025-01-19T13:00:00Z", 1440),
  {
    kind: "rejected",
    externalId: "10005",
    reason: 'issue ITSM-5: created "yesterday" is not a date-time (Jira writes 2025-01-15T10:22:01.000+0000)',
  },
  {
    kind: "rejected",
    externalId: "10006",
    reason:
      'issue ITSM-6: resolutiondate "2025-01-21" is a date without a time of day: minutes need a date-time field',
  },
  { kind: "checkpoint", cursor: "2025-01-21T10:00:00.000Z" },
  obs(7, "2025-01-22T10:00:20Z", 1 / 3),
  { kind: "checkpoint", cursor: "2025-01-22T10:00:20.000Z" },
];

const FIRST_JQL = `(${USER_JQL}) AND updated >= "2024-06-01 12:00" ORDER BY updated ASC`;

// ---- pure parts --------------------------------------------------------------------------------------

describe("Jira date-times", () => {
  it("parses Jira's format exactly, offset without a colon", () => {
    expect(parseJiraDateTime("2025-01-15T10:22:01.000+0000")!.toISOString()).toBe("2025-01-15T10:22:01.000Z");
    expect(parseJiraDateTime("2025-01-15T10:22:01.123+0530")!.toISOString()).toBe("2025-01-15T04:52:01.123Z");
    expect(parseJiraDateTime("2025-01-15T10:22:01.000-0800")!.toISOString()).toBe("2025-01-15T18:22:01.000Z");
    expect(parseJiraDateTime("2024-12-31T23:59:59.999-0100")!.toISOString()).toBe("2025-01-01T00:59:59.999Z");
    // the extended forms some proxies and Jira Data Center write
    expect(parseJiraDateTime("2025-01-15T10:22:01.000+00:00")!.toISOString()).toBe(
      "2025-01-15T10:22:01.000Z",
    );
    expect(parseJiraDateTime("2025-01-15T10:22:01Z")!.toISOString()).toBe("2025-01-15T10:22:01.000Z");
  });

  it("refuses what is not a date-time with an offset", () => {
    for (const v of [
      "2025-01-15",
      "2025-01-15T10:22:01.000",
      "2025-01-15 10:22:01.000+0000x",
      "2025-02-30T10:00:00.000+0000",
      "2025-01-15T25:00:00.000+0000",
      "15/01/2025 10:22",
      "yesterday",
      "",
      1736936521000,
      null,
      undefined,
      { value: "2025-01-15T10:22:01.000+0000" },
    ]) {
      expect(parseJiraDateTime(v), String(v)).toBeNull();
    }
  });

  it("writes a JQL date-time in the user's time zone, floored to the minute", () => {
    const at = new Date("2025-01-15T10:22:59.999Z");
    expect(jqlDateTime(at, "UTC")).toBe("2025-01-15 10:22");
    expect(jqlDateTime(at, "Asia/Kolkata")).toBe("2025-01-15 15:52");
    expect(jqlDateTime(at, "America/New_York")).toBe("2025-01-15 05:22");
    expect(jqlDateTime(new Date("2025-07-01T10:22:00Z"), "America/New_York")).toBe("2025-07-01 06:22");
    expect(jqlDateTime(new Date("2025-01-01T03:30:00Z"), "America/Los_Angeles")).toBe("2024-12-31 19:30");
    expect(jqlDateTime(new Date("2025-01-15T00:00:00Z"), "Pacific/Chatham")).toBe("2025-01-15 13:45");
  });

  it("in a DST fall-back hour, goes back to a wall time that cannot be read as later than the instant", () => {
    // 2025-11-02 in New York: 01:00–01:59 happens twice (EDT, then EST).
    // 05:45Z is the first 01:45 (EDT); Jira could read "01:45" as the second (06:45Z): step back before the hour.
    expect(jqlDateTime(new Date("2025-11-02T05:45:10Z"), "America/New_York")).toBe("2025-11-02 00:45");
    // 06:45Z is the second 01:45 (EST): either reading of "01:45" is at or before it.
    expect(jqlDateTime(new Date("2025-11-02T06:45:30Z"), "America/New_York")).toBe("2025-11-02 01:45");
    // Spring forward has no ambiguity: 2025-03-09 07:30Z is 03:30 EDT.
    expect(jqlDateTime(new Date("2025-03-09T07:30:00Z"), "America/New_York")).toBe("2025-03-09 03:30");
  });

  it("builds the JQL: the user's filter in parentheses, the bound, the order", () => {
    expect(buildJql("project = X OR project = Y", "2025-01-15 10:22")).toBe(
      '(project = X OR project = Y) AND updated >= "2025-01-15 10:22" ORDER BY updated ASC',
    );
    expect(buildJql("project = X", null)).toBe("(project = X) ORDER BY updated ASC");
  });
});

describe("reading an issue", () => {
  const read = (fields: unknown, extra: Record<string, unknown> = {}) =>
    readIssue({ id: "10100", key: "ITSM-100", fields, ...extra }, "created", "resolutiondate");

  it("skips an unresolved issue, but keeps its updated for the cursor", () => {
    expect(
      read({
        created: "2025-01-15T10:00:00.000+0000",
        resolutiondate: null,
        updated: "2025-01-16T00:00:00.000+0000",
      }),
    ).toEqual({
      kind: "skipped",
      updated: new Date("2025-01-16T00:00:00Z"),
    });
  });

  it("rejects unreadable fields naming them", () => {
    const reason = (r: ReturnType<typeof read>) =>
      r.kind === "record" && r.record.kind === "rejected" ? r.record.reason : null;
    expect(reason(read({ resolutiondate: "2025-01-15T10:00:00.000+0000", updated: "x" }))).toBe(
      "issue ITSM-100: created is not in the issue's fields (is \"created\" the field's id, and visible to the user?)",
    );
    expect(reason(read({ created: null, resolutiondate: "2025-01-15T10:00:00.000+0000" }))).toBe(
      "issue ITSM-100: created is empty",
    );
    expect(reason(read({ created: 1736936521000, resolutiondate: "2025-01-15T10:00:00.000+0000" }))).toBe(
      "issue ITSM-100: created 1736936521000 is not a date-time (Jira writes 2025-01-15T10:22:01.000+0000)",
    );
    expect(reason(read({ created: "2025-01-15T10:00:00.000+0000", resolutiondate: { value: 1 } }))).toBe(
      'issue ITSM-100: resolutiondate {"value":1} is not a date-time (Jira writes 2025-01-15T10:22:01.000+0000)',
    );
    expect(reason(read({ created: "2025-01-15T10:00:00.000+0000" }))).toMatch(
      /^issue ITSM-100: resolutiondate is not in the issue's fields/,
    );
    expect(reason(read("nope"))).toBe('issue ITSM-100: fields "nope" is not an object');
    expect(reason(readIssue({ key: "ITSM-9", fields: {} }, "created", "resolutiondate"))).toBe(
      "issue ITSM-9: id missing is not a non-empty string or number",
    );
    expect(reason(readIssue(null, "created", "resolutiondate"))).toBe(
      "issue (no id): id missing is not a non-empty string or number",
    );
  });

  it("keeps a negative duration (to before from), as the definition says", () => {
    const r = read({
      created: "2025-01-15T10:30:00.000+0000",
      resolutiondate: "2025-01-15T10:00:00.000+0000",
    });
    expect(r).toMatchObject({ kind: "record", record: { externalId: "10100", value: -30 } });
  });
});

describe("jira-issues options", () => {
  const base = { baseUrl: "https://acme.atlassian.net", jql: USER_JQL, email: EMAIL, apiToken: API_TOKEN };

  it("applies the defaults", () => {
    expect(jiraIssuesOptions.parse(base)).toEqual({
      ...base,
      from: "created",
      to: "resolutiondate",
      timeZone: "UTC",
      pageSize: 100,
    });
    expect(jiraIssuesOptions.parse({ ...base, since: "2024-06-01" }).since).toEqual(
      new Date("2024-06-01T00:00:00Z"),
    );
    expect(jiraIssuesOptions.parse({ ...base, since: "2024-06-01T02:00:00+02:00" }).since).toEqual(
      new Date("2024-06-01T00:00:00Z"),
    );
  });

  it("takes exactly one way to authenticate", () => {
    const { email: _e, apiToken: _a, ...none } = base;
    const issues = (raw: unknown) => {
      const r = jiraIssuesOptions.safeParse(raw);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    };
    expect(issues({ ...none, token: "oauth" })).toEqual([]);
    expect(issues({ ...base, token: "oauth" })).toEqual([
      "token: give either email and apiToken (Basic) or token (Bearer), not both",
    ]);
    expect(issues(none)).toEqual([
      ": credentials are required: email and apiToken (Basic) or token (Bearer)",
    ]);
    expect(issues({ ...none, email: EMAIL })).toEqual(["apiToken: is required with email"]);
    expect(issues({ ...none, apiToken: API_TOKEN })).toEqual(["email: is required with apiToken"]);
  });

  it("refuses unknown options, a missing or ordered JQL, bad fields, zones, sizes and dates at start-up", () => {
    const bad = (extra: Record<string, unknown>) =>
      jiraIssuesOptions.safeParse({ ...base, ...extra }).success;
    expect(bad({ startAt: 0 })).toBe(false);
    expect(bad({ jql: undefined })).toBe(false);
    expect(bad({ jql: "  " })).toBe(false);
    expect(bad({ jql: "project = ITSM order  by created DESC" })).toBe(false);
    expect(bad({ jql: 'summary ~ "order by"' })).toBe(true);
    expect(bad({ from: "created,updated" })).toBe(false);
    expect(bad({ to: "created" })).toBe(false);
    expect(bad({ to: "customfield_10051" })).toBe(true);
    expect(bad({ timeZone: "Mars/Olympus" })).toBe(false);
    expect(bad({ timeZone: "Europe/Berlin" })).toBe(true);
    expect(bad({ pageSize: 0 })).toBe(false);
    expect(bad({ pageSize: 5001 })).toBe(false);
    expect(bad({ since: "last year" })).toBe(false);
    expect(bad({ baseUrl: "acme.atlassian.net" })).toBe(false);
  });

  it("accepts its example.yaml", () => {
    const [o] = parseExample(jiraIssuesCollector, path.join(here, "example.yaml"), {
      JIRA_EMAIL: EMAIL,
      JIRA_API_TOKEN: API_TOKEN,
    });
    expect(o).toMatchObject({
      jql: USER_JQL,
      from: "created",
      to: "resolutiondate",
      timeZone: "Europe/Berlin",
    });
  });
});

// ---- the collector against a fake Jira ------------------------------------------------------------------

describe("jira-issues collector", () => {
  let fake: FakeJira;
  beforeAll(async () => {
    fake = await startFakeJira({
      email: EMAIL,
      apiToken: API_TOKEN,
      bearer: "oauth-access",
      userJql: USER_JQL,
    });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.issues = incidents();
    fake.options = { email: EMAIL, apiToken: API_TOKEN, bearer: "oauth-access", userJql: USER_JQL };
    fake.rateLimitAt.clear();
  });

  const options = (extra: Record<string, unknown> = {}) => ({
    baseUrl: fake.url,
    jql: USER_JQL,
    email: EMAIL,
    apiToken: API_TOKEN,
    pageSize: 3,
    ...extra,
  });
  const searchesDuring = async <T>(fn: () => Promise<T>) => {
    const before = fake.searches.length;
    const result = await fn();
    return { result, searches: fake.searches.slice(before) };
  };

  it("backfills every page from `since` (default a year back), with values computed by hand", async () => {
    const { result, searches } = await searchesDuring(() =>
      drive(jiraIssuesCollector, options(), { now: NOW }),
    );
    expect(result).toEqual(BACKFILL);
    expect((result[7] as { value: number }).value).toBeCloseTo(0.3333333333, 9);
    expect(searches.map((s) => s.jql)).toEqual([FIRST_JQL, FIRST_JQL, FIRST_JQL]);
    expect(searches.map((s) => s.fields)).toEqual(Array(3).fill("created,resolutiondate,updated"));
    expect(searches.map((s) => s.maxResults)).toEqual(["3", "3", "3"]);
    expect(searches[0]!.token).toBeNull();
    expect(searches[1]!.token).not.toBeNull();
    expect(fake.requests.at(-1)!.headers.authorization).toBe(
      `Basic ${Buffer.from(`${EMAIL}:${API_TOKEN}`).toString("base64")}`,
    );
    expect(lastCursor(result)).toBe("2025-01-22T10:00:20.000Z");
  });

  it("the second run asks only for what changed since the cursor, from the cursor's minute", async () => {
    const first = await drive(jiraIssuesCollector, options(), { now: NOW });
    // Since then: ITSM-3 got resolved, ITSM-9 was created and resolved.
    const i3 = fake.issues.find((i) => i.key === "ITSM-3")!;
    i3.fields.resolutiondate = "2025-02-02T08:00:00.000+0000";
    i3.fields.updated = "2025-02-02T08:00:00.000+0000";
    fake.issues.push(
      issue(9, {
        created: "2025-02-01T09:00:00.000+0000",
        resolutiondate: "2025-02-01T09:45:00.000+0000",
        updated: "2025-02-01T09:45:00.000+0000",
      }),
    );
    const { result, searches } = await searchesDuring(() =>
      drive(jiraIssuesCollector, options(), { now: NOW, cursor: lastCursor(first) }),
    );
    expect(searches.map((s) => s.jql)).toEqual([
      `(${USER_JQL}) AND updated >= "2025-01-22 10:00" ORDER BY updated ASC`,
    ]);
    // ITSM-7 again (updated in the cursor's minute: the overlap, upserted by id), then what is new.
    expect(result).toEqual([
      obs(7, "2025-01-22T10:00:20Z", 1 / 3),
      obs(9, "2025-02-01T09:45:00Z", 45),
      // 2025-01-17 07:00 → 2025-02-02 08:00 = 16 days and 1 hour = 16 × 1440 + 60
      obs(3, "2025-02-02T08:00:00Z", 23_100),
      { kind: "checkpoint", cursor: "2025-02-02T08:00:00.000Z" },
    ]);
    // Nothing new: the same overlap, no cursor move.
    const third = await drive(jiraIssuesCollector, options(), {
      now: NOW,
      cursor: "2025-02-02T08:00:00.000Z",
    });
    expect(third).toEqual([obs(3, "2025-02-02T08:00:00Z", 23_100)]);
  });

  it("writes the cursor's minute in the user's time zone, as Jira reads it", async () => {
    // The integration user's profile says Asia/Kolkata (+05:30): "15:30" there is 10:00Z.
    fake.options.tzOffsetMinutes = 330;
    const { result, searches } = await searchesDuring(() =>
      drive(jiraIssuesCollector, options({ timeZone: "Asia/Kolkata" }), {
        now: NOW,
        cursor: "2025-01-22T10:00:20.000Z",
      }),
    );
    expect(searches[0]!.jql).toBe(`(${USER_JQL}) AND updated >= "2025-01-22 15:30" ORDER BY updated ASC`);
    expect(result).toEqual([obs(7, "2025-01-22T10:00:20Z", 1 / 3)]);

    // Los Angeles (-08:00 in January): "02:00" there is 10:00Z.
    fake.options.tzOffsetMinutes = -480;
    const la = await searchesDuring(() =>
      drive(jiraIssuesCollector, options({ timeZone: "America/Los_Angeles" }), {
        now: NOW,
        cursor: "2025-01-22T10:00:20.000Z",
      }),
    );
    expect(la.searches[0]!.jql).toBe(`(${USER_JQL}) AND updated >= "2025-01-22 02:00" ORDER BY updated ASC`);
    expect(la.result).toEqual([obs(7, "2025-01-22T10:00:20Z", 1 / 3)]);
  });

  it("keeps paging when Jira returns fewer issues than maxResults", async () => {
    fake.options.serveAtMost = 2;
    const { result, searches } = await searchesDuring(() =>
      drive(jiraIssuesCollector, options({ pageSize: 100 }), { now: NOW }),
    );
    expect(searches).toHaveLength(4);
    expect(searches.map((s) => s.maxResults)).toEqual(["100", "100", "100", "100"]);
    expect(result.filter((r) => r.kind !== "checkpoint")).toEqual(
      BACKFILL.filter((r) => r.kind !== "checkpoint"),
    );
    expect(result.filter((r) => r.kind === "checkpoint").map((r) => r.cursor)).toEqual([
      "2025-01-16T10:00:00.000Z",
      "2025-01-19T13:00:00.000Z",
      "2025-01-21T10:00:00.000Z",
      "2025-01-22T10:00:20.000Z",
    ]);
  });

  it("ends on an empty last page (isLast), and on a last page without a token", async () => {
    fake.options.lastPage = "emptyPage";
    const empty = await searchesDuring(() => drive(jiraIssuesCollector, options(), { now: NOW }));
    expect(empty.searches).toHaveLength(4); // [1,2,3] [4,5,6] [7] []
    expect(empty.result).toEqual(BACKFILL);

    fake.options.lastPage = "noToken";
    const noToken = await searchesDuring(() => drive(jiraIssuesCollector, options(), { now: NOW }));
    expect(noToken.searches).toHaveLength(3);
    expect(noToken.result).toEqual(BACKFILL);
  });

  it("finds nothing: no records, no cursor", async () => {
    fake.issues = [];
    expect(await drive(jiraIssuesCollector, options(), { now: NOW })).toEqual([]);
  });

  it("measures between any two date-time fields, custom fields included", async () => {
    fake.issues = [
      issue(20, {
        customfield_10050: "2025-03-01T09:00:00.000+0000",
        customfield_10051: "2025-03-01T09:07:30.000+0000",
        updated: "2025-03-02T00:00:00.000+0000",
      }),
      issue(21, {
        customfield_10050: "2025-03-01T09:00:00.000+0000",
        customfield_10051: null,
        updated: "2025-03-03T00:00:00.000+0000",
      }),
    ];
    const { result, searches } = await searchesDuring(() =>
      drive(jiraIssuesCollector, options({ from: "customfield_10050", to: "customfield_10051" }), {
        now: NOW,
      }),
    );
    expect(searches[0]!.fields).toBe("customfield_10050,customfield_10051,updated");
    expect(result).toEqual([
      obs(20, "2025-03-01T09:07:30Z", 7.5),
      { kind: "checkpoint", cursor: "2025-03-03T00:00:00.000Z" },
    ]);
  });

  it("authenticates with a Bearer token", async () => {
    const result = await drive(
      jiraIssuesCollector,
      options({ email: undefined, apiToken: undefined, token: "oauth-access" }),
      {
        now: NOW,
      },
    );
    expect(result).toEqual(BACKFILL);
    expect(fake.requests.at(-1)!.headers.authorization).toBe("Bearer oauth-access");
  });

  it("wrong credentials: fails with an authentication error, yielding nothing", async () => {
    const out: SourceRecord[] = [];
    const run = async () => {
      for await (const r of jiraIssuesCollector.collect(
        contextFor(jiraIssuesCollector, options({ apiToken: "expired" }), { now: NOW }),
      ))
        out.push(r);
    };
    await expect(run()).rejects.toThrow(AuthenticationError);
    await expect(run()).rejects.toThrow(/authentication failed \(HTTP 401\)/);
    expect(out).toEqual([]);
  });

  it("waits out a 429 in the middle of a backfill as Retry-After says, and loses nothing", async () => {
    const waits: number[] = [];
    const http = createHttpClient({
      log: createLogger({ test: true }),
      maxRetries: 3,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    fake.rateLimitAt.add(fake.searches.length + 2); // the second page
    const { result, searches } = await searchesDuring(() =>
      drive(jiraIssuesCollector, options(), { now: NOW, http }),
    );
    expect(waits).toEqual([1000]);
    expect(searches).toHaveLength(4);
    expect(searches[2]!.token).toBe(searches[1]!.token); // the same page asked again
    expect(result).toEqual(BACKFILL);
  });

  it("a backfill of a range collects what was resolved in [from, to), whatever the cursor", async () => {
    const { result, searches } = await searchesDuring(() =>
      drive(jiraIssuesCollector, options(), {
        now: NOW,
        cursor: "2025-01-22T10:00:20.000Z",
        range: { from: new Date("2025-01-16T00:00:00Z"), to: new Date("2025-01-19T13:00:00Z") },
      }),
    );
    expect(searches[0]!.jql).toBe(`(${USER_JQL}) AND updated >= "2025-01-16 00:00" ORDER BY updated ASC`);
    expect(result.filter((r) => r.kind !== "checkpoint")).toEqual([
      obs(2, "2025-01-16T09:30:15Z", 90.25),
      BACKFILL[4],
      BACKFILL[5],
    ]);
    // No start: the whole history, ITSM-8 included.
    const all = await searchesDuring(() =>
      drive(jiraIssuesCollector, options(), {
        now: NOW,
        range: { from: null, to: new Date("2025-01-01T00:00:00Z") },
      }),
    );
    expect(all.searches[0]!.jql).toBe(`(${USER_JQL}) ORDER BY updated ASC`);
    expect(all.result.filter((r) => r.kind !== "checkpoint")).toEqual([
      obs(8, "2024-05-01T08:00:00Z", 30 * 24 * 60),
      BACKFILL[4],
      BACKFILL[5],
    ]);
  });

  it("keeps the cursor a minute behind the run's start (Jira's index trails writes)", async () => {
    const now = new Date(Date.parse("2025-01-22T10:00:20Z") + 30_000);
    const result = await drive(jiraIssuesCollector, options({ since: "2025-01-01T00:00:00Z" }), { now });
    expect(lastCursor(result)).toBe(new Date(now.getTime() - INDEX_LAG_MS).toISOString());
    expect(lastCursor(result)).toBe("2025-01-22T09:59:50.000Z");
  });

  it("refuses a committed cursor that is not an instant", async () => {
    await expect(drive(jiraIssuesCollector, options(), { now: NOW, cursor: "page-7" })).rejects.toThrow(
      /cursor "page-7" is not an ISO-8601 instant/,
    );
  });
});

describe("jira-issues with any page size", () => {
  // Jira "may return fewer" issues than maxResults; the page size the server picks must not matter.
  for (const pageSize of [1, 7, 100, 1000]) {
    it(`reads every issue with pages of ${pageSize}`, async () => {
      const at = (i: number) => new Date(Date.parse("2025-02-01T00:00:00Z") + i * 60_000).toISOString();
      const many = Array.from({ length: 250 }, (_, i) =>
        issue(i, {
          created: at(i - 45).replace("Z", "+0000"),
          resolutiondate: i % 5 === 0 ? null : at(i).replace("Z", "+0000"),
          updated: at(i).replace("Z", "+0000"),
        }),
      );
      const fake = await startFakeJira(
        { email: EMAIL, apiToken: API_TOKEN, userJql: USER_JQL, serveAtMost: pageSize },
        many,
      );
      try {
        const o = { baseUrl: fake.url, jql: USER_JQL, email: EMAIL, apiToken: API_TOKEN, pageSize: 1000 };
        const records = await drive(jiraIssuesCollector, o, { now: NOW });
        const values = records.filter((r) => r.kind === undefined).map((r) => (r as { value: number }).value);
        expect(values).toEqual(Array(200).fill(45)); // 45 minutes each; the 50 unresolved are skipped
        expect(lastCursor(records)).toBe(at(249));
        expect(fake.searches.length).toBe(Math.ceil(250 / pageSize));
      } finally {
        await fake.close();
      }
    });
  }
});

describe("jira-issues against garbage", () => {
  it("fails on a page that is not what Jira documents, and on a token loop", async () => {
    const server = await startLocalServer((_req, res, url) => {
      if (url.searchParams.get("jql")?.startsWith("(issues)")) return sendJson(res, { issues: { id: "1" } });
      if (url.searchParams.get("jql")?.startsWith("(html)")) {
        res.writeHead(200, { "content-type": "text/html" }).end("<html>Log in</html>");
        return;
      }
      return sendJson(res, { issues: [], nextPageToken: "same", isLast: false });
    });
    try {
      const o = (jql: string) => ({ baseUrl: `${server.url}/jira/`, jql, token: "t" });
      await expect(drive(jiraIssuesCollector, o("issues"), { now: NOW })).rejects.toThrow(
        /"issues" is not an array/,
      );
      await expect(drive(jiraIssuesCollector, o("html"), { now: NOW })).rejects.toThrow(SourceError);
      await expect(drive(jiraIssuesCollector, o("loop"), { now: NOW })).rejects.toThrow(/pagination loops/);
      // baseUrl with a path (api.atlassian.com/ex/jira/<cloudId>) keeps it.
      expect(server.requests[0]!.path.startsWith("/jira/rest/api/3/search/jql?")).toBe(true);
    } finally {
      await server.close();
    }
  });
});

// ---- through the runner, into the database ----------------------------------------------------------

describe("jira-issues runs", () => {
  let fake: FakeJira;
  let limited: FakeJira;
  let t: TestApp;
  let sql: pg.Client;

  beforeAll(async () => {
    fake = await startFakeJira({ email: EMAIL, apiToken: API_TOKEN, userJql: USER_JQL }, incidents());
    limited = await startFakeJira({ email: EMAIL, apiToken: API_TOKEN, userJql: USER_JQL }, incidents());
    const options = (server: FakeJira, apiToken: string) =>
      JSON.stringify({
        baseUrl: server.url,
        jql: USER_JQL,
        email: EMAIL,
        apiToken,
        since: "2024-06-01T12:00:00Z",
        pageSize: 3,
      });
    const entry = (name: string, metric: string, opts: string) =>
      `  - { name: ${name}, type: jira-issues, schedule: "0 * * * *", project: itsm-copilot, metric: ${metric}, options: ${opts} }`;
    t = await startTestApp({
      config: `
metrics:
  - { key: it.resolution_time, name: Resolution time, unit: minutes, direction: LOWER_IS_BETTER }
  - { key: it.resolution_time_b, name: Resolution time B, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: itsm-copilot, name: ITSM copilot, goLiveAt: "2025-01-18T00:00:00Z", kpis: [{ metric: it.resolution_time }, { metric: it.resolution_time_b }] }
collectors:
${entry("incidents", "it.resolution_time", options(fake, API_TOKEN))}
${entry("incidents-expired", "it.resolution_time", options(fake, "expired"))}
${entry("incidents-limited", "it.resolution_time_b", options(limited, API_TOKEN))}
`,
      registry: createRegistry([jiraIssuesCollector]),
    });
    sql = new pg.Client(t.db.url);
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await t?.stop();
    await fake?.close();
    await limited?.close();
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
  const stored = async (metric: string) =>
    (
      await sql.query(
        `SELECT o.external_id, o.value, o.observed_at FROM observation o JOIN metric m ON m.id = o.metric_id
         WHERE m.key = $1 ORDER BY o.external_id`,
        [metric],
      )
    ).rows.map((r) => [r.external_id, r.value, r.observed_at.toISOString()]);

  it("wrong credentials: the run fails saying authentication failed, and stores nothing", async () => {
    const r = await run("incidents-expired");
    expect(r.status).toBe("FAILED");
    expect(r.error).toMatch(/authentication failed \(HTTP 401\)/);
    expect(r.observations).toBe(0);
    expect(await stored("it.resolution_time")).toEqual([]);
    expect(await cursor("incidents-expired")).toBeNull();
  });

  it("backfills every page into the database, then a second run stores only what changed", async () => {
    const first = await run("incidents");
    expect(first).toEqual({ status: "SUCCEEDED", observations: 4, rejected: 2, error: null });
    expect(await stored("it.resolution_time")).toEqual([
      ["10001", 150.5, "2025-01-15T12:52:31.000Z"],
      ["10002", 90.25, "2025-01-16T09:30:15.000Z"],
      ["10004", 1440, "2025-01-19T13:00:00.000Z"],
      ["10007", 1 / 3, "2025-01-22T10:00:20.000Z"],
    ]);
    expect(await cursor("incidents")).toBe("2025-01-22T10:00:20.000Z");
    const log = (await sql.query("SELECT log FROM collector_run WHERE instance = 'incidents'")).rows[0].log;
    expect(log.map((l: { externalId: string }) => l.externalId)).toEqual(["10005", "10006"]);

    const i3 = fake.issues.find((i) => i.key === "ITSM-3")!;
    i3.fields.resolutiondate = "2025-02-02T08:00:00.000+0000";
    i3.fields.updated = "2025-02-02T08:00:00.000+0000";
    const before = fake.searches.length;
    const second = await run("incidents");
    expect(fake.searches.slice(before).map((s) => s.jql)).toEqual([
      `(${USER_JQL}) AND updated >= "2025-01-22 10:00" ORDER BY updated ASC`,
    ]);
    // ITSM-7 again (the minute's overlap, an upsert), ITSM-3 new.
    expect(second).toEqual({ status: "SUCCEEDED", observations: 2, rejected: 0, error: null });
    expect((await stored("it.resolution_time")).map((r) => r[0])).toEqual([
      "10001",
      "10002",
      "10003",
      "10004",
      "10007",
    ]);
    expect(await cursor("incidents")).toBe("2025-02-02T08:00:00.000Z");

    const kpi = await t.gql(
      `{ project(slug: "itsm-copilot") { kpi(metricKey: "it.resolution_time") { baseline { value count } current { value count } } } }`,
    );
    const k = kpi.body.data.project.kpi;
    // BEFORE go-live (2025-01-18): 150.5 and 90.25; AFTER: 1440, 1/3 and 23,100 (ITSM-3).
    expect(k.baseline).toEqual({ value: (150.5 + 90.25) / 2, count: 2 });
    expect(k.current.count).toBe(3);
    expect(k.current.value).toBeCloseTo((1440 + 1 / 3 + 23_100) / 3, 9);
  });

  it("a 429 in the middle of a backfill is waited out (Retry-After) and the run succeeds", async () => {
    limited.rateLimitAt.add(2);
    const r = await run("incidents-limited");
    expect(r).toEqual({ status: "SUCCEEDED", observations: 4, rejected: 2, error: null });
    expect(limited.searches).toHaveLength(4);
    expect(limited.times[2]! - limited.times[1]!).toBeGreaterThanOrEqual(950);
    expect((await stored("it.resolution_time_b")).map((r) => r[0])).toEqual([
      "10001",
      "10002",
      "10004",
      "10007",
    ]);
    expect(await cursor("incidents-limited")).toBe("2025-01-22T10:00:20.000Z");
  });
});
