// A small streaming CSV parser (RFC 4180, read leniently), fed chunk by chunk so a large file never sits
// in memory. The dialect:
//
// - Fields are separated by `delimiter` (one character, default ","); records end at CRLF, LF or a lone CR.
// - A field that starts with `"` is quoted: it runs to the closing `"`, and may contain the delimiter,
//   CR and LF; `""` inside it is one `"`. Text after the closing quote is kept as is (`"a"b` → `ab`).
// - A `"` inside an unquoted field is an ordinary character (`5" disk` stays `5" disk`).
// - A UTF-8 byte order mark at the very start is dropped. Blank lines give no record (they still count
//   as rows). A last record without a final line break is a record. Fields are not trimmed.
// - A quoted field still open at the end of the input is an error (the file is truncated or malformed).

export interface CsvRecord {
  fields: string[];
  /** 1-based record number in the input, counting blank lines and the header: a spreadsheet's row number. */
  row: number;
  /** 1-based line where the record starts (differs from `row` after quoted line breaks). */
  line: number;
}

export class CsvSyntaxError extends Error {
  override name = "CsvSyntaxError";
}

/**
 * Where the parser is: at the start of a field, inside an unquoted or a quoted field, or just after a `"`
 * inside a quoted field (either the first half of `""` or the closing quote).
 */
type State = "fieldStart" | "unquoted" | "quoted" | "quoteInQuoted";

export class CsvParser {
  private readonly delimiter: string;
  private state: State = "fieldStart";
  private field = "";
  private fields: string[] = [];
  /** Any character read since the record started (a blank line reads none). */
  private sawChar = false;
  /** The previous record ended on CR: a following LF belongs to it. */
  private pendingCR = false;
  private first = true;
  private row = 1;
  private line = 1;
  private recordLine = 1;

  constructor(opts: { delimiter?: string } = {}) {
    const d = opts.delimiter ?? ",";
    if (d.length !== 1 || d === '"' || d === "\r" || d === "\n") {
      throw new Error(
        `CSV delimiter must be one character other than a quote or a line break, got ${JSON.stringify(d)}`,
      );
    }
    this.delimiter = d;
  }

  /** Parses a chunk; returns the records it completed. */
  push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    let i = 0;
    if (this.first && chunk.length > 0) {
      this.first = false;
      if (chunk.charCodeAt(0) === 0xfeff) i = 1;
    }
    const d = this.delimiter;
    for (; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.pendingCR) {
        this.pendingCR = false;
        if (c === "\n") continue;
      }
      switch (this.state) {
        case "fieldStart":
        case "unquoted": {
          if (c === d) {
            this.fields.push(this.field);
            this.field = "";
            this.state = "fieldStart";
            this.sawChar = true;
          } else if (c === "\n" || c === "\r") {
            this.endRecord(out);
            this.pendingCR = c === "\r";
          } else if (c === '"' && this.state === "fieldStart") {
            this.state = "quoted";
            this.sawChar = true;
          } else {
            // Fast path: take the run of ordinary characters at once.
            let j = i + 1;
            while (j < chunk.length) {
              const x = chunk[j]!;
              if (x === d || x === "\n" || x === "\r") break;
              j++;
            }
            this.field += chunk.slice(i, j);
            i = j - 1;
            this.state = "unquoted";
            this.sawChar = true;
          }
          break;
        }
        case "quoted": {
          if (c === '"') {
            this.state = "quoteInQuoted";
          } else {
            let j = i + 1;
            while (j < chunk.length && chunk[j] !== '"') j++;
            const text = chunk.slice(i, j);
            this.field += text;
            for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) === 10) this.line++;
            i = j - 1;
          }
          break;
        }
        case "quoteInQuoted": {
          if (c === '"') {
            this.field += '"';
            this.state = "quoted";
          } else if (c === d) {
            this.fields.push(this.field);
            this.field = "";
            this.state = "fieldStart";
          } else if (c === "\n" || c === "\r") {
            this.endRecord(out);
            this.pendingCR = c === "\r";
          } else {
            this.field += c;
            this.state = "unquoted";
          }
          break;
        }
      }
    }
    return out;
  }

  /** Ends the input: returns the last record when it had no final line break. */
  end(): CsvRecord[] {
    if (this.state === "quoted") {
      throw new CsvSyntaxError(
        `row ${this.row} (line ${this.recordLine}): a quoted field is not closed before the end of the file`,
      );
    }
    const out: CsvRecord[] = [];
    if (this.sawChar) this.endRecord(out);
    return out;
  }

  private endRecord(out: CsvRecord[]): void {
    if (this.sawChar) {
      this.fields.push(this.field);
      out.push({ fields: this.fields, row: this.row, line: this.recordLine });
    }
    this.fields = [];
    this.field = "";
    this.state = "fieldStart";
    this.sawChar = false;
    this.row++;
    this.line++;
    this.recordLine = this.line;
  }
}

/** Parses a whole string (tests, small inputs). */
export function parseCsv(text: string, opts: { delimiter?: string } = {}): CsvRecord[] {
  const p = new CsvParser(opts);
  return [...p.push(text), ...p.end()];
}
