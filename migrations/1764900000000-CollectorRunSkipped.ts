import { MigrationInterface, QueryRunner } from "typeorm";

// Source records that give no figure by definition (an unresolved incident, an unmerged pull request)
// are counted per run, beside `observations` and `rejected`.
export class CollectorRunSkipped1764900000000 implements MigrationInterface {
  name = "CollectorRunSkipped1764900000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE collector_run ADD COLUMN skipped integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE collector_run DROP COLUMN skipped`);
  }
}
