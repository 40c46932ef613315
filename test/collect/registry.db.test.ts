import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { registry } from "../../collectors/index.js";
import { configSchema } from "../../src/config/file.js";
import { PROJECT_ROOT } from "../../src/paths.js";

// Every collector folder is registered and documented; every registered collector has a folder.
const DIR = path.join(PROJECT_ROOT, "collectors");
const folders = fs
  .readdirSync(DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith("_"))
  .map((d) => d.name)
  .sort();

describe("the collector registry", () => {
  it("registers exactly the folders under collectors/ (folder name = type)", () => {
    const registered = [...registry.keys()];
    const unregistered = folders.filter((f) => !registered.includes(f));
    expect(
      unregistered,
      `add ${unregistered.join(", ")} to collectors/index.ts (one import, one entry in createRegistry)`,
    ).toEqual([]);
    const orphans = registered.filter((r) => !folders.includes(r));
    expect(
      orphans,
      `collectors/index.ts registers ${orphans.join(", ")} without a folder of that name`,
    ).toEqual([]);
  });

  it.each(folders)("%s's README is its own, not the template's", (name) => {
    const template = fs.readFileSync(path.join(DIR, "_template", "README.md"), "utf8");
    const readme = fs.readFileSync(path.join(DIR, name, "README.md"), "utf8");
    expect(
      readme !== template && !readme.includes("a copy-me skeleton"),
      `rewrite collectors/${name}/README.md`,
    ).toBe(true);
  });

  it.each(folders)("%s has index.ts, README.md with an example, example.yaml and a test", (name) => {
    const files = fs.readdirSync(path.join(DIR, name));
    expect(files).toContain("index.ts");
    expect(files).toContain("README.md");
    expect(files).toContain("example.yaml");
    expect(files.some((f) => f.endsWith(".test.ts"))).toBe(true);
    const readme = fs.readFileSync(path.join(DIR, name, "README.md"), "utf8");
    expect(readme).toMatch(/```ya?ml[\s\S]*type: /);
  });

  it.each(folders)(
    "%s's example.yaml is a valid collectors entry whose options the collector accepts",
    (name) => {
      const text = fs
        .readFileSync(path.join(DIR, name, "example.yaml"), "utf8")
        .replace(/\$\{([A-Z0-9_]+)\}/g, "example-$1");
      const parsed = configSchema.parse(YAML.parse(text));
      expect(parsed.collectors.length).toBeGreaterThan(0);
      for (const c of parsed.collectors) {
        expect(c.type).toBe(name);
        const result = registry.get(name)!.options.safeParse(c.options);
        expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
      }
    },
  );

  it("every collector has a one-sentence description", () => {
    for (const c of registry.values()) expect(c.description).toMatch(/^[A-Z].{10,200}\.$/);
  });
});

describe("collector configuration at start-up", () => {
  it("stops start-up naming an unknown type, bad options and unknown options by their path", async () => {
    const { startTestApp } = await import("../helpers/app.js");
    const config = `
metrics: [{ key: m, name: M, unit: u, direction: LOWER_IS_BETTER }]
projects: [{ slug: p, name: P }]
collectors:
  - { name: a, type: nonsense, schedule: "0 * * * *", project: p, metric: m }
  - { name: b, type: github-pulls, schedule: "0 * * * *", project: p, metric: m, options: { repo: "not a repo", token: x } }
  - { name: c, type: csv, schedule: "0 * * * *", project: p, metric: m, options: { path: /x.csv, columns: { observedAt: a, value: b, externalId: c }, colour: blue } }
`;
    const err = await startTestApp({ config }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /collectors\[0\]\.type: unknown collector type "nonsense" \(known: csv, demo, /,
    );
    expect(err?.message).toMatch(/collectors\[1\]\.options\.repo: /);
    expect(err?.message).toMatch(/collectors\[2\]\.options: .*colour/);
  });
});
