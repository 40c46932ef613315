import { PassThrough } from "node:stream";
import express, { type Request, type Response } from "express";
import type { DataSource } from "typeorm";
import { OPEN_PRINCIPAL, type Principal } from "../auth/principal.js";
import { hasRole } from "../auth/roles.js";
import { log } from "../log.js";
import { type BulkFormat, bulkIngest } from "./bulk-ingest.js";

/** The media type decides the parser; parameters such as `; charset=utf-8` are ignored. */
function formatOf(req: Request): BulkFormat | null {
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (type === "application/x-ndjson" || type === "application/jsonl" || type === "application/ndjson")
    return "ndjson";
  if (type === "text/csv") return "csv";
  return null;
}

class ClientGoneError extends Error {
  constructor() {
    super("client closed the request before its end");
  }
}

function refuse(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

/** POST /api/v1/observations: bulk ingest (writer role), streamed into COPY, all or nothing. */
export function bulkIngestRouter(ds: DataSource, onIngested?: (n: number) => void): express.Router {
  const router = express.Router();
  router.post("/api/v1/observations", async (req, res) => {
    const principal: Principal = res.locals.principal ?? OPEN_PRINCIPAL;
    if (!hasRole(principal, "writer"))
      return refuse(res, 403, "FORBIDDEN", "bulk ingest needs the writer role");
    const format = formatOf(req);
    if (!format)
      return refuse(
        res,
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "Content-Type must be application/x-ndjson (one observation per line) or text/csv",
      );
    if (req.headers["content-encoding"] && req.headers["content-encoding"] !== "identity")
      return refuse(res, 415, "UNSUPPORTED_MEDIA_TYPE", "compressed bodies are not accepted");
    // Parsing may stop early (a bad line, the row limit): it then ends this pipe, never the request's
    // socket, so the answer still reaches the client; Node discards the rest of the body.
    const body = req.pipe(new PassThrough());
    // A client that goes away mid-upload must not leave the transaction waiting for more lines.
    req.on("close", () => {
      if (!req.complete) body.destroy(new ClientGoneError());
    });
    try {
      const outcome = await bulkIngest(ds, principal, format, body);
      if (!outcome.ok) {
        if (!req.complete) res.setHeader("Connection", "close");
        res.status(outcome.forbidden ? 403 : 400).json({ errors: outcome.errors });
        return;
      }
      onIngested?.(outcome.inserted + outcome.updated);
      res.json({ inserted: outcome.inserted, updated: outcome.updated });
    } catch (e) {
      if (e instanceof ClientGoneError)
        return log.warn("bulk ingest: the client closed the request; nothing stored");
      if ((e as { code?: unknown })?.code === "57014") {
        // PostgreSQL's query_canceled: our statement_timeout, on one chunk's statement. Retryable.
        log.warn("bulk ingest: statement timeout; nothing stored");
        if (!res.headersSent)
          refuse(
            res,
            503,
            "INTERNAL_SERVER_ERROR",
            "a statement took longer than UPLIFT_STATEMENT_TIMEOUT_MS allows and was cancelled; nothing was stored",
          );
        return;
      }
      log.error("bulk ingest failed", { error: e });
      if (!res.headersSent) refuse(res, 500, "INTERNAL_SERVER_ERROR", "Internal server error");
    }
  });
  return router;
}
