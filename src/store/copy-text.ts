import type { ResolvedObservation } from "./observations.js";

// PostgreSQL COPY text format, shared by every write path that streams rows with COPY (bulk ingest, large
// batches): one place that knows the escaping rules.

/** Backslash, tab, newline and carriage return are the characters COPY text needs escaped. */
export function copyText(s: string): string {
  return /[\\\t\n\r]/.test(s)
    ? s.replace(/[\\\t\n\r]/g, (c) => ({ "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" })[c] as string)
    : s;
}

/** The NULL marker of COPY text. */
export const COPY_NULL = "\\N";

const DAY_MS = 86_400_000;
const TWO = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));
const THREE = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));

/**
 * `toISOString()` of many timestamps, cheaper: the date part is formatted once per day (a batch's rows
 * share few days), the time of day from lookup tables. Same text.
 */
export function isoFormatter(): (d: Date) => string {
  let day = Number.NaN;
  let prefix = "";
  return (d) => {
    const ms = d.getTime();
    const k = Math.floor(ms / DAY_MS);
    if (k !== day) {
      day = k;
      prefix = new Date(k * DAY_MS).toISOString().slice(0, 11);
    }
    // Years beyond 9999 or before 0 have a longer form: left to toISOString.
    if (prefix.length !== 11 || prefix.charCodeAt(10) !== 84 /* T */) return d.toISOString();
    let t = ms - k * DAY_MS;
    const h = Math.floor(t / 3_600_000);
    t -= h * 3_600_000;
    const mi = Math.floor(t / 60_000);
    t -= mi * 60_000;
    const s = Math.floor(t / 1000);
    return `${prefix}${TWO[h]}:${TWO[mi]}:${TWO[s]}.${THREE[t - s * 1000]}Z`;
  };
}

const toIso = (d: Date) => d.toISOString();

/**
 * `String(x)`, without V8's number-to-string cache: a fractional number's text made by String() or a
 * template goes to that cache and is allocated in the old generation, so a million values left ~30 MB of
 * old-generation garbage per million rows until the next full GC. JSON.stringify writes the same digits
 * for a finite number and allocates its result young.
 */
export function numberText(x: number): string {
  return Number.isFinite(x) ? JSON.stringify(x) : String(x);
}

/**
 * The columns `project_id, metric_id, observed_at, value, weight, external_id, dimensions` of one row, tab
 * separated, without a leading key or trailing newline (callers add theirs). `iso`: an isoFormatter() for
 * many rows.
 */
export function observationCopyFields(r: ResolvedObservation, iso: (d: Date) => string = toIso): string {
  return `${r.projectId}\t${r.metricId}\t${iso(r.observedAt)}\t${numberText(r.value)}\t${numberText(r.weight)}\t${
    r.externalId === null ? COPY_NULL : copyText(r.externalId)
  }\t${r.dimensions ? copyText(JSON.stringify(r.dimensions)) : COPY_NULL}`;
}
