import type { ApolloServerPlugin, GraphQLRequestContextWillSendResponse } from "@apollo/server";
import type { NextFunction, Request, Response } from "express";
import type { Principal } from "../auth/principal.js";
import type { RowsQueryable } from "../db/pool-query.js";
import type { Context } from "./context.js";
import { ByteBoundedCache } from "./limits/document-cache.js";

// Whole answers to read-only queries, kept per credential's view and reused while the database is exactly
// as it was when they were computed. "As it was" is PostgreSQL's own snapshot (`pg_current_snapshot()`:
// the oldest running transaction, the next transaction id and those in flight): every write transaction
// takes a transaction id, so any commit in the whole cluster since the answer's snapshot (from this or any
// other process) gives a different snapshot, and the query is executed again. An equal snapshot means
// the visible data is the same, so the answer cannot be older than a committed change. The cost of a hit
// is that one statement plus serialising the answer. Figures that depend on the clock (days in pilot,
// stalled pilots) are kept at most `maxAgeMs`.

interface Entry {
  snapshot: string;
  /** When the snapshot was read (before the answer was computed). */
  at: number;
  result: Record<string, unknown>;
  /** The answer as sent (Apollo's JSON, newline-terminated): serialised once, not per request. */
  json: string;
}

export interface ResponseCacheOptions {
  maxBytes: number;
  maxAgeMs: number;
}

/** The key of one credential's view: role and project scope decide what an answer may contain. */
function viewOf(p: Principal): string {
  return `${p.role}\u0000${p.projects === null ? "*" : [...p.projects].sort().join(",")}`;
}

/** The key of one question: who asks (their view) and exactly what. */
function keyOf(p: Principal, query: string, operationName: unknown, variables: unknown): string {
  return JSON.stringify([viewOf(p), query, operationName ?? null, variables ?? null]);
}

/** A document whose first operation is a mutation (comments before it are rare; they only miss this). */
const MUTATION = /^\s*mutation\b/;

/** Accept headers for which Apollo would answer `application/json` (what the HTTP fast path sends). */
function acceptsPlainJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return !accept.includes("graphql-response") && /application\/json|\*\/\*/.test(accept);
}

export class ResponseCache {
  private readonly entries: ByteBoundedCache<Entry>;
  /** Each cached answer's `data` → its JSON, for stringify() (the object Apollo hands back is the cached one). */
  private readonly serialized = new WeakMap<object, string>();
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly db: RowsQueryable,
    private readonly opts: ResponseCacheOptions,
  ) {
    this.entries = new ByteBoundedCache<Entry>(
      opts.maxBytes,
      // Strings count twice (UTF-16); the answer's objects are counted as the JSON they make again.
      (key, e) => key.length * 2 + e.json.length * 4 + 200,
    );
  }

  private async snapshot(): Promise<string> {
    const [row] = await this.db.query("SELECT pg_current_snapshot()::text AS s");
    return (row as { s: string }).s;
  }

  /**
   * Apollo's `stringifyResult` (its default: JSON.stringify and a newline): a cached answer is sent as the
   * text it was stored with.
   */
  stringify(value: { errors?: unknown; data?: unknown; extensions?: unknown }): string {
    const data = value.data;
    if (value.errors === undefined && value.extensions === undefined && data && typeof data === "object") {
      const json = this.serialized.get(data);
      if (json !== undefined) return json;
    }
    return `${JSON.stringify(value)}\n`;
  }

  /**
   * Express middleware before Apollo: a repeated JSON POST whose stored answer is still current is sent
   * without entering Apollo at all (authentication, rate limits and the access log ran before it). Anything
   * else — a miss, another snapshot, an unusual Accept header, a persisted-query extension — goes on to
   * Apollo, whose plugin above stores the answer. Only answers Apollo gave to a query are ever stored.
   */
  http() {
    return (req: Request, res: Response, next: NextFunction) => {
      const body = req.body as Record<string, unknown> | undefined;
      const principal = res.locals.principal as Principal | undefined;
      if (
        req.method !== "POST" ||
        !principal ||
        !body ||
        typeof body !== "object" ||
        Array.isArray(body) ||
        typeof body.query !== "string" ||
        // Only answers to queries are stored: a mutation's key (its variables, 750 KB for a batch of
        // 5,000 observations) is not worth building.
        MUTATION.test(body.query) ||
        body.extensions !== undefined ||
        !acceptsPlainJson(req.headers.accept)
      )
        return next();
      const entry = this.entries.peek(keyOf(principal, body.query, body.operationName, body.variables));
      const at = Date.now();
      if (!entry || at - entry.at > this.opts.maxAgeMs) return next();
      this.snapshot().then(
        (snapshot) => {
          if (snapshot !== entry.snapshot) return next();
          this.stats.hits++;
          res.status(200).setHeader("Content-Type", "application/json; charset=utf-8");
          res.end(entry.json);
        },
        () => next(), // the snapshot could not be read: Apollo answers (and reports the database's state)
      );
    };
  }

  plugin(): ApolloServerPlugin<Context> {
    const cache = this;
    return {
      async requestDidStart() {
        let key: string | null = null;
        let snapshot: string | null = null;
        let at = 0;
        return {
          async responseForOperation(rc) {
            if (rc.operation.operation !== "query" || cache.opts.maxBytes === 0) return null;
            key = keyOf(rc.contextValue.principal, rc.source, rc.request.operationName, rc.request.variables);
            at = Date.now();
            snapshot = await cache.snapshot();
            const hit = cache.entries.peek(key);
            if (hit && hit.snapshot === snapshot && at - hit.at <= cache.opts.maxAgeMs) {
              cache.stats.hits++;
              key = null; // nothing to store
              return { http: rc.response.http, body: { kind: "single", singleResult: hit.result } };
            }
            cache.stats.misses++;
            return null;
          },
          async willSendResponse(rc: GraphQLRequestContextWillSendResponse<Context>) {
            if (key === null || snapshot === null || rc.response.body.kind !== "single") return;
            const result = rc.response.body.singleResult;
            // Errors (a timeout, a refused field) are answered again, never replayed.
            if (result.errors?.length || !result.data || result.extensions) return;
            const json = `${JSON.stringify({ data: result.data })}\n`;
            cache.serialized.set(result.data, json);
            cache.entries.put(key, { snapshot, at, result: result as Record<string, unknown>, json });
          },
        };
      },
    };
  }
}
