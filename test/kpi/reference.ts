// A second, deliberately plain implementation of the contract's figures ("KPI figures"), used as the
// expected side of the KPI tests. It shares no code with src/kpi: loops over the same raw observations
// the tests send. Weighted percentiles are computed in exact integer arithmetic (weights scaled to
// millionths), so the reference itself has no floating-point doubt about "reaches 50 %".
import { expect } from "vitest";
import type { TestApp } from "../helpers/app.js";

export type Agg = "MEAN" | "MEDIAN" | "P90" | "SUM" | "COUNT";
export type Dir = "LOWER_IS_BETTER" | "HIGHER_IS_BETTER";

export interface Obs {
  at: string;
  value: number;
  weight?: number;
  dimensions?: Record<string, string>;
  externalId?: string;
}

export interface RefPhase {
  value: number | null;
  count: number;
  from: string | null;
  to: string | null;
}

const ms = (iso: string) => new Date(iso).getTime();
const iso = (t: number) => new Date(t).toISOString();
const w = (o: Obs) => o.weight ?? 1;

/** Weights as exact integers (millionths); the tests only use weights with ≤ 6 decimals. */
function units(weight: number): number {
  const u = Math.round(weight * 1_000_000);
  if (Math.abs(u / 1_000_000 - weight) > 1e-12 * Math.max(1, weight))
    throw new Error(`weight ${weight} has more than 6 decimals`);
  return u;
}

/** The smallest value whose cumulative weight reaches pct % of the total. */
export function weightedPercentile(obs: Obs[], pct: number): number | null {
  if (!obs.length) return null;
  const sorted = [...obs].sort((a, b) => a.value - b.value);
  let total = 0;
  for (const o of sorted) total += units(w(o));
  let cum = 0;
  for (const o of sorted) {
    cum += units(w(o));
    if (cum * 100 >= pct * total) return o.value;
  }
  throw new Error("unreachable");
}

export function phaseRef(agg: Agg, obs: Obs[]): RefPhase {
  if (!obs.length) return { value: null, count: 0, from: null, to: null };
  let sumW = 0;
  let sumVW = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const o of obs) {
    sumW += w(o);
    sumVW += o.value * w(o);
    first = Math.min(first, ms(o.at));
    last = Math.max(last, ms(o.at));
  }
  let value: number | null;
  if (agg === "MEAN") value = sumVW / sumW;
  else if (agg === "SUM") value = sumVW;
  else if (agg === "COUNT") value = sumW;
  else value = weightedPercentile(obs, agg === "MEDIAN" ? 50 : 90);
  return { value, count: sumW, from: iso(first), to: iso(last) };
}

/** `from <= t < to`, a null bound unbounded. */
export function between(obs: Obs[], from: string | null, to: string | null): Obs[] {
  return obs.filter((o) => (from === null || ms(o.at) >= ms(from)) && (to === null || ms(o.at) < ms(to)));
}

export function improvementRef(dir: Dir, b: number | null, a: number | null): number | null {
  if (b === null || a === null || b === 0) return null;
  return ((dir === "LOWER_IS_BETTER" ? b - a : a - b) / Math.abs(b)) * 100;
}

/** |actual − expected| ≤ 1e-9 relative (1e-9 absolute near zero); nulls must match. */
export function expectNum(actual: number | null | undefined, expected: number | null, label = "") {
  if (expected === null) {
    expect(actual, label).toBeNull();
    return;
  }
  expect(actual, label).not.toBeNull();
  expect(actual, label).toBeTypeOf("number");
  const tol = 1e-9 * Math.max(1, Math.abs(expected));
  if (Math.abs((actual as number) - expected) > tol)
    expect.fail(`${label}: expected ${expected}, got ${actual} (tolerance ${tol})`);
}

export function expectPhase(actual: any, expected: RefPhase, label: string) {
  expectNum(actual.value, expected.value, `${label}.value`);
  expectNum(actual.count, expected.count, `${label}.count`);
  expect(actual.from, `${label}.from`).toBe(expected.from);
  expect(actual.to, `${label}.to`).toBe(expected.to);
}

// ---- GraphQL set-up helpers ----

export async function ok<T = any>(
  t: TestApp,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const r = await t.gql<T>(query, variables);
  if (r.body.errors?.length || r.status !== 200)
    throw new Error(`GraphQL failed (${r.status}): ${JSON.stringify(r.body.errors)}`);
  return r.body.data as T;
}

export async function createProject(
  t: TestApp,
  slug: string,
  goLiveAt: string | null,
  stage: "IDEA" | "PILOT" | "PRODUCTION" = goLiveAt ? "PRODUCTION" : "PILOT",
) {
  await ok(t, `mutation($in: CreateProjectInput!) { createProject(input: $in) { slug } }`, {
    in: { slug, name: slug, stage, goLiveAt, stageSince: "2024-06-01T00:00:00Z" },
  });
}

