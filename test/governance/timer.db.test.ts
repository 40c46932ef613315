import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { subscribe } from "../helpers/subscriber.js";
import { gqlAs, startOn } from "./helpers.js";

// The evaluation timer itself (not a direct call): STALE fires when only the clock moves. And rules and
// events of other projects stay hidden from a key scoped to one project.

const DAY = 86_400_000;
const T0 = Math.floor(Date.now() / DAY) * DAY;
let clock = new Date(T0);
const iso = (d: number) => new Date(T0 + d * DAY).toISOString();
const CONFIG = `
metrics:
  - { key: s.time, name: Time, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: quiet, name: Quiet, kpis: [{ metric: s.time }] }
  - { slug: other, name: Other, kpis: [{ metric: s.time }] }
alerts:
  - { name: quiet-stale, kind: STALE, projectSlug: quiet, days: 2 }
  - { name: other-stale, kind: STALE, projectSlug: other, days: 2 }
`;

let db: TestDatabase;
let app: Awaited<ReturnType<typeof startOn>>;
beforeAll(async () => {
  db = await createTestDatabase();
  // The timer runs every 50 ms here (every minute by default).
  app = await startOn(db.url, CONFIG, { now: () => clock, evaluateEveryMs: 50 });
});
afterAll(async () => {
  await app?.stop();
  await db?.drop();
});

describe("the evaluation timer", () => {
  it("fires STALE for both KPIs once the clock passes `days`, with nothing written", async () => {
    const r = await app.gql(
      `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`,
      {
        in: ["quiet", "other"].map((projectSlug) => ({
          projectSlug,
          metricKey: "s.time",
          observedAt: iso(0),
          value: 1,
        })),
      },
    );
    expect(r.errors).toBeUndefined();
    const sub = await subscribe(app.url, `subscription { alertFired { rule kind projectSlug } }`);
    clock = new Date(T0 + 3 * DAY);
    const events = await sub.waitFor(2, 10_000);
    await sub.stop();
    expect(events.map((e) => e.data.alertFired.rule).sort()).toEqual(["other-stale", "quiet-stale"]);
  });

  it("a key scoped to one project sees only that project's rules and events", async () => {
    const scoped = { actor: "quiet-key", role: "reader" as const, projects: ["quiet"] };
    const r = await gqlAs(app, scoped, `{ alerts { name } alertEvents { rule } }`);
    expect(r.errors).toBeUndefined();
    expect(r.data.alerts).toEqual([{ name: "quiet-stale" }]);
    expect(r.data.alertEvents).toEqual([{ rule: "quiet-stale" }]);
    const w = await gqlAs(
      app,
      scoped,
      `mutation { defineAlert(input: { name: "x", kind: STALE, projectSlug: "quiet" }) { name } }`,
    );
    expect(w.errors?.[0].extensions.code).toBe("FORBIDDEN");
  });
});
