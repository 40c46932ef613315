import { unwrapResolverError } from "@apollo/server/errors";
import type { GraphQLFormattedError } from "graphql";
import { BadInputError, isTypedError } from "../errors.js";
import { log } from "../log.js";
import { tokenLimitMessage } from "./limits/query-limits.js";

/**
 * Every error leaves with an `extensions.code` of the contract and never with a stack trace or SQL.
 * Typed errors keep their message (and, for bad input, the list of problems); anything else is logged
 * here and answered as INTERNAL_SERVER_ERROR.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const base = { locations: formatted.locations, path: formatted.path };
  if (isTypedError(original)) {
    return {
      ...base,
      message: original.message,
      extensions: {
        code: original.code,
        ...(original instanceof BadInputError ? { problems: original.problems } : {}),
      },
    };
  }
  const code = formatted.extensions?.code;
  if (typeof code === "string" && code !== "INTERNAL_SERVER_ERROR") {
    // Parse, validation, variable coercion, limits and our scalars' errors: already safe and named.
    return { ...base, message: tokenLimitMessage(formatted.message), extensions: { code } };
  }
  if ((original as { code?: unknown })?.code === "57014") {
    // PostgreSQL's query_canceled: our statement_timeout. Say which setting, not the SQL.
    log.warn("statement timeout", { path: formatted.path?.join(".") });
    return {
      ...base,
      message: "the query took longer than UPLIFT_STATEMENT_TIMEOUT_MS allows and was cancelled",
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    };
  }
  log.error("internal error", {
    path: formatted.path?.join("."),
    error: original,
    stack: (original as Error)?.stack,
  });
  return { ...base, message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };
}
