import { describe, expect, it } from "vitest";
import { numberText, observationCopyFields } from "../../src/store/copy-text.js";

// numberText replaces String(x) in COPY text (to keep V8's number-string cache out of the old
// generation): it must write the same digits for every number.

describe("numberText", () => {
  it("writes what String() writes", () => {
    const values = [0, -0, 1, -1, 0.1, 1 / 3, -2 / 7, 1e21, 1e-7, 123456789.125, 5e-324, Number.MAX_VALUE];
    for (let i = 0; i < 2000; i++) values.push((i * 7919.37) / 13, -i * 1e-9, 2 ** (i % 60) + 0.5);
    for (const x of [...values, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
      expect(numberText(x), String(x)).toBe(String(x));
  });

  it("writes value and weight into COPY text", () => {
    const line = observationCopyFields({
      projectId: "1",
      metricId: "2",
      observedAt: new Date("2025-03-01T00:00:00Z"),
      value: 142.857142857,
      weight: 0.25,
      externalId: "a\tb",
      dimensions: null,
    });
    expect(line).toBe("1\t2\t2025-03-01T00:00:00.000Z\t142.857142857\t0.25\ta\\tb\t\\N");
  });
});
