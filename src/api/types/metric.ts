import { Field, ObjectType } from "type-graphql";
import type { Aggregation, Direction } from "../../db/entities/metric.js";
import { AggregationEnum, DirectionEnum } from "../enums.js";

@ObjectType("Metric")
export class MetricType {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  unit!: string;

  @Field(() => DirectionEnum)
  direction!: Direction;

  @Field(() => AggregationEnum)
  aggregation!: Aggregation;

  @Field(() => String, { nullable: true })
  description!: string | null;
}
