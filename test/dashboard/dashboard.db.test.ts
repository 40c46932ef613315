// The live dashboard in headless Chromium (from @sparticuz/chromium, see test/helpers/chromium.ts, driven by
// playwright-core): the figures it shows, a live update, a reconnect, a phone-sized screen, and no request leaving 127.0.0.1.
import fs from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { launchChromium } from "../helpers/chromium.js";

/** Set to a folder to keep screenshots (dashboard.png, dashboard-phone.png) for a human to look at. */
const SHOTS = process.env.DASHBOARD_SCREENSHOT_DIR;
/** How long to wait for something the page will do: long, because a loaded machine is slow, never a bound. */
const WAIT = 30_000;

// Two projects, two KPIs, with figures simple enough to compute by hand (below, at each assertion).
const CONFIG = `
currency: USD
metrics:
  - { key: it.resolution_time, name: Resolution time, unit: minutes, direction: LOWER_IS_BETTER }
  - { key: cs.csat, name: Customer satisfaction, unit: points, direction: HIGHER_IS_BETTER }
projects:
  - slug: helpdesk
    name: Help desk copilot
    goLiveAt: "2025-03-03T00:00:00Z"
    history:
      - { stage: PILOT, at: "2025-01-06T00:00:00Z" }
      - { stage: PRODUCTION, at: "2025-03-03T00:00:00Z" }
    kpis: [{ metric: it.resolution_time, target: 2, valuePerUnit: 1, annualVolume: 1000 }]
    costs: [{ label: Rollout, kind: ONE_TIME, amount: 5000, startsAt: "2025-01-06T00:00:00Z" }]
  - slug: support
    name: Support assistant
    stage: PILOT
    stageSince: "2025-02-01T00:00:00Z"
    goLiveAt: "2025-03-03T00:00:00Z"
    kpis: [{ metric: cs.csat, target: 80 }]
`;

const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted updated } }`;
const obs = (projectSlug: string, metricKey: string, observedAt: string, value: number) => ({
  projectSlug,
  metricKey,
  observedAt,
  value,
});

const HELPDESK = '[data-kpi="helpdesk/it.resolution_time"]';
const SUPPORT = '[data-kpi="support/cs.csat"]';

let t: TestApp;
let browser: Browser;
/**
 * Why the browser could not start. Each test fails with it (rather than a failing beforeAll, which vitest
 * reports as skipped tests): a machine without Chromium must show failed tests that say what is missing.
 */
let browserProblem: Error | null = null;

/** A test that needs the browser. */
function browserTest(name: string, fn: () => Promise<void>) {
  it(name, async () => {
    if (browserProblem) throw browserProblem;
    await fn();
  });
}

async function startBrowser(): Promise<Browser | null> {
  try {
    return await launchChromium();
  } catch (e) {
    browserProblem = e as Error;
    return null;
  }
}

beforeAll(async () => {
  const launching = startBrowser();
  try {
    t = await startTestApp({ config: CONFIG });
  } finally {
    const b = await launching;
    if (b) browser = b;
  }
  const recorded = await t.gql(RECORD, {
    in: [
      // helpdesk: BEFORE 10 and 12 (weeks of 17 and 24 Feb), AFTER 4 and 2 (weeks of 3 and 10 Mar).
      obs("helpdesk", "it.resolution_time", "2025-02-17T10:00:00Z", 10),
      obs("helpdesk", "it.resolution_time", "2025-02-24T10:00:00Z", 12),
      obs("helpdesk", "it.resolution_time", "2025-03-03T10:00:00Z", 4),
      obs("helpdesk", "it.resolution_time", "2025-03-10T10:00:00Z", 2),
      // support: BEFORE 70, AFTER 77.
      obs("support", "cs.csat", "2025-02-20T10:00:00Z", 70),
      obs("support", "cs.csat", "2025-03-05T10:00:00Z", 77),
    ],
  });
  expect(recorded.body).toEqual({ data: { recordObservations: { inserted: 6, updated: 0 } } });
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

interface Opened {
  context: BrowserContext;
  page: Page;
  /** Every URL the page asked for, WebSockets included. */
  requests: string[];
  /** Console errors and warnings, uncaught exceptions (a CSP violation is a console error). */
  problems: string[];
}

async function open(options: Parameters<Browser["newContext"]>[0] = {}): Promise<Opened> {
  const context = await browser.newContext({ locale: "en-US", timezoneId: "UTC", ...options });
  const page = await context.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("websocket", (ws) => requests.push(ws.url()));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${t.url}/dashboard`);
  await page.waitForSelector(`${HELPDESK} [data-field="current"]`, { timeout: WAIT });
  await page.waitForSelector('#connection[data-state="live"]', { timeout: WAIT });
  return { context, page, requests, problems };
}

