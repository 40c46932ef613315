import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type DemoObservation,
  type DemoSeriesOptions,
  demoBucketStart,
  demoSeriesOptionsSchema,
  generateDemoSeries,
  validateDemoSeriesOptions,
} from "../../collectors/demo/generator.js";

const DAY = 86_400_000;
const d = (iso: string) => new Date(iso);

const base: DemoSeriesOptions = {
  seed: "helpdesk-resolution",
  from: d("2024-09-01T00:00:00Z"),
  to: d("2025-09-01T00:00:00Z"),
  goLiveAt: d("2025-03-01T00:00:00Z"),
  before: 11,
  after: 1,
  noise: 0.35,
  eventsPerDay: 40,
};

const gen = (overrides: Partial<DemoSeriesOptions> = {}): DemoObservation[] => [
  ...generateDemoSeries({ ...base, ...overrides }),
];

const dayKey = (o: DemoObservation) => o.observedAt.toISOString().slice(0, 10);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("generateDemoSeries: determinism", () => {
  it("gives byte-identical output for the same options", () => {
    const a = gen({ from: d("2025-01-01T00:00:00Z"), to: d("2025-04-01T00:00:00Z"), rampDays: 10 });
    const b = gen({ from: d("2025-01-01T00:00:00Z"), to: d("2025-04-01T00:00:00Z"), rampDays: 10 });
    expect(a.length).toBeGreaterThan(1000);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(b).toEqual(a);
  });

  it("gives different series for different seeds", () => {
    const range = { from: d("2025-01-06T00:00:00Z"), to: d("2025-01-20T00:00:00Z") };
    const a = gen({ ...range, seed: "one" });
    const b = gen({ ...range, seed: "two" });
    expect(a.map((o) => o.externalId)).not.toEqual(b.map((o) => o.externalId));
    expect(a.map((o) => o.value)).not.toEqual(b.map((o) => o.value));
    expect(a.map((o) => o.observedAt.getTime())).not.toEqual(b.map((o) => o.observedAt.getTime()));
  });

  it("uses neither Math.random nor Date.now", () => {
    vi.spyOn(Math, "random").mockImplementation(() => {
      throw new Error("Math.random called");
    });
    vi.spyOn(Date, "now").mockImplementation(() => {
      throw new Error("Date.now called");
    });
    const range = { from: d("2025-02-20T00:00:00Z"), to: d("2025-03-20T00:00:00Z"), rampDays: 3 };
    expect(gen(range).length).toBeGreaterThan(100);
    expect(gen({ ...range, granularity: "week" }).length).toBeGreaterThan(0);
    expect(gen({ ...range, granularity: "day" }).length).toBeGreaterThan(0);
  });
});

describe("generateDemoSeries: stable externalIds", () => {
  it("gives the same events for a day whatever overlapping range is generated", () => {
    const d0 = d("2025-02-24T00:00:00Z").getTime();
    const first = gen({ from: new Date(d0), to: new Date(d0 + 10 * DAY), rampDays: 7 });
    const second = gen({ from: new Date(d0 + 5 * DAY), to: new Date(d0 + 20 * DAY), rampDays: 7 });
    const overlap = (o: DemoObservation) => o.observedAt.getTime() >= d0 + 5 * DAY;
    const a = first.filter(overlap);
    const b = second.filter((o) => o.observedAt.getTime() < d0 + 10 * DAY);
    expect(a.length).toBeGreaterThan(100);
    expect(b).toEqual(a);
  });

  it("regenerates identical earlier events when `to` moves forward, even mid-day", () => {
    const from = d("2025-03-10T00:00:00Z");
    const cut = d("2025-03-12T13:17:42Z");
    const early = gen({ from, to: cut });
    const late = gen({ from, to: d("2025-03-14T00:00:00Z") });
    expect(late.slice(0, early.length)).toEqual(early);
    // The rest of the cut day continues with the next event numbers of that day.
    const rest = gen({ from: cut, to: d("2025-03-14T00:00:00Z") });
    expect([...early, ...rest]).toEqual(late);
  });

  it("derives ids from the prefix, the day and the event's position in that day", () => {
    const obs = gen({ from: d("2025-03-03T00:00:00Z"), to: d("2025-03-04T00:00:00Z"), idPrefix: "hd" });
    expect(obs.length).toBeGreaterThan(10);
    obs.forEach((o, i) => {
      expect(o.externalId).toBe(`hd-20250303-${i}`);
    });
    const byDefault = gen({ from: d("2025-03-03T00:00:00Z"), to: d("2025-03-04T00:00:00Z") });
    expect(byDefault[0]!.externalId).toMatch(/^demo-[0-9a-z]+-20250303-0$/);
  });

  it("never repeats an externalId over a year", () => {
    const obs = gen();
    expect(obs.length).toBeGreaterThan(10_000);
    const ids = new Set<string>();
    for (const o of obs) ids.add(o.externalId);
    expect(ids.size).toBe(obs.length);
    const weeks = gen({ granularity: "week", goLiveAt: d("2025-03-05T12:00:00Z") });
    expect(new Set(weeks.map((o) => o.externalId)).size).toBe(weeks.length);
  });
});

