import { randomUUID } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { type Logger, logContext } from "../log.js";

/** An incoming X-Request-Id is kept when it is short and plain (it ends up in logs and headers). */
const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function requestIdOf(header: string | undefined): string {
  return header && SANE_ID.test(header) ? header : randomUUID();
}

/**
 * A request id per request (the client's X-Request-Id when sane, else a new UUID), returned in the
 * X-Request-Id header and attached to every line logged while serving it; then one access-log line:
 * method, route, status, duration, the API key's name (never its secret).
 */
export function requestLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdOf(req.get("x-request-id"));
    const started = process.hrtime.bigint();
    const path = req.path.length > 200 ? `${req.path.slice(0, 200)}…` : req.path;
    res.locals.requestId = requestId;
    res.setHeader("X-Request-Id", requestId);
    let logged = false;
    const done = () => {
      if (logged) return;
      logged = true;
      log.info("request", {
        requestId,
        method: req.method,
        // The route's pattern when a route matched (no ids or query strings in it), else the path.
        route: req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : path,
        status: res.writableFinished ? res.statusCode : 499, // 499: the client went away first
        durationMs: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        key: res.locals.principal?.actor,
        bytes: Number(res.getHeader("content-length") ?? 0) || undefined,
      });
    };
    res.once("finish", done);
    res.once("close", done);
    logContext.run({ requestId }, () => next());
  };
}

/**
 * Re-enters the request's log context. A body parser calls `next` from the socket's stream events, which
 * run outside the context `requestLog` opened: mount this after one so that resolvers' log lines (and
 * anything else that reads the context) still carry the request id.
 */
export function requestContext(_req: Request, res: Response, next: NextFunction) {
  const requestId = res.locals.requestId as string | undefined;
  return requestId ? logContext.run({ requestId }, () => next()) : next();
}
