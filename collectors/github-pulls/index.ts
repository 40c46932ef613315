import {
  bearerAuth,
  type CollectContext,
  dateOrDateTime,
  defineCollector,
  explainStatus,
  httpUrl,
  inRange,
  isObject,
  linkNext,
  type ObservationRecord,
  PageError,
  pages,
  parseDateTime,
  type ReadRecord,
  type RejectedRecord,
  rejection,
  type SourceRecord,
  showValue,
  startBound,
  toExternalId,
  z,
} from "../../src/collect/sdk/index.js";

// GitHub pull requests: hours from `created_at` to `merged_at` of each merged pull request of one
// repository, from `GET /repos/{owner}/{repo}/pulls?state=closed&sort=updated&direction=desc`.
// The endpoint has no `since` filter, so the collector walks the list newest-updated first and stops at
// the first pull request updated before the committed cursor (minus OVERLAP_MS), or before `since` on the
// first run. Because the stream is in descending order, records carry no cursor: one `checkpoint` with the
// newest `updated_at` seen closes a run that read everything it had to. See README.md.
// https://docs.github.com/en/rest/pulls/pulls#list-pull-requests

export const DEFAULT_BASE_URL = "https://api.github.com";
/** The REST API version this collector is written against (sent as X-GitHub-Api-Version). */
export const API_VERSION = "2022-11-28";
/**
 * How far before the committed cursor a later run still reads. GitHub's timestamps have one-second
 * resolution and a pull request updated in the same second as the newest one of the last run, or
 * committed a moment later than its timestamp says, must not be missed; re-reading a few is harmless
 * (externalId upserts).
 */
export const OVERLAP_MS = 5_000;
export { DEFAULT_SINCE_DAYS } from "../../src/collect/sdk/index.js";

const HOUR_MS = 3_600_000;

// Owners are user or organisation logins (letters, digits, hyphens; managed users add `_shortcode`);
// repository names are letters, digits, `.`, `_` and `-`, at most 100 characters, never `.` or `..`.
const REPO = /^([A-Za-z0-9][A-Za-z0-9_-]{0,99})\/([A-Za-z0-9._-]{1,100})$/;

const repo = z
  .string()
  .trim()
  .refine((s) => {
    const m = REPO.exec(s);
    return m !== null && m[2] !== "." && m[2] !== "..";
  }, "must be owner/name, e.g. octocat/hello-world (not a URL)");

export const githubPullsOptions = z.strictObject({
  /** https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server. */
  baseUrl: httpUrl.default(DEFAULT_BASE_URL),
  /** `owner/name`. */
  repo,
  /** A fine-grained or classic personal access token, or a GitHub App installation token. */
  token: z.string().min(1, "must not be empty"),
  /** The first run reads pull requests updated from here on (default 365 days before the run). */
  since: dateOrDateTime.optional(),
  /** `per_page`: pull requests per request (GitHub allows at most 100). */
  pageSize: z.int().min(1).max(100).default(100),
});

export type GithubPullsOptions = z.output<typeof githubPullsOptions>;

/** The `rel="next"` target of a Link header, resolved against `base` (the SDK's parser). */
export const nextLink = linkNext;

/** An ISO-8601 date-time string with an offset (GitHub sends `2025-03-01T10:00:00Z`); null otherwise. */
function instant(v: unknown): Date | null {
  return typeof v === "string" ? parseDateTime(v) : null;
}

/**
 * One pull request of the list: an observation, a rejection naming the unreadable field and its value,
 * or null when it gives no figure (not merged, or merged outside a backfill's range).
 */
