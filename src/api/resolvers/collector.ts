import { Arg, Ctx, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { canSeeProject } from "../../auth/roles.js";
import { BadInputError } from "../../errors.js";
import type { Context } from "../context.js";
import { CollectorRunType, CollectorType } from "../types/collector.js";

export const MAX_RUNS_LIMIT = 1000;

@Resolver()
export class CollectorResolver {
  @Query(() => [CollectorType])
  async collectors(@Ctx() ctx: Context): Promise<CollectorType[]> {
    return (await ctx.collectors.list()).filter((c) => canSeeProject(ctx.principal, c.projectSlug));
  }

  @Query(() => [CollectorRunType])
  async collectorRuns(
    @Ctx() ctx: Context,
    @Arg("collector", () => String, { nullable: true }) collector?: string | null,
    @Arg("limit", () => Int, { nullable: true, defaultValue: 50 }) limit?: number | null,
  ): Promise<CollectorRunType[]> {
    const n = limit ?? 50;
    if (n < 1 || n > MAX_RUNS_LIMIT) throw BadInputError.one("limit", `must be from 1 to ${MAX_RUNS_LIMIT}`);
    if (ctx.principal.projects === null || collector) return ctx.collectors.runs(collector ?? null, n);
    // A key scoped to projects: the newest runs of the collectors of those projects.
    const visible = (await ctx.collectors.list()).filter((c) => canSeeProject(ctx.principal, c.projectSlug));
    const runs = (await Promise.all(visible.map((c) => ctx.collectors.runs(c.name, n)))).flat();
    return runs
      .sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || Number(b.id) - Number(a.id))
      .slice(0, n);
  }

  @Mutation(() => CollectorRunType)
  runCollector(@Ctx() ctx: Context, @Arg("name", () => String) name: string): Promise<CollectorRunType> {
    return ctx.collectors.runNow(name);
  }

  @Subscription(() => CollectorRunType, {
    subscribe: async ({ args, context }) => {
      const ctx = context as Context;
      const collectors =
        ctx.principal.projects === null
          ? null
          : new Set(
              (await ctx.collectors.list())
                .filter((c) => canSeeProject(ctx.principal, c.projectSlug))
                .map((c) => c.name),
            );
      return ctx.events.subscribeRuns({ collector: args.collector, collectors });
    },
  })
  collectorRunFinished(
    @Root() run: CollectorRunType,
    @Arg("collector", () => String, { nullable: true }) _collector?: string | null,
  ): CollectorRunType {
    return run;
  }
}
