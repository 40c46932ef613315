import { z } from "zod";

// Options of a `demo` collector instance (see the bundled uplift.demo.yaml). The history runs from
// `since` to the time of collection; `to` is never configured, so the demo keeps growing while it runs.
export const demoOptionsSchema = z.strictObject({
  seed: z.string().min(1),
  goLiveAt: z.coerce.date(),
  since: z.coerce.date(),
  before: z.number(),
  after: z.number(),
  noise: z.number().min(0).default(0.3),
  eventsPerDay: z.number().min(0).max(1_000_000).default(20),
  rampDays: z.number().min(0).optional(),
  weight: z.number().positive().max(1e9).optional(),
  granularity: z.enum(["event", "day", "week"]).default("event"),
  dimensions: z.record(z.string(), z.string()).optional(),
  /** externalId prefix (`<idPrefix>-<yyyymmdd>-<n>` …); default `demo-<seed>`. Keep it unique per project × metric. */
  idPrefix: z.string().min(1).optional(),
});

/** The externalId prefix of a demo instance: the same for the start-up seeding and the `demo` collector. */
export function demoIdPrefix(o: Pick<DemoOptions, "seed" | "idPrefix">): string {
  return o.idPrefix ?? `demo-${o.seed}`;
}

export type DemoOptions = z.infer<typeof demoOptionsSchema>;
