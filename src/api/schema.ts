import "reflect-metadata";
import fs from "node:fs";
import { type GraphQLSchema, lexicographicSortSchema, printSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { BadInputError, type InputProblem } from "../errors.js";
import { applyAccessRules } from "./access-rules.js";
import { ApiKeyResolver } from "./resolvers/api-key.js";
import { CollectorResolver } from "./resolvers/collector.js";
import { CostResolver } from "./resolvers/cost.js";
import {
  GovernanceResolver,
  KpiGovernanceResolver,
  PortfolioGovernanceResolver,
  ProjectGovernanceResolver,
} from "./resolvers/governance.js";
import { KpiResolver } from "./resolvers/kpi.js";
import { MetricResolver } from "./resolvers/metric.js";
import { ObservationResolver, resolveRecordObservations } from "./resolvers/observation.js";
import { PortfolioResolver } from "./resolvers/portfolio.js";
import { ProjectResolver } from "./resolvers/project.js";
import { DateTimeScalar } from "./scalars.js";

export const resolvers = [
  ProjectResolver,
  MetricResolver,
  KpiResolver,
  ObservationResolver,
  CostResolver,
  PortfolioResolver,
  CollectorResolver,
  ApiKeyResolver,
  GovernanceResolver,
  KpiGovernanceResolver,
  PortfolioGovernanceResolver,
  ProjectGovernanceResolver,
] as const;

export async function buildUpliftSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers,
    // Subscriptions use their own `subscribe` functions (src/live/hub.ts), not type-graphql topics; it
    // still insists on a PubSub, so it gets one that refuses to be used.
    pubSub: {
      publish: () => undefined,
      subscribe: () => {
        throw new Error("subscriptions are served by the live hub, not by topics");
      },
    },
    // Inputs are checked by the store, which names each bad field and index. Off, type-graphql never
    // loads class-validator (an optional peer, not installed).
    validate: false,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
  });
  // The type-graphql class above declares the field; its items need no conversion into class instances.
  const record = schema.getMutationType()?.getFields().recordObservations;
  if (record) record.resolve = resolveRecordObservations as typeof record.resolve;
  // PostgreSQL text cannot hold U+0000: refuse it in any argument of a query or mutation as bad input
  // (else the database's error surfaces as INTERNAL_SERVER_ERROR).
  for (const type of [schema.getQueryType(), schema.getMutationType()]) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      const resolve = field.resolve;
      if (!resolve) continue;
      field.resolve = (root, args, ctx, info) => {
        if (hasNul(args)) throw new BadInputError(nulProblems(args));
        return resolve(root, args, ctx, info);
      };
    }
  }
  applyAccessRules(schema); // outermost: FORBIDDEN before any validation of the arguments
  return schema;
}

/** Whether any string or object key in the arguments holds U+0000: one pass, nothing allocated. */
function hasNul(v: unknown): boolean {
  if (typeof v === "string") return v.includes("\u0000");
  if (v === null || typeof v !== "object" || v instanceof Date) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (hasNul(v[i])) return true;
    return false;
  }
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    if (k.includes("\u0000") || hasNul((v as Record<string, unknown>)[k])) return true;
  }
  return false;
}

/** Every string (or object key) holding U+0000, named like the store names fields: `input[2].externalId`. */
function nulProblems(args: Record<string, unknown>): InputProblem[] {
  const problems: InputProblem[] = [];
  const walk = (v: unknown, field: string, index?: number) => {
    const at = index === undefined ? {} : { index };
    if (typeof v === "string") {
      if (v.includes("\u0000")) problems.push({ field, message: "must not contain U+0000 (NUL)", ...at });
    } else if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) walk(x, `${field}[${i}]`, index ?? i);
    } else if (v !== null && typeof v === "object" && !(v instanceof Date)) {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes("\u0000"))
          problems.push({ field, message: "keys must not contain U+0000 (NUL)", ...at });
        else walk(x, `${field}.${k}`, index);
      }
    }
  };
  for (const [k, v] of Object.entries(args)) walk(v, k);
  return problems;
}

/** The schema as committed in schema.graphql (sorted, so the file diffs cleanly). */
export function printUpliftSchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

export function writeSchemaFile(schema: GraphQLSchema, file: string): void {
  fs.writeFileSync(file, printUpliftSchema(schema));
}
