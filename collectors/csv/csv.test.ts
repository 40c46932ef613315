import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SourceRecord } from "../../src/collect/types.js";
import { drive, parseExample } from "../../test/helpers/drive-collector.js";
import { type LocalServer, startLocalServer } from "../../test/helpers/local-server.js";
import { csvCollector, csvOptions } from "./index.js";
import { CsvParser, parseCsv } from "./parse.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-csv-"));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

// A BOM, CRLF line ends, a quoted header with the delimiter in it, escaped quotes, a quoted line break,
// a blank line, epoch milliseconds, and bad rows; the last line has no line break.
const TICKETS = [
  '\uFEFFticket id,closed at,minutes,team,"calls, total"',
  "T-1,2025-03-01T10:00:00Z,12.5,emea,3",
  '"T-2","2025-03-01T12:00:00+02:00","7","ap""ac",',
  'T-3,2025-03-02T00:00:00Z,"1,5",emea,1',
  '"T-4",2025-03-02T01:00:00Z,4,"north\r\nwest",2',
  "T-5,not a date,5,emea,1",
  "",
  "T-6,1740830400000,6,,1",
  "T-7,2025-03-03T00:00:00Z,7",
  ",2025-03-03T00:00:00Z,8,emea,1",
  "T-8,2025-03-04T00:00:00Z, 8 ,emea,x",
  'T-9,2025-03-05T00:00:00-01:00, -0.25 ,"emea, south",2.5',
].join("\r\n");

const columns = {
  observedAt: "closed at",
  value: "minutes",
  externalId: "ticket id",
  weight: "calls, total",
  dimensions: { team: "team" },
};

const EXPECTED = [
  {
    externalId: "T-1",
    observedAt: "2025-03-01T10:00:00.000Z",
    value: 12.5,
    weight: 3,
    dimensions: { team: "emea" },
  },
  { externalId: "T-2", observedAt: "2025-03-01T10:00:00.000Z", value: 7, dimensions: { team: 'ap"ac' } },
  {
    externalId: "T-4",
    observedAt: "2025-03-02T01:00:00.000Z",
    value: 4,
    weight: 2,
    dimensions: { team: "north\r\nwest" },
  },
  { externalId: "T-6", observedAt: "2025-03-01T12:00:00.000Z", value: 6, weight: 1 },
  {
    externalId: "T-9",
    observedAt: "2025-03-05T01:00:00.000Z",
    value: -0.25,
    weight: 2.5,
    dimensions: { team: "emea, south" },
  },
];

const REJECTED = [
  { kind: "rejected", externalId: "T-3", reason: 'row 4: value "1,5" (column "minutes") is not a number' },
  {
    kind: "rejected",
    externalId: "T-5",
    reason:
      'row 6 (line 7): observedAt "not a date" (column "closed at") is not an ISO-8601 date-time with an offset or epoch milliseconds',
  },
  {
    kind: "rejected",
    externalId: "T-7",
    reason:
      'row 9 (line 10): has 3 fields, so no weight (column "calls, total"), no dimensions.team (column "team")',
  },
  { kind: "rejected", reason: 'row 10 (line 11): externalId (column "ticket id") is empty' },
  {
    kind: "rejected",
    externalId: "T-8",
    reason: 'row 11 (line 12): weight "x" (column "calls, total") is not a number',
  },
];

const plain = (records: SourceRecord[]) =>
  records
    .filter((r) => r.kind === undefined || r.kind === "observation")
    .map((r) => {
      const o = r as Extract<SourceRecord, { observedAt: Date }>;
      return {
        externalId: o.externalId,
        observedAt: o.observedAt.toISOString(),
        value: o.value,
        ...(o.weight !== undefined ? { weight: o.weight } : {}),
        ...(o.dimensions ? { dimensions: o.dimensions } : {}),
      };
    });
const rejected = (records: SourceRecord[]) => records.filter((r) => r.kind === "rejected");

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer((req, res, url) => {
    if (url.pathname === "/tickets.csv") {
      if (req.headers.authorization !== "Bearer t0k") {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { "content-type": "text/csv; charset=utf-8" }).end(TICKETS);
      return;
    }
    res.writeHead(404).end("no such file");
  });
});

