import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import type { CostKind } from "../../db/entities/cost.js";
import { CostKindEnum } from "../enums.js";
import { DateTimeScalar } from "../scalars.js";

@ObjectType("Cost")
export class CostType {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  label!: string;

  @Field(() => CostKindEnum)
  kind!: CostKind;

  @Field(() => Float)
  amount!: number;

  @Field(() => DateTimeScalar)
  startsAt!: Date;
}

@ObjectType("Roi")
export class RoiType {
  @Field(() => Int)
  horizonMonths!: number;

  @Field(() => Float)
  benefit!: number;

  @Field(() => Float)
  cost!: number;

  @Field(() => Float)
  net!: number;

  @Field(() => Float, { nullable: true })
  roiPct!: number | null;

  @Field(() => Float, { nullable: true })
  paybackMonths!: number | null;

  @Field(() => String)
  currency!: string;
}
