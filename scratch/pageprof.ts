import pg from "pg";
import { startBenchApp } from "../bench/common.js";
import { openBenchCluster } from "../bench/postgres.js";
import { config, slugOf } from "../bench/scale-data.js";
import { stampTouched } from "../src/store/observations.js";

const PAGE_FIELDS = `slug name stage
    kpis { metric { key } baseline { value count } current { value count } improvementPct targetMet
      confidence { low high } annualBenefit series(bucket: WEEK) { start phase value } }
    roi { benefit cost roiPct paybackMonths }`;
const q = `query Page {\n${Array.from({ length: 20 }, (_, p) => `  p${p}: project(slug: "${slugOf(p)}") { ${PAGE_FIELDS} }`).join("\n")}\n}`;

const cluster = await openBenchCluster(() => {});
const db = await cluster.database();
const app = await startBenchApp(db.url, config());
const c = new pg.Client(db.url);
await c.connect();
const { rows: kpis } = await c.query("SELECT project_id::text AS \"projectId\", metric_id::text AS \"metricId\" FROM kpi");
await c.query(`INSERT INTO observation (project_id, metric_id, observed_at, value, weight, external_id)
  SELECT k.project_id, k.metric_id, timestamptz '2025-03-01' + (g * interval '1 day') , (g % 17) + 1, 1, g::text
  FROM kpi k, generate_series(1, 360) g`);
await stampTouched(c, kpis);
const body = JSON.stringify({ query: q });
const post = async () => {
  const r = await fetch(app.graphqlUrl, { method: "POST", headers: { "content-type": "application/json" }, body });
  return r.text();
};
const first = await post();
console.log("bytes", first.length, first.slice(0, 200));
for (let i = 0; i < 5; i++) await post();
await new Promise((r) => setTimeout(r, Number(process.env.WAIT ?? 8000)));
const n = Number(process.env.N ?? 40);
const t0 = performance.now();
for (let i = 0; i < n; i++) await post();
console.log("warm ms", (performance.now() - t0) / n);
await c.end();
await app.stop();
await db.stop();
await cluster.stop();
