import http from "node:http";
import type { AddressInfo } from "node:net";

// A local stand-in for a ServiceNow instance's Table API, written from ServiceNow's documentation:
//  - Table API, GET /now/table/{tableName}: sysparm_query (encoded query: `^` AND, ORDERBY/ORDERBYDESC),
//    sysparm_fields, sysparm_limit (default 10000), sysparm_offset, sysparm_display_value (false: date-times
//    as `YYYY-MM-DD HH:mm:ss` UTC), sysparm_exclude_reference_link; response `{"result":[…]}` with a `Link`
//    header (first/prev/next/last, prev and next only when they exist, no header for a single page) and
//    `X-Total-Count`; the limit is applied before ACL evaluation, so a page may hold fewer records than the
//    limit, or none.
//    https://www.servicenow.com/docs/r/yokohama/api-reference/rest-apis/c_TableAPI.html
//    (markdown: github.com/ServiceNow/ServiceNowDocs, markdown/api-reference/rest-apis/c_TableAPI.md)
//  - Inbound REST API rate limiting: 429 Too Many Requests with `Retry-After` (seconds), `X-RateLimit-Limit`,
//    `X-RateLimit-Reset` (Unix time), `X-RateLimit-Rule`, body `{"error":{"message":"Rate limit exceeded",…},
//    "status":"failure"}`.
//    https://www.servicenow.com/docs/r/yokohama/api-reference/rest-api-explorer/inbound-REST-API-rate-limiting.html
//  - Encoded-query date-time values are read in the requesting user's time zone (option userTimeZone);
//    stored and returned values are UTC.
// Only the encoded-query subset the collector and its tests use is implemented; anything else is a 400, so
// that a test never passes on a query the fake silently misread.

export interface FakeRecord {
  sys_id: string;
  sys_updated_on: string;
  number?: string;
  opened_at?: string;
  /** "" while unresolved, as the Table API returns an empty date-time. */
  resolved_at?: string;
  /** Any other column, e.g. `active: "true"` or a dot-walked `"assignment_group.name": "IT Service Desk"`. */
  [field: string]: unknown;
}

export interface FakeRequest {
  /** Path and query string, as received. */
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  status: number;
}

export interface FakeServiceNowOptions {
  records?: FakeRecord[];
  /** The table served (default `incident`); other tables answer 400 "Invalid table". */
  table?: string;
  /** Accepted Basic credentials (default admin / secret) and Bearer token (default `s3cr3t-token`). */
  username?: string;
  password?: string;
  token?: string;
  /** The integration user's time zone: how encoded-query date-times are read (default UTC). */
  userTimeZone?: string;
  /** For a wall-clock time that occurs twice (DST ending): read it as the earlier or the later instant. */
  ambiguous?: "earlier" | "later";
  /** Records the user may not read (ACL): counted in X-Total-Count and pages, never returned. */
  hidden?: (r: FakeRecord) => boolean;
  /** Table requests (1-based, counting only authenticated ones) answered 429 with Retry-After. */
  rateLimitOn?: number[];
  /** Retry-After of those answers, in seconds (default 1). */
  retryAfterSeconds?: number;
  /** Called before each authenticated table request is answered (1-based n): change `store` here. */
  beforeRequest?: (n: number, fake: FakeServiceNow) => void;
  /**
   * Keep the last query's rows while the query text and the store (array and length) stay the same: for
   * benchmarks, which page through a large store that nothing changes. Tests that edit records in place
   * leave it off (the default).
   */
  cacheResults?: boolean;
  /** Leave out the Link header or X-Total-Count (a proxy that strips them). */
  omitLink?: boolean;
  omitTotalCount?: boolean;
  /** The instance's largest page (glide.json.return_limit): a larger sysparm_limit is cut to it. */
  maxPageSize?: number;
}

export interface FakeServiceNow {
  url: string;
  /** The table's records; tests may change them between requests. */
  store: FakeRecord[];
  requests: FakeRequest[];
  /** Authenticated table requests so far. */
  tableRequests: number;
  close(): Promise<void>;
}

export const FAKE_CREDENTIALS = { username: "admin", password: "secret", token: "s3cr3t-token" } as const;

const DATE_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

// ---- time zones (written independently of the collector's helpers, so the tests check one against the other)

