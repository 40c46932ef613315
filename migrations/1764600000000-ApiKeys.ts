import { MigrationInterface, QueryRunner } from "typeorm";

// API keys: only the SHA-256 of each secret is stored. A revoked key keeps its row (revoked_at), so its
// name stays readable in logs and the audit log; the name is unique among the keys in force.
export class ApiKeys1764600000000 implements MigrationInterface {
  name = "ApiKeys1764600000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_key (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name         text NOT NULL,
        role         text NOT NULL CHECK (role IN ('reader', 'writer', 'admin')),
        projects     text[] NOT NULL DEFAULT '{}',
        secret_hash  text NOT NULL UNIQUE,
        created_at   timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at   timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX api_key_name_in_force ON api_key (name) WHERE revoked_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS api_key`);
  }
}
