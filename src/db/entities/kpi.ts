import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

@Entity({ name: "kpi" })
export class KpiRow {
  @PrimaryGeneratedColumn("identity", { type: "bigint", generatedIdentity: "ALWAYS" })
  id!: string;

  @Column({ type: "bigint", name: "project_id" })
  projectId!: string;

  @Column({ type: "bigint", name: "metric_id" })
  metricId!: string;

  @Column({ type: "timestamptz", name: "baseline_from", nullable: true })
  baselineFrom!: Date | null;

  @Column({ type: "timestamptz", name: "baseline_to", nullable: true })
  baselineTo!: Date | null;

  @Column({ type: "timestamptz", name: "after_from", nullable: true })
  afterFrom!: Date | null;

  @Column({ type: "timestamptz", name: "after_to", nullable: true })
  afterTo!: Date | null;

  @Column({ type: "double precision", name: "baseline_value", nullable: true })
  baselineValue!: number | null;

  @Column({ type: "double precision", nullable: true })
  target!: number | null;

  @Column({ type: "double precision", name: "value_per_unit", nullable: true })
  valuePerUnit!: number | null;

  @Column({ type: "double precision", name: "annual_volume", nullable: true })
  annualVolume!: number | null;

  @Column({ type: "text", name: "cohort_dimension", nullable: true })
  cohortDimension!: string | null;

  @Column({ type: "text", name: "cohort_treatment", nullable: true })
  cohortTreatment!: string | null;

  @Column({ type: "text", name: "cohort_control", nullable: true })
  cohortControl!: string | null;

  @Column({ type: "timestamptz", name: "updated_at", default: () => "now()" })
  updatedAt!: Date;

  @Column({ type: "timestamptz", name: "created_at", default: () => "now()" })
  createdAt!: Date;

  /** When the current target was set (null without a target): pre-registration. */
  @Column({ type: "timestamptz", name: "target_set_at", nullable: true })
  targetSetAt!: Date | null;

  /** When the baseline/after windows were last set. */
  @Column({ type: "timestamptz", name: "windows_set_at" })
  windowsSetAt!: Date;
}
