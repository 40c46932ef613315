import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type AuthApp, startAuthApp } from "./helpers.js";

// Every role against every mutation kind and a sample of queries, with auth on (UPLIFT_ADMIN_TOKEN).
// The expected outcome of each pair comes from the contract's table (reader < writer < admin), written
// out by hand below; a refused mutation must store nothing, checked by counting rows before and after.

const CONFIG = `
metrics:
  - { key: it.resolution_time, name: Resolution, unit: minutes, direction: LOWER_IS_BETTER }
  - { key: cs.csat, name: CSAT, unit: points, direction: HIGHER_IS_BETTER }
projects:
  - { slug: alpha, name: Alpha, goLiveAt: "2025-02-01T00:00:00Z", kpis: [{ metric: it.resolution_time }] }
  - { slug: beta, name: Beta, goLiveAt: "2025-02-01T00:00:00Z", kpis: [{ metric: it.resolution_time }] }
collectors:
  - name: alpha-demo
    type: demo
    schedule: "0 0 1 1 *"
    project: alpha
    metric: it.resolution_time
    options:
      seed: alpha
      goLiveAt: 2025-02-01T00:00:00Z
      since: 2025-01-20T00:00:00Z
      before: 10
      after: 5
      eventsPerDay: 2
      granularity: day
`;

type RoleName = "reader" | "writer" | "admin";
const RANK: Record<RoleName, number> = { reader: 1, writer: 2, admin: 3 };

let t: AuthApp;
const secrets = {} as Record<RoleName, string>;

const count = async (table: string) =>
  Number((await t.app.db.ds.query(`SELECT count(*) AS n FROM ${table}`))[0].n);
const one = async (sql: string) => (await t.app.db.ds.query(sql))[0];

/** One mutation of each kind: the role it needs, the call for a given role, and what it would change. */
interface Case {
  name: string;
  needs: RoleName;
  call: (role: RoleName) => { query: string; variables?: Record<string, unknown> };
  stored: () => Promise<unknown>;
}

const CASES: Case[] = [
  {
    name: "createProject",
    needs: "admin",
    call: (r) => ({
      query: `mutation($in: CreateProjectInput!) { createProject(input: $in) { slug } }`,
      variables: { in: { slug: `new-${r}`, name: `New ${r}` } },
    }),
    stored: () => count("project"),
  },
  {
    name: "updateProject",
    needs: "admin",
    call: (r) => ({ query: `mutation { updateProject(slug: "alpha", input: { owner: "${r}" }) { owner } }` }),
    stored: () => one(`SELECT owner FROM project WHERE slug = 'alpha'`),
  },
  {
    name: "setProjectStage",
    needs: "admin",
    call: () => ({ query: `mutation { setProjectStage(slug: "beta", stage: PRODUCTION) { stage } }` }),
    stored: () => count("stage_change"),
  },
  {
    name: "defineMetric",
    needs: "admin",
    call: (r) => ({
      query: `mutation { defineMetric(input: { key: "m.${r}", name: "M", unit: "u", direction: LOWER_IS_BETTER }) { key } }`,
    }),
    stored: () => count("metric"),
  },
  {
    name: "trackKpi",
    needs: "admin",
    call: (r) => ({
      query: `mutation { trackKpi(input: { projectSlug: "alpha", metricKey: "cs.csat", target: ${RANK[r]} }) { target } }`,
    }),
    stored: () => one(`SELECT count(*) AS n, max(target) AS t FROM kpi`),
  },
  {
    name: "recordObservations",
    needs: "writer",
    call: (r) => ({
      query: `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`,
      variables: {
        in: [
          {
            projectSlug: "alpha",
            metricKey: "it.resolution_time",
            observedAt: "2025-03-01T00:00:00Z",
            value: RANK[r],
          },
        ],
      },
    }),
    stored: () => count("observation"),
  },
  {
    name: "addCost",
    needs: "admin",
    call: (r) => ({
      query: `mutation { addCost(input: { projectSlug: "alpha", label: "${r}", kind: ONE_TIME, amount: 1e15, startsAt: "2025-01-01T00:00:00Z" }) { label } }`,
    }),
    stored: () => count("cost"),
  },
  {
    name: "runCollector",
    needs: "admin",
    call: () => ({ query: `mutation { runCollector(name: "alpha-demo") { status } }` }),
    stored: () => count("collector_run"),
  },
  {
    name: "createApiKey",
    needs: "admin",
    call: (r) => ({
      query: `mutation { createApiKey(input: { name: "made-by-${r}", role: ADMIN }) { secret } }`,
    }),
    stored: () => count("api_key"),
  },
  {
    name: "revokeApiKey",
    needs: "admin",
    // Each role tries to revoke the reader's twin key; only the admin may.
    call: () => ({ query: `mutation { revokeApiKey(name: "spare") }` }),
    stored: () => count("api_key WHERE revoked_at IS NULL"),
  },
];

