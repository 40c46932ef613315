// Pure statistics behind the KPI figures pValue and confidence (no database access).

export {
  BOOTSTRAP_RESAMPLES,
  BOOTSTRAP_SEED,
  type BootstrapOptions,
  bootstrapImprovementInterval,
  percentileOfSorted,
  percentileRank,
  resampledOrderStatisticIndex,
} from "./bootstrap.js";
export { type Rng, sampleWithoutReplacement, xoshiro128ss } from "./random.js";
export {
  logGamma,
  regularizedIncompleteBeta,
  studentTCdf,
  studentTPdf,
  studentTQuantile,
  studentTTwoSidedP,
} from "./student-t.js";
export type { Direction, Interval, SufficientStats } from "./types.js";
export {
  type PhaseMoments,
  phaseMoments,
  sufficientStats,
  type WelchTest,
  welchImprovementInterval,
  welchTTest,
} from "./welch.js";
