import pg from "pg";
import type { DataSource } from "typeorm";

export interface Readiness {
  ready: boolean;
  reason?: string;
}

/**
 * /readyz's own database connection, outside the request pool: a pool busy with slow queries must not
 * make a healthy replica look unready (and be taken out of the load balancer). One connection, opened
 * on first use and again after any failure; concurrent probes share one check.
 */
export class ReadinessProbe {
  private client: pg.Client | null = null;
  private inflight: Promise<Readiness> | null = null;

  constructor(
    private readonly url: string,
    /** Names of the migrations this build knows (TypeORM's `migrations` table). */
    private readonly migrations: string[],
    private readonly timeoutMs = 2000,
  ) {}

  /** A probe on the DataSource's database, expecting the DataSource's migrations. */
  static of(ds: DataSource): ReadinessProbe {
    const url = (ds.options as { url?: string }).url;
    if (!url) throw new Error("readiness probe: the DataSource has no url");
    return new ReadinessProbe(
      url,
      ds.migrations.map((m) => m.name ?? m.constructor.name),
    );
  }

  check(): Promise<Readiness> {
    this.inflight ??= this.run().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async run(): Promise<Readiness> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timeout")), this.timeoutMs);
    });
    try {
      return await Promise.race([this.query(), timeout]);
    } catch {
      this.drop();
      return { ready: false, reason: "database unreachable" };
    } finally {
      clearTimeout(timer);
    }
  }

  private async query(): Promise<Readiness> {
    if (!this.client) {
      const client = new pg.Client({
        connectionString: this.url,
        application_name: "uplift-readyz",
        connectionTimeoutMillis: this.timeoutMs,
        statement_timeout: this.timeoutMs,
      });
      client.on("error", () => this.drop()); // a server restart: reconnect on the next probe
      this.client = client;
      await client.connect();
    }
    let rows: { name: string }[];
    try {
      ({ rows } = await this.client.query<{ name: string }>("SELECT name FROM migrations"));
    } catch (e) {
      if ((e as { code?: string }).code === "42P01") return { ready: false, reason: "migrations pending" };
      throw e;
    }
    const applied = new Set(rows.map((r) => r.name));
    if (this.migrations.some((m) => !applied.has(m))) return { ready: false, reason: "migrations pending" };
    return { ready: true };
  }

  private drop() {
    const c = this.client;
    this.client = null;
    c?.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}
