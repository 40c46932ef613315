import { Field, Float, Int, ObjectType } from "type-graphql";
import type { ProjectStage } from "../../db/entities/project.js";
import { ProjectStageEnum } from "../enums.js";

@ObjectType("StageCount")
export class StageCountType {
  @Field(() => ProjectStageEnum)
  stage!: ProjectStage;

  @Field(() => Int)
  count!: number;
}

/** Root of `portfolio`; stalledPilots and totalAnnualBenefit are resolved on demand. */
@ObjectType("Portfolio")
export class PortfolioType {
  @Field(() => Int)
  projectCount!: number;

  @Field(() => [StageCountType])
  byStage!: StageCountType[];

  @Field(() => Float, { nullable: true })
  medianDaysInPilot!: number | null;

  @Field(() => Float, { nullable: true })
  pilotConversionPct!: number | null;
}
