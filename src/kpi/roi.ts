import type { CostKind } from "../db/entities/cost.js";
import { finiteOrNull } from "./improvement.js";
import { cents } from "./money.js";

export interface RoiFigures {
  horizonMonths: number;
  benefit: number;
  cost: number;
  net: number;
  roiPct: number | null;
  paybackMonths: number | null;
}

/**
 * Contract "ROI": benefit = Σ annualBenefit × H/12 (null counts 0); cost = Σ ONE_TIME + Σ MONTHLY × H;
 * payback = Σ ONE_TIME / (monthly benefit − Σ MONTHLY). Where the contract leaves the order open, a
 * denominator ≤ 0 wins over "no one-time cost": a project whose running costs exceed its benefit never
 * pays back, so paybackMonths is null, not 0.
 */
export function computeRoi(
  horizonMonths: number,
  annualBenefits: (number | null)[],
  costs: { kind: CostKind; amount: number }[],
): RoiFigures {
  const annual = annualBenefits.reduce<number>((s, b) => s + (b ?? 0), 0);
  const oneTime = costs.filter((c) => c.kind === "ONE_TIME").reduce((s, c) => s + c.amount, 0);
  const monthly = costs.filter((c) => c.kind === "MONTHLY").reduce((s, c) => s + c.amount, 0);
  const benefit = (annual * horizonMonths) / 12;
  const cost = oneTime + monthly * horizonMonths;
  const net = benefit - cost;
  const denominator = annual / 12 - monthly;
  let paybackMonths: number | null;
  if (denominator <= 0) paybackMonths = null;
  else if (oneTime === 0) paybackMonths = 0;
  else paybackMonths = finiteOrNull(oneTime / denominator);
  // Money in cents (contract "Money"); the percentage and the months from the exact figures.
  const benefitCents = cents(benefit);
  const costCents = cents(cost);
  return {
    horizonMonths,
    benefit: benefitCents,
    cost: costCents,
    net: cents(benefitCents - costCents),
    roiPct: cost === 0 ? null : finiteOrNull((net / cost) * 100),
    paybackMonths,
  };
}
