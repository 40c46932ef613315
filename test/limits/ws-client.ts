import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";

/** A connected graphql-ws client on the app's /graphql. */
export async function wsClient(httpUrl: string): Promise<Client> {
  const client = createClient({
    url: `${httpUrl.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
  });
  await new Promise<void>((resolve, reject) => {
    client.on("connected", () => resolve());
    client.on("error", reject);
  });
  return client;
}

/** Runs one operation and resolves with its first result, or with the errors of an `error` message. */
export function once(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ data?: any; errors?: any[] }> {
  return new Promise((resolve) => {
    let done = false;
    const dispose = client.subscribe(
      { query, variables },
      {
        next: (v) => {
          if (done) return;
          done = true;
          dispose();
          resolve(v as any);
        },
        error: (e) => {
          if (done) return;
          done = true;
          resolve({ errors: Array.isArray(e) ? e : [e] });
        },
        complete: () => {
          if (!done) resolve({});
        },
      },
    );
  });
}

/** Starts a subscription that stays open; errors it receives are collected. */
export function open(client: Client, query: string, variables?: Record<string, unknown>) {
  const errors: any[] = [];
  const dispose = client.subscribe(
    { query, variables },
    {
      next: () => undefined,
      error: (e) => errors.push(...(Array.isArray(e) ? e : [e])),
      complete: () => undefined,
    },
  );
  return { dispose, errors };
}
