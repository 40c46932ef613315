import { type KpiAggregateSpec, loadPhaseSamples, type Queryable, SAMPLE_ALL } from "./phase-aggregates.js";

/** Values per phase the bootstrap works on at most; larger phases are sampled (same rate for both). */
export const BOOTSTRAP_MAX_VALUES = 200_000;
/** Fixed: the sample is a function of the data alone, so the interval is reproducible. */
export const BOOTSTRAP_SAMPLE_SEED = 1_970_365_810;

/** Out of 2^20: the share of a KPI's observations the bootstrap keeps (all up to BOOTSTRAP_MAX_VALUES). */
export function sampleThreshold(sizes: { before: number; after: number }): number {
  const largest = Math.max(sizes.before, sizes.after);
  return largest > BOOTSTRAP_MAX_VALUES
    ? Math.floor((BOOTSTRAP_MAX_VALUES / largest) * SAMPLE_ALL)
    : SAMPLE_ALL;
}

/** One KPI's bootstrap sample (the engine batches many through loadPhaseSamples). */
export async function loadPhaseValues(
  db: Queryable,
  k: Omit<KpiAggregateSpec, "kpiId" | "aggregation" | "cohort"> & {
    cohort: { dimension: string; treatment: string } | null;
  },
  sizes: { before: number; after: number },
): Promise<{ before: Float64Array; after: Float64Array }> {
  const spec: KpiAggregateSpec = {
    ...k,
    kpiId: "0",
    aggregation: "MEDIAN",
    cohort: k.cohort ? { ...k.cohort, control: "" } : null,
  };
  const found = await loadPhaseSamples(db, [spec], [sampleThreshold(sizes)], BOOTSTRAP_SAMPLE_SEED);
  return found.get("0")!;
}
