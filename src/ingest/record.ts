import { parseDateTime } from "../domain/rules.js";
import type { InputProblem } from "../errors.js";
import { type ObservationInput, observationProblems } from "../store/observations.js";

// One bulk line (an NDJSON object or a CSV row) → an observation's fields, with every problem named by
// field. The rules are recordObservations' own (checkObservationFields); this adds only what the
// GraphQL layer would otherwise check: types and unknown fields.

export type RawFields = Omit<ObservationInput, "observedAt"> & { observedAt: Date };

const KNOWN = new Set([
  "projectSlug",
  "metricKey",
  "observedAt",
  "value",
  "weight",
  "externalId",
  "dimensions",
]);

/** A string field of an NDJSON object, or null (missing, or pushed as a problem). */
function stringField(
  o: Record<string, unknown>,
  k: string,
  required: boolean,
  problems: InputProblem[],
): string | null {
  const x = o[k];
  if (x === undefined || x === null) {
    if (required) problems.push({ field: k, message: "is required" });
    return null;
  }
  if (typeof x !== "string") {
    problems.push({ field: k, message: "must be a string" });
    return null;
  }
  return x;
}

/** Validates a parsed NDJSON value; returns the fields or pushes problems. */
export function fromJson(v: unknown, problems: InputProblem[], now: number): RawFields | null {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    problems.push({
      field: "",
      message: "each line must be a JSON object with the fields of ObservationInput",
    });
    return null;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) if (!KNOWN.has(k)) problems.push({ field: k, message: "unknown field" });
  const projectSlug = stringField(o, "projectSlug", true, problems);
  const metricKey = stringField(o, "metricKey", true, problems);
  const observedAtText = stringField(o, "observedAt", true, problems);
  const externalId = stringField(o, "externalId", false, problems);
  let observedAt: Date | null = null;
  if (observedAtText !== null) {
    observedAt = parseDateTime(observedAtText);
    if (!observedAt)
      problems.push({
        field: "observedAt",
        message: "must be an ISO-8601 date-time with an offset, e.g. 2025-03-01T00:00:00Z",
      });
  }
  if (o.value === undefined || o.value === null) problems.push({ field: "value", message: "is required" });
  else if (typeof o.value !== "number") problems.push({ field: "value", message: "must be a number" });
  if (o.weight !== undefined && o.weight !== null && typeof o.weight !== "number")
    problems.push({ field: "weight", message: "must be a number" });
  const before = problems.length;
  const fields = {
    projectSlug: projectSlug ?? "",
    metricKey: metricKey ?? "",
    observedAt: observedAt ?? new Date(Number.NaN),
    value: typeof o.value === "number" ? o.value : 0,
    weight: typeof o.weight === "number" ? o.weight : null,
    externalId,
    dimensions: (o.dimensions ?? null) as Record<string, unknown> | null,
  };
  return finish(fields, problems, now, before, observedAt !== null);
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Required and optional CSV columns; dimensions come from `dim.<key>` columns. */
export const CSV_COLUMNS = [
  "projectSlug",
  "metricKey",
  "observedAt",
  "value",
  "weight",
  "externalId",
] as const;
const REQUIRED_CSV = ["projectSlug", "metricKey", "observedAt", "value"];

/** Checks a CSV header row; returns problems naming each bad or missing column. */
export function checkCsvHeader(header: string[]): InputProblem[] {
  const problems: InputProblem[] = [];
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) problems.push({ field: h, message: "column appears twice" });
    seen.add(h);
    if (!(CSV_COLUMNS as readonly string[]).includes(h) && !(h.startsWith("dim.") && h.length > 4))
      problems.push({
        field: h,
        message: `unknown column; expected ${CSV_COLUMNS.join(", ")} and dim.<key> columns`,
      });
  }
  for (const r of REQUIRED_CSV)
    if (!seen.has(r)) problems.push({ field: r, message: "required column is missing" });
  return problems;
}

/** A CSV row (cells by header) → fields. Empty weight = 1, empty externalId = none, empty dim.x = no key x. */
export function fromCsv(
  header: string[],
  cells: string[],
  problems: InputProblem[],
  now: number,
): RawFields | null {
  const get = (name: string) => {
    const i = header.indexOf(name);
    return i === -1 ? "" : (cells[i] ?? "");
  };
  const before = problems.length;
  for (const k of REQUIRED_CSV) if (get(k) === "") problems.push({ field: k, message: "is required" });
  const num = (k: string, text: string): number => {
    if (text !== "" && !NUMBER.test(text.trim())) problems.push({ field: k, message: "must be a number" });
    return Number(text);
  };
  const value = num("value", get("value"));
  const weightText = get("weight");
  const weight = weightText === "" ? null : num("weight", weightText);
  const observedAt = get("observedAt") === "" ? null : parseDateTime(get("observedAt"));
  if (get("observedAt") !== "" && !observedAt)
    problems.push({
      field: "observedAt",
      message: "must be an ISO-8601 date-time with an offset, e.g. 2025-03-01T00:00:00Z",
    });
  let dimensions: Record<string, string> | null = null;
  header.forEach((h, i) => {
    if (!h.startsWith("dim.") || !cells[i]) return;
    dimensions ??= {};
    dimensions[h.slice(4)] = cells[i];
  });
  const fields = {
    projectSlug: get("projectSlug"),
    metricKey: get("metricKey"),
    observedAt: observedAt ?? new Date(Number.NaN),
    value,
    weight,
    externalId: get("externalId") === "" ? null : get("externalId"),
    dimensions,
  };
  const out = finish(fields, problems, now, before, observedAt !== null);
  for (const p of problems.slice(before))
    if (p.field.startsWith("dimensions.")) p.field = `dim.${p.field.slice("dimensions.".length)}`;
  return out;
}

/** The store's one validator (recordObservations and the collector runner use it too). */
function finish(
  f: RawFields,
  problems: InputProblem[],
  now: number,
  before: number,
  dated: boolean,
): RawFields | null {
  // A missing or unreadable observedAt is already reported by the caller.
  for (const p of observationProblems(f, now)) if (dated || p.field !== "observedAt") problems.push(p);
  return problems.length > before ? null : f;
}
