import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ObservationRecord, SourceRecord } from "../../src/collect/types.js";
import { drive, lastCursor, parseExample } from "../../test/helpers/drive-collector.js";
import { generateDemoSeries } from "./generator.js";
import { demoCollector } from "./index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const d = (iso: string) => new Date(iso);

const base = {
  seed: "helpdesk",
  goLiveAt: "2025-02-01T00:00:00Z",
  since: "2025-01-01T00:00:00Z", // a Wednesday
  before: 11,
  after: 1,
  noise: 0.45,
  rampDays: 14,
  eventsPerDay: 40,
};
const X = d("2025-03-12T15:30:00Z"); // a Wednesday, mid-afternoon
const Y = d("2025-04-02T09:00:00Z");

const observations = (rs: SourceRecord[]) => rs.filter((r): r is ObservationRecord => r.kind === undefined);
const checkpoints = (rs: SourceRecord[]) => rs.filter((r) => r.kind === "checkpoint").map((r) => r.cursor!);
const byId = (rs: SourceRecord[]) => new Map(observations(rs).map((o) => [o.externalId, o]));
const json = (o: ObservationRecord) => JSON.stringify(o);

describe("demo options", () => {
  it("applies the defaults and refuses unknown options", () => {
    const o = demoCollector.options.parse({
      seed: "s",
      goLiveAt: base.goLiveAt,
      since: base.since,
      before: 2,
      after: 1,
    });
    expect([o.noise, o.eventsPerDay, o.granularity, o.idPrefix]).toEqual([0.3, 20, "event", undefined]);
    expect(demoCollector.options.safeParse({ ...base, to: "2025-05-01T00:00:00Z" }).success).toBe(false);
    expect(demoCollector.options.safeParse({ ...base, idPrefix: "" }).success).toBe(false);
  });

  it("accepts its example.yaml", () => {
    const [o] = parseExample(demoCollector, path.join(here, "example.yaml"));
    expect(o!.granularity).toBe("day");
  });
});

