import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCollectCli } from "../helpers/cli.js";
import { gqlAt, postgresProcessesUsing, spawnUplift } from "../helpers/process.js";

// `npm run collect` as users run it, in its own process: next to `npm start` on the embedded database,
// and without a configuration.

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-cli-"));
  fs.chmodSync(dir, 0o755); // the postgres user must reach it when the tests run as root
  return dir;
}

const config = (csv: string) => `
metrics:
  - { key: it.resolution_time, name: Resolution time, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: helpdesk, name: Help desk, goLiveAt: "2025-03-01T00:00:00Z", kpis: [{ metric: it.resolution_time }] }
collectors:
  - name: tickets
    type: csv
    schedule: "0 0 1 1 *"
    project: helpdesk
    metric: it.resolution_time
    options: { path: "${csv}", columns: { observedAt: at, value: minutes, externalId: id } }
`;

describe("npm run collect", () => {
  it("runs next to npm start on the embedded database, in that server's database", async () => {
    const dir = tempDir();
    const csv = path.join(dir, "tickets.csv");
    fs.writeFileSync(
      csv,
      "id,at,minutes\nT-1,2025-02-01T10:00:00Z,30\nT-2,2025-03-05T10:00:00Z,5\nT-3,2025-03-06T10:00:00Z,x\n",
    );
    fs.writeFileSync(path.join(dir, "uplift.yaml"), config(csv));
    const env = { UPLIFT_DATA_DIR: path.join(dir, "data"), UPLIFT_CONFIG: path.join(dir, "uplift.yaml") };
    const server = spawnUplift(env, dir);
    try {
      const port = await server.ready;
      const postgres = postgresProcessesUsing(dir).length;
      const cli = await runCollectCli(["tickets"], env, dir);
      expect(cli.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(cli.stdout).toMatch(
        /^tickets: SUCCEEDED in [\d.]+ s — 2 observations, 1 rejected, 0 skipped\n$/,
      );
      expect(cli.code).toBe(0);
      // No second PostgreSQL was started; the server sees the run and its figures.
      expect(postgresProcessesUsing(dir).length).toBe(postgres);
      const res = await gqlAt(
        port,
        `{ collectorRuns(collector: "tickets", limit: 5) { status observations rejected skipped } }`,
      );
      expect(res.data.collectorRuns).toEqual([
        { status: "SUCCEEDED", observations: 2, rejected: 1, skipped: 0 },
      ]);
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  });

  it("without a configuration says how to give one (UPLIFT_CONFIG) and touches no database", async () => {
    const dir = tempDir();
    const data = path.join(dir, "data");
    const cli = await runCollectCli(["helpdesk-resolution"], { UPLIFT_DATA_DIR: data }, dir);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/no configuration found: set UPLIFT_CONFIG to your configuration file/);
    expect(cli.stderr).toMatch(/The bundled demo is not collected from the command line/);
    expect(fs.existsSync(data)).toBe(false);
  });

  it("names the instances the configuration has when the name is wrong", async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "uplift.yaml"), config(path.join(dir, "none.csv")));
    const cli = await runCollectCli(["tickets-typo"], { UPLIFT_DATA_DIR: path.join(dir, "data") }, dir);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain(
      `no collector instance named "tickets-typo" in ${path.join(dir, "uplift.yaml")} (it has: tickets)`,
    );
  });
});
