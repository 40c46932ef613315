import type http from "node:http";
import { type LocalServer, startLocalServer } from "../../test/helpers/local-server.js";

// A fake GitHub REST API for the github-pulls tests, written from GitHub's documentation:
// - List pull requests, https://docs.github.com/en/rest/pulls/pulls#list-pull-requests : `state`
//   open|closed|all (default open), `sort` created|updated|popularity|long-running (default created),
//   `direction` asc|desc (default desc for sort=created, else asc), `per_page` (default 30, max 100),
//   `page` (default 1); a JSON array of pull requests whose `merged_at` is null unless merged;
//   date-times are ISO 8601 in UTC (`2011-01-26T19:01:12Z`).
// - Pagination, https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api :
//   a `link` header with rel="prev"/"next"/"last"/"first" URLs (the API's own URLs name the repository
//   by id: /repositories/{id}/pulls?…&page=N), omitted when everything fits on one page.
// - Rate limits, https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api and
//   https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api : a spent primary
//   limit is 403 (or 429) with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` in UTC epoch seconds,
//   and no request succeeds before the reset; a secondary limit is 403 (or 429) with `retry-after`.
// - Authentication, https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api :
//   `Authorization: Bearer <token>` (or `token <token>`); a wrong token is 401 "Bad credentials".
// - API versions, https://docs.github.com/en/rest/about-the-rest-api/api-versions : an unsupported
//   `X-GitHub-Api-Version` is 400.

export const DOCS = "https://docs.github.com/rest";

/** A pull request as the test sets it up; fields are `unknown` so that tests can serve garbage. */
export interface FakePull {
  id: unknown;
  number: number;
  created_at: unknown;
  updated_at: string;
  merged_at: unknown;
  /** Default: merged_at when merged, else updated_at. */
  closed_at?: string | null;
  /** Default closed. */
  state?: "open" | "closed";
  base?: string;
}

export interface FakeCall {
  path: string;
  page: number;
  status: number;
  /** Date.now() when the request arrived. */
  at: number;
  headers: http.IncomingHttpHeaders;
}

export interface FakeGitHub {
  url: string;
  readonly repo: string;
  readonly repoId: number;
  /** The repository's pull requests; tests change them between runs. */
  pulls: FakePull[];
  token: string;
  /** Requests to the pulls list, in order. */
  readonly calls: FakeCall[];
  /** The next request for `page` spends the primary rate limit: 403 until a reset 1–2 s ahead. */
  primaryLimitOn(page: number): void;
  /** The next request for `page` hits a secondary rate limit: 403 with retry-after. */
  secondaryLimitOn(page: number, retryAfterSeconds?: number): void;
  /** Every request for `page` answers an HTML page with 200 (a proxy's maintenance page); null to heal. */
  breakPage(page: number | null): void;
  /** When the list fills its last page exactly, link one more, empty, page. */
  trailingEmptyPage: boolean;
  /** Epoch ms until which the primary limit is spent (the reset of the last primary limit), else null. */
  readonly limitedUntil: number | null;
  /** Forgets calls and scripted failures. */
  /** Pull requests per page, whatever per_page asks (null: per_page, at most 100, as GitHub does). */
  pageSize: number | null;
  reset(): void;
  close(): Promise<void>;
}

const SUPPORTED_VERSIONS = new Set(["2022-11-28"]);

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res
    .writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers })
    .end(JSON.stringify(body));
}

/** The pull request object the API returns (the fields the collector may read, and some it ignores). */
function apiPull(p: FakePull, repo: string, base: string): Record<string, unknown> {
  const merged = p.merged_at ?? null;
  return {
    url: `${base}/repos/${repo}/pulls/${p.number}`,
    id: p.id,
    node_id: `PR_kwDO${String(p.id)}`,
    html_url: `https://github.com/${repo}/pull/${p.number}`,
    number: p.number,
    state: p.state ?? "closed",
    locked: false,
    title: `Change number ${p.number}`,
    user: { login: "octocat", id: 1, type: "User" },
    body: null,
    labels: [],
    created_at: p.created_at,
    updated_at: p.updated_at,
    closed_at:
      p.closed_at !== undefined
        ? p.closed_at
        : (p.state ?? "closed") === "closed"
          ? (merged ?? p.updated_at)
          : null,
    merged_at: merged,
    merge_commit_sha: merged ? "e5bd3914e2e596debea16f433f57875b5b90bcd6" : null,
    draft: false,
    head: { label: `octocat:feature-${p.number}`, ref: `feature-${p.number}` },
    base: { label: `octocat:${p.base ?? "main"}`, ref: p.base ?? "main" },
    author_association: "MEMBER",
    auto_merge: null,
    active_lock_reason: null,
  };
}

