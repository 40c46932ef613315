// Seeded pseudo-random numbers, so that bootstrap intervals are reproducible run after run.

export interface Rng {
  /** Uniform integer in [0, 2³²). */
  nextUint32(): number;
  /** Uniform in [0, 1), 53 random bits. */
  nextFloat(): number;
  /** Uniform integer in [0, n), without modulo bias; n ≤ 2³². */
  nextInt(n: number): number;
}

/**
 * xoshiro128** (Blackman & Vigna, 2018): period 2¹²⁸ − 1, far beyond the ~10⁹ draws a bootstrap can
 * take (mulberry32's 2³² would not be). The 32-bit seed is spread over the state with splitmix32, so
 * that nearby seeds give unrelated streams and the state is never all zero.
 */
export function xoshiro128ss(seed: number): Rng {
  let x = seed >>> 0;
  const splitmix32 = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
  const state = [splitmix32(), splitmix32(), splitmix32(), splitmix32()] as const;
  return xoshiro128ssFromState(state[0] || state[1] || state[2] || state[3] ? state : [1, 0, 0, 0]);
}

/** xoshiro128** from its raw 128-bit state (not all zero); for reference test vectors. */
export function xoshiro128ssFromState(state: readonly [number, number, number, number]): Rng {
  let [s0, s1, s2, s3] = state.map((w) => w >>> 0);
  const nextUint32 = (): number => {
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    return result;
  };
  const nextFloat = (): number => ((nextUint32() >>> 5) * 67108864 + (nextUint32() >>> 6)) / 9007199254740992;
  const nextInt = (n: number): number => {
    if (!(n >= 1 && n <= 4294967296) || !Number.isInteger(n)) throw new RangeError(`nextInt: bad bound ${n}`);
    // Lemire's method with rejection: floor(u·n / 2³²) is uniform once the short low band is rejected.
    // u·n is exact in doubles only up to n = 2²¹; larger n fall back to 53-bit floats.
    if (n > 2097152) return Math.floor(nextFloat() * n);
    const threshold = (4294967296 - n) % n;
    for (;;) {
      const m = nextUint32() * n;
      if (m % 4294967296 >= threshold) return Math.floor(m / 4294967296);
    }
  };
  return { nextUint32, nextFloat, nextInt };
}

/** Standard normal variate (Marsaglia's polar method). */
export function normalVariate(rng: Rng): number {
  for (;;) {
    const u = 2 * rng.nextFloat() - 1;
    const v = 2 * rng.nextFloat() - 1;
    const s = u * u + v * v;
    if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s);
  }
}

/** Gamma(shape, 1) variate for shape ≥ 1 (Marsaglia & Tsang, 2000). */
export function gammaVariate(shape: number, rng: Rng): number {
  if (!(shape >= 1)) throw new RangeError(`gammaVariate: shape must be ≥ 1, got ${shape}`);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = normalVariate(rng);
    const base = 1 + c * z;
    if (base <= 0) continue;
    const v = base * base * base;
    const u = 1 - rng.nextFloat(); // (0, 1]
    const z2 = z * z;
    if (u < 1 - 0.0331 * z2 * z2 || Math.log(u) < 0.5 * z2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) variate for a, b ≥ 1, as G_a/(G_a + G_b). */
export function betaVariate(a: number, b: number, rng: Rng): number {
  const x = gammaVariate(a, rng);
  const y = gammaVariate(b, rng);
  return x / (x + y);
}

/**
 * k values drawn uniformly without replacement (partial Fisher–Yates on a copy), for callers whose
 * phases are too large to sort whole; deterministic for a given generator state. Order is random.
 */
export function sampleWithoutReplacement(values: ArrayLike<number>, k: number, rng: Rng): Float64Array {
  if (!(k >= 0) || !Number.isInteger(k)) throw new RangeError(`sampleWithoutReplacement: bad k ${k}`);
  const pool = Float64Array.from(values);
  const take = Math.min(k, pool.length);
  for (let i = 0; i < take; i++) {
    const j = i + rng.nextInt(pool.length - i);
    const tmp = pool[i];
    pool[i] = pool[j];
    pool[j] = tmp;
  }
  return pool.slice(0, take);
}
