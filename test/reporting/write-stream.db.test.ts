import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RefreshedEvent } from "../../src/reporting/refresher.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { record } from "../kpi/reference.js";
import { queueEmpty, seedPortfolio, waitForReporting } from "./seed.js";

// Under a stream of writes the refresher rests between drains (a multiple of the last drain's duration,
// at least 1 s and at most 2 s) instead of recomputing after every commit; the rows must still follow the
// last commit within the contract's 5 s.

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await seedPortfolio(t);
  await waitForReporting(t.app, () => queueEmpty(t.app));
}, 60_000);
afterAll(async () => t?.stop());

const count = async (id: string) =>
  (await t.app.db.ds.query(`SELECT current_count FROM reporting.kpis WHERE kpi_id = $1`, [id]))[0]
    .current_count as number;

describe("reporting under a stream of writes", () => {
  it("follows the last of 40 back-to-back commits within 5 s, with fewer drains than commits", async () => {
    const [{ id }] = await t.app.db.ds.query(
      `SELECT kpi_id::text AS id FROM reporting.kpis WHERE project_slug = 'alpha' AND metric_key = 'rt'`,
    );
    const before = await count(id);
    const drains: RefreshedEvent[] = [];
    const onRefresh = (e: RefreshedEvent) => {
      if (e.kpis.includes(id)) drains.push(e);
    };
    t.app.reporting.on("refreshed", onRefresh);
    try {
      for (let i = 0; i < 40; i++) {
        // After go-live: each adds one to the current period's count.
        await record(t, "alpha", "rt", [
          { at: `2025-05-${String(1 + (i % 28)).padStart(2, "0")}T12:00:00Z`, value: 1 + i / 10 },
        ]);
      }
      await waitForReporting(t.app, async () => (await count(id)) === before + 40, 5000);
      expect(drains.length).toBeLessThan(40);
    } finally {
      t.app.reporting.off("refreshed", onRefresh);
    }
  });

  it("rests at least 1 s between drains however cheap they are, so a stream costs a drain per second at most", async () => {
    const [{ id }] = await t.app.db.ds.query(
      `SELECT kpi_id::text AS id FROM reporting.kpis WHERE project_slug = 'alpha' AND metric_key = 'rt'`,
    );
    const before = await count(id);
    const drains: number[] = [];
    const onRefresh = (e: RefreshedEvent) => {
      if (e.kpis.includes(id)) drains.push(performance.now());
    };
    t.app.reporting.on("refreshed", onRefresh);
    try {
      // Small commits for 2.5 s: each drain of this KPI takes a few ms, so a rest proportional to it alone
      // would drain dozens of times. A busy machine only drains less often: the bound cannot break.
      const started = performance.now();
      let n = 0;
      while (performance.now() - started < 2500) {
        await record(t, "alpha", "rt", [
          { at: `2025-06-${String(1 + (n % 28)).padStart(2, "0")}T08:00:00Z`, value: 2 },
        ]);
        n++;
      }
      const streamed = performance.now();
      await waitForReporting(t.app, async () => (await count(id)) === before + n, 5000);
      const during = drains.filter((at) => at <= streamed).length;
      expect(n).toBeGreaterThan(5);
      // The first change after a quiet spell is drained at once, then at most one drain per second.
      expect(during).toBeLessThanOrEqual(Math.floor((streamed - started) / 1000) + 1);
    } finally {
      t.app.reporting.off("refreshed", onRefresh);
    }
  });
});
