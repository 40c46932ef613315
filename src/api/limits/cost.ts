import {
  type ASTVisitor,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  getNamedType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  valueFromASTUntyped,
} from "graphql";

/**
 * The cost of a query in figure computations, the unit of UPLIFT_MAX_QUERY_COST (docs/limits.md):
 * - a KPI whose figures are asked for (any of FIGURE_FIELDS) costs 1, however many of them are selected
 *   (the engine computes them together);
 * - every `series`, `roi` and `portfolio` field costs 1 (aliases count separately: each runs again);
 * - a list multiplies the cost of what is selected under it by the number of items it can return: the
 *   value of a `limit` argument when it has one, else LIST_SIZE (a `series` is one computation however
 *   many points it returns).
 * Everything else (names, slugs, costs, runs, stage history) is a plain read and costs nothing here;
 * depth, aliases and tokens have their own limits.
 *
 * graphql-armor's cost rule prices every field by depth and by `first`/`last` arguments; it cannot tell
 * a slug from a bootstrap interval, which is what this budget is about.
 */
export const LIST_SIZE = 10;

const FIGURE_FIELDS = new Set([
  "baseline",
  "current",
  "improvementPct",
  "confidence",
  "pValue",
  "annualBenefit",
  "control",
  "targetMet",
]);
const COMPUTED_FIELDS = new Set(["Kpi.series", "Project.roi", "Query.portfolio"]);

function listFactor(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>) {
  let t: GraphQLOutputType = field.type;
  let factor = 1;
  while (isNonNullType(t) || isListType(t)) {
    if (isListType(t)) {
      const limitArg = field.args.find((a) => a.name === "limit");
      const limit = limitArg ? (args.limit ?? limitArg.defaultValue) : undefined;
      factor *= typeof limit === "number" && limit >= 0 ? limit : LIST_SIZE;
    }
    t = (t as { ofType: GraphQLOutputType }).ofType;
  }
  return factor;
}

/** Cost of one operation; fragments followed (a cycle, which other rules reject, costs nothing more). */
export function operationCost(context: ValidationContext, operation: OperationDefinitionNode): number {
  const schema = context.getSchema();
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of context.getDocument().definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const costOf = (set: SelectionSetNode, type: GraphQLNamedType | undefined, seen: Set<string>): number => {
    if (!type || !isObjectType(type)) return 0;
    const fields = type.getFields();
    let total = 0;
    let figures = false;
    const walk = (s: SelectionSetNode, t: GraphQLNamedType | undefined, visited: Set<string>) => {
      if (t !== type) {
        total += costOf(s, t, visited);
        return;
      }
      for (const sel of s.selections) {
        if (sel.kind === Kind.INLINE_FRAGMENT) {
          const cond = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
          walk(sel.selectionSet, cond ?? undefined, visited);
        } else if (sel.kind === Kind.FRAGMENT_SPREAD) {
          const frag = fragments.get(sel.name.value);
          if (!frag || visited.has(frag.name.value)) continue;
          walk(
            frag.selectionSet,
            schema.getType(frag.typeCondition.name.value) ?? undefined,
            new Set(visited).add(frag.name.value),
          );
        } else {
          const field = fields[sel.name.value];
          if (!field) continue; // unknown fields are reported by the standard rules
          if (type.name === "Kpi" && FIGURE_FIELDS.has(field.name)) figures = true;
          const args: Record<string, unknown> = {};
          for (const a of sel.arguments ?? []) args[a.name.value] = valueFromASTUntyped(a.value);
          const own = COMPUTED_FIELDS.has(`${type.name}.${field.name}`) ? 1 : 0;
          const below = sel.selectionSet ? costOf(sel.selectionSet, getNamedType(field.type), visited) : 0;
          total += own + listFactor(field, args) * below;
        }
      }
    };
    walk(set, type, seen);
    return total + (figures ? 1 : 0);
  };
  const root =
    operation.operation === "query"
      ? schema.getQueryType()
      : operation.operation === "mutation"
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  return costOf(operation.selectionSet, root ?? undefined, new Set());
}

/** Validation rule: refuses operations whose cost exceeds `max`, naming the limit. */
export function costLimit(max: number) {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const cost = operationCost(context, node);
      if (cost > max) {
        context.reportError(
          new GraphQLError(
            `query cost ${cost} exceeds the maximum of ${max} (UPLIFT_MAX_QUERY_COST; docs/limits.md explains the units)`,
            { nodes: [node], extensions: { code: "GRAPHQL_VALIDATION_FAILED" } },
          ),
        );
      }
    },
  });
}
