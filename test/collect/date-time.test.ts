import { describe, expect, it } from "vitest";
import { parseDateTime } from "../../src/domain/rules.js";

// parseDateTime computes the instant by calendar arithmetic (it runs once per collected record); the
// expected instants here come from Date's own ISO formatting, shifted by the offset written.

/** A seeded generator (mulberry32): the same cases on every run. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MIN = Date.parse("0001-01-02T00:00:00Z");
const MAX = Date.parse("9999-12-30T00:00:00Z");

describe("parseDateTime", () => {
  it("gives the instant of 20,000 random date-times from year 1 to 9999, in UTC and with offsets", () => {
    const r = rng(12);
    const pad = (n: number) => String(n).padStart(2, "0");
    for (let i = 0; i < 20_000; i++) {
      const at = Math.floor(MIN + r() * (MAX - MIN));
      const offsetMin = i % 3 === 0 ? 0 : Math.round((r() * 2 - 1) * 14 * 60);
      const local = new Date(at + offsetMin * 60_000).toISOString().slice(0, 23);
      const abs = Math.abs(offsetMin);
      const off =
        offsetMin === 0 ? "Z" : `${offsetMin < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
      expect(parseDateTime(`${local}${off}`)?.getTime(), `${local}${off}`).toBe(at);
    }
  });

  it("reads leap days, years 0–99 as written, offsets without colon and without minutes", () => {
    expect(parseDateTime("2024-02-29T12:00:00Z")?.toISOString()).toBe("2024-02-29T12:00:00.000Z");
    expect(parseDateTime("2000-02-29T00:00:00Z")?.toISOString()).toBe("2000-02-29T00:00:00.000Z");
    expect(parseDateTime("0050-03-01T00:00:00Z")?.toISOString()).toBe("0050-03-01T00:00:00.000Z");
    expect(parseDateTime("2025-01-01T01:30:00+0130")?.toISOString()).toBe("2025-01-01T00:00:00.000Z");
    expect(parseDateTime("2025-01-01T00:00:00-05")?.toISOString()).toBe("2025-01-01T05:00:00.000Z");
    expect(parseDateTime("2025-01-01 00:00Z")?.toISOString()).toBe("2025-01-01T00:00:00.000Z");
    expect(parseDateTime(" 2025-01-01T00:00:00.1234567Z ")?.toISOString()).toBe("2025-01-01T00:00:00.123Z");
  });

  it("refuses impossible dates and times, and date-times without an offset", () => {
    for (const bad of [
      "2025-02-29T00:00:00Z",
      "1900-02-29T00:00:00Z",
      "2025-04-31T00:00:00Z",
      "2025-13-01T00:00:00Z",
      "2025-00-10T00:00:00Z",
      "2025-01-00T00:00:00Z",
      "2025-01-01T24:00:00Z",
      "2025-01-01T23:60:00Z",
      "2025-01-01T23:59:60Z",
      "2025-01-01T00:00:00+24:00",
      "2025-01-01T00:00:00",
      "2025-01-01",
    ])
      expect(parseDateTime(bad), bad).toBeNull();
  });
});
