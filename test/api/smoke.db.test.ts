import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    config: `
metrics:
  - { key: it.resolution_time, name: Resolution time, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: helpdesk, name: Help desk, stage: PRODUCTION, goLiveAt: "2025-03-01T00:00:00Z", kpis: [{ metric: it.resolution_time }] }
`,
  });
});
afterAll(async () => t?.stop());

describe("a started app", () => {
  it("answers the configured project's KPI from recorded observations", async () => {
    const rec = await t.gql(
      `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted updated } }`,
      {
        in: [
          {
            projectSlug: "helpdesk",
            metricKey: "it.resolution_time",
            observedAt: "2025-01-01T10:00:00Z",
            value: 10,
          },
          {
            projectSlug: "helpdesk",
            metricKey: "it.resolution_time",
            observedAt: "2025-01-02T10:00:00Z",
            value: 12,
          },
          {
            projectSlug: "helpdesk",
            metricKey: "it.resolution_time",
            observedAt: "2025-04-01T10:00:00Z",
            value: 1,
          },
        ],
      },
    );
    expect(rec.body).toEqual({ data: { recordObservations: { inserted: 3, updated: 0 } } });
    const q = await t.gql(
      `{ project(slug: "helpdesk") { kpi(metricKey: "it.resolution_time") { baseline { value } current { value } improvementPct } } }`,
    );
    // (10 + 12) / 2 = 11 → 1: (11 − 1) / 11 = 90.909…%
    expect(q.body.data.project.kpi).toEqual({
      baseline: { value: 11 },
      current: { value: 1 },
      improvementPct: (10 / 11) * 100,
    });
  });
});
