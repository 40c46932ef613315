import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AuthenticationError, SourceError } from "../../src/collect/http-client.js";
import { createRegistry, type SourceRecord } from "../../src/collect/types.js";
import { startTestApp, type TestApp } from "../../test/helpers/app.js";
import { contextFor, drive, parseExample } from "../../test/helpers/drive-collector.js";
import { type FakeGitHub, type FakePull, startFakeGitHub } from "./fake-github.js";
import {
  API_VERSION,
  DEFAULT_BASE_URL,
  githubPullsCollector,
  githubPullsOptions,
  nextLink,
  OVERLAP_MS,
  readPull,
} from "./index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = "octo-org/hello-world";
const TOKEN = "github_pat_right";

// ---- the repository ------------------------------------------------------------------------------

/** Closed pull requests, newest updated first; the expected hours are worked out by hand beside each. */
const PULLS: FakePull[] = [
  // 10:00 → 13:30 the same day: 3.5 h
  {
    id: 1001,
    number: 11,
    created_at: "2026-06-10T10:00:00Z",
    merged_at: "2026-06-10T13:30:00Z",
    updated_at: "2026-06-12T08:00:00Z",
  },
  // closed without merging: skipped
  {
    id: 1002,
    number: 12,
    created_at: "2026-06-08T09:00:00Z",
    merged_at: null,
    updated_at: "2026-06-11T09:00:00Z",
  },
  // two days and 45 minutes: 48 + 0.75 = 48.75 h
  {
    id: 1003,
    number: 13,
    created_at: "2026-06-01T09:00:00Z",
    merged_at: "2026-06-03T09:45:00Z",
    updated_at: "2026-06-10T00:00:00Z",
    base: "release/2.0",
  },
  // 23:15 → 00:00 the next day: 45 min = 0.75 h
  {
    id: 1004,
    number: 14,
    created_at: "2026-05-31T23:15:00Z",
    merged_at: "2026-06-01T00:00:00Z",
    updated_at: "2026-06-01T00:00:05Z",
  },
  // 36 seconds: 36 / 3600 = 0.01 h
  {
    id: 1005,
    number: 15,
    created_at: "2026-05-20T08:00:00Z",
    merged_at: "2026-05-20T08:00:36Z",
    updated_at: "2026-05-25T12:00:00Z",
  },
  // 5 Jan → 14 Feb 10:00: 26 + 14 = 40 days = 960 h
  {
    id: 1006,
    number: 16,
    created_at: "2026-01-05T10:00:00Z",
    merged_at: "2026-02-14T10:00:00Z",
    updated_at: "2026-02-20T00:00:00Z",
  },
  // updated before `since` (2026-01-01): the walk stops here
  {
    id: 1007,
    number: 17,
    created_at: "2025-03-01T00:00:00Z",
    merged_at: "2025-03-02T12:00:00Z",
    updated_at: "2025-03-03T00:00:00Z",
  },
  {
    id: 1008,
    number: 18,
    created_at: "2025-01-01T00:00:00Z",
    merged_at: "2025-01-01T06:00:00Z",
    updated_at: "2025-01-02T00:00:00Z",
  },
  {
    id: 1009,
    number: 19,
    created_at: "2024-01-01T00:00:00Z",
    merged_at: "2024-01-01T01:00:00Z",
    updated_at: "2024-01-02T00:00:00Z",
  },
];

/** The first run's observations (since 2026-01-01), in the order GitHub lists them. */
const FIRST_RUN = [
  {
    externalId: "1001",
    observedAt: "2026-06-10T13:30:00.000Z",
    value: 3.5,
    dimensions: { number: "11", base: "main" },
  },
  {
    externalId: "1003",
    observedAt: "2026-06-03T09:45:00.000Z",
    value: 48.75,
    dimensions: { number: "13", base: "release/2.0" },
  },
  {
    externalId: "1004",
    observedAt: "2026-06-01T00:00:00.000Z",
    value: 0.75,
    dimensions: { number: "14", base: "main" },
  },
  {
    externalId: "1005",
    observedAt: "2026-05-20T08:00:36.000Z",
    value: 0.01,
    dimensions: { number: "15", base: "main" },
  },
  {
    externalId: "1006",
    observedAt: "2026-02-14T10:00:00.000Z",
    value: 960,
    dimensions: { number: "16", base: "main" },
  },
];
const NEWEST = "2026-06-12T08:00:00.000Z";

