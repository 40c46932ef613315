import type { NextFunction, Request, Response } from "express";
import { OPEN_PRINCIPAL, type Principal } from "../auth/principal.js";
import { hasRole } from "../auth/roles.js";
import { httpDuration, httpRequests, registry } from "./registry.js";

// A bounded set of route labels: unknown paths are "other", so scanners cannot blow up the series count.
const KNOWN =
  /^\/(graphql|healthz|readyz|metrics|api\/v1\/(kpis|projects|series|portfolio|openapi\.json|observations))$/;

export function routeLabel(path: string): string {
  const p = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  if (KNOWN.test(p)) return p;
  if (p === "/" || p.startsWith("/dashboard")) return "/dashboard";
  return "other";
}

/** Counts every request and times it, by route and status. */
export function httpMetrics() {
  return (req: Request, res: Response, next: NextFunction) => {
    const end = httpDuration.startTimer();
    res.once("finish", () => {
      // originalUrl: inside a mounted router (app.use("/graphql")) req.path is relative to the mount.
      const route = routeLabel(req.originalUrl.split("?")[0]);
      end({ route });
      httpRequests.inc({ route, status: String(res.statusCode) });
    });
    next();
  };
}

/** GET /metrics: reader role (the auth middleware sets the principal), or open with UPLIFT_METRICS_PUBLIC=on. */
export function metricsRoute(isPublic: boolean) {
  return async (_req: Request, res: Response) => {
    const principal: Principal = res.locals.principal ?? OPEN_PRINCIPAL;
    if (!isPublic && !hasRole(principal, "reader")) {
      res
        .status(403)
        .json({ errors: [{ message: "the reader role is needed", extensions: { code: "FORBIDDEN" } }] });
      return;
    }
    res.set("content-type", registry.contentType).send(await registry.metrics());
  };
}
