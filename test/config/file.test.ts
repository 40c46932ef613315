import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { EnvError, readEnv } from "../../src/config/env.js";
import { ConfigError, loadConfigFile, parseConfig, resolveConfigPath } from "../../src/config/file.js";
import { DEMO_CONFIG_FILE } from "../../src/paths.js";

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(yaml, "test.yaml", env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

const METRIC = "{ key: it.resolution_time, name: Resolution, unit: minutes, direction: LOWER_IS_BETTER }";

describe("configuration file", () => {
  it("applies defaults: currency USD, aggregation MEAN, enabled collectors, empty lists", () => {
    const cfg = parseConfig(`metrics: [${METRIC}]`, "t.yaml", {});
    expect(cfg.currency).toBe("USD");
    expect(cfg.metrics[0].aggregation).toBe("MEAN");
    expect(cfg.projects).toEqual([]);
    const withCollector = parseConfig(
      `collectors: [{ name: a, type: csv, schedule: "*/5 * * * *", project: p, metric: m }]`,
      "t.yaml",
      {},
    );
    expect(withCollector.collectors[0]).toMatchObject({ enabled: true, options: {} });
  });

  it("parses date-times with offsets into UTC instants", () => {
    const cfg = parseConfig(
      `projects: [{ slug: p, name: P, goLiveAt: "2025-03-01T01:00:00+01:00" }]`,
      "t.yaml",
      {},
    );
    expect(cfg.projects[0].goLiveAt?.toISOString()).toBe("2025-03-01T00:00:00.000Z");
  });

  it("names the path of every bad entry", () => {
    const problems = problemsOf(`
currency: usd
metrics:
  - { key: "Bad Key", name: X, unit: m, direction: SIDEWAYS }
projects:
  - { slug: ok, name: OK, goLiveAt: "2025-03-01" }
collectors:
  - { name: a, type: csv, schedule: "*/5 * * * *", project: ok, metric: m }
  - { name: b, type: csv, schedule: "every minute", project: ok, metric: m }
  - { name: c, type: csv, schedule: "*/5 * * * *", project: ok, metric: m, colour: blue }
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^currency: /),
        expect.stringMatching(/^metrics\[0\]\.key: /),
        expect.stringMatching(/^metrics\[0\]\.direction: /),
        expect.stringMatching(/^projects\[0\]\.goLiveAt: expected an ISO-8601 date-time with an offset/),
        expect.stringMatching(/^collectors\[1\]\.schedule: invalid cron expression: /),
        expect.stringMatching(/^collectors\[2\]: .*colour/),
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  it("accepts 5- and 6-field cron expressions", () => {
    expect(
      problemsOf(`collectors:
  - { name: five, type: csv, schedule: "0 * * * *", project: p, metric: m }
  - { name: six, type: csv, schedule: "*/30 * * * * *", project: p, metric: m }`),
    ).toEqual([]);
  });

  it("refuses duplicate names, pointing at the first definition", () => {
    const problems = problemsOf(`
metrics: [${METRIC}, ${METRIC}]
collectors:
  - { name: a, type: csv, schedule: "0 * * * *", project: p, metric: m }
  - { name: a, type: csv, schedule: "0 * * * *", project: p, metric: m }
`);
    expect(problems).toEqual([
      'metrics[1].key: "it.resolution_time" is already defined at metrics[0]',
      'collectors[1].name: "a" is already defined at collectors[0]',
    ]);
  });

  it("replaces ${NAME} from the environment, keeps $${NAME} literal, and names missing variables with their path", () => {
    const cfg = parseConfig(
      `collectors: [{ name: a, type: csv, schedule: "0 * * * *", project: p, metric: m, options: { token: "Bearer \${TOKEN}", raw: "$\${TOKEN}" } }]`,
      "t.yaml",
      { TOKEN: "s3cret" },
    );
    expect(cfg.collectors[0].options).toEqual({ token: "Bearer s3cret", raw: "${TOKEN}" });
    expect(
      problemsOf(
        `collectors: [{ name: a, type: csv, schedule: "0 * * * *", project: p, metric: m, options: { token: "\${NOPE}" } }]`,
      ),
    ).toEqual(["collectors[0].options.token: environment variable NOPE is not set"]);
  });

  it("uses ${NAME:-fallback} when NAME is unset or empty", () => {
    const yaml = `currency: "\${CUR:-EUR}"`;
    expect(parseConfig(yaml, "t.yaml", {}).currency).toBe("EUR");
    expect(parseConfig(yaml, "t.yaml", { CUR: "" }).currency).toBe("EUR");
    expect(parseConfig(yaml, "t.yaml", { CUR: "GBP" }).currency).toBe("GBP");
  });

  it("interpolates before validating, so a variable can hold a number-like string but not turn into a number", () => {
    expect(
      problemsOf(`metrics: [{ key: "\${KEY}", name: X, unit: m, direction: LOWER_IS_BETTER }]`, {
        KEY: "a.b",
      }),
    ).toEqual([]);
  });

  it("reports YAML syntax errors", () => {
    expect(problemsOf("metrics: [ {")[0]).toMatch(/^YAML syntax: /);
  });

  it("checks a project's history: order, no future, and no stageSince beside it", () => {
    const problems = problemsOf(`
projects:
  - slug: p
    name: P
    stageSince: "2025-01-01T00:00:00Z"
    history:
      - { stage: PILOT, at: "2025-02-01T00:00:00Z" }
      - { stage: PRODUCTION, at: "2025-01-01T00:00:00Z" }
      - { stage: RETIRED, at: "2999-01-01T00:00:00Z" }
`);
    expect(problems).toEqual([
      "projects[0].stageSince: give either stageSince or history, not both",
      "projects[0].history[1].at: must not be before the previous change",
      "projects[0].history[2].at: must not be in the future",
    ]);
  });

  it("reports an unreadable file by name", () => {
    expect(() => loadConfigFile("/nonexistent/uplift.yaml")).toThrow(
      /\/nonexistent\/uplift\.yaml[\s\S]*cannot read the file: ENOENT/,
    );
  });

  it("uses UPLIFT_CONFIG, else ./uplift.yaml, else the bundled demo", () => {
    const dir = fs.mkdtempSync("/tmp/uplift-cfgpath-");
    expect(resolveConfigPath(null, dir)).toEqual({ file: DEMO_CONFIG_FILE, demo: true });
    fs.writeFileSync(`${dir}/uplift.yaml`, "");
    expect(resolveConfigPath(null, dir)).toEqual({ file: `${dir}/uplift.yaml`, demo: false });
    expect(resolveConfigPath("other.yaml", dir)).toEqual({ file: `${dir}/other.yaml`, demo: false });
  });

  it("the bundled demo configuration is valid", () => {
    const cfg = loadConfigFile(DEMO_CONFIG_FILE, {});
    expect(cfg.projects.map((p) => p.slug)).toContain("helpdesk-copilot");
    expect(cfg.collectors.every((c) => c.type === "demo")).toBe(true);
  });
});

describe("environment", () => {
  it("has the contract's defaults", () => {
    const env = readEnv({});
    expect(env).toMatchObject({
      databaseUrl: null,
      port: 4000,
      host: "127.0.0.1",
      scheduler: true,
      introspection: true,
    });
    expect(env.dataDir.endsWith(".uplift")).toBe(true);
  });

  it("reads on/off switches and refuses nonsense with the variable's name", () => {
    expect(readEnv({ UPLIFT_SCHEDULER: "off", UPLIFT_INTROSPECTION: "off" })).toMatchObject({
      scheduler: false,
      introspection: false,
    });
    expect(() => readEnv({ UPLIFT_SCHEDULER: "maybe" })).toThrow(EnvError);
    expect(() => readEnv({ UPLIFT_SCHEDULER: "maybe" })).toThrow(/UPLIFT_SCHEDULER/);
    expect(() => readEnv({ PORT: "http" })).toThrow(/PORT/);
    expect(() => readEnv({ DATABASE_URL: "mysql://x" })).toThrow(/DATABASE_URL/);
  });
});