const wallFormats = new Map<string, Intl.DateTimeFormat>();

function wallOf(ms: number, tz: string): string {
  let f = wallFormats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    wallFormats.set(tz, f);
  }
  const parts = f.formatToParts(new Date(ms));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** A wall-clock time in `tz` as a UTC `YYYY-MM-DD HH:mm:ss`. */
function wallToUtc(wall: string, tz: string, ambiguous: "earlier" | "later"): string {
  const naive = Date.parse(`${wall.replace(" ", "T")}Z`);
  const candidates: number[] = [];
  for (let offsetMin = -14 * 60; offsetMin <= 14 * 60; offsetMin += 15) {
    const t = naive - offsetMin * 60_000;
    if (wallOf(t, tz) === wall) candidates.push(t);
  }
  // A wall-clock time DST skips: read it an hour on, as most platforms do.
  const chosen = candidates.length
    ? ambiguous === "earlier"
      ? Math.min(...candidates)
      : Math.max(...candidates)
    : naive - (Date.parse(`${wallOf(naive, tz).replace(" ", "T")}Z`) - naive);
  return new Date(chosen).toISOString().slice(0, 19).replace("T", " ");
}

// ---- encoded queries

type Condition = { field: string; op: string; value: string; dateTime: boolean };
type Order = { field: string; desc: boolean };

class BadQuery extends Error {}

/** Reads the encoded query; date-time values are turned into UTC here, once per request. */
function parseQuery(
  q: string,
  tz: string,
  ambiguous: "earlier" | "later",
): { conditions: Condition[]; orders: Order[] } {
  const conditions: Condition[] = [];
  const orders: Order[] = [];
  if (!q) return { conditions, orders };
  for (const token of q.split("^")) {
    if (token === "") continue;
    if (token.startsWith("ORDERBYDESC")) orders.push({ field: token.slice(11), desc: true });
    else if (token.startsWith("ORDERBY")) orders.push({ field: token.slice(7), desc: false });
    else if (/^(OR|NQ|EQ)/.test(token))
      throw new BadQuery(`the fake does not implement ^${token.slice(0, 2)}`);
    else {
      const m = /^([a-z0-9_.]+)(ISEMPTY|ISNOTEMPTY|>=|<=|!=|=|>|<)(.*)$/.exec(token);
      if (!m) throw new BadQuery(`the fake cannot read the condition "${token}"`);
      const dateTime = DATE_TIME.test(m[3]!);
      conditions.push({
        field: m[1]!,
        op: m[2]!,
        value: dateTime ? wallToUtc(m[3]!, tz, ambiguous) : m[3]!,
        dateTime,
      });
    }
  }
  return { conditions, orders };
}

function matches(r: FakeRecord, c: Condition): boolean {
  const raw = r[c.field];
  const v = raw === undefined || raw === null ? "" : String(raw);
  if (c.op === "ISEMPTY") return v === "";
  if (c.op === "ISNOTEMPTY") return v !== "";
  // An empty date-time matches no comparison. UTC `YYYY-MM-DD HH:mm:ss` texts order as their instants do.
  if (c.dateTime && v === "" && c.op !== "!=") return false;
  const want = c.value;
  switch (c.op) {
    case "=":
      return v === want;
    case "!=":
      return v !== want;
    case ">=":
      return v >= want;
    case "<=":
      return v <= want;
    case ">":
      return v > want;
    default:
      return v < want;
  }
}

// ---- the server

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res
    .writeHead(status, { "content-type": "application/json;charset=UTF-8", ...headers })
    .end(JSON.stringify(body));
}

const failure = (message: string, detail: string | null) => ({
  error: { message, detail },
  status: "failure",
});

