import type { KpiRow } from "../db/entities/kpi.js";
import type { Aggregation, MetricRow } from "../db/entities/metric.js";
import type { ProjectRow } from "../db/entities/project.js";
import { annualBenefit } from "./annual-benefit.js";
import { finiteOrNull, improvementPct, targetMet } from "./improvement.js";
import { centsOrNull } from "./money.js";
import type { CohortAggregates, KpiAggregates, PhaseAggregate } from "./phase-aggregates.js";
import { type KpiWindows, resolveWindows } from "./phases.js";
import { type SufficientStats, welchImprovementInterval, welchTTest } from "./statistics/index.js";

export interface PhaseSummary {
  value: number | null;
  count: number;
  from: Date | null;
  to: Date | null;
}

export interface ControlFigures {
  dimension: string;
  treatment: string;
  control: string;
  controlBaseline: PhaseSummary;
  controlCurrent: PhaseSummary;
  controlChangePct: number | null;
  adjustedImprovementPct: number | null;
}

export interface Interval {
  low: number;
  high: number;
  level: number;
}

export interface KpiFigures {
  baseline: PhaseSummary;
  current: PhaseSummary;
  improvementPct: number | null;
  targetMet: boolean | null;
  annualBenefit: number | null;
  control: ControlFigures | null;
  pValue: number | null;
  confidence: Interval | null;
  updatedAt: Date | null;
}

/** Everything the figures of one KPI depend on. */
export interface KpiSubject {
  kpi: KpiRow;
  metric: MetricRow;
  project: ProjectRow;
}

export function windowsOf(s: KpiSubject): KpiWindows {
  return resolveWindows(s.kpi, s.project.goLiveAt);
}

/** Phase value by the metric's aggregation, weights applied; null for an empty phase. */
export function phaseValue(aggregation: Aggregation, p: PhaseAggregate): number | null {
  if (p.n === 0) return null;
  switch (aggregation) {
    case "MEAN":
      return finiteOrNull(p.weightedSum / p.weight);
    case "MEDIAN":
    case "P90":
      return p.percentile;
    case "SUM":
      return finiteOrNull(p.weightedSum);
    case "COUNT":
      return p.weight;
  }
}

export function phaseSummary(aggregation: Aggregation, p: PhaseAggregate): PhaseSummary {
  return { value: phaseValue(aggregation, p), count: p.weight, from: p.first, to: p.last };
}

/**
 * A phase's unweighted moments as sufficient statistics centred on the mean (Σ(x − x̄) = 0,
 * Σ(x − x̄)² = s²·(n − 1)), which keeps them exact however large the values are.
 */
export function centredStats(p: PhaseAggregate): SufficientStats {
  const spread = p.min === p.max ? 0 : (p.variance ?? 0) * (p.n - 1);
  return { n: p.n, sum: 0, sumSq: spread, shift: p.mean ?? 0 };
}

/** Statistics exist only for a measured baseline, two samples a phase, and MEAN/MEDIAN/P90. */
export function statisticsApply(s: KpiSubject, agg: CohortAggregates): boolean {
  return (
    s.kpi.baselineValue === null &&
    ["MEAN", "MEDIAN", "P90"].includes(s.metric.aggregation) &&
    agg.before.n >= 2 &&
    agg.after.n >= 2
  );
}

/** Pure: turns the SQL aggregates of one KPI into its contract figures (statistics are filled by the caller). */
export function computeFigures(s: KpiSubject, agg: KpiAggregates, updatedAt: Date | null): KpiFigures {
  const { kpi, metric } = s;
  const direction = metric.direction;
  const t: CohortAggregates = agg.treatment;
  const baseline = phaseSummary(metric.aggregation, t.before);
  if (kpi.baselineValue !== null) baseline.value = kpi.baselineValue;
  const current = phaseSummary(metric.aggregation, t.after);
  const improvement = improvementPct(direction, baseline.value, current.value);

  const windows = windowsOf(s);
  const benefit = annualBenefit({
    direction,
    baseline: baseline.value,
    current: current.value,
    valuePerUnit: kpi.valuePerUnit,
    annualVolume: kpi.annualVolume,
    afterCount: current.count,
    spanStart: windows.after.from ?? current.from,
    spanEnd: kpi.afterTo ?? current.to,
  });

  let control: ControlFigures | null = null;
  if (kpi.cohortDimension && agg.control) {
    const controlBaseline = phaseSummary(metric.aggregation, agg.control.before);
    const controlCurrent = phaseSummary(metric.aggregation, agg.control.after);
    const controlChangePct = improvementPct(direction, controlBaseline.value, controlCurrent.value);
    control = {
      dimension: kpi.cohortDimension,
      treatment: kpi.cohortTreatment!,
      control: kpi.cohortControl!,
      controlBaseline,
      controlCurrent,
      controlChangePct,
      adjustedImprovementPct:
        improvement === null || controlChangePct === null
          ? null
          : finiteOrNull(improvement - controlChangePct),
    };
  }

  // MEAN: Welch's test and interval from the SQL moments. MEDIAN/P90 intervals need the values
  // themselves (a bootstrap), computed on demand by the engine; their pValue is null by the contract.
  let pValue: number | null = null;
  let confidence: Interval | null = null;
  if (metric.aggregation === "MEAN" && statisticsApply(s, t)) {
    pValue = finiteOrNull(welchTTest(centredStats(t.before), centredStats(t.after))?.pValue);
    confidence = welchImprovementInterval(centredStats(t.before), centredStats(t.after), direction);
  }

  return {
    baseline,
    current,
    improvementPct: improvement,
    targetMet: targetMet(direction, current.value, kpi.target),
    // Money in cents (contract "Money"), so every reader (GraphQL, REST, SQL, ROI sums) sees the same figure.
    annualBenefit: centsOrNull(benefit),
    control,
    pValue,
    confidence,
    updatedAt,
  };
}
