import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { startOn } from "./helpers.js";

// `alerts:` in the configuration file: upserted by name at start-up, checked like DefineAlertInput,
// with the path of each bad entry named.

const BASE = `
metrics:
  - { key: c.time, name: Time, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: c, name: C, kpis: [{ metric: c.time }] }
`;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe("alerts in the configuration file", () => {
  it("a bad rule stops start-up naming its path; nothing of the file is stored", async () => {
    const bad = `${BASE}alerts:
  - { name: ok, kind: STALE, projectSlug: c }
  - { name: wrong, kind: STALE, projectSlug: c, windowDays: 3, webhookUrl: "file:///etc/passwd", webhookSecret: "0123456789abcdef" }
  - { name: ghost, kind: TARGET_MET, projectSlug: nowhere }
`;
    await expect(startOn(db.url, bad)).rejects.toThrow(
      /alerts\[1\]\.windowDays: applies to REGRESSION rules only[\s\S]*alerts\[1\]\.webhookUrl: must use http or https/,
    );
    await expect(startOn(db.url, bad.replace(/ {2}- \{ name: wrong.*\n/, ""))).rejects.toThrow(
      /alerts\[1\]\.projectSlug: unknown project "nowhere"/,
    );
    const a = await startOn(db.url, BASE);
    try {
      expect((await a.gql(`{ alerts { name } }`)).data.alerts).toEqual([]);
    } finally {
      await a.stop();
    }
  });

  it("rules are upserted by name at each start, and the webhook secret is kept out of every answer", async () => {
    const file = (days: number) => `${BASE}alerts:
  - { name: stale-c, kind: STALE, projectSlug: c, days: ${days}, webhookUrl: "https://hooks.example.com/u", webhookSecret: "file-secret-0123456789" }
`;
    const a = await startOn(db.url, file(7));
    await a.stop();
    const b = await startOn(db.url, file(3));
    try {
      const r = await b.gql(
        `{ alerts { name kind days webhookUrl enabled } auditLog(first: 5) { actor action before after } }`,
      );
      expect(r.data.alerts).toEqual([
        { name: "stale-c", kind: "STALE", days: 3, webhookUrl: "https://hooks.example.com/u", enabled: true },
      ]);
      const [latest] = r.data.auditLog;
      expect(latest).toMatchObject({ actor: "config", action: "CONFIG" });
      expect([latest.before.days, latest.after.days]).toEqual([7, 3]);
      expect(JSON.stringify(r)).not.toContain("file-secret");
    } finally {
      await b.stop();
    }
  });
});
