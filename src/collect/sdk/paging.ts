import { type HttpRequest, type HttpResponse, SourceError, safeUrl } from "../http-client.js";
import type { CollectContext } from "../types.js";

// Paging helpers. None of them assumes a page size the vendor does not guarantee: a walk ends on an
// explicit end marker (no next link, `isLast`, no next token), on an empty page, or when a page makes
// no progress; a next page on another origin fails the run before any request, so credentials and
// configured headers only ever go to the origin they were configured for.

/** A page that is not what the API documents: fails the run, naming the URL (secrets masked). */
export class PageError extends SourceError {
  override name = "PageError";
  constructor(url: string, what: string, status: number | null = null) {
    const where = safeUrl(url);
    super(`${where}: ${what}`, status, where);
  }
}

/** The `rel="next"` target of an RFC 8288 Link header, resolved against `base`; null if none. */
export function linkNext(header: string | null, base: string): string | null {
  if (!header) return null;
  // <uri-reference> *( ";" link-param ); link-values separated by commas (commas inside <> belong to the URI).
  const re = /<([^>]*)>((?:\s*;\s*[^;,=\s]+\s*(?:=\s*(?:"(?:[^"\\]|\\.)*"|[^;,\s]*))?)*)/g;
  for (const m of header.matchAll(re)) {
    for (const p of (m[2] ?? "").matchAll(/;\s*([^;,=\s]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*))?/g)) {
      if (p[1]!.toLowerCase() !== "rel") continue;
      const raw = p[2] ?? "";
      const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
      if (value.toLowerCase().split(/\s+/).includes("next")) return new URL(m[1]!, base).toString();
    }
  }
  return null;
}

/** A next-page URL found in a page (a field, a header), resolved against the page; PageError if not a URL. */
export function nextUrl(raw: unknown, pageUrl: string, what = "the next page"): string | null {
  if (raw === undefined || raw === null || raw === "") return null;
  try {
    if (typeof raw === "string") return new URL(raw, pageUrl).toString();
  } catch {}
  throw new PageError(pageUrl, `${what} is not a URL: ${JSON.stringify(raw)?.slice(0, 80)}`);
}

/** Refuses a next page on another origin than the configured one: the credentials are not sent there. */
export function sameOrigin(next: string, origin: string, pageUrl: string): string {
  const o = new URL(next).origin;
  if (o !== origin) {
    throw new PageError(
      pageUrl,
      `the next page is on another origin (${o}, configured ${origin}); the credentials and configured headers are not sent there`,
    );
  }
  return next;
}

export interface Page<T> extends HttpResponse<T> {
  /** 1-based. */
  number: number;
}

export interface PagesOptions<T> {
  /** The first request; later requests keep its auth and headers (same origin only). */
  first: HttpRequest;
  /**
   * Where the next page is: a URL (Link header, next-URL field), a request (offset, token), or null at
   * the API's explicit end. Called after the page's items were taken by the caller.
   */
  next(page: Page<T>): string | Partial<HttpRequest> | null;
  /** The page's items, to stop on an empty page; leave out for APIs that may send empty pages mid-walk. */
  items?(page: Page<T>): readonly unknown[];
  /** Stop (warning) after this many pages; `exhausted()` then says so. */
  maxPages?: number;
  /** Spaces the requests (a vendor's rate limit), see createPacer. */
  pacer?: { wait(): Promise<void>; done(): void };
}

/**
 * Walks pages: GET, hand the page to the caller, ask `next`. Refuses another origin, and a next page
 * already fetched (a loop); stops on an empty page or the API's end marker.
 */
export function pages<T>(ctx: CollectContext<unknown>, opts: PagesOptions<T>) {
  const origin = new URL(opts.first.url).origin;
  let complete = true;
  async function* walk(): AsyncGenerator<Page<T>> {
    const seen = new Set<string>();
    let req: HttpRequest | null = opts.first;
    for (let number = 1; req !== null; number++) {
      if (opts.maxPages !== undefined && number > opts.maxPages) {
        ctx.log.warn("maxPages reached, stopping; the rest is left for a later run", {
          maxPages: opts.maxPages,
        });
        complete = false;
        return;
      }
      ctx.signal.throwIfAborted();
      const key = `${new URL(req.url)}?${JSON.stringify(req.query ?? {})}`;
      seen.add(key);
      await opts.pacer?.wait();
      const res = await ctx.http.json<T>(req);
      opts.pacer?.done();
      const page: Page<T> = { ...res, url: res.url || String(req.url), number };
      yield page;
      if (opts.items && opts.items(page).length === 0) return;
      const next = opts.next(page);
      if (next === null) return;
      const nextReq: HttpRequest =
        typeof next === "string"
          ? { ...opts.first, url: next, query: undefined }
          : { ...opts.first, ...next };
      sameOrigin(new URL(nextReq.url).toString(), origin, page.url);
      if (seen.has(`${new URL(nextReq.url)}?${JSON.stringify(nextReq.query ?? {})}`)) {
        throw new PageError(page.url, "pagination loops: the next page was already fetched");
      }
      req = nextReq;
    }
  }
  return Object.assign(walk(), { exhausted: () => !complete });
}

/**
 * The pages of `walk`, where an HTTP error `status` of `url` (or a URL below it) is rethrown with `message`:
 * what that status means for this API and what to fix (e.g. a 404 that stands for "no access").
 */
export async function* explainStatus<T>(
  walk: AsyncIterable<T>,
  status: number,
  url: string,
  message: string,
): AsyncGenerator<T> {
  try {
    yield* walk;
  } catch (e) {
    if (e instanceof SourceError && e.status === status && e.url?.startsWith(url))
      throw new SourceError(message, status, e.url);
    throw e;
  }
}
