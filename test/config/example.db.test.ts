import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry } from "../../collectors/index.js";
import { loadConfigFile } from "../../src/config/file.js";
import { PROJECT_ROOT } from "../../src/paths.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

// uplift.example.yaml is what users copy and what docker-compose mounts: it must start as it is.
const EXAMPLE = path.join(PROJECT_ROOT, "uplift.example.yaml");

describe("uplift.example.yaml", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ config: fs.readFileSync(EXAMPLE, "utf8") });
  });
  afterAll(async () => t?.stop());

  it("wires each of the four vendor collectors to a project, secrets from the environment", () => {
    const cfg = loadConfigFile(EXAMPLE, {});
    const types = cfg.collectors.map((c) => c.type);
    for (const t of ["servicenow-incidents", "jira-issues", "zendesk-talk-calls", "github-pulls"])
      expect(types).toContain(t);
    const text = fs.readFileSync(EXAMPLE, "utf8");
    for (const secret of ["SERVICENOW_PASSWORD", "JIRA_API_TOKEN", "ZENDESK_API_TOKEN", "GITHUB_TOKEN"]) {
      expect(text).toContain(`\${${secret}`);
    }
    for (const c of cfg.collectors) expect(registry.has(c.type)).toBe(true);
  });

  it("starts the app: every entry validates against its collector and the database", async () => {
    const res = await t.gql(`{ collectors { name type enabled } projects { slug } }`);
    expect(res.body.data.collectors.map((c: { name: string }) => c.name)).toHaveLength(5);
    expect(res.body.data.projects).toHaveLength(4);
  });
});
