// The live dashboard in headless Chromium (Debian's, driven by playwright-core): the figures it shows, a
// live update within a second, a reconnect, a phone-sized screen, and no request leaving 127.0.0.1.
import fs from "node:fs";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

/** Debian's package; `npx playwright install` downloads nothing here. */
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
/** Set to a folder to keep screenshots (dashboard.png, dashboard-phone.png) for a human to look at. */
const SHOTS = process.env.DASHBOARD_SCREENSHOT_DIR;
// Without the background-networking flags Chromium tries Google's hosts at every start. playwright-core
// gives every launch a fresh temporary profile (--user-data-dir) and adds --no-sandbox (we run as root).
const CHROMIUM_ARGS = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

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

async function launchChromium(): Promise<Browser | null> {
  const needed =
    `The dashboard test needs Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium; ` +
    ".ci/run does so when it runs as root) or set CHROMIUM_PATH. `npx playwright install` does not work here.";
  if (!fs.existsSync(CHROMIUM)) {
    browserProblem = new Error(needed);
    return null;
  }
  try {
    return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  } catch (e) {
    browserProblem = new Error(`${needed}\nStarting it failed: ${(e as Error).message}`);
    return null;
  }
}

beforeAll(async () => {
  const launching = launchChromium();
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
  await page.waitForSelector(`${HELPDESK} [data-field="current"]`, { timeout: 10_000 });
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 10_000 });
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

  browserTest(
    "changes a KPI within a second of recordObservations, then its ROI and the portfolio",
    async () => {
      const { context, page, requests, problems } = await open();
      try {
        const res = await t.gql(RECORD, {
          in: [obs("helpdesk", "it.resolution_time", "2025-03-17T10:00:00Z", 0)],
        });
        const answeredAt = performance.now();
        expect(res.body).toEqual({ data: { recordObservations: { inserted: 1, updated: 0 } } });
        // current (4 + 2 + 0) / 3 = 2 minutes: measured from the mutation's answer to the DOM change.
        await waitForText(page, `${HELPDESK} [data-field="current"]`, "2 minutes", 1000);
        const elapsed = performance.now() - answeredAt;
        expect(elapsed).toBeLessThan(1000);
        console.info(`dashboard: the new figure showed ${elapsed.toFixed(0)} ms after the mutation answered`);

        // improvement (11 − 2) / 11 = 81.8 %; target 2 now met. The card flashes; the change is announced.
        expect(await text(page, `${HELPDESK} [data-field="improvement"]`)).toBe("+81.8%");
        expect(await text(page, `${HELPDESK} [data-field="target"]`)).toBe("✓ Met, ≤ 2 minutes");
        expect(await text(page, `${HELPDESK} [data-field="counts"]`)).toBe("2 → 3");
        expect(await page.locator(HELPDESK).getAttribute("class")).toContain("flash");
        expect(await page.locator(SUPPORT).getAttribute("class")).not.toContain("flash");
        expect(await text(page, "#announcer")).toBe(
          "Help desk copilot, Resolution time: now 2 minutes, improvement +81.8%.",
        );

        // ROI and portfolio, re-read ~300 ms later: benefit (11 − 2) × 1,000 = 9,000, net 4,000, ROI 80 %,
        // payback 5,000 / 750 a month = 6.67 months.
        const roi = (field: string) => `[data-roi="helpdesk"] [data-field="${field}"]`;
        await waitForText(page, roi("benefit"), "$9,000", 3000);
        expect(await text(page, roi("net"))).toBe("$4,000");
        expect(await text(page, roi("roiPct"))).toBe("80%");
        expect(await text(page, roi("payback"))).toBe("6.7 months");
        await waitForText(page, '[data-portfolio="totalAnnualBenefit"]', "$9,000", 3000);
        // The other KPI did not move.
        expect(await text(page, `${SUPPORT} [data-field="current"]`)).toBe("77 points");

        expect(problems).toEqual([]);
        expectOnlyLocal(requests);
      } finally {
        await context.close();
      }
    },
  );

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
        await page.waitForSelector('#connection[data-state="live"]', { timeout: 10_000 });
        await page.waitForSelector(`${SUPPORT} [data-field="current"]`);
        expect(fullReads).toBe(1);

        await routes[0].close({ code: 1001, reason: "test: going away" });
        await page.waitForSelector('#connection[data-state="reconnecting"]', { timeout: 2000 });
        expect(await text(page, "#connection")).toBe("Reconnecting…");

        // Recorded while the page is disconnected: the page has to re-read after it reconnects.
        await t.gql(RECORD, { in: [obs("support", "cs.csat", "2025-03-06T10:00:00Z", 84)] });
        await page.waitForSelector('#connection[data-state="live"]', { timeout: 5000 });
        expect(routes.length).toBe(2);
        await expect.poll(() => fullReads, { timeout: 2000 }).toBe(2);
        // (77 + 84) / 2 = 80.5 points: +15 %, target 80 met.
        await waitForText(page, `${SUPPORT} [data-field="current"]`, "80.5 points", 3000);
        expect(await text(page, `${SUPPORT} [data-field="improvement"]`)).toBe("+15%");

        // And live updates flow on the new connection: (77 + 84 + 71) / 3 = 77.33 points.
        await t.gql(RECORD, { in: [obs("support", "cs.csat", "2025-03-07T10:00:00Z", 71)] });
        await waitForText(page, `${SUPPORT} [data-field="current"]`, "77.33 points", 1000);
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
