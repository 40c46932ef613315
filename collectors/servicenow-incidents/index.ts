import { z } from "zod";
import {
  authOf,
  basicOrBearerOptions,
  type Checkpoint,
  type CollectContext,
  countHeader,
  dateOrDateTime,
  defineCollector,
  httpUrl,
  inRange,
  isObject,
  linkNext,
  PageError,
  queryDateTime,
  type RejectedRecord,
  rejection,
  requireBasicOrBearer,
  type SourceRecord,
  showValue,
  startBound,
  timeZoneName,
  vendorDateTime,
} from "../../src/collect/sdk/index.js";

// ServiceNow incidents: minutes from `opened_at` to `resolved_at` of each record of a table (default
// `incident`), read with the Table API (`GET {instanceUrl}/api/now/table/{table}`), incrementally by
// `sys_updated_on`. See README.md.
//
// Each page asks for `<query>^sys_updated_on>=<lower>^sys_updated_on<<upper>^ORDERBYsys_updated_on`,
// where the bounds are wall-clock times in the integration user's time zone (option `timeZone`), and
// pages with `sysparm_offset`, following the `Link: <…>;rel="next"` header. The upper bound is fixed for the
// run (its start minus a minute), so the result set can only shrink while the run pages through it: a
// record updated during the run leaves it (its new sys_updated_on is past the bound), which shifts every
// later row one offset down and would make the next page skip one. `X-Total-Count` shows every such
// change; the collector then asks again from the last sys_updated_on it read (offset 0), so nothing is
// skipped and the committed cursor never passes a record it has not read.

/** Records updated in the last minute are left for the next run: they may not all be committed yet. */
export const SETTLE_MS = 60_000;
const DAY_MS = 86_400_000;
const FIELDS = "sys_id,opened_at,resolved_at,sys_updated_on,number";

/** A Table API date-time (`2025-03-01 10:00:00`, UTC) as an instant; null for anything else (including ""). */
export const parseServiceNowDateTime = vendorDateTime(
  /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/,
  (v) => `${v.replace(" ", "T")}Z`,
);

/** Parts of an encoded query that would break "ANDed with the collector's own conditions and order". */
const FORBIDDEN_IN_QUERY: [RegExp, string][] = [
  [/ORDERBY/, "must not contain ORDERBY: the collector orders by sys_updated_on"],
  [/\^NQ/, "must not contain ^NQ (a new query): it would escape the collector's sys_updated_on conditions"],
  [/\^EQ/, "must not contain ^EQ: conditions after it would be ignored"],
];

const CREDENTIALS = { user: "username", secret: "password", token: "token" } as const;

