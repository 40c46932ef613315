import type { NextFunction, Request, Response } from "express";
import { QueryScanner } from "./json-scan.js";
import { tooLargeMessage } from "./query-limits.js";

/** Error type of a JSON body refused for its document; the server's error handler answers 413. */
export const DOCUMENT_TOO_LARGE = "document.too.large";

function fail(status: number, type: string, message: string) {
  return Object.assign(new Error(message), { status, type });
}

/**
 * Reads a plain UTF-8 JSON body for /graphql while measuring its `query` member: once that passes the
 * document cap, the rest of the body is read and dropped (nothing kept) and the request gets HTTP 413,
 * so a 5 MB document costs no memory. Other bodies (compressed, another charset, not JSON) are left to
 * express.json, which runs next and skips a body already read.
 */
export function jsonBodyWithDocumentCap(maxBodyBytes: number, maxDocumentBytes: number) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const type = req.headers["content-type"] ?? "";
    const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
    const charset = /charset=([^;\s]+)/i.exec(type)?.[1]?.toLowerCase().replace(/"/g, "");
    if (
      req.method !== "POST" ||
      !/^application\/json\s*(;|$)/i.test(type) ||
      encoding !== "identity" ||
      (charset && charset !== "utf-8" && charset !== "utf8")
    ) {
      next();
      return;
    }
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBodyBytes) {
      req.resume();
      next(fail(413, "entity.too.large", "request entity too large"));
      return;
    }
    const scanner = new QueryScanner();
    let chunks: Buffer[] | null = [];
    let length = 0;
    let error: Error | null = null;
    req.on("data", (chunk: Buffer) => {
      length += chunk.length;
      if (error) return; // draining: the answer is decided, nothing is kept
      if (length > maxBodyBytes) error = fail(413, "entity.too.large", "request entity too large");
      else {
        scanner.push(chunk);
        if (scanner.current > maxDocumentBytes)
          error = fail(413, DOCUMENT_TOO_LARGE, tooLargeMessage(maxDocumentBytes));
        else chunks!.push(chunk);
      }
      if (error) chunks = null;
    });
    req.on("error", (e) => next(e));
    req.on("end", () => {
      if (error) return next(error);
      const text = Buffer.concat(chunks!, length).toString("utf8");
      chunks = null;
      if (text.trim() === "") {
        req.body = {};
        return next();
      }
      try {
        req.body = JSON.parse(text);
      } catch (e) {
        return next(fail(400, "entity.parse.failed", (e as Error).message));
      }
      next();
    });
  };
}
