import { MigrationInterface, QueryRunner } from "typeorm";

// Governance: the audit log, pre-registration timestamps of KPIs, alert rules with their per-subject
// state (one row per rule and subject, so a change of state fires once across replicas), and the
// outbox of alert events with each webhook delivery attempt.
export class Governance1764800000000 implements MigrationInterface {
  name = "Governance1764800000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_log (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at           timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor        text NOT NULL,
        action       text NOT NULL,
        project_slug text,
        metric_key   text,
        before       jsonb,
        after        jsonb
      )`);
    await q.query(`CREATE INDEX audit_log_recent ON audit_log (at DESC, id DESC)`);
    await q.query(`CREATE INDEX audit_log_project ON audit_log (project_slug, at DESC, id DESC)`);

    // When the target and the windows were last set. Existing KPIs: their last settings change is the
    // best upper bound we have.
    await q.query(
      `ALTER TABLE kpi ADD COLUMN target_set_at timestamptz, ADD COLUMN windows_set_at timestamptz`,
    );
    await q.query(
      `UPDATE kpi SET target_set_at = CASE WHEN target IS NOT NULL THEN updated_at END, windows_set_at = updated_at`,
    );
    await q.query(
      `ALTER TABLE kpi ALTER COLUMN windows_set_at SET DEFAULT clock_timestamp(), ALTER COLUMN windows_set_at SET NOT NULL`,
    );

    await q.query(`
      CREATE TABLE alert_rule (
        id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name           text NOT NULL UNIQUE,
        kind           text NOT NULL CHECK (kind IN ('TARGET_MET', 'REGRESSION', 'STALE', 'COLLECTOR_FAILING')),
        project_slug   text,
        metric_key     text,
        collector      text,
        window_days    integer,
        p_value        double precision,
        days           integer,
        failures       integer,
        webhook_url    text,
        webhook_secret text,
        enabled        boolean NOT NULL DEFAULT true,
        created_at     timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE alert_state (
        rule_id    bigint NOT NULL REFERENCES alert_rule (id) ON DELETE CASCADE,
        subject    text NOT NULL,
        firing     boolean NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (rule_id, subject)
      )`);
    await q.query(`
      CREATE TABLE alert_event (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        rule_id         bigint REFERENCES alert_rule (id) ON DELETE SET NULL,
        rule_name       text NOT NULL,
        kind            text NOT NULL,
        project_slug    text,
        metric_key      text,
        collector       text,
        fired_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
        message         text NOT NULL,
        delivery        text NOT NULL CHECK (delivery IN ('PENDING', 'DELIVERED', 'FAILED', 'NO_WEBHOOK')),
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        delivered_at    timestamptz
      )`);
    await q.query(`CREATE INDEX alert_event_due ON alert_event (next_attempt_at) WHERE delivery = 'PENDING'`);
    await q.query(`CREATE INDEX alert_event_recent ON alert_event (fired_at DESC, seq DESC)`);
    await q.query(`
      CREATE TABLE alert_delivery_attempt (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id    uuid NOT NULL REFERENCES alert_event (id) ON DELETE CASCADE,
        attempt     integer NOT NULL,
        at          timestamptz NOT NULL DEFAULT clock_timestamp(),
        status      integer,
        error       text,
        duration_ms integer NOT NULL
      )`);
    await q.query(`CREATE INDEX alert_delivery_attempt_event ON alert_delivery_attempt (event_id, attempt)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ["alert_delivery_attempt", "alert_event", "alert_state", "alert_rule", "audit_log"])
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    await q.query(
      `ALTER TABLE kpi DROP COLUMN IF EXISTS target_set_at, DROP COLUMN IF EXISTS windows_set_at`,
    );
  }
}
