// Every migration, in order. Listed explicitly (no glob): works the same under tsx, vitest and compiled JS.
import { InitialSchema1764400000000 } from "./1764400000000-InitialSchema.js";
import { CollectorRuns1764500000000 } from "./1764500000000-CollectorRuns.js";
import { ApiKeys1764600000000 } from "./1764600000000-ApiKeys.js";
import { Reporting1764700000000 } from "./1764700000000-Reporting.js";
import { Governance1764800000000 } from "./1764800000000-Governance.js";
import { CollectorRunSkipped1764900000000 } from "./1764900000000-CollectorRunSkipped.js";
import { ReportingGovernance1765000000000 } from "./1765000000000-ReportingGovernance.js";
import { ObservationRangeWithId1765200000000 } from "./1765200000000-ObservationRangeWithId.js";

export const migrations = [
  InitialSchema1764400000000,
  CollectorRuns1764500000000,
  ApiKeys1764600000000,
  Reporting1764700000000,
  Governance1764800000000,
  CollectorRunSkipped1764900000000,
  ReportingGovernance1765000000000,
  ObservationRangeWithId1765200000000,
];
