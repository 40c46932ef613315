import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { gqlAs, startOn } from "./helpers.js";

// Every definition change leaves one audit entry with its before and after, written in the change's
// own transaction; no-ops, failed mutations and observations leave none.

const CONFIG = `
metrics:
  - { key: cfg.time, name: Config time, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - slug: cfg
    name: Config project
    goLiveAt: "2025-03-01T00:00:00Z"
    kpis: [{ metric: cfg.time, target: 5 }]
    costs: [{ label: licence, kind: MONTHLY, amount: 100, startsAt: "2025-01-01T00:00:00Z" }]
`;
const AUDIT = `query($p: String, $first: Int, $before: DateTime) {
  auditLog(projectSlug: $p, first: $first, before: $before) { id at actor action projectSlug metricKey before after } }`;

let db: TestDatabase;
let app: Awaited<ReturnType<typeof startOn>>;
beforeAll(async () => {
  db = await createTestDatabase();
  app = await startOn(db.url, CONFIG);
});
afterAll(async () => {
  await app?.stop();
  await db?.drop();
});

async function ok(query: string, variables?: Record<string, unknown>) {
  const r = await app.gql(query, variables);
  expect(r.errors).toBeUndefined();
  return r.data;
}
async function newest(n = 1) {
  return (await ok(AUDIT, { first: n })).auditLog;
}

