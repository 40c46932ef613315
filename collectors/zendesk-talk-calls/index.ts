import { z } from "zod";
import { basicAuth, SourceError } from "../../src/collect/http-client.js";
import { dateOrDateTime } from "../../src/collect/options.js";
import {
  type Checkpoint,
  type CollectContext,
  defineCollector,
  type ObservationRecord,
  type RejectedRecord,
} from "../../src/collect/types.js";
import { showValue, toExternalId, toFiniteNumber, toInstant } from "../../src/collect/values.js";

// Zendesk Talk calls, from the Talk API's time-based incremental export:
//   GET {baseUrl}/api/v2/channels/voice/stats/incremental/calls?start_time=<epoch seconds>
// https://developer.zendesk.com/api-reference/voice/talk-api/incremental_exports/
//
// - The export returns the calls created or updated at or after start_time (inclusive), oldest first, up
//   to 1000 per page, with `count`, `end_time` (the newest update time on the page, epoch seconds) and
//   `next_page` (the same URL with start_time=end_time). `next_page` is never null, not even on the last
//   page: the export is over when `count` is below the page size (1000). A page is read, its calls
//   yielded, then a checkpoint with its `end_time` is yielded: that is the cursor the next page and the
//   next run start from. Calls updated in that very second come again (start_time is inclusive);
//   externalId upserts make the repeat harmless.
// - Auth: Basic with `{email}/token` as the user name and the API token as the password.
// - Rate limit: 10 requests per minute for incremental exports. The collector spaces its own requests
//   (`requestsPerMinute`, default 10: a request 6 s after the previous answer) and the HTTP client
//   honours a 429's Retry-After on top of that.
// - Value: minutes of `duration` (measure: duration) or of talk_time + hold_time + wrap_up_time
//   (measure: handle_time), seconds / 60 exactly. observedAt: the call's `created_at`.

/** Calls per page of the Talk incremental export; a page with fewer is the last one. */
export const PAGE_LIMIT = 1000;

const EXPORT_PATH = "/api/v2/channels/voice/stats/incremental/calls";

export const zendeskTalkCallsOptions = z.strictObject({
  /** The Zendesk account, e.g. https://acme.zendesk.com (a path or trailing slash is ignored). */
  baseUrl: z
    .url({ protocol: /^https?$/, error: "must be an absolute http(s) URL such as https://acme.zendesk.com" })
    .transform((s) => new URL(s).origin),
  /** The agent's or admin's email address; the collector adds `/token` itself. */
  email: z
    .string()
    .trim()
    .regex(/^[^\s/@]+@[^\s/@]+$/, "must be an email address (without /token: the collector adds it)"),
  apiToken: z.string().min(1, "must not be empty"),
  measure: z.enum(["duration", "handle_time"]).default("duration"),
  /** Where the first run starts; default 365 days before the run. */
  since: dateOrDateTime.optional(),
  /** The collector's own pace: at most this many requests per minute, evenly spaced. */
  requestsPerMinute: z.int().min(1).max(1000).default(10),
});

export type ZendeskTalkCallsOptions = z.output<typeof zendeskTalkCallsOptions>;

const DAY_MS = 86_400_000;

/** Waits ms, or rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Spaces requests evenly: each one starts at least 60 000 / requestsPerMinute ms after the previous one's
 * answer arrived, so that (whatever the network's delays) Zendesk never receives more than
 * requestsPerMinute requests in any 60 s. `wait()` before a request, `done()` when its answer is in.
 */
export function createPacer(requestsPerMinute: number, signal: AbortSignal, now = () => Date.now()) {
  const intervalMs = 60_000 / requestsPerMinute;
  let last: number | null = null;
  return {
    async wait(): Promise<void> {
      if (last !== null) {
        const wait = last + intervalMs - now();
        if (wait > 0) await sleep(wait, signal);
      }
      signal.throwIfAborted();
    },
    done(): void {
      last = now();
    },
  };
}

/** Whole epoch seconds (rounded down: start_time is inclusive, so nothing is lost). */
const epochSeconds = (d: Date) => Math.floor(d.getTime() / 1000);

