import type { IncomingMessage } from "node:http";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { DataSource } from "typeorm";
import type { Logger } from "../log.js";
import {
  type ApiKeyRecord,
  anyApiKeys,
  apiKeyChanges,
  findApiKeyBySecret,
  touchApiKey,
} from "../store/api-keys.js";
import { bearer, hashSecret, SECRET_PATTERN, sameSecret } from "./keys.js";
import { type AuthSettings, authRequired } from "./mode.js";
import { isLoopbackHostHeader, originRefusal } from "./origin.js";
import { OPEN_PRINCIPAL, type Principal } from "./principal.js";

/** Who the admin token acts as (also the audit log's actor). */
export const ADMIN_TOKEN_PRINCIPAL: Principal = Object.freeze({
  actor: "admin-token",
  role: "admin",
  projects: null,
});

export type Identity = { principal: Principal } | { refused: "missing" | "invalid"; message: string };

/** Routes that never need a credential: health probes, and the dashboard's static files (no data). */
export function isPublicPath(path: string): boolean {
  return path === "/healthz" || path === "/readyz" || path === "/dashboard" || path.startsWith("/dashboard/");
}

/**
 * Keys looked up in the database are kept this long, so that a busy client costs no query per request.
 * A key revoked in this process is dropped at once; one revoked elsewhere (the CLI, another replica)
 * stops working within this time. Also how often an open server checks whether a key now exists.
 */
export const KEY_CACHE_MS = 5_000;
const TOUCH_EVERY_MS = 60_000;
const MAX_CACHED_KEYS = 10_000;

const MISSING = "this server requires an API key: send Authorization: Bearer <secret>";
const INVALID = "the API key is not valid (unknown or revoked)";

function principalOf(k: ApiKeyRecord): Principal {
  return { actor: k.name, role: k.role, projects: k.projects.length ? k.projects : null };
}