describe("generateDemoSeries: values", () => {
  it("converges to `before` and, after the ramp, to `after` (11 → 1 at 40 events/day)", () => {
    const rampDays = 14;
    const obs = gen({ rampDays });
    const goLive = base.goLiveAt.getTime();
    let sumBefore = 0;
    let nBefore = 0;
    let sumAfter = 0;
    let nAfter = 0;
    for (const o of obs) {
      const t = o.observedAt.getTime();
      if (t < goLive) {
        sumBefore += o.value;
        nBefore++;
      } else if (t >= goLive + rampDays * DAY) {
        sumAfter += o.value;
        nAfter++;
      }
    }
    expect(nBefore).toBeGreaterThan(3000);
    expect(nAfter).toBeGreaterThan(3000);
    expect(Math.abs(sumBefore / nBefore - 11) / 11).toBeLessThan(0.03);
    expect(Math.abs(sumAfter / nAfter - 1) / 1).toBeLessThan(0.03);
  });

  it("has the requested coefficient of variation and only positive values", () => {
    const obs = gen({ to: base.goLiveAt, noise: 0.5 });
    let sum = 0;
    for (const o of obs) {
      expect(o.value).toBeGreaterThan(0);
      sum += o.value;
    }
    const mean = sum / obs.length;
    let ss = 0;
    for (const o of obs) ss += (o.value - mean) ** 2;
    const cv = Math.sqrt(ss / (obs.length - 1)) / mean;
    expect(cv).toBeGreaterThan(0.42);
    expect(cv).toBeLessThan(0.58);
  });

  it("ramps linearly from before to after", () => {
    const obs = gen({ from: base.goLiveAt, to: d("2025-03-31T00:00:00Z"), rampDays: 20, noise: 0 });
    for (const o of obs) {
      const days = (o.observedAt.getTime() - base.goLiveAt.getTime()) / DAY;
      const expected = days >= 20 ? 1 : 11 - (10 * days) / 20;
      expect(o.value).toBeCloseTo(expected, 3);
    }
    expect(obs.some((o) => o.value > 5 && o.value < 7)).toBe(true);
  });

  it("gives exactly the means with noise 0, the change taking effect at goLiveAt", () => {
    const goLiveAt = d("2025-03-05T12:00:00Z");
    const obs = gen({ from: d("2025-03-04T00:00:00Z"), to: d("2025-03-07T00:00:00Z"), goLiveAt, noise: 0 });
    expect(obs.length).toBeGreaterThan(50);
    for (const o of obs) expect(o.value).toBe(o.observedAt < goLiveAt ? 11 : 1);
  });

  it("keeps values positive even for tiny means", () => {
    const obs = gen({ to: d("2024-10-01T00:00:00Z"), before: 0.0002, after: 0.0001, noise: 1 });
    for (const o of obs) expect(o.value).toBeGreaterThan(0);
  });
});

