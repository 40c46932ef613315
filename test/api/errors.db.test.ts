import { getIntrospectionQuery } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

// Every error path of the contract ("Errors", "Process") over real HTTP. Each raw answer is also checked
// for leaked internals: no stack frame, no source path, no SQL.

const CONFIG = `
metrics:
  - { key: m.one, name: One, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: existing, name: Existing project }
`;

let t: TestApp; // defaults: depth 12, 20 MiB bodies
let limited: TestApp; // UPLIFT_MAX_BODY_BYTES=2048, UPLIFT_MAX_QUERY_DEPTH=4

beforeAll(async () => {
  [t, limited] = await Promise.all([
    startTestApp({ config: CONFIG }),
    startTestApp({ config: CONFIG, env: { UPLIFT_MAX_BODY_BYTES: "2048", UPLIFT_MAX_QUERY_DEPTH: "4" } }),
  ]);
});
afterAll(async () => {
  await Promise.all([t?.stop(), limited?.stop()]);
});

/** Patterns that must never reach a client: stack frames, source files, SQL and driver errors. */
const LEAKS: [string, RegExp][] = [
  ["stack frame", /\n\s*at |\bat [\w$.<>]+ \(|\bat (?:file:\/\/)?\/[\w/.-]+:\d+/],
  ["source position", /\.[cm]?[jt]s:\d+/],
  ["node_modules path", /node_modules/],
  ["SQL", /\b(?:SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|ON CONFLICT|RETURNING)\b/],
  ["driver error", /QueryFailedError|violates|duplicate key|syntax error at or near|invalid byte sequence/i],
];

const checkedAnswers: string[] = [];

function expectNoLeak(text: string) {
  checkedAnswers.push(text);
  for (const [what, re] of LEAKS) expect(text, `${what} in ${text}`).not.toMatch(re);
}

interface Answer {
  status: number;
  contentType: string | null;
  text: string;
  json: any;
}

async function http(app: TestApp, path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(`${app.url}${path}`, init);
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.status >= 400 || json?.errors) expectNoLeak(text);
  return { status: res.status, contentType: res.headers.get("content-type"), text, json };
}

