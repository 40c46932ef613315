import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";
import type { MetricRow } from "../../db/entities/metric.js";
import { defineMetric, listMetrics } from "../../store/metrics.js";
import { auditBy } from "../audit.js";
import type { Context } from "../context.js";
import { DefineMetricInput } from "../inputs/metric.js";
import { MetricType } from "../types/metric.js";

@Resolver(() => MetricType)
export class MetricResolver {
  @Query(() => [MetricType])
  metrics(@Ctx() ctx: Context): Promise<MetricRow[]> {
    return listMetrics(ctx.ds);
  }

  @Mutation(() => MetricType)
  async defineMetric(
    @Ctx() ctx: Context,
    @Arg("input", () => DefineMetricInput) input: DefineMetricInput,
  ): Promise<MetricRow> {
    const m = await defineMetric(ctx.ds, input, "input", auditBy(ctx, "defineMetric"));
    await ctx.events.changed({ metricIds: [String(m.id)] });
    return m;
  }
}
