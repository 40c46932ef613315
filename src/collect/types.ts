import type { ZodType } from "zod";
import type { Logger } from "../log.js";
import type { HttpClient } from "./http-client.js";

// The collector SDK: what a collector is and what it may use. A collector only reports records; the
// runner validates them, stores them in batches and moves the cursor in the same transaction.

/** One figure from the source, e.g. one incident's resolution time. */
export interface ObservationRecord {
  kind?: "observation";
  /** The source's id: re-collecting the same record replaces it instead of duplicating it. */
  externalId: string;
  observedAt: Date;
  value: number;
  /** How many events the value stands for (default 1). */
  weight?: number;
  dimensions?: Record<string, string>;
  /**
   * Where collection can resume after this record (e.g. its `sys_updated_on`). Committed with the batch
   * that stores the record, so only give it when every earlier record has been yielded before it.
   */
  cursor?: string;
}

/** A source record that should have given a figure and could not be read: counted and sampled. */
export interface RejectedRecord {
  kind: "rejected";
  reason: string;
  /** The source's id, when it has one, for the run's log. */
  externalId?: string;
  cursor?: string;
}

/** "Everything up to here is collected": a cursor with no record, e.g. after a page of skipped records. */
export interface Checkpoint {
  kind: "checkpoint";
  cursor: string;
}

/** A source record as read: an observation, or the reason it could not be one. */
export type ReadRecord = ObservationRecord | RejectedRecord;

export type SourceRecord = ReadRecord | Checkpoint;

export interface CollectContext<Options> {
  options: Options;
  /** The committed cursor of this instance; null on the first run (collect from `since`). */
  cursor: string | null;
  /** Explicit range of a backfill (`npm run collect -- name --from … --to …`), else null. */
  range: { from: Date | null; to: Date | null } | null;
  /** Aborted on time limit or shutdown: pass it on to every request. */
  signal: AbortSignal;
  http: HttpClient;
  log: Logger;
  /** The run's start: a stable "now" for the whole run. */
  now: Date;
  /** Tell the runner how many source records to expect, when the source says (for progress and ETA). */
  reportTotal(total: number): void;
  /**
   * Count source records that give no figure by definition (an unresolved incident, an unmerged pull
   * request): the run's `skipped`. Records outside a backfill's range are not counted.
   */
  skip(count?: number): void;
}

export interface Collector<Options = unknown> {
  /** The `type` in the configuration, e.g. `servicenow-incidents`. */
  type: string;
  /** One sentence, shown in listings and docs. */
  description: string;
  /** Validated once at start-up; unknown options are refused. */
  options: ZodType<Options>;
  collect(ctx: CollectContext<Options>): AsyncIterable<SourceRecord>;
}

/** Identity function that gives a collector definition its types. */
export function defineCollector<Options>(c: Collector<Options>): Collector<Options> {
  return c;
}

export type CollectorRegistry = ReadonlyMap<string, Collector<any>>;

/** Builds the registry from a list, refusing two collectors with one type. */
export function createRegistry(list: readonly Collector<any>[]): CollectorRegistry {
  const map = new Map<string, Collector<any>>();
  for (const c of list) {
    if (map.has(c.type)) throw new Error(`two collectors share the type "${c.type}"`);
    map.set(c.type, c);
  }
  return map;
}
