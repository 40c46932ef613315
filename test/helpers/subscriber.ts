import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";

export interface Subscriber {
  client: Client;
  events: any[];
  errors: unknown[];
  /** Resolves when at least `n` events have arrived (rejects after `ms`, a bound for a stuck test only). */
  waitFor(n: number, ms?: number): Promise<any[]>;
  stop(): Promise<void>;
}

/** The server's count of subscriptions it ever registered (LiveHub.stats), for in-process servers. */
export interface Registrations {
  stats: { subscribed: number };
}

/** Subscriptions to an in-process server are made one at a time, so that each sees its own registration. */
let registering: Promise<unknown> = Promise.resolve();

/**
 * A graphql-ws client subscribed to one operation; events are collected as they arrive. With `server`
 * (an in-process app's LiveHub) it resolves once the server has registered the subscription, so that a
 * change made next is seen; without one (a server in another process) the caller has to make sure
 * itself, for example by repeating an idempotent change until the first event arrives.
 */
export function subscribe(
  httpUrl: string,
  query: string,
  variables?: Record<string, unknown>,
  server?: Registrations,
): Promise<Subscriber> {
  if (!server) return open(httpUrl, query, variables, null);
  const next = registering.then(() => open(httpUrl, query, variables, server));
  registering = next.catch(() => undefined);
  return next;
}

async function open(
  httpUrl: string,
  query: string,
  variables: Record<string, unknown> | undefined,
  server: Registrations | null,
): Promise<Subscriber> {
  const before = server?.stats.subscribed ?? 0;
  const client = createClient({
    url: `${httpUrl.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
  });
  const events: any[] = [];
  const errors: unknown[] = [];
  let wake: (() => void) | null = null;
  const started = new Promise<void>((resolve, reject) => {
    client.on("connected", () => resolve());
    client.on("error", reject);
  });
  const dispose = client.subscribe(
    { query, variables },
    {
      next: (v) => {
        events.push(v);
        wake?.();
      },
      error: (e) => {
        errors.push(e);
        wake?.();
      },
      complete: () => undefined,
    },
  );
  await started;
  if (server) {
    // The server registers the subscription when it processes the subscribe message, a little later.
    const until = Date.now() + 30_000; // a bound for a stuck test only
    while (server.stats.subscribed === before) {
      if (errors.length) throw new Error(`subscription error: ${JSON.stringify(errors[0])}`);
      if (Date.now() > until) throw new Error("the server did not register the subscription");
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return {
    client,
    events,
    errors,
    async waitFor(n, ms = 30_000) {
      const until = Date.now() + ms;
      while (events.length < n) {
        if (errors.length) throw new Error(`subscription error: ${JSON.stringify(errors[0])}`);
        if (Date.now() > until) throw new Error(`expected ${n} events within ${ms} ms, got ${events.length}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return events;
    },
    async stop() {
      dispose();
      await client.dispose();
    },
  };
}
