import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";
import type { ProjectStage } from "./project.js";

@Entity({ name: "stage_change" })
export class StageChangeRow {
  @PrimaryGeneratedColumn("identity", { type: "bigint", generatedIdentity: "ALWAYS" })
  id!: string;

  @Column({ type: "bigint", name: "project_id" })
  projectId!: string;

  @Column({ type: "text" })
  stage!: ProjectStage;

  @Column({ type: "timestamptz" })
  at!: Date;
}
