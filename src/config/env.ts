import path from "node:path";
import { type AuthSettings, readAuthSettings } from "../auth/mode.js";

// Every environment variable Uplift reads, validated once at start-up. README "Environment variables".
export interface Env {
  databaseUrl: string | null;
  dataDir: string;
  port: number;
  host: string;
  configPath: string | null;
  scheduler: boolean;
  introspection: boolean;
  /** Largest accepted request body, bytes. */
  maxBodyBytes: number;
  /** Deepest accepted selection nesting of a GraphQL document. */
  maxQueryDepth: number;
  /** Database connections per process. */
  poolSize: number;
  /** WebSocket (subscription) limits. */
  ws: WsLimits;
  /** Access control: admin token, UPLIFT_AUTH, allowed origins (src/auth/mode.ts). */
  auth: AuthSettings;
  /** Per-request bounds on GraphQL documents (docs/limits.md). */
  query: QueryLimits;
  /** Requests per second per API key (per client address with auth off); 0 = no limit. */
  rateLimit: number;
  /** PostgreSQL statement_timeout of the API's connections, ms; 0 = none. */
  statementTimeoutMs: number;
  /** Whole answers to queries reused while the database is unchanged (src/api/response-cache.ts). */
  responseCache: { maxBytes: number; maxAgeMs: number };
  /** UPLIFT_READER_PASSWORD: creates/updates the read-only `uplift_reader` role (reporting schema only). */
  readerPassword: string | null;
  /** UPLIFT_PG_PORT: the embedded server's fixed port (null: a free one). */
  pgPort: number | null;
  /** UPLIFT_METRICS_PUBLIC=on: /metrics without credentials. */
  metricsPublic: boolean;
}

export interface QueryLimits {
  /** Longest accepted GraphQL document (the `query` text, not the body), UTF-8 bytes. */
  maxBytes: number;
  /** Most lexical tokens in a document. */
  maxTokens: number;
  /** Most aliased fields in an operation. */
  maxAliases: number;
  /** Largest query cost, in figure computations (src/api/limits/cost.ts). */
  maxCost: number;
}

export interface WsLimits {
  /** Open WebSocket connections per process; more are refused with HTTP 503. */
  maxConnections: number;
  /** Active subscriptions per connection; more are refused with an error message. */
  maxSubscriptionsPerConnection: number;
  /** Ping interval; a connection that missed the previous pong is closed. */
  pingMs: number;
  /** A connection whose unsent data exceeds this is closed (a consumer too slow to keep up). */
  maxBufferedBytes: number;
}

export class EnvError extends Error {
  override name = "EnvError";
}

function onOff(name: string, raw: string | undefined, dflt: boolean): boolean {
  if (raw === undefined || raw === "") return dflt;
  const v = raw.toLowerCase();
  if (["on", "true", "1", "yes"].includes(v)) return true;
  if (["off", "false", "0", "no"].includes(v)) return false;
  throw new EnvError(`${name}: expected on or off, got "${raw}"`);
}

function int(name: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new EnvError(`${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

export function readEnv(e: NodeJS.ProcessEnv = process.env): Env {
  const databaseUrl = e.DATABASE_URL?.trim() || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new EnvError("DATABASE_URL: expected a postgres:// or postgresql:// URL");
  }
  const host = e.HOST?.trim() || "127.0.0.1";
  return {
    databaseUrl,
    dataDir: path.resolve(e.UPLIFT_DATA_DIR?.trim() || ".uplift"),
    port: int("PORT", e.PORT, 4000, 0, 65535),
    host,
    configPath: e.UPLIFT_CONFIG?.trim() || null,
    scheduler: onOff("UPLIFT_SCHEDULER", e.UPLIFT_SCHEDULER, true),
    introspection: onOff("UPLIFT_INTROSPECTION", e.UPLIFT_INTROSPECTION, true),
    maxBodyBytes: int("UPLIFT_MAX_BODY_BYTES", e.UPLIFT_MAX_BODY_BYTES, 20 * 1024 * 1024, 1024, 1024 ** 3),
    maxQueryDepth: int("UPLIFT_MAX_QUERY_DEPTH", e.UPLIFT_MAX_QUERY_DEPTH, 12, 2, 100),
    poolSize: int("UPLIFT_DB_POOL_SIZE", e.UPLIFT_DB_POOL_SIZE, 10, 1, 200),
    query: {
      maxBytes: int("UPLIFT_MAX_QUERY_BYTES", e.UPLIFT_MAX_QUERY_BYTES, 102_400, 256, 64 * 1024 * 1024),
      maxTokens: int("UPLIFT_MAX_QUERY_TOKENS", e.UPLIFT_MAX_QUERY_TOKENS, 10_000, 10, 10_000_000),
      maxAliases: int("UPLIFT_MAX_ALIASES", e.UPLIFT_MAX_ALIASES, 100, 0, 1_000_000),
      maxCost: int("UPLIFT_MAX_QUERY_COST", e.UPLIFT_MAX_QUERY_COST, 1_000, 1, 1_000_000_000),
    },
    rateLimit: int("UPLIFT_RATE_LIMIT", e.UPLIFT_RATE_LIMIT, 0, 0, 1_000_000),
    statementTimeoutMs: int(
      "UPLIFT_STATEMENT_TIMEOUT_MS",
      e.UPLIFT_STATEMENT_TIMEOUT_MS,
      30_000,
      0,
      24 * 3600 * 1000,
    ),
    responseCache: {
      maxBytes: int(
        "UPLIFT_RESPONSE_CACHE_BYTES",
        e.UPLIFT_RESPONSE_CACHE_BYTES,
        64 * 1024 * 1024,
        0,
        2 ** 40,
      ),
      maxAgeMs: int(
        "UPLIFT_RESPONSE_CACHE_MAX_AGE_MS",
        e.UPLIFT_RESPONSE_CACHE_MAX_AGE_MS,
        1000,
        0,
        3_600_000,
      ),
    },
    readerPassword: e.UPLIFT_READER_PASSWORD || null,
    pgPort: e.UPLIFT_PG_PORT?.trim() ? int("UPLIFT_PG_PORT", e.UPLIFT_PG_PORT, 0, 1, 65535) : null,
    metricsPublic: onOff("UPLIFT_METRICS_PUBLIC", e.UPLIFT_METRICS_PUBLIC, false),
    ws: {
      maxConnections: int("UPLIFT_WS_MAX_CONNECTIONS", e.UPLIFT_WS_MAX_CONNECTIONS, 20_000, 1, 1_000_000),
      maxSubscriptionsPerConnection: int(
        "UPLIFT_WS_MAX_SUBSCRIPTIONS",
        e.UPLIFT_WS_MAX_SUBSCRIPTIONS,
        100,
        1,
        10_000,
      ),
      pingMs: int("UPLIFT_WS_PING_MS", e.UPLIFT_WS_PING_MS, 30_000, 100, 3_600_000),
      maxBufferedBytes: int(
        "UPLIFT_WS_MAX_BUFFERED_BYTES",
        e.UPLIFT_WS_MAX_BUFFERED_BYTES,
        1024 * 1024,
        1024,
        1024 ** 3,
      ),
    },
    auth: readAuthSettings(e, host),
  };
}
