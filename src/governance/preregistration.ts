import type { KpiRow } from "../db/entities/kpi.js";
import { type KpiSubject, windowsOf } from "../kpi/figures.js";

/** When the AFTER phase begins: `afterFrom`, else go-live (null: it has not been scheduled). */
export function afterPhaseStart(s: KpiSubject): Date | null {
  return windowsOf(s).after.from;
}

/**
 * Contract "Pre-registration": the KPI, its target and its windows were all set before the AFTER phase
 * began. A KPI without a target has pre-registered nothing, so it is false; a KPI whose AFTER phase has
 * no start yet (no go-live, no afterFrom) is true while it has a target, and turns false if go-live is
 * later set to a time before any of the three.
 */
export function isPreRegistered(kpi: KpiRow, afterStart: Date | null): boolean {
  if (kpi.target === null || kpi.targetSetAt === null) return false;
  if (afterStart === null) return true;
  const t = afterStart.getTime();
  return kpi.createdAt.getTime() < t && kpi.targetSetAt.getTime() < t && kpi.windowsSetAt.getTime() < t;
}
