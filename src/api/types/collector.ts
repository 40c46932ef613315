import { Field, ID, Int, ObjectType } from "type-graphql";
import type { CollectorRun, CollectorSummary } from "../../domain/collector-run.js";
import { RunStatusEnum } from "../enums.js";
import { DateTimeScalar } from "../scalars.js";

export type RunStatus = keyof typeof RunStatusEnum;

@ObjectType("CollectorRun")
export class CollectorRunType implements CollectorRun {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  collector!: string;

  @Field(() => RunStatusEnum)
  status!: RunStatus;

  @Field(() => DateTimeScalar, { nullable: true })
  scheduledFor!: Date | null;

  @Field(() => DateTimeScalar)
  startedAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  finishedAt!: Date | null;

  @Field(() => Int, { description: "Observations inserted or updated by the run." })
  observations!: number;

  @Field(() => Int, { description: "Source records the run could not turn into observations." })
  rejected!: number;

  @Field(() => Int, {
    description:
      "Source records that give no figure by definition (an unresolved incident, an unmerged pull request).",
  })
  skipped!: number;

  @Field(() => String, { nullable: true })
  error!: string | null;
}

@ObjectType("Collector")
export class CollectorType implements CollectorSummary {
  @Field(() => String, { description: "The instance name from the configuration file." })
  name!: string;

  @Field(() => String, { description: "The collector type, e.g. servicenow-incidents." })
  type!: string;

  @Field(() => String)
  schedule!: string;

  @Field(() => String)
  projectSlug!: string;

  @Field(() => String)
  metricKey!: string;

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => CollectorRunType, { nullable: true })
  lastRun!: CollectorRunType | null;

  @Field(() => DateTimeScalar, { nullable: true })
  nextRunAt!: Date | null;
}

@ObjectType("RecordResult")
export class RecordResultType {
  @Field(() => Int)
  inserted!: number;

  @Field(() => Int)
  updated!: number;
}
