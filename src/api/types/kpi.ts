import { Field, Float, ObjectType } from "type-graphql";
import type { MetricRow } from "../../db/entities/metric.js";
import type { FiguresResult } from "../../kpi/engine.js";
import type { LoadedSubject } from "../../kpi/subjects.js";
import { PhaseEnum } from "../enums.js";
import { DateTimeScalar } from "../scalars.js";
import { MetricType } from "./metric.js";

/** The root of a Kpi: figures are resolved lazily, in one batch per request (api/loaders.ts). */
@ObjectType("Kpi", {
  description:
    "One metric tracked for one project: its baseline, its current value and what the change is worth.",
})
export class KpiType {
  /** Internal KPI id (not exposed): the key of the figures loader. */
  kpiId!: string;

  @Field(() => String)
  projectSlug!: string;

  @Field(() => MetricType)
  metric!: MetricRow;

  @Field(() => Float, { nullable: true })
  target!: number | null;

  /** Figures computed once for every subscriber of a change (subscriptions); else loaded per request. */
  prefetched?: FiguresResult;

  /** The KPI's rows and change stamp as this request read them, when it did (project.kpi/kpis). */
  subject?: LoadedSubject;
}

@ObjectType("PhaseSummary")
export class PhaseSummaryType {
  @Field(() => Float, { nullable: true })
  value!: number | null;

  @Field(() => Float, { description: "Sum of the weights of the observations in the phase." })
  count!: number;

  @Field(() => DateTimeScalar, { nullable: true })
  from!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  to!: Date | null;
}

@ObjectType("Interval")
export class IntervalType {
  @Field(() => Float)
  low!: number;

  @Field(() => Float)
  high!: number;

  @Field(() => Float)
  level!: number;
}

@ObjectType("ControlComparison", {
  description: "The same KPI measured on a control cohort that did not get the AI change.",
})
export class ControlComparisonType {
  @Field(() => String)
  dimension!: string;

  @Field(() => String)
  treatment!: string;

  @Field(() => String)
  control!: string;

  @Field(() => PhaseSummaryType)
  controlBaseline!: PhaseSummaryType;

  @Field(() => PhaseSummaryType)
  controlCurrent!: PhaseSummaryType;

  @Field(() => Float, { nullable: true })
  controlChangePct!: number | null;

  @Field(() => Float, { nullable: true })
  adjustedImprovementPct!: number | null;
}

@ObjectType("SeriesPoint")
export class SeriesPointType {
  @Field(() => DateTimeScalar)
  start!: Date;

  @Field(() => PhaseEnum)
  phase!: "BEFORE" | "AFTER";

  @Field(() => Float, { nullable: true })
  value!: number | null;

  @Field(() => Float)
  count!: number;
}
