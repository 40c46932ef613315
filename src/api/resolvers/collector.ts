import { Arg, Ctx, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { BadInputError } from "../../errors.js";
import type { Context } from "../context.js";
import { CollectorRunType, CollectorType } from "../types/collector.js";

export const MAX_RUNS_LIMIT = 1000;

@Resolver()
export class CollectorResolver {
  @Query(() => [CollectorType])
  collectors(@Ctx() ctx: Context): Promise<CollectorType[]> {
    return ctx.collectors.list();
  }

  @Query(() => [CollectorRunType])
  collectorRuns(
    @Ctx() ctx: Context,
    @Arg("collector", () => String, { nullable: true }) collector?: string | null,
    @Arg("limit", () => Int, { nullable: true, defaultValue: 50 }) limit?: number | null,
  ): Promise<CollectorRunType[]> {
    const n = limit ?? 50;
    if (n < 1 || n > MAX_RUNS_LIMIT) throw BadInputError.one("limit", `must be from 1 to ${MAX_RUNS_LIMIT}`);
    return ctx.collectors.runs(collector ?? null, n);
  }

  @Mutation(() => CollectorRunType)
  runCollector(@Ctx() ctx: Context, @Arg("name", () => String) name: string): Promise<CollectorRunType> {
    return ctx.collectors.runNow(name);
  }

  @Subscription(() => CollectorRunType, {
    subscribe: ({ args, context }) =>
      (context as Context).events.subscribeRuns({ collector: args.collector }),
  })
  collectorRunFinished(
    @Root() run: CollectorRunType,
    @Arg("collector", () => String, { nullable: true }) _collector?: string | null,
  ): CollectorRunType {
    return run;
  }
}
