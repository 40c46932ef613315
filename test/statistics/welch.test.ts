import { describe, expect, it } from "vitest";
import type { SufficientStats } from "../../src/kpi/statistics/index.js";
import { phaseMoments, welchImprovementInterval, welchTTest } from "../../src/kpi/statistics/welch.js";
import { mulberry32, normals, referenceWelch, simpsonTQuantile, sums, twoPass } from "./reference.js";

// R's built-in `sleep` data set, extra hours of sleep by drug group.
const sleep1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const sleep2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
// The two samples of an R session quoted on Cross Validated ("Welch's t-test confidence interval").
const ts1 = [11, 9, 10, 11, 10, 12, 9, 11, 12, 9];
const ts2 = [11, 13, 10, 13, 12, 9, 11, 12, 12, 11];

function expectRel(actual: number, expected: number, tol: number): void {
  expect(Math.abs(actual - expected) / Math.abs(expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(
    tol,
  );
}

function randomPhase(rng: () => number, n: number, mean: number, sd: number): number[] {
  const z = normals(rng);
  return Array.from({ length: n }, () => mean + sd * z());
}

describe("welchTTest: published R output", () => {
  it("t.test(extra ~ group, data = sleep): t = -1.8608, df = 17.776, p-value = 0.07939", () => {
    // t = (mean after − mean before)/SE, so with the groups as (after, before) it is R's (x − y).
    const r = welchTTest(sums(sleep2), sums(sleep1))!;
    expect(r.t).toBeCloseTo(-1.8608, 4);
    expect(r.df).toBeCloseTo(17.776, 3);
    expect(r.pValue).toBeCloseTo(0.07939, 5);
    expect(welchTTest(sums(sleep1), sums(sleep2))!.t).toBeCloseTo(1.8608, 4);
  });

  it("t.test(ts1, ts2): t = -1.8325, df = 17.9, p-value = 0.08356", () => {
    const r = welchTTest(sums(ts2), sums(ts1))!;
    expect(r.t).toBeCloseTo(-1.8325, 4);
    expect(r.df).toBeCloseTo(17.9, 1);
    expect(r.pValue).toBeCloseTo(0.08356, 5);
  });
});

describe("welchTTest: against a second implementation", () => {
  it("agrees with two-pass variances and a Simpson-integrated p-value to 1e-6", () => {
    const rng = mulberry32(20240611);
    const shapes: [nb: number, mb: number, sb: number, na: number, ma: number, sa: number][] = [
      [2, 10, 1, 2, 12, 3],
      [3, 5, 0.5, 40, 5.4, 2],
      [12, 100, 15, 9, 88, 4],
      [50, -3, 1, 70, -2.7, 1.2],
      [400, 1e4, 2500, 350, 9500, 900],
      [25, 0.001, 0.0002, 30, 0.0011, 0.0004],
    ];
    for (const [nb, mb, sb, na, ma, sa] of shapes) {
      const before = randomPhase(rng, nb, mb, sb);
      const after = randomPhase(rng, na, ma, sa);
      const ref = referenceWelch(before, after);
      const r = welchTTest(sums(before), sums(after))!;
      expectRel(r.t, ref.t, 1e-9);
      expectRel(r.df, ref.df, 1e-9);
      expect(Math.abs(r.pValue - ref.pValue)).toBeLessThan(1e-6);
      expect(r.df).toBeGreaterThanOrEqual(Math.min(nb, na) - 1 - 1e-9);
      expect(r.df).toBeLessThanOrEqual(nb + na - 2 + 1e-9);
    }
  });
});

describe("welchImprovementInterval", () => {
  it("sleep: R's 95 % CI of mean(x) − mean(y) is [-3.3654832, 0.2054832]", () => {
    // b = mean(group 1) = 0.75; HIGHER_IS_BETTER improves by a − b, LOWER_IS_BETTER by b − a.
    const higher = welchImprovementInterval(sums(sleep1), sums(sleep2), "HIGHER_IS_BETTER")!;
    expect(higher.level).toBe(0.95);
    expect(higher.low).toBeCloseTo((-0.2054832 / 0.75) * 100, 4);
    expect(higher.high).toBeCloseTo((3.3654832 / 0.75) * 100, 4);
    const lower = welchImprovementInterval(sums(sleep1), sums(sleep2), "LOWER_IS_BETTER")!;
    expect(lower.low).toBeCloseTo((-3.3654832 / 0.75) * 100, 4);
    expect(lower.high).toBeCloseTo((0.2054832 / 0.75) * 100, 4);
  });

  it("ts1/ts2: R's 95 % CI of mean(x) − mean(y) is [-2.1469104, 0.1469104]", () => {
    const r = welchImprovementInterval(sums(ts1), sums(ts2), "HIGHER_IS_BETTER")!;
    expect(r.low).toBeCloseTo((-0.1469104 / 10.4) * 100, 5);
    expect(r.high).toBeCloseTo((2.1469104 / 10.4) * 100, 5);
  });

  it("is centred on the point improvement with half-width t(0.975, df)·SE/|b|·100", () => {
    const rng = mulberry32(7);
    for (const direction of ["LOWER_IS_BETTER", "HIGHER_IS_BETTER"] as const) {
      for (const [nb, na, mb, ma] of [
        [8, 11, 20, 15],
        [60, 45, -4, -3],
        [300, 280, 11, 1],
      ]) {
        const before = randomPhase(rng, nb, mb, 3);
        const after = randomPhase(rng, na, ma, 5);
        const ref = referenceWelch(before, after);
        const b = ref.b.mean;
        const a = ref.a.mean;
        const point = ((direction === "LOWER_IS_BETTER" ? b - a : a - b) / Math.abs(b)) * 100;
        const half = ((simpsonTQuantile(0.975, ref.df) * ref.se) / Math.abs(b)) * 100;
        const r = welchImprovementInterval(sums(before), sums(after), direction)!;
        expect(Math.abs((r.low + r.high) / 2 - point)).toBeLessThan(1e-9 * Math.max(1, Math.abs(point)));
        expectRel((r.high - r.low) / 2, half, 1e-8);
      }
    }
  });

  it("honours another level", () => {
    const r95 = welchImprovementInterval(sums(ts1), sums(ts2), "HIGHER_IS_BETTER")!;
    const r80 = welchImprovementInterval(sums(ts1), sums(ts2), "HIGHER_IS_BETTER", 0.8)!;
    expect(r80.level).toBe(0.8);
    expect(r80.high - r80.low).toBeLessThan(r95.high - r95.low);
    const ref = referenceWelch(ts1, ts2);
    expectRel((r80.high - r80.low) / 2, ((simpsonTQuantile(0.9, ref.df) * ref.se) / 10.4) * 100, 1e-8);
    expect(() => welchImprovementInterval(sums(ts1), sums(ts2), "HIGHER_IS_BETTER", 1)).toThrow(RangeError);
  });
});

describe("edge cases: null, never NaN or Infinity", () => {
  const empty: SufficientStats = { n: 0, sum: 0, sumSq: 0 };
  const one = sums([4]);
  const some = sums([1, 2, 3, 5]);

  it("n = 0 or n = 1 in either phase → null", () => {
    for (const [b, a] of [
      [empty, some],
      [some, empty],
      [one, some],
      [some, one],
      [empty, empty],
    ]) {
      expect(welchTTest(b, a)).toBeNull();
      expect(welchImprovementInterval(b, a, "LOWER_IS_BETTER")).toBeNull();
    }
  });

  it("zero variance in both phases → null, also when round-off leaves a trace", () => {
    const cases: [number[], number[]][] = [
      [
        [5, 5, 5, 5],
        [7, 7, 7],
      ],
      [
        [0.1, 0.1, 0.1],
        [0.2, 0.2, 0.2, 0.2],
      ],
      [Array(100_000).fill(1234.5678), Array(33_333).fill(0.3)],
      [Array(1000).fill(1e15 + 2), Array(1000).fill(3e15)],
    ];
    const traces: number[] = [];
    for (const [b, a] of cases) {
      for (const phase of [b, a]) {
        const s = sums(phase);
        traces.push(s.sumSq - (s.sum * s.sum) / s.n);
      }
      expect(welchTTest(sums(b), sums(a))).toBeNull();
      expect(welchImprovementInterval(sums(b), sums(a), "LOWER_IS_BETTER")).toBeNull();
    }
    // Σx² − (Σx)²/n is not exactly 0 for some of them: the round-off tolerance is what makes them null.
    expect(traces.some((t) => t !== 0)).toBe(true);
  });

  it("zero variance in one phase is still a test: df = the other phase's n − 1", () => {
    const before = [10, 10, 10, 10, 10];
    const after = [7, 8, 9, 8];
    const r = welchTTest(sums(before), sums(after))!;
    const a = twoPass(after);
    const t = (a.mean - 10) / Math.sqrt(a.variance / 4);
    expect(r.df).toBeCloseTo(3, 12);
    expect(r.t).toBeCloseTo(t, 12);
    // Closed form for df = 3: P(|T| ≥ |t|) = 1 − (2/π)·(s/(1 + s²) + atan s), s = |t|/√3.
    const s = Math.abs(t) / Math.sqrt(3);
    expect(r.pValue).toBeCloseTo(1 - (2 / Math.PI) * (s / (1 + s * s) + Math.atan(s)), 12);
    const ci = welchImprovementInterval(sums(before), sums(after), "LOWER_IS_BETTER")!;
    expect((ci.low + ci.high) / 2).toBeCloseTo(((10 - 8) / 10) * 100, 10);
  });

  it("a zero baseline mean gives a test but no interval", () => {
    const before = [-1, 1, -2, 2];
    const after = [3, 4, 5];
    expect(welchTTest(sums(before), sums(after))).not.toBeNull();
    expect(welchImprovementInterval(sums(before), sums(after), "LOWER_IS_BETTER")).toBeNull();
  });

  it("huge values (1e15) stay finite and match the reference", () => {
    const before = [1.2e15, 0.9e15, 1.5e15, 1.1e15, 1.3e15];
    const after = [0.7e15, 0.8e15, 0.75e15, 0.95e15];
    const ref = referenceWelch(before, after);
    const r = welchTTest(sums(before), sums(after))!;
    expectRel(r.t, ref.t, 1e-9);
    expect(Math.abs(r.pValue - ref.pValue)).toBeLessThan(1e-6);
    const ci = welchImprovementInterval(sums(before), sums(after), "LOWER_IS_BETTER")!;
    expect(Number.isFinite(ci.low) && Number.isFinite(ci.high)).toBe(true);
  });

  it("sums that overflow or are not finite → null", () => {
    const overflow = sums([1e200, 2e200, 3e200]); // Σx² = ∞
    expect(welchTTest(overflow, some)).toBeNull();
    expect(welchImprovementInterval(overflow, some, "LOWER_IS_BETTER")).toBeNull();
    const nan = { n: 3, sum: Number.NaN, sumSq: 1 };
    expect(welchTTest(some, nan)).toBeNull();
    expect(welchImprovementInterval(nan, some, "HIGHER_IS_BETTER")).toBeNull();
  });

  it("a pre-centred form (shift) keeps a tiny spread on a large mean exact", () => {
    const rng = mulberry32(99);
    const before = randomPhase(rng, 200, 1e9, 0.01);
    const after = randomPhase(rng, 150, 1e9 + 0.003, 0.02);
    // x − 1e9 is exact here, and Welch's test is shift-invariant: the reference runs on centred data.
    const ref = referenceWelch(
      before.map((x) => x - 1e9),
      after.map((x) => x - 1e9),
    );
    const centred = (xs: number[], c: number) => ({ ...sums(xs.map((x) => x - c)), shift: c });
    const r = welchTTest(centred(before, 1e9), centred(after, 1e9))!;
    expectRel(r.t, ref.t, 1e-9);
    expectRel(r.df, ref.df, 1e-9);
    expect(Math.abs(r.pValue - ref.pValue)).toBeLessThan(1e-6);
    const m = phaseMoments(centred(before, 1e9))!;
    expectRel(m.variance, ref.b.variance, 1e-9);
    expect(m.shift + m.centredMean).toBeCloseTo(1e9, 3);
    // The raw sums cannot resolve this spread; they must degrade to null or a finite figure, not NaN.
    const raw = welchTTest(sums(before), sums(after));
    if (raw) expect(Number.isFinite(raw.t) && Number.isFinite(raw.pValue)).toBe(true);
  });
});
