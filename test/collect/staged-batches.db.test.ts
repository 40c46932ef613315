import type { DataSource } from "typeorm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { claimManual, commitBatch, ownerId, readCursor } from "../../src/collect/runs.js";
import {
  type ResolvedObservation,
  STAGED_MIN_ROWS,
  upsertObservations,
} from "../../src/store/observations.js";
import { openTestDataSource, truncateAll } from "../helpers/db.js";

// Large batches (above STAGED_MIN_ROWS) go through COPY: straight into `observation` when every
// externalId is new, through the staging table and ON CONFLICT when some are stored. Both must count
// exactly, let a later item with the same externalId win, escape text, and roll back with their
// transaction — the runner's cursor included. Expected figures come from the items, not from the code.

let ds: DataSource;
let close: () => Promise<void>;
let project: string;
let metric: string;
const BIG = STAGED_MIN_ROWS * 3;
const T0 = Date.parse("2025-06-01T00:00:00Z");

beforeAll(async () => {
  ({ ds, close } = await openTestDataSource());
});
afterAll(async () => close?.());
beforeEach(async () => {
  await truncateAll(ds);
  [{ id: project }] = await ds.query(
    `INSERT INTO project (slug, name, stage) VALUES ('p', 'P', 'PRODUCTION') RETURNING id::text`,
  );
  [{ id: metric }] = await ds.query(
    `INSERT INTO metric (key, name, unit, direction, aggregation)
     VALUES ('m', 'M', 'min', 'LOWER_IS_BETTER', 'MEAN') RETURNING id::text`,
  );
});

function row(externalId: string | null, value: number, extra: Partial<ResolvedObservation> = {}) {
  return {
    projectId: project,
    metricId: metric,
    observedAt: new Date(T0 + value * 1000),
    value,
    weight: 1,
    externalId,
    dimensions: null,
    ...extra,
  } satisfies ResolvedObservation;
}

/** What the items should leave in the table: the last value per externalId, every row without one. */
function expected(batches: ResolvedObservation[][]) {
  const byId = new Map<string, number>();
  let anonymous = 0;
  for (const b of batches)
    for (const r of b) {
      if (r.externalId === null) anonymous++;
      else byId.set(r.externalId, r.value);
    }
  return { byId, anonymous };
}

async function stored() {
  const rows: { external_id: string | null; value: number; observed_at: Date }[] = await ds.query(
    "SELECT external_id, value, observed_at FROM observation",
  );
  for (const r of rows) expect(r.observed_at.getTime()).toBe(T0 + r.value * 1000);
  return {
    byId: new Map(rows.filter((r) => r.external_id !== null).map((r) => [r.external_id!, r.value])),
    anonymous: rows.filter((r) => r.external_id === null).length,
  };
}

const write = (rows: ResolvedObservation[], runId: string | null = null) =>
  ds.transaction((m) => upsertObservations(m, rows, runId));