describe("generateDemoSeries: timing and volume", () => {
  it("emits nothing before `from` or at/after `to`, in time order, on whole seconds", () => {
    const from = d("2025-01-07T10:30:00.500Z");
    const to = d("2025-02-11T14:45:10Z");
    const obs = gen({ from, to });
    expect(obs.length).toBeGreaterThan(500);
    let last = -Infinity;
    for (const o of obs) {
      const t = o.observedAt.getTime();
      expect(t).toBeGreaterThanOrEqual(from.getTime());
      expect(t).toBeLessThan(to.getTime());
      expect(t % 1000).toBe(0);
      expect(t).toBeGreaterThanOrEqual(last);
      last = t;
    }
    for (const granularity of ["day", "week"] as const) {
      for (const o of gen({ from, to, granularity })) {
        expect(o.observedAt.getTime()).toBeGreaterThanOrEqual(from.getTime());
        expect(o.observedAt.getTime()).toBeLessThan(to.getTime());
      }
    }
  });

  it("puts most events in UTC working hours (08:00-18:00)", () => {
    const obs = gen({ to: d("2024-12-01T00:00:00Z") });
    let working = 0;
    for (const o of obs) {
      const h = o.observedAt.getUTCHours();
      if (h >= 8 && h < 18) working++;
    }
    expect(working / obs.length).toBeGreaterThan(0.85);
    expect(working).toBeLessThan(obs.length); // some off-hours events too
  });

  it("has Poisson-like daily counts around eventsPerDay on weekdays and fewer at weekends", () => {
    const obs = gen();
    const perDay = new Map<string, number>();
    for (let t = base.from.getTime(); t < base.to.getTime(); t += DAY) {
      perDay.set(new Date(t).toISOString().slice(0, 10), 0);
    }
    for (const o of obs) perDay.set(dayKey(o), perDay.get(dayKey(o))! + 1);
    const weekday: number[] = [];
    const weekend: number[] = [];
    for (const [day, n] of perDay) {
      const dow = new Date(`${day}T00:00:00Z`).getUTCDay();
      (dow === 0 || dow === 6 ? weekend : weekday).push(n);
    }
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const mWeekday = mean(weekday);
    const mWeekend = mean(weekend);
    expect(Math.abs(mWeekday - 40) / 40).toBeLessThan(0.05);
    expect(mWeekend).toBeLessThan(0.5 * mWeekday);
    expect(mWeekend).toBeGreaterThan(0.1 * mWeekday);
    const variance = weekday.reduce((s, x) => s + (x - mWeekday) ** 2, 0) / (weekday.length - 1);
    expect(variance / mWeekday).toBeGreaterThan(0.6);
    expect(variance / mWeekday).toBeLessThan(2);
    expect(new Set(weekday).size).toBeGreaterThan(10); // counts vary from day to day
  });

  it("generates nothing with eventsPerDay 0", () => {
    expect(gen({ eventsPerDay: 0 })).toEqual([]);
    expect(gen({ eventsPerDay: 0, granularity: "week" })).toEqual([]);
  });
});

