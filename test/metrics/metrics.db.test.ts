import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { record } from "../kpi/reference.js";
import { queueEmpty, seedPortfolio, waitForReporting } from "../reporting/seed.js";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ config: "metrics: []\n" });
  await seedPortfolio(t);
  await waitForReporting(t.app, () => queueEmpty(t.app));
}, 60_000);
afterAll(async () => t?.stop());

async function scrape() {
  const res = await fetch(`${t.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await res.text());
  return new Map(families.map((f) => [f.name, f]));
}

const value = (
  m: Map<string, ReturnType<typeof parsePrometheusTextFormat>[number]>,
  name: string,
  labels: Record<string, string>,
) =>
  Number(
    m.get(name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))?.value ??
      NaN,
  );

describe("/metrics", () => {
  it("serves the contract's metric names in the text exposition format", async () => {
    await fetch(`${t.url}/healthz`);
    const m = await scrape();
    for (const [name, type] of [
      ["process_cpu_seconds_total", "COUNTER"],
      ["nodejs_heap_size_used_bytes", "GAUGE"],
      ["uplift_http_requests_total", "COUNTER"],
      ["uplift_http_request_duration_seconds", "HISTOGRAM"],
      ["uplift_observations_ingested_total", "COUNTER"],
      ["uplift_collector_runs_total", "COUNTER"],
      ["uplift_collector_last_success_timestamp_seconds", "GAUGE"],
      ["uplift_kpi_improvement_pct", "GAUGE"],
      ["uplift_kpi_current_value", "GAUGE"],
    ] as const)
      expect(m.get(name)?.type, name).toBe(type);
    expect(
      value(m, "uplift_http_requests_total", { route: "/healthz", status: "200" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(m, "uplift_http_requests_total", { route: "/graphql", status: "200" }),
    ).toBeGreaterThanOrEqual(1);
    // (This parser folds a labelled histogram's samples into buckets; the +Inf bucket counts every request.)
    const hist = m.get("uplift_http_request_duration_seconds")!.metrics;
    expect(hist.some((s) => Number(s.buckets?.["+Inf"]) > 0)).toBe(true);
  });

  it("KPI gauges equal reporting.kpis", async () => {
    const m = await scrape();
    const rows: any[] = await t.app.db.ds.query(
      `SELECT project_slug, metric_key, improvement_pct, current_value FROM reporting.kpis`,
    );
    expect(rows.length).toBe(4);
    for (const r of rows) {
      const labels = { project: r.project_slug, metric: r.metric_key };
      expect(value(m, "uplift_kpi_current_value", labels)).toBe(r.current_value);
      expect(value(m, "uplift_kpi_improvement_pct", labels)).toBe(r.improvement_pct);
    }
  });

  it("counts observations recorded through the API", async () => {
    const before = value(await scrape(), "uplift_observations_ingested_total", { source: "api" });
    await record(t, "alpha", "rt", [
      { at: "2025-05-01T00:00:00Z", value: 1 },
      { at: "2025-05-02T00:00:00Z", value: 2 },
      { at: "2025-05-03T00:00:00Z", value: 3 },
    ]);
    const after = await scrape();
    expect(value(after, "uplift_observations_ingested_total", { source: "api" })).toBe(before + 3);
    expect(value(after, "uplift_observations_ingested_total", { source: "bulk" })).toBeGreaterThanOrEqual(0);
  });

  it("counts finished collector runs and stamps the last success", async () => {
    const { recordCollectorRun } = await import("../../src/metrics/registry.js");
    const finishedAt = new Date("2025-06-01T12:00:00Z");
    recordCollectorRun({ instance: "demo-x", status: "SUCCEEDED", observations: 7, finishedAt });
    recordCollectorRun({ instance: "demo-x", status: "FAILED", observations: 0, finishedAt });
    const m = await scrape();
    expect(value(m, "uplift_collector_runs_total", { collector: "demo-x", status: "SUCCEEDED" })).toBe(1);
    expect(value(m, "uplift_collector_runs_total", { collector: "demo-x", status: "FAILED" })).toBe(1);
    expect(value(m, "uplift_collector_last_success_timestamp_seconds", { collector: "demo-x" })).toBe(
      Date.parse("2025-06-01T12:00:00Z") / 1000,
    );
  });
});
