import { Field, ID, ObjectType } from "type-graphql";
import type { ProjectStage } from "../../db/entities/project.js";
import { ProjectStageEnum } from "../enums.js";
import { DateTimeScalar } from "../scalars.js";

@ObjectType("Project")
export class ProjectType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  slug!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => String, { nullable: true })
  owner!: string | null;

  @Field(() => ProjectStageEnum)
  stage!: ProjectStage;

  @Field(() => DateTimeScalar, { nullable: true })
  goLiveAt!: Date | null;
}

@ObjectType("StageChange")
export class StageChangeType {
  @Field(() => ProjectStageEnum)
  stage!: ProjectStage;

  @Field(() => DateTimeScalar)
  at!: Date;
}
