// Every migration, in order. Listed explicitly (no glob): works the same under tsx, vitest and compiled JS.
import { InitialSchema1764400000000 } from "./1764400000000-InitialSchema.js";
import { CollectorRuns1764500000000 } from "./1764500000000-CollectorRuns.js";
import { Reporting1764700000000 } from "./1764700000000-Reporting.js";

export const migrations = [InitialSchema1764400000000, CollectorRuns1764500000000, Reporting1764700000000];
