/**
 * Pure, database-free generator of the bundled demo's synthetic history.
 *
 * Model (all UTC):
 * - Day by day from the UTC midnight at or before `from` up to `to`. Every day has its own random
 *   streams keyed by (seed, yyyymmdd), so a day's events are the same whatever range is generated:
 *   re-collecting an overlapping range yields identical externalIds, timestamps and values.
 * - Events per day: Poisson with mean `eventsPerDay` × weekday factor (weekends 30 %) × a mild yearly
 *   seasonality (±10 %, busiest in late January, quietest in late July).
 * - Event times: 90 % uniform over working hours 08:00–18:00, 10 % uniform over the whole day; whole
 *   seconds. Events are numbered 0, 1, … in time order within their day.
 * - Event values: lognormal whose MEAN is the regime mean at that instant (`before` before `goLiveAt`,
 *   then a linear ramp over `rampDays`, then `after`) and whose coefficient of variation is `noise`;
 *   rounded to 3 decimals (a positive value never rounds to 0). Seasonality affects volume only, so
 *   means stay exactly `before`/`after`.
 * - Granularity "day"/"week": one observation per complete bucket lying wholly inside [from, to)
 *   (a bucket still in progress at `to` is left for a later run: resume from `demoBucketStart(to)`),
 *   observed at the bucket start (UTC midnight / Monday 00:00Z), value = mean of the bucket's events,
 *   weight = number of events × `weight`. A bucket that straddles `goLiveAt` is split so no observation
 *   mixes BEFORE and AFTER events: the part before go-live is observed at the bucket start, the part
 *   from go-live on is observed at `goLiveAt` with the id suffix `-after`. Empty buckets give nothing.
 *
 * externalIds: `${prefix}-${yyyymmdd}-${n}` (event), `${prefix}-d${yyyymmdd}` (day),
 * `${prefix}-w${yyyymmdd of the Monday}` (week), plus `-after` for the go-live part of a split bucket.
 */
import { z } from "zod";
import { cyrb53, Rng } from "./random.js";

export type DemoGranularity = "event" | "day" | "week";

export interface DemoSeriesOptions {
  /** Any string; hashed to seed the per-day random streams. */
  seed: string;
  /** First instant generated (inclusive, UTC). */
  from: Date;
  /** End (exclusive). */
  to: Date;
  /** The change: before it values come from `before`, after it from `after`. */
  goLiveAt: Date;
  /** Mean value per event before go-live. */
  before: number;
  /** Mean value per event after go-live, once fully ramped. */
  after: number;
  /** Relative spread: coefficient of variation of the lognormal per-event values (0 = constant). */
  noise: number;
  /** Mean number of events per weekday (weekends get 30 % of it). */
  eventsPerDay: number;
  /** Default 0: linear ramp from `before` to `after` over these days after go-live. */
  rampDays?: number;
  /** Default 1: how many events each generated event stands for (bucket weights are multiplied by it). */
  weight?: number;
  /** Default "event". */
  granularity?: DemoGranularity;
  /** Copied to every observation (e.g. a cohort `{ team: "emea" }`). */
  dimensions?: Record<string, string>;
  /** externalId prefix; default `demo-<base36 hash of the seed>`. */
  idPrefix?: string;
}

export interface DemoObservation {
  externalId: string;
  observedAt: Date;
  value: number;
  weight: number;
  dimensions?: Record<string, string>;
}

const DAY_MS = 86_400_000;
const WEEKEND_FACTOR = 0.3;
const SEASONAL_AMPLITUDE = 0.1;
/** Day (counted from 1970-01-01) of the yearly volume peak: about 25 January. */
const SEASONAL_PEAK_DAY = 24;
const TROPICAL_YEAR_DAYS = 365.2425;
const WORK_START_S = 8 * 3600;
const WORK_SPAN_S = 10 * 3600;
const OFF_HOURS_SHARE = 0.1;
const MAX_EVENTS_PER_DAY = 1_000_000;
const MAX_WEIGHT = 1e9;
const MAX_DIMENSION_KEYS = 32;
const MAX_DIMENSION_KEY_LENGTH = 64;
const GRANULARITIES: readonly DemoGranularity[] = ["event", "day", "week"];

