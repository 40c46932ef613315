import fs from "node:fs";
import path from "node:path";
import { buildSchema, type GraphQLSchema } from "graphql";
import { describe, expect, it } from "vitest";
import { OPERATIONS } from "../../src/api/access-rules.js";
import { buildUpliftSchema } from "../../src/api/schema.js";
import { PROJECT_ROOT } from "../../src/paths.js";

// Every root operation has a declared role: a new query, mutation or subscription without one fails here.

function rootFields(schema: GraphQLSchema) {
  return {
    Query: Object.keys(schema.getQueryType()?.getFields() ?? {}),
    Mutation: Object.keys(schema.getMutationType()?.getFields() ?? {}),
    Subscription: Object.keys(schema.getSubscriptionType()?.getFields() ?? {}),
  };
}

describe("operation → role table", () => {
  it("declares a role for every query, mutation and subscription of the served schema", async () => {
    const served = rootFields(await buildUpliftSchema());
    for (const [kind, names] of Object.entries(served) as [keyof typeof OPERATIONS, string[]][]) {
      const undeclared = names.filter((n) => !OPERATIONS[kind][n]);
      expect(undeclared, `${kind} fields without a role in src/api/access-rules.ts`).toEqual([]);
    }
  });

  it("declares one for every operation of the contract too", () => {
    const contract = buildSchema(
      fs.readFileSync(path.join(PROJECT_ROOT, "test", "contract", "contract.graphql"), "utf8"),
    );
    for (const [kind, names] of Object.entries(rootFields(contract)) as [
      keyof typeof OPERATIONS,
      string[],
    ][]) {
      expect(names.filter((n) => !OPERATIONS[kind][n])).toEqual([]);
    }
  });

  it("follows the contract: reader reads (but apiKeys and auditLog), writer records observations, admin the rest", () => {
    const role = (kind: keyof typeof OPERATIONS) =>
      Object.fromEntries(Object.entries(OPERATIONS[kind]).map(([n, r]) => [n, r.role]));
    const queries = role("Query");
    expect(Object.entries(queries).filter(([, r]) => r !== "reader")).toEqual([
      ["apiKeys", "admin"],
      ["auditLog", "admin"],
    ]);
    expect(Object.values(role("Subscription")).every((r) => r === "reader")).toBe(true);
    const mutations = role("Mutation");
    expect(Object.entries(mutations).filter(([, r]) => r !== "admin")).toEqual([
      ["recordObservations", "writer"],
    ]);
  });
});
