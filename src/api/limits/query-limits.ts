import { GraphQLError, type ParseOptions, type ValidationRule } from "graphql";
import type { QueryLimits } from "../../config/env.js";
import { depthLimit } from "../depth-limit.js";
import { aliasLimit } from "./aliases.js";
import { costLimit } from "./cost.js";

// The bounds every GraphQL document meets before it runs, over HTTP and WebSocket alike (docs/limits.md).

/** UTF-8 length of a document without encoding it when its character count already decides. */
export function documentTooLarge(query: string, maxBytes: number): boolean {
  if (query.length > maxBytes) return true; // every character is at least one byte
  if (query.length * 3 <= maxBytes) return false; // a UTF-16 unit is at most three bytes
  return Buffer.byteLength(query, "utf8") > maxBytes;
}

export function tooLargeMessage(maxBytes: number): string {
  return `GraphQL document longer than ${maxBytes} bytes (UPLIFT_MAX_QUERY_BYTES); it was not parsed`;
}

export function tooLargeError(maxBytes: number): GraphQLError {
  return new GraphQLError(tooLargeMessage(maxBytes), { extensions: { code: "PAYLOAD_TOO_LARGE" } });
}

/**
 * graphql-js stops lexing past `maxLexicalTokens` (its error names the count; formatError names the
 * setting). `maxSourceLength` is a second line behind the byte cap, for any path that skipped it.
 */
export function parseOptions(limits: QueryLimits): ParseOptions {
  return { maxLexicalTokens: limits.maxTokens, maxSourceLength: limits.maxBytes };
}

const TOKEN_ERROR = /^Syntax Error: Document contains more that (\d+) tokens/;

/** graphql-js's token-limit message, reworded to name the setting; other messages unchanged. */
export function tokenLimitMessage(message: string): string {
  const m = TOKEN_ERROR.exec(message);
  return m ? `Syntax Error: document has more than ${m[1]} tokens (UPLIFT_MAX_QUERY_TOKENS)` : message;
}

/** Our rules, run after graphql-js's specified rules. */
export function limitRules(limits: QueryLimits, maxQueryDepth: number): ValidationRule[] {
  return [depthLimit(maxQueryDepth), aliasLimit(limits.maxAliases), costLimit(limits.maxCost)];
}