/** The seconds in a call field: null when the call does not have it (yet), a reason when unreadable. */
function seconds(call: Record<string, unknown>, field: string): number | null | { bad: string } {
  const raw = call[field];
  if (raw === undefined || raw === null) return null;
  const n = toFiniteNumber(raw);
  if (n === null) return { bad: `${field} ${showValue(raw)} is not a number of seconds` };
  if (n < 0) return { bad: `${field} ${showValue(raw)} is negative` };
  return n;
}

const HANDLE_FIELDS = ["talk_time", "hold_time", "wrap_up_time"] as const;

/**
 * One call as an observation, a rejection (a field that should give the figure is unreadable), or null
 * when the call gives no figure yet (in progress: no duration, or a part of the handle time still open).
 * Such a call is exported again when Zendesk updates it, and collected then.
 */
export function readCall(
  call: unknown,
  measure: ZendeskTalkCallsOptions["measure"],
): ObservationRecord | RejectedRecord | null {
  if (typeof call !== "object" || call === null || Array.isArray(call)) {
    return { kind: "rejected", reason: `call ${showValue(call)} is not an object` };
  }
  const c = call as Record<string, unknown>;
  const externalId = toExternalId(c.id);
  const reject = (reason: string): RejectedRecord => ({
    kind: "rejected",
    reason,
    ...(externalId !== null ? { externalId } : {}),
  });
  if (externalId === null) return reject(`id ${showValue(c.id)} is not a call id`);

  const duration = seconds(c, "duration");
  if (duration !== null && typeof duration === "object") return reject(duration.bad);
  let total: number;
  if (measure === "duration") {
    if (duration === null) return null;
    total = duration;
  } else {
    // The handle time of a call still going on is not known: skipped like its duration.
    if (duration === null) return null;
    total = 0;
    let open = false;
    for (const f of HANDLE_FIELDS) {
      const s = seconds(c, f);
      if (s !== null && typeof s === "object") return reject(s.bad);
      if (s === null) open = true;
      else total += s;
    }
    if (open) return null;
  }

  const observedAt = toInstant(c.created_at);
  if (observedAt === null) {
    return reject(`created_at ${showValue(c.created_at)} is not an ISO-8601 date-time with an offset`);
  }
  return { externalId, observedAt, value: total / 60 };
}

interface ExportPage {
  calls: unknown[];
  count: number;
  /** null on a page without calls that does not say. */
  endTime: number | null;
  nextPage: string | null;
}

/** Checks the shape of an export page; anything else is a SourceError naming the URL. */
function readPage(body: unknown, where: string): ExportPage {
  const fail = (what: string) => new SourceError(`${where}: ${what}`, null, where);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw fail(`expected the export's JSON object, got ${showValue(body)}`);
  }
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.calls)) throw fail(`the page has no "calls" list (calls: ${showValue(b.calls)})`);
  const count = b.count === undefined || b.count === null ? b.calls.length : b.count;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
    throw fail(`count ${showValue(b.count)} is not a number of calls`);
  }
  let endTime: number | null = null;
  if (b.end_time !== undefined && b.end_time !== null) {
    const n = toFiniteNumber(b.end_time);
    if (n === null || !Number.isInteger(n) || n < 0) {
      throw fail(`end_time ${showValue(b.end_time)} is not a Unix epoch time in seconds`);
    }
    endTime = n;
  } else if (b.calls.length > 0) {
    throw fail("the page has calls but no end_time");
  }
  const nextPage = typeof b.next_page === "string" && b.next_page !== "" ? b.next_page : null;
  return { calls: b.calls, count, endTime, nextPage };
}

/** Where the export starts: a backfill's `from`, else the committed cursor, else `since`. */
function startTimeOf(ctx: CollectContext<ZendeskTalkCallsOptions>): number {
  const since = ctx.options.since ?? new Date(ctx.now.getTime() - 365 * DAY_MS);
  if (ctx.range) return epochSeconds(ctx.range.from ?? since);
  if (ctx.cursor === null) return epochSeconds(since);
  const c = ctx.cursor.trim();
  if (!/^\d+$/.test(c)) {
    throw new Error(
      `zendesk-talk-calls: the committed cursor ${JSON.stringify(ctx.cursor)} is not a Unix epoch time in seconds`,
    );
  }
  return Number(c);
}

