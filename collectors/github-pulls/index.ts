import { z } from "zod";
import { bearerAuth, SourceError } from "../../src/collect/http-client.js";
import { dateOrDateTime } from "../../src/collect/options.js";
import {
  type CollectContext,
  defineCollector,
  type ObservationRecord,
  type RejectedRecord,
  type SourceRecord,
} from "../../src/collect/types.js";
import { showValue, toExternalId } from "../../src/collect/values.js";
import { parseDateTime } from "../../src/domain/rules.js";

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
/** The first run's reach when `since` is not given. */
export const DEFAULT_SINCE_DAYS = 365;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

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
  baseUrl: z
    .url({ protocol: /^https?$/, error: "must be an absolute http(s) URL" })
    .default(DEFAULT_BASE_URL),
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

/** The `rel="next"` target of a Link header (RFC 8288), resolved against `base`; null if none. */
export function nextLink(header: string | null, base: string): string | null {
  if (!header) return null;
  for (const m of header.matchAll(/<([^>]*)>([^,<]*)/g)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(m[2] ?? "");
    const values = (rel?.[1] ?? rel?.[2] ?? "").toLowerCase().split(/\s+/);
    if (values.includes("next")) return new URL(m[1]!, base).toString();
  }
  return null;
}

/** An ISO-8601 date-time string with an offset (GitHub sends `2025-03-01T10:00:00Z`); null otherwise. */
function instant(v: unknown): Date | null {
  return typeof v === "string" ? parseDateTime(v) : null;
}

type PullRecord = ObservationRecord | RejectedRecord;

/**
 * One pull request of the list: an observation, a rejection naming the unreadable field and its value,
 * or null when it gives no figure (not merged, or merged outside a backfill's range).
 */
export function readPull(pr: unknown, range: CollectContext<unknown>["range"] = null): PullRecord | null {
  if (typeof pr !== "object" || pr === null || Array.isArray(pr)) {
    return { kind: "rejected", reason: `pull request is not an object: ${showValue(pr)}` };
  }
  const p = pr as Record<string, unknown>;
  const externalId = toExternalId(p.id);
  const reject = (reason: string): RejectedRecord => ({
    kind: "rejected",
    reason: typeof p.number === "number" ? `#${p.number}: ${reason}` : reason,
    ...(externalId !== null ? { externalId } : {}),
  });
  const bad = (field: string, raw: unknown, expected: string) =>
    reject(raw === undefined ? `${field} is missing` : `${field} ${showValue(raw)} is not ${expected}`);
  // `merged_at` is null on a pull request closed without merging: no figure by definition.
  if (p.merged_at === null) return null;
  if (externalId === null) return bad("id", p.id, "a number");
  const merged = instant(p.merged_at);
  if (merged === null) return bad("merged_at", p.merged_at, "an ISO-8601 date-time");
  const created = instant(p.created_at);
  if (created === null) return bad("created_at", p.created_at, "an ISO-8601 date-time");
  if (merged < created) {
    return reject(`merged_at ${showValue(p.merged_at)} is before created_at ${showValue(p.created_at)}`);
  }
  if (range && ((range.from && merged < range.from) || (range.to && merged >= range.to))) return null;
  const record: ObservationRecord = {
    externalId,
    observedAt: merged,
    value: (merged.getTime() - created.getTime()) / HOUR_MS,
  };
  const dimensions: Record<string, string> = {};
  if (typeof p.number === "number") dimensions.number = String(p.number);
  const base = (p.base as { ref?: unknown } | null | undefined)?.ref;
  if (typeof base === "string" && base !== "") dimensions.base = base;
  if (Object.keys(dimensions).length > 0) record.dimensions = dimensions;
  return record;
}

