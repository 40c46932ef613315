import type { Direction } from "../db/entities/metric.js";
import { finiteOrNull, improvementInUnits } from "./improvement.js";

const YEAR_MS = 365.25 * 24 * 3600 * 1000;

export interface AnnualBenefitInput {
  direction: Direction;
  baseline: number | null;
  current: number | null;
  valuePerUnit: number | null;
  annualVolume: number | null;
  /** Σweight of the AFTER phase. */
  afterCount: number;
  /** Start of the AFTER span: afterFrom or goLiveAt (or, with neither, the first AFTER observation). */
  spanStart: Date | null;
  /** End of the AFTER span: afterTo or the last AFTER observation. */
  spanEnd: Date | null;
}

/** Events per year: `annualVolume`, else the AFTER count over the AFTER span (365.25-day years). */
export function annualisedVolume(
  i: Omit<AnnualBenefitInput, "direction" | "baseline" | "current" | "valuePerUnit">,
): number | null {
  if (i.annualVolume !== null) return i.annualVolume;
  if (!i.spanStart || !i.spanEnd) return null;
  const years = (i.spanEnd.getTime() - i.spanStart.getTime()) / YEAR_MS;
  if (years <= 0) return null;
  return i.afterCount / years;
}

/** (improvement in units) × valuePerUnit × volume; null without valuePerUnit or an annualisable volume. */
export function annualBenefit(i: AnnualBenefitInput): number | null {
  if (i.valuePerUnit === null) return null;
  const delta = improvementInUnits(i.direction, i.baseline, i.current);
  if (delta === null) return null;
  const volume = annualisedVolume(i);
  if (volume === null) return null;
  return finiteOrNull(delta * i.valuePerUnit * volume);
}
