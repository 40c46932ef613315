import type { Checkpoint, CollectContext, ObservationRecord } from "../../src/collect/types.js";
import { defineCollector } from "../../src/collect/types.js";
import { parseDateTime } from "../../src/domain/rules.js";
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
  const c = parseDateTime(cursor);
  if (!c) throw new Error(`demo: the committed cursor ${JSON.stringify(cursor)} is not an ISO date-time`);
  const start = demoBucketStart(c, stepOf(o.granularity));
  return start.getTime() > o.since.getTime() ? start : o.since;
}

async function* collect(ctx: CollectContext<DemoOptions>): AsyncGenerator<ObservationRecord | Checkpoint> {
  const o = ctx.options;
  const from = ctx.range?.from ?? demoResumeFrom(o, ctx.cursor);
  const to = ctx.range?.to ?? ctx.now;
  if (from.getTime() >= to.getTime()) return;

  const series = generateDemoSeries({
    seed: o.seed,
    from,
    to,
    goLiveAt: o.goLiveAt,
    before: o.before,
    after: o.after,
    noise: o.noise,
    eventsPerDay: o.eventsPerDay,
    rampDays: o.rampDays,
    weight: o.weight,
    granularity: o.granularity,
    dimensions: o.dimensions,
    idPrefix: demoIdPrefix(o),
  });
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
    const record: ObservationRecord = {
      externalId: ob.externalId,
      observedAt: ob.observedAt,
      value: ob.value,
      weight: ob.weight,
    };
    if (ob.dimensions) record.dimensions = ob.dimensions;
    yield record;
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