beforeAll(async () => {
  t = await startAuthApp(CONFIG);
  secrets.reader = await t.key("reader-key", "READER");
  secrets.writer = await t.key("writer-key", "WRITER");
  secrets.admin = await t.key("admin-key", "ADMIN");
  await t.key("spare", "READER");
});
afterAll(async () => t?.stop());

describe("every role against every mutation kind", () => {
  for (const c of CASES) {
    // Lower roles first, so that the admin's change comes last and the refusals see the original state.
    for (const role of ["reader", "writer", "admin"] as RoleName[]) {
      const allowed = RANK[role] >= RANK[c.needs];
      it(`${role} ${allowed ? "may" : "may not"} ${c.name}`, async () => {
        const before = await c.stored();
        const { query, variables } = c.call(role);
        const res = await t.as(secrets[role], query, variables);
        if (allowed) {
          expect(res.body.errors).toBeUndefined();
          expect(res.body.data?.[c.name]).toBeTruthy();
        } else {
          expect(res.status).toBe(200);
          expect(res.body.errors?.map((e) => e.extensions.code)).toEqual(["FORBIDDEN"]);
          expect(res.body.errors?.[0].message).toContain(`needs the ${c.needs} role`);
          expect(res.body.data).toBeNull();
          expect(await c.stored()).toEqual(before);
        }
      });
    }
  }
});

describe("queries", () => {
  const SAMPLE = `{ projects { slug kpis { metric { key } current { value } } roi { net } } metrics { key }
    portfolio { projectCount } collectors { name } collectorRuns { status } project(slug: "alpha") { slug } }`;

  it("every role reads projects, metrics, portfolio, collectors and runs", async () => {
    for (const role of ["reader", "writer", "admin"] as RoleName[]) {
      const res = await t.as(secrets[role], SAMPLE);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.projects.map((p: { slug: string }) => p.slug)).toContain("alpha");
      expect(res.body.data.collectors).toEqual([{ name: "alpha-demo" }]);
    }
  });

  it("apiKeys is admin-only, lists names, roles and scope, and never a secret or its hash", async () => {
    for (const role of ["reader", "writer"] as RoleName[]) {
      const res = await t.as(secrets[role], `{ apiKeys { name } }`);
      expect(res.body.errors?.[0].extensions.code).toBe("FORBIDDEN");
      expect(res.body.data).toBeNull();
    }
    const res = await t.as(secrets.admin, `{ apiKeys { name role projects createdAt lastUsedAt } }`);
    const names = res.body.data.apiKeys.map((k: { name: string }) => k.name);
    expect(names).toEqual(["admin-key", "made-by-admin", "reader-key", "writer-key"]);
    const reader = res.body.data.apiKeys.find((k: { name: string }) => k.name === "reader-key");
    expect(reader.role).toBe("READER");
    expect(reader.projects).toEqual([]);
    // The reader key has been used above: its last use is recorded.
    expect(reader.lastUsedAt).not.toBeNull();
    const text = JSON.stringify(res.body);
    for (const s of Object.values(secrets)) expect(text).not.toContain(s);
  });

  it("the admin token acts as admin", async () => {
    const res = await t.as(ADMIN_TOKEN, `{ apiKeys { name } }`);
    expect(res.body.errors).toBeUndefined();
  });
});

