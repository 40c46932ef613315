import type { CollectorDirectory } from "../api/collector-directory.js";
import type { CollectorRunType, CollectorType } from "../api/types/collector.js";
import type { CollectorConfig } from "../config/file.js";
import { ConflictError, NotFoundError } from "../errors.js";

/** The configured collector instances, before the runner exists: listed, never run. */
export class ConfigCollectorDirectory implements CollectorDirectory {
  constructor(private readonly instances: CollectorConfig[]) {}

  async list(): Promise<CollectorType[]> {
    return [...this.instances]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((c) => ({
        name: c.name,
        type: c.type,
        schedule: c.schedule,
        projectSlug: c.project,
        metricKey: c.metric,
        enabled: c.enabled,
        lastRun: null,
        nextRunAt: null,
      }));
  }

  async runs(): Promise<CollectorRunType[]> {
    return [];
  }

  async runNow(name: string): Promise<CollectorRunType> {
    if (!this.instances.some((c) => c.name === name))
      throw new NotFoundError(`no collector instance named "${name}"`);
    throw new ConflictError(`collector "${name}" cannot run: this build has no collector runner`);
  }
}
