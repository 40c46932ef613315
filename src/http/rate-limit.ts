import type { NextFunction, Request, Response } from "express";

/** Answer of one `take`: allowed, or refused with the whole seconds to wait (Retry-After). */
export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/** Keys remembered at most; idle ones (bucket full again) are dropped first. */
const MAX_KEYS = 100_000;

/**
 * A token bucket per key: `perSecond` requests a second on average, bursts of up to a second's worth
 * at once. `now` is injectable so that tests do not depend on the clock.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Burst size: a second's worth, and at least one request. */
  private readonly capacity: number;

  constructor(
    readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.capacity = Math.max(1, perSecond);
  }

  take(key: string): RateDecision {
    const t = this.now();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.capacity, b.tokens + ((t - b.at) / 1000) * this.perSecond);
      b.at = t;
      this.buckets.delete(key); // re-insert: the map stays in least-recently-used order
    } else {
      if (this.buckets.size >= MAX_KEYS) this.evict(t);
      b = { tokens: this.capacity, at: t };
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond)) };
  }

  get keys(): number {
    return this.buckets.size;
  }

  /** Drops buckets idle long enough to be full (forgetting them changes nothing), else the oldest. */
  private evict(t: number) {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.perSecond >= this.capacity) this.buckets.delete(key);
    }
    if (this.buckets.size >= MAX_KEYS) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

/**
 * Who a request counts against: the API key's name when access control identified one, else the client
 * address (auth off: everyone is `anonymous`, which must not make all clients share one bucket).
 */
export function rateKey(principal: { actor?: string } | undefined, address: string | undefined): string {
  return principal?.actor && principal.actor !== "anonymous"
    ? `key:${principal.actor}`
    : `addr:${address ?? "unknown"}`;
}

export function rateLimitMessage(perSecond: number): string {
  return `more than ${perSecond} requests per second (UPLIFT_RATE_LIMIT); retry later`;
}

/** HTTP 429 RATE_LIMITED with Retry-After. Must run after the middleware that sets res.locals.principal. */
export function rateLimit(limiter: RateLimiter) {
  return (req: Request, res: Response, next: NextFunction) => {
    const decision = limiter.take(rateKey(res.locals.principal, req.socket.remoteAddress));
    if (decision.ok) return next();
    res.setHeader("Retry-After", String(decision.retryAfterSeconds));
    res.status(429).json({
      errors: [{ message: rateLimitMessage(limiter.perSecond), extensions: { code: "RATE_LIMITED" } }],
    });
  };
}
