import { Field, Float, InputType } from "type-graphql";
import { DateTimeScalar } from "../scalars.js";

@InputType("CohortInput")
export class CohortInput {
  @Field(() => String)
  dimension!: string;

  @Field(() => String)
  treatment!: string;

  @Field(() => String)
  control!: string;
}

@InputType("TrackKpiInput")
export class TrackKpiInput {
  @Field(() => String)
  projectSlug!: string;

  @Field(() => String)
  metricKey!: string;

  @Field(() => DateTimeScalar, { nullable: true })
  baselineFrom?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  baselineTo?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  afterFrom?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  afterTo?: Date | null;

  @Field(() => Float, {
    nullable: true,
    description: "A baseline measured before any data was collected; replaces the computed baseline value.",
  })
  baselineValue?: number | null;

  @Field(() => Float, { nullable: true })
  target?: number | null;

  @Field(() => Float, { nullable: true, description: "Money gained per unit of improvement, per event." })
  valuePerUnit?: number | null;

  @Field(() => Float, {
    nullable: true,
    description: "Events per year; when absent, the after phase's rate, annualised.",
  })
  annualVolume?: number | null;

  @Field(() => CohortInput, { nullable: true })
  cohort?: CohortInput | null;
}