export async function defineMetric(t: TestApp, key: string, direction: Dir, aggregation: Agg) {
  await ok(t, `mutation($in: DefineMetricInput!) { defineMetric(input: $in) { key } }`, {
    in: { key, name: key, unit: "minutes", direction, aggregation },
  });
}

export async function trackKpi(t: TestApp, input: Record<string, unknown>) {
  await ok(t, `mutation($in: TrackKpiInput!) { trackKpi(input: $in) { projectSlug } }`, { in: input });
}

export async function record(t: TestApp, projectSlug: string, metricKey: string, obs: Obs[]) {
  return (
    await ok(
      t,
      `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted updated } }`,
      {
        in: obs.map((o) => ({
          projectSlug,
          metricKey,
          observedAt: o.at,
          value: o.value,
          weight: o.weight ?? 1,
          externalId: o.externalId ?? null,
          dimensions: o.dimensions ?? null,
        })),
      },
    )
  ).recordObservations as { inserted: number; updated: number };
}

export const PHASE = "value count from to";
export const KPI_FIELDS = `baseline { ${PHASE} } current { ${PHASE} } improvementPct target targetMet annualBenefit updatedAt
  control { dimension treatment control controlBaseline { ${PHASE} } controlCurrent { ${PHASE} } controlChangePct adjustedImprovementPct }`;

export async function kpi(t: TestApp, slug: string, metricKey: string, fields = KPI_FIELDS): Promise<any> {
  const data = await ok(
    t,
    `query($s: String!, $m: String!) { project(slug: $s) { kpi(metricKey: $m) { ${fields} } } }`,
    {
      s: slug,
      m: metricKey,
    },
  );
  return data.project.kpi;
}

// ---- series ----

export type BucketKind = "DAY" | "WEEK" | "MONTH";

/** UTC start of the bucket holding `at`; weeks start on Monday 00:00 UTC. */
export function bucketStart(at: string, bucket: BucketKind): string {
  const d = new Date(at);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  if (bucket === "MONTH") return iso(Date.UTC(y, m, 1));
  if (bucket === "DAY") return iso(Date.UTC(y, m, day));
  const sinceMonday = (d.getUTCDay() + 6) % 7; // Sunday 0 → 6, Monday 1 → 0
  return iso(Date.UTC(y, m, day - sinceMonday));
}

export interface RefPoint {
  start: string;
  phase: "BEFORE" | "AFTER";
  value: number | null;
  count: number;
}

/** One point per (bucket start, phase) with observations; buckets kept when from <= start < to. */
export function seriesRef(
  agg: Agg,
  obs: Obs[],
  windows: { before: [string | null, string] | null; after: [string | null, string | null] },
  bucket: BucketKind,
  from: string | null = null,
  to: string | null = null,
): RefPoint[] {
  const groups = new Map<string, Obs[]>();
  for (const o of obs) {
    const phases: ["BEFORE" | "AFTER", [string | null, string | null] | null][] = [
      ["BEFORE", windows.before],
      ["AFTER", windows.after],
    ];
    for (const [phase, win] of phases) {
      if (!win || between([o], win[0], win[1]).length === 0) continue;
      const key = `${bucketStart(o.at, bucket)}|${phase}`;
      groups.set(key, [...(groups.get(key) ?? []), o]);
    }
  }
  const points: RefPoint[] = [];
  for (const [key, list] of groups) {
    const [start, phase] = key.split("|") as [string, "BEFORE" | "AFTER"];
    if (from !== null && ms(start) < ms(from)) continue;
    if (to !== null && ms(start) >= ms(to)) continue;
    const p = phaseRef(agg, list);
    points.push({ start, phase, value: p.value, count: p.count });
  }
  return points.sort((a, b) => ms(a.start) - ms(b.start) || (a.phase === "BEFORE" ? -1 : 1));
}

export function expectSeries(actual: any[], expected: RefPoint[], label = "series") {
  expect(
    actual.map((p) => `${p.start} ${p.phase}`),
    label,
  ).toEqual(expected.map((p) => `${p.start} ${p.phase}`));
  actual.forEach((p, i) => {
    expectNum(p.value, expected[i].value, `${label}[${i}] ${p.start} ${p.phase} value`);
    expectNum(p.count, expected[i].count, `${label}[${i}] ${p.start} ${p.phase} count`);
  });
}

export async function series(
  t: TestApp,
  slug: string,
  metricKey: string,
  bucket: BucketKind,
  from: string | null = null,
  to: string | null = null,
): Promise<any[]> {
  const data = await ok(
    t,
    `query($s: String!, $m: String!, $b: Bucket!, $from: DateTime, $to: DateTime) {
       project(slug: $s) { kpi(metricKey: $m) { series(bucket: $b, from: $from, to: $to) { start phase value count } } } }`,
    { s: slug, m: metricKey, b: bucket, from, to },
  );
  return data.project.kpi.series;
}
