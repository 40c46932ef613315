import "reflect-metadata";
import {
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  parse,
  TypeInfo,
  ValidationContext,
} from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { operationCost } from "../../src/api/limits/cost.js";
import { buildUpliftSchema } from "../../src/api/schema.js";

// Costs counted by hand from docs/limits.md: one unit per figure computation, lists ×10 (or `limit`).
let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildUpliftSchema();
});

function cost(query: string): number {
  const doc = parse(query);
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  return operationCost(new ValidationContext(schema, doc, new TypeInfo(schema), () => undefined), op);
}

describe("query cost", () => {
  it("counts a KPI's figures once, however many figure fields are selected", () => {
    expect(cost('{ project(slug: "a") { kpi(metricKey: "m") { improvementPct } } }')).toBe(1);
    expect(
      cost(
        '{ project(slug: "a") { kpi(metricKey: "m") { improvementPct pValue confidence { low } current { value } } } }',
      ),
    ).toBe(1);
    expect(cost('{ project(slug: "a") { kpi(metricKey: "m") { projectSlug metric { key } } } }')).toBe(0);
  });

  it("counts each series, roi and portfolio, aliases separately", () => {
    expect(cost('{ project(slug: "a") { roi { net } r2: roi(horizonMonths: 24) { net } } }')).toBe(2);
    expect(cost("{ portfolio { projectCount } p2: portfolio { projectCount } }")).toBe(2);
    expect(cost('{ project(slug: "a") { kpi(metricKey: "m") { series(bucket: DAY) { value } } } }')).toBe(1);
  });

  it("multiplies by 10 per list, or by a limit argument", () => {
    // projects (10) × (roi 1 + kpis (10) × (figures 1 + series 1)) = 10 × 21.
    expect(
      cost("{ projects { roi { net } kpis { current { value } series(bucket: WEEK) { value } } } }"),
    ).toBe(210);
    // stalledPilots is a list of projects: 10 × roi.
    expect(cost("{ portfolio { stalledPilots { roi { net } } } }")).toBe(1 + 10);
    expect(cost("{ collectorRuns(limit: 3) { id } metrics { key } }")).toBe(0);
  });

  it("follows fragments and inline fragments", () => {
    const q = `query { projects { ...P } }
      fragment P on Project { roi { net } kpis { ...K ... on Kpi { series(bucket: DAY) { value } } } }
      fragment K on Kpi { improvementPct baseline { value } }`;
    expect(cost(q)).toBe(10 * (1 + 10 * (1 + 1)));
  });

  it("subscriptions: a pushed KPI costs its figures and series", () => {
    expect(cost("subscription { kpiUpdated { improvementPct series(bucket: DAY) { value } } }")).toBe(2);
  });
});