describe("generateDemoSeries: weights, dimensions and buckets", () => {
  it("applies weight and copies dimensions to every observation", () => {
    const dims = { team: "emea" };
    const obs = gen({ to: d("2024-09-08T00:00:00Z"), weight: 250, dimensions: dims });
    expect(obs.length).toBeGreaterThan(10);
    for (const o of obs) {
      expect(o.weight).toBe(250);
      expect(o.dimensions).toEqual({ team: "emea" });
    }
    obs[0]!.dimensions!.team = "changed";
    expect(obs[1]!.dimensions).toEqual({ team: "emea" });
    expect(dims.team).toBe("emea");
    expect(gen({ to: d("2024-09-03T00:00:00Z") })[0]).not.toHaveProperty("dimensions");
  });

  it("week granularity: one Monday-00:00Z observation per week, weight = its events, value = their mean", () => {
    const opts: Partial<DemoSeriesOptions> = {
      from: d("2025-01-01T00:00:00Z"), // a Wednesday: the partial first week is left out
      to: d("2025-06-02T00:00:00Z"), // a Monday: the last week is complete
      goLiveAt: d("2025-03-03T00:00:00Z"), // a Monday
      before: 10,
      after: 13,
      noise: 0.3,
      eventsPerDay: 3,
    };
    const weeks = gen({ ...opts, granularity: "week", idPrefix: "prs" });
    const events = gen({ ...opts, idPrefix: "prs" });
    const byWeek = new Map<number, number[]>();
    for (const e of events) {
      const t = e.observedAt.getTime();
      const dow = (e.observedAt.getUTCDay() + 6) % 7;
      const monday = Math.floor(t / DAY) * DAY - dow * DAY;
      if (!byWeek.has(monday)) byWeek.set(monday, []);
      byWeek.get(monday)!.push(e.value);
    }
    expect(weeks.length).toBe(21); // Mondays 2025-01-06 … 2025-05-26
    expect(weeks[0]!.observedAt.toISOString()).toBe("2025-01-06T00:00:00.000Z");
    expect(weeks[0]!.externalId).toBe("prs-w20250106");
    for (const w of weeks) {
      const t = w.observedAt.getTime();
      expect(w.observedAt.getUTCDay()).toBe(1);
      expect(t % DAY).toBe(0);
      const values = byWeek.get(t)!;
      expect(w.weight).toBe(values.length);
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      expect(Math.abs(w.value - mean)).toBeLessThan(0.002);
    }
    const weighted = (xs: DemoObservation[]) =>
      xs.reduce((s, o) => s + o.value * o.weight, 0) / xs.reduce((s, o) => s + o.weight, 0);
    const goLive = d("2025-03-03T00:00:00Z");
    expect(weighted(weeks.filter((w) => w.observedAt < goLive))).toBeCloseTo(10, 0);
    expect(weighted(weeks.filter((w) => w.observedAt >= goLive))).toBeCloseTo(13, 0);
  });

  it("day granularity: one midnight observation per day, weight = its events times `weight`", () => {
    const opts: Partial<DemoSeriesOptions> = {
      from: d("2025-01-01T00:00:00Z"),
      to: d("2025-01-15T00:00:00Z"),
    };
    const days = gen({ ...opts, granularity: "day", weight: 2, idPrefix: "x" });
    const events = gen({ ...opts, idPrefix: "x" });
    expect(days.length).toBe(14);
    for (const day of days) {
      expect(day.observedAt.getTime() % DAY).toBe(0);
      expect(day.externalId).toBe(`x-d${dayKey(day).replaceAll("-", "")}`);
      expect(day.weight).toBe(2 * events.filter((e) => dayKey(e) === dayKey(day)).length);
    }
  });

  it("splits a bucket that straddles go-live so no observation mixes BEFORE and AFTER", () => {
    const goLiveAt = d("2025-03-05T12:00:00Z"); // a Wednesday
    const opts: Partial<DemoSeriesOptions> = {
      from: d("2025-03-03T00:00:00Z"),
      to: d("2025-03-10T00:00:00Z"),
      goLiveAt,
      noise: 0,
      idPrefix: "s",
    };
    const weeks = gen({ ...opts, granularity: "week" });
    const events = gen(opts);
    expect(weeks.map((w) => [w.externalId, w.observedAt.toISOString(), w.value])).toEqual([
      ["s-w20250303", "2025-03-03T00:00:00.000Z", 11],
      ["s-w20250303-after", "2025-03-05T12:00:00.000Z", 1],
    ]);
    expect(weeks[0]!.weight + weeks[1]!.weight).toBe(events.length);
    expect(weeks[0]!.weight).toBe(events.filter((e) => e.observedAt < goLiveAt).length);
  });

  it("emits only complete buckets; resuming from demoBucketStart(to) leaves no gap", () => {
    const from = d("2025-01-06T00:00:00Z");
    const cut = d("2025-02-05T15:00:00Z"); // mid-week
    const end = d("2025-03-03T00:00:00Z");
    const all = gen({ from, to: end, granularity: "week" });
    const first = gen({ from, to: cut, granularity: "week" });
    const resume = demoBucketStart(cut, "week");
    expect(resume.toISOString()).toBe("2025-02-03T00:00:00.000Z");
    const second = gen({ from: resume, to: end, granularity: "week" });
    expect([...first, ...second]).toEqual(all);
    expect(demoBucketStart(cut, "day").toISOString()).toBe("2025-02-05T00:00:00.000Z");
    expect(demoBucketStart(cut).toISOString()).toBe(cut.toISOString());
  });
});

