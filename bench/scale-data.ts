// The `scale` benchmark's data: 50 projects × 20 metrics (its uplift.yaml), how many rows each KPI holds, the
// rows themselves (bench/data.ts's seeded generator, one seed per KPI) streamed into COPY, and the fixed write
// workload timed at both table sizes.
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { Rng } from "../collectors/demo/random.js";
import { type Dataset, GO_LIVE, generateDataset } from "./data.js";
import { COPY_SQL } from "./ingest.js";

export const TOTAL = Number(process.env.BENCH_SCALE_ROWS ?? 10_000_000);
/** The fixed write workload, timed at both table sizes. */
export const WORK = Number(process.env.BENCH_SCALE_WRITE_ROWS ?? Math.round(TOTAL / 10));
export const PROJECTS = 50;
export const AGGREGATIONS = [
  "MEAN",
  "MEDIAN",
  "P90",
  "MEAN",
  "MEAN",
  "SUM",
  "MEAN",
  "MEDIAN",
  "MEAN",
  "P90",
  "MEAN",
  "COUNT",
  "MEAN",
  "MEDIAN",
  "MEAN",
  "P90",
  "MEAN",
  "MEAN",
  "MEDIAN",
  "P90",
] as const;
export type Agg = (typeof AGGREGATIONS)[number];
export const METRICS = AGGREGATIONS.length;
/** The three large KPIs of project 0 hold this share of the rows each (1,000,000 at 10 M). */
export const BIG_SHARE = 0.1;
export const DAY_MS = 86_400_000;

export const slugOf = (p: number) => `scale-${String(p).padStart(3, "0")}`;
export const keyOf = (m: number) => `scale.m${String(m).padStart(2, "0")}.${AGGREGATIONS[m]!.toLowerCase()}`;

export interface KpiDef {
  index: number;
  project: number;
  metric: number;
  aggregation: Agg;
  rows: number;
  ids: { project: string; metric: string; kpi: string };
}

/** Rows per KPI: the three large KPIs of project 0 (MEAN, MEDIAN, P90), the rest evenly over the others. */
export function rowsPerKpi(): number[] {
  const big = Math.round(TOTAL * BIG_SHARE);
  const others = PROJECTS * METRICS - 3;
  const rest = TOTAL - 3 * big;
  const base = Math.floor(rest / others);
  let extra = rest - base * others;
  return Array.from({ length: PROJECTS * METRICS }, (_, i) => (i < 3 ? big : base + (extra-- > 0 ? 1 : 0)));
}

export function config(): string {
  const metrics = AGGREGATIONS.map(
    (a, m) => `  - key: ${keyOf(m)}
    name: Scale metric ${m} (${a})
    unit: minutes
    direction: LOWER_IS_BETTER
    aggregation: ${a}
`,
  ).join("");
  const projects = Array.from({ length: PROJECTS }, (_, p) => {
    const pilot = p % 5 === 4; // 10 of 50 still in PILOT (the portfolio has pilots to count)
    const history = pilot
      ? `[{ stage: IDEA, at: 2025-01-01T00:00:00Z }, { stage: PILOT, at: 2025-08-01T00:00:00Z }]`
      : `[{ stage: PILOT, at: 2025-06-01T00:00:00Z }, { stage: PRODUCTION, at: ${GO_LIVE.toISOString()} }]`;
    const kpis = AGGREGATIONS.map(
      (_, m) => `      - { metric: ${keyOf(m)}, target: 5, valuePerUnit: 1.0, annualVolume: 10000 }
`,
    ).join("");
    return `  - slug: ${slugOf(p)}
    name: Scale project ${p}
    history: ${history}
    goLiveAt: ${GO_LIVE.toISOString()}
    kpis:
${kpis}    costs:
      - { label: Build, kind: ONE_TIME, amount: 50000, startsAt: 2025-12-01T00:00:00Z }
      - { label: Run, kind: MONTHLY, amount: 1000, startsAt: 2026-03-01T00:00:00Z }
`;
  }).join("");
  return `currency: USD\nmetrics:\n${metrics}projects:\n${projects}`;
}

/** Each KPI's rows: bench/data.ts's generator with a seed of its own (half before go-live, half after). */
export const datasetOf = (k: KpiDef): Dataset => generateDataset(k.rows, `uplift-scale-${k.index}`);

