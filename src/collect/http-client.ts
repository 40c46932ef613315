// The HTTP client collectors use: timeouts, retries with exponential backoff and jitter on network
// errors, 5xx and 429 (honouring Retry-After and rate-limit reset headers), auth helpers, cancellation.
// The exported types are the contract collectors code against.
import { log as defaultLog, type Logger } from "../log.js";

export type Auth = { type: "basic"; username: string; password: string } | { type: "bearer"; token: string };

export interface HttpRequest {
  method?: "GET" | "POST";
  /** Absolute URL; `query` entries are appended (undefined values are left out). */
  url: string | URL;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** JSON-serialised for POST. */
  body?: unknown;
  auth?: Auth;
  /** Per-attempt timeout; default the client's. */
  timeoutMs?: number;
}

export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  url: string;
  body: T;
}

export interface HttpClient {
  /** GET/POST expecting JSON; a non-JSON body (an HTML error page, a truncated body) is a SourceError. */
  json<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>>;
  /** GET/POST returning the body as text (CSV files). */
  text(req: HttpRequest): Promise<HttpResponse<string>>;
}

/** The source failed in a way retries did not cure, or answered something unreadable. */
export class SourceError extends Error {
  override name = "SourceError";
  constructor(
    message: string,
    readonly status: number | null = null,
    readonly url: string | null = null,
  ) {
    super(message);
  }
}

/** 401, or 403 that is not a rate limit: wrong or insufficient credentials. Never retried. */
export class AuthenticationError extends SourceError {
  override name = "AuthenticationError";
}

export interface HttpClientOptions {
  signal?: AbortSignal;
  log?: Logger;
  /** Attempts after the first (default 5). */
  maxRetries?: number;
  /** First backoff delay (default 500 ms), doubled each attempt, with full jitter. */
  baseDelayMs?: number;
  /** Longest wait between attempts, including a server's Retry-After (default 120 s). */
  maxDelayMs?: number;
  /** Per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  userAgent?: string;
  /** For tests: how to wait. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function basicAuth(username: string, password: string): Auth {
  return { type: "basic", username, password };
}

export function bearerAuth(token: string): Auth {
  return { type: "bearer", token };
}

/** Milliseconds a `Retry-After` value (delta-seconds or HTTP-date) asks to wait; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  const v = value?.trim();
  if (!v) return null;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * Milliseconds until a rate-limit reset: GitHub's `x-ratelimit-reset` is epoch seconds, the IETF draft's
 * `ratelimit-reset` (and most other APIs') is delta seconds. No API asks for a 30-year delta, so a
 * number above 1e9 is taken as an epoch time.
 */
export function parseRateLimitReset(value: string | null | undefined, now = Date.now()): number | null {
  const v = value?.trim();
  if (!v || !/^\d+(\.\d+)?$/.test(v)) return null;
  const n = Number(v);
  return n > 1e9 ? Math.max(0, n * 1000 - now) : n * 1000;
}

/** Why an attempt failed, when another attempt may cure it. */
interface Failure {
  reason: string;
  status: number | null;
  /** What the server asked us to wait (ms), if it said. */
  waitMs: number | null;
  /** `: <start of the body>` for the final error, or "". */
  detail: string;
}

const JSON_TYPE = /[/+]json$/i;
// Query parameters whose values must not reach logs or error messages (api_key, access_token, …).
const SECRET_PARAM = /token|secret|pass|pwd|key|auth|sig|session|credential/i;
// Connection-level failures a later attempt can cure. DNS failure (ENOTFOUND) and TLS/certificate
// errors are configuration problems and fail at once.
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ENETDOWN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

function authorization(auth: Auth): string {
  return auth.type === "basic"
    ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`, "utf8").toString("base64")}`
    : `Bearer ${auth.token}`;
}

/** The URL as it may appear in messages: no user info, secret-looking query values masked. */
export function safeUrl(url: URL | string): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  for (const key of new Set(u.searchParams.keys()))
    if (SECRET_PARAM.test(key)) u.searchParams.set(key, "***");
  return u.href;
}

