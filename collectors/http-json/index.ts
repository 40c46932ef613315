import { z } from "zod";
import { type HttpResponse, SourceError } from "../../src/collect/http-client.js";
import {
  type CollectContext,
  defineCollector,
  type ObservationRecord,
  type RejectedRecord,
} from "../../src/collect/types.js";
import { showValue, toExternalId, toFiniteNumber, toInstant } from "../../src/collect/values.js";
import { compileJsonPath, type JsonPath, JsonPathSyntaxError, queryAll, queryOne } from "./jsonpath.js";

// Any JSON API: one GET per page, a JSONPath to the list of items, JSONPaths from each item to the
// observation's fields, pagination by `Link: <…>; rel="next"` or by a JSONPath to the next page's URL,
// and an optional cursor field for incremental collection. See README.md.

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

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an absolute http(s) URL" });

const auth = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("basic"), username: z.string(), password: z.string() }),
  z.strictObject({ type: z.literal("bearer"), token: z.string().min(1) }),
]);

const pagination = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("link") }),
  z.strictObject({ type: z.literal("next"), next: fieldPath }),
]);

export const httpJsonOptions = z
  .strictObject({
    /** The first page. */
    url: httpUrl,
    headers: z.record(z.string(), z.string()).default({}),
    auth: auth.optional(),
    /** JSONPath from a page to its list of items (`$` when the page is the list). */
    items: jsonPath,
    fields: z.strictObject({
      observedAt: fieldPath,
      value: fieldPath,
      externalId: fieldPath,
      weight: fieldPath.optional(),
      dimensions: z.record(z.string().min(1).max(64), fieldPath).optional(),
    }),
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

/** The `rel="next"` target of an RFC 8288 (RFC 5988) Link header, resolved against `base`; null if none. */
export function nextFromLinkHeader(header: string | null, base: string): string | null {
  if (!header) return null;
  // <uri-reference> *( ";" link-param ); link-values separated by commas (commas inside <> are part of the URI).
  const re = /<([^>]*)>((?:\s*;\s*[^;,=\s]+\s*(?:=\s*(?:"(?:[^"\\]|\\.)*"|[^;,\s]*))?)*)/g;
  for (const m of header.matchAll(re)) {
    const params = m[2] ?? "";
    for (const p of params.matchAll(/;\s*([^;,=\s]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*))?/g)) {
      if (p[1]!.toLowerCase() !== "rel") continue;
      const raw = p[2] ?? "";
      const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
      if (value.toLowerCase().split(/\s+/).includes("next")) return new URL(m[1]!, base).toString();
    }
  }
  return null;
}

/** Orders two cursor values: as instants when both are date-times, as numbers when both are numbers, else as text. */
export function compareCursors(a: string, b: string): number {
  const da = toInstant(a);
  const db = toInstant(b);
  if (da && db) return da.getTime() - db.getTime();
  const na = toFiniteNumber(a);
  const nb = toFiniteNumber(b);
  if (na !== null && nb !== null) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

type ItemRecord = ObservationRecord | RejectedRecord;

/** Reads one item into an observation, or a rejection naming the field and the value. */
function readItem(item: unknown, o: HttpJsonOptions): ItemRecord {
  const f = o.fields;
  const rawId = queryOne(f.externalId, item);
  const externalId = toExternalId(rawId);
  const reject = (reason: string): RejectedRecord => ({
    kind: "rejected",
    reason,
    ...(externalId !== null ? { externalId } : {}),
  });
  const bad = (field: string, path: JsonPath, raw: unknown, expected: string) =>
    reject(
      raw === undefined
        ? `${field} (${path.source}) is missing`
        : `${field} ${showValue(raw)} (${path.source}) is not ${expected}`,
    );

  if (externalId === null) return bad("externalId", f.externalId, rawId, "a non-empty string or a number");
  const rawValue = queryOne(f.value, item);
  const value = toFiniteNumber(rawValue);
  if (value === null) return bad("value", f.value, rawValue, "a number");
  const rawAt = queryOne(f.observedAt, item);
  const observedAt = toInstant(rawAt);
  if (observedAt === null) {
    return bad(
      "observedAt",
      f.observedAt,
      rawAt,
      "an ISO-8601 date-time with an offset or epoch milliseconds",
    );
  }
  const record: ObservationRecord = { externalId, observedAt, value };
  if (f.weight) {
    const rawWeight = queryOne(f.weight, item);
    if (rawWeight !== undefined && rawWeight !== null) {
      const weight = toFiniteNumber(rawWeight);
      if (weight === null) return bad("weight", f.weight, rawWeight, "a number");
      record.weight = weight;
    }
  }
  if (f.dimensions) {
    const dims: Record<string, string> = {};
    for (const [name, path] of Object.entries(f.dimensions)) {
      const raw = queryOne(path, item);
      if (raw === undefined || raw === null) continue;
      if (typeof raw === "string" || typeof raw === "number" || typeof raw === "boolean") {
        dims[name] = String(raw);
      } else {
        return bad(`dimension ${name}`, path, raw, "a string, number or boolean");
      }
    }
    if (Object.keys(dims).length > 0) record.dimensions = dims;
  }
  return record;
}

/** The items of one page; throws (naming the URL) when the page does not have the list where it should. */
function itemsOf(page: unknown, path: JsonPath, url: string): unknown[] {
  const found = queryAll(path, page);
  if (!path.definite) return found;
  const list = found[0];
  if (found.length === 0 || list === undefined) {
    throw new SourceError(`${url}: the page has nothing at items path ${path.source}`, null, url);
  }
  if (!Array.isArray(list)) {
    throw new SourceError(
      `${url}: items path ${path.source} is not an array (found ${showValue(list)})`,
      null,
      url,
    );
  }
  return list;
}

function nextPageUrl(o: HttpJsonOptions, page: unknown, headers: Headers, url: string): string | null {
  if (!o.pagination) return null;
  if (o.pagination.type === "link") return nextFromLinkHeader(headers.get("link"), url);
  const raw = queryOne(o.pagination.next, page);
  if (raw === undefined || raw === null || raw === "") return null;
  if (typeof raw !== "string") {
    throw new SourceError(
      `${url}: next page (${o.pagination.next.source}) is not a URL: ${showValue(raw)}`,
      null,
      url,
    );
  }
  try {
    return new URL(raw, url).toString();
  } catch {
    throw new SourceError(`${url}: next page (${o.pagination.next.source}) is not a URL: ${showValue(raw)}`);
  }
}

async function* collect(ctx: CollectContext<HttpJsonOptions>): AsyncGenerator<ItemRecord> {
  const o = ctx.options;
  const first = new URL(o.url);
  if (o.cursorParam && ctx.cursor !== null) first.searchParams.set(o.cursorParam, ctx.cursor);

  const fetched = new Set<string>();
  // One record is held back until the next item's cursor is known: a record carries its cursor only when
  // the next item's cursor is greater, so a committed cursor never splits items that share a cursor value
  // (safe with APIs that filter `> cursor` as well as `>= cursor`).
  let held: { record: ItemRecord; cursor: string | undefined } | null = null;
  let lastCursor: string | undefined;
  let url: string | null = first.toString();
  let pages = 0;
  let complete = true;

  while (url !== null) {
    if (pages >= o.maxPages) {
      ctx.log.warn("http-json: maxPages reached, stopping; the rest is left for a later run", {
        maxPages: o.maxPages,
        next: url,
      });
      complete = false;
      break;
    }
    ctx.signal.throwIfAborted();
    fetched.add(url);
    const res: HttpResponse<unknown> = await ctx.http.json<unknown>({
      url,
      headers: o.headers,
      auth: o.auth,
    });
    pages++;
    const pageUrl: string = res.url || url;
    fetched.add(pageUrl);
    // Everything on the page is read before anything is yielded: a garbage page yields nothing.
    // 204 No Content (some APIs' answer when nothing is new) is an empty last page.
    const empty: boolean = res.status === 204;
    const items = empty ? [] : itemsOf(res.body, o.items, pageUrl);
    const records: { record: ItemRecord; cursor: string | undefined }[] = [];
    for (const [i, item] of items.entries()) {
      let record = readItem(item, o);
      let cursor: string | undefined;
      if (o.cursorField) {
        const raw = queryOne(o.cursorField, item);
        if (typeof raw === "string" && raw !== "") cursor = raw;
        else if (typeof raw === "number" && Number.isFinite(raw)) cursor = String(raw);
        else if (record.kind !== "rejected") {
          record = {
            kind: "rejected",
            reason: `cursorField ${o.cursorField.source} ${raw === undefined ? "is missing" : `${showValue(raw)} is not a string or number`}`,
            externalId: record.externalId,
          };
        }
        if (cursor !== undefined) {
          if (lastCursor !== undefined && compareCursors(cursor, lastCursor) < 0) {
            throw new SourceError(
              `${pageUrl}: items are not in ascending ${o.cursorField.source} order (item ${i}: ${JSON.stringify(cursor)} after ${JSON.stringify(lastCursor)}); the cursor would skip records`,
              null,
              pageUrl,
            );
          }
          lastCursor = cursor;
        }
      }
      records.push({ record, cursor });
    }
    const next: string | null = empty ? null : nextPageUrl(o, res.body, res.headers, pageUrl);
    for (const r of records) {
      if (!o.cursorField) {
        yield r.record;
        continue;
      }
      if (held) {
        if (
          held.cursor !== undefined &&
          r.cursor !== undefined &&
          compareCursors(held.cursor, r.cursor) < 0
        ) {
          held.record.cursor = held.cursor;
        }
        yield held.record;
      }
      held = r;
    }
    if (next !== null && fetched.has(next)) {
      throw new SourceError(`${pageUrl}: pagination loops: the next page ${next} was already fetched`);
    }
    url = next;
  }
  if (held) {
    // The last item's cursor is safe only when every page was read (no later item can share its value).
    if (complete && lastCursor !== undefined) held.record.cursor = lastCursor;
    yield held.record;
  }
}

export const httpJsonCollector = defineCollector({
  type: "http-json",
  description:
    "Reads observations from any JSON API: JSONPath mapping, Link or next-URL pagination, optional cursor.",
  options: httpJsonOptions,
  collect,
});
