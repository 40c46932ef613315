import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { startOn, waitUntil } from "./helpers.js";

// The outbox: a receiver that fails first gets the same event again (same id), every body carries a
// valid HMAC-SHA256 signature, each attempt is recorded, and two replicas deliver it once.

const DAY = 86_400_000;
const T0 = Math.floor(Date.now() / DAY) * DAY;
const iso = (d: number) => new Date(T0 + d * DAY).toISOString();
const SECRET = "whsec-0123456789abcdef";
const CONFIG = `
metrics:
  - { key: w.time, name: Time, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - slug: hook
    name: Hook
    goLiveAt: "${iso(-100)}"
    kpis: [{ metric: w.time, target: 5 }]
`;

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver: answers 500 to the first request, 200 afterwards; or never answers (`hang`). */
async function receiver(mode: "fail-first" | "hang") {
  const got: Received[] = [];
  let notify: (() => void) | null = null;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      notify?.();
      if (mode === "hang") return;
      res.writeHead(got.length === 1 ? 500 : 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/uplift`,
    got,
    /** Resolves once `n` requests have arrived. */
    until(n: number) {
      return new Promise<void>((resolve) => {
        const check = () => {
          if (got.length >= n) resolve();
        };
        notify = check;
        check();
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

let db: TestDatabase;
let a: Awaited<ReturnType<typeof startOn>>;
let b: Awaited<ReturnType<typeof startOn>>;
let ok: Awaited<ReturnType<typeof receiver>>;
let hang: Awaited<ReturnType<typeof receiver>>;
const opts = {
  evaluateEveryMs: 3_600_000,
  deliverEveryMs: 20,
  delivery: { backoffMs: 50, timeoutMs: 300 },
};
beforeAll(async () => {
  db = await createTestDatabase();
  ok = await receiver("fail-first");
  hang = await receiver("hang");
  a = await startOn(db.url, CONFIG, opts);
  b = await startOn(db.url, CONFIG, opts);
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await ok?.close();
  await hang?.close();
  await db?.drop();
});

describe("webhook delivery", () => {
  it("retries a failing receiver with the same event id; every body's signature verifies; once delivered, it stops", async () => {
    const define = `mutation($i: DefineAlertInput!) { defineAlert(input: $i) { name webhookUrl } }`;
    let r = await a.gql(define, {
      i: { name: "met", kind: "TARGET_MET", projectSlug: "hook", webhookUrl: ok.url, webhookSecret: SECRET },
    });
    expect(r.errors).toBeUndefined();
    r = await a.gql(define, {
      i: {
        name: "met-hang",
        kind: "TARGET_MET",
        projectSlug: "hook",
        webhookUrl: hang.url,
        webhookSecret: SECRET,
      },
    });
    expect(r.errors).toBeUndefined();
    r = await b.gql(`mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`, {
      in: [
        [-150, 9],
        [-140, 9],
        [-10, 2],
        [-5, 3],
      ].map(([d, value]) => ({ projectSlug: "hook", metricKey: "w.time", observedAt: iso(d), value })),
    });
    expect(r.errors).toBeUndefined();

    await ok.until(2);
    const [first, second] = ok.got;
    const id = first.headers["x-uplift-event-id"];
    expect(second.headers["x-uplift-event-id"]).toBe(id);
    for (const req of [first, second]) {
      const expected = `sha256=${createHmac("sha256", SECRET).update(req.body).digest("hex")}`;
      expect(req.headers["x-uplift-signature"]).toBe(expected);
      expect(req.headers["content-type"]).toBe("application/json");
      expect(req.body).not.toContain(SECRET);
      const body = JSON.parse(req.body);
      expect(body).toMatchObject({
        id,
        rule: "met",
        kind: "TARGET_MET",
        projectSlug: "hook",
        metricKey: "w.time",
      });
      expect(body.message).toContain("meeting its target of 5");
    }
    expect(JSON.parse(first.body).attempts).toBe(1);
    expect(JSON.parse(second.body).attempts).toBe(2);

    await waitUntil(async () => {
      const [e] = await a.db.ds.query(`SELECT delivery FROM alert_event WHERE id = $1`, [id]);
      return e?.delivery === "DELIVERED";
    });
    const attempts = await a.db.ds.query(
      `SELECT attempt, status, error FROM alert_delivery_attempt WHERE event_id = $1 ORDER BY attempt`,
      [id],
    );
    expect(attempts).toEqual([
      { attempt: 1, status: 500, error: "HTTP 500" },
      { attempt: 2, status: 200, error: null },
    ]);
    const listed = (await b.gql(`{ alertEvents { id rule delivery attempts } }`)).data.alertEvents;
    expect(listed.find((e: any) => e.rule === "met")).toEqual({
      id,
      rule: "met",
      delivery: "DELIVERED",
      attempts: 2,
    });
    // Two replicas, one event: no third request (a double send would have been a second 200).
    expect(ok.got).toHaveLength(2);
    expect(await a.db.ds.query(`SELECT count(*)::int AS n FROM alert_event WHERE rule_name = 'met'`)).toEqual(
      [{ n: 1 }],
    );
  });

  it("a receiver that never answers times out; the attempt is recorded and retried", async () => {
    await hang.until(2);
    await waitUntil(async () => {
      const rows = await a.db.ds.query(
        `SELECT a.error FROM alert_delivery_attempt a JOIN alert_event e ON e.id = a.event_id WHERE e.rule_name = 'met-hang'`,
      );
      return rows.length >= 1;
    });
    const [row] = await a.db.ds.query(
      `SELECT a.error, a.status, e.delivery FROM alert_delivery_attempt a JOIN alert_event e ON e.id = a.event_id
       WHERE e.rule_name = 'met-hang' ORDER BY a.attempt LIMIT 1`,
    );
    expect(row).toMatchObject({ error: "no answer within 300 ms", status: null });
    expect(new Set(hang.got.map((g) => g.headers["x-uplift-event-id"])).size).toBe(1);
  });

  it("the webhook secret is never returned", async () => {
    const r = await a.gql(`{ alerts { name webhookSecret } }`);
    expect(r.errors?.[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const rules = (await a.gql(`{ alerts { name webhookUrl } }`)).data.alerts;
    expect(JSON.stringify(rules)).not.toContain(SECRET);
  });
});
