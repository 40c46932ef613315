import { createHmac } from "node:crypto";
import type { DataSource } from "typeorm";
import { returnedRows } from "../../db/returning.js";
import type { Logger } from "../../log.js";
import { type AlertEvent, EVENT_COLUMNS } from "./events.js";

// The outbox worker: delivers alert events to their rule's webhook, at least once. Any replica may
// claim a due event (FOR UPDATE SKIP LOCKED, then a lease in next_attempt_at so a replica that dies
// mid-request only delays it); failures retry with exponential backoff for up to 24 hours.

export const SIGNATURE_HEADER = "X-Uplift-Signature";

/** `sha256=<hex HMAC-SHA256 of the body with the secret>`. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface DeliveryOptions {
  /** Per request (default 10 s). */
  timeoutMs?: number;
  /** Delay after the first failure; doubles after each (default 1 s, capped at 1 h). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Give up (FAILED) once the next attempt would be later than this after firing (default 24 h). */
  giveUpAfterMs?: number;
  /** Events claimed per round (default 20). */
  batch?: number;
}

interface Claimed extends AlertEvent {
  fired: Date;
  url: string | null;
  secret: string | null;
}

export class WebhookDelivery {
  private readonly o: Required<DeliveryOptions>;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /** Counters for tests and benchmarks. */
  readonly stats = { attempts: 0, delivered: 0 };

  constructor(
    private readonly ds: DataSource,
    private readonly log: Logger,
    opts: DeliveryOptions = {},
  ) {
    this.o = {
      timeoutMs: opts.timeoutMs ?? 10_000,
      backoffMs: opts.backoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 3_600_000,
      giveUpAfterMs: opts.giveUpAfterMs ?? 24 * 3_600_000,
      batch: opts.batch ?? 20,
    };
  }

  /** Runs a delivery round now (or right after the one in progress); resolves when it is done. */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped && (await this.round()) > 0);
        } while (this.again && !this.stopped);
      } catch (e) {
        this.log.warn("delivering alert events failed", { error: e });
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** No new rounds; resolves when the one in progress is done (its claims are recorded, not dropped). */
  stop(): Promise<void> {
    this.stopped = true;
    return this.running ?? Promise.resolve();
  }

  /** Claims due events and delivers them; returns how many were attempted. */
  private async round(): Promise<number> {
    const leaseMs = this.o.timeoutMs + 30_000;
    const claimed = returnedRows<Claimed>(
      await this.ds.query(
        `WITH due AS (
         SELECT id FROM alert_event WHERE delivery = 'PENDING' AND next_attempt_at <= clock_timestamp()
         ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE alert_event e SET next_attempt_at = clock_timestamp() + make_interval(secs => $2::float8 / 1000)
       FROM due WHERE e.id = due.id
       RETURNING ${EVENT_COLUMNS.replace("id::text", "e.id::text")},
         e.fired_at AS fired,
         (SELECT webhook_url FROM alert_rule r WHERE r.id = e.rule_id) AS url,
         (SELECT webhook_secret FROM alert_rule r WHERE r.id = e.rule_id) AS secret`,
        [this.o.batch, leaseMs],
      ),
    );
    await Promise.all(claimed.map((e) => this.attempt(e)));
    return claimed.length;
  }

  private async attempt(e: Claimed): Promise<void> {
    const attempt = e.attempts + 1;
    const { fired: _f, url, secret, ...event } = e;
    const body = JSON.stringify({ ...event, delivery: "PENDING", attempts: attempt });
    const started = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    if (!url || !secret) error = "the rule has no webhook any more";
    else {
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "Uplift-Webhook/1",
            [SIGNATURE_HEADER]: signBody(body, secret),
            "X-Uplift-Event-Id": e.id,
            "X-Uplift-Attempt": String(attempt),
          },
          body,
          redirect: "manual",
          signal: AbortSignal.timeout(this.o.timeoutMs),
        });
        status = res.status;
        await res.body?.cancel().catch(() => undefined);
        if (status < 200 || status > 299) error = `HTTP ${status}`;
      } catch (x) {
        const err = x as Error & { cause?: { code?: string } };
        error =
          err.name === "TimeoutError"
            ? `no answer within ${this.o.timeoutMs} ms`
            : (err.cause?.code ?? err.message ?? "request failed");
      }
    }
    const ms = Math.round(performance.now() - started);
    this.stats.attempts++;
    const backoff = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** (attempt - 1));
    const ok = error === null;
    if (ok) this.stats.delivered++;
    await this.ds.transaction(async (m) => {
      await m.query(
        `INSERT INTO alert_delivery_attempt (event_id, attempt, status, error, duration_ms) VALUES ($1, $2, $3, $4, $5)`,
        [e.id, attempt, status, error, ms],
      );
      await m.query(
        `UPDATE alert_event SET attempts = $2,
           delivery = CASE WHEN $3 THEN 'DELIVERED'
                           WHEN $6 OR clock_timestamp() + make_interval(secs => $4::float8 / 1000) > fired_at + make_interval(secs => $5::float8 / 1000)
                           THEN 'FAILED' ELSE 'PENDING' END,
           delivered_at = CASE WHEN $3 THEN clock_timestamp() END,
           next_attempt_at = CASE WHEN $3 THEN NULL ELSE clock_timestamp() + make_interval(secs => $4::float8 / 1000) END
         WHERE id = $1`,
        [e.id, attempt, ok, backoff, this.o.giveUpAfterMs, !url || !secret],
      );
    });
    if (!ok) this.log.warn("alert webhook delivery failed; will retry", { event: e.id, attempt, error });
  }
}
