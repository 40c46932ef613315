import type { IncomingMessage } from "node:http";
import { isLoopbackHost, normaliseOrigin } from "./mode.js";

// Browser safety. A web page can open a WebSocket to any address (no CORS preflight), so an upgrade that
// carries a foreign Origin is refused whatever the auth mode. With auth off, a page on a name that
// resolves to 127.0.0.1 (DNS rebinding) would be same-origin with itself; the Host check refuses it.

/** The host part of a Host header (`[::1]:4000` → `::1`, `LocalHost:80` → `localhost`). */
export function hostName(hostHeader: string | undefined): string | null {
  if (!hostHeader) return null;
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(hostHeader.trim());
  return m ? m[1].toLowerCase() : null;
}

/** A loopback name (`localhost`, `127.0.0.1`, `[::1]`, with or without the port). */
export function isLoopbackHostHeader(hostHeader: string | undefined): boolean {
  const h = hostName(hostHeader);
  return h !== null && isLoopbackHost(h);
}

/**
 * Null when the upgrade may proceed: no Origin (not a browser), our own origin (same host and port as
 * the Host header), or one of UPLIFT_ALLOWED_ORIGINS. Otherwise why it is refused.
 */
export function originRefusal(req: IncomingMessage, allowed: readonly string[]): string | null {
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  const o = normaliseOrigin(origin);
  if (o !== null) {
    if (allowed.includes(o)) return null;
    const host = req.headers.host?.toLowerCase();
    const own = new URL(o);
    // Our own origin: the page was served by this server under the same name and port.
    if (host && (own.host === host || `${own.hostname}:${own.protocol === "https:" ? 443 : 80}` === host)) {
      return null;
    }
  }
  return `WebSocket from origin ${JSON.stringify(origin)} refused: not this server's origin and not in UPLIFT_ALLOWED_ORIGINS`;
}