function snippet(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Decides what a non-2xx answer means: throws when retrying cannot help, else says how to retry. */
function classify(res: Response, body: string, where: string): Failure {
  const { status, headers } = res;
  const now = Date.now();
  const retryAfter = parseRetryAfter(headers.get("retry-after"), now);
  const exhausted = [headers.get("x-ratelimit-remaining"), headers.get("ratelimit-remaining")].some(
    (v) => v?.trim() === "0",
  );
  // GitHub answers an exhausted quota with 403 (or 429) and x-ratelimit-remaining: 0, and a secondary
  // rate limit with 403 and Retry-After; any other 403 is a permissions problem.
  const rateLimited = status === 429 || (status === 403 && (exhausted || retryAfter !== null));
  const detail = body.trim() ? `: ${snippet(body, 200)}` : "";
  if (status === 401) {
    throw new AuthenticationError(
      `authentication failed (HTTP 401) at ${where}: check the credentials`,
      401,
      where,
    );
  }
  if (status === 403 && !rateLimited) {
    throw new AuthenticationError(
      `access forbidden (HTTP 403) at ${where}: check the token's permissions${detail}`,
      403,
      where,
    );
  }
  // 408 is the server's own timeout: as transient as ours.
  if (!rateLimited && status < 500 && status !== 408) {
    throw new SourceError(`HTTP ${status} from ${where}${detail}`, status, where);
  }
  // Reset headers ride on every GitHub answer; they only mean "wait" when the quota is spent.
  const reset = parseRateLimitReset(headers.get("x-ratelimit-reset") ?? headers.get("ratelimit-reset"), now);
  const waitMs = retryAfter ?? (rateLimited || exhausted ? reset : null);
  return { reason: rateLimited ? `rate limited (HTTP ${status})` : `HTTP ${status}`, status, waitMs, detail };
}

/** A fetch that threw: transient connection trouble is retried, anything else fails at once. */
function networkFailure(err: unknown, where: string): Failure {
  const codes: string[] = [];
  let innermost = String(err);
  for (let e: any = err; e; e = e.cause) {
    if (typeof e.code === "string") codes.push(e.code);
    if (Array.isArray(e.errors))
      for (const sub of e.errors) if (typeof sub?.code === "string") codes.push(sub.code);
    if (typeof e.message === "string") innermost = e.message;
  }
  const code = codes.find((c) => TRANSIENT_CODES.has(c));
  if (code || /socket hang up|other side closed|terminated/i.test(innermost)) {
    return {
      reason: `network error: ${innermost}${code ? ` (${code})` : ""}`,
      status: null,
      waitMs: null,
      detail: "",
    };
  }
  throw new SourceError(`request to ${where} failed: ${innermost}`, null, where);
}

/** Waits ms, or rejects with the signal's reason as soon as it aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function createHttpClient(opts: HttpClientOptions = {}): HttpClient {
  const {
    signal,
    maxRetries = 5,
    baseDelayMs = 500,
    maxDelayMs = 120_000,
    timeoutMs = 30_000,
    userAgent = "uplift-collector",
    sleep = abortableSleep,
  } = opts;
  const log = opts.log ?? defaultLog.child({ component: "http" });

  async function send(req: HttpRequest, accept: string | null): Promise<HttpResponse<string>> {
    const method = req.method ?? "GET";
    const url = new URL(req.url);
    for (const [k, v] of Object.entries(req.query ?? {}))
      if (v !== undefined) url.searchParams.append(k, String(v));
    const where = safeUrl(url);
    // undici refuses such URLs with a message that repeats the password; refuse first, without it.
    if (url.username || url.password) {
      throw new SourceError(`credentials in the URL of ${where} are not supported: use auth`, null, where);
    }
    if (req.body !== undefined && method !== "POST")
      throw new TypeError(`a request body needs POST (${where})`);

    const headers = new Headers({ "user-agent": userAgent });
    if (accept) headers.set("accept", accept);
    for (const [k, v] of Object.entries(req.headers ?? {})) headers.set(k, v);
    if (req.auth) headers.set("authorization", authorization(req.auth));
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    if (body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
    const perAttemptMs = req.timeoutMs ?? timeoutMs;

    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(perAttemptMs);
      let failure: Failure;
      try {
        // The timeout covers reading the body too: a server that stalls mid-body is a failed attempt.
        const res = await fetch(url, {
          method,
          headers,
          body,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        const text = await res.text();
        if (res.ok) return { status: res.status, headers: res.headers, url: res.url || url.href, body: text };
        failure = classify(res, text, where);
      } catch (err) {
        if (signal?.aborted) throw signal.reason; // cancelled by the run: stop, no retry
        if (err instanceof SourceError) throw err;
        failure = timeout.aborted
          ? { reason: `timed out after ${perAttemptMs} ms`, status: null, waitMs: null, detail: "" }
          : networkFailure(err, where);
      }

      // The server's own hint beats our guess; a hint of 0 or a reset already past (clock skew) falls
      // back to backoff so that we do not spend every retry in the same second.
      const hinted = failure.waitMs !== null && failure.waitMs > 0;
      if (hinted && failure.waitMs! > maxDelayMs) {
        throw new SourceError(
          `${failure.reason} at ${where}: the source asked to wait ${Math.ceil(failure.waitMs! / 1000)} s ` +
            `before retrying, more than the ${Math.round(maxDelayMs / 1000)} s this client waits`,
          failure.status,
          where,
        );
      }
      if (attempt >= maxRetries) {
        throw new SourceError(
          `gave up on ${method} ${where} after ${attempt + 1} attempts: ${failure.reason}${failure.detail}`,
          failure.status,
          where,
        );
      }
      // Full jitter (random in [0, base·2^n]) spreads the retries of many collectors hitting one source.
      const delayMs = hinted
        ? Math.ceil(failure.waitMs!)
        : Math.floor(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt));
      log.warn("source request failed, retrying", {
        url: where,
        status: failure.status ?? undefined,
        reason: failure.reason,
        attempt: attempt + 1,
        maxRetries,
        delayMs,
      });
      await sleep(delayMs, signal);
    }
  }

  return {
    async json<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
      const res = await send(req, "application/json");
      if (res.status === 204) return { ...res, body: null as T };
      const where = safeUrl(new URL(res.url));
      try {
        return { ...res, body: JSON.parse(res.body) as T };
      } catch (err) {
        const type = res.headers.get("content-type")?.split(";")[0]?.trim();
        // A JSON content type with an unreadable body is a truncated or broken answer; anything else
        // (an HTML error page, a proxy's login page) means we did not reach the API we think we did.
        if (type && JSON_TYPE.test(type)) {
          throw new SourceError(`invalid JSON from ${where}: ${(err as Error).message}`, res.status, where);
        }
        throw new SourceError(
          `expected JSON from ${where}, got ${type || "no content type"}: ${snippet(res.body, 120)}`,
          res.status,
          where,
        );
      }
    },
    text: (req) => send(req, null),
  };
}
