import {
  type Checkpoint,
  type CollectContext,
  defineCollector,
  instantCursor,
  type ObservationRecord,
} from "../../src/collect/sdk/index.js";
import { type DemoGranularity, demoBucketStart, generateDemoSeries } from "./generator.js";
import { type DemoOptions, demoIdPrefix, demoOptionsSchema } from "./options.js";

// The bundled demo's source: a reproducible synthetic history (generator.ts), from `since` up
// to the run's "now". Every day (and bucket) has its own seeded random streams, so re-generating an
// overlapping range gives the same externalIds, timestamps and values: resuming with overlap is harmless.
//
// Cursor: an ISO date-time C meaning "everything observed before C has been yielded". Checkpoints are
// yielded at each UTC day start (event granularity) or bucket start (day/week) as the data passes it, and
// at the end: `to` for events, the start of the bucket still in progress for day/week (a bucket is only
// generated once complete, so the next run picks it up).

/** Where checkpoints go: day starts for events, bucket starts for buckets. */
const stepOf = (g: DemoGranularity): DemoGranularity => (g === "event" ? "day" : g);

/** First instant of this run: `since`, or the start of the cursor's day/bucket (never before `since`). */
export function demoResumeFrom(o: DemoOptions, cursor: string | null): Date {
  if (cursor === null) return o.since;
  const start = demoBucketStart(instantCursor(cursor), stepOf(o.granularity));
  return start.getTime() > o.since.getTime() ? start : o.since;
}

async function* collect(ctx: CollectContext<DemoOptions>): AsyncGenerator<ObservationRecord | Checkpoint> {
  const o = ctx.options;
  const from = ctx.range?.from ?? demoResumeFrom(o, ctx.cursor);
  const to = ctx.range?.to ?? ctx.now;
  if (from.getTime() >= to.getTime()) return;

  // Options and series share their names; `since` is not the series' (the run's range is).
  const series = generateDemoSeries({ ...o, from, to, idPrefix: demoIdPrefix(o) });
  const step = stepOf(o.granularity);
  let mark = from.getTime();
  for (const ob of series) {
    const start = demoBucketStart(ob.observedAt, step).getTime();
    if (start > mark) {
      // Everything before this day/bucket has been yielded (the series is in time order).
      ctx.signal.throwIfAborted();
      yield { kind: "checkpoint", cursor: new Date(start).toISOString() };
      mark = start;
    }
    const { externalId, observedAt, value, weight, dimensions } = ob;
    yield { externalId, observedAt, value, weight, ...(dimensions ? { dimensions } : {}) };
  }
  const end =
    o.granularity === "event" ? to.getTime() : Math.max(from.getTime(), demoBucketStart(to, step).getTime());
  if (end > mark) yield { kind: "checkpoint", cursor: new Date(end).toISOString() };
}

export const demoCollector = defineCollector({
  type: "demo",
  description:
    "Generates the bundled demo's reproducible synthetic history, from since up to the time of the run.",
  options: demoOptionsSchema,
  collect,
});
