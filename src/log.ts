// Structured JSON logs (pino) on stderr, one object per line: time, level, msg, then the fields.
// LOG_LEVEL=debug|info|warn|error|silent (default info; tests default to warn). Secrets are removed by
// the redaction paths below, not by each call site; docs/logs.md lists them.
import { AsyncLocalStorage } from "node:async_hooks";
import pino from "pino";

type Level = "debug" | "info" | "warn" | "error";
const LEVELS = new Set(["debug", "info", "warn", "error", "silent"]);

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/**
 * Fields of the request (HTTP) or operation (WebSocket) being served, e.g. `{ requestId }`: every line
 * logged while serving it carries them, whichever logger writes the line.
 */
export const logContext = new AsyncLocalStorage<Record<string, unknown>>();

/** Keys whose values are secrets wherever they appear (top level, or one or two levels down). */
const SECRET_KEYS = [
  "authorization",
  "Authorization",
  "cookie",
  "password",
  "passwd",
  "secret",
  "token",
  "adminToken",
  "apiKey",
  "accessToken",
  "refreshToken",
  "clientSecret",
  "UPLIFT_ADMIN_TOKEN",
  '["x-api-key"]',
  '["set-cookie"]',
];
/** Keys holding URLs or connection strings: only the password inside them is removed. */
const URL_KEYS = ["url", "databaseUrl", "DATABASE_URL", "connectionString", "dsn", "webhookUrl"];

function everywhere(keys: string[]): string[] {
  const at = (k: string) => (k.startsWith("[") ? k : `.${k}`);
  return keys.flatMap((k) => [k.startsWith("[") ? `*${k}` : k, `*${at(k)}`, `*.*${at(k)}`]);
}

export const REDACT_PATHS = [...everywhere(SECRET_KEYS), ...everywhere(URL_KEYS)];
const urlKeys = new Set(URL_KEYS);

/** `postgres://user:secret@host/db` → `postgres://user:[redacted]@host/db`; anything else → [redacted]. */
function censor(value: unknown, path: string[]): unknown {
  if (urlKeys.has(path[path.length - 1] ?? "")) {
    return typeof value === "string" ? value.replace(/(\/\/[^:/@\s]*:)[^@\s]*@/g, "$1[redacted]@") : value;
  }
  return "[redacted]";
}

/** Errors as their type, message and code: stacks only where a call site passes them on purpose. */
function errorFields(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const code = (e as { code?: unknown }).code;
  return { type: e.name, message: e.message, ...(code === undefined ? {} : { code }) };
}

let root: pino.Logger | null = null;

/** Built on first use, so that LOG_LEVEL set by a script before its first log line is honoured. */
function rootLogger(): pino.Logger {
  if (root) return root;
  const wanted = (process.env.LOG_LEVEL ?? (process.env.VITEST ? "warn" : "info")).toLowerCase();
  root = pino(
    {
      level: LEVELS.has(wanted) ? wanted : "info",
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor },
      serializers: { error: errorFields, err: errorFields },
      // A copy: pino merges each line's fields INTO the mixin's object (Object.assign), which would leave
      // one line's fields (status, attempt…) on every later line of the same request.
      mixin: () => ({ ...logContext.getStore() }),
    },
    // Synchronous: the last lines before process.exit() are never lost.
    pino.destination({ fd: 2, sync: true }),
  );
  return root;
}

export function createLogger(base: Record<string, unknown> = {}): Logger {
  let logger: pino.Logger | null = null;
  const get = () => {
    logger ??= Object.keys(base).length ? rootLogger().child(base) : rootLogger();
    return logger;
  };
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    const l = get();
    if (!l.isLevelEnabled(level)) return;
    if (fields) l[level](fields, msg);
    else l[level](msg);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger({ ...base, ...fields }),
  };
}

export const log = createLogger();
