import { describe, expect, it } from "vitest";
import { observationsNeeded, requiredAfterSize, Z_ALPHA_05, Z_POWER_80 } from "../../src/governance/power.js";

// The power calculation against an independent computation: a normal CDF written here from the
// Abramowitz–Stegun erf approximation (7.1.26, |error| < 1.5e-7), and the textbook equal-allocation
// sample sizes n = 2σ²(z₀.₉₇₅ + z₀.₈)²/d².

function phi(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp((-x * x) / 2);
  return x >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

/** Two-sided power of the two-sample z test (both tails) with the baseline fixed. */
function power(d: number, varB: number, nB: number, varA: number, nA: number): number {
  const se = Math.sqrt(varB / nB + varA / nA);
  return phi(Math.abs(d) / se - 1.959963984540054) + phi(-Math.abs(d) / se - 1.959963984540054);
}

describe("power calculation", () => {
  it("its z constants are the 97.5 % and 80 % normal quantiles", () => {
    expect(phi(Z_ALPHA_05)).toBeCloseTo(0.975, 6);
    expect(phi(Z_POWER_80)).toBeCloseTo(0.8, 6);
  });

  it("with equal allocation it gives the normal-approximation table values 393, 63, 25 for d = 0.2, 0.5, 0.8", () => {
    // Smallest n for which a baseline of n leaves room for an AFTER sample of at most n.
    const equal = (d: number) => {
      for (let n = 2; ; n++) {
        const need = requiredAfterSize({ nBefore: n, varBefore: 1, nAfter: 0, varAfter: 1, effect: d });
        if (need !== null && need <= n) return n;
      }
    };
    const textbook = (d: number) => Math.ceil((2 * (1.959963984540054 + 0.8416212335729143) ** 2) / d ** 2);
    expect([0.2, 0.5, 0.8].map(textbook)).toEqual([393, 63, 25]);
    expect([0.2, 0.5, 0.8].map(equal)).toEqual([393, 63, 25]);
    // Cohen's t-test table (A Power Primer, 1992) gives 393, 64, 26: the t correction adds at most one.
  });

  it("the size it returns is the smallest that reaches 80 % power (independent power computation)", () => {
    const cases = [
      { nBefore: 40, varBefore: 4, varAfter: 9, effect: -1.5 },
      { nBefore: 200, varBefore: 1, varAfter: 2.5, effect: 0.4 },
      { nBefore: 12, varBefore: 0.3, varAfter: 0.8, effect: 0.9 },
    ];
    for (const c of cases) {
      const n = requiredAfterSize({ ...c, nAfter: 0 })!;
      expect(n).toBeGreaterThan(1);
      expect(power(c.effect, c.varBefore, c.nBefore, c.varAfter, n)).toBeGreaterThanOrEqual(0.8);
      expect(power(c.effect, c.varBefore, c.nBefore, c.varAfter, n - 1)).toBeLessThan(0.8);
    }
  });

  it("subtracts what the AFTER phase already has, and is null when the fixed baseline alone is too noisy", () => {
    // Worked example of docs/governance.md: baseline n 8, s² 4/7; after n 4, s² 2/3; d = −1 → 12 in all.
    const p = { nBefore: 8, varBefore: 4 / 7, nAfter: 4, varAfter: 2 / 3, effect: -1 };
    expect(requiredAfterSize(p)).toBe(12);
    expect(observationsNeeded(p)).toBe(8);
    expect(observationsNeeded({ ...p, nAfter: 30 })).toBe(0);
    // s_b²/n_b = 0.2 ≥ d²/z² = 1/7.85: no AFTER size can make it significant at 80 % power.
    expect(observationsNeeded({ ...p, varBefore: 1.6 })).toBeNull();
    expect(observationsNeeded({ ...p, effect: 0 })).toBeNull();
  });
});
