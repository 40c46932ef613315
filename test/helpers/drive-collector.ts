import fs from "node:fs";
import { createHttpClient, type HttpClient } from "../../src/collect/http-client.js";
import type { CollectContext, Collector, SourceRecord } from "../../src/collect/types.js";
import { parseConfig } from "../../src/config/file.js";
import { createLogger } from "../../src/log.js";

// Runs a collector the way the runner will, without the runner: options parsed by the collector's own
// schema, a context, and every yielded record collected into an array.

export interface DriveOptions {
  cursor?: string | null;
  now?: Date;
  range?: CollectContext<unknown>["range"];
  signal?: AbortSignal;
  http?: HttpClient;
}

export function contextFor<O>(
  collector: Collector<O>,
  raw: unknown,
  opts: DriveOptions = {},
): CollectContext<O> {
  const log = createLogger({ test: true, collector: collector.type });
  return {
    options: collector.options.parse(raw),
    cursor: opts.cursor ?? null,
    range: opts.range ?? null,
    signal: opts.signal ?? new AbortController().signal,
    // The real client, with short retries so that a test of a failing source stays quick.
    http:
      opts.http ??
      createHttpClient({ signal: opts.signal, log, maxRetries: 1, baseDelayMs: 5, timeoutMs: 10_000 }),
    log,
    now: opts.now ?? new Date(),
    reportTotal() {},
    skip() {},
  };
}

export async function drive<O>(
  collector: Collector<O>,
  raw: unknown,
  opts: DriveOptions = {},
): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of collector.collect(contextFor(collector, raw, opts))) out.push(r);
  return out;
}

/** The cursor the runner would commit after these records: the last one given. */
export function lastCursor(records: readonly SourceRecord[]): string | null {
  for (let i = records.length - 1; i >= 0; i--) {
    const c = records[i]!.cursor;
    if (c !== undefined) return c;
  }
  return null;
}

/**
 * Checks a collector folder's example.yaml: a valid configuration file (as far as it goes without a
 * database) whose every entry is of this collector's type and has options its schema accepts.
 * Returns the parsed options of each entry.
 */
export function parseExample<O>(collector: Collector<O>, file: string, env: NodeJS.ProcessEnv = {}): O[] {
  const config = parseConfig(fs.readFileSync(file, "utf8"), file, env);
  if (config.collectors.length === 0) throw new Error(`${file} has no collectors entry`);
  return config.collectors.map((c, i) => {
    if (c.type !== collector.type) throw new Error(`${file}: collectors[${i}].type is "${c.type}"`);
    return collector.options.parse(c.options);
  });
}
