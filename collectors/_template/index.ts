// A copy-me skeleton for a new collector, walked through in docs/collectors.md: minutes from created_at
// to resolved_at of the tickets of a fictional API (GET /api/tickets?updated_since=&page=&per_page=).
import * as sdk from "../../src/collect/sdk/index.js";

export const templateOptions = sdk.z.strictObject({
  baseUrl: sdk.z.url({ protocol: /^https?$/, error: "must be an absolute http(s) URL" }),
  token: sdk.z.string().min(1),
  since: sdk.dateOrDateTime.optional(), // first run: tickets updated since (default a year back)
  pageSize: sdk.z.int().min(1).max(100).default(100),
});
type Options = sdk.z.output<typeof templateOptions>;
type Page = { total?: unknown; tickets?: unknown; next_page?: unknown } | null;

async function* collect(ctx: sdk.CollectContext<Options>): AsyncGenerator<sdk.SourceRecord> {
  const o = ctx.options;
  const { from } = sdk.startBound(ctx); // a backfill's from, else the cursor, else since
  const first = { page: 1, per_page: o.pageSize, updated_since: from?.toISOString() };
  const walk = sdk.pages<Page>(ctx, {
    first: { url: new URL("/api/tickets", o.baseUrl).href, query: first, auth: sdk.bearerAuth(o.token) },
    items: (p) => (Array.isArray(p.body?.tickets) ? p.body.tickets : []), // an empty page ends the walk
    next: (p) =>
      typeof p.body?.next_page === "number" ? { query: { ...first, page: p.body.next_page } } : null,
  });
  for await (const page of walk) {
    const tickets = page.body?.tickets;
    if (!Array.isArray(tickets)) throw new sdk.PageError(page.url, "expected { tickets: [...] }");
    if (page.number === 1 && typeof page.body?.total === "number") ctx.reportTotal(page.body.total);
    let last: string | undefined;
    for (const t of tickets) {
      if (typeof t?.updated_at === "string") last = t.updated_at;
      // No figure yet, by definition: counted as skipped, not rejected.
      if (t?.resolved_at === null || t?.resolved_at === undefined) ctx.skip();
      else yield* read(t, ctx.range);
    }
    if (last !== undefined) yield { kind: "checkpoint", cursor: last }; // the page is done
  }
}

function* read(t: Record<string, unknown>, range: sdk.CollectContext<Options>["range"]) {
  const id = sdk.toExternalId(t.id);
  const [created, resolved] = [sdk.toInstant(t.created_at), sdk.toInstant(t.resolved_at)];
  if (!id || !created || !resolved) {
    yield sdk.rejection(`ticket ${id ?? "(no id)"}: unreadable id, created_at or resolved_at`, id);
  } else if (sdk.inRange(range, resolved)) {
    const value = (resolved.getTime() - created.getTime()) / 60_000; // exact minutes
    yield {
      externalId: id,
      observedAt: resolved,
      value,
      ...(t.team ? { dimensions: { team: `${t.team}` } } : {}),
    };
  }
}

export const templateCollector = sdk.defineCollector({
  type: "template",
  description: "A copy-me skeleton: minutes from created_at to resolved_at of tickets from a fictional API.",
  options: templateOptions,
  collect,
});
