import {
  apiUrl,
  authOf,
  basicOrBearerOptions,
  type CollectContext,
  dateOrDateTime,
  defineCollector,
  httpUrl,
  inRange,
  isObject,
  PageError,
  pages,
  queryDateTime,
  type ReadRecord,
  rejection,
  requireBasicOrBearer,
  type SourceRecord,
  showValue,
  startBound,
  timeZoneName,
  toExternalId,
  vendorDateTime,
  z,
} from "../../src/collect/sdk/index.js";

// Jira Cloud issues through the enhanced JQL search, `GET {baseUrl}/rest/api/3/search/jql`: the user's
// JQL, narrowed to `updated >= "<cursor in timeZone, floored to the minute>"` and ordered by `updated`,
// read page by page with `nextPageToken` until `isLast`. Each resolved issue gives the minutes from the
// `from` field (default `created`) to the `to` field (default `resolutiondate`), observed at `to`.
// See README.md for the options and the vendor behaviour this relies on.

const SEARCH_PATH = "/rest/api/3/search/jql";
/**
 * Jira's search index trails writes ("recent updates might not be immediately visible in the returned
 * search results"): the cursor never passes this long before the run's start, so an issue that was
 * updated just before the run but not yet searchable is found by the next run.
 */
export const INDEX_LAG_MS = 60_000;

/** A field id as the search's `fields` parameter takes it: `created`, `resolutiondate`, `customfield_10050`. */
const fieldId = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, "must be a Jira field id such as created or customfield_10050");

/** The JQL without its quoted strings, to look for keywords outside them. */
function unquoted(jql: string): string {
  return jql.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
}

const CREDENTIALS = { user: "email", secret: "apiToken", token: "token" } as const;

export const jiraIssuesOptions = z
  .strictObject({
    /** https://your-site.atlassian.net (or https://api.atlassian.com/ex/jira/<cloudId> for OAuth tokens). */
    baseUrl: httpUrl,
    /** The user's filter, e.g. `project = ITSM AND issuetype = Incident`; no ORDER BY (the collector adds it). */
    jql: z
      .string()
      .trim()
      .min(1, "must not be empty")
      .refine((q) => !/\border\s+by\b/i.test(unquoted(q)), {
        message: "must not contain ORDER BY: the collector orders by updated",
      }),
    /** Field the duration starts at. */
    from: fieldId.default("created"),
    /** Field the duration ends at; issues where it is empty (unresolved) are skipped. */
    to: fieldId.default("resolutiondate"),
    // Basic auth: the Atlassian account's email and an API token; or Bearer auth: an OAuth 2.0 access
    // token (baseUrl then is https://api.atlassian.com/ex/jira/<cloudId>).
    ...basicOrBearerOptions(CREDENTIALS),
    /** First run: issues updated since then (default 365 days before the run). */
    since: dateOrDateTime.optional(),
    /** The integration user's time zone in Jira (profile setting): JQL dates are read in it. */
    timeZone: timeZoneName.default("UTC"),
    /** maxResults per page (Jira may return fewer). */
    pageSize: z.int().min(1).max(5000).default(100),
  })
  .superRefine(requireBasicOrBearer(CREDENTIALS))
  .refine((o) => o.from !== o.to, { path: ["to"], message: "must differ from `from`" });

export type JiraIssuesOptions = z.output<typeof jiraIssuesOptions>;

// ---- dates -------------------------------------------------------------------------------------------

/**
 * Jira's date-time, `2025-01-15T10:22:01.000+0000` (offset without a colon); also accepts `Z` and
 * `+00:00`. Null for anything else, numbers included (a number field is not a date).
 */
export const parseJiraDateTime = vendorDateTime(
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/,
);

/**
 * A JQL date-time (`yyyy-MM-dd HH:mm`, read by Jira in the user's time zone) at or before an instant: the
 * instant floored to the minute, as wall-clock time in `tz`. In a daylight-saving fall-back hour a wall
 * time names two instants; queryDateTime then steps back so that Jira's reading is never after `at`.
 */
export function jqlDateTime(at: Date, tz: string): string {
  return queryDateTime(new Date(Math.floor(at.getTime() / 60_000) * 60_000), tz).text.slice(0, 16);
}

/** The JQL of one run: the user's filter, the lower bound on `updated` when there is one, the order. */
export function buildJql(userJql: string, lowerBound: string | null): string {
  const bound = lowerBound === null ? "" : ` AND updated >= "${lowerBound}"`;
  return `(${userJql})${bound} ORDER BY updated ASC`;
}

// ---- issues ------------------------------------------------------------------------------------------

/** A page of the enhanced search as documented (everything optional: never trust a payload's shape). */
interface SearchPage {
  issues?: unknown;
  nextPageToken?: unknown;
  isLast?: unknown;
}

type IssueResult =
  | { kind: "record"; record: ReadRecord; updated: Date | null }
  | { kind: "skipped"; updated: Date | null };

