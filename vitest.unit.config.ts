import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";

// `npm run test:unit`: the fast tests, without PostgreSQL. A test file that needs the database is named
// *.db.test.ts (it uses test/helpers/db.ts, app.ts or process.ts) and runs only in `npm test`.
// mergeConfig concatenates arrays, so the base's globalSetup (the embedded PostgreSQL) is dropped by hand.
const merged = mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: ["**/node_modules/**", "**/*.db.test.ts"],
    },
  }),
  true,
);
merged.test = { ...merged.test, globalSetup: [] };
export default merged;
