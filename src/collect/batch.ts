import type { ResolvedObservation } from "../store/observations.js";
import { observationProblems } from "../store/observations.js";
import type { Instance } from "./instances.js";
import type { SourceRecord } from "./types.js";

// The batch accumulator of a run: turns the collector's records into rows to store, rejections (with a
// sampled reason) and skips, and follows the cursor; runs.ts commits what it holds.

/** Reasons kept in the run's log for rejected records. */
export const REJECTION_SAMPLE = 20;

export interface PendingBatch {
  rows: ResolvedObservation[];
  rejected: number;
  skipped: number;
  /** The cursor to commit with the batch; null: leave it (none given, or a backfill). */
  cursor: string | null;
  /** The run's whole sample so far (the run's log). */
  sample: { reason: string; externalId?: string }[];
}

export class RunBatch {
  private rows: ResolvedObservation[] = [];
  private rejected = 0;
  private skipped = 0;
  private cursor: string | null = null;
  readonly sample: { reason: string; externalId?: string }[] = [];
  /** Totals over the run. */
  readonly totals = { records: 0, rejected: 0, skipped: 0, outOfRange: 0 };

  constructor(
    private readonly inst: Pick<Instance, "projectId" | "metricId">,
    private readonly range: { from: Date | null; to: Date | null } | null,
    private readonly onReject: (
      reason: string,
      externalId: string | undefined,
      nth: number,
    ) => void = () => {},
  ) {}

  get size(): number {
    return this.rows.length;
  }

  /** Whether anything waits to be committed. */
  get pending(): boolean {
    return this.rows.length > 0 || this.rejected > 0 || this.skipped > 0 || this.cursor !== null;
  }

  add(rec: SourceRecord): void {
    this.totals.records++;
    if (rec.kind === "checkpoint") {
      this.cursor = rec.cursor;
      return;
    }
    if (rec.kind === "rejected") this.reject(rec.reason, rec.externalId);
    else this.observation(rec);
    if (rec.cursor !== undefined) this.cursor = rec.cursor;
  }

  skip(count = 1): void {
    this.skipped += count;
    this.totals.skipped += count;
  }

  /** Validates one record by the store's rules: a record the store cannot hold is rejected, not written. */
  private observation(rec: Extract<SourceRecord, { externalId: string; observedAt: Date }>): void {
    // Collected records always carry the source's id: it is what makes re-collection idempotent.
    const hasId = typeof rec.externalId === "string" && rec.externalId !== "";
    const problems = observationProblems({ ...rec, externalId: hasId ? rec.externalId : undefined });
    if (!hasId) problems.unshift({ field: "externalId", message: "is required" });
    const id = hasId && !problems.some((p) => p.field === "externalId") ? rec.externalId : undefined;
    if (problems.length) {
      this.reject(problems.map((p) => `${p.field}: ${p.message}`).join("; "), id);
      return;
    }
    // A backfill stores only its range, whatever the collector yields.
    const { from, to } = this.range ?? { from: null, to: null };
    if ((from && rec.observedAt < from) || (to && rec.observedAt >= to)) {
      this.totals.outOfRange++;
      return;
    }
    this.rows.push({
      projectId: this.inst.projectId,
      metricId: this.inst.metricId,
      observedAt: rec.observedAt,
      value: rec.value,
      weight: rec.weight ?? 1,
      externalId: rec.externalId,
      dimensions: rec.dimensions ?? null,
    });
  }

  private reject(reason: string, externalId?: string): void {
    this.rejected++;
    this.totals.rejected++;
    // Reasons and ids come from the source: keep them printable and short in the log.
    const clean = (s: string, max: number) => s.replaceAll("\u0000", "\\u0000").slice(0, max);
    const entry = {
      reason: clean(reason, 500),
      ...(externalId ? { externalId: clean(externalId, 200) } : {}),
    };
    if (this.sample.length < REJECTION_SAMPLE) this.sample.push(entry);
    this.onReject(entry.reason, entry.externalId, this.totals.rejected);
  }

  /** Takes what is pending for a commit (the cursor only outside a backfill) and starts a new batch. */
  take(): PendingBatch {
    const out: PendingBatch = {
      rows: this.rows,
      rejected: this.rejected,
      skipped: this.skipped,
      cursor: this.range ? null : this.cursor,
      sample: this.sample,
    };
    this.rows = [];
    this.rejected = 0;
    this.skipped = 0;
    this.cursor = null;
    return out;
  }
}