afterAll(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("CSV parser", () => {
  const rows = (text: string, delimiter?: string) => parseCsv(text, { delimiter }).map((r) => r.fields);

  it("reads RFC 4180 quoting: delimiters, line breaks and doubled quotes inside quotes", () => {
    expect(rows('a,b,c\r\n"1,5","say ""hi""","x\r\ny"\r\n')).toEqual([
      ["a", "b", "c"],
      ["1,5", 'say "hi"', "x\r\ny"],
    ]);
  });

  it("accepts LF and lone CR line ends, a missing final line break, empty fields and a BOM", () => {
    expect(rows("\uFEFFa,b\n1,\r,2\r\n\n,")).toEqual([
      ["a", "b"],
      ["1", ""],
      ["", "2"],
      ["", ""],
    ]);
    expect(rows("")).toEqual([]);
    expect(rows("\n\n")).toEqual([]);
  });

  it("is lenient with stray quotes and keeps spaces", () => {
    expect(rows('5" disk, "a"b ,"q"\n')).toEqual([['5" disk', ' "a"b ', "q"]]);
  });

  it("uses another delimiter", () => {
    expect(rows('a;"b;c";d\n', ";")).toEqual([["a", "b;c", "d"]]);
    expect(rows("a\tb\n", "\t")).toEqual([["a", "b"]]);
  });

  it("numbers rows like a spreadsheet and lines like an editor", () => {
    const got = parseCsv('h\n"a\nb"\n\nc\n').map((r) => [r.fields[0], r.row, r.line]);
    expect(got).toEqual([
      ["h", 1, 1],
      ["a\nb", 2, 2],
      ["c", 4, 5],
    ]);
    // CRLF is one line break, not two.
    expect(parseCsv("h\r\nx\r\n\r\ny").map((r) => [r.fields[0], r.row, r.line])).toEqual([
      ["h", 1, 1],
      ["x", 2, 2],
      ["y", 4, 4],
    ]);
  });

  it("gives the same records however the input is cut into chunks", () => {
    const whole = parseCsv(TICKETS);
    expect(whole).toHaveLength(11);
    for (let size = 1; size <= 7; size++) {
      const p = new CsvParser();
      const got = [];
      for (let i = 0; i < TICKETS.length; i += size) got.push(...p.push(TICKETS.slice(i, i + size)));
      got.push(...p.end());
      expect(got).toEqual(whole);
    }
    // Every two-piece cut, including between CR and LF and between the two quotes of "".
    for (let cut = 0; cut <= TICKETS.length; cut++) {
      const p = new CsvParser();
      const got = [...p.push(TICKETS.slice(0, cut)), ...p.push(TICKETS.slice(cut)), ...p.end()];
      expect(got).toEqual(whole);
    }
  });

  it("refuses a quoted field left open at the end", () => {
    expect(() => parseCsv('a,b\n1,"open\n2,3\n')).toThrow(/row 2 \(line 2\): a quoted field is not closed/);
  });
});

describe("csv options", () => {
  const issues = (raw: unknown) => {
    const r = csvOptions.safeParse(raw);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };

  it("applies the defaults", () => {
    const o = csvOptions.parse({ path: "x.csv", columns });
    expect([o.delimiter, o.header, o.encoding]).toEqual([",", true, "utf8"]);
  });

  it("wants exactly one of path and url, and numbered columns without a header", () => {
    expect(issues({ columns })).toEqual(["path: give exactly one of path and url"]);
    expect(issues({ path: "a.csv", url: "https://x.example.com/a.csv", columns })).toEqual([
      "path: give exactly one of path and url",
    ]);
    expect(issues({ path: "a.csv", columns, auth: { type: "bearer", token: "t" } })).toEqual([
      "auth: only with url",
    ]);
    expect(issues({ path: "a.csv", header: false, columns: { ...columns, value: 3 } })).toEqual([
      "columns.observedAt: without a header row, columns are 1-based numbers",
      "columns.externalId: without a header row, columns are 1-based numbers",
      "columns.weight: without a header row, columns are 1-based numbers",
      "columns.dimensions.team: without a header row, columns are 1-based numbers",
    ]);
    expect(issues({ path: "a.csv", columns, delimiter: '"' })).toEqual([
      "delimiter: must not be a quote or a line break",
    ]);
    expect(issues({ path: "a.csv", columns, delimiter: ";;" })).toEqual([
      "delimiter: must be exactly one character",
    ]);
  });

  it("accepts its example.yaml", () => {
    const [o] = parseExample(csvCollector, path.join(here, "example.yaml"));
    expect(o!.path).toBeDefined();
  });
});

describe("csv collector", () => {
  it("reads a file: quoted fields, CRLF, BOM, embedded delimiters; bad rows rejected with their row", async () => {
    const file = write("tickets.csv", TICKETS);
    const records = await drive(csvCollector, { path: file, columns });
    expect(plain(records)).toEqual(EXPECTED);
    expect(rejected(records)).toEqual(REJECTED);
    expect(records.every((r) => r.cursor === undefined)).toBe(true);
  });

  it("reads the same file from a URL", async () => {
    const records = await drive(csvCollector, {
      url: `${server.url}/tickets.csv`,
      auth: { type: "bearer", token: "t0k" },
      columns,
    });
    expect(plain(records)).toEqual(EXPECTED);
    expect(rejected(records)).toEqual(REJECTED);
  });

  it("fails the run when the URL does not answer the file", async () => {
    await expect(drive(csvCollector, { url: `${server.url}/missing.csv`, columns })).rejects.toThrow(/404/);
  });

  it("reads a file without a header, by column number, with another delimiter", async () => {
    const file = write("plain.csv", "a;2025-01-01T00:00:00Z;1.5\nb;2025-01-02T00:00:00Z;2,5\n");
    const records = await drive(csvCollector, {
      path: file,
      header: false,
      delimiter: ";",
      columns: { externalId: 1, observedAt: 2, value: 3 },
    });
    expect(plain(records)).toEqual([{ externalId: "a", observedAt: "2025-01-01T00:00:00.000Z", value: 1.5 }]);
    expect(rejected(records)).toEqual([
      { kind: "rejected", externalId: "b", reason: 'row 2: value "2,5" (column 3) is not a number' },
    ]);
  });

  it("throws naming every mapped column the header lacks", async () => {
    const file = write("header.csv", "id,when,minutes\n1,2025-01-01T00:00:00Z,3\n");
    await expect(drive(csvCollector, { path: file, columns })).rejects.toThrow(
      `${file}: the header row has no column "closed at" (columns.observedAt), no column "ticket id" (columns.externalId), no column "calls, total" (columns.weight), no column "team" (columns.dimensions.team); it has "id", "when", "minutes"`,
    );
  });

  it("throws on an empty file, a missing file and an unclosed quote", async () => {
    await expect(drive(csvCollector, { path: write("empty.csv", ""), columns })).rejects.toThrow(
      /the file is empty/,
    );
    await expect(drive(csvCollector, { path: path.join(dir, "nope.csv"), columns })).rejects.toThrow(
      /ENOENT/,
    );
    const open = write("open.csv", 'ticket id,closed at,minutes\n"T-1,2025-01-01T00:00:00Z,1\n');
    await expect(
      drive(csvCollector, {
        path: open,
        columns: { externalId: "ticket id", observedAt: "closed at", value: "minutes" },
      }),
    ).rejects.toThrow(`${open}: row 2 (line 2): a quoted field is not closed before the end of the file`);
  });

  it("streams a large file with quoted line breaks across chunk boundaries", async () => {
    // 100,000 rows (several MB, many 64 KiB chunks); every 7th has a quoted multi-line note.
    const n = 100_000;
    const lines = ["id,at,v,note"];
    let expectedSum = 0;
    for (let i = 0; i < n; i++) {
      const v = (i % 1000) / 4;
      expectedSum += v;
      const note = i % 7 === 0 ? `"line one\r\nline ""two"", ${i}"` : `plain ${i}`;
      lines.push(`id-${i},${new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString()},${v},${note}`);
    }
    const file = write("large.csv", `${lines.join("\r\n")}\r\n`);
    let count = 0;
    let sum = 0;
    let lastId = "";
    for (const r of await drive(csvCollector, {
      path: file,
      columns: { externalId: "id", observedAt: "at", value: "v", dimensions: { note: "note" } },
    })) {
      if (r.kind === "rejected" || r.kind === "checkpoint")
        throw new Error(`unexpected ${JSON.stringify(r)}`);
      count++;
      sum += r.value;
      lastId = r.externalId;
      if (r.externalId === "id-700") expect(r.dimensions).toEqual({ note: 'line one\r\nline "two", 700' });
    }
    expect(count).toBe(n);
    expect(lastId).toBe(`id-${n - 1}`);
    expect(sum).toBeCloseTo(expectedSum, 6);
  });
});
