import { MigrationInterface, QueryRunner } from "typeorm";

// Collector runs (claims, counters, leases) and cursors. A run row is claimed before a run starts:
// unique per instance and scheduled time, and at most one RUNNING row per instance, so several
// processes on one database run each scheduled time once and never overlap an instance's runs.
export class CollectorRuns1764500000000 implements MigrationInterface {
  name = "CollectorRuns1764500000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE collector_run (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        instance      text NOT NULL,
        scheduled_for timestamptz,
        status        text NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED')),
        started_at    timestamptz NOT NULL DEFAULT now(),
        finished_at   timestamptz,
        heartbeat_at  timestamptz NOT NULL DEFAULT now(),
        owner         text,
        observations  integer NOT NULL DEFAULT 0,
        rejected      integer NOT NULL DEFAULT 0,
        error         text,
        log           jsonb NOT NULL DEFAULT '[]'::jsonb
      )`);
    await q.query(
      `CREATE UNIQUE INDEX collector_run_scheduled ON collector_run (instance, scheduled_for) WHERE scheduled_for IS NOT NULL`,
    );
    await q.query(
      `CREATE UNIQUE INDEX collector_run_one_running ON collector_run (instance) WHERE status = 'RUNNING'`,
    );
    await q.query(`CREATE INDEX collector_run_recent ON collector_run (instance, started_at DESC, id DESC)`);
    await q.query(`CREATE INDEX collector_run_started ON collector_run (started_at DESC, id DESC)`);
    await q.query(`
      CREATE TABLE collector_cursor (
        instance   text PRIMARY KEY,
        cursor     text NOT NULL,
        run_id     bigint REFERENCES collector_run (id) ON DELETE SET NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS collector_cursor`);
    await q.query(`DROP TABLE IF EXISTS collector_run`);
  }
}
