import client from "prom-client";

// One Prometheus registry per process (contract "Prometheus"). Counters are process-wide; the KPI gauges
// are read from reporting.kpis at scrape time, from the database of the app that set the source.

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

export const httpRequests = new client.Counter({
  name: "uplift_http_requests_total",
  help: "HTTP requests answered, by route and status code.",
  labelNames: ["route", "status"] as const,
  registers: [registry],
});

export const httpDuration = new client.Histogram({
  name: "uplift_http_request_duration_seconds",
  help: "HTTP request duration in seconds, by route.",
  labelNames: ["route"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const observationsIngested = new client.Counter({
  name: "uplift_observations_ingested_total",
  help: "Observations written (inserted or updated), by source: api, bulk, collector.",
  labelNames: ["source"] as const,
  registers: [registry],
});
for (const source of ["api", "bulk", "collector"]) observationsIngested.inc({ source }, 0);

export const collectorRuns = new client.Counter({
  name: "uplift_collector_runs_total",
  help: "Finished collector runs, by collector instance and status.",
  labelNames: ["collector", "status"] as const,
  registers: [registry],
});

export const collectorLastSuccess = new client.Gauge({
  name: "uplift_collector_last_success_timestamp_seconds",
  help: "When the collector's last SUCCEEDED run finished (Unix seconds).",
  labelNames: ["collector"] as const,
  registers: [registry],
});

interface Source {
  query(sql: string): Promise<Record<string, unknown>[]>;
}
let source: Source | null = null;

/** The database whose reporting.kpis feeds the KPI gauges; returns the undo (app stop). */
export function setKpiGaugeSource(s: Source): () => void {
  source = s;
  return () => {
    if (source === s) source = null;
  };
}

function kpiGauge(name: string, help: string, column: string) {
  return new client.Gauge({
    name,
    help,
    labelNames: ["project", "metric"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!source) return;
      const rows = await source.query(
        `SELECT project_slug, metric_key, ${column} AS v FROM reporting.kpis WHERE ${column} IS NOT NULL`,
      );
      for (const r of rows)
        this.set({ project: String(r.project_slug), metric: String(r.metric_key) }, Number(r.v));
    },
  });
}

kpiGauge("uplift_kpi_improvement_pct", "A KPI's improvement in percent (reporting.kpis).", "improvement_pct");
kpiGauge("uplift_kpi_current_value", "A KPI's current (AFTER) value (reporting.kpis).", "current_value");

/** Where a collector run ends (src/collect/runner.ts): one call per finished run. */
export function recordCollectorRun(run: {
  instance: string;
  status: string;
  observations: number;
  finishedAt: Date | null;
}): void {
  collectorRuns.inc({ collector: run.instance, status: run.status });
  observationsIngested.inc({ source: "collector" }, run.observations);
  if (run.status === "SUCCEEDED")
    collectorLastSuccess.set({ collector: run.instance }, (run.finishedAt ?? new Date()).getTime() / 1000);
}