/** Only Uplift itself (and data: URLs, which go nowhere) may be asked for anything. */
function expectOnlyLocal(requests: string[]) {
  expect(requests.length).toBeGreaterThan(0);
  const elsewhere = requests.filter((u) => {
    const url = new URL(u);
    return url.protocol !== "data:" && url.hostname !== "127.0.0.1";
  });
  expect(elsewhere).toEqual([]);
}

const text = (page: Page, selector: string) => page.locator(selector).textContent();

// Functions passed to the page run there, not here: tsconfig has no DOM types (on purpose, for src/),
// so the page's globals are reached through globalThis.

/** Waits until the element's text is `want`; fails after `timeout` ms. */
async function waitForText(page: Page, selector: string, want: string, timeout: number) {
  await page.waitForFunction(
    ([sel, expected]) => (globalThis as any).document.querySelector(sel)?.textContent === expected,
    [selector, want] as const,
    { timeout },
  );
}

describe("the dashboard in headless Chromium", () => {
  browserTest(
    "shows the portfolio and each KPI as computed, loading nothing from outside 127.0.0.1",
    async () => {
      const { context, page, requests, problems } = await open({ viewport: { width: 1280, height: 900 } });
      try {
        expect(await page.title()).toBe("Uplift · live dashboard");
        expect(await text(page, "#connection")).toBe("Live");

        // Portfolio: 2 projects; helpdesk went PILOT → PRODUCTION, support is still a pilot: 1 of 2 converted.
        // support has been a pilot since 2025-02-01, more than 180 days: stalled. Benefit: helpdesk's only.
        expect(await text(page, '[data-portfolio="projectCount"]')).toBe("2");
        expect(await text(page, '[data-portfolio="byStage"]')).toBe("Pilot 1 · Production 1");
        expect(await text(page, '[data-portfolio="pilotConversion"]')).toBe("50%");
        expect(await text(page, '[data-portfolio="totalAnnualBenefit"]')).toBe("$8,000");
        expect(await text(page, '[data-portfolio="stalledPilots"]')).toBe("1: support");

        // helpdesk, lower is better: baseline (10 + 12) / 2 = 11, current (4 + 2) / 2 = 3,
        // improvement (11 − 3) / 11 = 72.73 %, target 2 not met.
        expect(await text(page, `${HELPDESK} [data-field="baseline"]`)).toBe("11 minutes");
        expect(await text(page, `${HELPDESK} [data-field="current"]`)).toBe("3 minutes");
        expect(await text(page, `${HELPDESK} [data-field="improvement"]`)).toBe("+72.7%");
        expect(await text(page, `${HELPDESK} [data-field="target"]`)).toBe("✗ Not met, ≤ 2 minutes");
        expect(await text(page, `${HELPDESK} [data-field="counts"]`)).toBe("2 → 2");
        // annualBenefit = (11 − 3) minutes × 1 per minute × 1,000 tickets a year = 8,000.
        expect(await text(page, `${HELPDESK} [data-field="annualBenefit"]`)).toBe("$8,000");

        // support, higher is better: 70 → 77 is (77 − 70) / 70 = +10 %, target 80 not met, no money.
        expect(await text(page, `${SUPPORT} [data-field="baseline"]`)).toBe("70 points");
        expect(await text(page, `${SUPPORT} [data-field="current"]`)).toBe("77 points");
        expect(await text(page, `${SUPPORT} [data-field="improvement"]`)).toBe("+10%");
        expect(await text(page, `${SUPPORT} [data-field="target"]`)).toBe("✗ Not met, ≥ 80 points");
        // Both targets were set at start-up, after the 2025 go-live: marked as not pre-registered.
        expect(await text(page, `${SUPPORT} [data-field="preRegistered"]`)).toMatch(
          /^No: target set or moved after go-live \(/,
        );
        // The pilot's decision: in PILOT since 2025-02-01 (over 90 days) and no significant improvement
        // (one observation a phase gives no statistics) → STOP.
        expect(await text(page, '[data-decision="support"] [data-field="decision"]')).toBe("Stop");
        expect(await text(page, '[data-decision="support"] [data-field="reason"]')).toContain(
          "no KPI improves significantly (cs.csat (current 77 vs target 80",
        );
        expect(await page.locator('[data-decision="helpdesk"]').count()).toBe(0); // in production

        // ROI over 12 months: benefit 8,000, cost 5,000 (one-time), net 3,000, ROI 60 %,
        // payback 5,000 / (8,000 / 12 a month) = 7.5 months. support: no cost, no benefit.
        const roi = (slug: string, field: string) =>
          text(page, `[data-roi="${slug}"] [data-field="${field}"]`);
        expect(await roi("helpdesk", "benefit")).toBe("$8,000");
        expect(await roi("helpdesk", "cost")).toBe("$5,000");
        expect(await roi("helpdesk", "net")).toBe("$3,000");
        expect(await roi("helpdesk", "roiPct")).toBe("60%");
        expect(await roi("helpdesk", "payback")).toBe("7.5 months");
        expect(await roi("support", "benefit")).toBe("$0");
        expect(await roi("support", "roiPct")).toBe("—");

        // The weekly sparkline: two BEFORE weeks and two AFTER weeks, in two lines, a go-live mark between.
        const spark = page.locator(`${HELPDESK} svg[data-field="sparkline"]`);
        expect(await spark.getAttribute("role")).toBe("img");
        expect(await spark.getAttribute("aria-label")).toBe(
          "Weekly Resolution time: 2 weeks before go-live, 2 after; latest week 2 minutes; target 2 minutes",
        );
        const points = async (cls: string) =>
          ((await spark.locator(`polyline.${cls}`).getAttribute("points")) ?? "").split(" ").length;
        expect(await points("spark-before")).toBe(2);
        expect(await points("spark-after")).toBe(2);
        expect(await spark.locator("line.spark-golive").count()).toBe(1);
        const colours = await spark.evaluate((svg) =>
          ["spark-before", "spark-after"].map(
            (c) => (globalThis as any).getComputedStyle(svg.querySelector(`.${c}`)).stroke,
          ),
        );
        expect(colours[0]).not.toBe(colours[1]);

        // Accessibility basics: one h1, a polite live region, cards as articles named by their heading.
        expect(await page.locator("h1").count()).toBe(1);
        expect(await page.locator('#announcer[aria-live="polite"]').count()).toBe(1);
        expect(await page.locator('article[aria-labelledby="project-helpdesk"] h3').textContent()).toBe(
          "Help desk copilot",
        );
        // Two cards side by side on a laptop.
        const [a, b] = await Promise.all([
          page.locator('[data-project="helpdesk"]').boundingBox(),
          page.locator('[data-project="support"]').boundingBox(),
        ]);
        expect(a!.y).toBe(b!.y);
        expect(a!.x).toBeLessThan(b!.x);

        const shot = await page.screenshot({ fullPage: true });
        expect(shot.length).toBeGreaterThan(10_000);
        if (SHOTS) fs.writeFileSync(path.join(SHOTS, "dashboard.png"), shot);

        expect(problems).toEqual([]);
        expectOnlyLocal(requests);
        expect(requests).toContain(`${t.url.replace(/^http/, "ws")}/graphql`);
      } finally {
        await context.close();
      }
    },
  );

  browserTest("changes a KPI live after recordObservations, then its ROI and the portfolio", async () => {
    const { context, page, requests, problems } = await open();
    try {
      // The KPI's change, as the page showed it: a MutationObserver callback runs at the end of the task
      // that changed the DOM, so it sees the flash before the page's timer removes it, however slow we are.
      await page.evaluate((sel) => {
        const g = globalThis as any;
        const snapshot = () => {
          const el = g.document.querySelector(sel);
          if (el?.querySelector('[data-field="current"]')?.textContent !== "2 minutes") return;
          const field = (f: string) => el.querySelector(`[data-field="${f}"]`)?.textContent;
          g.seenKpiChange = {
            improvement: field("improvement"),
            target: field("target"),
            counts: field("counts"),
            flash: el.classList.contains("flash"),
            announced: g.document.querySelector("#announcer").textContent,
          };
          observer.disconnect();
        };
        const observer = new g.MutationObserver(snapshot);
        observer.observe(g.document.body, { subtree: true, childList: true, characterData: true });
      }, HELPDESK);
      const res = await t.gql(RECORD, {
        in: [obs("helpdesk", "it.resolution_time", "2025-03-17T10:00:00Z", 0)],
      });
      expect(res.body).toEqual({ data: { recordObservations: { inserted: 1, updated: 0 } } });
      // current (4 + 2 + 0) / 3 = 2 minutes, pushed over the WebSocket (no reload). How fast is measured
      // by bench/ (subscribers), not here: a loaded machine must not fail this test.
      const seen = await page.waitForFunction(() => (globalThis as any).seenKpiChange, undefined, {
        timeout: WAIT,
      });
      // improvement (11 − 2) / 11 = 81.8 %; target 2 now met. The card flashes; the change is announced.
      expect(await seen.jsonValue()).toEqual({
        improvement: "+81.8%",
        target: "✓ Met, ≤ 2 minutes",
        counts: "2 → 3",
        flash: true,
        announced: "Help desk copilot, Resolution time: now 2 minutes, improvement +81.8%.",
      });
      expect(await page.locator(SUPPORT).getAttribute("class")).not.toContain("flash");

      // ROI and portfolio, re-read ~300 ms later: benefit (11 − 2) × 1,000 = 9,000, net 4,000, ROI 80 %,
      // payback 5,000 / 750 a month = 6.67 months.
      const roi = (field: string) => `[data-roi="helpdesk"] [data-field="${field}"]`;
      await waitForText(page, roi("benefit"), "$9,000", WAIT);
      expect(await text(page, roi("net"))).toBe("$4,000");
      expect(await text(page, roi("roiPct"))).toBe("80%");
      expect(await text(page, roi("payback"))).toBe("6.7 months");
      await waitForText(page, '[data-portfolio="totalAnnualBenefit"]', "$9,000", WAIT);
      // The other KPI did not move.
      expect(await text(page, `${SUPPORT} [data-field="current"]`)).toBe("77 points");

      expect(problems).toEqual([]);
      expectOnlyLocal(requests);
    } finally {
      await context.close();
    }
  });

  browserTest(
    "shows 'reconnecting' when the WebSocket drops, then reconnects, re-reads, and is live again",
    async () => {
      const context = await browser.newContext({ locale: "en-US", timezoneId: "UTC" });
      try {
        const page = await context.newPage();
        // The page's WebSocket goes through Playwright, which can cut it as a network failure would.
        const routes: { close(o?: { code?: number; reason?: string }): Promise<void> }[] = [];
        await page.routeWebSocket(/\/graphql$/, (ws) => {
          ws.connectToServer();
          routes.push(ws);
        });
        let fullReads = 0;
        page.on("request", (r) => {
          if (r.method() === "POST" && r.postData()?.includes("query Dashboard")) fullReads++;
        });
        await page.goto(`${t.url}/dashboard`);
        await page.waitForSelector('#connection[data-state="live"]', { timeout: WAIT });
        await page.waitForSelector(`${SUPPORT} [data-field="current"]`, { timeout: WAIT });
        expect(fullReads).toBeGreaterThanOrEqual(1);
        // Every state the indicator goes through, recorded in the page: "reconnecting" may last only the
        // client's first retry wait (0.5 to 1 s), which a busy test process could miss by polling.
        await page.evaluate(() => {
          const g = globalThis as any;
          const el = g.document.querySelector("#connection");
          g.connectionStates = [];
          new g.MutationObserver(() =>
            g.connectionStates.push(`${el.dataset.state}: ${el.textContent}`),
          ).observe(el, { attributes: true, childList: true, characterData: true, subtree: true });
        });
        const states = () => page.evaluate(() => (globalThis as any).connectionStates as string[]);
        const readsBefore = fullReads;

        await routes[0].close({ code: 1001, reason: "test: going away" });
        await expect.poll(states, { timeout: WAIT }).toContain("reconnecting: Reconnecting…");

        // Recorded while the page is disconnected: the page has to re-read after it reconnects.
        await t.gql(RECORD, { in: [obs("support", "cs.csat", "2025-03-06T10:00:00Z", 84)] });
        await page.waitForSelector('#connection[data-state="live"]', { timeout: WAIT });
        expect((await states()).at(-1)).toBe("live: Live");
        expect(routes.length).toBe(2);
        await expect.poll(() => fullReads, { timeout: WAIT }).toBeGreaterThan(readsBefore);
        // (77 + 84) / 2 = 80.5 points: +15 %, target 80 met.
        await waitForText(page, `${SUPPORT} [data-field="current"]`, "80.5 points", WAIT);
        expect(await text(page, `${SUPPORT} [data-field="improvement"]`)).toBe("+15%");

        // And live updates flow on the new connection: (77 + 84 + 71) / 3 = 77.33 points.
        await t.gql(RECORD, { in: [obs("support", "cs.csat", "2025-03-07T10:00:00Z", 71)] });
        await waitForText(page, `${SUPPORT} [data-field="current"]`, "77.33 points", WAIT);
      } finally {
        await context.close();
      }
    },
  );

  browserTest("fits a phone: one column, no horizontal overflow at 375 × 740", async () => {
    const { context, page, requests, problems } = await open({
      viewport: { width: 375, height: 740 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    try {
      const widths = await page.evaluate(() => {
        const root = (globalThis as any).document.documentElement;
        return { scroll: root.scrollWidth as number, client: root.clientWidth as number };
      });
      expect(widths.client).toBe(375);
      expect(widths.scroll).toBeLessThanOrEqual(375);
      // One column: the cards stack, each within the screen.
      const [a, b] = await Promise.all([
        page.locator('[data-project="helpdesk"]').boundingBox(),
        page.locator('[data-project="support"]').boundingBox(),
      ]);
      expect(a!.x).toBe(b!.x);
      expect(b!.y).toBeGreaterThan(a!.y + a!.height - 1);
      expect(a!.x + a!.width).toBeLessThanOrEqual(375);
      // Text stays readable: the current value is at least 16 px.
      const size = await page
        .locator(`${HELPDESK} [data-field="current"]`)
        .evaluate((el) => Number.parseFloat((globalThis as any).getComputedStyle(el).fontSize));
      expect(size).toBeGreaterThanOrEqual(16);

      const shot = await page.screenshot();
      expect(shot.length).toBeGreaterThan(10_000);
      if (SHOTS) fs.writeFileSync(path.join(SHOTS, "dashboard-phone.png"), shot);
      expect(problems).toEqual([]);
      expectOnlyLocal(requests);
    } finally {
      await context.close();
    }
  });
});
