import { GraphQLError } from "graphql";
import { Arg, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { canSeeProject, hasRole } from "../../auth/roles.js";
import type { ProjectRow } from "../../db/entities/project.js";
import { BadInputError } from "../../errors.js";
import { type AlertEvent, listAlertEvents } from "../../governance/alerts/events.js";
import { afterPhaseStart, isPreRegistered } from "../../governance/preregistration.js";
import { type Recommendation, recommend } from "../../governance/recommendation.js";
import { daysInPilot } from "../../kpi/portfolio.js";
import { computeRoi } from "../../kpi/roi.js";
import { type AlertRule, defineAlert, deleteAlert, listAlerts } from "../../store/alerts.js";
import { listAudit } from "../../store/audit.js";
import { auditBy } from "../audit.js";
import type { Context } from "../context.js";
import { DateTimeScalar } from "../scalars.js";
import {
  AlertEventType,
  AlertRuleType,
  AuditEntryType,
  DefineAlertInput,
  RecommendationType,
} from "../types/governance.js";
import { KpiType } from "../types/kpi.js";
import { PortfolioType } from "../types/portfolio.js";
import { ProjectType } from "../types/project.js";

const MAX_PAGE = 1000;

function requireAdmin(ctx: Context): void {
  if (!hasRole(ctx.principal, "admin"))
    throw new GraphQLError("this needs the admin role", { extensions: { code: "FORBIDDEN" } });
}

function page(requested: number | null | undefined): number {
  const first = requested ?? 100;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE)
    throw BadInputError.one("first", `must be from 1 to ${MAX_PAGE}`);
  return first;
}

/** A rule without its secret; a scoped principal sees only rules of its projects. */
const visible = (ctx: Context, r: { projectSlug: string | null }) =>
  r.projectSlug === null || canSeeProject(ctx.principal, r.projectSlug);

@Resolver()
export class GovernanceResolver {
  @Query(() => [AuditEntryType], { description: "admin; newest first" })
  auditLog(
    @Ctx() ctx: Context,
    @Arg("projectSlug", () => String, { nullable: true }) projectSlug?: string | null,
    @Arg("first", () => Int, { nullable: true, defaultValue: 100 }) first?: number | null,
    @Arg("before", () => DateTimeScalar, { nullable: true }) before?: Date | null,
  ) {
    requireAdmin(ctx);
    return listAudit(ctx.ds, { projectSlug, first: page(first), before });
  }

  @Query(() => [AlertRuleType])
  async alerts(@Ctx() ctx: Context): Promise<AlertRule[]> {
    return (await listAlerts(ctx.ds)).filter((r) => visible(ctx, r));
  }

  @Query(() => [AlertEventType], { description: "newest first" })
  async alertEvents(
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true, defaultValue: 100 }) first?: number | null,
  ): Promise<AlertEvent[]> {
    return (await listAlertEvents(ctx.ds, page(first))).filter((e) => visible(ctx, e));
  }

  @Mutation(() => AlertRuleType, { description: "admin; upsert by name" })
  async defineAlert(
    @Ctx() ctx: Context,
    @Arg("input", () => DefineAlertInput) input: DefineAlertInput,
  ): Promise<AlertRule> {
    requireAdmin(ctx);
    const rule = await defineAlert(ctx.ds, input, "input", auditBy(ctx, "defineAlert"));
    // A new or changed rule is judged against the current figures at once, on this replica.
    void ctx.alerts.evaluateAll().catch(() => undefined);
    return rule;
  }

  @Mutation(() => Boolean, { description: "admin; false when no rule has that name" })
  deleteAlert(@Ctx() ctx: Context, @Arg("name", () => String) name: string): Promise<boolean> {
    requireAdmin(ctx);
    return deleteAlert(ctx.ds, name, auditBy(ctx, "deleteAlert"));
  }

  @Subscription(() => AlertEventType, {
    subscribe: ({ args, context }) => (context as Context).alerts.subscribe(args.rule ?? null),
  })
  alertFired(
    @Root() event: AlertEvent,
    @Arg("rule", () => String, { nullable: true }) _rule?: string | null,
  ) {
    return event;
  }
}

@Resolver(() => KpiType)
export class KpiGovernanceResolver {
  @FieldResolver(() => DateTimeScalar, { nullable: true, description: "When the current target was set." })
  async targetSetAt(@Root() k: KpiType, @Ctx() ctx: Context): Promise<Date | null> {
    return (await subjectOf(k, ctx)).kpi.targetSetAt;
  }

  @FieldResolver(() => Boolean, {
    description:
      "The KPI, its target and its windows were all set before the AFTER phase began, and not changed since.",
  })
  async preRegistered(@Root() k: KpiType, @Ctx() ctx: Context): Promise<boolean> {
    const s = await subjectOf(k, ctx);
    return isPreRegistered(s.kpi, afterPhaseStart(s));
  }
}

async function subjectOf(k: KpiType, ctx: Context) {
  return (k.prefetched ?? (await ctx.loaders.figures.load(k.kpiId))).subject;
}

@Resolver(() => PortfolioType)
export class PortfolioGovernanceResolver {
  @FieldResolver(() => Int)
  async kpisNotPreRegistered(@Ctx() ctx: Context, @Root() root: { projects: ProjectRow[] }): Promise<number> {
    const lists = await Promise.all(root.projects.map((p) => ctx.loaders.kpis.load(String(p.id))));
    const ids = lists.flat().map((k) => String(k.kpi.id));
    const results = await ctx.loaders.figures.loadMany(ids);
    return results.filter(
      (r) => !(r instanceof Error) && !isPreRegistered(r.subject.kpi, afterPhaseStart(r.subject)),
    ).length;
  }
}

@Resolver(() => ProjectType)
export class ProjectGovernanceResolver {
  @FieldResolver(() => RecommendationType, {
    nullable: true,
    description: "For projects in PILOT; null in other stages.",
  })
  async recommendation(@Root() p: ProjectRow, @Ctx() ctx: Context): Promise<Recommendation | null> {
    if (p.stage !== "PILOT") return null;
    const [kpis, costs, history] = await Promise.all([
      ctx.loaders.kpis.load(String(p.id)),
      ctx.loaders.costs.load(String(p.id)),
      ctx.loaders.stageHistory.load(String(p.id)),
    ]);
    const results = await Promise.all(kpis.map((k) => ctx.loaders.figures.load(String(k.kpi.id))));
    const evidence = await Promise.all(
      results.map(async (r) => {
        const t = r.aggregates?.treatment;
        return {
          metricKey: r.subject.metric.key,
          direction: r.subject.metric.direction,
          target: r.subject.kpi.target,
          targetMet: r.figures.targetMet,
          current: r.figures.current.value,
          improvementPct: r.figures.improvementPct,
          pValue: r.figures.pValue,
          confidence: await ctx.engine.confidence(r),
          // A set baselineValue has no measured sample: no statistics, no power.
          before: r.subject.kpi.baselineValue === null ? (t?.before ?? null) : null,
          after: t?.after ?? null,
        };
      }),
    );
    const roi = computeRoi(
      12,
      results.map((r) => r.figures.annualBenefit),
      costs,
    );
    return recommend({
      daysInPilot: daysInPilot(history, new Date()) ?? 0,
      roi,
      currency: ctx.currency,
      kpis: evidence,
    });
  }
}
