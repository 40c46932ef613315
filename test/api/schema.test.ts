import fs from "node:fs";
import path from "node:path";
import { buildSchema, findBreakingChanges, findDangerousChanges } from "graphql";
import { describe, expect, it } from "vitest";
import { buildUpliftSchema, printUpliftSchema } from "../../src/api/schema.js";
import { PROJECT_ROOT, SCHEMA_FILE } from "../../src/paths.js";

// The contract's schema is kept in test/contract/ so that a clone on its own can run this test;
// when the shared contract sits beside the checkout, the copy must equal it.
const CONTRACT_COPY = path.join(PROJECT_ROOT, "test", "contract", "contract.graphql");
const SHARED_CONTRACT = path.join(PROJECT_ROOT, "..", "shared", "contract", "schema.graphql");

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
    "keeps its copy of the contract identical to the shared one",
    () => {
      expect(fs.readFileSync(CONTRACT_COPY, "utf8")).toBe(fs.readFileSync(SHARED_CONTRACT, "utf8"));
    },
  );
});
