import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";

export interface Subscriber {
  client: Client;
  events: any[];
  errors: unknown[];
  /** Resolves when at least `n` events have arrived (rejects after `ms`). */
  waitFor(n: number, ms?: number): Promise<any[]>;
  stop(): Promise<void>;
}

/** A graphql-ws client subscribed to one operation; events are collected as they arrive. */
export async function subscribe(
  httpUrl: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<Subscriber> {
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
  // The server registers the subscription when it processes the subscribe message; give it a moment.
  await new Promise((r) => setTimeout(r, 100));
  return {
    client,
    events,
    errors,
    async waitFor(n, ms = 5000) {
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
