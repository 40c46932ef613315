import { ApolloArmor } from "@escape.tech/graphql-armor";
import { GraphQLError, type ValidationContext, type ValidationRule } from "graphql";

/**
 * graphql-armor's alias rule (fragments followed, `__typename` aliases free), reporting through the
 * validation context so that the answer is HTTP 400 GRAPHQL_VALIDATION_FAILED naming our setting. Only
 * this protection of the armor is enabled: tokens are counted by graphql-js's own parser option and
 * cost by our figure-aware rule (docs/limits.md says why).
 */
export function aliasLimit(max: number): ValidationRule {
  const { validationRules } = new ApolloArmor({
    maxAliases: {
      n: max,
      propagateOnRejection: false,
      onReject: [
        (context: ValidationContext | null, error: GraphQLError) => {
          const found = /found (\d+)/.exec(error.message)?.[1] ?? "more";
          context?.reportError(
            new GraphQLError(`${found} aliases exceed the maximum of ${max} (UPLIFT_MAX_ALIASES)`, {
              extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
            }),
          );
        },
      ],
    },
    blockFieldSuggestion: { enabled: false },
    costLimit: { enabled: false },
    maxDepth: { enabled: false },
    maxDirectives: { enabled: false },
    maxTokens: { enabled: false },
  }).protect();
  if (validationRules.length !== 1) throw new Error("graphql-armor: expected exactly the alias rule");
  return validationRules[0] as ValidationRule;
}
