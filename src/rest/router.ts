import express, { type Request, type Response } from "express";
import type { DataSource } from "typeorm";
import type { z } from "zod";
import { OPEN_PRINCIPAL, type Principal } from "../auth/principal.js";
import { canSeeProject, hasRole } from "../auth/roles.js";
import type { KpiEngine } from "../kpi/engine.js";
import { cents } from "../kpi/money.js";
import { portfolioFigures } from "../kpi/portfolio.js";
import { kpisOfProjects } from "../store/kpis.js";
import { listProjects, stageHistories } from "../store/projects.js";
import { toCsv } from "./csv.js";
import {
  KPI_COLUMNS,
  kpisQuery,
  openApiDocument,
  PROJECT_COLUMNS,
  portfolioQuery,
  projectsQuery,
  SERIES_COLUMNS,
  seriesQuery,
} from "./schemas.js";

export interface RestServices {
  ds: DataSource;
  engine: KpiEngine;
  currency: string;
}

const MONEY = new Set(["annual_benefit", "benefit_12m", "cost_12m", "net_12m"]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly problems: { field?: string; message: string }[],
  ) {
    super(problems[0]?.message);
  }
}

function parse<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  const r = schema.safeParse(req.query);
  if (!r.success) {
    throw new HttpError(
      400,
      "BAD_REQUEST",
      r.error.issues.map((i) => ({ field: i.path.join(".") || "query", message: i.message })),
    );
  }
  return r.data;
}

function notFound(field: string, message: string): never {
  throw new HttpError(404, "NOT_FOUND", [{ field, message }]);
}

function principalOf(res: Response): Principal {
  return (res.locals.principal as Principal | undefined) ?? OPEN_PRINCIPAL;
}

function wantsCsv(req: Request, format: string | undefined): boolean {
  if (format) return format === "csv";
  return (
    req.accepts(["application/json", "text/csv"]) === "text/csv" && !!req.get("accept")?.includes("text/csv")
  );
}

/** pg gives numeric (money) as text: as numbers in cents, like every other answer. */
function normalise(row: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(row)) if (MONEY.has(k) && row[k] !== null) row[k] = cents(Number(row[k]));
  return row;
}

function send(res: Response, csv: boolean, name: string, columns: string[], rows: object[]) {
  if (csv) {
    res.type("text/csv; charset=utf-8; header=present");
    res.set("content-disposition", `inline; filename="${name}.csv"`);
    res.send(toCsv(columns, rows as Record<string, unknown>[]));
  } else res.json(rows);
}

/** A timestamptz as JavaScript's toISOString() writes it (the contract's DateTime format). */
const isoUtc = (c: string) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const list = (cols: string[]) => cols.map((c) => `"${c}"`).join(", ");

