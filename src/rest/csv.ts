import { stringify } from "csv-stringify/sync";

/** RFC 4180: CRLF line ends, a header row of the column names, empty fields for null, quoting as needed. */
export function toCsv(columns: readonly string[], rows: Record<string, unknown>[]): string {
  return stringify(rows, {
    header: true,
    columns: [...columns],
    record_delimiter: "\r\n",
    cast: {
      boolean: (v) => (v ? "true" : "false"),
      date: (v) => v.toISOString(),
      number: (v) => String(v),
      object: (v) => JSON.stringify(v),
    },
  });
}