const NOW = new Date("2026-11-29T12:00:00Z");
const options = (fake: FakeGitHub, extra: Record<string, unknown> = {}) => ({
  baseUrl: fake.url,
  repo: REPO,
  token: TOKEN,
  since: "2026-01-01",
  pageSize: 2,
  ...extra,
});

type Obs = Extract<SourceRecord, { observedAt: Date }>;
const observations = (rs: SourceRecord[]) =>
  rs
    .filter((r): r is Obs => r.kind === undefined || r.kind === "observation")
    .map((r) => ({
      externalId: r.externalId,
      observedAt: r.observedAt.toISOString(),
      value: r.value,
      ...(r.dimensions ? { dimensions: r.dimensions } : {}),
    }));
const rejections = (rs: SourceRecord[]) => rs.filter((r) => r.kind === "rejected");
const checkpoints = (rs: SourceRecord[]) => rs.filter((r) => r.kind === "checkpoint").map((r) => r.cursor);
const pagesOf = (fake: FakeGitHub) => fake.calls.map((c) => c.page);

// ---- options -------------------------------------------------------------------------------------

describe("github-pulls options", () => {
  const issues = (raw: unknown) => {
    const r = githubPullsOptions.safeParse(raw);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };

  it("applies the defaults", () => {
    const o = githubPullsOptions.parse({ repo: "octocat/Hello-World", token: "t" });
    expect(o).toEqual({ baseUrl: DEFAULT_BASE_URL, repo: "octocat/Hello-World", token: "t", pageSize: 100 });
  });

  it("reads since as a date (midnight UTC) or a date-time with an offset", () => {
    const at = (since: string) =>
      githubPullsOptions.parse({ repo: "a/b", token: "t", since }).since?.toISOString();
    expect(at("2025-01-31")).toBe("2025-01-31T00:00:00.000Z");
    expect(at("2025-01-31T10:00:00+02:00")).toBe("2025-01-31T08:00:00.000Z");
    expect(issues({ repo: "a/b", token: "t", since: "2025-01-31T10:00:00" })).toEqual([
      expect.stringMatching(/^since: expected a date/),
    ]);
    expect(issues({ repo: "a/b", token: "t", since: "last year" })).toEqual([
      expect.stringMatching(/^since:/),
    ]);
  });

  it("validates repo, refuses a missing token, a page size over 100 and unknown options", () => {
    for (const repo of [
      "octocat",
      "octocat/hello/world",
      "https://github.com/octocat/hello",
      "octocat/..",
      "-x/y",
      "a b/c",
      "",
    ]) {
      expect(issues({ repo, token: "t" }), repo).toEqual([
        expect.stringMatching(/^repo: must be owner\/name/),
      ]);
    }
    for (const repo of ["octocat/hello-world", "my_org_emu/x.y_z-1", "o/.github"])
      expect(issues({ repo, token: "t" })).toEqual([]);
    expect(issues({ repo: "a/b" })).toEqual([expect.stringMatching(/^token:/)]);
    expect(issues({ repo: "a/b", token: "" })).toEqual([expect.stringMatching(/^token:/)]);
    expect(issues({ repo: "a/b", token: "t", pageSize: 101 })).toEqual([expect.stringMatching(/^pageSize:/)]);
    expect(issues({ repo: "a/b", token: "t", pageSize: 0 })).toEqual([expect.stringMatching(/^pageSize:/)]);
    expect(issues({ repo: "a/b", token: "t", baseUrl: "ftp://x" })).toEqual([
      expect.stringMatching(/^baseUrl:/),
    ]);
    expect(issues({ repo: "a/b", token: "t", timeZone: "UTC" })).toEqual([expect.stringMatching(/timeZone/)]);
    expect(issues({ repo: "a/b", token: "t", per_page: 50 })).toEqual([expect.stringMatching(/per_page/)]);
  });

  it("accepts its example.yaml", () => {
    const [o] = parseExample(githubPullsCollector, path.join(here, "example.yaml"), { GITHUB_TOKEN: "t" });
    expect(o).toMatchObject({
      baseUrl: DEFAULT_BASE_URL,
      repo: "octo-org/hello-world",
      token: "t",
      pageSize: 100,
    });
  });
});