export async function startFakeServiceNow(opts: FakeServiceNowOptions = {}): Promise<FakeServiceNow> {
  const table = opts.table ?? "incident";
  const username = opts.username ?? FAKE_CREDENTIALS.username;
  const password = opts.password ?? FAKE_CREDENTIALS.password;
  const token = opts.token ?? FAKE_CREDENTIALS.token;
  const tz = opts.userTimeZone ?? "UTC";
  const ambiguous = opts.ambiguous ?? "earlier";
  const basic = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  const rateLimited = new Set(opts.rateLimitOn ?? []);
  let cache: { query: string; store: FakeRecord[]; length: number; rows: FakeRecord[] } | null = null;

  function select(q: string): FakeRecord[] {
    const { conditions, orders } = parseQuery(q, tz, ambiguous);
    let rows = fake.store.filter((r) => conditions.every((c) => matches(r, c)));
    if (orders.length) {
      rows = rows
        .map((r, i) => ({ r, i }))
        .sort((a, b) => {
          for (const o of orders) {
            const x = String(a.r[o.field] ?? "");
            const y = String(b.r[o.field] ?? "");
            if (x !== y) return (x < y ? -1 : 1) * (o.desc ? -1 : 1);
          }
          return a.i - b.i;
        })
        .map((x) => x.r);
    }
    return rows;
  }

  const fake: FakeServiceNow = {
    url: "",
    store: [...(opts.records ?? [])],
    requests: [],
    tableRequests: 0,
    close: async () => undefined,
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const entry: FakeRequest = {
      path: `${url.pathname}${url.search}`,
      query: url.searchParams,
      authorization: req.headers.authorization,
      status: 200,
    };
    fake.requests.push(entry);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      send(res, status, body, headers);
    };
    try {
      const m = /^\/api\/now\/(?:v[12]\/)?table\/([^/]+)$/.exec(url.pathname);
      if (!m || req.method !== "GET")
        return reply(400, failure("Requested URI does not represent any resource", null));
      if (req.headers.authorization !== basic && req.headers.authorization !== `Bearer ${token}`) {
        return reply(401, failure("User Not Authenticated", "Required to provide Auth information"), {
          "www-authenticate": 'BASIC realm="Service-now"',
        });
      }
      if (m[1] !== table) return reply(400, failure("Invalid table", m[1]!));
      const n = ++fake.tableRequests;
      if (rateLimited.has(n)) {
        const wait = opts.retryAfterSeconds ?? 1;
        return reply(
          429,
          failure("Rate limit exceeded", "Rate limit of 10 requests per hour for Table API exceeded"),
          {
            "retry-after": String(wait),
            "x-ratelimit-limit": "10",
            "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000) + wait),
            "x-ratelimit-rule": "d4c9f1a2c3b2a1f0e9d8c7b6a5f4e3d2",
          },
        );
      }
      opts.beforeRequest?.(n, fake);

      const p = url.searchParams;
      const asked = p.has("sysparm_limit") ? Number(p.get("sysparm_limit")) : 10_000;
      const limit = Math.min(asked, opts.maxPageSize ?? asked);
      const offset = p.has("sysparm_offset") ? Number(p.get("sysparm_offset")) : 0;
      if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(offset) || offset < 0) {
        return reply(400, failure("Invalid sysparm_limit or sysparm_offset", null));
      }
      const q = p.get("sysparm_query") ?? "";
      let rows: FakeRecord[];
      if (
        opts.cacheResults &&
        cache?.query === q &&
        cache.store === fake.store &&
        cache.length === fake.store.length
      ) {
        rows = cache.rows;
      } else {
        rows = select(q);
        if (opts.cacheResults) cache = { query: q, store: fake.store, length: fake.store.length, rows };
      }
      const total = rows.length;
      const fields = p.get("sysparm_fields")?.split(",").filter(Boolean) ?? null;
      const page = rows
        .slice(offset, offset + limit)
        .filter((r) => !opts.hidden?.(r))
        .map((r) => {
          const keys = fields ?? Object.keys(r).filter((k) => !k.includes("."));
          return Object.fromEntries(keys.filter((k) => k in r).map((k) => [k, r[k]]));
        });

      const headers: Record<string, string> = {};
      if (!opts.omitTotalCount) headers["x-total-count"] = String(total);
      if (!opts.omitLink && (total > limit || offset > 0)) {
        const at = (o: number) => {
          const u = new URL(`${fake.url}${url.pathname}`);
          for (const [k, v] of p) if (k !== "sysparm_offset") u.searchParams.append(k, v);
          u.searchParams.set("sysparm_offset", String(o));
          return u.toString();
        };
        const last = total > 0 ? Math.floor((total - 1) / limit) * limit : 0;
        const links = [`<${at(0)}>;rel="first"`];
        if (offset > 0) links.push(`<${at(Math.max(0, offset - limit))}>;rel="prev"`);
        if (offset + limit < total) links.push(`<${at(offset + limit)}>;rel="next"`);
        links.push(`<${at(last)}>;rel="last"`);
        headers.link = links.join(",");
      }
      return reply(200, { result: page }, headers);
    } catch (e) {
      if (e instanceof BadQuery) return reply(400, failure("Invalid query", e.message));
      return reply(500, failure("Internal error", String(e)));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((e) => (e ? reject(e) : resolve()));
    });
  return fake;
}

