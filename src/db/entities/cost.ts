import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

export type CostKind = "ONE_TIME" | "MONTHLY";
export const COST_KINDS: readonly CostKind[] = ["ONE_TIME", "MONTHLY"];

@Entity({ name: "cost" })
export class CostRow {
  @PrimaryGeneratedColumn("identity", { type: "bigint", generatedIdentity: "ALWAYS" })
  id!: string;

  @Column({ type: "bigint", name: "project_id" })
  projectId!: string;

  @Column({ type: "text" })
  label!: string;

  @Column({ type: "text" })
  kind!: CostKind;

  /** Stored exactly (numeric); pg returns numeric as text, read back as a number. */
  @Column({
    type: "numeric",
    transformer: { to: (v: number) => v, from: (v: string | null) => (v === null ? null : Number(v)) },
  })
  amount!: number;

  @Column({ type: "timestamptz", name: "starts_at" })
  startsAt!: Date;
}
