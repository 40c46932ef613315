import type { Readable } from "node:stream";
import type { DataSource } from "typeorm";
import type { Principal } from "../auth/principal.js";
import { canSeeProject } from "../auth/roles.js";
import type { InputProblem } from "../errors.js";
import { BulkObservationWriter } from "../store/bulk-observations.js";
import { type CsvBatch, CsvBatchParser } from "./csv-batches.js";
import { parseJsonLine } from "./json-line.js";
import { LineTooLongError, splitLines } from "./lines.js";
import { checkCsvHeader, fromCsv, fromJson, type RawFields } from "./record.js";

// POST /api/v1/observations: NDJSON or CSV, validated line by line while it streams into COPY, all or
// nothing. The rules are those of recordObservations (contract, "BI access → Bulk ingest").

export const MAX_BULK_OBSERVATIONS = 1_000_000;
/** At most this many problems are listed; reading stops there. */
export const MAX_LISTED_ERRORS = 100;
/** 32 dimensions of 64 + 1,024 characters fit with room to spare; longer lines are refused, not buffered. */
export const MAX_LINE_BYTES = 256 * 1024;

export type BulkFormat = "ndjson" | "csv";

export interface LineProblem {
  line: number;
  field: string;
  message: string;
}

export type BulkOutcome =
  | { ok: true; inserted: number; updated: number }
  | { ok: false; forbidden: boolean; errors: LineProblem[] };

/** Lines of the body with their fields (null: the line is bad, its problems say why). */
interface Row {
  line: number;
  fields: RawFields | null;
  problems: InputProblem[];
}

/** One NDJSON line → a row; `problems` is filled only when the line is bad. */
function ndjsonRow(line: number, text: string, now: number): Row | null {
  if (text.trim() === "") return null;
  const problems: InputProblem[] = [];
  let value: unknown;
  try {
    // Not JSON.parse: it would put short strings (externalIds) in the old generation (json-line.ts).
    value = parseJsonLine(text);
  } catch (e) {
    problems.push({ field: "", message: `not valid JSON: ${(e as Error).message}` });
    return { line, fields: null, problems };
  }
  return { line, fields: fromJson(value, problems, now), problems };
}

/**
 * Rows of one piece of the body. NDJSON lines are parsed only when asked for, one at a time: each line's
 * objects then die young (a batch of parsed rows held across a garbage collection would be promoted and
 * grow the old generation with the body). One promise per piece of the body, not per line.
 */
interface Batch {
  size: number;
  row(i: number): Row | null;
}

async function* ndjsonRows(body: Readable, now: number): AsyncGenerator<Batch> {
  for await (const { first, texts } of splitLines(body, MAX_LINE_BYTES))
    yield { size: texts.length, row: (i) => ndjsonRow(first + i, texts[i], now) };
}

async function* csvRows(body: Readable, now: number): AsyncGenerator<Batch> {
  const parser = body.pipe(
    new CsvBatchParser({
      bom: true,
      skip_empty_lines: true,
      max_record_size: MAX_LINE_BYTES,
      // Rows of the wrong width are reported here by line, not as a parser error that ends the stream.
      relax_column_count: true,
    }),
  );
  let header: string[] | null = null;
  for await (const { records, lines } of parser as AsyncIterable<CsvBatch>) {
    let first = 0;
    if (!header) {
      header = records[0].map((h) => h.trim());
      const problems = checkCsvHeader(header);
      if (problems.length) {
        yield { size: 1, row: () => ({ line: lines[0], fields: null, problems }) };
        return;
      }
      first = 1;
    }
    const columns = header;
    yield {
      size: records.length - first,
      row: (i) => {
        const record = records[first + i];
        const problems: InputProblem[] = [];
        if (record.length !== columns.length)
          problems.push({
            field: "",
            message: `has ${record.length} cells; the header has ${columns.length}`,
          });
        return {
          line: lines[first + i],
          fields: problems.length ? null : fromCsv(columns, record, problems, now),
          problems,
        };
      },
    };
  }
}