export const serviceNowIncidentsOptions = z
  .strictObject({
    /** https://<instance>.service-now.com (a path prefix is kept, for proxies). */
    instanceUrl: httpUrl
      .refine((u) => !/[?#]/.test(u), "must not have a query string or a fragment")
      .transform((u) => u.replace(/\/+$/, "")),
    table: z
      .string()
      .regex(/^[A-Za-z0-9_]+$/, "must be a table name (letters, digits and underscores)")
      .default("incident"),
    /** An encoded query ANDed with the collector's conditions, e.g. `assignment_group.name=IT Service Desk`. */
    query: z
      .string()
      .default("")
      .transform((q) => q.trim().replace(/^\^+|\^+$/g, ""))
      .superRefine((q, ctx) => {
        for (const [re, message] of FORBIDDEN_IN_QUERY)
          if (re.test(q)) ctx.addIssue({ code: "custom", message });
      }),
    ...basicOrBearerOptions(CREDENTIALS),
    /** Where the first run starts (sys_updated_on); default 365 days before the run. */
    since: dateOrDateTime.optional(),
    /** The integration user's time zone (IANA), in which ServiceNow reads encoded-query date-times. */
    timeZone: timeZoneName.default("UTC"),
    /** sysparm_limit: records per page. */
    pageSize: z.int().min(1).max(10_000).default(1000),
  })
  .superRefine(requireBasicOrBearer(CREDENTIALS));

export type ServiceNowIncidentsOptions = z.output<typeof serviceNowIncidentsOptions>;

/** The `rel="next"` target of a Link header (ServiceNow writes `<url>;rel="first",<url>;rel="next",…`). */
export const nextLink = (header: string | null) =>
  linkNext(header, "http://relative.invalid/")?.replace(/^http:\/\/relative\.invalid\//, "") ?? null;

/** The next page's offset: the Link header's rel="next", or without a Link header, X-Total-Count. */
function nextOffset(headers: Headers, offset: number, limit: number, total: number | null, where: string) {
  const link = headers.get("link");
  if (link === null) return total !== null && offset + limit < total ? offset + limit : null;
  const next = linkNext(link, where);
  if (next === null) return null;
  let n: number;
  try {
    n = Number(new URL(next, where).searchParams.get("sysparm_offset"));
  } catch {
    n = Number.NaN;
  }
  if (!Number.isSafeInteger(n) || n <= offset) {
    throw new PageError(where, `the Link header's next page (${next}) does not move past offset ${offset}`);
  }
  return n;
}

interface Bounds {
  /** sys_updated_on >= lower (null: no lower bound). */
  lower: Date | null;
  /** sys_updated_on < upper: fixed for the whole run. */
  upper: Date;
  /** A backfill: resolved_at in [from, to), checked exactly here; the query asks a day wider on each side. */
  range: { from: Date | null; to: Date | null } | null;
}

function encodedQuery(o: ServiceNowIncidentsOptions, b: Bounds): { query: string; earliest: Date | null } {
  const parts: string[] = [];
  if (o.query) parts.push(o.query);
  // The range is widened by a day so that no time zone setting can make the server's window narrower.
  if (b.range?.from)
    parts.push(`resolved_at>=${queryDateTime(new Date(b.range.from.getTime() - DAY_MS), "UTC").text}`);
  if (b.range?.to)
    parts.push(`resolved_at<${queryDateTime(new Date(b.range.to.getTime() + DAY_MS), "UTC").text}`);
  let earliest: Date | null = null;
  if (b.lower) {
    const q = queryDateTime(b.lower, o.timeZone);
    parts.push(`sys_updated_on>=${q.text}`);
    earliest = q.earliest;
  }
  parts.push(`sys_updated_on<${queryDateTime(b.upper, o.timeZone).text}`);
  parts.push("ORDERBYsys_updated_on");
  return { query: parts.join("^"), earliest };
}

/**
 * Reads one Table API record into an observation or a rejection; a record without a figure (unresolved, or
 * resolved outside a backfill's range) is skipped: a checkpoint when there is a cursor to give, else null.
 */
function readRecord(
  item: unknown,
  updatedOn: Date | null,
  cursor: string | undefined,
  b: Bounds,
  unresolved: () => void = () => {},
): SourceRecord | null {
  const r = (item ?? {}) as Record<string, unknown>;
  const sysId = typeof r.sys_id === "string" && r.sys_id !== "" ? r.sys_id : null;
  const label = typeof r.number === "string" && r.number !== "" ? `${r.number}: ` : "";
  const at = cursor !== undefined ? { cursor } : {};
  const skip = (): Checkpoint | null => (cursor !== undefined ? { kind: "checkpoint", cursor } : null);
  const reject = (reason: string): RejectedRecord => rejection(`${label}${reason}`, sysId, cursor);
  if (!isObject(item)) return rejection(`record ${showValue(item)} is not an object`, null, cursor);
  if (updatedOn === null) {
    return reject(`sys_updated_on ${showValue(r.sys_updated_on)} is not a date-time (YYYY-MM-DD HH:mm:ss)`);
  }
  if (sysId === null) return reject(`sys_id ${showValue(r.sys_id)} is not a non-empty string`);
  if (r.resolved_at === undefined)
    return reject("resolved_at is missing from the record (does the table have it?)");
  if (r.resolved_at === "" || r.resolved_at === null) {
    unresolved();
    return skip();
  }
  const resolved = parseServiceNowDateTime(r.resolved_at);
  if (resolved === null)
    return reject(`resolved_at ${showValue(r.resolved_at)} is not a date-time (YYYY-MM-DD HH:mm:ss)`);
  if (!inRange(b.range, resolved)) return skip();
  if (r.opened_at === undefined || r.opened_at === "" || r.opened_at === null) {
    return reject("opened_at is empty on a resolved record");
  }
  const opened = parseServiceNowDateTime(r.opened_at);
  if (opened === null)
    return reject(`opened_at ${showValue(r.opened_at)} is not a date-time (YYYY-MM-DD HH:mm:ss)`);
  const ms = resolved.getTime() - opened.getTime();
  if (ms < 0) return reject(`resolved_at ${r.resolved_at} is before opened_at ${r.opened_at}`);
  return { externalId: sysId, observedAt: resolved, value: ms / 60_000, ...at };
}

async function* collect(ctx: CollectContext<ServiceNowIncidentsOptions>): AsyncGenerator<SourceRecord> {
  const o = ctx.options;
  const url = `${o.instanceUrl}/api/now/table/${o.table}`;
  const auth = authOf(o, CREDENTIALS);
  const upper = new Date(ctx.now.getTime() - SETTLE_MS);
  // A backfill asks a day wider than its range (resolved_at is checked exactly here).
  const { from } = startBound(ctx);
  const lower = ctx.range && from ? new Date(from.getTime() - DAY_MS) : from;
  const bounds: Bounds = { lower, upper, range: ctx.range };

  let offset = 0;
  let previousTotal: number | null = null;
  /** The greatest sys_updated_on read so far: records come in ascending order. */
  let last: Date | null = null;
  /** Once a change cannot be recovered by asking again, the cursor stays here for the rest of the run. */
  let frozen: { cursor: string | undefined } | null = null;
  let yielded = 0;
  let warnedZone = false;
  let warnedNoCount = false;
  let { query, earliest } = encodedQuery(o, bounds);

  for (;;) {
    ctx.signal.throwIfAborted();
    const res = await ctx.http.json<{ result?: unknown }>({
      url,
      query: {
        sysparm_query: query,
        sysparm_fields: FIELDS,
        sysparm_display_value: "false",
        sysparm_exclude_reference_link: "true",
        sysparm_limit: o.pageSize,
        sysparm_offset: offset,
      },
      auth,
    });
    const where = res.url;
    const total = countHeader(res.headers, "x-total-count");
    if (total === null && !warnedNoCount) {
      warnedNoCount = true;
      ctx.log.warn("servicenow: no X-Total-Count header; changes during the run cannot be detected", { url });
    }

    if (previousTotal !== null && total !== null && total !== previousTotal) {
      // Rows left (or joined) the result set since the previous page: offsets moved, and this page may
      // have skipped rows. Ask again from the last sys_updated_on read, when that moves the query forward.
      if (last !== null && (bounds.lower === null || last > bounds.lower)) {
        ctx.log.info(
          "servicenow: the result set changed during the run; asking again from the last record read",
          { from: last.toISOString(), before: previousTotal, now: total },
        );
        bounds.lower = last;
        ({ query, earliest } = encodedQuery(o, bounds));
        offset = 0;
        previousTotal = null;
        continue;
      }
      // Every row read so far shares one second with the lower bound: asking again would not move on.
      // Go on by offset, and keep the cursor where the next run re-reads everything from here.
      if (!frozen) {
        frozen = { cursor: (last ?? bounds.lower)?.toISOString() };
        ctx.log.warn(
          "servicenow: the result set changed during the run; the cursor stays put so the next run re-reads",
          { cursor: frozen.cursor },
        );
      }
    }
    if (previousTotal === null && total !== null) ctx.reportTotal(yielded + total);
    previousTotal = total;

    const result = res.body?.result;
    if (!Array.isArray(result)) {
      throw new PageError(where, `expected a JSON object with a "result" array, got ${showValue(res.body)}`);
    }
    // The whole page is read before any of it is yielded: a page out of order yields nothing.
    const out: SourceRecord[] = [];
    for (const [i, item] of result.entries()) {
      const updatedOn = parseServiceNowDateTime((item as Record<string, unknown> | null)?.sys_updated_on);
      if (updatedOn !== null) {
        if (last !== null && updatedOn < last) {
          throw new PageError(
            where,
            `records are not in ascending sys_updated_on order (record ${offset + i}: ` +
              `${updatedOn.toISOString()} after ${last.toISOString()}); the cursor would skip records`,
          );
        }
        if (!warnedZone && earliest !== null && updatedOn < earliest) {
          warnedZone = true;
          ctx.log.warn(
            "servicenow: a record updated before the requested lower bound came back: the integration user's time zone is probably not timeZone",
            { timeZone: o.timeZone, lowerBound: earliest.toISOString(), record: updatedOn.toISOString() },
          );
        }
        last = updatedOn;
      }
      const cursor = frozen ? frozen.cursor : updatedOn?.toISOString();
      const rec = readRecord(item, updatedOn, cursor, bounds, () => ctx.skip());
      if (rec !== null) out.push(rec);
    }
    for (const rec of out) yield rec;
    yielded += result.length;

    const next = nextOffset(res.headers, offset, o.pageSize, total, where);
    if (next === null) return;
    offset = next;
  }
}

export const serviceNowIncidentsCollector = defineCollector({
  type: "servicenow-incidents",
  description: "Minutes from opened to resolved of each ServiceNow incident, read with the Table API.",
  options: serviceNowIncidentsOptions,
  collect,
});
