import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import type { DeliveryState } from "../../governance/alerts/events.js";
import type { Decision } from "../../governance/recommendation.js";
import type { AlertKind } from "../../store/alerts.js";
import { DateTimeScalar, JSONObjectScalar } from "../scalars.js";

export const AlertKindEnum = {
  TARGET_MET: "TARGET_MET",
  REGRESSION: "REGRESSION",
  STALE: "STALE",
  COLLECTOR_FAILING: "COLLECTOR_FAILING",
} as const;
export const DeliveryStateEnum = {
  PENDING: "PENDING",
  DELIVERED: "DELIVERED",
  FAILED: "FAILED",
  NO_WEBHOOK: "NO_WEBHOOK",
} as const;
export const DecisionEnum = { PROMOTE: "PROMOTE", EXTEND: "EXTEND", STOP: "STOP" } as const;
registerEnumType(AlertKindEnum, { name: "AlertKind" });
registerEnumType(DeliveryStateEnum, { name: "DeliveryState" });
registerEnumType(DecisionEnum, { name: "Decision" });

@ObjectType("AuditEntry")
export class AuditEntryType {
  @Field(() => ID)
  id!: string;

  @Field(() => DateTimeScalar)
  at!: Date;

  @Field(() => String, { description: "The API key's name, admin-token, config or anonymous." })
  actor!: string;

  @Field(() => String, { description: "The mutation's name, or CONFIG." })
  action!: string;

  @Field(() => String, { nullable: true })
  projectSlug!: string | null;

  @Field(() => String, { nullable: true })
  metricKey!: string | null;

  @Field(() => JSONObjectScalar, { nullable: true })
  before!: Record<string, unknown> | null;

  @Field(() => JSONObjectScalar, { nullable: true })
  after!: Record<string, unknown> | null;
}

@ObjectType("AlertRule")
export class AlertRuleType {
  @Field(() => String)
  name!: string;

  @Field(() => AlertKindEnum)
  kind!: AlertKind;

  @Field(() => String, { nullable: true })
  projectSlug!: string | null;

  @Field(() => String, { nullable: true })
  metricKey!: string | null;

  @Field(() => String, { nullable: true })
  collector!: string | null;

  @Field(() => Int, { nullable: true })
  windowDays!: number | null;

  @Field(() => Float, { nullable: true })
  pValue!: number | null;

  @Field(() => Int, { nullable: true })
  days!: number | null;

  @Field(() => Int, { nullable: true })
  failures!: number | null;

  @Field(() => String, { nullable: true })
  webhookUrl!: string | null;

  @Field(() => Boolean)
  enabled!: boolean;
}

@InputType("DefineAlertInput")
export class DefineAlertInput {
  @Field(() => String)
  name!: string;

  @Field(() => AlertKindEnum)
  kind!: AlertKind;

  @Field(() => String, { nullable: true })
  projectSlug?: string | null;

  @Field(() => String, { nullable: true })
  metricKey?: string | null;

  @Field(() => String, { nullable: true })
  collector?: string | null;

  @Field(() => Int, {
    nullable: true,
    description: "REGRESSION: the trailing window compared with the AFTER phase before it (default 28).",
  })
  windowDays?: number | null;

  @Field(() => Float, { nullable: true, description: "REGRESSION: significance level (default 0.05)." })
  pValue?: number | null;

  @Field(() => Int, { nullable: true, description: "STALE: days without a new observation (default 7)." })
  days?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: "COLLECTOR_FAILING: consecutive FAILED runs (default 3).",
  })
  failures?: number | null;

  @Field(() => String, { nullable: true })
  webhookUrl?: string | null;

  @Field(() => String, { nullable: true, description: "HMAC key for X-Uplift-Signature; never returned." })
  webhookSecret?: string | null;

  @Field(() => Boolean, { nullable: true, defaultValue: true })
  enabled?: boolean | null;
}

@ObjectType("AlertEvent")
export class AlertEventType {
  @Field(() => ID, { description: "Stable across retries: receivers drop repeats by it." })
  id!: string;

  @Field(() => String)
  rule!: string;

  @Field(() => AlertKindEnum)
  kind!: AlertKind;

  @Field(() => String, { nullable: true })
  projectSlug!: string | null;

  @Field(() => String, { nullable: true })
  metricKey!: string | null;

  @Field(() => String, { nullable: true })
  collector!: string | null;

  @Field(() => DateTimeScalar)
  firedAt!: Date;

  @Field(() => String, { description: "One sentence naming the figures." })
  message!: string;

  @Field(() => DeliveryStateEnum)
  delivery!: DeliveryState;

  @Field(() => Int)
  attempts!: number;
}

@ObjectType("Recommendation")
export class RecommendationType {
  @Field(() => DecisionEnum)
  decision!: Decision;

  @Field(() => String)
  reason!: string;

  @Field(() => Int, {
    nullable: true,
    description: "EXTEND: estimated AFTER observations until the improvement is significant at 80 % power.",
  })
  observationsNeeded!: number | null;
}
