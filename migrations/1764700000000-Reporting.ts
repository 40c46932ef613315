import { MigrationInterface, QueryRunner } from "typeorm";

// Money stored exactly (numeric), and the `reporting` schema for BI tools. Its tables are filled by the
// app from the KPI engine (src/reporting/refresher.ts), never by SQL formulas. Triggers in the writers'
// transactions queue what changed and NOTIFY, so a refresher on any replica drains each change once.
export class Reporting1764700000000 implements MigrationInterface {
  name = "Reporting1764700000000";

  async up(q: QueryRunner): Promise<void> {
    // float8 → numeric keeps the shortest exact decimal (8333.33 stays 8333.33).
    await q.query(`ALTER TABLE cost ALTER COLUMN amount TYPE numeric USING amount::numeric`);
    await q.query(`CREATE SCHEMA reporting`);
    await q.query(`
      CREATE TABLE reporting.kpis (
        project_slug text NOT NULL,
        project_name text NOT NULL,
        stage text NOT NULL,
        metric_key text NOT NULL,
        metric_name text NOT NULL,
        unit text NOT NULL,
        direction text NOT NULL,
        aggregation text NOT NULL,
        baseline_value double precision,
        baseline_count double precision NOT NULL,
        current_value double precision,
        current_count double precision NOT NULL,
        improvement_pct double precision,
        target double precision,
        target_met boolean,
        ci_low double precision,
        ci_high double precision,
        p_value double precision,
        control_change_pct double precision,
        adjusted_improvement_pct double precision,
        annual_benefit numeric,
        updated_at timestamptz,
        computed_at timestamptz NOT NULL,
        kpi_id bigint PRIMARY KEY,
        project_id bigint NOT NULL,
        metric_id bigint NOT NULL
      )`);
    await q.query(`CREATE INDEX reporting_kpis_slug_key ON reporting.kpis (project_slug, metric_key)`);
    await q.query(`
      CREATE TABLE reporting.projects (
        slug text NOT NULL UNIQUE,
        name text NOT NULL,
        owner text,
        stage text NOT NULL,
        go_live_at timestamptz,
        days_in_pilot double precision,
        benefit_12m numeric NOT NULL,
        cost_12m numeric NOT NULL,
        net_12m numeric NOT NULL,
        roi_pct_12m double precision,
        payback_months double precision,
        currency text NOT NULL,
        computed_at timestamptz NOT NULL,
        project_id bigint PRIMARY KEY
      )`);
    await q.query(`
      CREATE TABLE reporting.series (
        project_slug text NOT NULL,
        metric_key text NOT NULL,
        bucket text NOT NULL CHECK (bucket IN ('DAY', 'WEEK', 'MONTH')),
        start timestamptz NOT NULL,
        phase text NOT NULL CHECK (phase IN ('BEFORE', 'AFTER')),
        value double precision,
        count double precision NOT NULL,
        kpi_id bigint NOT NULL,
        PRIMARY KEY (kpi_id, bucket, start, phase)
      )`);
    await q.query(
      `CREATE INDEX reporting_series_lookup ON reporting.series (project_slug, metric_key, bucket, start)`,
    );
    await q.query(`
      CREATE TABLE reporting.metrics (
        key text NOT NULL UNIQUE,
        name text NOT NULL,
        unit text NOT NULL,
        direction text NOT NULL,
        aggregation text NOT NULL,
        description text,
        metric_id bigint PRIMARY KEY
      )`);
    // Each KPI's phase windows as the engine resolves them (src/kpi/phases.ts), so the observations view
    // only tests membership and never re-implements the defaults. The view takes names from the refreshed
    // tables, not from project/metric, so it never pins the base tables' column types.
    await q.query(`
      CREATE TABLE reporting.kpi_windows (
        kpi_id bigint PRIMARY KEY,
        project_id bigint NOT NULL,
        metric_id bigint NOT NULL,
        has_before boolean NOT NULL,
        before_from timestamptz,
        before_to timestamptz,
        after_from timestamptz,
        after_to timestamptz,
        UNIQUE (project_id, metric_id)
      )`);
    await q.query(`
      CREATE VIEW reporting.observations AS
      SELECT p.slug AS project_slug, m.key AS metric_key, o.observed_at, o.value, o.weight, o.external_id,
             o.dimensions,
             CASE WHEN f.b AND f.a THEN 'BOTH' WHEN f.b THEN 'BEFORE' WHEN f.a THEN 'AFTER' END AS phase
      FROM observation o
      JOIN reporting.projects p ON p.project_id = o.project_id
      JOIN reporting.metrics m ON m.metric_id = o.metric_id
      LEFT JOIN reporting.kpi_windows w ON w.project_id = o.project_id AND w.metric_id = o.metric_id
      CROSS JOIN LATERAL (SELECT
        coalesce(w.has_before AND (w.before_from IS NULL OR o.observed_at >= w.before_from)
          AND (w.before_to IS NULL OR o.observed_at < w.before_to), false) AS b,
        coalesce(w.kpi_id IS NOT NULL AND (w.after_from IS NULL OR o.observed_at >= w.after_from)
          AND (w.after_to IS NULL OR o.observed_at < w.after_to), false) AS a) f`);
    await q.query(`
      CREATE VIEW reporting.collector_runs AS
      SELECT id, instance AS collector, status, scheduled_for, started_at, finished_at, observations,
             rejected, error
      FROM collector_run`);
    // What changed, queued by the writers' own transactions (so a rolled-back write queues nothing).
    await q.query(`
      CREATE TABLE reporting_queue (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind       text NOT NULL CHECK (kind IN ('all', 'pair', 'kpi', 'metric', 'project')),
        kpi_id     bigint,
        project_id bigint,
        metric_id  bigint,
        queued_at  timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(`
      CREATE FUNCTION reporting_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE r record;
      BEGIN
        IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
        IF TG_TABLE_NAME = 'observation_activity' THEN
          INSERT INTO reporting_queue (kind, project_id, metric_id) VALUES ('pair', r.project_id, r.metric_id);
        ELSIF TG_TABLE_NAME = 'kpi' THEN
          INSERT INTO reporting_queue (kind, kpi_id, project_id) VALUES ('kpi', r.id, r.project_id);
        ELSIF TG_TABLE_NAME = 'metric' THEN
          INSERT INTO reporting_queue (kind, metric_id) VALUES ('metric', r.id);
        ELSIF TG_TABLE_NAME = 'project' THEN
          INSERT INTO reporting_queue (kind, project_id) VALUES ('project', r.id);
        ELSE -- cost, stage_change
          INSERT INTO reporting_queue (kind, project_id) VALUES ('project', r.project_id);
        END IF;
        -- Identical payloads are folded into one notification per transaction.
        PERFORM pg_notify('uplift_reporting', '');
        RETURN NULL;
      END $$`);
    for (const t of ["observation_activity", "kpi", "metric", "project", "cost", "stage_change"]) {
      await q.query(
        `CREATE TRIGGER reporting_enqueue AFTER INSERT OR UPDATE OR DELETE ON ${t}
         FOR EACH ROW EXECUTE FUNCTION reporting_enqueue()`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ["observation_activity", "kpi", "metric", "project", "cost", "stage_change"])
      await q.query(`DROP TRIGGER IF EXISTS reporting_enqueue ON ${t}`);
    await q.query(`DROP FUNCTION IF EXISTS reporting_enqueue()`);
    await q.query(`DROP TABLE IF EXISTS reporting_queue`);
    await q.query(`DROP SCHEMA IF EXISTS reporting CASCADE`);
    await q.query(`ALTER TABLE cost ALTER COLUMN amount TYPE double precision USING amount::float8`);
  }
}
