import fs from "node:fs";
import path from "node:path";

/** The folder holding package.json: the same from src/ under tsx and from dist/src/ when compiled. */
function findRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const up = path.dirname(dir);
    if (up === dir) return start;
    dir = up;
  }
  return dir;
}

export const PROJECT_ROOT = findRoot(import.meta.dirname);
export const SCHEMA_FILE = path.join(PROJECT_ROOT, "schema.graphql");
export const DEMO_CONFIG_FILE = path.join(PROJECT_ROOT, "src", "demo", "uplift.demo.yaml");
