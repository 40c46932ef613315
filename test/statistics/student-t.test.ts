import { describe, expect, it } from "vitest";
import {
  logGamma,
  regularizedIncompleteBeta,
  studentTCdf,
  studentTPdf,
  studentTQuantile,
  studentTTwoSidedP,
} from "../../src/kpi/statistics/student-t.js";
import { simpsonTCdf } from "./reference.js";

/** |actual − expected| ≤ tol·|expected| (relative), or ≤ tol when expected is 0. */
function expectRel(actual: number, expected: number, tol: number): void {
  const scale = expected === 0 ? 1 : Math.abs(expected);
  expect(Math.abs(actual - expected) / scale, `${actual} vs ${expected}`).toBeLessThanOrEqual(tol);
}

describe("Student t quantile: table values", () => {
  // R qt(p, df) printed with 13 significant digits (the brief's figures plus a few more rows of the
  // usual table), cross-checked against SciPy's stats.t.ppf.
  const table: [p: number, df: number, t: number][] = [
    [0.975, 10, 2.228138851986],
    [0.975, 1, 12.70620473617],
    [0.975, 30, 2.042272456301],
    [0.975, 5, 2.570581835636],
    [0.975, 20, 2.085963447266],
    [0.975, 100, 1.983971518524],
    [0.975, 1000, 1.962339080826],
    [0.995, 10, 3.169272672617],
    [0.95, 10, 1.812461122812],
    [0.95, 1, 6.313751514675],
  ];
  it.each(table)("t(%f, df=%f) = %f", (p, df, t) => {
    expectRel(studentTQuantile(p, df), t, 1e-12);
    expectRel(studentTQuantile(1 - p, df), -t, 1e-12);
  });
});

describe("Student t CDF: table values and closed forms", () => {
  it("CDF(2, 5) = 0.9490302605850709 (R pt(2, 5))", () => {
    expectRel(studentTCdf(2, 5), 0.9490302605850709, 1e-14);
  });

  // The closed forms cancel in the lower tail, so they are compared in absolute terms; the tails are
  // checked in relative terms below with forms that do not cancel.
  const ts = [-1e6, -300, -12.7, -3, -1, -0.25, -1e-9, 0, 1e-9, 0.5, 1.96, 4, 50, 1e5];
  const closeTo = (actual: number, expected: number) =>
    expect(Math.abs(actual - expected)).toBeLessThan(5e-15);
  it("df = 1 is the Cauchy distribution: ½ + atan(t)/π", () => {
    for (const t of ts) closeTo(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI);
  });
  it("df = 2: ½ + t/(2√(t² + 2))", () => {
    for (const t of ts) closeTo(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(t * t + 2)));
  });
  it("df = 3: ½ + (t/(√3(1 + t²/3)) + atan(t/√3))/π", () => {
    for (const t of ts) {
      const s = t / Math.sqrt(3);
      closeTo(studentTCdf(t, 3), 0.5 + (s / (1 + s * s) + Math.atan(s)) / Math.PI);
    }
  });
  it("lower tails in relative terms: atan(−1/t)/π (df = 1), 1/(r(r − t)), r = √(t² + 2) (df = 2)", () => {
    for (const t of [-1e-3, -1, -7, -1e4, -1e9]) {
      expectRel(studentTCdf(t, 1), Math.atan(-1 / t) / Math.PI, 1e-13);
      const r = Math.sqrt(t * t + 2);
      expectRel(studentTCdf(t, 2), 1 / (r * (r - t)), 1e-13);
    }
  });
  it("tiny two-sided p-values keep their relative accuracy", () => {
    // df = 1: P(|T| ≥ t) = (2/π)·atan(1/t); df = 2: 2/(√(t²+2)·(√(t²+2) + t)).
    for (const t of [10, 1e4, 1e8, 1e200]) {
      expectRel(studentTTwoSidedP(t, 1), (2 / Math.PI) * Math.atan(1 / t), 1e-13);
      const r = Math.sqrt(t * t + 2);
      if (Number.isFinite(r)) expectRel(studentTTwoSidedP(t, 2), 2 / (r * (r + t)), 1e-13);
    }
  });
});

