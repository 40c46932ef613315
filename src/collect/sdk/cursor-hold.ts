import type { ReadRecord } from "../types.js";
import { toFiniteNumber, toInstant } from "../values.js";

// Cursors of sources that sort by a value several records may share (an updated_at, an observed_at).

/** A cursor value read once: its instant and number (null when it is not one) beside its text. */
interface Sortable {
  text: string;
  instant: number | null;
  number: number | null;
}

function sortable(text: string): Sortable {
  const d = toInstant(text);
  return { text, instant: d ? d.getTime() : null, number: toFiniteNumber(text) };
}

function compareSortable(a: Sortable, b: Sortable): number {
  if (a.instant !== null && b.instant !== null) return a.instant - b.instant;
  if (a.number !== null && b.number !== null) return a.number - b.number;
  return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
}

/** Orders two cursor values: as instants when both are date-times, as numbers when both are numbers, else as text. */
export function compareCursors(a: string, b: string): number {
  return compareSortable(sortable(a), sortable(b));
}

type Rec = ReadRecord;

/**
 * Holds one record back until the next one's sort value is known: a record carries its cursor only when
 * the next value is greater, so a committed cursor never splits records that share a value (safe with
 * sources that filter `> cursor` as well as `>= cursor`). `order` throws on values out of order.
 */
export function createCursorHold(order: (cursor: string, previous: string) => void) {
  // Each value is parsed once, when it arrives (a page of 5,000 dated items used to parse each four times).
  let held: { record: Rec; cursor: Sortable | undefined } | null = null;
  let last: Sortable | undefined;
  return {
    /**
     * Takes a record and its sort value; gives back the record to yield now, if any. `instant`: the
     * value's instant when the caller has parsed it already (a date-time cursor that is also the record's
     * observedAt), so it is not parsed twice; such a value is a date-time, never a number.
     */
    push(record: Rec, cursor: string | undefined, instant?: number): Rec | null {
      const value =
        cursor === undefined
          ? undefined
          : instant === undefined
            ? sortable(cursor)
            : { text: cursor, instant, number: null };
      if (value !== undefined) {
        if (last !== undefined && compareSortable(value, last) < 0) order(value.text, last.text);
        last = value;
      }
      const out = held;
      if (out?.cursor !== undefined && value !== undefined && compareSortable(out.cursor, value) < 0)
        out.record.cursor = out.cursor.text;
      held = { record, cursor: value };
      return out?.record ?? null;
    },
    /** The last record; with the greatest value as its cursor when the source was read to its end. */
    finish(complete: boolean): Rec | null {
      if (held && complete && last !== undefined) held.record.cursor = last.text;
      return held?.record ?? null;
    },
  };
}
