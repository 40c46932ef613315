import { parseDateTime } from "../domain/rules.js";

// Helpers for collectors that read loosely typed sources (JSON, CSV, SQL): turning a source value into a
// number, an instant or an id, and showing a bad value in a rejection reason.

/** A plain decimal number as text: `12`, `-3.5`, `.5`, `1e3`. No hex, no `Infinity`, no thousands separators. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A finite number, or a string holding one (surrounding spaces allowed); null for anything else. */
export function toFiniteNumber(v: unknown): number | null {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string") {
    const s = v.trim();
    if (!DECIMAL.test(s)) return null;
    const n = Number(s);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/**
 * An instant: an ISO-8601 date-time string with an offset, or epoch milliseconds (a number, or a string of
 * digits when `digitsAsEpochMs`); null for anything else (a date-time without an offset is ambiguous).
 */
export function toInstant(v: unknown, opts: { digitsAsEpochMs?: boolean } = {}): Date | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return null;
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  if (typeof v === "string") {
    const s = v.trim();
    if (opts.digitsAsEpochMs && /^-?\d+$/.test(s)) return toInstant(Number(s));
    return parseDateTime(s);
  }
  return null;
}

/** A non-empty string or a finite number, as a string; null otherwise. */
export function toExternalId(v: unknown): string | null {
  if (typeof v === "string") return v.length > 0 ? v : null;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (typeof v === "bigint") return v.toString();
  return null;
}

/** A value as it should appear in a rejection reason: JSON, cut to 80 characters; `missing` for undefined. */
export function showValue(v: unknown): string {
  if (v === undefined) return "missing";
  let s: string;
  try {
    s = v instanceof Date ? v.toISOString() : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
