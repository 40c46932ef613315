import type { ProjectRow, ProjectStage } from "../db/entities/project.js";
import { PROJECT_STAGES } from "../db/entities/project.js";
import type { StageChangeRow } from "../db/entities/stage-change.js";

const DAY_MS = 86_400_000;

export interface PortfolioFigures {
  projectCount: number;
  byStage: { stage: ProjectStage; count: number }[];
  medianDaysInPilot: number | null;
  pilotConversionPct: number | null;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Days a project has spent in PILOT in all, counting a stint still open up to `now`; null if never. */
export function daysInPilot(history: StageChangeRow[], now: Date): number | null {
  let total = 0;
  let ever = false;
  history.forEach((h, i) => {
    if (h.stage !== "PILOT") return;
    ever = true;
    const end = i + 1 < history.length ? history[i + 1].at : now;
    total += Math.max(0, end.getTime() - h.at.getTime());
  });
  return ever ? total / DAY_MS : null;
}

/** A project that entered PILOT converted when it reached PRODUCTION at or after its first PILOT entry. */
export function convertedFromPilot(history: StageChangeRow[]): boolean | null {
  const firstPilot = history.findIndex((h) => h.stage === "PILOT");
  if (firstPilot < 0) return null;
  return history.slice(firstPilot + 1).some((h) => h.stage === "PRODUCTION");
}

/** Start of the project's current stint in its current stage (the latest change). */
export function currentStageSince(history: StageChangeRow[]): Date | null {
  return history.length ? history[history.length - 1].at : null;
}

export function isStalledPilot(
  project: ProjectRow,
  history: StageChangeRow[],
  olderThanDays: number,
  now: Date,
): boolean {
  if (project.stage !== "PILOT") return false;
  const since = currentStageSince(history) ?? project.createdAt;
  return now.getTime() - since.getTime() > olderThanDays * DAY_MS;
}

export function portfolioFigures(
  projects: ProjectRow[],
  histories: Map<string, StageChangeRow[]>,
  now: Date,
): PortfolioFigures {
  const counts = new Map<ProjectStage, number>(PROJECT_STAGES.map((s) => [s, 0]));
  const pilotDays: number[] = [];
  let enteredPilot = 0;
  let converted = 0;
  for (const p of projects) {
    counts.set(p.stage, (counts.get(p.stage) ?? 0) + 1);
    const h = histories.get(p.id) ?? [];
    const days = daysInPilot(h, now);
    if (days !== null) pilotDays.push(days);
    const conv = convertedFromPilot(h);
    if (conv !== null) {
      enteredPilot++;
      if (conv) converted++;
    }
  }
  return {
    projectCount: projects.length,
    byStage: PROJECT_STAGES.map((stage) => ({ stage, count: counts.get(stage) ?? 0 })),
    medianDaysInPilot: median(pilotDays),
    pilotConversionPct: enteredPilot ? (converted / enteredPilot) * 100 : null,
  };
}
