import type { MigrationInterface, QueryRunner } from "typeorm";

// The reporting schema learns what was built beside it: the audit log (who changed which definition,
// before and after; it holds no secrets: key secrets are never stored in it and webhook secrets are
// masked) and the runs' skipped counts.
export class ReportingGovernance1765000000000 implements MigrationInterface {
  name = "ReportingGovernance1765000000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE VIEW reporting.audit_log AS
      SELECT id, at, actor, action, project_slug, metric_key, before, after FROM audit_log`);
    await q.query(`
      CREATE OR REPLACE VIEW reporting.collector_runs AS
      SELECT id, instance AS collector, status, scheduled_for, started_at, finished_at, observations,
             rejected, error, skipped
      FROM collector_run`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW reporting.audit_log`);
    await q.query(`DROP VIEW reporting.collector_runs`);
    await q.query(`
      CREATE VIEW reporting.collector_runs AS
      SELECT id, instance AS collector, status, scheduled_for, started_at, finished_at, observations,
             rejected, error
      FROM collector_run`);
  }
}