interface Issue {
  path: string;
  message: string;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isValidDate = (v: unknown): v is Date => v instanceof Date && !Number.isNaN(v.getTime());

/** Checks that involve more than one option (shared by the generator and the zod schema). */
function crossFieldIssues(o: {
  from?: unknown;
  to?: unknown;
  before?: unknown;
  after?: unknown;
  noise?: unknown;
}): Issue[] {
  const issues: Issue[] = [];
  if (isValidDate(o.from) && isValidDate(o.to) && o.from.getTime() >= o.to.getTime()) {
    issues.push({
      path: "to",
      message: `must be after from (from ${o.from.toISOString()}, to ${o.to.toISOString()})`,
    });
  }
  if (isFiniteNumber(o.noise) && o.noise > 0) {
    for (const key of ["before", "after"] as const) {
      const v = o[key];
      if (isFiniteNumber(v) && v <= 0) {
        issues.push({ path: key, message: `must be greater than 0 when noise > 0 (got ${v})` });
      }
    }
  }
  return issues;
}

function optionIssues(opts: unknown): Issue[] {
  if (typeof opts !== "object" || opts === null) return [{ path: "(options)", message: "must be an object" }];
  const o = opts as Record<string, unknown>;
  const issues: Issue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });

  if (typeof o.seed !== "string") add("seed", "must be a string");
  for (const key of ["from", "to", "goLiveAt"] as const) {
    if (!isValidDate(o[key])) add(key, "must be a valid Date");
  }
  for (const key of ["before", "after"] as const) {
    if (!isFiniteNumber(o[key])) add(key, "must be a finite number");
  }
  if (!isFiniteNumber(o.noise) || o.noise < 0) add("noise", "must be a finite number ≥ 0");
  if (!isFiniteNumber(o.eventsPerDay) || o.eventsPerDay < 0 || o.eventsPerDay > MAX_EVENTS_PER_DAY) {
    add("eventsPerDay", `must be a finite number between 0 and ${MAX_EVENTS_PER_DAY}`);
  }
  if (o.rampDays !== undefined && (!isFiniteNumber(o.rampDays) || o.rampDays < 0)) {
    add("rampDays", "must be a finite number ≥ 0");
  }
  if (o.weight !== undefined && (!isFiniteNumber(o.weight) || o.weight <= 0 || o.weight > MAX_WEIGHT)) {
    add("weight", `must be a number greater than 0 and at most ${MAX_WEIGHT}`);
  }
  if (o.granularity !== undefined && !GRANULARITIES.includes(o.granularity as DemoGranularity)) {
    add("granularity", `must be one of ${GRANULARITIES.map((g) => `"${g}"`).join(", ")}`);
  }
  if (o.dimensions !== undefined) {
    if (typeof o.dimensions !== "object" || o.dimensions === null || Array.isArray(o.dimensions)) {
      add("dimensions", "must be an object of string values");
    } else {
      const entries = Object.entries(o.dimensions);
      if (entries.length > MAX_DIMENSION_KEYS) add("dimensions", `at most ${MAX_DIMENSION_KEYS} keys`);
      for (const [k, v] of entries) {
        if (k.length === 0 || k.length > MAX_DIMENSION_KEY_LENGTH) {
          add(`dimensions.${k}`, `key must have 1 to ${MAX_DIMENSION_KEY_LENGTH} characters`);
        }
        if (typeof v !== "string") add(`dimensions.${k}`, "must be a string");
      }
    }
  }
  if (o.idPrefix !== undefined && (typeof o.idPrefix !== "string" || o.idPrefix.length === 0)) {
    add("idPrefix", "must be a non-empty string");
  }
  issues.push(...crossFieldIssues(o));
  return issues;
}

