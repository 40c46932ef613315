import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

export type Direction = "LOWER_IS_BETTER" | "HIGHER_IS_BETTER";
export type Aggregation = "MEAN" | "MEDIAN" | "P90" | "SUM" | "COUNT";
export const DIRECTIONS: readonly Direction[] = ["LOWER_IS_BETTER", "HIGHER_IS_BETTER"];
export const AGGREGATIONS: readonly Aggregation[] = ["MEAN", "MEDIAN", "P90", "SUM", "COUNT"];

@Entity({ name: "metric" })
export class MetricRow {
  @PrimaryGeneratedColumn("identity", { type: "bigint", generatedIdentity: "ALWAYS" })
  id!: string;

  @Column({ type: "text" })
  key!: string;

  @Column({ type: "text" })
  name!: string;

  @Column({ type: "text" })
  unit!: string;

  @Column({ type: "text" })
  direction!: Direction;

  @Column({ type: "text" })
  aggregation!: Aggregation;

  @Column({ type: "text", nullable: true })
  description!: string | null;
}
