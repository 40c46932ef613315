import type { ReadRecord } from "../types.js";
import { toFiniteNumber, toInstant } from "../values.js";

// Cursors of sources that sort by a value several records may share (an updated_at, an observed_at).

/** Orders two cursor values: as instants when both are date-times, as numbers when both are numbers, else as text. */
export function compareCursors(a: string, b: string): number {
  const da = toInstant(a);
  const db = toInstant(b);
  if (da && db) return da.getTime() - db.getTime();
  const na = toFiniteNumber(a);
  const nb = toFiniteNumber(b);
  if (na !== null && nb !== null) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

type Rec = ReadRecord;

/**
 * Holds one record back until the next one's sort value is known: a record carries its cursor only when
 * the next value is greater, so a committed cursor never splits records that share a value (safe with
 * sources that filter `> cursor` as well as `>= cursor`). `order` throws on values out of order.
 */
export function createCursorHold(order: (cursor: string, previous: string) => void) {
  let held: { record: Rec; cursor: string | undefined } | null = null;
  let last: string | undefined;
  return {
    /** Takes a record and its sort value; gives back the record to yield now, if any. */
    push(record: Rec, cursor: string | undefined): Rec | null {
      if (cursor !== undefined) {
        if (last !== undefined && compareCursors(cursor, last) < 0) order(cursor, last);
        last = cursor;
      }
      const out = held;
      if (out?.cursor !== undefined && cursor !== undefined && compareCursors(out.cursor, cursor) < 0)
        out.record.cursor = out.cursor;
      held = { record, cursor };
      return out?.record ?? null;
    },
    /** The last record; with the greatest value as its cursor when the source was read to its end. */
    finish(complete: boolean): Rec | null {
      if (held && complete && last !== undefined) held.record.cursor = last;
      return held?.record ?? null;
    },
  };
}
