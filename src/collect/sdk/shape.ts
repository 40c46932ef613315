import { parseDateTime } from "../../domain/rules.js";

// Checking what a vendor sent before trusting it: JSON objects, vendor date-time formats, count headers.

/** A JSON object: not null, not an array. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A parser of one vendor's date-time format: a string matching `pattern` (the whole format), rewritten
 * by `toIso` into an ISO-8601 date-time with an offset; null for anything else, numbers included.
 */
export function vendorDateTime(pattern: RegExp, toIso: (text: string) => string = (t) => t) {
  return (v: unknown): Date | null =>
    typeof v === "string" && pattern.test(v) ? parseDateTime(toIso(v)) : null;
}

/** A header holding a whole number (`X-Total-Count: 120`); null when absent or anything else. */
export function countHeader(headers: Headers, name: string): number | null {
  const v = headers.get(name)?.trim();
  return v && /^\d+$/.test(v) ? Number(v) : null;
}

/** An API path below a base URL that may have a path prefix (a proxy, a cloud id): no query, no fragment. */
export function apiUrl(baseUrl: string, path: string): string {
  const u = new URL(baseUrl);
  u.pathname = `${u.pathname.replace(/\/+$/, "")}${path}`;
  u.search = "";
  u.hash = "";
  return u.toString();
}
