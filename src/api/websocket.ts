import { randomUUID } from "node:crypto";
import type http from "node:http";
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type FormattedExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  getVariableValues,
  parse,
  specifiedRules,
  validate,
} from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { type WebSocket, WebSocketServer } from "ws";
import type { Access } from "../auth/authenticate.js";
import type { Principal } from "../auth/principal.js";
import type { QueryLimits, WsLimits } from "../config/env.js";
import { type RateLimiter, rateKey, rateLimitMessage } from "../http/rate-limit.js";
import { Mailbox } from "../live/mailbox.js";
import { log, logContext } from "../log.js";
import { type AppServices, type Context, createContext } from "./context.js";
import { formatError } from "./format-error.js";
import { ByteBoundedCache, documentBytes } from "./limits/document-cache.js";
import {
  documentTooLarge,
  limitRules,
  parseOptions,
  tokenLimitMessage,
  tooLargeError,
} from "./limits/query-limits.js";
import { SubscriptionFanout } from "./subscription-fanout.js";

/** An operation that passed every check and now counts against UPLIFT_WS_MAX_SUBSCRIPTIONS. */
interface Operation {
  requestId: string;
  started: number;
  type: string;
  name: string | undefined;
}

interface Tracked extends WebSocket {
  alive?: boolean;
  /** Accepted operations by graphql-ws id; refused ones never enter (they used to leak a count). */
  operations?: Map<string, Operation>;
}

/** Never used: onConnect sets every socket's principal before any operation; this one sees nothing. */
const NOBODY: Principal = Object.freeze({ actor: "anonymous", role: "reader", projects: [] });

export interface SubscriptionServer {
  clientCount(): number;
  close(): Promise<void>;
}

/** Bytes of parsed, validated subscription documents kept (least recently used out first). */
const DOCUMENT_CACHE_BYTES = 16 * 1024 * 1024;

/**
 * A subscription's context, whose per-request loaders are made on first use only: a subscription lives for
 * hours and its pushed KPIs come with their figures, so most never use one (about 1 KB less per subscriber).
 */
function subscriptionContext(services: AppServices, principal: Principal): Context {
  let full: Context | undefined;
  const ctx = { ...services, principal } as Context;
  Object.defineProperty(ctx, "loaders", {
    enumerable: true,
    get: () => {
      full ??= createContext(services, principal);
      return full.loaders;
    },
  });
  return ctx;
}

/** The same error with the code Apollo would give it over HTTP (graphql-js's own errors have none). */
function withCode(e: unknown, code: string): GraphQLError {
  if (!(e instanceof GraphQLError)) return new GraphQLError("invalid document", { extensions: { code } });
  if (typeof e.extensions?.code === "string") return e;
  return new GraphQLError(tokenLimitMessage(e.message), {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    extensions: { ...e.extensions, code },
  });
}

/**
 * The HTTP path's checks for a WebSocket operation: byte cap before parsing, token cap while parsing,
 * the validation rules with the limits; then parse + validate once per distinct document text, not once
 * per subscriber: 10,000 dashboards subscribing with the same text share one AST, and validation runs
 * once. Only valid documents are cached, in a cache bounded in bytes.
 */
function documentCache(schema: GraphQLSchema, limits: { query: QueryLimits; maxQueryDepth: number }) {
  const rules = [...specifiedRules, ...limitRules(limits.query, limits.maxQueryDepth)];
  const options = parseOptions(limits.query);
  const cache = new ByteBoundedCache<DocumentNode>(DOCUMENT_CACHE_BYTES, documentBytes);
  return (query: unknown): { document: DocumentNode } | { errors: GraphQLError[] } => {
    if (typeof query !== "string") {
      return {
        errors: [new GraphQLError("query must be a string", { extensions: { code: "BAD_REQUEST" } })],
      };
    }
    if (documentTooLarge(query, limits.query.maxBytes))
      return { errors: [tooLargeError(limits.query.maxBytes)] };
    const hit = cache.peek(query);
    if (hit) return { document: hit };
    let document: DocumentNode;
    try {
      document = parse(query, options);
    } catch (e) {
      return { errors: [withCode(e, "GRAPHQL_PARSE_FAILED")] };
    }
    const errors = validate(schema, document, rules);
    if (errors.length) return { errors: errors.map((e) => withCode(e, "GRAPHQL_VALIDATION_FAILED")) };
    cache.put(query, document);
    return { document };
  };
}

/**
 * graphql-js's `subscribe`, except for how responses reach the sockets. A source that is a hub mailbox
 * (src/live/mailbox.ts: kpiUpdated, collectorRunFinished) is consumed in push mode by SubscriptionFanout,
 * which executes each event's response once per (document, operation, variables, principal's view) and
 * writes the same bytes to every subscriber's socket (bench/RESULTS.md, "subscribers"). Any other source
 * goes through graphql-ws as in graphql-js: executed per subscriber, sent by graphql-ws.
 */
