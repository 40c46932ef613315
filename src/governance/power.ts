// How many more AFTER observations a KPI needs before its improvement would be significant, at the
// current variance and effect (docs/governance.md, "observationsNeeded").
//
// Two-sample comparison of means with the BEFORE sample fixed (n_b, s_b²) and the AFTER sample growing
// (s_a² per observation). The difference d̂ = ā − b̄ has standard error SE(n_a) = √(s_b²/n_b + s_a²/n_a).
// A two-sided test at level α rejects when |d̂|/SE > z_{1−α/2}; if the true difference is d, that
// happens with probability ≈ Φ(|d|/SE − z_{1−α/2}) (normal approximation, the far tail ignored).
// Power 1 − β therefore needs |d|/SE ≥ z_{1−α/2} + z_{1−β} =: z, i.e.
//     s_b²/n_b + s_a²/n_a ≤ d²/z²   ⇔   n_a ≥ s_a² / (d²/z² − s_b²/n_b),
// which has a solution only when the fixed baseline alone is precise enough: s_b²/n_b < d²/z².
// With n_b = n_a = n and s_b = s_a = σ this is the textbook n = 2σ²z²/d² per group.

/** z_{0.975}: two-sided α = 0.05. */
export const Z_ALPHA_05 = 1.959963984540054;
/** z_{0.80}: power 0.8. */
export const Z_POWER_80 = 0.8416212335729143;

export interface PowerInput {
  /** BEFORE sample: size and sample variance. */
  nBefore: number;
  varBefore: number;
  /** AFTER sample so far: size and sample variance. */
  nAfter: number;
  varAfter: number;
  /** The current difference of the means (either sign). */
  effect: number;
}

/** The AFTER sample size at which the power reaches 1 − β; null when no AFTER size can reach it. */
export function requiredAfterSize(p: PowerInput, zAlpha = Z_ALPHA_05, zPower = Z_POWER_80): number | null {
  const z = zAlpha + zPower;
  const room = (p.effect * p.effect) / (z * z) - p.varBefore / p.nBefore;
  if (!(p.effect !== 0 && room > 0 && Number.isFinite(room) && p.nBefore > 0)) return null;
  if (p.varAfter === 0) return 1;
  const n = Math.ceil(p.varAfter / room - 1e-9);
  return Number.isFinite(n) ? Math.max(1, n) : null;
}

/** Further AFTER observations needed (0 when the current size already suffices); null when unreachable. */
export function observationsNeeded(p: PowerInput): number | null {
  const n = requiredAfterSize(p);
  return n === null ? null : Math.max(0, n - p.nAfter);
}