function post(app: TestApp, body: unknown, headers: Record<string, string> = {}) {
  return http(app, "/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function gql(query: string, variables?: Record<string, unknown>, app = t) {
  return post(app, { query, variables });
}

/** The single error of an answer, with its code. */
function onlyError(a: Answer, code: string) {
  expect(a.contentType).toMatch(/^application\/(graphql-response\+)?json/);
  expect(a.json.errors, a.text).toHaveLength(1);
  expect(a.json.errors[0].extensions.code).toBe(code);
  return a.json.errors[0];
}

describe("GraphQL documents", () => {
  it("a document that does not parse is GRAPHQL_PARSE_FAILED with HTTP 400", async () => {
    const a = await gql("{ metrics { key ");
    expect(a.status).toBe(400);
    onlyError(a, "GRAPHQL_PARSE_FAILED");
    expect(a.json.data).toBeUndefined();
  });

  it("an unknown field is GRAPHQL_VALIDATION_FAILED with HTTP 400, naming the field", async () => {
    const a = await gql("{ metrics { key colour } }");
    expect(a.status).toBe(400);
    const e = onlyError(a, "GRAPHQL_VALIDATION_FAILED");
    expect(e.message).toContain('"colour"');
  });

  it("a variable of the wrong type is BAD_USER_INPUT naming the variable", async () => {
    const a = await gql("query($s: String!) { project(slug: $s) { slug } }", { s: 5 });
    expect(a.status).toBe(400); // Apollo: a request error, nothing executed
    const e = onlyError(a, "BAD_USER_INPUT");
    expect(e.message).toContain("$s");
  });

  it("a missing required variable is BAD_USER_INPUT", async () => {
    const a = await gql("query($s: String!) { project(slug: $s) { slug } }", {});
    onlyError(a, "BAD_USER_INPUT");
  });

  it("a DateTime variable without an offset is BAD_USER_INPUT naming the value", async () => {
    const a = await gql(
      `mutation($a: DateTime) { setProjectStage(slug: "existing", stage: IDEA, at: $a) { stage } }`,
      { a: "2025-01-01T00:00:00" },
    );
    const e = onlyError(a, "BAD_USER_INPUT");
    expect(e.message).toContain('"2025-01-01T00:00:00"');
    expect(e.message).toContain("offset");
    // Nothing was executed.
    const p = await gql(`{ project(slug: "existing") { stage stageHistory { stage } } }`);
    expect(p.json.data.project).toEqual({ stage: "PILOT", stageHistory: [{ stage: "PILOT" }] });
  });

  it("an impossible calendar date in a DateTime variable is BAD_USER_INPUT naming the value", async () => {
    const a = await gql(`mutation($i: AddCostInput!) { addCost(input: $i) { id } }`, {
      i: {
        projectSlug: "existing",
        label: "x",
        kind: "ONE_TIME",
        amount: 1,
        startsAt: "2025-02-30T00:00:00Z",
      },
    });
    const e = onlyError(a, "BAD_USER_INPUT");
    expect(e.message).toContain('"2025-02-30T00:00:00Z"');
  });

  it("a DateTime literal without an offset makes the document invalid: 400, naming the value", async () => {
    // Literals are checked while the document is validated, so Apollo reports GRAPHQL_VALIDATION_FAILED.
    const a = await gql(
      `mutation { setProjectStage(slug: "existing", stage: IDEA, at: "2025-01-01T00:00:00") { stage } }`,
    );
    expect(a.status).toBe(400);
    const e = onlyError(a, "GRAPHQL_VALIDATION_FAILED");
    expect(e.message).toContain('"2025-01-01T00:00:00"');
  });
});

describe("resolver errors", () => {
  it("updateProject with an unknown slug is NOT_FOUND", async () => {
    const a = await gql(`mutation { updateProject(slug: "ghost", input: { name: "x" }) { slug } }`);
    expect(a.status).toBe(200);
    const e = onlyError(a, "NOT_FOUND");
    expect(e.path).toEqual(["updateProject"]);
    expect(e.message).toContain('"ghost"');
    expect(a.json.data).toBeNull();
  });

  it("setProjectStage with an unknown slug is NOT_FOUND", async () => {
    const a = await gql(`mutation { setProjectStage(slug: "ghost", stage: PRODUCTION) { slug } }`);
    const e = onlyError(a, "NOT_FOUND");
    expect(e.path).toEqual(["setProjectStage"]);
    expect(a.json.data).toBeNull();
  });

  it("runCollector with an unknown name is NOT_FOUND", async () => {
    const a = await gql(`mutation { runCollector(name: "no-such-collector") { id status } }`);
    const e = onlyError(a, "NOT_FOUND");
    expect(e.path).toEqual(["runCollector"]);
    expect(e.message).toContain('"no-such-collector"');
  });

  it("createProject with an existing slug is CONFLICT and changes nothing", async () => {
    const a = await gql(
      `mutation { createProject(input: { slug: "existing", name: "Impostor", stage: RETIRED }) { slug } }`,
    );
    const e = onlyError(a, "CONFLICT");
    expect(e.message).toContain('"existing"');
    const p = await gql(`{ project(slug: "existing") { name stage stageHistory { stage } } }`);
    expect(p.json.data.project).toEqual({
      name: "Existing project",
      stage: "PILOT",
      stageHistory: [{ stage: "PILOT" }],
    });
  });

  it("out-of-range arguments are BAD_USER_INPUT naming the argument", async () => {
    const runs = await gql(`{ collectorRuns(limit: 0) { id } }`);
    expect(onlyError(runs, "BAD_USER_INPUT").extensions.problems).toEqual([
      expect.objectContaining({ field: "limit" }),
    ]);
    const roi = await gql(`{ project(slug: "existing") { roi(horizonMonths: 0) { net } } }`);
    expect(onlyError(roi, "BAD_USER_INPUT").extensions.problems).toEqual([
      expect.objectContaining({ field: "horizonMonths" }),
    ]);
    const stalled = await gql(`{ portfolio { stalledPilots(olderThanDays: -1) { slug } } }`);
    expect(onlyError(stalled, "BAD_USER_INPUT").extensions.problems).toEqual([
      expect.objectContaining({ field: "olderThanDays" }),
    ]);
  });

  it("text PostgreSQL cannot store (U+0000) is BAD_USER_INPUT naming the field, never INTERNAL_SERVER_ERROR", async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [
        `mutation($i: CreateProjectInput!) { createProject(input: $i) { slug } }`,
        { i: { slug: "nul-name", name: "a\u0000b" } },
        "input.name",
      ],
      [
        `mutation($i: DefineMetricInput!) { defineMetric(input: $i) { key } }`,
        { i: { key: "m.nul", name: "n", unit: "u\u0000", direction: "LOWER_IS_BETTER" } },
        "input.unit",
      ],
      [
        `mutation($i: AddCostInput!) { addCost(input: $i) { id } }`,
        {
          i: {
            projectSlug: "existing",
            label: "\u0000",
            kind: "MONTHLY",
            amount: 1,
            startsAt: "2025-01-01T00:00:00Z",
          },
        },
        "input.label",
      ],
      [`query($s: String!) { project(slug: $s) { slug } }`, { s: "exist\u0000ing" }, "slug"],
      [
        `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`,
        {
          in: [
            { projectSlug: "existing", metricKey: "m.one", observedAt: "2025-01-01T00:00:00Z", value: 1 },
            {
              projectSlug: "existing",
              metricKey: "m.one",
              observedAt: "2025-01-01T00:00:00Z",
              value: 1,
              dimensions: { team: "x\u0000" },
            },
          ],
        },
        "input[1].dimensions.team",
      ],
    ];
    for (const [query, variables, field] of cases) {
      const a = await gql(query, variables);
      const e = onlyError(a, "BAD_USER_INPUT");
      expect(e.message).toContain(field);
      expect(e.extensions.problems.map((p: { field: string }) => p.field)).toEqual([field]);
    }
    const gone = await gql(`{ project(slug: "nul-name") { slug } metrics { key } }`);
    expect(gone.json.data).toEqual({ project: null, metrics: [{ key: "m.one" }] });
  });
});

