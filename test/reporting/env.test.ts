import { describe, expect, it } from "vitest";
import { EnvError, readEnv } from "../../src/config/env.js";

describe("BI environment variables", () => {
  it("UPLIFT_PG_PORT fixes the embedded server's port; absent = a free one", () => {
    expect(readEnv({ UPLIFT_PG_PORT: "5433" }).pgPort).toBe(5433);
    expect(readEnv({}).pgPort).toBeNull();
    for (const bad of ["0", "65536", "abc", "54.3"])
      expect(() => readEnv({ UPLIFT_PG_PORT: bad }), bad).toThrow(EnvError);
    expect(() => readEnv({ UPLIFT_PG_PORT: "x" })).toThrow(/UPLIFT_PG_PORT/);
  });

  it("UPLIFT_READER_PASSWORD and UPLIFT_METRICS_PUBLIC", () => {
    expect(readEnv({ UPLIFT_READER_PASSWORD: "s3cret" }).readerPassword).toBe("s3cret");
    expect(readEnv({}).readerPassword).toBeNull();
    expect(readEnv({ UPLIFT_METRICS_PUBLIC: "on" }).metricsPublic).toBe(true);
    expect(readEnv({}).metricsPublic).toBe(false);
    expect(() => readEnv({ UPLIFT_METRICS_PUBLIC: "maybe" })).toThrow(/UPLIFT_METRICS_PUBLIC/);
  });
});
