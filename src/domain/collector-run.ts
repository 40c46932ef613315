// The plain shapes of collectors and their runs, owned by the engine; the GraphQL types implement them.

export type RunStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "SKIPPED";

export interface CollectorRun {
  id: string;
  /** The instance name. */
  collector: string;
  status: RunStatus;
  scheduledFor: Date | null;
  startedAt: Date;
  finishedAt: Date | null;
  observations: number;
  rejected: number;
  skipped: number;
  error: string | null;
}

export interface CollectorSummary {
  name: string;
  type: string;
  schedule: string;
  projectSlug: string;
  metricKey: string;
  enabled: boolean;
  lastRun: CollectorRun | null;
  nextRunAt: Date | null;
}
