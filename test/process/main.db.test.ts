import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { gqlAt, postgresProcessesUsing, spawnUplift } from "../helpers/process.js";

// The process as users run it: `npm start`'s command in a child process, stopped with signals.

const CONFIG = `
metrics:
  - { key: it.resolution_time, name: Resolution time, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: helpdesk, name: Help desk, goLiveAt: "2025-03-01T00:00:00Z", kpis: [{ metric: it.resolution_time }] }
`;

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-proc-"));
  fs.chmodSync(dir, 0o755); // the postgres user must reach it when the tests run as root
  return dir;
}

const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`;

describe("the server process with DATABASE_URL", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it("serves, answers /readyz, and exits 0 on SIGTERM", async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "uplift.yaml"), CONFIG);
    // From another folder, with ./uplift.yaml picked up from the working directory.
    const p = spawnUplift({ DATABASE_URL: db.url }, dir);
    const port = await p.ready;
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    const res = await gqlAt(port, "{ projects { slug } }");
    expect(res.data.projects).toEqual([{ slug: "helpdesk" }]);
    p.child.kill("SIGTERM");
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(p.output()).toContain("stopped");
  });

  it("serves the bundled demo when no configuration is given: the article's figures, ROI and a stalled pilot", async () => {
    const p = spawnUplift({ DATABASE_URL: db.url }, tempDir()); // a folder without uplift.yaml
    const port = await p.ready;
    const res = await gqlAt(
      port,
      `{ projects { slug kpis { metric { key } improvementPct control { adjustedImprovementPct } } roi { roiPct } }
         portfolio { stalledPilots { slug } } collectors { name lastRun { status } } }`,
    );
    const kpi = (slug: string) => res.data.projects.find((x: { slug: string }) => x.slug === slug).kpis[0];
    // Seeded noise around the article's means: 11 → 1 (90.9 %), 15 → 2 (86.7 %), 10 → 13 (30 %).
    expect(kpi("helpdesk-copilot").improvementPct).toBeGreaterThan(85);
    expect(kpi("helpdesk-copilot").improvementPct).toBeLessThan(95);
    expect(kpi("contact-center-assistant").improvementPct).toBeGreaterThan(80);
    expect(kpi("dev-productivity").improvementPct).toBeGreaterThan(25);
    expect(kpi("dev-productivity").control.adjustedImprovementPct).toBeGreaterThan(15);
    expect(
      res.data.projects.find((x: { slug: string }) => x.slug === "helpdesk-copilot").roi.roiPct,
    ).toBeGreaterThan(50);
    expect(res.data.portfolio.stalledPilots.map((x: { slug: string }) => x.slug)).toEqual([
      "invoice-extraction",
    ]);
    expect(
      res.data.collectors.every((c: { lastRun: { status: string } }) => c.lastRun.status === "SUCCEEDED"),
    ).toBe(true);
    p.child.kill("SIGTERM");
    expect((await p.exited).code).toBe(0);
  });

  it("stops at start-up with the path of each bad configuration entry, exit code 1", async () => {
    const dir = tempDir();
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(
      file,
      `metrics:\n  - { key: m, name: M, unit: u, direction: UP }\ncollectors:\n  - { name: c, type: demo, schedule: "61 * * * *", project: p, metric: m }\n`,
    );
    const p = spawnUplift({ DATABASE_URL: db.url, UPLIFT_CONFIG: file });
    const { code } = await p.exited;
    expect(code).toBe(1);
    expect(p.output()).toContain("metrics[0].direction");
    expect(p.output()).toContain("collectors[0].schedule: invalid cron expression");
    expect(p.output()).not.toMatch(/\n\s+at .*\.ts:\d+/); // no stack trace for a configuration error
  });

  it("names references that neither the file nor the database knows", async () => {
    const file = path.join(tempDir(), "refs.yaml");
    fs.writeFileSync(
      file,
      `projects:\n  - { slug: p, name: P, kpis: [{ metric: nope.metric }] }\ncollectors:\n  - { name: c, type: demo, schedule: "0 * * * *", project: ghost, metric: nope.metric }\n`,
    );
    const p = spawnUplift({ DATABASE_URL: db.url, UPLIFT_CONFIG: file });
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toContain('projects[0].kpis[0].metric: unknown metric "nope.metric"');
    expect(p.output()).toContain('collectors[0].project: unknown project "ghost"');
  });

  it("names a missing environment variable", async () => {
    const file = path.join(tempDir(), "env.yaml");
    fs.writeFileSync(file, `currency: \${UPLIFT_TEST_CURRENCY_UNSET}\n`);
    const p = spawnUplift({ DATABASE_URL: db.url, UPLIFT_CONFIG: file });
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toContain("currency: environment variable UPLIFT_TEST_CURRENCY_UNSET is not set");
  });
});

describe("the server process with the embedded PostgreSQL", () => {
  it("starts the database under UPLIFT_DATA_DIR, keeps data across restarts, and leaves no postgres behind", async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, "data");
    fs.writeFileSync(path.join(dir, "uplift.yaml"), CONFIG);
    const env = { UPLIFT_DATA_DIR: dataDir, UPLIFT_CONFIG: path.join(dir, "uplift.yaml") };

    const first = spawnUplift(env);
    const port = await first.ready;
    expect(postgresProcessesUsing(dataDir).length).toBeGreaterThan(0);
    const rec = await gqlAt(port, RECORD, {
      in: [
        {
          projectSlug: "helpdesk",
          metricKey: "it.resolution_time",
          observedAt: "2025-04-01T00:00:00Z",
          value: 3,
          externalId: "x",
        },
      ],
    });
    expect(rec.data.recordObservations.inserted).toBe(1);
    first.child.kill("SIGINT");
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(postgresProcessesUsing(dataDir)).toEqual([]);

    const second = spawnUplift(env);
    const port2 = await second.ready;
    const q = await gqlAt(
      port2,
      `{ project(slug: "helpdesk") { kpi(metricKey: "it.resolution_time") { current { value count } } } }`,
    );
    expect(q.data.project.kpi.current).toEqual({ value: 3, count: 1 });
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
    expect(postgresProcessesUsing(dataDir)).toEqual([]);
  });

  it("after a kill -9, the next start stops the orphaned database and serves again", async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, "data");
    fs.writeFileSync(path.join(dir, "uplift.yaml"), CONFIG);
    const env = { UPLIFT_DATA_DIR: dataDir, UPLIFT_CONFIG: path.join(dir, "uplift.yaml") };
    const first = spawnUplift(env);
    await first.ready;
    const orphans = postgresProcessesUsing(dataDir);
    expect(orphans.length).toBeGreaterThan(0);
    first.child.kill("SIGKILL");
    await first.exited;

    const second = spawnUplift(env);
    const port = await second.ready;
    expect(second.output()).toContain("orphaned embedded PostgreSQL");
    expect((await gqlAt(port, "{ metrics { key } }")).data.metrics).toEqual([{ key: "it.resolution_time" }]);
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
    expect(postgresProcessesUsing(dataDir)).toEqual([]);
  });

  it("refuses to share a data folder with a live Uplift process", async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, "data");
    fs.writeFileSync(path.join(dir, "uplift.yaml"), CONFIG);
    const env = { UPLIFT_DATA_DIR: dataDir, UPLIFT_CONFIG: path.join(dir, "uplift.yaml") };
    const first = spawnUplift(env);
    await first.ready;
    const second = spawnUplift(env);
    expect((await second.exited).code).toBe(1);
    expect(second.output()).toMatch(/in use by another process/);
    first.child.kill("SIGTERM");
    expect((await first.exited).code).toBe(0);
  });
});
