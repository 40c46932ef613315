import { describe, expect, it } from "vitest";
import {
  BOOTSTRAP_SEED,
  bootstrapImprovementInterval,
  percentileOfSorted,
  percentileRank,
  resampledOrderStatisticIndex,
} from "../../src/kpi/statistics/bootstrap.js";
import { xoshiro128ss } from "../../src/kpi/statistics/random.js";
import { mulberry32, normals } from "./reference.js";

/** The contract's definition, literally: the smallest value whose cumulative count reaches p·n. */
function naivePercentile(values: readonly number[], p: number): number {
  const candidates = [...new Set(values)].sort((x, y) => x - y);
  for (const v of candidates) {
    if (values.filter((x) => x <= v).length >= p * values.length) return v;
  }
  throw new Error("unreachable");
}

function lognormalPhase(z: () => number, n: number, median: number, sigma: number): number[] {
  return Array.from({ length: n }, () => median * Math.exp(sigma * z()));
}

/** P(Binomial(n, q) ≥ k), summed directly. */
function binomialAtLeast(n: number, q: number, k: number): number {
  let total = 0;
  let coefficient = 1; // C(n, i)
  for (let i = 0; i <= n; i++) {
    if (i >= k) total += coefficient * q ** i * (1 - q) ** (n - i);
    coefficient = (coefficient * (n - i)) / (i + 1);
  }
  return total;
}

describe("percentile selection", () => {
  it("percentileOfSorted is the contract's percentile (ties included)", () => {
    const rng = mulberry32(3);
    for (let trial = 0; trial < 500; trial++) {
      const n = 1 + Math.floor(rng() * 25);
      const values = Array.from({ length: n }, () => Math.floor(rng() * 8)); // many ties
      const sorted = [...values].sort((x, y) => x - y);
      for (const p of [0.5, 0.9]) expect(percentileOfSorted(sorted, p)).toBe(naivePercentile(values, p));
    }
    expect(percentileRank(10, 0.9)).toBe(9);
    expect(percentileRank(10, 0.5)).toBe(5);
    expect(percentileRank(11, 0.5)).toBe(6);
    expect(percentileRank(1, 0.9)).toBe(1);
    // ⌈9n/10⌉ and ⌈n/2⌉ in integer arithmetic: 0.9 is not exact in binary, the rank must still be.
    const wrong: number[] = [];
    for (let n = 1; n <= 1_000_000; n++) {
      if (percentileRank(n, 0.9) !== Math.floor((9 * n + 9) / 10)) wrong.push(n);
      if (percentileRank(n, 0.5) !== Math.floor((n + 1) / 2)) wrong.push(n);
    }
    expect(wrong).toEqual([]);
  });

  it("the k-th smallest resampled index picks the percentile of the resample", () => {
    // The identity the fast bootstrap rests on: for a resample drawn as indices into the sorted phase,
    // sorted[k-th smallest index] is the percentile of the resampled values.
    const rng = mulberry32(4);
    for (let trial = 0; trial < 500; trial++) {
      const n = 2 + Math.floor(rng() * 20);
      const sorted = Array.from({ length: n }, () => Math.floor(rng() * 6)).sort((x, y) => x - y);
      const indices = Array.from({ length: n }, () => Math.floor(rng() * n));
      const resample = indices.map((i) => sorted[i]);
      for (const p of [0.5, 0.9]) {
        const kth = [...indices].sort((x, y) => x - y)[percentileRank(n, p) - 1];
        expect(sorted[kth]).toBe(naivePercentile(resample, p));
      }
    }
  });

  it("resampledOrderStatisticIndex has the exact distribution of the k-th smallest of n draws", () => {
    // P(k-th smallest index ≤ j) = P(Binomial(n, (j + 1)/n) ≥ k).
    const draws = 200_000;
    for (const [n, k] of [
      [7, 4],
      [10, 9],
      [2, 1],
      [2, 2],
      [25, 13],
    ]) {
      const rng = xoshiro128ss(n * 100 + k);
      const counts = new Array<number>(n).fill(0);
      for (let i = 0; i < draws; i++) counts[resampledOrderStatisticIndex(n, k, rng)]++;
      let cumulative = 0;
      for (let j = 0; j < n; j++) {
        cumulative += counts[j];
        const expected = binomialAtLeast(n, (j + 1) / n, k);
        // 5 standard errors of an empirical proportion at 200,000 draws is at most 0.0056.
        expect(Math.abs(cumulative / draws - expected)).toBeLessThan(0.0056);
      }
    }
  });

  it("matches naive resample-and-sort frequencies", () => {
    const n = 9;
    const k = percentileRank(n, 0.9);
    const draws = 100_000;
    const fast = new Array<number>(n).fill(0);
    const naive = new Array<number>(n).fill(0);
    const rng = xoshiro128ss(11);
    const uniform = mulberry32(12);
    for (let i = 0; i < draws; i++) {
      fast[resampledOrderStatisticIndex(n, k, rng)]++;
      const resample = Array.from({ length: n }, () => Math.floor(uniform() * n)).sort((x, y) => x - y);
      naive[resample[k - 1]]++;
    }
    for (let j = 0; j < n; j++) expect(Math.abs(fast[j] - naive[j]) / draws).toBeLessThan(0.01);
  });
});