describe("demo collector", () => {
  it("is deterministic and gives exactly what the generator gives, ids prefixed demo-<seed>", async () => {
    const a = await drive(demoCollector, base, { now: X });
    const b = await drive(demoCollector, base, { now: X });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const direct = [
      ...generateDemoSeries({
        ...base,
        goLiveAt: d(base.goLiveAt),
        from: d(base.since),
        to: X,
        idPrefix: "demo-helpdesk",
      }),
    ];
    expect(direct.length).toBeGreaterThan(1500);
    expect(observations(a).map(json)).toEqual(direct.map((o) => json({ ...o })));
    expect(observations(a).every((o) => /^demo-helpdesk-\d{8}-\d+$/.test(o.externalId))).toBe(true);
    const custom = await drive(
      demoCollector,
      { ...base, idPrefix: "demo-hd" },
      { now: d("2025-01-03T00:00:00Z") },
    );
    expect(observations(custom)[0]!.externalId).toMatch(/^demo-hd-20250101-0$/);
  });

  it("makes values the options say: without noise, exactly before, then after (checked by hand)", async () => {
    const flat = { ...base, noise: 0, rampDays: 0, goLiveAt: "2025-01-15T12:00:00Z" };
    const to = d("2025-02-01T00:00:00Z");
    const events = observations(await drive(demoCollector, flat, { now: to }));
    for (const e of events) {
      expect(e.value).toBe(e.observedAt < d(flat.goLiveAt) ? 11 : 1);
      expect(e.weight).toBe(1);
      expect(e.observedAt >= d(base.since) && e.observedAt < to).toBe(true);
    }
    // Day buckets: one per day, weight = that day's events (counted here from the events); the go-live
    // day is split at noon into a part observed at midnight (11) and an -after part observed at go-live (1).
    const days = observations(await drive(demoCollector, { ...flat, granularity: "day" }, { now: to }));
    const counted = new Map<string, { before: number; after: number }>();
    for (const e of events) {
      const day = e.observedAt.toISOString().slice(0, 10).replaceAll("-", "");
      const c = counted.get(day) ?? { before: 0, after: 0 };
      if (e.observedAt < d(flat.goLiveAt)) c.before++;
      else c.after++;
      counted.set(day, c);
    }
    const expected: string[] = [];
    for (const [day, c] of counted) {
      const at = `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}T00:00:00.000Z`;
      if (c.before) expected.push(`demo-helpdesk-d${day} ${at} ${11} ${c.before}`);
      if (c.after) {
        const split = day === "20250115";
        expected.push(
          `demo-helpdesk-d${day}${split ? "-after" : ""} ${split ? "2025-01-15T12:00:00.000Z" : at} 1 ${c.after}`,
        );
      }
    }
    expect(days.map((o) => `${o.externalId} ${o.observedAt.toISOString()} ${o.value} ${o.weight}`)).toEqual(
      expected,
    );
  });

  it.each(["event", "day", "week"] as const)(
    "%s: a second run from the committed cursor continues without gaps or duplicates",
    async (granularity) => {
      const options = { ...base, granularity };
      const first = await drive(demoCollector, options, { now: X });
      const cursor = lastCursor(first);
      expect(cursor).toBe(
        { event: X.toISOString(), day: "2025-03-12T00:00:00.000Z", week: "2025-03-10T00:00:00.000Z" }[
          granularity
        ],
      );
      const second = await drive(demoCollector, options, { now: Y, cursor });
      const single = await drive(demoCollector, options, { now: Y });

      const a = byId(first);
      const b = byId(second);
      const all = byId(single);
      expect(new Set([...a.keys(), ...b.keys()])).toEqual(new Set(all.keys()));
      // Re-collected (overlap) observations are identical; every observation is the single run's.
      const overlap = [...a.keys()].filter((id) => b.has(id));
      for (const id of overlap) expect(json(b.get(id)!)).toBe(json(a.get(id)!));
      for (const [id, o] of [...a, ...b]) expect(json(o)).toBe(json(all.get(id)!));
      // Events resume from the start of the cursor's day (overlap); buckets from the open bucket (none).
      if (granularity === "event") expect(overlap.length).toBeGreaterThan(0);
      else expect(overlap).toEqual([]);
      expect(all.size).toBeGreaterThan(granularity === "week" ? 10 : 80);
    },
  );

  it.each(["event", "day", "week"] as const)(
    "%s: a run that stops after any checkpoint resumes from it without gaps",
    async (granularity) => {
      const options = { ...base, granularity, goLiveAt: "2025-02-05T10:00:00Z" };
      const single = await drive(demoCollector, options, { now: Y });
      const all = byId(single);
      const marks = checkpoints(single);
      expect(marks.length).toBeGreaterThan(5);
      expect([...marks].sort()).toEqual(marks); // non-decreasing
      expect(marks.every((c) => d(c) <= Y)).toBe(true);
      // The runner commits the cursor of the last record of a batch: cut after a few of the checkpoints.
      const cuts = single
        .flatMap((r, i) => (r.kind === "checkpoint" ? [i] : []))
        .filter((_, k) => k % 7 === 3);
      for (const cut of cuts) {
        const committed = single.slice(0, cut + 1);
        const resumed = await drive(demoCollector, options, { now: Y, cursor: lastCursor(committed) });
        const got = new Map([...byId(committed), ...byId(resumed)]);
        expect(new Set(got.keys())).toEqual(new Set(all.keys()));
        for (const [id, o] of byId(resumed)) expect(json(o)).toBe(json(all.get(id)!));
      }
    },
  );

  it("honours an explicit range and gives nothing before since or for an empty span", async () => {
    const range = { from: d("2025-02-10T12:00:00Z"), to: d("2025-02-11T12:00:00Z") };
    const got = observations(await drive(demoCollector, base, { now: Y, range }));
    const expected = observations(await drive(demoCollector, base, { now: Y })).filter(
      (o) => o.observedAt >= range.from && o.observedAt < range.to,
    );
    expect(got.map(json)).toEqual(expected.map(json));
    expect(got.length).toBeGreaterThan(10);
    expect(await drive(demoCollector, { ...base, since: "2026-01-01T00:00:00Z" }, { now: Y })).toEqual([]);
    // A cursor before since (e.g. since was moved later) never reaches back past since.
    const fromCursor = observations(
      await drive(
        demoCollector,
        { ...base, since: "2025-03-01T00:00:00Z" },
        { now: d("2025-03-02T00:00:00Z"), cursor: base.since },
      ),
    );
    expect(fromCursor.every((o) => o.observedAt >= d("2025-03-01T00:00:00Z"))).toBe(true);
    expect(fromCursor.length).toBeGreaterThan(0);
  });

  it("refuses a cursor that is not a date-time", async () => {
    await expect(drive(demoCollector, base, { now: Y, cursor: "page-7" })).rejects.toThrow(/cursor "page-7"/);
  });
});