async function* collect(
  ctx: CollectContext<ZendeskTalkCallsOptions>,
): AsyncGenerator<ObservationRecord | RejectedRecord | Checkpoint> {
  const o = ctx.options;
  const auth = basicAuth(`${o.email}/token`, o.apiToken);
  const pacer = createPacer(o.requestsPerMinute, ctx.signal);
  const exportUrl = `${o.baseUrl}${EXPORT_PATH}`;
  // A backfill of [from, to) reads the export to its end (a call created before `to` may have been
  // updated any time later) and keeps the calls created in the range.
  const from = ctx.range?.from?.getTime() ?? null;
  const to = ctx.range?.to?.getTime() ?? null;
  /** False for a call created outside the range; a call without a readable created_at is kept (and rejected). */
  const inRange = (call: unknown) => {
    const at = toInstant((call as { created_at?: unknown } | null)?.created_at)?.getTime();
    return at === undefined || ((from === null || at >= from) && (to === null || at < to));
  };

  let startTime = startTimeOf(ctx);
  let request: { url: string; query?: Record<string, number> } = {
    url: exportUrl,
    query: { start_time: startTime },
  };
  for (;;) {
    await pacer.wait();
    const res = await ctx.http.json<unknown>({ ...request, auth });
    pacer.done();
    const where = res.url || request.url;
    const page = readPage(res.body, where);

    if (page.endTime !== null && page.endTime < startTime && page.calls.length > 0) {
      throw new SourceError(
        `${where}: end_time ${page.endTime} is before the start_time ${startTime} asked for`,
        null,
        where,
      );
    }
    // Everything on the page is read before anything is yielded.
    const records: (ObservationRecord | RejectedRecord)[] = [];
    for (const call of page.calls) {
      if (ctx.range && !inRange(call)) continue;
      const r = readCall(call, o.measure);
      if (r !== null) records.push(r);
    }
    yield* records;
    // The cursor never moves back (an empty page may not say where it ended).
    if (page.endTime !== null && page.endTime >= startTime) {
      yield { kind: "checkpoint", cursor: String(page.endTime) };
    }

    if (page.count < PAGE_LIMIT) return; // the last page (its next_page is for the next run)
    if (page.endTime === null) {
      throw new SourceError(`${where}: count is ${page.count} but the page has no calls`, null, where);
    }
    const next = page.endTime;
    if (next <= startTime) {
      // A full page inside one second: following next_page would return the same page for ever.
      throw new SourceError(
        `${where}: more than ${PAGE_LIMIT} calls were updated at ${new Date(next * 1000).toISOString()} ` +
          `(end_time ${next} = start_time): the time-based export cannot page past them`,
        null,
        where,
      );
    }
    startTime = next;
    request = nextRequest(page.nextPage, exportUrl, where, next, ctx);
  }
}

/**
 * The next page: Zendesk's `next_page` (an opaque URL, as its docs advise) when it is on the configured
 * account; else the export URL with start_time = end_time, so the credentials never go to another host.
 */
function nextRequest(
  nextPage: string | null,
  exportUrl: string,
  where: string,
  endTime: number,
  ctx: CollectContext<ZendeskTalkCallsOptions>,
): { url: string; query?: Record<string, number> } {
  if (nextPage !== null) {
    let url: URL | null = null;
    try {
      url = new URL(nextPage, where);
    } catch {
      url = null;
    }
    if (url && url.origin === new URL(exportUrl).origin) return { url: url.toString() };
    ctx.log.warn("zendesk-talk-calls: next_page is not on the configured baseUrl; using end_time instead", {
      nextPage: url ? url.origin + url.pathname : showValue(nextPage),
      baseUrl: new URL(exportUrl).origin,
    });
  }
  return { url: exportUrl, query: { start_time: endTime } };
}

export const zendeskTalkCallsCollector = defineCollector({
  type: "zendesk-talk-calls",
  description:
    "Reads Zendesk Talk calls from the incremental calls export: minutes of duration or handle time per call.",
  options: zendeskTalkCallsOptions,
  collect,
});
