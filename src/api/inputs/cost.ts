import { Field, Float, InputType } from "type-graphql";
import type { CostKind } from "../../db/entities/cost.js";
import { CostKindEnum } from "../enums.js";
import { DateTimeScalar } from "../scalars.js";

@InputType("AddCostInput")
export class AddCostInput {
  @Field(() => String)
  projectSlug!: string;

  @Field(() => String)
  label!: string;

  @Field(() => CostKindEnum)
  kind!: CostKind;

  @Field(() => Float)
  amount!: number;

  @Field(() => DateTimeScalar)
  startsAt!: Date;
}