/** REST under /api/v1 (contract "BI access"): reader role, the key's project scope, JSON or CSV. */
export function restRouter(s: RestServices): express.Router {
  const r = express.Router();
  const route =
    (fn: (req: Request, res: Response, p: Principal) => Promise<void>) =>
    async (req: Request, res: Response) => {
      const p = principalOf(res);
      try {
        if (!hasRole(p, "reader"))
          throw new HttpError(403, "FORBIDDEN", [{ message: "the reader role is needed" }]);
        await fn(req, res, p);
      } catch (e) {
        if (!(e instanceof HttpError)) throw e;
        res.status(e.status).json({ errors: e.problems.map((x) => ({ ...x, code: e.code })) });
      }
    };
  const scope = (p: Principal) => (p.projects === null ? null : [...p.projects]);
  const requireProject = async (p: Principal, slug: string): Promise<string> => {
    const [row] = await s.ds.query(`SELECT id::text FROM project WHERE slug = $1`, [slug]);
    if (!row || !canSeeProject(p, slug)) notFound("project", `unknown project "${slug}"`);
    return row.id;
  };

  r.get(
    "/api/v1/kpis",
    route(async (req, res, p) => {
      const q = parse(kpisQuery, req);
      if (q.project) await requireProject(p, q.project);
      const where = `WHERE ($1::text IS NULL OR project_slug = $1) AND ($2::text IS NULL OR stage = $2)
           AND ($3::text[] IS NULL OR project_slug = ANY($3))`;
      const order = `ORDER BY project_slug COLLATE "C", metric_key COLLATE "C"`;
      const params = [q.project ?? null, q.stage ?? null, scope(p)];
      if (!wantsCsv(req, q.format)) {
        // JSON built by PostgreSQL and sent as it comes: 1,000 rows without parsing and re-serialising them.
        const [{ body }] = await s.ds.query(
          `SELECT coalesce(json_agg(r ${order}), '[]')::text AS body FROM (
             SELECT ${KPI_COLUMNS.map((c) => (c === "updated_at" || c === "computed_at" ? `${isoUtc(c)} AS ${c}` : `"${c}"`)).join(", ")}
             FROM reporting.kpis ${where}) r`,
          params,
        );
        res.type("application/json").send(body);
        return;
      }
      const rows: Record<string, unknown>[] = await s.ds.query(
        `SELECT ${list(KPI_COLUMNS)} FROM reporting.kpis ${where} ${order}`,
        params,
      );
      send(res, true, "kpis", KPI_COLUMNS, rows.map(normalise));
    }),
  );

  r.get(
    "/api/v1/projects",
    route(async (req, res, p) => {
      const q = parse(projectsQuery, req);
      const rows: Record<string, unknown>[] = await s.ds.query(
        `SELECT ${list(PROJECT_COLUMNS)} FROM reporting.projects
         WHERE ($1::text[] IS NULL OR slug = ANY($1)) ORDER BY slug COLLATE "C"`,
        [scope(p)],
      );
      send(res, wantsCsv(req, q.format), "projects", PROJECT_COLUMNS, rows.map(normalise));
    }),
  );

  r.get(
    "/api/v1/series",
    route(async (req, res, p) => {
      const q = parse(seriesQuery, req);
      await requireProject(p, q.project);
      const [kpi] = await s.ds.query(
        `SELECT k.id::text FROM kpi k JOIN project p ON p.id = k.project_id JOIN metric m ON m.id = k.metric_id
         WHERE p.slug = $1 AND m.key = $2`,
        [q.project, q.metric],
      );
      if (!kpi) notFound("metric", `unknown metric "${q.metric}" for project "${q.project}"`);
      const rows: Record<string, unknown>[] = await s.ds.query(
        `SELECT ${list(SERIES_COLUMNS)} FROM reporting.series
         WHERE kpi_id = $1 AND bucket = $2 AND ($3::timestamptz IS NULL OR start >= $3)
           AND ($4::timestamptz IS NULL OR start < $4)
         ORDER BY start, CASE phase WHEN 'BEFORE' THEN 0 ELSE 1 END`,
        [kpi.id, q.bucket, q.from ?? null, q.to ?? null],
      );
      send(res, wantsCsv(req, q.format), "series", SERIES_COLUMNS, rows);
    }),
  );

  r.get(
    "/api/v1/portfolio",
    route(async (req, res, p) => {
      const q = parse(portfolioQuery, req);
      const projects = (await listProjects(s.ds)).filter((x) => canSeeProject(p, x.slug));
      const ids = projects.map((x) => String(x.id));
      const [histories, kpis] = await Promise.all([stageHistories(s.ds, ids), kpisOfProjects(s.ds, ids)]);
      const figures = await s.engine.figures([...kpis.values()].flat().map((k) => String(k.kpi.id)));
      let total = 0;
      for (const f of figures.values()) total += f.figures.annualBenefit ?? 0;
      const body = {
        ...portfolioFigures(projects, histories, new Date()),
        totalAnnualBenefit: cents(total),
        currency: s.currency,
      };
      if (wantsCsv(req, q.format)) {
        const { byStage, ...flat } = body;
        const row: Record<string, unknown> = { ...flat };
        for (const b of byStage) row[`stage_${b.stage}`] = b.count;
        send(res, true, "portfolio", Object.keys(row), [row]);
      } else res.json(body);
    }),
  );

  let doc: object | null = null;
  r.get(
    "/api/v1/openapi.json",
    route(async (_req, res) => {
      doc ??= openApiDocument();
      res.json(doc);
    }),
  );
  return r;
}
