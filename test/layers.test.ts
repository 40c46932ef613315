import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

// Layers import downward only: the API depends on the engine, never the reverse. Read from the source
// text (every relative import and re-export), so a new upward import fails here with its file and line.

const SRC = path.resolve(import.meta.dirname, "..", "src");

interface Edge {
  from: string;
  to: string;
  line: number;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of fs.readdirSync(SRC, { recursive: true, encoding: "utf8" })) {
    if (!file.endsWith(".ts")) continue;
    const text = fs.readFileSync(path.join(SRC, file), "utf8");
    for (const m of text.matchAll(
      /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+["'](\.{1,2}\/[^"']+)["']/g,
    )) {
      const target = path.relative(SRC, path.resolve(SRC, path.dirname(file), m[1]!));
      const line = text.slice(0, m.index! + m[0].length).split("\n").length;
      out.push({ from: file, to: target, line });
    }
  }
  return out;
}

const layerOf = (file: string) => (file.includes(path.sep) ? file.split(path.sep)[0]! : "(root)");
const show = (e: Edge) => `src/${e.from}:${e.line} imports src/${e.to}`;

/** Which layers a layer must not import. */
const FORBIDDEN: Record<string, string[]> = {
  collect: ["api", "cli"],
  live: ["api", "cli", "collect"],
  store: ["api", "cli", "live", "kpi", "collect"],
  kpi: ["api", "cli", "live", "collect"],
  db: ["api", "cli", "live", "kpi", "collect", "store"],
  config: ["api", "cli", "live", "collect"],
  // auth checks credentials against the keys in the store; the GraphQL rules live in api/access-rules.ts.
  auth: ["api", "cli", "live", "collect", "kpi"],
  demo: ["api", "cli", "live", "kpi", "store"],
  domain: ["api", "cli", "live", "collect", "store", "kpi", "db", "config", "auth", "demo"],
};

describe("the import graph of src/", () => {
  const all = edges();

  it("is read (a parser that finds nothing would prove nothing)", () => {
    expect(all.length).toBeGreaterThan(100);
    expect(all.some((e) => e.from.startsWith(`api${path.sep}`) && e.to.startsWith(`store${path.sep}`))).toBe(
      true,
    );
  });

  it("has no upward import: nothing below the API imports it, the store does not reach into live/", () => {
    const upward = all.filter((e) => FORBIDDEN[layerOf(e.from)]?.includes(layerOf(e.to)));
    expect(upward.map(show)).toEqual([]);
  });
});
