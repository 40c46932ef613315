import type http from "node:http";
import { type LocalServer, sendJson, startLocalServer } from "../../test/helpers/local-server.js";

// A local stand-in for Zendesk Talk's incremental calls export, written from Zendesk's documentation:
// - https://developer.zendesk.com/api-reference/voice/talk-api/incremental_exports/ (start_time in Unix
//   epoch seconds; calls "created or updated since" start_time; count, end_time and next_page, where
//   next_page carries start_time = end_time and is never null, even on the last page: "use the count
//   property to determine whether more items are available"; 10 requests per minute; Retry-After on 429)
// - https://developer.zendesk.com/documentation/ticketing/managing-tickets/using-the-incremental-export-api/
//   (time-based exports: up to 1000 items per page, start_time inclusive, so the items of the end_time
//   second come again on the next page)
// - https://support.zendesk.com/hc/en-us/articles/4408831452954 (API token auth: Basic
//   base64("{email_address}/token:{api_token}")); wrong credentials give 401 with the body
//   {"error":"Couldn't authenticate you"}, as quoted in users' reports of failed token logins.
// The page size of 1000 and the inclusive start_time for /stats/incremental/calls are also what
// airbytehq/airbyte#81516 observed on the real endpoint.

export const EXPORT_PATH = "/api/v2/channels/voice/stats/incremental/calls";
export const FAKE_PAGE_LIMIT = 1000;

/** A call as the export returns it (the fields the collector reads, plus a few others). */
export interface FakeCall {
  id: number | string | null;
  created_at: unknown;
  updated_at: string;
  duration?: unknown;
  talk_time?: unknown;
  hold_time?: unknown;
  wrap_up_time?: unknown;
  [field: string]: unknown;
}

export interface FakeZendesk extends LocalServer {
  /** The export's data; tests add calls between runs. */
  calls: FakeCall[];
  /** Server-side receipt time (ms, monotonic) of every export request, in order. */
  times: number[];
  /** start_time of every export request that reached the data (not refused), in order. */
  startTimes: number[];
  /** Answers the next export requests with 429 Retry-After: 1 when their 1-based number is listed. */
  rateLimitAt: Set<number>;
  /** Replaces the answer to one request (by 1-based export request number), for garbage and oddities. */
  override: Map<number, (res: http.ServerResponse, origin: string) => void>;
  /**
   * Calls per page (default 1000, the documented maximum). Smaller ends every page early with more to
   * come, as servers have been seen doing (100 per page).
   */
  pageSize: number;
  /** Export requests received (including refused ones). */
  exportRequests(): number;
}

const epoch = (iso: string) => Math.floor(Date.parse(iso) / 1000);

export async function startFakeZendesk(
  credentials: { email: string; apiToken: string },
  calls: FakeCall[] = [],
  opts: { pageSize?: number } = {},
): Promise<FakeZendesk> {
  const expected = `Basic ${Buffer.from(`${credentials.email}/token:${credentials.apiToken}`).toString("base64")}`;
  let n = 0;
  const state = {
    calls,
    pageSize: opts.pageSize ?? FAKE_PAGE_LIMIT,
    times: [] as number[],
    startTimes: [] as number[],
    rateLimitAt: new Set<number>(),
    override: new Map<number, (res: http.ServerResponse, origin: string) => void>(),
  };
  let self: FakeZendesk;
  const server = await startLocalServer((req, res, url) => {
    if (url.pathname !== EXPORT_PATH) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"InvalidEndpoint"}');
      return;
    }
    const number = ++n;
    self.times.push(performance.now());
    const origin = `http://${req.headers.host}`;
    if (req.headers.authorization !== expected) {
      res
        .writeHead(401, {
          "content-type": "application/json",
          "www-authenticate": 'Basic realm="Web Password"',
        })
        .end(JSON.stringify({ error: "Couldn't authenticate you" }));
      return;
    }
    if (self.rateLimitAt.has(number)) {
      res
        .writeHead(429, { "content-type": "application/json", "retry-after": "1" })
        .end(JSON.stringify({ error: "APIRateLimitExceeded", description: "Rate limit exceeded" }));
      return;
    }
    const custom = self.override.get(number);
    if (custom) return custom(res, origin);
    const raw = url.searchParams.get("start_time");
    if (raw === null || !/^\d+$/.test(raw)) {
      res
        .writeHead(400, { "content-type": "application/json" })
        .end(JSON.stringify({ error: "InvalidValue", description: "start_time is required" }));
      return;
    }
    const startTime = Number(raw);
    self.startTimes.push(startTime);
    // Updated at or after start_time, oldest update first (ties by id), at most pageSize.
    const page = self.calls
      .filter((c) => epoch(c.updated_at) >= startTime)
      .sort((a, b) => epoch(a.updated_at) - epoch(b.updated_at) || String(a.id).localeCompare(String(b.id)))
      .slice(0, self.pageSize);
    const endTime = page.length ? epoch(page.at(-1)!.updated_at) : startTime;
    sendJson(res, {
      calls: page,
      next_page: `${origin}${EXPORT_PATH}?start_time=${endTime}`,
      count: page.length,
      end_time: endTime,
    });
  });
  self = Object.assign(server, state, { exportRequests: () => n });
  return self;
}