function sharedSubscribe(
  fanout: SubscriptionFanout,
  targets: WeakMap<object, { socket: WebSocket; id: string; principal: Principal }>,
) {
  return async (args: ExecutionArgs) => {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream as ExecutionResult;
    const target = targets.get(args);
    if (target && stream instanceof Mailbox)
      return fanout.subscribe(stream, target.socket, target.id, args, target.principal);
    return mapAsyncIterator(stream, (payload) => execute({ ...args, rootValue: payload }));
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
  limits: WsLimits & { maxQueryDepth: number; query: QueryLimits; limiter: RateLimiter | null },
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
  const prepared = documentCache(schema, limits);
  // Each accepted operation's execution arguments → its request id, so that what it logs carries it.
  const requestIds = new WeakMap<object, string>();
  const inOperation =
    <T>(run: (args: ExecutionArgs) => T) =>
    (args: ExecutionArgs): T => {
      const requestId = requestIds.get(args);
      return requestId ? logContext.run({ requestId }, () => run(args)) : run(args);
    };
  const refuse = (requestId: string, key: string, errors: GraphQLError[]) => {
    log.info("ws operation refused", { requestId, key, code: errors[0]?.extensions?.code });
    return errors;
  };
  const format = (errors: readonly GraphQLError[]) => errors.map((e) => formatError(e.toJSON(), e));
  // Operations whose events SubscriptionFanout writes itself: their socket, graphql-ws id and principal.
  const targets = new WeakMap<object, { socket: WebSocket; id: string; principal: Principal }>();
  const fanout = new SubscriptionFanout({
    execute: (args, rootValue) => inOperation((a) => execute({ ...a, rootValue }))(args),
    format,
    maxBufferedBytes: limits.maxBufferedBytes,
  });
  const cleanup = useServer<
    Record<string, unknown>,
    { socket: Tracked; request: http.IncomingMessage; principal: Principal }
  >(
    {
      schema,
      context: (ctx) => subscriptionContext(services, ctx.extra.principal ?? NOBODY),
      subscribe: inOperation(sharedSubscribe(fanout, targets)),
      execute: inOperation(execute),
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
      onSubscribe: async (ctx, id, payload) => {
        const socket = ctx.extra.socket;
        // A key revoked since the connection opened (by the CLI or another replica) gets no new subscriptions.
        if ("refused" in (await access.identifySocket(ctx.connectionParams, ctx.extra.request))) {
          socket.close(4403, "Forbidden: API key revoked");
          return [
            new GraphQLError("the API key is no longer valid", { extensions: { code: "UNAUTHENTICATED" } }),
          ];
        }
        socket.operations ??= new Map();
        const operations = socket.operations;
        // Operations graphql-ws no longer runs (ended without onComplete, e.g. a throw) stop counting.
        for (const known of operations.keys())
          if (!(known in ctx.subscriptions) || known === id) operations.delete(known);
        const requestId = randomUUID();
        const key = rateKey(ctx.extra.principal, ctx.extra.request?.socket.remoteAddress);
        const rate = limits.limiter?.take(key);
        if (rate && !rate.ok) {
          return refuse(requestId, key, [
            new GraphQLError(rateLimitMessage(limits.limiter!.perSecond), {
              extensions: { code: "RATE_LIMITED", retryAfterSeconds: rate.retryAfterSeconds },
            }),
          ]);
        }
        if (operations.size >= limits.maxSubscriptionsPerConnection) {
          return refuse(requestId, key, [
            new GraphQLError(
              `at most ${limits.maxSubscriptionsPerConnection} subscriptions per connection (UPLIFT_WS_MAX_SUBSCRIPTIONS)`,
              { extensions: { code: "BAD_USER_INPUT" } },
            ),
          ]);
        }
        // What graphql-ws would do itself (parse, validate, coerce variables), with the limits, cached.
        const doc = prepared(payload.query);
        if ("errors" in doc) return refuse(requestId, key, doc.errors);
        const operation = getOperationAST(doc.document, payload.operationName);
        if (!operation) {
          return refuse(requestId, key, [
            new GraphQLError("Unable to identify operation", {
              extensions: { code: "OPERATION_RESOLUTION_FAILURE" },
            }),
          ]);
        }
        const coerced = getVariableValues(
          schema,
          operation.variableDefinitions ?? [],
          payload.variables ?? {},
        );
        if (coerced.errors)
          return refuse(
            requestId,
            key,
            coerced.errors.map((e) => withCode(e, "BAD_USER_INPUT")),
          );
        operations.set(id, {
          requestId,
          started: performance.now(),
          type: operation.operation,
          name: operation.name?.value,
        });
        const args: ExecutionArgs = {
          schema,
          document: doc.document,
          operationName: payload.operationName,
          variableValues: payload.variables,
        };
        requestIds.set(args, requestId);
        targets.set(args, { socket, id, principal: ctx.extra.principal ?? NOBODY });
        return args;
      },
      onComplete: (ctx, id) => {
        const op = ctx.extra.socket.operations?.get(id);
        if (!op) return;
        ctx.extra.socket.operations!.delete(id);
        log.info("ws operation", {
          requestId: op.requestId,
          operation: op.type,
          operationName: op.name,
          durationMs: Math.round((performance.now() - op.started) * 1000) / 1000,
        });
      },
      // Every error sent on a socket goes through the HTTP path's formatter: a code, no driver text.
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onNext: (ctx, _id, _payload, _args, result) => {
        const socket = ctx.extra.socket;
        if (socket.bufferedAmount > limits.maxBufferedBytes) {
          log.warn("closing a subscriber that does not keep up", { buffered: socket.bufferedAmount });
          socket.close(1013, "consumer too slow: reconnect"); // 1013 Try Again Later
        }
        // Shared results (sharedSubscribe) stay shared; only results with errors get a formatted copy.
        if (result.errors?.length) {
          const formatted: FormattedExecutionResult = {
            ...result,
            errors: format(result.errors as readonly GraphQLError[]),
          };
          return formatted;
        }
        return undefined;
      },
    },
    wss,
    // No keep-alive of graphql-ws's own (a 12 s timer and ping per socket): the pinger below already drops
    // dead peers, with one timer for all sockets.
    0,
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