/** Slugs and keys → ids, loaded once per request (both tables are small beside the observations). */
async function loadNames(ds: DataSource) {
  const [projects, metrics] = await Promise.all([
    ds.query(`SELECT id::text AS id, slug FROM project`) as Promise<{ id: string; slug: string }[]>,
    ds.query(`SELECT id::text AS id, key FROM metric`) as Promise<{ id: string; key: string }[]>,
  ]);
  return {
    projects: new Map(projects.map((p) => [p.slug, p.id])),
    metrics: new Map(metrics.map((m) => [m.key, m.id])),
  };
}

export async function bulkIngest(
  ds: DataSource,
  principal: Principal,
  format: BulkFormat,
  body: Readable,
): Promise<BulkOutcome> {
  const now = Date.now();
  const names = await loadNames(ds);
  const errors: LineProblem[] = [];
  let forbidden = false;
  let count = 0;
  let writer: BulkObservationWriter | null = null;
  const fail = (line: number, field: string, message: string) => {
    if (errors.length < MAX_LISTED_ERRORS) errors.push({ line, field, message });
  };
  try {
    const batches = format === "csv" ? csvRows(body, now) : ndjsonRows(body, now);
    reading: for await (const batch of batches) {
      for (let i = 0; i < batch.size; i++) {
        const row = batch.row(i);
        if (!row) continue;
        if (errors.length >= MAX_LISTED_ERRORS) break reading;
        if (++count > MAX_BULK_OBSERVATIONS) {
          fail(
            row.line,
            "",
            `at most ${MAX_BULK_OBSERVATIONS.toLocaleString("en-US")} observations per request; split the body`,
          );
          break reading;
        }
        for (const p of row.problems) fail(row.line, p.field, p.message);
        const f = row.fields;
        if (!f) continue;
        const projectId = names.projects.get(f.projectSlug);
        const metricId = names.metrics.get(f.metricKey);
        if (projectId && !canSeeProject(principal, f.projectSlug)) {
          forbidden = true;
          fail(row.line, "projectSlug", `this key may not write to project "${f.projectSlug}"`);
        } else if (!projectId) fail(row.line, "projectSlug", `unknown project "${f.projectSlug}"`);
        if (!metricId) fail(row.line, "metricKey", `unknown metric "${f.metricKey}"`);
        if (errors.length > 0) {
          // All or nothing: once a line is bad nothing is written; reading goes on only to list more problems.
          if (writer) {
            await writer.abort();
            writer = null;
          }
          continue;
        }
        if (!writer) {
          writer = new BulkObservationWriter(ds);
          await writer.open();
        }
        const full = writer.add({
          projectId: projectId as string,
          metricId: metricId as string,
          observedAt: f.observedAt,
          value: f.value,
          weight: f.weight ?? 1,
          externalId: f.externalId ?? null,
          dimensions: (f.dimensions as Record<string, string> | null) ?? null,
        });
        // A full chunk goes to PostgreSQL; this waits only while the previous chunk is still being written.
        if (full) await writer.flush();
      }
    }
  } catch (e) {
    if (writer) await writer.abort();
    writer = null;
    if (e instanceof LineTooLongError) fail(e.line, "", e.message);
    else if (isCsvError(e)) fail(e.lines ?? count + 1, "", `CSV: ${e.message}`);
    else throw e;
  }
  if (errors.length > 0) {
    if (writer) await writer.abort();
    return { ok: false, forbidden, errors };
  }
  if (!writer) return { ok: true, inserted: 0, updated: 0 };
  const result = await writer.commit();
  return { ok: true, inserted: result.inserted, updated: result.updated };
}

/** csv-parse's errors carry a code starting with CSV_ and the line where parsing stopped. */
function isCsvError(e: unknown): e is Error & { code: string; lines?: number } {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === "string" && code.startsWith("CSV_");
}
