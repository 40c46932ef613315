import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";

export interface Line {
  /** 1-based physical line number in the body. */
  line: number;
  text: string;
}

export class LineTooLongError extends Error {
  constructor(
    readonly line: number,
    readonly max: number,
  ) {
    super(`line longer than ${max} bytes`);
  }
}

/**
 * Splits a byte stream into text lines (LF or CRLF), without holding more than one line and one chunk:
 * the body of a bulk request is never read into memory whole. A line longer than `maxBytes` ends the
 * stream with LineTooLongError instead of growing a buffer without bound.
 */
export async function* splitLines(body: Readable, maxBytes: number): AsyncGenerator<Line> {
  // A multi-byte character split across two chunks is decoded whole.
  const decoder = new StringDecoder("utf8");
  let pending = "";
  let line = 0;
  for await (const chunk of body) {
    const text = pending + (typeof chunk === "string" ? chunk : decoder.write(chunk as Buffer));
    let start = 0;
    for (let nl = text.indexOf("\n", start); nl !== -1; nl = text.indexOf("\n", start)) {
      line++;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (end - start > maxBytes) throw new LineTooLongError(line, maxBytes);
      yield { line, text: text.slice(start, end) };
      start = nl + 1;
    }
    pending = text.slice(start);
    if (pending.length > maxBytes) throw new LineTooLongError(line + 1, maxBytes);
  }
  pending += decoder.end();
  if (pending.length > 0) {
    line++;
    yield { line, text: pending.endsWith("\r") ? pending.slice(0, -1) : pending };
  }
}
