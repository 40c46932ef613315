import {
  authOption,
  type CollectContext,
  compareCursors,
  createCursorHold,
  defineCollector,
  fieldEntries,
  fieldMapOption,
  httpUrl,
  linkNext,
  nextUrl,
  PageError,
  pages,
  type ReadRecord,
  type ReadStyle,
  readObservation,
  rejection,
  showValue,
  z,
} from "../../src/collect/sdk/index.js";
import { compileJsonPath, type JsonPath, JsonPathSyntaxError, queryAll, queryOne } from "./jsonpath.js";

// Any JSON API: one GET per page, a JSONPath to the list of items, JSONPaths from each item to the
// observation's fields, pagination by `Link: <…>; rel="next"` or by a JSONPath to the next page's URL
// (on the configured origin only), and an optional cursor field for incremental collection. See README.md.

/** Kept for callers of the old names. */
export { compareCursors, linkNext as nextFromLinkHeader };

const jsonPath = z.string().transform((s, ctx): JsonPath => {
  try {
    return compileJsonPath(s);
  } catch (e) {
    if (!(e instanceof JsonPathSyntaxError)) throw e;
    ctx.addIssue({ code: "custom", message: e.message });
    return z.NEVER;
  }
});

/** A path that selects at most one value (no wildcard): fields of an item. */
const fieldPath = jsonPath.refine((p) => p.definite, {
  message: "must select a single value (no [*] or .* wildcard)",
});

const pagination = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("link") }),
  z.strictObject({ type: z.literal("next"), next: fieldPath }),
]);

export const httpJsonOptions = z
  .strictObject({
    /** The first page. */
    url: httpUrl,
    headers: z.record(z.string(), z.string()).default({}),
    auth: authOption.optional(),
    /** JSONPath from a page to its list of items (`$` when the page is the list). */
    items: jsonPath,
    fields: fieldMapOption(fieldPath),
    /** Absent: one page only. */
    pagination: pagination.optional(),
    maxPages: z.int().min(1).default(10_000),
    /** JSONPath into each item whose value orders the items (ascending) and becomes the cursor. */
    cursorField: fieldPath.optional(),
    /** Query parameter that carries the committed cursor on the first request of a run. */
    cursorParam: z.string().min(1).optional(),
  })
  .superRefine((o, ctx) => {
    if ((o.cursorField === undefined) !== (o.cursorParam === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [o.cursorField === undefined ? "cursorField" : "cursorParam"],
        message: "cursorField and cursorParam go together: give both or neither",
      });
    }
  });

export type HttpJsonOptions = z.output<typeof httpJsonOptions>;

/**
 * Reads one item into an observation, or a rejection naming the field, the value and its path. Made once
 * per run: what does not depend on the item (the paths, the rejection style) is not rebuilt for each one.
 */
function itemReader(o: HttpJsonOptions): (item: unknown) => ReadRecord {
  const paths = new Map(fieldEntries(o.fields));
  const style: ReadStyle = {
    source: (field) => ` (${paths.get(field)!.source})`,
    absent: (v) => (v === undefined ? "is missing" : null),
  };
  const f = o.fields;
  const dims = Object.entries(f.dimensions ?? {});
  return (item) =>
    readObservation(
      {
        externalId: queryOne(f.externalId, item),
        value: queryOne(f.value, item),
        observedAt: queryOne(f.observedAt, item),
        weight: f.weight === undefined ? undefined : queryOne(f.weight, item),
        dimensions: dims.length
          ? Object.fromEntries(dims.map(([name, path]) => [name, queryOne(path, item)]))
          : undefined,
      },
      style,
    );
}

/** The items of one page; throws (naming the URL) when the page does not have the list where it should. */
function itemsOf(page: unknown, path: JsonPath, url: string): unknown[] {
  const found = queryAll(path, page);
  if (!path.definite) return found;
  const list = found[0];
  if (found.length === 0 || list === undefined) {
    throw new PageError(url, `the page has nothing at items path ${path.source}`);
  }
  if (!Array.isArray(list)) {
    throw new PageError(url, `items path ${path.source} is not an array (found ${showValue(list)})`);
  }
  return list;
}

function nextPage(o: HttpJsonOptions, body: unknown, headers: Headers, url: string): string | null {
  if (!o.pagination) return null;
  if (o.pagination.type === "link") return linkNext(headers.get("link"), url);
  return nextUrl(queryOne(o.pagination.next, body), url, `next page (${o.pagination.next.source})`);
}

async function* collect(ctx: CollectContext<HttpJsonOptions>): AsyncGenerator<ReadRecord> {
  const o = ctx.options;
  const first = new URL(o.url);
  if (o.cursorParam && ctx.cursor !== null) first.searchParams.set(o.cursorParam, ctx.cursor);
  const at = { url: o.url, item: 0 };
  const readItem = itemReader(o);
  const cursorIsObservedAt = o.cursorField?.source === o.fields.observedAt.source;
  const hold = createCursorHold((cursor, previous) => {
    throw new PageError(
      at.url,
      `items are not in ascending ${o.cursorField!.source} order (item ${at.item}: ${JSON.stringify(cursor)} after ${JSON.stringify(previous)}); the cursor would skip records`,
    );
  });
  const walk = pages<unknown>(ctx, {
    first: { url: first.toString(), headers: o.headers, auth: o.auth },
    // 204 No Content (some APIs' answer when nothing is new) is an empty last page.
    next: (p) => (p.status === 204 ? null : nextPage(o, p.body, p.headers, p.url)),
    maxPages: o.maxPages,
  });
  for await (const page of walk) {
    // Everything on the page is read before anything is yielded: a garbage page yields nothing.
    const items = page.status === 204 ? [] : itemsOf(page.body, o.items, page.url);
    const out: ReadRecord[] = [];
    at.url = page.url;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      at.item = i;
      const record = readItem(item);
      if (!o.cursorField) {
        out.push(record);
        continue;
      }
      const raw = queryOne(o.cursorField, item);
      const cursor =
        (typeof raw === "string" && raw !== "") || (typeof raw === "number" && Number.isFinite(raw))
          ? String(raw)
          : undefined;
      const r =
        cursor === undefined && record.kind !== "rejected"
          ? rejection(
              `cursorField ${o.cursorField.source} ${raw === undefined ? "is missing" : `${showValue(raw)} is not a string or number`}`,
              record.externalId,
            )
          : record;
      // A cursor read from the item's observedAt is the instant just parsed: not parsed again.
      const ready = hold.push(
        r,
        cursor,
        cursorIsObservedAt && r.kind !== "rejected" && typeof raw === "string"
          ? r.observedAt.getTime()
          : undefined,
      );
      if (ready) out.push(ready);
    }
    yield* out;
  }
  // The last item's cursor is safe only when every page was read (no later item can share its value).
  const last = hold.finish(!walk.exhausted());
  if (last) yield last;
}

export const httpJsonCollector = defineCollector({
  type: "http-json",
  description:
    "Reads observations from any JSON API: JSONPath mapping, Link or next-URL pagination, optional cursor.",
  options: httpJsonOptions,
  collect,
});
