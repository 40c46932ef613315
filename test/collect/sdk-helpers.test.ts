import { describe, expect, it } from "vitest";
import {
  apiUrl,
  basicOrBearerOptions,
  countHeader,
  explainStatus,
  fieldEntries,
  isObject,
  isoDateTime,
  rawFieldsOf,
  SourceError,
  vendorDateTime,
  z,
} from "../../src/collect/sdk/index.js";

// The SDK's small helpers that the collectors share (the collectors' own tests cover them in use).

describe("collector SDK helpers", () => {
  it("isObject: JSON objects only", () => {
    expect([{}, { a: 1 }].map(isObject)).toEqual([true, true]);
    expect([null, [], "x", 1, undefined].map(isObject)).toEqual([false, false, false, false, false]);
  });

  it("vendorDateTime: only the vendor's format, rewritten to ISO-8601", () => {
    const sn = vendorDateTime(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/, (v) => `${v.replace(" ", "T")}Z`);
    expect(sn("2025-03-01 10:00:00")?.toISOString()).toBe("2025-03-01T10:00:00.000Z");
    expect([sn("2025-03-01T10:00:00Z"), sn(""), sn(1_700_000_000_000), sn(null)]).toEqual([
      null,
      null,
      null,
      null,
    ]);
  });

  it("countHeader and apiUrl", () => {
    expect(countHeader(new Headers({ "X-Total-Count": " 120 " }), "x-total-count")).toBe(120);
    expect(countHeader(new Headers({ "X-Total-Count": "12.5" }), "x-total-count")).toBeNull();
    expect(countHeader(new Headers(), "x-total-count")).toBeNull();
    expect(apiUrl("https://h.example/ex/jira/abc/?x=1#f", "/rest/api/3/search/jql")).toBe(
      "https://h.example/ex/jira/abc/rest/api/3/search/jql",
    );
  });

  it("fieldEntries and rawFieldsOf walk a field mapping alike", () => {
    const f = { observedAt: "at", value: "v", externalId: "id", dimensions: { team: "t" } };
    expect(fieldEntries(f)).toEqual([
      ["observedAt", "at"],
      ["value", "v"],
      ["externalId", "id"],
      ["dimensions.team", "t"],
    ]);
    const row: Record<string, unknown> = { at: "2025-01-01T00:00:00Z", v: 3, id: "a", t: "x" };
    expect(rawFieldsOf(f, (col) => row[col])).toEqual({
      externalId: "a",
      value: 3,
      observedAt: "2025-01-01T00:00:00Z",
      weight: undefined,
      dimensions: { team: "x" },
    });
  });

  it("isoDateTime and basicOrBearerOptions as option schemas", () => {
    expect(isoDateTime.safeParse("2025-01-01").success).toBe(false);
    expect(isoDateTime.parse("2025-01-01T00:00:00Z").toISOString()).toBe("2025-01-01T00:00:00.000Z");
    const o = z.strictObject(basicOrBearerOptions({ user: "email", secret: "apiToken", token: "token" }));
    expect(o.parse({ email: "a@b.c", apiToken: "t" })).toEqual({ email: "a@b.c", apiToken: "t" });
    expect(o.safeParse({ token: "" }).success).toBe(false);
  });

  it("explainStatus rethrows only the named status of the named URL", async () => {
    async function* failing(status: number, url: string) {
      yield 1;
      throw new SourceError("HTTP error", status, url);
    }
    const drain = async (it: AsyncIterable<number>) => {
      for await (const _ of it);
    };
    const base = "https://api.example/repos/o/r/pulls";
    await expect(
      drain(explainStatus(failing(404, `${base}?page=2`), 404, base, "no access")),
    ).rejects.toThrow("no access");
    await expect(drain(explainStatus(failing(500, base), 404, base, "no access"))).rejects.toThrow(
      "HTTP error",
    );
    await expect(
      drain(explainStatus(failing(404, "https://other.example/"), 404, base, "no access")),
    ).rejects.toThrow("HTTP error");
  });
});
