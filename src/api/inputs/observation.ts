import { Field, Float, InputType } from "type-graphql";
import { DateTimeScalar, JSONObjectScalar } from "../scalars.js";

@InputType("ObservationInput")
export class ObservationInput {
  @Field(() => String)
  projectSlug!: string;

  @Field(() => String)
  metricKey!: string;

  @Field(() => DateTimeScalar)
  observedAt!: Date;

  @Field(() => Float)
  value!: number;

  @Field(() => Float, { nullable: true, defaultValue: 1 })
  weight?: number | null;

  @Field(() => String, { nullable: true })
  externalId?: string | null;

  @Field(() => JSONObjectScalar, { nullable: true })
  dimensions?: Record<string, unknown> | null;
}
