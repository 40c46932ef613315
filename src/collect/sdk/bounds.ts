import { parseDateTime } from "../../domain/rules.js";
import type { CollectContext, RejectedRecord } from "../types.js";
import { showValue } from "../values.js";

// Where a run starts and what a backfill keeps: one behaviour for every collector.

const DAY_MS = 86_400_000;
/** The first run's reach when `since` is not configured. */
export const DEFAULT_SINCE_DAYS = 365;

/** The committed cursor cannot be read: the run fails at once (collecting from `since` again could hide it). */
export class CursorError extends Error {
  override name = "CursorError";
  constructor(cursor: string, expected: string) {
    super(`the committed cursor ${showValue(cursor)} is not ${expected}; reset it or fix the collector`);
  }
}

/** An ISO-8601 instant cursor (the common case). */
export function instantCursor(c: string): Date {
  const d = parseDateTime(c.trim());
  if (!d) throw new CursorError(c, "an ISO-8601 instant");
  return d;
}

/** A Unix epoch seconds cursor (incremental exports). */
export function epochSecondsCursor(c: string): Date {
  if (!/^\d+$/.test(c.trim())) throw new CursorError(c, "a Unix epoch time in seconds");
  return new Date(Number(c.trim()) * 1000);
}

export interface StartBound {
  /** The earliest instant this run must read; null: the whole history (a backfill without `from`). */
  from: Date | null;
  /** The committed cursor, read; null on a first run and in a backfill. */
  committed: Date | null;
}

/**
 * Where a run starts: a backfill's `from`, else the committed cursor (read by `parse`; CursorError when
 * it cannot be), else the `since` option, else DEFAULT_SINCE_DAYS before the run.
 */
export function startBound(
  ctx: Pick<CollectContext<{ since?: Date }>, "range" | "cursor" | "now" | "options">,
  parse: (cursor: string) => Date = instantCursor,
): StartBound {
  if (ctx.range) return { from: ctx.range.from, committed: null };
  if (ctx.cursor !== null) {
    const committed = parse(ctx.cursor);
    return { from: committed, committed };
  }
  return {
    from: ctx.options.since ?? new Date(ctx.now.getTime() - DEFAULT_SINCE_DAYS * DAY_MS),
    committed: null,
  };
}

/** Whether an instant is in a backfill's [from, to) (always, outside a backfill). */
export function inRange(range: CollectContext<unknown>["range"], at: Date): boolean {
  return !range || ((!range.from || at >= range.from) && (!range.to || at < range.to));
}

/** A rejection that names the record (label) and carries its id and cursor only when it has them. */
export function rejection(reason: string, externalId?: string | null, cursor?: string): RejectedRecord {
  return {
    kind: "rejected",
    reason,
    ...(externalId ? { externalId } : {}),
    ...(cursor !== undefined ? { cursor } : {}),
  };
}