describe("bootstrapImprovementInterval", () => {
  const z = normals(mulberry32(2025));
  const before = lognormalPhase(z, 150, 10, 0.5);
  const after = lognormalPhase(z, 130, 7, 0.5);

  it("is deterministic for a seed and changes with the seed", () => {
    const a = bootstrapImprovementInterval(before, after, 0.5, "LOWER_IS_BETTER");
    const b = bootstrapImprovementInterval(
      Float64Array.from(before),
      Float64Array.from(after),
      0.5,
      "LOWER_IS_BETTER",
    );
    const c = bootstrapImprovementInterval(before, after, 0.5, "LOWER_IS_BETTER", { seed: BOOTSTRAP_SEED });
    const d = bootstrapImprovementInterval(before, after, 0.5, "LOWER_IS_BETTER", { seed: 1 });
    expect(a).not.toBeNull();
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(d).not.toEqual(a);
    expect(a!.level).toBe(0.95);
    expect(BOOTSTRAP_SEED).toBe(0x75706c66);
  });

  it("contains the point improvement and mirrors with the direction", () => {
    const bMedian = naivePercentile(before, 0.5);
    const aMedian = naivePercentile(after, 0.5);
    const point = ((bMedian - aMedian) / Math.abs(bMedian)) * 100;
    const lower = bootstrapImprovementInterval(before, after, 0.5, "LOWER_IS_BETTER")!;
    const higher = bootstrapImprovementInterval(before, after, 0.5, "HIGHER_IS_BETTER")!;
    expect(lower.low).toBeLessThan(point);
    expect(lower.high).toBeGreaterThan(point);
    // Same seed, same resamples: HIGHER_IS_BETTER's improvements are the negatives.
    expect(higher.low).toBeCloseTo(-lower.high, 10);
    expect(higher.high).toBeCloseTo(-lower.low, 10);
  });

  it("agrees with a naive resample-and-sort bootstrap within Monte Carlo error", () => {
    const resamples = 20_000;
    const uniform = mulberry32(77);
    for (const p of [0.5, 0.9]) {
      const improvements: number[] = [];
      for (let r = 0; r < resamples; r++) {
        const b = percentileOfResample(before, p, uniform);
        const a = percentileOfResample(after, p, uniform);
        improvements.push(((b - a) / Math.abs(b)) * 100);
      }
      improvements.sort((x, y) => x - y);
      const quantile = (q: number) => {
        const h = (resamples - 1) * q;
        const lo = Math.floor(h);
        return improvements[lo] + (h - lo) * (improvements[lo + 1] - improvements[lo]);
      };
      const fast = bootstrapImprovementInterval(before, after, p, "LOWER_IS_BETTER", { resamples })!;
      const width = quantile(0.975) - quantile(0.025);
      // Observed gaps are ~1 % of the width at 20,000 resamples each.
      expect(Math.abs(fast.low - quantile(0.025))).toBeLessThan(0.05 * width);
      expect(Math.abs(fast.high - quantile(0.975))).toBeLessThan(0.05 * width);
    }
  });

  it("covers the true improvement in about 95 % of synthetic data sets", () => {
    // Log-normal phases with medians 10 → 7 and equal σ: the true improvement of the median and of the
    // 90th percentile is (10 − 7)/10 = 30 % for LOWER_IS_BETTER.
    const gen = normals(mulberry32(31337));
    for (const [p, nb, na] of [
      [0.5, 120, 100],
      [0.9, 200, 180],
    ] as const) {
      let covered = 0;
      const datasets = 300;
      for (let d = 0; d < datasets; d++) {
        const b = lognormalPhase(gen, nb, 10, 0.6);
        const a = lognormalPhase(gen, na, 7, 0.6);
        const ci = bootstrapImprovementInterval(b, a, p, "LOWER_IS_BETTER", { seed: d + 1 })!;
        if (ci.low <= 30 && 30 <= ci.high) covered++;
      }
      expect(covered / datasets).toBeGreaterThanOrEqual(0.9);
      expect(covered / datasets).toBeLessThanOrEqual(0.99);
    }
  });

  it("collapses to the point when every value is equal", () => {
    const ci = bootstrapImprovementInterval([8, 8, 8, 8], [6, 6, 6], 0.9, "LOWER_IS_BETTER")!;
    expect(ci).toEqual({ low: 25, high: 25, level: 0.95 });
    const up = bootstrapImprovementInterval([-4, -4], [-3, -3, -3], 0.5, "HIGHER_IS_BETTER")!;
    expect(up).toEqual({ low: 25, high: 25, level: 0.95 }); // (a − b)/|b| = (−3 + 4)/4
  });

  it("skips resamples with a zero baseline, null once more than half are skipped", () => {
    const mostlyZero = [0, 0, 0, 0, 0, 0, 0, 3, 4];
    expect(bootstrapImprovementInterval(mostlyZero, [1, 2, 3], 0.5, "LOWER_IS_BETTER")).toBeNull();
    // Here the baseline median is 0 in a minority of resamples: they are skipped, the rest count.
    const someZero = [0, 0, 0, 5, 6, 7, 8, 9, 10];
    const ci = bootstrapImprovementInterval(someZero, [4, 5, 6, 7], 0.5, "LOWER_IS_BETTER")!;
    expect(Number.isFinite(ci.low) && Number.isFinite(ci.high)).toBe(true);
    expect(ci.low).toBeLessThanOrEqual(ci.high);
  });

  it("is null for fewer than 2 values or non-finite values, and rejects bad options", () => {
    expect(bootstrapImprovementInterval([], [1, 2], 0.5, "LOWER_IS_BETTER")).toBeNull();
    expect(bootstrapImprovementInterval([1], [1, 2], 0.5, "LOWER_IS_BETTER")).toBeNull();
    expect(bootstrapImprovementInterval([1, 2], [3], 0.9, "LOWER_IS_BETTER")).toBeNull();
    expect(bootstrapImprovementInterval([1, Number.NaN], [1, 2], 0.5, "LOWER_IS_BETTER")).toBeNull();
    expect(
      bootstrapImprovementInterval([1, 2], [1, Number.POSITIVE_INFINITY], 0.5, "LOWER_IS_BETTER"),
    ).toBeNull();
    expect(() => bootstrapImprovementInterval([1, 2], [1, 2], 0.5, "LOWER_IS_BETTER", { level: 1 })).toThrow(
      RangeError,
    );
    expect(() =>
      bootstrapImprovementInterval([1, 2], [1, 2], 0.5, "LOWER_IS_BETTER", { resamples: 0 }),
    ).toThrow(RangeError);
  });

  it("handles huge values without NaN", () => {
    const ci = bootstrapImprovementInterval([1e15, 2e15, 3e15], [5e14, 6e14, 1e15], 0.5, "LOWER_IS_BETTER")!;
    expect(Number.isFinite(ci.low) && Number.isFinite(ci.high)).toBe(true);
  });

  it("runs 2,000 resamples of two 100,000-value phases", () => {
    // How fast is measured by `npm run bench -- page` (the bootstrap is timed on its own there), not here:
    // a timed bound fails on a loaded machine.
    const big = normals(mulberry32(5));
    const b = Float64Array.from({ length: 100_000 }, () => 10 * Math.exp(0.5 * big()));
    const a = Float64Array.from({ length: 100_000 }, () => 9 * Math.exp(0.5 * big()));
    const ci = bootstrapImprovementInterval(b, a, 0.9, "LOWER_IS_BETTER");
    expect(ci).not.toBeNull();
    expect(ci!.low).toBeLessThan(10);
    expect(ci!.high).toBeGreaterThan(10);
  });
});

/** Resample with replacement, sort, take the k-th smallest, k = ⌈p·n⌉: the textbook way. */
function percentileOfResample(values: readonly number[], p: number, uniform: () => number): number {
  const n = values.length;
  const resample = Float64Array.from({ length: n }, () => values[Math.floor(uniform() * n)]).sort();
  return resample[Math.ceil(p * n) - 1];
}
