import type { CollectorRunType, CollectorType } from "./types/collector.js";

/** What the API needs from the collectors (src/collect implements it; the API never imports collectors/). */
export interface CollectorDirectory {
  list(): Promise<CollectorType[]>;
  runs(collector: string | null, limit: number): Promise<CollectorRunType[]>;
  /** Runs now, outside the schedule; NOT_FOUND for an unknown name, CONFLICT when one is running. */
  runNow(name: string): Promise<CollectorRunType>;
}