describe("reading one pull request", () => {
  it("gives hours from created_at to merged_at, observed at merged_at", () => {
    const r = readPull({
      id: 7,
      number: 3,
      created_at: "2026-03-01T10:00:00Z",
      merged_at: "2026-03-01T13:30:00Z",
    });
    expect(r).toEqual({
      externalId: "7",
      observedAt: new Date("2026-03-01T13:30:00Z"),
      value: 3.5,
      dimensions: { number: "3" },
    });
  });

  it("skips an unmerged pull request and rejects unreadable ones with the field and the value", () => {
    expect(readPull({ id: 7, number: 3, created_at: "garbage", merged_at: null })).toBeNull();
    const reasons = [
      { id: 1, number: 1, created_at: "yesterday", merged_at: "2026-03-01T13:30:00Z" },
      { id: 2, number: 2, created_at: "2026-03-01T10:00:00Z", merged_at: "2026-03-01 13:30" },
      { id: 3, number: 3, created_at: "2026-03-01T10:00:00Z" },
      { id: 4, number: 4, created_at: "2026-03-01T10:00:00Z", merged_at: 1772371800000 },
      { id: 5, number: 5, created_at: "2026-03-01T10:00:00Z", merged_at: "2026-03-01T09:00:00Z" },
      { number: 6, created_at: "2026-03-01T10:00:00Z", merged_at: "2026-03-01T13:30:00Z" },
      "not a pull request",
    ].map((pr) => {
      const r = readPull(pr);
      return r?.kind === "rejected" ? `${r.externalId ?? "-"} ${r.reason}` : r;
    });
    expect(reasons).toEqual([
      `1 #1: created_at "yesterday" is not an ISO-8601 date-time`,
      `2 #2: merged_at "2026-03-01 13:30" is not an ISO-8601 date-time`,
      "3 #3: merged_at is missing",
      "4 #4: merged_at 1772371800000 is not an ISO-8601 date-time",
      `5 #5: merged_at "2026-03-01T09:00:00Z" is before created_at "2026-03-01T10:00:00Z"`,
      "- #6: id is missing",
      `- pull request is not an object: "not a pull request"`,
    ]);
  });

  it("finds rel=next in a Link header", () => {
    const h =
      '<https://api.github.com/repositories/1/pulls?page=1>; rel="prev", <https://api.github.com/repositories/1/pulls?page=3>; rel="next", <https://api.github.com/repositories/1/pulls?page=9>; rel="last"';
    expect(nextLink(h, "https://api.github.com/x")).toBe(
      "https://api.github.com/repositories/1/pulls?page=3",
    );
    expect(
      nextLink(
        '<https://api.github.com/repositories/1/pulls?page=1>; rel="first"',
        "https://api.github.com/",
      ),
    ).toBeNull();
    expect(nextLink(null, "https://api.github.com/")).toBeNull();
  });
});

// ---- the collector against the fake GitHub -------------------------------------------------------