describe("option validation", () => {
  const bad = (overrides: Record<string, unknown>) => () =>
    generateDemoSeries({ ...base, ...overrides } as DemoSeriesOptions);

  it("throws at call time with messages naming the option", () => {
    expect(bad({ to: base.from })).toThrow(/to: must be after from/);
    expect(bad({ to: d("2020-01-01T00:00:00Z") })).toThrow(/to: must be after from/);
    expect(bad({ before: 0 })).toThrow(/before: must be greater than 0 when noise > 0/);
    expect(bad({ after: -1 })).toThrow(/after: must be greater than 0 when noise > 0/);
    expect(bad({ eventsPerDay: -1 })).toThrow(/eventsPerDay: must be/);
    expect(bad({ eventsPerDay: Number.NaN })).toThrow(/eventsPerDay/);
    expect(bad({ noise: -0.1 })).toThrow(/noise: must be/);
    expect(bad({ from: new Date("nope") })).toThrow(/from: must be a valid Date/);
    expect(bad({ goLiveAt: "2025-03-01" })).toThrow(/goLiveAt: must be a valid Date/);
    expect(bad({ rampDays: -2 })).toThrow(/rampDays/);
    expect(bad({ weight: 0 })).toThrow(/weight: must be/);
    expect(bad({ granularity: "month" })).toThrow(/granularity: must be one of/);
    expect(bad({ idPrefix: "" })).toThrow(/idPrefix/);
    expect(bad({ dimensions: { team: 1 } })).toThrow(/dimensions\.team: must be a string/);
    expect(bad({ before: Number.POSITIVE_INFINITY })).toThrow(/before: must be a finite number/);
    expect(() => validateDemoSeriesOptions({ ...base, before: -1, eventsPerDay: -1 })).toThrow(
      /eventsPerDay.*before|before.*eventsPerDay/,
    );
  });

  it("accepts zero or negative means when noise is 0", () => {
    const obs = gen({ to: d("2024-09-08T00:00:00Z"), noise: 0, before: 0, after: -3 });
    expect(obs.length).toBeGreaterThan(0);
    expect(obs.every((o) => o.value === 0)).toBe(true);
  });
});

describe("demoSeriesOptionsSchema", () => {
  it("accepts ISO strings or Dates and yields options the generator takes", () => {
    const parsed = demoSeriesOptionsSchema.parse({
      seed: "s",
      from: "2025-01-01T00:00:00Z",
      to: d("2025-02-01T00:00:00Z"),
      goLiveAt: "2025-01-15T00:00:00+01:00",
      before: 10,
      after: 13,
      noise: 0.2,
      eventsPerDay: 5,
      granularity: "week",
      dimensions: { team: "emea" },
    });
    const opts: DemoSeriesOptions = parsed;
    expect(opts.from).toEqual(d("2025-01-01T00:00:00Z"));
    expect(opts.goLiveAt).toEqual(d("2025-01-14T23:00:00Z"));
    expect([...generateDemoSeries(opts)].length).toBeGreaterThan(0);
  });

  it("refuses unknown keys, bad values and inconsistent options, naming the path", () => {
    const ok = { ...base, from: "2025-01-01T00:00:00Z", to: "2025-02-01T00:00:00Z" };
    const paths = (input: unknown) => {
      const r = demoSeriesOptionsSchema.safeParse(input);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}:${i.code}`);
    };
    expect(paths(ok)).toEqual([]);
    expect(paths({ ...ok, extra: 1 })).toEqual([":unrecognized_keys"]);
    expect(paths({ ...ok, from: "not a date" })).toEqual(["from:invalid_type"]);
    expect(paths({ ...ok, eventsPerDay: -1 })).toEqual(["eventsPerDay:too_small"]);
    expect(paths({ ...ok, granularity: "month" })).toEqual(["granularity:invalid_value"]);
    expect(paths({ ...ok, to: "2024-01-01T00:00:00Z" })).toEqual(["to:custom"]);
    expect(paths({ ...ok, before: -1 })).toEqual(["before:custom"]);
    expect(paths({ ...ok, before: -1, noise: 0 })).toEqual([]);
    const { seed: _seed, ...noSeed } = ok;
    expect(paths(noSeed)).toEqual(["seed:invalid_type"]);
  });
});
