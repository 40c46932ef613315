import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

export type ProjectStage = "IDEA" | "PILOT" | "PRODUCTION" | "RETIRED";
export const PROJECT_STAGES: readonly ProjectStage[] = ["IDEA", "PILOT", "PRODUCTION", "RETIRED"];

@Entity({ name: "project" })
export class ProjectRow {
  @PrimaryGeneratedColumn("identity", { type: "bigint", generatedIdentity: "ALWAYS" })
  id!: string;

  @Column({ type: "text" })
  slug!: string;

  @Column({ type: "text" })
  name!: string;

  @Column({ type: "text", nullable: true })
  description!: string | null;

  @Column({ type: "text", nullable: true })
  owner!: string | null;

  @Column({ type: "text" })
  stage!: ProjectStage;

  @Column({ type: "timestamptz", name: "go_live_at", nullable: true })
  goLiveAt!: Date | null;

  @Column({ type: "timestamptz", name: "created_at", default: () => "now()" })
  createdAt!: Date;

  @Column({ type: "timestamptz", name: "updated_at", default: () => "now()" })
  updatedAt!: Date;
}
