import type { Direction } from "../db/entities/metric.js";
import type { Interval } from "../kpi/figures.js";
import type { PhaseAggregate } from "../kpi/phase-aggregates.js";
import type { RoiFigures } from "../kpi/roi.js";
import { observationsNeeded } from "./power.js";

// Contract "Decision": PROMOTE / STOP / EXTEND for a pilot, from figures the API already computes.

export type Decision = "PROMOTE" | "EXTEND" | "STOP";

export interface Recommendation {
  decision: Decision;
  reason: string;
  observationsNeeded: number | null;
}

export interface KpiEvidence {
  metricKey: string;
  direction: Direction;
  target: number | null;
  targetMet: boolean | null;
  current: number | null;
  improvementPct: number | null;
  pValue: number | null;
  confidence: Interval | null;
  /** Treatment-cohort phase moments (unweighted; what the statistics use). */
  before: Pick<PhaseAggregate, "n" | "mean" | "variance"> | null;
  after: Pick<PhaseAggregate, "n" | "mean" | "variance"> | null;
}

export interface PilotEvidence {
  daysInPilot: number;
  roi: RoiFigures;
  currency: string;
  kpis: KpiEvidence[];
  /** STOP needs at least this many days in PILOT (default 90). */
  minDays?: number;
}

export const SIGNIFICANCE = 0.05;
export const DEFAULT_MIN_DAYS = 90;

/** Improves significantly: p < 0.05 in the improving direction, or the interval lies above 0. */
export function improvesSignificantly(k: KpiEvidence): boolean {
  const byP = k.pValue !== null && k.pValue < SIGNIFICANCE && (k.improvementPct ?? 0) > 0;
  const byInterval = k.confidence !== null && k.confidence.low > 0;
  return byP || byInterval;
}

const num = (v: number, digits = 3) => Number(v.toPrecision(digits)).toLocaleString("en-US");
const pct = (v: number | null) => (v === null ? "n/a" : `${v.toFixed(1)} %`);
const pv = (p: number | null) =>
  p === null ? "no p-value" : p < 0.0001 ? "p < 0.0001" : `p = ${p.toFixed(4)}`;
const money = (v: number, currency: string) =>
  `${v < 0 ? "−" : ""}${Math.abs(Math.round(v)).toLocaleString("en-US")} ${currency}`;

function describe(k: KpiEvidence): string {
  const parts = [`improvement ${pct(k.improvementPct)}`, pv(k.pValue)];
  if (k.target !== null)
    parts.unshift(`current ${k.current === null ? "n/a" : num(k.current)} vs target ${num(k.target)}`);
  return `${k.metricKey} (${parts.join(", ")})`;
}

/** Further AFTER observations until this KPI's improvement would be significant at 80 % power. */
export function kpiObservationsNeeded(k: KpiEvidence): number | null {
  const b = k.before;
  const a = k.after;
  if (!b || !a || b.n < 2 || a.n < 2 || b.mean === null || a.mean === null) return null;
  if (b.variance === null || a.variance === null) return null;
  const effect = a.mean - b.mean;
  const improving = k.direction === "LOWER_IS_BETTER" ? effect < 0 : effect > 0;
  if (!improving) return null; // no improvement to detect
  return observationsNeeded({
    nBefore: b.n,
    varBefore: b.variance,
    nAfter: a.n,
    varAfter: a.variance,
    effect,
  });
}

export function recommend(e: PilotEvidence): Recommendation {
  const minDays = e.minDays ?? DEFAULT_MIN_DAYS;
  const withTarget = e.kpis.filter((k) => k.target !== null);
  const roiText = `12-month ROI ${e.roi.roiPct === null ? "n/a" : pct(e.roi.roiPct)} (net ${money(e.roi.net, e.currency)})`;

  const promote =
    withTarget.length > 0 &&
    withTarget.every((k) => k.targetMet === true && improvesSignificantly(k)) &&
    e.roi.net > 0;
  if (promote) {
    return {
      decision: "PROMOTE",
      reason: `Every KPI with a target meets it and improves significantly (${withTarget.map(describe).join("; ")}) and ${roiText} is positive.`,
      observationsNeeded: null,
    };
  }

  const significant = e.kpis.filter(improvesSignificantly);
  if (e.daysInPilot >= minDays && (significant.length === 0 || e.roi.net < 0)) {
    const days = Math.floor(e.daysInPilot);
    const why =
      significant.length === 0
        ? `no KPI improves significantly${e.kpis.length ? ` (${e.kpis.map(describe).join("; ")})` : " (no KPI is tracked)"}`
        : `${roiText} is negative`;
    return { decision: "STOP", reason: `After ${days} days in pilot, ${why}.`, observationsNeeded: null };
  }

  // EXTEND: what is missing, and how much more evidence the unproven KPIs need.
  const watched = withTarget.length ? withTarget : e.kpis;
  const unproven = watched.filter((k) => !improvesSignificantly(k));
  const needs = unproven.map(kpiObservationsNeeded).filter((n): n is number => n !== null);
  const needed = needs.length ? Math.max(...needs) : null;
  const missing: string[] = [];
  if (watched.length === 0) missing.push("no KPI is tracked");
  if (withTarget.length === 0 && watched.length) missing.push("no KPI has a target");
  const unmet = withTarget.filter((k) => k.targetMet !== true);
  if (unmet.length) missing.push(`target not met by ${unmet.map(describe).join("; ")}`);
  const notSig = unproven.filter((k) => !unmet.includes(k));
  if (notSig.length) missing.push(`not yet significant: ${notSig.map(describe).join("; ")}`);
  if (e.roi.net <= 0) missing.push(`${roiText} is not positive`);
  const more =
    needed === null ? "" : `, about ${needed.toLocaleString("en-US")} more AFTER observations for 80 % power`;
  const days = Math.floor(e.daysInPilot);
  return {
    decision: "EXTEND",
    reason: `After ${days} days in pilot: ${missing.join("; ") || "the evidence is incomplete"}${more}.`,
    observationsNeeded: needed,
  };
}
