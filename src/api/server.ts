import http from "node:http";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type NextFunction, type Request, type Response } from "express";
import type { GraphQLSchema } from "graphql";
import type { WsLimits } from "../config/env.js";
import { dashboardRouter } from "../dashboard/route.js";
import { migrationsApplied } from "../db/migrate.js";
import { log } from "../log.js";
import { httpMetrics, metricsRoute } from "../metrics/http.js";
import { restRouter } from "../rest/router.js";
import { type AppServices, type Context, createContext } from "./context.js";
import { depthLimit } from "./depth-limit.js";
import { formatError } from "./format-error.js";
import { attachSubscriptions } from "./websocket.js";

export interface ServerOptions {
  introspection: boolean;
  maxBodyBytes: number;
  maxQueryDepth: number;
  ws: WsLimits;
}

export interface UpliftServer {
  httpServer: http.Server;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

function jsonError(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
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

  const subscriptions = attachSubscriptions(httpServer, schema, services, {
    ...opts.ws,
    maxQueryDepth: opts.maxQueryDepth,
  });

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: opts.introspection,
    includeStacktraceInErrorResponses: false,
    // main.ts owns SIGTERM/SIGINT: it stops collectors first, then this server, then the database.
    stopOnTerminationSignals: false,
    formatError,
    validationRules: [depthLimit(opts.maxQueryDepth)],
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await subscriptions.close();
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
    try {
      await withTimeout(services.ds.query("SELECT 1"), 2000);
      if (!(await withTimeout(migrationsApplied(services.ds), 2000))) {
        res.status(503).json({ status: "unavailable", reason: "migrations pending" });
        return;
      }
      res.json({ status: "ready" });
    } catch {
      res.status(503).json({ status: "unavailable", reason: "database unreachable" });
    }
  });

  app.use(
    "/graphql",
    express.json({ limit: opts.maxBodyBytes }),
    expressMiddleware(apollo, { context: async () => createContext(services) }),
  );

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
