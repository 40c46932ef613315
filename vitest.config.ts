import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) builds. Node, and so type-graphql and Apollo, load
    // the CommonJS one; Vite would hand our sources the ESM one, and the two copies' classes differ
    // ("Cannot determine GraphQL input type"). Pin every import of "graphql" to the build Node uses.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["test/**/*.test.ts", "collectors/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Every test file gets its own database cloned from a migrated template (test/helpers/db.ts).
    fileParallelism: true,
  },
});
