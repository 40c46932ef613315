import { type GraphQLSchema, getVariableValues, Kind, parse } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { coercionStats, observationAwareExecute } from "../../src/api/observation-variables.js";
import { buildUpliftSchema } from "../../src/api/schema.js";

// recordObservations' items are coerced by observation-variables.ts instead of graphql-js when they are
// plainly valid. Checked here against graphql-js itself (getVariableValues on the public schema): every
// item it accepts comes out the same; every item it refuses goes to graphql-js, whose error is the answer.

const MUTATION = `mutation R($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted updated } }`;

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildUpliftSchema();
});

const base = { projectSlug: "p", metricKey: "m", observedAt: "2025-01-15T12:00:00Z", value: 5 };

const variants: [string, unknown][] = [
  ["minimal", base],
  ["every field", { ...base, weight: 2.5, externalId: "x-1", dimensions: { team: "emea" } }],
  ["nulls for the nullable fields", { ...base, weight: null, externalId: null, dimensions: null }],
  ["an offset date", { ...base, observedAt: "2025-02-01T08:00:00+02:00" }],
  ["milliseconds", { ...base, observedAt: "2025-02-01T08:00:00.5Z" }],
  ["no offset", { ...base, observedAt: "2025-02-01T08:00:00" }],
  ["not a date", { ...base, observedAt: "yesterday" }],
  ["February 30", { ...base, observedAt: "2025-02-30T00:00:00Z" }],
  ["a numeric date", { ...base, observedAt: 1700000000000 }],
  ["a null date", { ...base, observedAt: null }],
  ["a missing date", { projectSlug: "p", metricKey: "m", value: 1 }],
  ["a string value", { ...base, value: "5" }],
  ["an integer value", { ...base, value: 7 }],
  ["a boolean weight", { ...base, weight: true }],
  ["a numeric slug", { ...base, projectSlug: 12 }],
  ["a numeric externalId", { ...base, externalId: 12 }],
  ["an unknown field", { ...base, colour: "red" }],
  ["dimensions as an array", { ...base, dimensions: ["a"] }],
  ["dimensions as a string", { ...base, dimensions: "a" }],
  ["an item that is an array", [1, 2]],
  ["an item that is null", null],
  ["an item that is a string", "x"],
];

/** graphql-js's coercion of the variable on the public schema: the items, or the error messages. */
function graphqlJs(value: unknown): { items?: unknown[]; errors?: string[] } {
  const op = parse(MUTATION).definitions[0];
  if (op.kind !== Kind.OPERATION_DEFINITION) throw new Error("no operation");
  const r = getVariableValues(schema, op.variableDefinitions ?? [], { in: value });
  if (r.errors) return { errors: r.errors.map((e) => e.message) };
  return { items: r.coerced.in as unknown[] };
}

/** The variables as the resolver receives them, through the module's execute (resolver replaced). */
async function throughExecute(value: unknown): Promise<{ items?: unknown[]; errors?: string[] }> {
  const field = schema.getMutationType()!.getFields().recordObservations!;
  const original = field.resolve;
  let seen: unknown[] | undefined;
  field.resolve = (_root, args) => {
    seen = args.input;
    return { inserted: 0, updated: 0 };
  };
  try {
    const run = observationAwareExecute(schema);
    const r = await run({
      schema,
      document: parse(MUTATION),
      contextValue: {},
      variableValues: { in: value },
    });
    if (r.errors) return { errors: r.errors.map((e) => e.message) };
    return { items: seen };
  } finally {
    field.resolve = original;
  }
}

/** Plain data for comparison (graphql-js's items have no prototype; dates compared by time). */
const plain = (x: unknown) => JSON.parse(JSON.stringify(x));

describe("recordObservations variable coercion", () => {
  for (const [name, item] of variants) {
    it(`${name}: the same items or the same errors as graphql-js`, async () => {
      const expected = graphqlJs([base, item]);
      const got = await throughExecute([base, item]);
      if (expected.errors) expect(got).toEqual({ errors: expected.errors });
      else {
        expect(got.errors).toBeUndefined();
        expect(plain(got.items)).toEqual(plain(expected.items));
        for (const o of got.items as { observedAt: unknown }[]) expect(o.observedAt).toBeInstanceOf(Date);
      }
    });
  }

  it("a valid batch is coerced by the module; a refused one by graphql-js", async () => {
    const before = coercionStats.lists;
    await throughExecute([base, { ...base, weight: 2, externalId: "e", dimensions: {} }]);
    expect(coercionStats.lists).toBe(before + 1);
    await throughExecute([base, { ...base, value: "5" }]);
    expect(coercionStats.lists).toBe(before + 1);
  });

  it("a variable that is not a list, or is null, gets graphql-js's answer", async () => {
    for (const v of [base, null, "x"]) expect(await throughExecute(v)).toEqual(graphqlJs(v));
  });

  it("the weight's default (1) is applied when the field is absent, null kept when sent", async () => {
    const got = await throughExecute([base, { ...base, weight: null }]);
    expect((got.items as { weight: unknown }[]).map((o) => o.weight)).toEqual([1, null]);
  });

  it("the internal type cannot be named by a client document (unknown to the public schema)", () => {
    expect(schema.getType("UpliftCoercedObservationInputList")).toBeUndefined();
  });
});
