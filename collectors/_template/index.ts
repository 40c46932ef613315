// A copy-me skeleton for a new collector. To start one:
//
//   1. cp -r collectors/_template collectors/<your-type>   (the folder name is the type, e.g. acme-tickets)
//   2. rename `template.test.ts` to `<your-type>.test.ts`, the export to `<camelName>Collector`, and set
//      `type` below to the folder name;
//   3. import and add it to collectors/index.ts (one import, one entry): a test fails until you do;
//   4. rewrite README.md and example.yaml for your source (the registry test checks the example parses).
//
// This skeleton reads a fictional REST API, "Example Tickets": GET {baseUrl}/api/tickets?updated_since=
// &page=&per_page=, Bearer token, answering { total, tickets: [...], next_page } with tickets sorted by
// updated_at ascending. It measures minutes from created_at to resolved_at. Keep what fits your source.
//
// Rules of the SDK (src/collect/types.ts):
// - collect() only yields records; the runner validates them (finite value, weight range, observedAt not
//   more than 24 h ahead), stores them in batches and commits the cursor with the batch that holds them.
// - Options are validated once, at start-up, by the zod schema: no network calls there. Refuse unknown
//   options (z.strictObject) and give every option a default where one makes sense.
// - Use ctx.http (timeouts, retries with backoff, Retry-After, auth) for every request; never fetch().
// - A record that should give a figure and cannot be read: yield { kind: "rejected", reason } (the run goes
//   on). A record that gives no figure by definition (unresolved): skip it, but let the cursor pass it
//   with a checkpoint. Throw only when nothing can be trusted (a page that is not what the API documents).
// - Give a cursor only when every earlier record has been yielded before it.
import { z } from "zod";
import { SourceError } from "../../src/collect/http-client.js";
import { dateOrDateTime } from "../../src/collect/options.js";
import {
  type CollectContext,
  defineCollector,
  type ObservationRecord,
  type SourceRecord,
} from "../../src/collect/types.js";
import { toInstant } from "../../src/collect/values.js";

const DAY_MS = 86_400_000;

export const templateOptions = z.strictObject({
  /** https://tickets.example.com */
  baseUrl: z.url({ protocol: /^https?$/, error: "must be an absolute http(s) URL" }),
  /** Bearer token; put `${TICKETS_TOKEN}` in the file, never the token itself. */
  token: z.string().min(1),
  /** First run: collect tickets updated since then (default: 365 days before the run). */
  since: dateOrDateTime.optional(), // shared schemas: src/collect/options.ts (also timeZoneName)
  /** Tickets per page (the API allows 1 to 100). */
  pageSize: z.int().min(1).max(100).default(100),
});

export type TemplateOptions = z.output<typeof templateOptions>;

/** One ticket as the API documents it (everything optional: never trust a payload's shape). */
interface Ticket {
  id?: unknown;
  created_at?: unknown;
  resolved_at?: unknown;
  updated_at?: unknown;
  team?: unknown;
}

interface Page {
  total?: unknown;
  tickets?: unknown;
  next_page?: unknown;
}

async function* collect(ctx: CollectContext<TemplateOptions>): AsyncGenerator<SourceRecord> {
  const o = ctx.options;
  // Where to start: the committed cursor, else `since`, else a year back. Subtract the overlap your
  // vendor needs (clock skew, late updates); re-collected records are upserted in place.
  const start = ctx.cursor ?? (o.since ?? new Date(ctx.now.getTime() - 365 * DAY_MS)).toISOString();
  const url = new URL("/api/tickets", o.baseUrl).toString();

  for (let page = 1; ; page++) {
    ctx.signal.throwIfAborted();
    const res = await ctx.http.json<Page>({
      url,
      query: { updated_since: start, page, per_page: o.pageSize },
      auth: { type: "bearer", token: o.token },
    });
    const body = res.body;
    if (!body || !Array.isArray(body.tickets)) {
      throw new SourceError(`${res.url}: expected { tickets: [...] }, got something else`, null, res.url);
    }
    if (page === 1 && typeof body.total === "number") ctx.reportTotal(body.total);

    let lastUpdated: string | undefined;
    for (const t of body.tickets as Ticket[]) {
      if (typeof t.updated_at === "string") lastUpdated = t.updated_at;
      const externalId = typeof t.id === "string" || typeof t.id === "number" ? String(t.id) : undefined;
      if (t.resolved_at === null || t.resolved_at === undefined) continue; // no figure yet: skipped, not rejected
      const created = toInstant(t.created_at);
      const resolved = toInstant(t.resolved_at);
      if (!externalId || !created || !resolved) {
        yield {
          kind: "rejected",
          reason: `ticket ${externalId ?? "(no id)"}: unreadable id, created_at ${JSON.stringify(t.created_at)} or resolved_at ${JSON.stringify(t.resolved_at)}`,
          ...(externalId ? { externalId } : {}),
        };
        continue;
      }
      const record: ObservationRecord = {
        externalId,
        observedAt: resolved,
        value: (resolved.getTime() - created.getTime()) / 60_000, // exact minutes, no rounding
      };
      if (typeof t.team === "string") record.dimensions = { team: t.team };
      yield record;
    }
    // The page is done: the cursor may pass it (skipped tickets included). With an API that filters
    // `updated_since` inclusively, tickets sharing the last timestamp are read again next run: harmless.
    if (lastUpdated !== undefined) yield { kind: "checkpoint", cursor: lastUpdated };
    if (body.next_page === null || body.next_page === undefined || body.tickets.length === 0) return;
  }
}

export const templateCollector = defineCollector({
  type: "template",
  description:
    "A copy-me skeleton: minutes from created_at to resolved_at of tickets from a fictional REST API.",
  options: templateOptions,
  collect,
});
