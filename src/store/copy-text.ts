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

/**
 * The columns `project_id, metric_id, observed_at, value, weight, external_id, dimensions` of one row, tab
 * separated, without a leading key or trailing newline (callers add theirs).
 */
export function observationCopyFields(r: ResolvedObservation): string {
  return `${r.projectId}\t${r.metricId}\t${r.observedAt.toISOString()}\t${r.value}\t${r.weight}\t${
    r.externalId === null ? COPY_NULL : copyText(r.externalId)
  }\t${r.dimensions ? copyText(JSON.stringify(r.dimensions)) : COPY_NULL}`;
}
