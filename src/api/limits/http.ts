import type { NextFunction, Request, Response } from "express";
import { documentTooLarge, tooLargeMessage } from "./query-limits.js";

/**
 * HTTP 413 PAYLOAD_TOO_LARGE for a GraphQL document longer than the cap, before Apollo parses it. The
 * document is the `query` text (POST body or GET parameter), not the body: a 5 MB batch of observations
 * in `variables` with a short mutation is fine (UPLIFT_MAX_BODY_BYTES bounds the body).
 */
export function documentByteCap(maxBytes: number) {
  return (req: Request, res: Response, next: NextFunction) => {
    const source = req.method === "GET" ? req.query : req.body;
    const operations = Array.isArray(source) ? source : [source];
    for (const op of operations) {
      const query = op && typeof op === "object" ? (op as { query?: unknown }).query : undefined;
      if (typeof query === "string" && documentTooLarge(query, maxBytes)) {
        res.status(413).json({
          errors: [{ message: tooLargeMessage(maxBytes), extensions: { code: "PAYLOAD_TOO_LARGE" } }],
        });
        return;
      }
    }
    next();
  };
}
