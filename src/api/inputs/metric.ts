import { Field, InputType } from "type-graphql";
import type { Aggregation, Direction } from "../../db/entities/metric.js";
import { AggregationEnum, DirectionEnum } from "../enums.js";

@InputType("DefineMetricInput")
export class DefineMetricInput {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  unit!: string;

  @Field(() => DirectionEnum)
  direction!: Direction;

  @Field(() => AggregationEnum, { nullable: true, defaultValue: "MEAN" })
  aggregation?: Aggregation | null;

  @Field(() => String, { nullable: true })
  description?: string | null;
}
