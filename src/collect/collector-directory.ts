import type { CollectorRun, CollectorSummary } from "../domain/collector-run.js";

/** What the API needs from the collectors (src/collect implements it; the API never imports collectors/). */
export interface CollectorDirectory {
  list(): Promise<CollectorSummary[]>;
  runs(collector: string | null, limit: number): Promise<CollectorRun[]>;
  /** Runs now, outside the schedule; NOT_FOUND for an unknown name, CONFLICT when one is running. */
  runNow(name: string): Promise<CollectorRun>;
}
