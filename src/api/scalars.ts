import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from "graphql";
import { parseDateTime } from "../domain/rules.js";

function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });
}

function toDate(text: unknown): Date {
  if (typeof text !== "string") throw badInput("DateTime must be a string such as 2025-03-01T00:00:00Z");
  const d = parseDateTime(text);
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
