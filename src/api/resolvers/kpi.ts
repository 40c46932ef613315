import { Arg, Ctx, FieldResolver, Float, Mutation, Resolver, Root, Subscription } from "type-graphql";
import { BadInputError } from "../../errors.js";
import type { Bucket } from "../../kpi/series.js";
import type { KpiEvent } from "../../live/events.js";
import { trackKpi } from "../../store/kpis.js";
import { requireMetric } from "../../store/metrics.js";
import { auditBy } from "../audit.js";
import type { Context } from "../context.js";
import { BucketEnum } from "../enums.js";
import { TrackKpiInput } from "../inputs/kpi.js";
import { DateTimeScalar } from "../scalars.js";
import {
  ControlComparisonType,
  IntervalType,
  KpiType,
  PhaseSummaryType,
  SeriesPointType,
} from "../types/kpi.js";

@Resolver(() => KpiType)
export class KpiResolver {
  @Mutation(() => KpiType)
  async trackKpi(
    @Ctx() ctx: Context,
    @Arg("input", () => TrackKpiInput) input: TrackKpiInput,
  ): Promise<KpiType> {
    const row = await trackKpi(ctx.ds, input, "input", auditBy(ctx, "trackKpi"));
    const metric = await requireMetric(ctx.ds, input.metricKey);
    await ctx.events.changed({ kpiIds: [String(row.id)] });
    return { kpiId: String(row.id), projectSlug: input.projectSlug, metric, target: row.target };
  }

  private async figures(k: KpiType, ctx: Context) {
    return (await resultOf(k, ctx)).figures;
  }

  @FieldResolver(() => PhaseSummaryType)
  async baseline(@Root() k: KpiType, @Ctx() ctx: Context) {
    return (await this.figures(k, ctx)).baseline;
  }

  @FieldResolver(() => PhaseSummaryType)
  async current(@Root() k: KpiType, @Ctx() ctx: Context) {
    return (await this.figures(k, ctx)).current;
  }

  @FieldResolver(() => Float, { nullable: true })
  async improvementPct(@Root() k: KpiType, @Ctx() ctx: Context) {
    return (await this.figures(k, ctx)).improvementPct;
  }

  @FieldResolver(() => Boolean, { nullable: true })
  async targetMet(@Root() k: KpiType, @Ctx() ctx: Context) {
    return (await this.figures(k, ctx)).targetMet;
  }

  @FieldResolver(() => IntervalType, { nullable: true })
  async confidence(@Root() k: KpiType, @Ctx() ctx: Context) {
    if (k.subject && !k.prefetched) ctx.engine.prefetchSample(k.subject);
    return ctx.engine.confidence(await resultOf(k, ctx));
  }

  @FieldResolver(() => Float, { nullable: true })
  async pValue(@Root() k: KpiType, @Ctx() ctx: Context) {
    return (await this.figures(k, ctx)).pValue;
  }

  @FieldResolver(() => ControlComparisonType, { nullable: true })
  async control(@Root() k: KpiType, @Ctx() ctx: Context) {
    return (await this.figures(k, ctx)).control;
  }

  @FieldResolver(() => Float, { nullable: true })
  async annualBenefit(@Root() k: KpiType, @Ctx() ctx: Context) {
    return (await this.figures(k, ctx)).annualBenefit;
  }

  @FieldResolver(() => DateTimeScalar, {
    nullable: true,
    description: "When the newest observation behind this KPI was committed.",
  })
  async updatedAt(@Root() k: KpiType, @Ctx() ctx: Context) {
    return (await this.figures(k, ctx)).updatedAt;
  }

  @FieldResolver(() => [SeriesPointType])
  async series(
    @Root() k: KpiType,
    @Ctx() ctx: Context,
    @Arg("bucket", () => BucketEnum) bucket: Bucket,
    @Arg("from", () => DateTimeScalar, { nullable: true }) from?: Date | null,
    @Arg("to", () => DateTimeScalar, { nullable: true }) to?: Date | null,
  ) {
    if (from && to && from.getTime() >= to.getTime()) throw BadInputError.one("to", "must be after from");
    const { subject } = await resultOf(k, ctx);
    return ctx.engine.series(subject, { bucket, from: from ?? null, to: to ?? null });
  }

  @Subscription(() => KpiType, {
    description: "The recomputed KPI, after every committed change that affects it.",
    subscribe: ({ args, context }) =>
      (context as Context).events.subscribeKpis({
        projectSlug: args.projectSlug,
        metricKey: args.metricKey,
        projects: (context as Context).principal.projects,
      }),
  })
  kpiUpdated(
    @Root() event: KpiEvent,
    @Arg("projectSlug", () => String, { nullable: true }) _projectSlug?: string | null,
    @Arg("metricKey", () => String, { nullable: true }) _metricKey?: string | null,
  ): KpiType {
    const { subject } = event.result;
    return {
      kpiId: event.kpiId,
      projectSlug: event.projectSlug,
      metric: subject.metric,
      target: subject.kpi.target,
      prefetched: event.result,
    };
  }
}

/** The KPI's figures: those computed for a subscription event, else the request's batched loader. */
function resultOf(k: KpiType, ctx: Context) {
  return k.prefetched ? Promise.resolve(k.prefetched) : ctx.loaders.figures.load(k.kpiId);
}
