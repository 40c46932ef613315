import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from "graphql";
import { parseDateTime } from "../domain/rules.js";

function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The digits at s[i..i+n) as a number, or -1 when one is not a digit. */
function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * The common form `YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z` read without a regular expression or string slices (a
 * batch of 5,000 items spends most of its date parsing there); null for anything else, which then takes
 * parseDateTime's full path. Same checks, same result.
 */
function fastUtc(s: string): Date | null {
  const n = s.length;
  if (n < 20 || n > 24 || n === 21 || s.charCodeAt(n - 1) !== 90 /* Z */) return null;
  if (s[4] !== "-" || s[7] !== "-" || s[10] !== "T" || s[13] !== ":" || s[16] !== ":") return null;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  let ms = 0;
  if (n > 20) {
    if (s[19] !== ".") return null;
    ms = digits(s, 20, n - 21);
    if (ms < 0) return null;
    ms *= n === 22 ? 100 : n === 23 ? 10 : 1;
  }
  // Years before 100 keep parseDateTime's path (Date.UTC reads 0–99 as 1900–1999).
  if (y < 100 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
    return null;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > DAYS[mo - 1]! + (leap ? 1 : 0)) return null;
  return new Date(Date.UTC(y, mo - 1, d, h, mi, sec, ms));
}

function toDate(text: unknown): Date {
  if (typeof text !== "string") throw badInput("DateTime must be a string such as 2025-03-01T00:00:00Z");
  const d = fastUtc(text) ?? parseDateTime(text);
  if (!d) throw badInput(`"${text}" is not an ISO-8601 date-time with an offset, e.g. 2025-03-01T00:00:00Z`);
  return d;
}

/** ISO-8601 with an offset in; `toISOString()` (UTC, milliseconds) out. */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: "DateTime",
  description: "ISO-8601 date-time with an offset, e.g. 2025-03-01T00:00:00Z. Always returned in UTC.",
  serialize(value) {
    const d = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(d.getTime())) throw new GraphQLError("DateTime cannot represent an invalid date");
    return d.toISOString();
  },
  parseValue: toDate,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw badInput("DateTime must be a string such as 2025-03-01T00:00:00Z");
    return toDate(ast.value);
  },
});

function literalToJs(ast: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
    case Kind.ENUM:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJs(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJs(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
  }
}

/**
 * A JSON object (string keys to string values per the contract). Shape errors beyond "is an object" are
 * reported by the mutation with the item's index and key, which a scalar cannot name.
 */
export const JSONObjectScalar = new GraphQLScalarType<Record<string, unknown>, Record<string, unknown>>({
  name: "JSONObject",
  description: 'A JSON object of string keys to string values, e.g. {"team": "emea", "ai_assisted": "true"}.',
  serialize(value) {
    return value as Record<string, unknown>;
  },
  parseValue(value) {
    if (value === null || typeof value !== "object" || Array.isArray(value))
      throw badInput("JSONObject must be an object");
    return value as Record<string, unknown>;
  },
  parseLiteral(ast, variables) {
    if (ast.kind !== Kind.OBJECT) throw badInput("JSONObject must be an object");
    return literalToJs(ast, variables) as Record<string, unknown>;
  },
});