/** The earliest `updated_at` this run must read; the walk stops at the first pull request before it. */
function lowerBound(ctx: CollectContext<GithubPullsOptions>): { from: Date | null; committed: Date | null } {
  if (ctx.range) {
    // A pull request's updated_at is never before its merged_at (merging updates it), so nothing merged
    // in the range was last updated before range.from.
    return { from: ctx.range.from && new Date(ctx.range.from.getTime() - OVERLAP_MS), committed: null };
  }
  if (ctx.cursor !== null) {
    const committed = parseDateTime(ctx.cursor);
    if (committed) return { from: new Date(committed.getTime() - OVERLAP_MS), committed };
    ctx.log.warn("github-pulls: the committed cursor is not a date-time; collecting from since again", {
      cursor: ctx.cursor,
    });
  }
  return {
    from: ctx.options.since ?? new Date(ctx.now.getTime() - DEFAULT_SINCE_DAYS * DAY_MS),
    committed: null,
  };
}

async function* collect(ctx: CollectContext<GithubPullsOptions>): AsyncGenerator<SourceRecord> {
  const o = ctx.options;
  const [owner, name] = o.repo.split("/") as [string, string];
  const base = o.baseUrl.replace(/\/+$/, "");
  const first = new URL(`${base}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/pulls`);
  first.search = new URLSearchParams({
    state: "closed",
    sort: "updated",
    // GitHub's default direction for sort=updated is asc: say desc.
    direction: "desc",
    per_page: String(o.pageSize),
  }).toString();
  const origin = first.origin;
  const headers = { Accept: "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION };
  const auth = bearerAuth(o.token);
  const { from, committed } = lowerBound(ctx);

  const fetched = new Set<string>();
  let newest: Date | null = null;
  let url: string | null = first.toString();
  let pages = 0;
  while (url !== null) {
    ctx.signal.throwIfAborted();
    fetched.add(url);
    let res: Awaited<ReturnType<typeof ctx.http.json<unknown>>>;
    try {
      res = await ctx.http.json<unknown>({ url, headers, auth });
    } catch (e) {
      // GitHub answers 404, not 403, for a private repository the token cannot see.
      if (pages === 0 && e instanceof SourceError && e.status === 404) {
        throw new SourceError(
          `repository ${o.repo} not found at ${base}, or the token cannot see it (HTTP 404): check repo and the token's repository access`,
          404,
          e.url,
        );
      }
      throw e;
    }
    pages++;
    const pageUrl = res.url || url;
    const list = res.status === 204 ? [] : res.body;
    if (!Array.isArray(list)) {
      throw new SourceError(
        `${pageUrl}: expected a JSON array of pull requests, got ${showValue(list)}`,
        res.status,
        pageUrl,
      );
    }
    let older = false;
    for (const pr of list) {
      const updated = instant((pr as { updated_at?: unknown } | null)?.updated_at);
      if (updated !== null) {
        // Sorted by updated_at descending: everything from here on was read by an earlier run.
        if (from !== null && updated < from) {
          older = true;
          break;
        }
        if (newest === null || updated > newest) newest = updated;
      }
      const record = readPull(pr, ctx.range);
      if (record) yield record;
    }
    if (older) break;
    const next = nextLink(res.headers.get("link"), pageUrl);
    if (next !== null) {
      if (new URL(next).origin !== origin) {
        throw new SourceError(
          `${pageUrl}: the next page ${next} is on another host; the token is not sent there`,
        );
      }
      if (fetched.has(next))
        throw new SourceError(`${pageUrl}: pagination loops: ${next} was already fetched`);
    }
    url = next;
  }
  ctx.log.debug("github-pulls: walk finished", { pages, newest: newest?.toISOString() });
  // Every page down to the bound was read: the newest updated_at seen is safe to commit. A backfill
  // leaves the cursor alone, and the cursor never moves back (a reopened pull request leaves the list).
  if (ctx.range || newest === null) return;
  if (committed !== null && newest < committed) newest = committed;
  yield { kind: "checkpoint", cursor: newest.toISOString() };
}

export const githubPullsCollector = defineCollector({
  type: "github-pulls",
  description: "Hours from creation to merge of each merged pull request of a GitHub repository.",
  options: githubPullsOptions,
  collect,
});
