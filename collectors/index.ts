// The registry: every collector type Uplift knows, one import and one entry each. A test fails when a
// folder under collectors/ is missing here or lacks its README, example configuration or test.
import { createRegistry } from "../src/collect/types.js";

export const registry = createRegistry([]);