describe("github-pulls collector", () => {
  let fake: FakeGitHub;
  beforeAll(async () => {
    fake = await startFakeGitHub({ repo: REPO, token: TOKEN });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    fake.pulls = structuredClone(PULLS);
    fake.token = TOKEN;
  });

  it("backfills over several pages, sends GitHub's headers, and stops at the first pull request older than since", async () => {
    const records = await drive(githubPullsCollector, options(fake), { now: NOW });
    expect(observations(records)).toEqual(FIRST_RUN);
    expect(rejections(records)).toEqual([]);
    // No record carries a cursor (the list is in descending order); one checkpoint ends the run.
    expect(records.filter((r) => r.kind !== "checkpoint" && r.cursor !== undefined)).toEqual([]);
    expect(records.at(-1)).toEqual({ kind: "checkpoint", cursor: NEWEST });
    expect(checkpoints(records)).toEqual([NEWEST]);
    // Page 4 holds #17 (updated 2025-03-03, before since): page 5 is never asked for.
    expect(fake.calls.map((c) => c.path)).toEqual([
      `/repos/${REPO}/pulls?state=closed&sort=updated&direction=desc&per_page=2`,
      `/repositories/${fake.repoId}/pulls?state=closed&sort=updated&direction=desc&per_page=2&page=2`,
      `/repositories/${fake.repoId}/pulls?state=closed&sort=updated&direction=desc&per_page=2&page=3`,
      `/repositories/${fake.repoId}/pulls?state=closed&sort=updated&direction=desc&per_page=2&page=4`,
    ]);
    for (const c of fake.calls) {
      expect(c.headers.accept).toBe("application/vnd.github+json");
      expect(c.headers["x-github-api-version"]).toBe(API_VERSION);
      expect(c.headers.authorization).toBe(`Bearer ${TOKEN}`);
    }
  });

  it("without since, goes back 365 days from the run's start", async () => {
    const records = await drive(githubPullsCollector, options(fake, { since: undefined }), {
      now: new Date("2026-06-15T00:00:00Z"),
    });
    // 365 days before 2026-06-15 is 2025-06-15: #17 (updated 2025-03-03) is still too old.
    expect(observations(records)).toEqual(FIRST_RUN);
    const older = await drive(githubPullsCollector, options(fake, { since: undefined }), {
      now: new Date("2026-02-01T00:00:00Z"),
    });
    // 365 days before 2026-02-01 is 2025-02-01: #17 is in, #18 (updated 2025-01-02) is not.
    expect(observations(older).map((o) => o.externalId)).toEqual([
      "1001",
      "1003",
      "1004",
      "1005",
      "1006",
      "1007",
    ]);
    expect(observations(older).at(-1)?.value).toBe(36);
  });

  it("an incremental run with nothing new fetches only the first page", async () => {
    const first = await drive(githubPullsCollector, options(fake), { now: NOW });
    const cursor = checkpoints(first).at(-1)!;
    fake.reset();
    const second = await drive(githubPullsCollector, options(fake), { now: NOW, cursor });
    expect(pagesOf(fake)).toEqual([1]);
    // #11 is the committed cursor itself, read again within the overlap; #12 (a day older) ends the walk.
    expect(observations(second)).toEqual([FIRST_RUN[0]]);
    expect(checkpoints(second)).toEqual([NEWEST]);
  });

  it("an incremental run reads only what changed, including a change inside the overlap", async () => {
    const cursor = NEWEST;
    fake.pulls.push(
      // New: 09:00 → 09:20 = 1/3 h.
      {
        id: 1010,
        number: 20,
        created_at: "2026-06-12T09:00:00Z",
        merged_at: "2026-06-12T09:20:00Z",
        updated_at: "2026-06-12T09:20:01Z",
      },
      // Updated 3 s before the committed cursor but not visible to the last run: the overlap catches it.
      {
        id: 1011,
        number: 21,
        created_at: "2026-06-12T07:00:00Z",
        merged_at: "2026-06-12T07:59:57Z",
        updated_at: "2026-06-12T07:59:57Z",
      },
    );
    // #12 was reopened and merged: 8 Jun 09:00 → 12 Jun 10:00 = 4 days + 1 h = 97 h.
    Object.assign(fake.pulls.find((p) => p.id === 1002)!, {
      merged_at: "2026-06-12T10:00:00Z",
      updated_at: "2026-06-12T10:00:00Z",
    });
    const records = await drive(githubPullsCollector, options(fake), { now: NOW, cursor });
    expect(observations(records).map((o) => [o.externalId, o.value])).toEqual([
      ["1002", 97],
      ["1010", 20 / 60],
      ["1001", 3.5],
      ["1011", (59 * 60 + 57) / 3600],
    ]);
    expect(new Date(cursor).getTime() - new Date("2026-06-12T07:59:57Z").getTime()).toBeLessThan(OVERLAP_MS);
    // Pages: [#12, #20], [#11, #21], [#13 …]: #13 is older than the cursor, so page 4 and on are left alone.
    expect(pagesOf(fake)).toEqual([1, 2, 3]);
    expect(checkpoints(records)).toEqual(["2026-06-12T10:00:00.000Z"]);
  });

  it("never moves the cursor back when the newest closed pull request is older than it", async () => {
    // The pull request updated at the cursor was reopened and left the closed list; #11, 3 s older, is
    // the newest one left and is read again within the overlap.
    const cursor = "2026-06-12T08:00:03.000Z";
    const records = await drive(githubPullsCollector, options(fake), { now: NOW, cursor });
    expect(observations(records)).toEqual([FIRST_RUN[0]]);
    expect(checkpoints(records)).toEqual([cursor]);
    expect(pagesOf(fake)).toEqual([1]);
  });

  it("fails on an unreadable committed cursor, before any request", async () => {
    await expect(
      drive(githubPullsCollector, options(fake), { now: NOW, cursor: "not a date" }),
    ).rejects.toThrow('the committed cursor "not a date" is not an ISO-8601 instant');
    expect(pagesOf(fake)).toEqual([]);
  });

  // GitHub caps per_page at 100 today; nothing may depend on the page holding what was asked for.
  for (const pageSize of [1, 7, 100, 1000]) {
    it(`reads every merged pull request with pages of ${pageSize}`, async () => {
      fake.pageSize = pageSize;
      const at = (i: number) => new Date(Date.parse("2026-03-01T00:00:00Z") + i * 60_000).toISOString();
      fake.pulls = Array.from({ length: 250 }, (_, i) => ({
        id: 5000 + i,
        number: i + 1,
        created_at: at(i - 30),
        updated_at: at(i),
        merged_at: i % 5 === 0 ? null : at(i),
      }));
      try {
        const records = await drive(githubPullsCollector, options(fake, { pageSize: 100 }), { now: NOW });
        expect(observations(records)).toHaveLength(200); // every pull request but the 50 closed unmerged
        expect(new Set(observations(records).map((o) => o.value))).toEqual(new Set([0.5]));
        expect(checkpoints(records)).toEqual([at(249)]);
        expect(pagesOf(fake)).toHaveLength(Math.ceil(250 / pageSize));
      } finally {
        fake.pageSize = null;
      }
    });
  }

  it("an empty repository gives nothing and no checkpoint", async () => {
    fake.pulls = [];
    const records = await drive(githubPullsCollector, options(fake), { now: NOW });
    expect(records).toEqual([]);
    expect(pagesOf(fake)).toEqual([1]);
  });

  it("follows a Link to an empty last page and stops there", async () => {
    fake.pulls = PULLS.slice(0, 6);
    fake.trailingEmptyPage = true;
    const records = await drive(githubPullsCollector, options(fake), { now: NOW });
    expect(observations(records)).toEqual(FIRST_RUN);
    expect(pagesOf(fake)).toEqual([1, 2, 3, 4]);
    expect(checkpoints(records)).toEqual([NEWEST]);
  });

  it("waits for x-ratelimit-reset when the primary rate limit runs out in the middle of a backfill", async () => {
    fake.primaryLimitOn(3);
    const records = await drive(githubPullsCollector, options(fake), { now: NOW });
    expect(observations(records)).toEqual(FIRST_RUN);
    expect(fake.calls.map((c) => [c.page, c.status])).toEqual([
      [1, 200],
      [2, 200],
      [3, 403],
      [3, 200],
      [4, 200],
    ]);
    // The fake refuses every request before the reset, so the retry came after it.
    expect(fake.calls[3]!.at).toBeGreaterThanOrEqual(fake.limitedUntil!);
  });

  it("waits for retry-after on a secondary rate limit", async () => {
    fake.secondaryLimitOn(2, 1);
    const records = await drive(githubPullsCollector, options(fake), { now: NOW });
    expect(observations(records)).toEqual(FIRST_RUN);
    expect(fake.calls.map((c) => [c.page, c.status]).slice(0, 3)).toEqual([
      [1, 200],
      [2, 403],
      [2, 200],
    ]);
    expect(fake.calls[2]!.at - fake.calls[1]!.at).toBeGreaterThanOrEqual(950);
  });

  it("fails with an authentication error on bad credentials", async () => {
    fake.token = "another";
    const run = drive(githubPullsCollector, options(fake), { now: NOW });
    await expect(run).rejects.toBeInstanceOf(AuthenticationError);
    await expect(drive(githubPullsCollector, options(fake), { now: NOW })).rejects.toThrow(
      /authentication failed \(HTTP 401\)/,
    );
  });

  it("says which repository was not found", async () => {
    await expect(
      drive(githubPullsCollector, options(fake, { repo: "octo-org/nope" }), { now: NOW }),
    ).rejects.toThrow(/repository octo-org\/nope not found .* or the token cannot see it \(HTTP 404\)/);
  });

  it("throws on a page that is not JSON, after yielding the pages before it and no checkpoint", async () => {
    fake.breakPage(2);
    const got: SourceRecord[] = [];
    const run = async () => {
      for await (const r of githubPullsCollector.collect(
        contextFor(githubPullsCollector, options(fake), { now: NOW }),
      ))
        got.push(r);
    };
    await expect(run()).rejects.toBeInstanceOf(SourceError);
    expect(observations(got)).toEqual([FIRST_RUN[0]]);
    expect(checkpoints(got)).toEqual([]);
  });

  it("a backfill range collects pull requests merged in [from, to), whatever the cursor, and leaves no checkpoint", async () => {
    const records = await drive(githubPullsCollector, options(fake), {
      now: NOW,
      cursor: NEWEST,
      range: { from: new Date("2025-01-01T00:00:00Z"), to: new Date("2026-06-01T00:00:00Z") },
    });
    // #14 merged at 2026-06-01T00:00:00Z exactly: outside [from, to). #19 (updated 2024) ends the walk.
    expect(observations(records).map((o) => o.externalId)).toEqual(["1005", "1006", "1007", "1008"]);
    expect(checkpoints(records)).toEqual([]);
    expect(pagesOf(fake)).toEqual([1, 2, 3, 4, 5]);
  });

  it("rejects pull requests with unreadable dates and keeps the rest", async () => {
    fake.pulls = [
      PULLS[0]!,
      {
        id: 2001,
        number: 31,
        created_at: "2026-06-11",
        merged_at: "2026-06-11T12:00:00Z",
        updated_at: "2026-06-11T12:00:00Z",
      },
      {
        id: 2002,
        number: 32,
        created_at: "2026-06-11T10:00:00Z",
        merged_at: "soon",
        updated_at: "2026-06-11T11:00:00Z",
      },
      PULLS[2]!,
    ];
    const records = await drive(githubPullsCollector, options(fake), { now: NOW });
    expect(observations(records).map((o) => o.externalId)).toEqual(["1001", "1003"]);
    expect(rejections(records)).toEqual([
      {
        kind: "rejected",
        externalId: "2001",
        reason: `#31: created_at "2026-06-11" is not an ISO-8601 date-time`,
      },
      { kind: "rejected", externalId: "2002", reason: `#32: merged_at "soon" is not an ISO-8601 date-time` },
    ]);
    expect(checkpoints(records)).toEqual([NEWEST]);
  });
});

