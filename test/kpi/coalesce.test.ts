import { describe, expect, it } from "vitest";
import { Coalescer } from "../../src/kpi/coalesce.js";

// The stamp reads' batching: callers share a read only if it starts after their call (freshness), and a
// batch that fails does not fail its other callers.

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("Coalescer", () => {
  it("sends a lone call at once, and calls made during a read in the next read (together)", async () => {
    const reads: { keys: string[]; done: ReturnType<typeof deferred<Map<string, number>>> }[] = [];
    const c = new Coalescer<string, number>((keys) => {
      const done = deferred<Map<string, number>>();
      reads.push({ keys, done });
      return done.promise;
    });
    const first = c.load(["a"]);
    expect(reads.map((r) => r.keys)).toEqual([["a"]]); // sent at once
    // Two calls while the first read is out: neither may be answered by it (it began before them).
    const second = c.load(["b"]);
    const third = c.load(["a", "c"]);
    expect(reads).toHaveLength(1);
    reads[0]!.done.resolve(new Map([["a", 1]]));
    expect((await first).get("a")).toBe(1);
    await Promise.resolve();
    await Promise.resolve();
    expect(reads.map((r) => r.keys)).toEqual([["a"], ["b", "a", "c"]]);
    reads[1]!.done.resolve(
      new Map([
        ["a", 2],
        ["b", 3],
        ["c", 4],
      ]),
    );
    expect((await second).get("b")).toBe(3);
    expect((await third).get("a")).toBe(2); // the value read after the call, not the earlier 1
  });

  it("retries each caller alone when a shared read fails, and fails a lone caller", async () => {
    const sent: string[][] = [];
    const gate = deferred<void>();
    const c = new Coalescer<string, string>(async (keys) => {
      sent.push(keys);
      if (sent.length === 1) await gate.promise; // hold the first read so the next two share one
      if (keys.includes("bad")) throw new Error("bad key");
      return new Map(keys.map((k) => [k, k.toUpperCase()]));
    });
    const lone = c.load(["x"]);
    const good = c.load(["y"]);
    const bad = c.load(["bad"]);
    gate.resolve();
    expect((await lone).get("x")).toBe("X");
    expect((await good).get("y")).toBe("Y");
    await expect(bad).rejects.toThrow("bad key");
    expect(sent).toEqual([["x"], ["y", "bad"], ["y"], ["bad"]]);
  });
});