/** Why a from/to value is not a date-time, naming the field. */
function badDate(field: string, raw: unknown): string {
  if (raw === undefined)
    return `${field} is not in the issue's fields (is "${field}" the field's id, and visible to the user?)`;
  if (raw === null) return `${field} is empty`;
  if (typeof raw === "string" && /^\d{4}-\d{2}-\d{2}$/.test(raw))
    return `${field} ${showValue(raw)} is a date without a time of day: minutes need a date-time field`;
  return `${field} ${showValue(raw)} is not a date-time (Jira writes 2025-01-15T10:22:01.000+0000)`;
}

/** Reads one issue: an observation, a rejection naming the field, or skipped (`to` empty: unresolved). */
export function readIssue(issue: unknown, from: string, to: string): IssueResult {
  const obj = (issue ?? {}) as { id?: unknown; key?: unknown; fields?: unknown };
  const externalId = typeof issue === "object" && issue !== null ? toExternalId(obj.id) : null;
  const fields = isObject(obj.fields) ? obj.fields : null;
  const updated = fields ? parseJiraDateTime(fields.updated) : null;
  const name = typeof obj.key === "string" ? obj.key : externalId !== null ? `id ${externalId}` : "(no id)";
  const reject = (reason: string): IssueResult => ({
    kind: "record",
    record: rejection(`issue ${name}: ${reason}`, externalId),
    updated,
  });

  if (externalId === null) return reject(`id ${showValue(obj.id)} is not a non-empty string or number`);
  if (!fields) return reject(`fields ${showValue(obj.fields)} is not an object`);
  const rawTo = fields[to];
  // No figure by definition: not resolved (yet).
  if (rawTo === null) return { kind: "skipped", updated };
  const end = parseJiraDateTime(rawTo);
  if (!end) return reject(badDate(to, rawTo));
  const rawFrom = fields[from];
  const start = parseJiraDateTime(rawFrom);
  if (!start) return reject(badDate(from, rawFrom));
  return {
    kind: "record",
    // Exact minutes, no rounding; negative when `to` is before `from` (e.g. resolved before the due date).
    record: { externalId, observedAt: end, value: (end.getTime() - start.getTime()) / 60_000 },
    updated,
  };
}

async function* collect(ctx: CollectContext<JiraIssuesOptions>): AsyncGenerator<SourceRecord> {
  const o = ctx.options;
  // JQL reads the bound in the user's time zone, to the minute: flooring it is the overlap, so issues
  // updated in the cursor's minute are read again (upserted by id). A backfill without `from`: all.
  const { from: start, committed } = startBound(ctx);
  const jql = buildJql(o.jql, start === null ? null : jqlDateTime(start, o.timeZone));
  const fields = [...new Set([o.from, o.to, "updated"])].join(",");
  const cap = ctx.now.getTime() - INDEX_LAG_MS;
  ctx.log.debug("jira-issues: searching", { jql, fields });

  let cursorMs = committed?.getTime() ?? Number.NEGATIVE_INFINITY;
  let maxUpdated = Number.NEGATIVE_INFINITY;
  const first = {
    url: apiUrl(o.baseUrl, SEARCH_PATH),
    query: { jql, fields, maxResults: o.pageSize },
    auth: authOf(o, CREDENTIALS),
  };
  // `isLast: true`, or no token, ends the search; a page may hold fewer issues than maxResults (or none)
  // and still not be the last, so an empty page does not end it. A token that comes twice is a loop.
  const walk = pages<SearchPage>(ctx, {
    first,
    next: ({ body }) =>
      body.isLast === true || typeof body.nextPageToken !== "string" || body.nextPageToken === ""
        ? null
        : { query: { ...first.query, nextPageToken: body.nextPageToken } },
  });
  for await (const { body: page, url } of walk) {
    if (!isObject(page)) throw new PageError(url, `expected a search result object, got ${showValue(page)}`);
    // An empty last page may come without `issues`.
    const issues = page.issues ?? [];
    if (!Array.isArray(issues))
      throw new PageError(url, `"issues" is not an array (found ${showValue(issues)})`);
    const next = page.nextPageToken;
    if (next !== undefined && next !== null && typeof next !== "string")
      throw new PageError(url, `"nextPageToken" is not a string (found ${showValue(next)})`);

    // The whole page is read before anything is yielded.
    const out: ReadRecord[] = [];
    for (const r of issues.map((issue) => readIssue(issue, o.from, o.to))) {
      if (r.updated) maxUpdated = Math.max(maxUpdated, r.updated.getTime());
      if (r.kind === "skipped") ctx.skip();
      // A backfill collects what was observed in [from, to), whatever the issue's later updates.
      if (r.kind === "record" && (r.record.kind === "rejected" || inRange(ctx.range, r.record.observedAt)))
        out.push(r.record);
    }
    yield* out;
    // The page is done: the cursor may pass it, skipped issues included (issues come in `updated` order).
    const pageCursor = Math.min(maxUpdated, cap);
    if (Number.isFinite(pageCursor) && pageCursor > cursorMs) {
      cursorMs = pageCursor;
      yield { kind: "checkpoint", cursor: new Date(pageCursor).toISOString() };
    }
  }
}

export const jiraIssuesCollector = defineCollector({
  type: "jira-issues",
  description:
    "Minutes from one date field to another (default created to resolutiondate) of the Jira Cloud issues a JQL filter selects.",
  options: jiraIssuesOptions,
  collect,
});
