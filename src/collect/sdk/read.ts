import type { ObservationRecord, RejectedRecord } from "../types.js";
import { showValue, toExternalId, toFiniteNumber, toInstant } from "../values.js";
import { rejection } from "./bounds.js";

// Loosely typed source values (JSON members, CSV cells) into an observation, with rejections that name
// the field, the value and where it came from: `value "n/a" ($.v) is not a number`.

export interface RawFields {
  externalId: unknown;
  value: unknown;
  observedAt: unknown;
  weight?: unknown;
  dimensions?: Record<string, unknown>;
}

export interface ReadStyle {
  /** Where a field comes from, after its value in a reason: ` ($.v)`, ` (column "minutes")`. */
  source(field: string): string;
  /** How an absent value is said (`is missing`, `is empty`), or null when the value is present. */
  absent(raw: unknown): string | null;
  /** Before every reason, e.g. `row 4: `. */
  prefix?: string;
  /** What an id must be, in the reason (default: a non-empty string or a number). */
  idExpected?: string;
  /** How a field is named in a reason (default: its name, e.g. `observedAt`; SQL: `observed_at`). */
  name?(field: string): string;
  digitsAsEpochMs?: boolean;
}

const INSTANT = "an ISO-8601 date-time with an offset or epoch milliseconds";

export function readObservation(raw: RawFields, s: ReadStyle): ObservationRecord | RejectedRecord {
  // Module functions rather than closures: this runs once per collected record.
  const externalId = toExternalId(raw.externalId);
  if (externalId === null)
    return bad(s, externalId, "externalId", raw.externalId, s.idExpected ?? "a non-empty string or a number");
  const value = toFiniteNumber(raw.value);
  if (value === null) return bad(s, externalId, "value", raw.value, "a number");
  const observedAt = toInstant(raw.observedAt, s.digitsAsEpochMs ? EPOCH_MS : NO_EPOCH_MS);
  if (observedAt === null) return bad(s, externalId, "observedAt", raw.observedAt, INSTANT);
  const record: ObservationRecord = { externalId, observedAt, value };
  if (!blank(s, raw.weight)) {
    const weight = toFiniteNumber(raw.weight);
    if (weight === null) return bad(s, externalId, "weight", raw.weight, "a number");
    record.weight = weight;
  }
  if (raw.dimensions === undefined) return record;
  let dims: Record<string, string> | null = null;
  for (const name in raw.dimensions) {
    const v = raw.dimensions[name];
    if (blank(s, v)) continue;
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean")
      return bad(s, externalId, `dimensions.${name}`, v, "a string, number or boolean");
    dims ??= {};
    dims[name] = String(v);
  }
  if (dims) record.dimensions = dims;
  return record;
}

const EPOCH_MS = { digitsAsEpochMs: true };
const NO_EPOCH_MS = { digitsAsEpochMs: false };

function blank(s: ReadStyle, v: unknown): boolean {
  return v === undefined || v === null || s.absent(v) !== null;
}

function bad(
  s: ReadStyle,
  externalId: string | null,
  field: string,
  v: unknown,
  expected: string,
): RejectedRecord {
  const absent = s.absent(v);
  const what = absent
    ? `${s.source(field)} ${absent}`
    : ` ${showValue(v)}${s.source(field)} is not ${expected}`;
  const name = s.name ? s.name(field) : field.replace(/^dimensions\./, "dimension ");
  return rejection(`${s.prefix ?? ""}${name}${what}`, externalId);
}