// ---- generated incidents (tests and the benchmark)

/** `YYYY-MM-DD HH:mm:ss` of an epoch-ms instant, UTC. */
export function snDateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

export interface GeneratedIncidents {
  records: FakeRecord[];
  /** Resolved records: the observations a full collection gives. */
  resolved: number;
  /** Σ minutes from opened_at to resolved_at over the resolved records, and their mean. */
  sumMinutes: number;
  meanMinutes: number;
  /** The earliest sys_updated_on, as an instant (a `since` that covers them all). */
  firstUpdated: Date;
  lastUpdated: Date;
}

/**
 * N incidents in ascending sys_updated_on order, reproducible (seeded), about 90 % resolved, resolution
 * times in whole seconds (so the expected figures are exact): built for speed, 100,000 in well under a second.
 */
export function generateIncidents(
  n: number,
  opts: { start?: Date; seed?: number; resolvedShare?: number } = {},
): GeneratedIncidents {
  let seed = (opts.seed ?? 42) >>> 0;
  const random = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const resolvedShare = opts.resolvedShare ?? 0.9;
  const start = (opts.start ?? new Date("2025-01-01T00:00:00Z")).getTime();
  const records: FakeRecord[] = new Array(n);
  let updated = start;
  let resolved = 0;
  let sumSeconds = 0;
  for (let i = 0; i < n; i++) {
    updated += 1000 * (1 + Math.floor(random() * 120)); // strictly ascending, 1 s – 2 min apart
    const isResolved = random() < resolvedShare;
    // Lognormal-ish resolution time: about 3 minutes to 75 minutes, whole seconds.
    const seconds = Math.max(1, Math.round(60 * Math.exp(1 + 2.2 * random())));
    const resolvedAt = updated - Math.floor(random() * 600) * 1000;
    const openedAt = resolvedAt - seconds * 1000;
    const number = `INC${String(i + 1).padStart(7, "0")}`;
    records[i] = {
      sys_id: (0x10000000 + i).toString(16).padStart(32, "a"),
      number,
      opened_at: snDateTime(isResolved ? openedAt : updated - seconds * 1000),
      resolved_at: isResolved ? snDateTime(resolvedAt) : "",
      sys_updated_on: snDateTime(updated),
      active: isResolved ? "false" : "true",
    };
    if (isResolved) {
      resolved++;
      sumSeconds += seconds;
    }
  }
  return {
    records,
    resolved,
    sumMinutes: sumSeconds / 60,
    meanMinutes: resolved ? sumSeconds / 60 / resolved : Number.NaN,
    firstUpdated: new Date(
      Date.parse(`${records[0]?.sys_updated_on.replace(" ", "T") ?? "1970-01-01T00:00:00"}Z`),
    ),
    lastUpdated: new Date(updated),
  };
}

/**
 * For benchmarks: a fake instance serving N generated incidents, and collector options that read them all
 * (Basic auth, `since` before the first record). Close it with `fake.close()`.
 */
export async function serveGeneratedIncidents(
  n: number,
  opts: { seed?: number; pageSize?: number; start?: Date } = {},
): Promise<{
  fake: FakeServiceNow;
  data: GeneratedIncidents;
  options: { instanceUrl: string; username: string; password: string; since: string; pageSize: number };
}> {
  const data = generateIncidents(n, opts);
  const fake = await startFakeServiceNow({ records: data.records, cacheResults: true });
  return {
    fake,
    data,
    options: {
      instanceUrl: fake.url,
      username: FAKE_CREDENTIALS.username,
      password: FAKE_CREDENTIALS.password,
      since: new Date(data.firstUpdated.getTime() - 1000).toISOString(),
      pageSize: opts.pageSize ?? 1000,
    },
  };
}