/** Throws an Error naming every bad option; returns normally for valid options. */
export function validateDemoSeriesOptions(opts: DemoSeriesOptions): void {
  const issues = optionIssues(opts);
  if (issues.length > 0) {
    throw new Error(
      `Invalid demo series options: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
    );
  }
}

/**
 * zod v4 schema of DemoSeriesOptions, for configuration files: dates as ISO strings or Dates,
 * unknown keys refused, same rules as the generator's own validation.
 */
export const demoSeriesOptionsSchema = z
  .strictObject({
    seed: z.string(),
    from: z.coerce.date(),
    to: z.coerce.date(),
    goLiveAt: z.coerce.date(),
    before: z.number(),
    after: z.number(),
    noise: z.number().min(0),
    eventsPerDay: z.number().min(0).max(MAX_EVENTS_PER_DAY),
    rampDays: z.number().min(0).optional(),
    weight: z.number().positive().max(MAX_WEIGHT).optional(),
    granularity: z.enum(["event", "day", "week"]).optional(),
    dimensions: z
      .record(z.string().min(1).max(MAX_DIMENSION_KEY_LENGTH), z.string())
      .refine((d) => Object.keys(d).length <= MAX_DIMENSION_KEYS, {
        message: `at most ${MAX_DIMENSION_KEYS} keys`,
      })
      .optional(),
    idPrefix: z.string().min(1).optional(),
  })
  .superRefine((o, ctx) => {
    for (const issue of crossFieldIssues(o)) {
      ctx.addIssue({ code: "custom", path: [issue.path], message: issue.message });
    }
  });

/**
 * Start of the bucket that contains `at`: `at` itself for "event", UTC midnight for "day", Monday
 * 00:00Z for "week". A collector that resumes from `demoBucketStart(previousTo, granularity)` gets
 * every bucket exactly once (buckets are emitted only once complete).
 */
export function demoBucketStart(at: Date, granularity: DemoGranularity = "event"): Date {
  const ms = at.getTime();
  if (granularity === "event") return new Date(ms);
  if (granularity === "day") return new Date(floorDay(ms));
  return new Date(floorMonday(ms));
}

interface Resolved {
  seed: string;
  fromMs: number;
  toMs: number;
  goLiveMs: number;
  before: number;
  after: number;
  noise: number;
  eventsPerDay: number;
  rampMs: number;
  weight: number;
  granularity: DemoGranularity;
  dimensions: Record<string, string> | undefined;
  prefix: string;
}

interface DayEvent {
  n: number;
  ms: number;
  value: number;
}

function floorDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

function floorMonday(ms: number): number {
  const day = floorDay(ms);
  const dow = new Date(day).getUTCDay(); // 0 = Sunday
  return day - ((dow + 6) % 7) * DAY_MS;
}

function yyyymmdd(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll("-", "");
}

/** Rounded to 3 decimals; a non-zero value that would round to 0 keeps 3 significant digits instead. */
function round3(v: number): number {
  const r = Math.round(v * 1000) / 1000;
  if (r === 0) return v === 0 ? 0 : Number(v.toPrecision(3));
  return r;
}

/** Expected number of events on the UTC day starting at `dayMs`. */
function expectedEvents(r: Resolved, dayMs: number): number {
  const dow = new Date(dayMs).getUTCDay();
  const weekday = dow === 0 || dow === 6 ? WEEKEND_FACTOR : 1;
  const epochDay = dayMs / DAY_MS;
  const season =
    1 + SEASONAL_AMPLITUDE * Math.cos((2 * Math.PI * (epochDay - SEASONAL_PEAK_DAY)) / TROPICAL_YEAR_DAYS);
  return r.eventsPerDay * weekday * season;
}

/** Regime mean at instant `ms`: before, then a linear ramp over rampDays, then after. */
function meanAt(r: Resolved, ms: number): number {
  if (ms < r.goLiveMs) return r.before;
  if (r.rampMs > 0 && ms < r.goLiveMs + r.rampMs) {
    return r.before + ((r.after - r.before) * (ms - r.goLiveMs)) / r.rampMs;
  }
  return r.after;
}

/** All events of one UTC day, in time order, independent of the generated range. */
function dayEvents(r: Resolved, dayMs: number): DayEvent[] {
  const key = `${r.seed}\u0000${yyyymmdd(dayMs)}`;
  const count = new Rng(`${key}\u0000count`).poisson(expectedEvents(r, dayMs));
  if (count === 0) return [];
  const timeRng = new Rng(`${key}\u0000time`);
  const seconds: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const offHours = timeRng.next() < OFF_HOURS_SHARE;
    const u = timeRng.next();
    seconds[i] = offHours ? Math.floor(u * 86_400) : WORK_START_S + Math.floor(u * WORK_SPAN_S);
  }
  seconds.sort((a, b) => a - b);
  const valueRng = new Rng(`${key}\u0000value`);
  const events: DayEvent[] = new Array(count);
  for (let n = 0; n < count; n++) {
    const ms = dayMs + seconds[n]! * 1000;
    events[n] = { n, ms, value: valueRng.lognormal(meanAt(r, ms), r.noise) };
  }
  return events;
}

function makeObservation(
  r: Resolved,
  externalId: string,
  ms: number,
  value: number,
  weight: number,
): DemoObservation {
  const obs: DemoObservation = { externalId, observedAt: new Date(ms), value: round3(value), weight };
  if (r.dimensions) obs.dimensions = { ...r.dimensions };
  return obs;
}

function* eventSeries(r: Resolved): Generator<DemoObservation> {
  for (let day = floorDay(r.fromMs); day < r.toMs; day += DAY_MS) {
    const ymd = yyyymmdd(day);
    for (const e of dayEvents(r, day)) {
      if (e.ms < r.fromMs || e.ms >= r.toMs) continue;
      yield makeObservation(r, `${r.prefix}-${ymd}-${e.n}`, e.ms, e.value, r.weight);
    }
  }
}

function* bucketSeries(r: Resolved, days: number, tag: string): Generator<DemoObservation> {
  const len = days * DAY_MS;
  let start = days === 7 ? floorMonday(r.fromMs) : floorDay(r.fromMs);
  if (start < r.fromMs) start += len;
  for (; start + len <= r.toMs; start += len) {
    const end = start + len;
    let sumBefore = 0;
    let nBefore = 0;
    let sumAfter = 0;
    let nAfter = 0;
    for (let day = start; day < end; day += DAY_MS) {
      for (const e of dayEvents(r, day)) {
        if (e.ms < r.goLiveMs) {
          sumBefore += e.value;
          nBefore++;
        } else {
          sumAfter += e.value;
          nAfter++;
        }
      }
    }
    const id = `${r.prefix}-${tag}${yyyymmdd(start)}`;
    if (r.goLiveMs > start && r.goLiveMs < end) {
      if (nBefore > 0) yield makeObservation(r, id, start, sumBefore / nBefore, nBefore * r.weight);
      if (nAfter > 0) {
        yield makeObservation(r, `${id}-after`, r.goLiveMs, sumAfter / nAfter, nAfter * r.weight);
      }
    } else {
      const n = nBefore + nAfter;
      if (n > 0) yield makeObservation(r, id, start, (sumBefore + sumAfter) / n, n * r.weight);
    }
  }
}

/**
 * Generates the synthetic series lazily, in time order. Options are validated when called (not on
 * the first `next()`): invalid options throw an Error naming each bad option.
 */
export function generateDemoSeries(opts: DemoSeriesOptions): Generator<DemoObservation> {
  validateDemoSeriesOptions(opts);
  const r: Resolved = {
    seed: opts.seed,
    fromMs: opts.from.getTime(),
    toMs: opts.to.getTime(),
    goLiveMs: opts.goLiveAt.getTime(),
    before: opts.before,
    after: opts.after,
    noise: opts.noise,
    eventsPerDay: opts.eventsPerDay,
    rampMs: (opts.rampDays ?? 0) * DAY_MS,
    weight: opts.weight ?? 1,
    granularity: opts.granularity ?? "event",
    dimensions: opts.dimensions ? { ...opts.dimensions } : undefined,
    prefix: opts.idPrefix ?? `demo-${cyrb53(opts.seed).toString(36)}`,
  };
  switch (r.granularity) {
    case "day":
      return bucketSeries(r, 1, "d");
    case "week":
      return bucketSeries(r, 7, "w");
    default:
      return eventSeries(r);
  }
}
