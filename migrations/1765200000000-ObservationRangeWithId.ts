import { MigrationInterface, QueryRunner } from "typeorm";

// `observation_range` gains `id` in its INCLUDE list. The MEDIAN/P90 bootstrap thins a large KPI by a hash of
// each observation's id (src/kpi/phase-aggregates.ts, loadPhaseSamples); without the id in the index, that
// scan read the heap row of every observation in the range, and at 10 M rows, with a KPI's rows spread over
// the heap as a feed writes them, that is a random page read per observation. With it, every KPI query
// (figures, series, sample) is an index-only range scan. Built CONCURRENTLY (outside a transaction), so a
// large table keeps taking writes while the index builds; a failed earlier attempt's invalid index is
// dropped first.
export class ObservationRangeWithId1765200000000 implements MigrationInterface {
  name = "ObservationRangeWithId1765200000000";
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS observation_range_with_id`);
    await q.query(
      `CREATE INDEX CONCURRENTLY observation_range_with_id ON observation (project_id, metric_id, observed_at) INCLUDE (value, weight, id)`,
    );
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS observation_range`);
    await q.query(`ALTER INDEX observation_range_with_id RENAME TO observation_range`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS observation_range_without_id`);
    await q.query(
      `CREATE INDEX CONCURRENTLY observation_range_without_id ON observation (project_id, metric_id, observed_at) INCLUDE (value, weight)`,
    );
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS observation_range`);
    await q.query(`ALTER INDEX observation_range_without_id RENAME TO observation_range`);
  }
}
