import { Readable } from "node:stream";
import { parse } from "csv-parse";
import { describe, expect, it } from "vitest";
import { type CsvBatch, CsvBatchParser } from "../../src/ingest/csv-batches.js";

// CsvBatchParser gives csv-parse's records in batches with the line each ends on, without csv-parse's
// `info` option; the line must be the one `info.lines` gives (the reference here), whatever the pieces
// the body arrives in.

const OPTIONS = { bom: true, skip_empty_lines: true, relax_column_count: true } as const;

async function batched(body: string, piece: number): Promise<[string[], number][]> {
  const bytes = Buffer.from(body);
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += piece) pieces.push(bytes.subarray(i, i + piece));
  const out: [string[], number][] = [];
  for await (const { records, lines } of Readable.from(pieces).pipe(
    new CsvBatchParser(OPTIONS),
  ) as AsyncIterable<CsvBatch>) {
    expect(records.length).toBe(lines.length);
    for (let i = 0; i < records.length; i++) out.push([records[i], lines[i]]);
  }
  return out;
}

async function reference(body: string): Promise<[string[], number][]> {
  const out: [string[], number][] = [];
  for await (const { record, info } of Readable.from([Buffer.from(body)]).pipe(
    parse({ ...OPTIONS, info: true }),
  ) as AsyncIterable<{ record: string[]; info: { lines: number } }>)
    out.push([record, info.lines]);
  return out;
}

const BODY = [
  "\uFEFFprojectSlug,metricKey,observedAt,value,dim.note",
  "p,m,2025-05-01T00:00:00Z,1,plain",
  "",
  'p,m,2025-05-02T00:00:00Z,2,"two\nlines"',
  "p,m,2025-05-03T00:00:00Z,3",
  "",
  "",
  'p,m,2025-05-04T00:00:00Z,4,"quote "" and, comma"',
  "p,m,2025-05-05T00:00:00Z,5,é😀",
].join("\r\n");

describe("CsvBatchParser", () => {
  it("gives each record with the line it ends on, as csv-parse's info does", async () => {
    const want = await reference(BODY);
    // Lines by hand: header 1; data on 2, 4–5 (a quoted line break), 6, 9, 10.
    expect(want.map(([, line]) => line)).toEqual([1, 2, 5, 6, 9, 10]);
    for (const piece of [1, 2, 3, 7, 64, 1 << 16]) expect(await batched(BODY, piece)).toEqual(want);
  });

  it("keeps the lines of a long body in many pieces", async () => {
    const lines = ["a,b"];
    for (let i = 0; i < 20_000; i++) lines.push(i % 7 === 0 ? "" : `${i},"x${i % 3 === 0 ? "\n" : ""}y"`);
    const body = `${lines.join("\n")}\n`;
    const want = await reference(body);
    expect(want).toHaveLength(1 + 20_000 - Math.ceil(20_000 / 7));
    expect(await batched(body, 4096)).toEqual(want);
  });

  it("fails with csv-parse's error and line on a quote left open", async () => {
    const body = 'a,b\n1,2\n3,"open\n4,5\n';
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e) => [(e as { code: string }).code, (e as { lines: number }).lines],
      );
    const want = await failure(reference(body));
    expect(want?.[0]).toBe("CSV_QUOTE_NOT_CLOSED");
    for (const piece of [1, 5, 1 << 16]) expect(await failure(batched(body, piece))).toEqual(want);
  });
});