function jsonError(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

/** Turns credentials into principals for HTTP and WebSocket, and applies the browser-safety checks. */
export class Access {
  private keysExist = false;
  private keysCheckedAt = 0;
  private keysCheck: Promise<void> | null = null;
  private readonly cache = new Map<string, { principal: Principal | null; id: string | null; at: number }>();
  private readonly touched = new Map<string, number>();
  /** Open WebSockets by key name: closed when that key is revoked in this process. */
  private readonly sockets = new Map<string, Set<() => void>>();
  private readonly onChange = () => {
    this.cache.clear();
    this.keysCheckedAt = 0;
  };
  private readonly onRevoke = (name: string) => {
    for (const close of this.sockets.get(name) ?? []) close();
  };

  constructor(
    private readonly ds: DataSource,
    readonly settings: AuthSettings,
    private readonly log: Logger,
  ) {
    apiKeyChanges.on("changed", this.onChange);
    apiKeyChanges.on("revoked", this.onRevoke);
  }

  /** Reads whether keys exist (the start-up rule needs it). */
  async start(): Promise<boolean> {
    this.keysExist = await anyApiKeys(this.ds);
    this.keysCheckedAt = Date.now();
    return this.keysExist;
  }

  close(): void {
    apiKeyChanges.off("changed", this.onChange);
    apiKeyChanges.off("revoked", this.onRevoke);
  }

  /** Calls `close` when the key `actor` is revoked here; returns the function that stops watching. */
  watchSocket(actor: string, close: () => void): () => void {
    let set = this.sockets.get(actor);
    if (!set) {
      set = new Set();
      this.sockets.set(actor, set);
    }
    set.add(close);
    return () => {
      set.delete(close);
      if (!set.size && this.sockets.get(actor) === set) this.sockets.delete(actor);
    };
  }

  /** Whether credentials are required now (a key created by the CLI turns auth on within KEY_CACHE_MS). */
  async required(): Promise<boolean> {
    if (authRequired(this.settings, false)) return true;
    if (Date.now() - this.keysCheckedAt >= KEY_CACHE_MS) {
      this.keysCheck ??= anyApiKeys(this.ds)
        .then((any) => {
          this.keysExist = any;
          this.keysCheckedAt = Date.now();
        })
        .finally(() => {
          this.keysCheck = null;
        });
      await this.keysCheck;
    }
    return authRequired(this.settings, this.keysExist);
  }

  /** The principal of a credential (null: none presented). With auth off everyone is OPEN_PRINCIPAL. */
  async identify(secret: string | null): Promise<Identity> {
    if (!(await this.required())) return { principal: OPEN_PRINCIPAL };
    if (secret === null) return { refused: "missing", message: MISSING };
    const token = this.settings.adminToken;
    if (token !== null && sameSecret(secret, token)) return { principal: ADMIN_TOKEN_PRINCIPAL };
    if (!SECRET_PATTERN.test(secret)) return { refused: "invalid", message: INVALID };
    const hash = hashSecret(secret);
    let hit = this.cache.get(hash);
    if (!hit || Date.now() - hit.at >= KEY_CACHE_MS) {
      const key = await findApiKeyBySecret(this.ds, secret);
      if (this.cache.size >= MAX_CACHED_KEYS) this.cache.clear();
      hit = { principal: key ? principalOf(key) : null, id: key?.id ?? null, at: Date.now() };
      this.cache.set(hash, hit);
    }
    if (!hit.principal || !hit.id) return { refused: "invalid", message: INVALID };
    this.touch(hit.id);
    return { principal: hit.principal };
  }

  private touch(id: string) {
    const now = Date.now();
    if (now - (this.touched.get(id) ?? 0) < TOUCH_EVERY_MS) return;
    this.touched.set(id, now);
    touchApiKey(this.ds, id).catch((e) =>
      this.log.warn("recording an API key's last use failed", { error: e }),
    );
  }

  /** The Host check of the open mode (DNS rebinding); not when UPLIFT_AUTH=off puts a proxy in front. */
  private async hostRefused(host: string | undefined): Promise<boolean> {
    if (this.settings.forced === "off" || isLoopbackHostHeader(host)) return false;
    return !(await this.required());
  }

  /**
   * Express middleware: sets `res.locals.principal`, or answers 401 / 403 itself. `alsoPublic` lists more
   * paths that need no credential (`/metrics` with UPLIFT_METRICS_PUBLIC=on); the Host check still applies.
   */
  http(alsoPublic: readonly string[] = []): RequestHandler {
    return async (req: Request, res: Response, next: NextFunction) => {
      try {
        if (req.path === "/healthz" || req.path === "/readyz") return next();
        if (await this.hostRefused(req.headers.host)) {
          return jsonError(
            res,
            403,
            "FORBIDDEN",
            "Host header is not a loopback name; an open (auth off) server answers only localhost, 127.0.0.1 and [::1]",
          );
        }
        if (isPublicPath(req.path) || alsoPublic.includes(req.path)) return next();
        const header = req.headers.authorization;
        const secret = header === undefined ? null : (bearer(header) ?? "");
        const id = await this.identify(secret);
        if ("refused" in id) {
          res.set("WWW-Authenticate", 'Bearer realm="uplift"');
          return jsonError(res, 401, "UNAUTHENTICATED", id.message);
        }
        res.locals.principal = id.principal;
        next();
      } catch (e) {
        next(e);
      }
    };
  }

  /** Why a WebSocket upgrade is refused (HTTP 403), or null. */
  async upgradeRefusal(req: IncomingMessage): Promise<string | null> {
    const origin = originRefusal(req, this.settings.allowedOrigins);
    if (origin) return origin;
    if (await this.hostRefused(req.headers.host)) {
      return "Host header is not a loopback name; an open (auth off) server answers only localhost, 127.0.0.1 and [::1]";
    }
    return null;
  }

  /** A WebSocket's principal: the connection_init payload's `authorization`, else the upgrade's header. */
  async identifySocket(params: Record<string, unknown> | undefined, req: IncomingMessage): Promise<Identity> {
    const fromInit = params?.authorization ?? params?.Authorization;
    const header = fromInit ?? req.headers.authorization;
    const secret = header === undefined ? null : (bearer(header) ?? "");
    return this.identify(secret);
  }
}