export function readPull(pr: unknown, range: CollectContext<unknown>["range"] = null): ReadRecord | null {
  if (!isObject(pr)) return { kind: "rejected", reason: `pull request is not an object: ${showValue(pr)}` };
  const externalId = toExternalId(pr.id);
  const reject = (reason: string): RejectedRecord =>
    rejection(typeof pr.number === "number" ? `#${pr.number}: ${reason}` : reason, externalId);
  const bad = (field: string, raw: unknown, expected: string) =>
    reject(raw === undefined ? `${field} is missing` : `${field} ${showValue(raw)} is not ${expected}`);
  // `merged_at` is null on a pull request closed without merging: no figure by definition.
  if (pr.merged_at === null) return null;
  if (externalId === null) return bad("id", pr.id, "a number");
  const merged = instant(pr.merged_at);
  if (merged === null) return bad("merged_at", pr.merged_at, "an ISO-8601 date-time");
  const created = instant(pr.created_at);
  if (created === null) return bad("created_at", pr.created_at, "an ISO-8601 date-time");
  if (merged < created) {
    return reject(`merged_at ${showValue(pr.merged_at)} is before created_at ${showValue(pr.created_at)}`);
  }
  if (!inRange(range, merged)) return null;
  const record: ObservationRecord = {
    externalId,
    observedAt: merged,
    value: (merged.getTime() - created.getTime()) / HOUR_MS,
  };
  const dimensions: Record<string, string> = {};
  if (typeof pr.number === "number") dimensions.number = String(pr.number);
  const base = (pr.base as { ref?: unknown } | null | undefined)?.ref;
  if (typeof base === "string" && base !== "") dimensions.base = base;
  if (Object.keys(dimensions).length > 0) record.dimensions = dimensions;
  return record;
}

async function* collect(ctx: CollectContext<GithubPullsOptions>): AsyncGenerator<SourceRecord> {
  const o = ctx.options;
  const [owner, name] = o.repo.split("/") as [string, string];
  const base = o.baseUrl.replace(/\/+$/, "");
  const url = `${base}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/pulls`;
  // A pull request's updated_at is never before its merged_at (merging updates it), so nothing merged in
  // a backfill's range was last updated before range.from; the overlap catches same-second updates.
  const bound = startBound(ctx);
  const from = bound.from && new Date(bound.from.getTime() - OVERLAP_MS);
  let newest: Date | null = null;
  let older = false;
  const walk = pages<unknown>(ctx, {
    first: {
      url,
      // GitHub's default direction for sort=updated is asc: say desc.
      query: { state: "closed", sort: "updated", direction: "desc", per_page: o.pageSize },
      headers: { Accept: "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION },
      auth: bearerAuth(o.token),
    },
    next: (page) => (older ? null : linkNext(page.headers.get("link"), page.url)),
  });
  // GitHub answers 404, not 403, for a private repository the token cannot see.
  const notFound = `repository ${o.repo} not found at ${base}, or the token cannot see it (HTTP 404): check repo and the token's repository access`;
  for await (const page of explainStatus(walk, 404, url, notFound)) {
    const list = page.status === 204 ? [] : page.body;
    if (!Array.isArray(list))
      throw new PageError(
        page.url,
        `expected a JSON array of pull requests, got ${showValue(list)}`,
        page.status,
      );
    for (const pr of list) {
      const updated = instant((pr as { updated_at?: unknown } | null)?.updated_at);
      // Sorted by updated_at descending: everything from here on was read by an earlier run.
      if (updated !== null && from !== null && updated < from) {
        older = true;
        break;
      }
      if (updated !== null && (newest === null || updated > newest)) newest = updated;
      const record = readPull(pr, ctx.range);
      if (record) yield record;
      else if ((pr as { merged_at?: unknown }).merged_at === null) ctx.skip(); // closed unmerged
    }
  }
  // Every page down to the bound was read: the newest updated_at seen is safe to commit. A backfill
  // leaves the cursor alone, and the cursor never moves back (a reopened pull request leaves the list).
  if (ctx.range || newest === null) return;
  if (bound.committed !== null && newest < bound.committed) newest = bound.committed;
  yield { kind: "checkpoint", cursor: newest.toISOString() };
}

export const githubPullsCollector = defineCollector({
  type: "github-pulls",
  description: "Hours from creation to merge of each merged pull request of a GitHub repository.",
  options: githubPullsOptions,
  collect,
});