/** COPY text of rows [from(k), to(k)) of every KPI, generated as it streams (the rows are never all held). */
/**
 * COPY text of rows [from(k), to(k)) of every KPI in observedAt order across the KPIs (a k-way merge), as a
 * feed writes them: a KPI's rows end up spread over the heap and its index entries arrive interleaved with
 * every other KPI's, which is what a table that grew in production looks like (a KPI-by-KPI load would give
 * clustered heap pages and densely packed indexes).
 */
async function* copyText(kpis: KpiDef[], from: (k: KpiDef) => number, to: (k: KpiDef) => number) {
  const data = kpis.map(datasetOf);
  const next = kpis.map(from);
  const end = kpis.map(to);
  // A binary min-heap of KPI positions, keyed by the time of each KPI's next row.
  const heap: number[] = [];
  const at = (j: number) => data[j]!.observedAt[next[j]!]!;
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && at(heap[l]!) < at(heap[m]!)) m = l;
      if (r < heap.length && at(heap[r]!) < at(heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (let j = 0; j < kpis.length; j++) if (next[j]! < end[j]!) heap.push(j);
  for (let i = Math.floor(heap.length / 2) - 1; i >= 0; i--) down(i);
  const lines: string[] = [];
  while (heap.length) {
    const j = heap[0]!;
    const k = kpis[j]!;
    const d = data[j]!;
    const i = next[j]!++;
    lines.push(
      `${k.ids.project}\t${k.ids.metric}\t${new Date(d.observedAt[i]!).toISOString()}\t${d.value[i]}\t1\t${d.externalId(i)}\n`,
    );
    if (next[j]! >= end[j]!) {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
    }
    if (heap.length) down(0);
    if (lines.length >= 10_000) yield Buffer.from(lines.splice(0).join(""));
  }
  if (lines.length) yield Buffer.from(lines.join(""));
}

/** Loads rows [from, to) of every KPI with two COPY streams (KPIs split between them). */
export async function fill(
  dbUrl: string,
  kpis: KpiDef[],
  from: (k: KpiDef) => number,
  to: (k: KpiDef) => number,
) {
  await Promise.all(
    [0, 1].map(async (part) => {
      const c = new pg.Client(dbUrl);
      await c.connect();
      try {
        await pipeline(
          copyText(
            kpis.filter((k) => k.index % 2 === part),
            from,
            to,
          ),
          c.query(copyFrom(COPY_SQL)),
        );
      } finally {
        await c.end();
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// The write workload: the day after the data set, 1,000 new observations for each of the 1,000 KPIs, in
// time order (KPIs interleaved, as a feed delivers them), new externalIds.

export const WORK_FROM = new Date("2026-09-01T00:00:00.000Z").getTime();

export interface Workload {
  ndjson: Buffer[];
  copy: Buffer[];
  rows: number;
}

export function buildWorkload(kpis: KpiDef[]): Workload {
  const rng = new Rng("uplift-scale-workload");
  const perKpi = Math.ceil(WORK / kpis.length);
  const step = DAY_MS / (perKpi * kpis.length);
  const nd: string[] = [];
  const cp: string[] = [];
  const ndjson: Buffer[] = [];
  const copy: Buffer[] = [];
  let rows = 0;
  for (let j = 0; j < perKpi && rows < WORK; j++) {
    for (const k of kpis) {
      if (rows >= WORK) break;
      const at = new Date(WORK_FROM + Math.floor((j * kpis.length + k.index) * step)).toISOString();
      const value = Math.max(1, Math.round(rng.lognormal(6, 0.8) * 60)) / 60;
      const ext = String(30_000_000 + j);
      nd.push(
        `{"projectSlug":"${slugOf(k.project)}","metricKey":"${keyOf(k.metric)}","observedAt":"${at}","value":${value},"externalId":"${ext}"}\n`,
      );
      cp.push(`${k.ids.project}\t${k.ids.metric}\t${at}\t${value}\t1\t${ext}\n`);
      rows++;
      if (nd.length >= 5_000) {
        ndjson.push(Buffer.from(nd.splice(0).join("")));
        copy.push(Buffer.from(cp.splice(0).join("")));
      }
    }
  }
  if (nd.length) {
    ndjson.push(Buffer.from(nd.join("")));
    copy.push(Buffer.from(cp.join("")));
  }
  return { ndjson, copy, rows };
}