export async function startFakeGitHub(opts: {
  repo: string;
  token: string;
  pulls?: FakePull[];
  repoId?: number;
  pageSize?: number;
}): Promise<FakeGitHub> {
  const repoId = opts.repoId ?? 1296269;
  const calls: FakeCall[] = [];
  let primaryOn: number | null = null;
  let secondaryOn: { page: number; after: number } | null = null;
  let broken: number | null = null;
  let limitedUntil: number | null = null;

  const fake = {
    url: "",
    repo: opts.repo,
    repoId,
    pulls: opts.pulls ?? [],
    token: opts.token,
    calls,
    trailingEmptyPage: false,
    pageSize: opts.pageSize ?? null,
    get limitedUntil() {
      return limitedUntil;
    },
    primaryLimitOn(page: number) {
      primaryOn = page;
    },
    secondaryLimitOn(page: number, after = 1) {
      secondaryOn = { page, after };
    },
    breakPage(page: number | null) {
      broken = page;
    },
    reset() {
      calls.length = 0;
      primaryOn = null;
      secondaryOn = null;
      broken = null;
      limitedUntil = null;
      fake.trailingEmptyPage = false;
    },
    close: async () => server.close(),
  };

  const rateHeaders = (remaining: number, resetSec: number): Record<string, string> => ({
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": String(remaining),
    "x-ratelimit-used": String(5000 - remaining),
    "x-ratelimit-reset": String(resetSec),
    "x-ratelimit-resource": "core",
  });

  const handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const base = `http://${req.headers.host}`;
    const byName = `/repos/${opts.repo}/pulls`;
    const byId = `/repositories/${repoId}/pulls`;
    const rawPage = url.searchParams.get("page");
    const page = rawPage === null ? 1 : Number(rawPage);
    const call: FakeCall = {
      path: `${url.pathname}${url.search}`,
      page,
      status: 200,
      at: Date.now(),
      headers: req.headers,
    };
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      call.status = status;
      calls.push(call);
      send(res, status, body, headers);
    };
    const now = Date.now();
    const hourReset = Math.floor(now / 1000) + 3600;

    if (url.pathname !== byName && url.pathname !== byId) {
      return reply(404, {
        message: "Not Found",
        documentation_url: `${DOCS}/pulls/pulls#list-pull-requests`,
        status: "404",
      });
    }
    const auth = req.headers.authorization ?? "";
    if (auth !== `Bearer ${fake.token}` && auth !== `token ${fake.token}`) {
      return reply(401, { message: "Bad credentials", documentation_url: DOCS, status: "401" });
    }
    const version = req.headers["x-github-api-version"];
    if (typeof version === "string" && !SUPPORTED_VERSIONS.has(version)) {
      return reply(400, {
        message: `Unsupported 'X-GitHub-Api-Version': ${version}`,
        documentation_url: `${DOCS}/overview/api-versions`,
        status: "400",
      });
    }
    // A spent primary limit: nothing succeeds before the reset.
    if (limitedUntil !== null && now < limitedUntil) {
      return reply(
        403,
        {
          message: "API rate limit exceeded for user ID 1.",
          documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api`,
          status: "403",
        },
        rateHeaders(0, limitedUntil / 1000),
      );
    }
    if (primaryOn === page) {
      primaryOn = null;
      // Epoch seconds, so the reset is 1 to 2 s ahead.
      const resetSec = Math.floor(now / 1000) + 2;
      limitedUntil = resetSec * 1000;
      return reply(
        403,
        {
          message: "API rate limit exceeded for user ID 1.",
          documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api`,
          status: "403",
        },
        rateHeaders(0, resetSec),
      );
    }
    if (secondaryOn?.page === page) {
      const { after } = secondaryOn;
      secondaryOn = null;
      return reply(
        403,
        {
          message:
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
          documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
          status: "403",
        },
        { ...rateHeaders(4000, hourReset), "retry-after": String(after) },
      );
    }
    if (broken === page) {
      call.status = 200;
      calls.push(call);
      res
        .writeHead(200, { "content-type": "text/html" })
        .end("<!DOCTYPE html><html><body>Down for maintenance</body></html>");
      return;
    }

    const state = url.searchParams.get("state") ?? "open";
    const sort = url.searchParams.get("sort") ?? "created";
    const direction = url.searchParams.get("direction") ?? (sort === "created" ? "desc" : "asc");
    if (
      !["open", "closed", "all"].includes(state) ||
      !["created", "updated", "popularity", "long-running"].includes(sort) ||
      !["asc", "desc"].includes(direction) ||
      !Number.isInteger(page) ||
      page < 1
    ) {
      return reply(422, {
        message: "Validation Failed",
        documentation_url: `${DOCS}/pulls/pulls#list-pull-requests`,
        status: "422",
      });
    }
    const perPage =
      fake.pageSize ?? Math.min(100, Math.max(1, Number(url.searchParams.get("per_page") ?? "30") || 30));
    const key = (p: FakePull) => (sort === "created" ? String(p.created_at) : p.updated_at);
    const sign = direction === "desc" ? -1 : 1;
    const all = fake.pulls
      .filter((p) => state === "all" || (p.state ?? "closed") === state)
      .sort((a, b) => sign * (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : Number(a.id) - Number(b.id)));
    const items = all.slice((page - 1) * perPage, page * perPage);
    let last = Math.max(1, Math.ceil(all.length / perPage));
    if (fake.trailingEmptyPage && all.length > 0 && all.length % perPage === 0) last++;

    // The Link header keeps the query (with page changed) and names the repository by id.
    const linkTo = (n: number) => {
      const u = new URL(`${base}${byId}`);
      for (const [k, v] of url.searchParams) if (k !== "page") u.searchParams.append(k, v);
      u.searchParams.set("page", String(n));
      return u.toString();
    };
    const links: string[] = [];
    if (page > 1) links.push(`<${linkTo(Math.min(page - 1, last))}>; rel="prev"`);
    if (page < last) links.push(`<${linkTo(page + 1)}>; rel="next"`, `<${linkTo(last)}>; rel="last"`);
    if (page > 1) links.push(`<${linkTo(1)}>; rel="first"`);
    return reply(
      200,
      items.map((p) => apiPull(p, opts.repo, base)),
      { ...rateHeaders(4999, hourReset), ...(links.length ? { link: links.join(", ") } : {}) },
    );
  };

  const server: LocalServer = await startLocalServer(handler);
  fake.url = server.url;
  return fake;
}
