// A small structured logger: one line per event, `time level message key=value…`, on stderr.
// LOG_LEVEL=debug|info|warn|error|silent (default info; tests default to warn).
type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function threshold(): number {
  const wanted = (process.env.LOG_LEVEL ?? (process.env.VITEST ? "warn" : "info")).toLowerCase();
  return ORDER[wanted as Level] ?? ORDER.info;
}

function format(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "string") return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(base: Record<string, unknown> = {}): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < threshold()) return;
    const all = { ...base, ...fields };
    const kv = Object.entries(all)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${format(v)}`)
      .join(" ");
    process.stderr.write(
      `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}${kv ? ` ${kv}` : ""}\n`,
    );
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
