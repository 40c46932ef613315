// Measures the `query` member of a JSON request body as its bytes arrive, without JSON.parse: a 5 MB
// document is refused before the body is even kept, let alone turned into a 5 MB string and an object
// (what ten parallel oversized requests would otherwise cost in memory).

enum Mode {
  Normal,
  Str, // a string we only skip
  Key, // a key of an object that may hold `query`
  AfterKey, // until the colon
  BeforeValue, // whitespace before the value
  Query, // the value of `query`: counted
}

const QUERY = [0x71, 0x75, 0x65, 0x72, 0x79]; // "query"

/**
 * Incremental scanner: `push` chunks; `largest` is the largest UTF-8 length (decoded) of a string-valued
 * `query` member of the top-level object, or of the objects of a top-level array (a batch). Malformed
 * JSON yields whatever was seen: JSON.parse reports it afterwards.
 */
export class QueryScanner {
  largest = 0;
  private mode = Mode.Normal;
  private depth = 0;
  private topIsArray = false;
  private expectKey = false;
  private escape = 0; // 0 none; 1 after a backslash; 2..5 hex digits of \u seen so far + 1
  private hex = 0;
  private keyPos = 0; // bytes of the key matched against "query"; -1 = no match
  private count = 0;

  push(buf: Buffer): void {
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      switch (this.mode) {
        case Mode.Normal:
          if (c === 0x22) {
            const keyDepth = this.topIsArray ? 2 : 1;
            if (this.expectKey && this.depth === keyDepth) {
              this.expectKey = false;
              this.mode = Mode.Key;
              this.keyPos = 0;
            } else {
              this.mode = Mode.Str;
            }
          } else if (c === 0x7b) {
            this.depth++;
            this.expectKey = true;
          } else if (c === 0x5b) {
            if (this.depth === 0) this.topIsArray = true;
            this.depth++;
          } else if (c === 0x7d || c === 0x5d) {
            this.depth--;
          } else if (c === 0x2c) {
            this.expectKey = true;
          }
          break;
        case Mode.Str: {
          // Most of a body's bytes are inside strings: skip to the closing quote in a tight loop.
          const n = buf.length;
          let j = i;
          if (this.escape) {
            this.escape = 0;
            j++;
          }
          while (j < n) {
            const d = buf[j];
            if (d === 0x22) break;
            if (d === 0x5c) {
              if (j + 1 >= n) {
                this.escape = 1; // the escaped byte is in the next chunk
                j = n;
                break;
              }
              j += 2;
              continue;
            }
            j++;
          }
          if (j < n) this.mode = Mode.Normal; // buf[j] is the closing quote
          i = j;
          break;
        }
        case Mode.Key:
          if (this.escape) {
            this.escape = 0;
            this.keyPos = -1;
          } else if (c === 0x5c) {
            this.escape = 1;
          } else if (c === 0x22) {
            this.keyPos = this.keyPos === QUERY.length ? 1 : 0; // 1: it was "query"
            this.mode = Mode.AfterKey;
          } else if (this.keyPos >= 0 && this.keyPos < QUERY.length && c === QUERY[this.keyPos]) {
            this.keyPos++;
          } else {
            this.keyPos = -1;
          }
          break;
        case Mode.AfterKey:
          if (c === 0x3a) this.mode = Mode.BeforeValue;
          break;
        case Mode.BeforeValue:
          if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) break;
          if (c === 0x22 && this.keyPos === 1) {
            this.mode = Mode.Query;
            this.count = 0;
          } else {
            this.mode = Mode.Normal;
            i--; // the value starts here: let Normal see it
          }
          break;
        case Mode.Query:
          this.query(c);
          break;
      }
    }
  }

  private query(c: number) {
    if (this.escape === 1) {
      if (c === 0x75) {
        this.escape = 2;
        this.hex = 0;
      } else {
        this.escape = 0;
        this.count++;
      }
      return;
    }
    if (this.escape >= 2) {
      this.hex = this.hex * 16 + (Number.parseInt(String.fromCharCode(c), 16) || 0);
      if (++this.escape === 6) {
        this.escape = 0;
        // Surrogate halves count 2 each: a pair is the 4 bytes of its code point.
        this.count +=
          this.hex < 0x80 ? 1 : this.hex < 0x800 || (this.hex >= 0xd800 && this.hex <= 0xdfff) ? 2 : 3;
      }
      return;
    }
    if (c === 0x5c) this.escape = 1;
    else if (c === 0x22) {
      this.largest = Math.max(this.largest, this.count);
      this.mode = Mode.Normal;
    } else this.count++;
  }

  /** Bytes of the `query` being read right now (unfinished), or the largest finished one. */
  get current(): number {
    return this.mode === Mode.Query ? Math.max(this.largest, this.count) : this.largest;
  }
}

export function largestQueryBytes(buf: Buffer): number {
  const s = new QueryScanner();
  s.push(buf);
  return s.current;
}
