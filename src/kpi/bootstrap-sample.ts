import type { Queryable } from "./phase-aggregates.js";
import type { KpiWindows } from "./phases.js";

/** Values per phase the bootstrap works on at most; larger phases are sampled (same rate for both). */
export const BOOTSTRAP_MAX_VALUES = 200_000;
/** Fixed: the sample is a function of the data alone, so the interval is reproducible. */
export const BOOTSTRAP_SAMPLE_SEED = 1_970_365_810;

export interface PhaseValues {
  before: Float64Array;
  after: Float64Array;
  /** Fraction of observations kept (1 = all). */
  sampleRate: number;
}

/**
 * The BEFORE and AFTER values of one KPI (the treatment cohort when it has one), for the percentile
 * bootstrap. Above BOOTSTRAP_MAX_VALUES a phase is thinned by a deterministic hash of each observation's
 * id (Bernoulli sampling at one rate for both phases), so 1,000,000 observations cost one index scan and
 * an array of at most ~200,000 values per phase.
 */
export async function loadPhaseValues(
  db: Queryable,
  k: {
    projectId: string;
    metricId: string;
    windows: KpiWindows;
    cohort: { dimension: string; treatment: string } | null;
  },
  sizes: { before: number; after: number },
): Promise<PhaseValues> {
  const largest = Math.max(sizes.before, sizes.after);
  const sampleRate = largest > BOOTSTRAP_MAX_VALUES ? BOOTSTRAP_MAX_VALUES / largest : 1;
  const threshold = Math.floor(sampleRate * 2 ** 20);
  const rows = await db.query(
    `SELECT ph.phase, array_agg(o.value) AS vals
     FROM observation o
     CROSS JOIN LATERAL (VALUES
       ('b', $4::timestamptz IS NOT NULL AND o.observed_at < $4 AND ($3::timestamptz IS NULL OR o.observed_at >= $3)),
       ('a', ($5::timestamptz IS NULL OR o.observed_at >= $5) AND ($6::timestamptz IS NULL OR o.observed_at < $6))
     ) ph(phase, inside)
     WHERE o.project_id = $1 AND o.metric_id = $2 AND ph.inside
       AND ($7::text IS NULL OR o.dimensions ->> $7 = $8)
       AND ($9::int >= 1048576 OR (hashint8(o.id # $10::bigint) & 1048575) < $9::int)
     GROUP BY ph.phase`,
    [
      k.projectId,
      k.metricId,
      k.windows.before?.from?.toISOString() ?? null,
      k.windows.before?.to?.toISOString() ?? null,
      k.windows.after.from?.toISOString() ?? null,
      k.windows.after.to?.toISOString() ?? null,
      k.cohort?.dimension ?? null,
      k.cohort?.treatment ?? null,
      threshold,
      BOOTSTRAP_SAMPLE_SEED,
    ],
  );
  const of = (phase: string) =>
    Float64Array.from((rows.find((r) => r.phase === phase)?.vals ?? []) as number[]);
  return { before: of("b"), after: of("a"), sampleRate };
}
