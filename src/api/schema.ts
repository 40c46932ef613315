import "reflect-metadata";
import fs from "node:fs";
import { type GraphQLSchema, lexicographicSortSchema, printSchema } from "graphql";
import { buildSchema } from "type-graphql";
import type { UpliftPubSub } from "./events.js";
import { CollectorResolver } from "./resolvers/collector.js";
import { CostResolver } from "./resolvers/cost.js";
import { KpiResolver } from "./resolvers/kpi.js";
import { MetricResolver } from "./resolvers/metric.js";
import { ObservationResolver } from "./resolvers/observation.js";
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
] as const;

export async function buildUpliftSchema(pubSub: UpliftPubSub): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    pubSub,
    validate: false, // inputs are checked by the store, which names each bad field and index
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
  });
}

/** The schema as committed in schema.graphql (sorted, so the file diffs cleanly). */
export function printUpliftSchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

export function writeSchemaFile(schema: GraphQLSchema, file: string): void {
  fs.writeFileSync(file, printUpliftSchema(schema));
}