describe("audit log", () => {
  it("the configuration's first application is audited as config / CONFIG, one entry per definition", async () => {
    const all = (await ok(AUDIT, { first: 100 })).auditLog;
    expect(all.every((e: any) => e.actor === "config" && e.action === "CONFIG")).toBe(true);
    const kinds = all.map((e: any) => [e.projectSlug, e.metricKey, e.before === null]);
    expect(kinds).toEqual(
      expect.arrayContaining([
        [null, "cfg.time", true], // the metric
        ["cfg", null, true], // the project and its cost
        ["cfg", "cfg.time", true], // the KPI
      ]),
    );
    expect(all).toHaveLength(4);
    const kpi = all.find((e: any) => e.projectSlug === "cfg" && e.metricKey === "cfg.time");
    expect(kpi.after.target).toBe(5);
  });

  it("createProject, updateProject and setProjectStage record the project before and after", async () => {
    await ok(
      `mutation { createProject(input: { slug: "aud", name: "Audited", owner: "ann", stageSince: "2025-01-01T00:00:00Z" }) { slug } }`,
    );
    let [e] = await newest();
    expect(e).toMatchObject({
      actor: "anonymous",
      action: "createProject",
      projectSlug: "aud",
      before: null,
    });
    expect(e.after).toMatchObject({
      slug: "aud",
      name: "Audited",
      owner: "ann",
      stage: "PILOT",
      goLiveAt: null,
    });

    await ok(`mutation { updateProject(slug: "aud", input: { name: "Renamed" }) { slug } }`);
    [e] = await newest();
    expect(e.action).toBe("updateProject");
    expect(e.before.name).toBe("Audited");
    expect(e.after.name).toBe("Renamed");
    expect(e.after.owner).toBe("ann");

    await ok(
      `mutation { setProjectStage(slug: "aud", stage: PRODUCTION, at: "2025-06-01T00:00:00Z") { slug } }`,
    );
    [e] = await newest();
    expect(e.action).toBe("setProjectStage");
    expect(e.before).toMatchObject({ stage: "PILOT", goLiveAt: null });
    expect(e.after).toMatchObject({
      stage: "PRODUCTION",
      goLiveAt: "2025-06-01T00:00:00.000Z",
      stageSince: "2025-06-01T00:00:00.000Z",
    });
  });

  it("defineMetric, trackKpi and addCost record their definitions before and after", async () => {
    const metric = `mutation($u: String!) { defineMetric(input: { key: "aud.m", name: "M", unit: $u, direction: HIGHER_IS_BETTER }) { key } }`;
    await ok(metric, { u: "calls" });
    let [e] = await newest();
    expect(e).toMatchObject({ action: "defineMetric", metricKey: "aud.m", before: null });
    expect(e.after).toMatchObject({ key: "aud.m", unit: "calls", aggregation: "MEAN" });
    await ok(metric, { u: "tickets" });
    [e] = await newest();
    expect([e.before.unit, e.after.unit]).toEqual(["calls", "tickets"]);

    const track = `mutation($t: Float) { trackKpi(input: { projectSlug: "aud", metricKey: "aud.m", target: $t }) { target } }`;
    await ok(track, { t: 10 });
    [e] = await newest();
    expect(e).toMatchObject({ action: "trackKpi", projectSlug: "aud", metricKey: "aud.m", before: null });
    expect(e.after.target).toBe(10);
    await ok(track, { t: 12 });
    [e] = await newest();
    expect([e.before.target, e.after.target]).toEqual([10, 12]);

    await ok(
      `mutation { addCost(input: { projectSlug: "aud", label: "build", kind: ONE_TIME, amount: 5000, startsAt: "2025-01-01T00:00:00Z" }) { id } }`,
    );
    [e] = await newest();
    expect(e).toMatchObject({ action: "addCost", projectSlug: "aud", before: null });
    expect(e.after).toMatchObject({
      label: "build",
      kind: "ONE_TIME",
      amount: 5000,
      startsAt: "2025-01-01T00:00:00.000Z",
    });
  });

  it("defineAlert and deleteAlert are audited, and the webhook secret never appears", async () => {
    const secret = "s3cret-s3cret-s3cret";
    await ok(
      `mutation($s: String) { defineAlert(input: { name: "aud-stale", kind: STALE, projectSlug: "aud", webhookUrl: "https://example.com/hook", webhookSecret: $s }) { name days } }`,
      { s: secret },
    );
    let [e] = await newest();
    expect(e).toMatchObject({ action: "defineAlert", projectSlug: "aud", before: null });
    expect(e.after).toMatchObject({ name: "aud-stale", kind: "STALE", days: 7, webhookSecret: "***" });
    await ok(
      `mutation { defineAlert(input: { name: "aud-stale", kind: STALE, projectSlug: "aud", days: 3, webhookUrl: "https://example.com/hook" }) { name days } }`,
    );
    [e] = await newest();
    expect([e.before.days, e.after.days, e.after.webhookSecret]).toEqual([7, 3, "***"]);
    expect((await ok(`mutation { deleteAlert(name: "aud-stale") }`)).deleteAlert).toBe(true);
    [e] = await newest();
    expect(e).toMatchObject({ action: "deleteAlert", after: null });
    expect(e.before.name).toBe("aud-stale");
    expect(JSON.stringify((await ok(AUDIT, { first: 1000 })).auditLog)).not.toContain(secret);
  });

  it("no entry for a no-op, a failed mutation or recorded observations", async () => {
    const [before] = await newest();
    await ok(`mutation { updateProject(slug: "aud", input: { name: "Renamed" }) { slug } }`); // same name
    await ok(
      `mutation { trackKpi(input: { projectSlug: "aud", metricKey: "aud.m", target: 12 }) { target } }`,
    );
    const bad = await app.gql(
      `mutation { trackKpi(input: { projectSlug: "aud", metricKey: "nope", target: 1 }) { target } }`,
    );
    expect(bad.errors?.[0].extensions.code).toBe("BAD_USER_INPUT");
    await ok(
      `mutation { recordObservations(input: [{ projectSlug: "aud", metricKey: "aud.m", observedAt: "2025-07-01T00:00:00Z", value: 3 }]) { inserted } }`,
    );
    const [after] = await newest();
    expect(after.id).toBe(before.id);
  });

  it("pages newest first by `before`, filters by project, and names the principal's actor", async () => {
    const r = await gqlAs(
      app,
      { actor: "ops-key", role: "admin", projects: null },
      `mutation { updateProject(slug: "aud", input: { owner: "bob" }) { slug } }`,
    );
    expect(r.errors).toBeUndefined();
    const [e] = await newest();
    expect([e.actor, e.before.owner, e.after.owner]).toEqual(["ops-key", "ann", "bob"]);

    const mine = (await ok(AUDIT, { p: "aud", first: 1000 })).auditLog;
    expect(mine.every((x: any) => x.projectSlug === "aud")).toBe(true);
    const times = mine.map((x: any) => Date.parse(x.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const older = (await ok(AUDIT, { p: "aud", first: 2, before: mine[1].at })).auditLog;
    expect(older.map((x: any) => x.id)).toEqual(mine.slice(2, 4).map((x: any) => x.id));
  });

  it("auditLog is for admins only: FORBIDDEN for a writer", async () => {
    const r = await gqlAs(app, { actor: "w", role: "writer", projects: null }, AUDIT);
    expect(r.errors?.[0].extensions.code).toBe("FORBIDDEN");
    const d = await gqlAs(
      app,
      { actor: "w", role: "writer", projects: null },
      `mutation { deleteAlert(name: "x") }`,
    );
    expect(d.errors?.[0].extensions.code).toBe("FORBIDDEN");
  });
});

describe("configuration changes at start-up", () => {
  it("a restart with a changed file audits only what changed, as config; the same file again audits nothing", async () => {
    const db2 = await createTestDatabase();
    try {
      const a = await startOn(db2.url, CONFIG);
      await a.stop();
      const changed = CONFIG.replace("target: 5", "target: 4").replace(
        "name: Config project",
        "name: Renamed by file",
      );
      const b = await startOn(db2.url, changed);
      const log = (await b.gql(AUDIT, { first: 100 })).data.auditLog;
      await b.stop();
      expect(log).toHaveLength(6); // 4 at first start, 2 now
      const [x, y] = log
        .slice(0, 2)
        .sort((p: any, q: any) => (p.metricKey ?? "").localeCompare(q.metricKey ?? ""));
      expect(x).toMatchObject({ actor: "config", action: "CONFIG", projectSlug: "cfg", metricKey: null });
      expect([x.before.name, x.after.name]).toEqual(["Config project", "Renamed by file"]);
      expect(y).toMatchObject({
        actor: "config",
        action: "CONFIG",
        projectSlug: "cfg",
        metricKey: "cfg.time",
      });
      expect([y.before.target, y.after.target]).toEqual([5, 4]);
      const c = await startOn(db2.url, changed);
      const again = (await c.gql(AUDIT, { first: 100 })).data.auditLog;
      await c.stop();
      expect(again).toHaveLength(6);
    } finally {
      await db2.drop();
    }
  });
});

// Last in the file: a key in force turns access control on for this app (HTTP requests then need one).
describe("audit of API keys", () => {
  it("createApiKey and revokeApiKey are audited under the caller's name, without the secret", async () => {
    const admin = { actor: "ops-admin", role: "admin" as const, projects: null };
    const made = await gqlAs(
      app,
      admin,
      `mutation { createApiKey(input: { name: "aud-key", role: READER, projects: ["cfg"] }) { secret } }`,
    );
    expect(made.errors).toBeUndefined();
    const secret: string = made.data.createApiKey.secret;
    const newestAs = async () => (await gqlAs(app, admin, AUDIT, { first: 1 })).data.auditLog[0];
    let e = await newestAs();
    expect(e).toMatchObject({ actor: "ops-admin", action: "createApiKey", before: null });
    expect(e.after).toEqual({ name: "aud-key", role: "reader", projects: ["cfg"] });
    expect((await gqlAs(app, admin, `mutation { revokeApiKey(name: "aud-key") }`)).data.revokeApiKey).toBe(
      true,
    );
    e = await newestAs();
    expect(e).toMatchObject({ actor: "ops-admin", action: "revokeApiKey", after: null });
    expect(e.before).toEqual({ name: "aud-key", role: "reader", projects: ["cfg"] });
    // Revoking what is already revoked changes nothing and records nothing.
    expect((await gqlAs(app, admin, `mutation { revokeApiKey(name: "aud-key") }`)).data.revokeApiKey).toBe(
      false,
    );
    expect((await newestAs()).id).toBe(e.id);
    const all = (await gqlAs(app, admin, AUDIT, { first: 1000 })).data.auditLog;
    expect(JSON.stringify(all)).not.toContain(secret.slice(4));
  });
});
