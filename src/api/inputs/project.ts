import { Field, InputType } from "type-graphql";
import type { ProjectStage } from "../../db/entities/project.js";
import { ProjectStageEnum } from "../enums.js";
import { DateTimeScalar } from "../scalars.js";

@InputType("CreateProjectInput")
export class CreateProjectInput {
  @Field(() => String)
  slug!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String, { nullable: true })
  owner?: string | null;

  @Field(() => ProjectStageEnum, { nullable: true, defaultValue: "PILOT" })
  stage?: ProjectStage | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "When the project entered its initial stage; default now.",
  })
  stageSince?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  goLiveAt?: Date | null;
}

@InputType("UpdateProjectInput")
export class UpdateProjectInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String, { nullable: true })
  owner?: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  goLiveAt?: Date | null;
}
