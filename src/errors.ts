// Typed outcomes, mapped once to GraphQL `extensions.code` (api/format-error.ts). Nothing else leaves the process.

/** One thing wrong with an input: the field path (e.g. `input[3].weight`) and what is wrong with it. */
export interface InputProblem {
  field: string;
  message: string;
  index?: number;
}

export class BadInputError extends Error {
  override name = "BadInputError";
  readonly code = "BAD_USER_INPUT";
  constructor(
    readonly problems: InputProblem[],
    summary?: string,
  ) {
    super(summary ?? BadInputError.describe(problems));
  }

  static one(field: string, message: string, index?: number): BadInputError {
    return new BadInputError([{ field, message, ...(index === undefined ? {} : { index }) }]);
  }

  /** "input[3].weight: must be > 0; input[7].metricKey: unknown metric "x"" — capped so a huge batch stays readable. */
  static describe(problems: InputProblem[], max = 20): string {
    const shown = problems.slice(0, max).map((p) => `${p.field}: ${p.message}`);
    const more = problems.length > max ? `; and ${problems.length - max} more problems` : "";
    return `${shown.join("; ")}${more}`;
  }
}

export class NotFoundError extends Error {
  override name = "NotFoundError";
  readonly code = "NOT_FOUND";
  /** graphql-js copies an original error's extensions: the code then reaches WebSocket clients too. */
  readonly extensions = { code: "NOT_FOUND" };
}

export class ConflictError extends Error {
  override name = "ConflictError";
  readonly code = "CONFLICT";
}

/** The credential is valid but its role or project scope does not allow the operation. */
export class ForbiddenError extends Error {
  override name = "ForbiddenError";
  readonly code = "FORBIDDEN";
  readonly extensions = { code: "FORBIDDEN" };
}

export type TypedError = BadInputError | NotFoundError | ConflictError | ForbiddenError;

export function isTypedError(e: unknown): e is TypedError {
  return (
    e instanceof BadInputError ||
    e instanceof NotFoundError ||
    e instanceof ConflictError ||
    e instanceof ForbiddenError
  );
}
