import pg from "pg";
import type { Logger } from "../log.js";

export interface ListenerEvents {
  notification(channel: string, payload: string): void;
  /** Called after a reconnection: notifications may have been missed while the connection was down. */
  reconnected(): void;
}

/**
 * One dedicated connection that LISTENs on Uplift's channels and reconnects by itself (with backoff)
 * when the database restarts or the connection drops.
 */
export class PgListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;
  private everConnected = false;

  constructor(
    private readonly url: string,
    private readonly channels: string[],
    private readonly on: ListenerEvents,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(attempt = 0): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.url,
      application_name: "uplift-listener",
      keepAlive: true,
    });
    client.on("notification", (n) => this.on.notification(n.channel, n.payload ?? ""));
    const lost = (why: string) => {
      if (this.client !== client || this.stopped) return;
      this.client = null;
      client.removeAllListeners("notification");
      client.end().catch(() => undefined);
      this.log.warn("change listener lost its database connection; reconnecting", { reason: why });
      this.schedule(0);
    };
    client.on("error", (e) => lost(e.message));
    client.on("end", () => lost("connection ended"));
    try {
      await client.connect();
      for (const ch of this.channels) await client.query(`LISTEN ${pg.escapeIdentifier(ch)}`);
    } catch (e) {
      client.removeAllListeners();
      client.on("error", () => undefined);
      await client.end().catch(() => undefined);
      if (!this.everConnected && attempt === 0) throw e;
      this.log.warn("change listener cannot reach the database yet", { error: e, attempt });
      this.schedule(attempt + 1);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (this.everConnected) {
      this.log.info("change listener reconnected");
      this.on.reconnected();
    }
    this.everConnected = true;
  }

  private schedule(attempt: number) {
    if (this.stopped || this.retry) return;
    const delay = Math.min(10_000, 250 * 2 ** attempt);
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect(attempt);
    }, delay);
    this.retry.unref();
  }

  get connected(): boolean {
    return this.client !== null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const c = this.client;
    this.client = null;
    if (c) {
      c.removeAllListeners("end");
      c.removeAllListeners("error");
      c.on("error", () => undefined);
      await c.end().catch(() => undefined);
    }
  }
}
