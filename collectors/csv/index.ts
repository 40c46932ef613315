import fs from "node:fs";
import path from "node:path";
import {
  authOption,
  type CollectContext,
  defineCollector,
  fieldEntries,
  fieldMapOption,
  httpUrl,
  type ReadRecord,
  type RejectedRecord,
  rawFieldsOf,
  readObservation,
  rejection,
  SourceError,
  z,
} from "../../src/collect/sdk/index.js";
import { CsvParser, type CsvRecord } from "./parse.js";

// A CSV file, from a path or a URL: one observation per row, mapped by column name (or 1-based column
// number). Every run re-reads the whole file; externalId upserts make that idempotent. No cursor.

/** A column: its name in the header row, or its 1-based position. */
const column = z.union([z.string().min(1), z.int().min(1)]);

export const csvOptions = z
  .strictObject({
    /** A file on this machine; relative paths are resolved against the process's working directory. */
    path: z.string().min(1).optional(),
    /** Or a file served over http(s), fetched whole on each run. */
    url: httpUrl.optional(),
    /** Request headers and credentials, with `url` only. */
    headers: z.record(z.string(), z.string()).optional(),
    auth: authOption.optional(),
    columns: fieldMapOption(column),
    delimiter: z
      .string()
      .length(1, "must be exactly one character")
      .refine((d) => !['"', "\r", "\n"].includes(d), "must not be a quote or a line break")
      .default(","),
    header: z.boolean().default(true),
    encoding: z.literal("utf8").default("utf8"),
  })
  .superRefine((o, ctx) => {
    if ((o.path === undefined) === (o.url === undefined)) {
      ctx.addIssue({ code: "custom", path: ["path"], message: "give exactly one of path and url" });
    }
    if (o.path !== undefined) {
      for (const key of ["headers", "auth"] as const) {
        if (o[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: "only with url" });
      }
    }
    if (!o.header) {
      for (const [name, col] of fieldEntries(o.columns)) {
        if (typeof col === "string") {
          ctx.addIssue({
            code: "custom",
            path: ["columns", ...name.split(".")],
            message: "without a header row, columns are 1-based numbers",
          });
        }
      }
    }
  });

export type CsvOptions = z.output<typeof csvOptions>;
type Column = z.output<typeof column>;

const show = (col: Column) => (typeof col === "number" ? `column ${col}` : `column "${col}"`);

interface Layout {
  /** 0-based index of each mapped column, by option name. */
  index: Map<string, number>;
  label: Map<string, string>;
  /** The fewest fields a row needs for every mapped column. */
  width: number;
}

/** Resolves columns against the header row (names) or as positions; throws naming each missing column. */
function layoutOf(columns: CsvOptions["columns"], header: string[] | null, source: string): Layout {
  const names = header?.map((h) => h.trim());
  const index = new Map<string, number>();
  const label = new Map<string, string>();
  const missing: string[] = [];
  for (const [option, col] of fieldEntries(columns)) {
    let i: number;
    if (typeof col === "number") i = col - 1;
    else {
      i = names ? names.indexOf(col) : -1;
      if (i < 0) missing.push(`"${col}" (columns.${option})`);
    }
    index.set(option, i);
    label.set(option, show(col));
  }
  if (missing.length > 0) {
    throw new SourceError(
      `${source}: the header row has no column ${missing.join(", no column ")}; it has ${names!.map((n) => JSON.stringify(n)).join(", ")}`,
    );
  }
  return { index, label, width: Math.max(...index.values()) + 1 };
}

function readRow(rec: CsvRecord, layout: Layout, columns: CsvOptions["columns"]): ReadRecord {
  const where = rec.row === rec.line ? `row ${rec.row}` : `row ${rec.row} (line ${rec.line})`;
  const cell = (option: string) => rec.fields[layout.index.get(option)!];
  const rawId = cell("externalId")?.trim();
  const externalId = rawId ? rawId : undefined;
  const reject = (reason: string): RejectedRecord => rejection(`${where}: ${reason}`, externalId);
  if (rec.fields.length < layout.width) {
    const absent = [...layout.index]
      .filter(([, i]) => i >= rec.fields.length)
      .map(([o]) => `${o} (${layout.label.get(o)})`);
    return reject(
      `has ${rec.fields.length} field${rec.fields.length === 1 ? "" : "s"}, so no ${absent.join(", no ")}`,
    );
  }
  // The id (above) and the dimensions are read trimmed.
  const raw = rawFieldsOf(columns, (_, option) =>
    option.startsWith("dimensions.") ? cell(option)!.trim() : cell(option),
  );
  return readObservation(
    { ...raw, externalId: externalId ?? "" },
    {
      source: (option) => ` (${layout.label.get(option)})`,
      absent: (v) => (typeof v === "string" && v.trim() === "" ? "is empty" : null),
      prefix: `${where}: `,
      idExpected: "an id",
      digitsAsEpochMs: true,
    },
  );
}

/** The file's text, chunk by chunk. */
async function* chunksOf(ctx: CollectContext<CsvOptions>): AsyncGenerator<string> {
  const o = ctx.options;
  if (o.url !== undefined) {
    const res = await ctx.http.text({ url: o.url, headers: o.headers, auth: o.auth });
    yield res.body;
    return;
  }
  const file = path.resolve(o.path!);
  const stream = fs.createReadStream(file, { encoding: o.encoding, signal: ctx.signal });
  // for await destroys the stream when the consumer stops early.
  for await (const chunk of stream) yield chunk as string;
}

async function* collect(ctx: CollectContext<CsvOptions>): AsyncGenerator<ReadRecord> {
  const o = ctx.options;
  const source = o.url ?? path.resolve(o.path!);
  const parser = new CsvParser({ delimiter: o.delimiter });
  let layout: Layout | null = o.header ? null : layoutOf(o.columns, null, source);

  function* handle(records: CsvRecord[]): Generator<ReadRecord> {
    for (const rec of records) {
      if (layout === null) {
        layout = layoutOf(o.columns, rec.fields, source);
        continue;
      }
      yield readRow(rec, layout, o.columns);
    }
  }

  try {
    for await (const chunk of chunksOf(ctx)) {
      ctx.signal.throwIfAborted();
      yield* handle(parser.push(chunk));
    }
    yield* handle(parser.end());
  } catch (e) {
    if (e instanceof Error && e.name === "CsvSyntaxError") throw new SourceError(`${source}: ${e.message}`);
    throw e;
  }
  if (layout === null) throw new SourceError(`${source}: the file is empty (no header row)`);
}

export const csvCollector = defineCollector({
  type: "csv",
  description:
    "Reads observations from a CSV file (a path or a URL), one per row, re-reading the whole file each run.",
  options: csvOptions,
  collect,
});
