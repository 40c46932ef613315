// A small JSONPath subset (no dependency), enough to point at a list and at fields of its items:
//
//   $               the root (the page, or the item for field paths)
//   .key            a member whose name is made of letters, digits, _ $ -
//   ['key'] ["key"] a member with any name (\' \" \\ escapes inside)
//   [n]             an array element, 0-based; [-1] is the last one
//   [*] .*          every element of an array or every member value of an object (a "wildcard")
//
// Not supported: recursive descent (..), filters ([?()]), slices ([a:b]), unions ([a,b]), functions.
// A path without a wildcard is "definite": it selects at most one value.

export type Segment = { kind: "key"; key: string } | { kind: "index"; index: number } | { kind: "wildcard" };

export interface JsonPath {
  /** The text it was compiled from. */
  source: string;
  segments: Segment[];
  /** True when the path has no wildcard, so it selects at most one value. */
  definite: boolean;
}

export class JsonPathSyntaxError extends Error {
  override name = "JsonPathSyntaxError";
}

const KEY_CHAR = /[A-Za-z0-9_$-]/;

/** Compiles a path; throws JsonPathSyntaxError saying where it went wrong. */
export function compileJsonPath(source: string): JsonPath {
  const fail = (at: number, what: string): never => {
    throw new JsonPathSyntaxError(`invalid JSONPath "${source}" at character ${at + 1}: ${what}`);
  };
  if (source[0] !== "$") fail(0, "must start with $");
  const segments: Segment[] = [];
  let i = 1;
  while (i < source.length) {
    const c = source[i];
    if (c === ".") {
      i++;
      if (source[i] === "*") {
        segments.push({ kind: "wildcard" });
        i++;
        continue;
      }
      if (source[i] === ".") fail(i, "recursive descent (..) is not supported");
      const start = i;
      while (i < source.length && KEY_CHAR.test(source[i]!)) i++;
      if (i === start) fail(start, "expected a member name after '.' (use ['name'] for other characters)");
      segments.push({ kind: "key", key: source.slice(start, i) });
    } else if (c === "[") {
      i++;
      const q = source[i];
      if (q === "*") {
        if (source[i + 1] !== "]") fail(i + 1, "expected ']' after '*'");
        segments.push({ kind: "wildcard" });
        i += 2;
      } else if (q === "'" || q === '"') {
        i++;
        let key = "";
        for (;;) {
          if (i >= source.length) fail(i, `unterminated quoted name (missing ${q})`);
          const ch = source[i]!;
          if (ch === "\\") {
            const next = source[i + 1];
            if (next === undefined) fail(i, "dangling backslash");
            key += next;
            i += 2;
          } else if (ch === q) {
            i++;
            break;
          } else {
            key += ch;
            i++;
          }
        }
        if (source[i] !== "]") fail(i, "expected ']' after the quoted name");
        segments.push({ kind: "key", key });
        i++;
      } else {
        const m = /^-?\d+/.exec(source.slice(i));
        if (!m) fail(i, "expected a number, '*' or a quoted name inside [ ]");
        const text = m![0];
        i += text.length;
        if (source[i] !== "]") fail(i, "expected ']' (slices, unions and filters are not supported)");
        segments.push({ kind: "index", index: Number(text) });
        i++;
      }
    } else {
      fail(i, `unexpected '${c}' (expected '.' or '[')`);
    }
  }
  return { source, segments, definite: segments.every((s) => s.kind !== "wildcard") };
}

/** Every value the path selects in `root`, in document order; [] when nothing matches. */
export function queryAll(path: JsonPath, root: unknown): unknown[] {
  let current: unknown[] = [root];
  for (const seg of path.segments) {
    const next: unknown[] = [];
    for (const node of current) {
      if (seg.kind === "key") {
        if (isObject(node) && Object.hasOwn(node, seg.key)) next.push(node[seg.key]);
      } else if (seg.kind === "index") {
        if (Array.isArray(node)) {
          const idx = seg.index < 0 ? node.length + seg.index : seg.index;
          if (idx >= 0 && idx < node.length) next.push(node[idx]);
        }
      } else if (Array.isArray(node)) {
        for (const v of node) next.push(v);
      } else if (isObject(node)) {
        for (const v of Object.values(node)) next.push(v);
      }
    }
    current = next;
  }
  return current;
}

/** The first value the path selects, or undefined when it selects nothing. */
export function queryOne(path: JsonPath, root: unknown): unknown {
  if (!path.definite) return queryAll(path, root)[0];
  // A definite path walks down without the arrays of queryAll: it runs for every field of every item.
  let node = root;
  for (const seg of path.segments) {
    if (seg.kind === "key") {
      if (!isObject(node) || !Object.hasOwn(node, seg.key)) return undefined;
      node = node[seg.key];
    } else if (seg.kind === "index") {
      if (!Array.isArray(node)) return undefined;
      const idx = seg.index < 0 ? node.length + seg.index : seg.index;
      if (idx < 0 || idx >= node.length) return undefined;
      node = node[idx];
    }
  }
  return node;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
