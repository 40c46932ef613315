import {
  basicAuth,
  type CollectContext,
  createPacer,
  dateOrDateTime,
  defineCollector,
  epochSecondsCursor,
  inRange,
  isObject,
  nextUrl,
  PageError,
  pages,
  type ReadRecord,
  type RejectedRecord,
  rejection,
  type SourceRecord,
  showValue,
  startBound,
  toExternalId,
  toFiniteNumber,
  toInstant,
  z,
} from "../../src/collect/sdk/index.js";

export { createPacer };

// Zendesk Talk calls, from the Talk API's time-based incremental export, `GET {baseUrl}/api/v2/channels/
// voice/stats/incremental/calls?start_time=<epoch seconds>` (inclusive, oldest update first): followed
// while pages make progress, with a checkpoint at each page's end_time. Basic auth `{email}/token`, paced
// to requestsPerMinute. Value: minutes of duration or of talk + hold + wrap-up. README.md has the details.

/** The documented largest page: a page this full that makes no progress cannot be paged past. */
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
export function readCall(call: unknown, measure: ZendeskTalkCallsOptions["measure"]): ReadRecord | null {
  if (!isObject(call)) return { kind: "rejected", reason: `call ${showValue(call)} is not an object` };
  const externalId = toExternalId(call.id);
  const reject = (reason: string): RejectedRecord => rejection(reason, externalId);
  if (externalId === null) return reject(`id ${showValue(call.id)} is not a call id`);

  const duration = seconds(call, "duration");
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
      const s = seconds(call, f);
      if (s !== null && typeof s === "object") return reject(s.bad);
      if (s === null) open = true;
      else total += s;
    }
    if (open) return null;
  }

  const observedAt = toInstant(call.created_at);
  if (observedAt === null) {
    return reject(`created_at ${showValue(call.created_at)} is not an ISO-8601 date-time with an offset`);
  }
  return { externalId, observedAt, value: total / 60 };
}

interface ExportPage {
  calls: unknown[];
  count: number;
  /** null on a page without calls that does not say. */
  endTime: number | null;
  nextPage: string | null;
  /** The export's explicit end marker, when the server sends one. */
  endOfStream: boolean;
}

/** Checks the shape of an export page; anything else is a SourceError naming the URL. */
function readPage(body: unknown, where: string): ExportPage {
  const fail = (what: string) => new PageError(where, what);
  if (!isObject(body)) throw fail(`expected the export's JSON object, got ${showValue(body)}`);
  if (!Array.isArray(body.calls))
    throw fail(`the page has no "calls" list (calls: ${showValue(body.calls)})`);
  const count = body.count === undefined || body.count === null ? body.calls.length : body.count;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
    throw fail(`count ${showValue(body.count)} is not a number of calls`);
  }
  let endTime: number | null = null;
  if (body.end_time !== undefined && body.end_time !== null) {
    const n = toFiniteNumber(body.end_time);
    if (n === null || !Number.isInteger(n) || n < 0) {
      throw fail(`end_time ${showValue(body.end_time)} is not a Unix epoch time in seconds`);
    }
    endTime = n;
  } else if (body.calls.length > 0) {
    throw fail("the page has calls but no end_time");
  }
  const nextPage = typeof body.next_page === "string" && body.next_page !== "" ? body.next_page : null;
  return { calls: body.calls, count, endTime, nextPage, endOfStream: body.end_of_stream === true };
}

async function* collect(ctx: CollectContext<ZendeskTalkCallsOptions>): AsyncGenerator<SourceRecord> {
  const o = ctx.options;
  const exportUrl = `${o.baseUrl}${EXPORT_PATH}`;
  const { from } = startBound(ctx, epochSecondsCursor);
  let startTime = epochSeconds(from ?? new Date(0));
  /** A backfill of [from, to) reads the export to its end (a call created before `to` may have been
   * updated any time later) and keeps the calls created in the range; an unreadable created_at is kept
   * (and rejected). */
  const wanted = (call: unknown) => {
    const at = toInstant((call as { created_at?: unknown } | null)?.created_at);
    return at === null || inRange(ctx.range, at);
  };
  let page: ExportPage | null = null;
  let checkpoint: number | null = null;
  let largest = 0;
  const walk = pages<unknown>(ctx, {
    first: {
      url: exportUrl,
      query: { start_time: startTime },
      auth: basicAuth(`${o.email}/token`, o.apiToken),
    },
    pacer: createPacer(o.requestsPerMinute, ctx.signal),
    next: (p) => {
      const { endTime, nextPage, count, endOfStream } = page!;
      if (endOfStream || endTime === null || page!.calls.length === 0) return null;
      if (endTime <= startTime) {
        // No progress: the last page (the repeats of start_time's second), unless it is as full as the
        // documented maximum or the largest earlier page: then more calls may share that second than a
        // page holds, and stopping quietly could lose them.
        if (count < PAGE_LIMIT && (p.number === 1 || count < largest)) return null;
        throw new PageError(
          p.url,
          `${count} calls were updated at ${new Date(endTime * 1000).toISOString()} (end_time ${endTime} = start_time), ` +
            "a full page: the time-based export cannot page past them",
        );
      }
      largest = Math.max(largest, count);
      startTime = endTime;
      return nextUrl(nextPage, p.url, "next_page") ?? { url: exportUrl, query: { start_time: endTime } };
    },
  });
  for await (const p of walk) {
    page = readPage(p.body, p.url);
    if (page.endTime !== null && page.endTime < startTime && page.calls.length > 0) {
      throw new PageError(p.url, `end_time ${page.endTime} is before the start_time ${startTime} asked for`);
    }
    // Everything on the page is read before anything is yielded.
    const records = page.calls.filter(wanted).map((call) => readCall(call, o.measure));
    ctx.skip(records.filter((r) => r === null).length); // calls still in progress
    yield* records.filter((r) => r !== null);
    // The cursor never moves back (an empty page may not say where it ended), nor repeats itself.
    if (page.endTime !== null && page.endTime >= startTime && page.endTime !== checkpoint) {
      checkpoint = page.endTime;
      yield { kind: "checkpoint", cursor: String(page.endTime) };
    }
  }
}

export const zendeskTalkCallsCollector = defineCollector({
  type: "zendesk-talk-calls",
  description:
    "Reads Zendesk Talk calls from the incremental calls export: minutes of duration or handle time per call.",
  options: zendeskTalkCallsOptions,
  collect,
});
