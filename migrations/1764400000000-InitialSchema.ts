import { MigrationInterface, QueryRunner } from "typeorm";

// The core model: projects and their stage history, metrics, KPIs, observations and costs.
// Text columns with CHECK constraints instead of enum types: adding a value later is a one-line migration.
export class InitialSchema1764400000000 implements MigrationInterface {
  name = "InitialSchema1764400000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE project (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
        name        text NOT NULL,
        description text,
        owner       text,
        stage       text NOT NULL CHECK (stage IN ('IDEA', 'PILOT', 'PRODUCTION', 'RETIRED')),
        go_live_at  timestamptz,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE stage_change (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        project_id  bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
        stage       text NOT NULL CHECK (stage IN ('IDEA', 'PILOT', 'PRODUCTION', 'RETIRED')),
        at          timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX stage_change_project_at ON stage_change (project_id, at, id)`);
    await q.query(`
      CREATE TABLE metric (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key         text NOT NULL UNIQUE CHECK (key ~ '^[a-z0-9][a-z0-9._-]{0,127}$'),
        name        text NOT NULL,
        unit        text NOT NULL,
        direction   text NOT NULL CHECK (direction IN ('LOWER_IS_BETTER', 'HIGHER_IS_BETTER')),
        aggregation text NOT NULL CHECK (aggregation IN ('MEAN', 'MEDIAN', 'P90', 'SUM', 'COUNT')),
        description text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE kpi (
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        project_id       bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
        metric_id        bigint NOT NULL REFERENCES metric (id),
        baseline_from    timestamptz,
        baseline_to      timestamptz,
        after_from       timestamptz,
        after_to         timestamptz,
        baseline_value   double precision,
        target           double precision,
        value_per_unit   double precision,
        annual_volume    double precision CHECK (annual_volume >= 0),
        cohort_dimension text,
        cohort_treatment text,
        cohort_control   text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        UNIQUE (project_id, metric_id),
        CHECK ((cohort_dimension IS NULL) = (cohort_treatment IS NULL)
           AND (cohort_dimension IS NULL) = (cohort_control IS NULL))
      )`);
    // project_id leads every key of the large tables: the natural distribution key if this is ever sharded.
    await q.query(`
      CREATE TABLE observation (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        project_id  bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
        metric_id   bigint NOT NULL REFERENCES metric (id),
        observed_at timestamptz NOT NULL,
        value       double precision NOT NULL CHECK (abs(value) <= 1e15),
        weight      double precision NOT NULL DEFAULT 1 CHECK (weight > 0 AND weight <= 1e9),
        external_id text,
        dimensions  jsonb,
        run_id      bigint,
        recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    // NULL external ids never conflict (NULLS DISTINCT): observations without one are always inserted.
    await q.query(
      `CREATE UNIQUE INDEX observation_external_id ON observation (project_id, metric_id, external_id)`,
    );
    // Range scans of one KPI by time; value and weight included so phase aggregates are index-only scans.
    await q.query(
      `CREATE INDEX observation_range ON observation (project_id, metric_id, observed_at) INCLUDE (value, weight)`,
    );
    // One row per project × metric that has data: when it last changed (the KPI's updatedAt, cache stamps).
    await q.query(`
      CREATE TABLE observation_activity (
        project_id bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
        metric_id  bigint NOT NULL REFERENCES metric (id),
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (project_id, metric_id)
      )`);
    await q.query(`
      CREATE TABLE cost (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        project_id bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
        label      text NOT NULL,
        kind       text NOT NULL CHECK (kind IN ('ONE_TIME', 'MONTHLY')),
        amount     double precision NOT NULL,
        starts_at  timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX cost_project ON cost (project_id, starts_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      "cost",
      "observation_activity",
      "observation",
      "kpi",
      "metric",
      "stage_change",
      "project",
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
