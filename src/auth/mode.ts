import net from "node:net";
import { EnvError } from "../config/env.js";

// When credentials are required (README "Access control"): with UPLIFT_ADMIN_TOKEN, with any API key, or
// with UPLIFT_AUTH=on. Otherwise the API is open, which is allowed only on a loopback HOST: any other HOST
// refuses to start unless UPLIFT_AUTH=off says that something in front (a proxy) authenticates.

export interface AuthSettings {
  /** The bootstrap secret acting as admin; null when unset. */
  adminToken: string | null;
  /** UPLIFT_AUTH: "on", "off", or null (decided by the token and the keys). */
  forced: "on" | "off" | null;
  /** UPLIFT_ALLOWED_ORIGINS: origins (scheme://host[:port]) allowed to open WebSockets besides our own. */
  allowedOrigins: string[];
  /** HOST is a loopback address. */
  loopback: boolean;
}

export const MIN_ADMIN_TOKEN_LENGTH = 32;

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (h === "localhost") return true;
  if (net.isIPv4(h)) return h.startsWith("127.");
  if (net.isIPv6(h)) return h === "::1" || h === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(h);
  return false;
}

/** Normalises an origin as browsers send it: lower-case scheme and host, default ports dropped. */
export function normaliseOrigin(origin: string): string | null {
  try {
    const u = new URL(origin);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    return `${u.protocol}//${u.host}`;
  } catch {
    return null;
  }
}

/** Reads and checks the access-control variables; every problem is a start-up error. */
export function readAuthSettings(e: NodeJS.ProcessEnv, host: string): AuthSettings {
  const raw = e.UPLIFT_ADMIN_TOKEN;
  const adminToken = raw === undefined || raw === "" ? null : raw;
  if (adminToken !== null && adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new EnvError(
      `UPLIFT_ADMIN_TOKEN: must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (it has ${adminToken.length}); ` +
        "generate one with: openssl rand -base64 32",
    );
  }
  if (adminToken !== null && /\s/.test(adminToken)) {
    throw new EnvError("UPLIFT_ADMIN_TOKEN: must not contain spaces or line breaks");
  }
  const auth = e.UPLIFT_AUTH?.trim().toLowerCase() || "";
  let forced: AuthSettings["forced"] = null;
  if (["on", "true", "1", "yes"].includes(auth)) forced = "on";
  else if (["off", "false", "0", "no"].includes(auth)) forced = "off";
  else if (auth !== "") throw new EnvError(`UPLIFT_AUTH: expected on or off, got "${e.UPLIFT_AUTH}"`);
  if (forced === "off" && adminToken !== null) {
    throw new EnvError("UPLIFT_AUTH=off and UPLIFT_ADMIN_TOKEN contradict each other: unset one of them");
  }
  const allowedOrigins: string[] = [];
  for (const item of (e.UPLIFT_ALLOWED_ORIGINS ?? "").split(",").map((s) => s.trim())) {
    if (!item) continue;
    const o = normaliseOrigin(item);
    if (!o || new URL(item).pathname !== "/") {
      throw new EnvError(
        `UPLIFT_ALLOWED_ORIGINS: "${item}" is not an origin (expected scheme://host[:port], e.g. https://bi.example.com)`,
      );
    }
    allowedOrigins.push(o);
  }
  return { adminToken, forced, allowedOrigins, loopback: isLoopbackHost(host) };
}

/**
 * Whether credentials are required now. `keysExist` changes while the process runs (a key created with
 * `npm run keys` turns auth on). A non-loopback HOST never serves openly unless UPLIFT_AUTH=off: revoking
 * the last key of such a server leaves it closed rather than open to the network.
 */
export function authRequired(s: AuthSettings, keysExist: boolean): boolean {
  if (s.adminToken !== null || s.forced === "on" || keysExist) return true;
  if (s.forced === "off") return false;
  return !s.loopback;
}

/** The start-up rule: open mode on a non-loopback HOST is refused, naming what to set. */
export function checkStartup(s: AuthSettings, keysExist: boolean, host: string): void {
  if (s.loopback || s.forced !== null || s.adminToken !== null || keysExist) return;
  throw new EnvError(
    `HOST=${host} is not a loopback address and no credentials are configured: set UPLIFT_ADMIN_TOKEN ` +
      "(at least 32 characters) to require API keys, or UPLIFT_AUTH=off if an authenticating proxy " +
      "stands in front of Uplift",
  );
}
