import http from "node:http";
import { ApolloServer } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type NextFunction, type Request, type Response } from "express";
import type { DocumentNode, FormattedExecutionResult, GraphQLSchema } from "graphql";
import type { Access } from "../auth/authenticate.js";
import type { QueryLimits, WsLimits } from "../config/env.js";
import { dashboardRouter } from "../dashboard/route.js";
import { poolQueryable } from "../db/pool-query.js";
import { RateLimiter, rateLimit } from "../http/rate-limit.js";
import { ReadinessProbe } from "../http/readiness.js";
import { requestContext, requestLog } from "../http/request-log.js";
import { bulkIngestRouter } from "../ingest/route.js";
import { log } from "../log.js";
import { httpMetrics, metricsRoute } from "../metrics/http.js";
import { restRouter } from "../rest/router.js";
import { type AppServices, type Context, createContext } from "./context.js";
import { formatError } from "./format-error.js";
import { ByteBoundedCache, documentBytes } from "./limits/document-cache.js";
import { documentByteCap } from "./limits/http.js";
import { DOCUMENT_TOO_LARGE, jsonBodyWithDocumentCap } from "./limits/json-body.js";
import { limitRules, parseOptions } from "./limits/query-limits.js";
import { observationAwareExecute } from "./observation-variables.js";
import { ResponseCache, type ResponseCacheOptions } from "./response-cache.js";
import { attachSubscriptions } from "./websocket.js";

export interface ServerOptions {
  introspection: boolean;
  maxBodyBytes: number;
  maxQueryDepth: number;
  ws: WsLimits;
  /** Credentials, roles and the browser-safety checks (src/auth/). */
  access: Access;
  query: QueryLimits;
  /** Requests per second per key; 0 = no limit. */
  rateLimit: number;
  /** Whole answers reused while the database is unchanged; maxBytes 0 = off. */
  responseCache?: ResponseCacheOptions;
}

/** Parsed, validated documents Apollo keeps (its default store is also about 30 MiB). */
const DOCUMENT_STORE_BYTES = 32 * 1024 * 1024;

export interface UpliftServer {
  httpServer: http.Server;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

function jsonError(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

/** Express 5 + Apollo Server 5 on /graphql (HTTP), graphql-ws on the same path, and the health endpoints. */
export async function createServer(
  schema: GraphQLSchema,
  services: AppServices,
  opts: ServerOptions,
): Promise<UpliftServer> {
  const app = express();
  app.disable("x-powered-by");
  app.use(httpMetrics());
  const httpServer = http.createServer(app);
  app.use(requestLog(log));
  const limiter = opts.rateLimit > 0 ? new RateLimiter(opts.rateLimit) : null;

  const subscriptions = attachSubscriptions(
    httpServer,
    schema,
    services,
    { ...opts.ws, maxQueryDepth: opts.maxQueryDepth, query: opts.query, limiter },
    opts.access,
  );
  const readiness = ReadinessProbe.of(services.ds);

  const responses = opts.responseCache?.maxBytes
    ? new ResponseCache(poolQueryable(services.ds), opts.responseCache)
    : null;
  const run = observationAwareExecute(schema);
  const apollo = new ApolloServer<Context>({
    // A "gateway" in Apollo's terms only so that execution can be graphql-js's execute with a cheaper
    // coercion of recordObservations' items (observation-variables.ts); the schema is the same one.
    gateway: {
      onSchemaLoadOrUpdate(callback) {
        callback({ apiSchema: schema, coreSupergraphSdl: "" });
        return () => undefined;
      },
      load: async () => ({
        executor: async (rc) =>
          run({
            schema,
            document: rc.document,
            contextValue: rc.context,
            variableValues: rc.request.variables,
            operationName: rc.request.operationName,
          }),
      }),
      stop: async () => undefined,
    },
    introspection: opts.introspection,
    includeStacktraceInErrorResponses: false,
    // main.ts owns SIGTERM/SIGINT: it stops collectors first, then this server, then the database.
    stopOnTerminationSignals: false,
    formatError,
    parseOptions: parseOptions(opts.query),
    validationRules: limitRules(opts.query, opts.maxQueryDepth),
    documentStore: new ByteBoundedCache<DocumentNode>(DOCUMENT_STORE_BYTES, documentBytes),
    ...(responses ? { stringifyResult: (v: FormattedExecutionResult) => responses.stringify(v) } : {}),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      // No cache hints in this schema; left on, the plugin wraps every field's resolver (willResolveField),
      // which cost ~10 % of a warm page's CPU. The no-store header is set below instead.
      ApolloServerPluginCacheControlDisabled(),
      ...(responses ? [responses.plugin()] : []),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await subscriptions.close();
              await readiness.close();
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    const { ready, reason } = await readiness.check();
    if (ready) res.json({ status: "ready" });
    else res.status(503).json({ status: "unavailable", reason });
  });
  // Every route below needs a credential when auth is on (401 otherwise) and sets res.locals.principal.
  app.use(opts.access.http(services.metricsPublic ? ["/metrics"] : []));
  // After authentication, so that requests are counted per key; the health checks never count.
  if (limiter) app.use(rateLimit(limiter));

  app.use(
    "/graphql",
    jsonBodyWithDocumentCap(opts.maxBodyBytes, opts.query.maxBytes),
    express.json({ limit: opts.maxBodyBytes }),
    documentByteCap(opts.query.maxBytes),
    requestContext, // the body parsers above called on from stream events, outside the request's context
    noStore,
    ...(responses ? [responses.http()] : []),
    expressMiddleware(apollo, { context: async ({ res }) => createContext(services, res.locals.principal) }),
  );

  app.use(bulkIngestRouter(services.ds));
  app.use(restRouter(services));
  app.get("/metrics", metricsRoute(services.metricsPublic ?? false));
  app.use(dashboardRouter());

  app.use((_req: Request, res: Response) =>
    jsonError(res, 404, "NOT_FOUND", "no such route; GraphQL is at /graphql"),
  );
  // Body-parser and other middleware errors: a JSON answer with a code, never a stack trace.
  app.use((err: any, _req: Request, res: Response, _next: NextFunction) => {
    if (err?.type === "entity.parse.failed") {
      return jsonError(res, 400, "BAD_REQUEST", `malformed JSON body: ${String(err.message).split("\n")[0]}`);
    }
    if (err?.type === DOCUMENT_TOO_LARGE)
      return jsonError(res, 413, "PAYLOAD_TOO_LARGE", String(err.message));
    if (err?.type === "entity.too.large") {
      return jsonError(
        res,
        413,
        "PAYLOAD_TOO_LARGE",
        `request body larger than ${opts.maxBodyBytes} bytes (UPLIFT_MAX_BODY_BYTES)`,
      );
    }
    if (typeof err?.status === "number" && err.status >= 400 && err.status < 500) {
      return jsonError(res, err.status, "BAD_REQUEST", String(err.message ?? "bad request"));
    }
    log.error("http error", { error: err, stack: err?.stack });
    return jsonError(res, 500, "INTERNAL_SERVER_ERROR", "Internal server error");
  });

  return {
    httpServer,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(port, host, () => {
          httpServer.off("error", reject);
          resolve((httpServer.address() as { port: number }).port);
        });
      }),
    async close() {
      // Apollo's drain plugin stops taking connections, waits for requests in flight, and disposes graphql-ws.
      await apollo.stop();
    },
  };
}

/** Figures are per credential and change with every commit: no shared cache may keep a GraphQL answer. */
function noStore(_req: Request, res: Response, next: () => void) {
  res.setHeader("Cache-Control", "no-store");
  next();
}
