import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";
import { startTestApp, type TestApp } from "../helpers/app.js";

/** A bootstrap admin token for tests (any 32+ characters). */
export const ADMIN_TOKEN = "test-admin-token-0123456789abcdefghijklmnop";

export interface AuthApp extends TestApp {
  /** POST /graphql with `Authorization: Bearer <secret>` (no header when secret is null). */
  as<T = any>(
    secret: string | null,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ status: number; body: { data?: T; errors?: any[] } }>;
  /** Creates a key with the admin token and returns its secret. */
  key(name: string, role: "READER" | "WRITER" | "ADMIN", projects?: string[]): Promise<string>;
}

/** The whole app with auth on (UPLIFT_ADMIN_TOKEN set) on 127.0.0.1. */
export async function startAuthApp(config: string, env: Record<string, string> = {}): Promise<AuthApp> {
  const t = await startTestApp({
    config,
    env: { UPLIFT_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
    token: ADMIN_TOKEN,
  });
  const as: AuthApp["as"] = async (secret, query, variables) => {
    const res = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(secret === null ? {} : { authorization: `Bearer ${secret}` }),
      },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  return {
    ...t,
    as,
    async key(name, role, projects) {
      const r = await as(
        ADMIN_TOKEN,
        `mutation($in: CreateApiKeyInput!) { createApiKey(input: $in) { secret } }`,
        { in: { name, role, projects } },
      );
      if (!r.body.data) throw new Error(JSON.stringify(r.body.errors));
      return r.body.data.createApiKey.secret;
    },
  };
}

export interface WsResult {
  client: Client;
  events: any[];
  errors: any[];
  /** The close event's code, once the socket closed. */
  closed: Promise<{ code: number; reason: string }>;
}

/**
 * Opens a graphql-ws connection (connection_init payload `params`, upgrade `headers`) and subscribes to
 * `query`. Resolves once the server acknowledged the connection, or once it closed the socket.
 */
export async function wsSubscribe(
  httpUrl: string,
  query: string,
  opts: {
    params?: Record<string, unknown>;
    headers?: Record<string, string>;
    variables?: Record<string, unknown>;
  } = {},
): Promise<WsResult & { acked: boolean }> {
  let closedWith: (v: { code: number; reason: string }) => void = () => undefined;
  const closed = new Promise<{ code: number; reason: string }>((r) => {
    closedWith = r;
  });
  const headers = opts.headers ?? {};
  class WithHeaders extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const client = createClient({
    url: `${httpUrl.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WithHeaders,
    connectionParams: opts.params,
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => undefined,
    on: { closed: (e: any) => closedWith({ code: e?.code, reason: String(e?.reason ?? "") }) },
  });
  const events: any[] = [];
  const errors: any[] = [];
  const acked = await new Promise<boolean>((resolve) => {
    client.on("connected", () => resolve(true));
    void closed.then(() => resolve(false));
  });
  if (acked) {
    client.subscribe(
      { query, variables: opts.variables },
      {
        next: (v) => events.push(v),
        error: (e) => errors.push(e),
        complete: () => undefined,
      },
    );
  }
  return { client, events, errors, closed, acked };
}

/** Polls `check` until it returns true (an event-driven wait with a generous ceiling, not a timing assertion). */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 20_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
