// Child process of the `collector` benchmark: Uplift (`startApp`, scheduler off) with the built-in collectors
// plus the bench-only `bench-generated`, running one collector instance through `startManual` while
// sampling this process's memory every 100 ms. One process per measured run, so that every run starts
// from the same fresh process (the way a collector runs inside a freshly started server) and nothing of
// the benchmark itself (COPY text, data sets) is counted.
//
// env: DATABASE_URL, UPLIFT_CONFIG (file), WARMUP (instance run first, unmeasured), RUN (measured instance).
// IPC: { kind: "started" } right before startManual, then { kind: "done", run, seconds, cpuMs, baseline,
// memory }; the parent answers nothing, and the process exits after stopping the app.
import "reflect-metadata";
import { z } from "zod";
import { registry as builtIns } from "../collectors/index.js";
import { startApp } from "../src/app.js";
import { createRegistry, defineCollector, type ObservationRecord } from "../src/collect/types.js";
import { readEnv } from "../src/config/env.js";
import { createLogger } from "../src/log.js";
import { collectGarbage, MemorySampler } from "./common.js";
import { generateDataset } from "./data.js";

/** Bench-only: the benchmark's rows generated in this process, given as the http-json collector gives them. */
export const benchGenerated = defineCollector({
  type: "bench-generated",
  description: "Benchmark only: N generated observations (bench/data.ts), no I/O.",
  options: z.strictObject({ rows: z.int().min(1) }),
  async *collect(ctx) {
    const d = generateDataset(ctx.options.rows);
    for (let i = 0; i < d.n; i++) {
      const observedAt = new Date(d.observedAt[i]!);
      const rec: ObservationRecord = {
        externalId: d.externalId(i),
        observedAt,
        value: d.value[i]!,
        cursor: observedAt.toISOString(),
      };
      yield rec;
    }
  },
});

const app = await startApp(readEnv(), createLogger({ bench: "collector" }), {
  registry: createRegistry([...builtIns.values(), benchGenerated]),
});
const reset = async () => {
  await app.db.ds.query("TRUNCATE observation, observation_activity");
  await app.db.ds.query("CHECKPOINT");
};
try {
  if (process.env.WARMUP) {
    const warm = await (await app.collectors.startManual(process.env.WARMUP)).done;
    if (warm.status !== "SUCCEEDED") throw new Error(`warm-up run ${warm.status}: ${warm.error}`);
  }
  await reset();
  collectGarbage();
  const baseline = process.memoryUsage();
  const sampler = new MemorySampler(100).start();
  process.send!({ kind: "started" });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const run = await (await app.collectors.startManual(process.env.RUN!)).done;
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const memory = sampler.stop();
  const done = { kind: "done", run, seconds, cpuMs: (c.user + c.system) / 1000, baseline, memory };
  await new Promise<void>((resolve, reject) =>
    process.send!(done, (e: Error | null) => (e ? reject(e) : resolve())),
  );
} finally {
  await app.stop();
}
// Exit now: the IPC channel (and tsx's compiler service) would keep the process alive.
process.exit(0);
