import type { GraphQLFieldResolver, GraphQLSchema } from "graphql";
import type { Role } from "../auth/principal.js";
import { canSeeProject, hasRole } from "../auth/roles.js";
import { ForbiddenError, NotFoundError } from "../errors.js";
import type { Context } from "./context.js";

// Who may run each root operation, in one table (README "Access control"). Every Query, Mutation and
// Subscription field must appear here: test/auth/operations.test.ts fails for one that does not, and at
// run time an undeclared operation is treated as admin-only and refused to project-scoped keys.
//
// `scope` says what a key limited to some projects may do with it:
// - "lists": allowed; the resolver computes its answer over the key's projects alone;
// - "global": refused (FORBIDDEN), since it reads or changes what concerns every project;
// - a function: the project slugs the call names; any outside the key's projects is NOT_FOUND for a
//   query or subscription and FORBIDDEN for a mutation (so reads never reveal that a project exists).

type Args = Record<string, any>;
type Named = (args: Args, ctx: Context) => string[] | Promise<string[]>;

export interface OperationRule {
  role: Role;
  scope: "lists" | "global" | Named;
}

/** Slugs of the projects whose collectors have these names (unknown names name no project). */
async function collectorProjects(ctx: Context, names: (string | null | undefined)[]): Promise<string[]> {
  const wanted = names.filter((n): n is string => typeof n === "string");
  if (!wanted.length) return [];
  const all = await ctx.collectors.list();
  return all.filter((c) => wanted.includes(c.name)).map((c) => c.projectSlug);
}

const slug = (v: unknown): string[] => (typeof v === "string" ? [v] : []);

/** The distinct project slugs of a batch of up to 10,000 items: one Set, no array per item. */
function batchSlugs(input: unknown): string[] {
  const slugs = new Set<string>();
  if (Array.isArray(input))
    for (const o of input) if (typeof o?.projectSlug === "string") slugs.add(o.projectSlug);
  return [...slugs];
}

export const OPERATIONS: Record<"Query" | "Mutation" | "Subscription", Record<string, OperationRule>> = {
  Query: {
    projects: { role: "reader", scope: "lists" },
    project: { role: "reader", scope: (a) => slug(a.slug) },
    metrics: { role: "reader", scope: "lists" }, // definitions shared by every project
    portfolio: { role: "reader", scope: "lists" },
    collectors: { role: "reader", scope: "lists" },
    collectorRuns: { role: "reader", scope: (a, ctx) => collectorProjects(ctx, [a.collector]) },
    apiKeys: { role: "admin", scope: "global" },
    auditLog: { role: "admin", scope: "global" },
    // The resolvers leave out rules and events of projects outside the key's scope.
    alerts: { role: "reader", scope: "lists" },
    alertEvents: { role: "reader", scope: "lists" },
  },
  Mutation: {
    createProject: { role: "admin", scope: (a) => slug(a.input?.slug) },
    updateProject: { role: "admin", scope: (a) => slug(a.slug) },
    setProjectStage: { role: "admin", scope: (a) => slug(a.slug) },
    defineMetric: { role: "admin", scope: "global" },
    trackKpi: { role: "admin", scope: (a) => slug(a.input?.projectSlug) },
    recordObservations: {
      role: "writer",
      scope: (a) => batchSlugs(a.input),
    },
    addCost: { role: "admin", scope: (a) => slug(a.input?.projectSlug) },
    runCollector: { role: "admin", scope: (a, ctx) => collectorProjects(ctx, [a.name]) },
    createApiKey: { role: "admin", scope: "global" },
    revokeApiKey: { role: "admin", scope: "global" },
    defineAlert: { role: "admin", scope: "global" },
    deleteAlert: { role: "admin", scope: "global" },
  },
  Subscription: {
    kpiUpdated: { role: "reader", scope: (a) => slug(a.projectSlug) },
    collectorRunFinished: { role: "reader", scope: (a, ctx) => collectorProjects(ctx, [a.collector]) },
    // Events are pushed unfiltered: refused to scoped keys.
    alertFired: { role: "reader", scope: "global" },
  },
};

const UNDECLARED: OperationRule = { role: "admin", scope: "global" };

/** Throws FORBIDDEN or NOT_FOUND when the context's principal may not run this operation. */
export async function checkAccess(
  kind: keyof typeof OPERATIONS,
  name: string,
  rule: OperationRule,
  args: Args,
  ctx: Context,
): Promise<void> {
  const p = ctx.principal;
  if (!hasRole(p, rule.role)) {
    throw new ForbiddenError(`${name} needs the ${rule.role} role; the key "${p.actor}" has ${p.role}`);
  }
  if (p.projects === null || rule.scope === "lists") return;
  if (rule.scope === "global") {
    throw new ForbiddenError(
      `${name} concerns every project; the key "${p.actor}" is limited to some projects`,
    );
  }
  const outside = (await rule.scope(args, ctx)).filter((s) => !canSeeProject(p, s));
  if (!outside.length) return;
  if (kind === "Mutation") {
    throw new ForbiddenError(`the key "${p.actor}" may not change project "${outside[0]}"`);
  }
  throw new NotFoundError(`no project with slug "${outside[0]}"`);
}

/** Puts the check in front of every root field's resolver (and every subscription's subscribe). */
export function applyAccessRules(schema: GraphQLSchema): void {
  const roots = {
    Query: schema.getQueryType(),
    Mutation: schema.getMutationType(),
    Subscription: schema.getSubscriptionType(),
  } as const;
  for (const [kind, type] of Object.entries(roots) as [
    keyof typeof OPERATIONS,
    (typeof roots)[keyof typeof roots],
  ][]) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      const rule = OPERATIONS[kind][field.name] ?? UNDECLARED;
      const guard = <R>(
        inner: GraphQLFieldResolver<unknown, Context> | undefined,
      ): GraphQLFieldResolver<unknown, Context> | undefined =>
        inner &&
        (async (root, args, ctx, info) => {
          await checkAccess(kind, field.name, rule, args, ctx);
          return inner(root, args, ctx, info) as R;
        });
      if (kind === "Subscription") field.subscribe = guard(field.subscribe);
      else field.resolve = guard(field.resolve);
    }
  }
}
