import type http from "node:http";
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  GraphQLError,
  type GraphQLSchema,
  parse,
  specifiedRules,
  validate,
} from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { type WebSocket, WebSocketServer } from "ws";
import type { Access } from "../auth/authenticate.js";
import type { Principal } from "../auth/principal.js";
import type { WsLimits } from "../config/env.js";
import { log } from "../log.js";
import { type AppServices, createContext } from "./context.js";
import { depthLimit } from "./depth-limit.js";

interface Tracked extends WebSocket {
  alive?: boolean;
  subscriptions?: number;
}

/** Never used: onConnect sets every socket's principal before any operation; this one sees nothing. */
const NOBODY: Principal = Object.freeze({ actor: "anonymous", role: "reader", projects: [] });

export interface SubscriptionServer {
  clientCount(): number;
  close(): Promise<void>;
}

/** Distinct subscription documents kept parsed and validated (most recently used first out). */
const DOCUMENT_CACHE_SIZE = 500;

/**
 * parse + validate once per distinct document text, not once per subscriber: 10,000 dashboards subscribing
 * with the same text share one AST (and its token list), and validation (about 0.3 ms a document) runs
 * once. Parse errors are not cached: they throw, as graphql-ws's own parse would.
 */
function documentCache(schema: GraphQLSchema, maxQueryDepth: number) {
  const cache = new Map<string, { document: DocumentNode; errors: readonly GraphQLError[] }>();
  return (query: string) => {
    let hit = cache.get(query);
    if (hit) {
      cache.delete(query);
    } else {
      const document = parse(query);
      hit = { document, errors: validate(schema, document, [...specifiedRules, depthLimit(maxQueryDepth)]) };
      while (cache.size >= DOCUMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    cache.set(query, hit);
    return hit;
  };
}

/**
 * graphql-js's `subscribe`, except that the response to one source event is executed once per operation
 * (document, operation name and variables) and shared by every subscriber that sent that operation. The
 * hub (src/live/hub.ts) hands the same event object to all subscribers of a KPI; executing the selection
 * set for each of 10,000 of them cost ~50 µs apiece and most of the garbage of a fan-out (bench/RESULTS.md,
 * "subscribers"). Sharing is sound because nothing a resolver returns depends on the connection: a context
 * holds the process's shared services and per-operation loaders, and the only per-key difference, a key's
 * project scope, decides which events reach a subscriber (the hub filters them), not what they contain.
 */
function sharedSubscribe() {
  const executions = new WeakMap<object, Map<string, ReturnType<typeof execute>>>();
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextId = 0;
  const executeShared = (args: ExecutionArgs, payload: unknown) => {
    if (payload === null || typeof payload !== "object") return execute({ ...args, rootValue: payload });
    let docId = documentIds.get(args.document);
    if (docId === undefined) {
      docId = nextId++;
      documentIds.set(args.document, docId);
    }
    const key = `${docId}\u0000${args.operationName ?? ""}\u0000${JSON.stringify(args.variableValues ?? null)}`;
    let byOperation = executions.get(payload);
    if (!byOperation) {
      byOperation = new Map();
      executions.set(payload, byOperation);
    }
    let result = byOperation.get(key);
    if (!result) {
      result = execute({ ...args, rootValue: payload });
      byOperation.set(key, result);
    }
    return result;
  };
  return async (args: ExecutionArgs) => {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream as ExecutionResult;
    return mapAsyncIterator(stream, (payload) => executeShared(args, payload));
  };
}

/** graphql-js's internal mapAsyncIterator (subscribe.ts): return() reaches the source at once. */
function mapAsyncIterator<T, U>(
  iterable: AsyncIterable<T>,
  callback: (value: T) => U | Promise<U>,
): AsyncGenerator<U, void, void> {
  const iterator = iterable[Symbol.asyncIterator]();
  const returnIgnoringErrors = async () => {
    try {
      await iterator.return?.();
    } catch {
      // Keep the original error when closing the source also fails.
    }
  };
  const mapResult = async (result: IteratorResult<T>): Promise<IteratorResult<U, void>> => {
    if (result.done) return result as IteratorResult<U, void>;
    try {
      return { value: await callback(result.value), done: false };
    } catch (error) {
      await returnIgnoringErrors();
      throw error;
    }
  };
  return {
    async next() {
      return mapResult(await iterator.next());
    },
    async return() {
      return typeof iterator.return === "function"
        ? mapResult(await iterator.return())
        : { value: undefined, done: true };
    },
    async throw(error: unknown) {
      if (typeof iterator.throw === "function") return mapResult(await iterator.throw(error));
      await returnIgnoringErrors();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  } as AsyncGenerator<U, void, void>;
}

/**
 * GraphQL subscriptions over graphql-ws on /graphql, with limits that keep one process healthy: a cap on
 * connections and on subscriptions per connection, pings that close dead peers, and slow consumers
 * disconnected before their unsent data grows without bound.
 */
export function attachSubscriptions(
  httpServer: http.Server,
  schema: GraphQLSchema,
  services: AppServices,
  limits: WsLimits & { maxQueryDepth: number },
  access: Access,
): SubscriptionServer {
  const wss = new WebSocketServer({
    server: httpServer,
    path: "/graphql",
    maxPayload: 1024 * 1024,
    verifyClient: (info, done) => {
      if (wss.clients.size >= limits.maxConnections)
        return done(false, 503, "too many WebSocket connections");
      // Foreign Origin, or a non-loopback Host while open: HTTP 403 (src/auth/origin.ts).
      access.upgradeRefusal(info.req).then(
        (refusal) => (refusal ? done(false, 403, refusal) : done(true)),
        () => done(false, 503, "cannot check the request"),
      );
    },
  });
  const prepared = documentCache(schema, limits.maxQueryDepth);
  const cleanup = useServer<Record<string, unknown>, { socket: Tracked; principal: Principal }>(
    {
      schema,
      context: (ctx) => createContext(services, ctx.extra.principal ?? NOBODY),
      subscribe: sharedSubscribe(),
      // The credential of connection_init (or of the upgrade request): 4401 without a valid one.
      onConnect: async (ctx) => {
        const id = await access.identifySocket(ctx.connectionParams, ctx.extra.request);
        if ("refused" in id) {
          ctx.extra.socket.close(
            4401,
            id.refused === "missing" ? "Unauthorized: API key required" : "Unauthorized: invalid API key",
          );
          return false;
        }
        ctx.extra.principal = id.principal;
        const socket = ctx.extra.socket;
        const unwatch = access.watchSocket(id.principal.actor, () =>
          socket.close(4403, "Forbidden: API key revoked"),
        );
        socket.once("close", unwatch);
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const socket = ctx.extra.socket;
        // A key revoked since the connection opened (by the CLI or another replica) gets no new subscriptions.
        if ("refused" in (await access.identifySocket(ctx.connectionParams, ctx.extra.request))) {
          socket.close(4403, "Forbidden: API key revoked");
          return [
            new GraphQLError("the API key is no longer valid", { extensions: { code: "UNAUTHENTICATED" } }),
          ];
        }
        socket.subscriptions = (socket.subscriptions ?? 0) + 1;
        if (socket.subscriptions > limits.maxSubscriptionsPerConnection) {
          socket.subscriptions--;
          return [
            new GraphQLError(
              `at most ${limits.maxSubscriptionsPerConnection} subscriptions per connection (UPLIFT_WS_MAX_SUBSCRIPTIONS)`,
              { extensions: { code: "BAD_USER_INPUT" } },
            ),
          ];
        }
        // What graphql-ws would do itself (parse, then validate with the same rules), from the cache.
        const { document, errors } = prepared(payload.query);
        if (errors.length) return errors;
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
        };
      },
      onComplete: (ctx) => {
        const socket = ctx.extra.socket;
        socket.subscriptions = Math.max(0, (socket.subscriptions ?? 1) - 1);
      },
      onNext: (ctx) => {
        const socket = ctx.extra.socket;
        if (socket.bufferedAmount > limits.maxBufferedBytes) {
          log.warn("closing a subscriber that does not keep up", { buffered: socket.bufferedAmount });
          socket.close(1013, "consumer too slow: reconnect"); // 1013 Try Again Later
        }
      },
    },
    wss,
  );
  wss.on("connection", (socket: Tracked) => {
    socket.alive = true;
    socket.on("pong", () => {
      socket.alive = true;
    });
  });
  const pinger = setInterval(() => {
    for (const s of wss.clients as Set<Tracked>) {
      if (!s.alive) {
        s.terminate();
        continue;
      }
      s.alive = false;
      s.ping();
    }
  }, limits.pingMs);
  pinger.unref();

  return {
    clientCount: () => wss.clients.size,
    async close() {
      clearInterval(pinger);
      // 1001 Going Away: clients reconnect (to another replica, or to this one after a restart).
      for (const c of wss.clients) c.close(1001, "server shutting down");
      await cleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