describe("credentials", () => {
  it("a request without a credential is HTTP 401 UNAUTHENTICATED, and so is a wrong one", async () => {
    for (const secret of [
      null,
      "upl_0000000000000000000000000000000000000000000",
      "not-a-key",
      ADMIN_TOKEN.slice(1),
    ]) {
      const res = await t.as(secret, `{ metrics { key } }`);
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0].extensions.code).toBe("UNAUTHENTICATED");
      expect(res.body.data).toBeUndefined();
    }
    // GET and any other route also need one; the health probes never do.
    expect((await fetch(`${t.url}/graphql?query=%7Bmetrics%7Bkey%7D%7D`)).status).toBe(401);
    expect((await fetch(`${t.url}/nowhere`)).status).toBe(401);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    const res = await fetch(`${t.url}/graphql`, { method: "POST", body: "{}" });
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="uplift"');
  });

  it("stores only a hash: the secret appears nowhere in the database", async () => {
    const secret = await t.key("hash-check", "READER");
    expect(secret).toMatch(/^upl_[A-Za-z0-9]{40,}$/);
    const row = await one(`SELECT to_jsonb(k)::text AS row FROM api_key k WHERE name = 'hash-check'`);
    expect(row.row).not.toContain(secret);
    expect(row.row).not.toContain(secret.slice(4));
  });

  it("a key name is unique (CONFLICT), checked (BAD_USER_INPUT) and not one of the audit log's actors", async () => {
    const dup = await t.as(
      ADMIN_TOKEN,
      `mutation { createApiKey(input: { name: "reader-key", role: READER }) { secret } }`,
    );
    expect(dup.body.errors?.[0].extensions.code).toBe("CONFLICT");
    for (const name of ["admin-token", "has space", ""]) {
      const bad = await t.as(
        ADMIN_TOKEN,
        `mutation($n: String!) { createApiKey(input: { name: $n, role: READER }) { secret } }`,
        {
          n: name,
        },
      );
      expect(bad.body.errors?.[0].extensions.code).toBe("BAD_USER_INPUT");
      expect(bad.body.errors?.[0].message).toContain("input.name");
    }
    const unknown = await t.as(
      ADMIN_TOKEN,
      `mutation { createApiKey(input: { name: "x", role: READER, projects: ["alpha", "nope"] }) { secret } }`,
    );
    expect(unknown.body.errors?.[0].message).toBe('input.projects[1]: unknown project "nope"');
  });

  it("revocation: the key stops working at once, its name can be reused, revoking again is false", async () => {
    const secret = await t.key("short-lived", "READER");
    expect((await t.as(secret, `{ metrics { key } }`)).status).toBe(200);
    const revoked = await t.as(ADMIN_TOKEN, `mutation { revokeApiKey(name: "short-lived") }`);
    expect(revoked.body.data).toEqual({ revokeApiKey: true });
    const after = await t.as(secret, `{ metrics { key } }`);
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0].extensions.code).toBe("UNAUTHENTICATED");
    expect((await t.as(ADMIN_TOKEN, `mutation { revokeApiKey(name: "short-lived") }`)).body.data).toEqual({
      revokeApiKey: false,
    });
    const again = await t.key("short-lived", "READER");
    expect(again).not.toBe(secret);
    expect((await t.as(again, `{ metrics { key } }`)).status).toBe(200);
    expect((await t.as(secret, `{ metrics { key } }`)).status).toBe(401);
  });
});