describe("batches written through COPY", () => {
  it("counts a batch of new rows with repeated externalIds exactly, the later item winning", async () => {
    // 2,500 distinct ids, then 500 of them again with other values, and 400 rows without an id.
    const batch = [
      ...Array.from({ length: 2500 }, (_, i) => row(`e${i}`, i)),
      ...Array.from({ length: 500 }, (_, i) => row(`e${i * 5}`, 10_000 + i)),
      ...Array.from({ length: 400 }, (_, i) => row(null, 20_000 + i)),
    ];
    expect(batch.length).toBeGreaterThanOrEqual(STAGED_MIN_ROWS);
    const r = await write(batch);
    // As if recorded one by one: 2,900 inserts (2,500 ids + 400 without), the 500 repeats update.
    expect(r).toMatchObject({ inserted: 2900, updated: 500 });
    expect(r.touched).toEqual([{ projectId: project, metricId: metric }]);
    expect(await stored()).toEqual(expected([batch]));
  });

  it("counts a mix of new and stored rows exactly, and overwrites the stored ones", async () => {
    const first = Array.from({ length: BIG }, (_, i) => row(`e${i}`, i));
    expect(await write(first)).toMatchObject({ inserted: BIG, updated: 0 });
    // Half the ids stored (with new values), half new, and a repeat inside the batch.
    const second = [
      ...Array.from({ length: BIG / 2 }, (_, i) => row(`e${i * 2}`, 50_000 + i)),
      ...Array.from({ length: BIG / 2 }, (_, i) => row(`n${i}`, 60_000 + i)),
      row("n0", 70_000),
    ];
    const r = await write(second);
    expect(r).toMatchObject({ inserted: BIG / 2, updated: BIG / 2 + 1 });
    expect(await stored()).toEqual(expected([first, second]));
    // All of it again: only updates.
    expect(await write(second)).toMatchObject({ inserted: 0, updated: second.length });
    expect(await stored()).toEqual(expected([first, second]));
  });

  it("keeps tabs, newlines and backslashes of ids and dimensions, and the run id", async () => {
    const odd = "a\tb\\c\nd\re";
    const batch = Array.from({ length: BIG }, (_, i) =>
      row(i === 7 ? odd : `x${i}`, i, { dimensions: i === 7 ? { team: odd, "k\\": "v" } : null }),
    );
    expect(await write(batch, "42")).toMatchObject({ inserted: BIG, updated: 0 });
    // Through the staging table this time (every id stored), with another run id.
    expect(await write(batch, "43")).toMatchObject({ inserted: 0, updated: BIG });
    const [r] = await ds.query(
      "SELECT external_id, dimensions, run_id::text FROM observation WHERE value = 7",
    );
    expect(r).toEqual({ external_id: odd, dimensions: { team: odd, "k\\": "v" }, run_id: "43" });
    const [{ n }] = await ds.query("SELECT count(*)::int AS n FROM observation WHERE run_id = 43");
    expect(n).toBe(BIG);
  });

  it("a row the database refuses rolls back the whole batch, new or stored", async () => {
    const bad = (rows: ResolvedObservation[]) => {
      rows[BIG - 2] = { ...rows[BIG - 2]!, value: 1e16 }; // the CHECK (abs(value) <= 1e15)
      return rows;
    };
    await expect(write(bad(Array.from({ length: BIG }, (_, i) => row(`e${i}`, i))))).rejects.toThrow(
      /observation_value_check|check constraint/,
    );
    expect(await stored()).toEqual({ byId: new Map(), anonymous: 0 });
    const good = Array.from({ length: BIG }, (_, i) => row(`e${i}`, i));
    await write(good);
    await expect(write(bad(Array.from({ length: BIG }, (_, i) => row(`e${i}`, 90_000 + i))))).rejects.toThrow(
      /check constraint/,
    );
    expect(await stored()).toEqual(expected([good]));
  });
});

describe("a runner batch through COPY", () => {
  it("commits rows, counters and cursor together, and a failing batch leaves all three", async () => {
    const owner = ownerId();
    const run = await claimManual(ds, "inst", owner);
    const ref = { id: run.id, instance: "inst", owner };
    const batch = (from: number, cursor: string) => ({
      rows: Array.from({ length: BIG }, (_, i) => row(`r${from + i}`, from + i)),
      rejected: 0,
      skipped: 0,
      cursor,
      sample: [],
    });
    expect(await commitBatch(ds, ref, batch(0, "c1"))).toBe(BIG);
    expect(await readCursor(ds, "inst")).toBe("c1");

    // The second batch overlaps the first by half (updates) and holds one row the database refuses.
    const failing = batch(BIG / 2, "c2");
    failing.rows[BIG - 1] = { ...failing.rows[BIG - 1]!, value: 1e16 };
    await expect(commitBatch(ds, ref, failing)).rejects.toThrow(/check constraint/);
    expect(await readCursor(ds, "inst")).toBe("c1");
    const [{ observations }] = await ds.query("SELECT observations FROM collector_run WHERE id = $1", [
      run.id,
    ]);
    expect(observations).toBe(BIG);
    const first = batch(0, "c1").rows;
    expect(await stored()).toEqual(expected([first]));

    // The same batch without the bad row goes in: half updates, half new.
    const fixed = batch(BIG / 2, "c2");
    expect(await commitBatch(ds, ref, fixed)).toBe(BIG);
    expect(await readCursor(ds, "inst")).toBe("c2");
    expect(await stored()).toEqual(expected([first, fixed.rows]));
    const [{ n }] = await ds.query("SELECT count(*)::int AS n FROM observation WHERE run_id = $1", [run.id]);
    expect(n).toBe(BIG + BIG / 2);
  });
});
