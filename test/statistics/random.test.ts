import { describe, expect, it } from "vitest";
import {
  betaVariate,
  gammaVariate,
  sampleWithoutReplacement,
  xoshiro128ss,
  xoshiro128ssFromState,
} from "../../src/kpi/statistics/random.js";

describe("xoshiro128**", () => {
  it("reproduces the reference output for the state (1, 2, 3, 4)", () => {
    // First outputs of the C reference implementation (prng.di.unimi.it/xoshiro128starstar.c).
    const rng = xoshiro128ssFromState([1, 2, 3, 4]);
    const expected = [
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
    ];
    expect(Array.from({ length: expected.length }, () => rng.nextUint32())).toEqual(expected);
  });

  it("is deterministic for a seed; different seeds give different streams", () => {
    const draw = (seed: number) => {
      const rng = xoshiro128ss(seed);
      return Array.from({ length: 20 }, () => rng.nextUint32());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(0)).not.toEqual(new Array(20).fill(0));
  });

  it("nextFloat is in [0, 1) and nextInt(n) is in range and uniform (χ² test)", () => {
    const rng = xoshiro128ss(9);
    for (let i = 0; i < 10_000; i++) {
      const u = rng.nextFloat();
      expect(u >= 0 && u < 1).toBe(true);
    }
    for (const n of [1, 7, 1000, 5_000_000]) {
      for (let i = 0; i < 1000; i++) {
        const k = rng.nextInt(n);
        expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true);
      }
    }
    const bins = 7;
    const draws = 70_000;
    const counts = new Array<number>(bins).fill(0);
    for (let i = 0; i < draws; i++) counts[rng.nextInt(bins)]++;
    const expected = draws / bins;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(22.46); // χ²(6) at p = 0.001
    expect(() => rng.nextInt(0)).toThrow(RangeError);
    expect(() => rng.nextInt(2.5)).toThrow(RangeError);
  });
});

describe("gamma and beta variates", () => {
  it("have the right mean and variance", () => {
    const rng = xoshiro128ss(123);
    const draws = 100_000;
    for (const shape of [1, 2.5, 40]) {
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < draws; i++) {
        const g = gammaVariate(shape, rng);
        sum += g;
        sumSq += g * g;
      }
      const mean = sum / draws;
      const variance = sumSq / draws - mean * mean;
      expect(Math.abs(mean - shape)).toBeLessThan(5 * Math.sqrt(shape / draws));
      expect(Math.abs(variance / shape - 1)).toBeLessThan(0.05);
    }
    const [a, b] = [3, 8];
    let sum = 0;
    for (let i = 0; i < draws; i++) sum += betaVariate(a, b, rng);
    const sd = Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1)) / draws);
    expect(Math.abs(sum / draws - a / (a + b))).toBeLessThan(5 * sd);
  });
});

describe("sampleWithoutReplacement", () => {
  const values = Array.from({ length: 50 }, (_, i) => i * 1.5);

  it("draws k distinct values of the input, deterministically for a seed", () => {
    const a = sampleWithoutReplacement(values, 10, xoshiro128ss(5));
    const b = sampleWithoutReplacement(values, 10, xoshiro128ss(5));
    const c = sampleWithoutReplacement(values, 10, xoshiro128ss(6));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.length).toBe(10);
    expect(new Set(a).size).toBe(10);
    for (const x of a) expect(values).toContain(x);
  });

  it("returns everything when k ≥ n, nothing when k = 0, and leaves the input alone", () => {
    const copy = [...values];
    expect([...sampleWithoutReplacement(values, 80, xoshiro128ss(1))].sort((x, y) => x - y)).toEqual(values);
    expect(sampleWithoutReplacement(values, 0, xoshiro128ss(1)).length).toBe(0);
    expect(values).toEqual(copy);
    expect(() => sampleWithoutReplacement(values, -1, xoshiro128ss(1))).toThrow(RangeError);
  });

  it("selects every element with probability k/n", () => {
    const rng = xoshiro128ss(77);
    const n = 20;
    const k = 5;
    const trials = 40_000;
    const hits = new Array<number>(n).fill(0);
    const source = Array.from({ length: n }, (_, i) => i);
    for (let t = 0; t < trials; t++) for (const x of sampleWithoutReplacement(source, k, rng)) hits[x]++;
    const p = k / n;
    const sd = Math.sqrt(trials * p * (1 - p));
    for (const h of hits) expect(Math.abs(h - trials * p)).toBeLessThan(5 * sd);
  });
});
