// JSON.parse for the lines of an NDJSON body, without V8's interning of short strings.
//
// V8's JSON.parse interns every string value of up to 10 characters: it is allocated in the old
// generation and entered in the string table. A body of a million distinct short externalIds ("10000001",
// "PROJ-1234") thus left ~23 MB of old-generation garbage and a string table of a million entries, freed
// only by a full GC. This parser makes the same values with String.prototype.slice and concatenation
// (young, they die with the line). Anything it does not handle (deep nesting, a "__proto__" key, any syntax error) is handed to
// JSON.parse, whose value and error then stand.

/** Returned by a step that leaves the line to JSON.parse. */
const FALLBACK: unique symbol = Symbol("fallback");
type Parsed = unknown | typeof FALLBACK;

/** Nesting beyond this goes to JSON.parse (observation lines nest one level: dimensions). */
const MAX_DEPTH = 16;
/** Integers of up to this many digits are exact in a double when summed digit by digit. */
const EXACT_DIGITS = 15;

// One line at a time (synchronous): the text and the position are module state, not an object per line.
let s = "";
let i = 0;

export function parseJsonLine(text: string): unknown {
  s = text;
  i = 0;
  let v = value(0);
  if (v !== FALLBACK) {
    space();
    if (i !== s.length) v = FALLBACK;
  }
  s = "";
  return v === FALLBACK ? JSON.parse(text) : v;
}

function space(): void {
  for (let c = s.charCodeAt(i); c === 32 || c === 9 || c === 10 || c === 13; c = s.charCodeAt(++i));
}

function value(depth: number): Parsed {
  space();
  const c = s.charCodeAt(i);
  if (c === 34 /* " */) return string();
  if (c === 123 /* { */) return depth < MAX_DEPTH ? object(depth + 1) : FALLBACK;
  if (c === 91 /* [ */) return depth < MAX_DEPTH ? array(depth + 1) : FALLBACK;
  if (c === 45 /* - */ || (c >= 48 && c <= 57)) return number();
  if (s.startsWith("true", i)) {
    i += 4;
    return true;
  }
  if (s.startsWith("false", i)) {
    i += 5;
    return false;
  }
  if (s.startsWith("null", i)) {
    i += 4;
    return null;
  }
  return FALLBACK;
}

/** Whether the last string read had no escapes (only such keys are recognised in place). */
let plain = true;

/** A string; `i` is at its opening quote. */
function string(): Parsed {
  const start = i + 1;
  const n = s.length;
  for (let j = start; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === 34) {
      i = j + 1;
      plain = true;
      return s.slice(start, j);
    }
    if (c === 92 /* \ */) return escaped(start, j);
    if (c < 32) return FALLBACK;
  }
  return FALLBACK;
}

const ESCAPES: Record<number, string> = {
  34: '"',
  92: "\\",
  47: "/",
  98: "\b",
  102: "\f",
  110: "\n",
  114: "\r",
  116: "\t",
};
const HEX4 = /^[0-9a-fA-F]{4}$/;

/** The rest of a string whose first backslash is at `j`: plain runs and decoded escapes, concatenated. */
function escaped(start: number, j: number): Parsed {
  plain = false;
  let out = s.slice(start, j);
  let from = j;
  const n = s.length;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === 34) {
      i = j + 1;
      return out + s.slice(from, j);
    }
    if (c < 32) return FALLBACK;
    if (c !== 92) {
      j++;
      continue;
    }
    out += s.slice(from, j);
    const e = s.charCodeAt(j + 1);
    if (e === 117 /* u */) {
      const hex = s.slice(j + 2, j + 6);
      if (!HEX4.test(hex)) return FALLBACK;
      out += String.fromCharCode(Number.parseInt(hex, 16));
      j += 6;
    } else {
      const ch = ESCAPES[e];
      if (ch === undefined) return FALLBACK;
      out += ch;
      j += 2;
    }
    from = j;
  }
  return FALLBACK;
}

/** -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? as JSON defines it. */
function number(): Parsed {
  const start = i;
  let negative = false;
  if (s.charCodeAt(i) === 45) {
    negative = true;
    i++;
  }
  let c = s.charCodeAt(i);
  if (c === 48) c = s.charCodeAt(++i);
  else if (c >= 49 && c <= 57) {
    let int = 0;
    const first = i;
    for (; c >= 48 && c <= 57; c = s.charCodeAt(++i)) int = int * 10 + (c - 48);
    if (c !== 46 && c !== 101 && c !== 69 && i - first <= EXACT_DIGITS) return negative ? -int : int;
  } else return FALLBACK;
  if (c === 46 /* . */) {
    c = s.charCodeAt(++i);
    if (!(c >= 48 && c <= 57)) return FALLBACK;
    while (c >= 48 && c <= 57) c = s.charCodeAt(++i);
  }
  if (c === 101 || c === 69 /* e E */) {
    c = s.charCodeAt(++i);
    if (c === 43 || c === 45) c = s.charCodeAt(++i);
    if (!(c >= 48 && c <= 57)) return FALLBACK;
    while (c >= 48 && c <= 57) c = s.charCodeAt(++i);
  }
  return Number(s.slice(start, i));
}

function object(depth: number): Parsed {
  const o: Record<string, unknown> = {};
  i++;
  space();
  if (s.charCodeAt(i) === 125 /* } */) {
    i++;
    return o;
  }
  for (let k = 0; ; k++) {
    if (s.charCodeAt(i) !== 34) return FALLBACK;
    const key = knownKey(depth, k) ?? string();
    const keyPlain = plain;
    // Assigning "__proto__" would set the prototype; JSON.parse makes it an own property.
    if (key === FALLBACK || key === "__proto__") return FALLBACK;
    space();
    if (s.charCodeAt(i) !== 58 /* : */) return FALLBACK;
    i++;
    const v = value(depth);
    if (v === FALLBACK) return FALLBACK;
    o[key as string] = v;
    if (k < 32 && keyPlain) keys[depth][k] = key as string;
    space();
    const c = s.charCodeAt(i++);
    if (c === 125) return o;
    if (c !== 44 /* , */) return FALLBACK;
    space();
  }
}

/**
 * The keys of the last object at each depth and position: lines repeat their keys in the same order, and
 * a key recognised in place costs neither a new string nor a string-table lookup.
 */
const keys: string[][] = Array.from({ length: MAX_DEPTH + 1 }, () => []);

function knownKey(depth: number, k: number): string | undefined {
  const key = keys[depth][k];
  if (key === undefined || !s.startsWith(key, i + 1) || s.charCodeAt(i + 1 + key.length) !== 34)
    return undefined;
  i += key.length + 2;
  plain = true;
  return key;
}

function array(depth: number): Parsed {
  const a: unknown[] = [];
  i++;
  space();
  if (s.charCodeAt(i) === 93 /* ] */) {
    i++;
    return a;
  }
  for (;;) {
    const v = value(depth);
    if (v === FALLBACK) return FALLBACK;
    a.push(v);
    space();
    const c = s.charCodeAt(i++);
    if (c === 93) return a;
    if (c !== 44) return FALLBACK;
  }
}
