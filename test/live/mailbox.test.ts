import { describe, expect, it } from "vitest";
import { Mailbox } from "../../src/live/mailbox.js";

// The mailbox's push mode (src/api/subscription-fanout.ts consumes it): one event at a time, newest per key
// while the consumer is busy.

describe("Mailbox in push mode", () => {
  it("delivers at once while ready, keeps the newest per key while busy, hands them over on ready()", () => {
    const box = new Mailbox<string>(() => undefined);
    const got: string[] = [];
    box.push((v) => got.push(v));
    box.put("a", "a1");
    expect(got).toEqual(["a1"]); // delivered inside put; the consumer is now busy
    box.put("a", "a2");
    box.put("b", "b1");
    box.put("a", "a3"); // replaces a2 and goes to the back of the line
    expect(got).toEqual(["a1"]);
    expect(box.size).toBe(2);
    box.ready();
    expect(got).toEqual(["a1", "b1"]);
    box.ready();
    expect(got).toEqual(["a1", "b1", "a3"]);
    box.ready(); // nothing pending: idle, the next put is delivered at once
    box.put("c", "c1");
    expect(got).toEqual(["a1", "b1", "a3", "c1"]);
  });

  it("an event put before push() is delivered when push() starts", () => {
    const box = new Mailbox<number>(() => undefined);
    box.put("k", 1);
    box.put("k", 2);
    const got: number[] = [];
    box.push((v) => got.push(v));
    expect(got).toEqual([2]);
  });

  it("close() ends whenClosed(), drops what waits, delivers nothing more and calls onClose once", async () => {
    let closes = 0;
    const box = new Mailbox<number>(() => closes++);
    const got: number[] = [];
    box.push((v) => got.push(v));
    box.put("k", 1);
    box.put("k", 2);
    const ended = box.whenClosed();
    box.close();
    box.close();
    await ended;
    box.ready();
    box.put("k", 3);
    expect(got).toEqual([1]);
    expect(closes).toBe(1);
    expect(await box.next()).toEqual({ value: undefined, done: true });
  });
});
