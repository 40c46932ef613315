// The HTTP client collectors use: timeouts, retries with exponential backoff and jitter on network
// errors, 5xx and 429 (honouring Retry-After and rate-limit reset headers), auth helpers, cancellation.
// IMPLEMENTATION PENDING (being written): the exported types below are the contract collectors code against.
import type { Logger } from "../log.js";

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

export declare function createHttpClient(opts?: HttpClientOptions): HttpClient;
