// Independent reference implementations for the statistics tests. Nothing here calls the module under
// test: the t distribution is integrated numerically from its density, variances use two passes.

/**
 * P(T ≤ t) for Student's t with df degrees of freedom, by composite Simpson's rule on the density
 * after t = sinh(u), which makes the integrand (1 + sinh²u/df)^(−(df+1)/2)·cosh u smooth and decaying
 * like e^(−df·|u|), cut where it falls below 1e-20. The normalising constant is integrated too,
 * so no gamma function is needed. Good to ~1e-12 for 1 ≤ df ≤ 1e4.
 */
export function simpsonTCdf(t: number, df: number, intervals = 20_000): number {
  const g = (u: number): number => Math.cosh(u) * (1 + Math.sinh(u) ** 2 / df) ** (-(df + 1) / 2);
  let edge = 0.01;
  while (g(edge) > 1e-20) edge *= 1.1;
  const integrate = (from: number, to: number): number => {
    const n = intervals % 2 === 0 ? intervals : intervals + 1;
    const h = (to - from) / n;
    let sum = g(from) + g(to);
    for (let i = 1; i < n; i++) sum += (i % 2 === 1 ? 4 : 2) * g(from + i * h);
    return (sum * h) / 3;
  };
  const total = integrate(-edge, edge);
  const u = Math.asinh(t);
  if (u <= -edge) return 0;
  if (u >= edge) return 1;
  // Integrate the smaller side so that tail probabilities keep their relative accuracy.
  return u <= 0 ? integrate(-edge, u) / total : 1 - integrate(u, edge) / total;
}

/** Two-sided p-value P(|T| ≥ |t|) by Simpson's rule. */
export function simpsonTwoSidedP(t: number, df: number): number {
  return 2 * simpsonTCdf(-Math.abs(t), df);
}

/** The t in [−64, 64] with simpsonTCdf(t, df) = p, by plain bisection (to ~2e-13). */
export function simpsonTQuantile(p: number, df: number, intervals = 4000): number {
  let lo = -64;
  let hi = 64;
  for (let i = 0; i < 48; i++) {
    const mid = (lo + hi) / 2;
    if (simpsonTCdf(mid, df, intervals) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Mean and sample variance by the two-pass algorithm (mean first, then squared deviations). */
export function twoPass(values: readonly number[]): { n: number; mean: number; variance: number } {
  const n = values.length;
  const mean = values.reduce((s, x) => s + x, 0) / n;
  const variance = values.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  return { n, mean, variance };
}

/** Welch's test written out from the textbook formulas, p-value by Simpson's rule. */
export function referenceWelch(before: readonly number[], after: readonly number[]) {
  const b = twoPass(before);
  const a = twoPass(after);
  const vb = b.variance / b.n;
  const va = a.variance / a.n;
  const se = Math.sqrt(vb + va);
  const df = (vb + va) ** 2 / (vb ** 2 / (b.n - 1) + va ** 2 / (a.n - 1));
  const t = (a.mean - b.mean) / se;
  return { b, a, se, df, t, pValue: simpsonTwoSidedP(t, df) };
}

/** The sums an SQL query would return for one phase. */
export function sums(values: readonly number[]): { n: number; sum: number; sumSq: number } {
  let sum = 0;
  let sumSq = 0;
  for (const x of values) {
    sum += x;
    sumSq += x * x;
  }
  return { n: values.length, sum, sumSq };
}

/** mulberry32: a small PRNG for generating test data, unrelated to the module's xoshiro128**. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal variates by Box–Muller from a uniform source. */
export function normals(uniform: () => number): () => number {
  return () => {
    const u = 1 - uniform();
    const v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}
