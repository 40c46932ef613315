import { z } from "zod";
import { parseDateTime } from "../domain/rules.js";
import { isTimeZone } from "./time-zone.js";

// Option schemas that several collectors share, so that `since` and `timeZone` mean the same everywhere.

/** `2025-01-31` (midnight UTC) or an ISO-8601 date-time with an offset; a Date passes as it is. */
export const dateOrDateTime = z.union([z.date(), z.string()]).transform((v, ctx) => {
  const text = typeof v === "string" ? v.trim() : "";
  const d =
    v instanceof Date ? v : parseDateTime(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!d || Number.isNaN(d.getTime())) {
    ctx.addIssue({
      code: "custom",
      message: `expected a date (2025-01-31) or an ISO-8601 date-time with an offset, got ${JSON.stringify(String(v))}`,
    });
    return z.NEVER;
  }
  return d;
});

/** An IANA time zone name that this Node.js knows, e.g. Europe/Berlin. */
export const timeZoneName = z
  .string()
  .refine(isTimeZone, { message: "must be an IANA time zone name such as Europe/Berlin" });

/** An ISO-8601 date-time with an offset (no bare dates: a SQL cursor is compared as an instant); a Date passes. */
export const isoDateTime = z.union([z.date(), z.string()]).transform((v, ctx) => {
  const d = v instanceof Date ? v : parseDateTime(v);
  if (!d || Number.isNaN(d.getTime())) {
    ctx.addIssue({
      code: "custom",
      message: `expected an ISO-8601 date-time with an offset, got "${String(v)}"`,
    });
    return z.NEVER;
  }
  return d;
});

/** An absolute http(s) URL: a vendor's base URL, a generic source's URL. */
export const httpUrl = z.url({ protocol: /^https?$/, error: "must be an absolute http(s) URL" });
