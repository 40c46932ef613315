import type http from "node:http";
import { GraphQLError, type GraphQLSchema, specifiedRules, validate } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { type WebSocket, WebSocketServer } from "ws";
import type { WsLimits } from "../config/env.js";
import { log } from "../log.js";
import { type AppServices, createContext } from "./context.js";
import { depthLimit } from "./depth-limit.js";

interface Tracked extends WebSocket {
  alive?: boolean;
  subscriptions?: number;
}

export interface SubscriptionServer {
  clientCount(): number;
  close(): Promise<void>;
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
): SubscriptionServer {
  const wss = new WebSocketServer({
    server: httpServer,
    path: "/graphql",
    maxPayload: 1024 * 1024,
    verifyClient: (_info, done) => {
      if (wss.clients.size >= limits.maxConnections) done(false, 503, "too many WebSocket connections");
      else done(true);
    },
  });
  const cleanup = useServer<Record<string, unknown>, { socket: Tracked }>(
    {
      schema,
      context: () => createContext(services),
      validate: (s, doc) => validate(s, doc, [...specifiedRules, depthLimit(limits.maxQueryDepth)]),
      onSubscribe: (ctx) => {
        const socket = ctx.extra.socket;
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
