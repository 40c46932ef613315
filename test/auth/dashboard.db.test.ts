import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../helpers/chromium.js";
import { ADMIN_TOKEN, type AuthApp, startAuthApp } from "./helpers.js";

// /dashboard with auth on, in headless Chromium from npm (@sparticuz/chromium): it asks for a key, keeps it
// for the tab (sessionStorage), sends it over HTTP and in connection_init, and asks again for a bad one.

const CONFIG = `
metrics:
  - { key: it.resolution_time, name: Resolution time, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: helpdesk, name: Help desk, goLiveAt: "2025-03-03T00:00:00Z", kpis: [{ metric: it.resolution_time }] }
`;
const CURRENT = '[data-kpi="helpdesk/it.resolution_time"] [data-field="current"]';
const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`;
const record = (value: number, at: string) =>
  t.as(ADMIN_TOKEN, RECORD, {
    in: [{ projectSlug: "helpdesk", metricKey: "it.resolution_time", observedAt: at, value }],
  });

let t: AuthApp;
let browser: Browser;
let reader: string;

beforeAll(async () => {
  t = await startAuthApp(CONFIG);
  reader = await t.key("wallboard", "READER");
  await record(10, "2025-02-17T10:00:00Z");
  await record(4, "2025-03-10T10:00:00Z");
  // The shared helper: a per-install extraction, never the /tmp/chromium another user may own.
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe("the dashboard with auth on", () => {
  it("asks for a key, refuses a bad one, then shows live figures and keeps the key for the tab", async () => {
    const context = await browser.newContext({ locale: "en-US", timezoneId: "UTC" });
    const page = await context.newPage();
    try {
      await page.goto(`${t.url}/dashboard`);
      await page.waitForSelector("#key-form:not([hidden])", { timeout: 15_000 });
      expect(await page.locator("#connection").textContent()).toBe("API key needed");

      await page.fill("#key-input", "upl_notavalidkeynotavalidkeynotavalidkey0000");
      await page.click('#key-form button[type="submit"]');
      await page.waitForFunction(
        () =>
          (globalThis as any).document.querySelector("#key-problem")?.textContent?.includes("not accepted"),
        undefined,
        { timeout: 15_000 },
      );

      await page.fill("#key-input", reader);
      await page.click('#key-form button[type="submit"]');
      await page.waitForSelector('#connection[data-state="live"]', { timeout: 15_000 });
      await page.waitForSelector(CURRENT, { timeout: 15_000 });
      expect(await page.locator(CURRENT).textContent()).toBe("4 minutes");
      expect(await page.locator("#key-form").isHidden()).toBe(true);

      // A live update over the WebSocket that authenticated with the key: AFTER mean (4 + 2) / 2 = 3.
      await record(2, "2025-03-11T10:00:00Z");
      await page.waitForFunction(
        (sel) => (globalThis as any).document.querySelector(sel)?.textContent === "3 minutes",
        CURRENT,
        { timeout: 15_000 },
      );

      // Kept for the tab (sessionStorage), not in localStorage: a reload shows the figures without asking.
      const stored = await page.evaluate(() => [
        (globalThis as any).sessionStorage.getItem("uplift.apiKey"),
        (globalThis as any).localStorage.length,
      ]);
      expect(stored).toEqual([reader, 0]);
      await page.reload();
      await page.waitForSelector('#connection[data-state="live"]', { timeout: 15_000 });
      await page.waitForSelector(CURRENT, { timeout: 15_000 });
      expect(await page.locator("#key-form").isHidden()).toBe(true);
    } finally {
      await context.close();
    }
  });
});
