// Student's t distribution for real (non-integer) degrees of freedom, through the regularized incomplete
// beta function. Relative accuracy is about 1e-13 for df up to 1e9; |t| up to ~1e300.

const HALF_LOG_2PI = 0.9189385332046728; // ln √(2π)
const EPS = 3e-16; // series and fractions stop once a step changes the result by less than this
const TINY = 1e-300; // keeps Lentz's denominators off zero
const LOG_SQRT_PI = 0.5723649429247001; // ln √π = ln Γ(½)
const BGRAT_MIN_DF = 100; // from here on the asymptotic expansion beats the continued fraction near x = 1
const MAX_CF_ITERATIONS = 100_000; // the fraction needs O(√max(a, b)) terms; 1e5 covers df ≈ 1e10

// Stirling-series coefficients B₂ₖ/(2k(2k − 1)), k = 1…7.
const STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156];

/** Stirling-series remainder δ(x) = lnΓ(x) − [(x − ½)ln x − x + ln √(2π)], for x ≥ 10 (error < 1e-17). */
function stirlingRemainder(x: number): number {
  const z = 1 / (x * x);
  let sum = 0;
  for (let k = STIRLING.length - 1; k >= 0; k--) sum = sum * z + STIRLING[k];
  return sum / x;
}

/** ln Γ(x) for x > 0. Below 10 the argument is shifted up so the Stirling series stays accurate. */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma: x must be > 0, got ${x}`);
  if (x >= 10) return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + stirlingRemainder(x);
  let product = 1;
  let y = x;
  while (y < 10) {
    product *= y;
    y += 1;
  }
  return logGamma(y) - Math.log(product);
}

/**
 * ln Γ(a + s) − ln Γ(a). For large a the difference of two huge logGamma values would lose digits
 * (lnΓ(1e6) ≈ 1.3e7), so it is rebuilt from terms of moderate size.
 */
function logGammaRatio(a: number, s: number): number {
  if (a < 10) return logGamma(a + s) - logGamma(a);
  return (
    (a - 0.5) * Math.log1p(s / a) + s * Math.log(a + s) - s + stirlingRemainder(a + s) - stirlingRemainder(a)
  );
}

/** −ln B(a, b) = ln Γ(a + b) − ln Γ(a) − ln Γ(b); accurate when min(a, b) is moderate (0.5 for t). */
function negLogBeta(a: number, b: number): number {
  const big = Math.max(a, b);
  const small = Math.min(a, b);
  return logGammaRatio(big, small) - logGamma(small);
}

/**
 * Continued fraction for I_x(a, b) (Numerical Recipes `betacf`, modified Lentz). Ill-conditioned for
 * x near 1 with a large (the terms cancel to ~a·ε); the t distribution routes that case to `bgrat`.
 */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_CF_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) return h;
  }
  throw new Error(`incomplete beta: continued fraction did not converge (a=${a}, b=${b}, x=${x})`);
}

/**
 * I_x(a, b) with y = 1 − x and both logarithms passed in, so that x close to 1 (small |t|) loses no
 * digits and a·ln x stays exact when a is huge (ln of a rounded 1/(1 + r) would be off by a·1e-16).
 * The fraction is evaluated on the side where it converges fast, which also keeps a small result
 * accurate relative to its size (tiny p-values).
 */
function incompleteBeta(a: number, b: number, x: number, y: number, logX: number, logY: number): number {
  if (logX === Number.NEGATIVE_INFINITY) return 0; // tested on the logs: x itself may underflow
  if (logY === Number.NEGATIVE_INFINITY) return 1;
  const front = Math.exp(negLogBeta(a, b) + a * logX + b * logY);
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, y)) / b;
}

/** Regularized incomplete beta function I_x(a, b), for a, b > 0 and 0 ≤ x ≤ 1. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1)) {
    throw new RangeError(`regularizedIncompleteBeta: need a, b > 0 and 0 ≤ x ≤ 1 (x=${x}, a=${a}, b=${b})`);
  }
  return incompleteBeta(a, b, x, 1 - x, Math.log(x), Math.log1p(-x));
}

/** Q(½, z)/r with r = e^(−z)·√z/√π: the scaled upper incomplete gamma (NR `gser` / `gcf`) for b = ½. */
function scaledUpperGammaHalf(z: number): number {
  if (z < 1.5) {
    // Q = 1 − P, P = r·Σ zⁿ/(½·(3/2)···(½ + n)); P ≤ 0.92 here, so the subtraction keeps its digits.
    let ap = 0.5;
    let term = 2;
    let sum = term;
    for (let i = 0; i < 1000 && term > sum * EPS; i++) {
      ap += 1;
      term *= z / ap;
      sum += term;
    }
    return Math.exp(z - 0.5 * Math.log(z) + LOG_SQRT_PI) - sum;
  }
  let b = z + 0.5;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i <= MAX_CF_ITERATIONS; i++) {
    const an = -i * (i - 0.5);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) return h;
  }
  throw new Error(`incomplete gamma: continued fraction did not converge (z=${z})`);
}

/**
 * I_x(a, ½) for large a and x = 1/(1 + r2) near 1, by the asymptotic expansion BGRAT of DiDonato &
 * Morris (ACM TOMS 708, 1992, §9), specialised to b = ½ where the leading incomplete gamma is erfc.
 * Accurate to ~1e-15 for a ≥ 15 and r2 ≤ 1, where the continued fraction loses ~a·ε.
 */
function bgratHalf(a: number, r2: number): number {
  const b = 0.5;
  const nu = a - 0.25; // a + (b − 1)/2
  const lnx = -Math.log1p(r2);
  const z = -nu * lnx;
  if (z === 0) return 1;
  const logR = 0.5 * Math.log(z) - z - LOG_SQRT_PI; // r = e^(−z)·z^b/Γ(b)
  const u = Math.exp(logR + logGammaRatio(a, b) - b * Math.log(nu));
  const v = 0.25 / (nu * nu);
  const t2 = 0.25 * lnx * lnx;
  const c = new Float64Array(30);
  const d = new Float64Array(30);
  let j = scaledUpperGammaHalf(z);
  let sum = j;
  let t = 1;
  let cn = 1;
  let n2 = 0;
  for (let n = 1; n <= 30; n++) {
    const bp2n = b + n2;
    j = (bp2n * (bp2n + 1) * j + (z + bp2n + 1) * t) * v;
    n2 += 2;
    t *= t2;
    cn /= n2 * (n2 + 1);
    c[n - 1] = cn;
    let s = 0;
    let coef = b - n;
    for (let i = 1; i < n; i++) {
      s += coef * c[i - 1] * d[n - 1 - i];
      coef += b;
    }
    d[n - 1] = (b - 1) * cn + s / n;
    const dj = d[n - 1] * j;
    sum += dj;
    if (Math.abs(dj) <= EPS * sum) break;
  }
  return u * sum;
}

function checkDf(df: number): void {
  if (!(df > 0) || !Number.isFinite(df))
    throw new RangeError(`Student t: df must be finite and > 0, got ${df}`);
}

/** P(|T| ≥ |t|) = I_{df/(df+t²)}(df/2, ½), computed directly so small p-values keep their digits. */
export function studentTTwoSidedP(t: number, df: number): number {
  checkDf(df);
  if (Number.isNaN(t)) throw new RangeError("Student t: t is NaN");
  if (!Number.isFinite(t)) return 0;
  // x = df/(df + t²) = 1/(1 + r²), y = 1 − x = r²/(1 + r²), with r = |t|/√df.
  const r = Math.abs(t) / Math.sqrt(df);
  if (r > 1e150) {
    // r² would overflow; ln(1 + r²) = 2·ln r to within 1e-300.
    const logX = -2 * Math.log(r);
    return incompleteBeta(df / 2, 0.5, Math.exp(logX), 1, logX, 0);
  }
  const r2 = r * r;
  if (df >= BGRAT_MIN_DF && r2 <= 1) return bgratHalf(df / 2, r2);
  const log1pR2 = Math.log1p(r2);
  return incompleteBeta(df / 2, 0.5, 1 / (1 + r2), r2 / (1 + r2), -log1pR2, Math.log(r2) - log1pR2);
}

/** P(T ≤ t) for T ~ Student t with df degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = studentTTwoSidedP(t, df) / 2;
  return t > 0 ? 1 - tail : tail;
}

/** Density of Student's t with df degrees of freedom. */
export function studentTPdf(t: number, df: number): number {
  checkDf(df);
  const logNorm = -negLogBeta(df / 2, 0.5) + 0.5 * Math.log(df);
  return Math.exp(-logNorm - ((df + 1) / 2) * Math.log1p((t * t) / df));
}

/**
 * The t with P(T ≤ t) = p. Solves upper tail U(t) = q = min(p, 1 − p) for t ≥ 0 by Newton's method on
 * ln U (well scaled even for tiny q), falling back to bisection whenever a step leaves the bracket.
 */
export function studentTQuantile(p: number, df: number): number {
  checkDf(df);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`studentTQuantile: p must be in [0, 1], got ${p}`);
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0;
  const q = p < 0.5 ? p : 1 - p; // exact: 1 − p has no rounding for p ≥ ½
  const logQ = Math.log(q);
  const upper = (t: number) => studentTTwoSidedP(t, df) / 2;

  // Bracket [lo, hi] with U(lo) > q ≥ U(hi).
  let lo = 0;
  let hi = 1;
  while (upper(hi) > q && hi < 1e307) {
    lo = hi;
    hi *= 2;
  }
  let t = (lo + hi) / 2;
  for (let i = 0; i < 500; i++) {
    const u = upper(t);
    if (u > q) lo = t;
    else hi = t;
    let next = Number.NaN;
    if (u > 0) {
      const pdf = studentTPdf(t, df);
      if (pdf > 0) next = t + ((Math.log(u) - logQ) * u) / pdf; // Newton on h(t) = ln U(t) − ln q
    }
    if (!(next > lo && next < hi)) next = lo > 0 && hi / lo > 4 ? Math.sqrt(lo * hi) : (lo + hi) / 2;
    const converged = Math.abs(next - t) <= 4 * Number.EPSILON * next || hi - lo <= 4 * Number.EPSILON * hi;
    t = next;
    if (converged) break;
  }
  return p < 0.5 ? -t : t;
}
