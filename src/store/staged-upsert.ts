import type pg from "pg";
import type { EntityManager } from "typeorm";
import { ObservationCopyInserter } from "./copy-insert.js";
import { COPY_NULL, isoFormatter, observationCopyFields } from "./copy-text.js";
import type { ResolvedObservation } from "./observations.js";

// Large batches of the collector runner and recordObservations, written with COPY inside the caller's
// transaction (so a runner's cursor still commits with its rows, and a failure rolls back all of it),
// through the same inserter as bulk ingest (copy-insert.ts): a direct COPY while the rows are new, else
// staging and one INSERT … ON CONFLICT. Rows arrive collapsed (one per externalId: the caller keeps the
// later item), so neither statement can meet the same key twice.

/** COPY text of the rows (the columns of copy-text.ts, then run_id); one string, ~0.5 MB per 5,000 rows. */
export function copyLines(rows: readonly ResolvedObservation[], runId: string | null): string {
  const tail = `\t${runId ?? COPY_NULL}\n`;
  const iso = isoFormatter();
  let text = "";
  for (const r of rows) text += observationCopyFields(r, iso) + tail;
  return text;
}

/** The pg client under a TypeORM transaction's entity manager; null outside a transaction. */
export async function transactionClient(m: EntityManager): Promise<pg.PoolClient | null> {
  const qr = m.queryRunner;
  if (!qr?.isTransactionActive) return null;
  return (await qr.connect()) as pg.PoolClient;
}

/**
 * Writes collapsed rows (no externalId twice) in the client's open transaction; exact counts: inserted are
 * new rows, updated are stored rows overwritten.
 */
export function stagedUpsert(
  client: pg.PoolClient,
  rows: readonly ResolvedObservation[],
  runId: string | null,
): Promise<{ inserted: number; updated: number }> {
  return new ObservationCopyInserter(client, { runId: true }).write(
    copyLines(rows, runId),
    rows.length,
    false,
  );
}
