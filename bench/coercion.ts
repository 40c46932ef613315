// In-process, no database, no HTTP: what the server spends on one 5,000-item recordObservations body before
// SQL — JSON parsing, graphql-js's variable coercion, and the whole execution as the server runs it with a stub
// database (the items coerced by src/api/observation-variables.ts, the store's validation, batching and SQL
// parameter building).

import { getVariableValues, type OperationDefinitionNode, parse, validate } from "graphql";
import type { DataSource } from "typeorm";
import { observationAwareExecute } from "../src/api/observation-variables.js";
import { buildUpliftSchema } from "../src/api/schema.js";
import { OPEN_PRINCIPAL } from "../src/auth/principal.js";
import type { Events } from "../src/live/events.js";
import { RECORD_MUTATION } from "./ingest.js";
import { median } from "./stats.js";

/** Medians; wall time and this process's CPU time (robust when other processes share the cores). */
export interface CoercionTimes {
  nodeEnv: string;
  items: number;
  bodyBytes: number;
  jsonParseMs: number;
  coerceMs: number;
  executeMs: number;
  jsonParseCpuMs: number;
  coerceCpuMs: number;
  executeCpuMs: number;
}

/** Runs `fn`, returning its result with its wall and CPU milliseconds. */
async function clock<T>(fn: () => T | Promise<T>): Promise<[T, number, number]> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const v = await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return [v, wall, (c.user + c.system) / 1000];
}

/** A DataSource that answers the store's queries instantly (one project, one metric, all rows inserted). */
function stubDataSource(items: number): DataSource {
  const query = async (sql: string, params?: unknown[]) => {
    // The store's lookup of projects and metrics, in one statement.
    if (/FROM project WHERE slug.*FROM metric WHERE key/s.test(sql))
      return [
        { metric: false, id: "1", name: (params![0] as string[])[0] },
        { metric: true, id: "1", name: (params![1] as string[])[0] },
      ];
    if (/FROM project WHERE slug/.test(sql)) return [{ id: "1", slug: (params![0] as string[])[0] }];
    if (/FROM metric WHERE key/.test(sql)) return [{ id: "1", key: (params![0] as string[])[0] }];
    if (/INSERT INTO observation \(/.test(sql)) return [{ inserted: String(items), updated: "0" }];
    return [];
  };
  return {
    query,
    transaction: async (fn: (m: unknown) => unknown) => fn({ query }),
  } as unknown as DataSource;
}

export async function measureCoercion(body: Buffer, iterations = 20): Promise<CoercionTimes> {
  const schema = await buildUpliftSchema();
  const document = parse(RECORD_MUTATION);
  const errors = validate(schema, document);
  if (errors.length) throw new Error(errors.map((e) => e.message).join("; "));
  const op = document.definitions[0] as OperationDefinitionNode;
  const items = (JSON.parse(body.toString()).variables.input as unknown[]).length;
  const events = { changed: async () => undefined } as unknown as Events;
  // The execution as the server runs it: recordObservations' items coerced by observation-variables.ts.
  const run = observationAwareExecute(schema);
  // Open mode's principal, as every request has one (the access rules read it).
  const contextValue = () => ({ ds: stubDataSource(items), events, principal: OPEN_PRINCIPAL });

  const wall = { parse: [] as number[], coerce: [] as number[], execute: [] as number[] };
  const cpu = { parse: [] as number[], coerce: [] as number[], execute: [] as number[] };
  for (let i = 0; i < iterations + 3; i++) {
    const [payload, parseWall, parseCpu] = await clock(() => JSON.parse(body.toString()));
    const [coerced, coerceWall, coerceCpu] = await clock(() =>
      getVariableValues(schema, op.variableDefinitions ?? [], payload.variables),
    );
    if ("errors" in coerced && coerced.errors) throw new Error(coerced.errors[0].message);
    const [result, executeWall, executeCpu] = await clock(() =>
      run({ schema, document, variableValues: payload.variables, contextValue: contextValue() }),
    );
    if (result.errors?.length) throw new Error(result.errors[0].message);
    if (i >= 3) {
      wall.parse.push(parseWall);
      wall.coerce.push(coerceWall);
      wall.execute.push(executeWall);
      cpu.parse.push(parseCpu);
      cpu.coerce.push(coerceCpu);
      cpu.execute.push(executeCpu);
    }
  }
  return {
    nodeEnv: process.env.NODE_ENV ?? "(unset)",
    items,
    bodyBytes: body.length,
    jsonParseMs: median(wall.parse),
    coerceMs: median(wall.coerce),
    executeMs: median(wall.execute),
    jsonParseCpuMs: median(cpu.parse),
    coerceCpuMs: median(cpu.coerce),
    executeCpuMs: median(cpu.execute),
  };
}

/**
 * graphql-js picks its type checks once, at import, from NODE_ENV (production: plain instanceof), so each
 * mode needs its own process: `node --import tsx bench/coercion.ts` prints one measurement as JSON.
 */
export async function measureCoercionIn(nodeEnv: "production" | "development"): Promise<CoercionTimes> {
  const { execFile } = await import("node:child_process");
  const { fileURLToPath } = await import("node:url");
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ["--import", "tsx", fileURLToPath(import.meta.url)],
      { env: { ...process.env, NODE_ENV: nodeEnv }, maxBuffer: 1 << 20 },
      (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout)),
    ),
  );
  return JSON.parse(out) as CoercionTimes;
}

if (process.argv[1] && import.meta.url === (await import("node:url")).pathToFileURL(process.argv[1]).href) {
  const { generateDataset } = await import("./data.js");
  const { buildBodies } = await import("./ingest.js");
  const [body] = buildBodies(generateDataset(5_000), 5_000, "bench", "bench.resolution_time");
  process.stdout.write(`${JSON.stringify(await measureCoercion(body))}\n`);
}
