// The benchmark's observations: deterministic (seeded), half before and half after go-live, realistic
// help-desk resolution times (lognormal, whole seconds expressed in minutes, as the collectors do), an
// increasing numeric externalId each (like Jira/Zendesk/GitHub ids), weight 1, no dimensions.
import { Rng } from "../collectors/demo/random.js";

export const GO_LIVE = new Date("2026-03-01T00:00:00.000Z");
const BEFORE_FROM = new Date("2025-09-01T00:00:00.000Z").getTime();
const AFTER_TO = new Date("2026-09-01T00:00:00.000Z").getTime();

export interface Dataset {
  n: number;
  /** observedAt in epoch milliseconds, increasing. */
  observedAt: Float64Array;
  value: Float64Array;
  externalId(i: number): string;
}

/** Half the rows in [2025-09-01, go-live), half in [go-live, 2026-09-01), in time order. */
export function generateDataset(n: number, seed = "uplift-bench"): Dataset {
  const rng = new Rng(seed);
  const observedAt = new Float64Array(n);
  const value = new Float64Array(n);
  const half = Math.floor(n / 2);
  const goLive = GO_LIVE.getTime();
  const beforeStep = (goLive - BEFORE_FROM) / half;
  const afterStep = (AFTER_TO - goLive) / (n - half);
  for (let i = 0; i < n; i++) {
    const before = i < half;
    const slot = before ? i : i - half;
    // One observation per slot, at a random whole millisecond inside it: increasing, never on a boundary twice.
    const t = before
      ? BEFORE_FROM + Math.floor((slot + rng.next()) * beforeStep)
      : goLive + Math.floor((slot + rng.next()) * afterStep);
    observedAt[i] = t;
    // Resolution time: mean 11 min before, 6 min after (cv 0.8), at least 1 s, whole seconds in minutes.
    const seconds = Math.max(1, Math.round(rng.lognormal(before ? 11 : 6, 0.8) * 60));
    value[i] = seconds / 60;
  }
  return { n, observedAt, value, externalId: (i) => String(10_000_000 + i) };
}

/** Exact weighted figures of the dataset (weight 1), to check what the app and the SQL floors answer. */
export function expectedFigures(d: Dataset): {
  before: { mean: number; median: number; count: number; from: string; to: string };
  after: { mean: number; median: number; count: number; from: string; to: string };
} {
  const half = Math.floor(d.n / 2);
  const phase = (lo: number, hi: number) => {
    let sum = 0;
    for (let i = lo; i < hi; i++) sum += d.value[i];
    const sorted = Float64Array.from(d.value.subarray(lo, hi)).sort();
    const count = hi - lo;
    // The smallest value whose cumulative weight reaches 50 % of the total (weights 1).
    const median = sorted[Math.ceil(count * 0.5) - 1];
    return {
      mean: sum / count,
      median,
      count,
      from: new Date(d.observedAt[lo]).toISOString(),
      to: new Date(d.observedAt[hi - 1]).toISOString(),
    };
  };
  return { before: phase(0, half), after: phase(half, d.n) };
}