// ---- through the real runner and database --------------------------------------------------------

describe("github-pulls runs", () => {
  let main: FakeGitHub;
  let locked: FakeGitHub;
  let flaky: FakeGitHub;
  let t: TestApp;
  let sql: pg.Client;

  beforeAll(async () => {
    main = await startFakeGitHub({ repo: REPO, token: TOKEN, pulls: structuredClone(PULLS) });
    locked = await startFakeGitHub({ repo: REPO, token: "the-real-one", pulls: structuredClone(PULLS) });
    flaky = await startFakeGitHub({ repo: REPO, token: TOKEN, pulls: structuredClone(PULLS) });
    const entry = (name: string, metric: string, fake: FakeGitHub, token: string) => `
  - name: ${name}
    type: github-pulls
    schedule: "0 * * * *"
    project: p
    metric: ${metric}
    options: { baseUrl: "${fake.url}", repo: ${REPO}, token: ${token}, since: "2026-01-01", pageSize: 2 }`;
    const config = `
metrics:
  - { key: gh.main, name: Main, unit: hours, direction: LOWER_IS_BETTER }
  - { key: gh.locked, name: Locked, unit: hours, direction: LOWER_IS_BETTER }
  - { key: gh.flaky, name: Flaky, unit: hours, direction: LOWER_IS_BETTER }
projects:
  - { slug: p, name: P, goLiveAt: "2026-04-01T00:00:00Z", kpis: [{ metric: gh.main }, { metric: gh.locked }, { metric: gh.flaky }] }
collectors:${entry("gh-main", "gh.main", main, TOKEN)}${entry("gh-locked", "gh.locked", locked, "wrong")}${entry("gh-flaky", "gh.flaky", flaky, TOKEN)}
`;
    t = await startTestApp({
      config,
      registry: createRegistry([githubPullsCollector]),
      collectorOptions: { run: { batchSize: 2, flushMs: 60_000, heartbeatMs: 200 } },
    });
    sql = new pg.Client(t.db.url);
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await t?.stop();
    await Promise.all([main?.close(), locked?.close(), flaky?.close()]);
  });
  afterEach(() => {
    for (const f of [main, locked, flaky]) f.reset();
  });

  const run = async (name: string) =>
    (await t.gql(`mutation { runCollector(name: "${name}") { status observations rejected error } }`)).body
      .data.runCollector;
  const stored = async (metric: string) =>
    (
      await sql.query(
        `SELECT o.external_id, o.value, o.observed_at FROM observation o JOIN metric m ON m.id = o.metric_id
         WHERE m.key = $1 ORDER BY o.observed_at DESC`,
        [metric],
      )
    ).rows.map((r) => [r.external_id, r.value, (r.observed_at as Date).toISOString()]);
  const cursor = async (name: string) =>
    (await sql.query("SELECT cursor FROM collector_cursor WHERE instance = $1", [name])).rows[0]?.cursor ??
    null;

  it("backfills through a rate limit, stores the hand-computed hours, commits the newest updated_at; the next run reads one page", async () => {
    main.primaryLimitOn(2);
    expect(await run("gh-main")).toEqual({ status: "SUCCEEDED", observations: 5, rejected: 0, error: null });
    expect(await stored("gh.main")).toEqual(FIRST_RUN.map((o) => [o.externalId, o.value, o.observedAt]));
    expect(await cursor("gh-main")).toBe(NEWEST);
    expect(main.calls.map((c) => [c.page, c.status])).toEqual([
      [1, 200],
      [2, 403],
      [2, 200],
      [3, 200],
      [4, 200],
    ]);

    main.reset();
    expect(await run("gh-main")).toEqual({ status: "SUCCEEDED", observations: 1, rejected: 0, error: null });
    expect(pagesOf(main)).toEqual([1]);
    expect(await stored("gh.main")).toHaveLength(5);
    expect(await cursor("gh-main")).toBe(NEWEST);
  });

  it("fails on wrong credentials with a message that says so, and stores nothing", async () => {
    const r = await run("gh-locked");
    expect(r).toMatchObject({ status: "FAILED", observations: 0, rejected: 0 });
    expect(r.error).toMatch(/authentication failed/);
    expect(await stored("gh.locked")).toEqual([]);
    expect(await cursor("gh-locked")).toBeNull();
    expect(locked.calls).toHaveLength(1);
  });

  it("a run that fails midway commits no cursor; the next run starts over from since", async () => {
    flaky.breakPage(3);
    const failed = await run("gh-flaky");
    expect(failed.status).toBe("FAILED");
    expect(failed.error).toMatch(/expected JSON/);
    // What was read may be stored (batches of 2), but the cursor did not move.
    expect(await cursor("gh-flaky")).toBeNull();
    expect(pagesOf(flaky)).toEqual([1, 2, 3]);

    flaky.reset();
    expect(await run("gh-flaky")).toEqual({ status: "SUCCEEDED", observations: 5, rejected: 0, error: null });
    expect(pagesOf(flaky)).toEqual([1, 2, 3, 4]);
    expect(await stored("gh.flaky")).toEqual(FIRST_RUN.map((o) => [o.externalId, o.value, o.observedAt]));
    expect(await cursor("gh-flaky")).toBe(NEWEST);
  });
});
