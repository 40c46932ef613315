import { CostRow } from "./cost.js";
import { KpiRow } from "./kpi.js";
import { MetricRow } from "./metric.js";
import { ProjectRow } from "./project.js";
import { StageChangeRow } from "./stage-change.js";

export { CostRow, KpiRow, MetricRow, ProjectRow, StageChangeRow };
export const entities = [ProjectRow, StageChangeRow, MetricRow, KpiRow, CostRow];