describe("Student t: closed-form quantiles", () => {
  const ps = [1e-12, 1e-6, 0.001, 0.025, 0.1, 0.3, 0.49, 0.51, 0.75, 0.975, 0.999999];
  it("df = 1: tan(π(p − ½)) = −cot(πp)", () => {
    for (const p of ps) {
      const expected = p < 0.5 ? -1 / Math.tan(Math.PI * p) : 1 / Math.tan(Math.PI * (1 - p));
      expectRel(studentTQuantile(p, 1), expected, 1e-11);
    }
  });
  it("df = 2: (2p − 1)/√(2p(1 − p))", () => {
    for (const p of ps) expectRel(studentTQuantile(p, 2), (2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 1e-11);
  });
  it("df = 4: 2·sign(p − ½)·√(q − 1), q = cos(acos(√α)/3)/√α, α = 4p(1 − p)", () => {
    for (const p of ps) {
      const alpha = 4 * p * (1 - p);
      const q = Math.cos(Math.acos(Math.sqrt(alpha)) / 3) / Math.sqrt(alpha);
      // Near p = ½ the closed form itself cancels; compare there with an absolute tolerance.
      const expected = 2 * Math.sign(p - 0.5) * Math.sqrt(q - 1);
      expect(Math.abs(studentTQuantile(p, 4) - expected)).toBeLessThanOrEqual(
        1e-9 * Math.max(1, Math.abs(expected)),
      );
    }
  });
});

describe("Student t: non-integer and large df", () => {
  it("agrees with Simpson integration of the density for non-integer df", () => {
    for (const df of [1.3, 2.5, 7.25, 17.776, 99.5, 1234.5]) {
      for (const t of [-6, -2.1, -0.4, 0.05, 1.3, 3.7]) {
        expect(Math.abs(studentTCdf(t, df) - simpsonTCdf(t, df))).toBeLessThan(1e-10);
      }
    }
  });

  it("matches the Cornish–Fisher expansion for huge df (error O(df⁻⁵))", () => {
    // Abramowitz & Stegun 26.7.5 with the normal quantiles z (R qnorm).
    const zs: [p: number, z: number][] = [
      [0.975, 1.959963984540054],
      [0.995, 2.5758293035489004],
      [0.9, 1.2815515655446004],
    ];
    for (const df of [1e5, 1e6, 1e7, 1e9]) {
      for (const [p, z] of zs) {
        const g1 = (z ** 3 + z) / 4;
        const g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96;
        const g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384;
        const g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160;
        const t = z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4;
        expectRel(studentTQuantile(p, df), t, 1e-13);
      }
    }
  });

  it("matches 40-digit quadrature (mpmath) for huge df in the tails", () => {
    // 2·∫_t^∞ of the t density, mpmath.quad at 40 digits, rounded to doubles.
    const cases: [t: number, df: number, p: number][] = [
      [1.96, 1e6, 0.04999606758526979],
      [1.96, 1e7, 0.04999581802531419],
      [1.96, 1e9, 0.0499957905737296],
      [2.5, 1e9, 0.012419330810402494],
      [4, 1e8, 6.334252916852821e-5],
      [8, 1e9, 1.2441934284454764e-15],
    ];
    for (const [t, df, p] of cases) expectRel(studentTTwoSidedP(t, df), p, 1e-12);
  });
});

describe("Student t: identities", () => {
  it("is symmetric: CDF(−t) = 1 − CDF(t) and Q(1 − p) = −Q(p)", () => {
    for (const df of [1, 2.2, 9, 60.5, 5e5]) {
      for (const t of [0.01, 0.7, 2, 9]) expect(studentTCdf(-t, df) + studentTCdf(t, df)).toBeCloseTo(1, 14);
      for (const p of [0.01, 0.2, 0.45])
        expectRel(studentTQuantile(1 - p, df), -studentTQuantile(p, df), 1e-12);
    }
  });

  it("round-trips: CDF(Q(p)) = p, down to tiny tail probabilities", () => {
    for (const df of [1, 1.7, 4, 25.3, 300, 1e5]) {
      for (const p of [1e-100, 1e-10, 0.0123, 0.3, 0.5, 0.77, 0.975, 1 - 1e-12]) {
        const tail = p < 0.5 ? p : 1 - p;
        const t = studentTQuantile(p, df);
        const back = p < 0.5 ? studentTCdf(t, df) : 1 - studentTCdf(t, df);
        expectRel(back, tail, 1e-11);
      }
    }
  });

  it("CDF(0) = ½, Q(½) = 0, Q(0) = −∞, Q(1) = +∞", () => {
    expect(studentTCdf(0, 7.5)).toBe(0.5);
    expect(studentTQuantile(0.5, 3)).toBe(0);
    expect(studentTQuantile(0, 3)).toBe(Number.NEGATIVE_INFINITY);
    expect(studentTQuantile(1, 3)).toBe(Number.POSITIVE_INFINITY);
    expect(studentTCdf(Number.POSITIVE_INFINITY, 3)).toBe(1);
    expect(studentTCdf(Number.NEGATIVE_INFINITY, 3)).toBe(0);
  });

  it("rejects invalid arguments", () => {
    expect(() => studentTCdf(1, 0)).toThrow(RangeError);
    expect(() => studentTCdf(1, -2)).toThrow(RangeError);
    expect(() => studentTCdf(1, Number.NaN)).toThrow(RangeError);
    expect(() => studentTCdf(1, Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => studentTCdf(Number.NaN, 3)).toThrow(RangeError);
    expect(() => studentTQuantile(1.5, 3)).toThrow(RangeError);
    expect(() => studentTQuantile(Number.NaN, 3)).toThrow(RangeError);
  });
});

describe("building blocks", () => {
  it("logGamma matches factorials and Γ(½) = √π", () => {
    let factorial = 1;
    for (let n = 1; n <= 30; n++) {
      factorial *= n;
      expectRel(logGamma(n + 1), Math.log(factorial), 1e-14);
    }
    expectRel(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-14);
    expectRel(logGamma(1.5), Math.log(Math.sqrt(Math.PI) / 2), 1e-13);
  });

  it("regularized incomplete beta matches closed forms", () => {
    // I_x(a, 1) = xᵃ; I_x(1, b) = 1 − (1 − x)ᵇ (written without cancellation); I_x(½, ½) = (2/π)·asin(√x).
    for (const x of [1e-8, 0.1, 0.5, 0.93, 1 - 1e-9]) {
      expectRel(regularizedIncompleteBeta(x, 3.7, 1), x ** 3.7, 1e-13);
      expectRel(regularizedIncompleteBeta(x, 1, 2.5), -Math.expm1(2.5 * Math.log1p(-x)), 1e-12);
      // asin is steep near 1, so the upper half uses I_x = 1 − (2/π)·asin(√(1 − x)), 1 − x exact there.
      const arcsine =
        x < 0.5 ? (2 / Math.PI) * Math.asin(Math.sqrt(x)) : 1 - (2 / Math.PI) * Math.asin(Math.sqrt(1 - x));
      expectRel(regularizedIncompleteBeta(x, 0.5, 0.5), arcsine, 1e-13);
    }
    expect(regularizedIncompleteBeta(0, 2, 3)).toBe(0);
    expect(regularizedIncompleteBeta(1, 2, 3)).toBe(1);
  });

  it("the density integrates with the CDF (central difference)", () => {
    for (const df of [1, 3.5, 40]) {
      for (const t of [-2, 0.3, 5]) {
        const h = 1e-5;
        const slope = (studentTCdf(t + h, df) - studentTCdf(t - h, df)) / (2 * h);
        expectRel(studentTPdf(t, df), slope, 1e-7);
      }
    }
  });
});
