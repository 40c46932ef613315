import { execute, parse } from "graphql";
import { registry } from "../../collectors/index.js";
import { createContext } from "../../src/api/context.js";
import { buildUpliftSchema } from "../../src/api/schema.js";
import { type App, startApp } from "../../src/app.js";
import type { Principal } from "../../src/auth/principal.js";
import { readEnv } from "../../src/config/env.js";
import type { AlertServiceOptions } from "../../src/governance/alerts/service.js";
import { KpiEngine } from "../../src/kpi/engine.js";
import { createLogger } from "../../src/log.js";
import { writeConfig } from "../helpers/app.js";

/** One app instance on a given database (several may share one: replicas). */
export async function startOn(
  dbUrl: string,
  config: string,
  alertOptions: AlertServiceOptions = { timers: false },
): Promise<
  App & { gql<T = any>(q: string, v?: Record<string, unknown>): Promise<{ data?: T; errors?: any[] }> }
> {
  const env = readEnv({
    DATABASE_URL: dbUrl,
    PORT: "0",
    HOST: "127.0.0.1",
    UPLIFT_CONFIG: writeConfig(config),
    UPLIFT_SCHEDULER: "off",
  });
  const app = await startApp(env, createLogger({ test: true }), { registry, alertOptions });
  return Object.assign(app, {
    async gql(query: string, variables?: Record<string, unknown>) {
      const res = await fetch(`${app.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as any;
    },
  });
}

/** Runs an operation in-process as a given principal (access control is another branch's work). */
export async function gqlAs(
  app: App,
  principal: Principal,
  query: string,
  variables?: Record<string, unknown>,
) {
  const schema = await buildUpliftSchema();
  const services = {
    ds: app.db.ds,
    engine: new KpiEngine(app.db.ds),
    currency: app.config.currency,
    events: app.events,
    collectors: app.collectors,
    alerts: app.alerts,
  };
  const res = await execute({
    schema,
    document: parse(query),
    variableValues: variables,
    contextValue: createContext(services, principal),
  });
  return JSON.parse(JSON.stringify(res)) as { data?: any; errors?: any[] };
}

/** Polls an async condition until it holds (event-driven waits are used where an event exists). */
export async function waitUntil(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("condition not met in time");
}