describe("HTTP", () => {
  it("a malformed JSON body is 400 with a JSON BAD_REQUEST error and no stack trace", async () => {
    const a = await post(t, '{"query": ');
    expect(a.status).toBe(400);
    expect(a.contentType).toMatch(/^application\/json/);
    expect(a.json).toEqual({
      errors: [{ message: expect.any(String), extensions: { code: "BAD_REQUEST" } }],
    });
    expect(a.text).not.toContain("at ");
    expect(a.text).not.toContain(".ts:");
    // Other shapes of bad JSON answer the same way (the parser's message may say "at position N").
    for (const body of ["{x", '{"query": "{ metrics { key } }",}', "nope"]) {
      const b = await post(t, body);
      expect(b.status).toBe(400);
      expect(b.json.errors[0].extensions.code).toBe("BAD_REQUEST");
      expect(b.text).not.toContain(".ts:");
    }
  });

  it("a body over UPLIFT_MAX_BODY_BYTES is 413 with a JSON error; one under it is served", async () => {
    const small = await post(limited, { query: "{ metrics { key } }" });
    expect(small.status).toBe(200);
    const big = await post(limited, { query: `{ metrics { key } } # ${"x".repeat(3000)}` });
    expect(big.status).toBe(413);
    expect(big.contentType).toMatch(/^application\/json/);
    expect(big.json.errors).toHaveLength(1);
    expect(big.json.errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
    // The default limit (20 MiB) takes the same request.
    expect((await post(t, { query: `{ metrics { key } } # ${"x".repeat(3000)}` })).status).toBe(200);
  });

  it("a query deeper than UPLIFT_MAX_QUERY_DEPTH is 400 GRAPHQL_VALIDATION_FAILED; at the limit it runs", async () => {
    // projects(1) kpis(2) metric(3) key(4)
    const four = await gql(`{ projects { kpis { metric { key } } } }`, undefined, limited);
    expect(four.status).toBe(200);
    expect(four.json.errors).toBeUndefined();
    // projects(1) kpis(2) control(3) controlBaseline(4) value(5)
    const five = await gql(
      `{ projects { kpis { control { controlBaseline { value } } } } }`,
      undefined,
      limited,
    );
    expect(five.status).toBe(400);
    expect(onlyError(five, "GRAPHQL_VALIDATION_FAILED").message).toMatch(/depth 5 exceeds the maximum of 4/);
    // Fragments are followed.
    const viaFragment = await gql(
      `{ projects { ...P } } fragment P on Project { kpis { ... on Kpi { control { controlCurrent { value } } } } }`,
      undefined,
      limited,
    );
    expect(viaFragment.status).toBe(400);
    onlyError(viaFragment, "GRAPHQL_VALIDATION_FAILED");
    // The default limit (12) takes it.
    expect((await gql(`{ projects { kpis { control { controlBaseline { value } } } } }`)).status).toBe(200);
  });

  it("the standard introspection query works under the default depth limit", async () => {
    const a = await gql(getIntrospectionQuery());
    expect(a.status).toBe(200);
    expect(a.json.errors).toBeUndefined();
    const names = a.json.data.__schema.types.map((x: { name: string }) => x.name);
    expect(names).toEqual(expect.arrayContaining(["Project", "Kpi", "ObservationInput", "DateTime"]));
  });

  it("GET /graphql needs a preflight header (Apollo's CSRF prevention): 400 without, 200 with", async () => {
    const path = `/graphql?query=${encodeURIComponent("{metrics{key}}")}`;
    const blocked = await http(t, path);
    expect(blocked.status).toBe(400);
    expect(blocked.json.errors[0].extensions.code).toBe("BAD_REQUEST");
    const ok = await http(t, path, { headers: { "apollo-require-preflight": "true" } });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ data: { metrics: [{ key: "m.one" }] } });
    // A mutation is never run over GET.
    const mutation = await http(
      t,
      `/graphql?query=${encodeURIComponent('mutation { createProject(input: { slug: "via-get", name: "x" }) { slug } }')}`,
      { headers: { "apollo-require-preflight": "true" } },
    );
    expect(mutation.status).toBe(405);
    expect((await gql(`{ project(slug: "via-get") { slug } }`)).json.data.project).toBeNull();
  });

  it("an unknown route is 404 with a JSON error", async () => {
    for (const init of [
      {},
      { method: "POST", headers: { "content-type": "application/json" }, body: "{}" },
    ]) {
      const a = await http(t, "/no/such/route", init);
      expect(a.status).toBe(404);
      expect(a.contentType).toMatch(/^application\/json/);
      expect(a.json.errors[0].extensions.code).toBe("NOT_FOUND");
    }
  });

  it("other HTTP misuse answers with JSON errors", async () => {
    const batch = await post(t, "[]");
    expect(batch.status).toBe(400);
    expect(batch.json.errors[0].extensions.code).toBe("BAD_REQUEST");
    const put = await http(t, "/graphql", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(put.status).toBe(405);
    expect(put.json.errors).toHaveLength(1);
  });

  it("/healthz and /readyz answer 200", async () => {
    const h = await http(t, "/healthz");
    expect(h.status).toBe(200);
    expect(h.json).toEqual({ status: "ok" });
    const r = await http(t, "/readyz");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: "ready" });
  });

  it("every error answer seen in this file was checked for stack traces and SQL", () => {
    // The checks ran as each answer arrived (expectNoLeak); this guards against the helper being bypassed.
    expect(checkedAnswers.length).toBeGreaterThanOrEqual(30);
  });
});
