import { type LocalServer, sendJson, startLocalServer } from "../../test/helpers/local-server.js";

// A local stand-in for Jira Cloud's enhanced JQL search, written from Atlassian's documentation:
// - https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/ ("Search for
//   issues using JQL enhanced search (GET)", `GET /rest/api/3/search/jql`): query parameters `jql`,
//   `nextPageToken`, `maxResults` (default 50; "API may return fewer items per page where a large number
//   of fields or properties are requested"; at most 5000), `fields` (a comma-separated list; only the
//   issue id is returned by default), `expand` (a comma-delimited string); the answer is
//   `{ issues: [{ id, key, self, fields }], nextPageToken, isLast }`, the token "null" on the last or only
//   page, and there is no `startAt` or `total`. Recent updates may not be immediately visible.
// - the OpenAPI model SearchAndReconcileResults (isLast: "whether this is the last page"; nextPageToken:
//   "If this result represents the last or the only page this token will be null").
// - https://developer.atlassian.com/cloud/jira/platform/rate-limiting (429 with `Retry-After` in seconds
//   and `X-RateLimit-Reset` as an ISO 8601 timestamp `yyyy-MM-ddTHH:mmZ`, plus `RateLimit-Reason`).
// - JQL date-time literals: "yyyy/MM/dd HH:mm", "yyyy-MM-dd HH:mm" (Atlassian's "JQL Date Time Formats"),
//   read in the searching user's time zone; issue date-times are written `2025-01-15T10:22:01.000+0000`.
// - Errors are Jira's ErrorCollection: `{"errorMessages":["..."],"errors":{}}` (401 on bad credentials,
//   400 on a bad JQL or token).
// It understands only the JQL the collector sends: `(<expected user JQL>)[ AND updated >= "yyyy-MM-dd
// HH:mm"] ORDER BY updated ASC`.

export const SEARCH_PATH = "/rest/api/3/search/jql";

/** An issue as Jira stores it; the search returns only the requested `fields`. */
export interface FakeIssue {
  id: string;
  key: string;
  fields: Record<string, unknown> & { updated: string };
}

export interface FakeJiraOptions {
  /** `Basic base64(email:apiToken)` or a Bearer token the server accepts. */
  email?: string;
  apiToken?: string;
  bearer?: string;
  /** The user JQL the server expects inside the parentheses. */
  userJql: string;
  /** The searching user's time zone as a fixed offset from UTC, in minutes (330 = Asia/Kolkata). */
  tzOffsetMinutes?: number;
  /** Serve at most this many issues per page, whatever maxResults asks (Jira "may return fewer"). */
  serveAtMost?: number;
  /**
   * How the last page is told: `isLast` (isLast: true, no token, the documented shape), `noToken`
   * (nextPageToken absent, isLast absent) or `emptyPage` (a page that ends the data still carries a token,
   * and the page after it is empty with isLast: true).
   */
  lastPage?: "isLast" | "noToken" | "emptyPage";
}

export interface FakeJira extends LocalServer {
  issues: FakeIssue[];
  /** 1-based search request numbers to answer with 429 (Retry-After: 1). */
  rateLimitAt: Set<number>;
  /** Every search request's parameters, in order (including refused ones). */
  searches: { jql: string | null; fields: string | null; maxResults: string | null; token: string | null }[];
  /** Receipt times (performance.now()) of the search requests. */
  times: number[];
  options: FakeJiraOptions;
}

function errorBody(res: import("node:http").ServerResponse, status: number, message: string, headers = {}) {
  res
    .writeHead(status, { "content-type": "application/json;charset=UTF-8", ...headers })
    .end(JSON.stringify({ errorMessages: [message], errors: {} }));
}

/** `yyyy-MM-dd HH:mm` in a fixed-offset zone → epoch ms. */
function jqlInstant(literal: string, offsetMinutes: number): number | null {
  const m = /^(\d{4})[-/](\d{2})[-/](\d{2}) (\d{2}):(\d{2})$/.exec(literal);
  if (!m) return null;
  const [, y, mo, d, h, mi] = m.map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi) - offsetMinutes * 60_000;
}

