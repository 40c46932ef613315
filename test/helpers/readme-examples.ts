// Finding the README's API examples and judging their answers (test/docs/readme-examples.db.test.ts).

/** The API's address as the README writes it; the test puts its server's port in place of 4000. */
export const API_ADDRESS = /http:\/\/(127\.0\.0\.1|localhost):4000\b/g;

export interface Example {
  /** 1-based line of the opening fence, for the test's name. */
  line: number;
  script: string;
}

/** The ```sh blocks of a Markdown text that call the API. */
export function apiExamples(markdown: string): Example[] {
  const out: Example[] = [];
  for (const m of markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    const script = m[1];
    // Commands only: "npm start   # API on http://127.0.0.1:4000/graphql" names the address, calls nothing.
    const commands = script.replace(/(^|\s)#.*$/gm, "");
    if (!new RegExp(API_ADDRESS.source).test(commands)) continue;
    out.push({ line: markdown.slice(0, m.index).split("\n").length, script });
  }
  return out;
}

/** Splits output into the JSON documents it holds, one after another (curl prints no newline). */
export function jsonDocuments(text: string): unknown[] {
  const docs: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === "{" || c === "[") {
      if (depth++ === 0) start = i;
    } else if (c === "}" || c === "]") {
      if (--depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
    } else if (depth === 0 && c.trim() !== "") {
      throw new Error(`not JSON at offset ${i}: ${text.slice(i, i + 80)}`);
    }
  }
  if (depth !== 0 || inString) throw new Error(`incomplete JSON: ${text.slice(start, start + 80)}`);
  return docs;
}

/** Why an answer is not a GraphQL success (JSON with `data`, without `errors`), or null. */
export function problemWith(answer: unknown): string | null {
  if (typeof answer !== "object" || answer === null || Array.isArray(answer)) return "not a JSON object";
  if ("errors" in answer) return `errors: ${JSON.stringify((answer as { errors: unknown }).errors)}`;
  const data = (answer as { data?: unknown }).data;
  if (typeof data !== "object" || data === null) return "no data";
  return null;
}
