import { AuthenticationError, type HttpClient, type HttpRequest, SourceError } from "../../src/collect/http-client.js";

// A minimal HttpClient over global fetch for collector tests: no retries, no backoff, one attempt per
// request. It follows the interface's error rules (non-2xx and non-JSON bodies are SourceErrors naming the
// URL; 401/403 are AuthenticationErrors), so collectors behave as they will with the real client.

function buildUrl(req: HttpRequest): URL {
  const url = new URL(req.url);
  for (const [k, v] of Object.entries(req.query ?? {})) {
    if (v !== undefined) url.searchParams.set(k, String(v));
  }
  return url;
}

function buildHeaders(req: HttpRequest, accept: string): Record<string, string> {
  const headers: Record<string, string> = { accept, ...req.headers };
  if (req.auth?.type === "basic") {
    const token = Buffer.from(`${req.auth.username}:${req.auth.password}`).toString("base64");
    headers.authorization = `Basic ${token}`;
  } else if (req.auth?.type === "bearer") {
    headers.authorization = `Bearer ${req.auth.token}`;
  }
  if (req.body !== undefined) headers["content-type"] = "application/json";
  return headers;
}

export interface SimpleHttpClient extends HttpClient {
  /** Every URL requested, in order (query included). */
  readonly requests: string[];
}

export function createSimpleHttpClient(opts: { signal?: AbortSignal } = {}): SimpleHttpClient {
  const requests: string[] = [];
  async function send(req: HttpRequest, accept: string): Promise<{ res: Response; text: string; url: string }> {
    const url = buildUrl(req);
    const method = req.method ?? "GET";
    requests.push(url.toString());
    const signals = [opts.signal, AbortSignal.timeout(req.timeoutMs ?? 10_000)].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    const res = await fetch(url, {
      method,
      headers: buildHeaders(req, accept),
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: AbortSignal.any(signals),
    });
    const text = await res.text();
    if (res.status === 401 || res.status === 403) {
      throw new AuthenticationError(`${method} ${url}: HTTP ${res.status}`, res.status, url.toString());
    }
    if (!res.ok) throw new SourceError(`${method} ${url}: HTTP ${res.status}`, res.status, url.toString());
    return { res, text, url: res.url || url.toString() };
  }
  return {
    requests,
    async json<T>(req: HttpRequest) {
      const { res, text, url } = await send(req, "application/json");
      let body: T;
      try {
        body = JSON.parse(text) as T;
      } catch {
        const start = JSON.stringify(text.slice(0, 60));
        throw new SourceError(`${url}: the response is not JSON (it starts with ${start})`, res.status, url);
      }
      return { status: res.status, headers: res.headers, url, body };
    },
    async text(req: HttpRequest) {
      const { res, text, url } = await send(req, "*/*");
      return { status: res.status, headers: res.headers, url, body: text };
    },
  };
}
