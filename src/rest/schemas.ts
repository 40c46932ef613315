import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { PROJECT_STAGES } from "../db/entities/project.js";

// The REST routes' parameters and rows, defined once: the router validates requests with these schemas
// and the OpenAPI document is generated from them (never written by hand beside them).
extendZodWithOpenApi(z);

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a project slug");
const metricKey = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, "must be a metric key");
const format = z
  .enum(["json", "csv"])
  .optional()
  .openapi({ description: "csv: RFC 4180 with a header row of the column names (or Accept: text/csv)." });
const dateTime = z.iso.datetime({ offset: true });

export const kpisQuery = z.object({
  project: slug.optional().openapi({ description: "Only this project's KPIs." }),
  stage: z.enum(PROJECT_STAGES as [string, ...string[]]).optional(),
  format,
});
export const projectsQuery = z.object({ format });
export const portfolioQuery = z.object({ format });
export const seriesQuery = z
  .object({
    project: slug,
    metric: metricKey,
    bucket: z.enum(["DAY", "WEEK", "MONTH"]),
    from: dateTime.optional().openapi({ description: "Keep buckets whose start is ≥ from." }),
    to: dateTime.optional().openapi({ description: "Keep buckets whose start is < to." }),
    format,
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), {
    message: "must be after from",
    path: ["to"],
  });

const num = z.number().nullable();
const money = z.number().nullable().openapi({ description: "Money, rounded to cents." });
const time = z.string().nullable().openapi({ format: "date-time" });

export const kpiRow = z
  .object({
    project_slug: z.string(),
    project_name: z.string(),
    stage: z.string(),
    metric_key: z.string(),
    metric_name: z.string(),
    unit: z.string(),
    direction: z.enum(["LOWER_IS_BETTER", "HIGHER_IS_BETTER"]),
    aggregation: z.enum(["MEAN", "MEDIAN", "P90", "SUM", "COUNT"]),
    baseline_value: num,
    baseline_count: z.number(),
    current_value: num,
    current_count: z.number(),
    improvement_pct: num,
    target: num,
    target_met: z.boolean().nullable(),
    ci_low: num,
    ci_high: num,
    p_value: num,
    control_change_pct: num,
    adjusted_improvement_pct: num,
    annual_benefit: money,
    updated_at: time,
    computed_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("KpiRow");

export const projectRow = z
  .object({
    slug: z.string(),
    name: z.string(),
    owner: z.string().nullable(),
    stage: z.string(),
    go_live_at: time,
    days_in_pilot: num,
    benefit_12m: z.number(),
    cost_12m: z.number(),
    net_12m: z.number(),
    roi_pct_12m: num,
    payback_months: num,
    currency: z.string(),
  })
  .openapi("ProjectRow");

export const seriesRow = z
  .object({
    project_slug: z.string(),
    metric_key: z.string(),
    bucket: z.enum(["DAY", "WEEK", "MONTH"]),
    start: z.string().openapi({ format: "date-time" }),
    phase: z.enum(["BEFORE", "AFTER"]),
    value: num,
    count: z.number(),
  })
  .openapi("SeriesRow");

export const portfolioObject = z
  .object({
    projectCount: z.number().int(),
    byStage: z.array(z.object({ stage: z.string(), count: z.number().int() })),
    medianDaysInPilot: num,
    pilotConversionPct: num,
    totalAnnualBenefit: z.number().openapi({ description: "Money, rounded to cents." }),
    currency: z.string(),
  })
  .openapi("Portfolio");

export const errorBody = z
  .object({
    errors: z.array(z.object({ field: z.string().optional(), message: z.string(), code: z.string() })),
  })
  .openapi("Errors");

/** The column order of each row type: SQL select lists, JSON keys and CSV headers all come from here. */
export const KPI_COLUMNS = Object.keys(kpiRow.shape);
export const PROJECT_COLUMNS = Object.keys(projectRow.shape);
export const SERIES_COLUMNS = Object.keys(seriesRow.shape);

function rows(schema: z.ZodType, description: string) {
  return {
    200: {
      description,
      content: {
        "application/json": { schema: z.array(schema) },
        "text/csv": {
          schema: z.string().openapi({ description: "RFC 4180, header row of the column names" }),
        },
      },
    },
  };
}
const errors = {
  400: { description: "A bad parameter", content: { "application/json": { schema: errorBody } } },
  401: { description: "No valid credential (when auth is on)" },
  403: {
    description: "The credential lacks the reader role",
    content: { "application/json": { schema: errorBody } },
  },
};
const notFound = {
  404: { description: "Unknown project or metric", content: { "application/json": { schema: errorBody } } },
};

export function openApiDocument(): object {
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  registry.registerPath({
    method: "get",
    path: "/api/v1/kpis",
    summary: "The rows of reporting.kpis",
    request: { query: kpisQuery },
    responses: {
      ...rows(kpiRow, "One row per KPI, by project slug then metric key"),
      ...errors,
      ...notFound,
    },
  });
  registry.registerPath({
    method: "get",
    path: "/api/v1/projects",
    summary: "The rows of reporting.projects (12-month ROI)",
    request: { query: projectsQuery },
    responses: { ...rows(projectRow, "One row per project, by slug"), ...errors },
  });
  registry.registerPath({
    method: "get",
    path: "/api/v1/series",
    summary: "A KPI's series rows (reporting.series)",
    request: { query: seriesQuery },
    responses: {
      ...rows(seriesRow, "One row per bucket start and phase, BEFORE before AFTER"),
      ...errors,
      ...notFound,
    },
  });
  registry.registerPath({
    method: "get",
    path: "/api/v1/portfolio",
    summary: "The portfolio figures as one object",
    request: { query: portfolioQuery },
    responses: {
      200: {
        description: "The portfolio (CSV: one row, byStage as stage_<STAGE> columns)",
        content: { "application/json": { schema: portfolioObject }, "text/csv": { schema: z.string() } },
      },
      ...errors,
    },
  });
  registry.registerPath({
    method: "get",
    path: "/api/v1/openapi.json",
    summary: "This document",
    responses: {
      200: { description: "OpenAPI 3.1", content: { "application/json": { schema: z.object({}) } } },
    },
  });
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Uplift REST API",
      version: "1",
      description: "KPI figures, projects, series and portfolio for BI tools (docs/bi.md).",
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
  });
}