/** Jira's `2025-01-15T10:22:01.000+0000` → epoch ms (the fake's own reading, independent of the collector's). */
function jiraInstant(s: string): number {
  const m = /^(.{19})(\.\d{3})?([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return Number.NaN;
  const sign = m[3] === "-" ? -1 : 1;
  return Date.parse(`${m[1]}${m[2] ?? ""}Z`) - sign * (Number(m[4]) * 60 + Number(m[5])) * 60_000;
}

const encodeToken = (offset: number, jql: string) =>
  Buffer.from(JSON.stringify({ o: offset, q: jql })).toString("base64url");

function decodeToken(token: string): { o: number; q: string } | null {
  try {
    const t = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    return typeof t?.o === "number" && typeof t?.q === "string" ? t : null;
  } catch {
    return null;
  }
}

export async function startFakeJira(options: FakeJiraOptions, issues: FakeIssue[] = []): Promise<FakeJira> {
  let n = 0;
  let self: FakeJira;
  const server = await startLocalServer((req, res, url) => {
    if (url.pathname !== SEARCH_PATH) return errorBody(res, 404, "Not found");
    const o = self.options;
    const q = url.searchParams;
    const number = ++n;
    self.times.push(performance.now());
    self.searches.push({
      jql: q.get("jql"),
      fields: q.get("fields"),
      maxResults: q.get("maxResults"),
      token: q.get("nextPageToken"),
    });

    const auth = req.headers.authorization ?? "";
    const basicOk =
      o.email !== undefined && auth === `Basic ${Buffer.from(`${o.email}:${o.apiToken}`).toString("base64")}`;
    const bearerOk = o.bearer !== undefined && auth === `Bearer ${o.bearer}`;
    if (!basicOk && !bearerOk) {
      return errorBody(res, 401, "Client must be authenticated to access this resource.", {
        "www-authenticate": 'OAuth realm="https%3A%2F%2Fexample.atlassian.net"',
      });
    }
    if (self.rateLimitAt.has(number)) {
      const reset = new Date(Date.now() + 60_000).toISOString().slice(0, 16);
      return errorBody(res, 429, "Rate limit exceeded.", {
        "retry-after": "1",
        "x-ratelimit-reset": `${reset}Z`,
        "ratelimit-reason": "jira-burst-based",
      });
    }

    const jql = q.get("jql") ?? "";
    const parsed = /^\((.*)\)(?: AND updated >= "([^"]*)")? ORDER BY updated ASC$/s.exec(jql);
    if (!parsed || parsed[1] !== o.userJql) {
      return errorBody(res, 400, `Error in the JQL Query: the fake understands only (${o.userJql}) queries.`);
    }
    let since = Number.NEGATIVE_INFINITY;
    if (parsed[2] !== undefined) {
      const at = jqlInstant(parsed[2], o.tzOffsetMinutes ?? 0);
      if (at === null) {
        return errorBody(
          res,
          400,
          `Date value '${parsed[2]}' for field 'updated' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.`,
        );
      }
      since = at;
    }
    const maxResults = Math.min(5000, Number(q.get("maxResults") ?? "50"));
    if (!Number.isInteger(maxResults) || maxResults < 0) return errorBody(res, 400, "maxResults is invalid.");

    let offset = 0;
    const token = q.get("nextPageToken");
    if (token !== null) {
      const t = decodeToken(token);
      if (!t || t.q !== jql)
        return errorBody(res, 400, "The provided next page token is invalid or expired.");
      offset = t.o;
    }

    const all = self.issues
      .filter((i) => jiraInstant(i.fields.updated) >= since)
      .sort(
        (a, b) =>
          jiraInstant(a.fields.updated) - jiraInstant(b.fields.updated) || Number(a.id) - Number(b.id),
      );
    const size = Math.min(maxResults, o.serveAtMost ?? maxResults);
    const page = all.slice(offset, offset + size);
    const end = offset + page.length;
    const more = o.lastPage === "emptyPage" ? page.length > 0 && end <= all.length : end < all.length;

    // Only the requested fields, comma-separated; unknown ones are left out; no `fields` = the id only.
    const wanted = (q.get("fields") ?? "").split(",").filter(Boolean);
    const origin = `http://${req.headers.host}`;
    const body: Record<string, unknown> = {
      issues: page.map((i) => ({
        expand: "",
        id: i.id,
        self: `${origin}/rest/api/3/issue/${i.id}`,
        key: i.key,
        ...(wanted.length
          ? { fields: Object.fromEntries(wanted.filter((f) => f in i.fields).map((f) => [f, i.fields[f]])) }
          : {}),
      })),
    };
    if (more) body.nextPageToken = encodeToken(end, jql);
    if (!more && o.lastPage !== "noToken") body.isLast = true;
    if (more) body.isLast = false;
    sendJson(res, body);
  });
  self = Object.assign(server, {
    issues,
    rateLimitAt: new Set<number>(),
    searches: [],
    times: [],
    options,
  }) as FakeJira;
  return self;
}
