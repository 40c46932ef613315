import { describe, expect, it } from "vitest";
import { QueryScanner } from "../../src/api/limits/json-scan.js";

// The streaming measure of `query` against a second method: JSON.parse, then Buffer.byteLength.
function byParse(body: string): number {
  const v = JSON.parse(body);
  const ops = Array.isArray(v) ? v : [v];
  return Math.max(0, ...ops.map((o) => (typeof o?.query === "string" ? Buffer.byteLength(o.query) : 0)));
}

function byScan(body: string, split: number[] = []): number {
  const buf = Buffer.from(body);
  const s = new QueryScanner();
  let from = 0;
  for (const at of [...split, buf.length]) {
    s.push(buf.subarray(from, at));
    from = at;
  }
  return s.current;
}

const BODIES = [
  JSON.stringify({ query: "{ metrics { key } }" }),
  JSON.stringify({ variables: { query: "x".repeat(50), list: [1, "a,b", { query: "no" }] }, query: "{ a }" }),
  JSON.stringify({ operationName: "query", query: 'query Q { p(s: "é€😀\\"\n\t") }' }),
  '{"query":"\\u00e9\\u20ac\\ud83d\\ude00\\n\\"x\\\\"}',
  '{ "extensions" : {"persistedQuery":{"sha256Hash":"abc"}} ,  "query"  :  "{ b }" }',
  JSON.stringify([{ query: "{ a }" }, { query: "{ longer_one }" }]),
  JSON.stringify({ querying: "x".repeat(99), query: "{ c }" }),
  JSON.stringify({ "qu\\u0065ry": "not counted as query by key bytes", query: "{ d }" }),
  JSON.stringify({ variables: null }),
];

describe("QueryScanner", () => {
  it("measures the query member's UTF-8 bytes as JSON.parse + Buffer.byteLength does", () => {
    for (const body of BODIES) expect(byScan(body), body).toBe(byParse(body));
  });

  it("gives the same answer however the body is split into chunks", () => {
    for (const body of BODIES) {
      const n = Buffer.byteLength(body);
      for (let a = 0; a <= n; a++) expect(byScan(body, [a]), `${body} split at ${a}`).toBe(byParse(body));
    }
  });

  it("reports an unfinished query's bytes so far (a body cut off by the cap)", () => {
    expect(byScan('{"query":"0123456789')).toBe(10);
  });
});
