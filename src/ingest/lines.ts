import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";

/** The lines of one piece of the body: `texts[i]` is physical line `first + i` (1-based). */
export interface LineBatch {
  first: number;
  texts: string[];
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
 * the body of a bulk request is never read into memory whole. Lines come in one batch per chunk of the
 * stream, so that the caller handles them without a promise per line. A line longer than `maxBytes` ends
 * the stream with LineTooLongError instead of growing a buffer without bound.
 */
export async function* splitLines(body: Readable, maxBytes: number): AsyncGenerator<LineBatch> {
  // A multi-byte character split across two chunks is decoded whole.
  const decoder = new StringDecoder("utf8");
  let pending = "";
  let line = 0;
  for await (const chunk of body) {
    const text = pending + (typeof chunk === "string" ? chunk : decoder.write(chunk as Buffer));
    const batch: LineBatch = { first: line + 1, texts: [] };
    let start = 0;
    for (let nl = text.indexOf("\n", start); nl !== -1; nl = text.indexOf("\n", start)) {
      line++;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (end - start > maxBytes) {
        if (batch.texts.length) yield batch;
        throw new LineTooLongError(line, maxBytes);
      }
      batch.texts.push(text.slice(start, end));
      start = nl + 1;
    }
    if (batch.texts.length) yield batch;
    pending = text.slice(start);
    if (pending.length > maxBytes) throw new LineTooLongError(line + 1, maxBytes);
  }
  pending += decoder.end();
  if (pending.length > 0) {
    line++;
    yield { first: line, texts: [pending.endsWith("\r") ? pending.slice(0, -1) : pending] };
  }
}
