import { describe, expect, it } from "vitest";
import { parseJsonLine } from "../../src/ingest/json-line.js";

// parseJsonLine must be JSON.parse for every line: the same value (own keys in the same order, plain
// prototypes) or the same error. JSON.parse is the reference each case is compared with.

function outcome(parse: (t: string) => unknown, text: string) {
  try {
    return { value: parse(text) };
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

/** Deep comparison that also sees key order, -0 and prototypes (toStrictEqual ignores key order). */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return ["array", v.map(shape)];
  if (v !== null && typeof v === "object")
    return [
      "object",
      Object.getPrototypeOf(v) === Object.prototype,
      Object.keys(v).map((k) => [k, shape((v as Record<string, unknown>)[k])]),
    ];
  if (Object.is(v, -0)) return "-0";
  return v;
}

function same(text: string) {
  const got = outcome(parseJsonLine, text);
  const want = outcome(JSON.parse, text);
  expect("error" in got ? got : shape(got.value), text).toStrictEqual(
    "error" in want ? want : shape(want.value),
  );
}

describe("parseJsonLine", () => {
  it("parses observation lines as JSON.parse does", () => {
    for (const text of [
      `{"projectSlug":"support","metricKey":"handle","observedAt":"2025-03-01T00:00:00.000Z","value":142.857142857,"weight":1,"externalId":"10000001"}`,
      `{"projectSlug":"s","metricKey":"m","observedAt":"2025-03-01T00:00:00Z","value":-3,"dimensions":{"team":"a","région":"Île-de-France"}}`,
      ` { "value" : 1.5e3 , "weight" : 2E-2 , "externalId" : null , "x" : true , "y" : false } `,
      `{"a":[],"b":{},"c":[1,[2,[3,{"d":[]}]]],"e":""}`,
      `{"a":1,"a":2,"b":3}`,
      `{"2":"two","1":"one","b":"b","0":"zero"}`,
      `{"__proto__":{"polluted":true},"value":1}`,
      `{"a":"tab\\there","b":"quote \\" and \\\\ and \\u00e9 \\ud83d\\ude00"}`,
      `{"emoji":"😀","lone":"\ud800"}`,
      `{"e":"\\u00e9\\u00C9\\/\\b\\f\\n\\r\\t\\"\\\\","pair":"\\ud83d\\ude00","lone":"\\udc00x","k\\u0065y":1}`,
      `{"\\u005f_proto__":{"x":1}}`,
      `{"a\\"b":1,"a\\"b":2}`,
      `{"n":[0,-0,1,-1,10,123456789012345,1234567890123456,12345678901234567890,1e400,-1e-400,0.1,0.30000000000000004,5e-324]}`,
      `[1,"a",null]`,
      `"just a string"`,
      `42`,
      `null`,
      `\t{"a":1}\r\n`,
      `{"deep":${"[".repeat(40)}1${"]".repeat(40)}}`,
    ])
      same(text);
  });

  it("gives JSON.parse's error for every malformed line (or value, for the valid lines between)", () => {
    for (const text of [
      "",
      " ",
      "{",
      "}",
      `{"a":1,}`,
      `[1,]`,
      `{"a" 1}`,
      `{a:1}`,
      `{'a':1}`,
      `{"a":01}`,
      `{"a":-}`,
      `{"a":1.}`,
      `{"a":.5}`,
      `{"a":1e}`,
      `{"a":1e+}`,
      `{"a":+1}`,
      `{"a":tru}`,
      `{"a":nul}`,
      `{"a":NaN}`,
      `{"a":"unterminated}`,
      `{"a":"control\u0001char"}`,
      `{"a":"bad escape \\x"}`,
      `{"a":"bad hex \\u12G4"}`,
      `{"a":"short hex \\u12"}`,
      `{"a":"ends in a backslash \\`,
      // A key with an escape is not recognised in place later: the raw text of the next line is malformed.
      `{"a\\"b":1}`,
      `{"a"b":1}`,
      `{"a":1} trailing`,
      `{"a":1}{"b":2}`,
      "\uFEFF{}",
    ])
      same(text);
  });

  it("agrees with JSON.parse on random lines and their mutations", () => {
    // A fixed-seed generator: the same cases on every run.
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pieces = [
      "a",
      "b",
      "é",
      "😀",
      " ",
      "\\",
      '"',
      "\n",
      "1",
      "-",
      ".",
      "e",
      "{",
      "}",
      "[",
      "]",
      ",",
      ":",
    ];
    const randomString = () => Array.from({ length: rand(14) }, () => pieces[rand(pieces.length)]).join("");
    const randomValue = (depth: number): unknown => {
      switch (rand(depth > 3 ? 5 : 7)) {
        case 0:
          return randomString();
        case 1:
          return (rand(2) ? -1 : 1) * rand(1e9) * 10 ** (rand(40) - 20);
        case 2:
          return rand(1e6);
        case 3:
          return [null, true, false][rand(3)];
        case 4:
          return String(10_000_000 + rand(1e6));
        case 5:
          return Array.from({ length: rand(4) }, () => randomValue(depth + 1));
        default:
          return Object.fromEntries(
            Array.from({ length: rand(5) }, () => [randomString(), randomValue(depth + 1)]),
          );
      }
    };
    const spaces = ["", "", " ", "\t", "\r\n "];
    const mutations = ["", " ", '"', "\\", ",", "}", "]", "0", "e", "-", "\u0001"];
    for (let n = 0; n < 3000; n++) {
      const text = JSON.stringify(randomValue(0), null, rand(3)).replace(
        /[,:]/g,
        (c) => `${spaces[rand(spaces.length)]}${c}${spaces[rand(spaces.length)]}`,
      );
      same(text);
      const at = rand(text.length + 1);
      same(text.slice(0, at) + mutations[rand(mutations.length)] + text.slice(at + rand(2)));
    }
  });
});
