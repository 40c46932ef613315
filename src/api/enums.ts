import { registerEnumType } from "type-graphql";

// The contract's enums. Values equal names, so database text and GraphQL values are the same strings.
export const ProjectStageEnum = {
  IDEA: "IDEA",
  PILOT: "PILOT",
  PRODUCTION: "PRODUCTION",
  RETIRED: "RETIRED",
} as const;
export const DirectionEnum = {
  LOWER_IS_BETTER: "LOWER_IS_BETTER",
  HIGHER_IS_BETTER: "HIGHER_IS_BETTER",
} as const;
export const AggregationEnum = {
  MEAN: "MEAN",
  MEDIAN: "MEDIAN",
  P90: "P90",
  SUM: "SUM",
  COUNT: "COUNT",
} as const;
export const BucketEnum = { DAY: "DAY", WEEK: "WEEK", MONTH: "MONTH" } as const;
export const PhaseEnum = { BEFORE: "BEFORE", AFTER: "AFTER" } as const;
export const CostKindEnum = { ONE_TIME: "ONE_TIME", MONTHLY: "MONTHLY" } as const;
export const RunStatusEnum = {
  RUNNING: "RUNNING",
  SUCCEEDED: "SUCCEEDED",
  FAILED: "FAILED",
  SKIPPED: "SKIPPED",
} as const;

registerEnumType(ProjectStageEnum, { name: "ProjectStage" });
registerEnumType(DirectionEnum, { name: "Direction" });
registerEnumType(AggregationEnum, { name: "Aggregation" });
registerEnumType(BucketEnum, { name: "Bucket" });
registerEnumType(PhaseEnum, { name: "Phase" });
registerEnumType(CostKindEnum, { name: "CostKind" });
registerEnumType(RunStatusEnum, { name: "RunStatus" });
