import fs from "node:fs";
import path from "node:path";
import { buildSchema, findBreakingChanges, findDangerousChanges } from "graphql";
import { describe, expect, it } from "vitest";
import { buildUpliftSchema, printUpliftSchema } from "../../src/api/schema.js";
import { PROJECT_ROOT, SCHEMA_FILE } from "../../src/paths.js";

// The contract's schema is kept in test/contract/ (the parts built so far) so that a clone on its own
// can run these tests. The shared contract (../shared/contract/ beside the checkout, or
// UPLIFT_SHARED_CONTRACT) may be ahead of the copy while its new parts are being built: the served schema
// must break nothing of the copy, and the shared contract must break nothing of the copy either (every
// type, field and argument of the copy is in the shared one, compatibly). A part is built by copying it
// from the shared contract into the copy and making the served schema follow.
const CONTRACT_COPY = path.join(PROJECT_ROOT, "test", "contract", "contract.graphql");
const SHARED_CONTRACT =
  process.env.UPLIFT_SHARED_CONTRACT || path.join(PROJECT_ROOT, "..", "shared", "contract", "schema.graphql");

describe("GraphQL schema", () => {
  it("the served schema equals the committed schema.graphql (run `npm run schema` after changing it)", async () => {
    const served = printUpliftSchema(await buildUpliftSchema());
    expect(fs.readFileSync(SCHEMA_FILE, "utf8")).toBe(served);
  });

  it("breaks nothing in the contract", async () => {
    const contract = buildSchema(fs.readFileSync(CONTRACT_COPY, "utf8"));
    const served = await buildUpliftSchema();
    expect(findBreakingChanges(contract, served).map((c) => c.description)).toEqual([]);
    expect(findDangerousChanges(contract, served).map((c) => c.description)).toEqual([]);
  });

  it.runIf(fs.existsSync(SHARED_CONTRACT))(
    "keeps a copy of the contract that the shared one only extends (needs ../shared/contract/)",
    () => {
      const copy = buildSchema(fs.readFileSync(CONTRACT_COPY, "utf8"));
      const shared = buildSchema(fs.readFileSync(SHARED_CONTRACT, "utf8"));
      // Going from the copy to the shared contract must break nothing; additions (new types, fields,
      // enum values, optional arguments) are the parts not built yet.
      expect(findBreakingChanges(copy, shared).map((c) => c.description)).toEqual([]);
    },
  );

  it("reads the direction right: a shared contract ahead passes, a copy that differs from it fails", () => {
    const breaks = (copy: string, shared: string) =>
      findBreakingChanges(buildSchema(copy), buildSchema(shared)).map((c) => c.description);
    const copy = "type Query { a: Int! }";
    expect(breaks(copy, "type Query { a: Int! b: String }\nenum Role { ADMIN }")).toEqual([]);
    expect(breaks(copy, "type Query { b: Int }")).toEqual(["Query.a was removed."]);
    expect(breaks(copy, "type Query { a: Int b: String }")).toEqual([
      "Query.a changed type from Int! to Int.",
    ]);
  });
});
